/* make demo: a small CNN learns to tell generated circles, squares, triangles and crosses apart,
 * trained with the Learner in fastai's three lines (data, learner, fit_one_cycle). Nothing outside
 * the repo is needed. Prints the model summary, lr_find's suggestions, the progress table and the
 * validation accuracy; writes the loss and lr_find plots as PNG.
 * build/fastc_demo [EPOCHS [LR]]; examples/manual_loop.c is the same training one layer down. */
#include <stdio.h>
#include <stdlib.h>

#include "fastc/fastc.h"

enum { IMG = 24, N_TRAIN = 4000, N_VALID = 1000, BATCH = 64 };

static fc_module *small_cnn(void) {
    return fc_sequential(fc_conv2d_new(1, 8, 3, .padding = 1), fc_relu_new(), fc_maxpool2d_new(2),
                         fc_conv2d_new(8, 16, 3, .padding = 1), fc_relu_new(), fc_maxpool2d_new(2),
                         fc_flatten_new(), fc_linear_new(16 * 6 * 6, FC_SHAPES_N_CLASSES));
}

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 5;
    double lr = argc > 2 ? atof(argv[2]) : 1e-2;
    fc_manual_seed(0);
    fc_tensor *xt = NULL, *yt = NULL, *xv = NULL, *yv = NULL;
    fc_status st = fc_shapes_dataset(N_TRAIN, IMG, 1, &xt, &yt);
    if (st == FC_OK) st = fc_shapes_dataset(N_VALID, IMG, 2, &xv, &yv);
    if (st != FC_OK) return fc_report(st);
    printf("fastc demo: a small CNN learns to tell circles, squares, triangles and crosses apart\n");
    printf("data: %d train + %d valid generated %dx%d images, 4 classes, batch %d\n\n", N_TRAIN, N_VALID,
           IMG, IMG, BATCH);

    /* the three lines */
    fc_dataloaders *dls = fc_tensor_dls(xt, yt, xv, yv, .bs = BATCH);
    fc_learner *learn = fc_learner(dls, small_cnn(), .metrics = FC_METRICS(fc_accuracy(), fc_error_rate()));
    if (!learn) return fc_report(fc_error_code());
    fc_module_print_summary(fc_learner_model(learn), FC_SHAPE(BATCH, 1, IMG, IMG), stdout);

    fc_lr_suggestions sug;
    st = fc_lr_find(learn, &sug, .plot_path = "demo_lr_find.png");
    if (st == FC_OK)
        printf("\nlr_find: valley %.2g, minimum/10 %.2g, steep %.2g (plot: demo_lr_find.png); training "
               "with fit_one_cycle(%d, %g)\n\n", sug.valley, sug.minimum, sug.steep, epochs, lr);
    if (st == FC_OK) st = fc_fit_one_cycle(learn, epochs, lr);
    if (st == FC_OK) st = fc_recorder_plot_loss(learn, "demo_loss.png");

    double loss, metrics[2];
    if (st == FC_OK) st = fc_learner_validate(learn, NULL, &loss, metrics);
    if (st == FC_OK)
        printf("\nvalid: loss %.4f, accuracy %.4f on %d images (loss curve: demo_loss.png)\n", loss,
               metrics[0], N_VALID);
    fc_learner_free(learn);
    fc_tensor_free(xt);
    fc_tensor_free(yt);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
    return fc_report(st);
}
