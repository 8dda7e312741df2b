/* The inference-only program: load an exported learner and predict image files, nothing else.
 * Linked statically against libfastc.a, it pulls only the objects these calls reach (the map file
 * build/fastc_predict_min.map lists them; bench/RESULTS.md has the sizes). */
#include <stdio.h>

#include "fastc/vision.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
        return 2;
    }
    fc_vision_register(); /* a static link keeps vision's part only when named */
    fc_learner *learn = fc_load_learner(argv[1]);
    if (!learn) return fc_report(fc_error_code());
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        fc_prediction p;
        if (fc_learner_predict(learn, argv[i], &p) != FC_OK) {
            rc = fc_report(fc_error_code());
            continue;
        }
        printf("%s\t%s\t%.4f\n", argv[i], p.label, p.index >= 0 ? fc_tensor_get(p.probs, p.index) : 0.0);
        fc_prediction_free(&p);
    }
    fc_learner_free(learn);
    return rc;
}
