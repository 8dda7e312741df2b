/* Full MNIST (60,000 train / 10,000 test PNGs from mnist_png) with the three-line vision API:
 * xresnet18 at a quarter of the width, aug_transforms without flips, fit_one_cycle.
 * Usage: mnist_full [EPOCHS] [LR] [WIDEN] (default 5 1e-2 0.25). Prints the test accuracy and time. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fastc/fastc.h"

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 5;
    double lr = argc > 2 ? atof(argv[2]) : 1e-2, widen = argc > 3 ? atof(argv[3]) : 0.25;
    fc_set_num_threads(2);
    fc_manual_seed(0);
    fc_dataloaders *dls = fc_image_dls_from_folder(fc_untar_data("mnist_png", .no_download = 1), .valid = "test",
                                                   .bs = 128, .batch_tfms = FC_TFMS(fc_aug_transforms(.no_flip = 1)));
    fc_learner *learn = fc_vision_learner(dls, "xresnet18", .model = {.widen = widen}, .metrics = FC_METRICS(fc_accuracy()));
    if (!learn) return fc_report(fc_error_code());
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fc_status st = fc_fit_one_cycle(learn, epochs, .lr_max = lr);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != FC_OK) return fc_report(st);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("RESULT mnist_full xresnet18 widen %g: test accuracy %.4f after %d epochs, %.1f s (%.1f s/epoch)\n", widen,
           fc_learner_monitor(learn, "accuracy"), epochs, secs, secs / epochs);
    fc_learner_free(learn);
    return 0;
}
