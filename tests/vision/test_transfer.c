/* Transfer learning on real data: fine-tuning from the pretrained CIFAR ResNet-20 beats the same
 * network trained from scratch with the same budget, on a small CIFAR-10 subset (1,000 train
 * images, 100 per class; 200 test images). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/vision.h"
#include "fct.h"
#include "vision_data.h"

/* Every 50th image by file number, of train and test. */
static fc_status subset_items(void *ctx, const char *source, fc_items *out) {
    (void)ctx;
    fc_status st = fc_get_files(source, out, .extensions = FC_NAMES(".jpg"), .folders = FC_NAMES("train", "test"));
    if (st != FC_OK) return st;
    int64_t k = 0;
    for (int64_t i = 0; i < out->n; i++) {
        const char *base = strrchr(out->text[i], '/');
        if (atoi(base ? base + 1 : out->text[i]) % 50 == 0) out->text[k++] = out->text[i];
        else free(out->text[i]);
    }
    out->n = k;
    return FC_OK;
}

static fc_dataloaders *cifar_subset(const char *path) {
    fc_datablock *db = fc_datablock_new(.blocks = FC_BLOCKS(fc_image_block(), fc_category_block()),
                                        .get_items = subset_items, .get_y = fc_parent_label(),
                                        .splitter = fc_grandparent_splitter("train", "test"),
                                        .item_tfms = FC_TFMS(fc_random_crop(32, .padding = 4)),
                                        .batch_tfms = FC_TFMS(fc_aug_transforms(.max_rotate = -1, .max_zoom = -1,
                                                                                .max_warp = -1, .max_lighting = -1),
                                                              fc_normalize_imagenet()));
    fc_dataloaders *dls = db ? fc_datablock_dataloaders(db, path, .bs = 50, .n_workers = 2) : NULL;
    fc_datablock_free(db);
    return dls;
}

FCT_TEST(test_fine_tune_from_pretrained_resnet20_beats_scratch) {
    const char *path = vision_dataset("cifar10_jpg");
    char data[1100], weights[1300];
    if (!path || test_data_dir("pretrained/resnet20_cifar10.th", data, sizeof data) <= 0) return;
    snprintf(weights, sizeof weights, "%s/pretrained/resnet20_cifar10.th", data);
    fc_manual_seed(0);
    fc_learner *pre = fc_vision_learner(cifar_subset(path), "resnet20_cifar", .pretrained = weights,
                                        .metrics = FC_METRICS(fc_accuracy()), .quiet = 1);
    if (!FCT_NOTNULL(pre)) return;
    FCT_EQ_INT(fc_dataloader_n(fc_learner_dls(pre)->train), 1000);
    FCT_EQ_INT(fc_dataloader_n(fc_learner_dls(pre)->valid), 200);
    FCT_OK(fc_fine_tune(pre, 2, .base_lr = 2e-3));
    double acc_pre = fc_learner_monitor(pre, "accuracy");
    fc_learner_free(pre);
    fc_manual_seed(0);
    fc_learner *scratch = fc_vision_learner(cifar_subset(path), "resnet20_cifar", .metrics = FC_METRICS(fc_accuracy()),
                                            .quiet = 1);
    if (!FCT_NOTNULL(scratch)) return;
    FCT_OK(fc_fit_one_cycle(scratch, 3, .lr_max = 1e-2)); /* the same 3 epochs fine_tune(2) runs */
    double acc_scratch = fc_learner_monitor(scratch, "accuracy");
    fc_learner_free(scratch);
    fprintf(stderr, "cifar10 subset (1000 train / 200 test): fine-tuned from pretrained resnet20 %.3f, from scratch %.3f\n",
            acc_pre, acc_scratch);
    fct_check(acc_pre > acc_scratch + 0.15, __FILE__, __LINE__,
              "expected fine-tuning to beat scratch by > 15 points, found %.3f vs %.3f", acc_pre, acc_scratch);
}
