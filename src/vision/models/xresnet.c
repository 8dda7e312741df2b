/* fastai 2.7's XResNet (the "bag of tricks" ResNet, Bag of Tricks for Image Classification, He et
 * al. 2019): a flat Sequential of a 3-conv stem, a max pool, 4 stages of ResBlocks and the head,
 * with fastai's module names (ConvLayer is a Sequential conv, bn[, relu]; ResBlock has convpath,
 * idpath and act) and fastai's init_cnn.
 *
 * widen multiplies the stage widths only (int(64 * widen), ...), as in fastai, where stem_szs stays
 * (32, 32, 64) whatever widen is: the same widen gives the same parameter count as in fastai. */
#include <string.h>

#include "../models_impl.h"

/* fastai's ConvLayer(ni, nf, ks, stride): conv (bias=False, padding (ks - 1) / 2), BatchNorm2d
 * (weight 0 for NormType.BatchZero), then ReLU unless act is 0. */
static fc_module *conv_layer(int64_t ni, int64_t nf, int ks, int stride, int act, int zero_bn) {
    fc_module *bn = fc_batchnorm2d_new(nf);
    if (bn && zero_bn) fci_fill_param(fc_module_get(bn, "weight"), 0);
    fc_module *s = fc_sequential(fci_conv_nobias(ni, nf, ks, stride), bn);
    if (act) fc_sequential_add(s, fc_relu_new());
    return fci_model_done(s);
}

/* act(convpath(x) + idpath(x)) */
static fc_tensor *res_block_fwd(fc_module *m, fc_tensor *x) {
    fc_tensor *a = fci_child_fwd(m, "convpath", x, x);
    fc_tensor *b = a ? fci_child_fwd(m, "idpath", x, x) : NULL;
    fc_tensor *sum = b ? fc_add(a, b) : NULL;
    fc_tensor_free(a);
    fc_tensor_free(b);
    return fci_child_fwd(m, "act", sum, NULL);
}
static const fc_module_def res_block_def = {.name = "ResBlock", .forward = res_block_fwd};

/* fastai's ResBlock(expansion, ni, nf, stride) with its defaults: convpath of two 3x3 ConvLayers
 * (expansion 1) or 1x1, 3x3 (stride), 1x1 (expansion 4), the last without act and zero-init BN;
 * idpath: AvgPool2d(2, ceil_mode=True) when stride 2, then a 1x1 ConvLayer without act when the
 * channels change. */
static fc_module *res_block_new(int expansion, int64_t ni, int64_t nf, int stride) {
    int64_t nh = nf;
    nf *= expansion;
    ni *= expansion;
    fc_module *conv = expansion == 1
                          ? fc_sequential(conv_layer(ni, nh, 3, stride, 1, 0), conv_layer(nh, nf, 3, 1, 0, 1))
                          : fc_sequential(conv_layer(ni, nh, 1, 1, 1, 0), conv_layer(nh, nh, 3, stride, 1, 0),
                                          conv_layer(nh, nf, 1, 1, 0, 1));
    fc_module *id = fc_sequential_new();
    if (stride != 1) fc_sequential_add(id, fc_avgpool2d_new(2, .ceil_mode = 1));
    if (ni != nf) fc_sequential_add(id, conv_layer(ni, nf, 1, 1, 0, 0));
    fc_module *m = fc_module_new(&res_block_def, NULL);
    fc_module_add_child(m, "convpath", conv);
    fc_module_add_child(m, "idpath", id);
    fc_module_add_child(m, "act", fc_relu_new());
    return fci_model_done(m);
}

/* fastai's init_cnn: every bias 0 (BatchNorm's included), kaiming_normal_ (fan_in) for conv and
 * linear weights; BN weights keep their 1 (or the BatchZero 0). */
static void init_cnn(fc_module *m) {
    for (int i = 0, n = fc_module_n_parameters(m); i < n && fc_error_code() == FC_OK; i++) {
        const char *name;
        fc_tensor *w = fc_module_parameter(m, i, &name);
        size_t len = strlen(name);
        if (len >= 4 && !strcmp(name + len - 4, "bias")) fci_fill_param(w, 0);
        else if (fc_tensor_ndim(w) >= 2) fci_kaiming_normal(w, 0);
    }
}

static fc_module *xresnet_new(const char *fn, int expansion, const int layers[4], const fc_model_opts *opts) {
    fc_model_opts o;
    if (fci_model_opts(fn, opts, 1000, &o) != FC_OK) return NULL;
    int64_t szs[5] = {64 / expansion};
    for (int i = 0; i < 4; i++) szs[i + 1] = (int64_t)((64 << i) * o.widen);
    if (szs[1] < 1) {
        fc_fail(FC_ERR_ARG, "%s: .widen = %g leaves the first stage with no channels (int(64 * widen) = 0)",
                fn, o.widen);
        return NULL;
    }
    fc_module *m = fc_sequential(conv_layer(o.n_in, 32, 3, 2, 1, 0), conv_layer(32, 32, 3, 1, 1, 0),
                                 conv_layer(32, 64, 3, 1, 1, 0), fc_maxpool2d_new(3, .stride = 2, .padding = 1));
    for (int s = 0; s < 4 && fc_error_code() == FC_OK; s++) {
        fc_module *stage = fc_sequential_new();
        for (int b = 0; b < layers[s]; b++)
            fc_sequential_add(stage, res_block_new(expansion, b == 0 ? szs[s] : szs[s + 1], szs[s + 1],
                                                   b == 0 && s > 0 ? 2 : 1));
        fc_sequential_add(m, stage);
    }
    fc_sequential_add(m, fc_adaptive_avgpool2d_new(1, 1));
    fc_sequential_add(m, fc_flatten_new());
    fc_sequential_add(m, fc_dropout_new(o.p));
    fc_sequential_add(m, fc_linear_new(szs[4] * expansion, o.n_out));
    if (fc_error_code() == FC_OK) init_cnn(m);
    return fci_model_done(m);
}

fc_module *fc_xresnet18_(const fc_model_opts *o) {
    static const int layers[4] = {2, 2, 2, 2};
    return xresnet_new("xresnet18", 1, layers, o);
}

fc_module *fc_xresnet34_(const fc_model_opts *o) {
    static const int layers[4] = {3, 4, 6, 3};
    return xresnet_new("xresnet34", 1, layers, o);
}

fc_module *fc_xresnet50_(const fc_model_opts *o) {
    static const int layers[4] = {3, 4, 6, 3};
    return xresnet_new("xresnet50", 4, layers, o);
}
