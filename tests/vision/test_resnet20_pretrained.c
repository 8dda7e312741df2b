/* The pretrained CIFAR-10 ResNet-20 (a legacy PyTorch checkpoint) loads through
 * fc_module_load_torch into fc_resnet20_cifar and scores what the data README records on the
 * lossless 4-class test set: 3,798 / 4,000 (airplane 920, automobile 968, ship 953, truck 957). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/vision.h"
#include "fct.h"
#include "vision_data.h"

static const char *const cifar_classes[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck"};

static int class_of(const char *file) { /* .../test/<class>/<n>_<class>.png */
    const char *end = strrchr(file, '/'), *start = end;
    while (start > file && start[-1] != '/') start--;
    for (int c = 0; c < 10; c++)
        if ((size_t)(end - start) == strlen(cifar_classes[c]) && !strncmp(start, cifar_classes[c], (size_t)(end - start))) return c;
    return -1;
}

FCT_TEST(test_resnet20_pretrained_matches_recorded_accuracy) {
    const char *path = vision_dataset("cifar10_png_test4");
    char data[1100];
    if (!path || test_data_dir("pretrained/resnet20_cifar10.th", data, sizeof data) <= 0) return;
    char weights[1300];
    snprintf(weights, sizeof weights, "%s/pretrained/resnet20_cifar10.th", data);
    fc_module *m = fc_resnet20_cifar();
    int n_loaded = 0;
    if (!FCT_OK(fc_module_load_torch(m, weights, .strip_prefix = "module.", .n_loaded = &n_loaded))) {
        fc_module_free(m);
        return;
    }
    FCT_EQ_INT(n_loaded, 97);
    fc_module_eval(m);
    fc_items files = {0};
    FCT_OK(fc_get_image_files(path, &files));
    FCT_EQ_INT(files.n, 4000);
    enum { BS = 200 };
    int64_t correct = 0, per_class[10] = {0};
    float *x = malloc((size_t)BS * 3 * 32 * 32 * sizeof *x);
    int labels[BS];
    fc_no_grad_begin();
    for (int64_t start = 0; start < files.n; start += BS) {
        int n = (int)(files.n - start < BS ? files.n - start : BS);
        for (int i = 0; i < n; i++) {
            fc_tensor *img = fc_image_read(files.text[start + i]);
            if (!FCT_NOTNULL(img)) break;
            const uint8_t *p = fc_tensor_data(img);
            for (int c = 0; c < 3; c++)
                for (int j = 0; j < 32 * 32; j++)
                    x[((int64_t)i * 3 + c) * 1024 + j] = (p[c * 1024 + j] / 255.0f - fc_imagenet_mean[c]) / fc_imagenet_std[c];
            labels[i] = class_of(files.text[start + i]);
            fc_tensor_free(img);
        }
        fc_scope *s = fc_scope_begin();
        fc_tensor *logits = fc_module_forward(m, fc_from_data(x, FC_SHAPE(n, 3, 32, 32)));
        fc_tensor *pred = fc_argmax(logits, 1, 0);
        if (FCT_NOTNULL(pred))
            for (int i = 0; i < n; i++)
                if (fc_tensor_get(pred, i) == labels[i]) correct++, per_class[labels[i]]++;
        fc_scope_end(s);
    }
    fc_no_grad_end();
    fprintf(stderr, "resnet20 pretrained on cifar10_png_test4: %lld / %lld (airplane %lld, automobile %lld, ship %lld, truck %lld)\n",
            (long long)correct, (long long)files.n, (long long)per_class[0], (long long)per_class[1],
            (long long)per_class[8], (long long)per_class[9]);
    /* float summation order may flip an image on the decision boundary, never more */
    fct_check(correct >= 3796 && correct <= 3800, __FILE__, __LINE__, "expected 3798 +- 2 correct, found %lld", (long long)correct);
    free(x);
    fc_items_free(&files);
    fc_module_free(m);
}
