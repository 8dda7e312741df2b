/* ResNet-20 for CIFAR (He et al. 2015, section 4.2) in Yerlan Idelbayev's layout
 * (akamaster/pytorch_resnet_cifar10), whose pretrained/resnet20_cifar10.th loads by name once its
 * "module." prefix is stripped: conv1, bn1, layer1..3 of 3 BasicBlocks (conv1, bn1, conv2, bn2),
 * linear. The parameter-free relu and avgpool children add no names; they make create_body's cut
 * of -2 (drop avgpool and linear) work as for torchvision's ResNets. */
#include "../models_impl.h"

/* "Option A" shortcut: x[:, :, ::2, ::2] with pad zero channels on each side, so the input lands
 * in the middle of the output channels (pad = planes / 4; 0: identity). */
typedef struct cifar_block {
    int64_t pad;
} cifar_block;

static fc_tensor *shortcut(fc_tensor *x, int64_t pad) {
    if (!pad) return x;
    fc_tensor *h = fc_slice(x, 2, 0, fc_tensor_dim(x, 2), 2);
    fc_tensor *hw = fc_slice(h, 3, 0, fc_tensor_dim(x, 3), 2);
    fc_tensor_free(h);
    fc_tensor *y = fc_pad(hw, FC_SHAPE(0, 0, 0, 0, pad, pad), 0);
    fc_tensor_free(hw);
    return y;
}

static fc_tensor *cifar_block_fwd(fc_module *m, fc_tensor *x) {
    const cifar_block *s = fc_module_state(m);
    fc_tensor *out = fci_child_fwd(m, "conv1", x, x);
    out = fci_child_fwd(m, "bn1", out, x);
    fc_tensor *r = fc_relu(out);
    fc_tensor_free(out);
    out = fci_child_fwd(m, "conv2", r, x);
    out = fci_child_fwd(m, "bn2", out, x);
    fc_tensor *idt = out ? shortcut(x, s->pad) : NULL;
    fc_tensor *sum = idt ? fc_add(out, idt) : NULL;
    fc_tensor_free(out);
    if (idt != x) fc_tensor_free(idt);
    fc_tensor *y = fc_relu(sum);
    fc_tensor_free(sum);
    return y;
}
static const fc_module_def cifar_block_def = {.name = "BasicBlock", .forward = cifar_block_fwd,
                                              .free_state = fci_free};

static fc_module *cifar_block_new(int64_t in, int64_t planes, int stride) {
    cifar_block *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->pad = stride != 1 || in != planes ? planes / 4 : 0;
    fc_module *m = fc_module_new(&cifar_block_def, s);
    fc_module_add_child(m, "conv1", fci_conv_nobias(in, planes, 3, stride));
    fc_module_add_child(m, "bn1", fc_batchnorm2d_new(planes));
    fc_module_add_child(m, "conv2", fci_conv_nobias(planes, planes, 3, 1));
    fc_module_add_child(m, "bn2", fc_batchnorm2d_new(planes));
    return fci_model_done(m);
}

/* conv1 bn1 relu layer1..3 avgpool (flatten) linear: linear is child 7. */
static fc_tensor *resnet_cifar_fwd(fc_module *m, fc_tensor *x) { return fci_forward_children(m, x, 7); }
static const fc_module_def resnet_cifar_def = {.name = "ResNet", .forward = resnet_cifar_fwd};

/* Idelbayev's init: kaiming_normal_ (fan_in, gain sqrt(2)) for every conv and the linear weight;
 * the linear bias keeps PyTorch's default, BN 1 and 0. */
fc_module *fc_resnet20_cifar_(const fc_model_opts *opts) {
    fc_model_opts o;
    if (fci_model_opts("resnet20_cifar", opts, 10, &o) != FC_OK) return NULL;
    fc_module *m = fc_module_new(&resnet_cifar_def, NULL);
    fc_module_add_child(m, "conv1", fci_conv_nobias(o.n_in, 16, 3, 1));
    fc_module_add_child(m, "bn1", fc_batchnorm2d_new(16));
    fc_module_add_child(m, "relu", fc_relu_new());
    int64_t in = 16;
    for (int l = 0; l < 3 && fc_error_code() == FC_OK; l++) {
        int64_t planes = 16 << l;
        fc_module *layer = fc_sequential_new();
        for (int b = 0; b < 3; b++) {
            fc_sequential_add(layer, cifar_block_new(in, planes, b == 0 && l > 0 ? 2 : 1));
            in = planes;
        }
        char name[8];
        snprintf(name, sizeof name, "layer%d", l + 1);
        fc_module_add_child(m, name, layer);
    }
    fc_module_add_child(m, "avgpool", fc_adaptive_avgpool2d_new(1, 1));
    fc_module_add_child(m, "linear", fc_linear_new(64, o.n_out));
    for (int i = 0, n = fc_module_n_parameters(m); i < n && fc_error_code() == FC_OK; i++) {
        fc_tensor *w = fc_module_parameter(m, i, NULL);
        if (fc_tensor_ndim(w) >= 2) fci_kaiming_normal(w, 0);
    }
    return fci_model_done(m);
}
