/* The inference-only program: load an exported learner and predict, nothing else. Linked
 * statically against libfastc.a, it pulls only the objects these calls reach (the map file
 * build/fastc_predict_min.map lists them; bench/RESULTS.md has the sizes). By the model's
 * application, the inputs are:
 *   vision   image files
 *   tabular  one row as name=value arguments (age=49 'workclass= Private' ...)
 *   collab   USER ITEM pairs
 *   text     texts: a classifier labels each, a language model continues each by 20 words
 * Built with PREDICT_MIN_APP=1..4 it knows one application only (vision, tabular, collab, text):
 * fastc_predict_min_<app>, whose map shows what that application alone costs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/fastc.h"

#ifndef PREDICT_MIN_APP
#define PREDICT_MIN_APP 0 /* all of them */
#endif
#define HAS(k) (PREDICT_MIN_APP == 0 || PREDICT_MIN_APP == (k))

static void print(const char *item, const fc_prediction *p) {
    int64_t c = fc_tensor_numel(p->probs);
    if (p->index >= 0 && p->index < c) printf("%s\t%s\t%.4f\n", item, p->label, fc_tensor_get(p->probs, p->index));
    else printf("%s\t%s\n", item, p->label);
}

static fc_status predict_one(fc_learner *learn, const char *item) {
    fc_prediction p;
    fc_status st = fc_learner_predict(learn, item, &p);
    if (st == FC_OK) print(item, &p);
    fc_prediction_free(&p);
    return st;
}

#if HAS(2)
static fc_status predict_row(fc_learner *learn, int n, char **in) {
    const char *names[256], *values[256];
    if (n > 256) return fc_fail(FC_ERR_ARG, "predict_min: at most 256 name=value pairs, found %d", n);
    for (int i = 0; i < n; i++) {
        char *eq = strchr(in[i], '=');
        if (!eq) return fc_fail(FC_ERR_ARG, "predict_min: expected name=value, found '%s'", in[i]);
        *eq = 0;
        names[i] = in[i];
        values[i] = eq + 1;
    }
    fc_prediction p;
    fc_status st = fc_tabular_predict(learn, names, values, n, &p);
    if (st == FC_OK) print("row", &p);
    fc_prediction_free(&p);
    return st;
}
#endif

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL INPUT...\n", argv[0]);
        return 2;
    }
    /* a static link keeps an application's part only when named */
#if HAS(1)
    fc_vision_register();
#endif
#if HAS(2)
    fc_tabular_register();
#endif
#if HAS(3)
    fc_collab_register();
#endif
#if HAS(4)
    fc_text_register();
#endif
    fc_learner *learn = fc_load_learner(argv[1]);
    if (!learn) return fc_report(fc_error_code());
    const char *app = fc_learner_app(learn) ? fc_learner_app(learn) : "";
    fc_status st = FC_OK;
    int rc = 0;
    if (HAS(2) && !strcmp(app, "tabular")) {
#if HAS(2)
        st = predict_row(learn, argc - 2, argv + 2);
#endif
    } else if (HAS(3) && !strcmp(app, "collab")) {
#if HAS(3)
        for (int i = 2; i + 1 < argc; i += 2) {
            fc_prediction p;
            if ((st = fc_collab_predict(learn, argv[i], argv[i + 1], &p)) != FC_OK) break;
            printf("%s\t%s\t%s\n", argv[i], argv[i + 1], p.label);
            fc_prediction_free(&p);
        }
#endif
    } else if (HAS(4) && !strcmp(app, "text") && !fc_learner_dls(learn)->vocab) {
#if HAS(4)
        for (int i = 2; i < argc && st == FC_OK; i++) {
            char *gen = fc_lm_predict(learn, argv[i], 20);
            st = gen ? FC_OK : fc_error_code();
            if (gen) printf("%s\n", gen);
            free(gen);
        }
#endif
    } else { /* vision and text classifiers: fc_learner_predict on the item's text */
        for (int i = 2; i < argc; i++)
            if (predict_one(learn, argv[i]) != FC_OK) rc = fc_report(fc_error_code());
    }
    if (st != FC_OK) rc = fc_report(st);
    fc_learner_free(learn);
    return rc;
}
