/* ResNet-9: David Page's DAWNBench CIFAR-10 network ("How to train your ResNet", 2018) as a flat
 * Sequential, the layout of its common PyTorch ports:
 *   0 prep conv_bn(n_in, 64)
 *   1 conv_bn(64, 128), 2 MaxPool2d(2), 3 Residual(conv_bn(128, 128), conv_bn(128, 128))
 *   4 conv_bn(128, 256), 5 MaxPool2d(2)
 *   6 conv_bn(256, 512), 7 MaxPool2d(2), 8 Residual(conv_bn(512, 512), conv_bn(512, 512))
 *   9 AdaptiveMaxPool2d(1), 10 Flatten, 11 Linear(512, n_out, bias=False), 12 Mul(0.125)
 * conv_bn is a Sequential of Conv2d 3x3 (padding 1, no bias), BatchNorm2d, ReLU; a Residual is
 * fc_residual_new(Sequential(conv_bn, conv_bn)): names like "3.module.0.0.weight". PyTorch's
 * default init throughout. create_body's cut is -4 (the global pool onwards). */
#include "../models_impl.h"

static fc_module *conv_bn(int64_t in, int64_t out) {
    return fc_sequential(fci_conv_nobias(in, out, 3, 1), fc_batchnorm2d_new(out), fc_relu_new());
}

static fc_module *residual(int64_t c) { return fc_residual_new(fc_sequential(conv_bn(c, c), conv_bn(c, c))); }

/* y = x * scale: Page's "Mul(weight=0.125)" on the logits. */
static fc_tensor *mul_fwd(fc_module *m, fc_tensor *x) {
    const double *scale = fc_module_state(m);
    return fc_mul_scalar(x, *scale);
}
static const fc_module_def mul_def = {.name = "Mul", .forward = mul_fwd, .free_state = fci_free};

static fc_module *mul_new(double scale) {
    double *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = scale;
    return fc_module_new(&mul_def, s);
}

fc_module *fc_resnet9_(const fc_model_opts *opts) {
    fc_model_opts o;
    if (fci_model_opts("resnet9", opts, 10, &o) != FC_OK) return NULL;
    return fc_sequential(conv_bn(o.n_in, 64),
                         conv_bn(64, 128), fc_maxpool2d_new(2), residual(128),
                         conv_bn(128, 256), fc_maxpool2d_new(2),
                         conv_bn(256, 512), fc_maxpool2d_new(2), residual(512),
                         fci_adaptive_maxpool2d_new(1), fc_flatten_new(),
                         fc_linear_new(512, o.n_out, .no_bias = 1), mul_new(0.125));
}
