/* Progressive resizing: train at 16 px, then give the same learner 28 px loaders and train on. */
#include <stdio.h>

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

static int is_png(const char *path) {
    unsigned char sig[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(sig, 1, 8, f);
    fclose(f);
    return n == 8 && sig[0] == 0x89 && sig[1] == 'P' && sig[2] == 'N' && sig[3] == 'G';
}

/* The whole vision flow on real images with the real augmentation: aug_transforms + MixUp while
 * training, then show_batch, show_results, TTA and the interpretation of the same learner. */
FCT_TEST(test_vision_flow_with_augmentation_tta_and_interpretation) {
    const char *path = vision_dataset("mnist_tiny");
    if (!path) return;
    fc_manual_seed(3);
    fc_dataloaders *dls = fc_image_dls_from_folder(path, .bs = 64, .batch_tfms = FC_TFMS(fc_aug_transforms(.no_flip = 1)));
    fc_learner *learn = fc_vision_learner(dls, "xresnet18", .model = {.widen = 0.25}, .cbs = FC_CALLBACKS(fc_mixup()),
                                          .metrics = FC_METRICS(fc_accuracy()), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit_one_cycle(learn, 5, .lr_max = 1e-2));
    double acc = fc_learner_monitor(learn, "accuracy");
    FCT_OK(fc_show_batch(fc_learner_dls(learn)->train, "vision_data/show_batch.png", .vocab = fc_learner_dls(learn)->vocab,
                         .n_vocab = fc_learner_dls(learn)->n_vocab));
    FCT_TRUE(is_png("vision_data/show_batch.png"));
    FCT_OK(fc_show_results(learn, "vision_data/show_results.png"));
    FCT_TRUE(is_png("vision_data/show_results.png"));
    fc_tensor *preds = NULL, *targs = NULL;
    if (FCT_OK(fc_tta(learn, &preds, &targs, .n = 2))) {
        FCT_TRUE(fc_tensor_dim(preds, 0) == 699 && fc_tensor_dim(preds, 1) == 2);
        int64_t right = 0;
        for (int64_t i = 0; i < 699; i++)
            right += (fc_tensor_get(preds, 2 * i + 1) > fc_tensor_get(preds, 2 * i)) == (fc_tensor_get(targs, i) == 1);
        fprintf(stderr, "mnist_tiny with aug_transforms + MixUp, 5 epochs: accuracy %.3f, with TTA %.3f\n", acc, right / 699.0);
        FCT_TRUE(right / 699.0 > 0.85);
    }
    fc_tensor_free(preds);
    fc_tensor_free(targs);
    fc_interp *in = fc_interp_from_learner(learn, NULL);
    if (FCT_NOTNULL(in)) {
        int64_t n = 0, total = 0;
        const int64_t *cm = fc_interp_confusion_matrix(in, &n);
        FCT_EQ_INT(n, 2);
        for (int64_t i = 0; i < n * n; i++) total += cm[i];
        FCT_EQ_INT(total, 699);
        FCT_OK(fc_interp_plot_top_losses(in, 9, "vision_data/top_losses.png"));
        FCT_TRUE(is_png("vision_data/top_losses.png"));
        FCT_OK(fc_interp_plot_confusion_matrix(in, "vision_data/confusion.png"));
        FCT_TRUE(is_png("vision_data/confusion.png"));
        fc_interp_free(in);
    }
    fc_learner_free(learn);
}
