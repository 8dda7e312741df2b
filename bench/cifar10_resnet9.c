/* CIFAR-10 with the DAWNBench recipe's network (ResNet-9) in fastc; bench/torch_cifar10_resnet9.py
 * trains the same model with the same recipe in PyTorch, and bench/cifar10_resnet9.sh runs both.
 * Recipe (both sides): cifar10_jpg train -> test, pad 4 + random 32 crop and horizontal flip on
 * train, CIFAR normalization, fastai's Adam (0.9/0.99, eps 1e-5, decoupled wd 0.01, none on
 * biases and BatchNorm), one-cycle (pct 0.25, div 25, div_final 1e5, cosine; beta1 0.95-0.85),
 * cross entropy, batch BS, 2 threads, 2 loader workers. Then the model's accuracy on the lossless
 * 4-class test set (cifar10_png_test4) for reference.
 * Usage: cifar10_resnet9 EPOCHS WIDEN BS LR KEEP (KEEP k: only images whose number % k == 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastc/fastc.h"

static const float cifar_mean[3] = {0.4914f, 0.4822f, 0.4465f}, cifar_std[3] = {0.2470f, 0.2435f, 0.2616f};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int keep_every = 1;

/* The train and test images, every keep_every-th by file number (the same rule as the twin). */
static fc_status get_items(void *ctx, const char *source, fc_items *out) {
    (void)ctx;
    fc_status st = fc_get_files(source, out, .extensions = FC_NAMES(".jpg"), .folders = FC_NAMES("train", "test"));
    if (st != FC_OK) return st;
    int64_t k = 0;
    for (int64_t i = 0; i < out->n; i++) {
        const char *base = strrchr(out->text[i], '/');
        if (atoi(base ? base + 1 : out->text[i]) % keep_every == 0) out->text[k++] = out->text[i];
        else free(out->text[i]);
    }
    out->n = k;
    return FC_OK;
}

/* Accuracy on the lossless airplane/automobile/ship/truck test images (10-way argmax). */
static double test4_accuracy(fc_learner *learn, const char *path) {
    fc_items files = {0};
    if (fc_get_image_files(path, &files) != FC_OK) return -1;
    static const char *const names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                          "dog", "frog", "horse", "ship", "truck"};
    fc_module *m = fc_learner_model(learn);
    fc_module_eval(m);
    int64_t correct = 0;
    float *x = malloc(sizeof(float) * 3 * 32 * 32);
    fc_no_grad_begin();
    for (int64_t i = 0; i < files.n; i++) {
        fc_tensor *img = fc_image_read(files.text[i]);
        if (!img) break;
        const uint8_t *p = fc_tensor_data(img);
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < 1024; j++) x[c * 1024 + j] = (p[c * 1024 + j] / 255.0f - cifar_mean[c]) / cifar_std[c];
        fc_tensor_free(img);
        fc_scope *s = fc_scope_begin();
        int64_t pred = (int64_t)fc_tensor_item(fc_argmax(fc_module_forward(m, fc_from_data(x, FC_SHAPE(1, 3, 32, 32))), 1, 0));
        fc_scope_end(s);
        const char *cls = strstr(files.text[i], "/test/");
        correct += cls && !strncmp(cls + 6, names[pred], strlen(names[pred])) && cls[6 + strlen(names[pred])] == '/';
    }
    fc_no_grad_end();
    free(x);
    double acc = (double)correct / (double)files.n;
    fc_items_free(&files);
    return acc;
}

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 5;
    double widen = argc > 2 ? atof(argv[2]) : 0.25;
    int bs = argc > 3 ? atoi(argv[3]) : 256;
    double lr = argc > 4 ? atof(argv[4]) : 1e-2;
    keep_every = argc > 5 ? atoi(argv[5]) : 1;
    fc_set_num_threads(2);
    fc_manual_seed(0);
    const char *path = fc_untar_data("cifar10_jpg", .no_download = 1);
    const char *test4 = fc_untar_data("cifar10_png_test4", .no_download = 1);
    if (!path || !test4) return fc_report(fc_error_code());
    fc_datablock *db = fc_datablock_new(
        .blocks = FC_BLOCKS(fc_image_block(), fc_category_block()), .get_items = get_items,
        .get_y = fc_parent_label(), .splitter = fc_grandparent_splitter("train", "test"),
        .item_tfms = FC_TFMS(fc_random_crop(32, .padding = 4)),
        .batch_tfms = FC_TFMS(fc_aug_transforms(.max_rotate = -1, .max_zoom = -1, .max_lighting = -1, .max_warp = -1),
                              fc_normalize(.mean = cifar_mean, .std = cifar_std, .n_channels = 3)));
    fc_dataloaders *dls = db ? fc_datablock_dataloaders(db, path, .bs = bs, .n_workers = 2) : NULL;
    fc_datablock_free(db);
    fc_learner *learn = fc_learner(dls, fc_resnet9(.widen = widen), .metrics = FC_METRICS(fc_accuracy()));
    if (!learn) return fc_report(fc_error_code());
    printf("fastc: resnet9 widen %g, %lld train / %lld test images, bs %d, %d epochs, lr %g\n", widen,
           (long long)fc_dataloader_n(fc_learner_dls(learn)->train), (long long)fc_dataloader_n(fc_learner_dls(learn)->valid),
           bs, epochs, lr);
    double t0 = now();
    fc_status st = fc_fit_one_cycle(learn, epochs, .lr_max = lr);
    double secs = now() - t0;
    if (st != FC_OK) return fc_report(st);
    double acc = fc_learner_monitor(learn, "accuracy"), acc4 = test4_accuracy(learn, test4);
    printf("RESULT fastc test_acc=%.4f test4_acc=%.4f train_s=%.1f s_per_epoch=%.1f\n", acc, acc4, secs, secs / epochs);
    fc_learner_free(learn);
    return fc_report(fc_error_code());
}
