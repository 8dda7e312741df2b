/* libFuzzer target for fc_load_learner: any bytes as an exported learner file must load or fail
 * with an error, never crash, hang or leak; a file that loads must also predict without crashing,
 * through its application's predict (an image path, a tabular row, a (user, item) pair, a text, an
 * LM continuation). Built with clang -fsanitize=fuzzer (the library with -fsanitize=fuzzer-no-link
 * and, with FASTC_SANITIZE, address and undefined) when FASTC_FUZZ is on (CMakeLists.txt);
 * replay.c runs the same target over a corpus without libFuzzer (the fuzz_replay test). The
 * corpus seeds of each application come from fuzz/make_seeds.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastc/collab.h"
#include "fastc/text.h"
#include "fastc/vision.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A row naming every column the table uses, each "1" (a number and a category alike). */
static void predict_tabular(fc_learner *learn) {
    fc_tabular *t = fc_tabular_of_dls(fc_learner_dls(learn));
    if (!t) return;
    int n = 0;
    const char *names[64], *values[64];
    for (int j = 0; j < fc_tabular_n_cat(t) && n < 64; j++) names[n] = fc_tabular_cat_name(t, j), values[n++] = "1";
    for (int j = 0; j < fc_tabular_n_cont(t) && n < 64; j++) names[n] = fc_tabular_cont_name(t, j), values[n++] = "1";
    fc_prediction p;
    if (fc_tabular_predict(learn, names, values, n, &p) == FC_OK) fc_prediction_free(&p);
}

static void predict(fc_learner *learn) {
    const char *app = fc_learner_app(learn);
    fc_prediction p;
    if (!app) return;
    if (!strcmp(app, "tabular")) {
        predict_tabular(learn);
    } else if (!strcmp(app, "collab")) {
        int64_t nu = 0, ni = 0;
        const char *const *u = fc_collab_users(fc_learner_dls(learn), &nu), *const *i = fc_collab_items(fc_learner_dls(learn), &ni);
        if (u && i && nu > 1 && ni > 1 && fc_collab_predict(learn, u[1], i[ni - 1], &p) == FC_OK) fc_prediction_free(&p);
    } else if (!strcmp(app, "text")) {
        if (fc_learner_dls(learn)->vocab) {
            if (fc_learner_predict(learn, "The cat sat on THE mat!! <br /> xxbos", &p) == FC_OK) fc_prediction_free(&p);
        } else {
            free(fc_lm_predict(learn, "the cat", 3));
        }
    } else if (fc_learner_predict(learn, "/nonexistent.png", &p) == FC_OK) { /* a missing image fails cleanly */
        fc_prediction_free(&p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/fuzz_load_learner.%ld.fcm", (long)getpid());
        /* a static link keeps an application's registration only when asked */
        fc_vision_register();
        fc_tabular_register();
        fc_collab_register();
        fc_text_register();
        fc_set_num_threads(1);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    fc_learner *learn = fc_load_learner(path);
    if (learn) predict(learn);
    fc_learner_free(learn);
    fc_error_clear();
    return 0;
}
