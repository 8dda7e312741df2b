/* The architectures vision_learner knows by name (fastai's model_meta): constructor, cut for
 * create_body, splitter and the pretrained weights' statistics. */
#include <string.h>

#include "models_impl.h"

/* Appends one group holding the parameters of children [from, to) of m (fastai's params(m[a:b])). */
static fc_status add_children_group(fc_param_groups *g, fc_module *m, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) n += fc_module_n_parameters(fc_module_child_at(m, i, NULL));
    fc_tensor **p = fci_calloc(n > 0 ? (size_t)n : 1, sizeof *p);
    if (!p) return fc_error_code();
    int k = 0;
    for (int i = from; i < to; i++) {
        fc_module *c = fc_module_child_at(m, i, NULL);
        for (int j = 0, nc = fc_module_n_parameters(c); j < nc; j++) p[k++] = fc_module_parameter(c, j, NULL);
    }
    fc_status st = fc_param_groups_add(g, p, n);
    fci_free(p);
    return st;
}

/* model = Sequential(body, head...): the groups body[:at], body[at:], model[1:]. */
static fc_status split3(const char *fn, fc_module *model, fc_param_groups *groups, int at) {
    if (!model || !groups) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "%s: NULL model or groups", fn);
    int n = fc_module_n_children(model);
    fc_module *body = fc_module_child_at(model, 0, NULL);
    if (n < 2 || fc_module_n_children(body) < at)
        return fc_fail(FC_ERR_ARG, "%s: expected Sequential(body, head) with a body of at least %d children, "
                       "found %d children (the first with %d)", fn, at, n, fc_module_n_children(body));
    fc_status st = add_children_group(groups, body, 0, at);
    if (st == FC_OK) st = add_children_group(groups, body, at, fc_module_n_children(body));
    if (st == FC_OK) st = add_children_group(groups, model, 1, n);
    return st;
}

fc_status fc_resnet_split(fc_module *model, fc_param_groups *groups) {
    return split3("resnet_split", model, groups, 6);
}

/* fastai's _xresnet_split: body[:3] (the stem), body[3:], head. */
static fc_status xresnet_split(fc_module *model, fc_param_groups *groups) {
    return split3("xresnet_split", model, groups, 3);
}

/* fastai's default_split: body, head. */
static fc_status body_head_split(fc_module *model, fc_param_groups *groups) {
    if (!model || !groups) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "split: NULL model or groups");
    int n = fc_module_n_children(model);
    if (n < 2) return fc_fail(FC_ERR_ARG, "split: expected Sequential(body, head), found %d children", n);
    fc_status st = add_children_group(groups, model, 0, 1);
    return st == FC_OK ? add_children_group(groups, model, 1, n) : st;
}

/* Cuts: torchvision's ResNets and ResNet-20 drop avgpool and the linear (-2); xresnet and ResNet-9
 * drop the global pool, flatten, dropout/linear and linear/scale (-4). Every model's input is
 * normalized with ImageNet statistics (Idelbayev trained ResNet-20 with them too). */
static const fc_arch archs[] = {
    {"resnet18", fc_resnet18_, -2, fc_resnet_split, fc_imagenet_mean, fc_imagenet_std},
    {"resnet34", fc_resnet34_, -2, fc_resnet_split, fc_imagenet_mean, fc_imagenet_std},
    {"resnet50", fc_resnet50_, -2, fc_resnet_split, fc_imagenet_mean, fc_imagenet_std},
    {"xresnet18", fc_xresnet18_, -4, xresnet_split, fc_imagenet_mean, fc_imagenet_std},
    {"xresnet34", fc_xresnet34_, -4, xresnet_split, fc_imagenet_mean, fc_imagenet_std},
    {"xresnet50", fc_xresnet50_, -4, xresnet_split, fc_imagenet_mean, fc_imagenet_std},
    {"resnet20_cifar", fc_resnet20_cifar_, -2, body_head_split, fc_imagenet_mean, fc_imagenet_std},
    {"resnet9", fc_resnet9_, -4, body_head_split, fc_imagenet_mean, fc_imagenet_std},
};
#define N_ARCHS ((int)(sizeof archs / sizeof archs[0]))

const fc_arch *fc_arch_by_name(const char *name) {
    for (int i = 0; name && i < N_ARCHS; i++)
        if (!strcmp(archs[i].name, name)) return &archs[i];
    char known[256];
    size_t len = 0;
    known[0] = 0;
    for (int i = 0; i < N_ARCHS; i++)
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", archs[i].name);
    fc_fail(FC_ERR_ARG, "arch_by_name: unknown architecture '%s' (known: %s)", name ? name : "(null)", known);
    return NULL;
}
