/* The proof on real data: MNIST_SAMPLE (3 vs 7, 12,396 train / 2,038 valid images) through
 * fc_image_dls_from_folder + fc_vision_learner with a small ResNet-18-like model (xresnet18 at a
 * quarter of the width) reaches >= 98% accuracy in one epoch. */
#include <stdio.h>

#include "fastc/vision.h"
#include "fct.h"
#include "vision_data.h"

FCT_TEST(test_mnist_sample_one_epoch_98_percent) {
    const char *path = vision_dataset("mnist_sample");
    if (!path) return;
    fc_manual_seed(42);
    fc_dataloaders *dls = fc_image_dls_from_folder(path, .bs = 64);
    fc_learner *learn = fc_vision_learner(dls, "xresnet18", .model = {.widen = 0.25},
                                          .metrics = FC_METRICS(fc_accuracy()), .log = stderr);
    if (!FCT_NOTNULL(learn)) return;
    FCT_EQ_INT(fc_learner_n_groups(learn), 3);
    FCT_OK(fc_fit_one_cycle(learn, 1, .lr_max = 1e-2));
    double acc = fc_learner_monitor(learn, "accuracy");
    fprintf(stderr, "mnist_sample: accuracy %.4f after 1 epoch\n", acc);
    fct_check(acc >= 0.98, __FILE__, __LINE__, "expected accuracy >= 0.98 after one epoch, found %.4f", acc);
    fc_learner_free(learn);
}
