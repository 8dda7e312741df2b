/* fastai's simple_cnn: a Sequential of conv layers and a pooled, flattened output. */
#include "../models_impl.h"

/* Layer i is a Sequential (fastai's ConvLayer): Conv2d(actns[i], actns[i + 1], k, stride,
 * padding (k - 1) / 2, bias unless BN), [BatchNorm2d], [ReLU]; the last layer has neither BN nor
 * ReLU. Then AdaptiveAvgPool2d(1) and Flatten. PyTorch's default init. */
fc_module *fc_simple_cnn_(const int64_t *actns, int n, const fc_simple_cnn_opts *o) {
    if (fc_error_code() != FC_OK) return NULL;
    if (!actns || n < 2) {
        fc_fail(FC_ERR_ARG, "simple_cnn: expected at least 2 sizes in actns, found %d%s", n,
                actns ? "" : " (NULL actns)");
        return NULL;
    }
    for (int i = 0; i < n - 1; i++) {
        int k = o->kernel_szs ? o->kernel_szs[i] : 3, s = o->strides ? o->strides[i] : 2;
        if (actns[i] <= 0 || actns[i + 1] <= 0 || k <= 0 || s <= 0) {
            fc_fail(FC_ERR_ARG, "simple_cnn: layer %d: expected sizes, kernel size and stride > 0, found "
                    "%lld -> %lld, kernel %d, stride %d", i, (long long)actns[i], (long long)actns[i + 1], k, s);
            return NULL;
        }
    }
    fc_module *m = fc_sequential_new();
    for (int i = 0; i < n - 1 && fc_error_code() == FC_OK; i++) {
        int k = o->kernel_szs ? o->kernel_szs[i] : 3, s = o->strides ? o->strides[i] : 2;
        int last = i == n - 2, bn = o->bn && !last;
        fc_module *layer = fc_sequential(
            fc_conv2d_new(actns[i], actns[i + 1], k, .stride = s, .padding = (k - 1) / 2, .no_bias = bn));
        if (bn) fc_sequential_add(layer, fc_batchnorm2d_new(actns[i + 1]));
        if (!last) fc_sequential_add(layer, fc_relu_new());
        fc_sequential_add(m, layer);
    }
    fc_sequential_add(m, fc_adaptive_avgpool2d_new(1, 1));
    fc_sequential_add(m, fc_flatten_new());
    return fci_model_done(m);
}
