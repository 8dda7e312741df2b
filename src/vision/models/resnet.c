/* torchvision 0.14's ResNet-18/34/50 (v1.5: the stride of a Bottleneck is on its 3x3 conv), with
 * torchvision's module names, registration order and init, so that its state_dict loads as is. */
#include "../models_impl.h"

/* ---- blocks ---------------------------------------------------------------------------------- */

/* out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), shortcut = downsample or identity. */
static fc_tensor *add_shortcut_relu(fc_module *m, fc_tensor *out, fc_tensor *x) {
    fc_module *down = fc_module_child(m, "downsample");
    fc_tensor *idt = down ? fc_module_forward(down, x) : x;
    fc_tensor *sum = out && idt ? fc_add(out, idt) : NULL;
    fc_tensor_free(out);
    if (idt != x) fc_tensor_free(idt);
    return fci_child_fwd(m, "relu", sum, NULL);
}

static fc_tensor *basic_block_fwd(fc_module *m, fc_tensor *x) {
    fc_tensor *out = fci_child_fwd(m, "conv1", x, x);
    out = fci_child_fwd(m, "bn1", out, x);
    out = fci_child_fwd(m, "relu", out, x);
    out = fci_child_fwd(m, "conv2", out, x);
    out = fci_child_fwd(m, "bn2", out, x);
    return add_shortcut_relu(m, out, x);
}
static const fc_module_def basic_block_def = {.name = "BasicBlock", .forward = basic_block_fwd};

static fc_tensor *bottleneck_fwd(fc_module *m, fc_tensor *x) {
    fc_tensor *out = fci_child_fwd(m, "conv1", x, x);
    out = fci_child_fwd(m, "bn1", out, x);
    out = fci_child_fwd(m, "relu", out, x);
    out = fci_child_fwd(m, "conv2", out, x);
    out = fci_child_fwd(m, "bn2", out, x);
    out = fci_child_fwd(m, "relu", out, x);
    out = fci_child_fwd(m, "conv3", out, x);
    out = fci_child_fwd(m, "bn3", out, x);
    return add_shortcut_relu(m, out, x);
}
static const fc_module_def bottleneck_def = {.name = "Bottleneck", .forward = bottleneck_fwd};

/* torchvision registers BasicBlock: conv1 bn1 relu conv2 bn2 downsample; Bottleneck: conv1 bn1
 * conv2 bn2 conv3 bn3 relu downsample. expansion 1 is a BasicBlock, 4 a Bottleneck. */
static fc_module *block_new(int expansion, int64_t inplanes, int64_t planes, int stride) {
    int64_t out = planes * expansion;
    if (expansion == 1) {
        fc_module *m = fc_module_new(&basic_block_def, NULL);
        fc_module_add_child(m, "conv1", fci_conv_nobias(inplanes, planes, 3, stride));
        fc_module_add_child(m, "bn1", fc_batchnorm2d_new(planes));
        fc_module_add_child(m, "relu", fc_relu_new());
        fc_module_add_child(m, "conv2", fci_conv_nobias(planes, planes, 3, 1));
        fc_module_add_child(m, "bn2", fc_batchnorm2d_new(planes));
        if (stride != 1 || inplanes != out)
            fc_module_add_child(m, "downsample", fc_sequential(fci_conv_nobias(inplanes, out, 1, stride),
                                                               fc_batchnorm2d_new(out)));
        return fci_model_done(m);
    }
    fc_module *m = fc_module_new(&bottleneck_def, NULL);
    fc_module_add_child(m, "conv1", fci_conv_nobias(inplanes, planes, 1, 1));
    fc_module_add_child(m, "bn1", fc_batchnorm2d_new(planes));
    fc_module_add_child(m, "conv2", fci_conv_nobias(planes, planes, 3, stride));
    fc_module_add_child(m, "bn2", fc_batchnorm2d_new(planes));
    fc_module_add_child(m, "conv3", fci_conv_nobias(planes, out, 1, 1));
    fc_module_add_child(m, "bn3", fc_batchnorm2d_new(out));
    fc_module_add_child(m, "relu", fc_relu_new());
    if (stride != 1 || inplanes != out)
        fc_module_add_child(m, "downsample", fc_sequential(fci_conv_nobias(inplanes, out, 1, stride),
                                                           fc_batchnorm2d_new(out)));
    return fci_model_done(m);
}

/* ---- the network ----------------------------------------------------------------------------- */

/* conv1 bn1 relu maxpool layer1..4 avgpool (flatten) fc: fc is child 9. */
static fc_tensor *resnet_fwd(fc_module *m, fc_tensor *x) { return fci_forward_children(m, x, 9); }
static const fc_module_def resnet_def = {.name = "ResNet", .forward = resnet_fwd};

/* torchvision's init: kaiming_normal_(mode="fan_out", nonlinearity="relu") for every conv; BN 1, 0
 * and Linear's default are what the constructors already drew. */
static void init_convs(fc_module *m) {
    int n = fc_module_n_parameters(m);
    for (int i = 0; i < n; i++) {
        fc_tensor *w = fc_module_parameter(m, i, NULL);
        if (fc_tensor_ndim(w) == 4) fci_kaiming_normal(w, 1);
    }
}

static fc_module *resnet_new(const char *fn, int expansion, const int layers[4], const fc_model_opts *opts) {
    fc_model_opts o;
    if (fci_model_opts(fn, opts, 1000, &o) != FC_OK) return NULL;
    fc_module *m = fc_module_new(&resnet_def, NULL);
    fc_module_add_child(m, "conv1", fc_conv2d_new(o.n_in, 64, 7, .stride = 2, .padding = 3, .no_bias = 1));
    fc_module_add_child(m, "bn1", fc_batchnorm2d_new(64));
    fc_module_add_child(m, "relu", fc_relu_new());
    fc_module_add_child(m, "maxpool", fc_maxpool2d_new(3, .stride = 2, .padding = 1));
    int64_t inplanes = 64;
    for (int l = 0; l < 4 && fc_error_code() == FC_OK; l++) {
        int64_t planes = 64 << l;
        fc_module *layer = fc_sequential_new();
        for (int b = 0; b < layers[l]; b++) {
            fc_sequential_add(layer, block_new(expansion, inplanes, planes, b == 0 && l > 0 ? 2 : 1));
            inplanes = planes * expansion;
        }
        char name[8];
        snprintf(name, sizeof name, "layer%d", l + 1);
        fc_module_add_child(m, name, layer);
    }
    fc_module_add_child(m, "avgpool", fc_adaptive_avgpool2d_new(1, 1));
    fc_module_add_child(m, "fc", fc_linear_new(512 * expansion, o.n_out));
    if (fc_error_code() == FC_OK) init_convs(m);
    return fci_model_done(m);
}

fc_module *fc_resnet18_(const fc_model_opts *o) {
    static const int layers[4] = {2, 2, 2, 2};
    return resnet_new("resnet18", 1, layers, o);
}

fc_module *fc_resnet34_(const fc_model_opts *o) {
    static const int layers[4] = {3, 4, 6, 3};
    return resnet_new("resnet34", 1, layers, o);
}

fc_module *fc_resnet50_(const fc_model_opts *o) {
    static const int layers[4] = {3, 4, 6, 3};
    return resnet_new("resnet50", 4, layers, o);
}
