/* Progressive resizing: train at 16 px, then give the same learner 28 px loaders and train on. */
#include "fastc/vision.h"
#include "fct.h"
#include "vision_data.h"

static int64_t batch_size_px(fc_learner *learn) {
    fc_tuple b = {0};
    if (fc_dataloader_one_batch(fc_learner_dls(learn)->train, &b) != FC_OK) return -1;
    int64_t px = fc_tensor_dim(b.v[0].t, 3);
    fc_tuple_free(&b);
    return px;
}

FCT_TEST(test_progressive_resizing_keeps_the_learner) {
    const char *path = vision_dataset("mnist_tiny");
    if (!path) return;
    fc_manual_seed(1);
    fc_learner *learn = fc_vision_learner(fc_image_dls_from_folder(path, .bs = 64, .item_tfms = FC_TFMS(fc_resize(16))),
                                          "xresnet18", .model = {.widen = 0.25},
                                          .metrics = FC_METRICS(fc_accuracy()), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_EQ_INT(batch_size_px(learn), 16);
    FCT_OK(fc_fit_one_cycle(learn, 1, .lr_max = 1e-2));
    double acc16 = fc_learner_monitor(learn, "accuracy");
    fc_module *model = fc_learner_model(learn);
    FCT_OK(fc_learner_set_dls(learn, fc_image_dls_from_folder(path, .bs = 64, .item_tfms = FC_TFMS(fc_resize(28)))));
    FCT_TRUE(fc_learner_model(learn) == model); /* same model, same weights */
    FCT_EQ_INT(batch_size_px(learn), 28);
    FCT_OK(fc_fit_one_cycle(learn, 2, .lr_max = 2e-3));
    double acc28 = fc_learner_monitor(learn, "accuracy");
    fprintf(stderr, "progressive resizing on mnist_tiny: accuracy %.3f at 16 px, %.3f after 28 px\n", acc16, acc28);
    FCT_TRUE(acc28 > 0.9);
    /* bad input: NULL loaders (a failed constructor) leave the learner as it was */
    FCT_TRUE(fc_learner_set_dls(learn, fc_image_dls_from_folder("nowhere_xyz")) == FC_ERR_IO);
    fc_error_clear();
    FCT_EQ_INT(batch_size_px(learn), 28);
    fc_learner_free(learn);
}
