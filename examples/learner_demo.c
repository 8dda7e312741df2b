/* make learner_demo: the demo's CNN trained on the generated shapes data with the Learner, in the
 * three lines fastai users write: data, learner, fit_one_cycle. Prints the progress table, then
 * the validation accuracy from get_preds. */
#include <stdio.h>
#include <stdlib.h>

#include "fastc/fastc.h"

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 4;
    double lr = argc > 2 ? atof(argv[2]) : 1e-2;
    fc_manual_seed(0);
    fc_tensor *xt, *yt, *xv, *yv;
    fc_status st = fc_shapes_dataset(4000, 24, 1, &xt, &yt);
    if (st == FC_OK) st = fc_shapes_dataset(1000, 24, 2, &xv, &yv);
    if (st != FC_OK) return fc_report(st);
    fc_module *model = fc_sequential(fc_conv2d_new(1, 8, 3, .padding = 1), fc_relu_new(), fc_maxpool2d_new(2),
                                     fc_conv2d_new(8, 16, 3, .padding = 1), fc_relu_new(), fc_maxpool2d_new(2),
                                     fc_flatten_new(), fc_linear_new(16 * 6 * 6, FC_SHAPES_N_CLASSES));

    fc_dataloaders *dls = fc_tensor_dls(xt, yt, xv, yv, .bs = 64);
    fc_learner *learn = fc_learner(dls, model);
    st = fc_fit_one_cycle(learn, epochs, lr);

    fc_tensor *preds = NULL, *targs = NULL, *decoded = NULL;
    if (st == FC_OK) st = fc_learner_get_preds(learn, NULL, &preds, &targs, &decoded);
    if (st == FC_OK) {
        int64_t n = fc_tensor_numel(targs), right = 0;
        for (int64_t i = 0; i < n; i++) right += fc_tensor_get(decoded, i) == fc_tensor_get(targs, i);
        printf("\nvalid accuracy %.4f on %lld images\n", (double)right / (double)n, (long long)n);
    }
    fc_tensor_free(preds);
    fc_tensor_free(targs);
    fc_tensor_free(decoded);
    fc_learner_free(learn);
    fc_tensor_free(xt);
    fc_tensor_free(yt);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
    return fc_report(st);
}
