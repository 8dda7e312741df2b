/* Layer groups and freezing (fastai's Learner.freeze_to / Optimizer.freeze_to): parameters of the
 * frozen groups stop requiring grad, so the optimizer skips them; normalization layers' parameters
 * keep training unless .no_train_bn (fastai's train_bn and its norm_types). Also fastai's
 * wd_bn_bias=False: no weight decay on biases and normalization layers' parameters. */
#include <string.h>

#include "../core/core_impl.h"
#include "../optim/optim_impl.h"
#include "learner_impl.h"

static const fc_optimizer *innermost(const fc_optimizer *o) {
    while (o->inner) o = o->inner;
    return o;
}

int fci_opt_n_params(const fc_optimizer *opt) { return opt ? innermost(opt)->n_params : 0; }

fc_tensor *fci_opt_param(const fc_optimizer *opt, int i, int *group) {
    const fc_optimizer *o = innermost(opt);
    if (group) *group = o->ps[i].group;
    return o->ps[i].p;
}

/* fastai's norm_types: BatchNorm1d/2d/3d, InstanceNorm and LayerNorm. */
static int is_norm_type(const char *t) {
    return t && (strncmp(t, "BatchNorm", 9) == 0 || strncmp(t, "InstanceNorm", 12) == 0 ||
                 strcmp(t, "LayerNorm") == 0);
}

/* Is p a parameter of a normalization layer in m's tree? with_group_norm: GroupNorm counts too. */
static int in_norm_layer_(fc_module *m, const fc_tensor *p, int with_group_norm) {
    const char *t = fc_module_type(m);
    if (is_norm_type(t) || (with_group_norm && t && strcmp(t, "GroupNorm") == 0)) {
        int n = fc_module_n_parameters(m);
        for (int i = 0; i < n; i++)
            if (fc_module_parameter(m, i, NULL) == p) return 1;
        return 0;
    }
    int nc = fc_module_n_children(m);
    for (int i = 0; i < nc; i++)
        if (in_norm_layer_(fc_module_child_at(m, i, NULL), p, with_group_norm)) return 1;
    return 0;
}
static int in_norm_layer(fc_module *m, const fc_tensor *p) { return in_norm_layer_(m, p, 0); }

/* A module's own parameter named "bias" (fastai's getattr(m, 'bias')): the last part of its
 * dotted name; LSTM's bias_ih_l0 is not one, as in fastai. */
static int is_bias(fc_module *m, const fc_tensor *p) {
    int n = fc_module_n_parameters(m);
    for (int i = 0; i < n; i++) {
        const char *name = NULL;
        if (fc_module_parameter(m, i, &name) != p) continue;
        const char *dot = name ? strrchr(name, '.') : NULL;
        return name && strcmp(dot ? dot + 1 : name, "bias") == 0;
    }
    return 0;
}

/* fastai's norm_bias_params with wd_bn_bias=False. GroupNorm is included here (not in freezing's
 * norm_types, which are fastai's exactly): its affine parameters are scales and shifts like BN's. */
fc_status fci_learner_apply_wd_bn_bias(fc_learner *learn) {
    int n = fci_opt_n_params(learn->opt);
    for (int i = 0; i < n; i++) {
        fc_tensor *p = fci_opt_param(learn->opt, i, NULL);
        int exempt = !learn->wd_bn_bias && (in_norm_layer_(learn->model, p, 1) || is_bias(learn->model, p));
        fc_status st = fc_optimizer_set_param_do_wd(learn->opt, p, !exempt);
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

fc_status fci_learner_apply_freeze(fc_learner *learn) {
    int n = fci_opt_n_params(learn->opt);
    for (int i = 0; i < n; i++) {
        int g;
        fc_tensor *p = fci_opt_param(learn->opt, i, &g);
        int frozen = g < learn->frozen_idx && (learn->no_train_bn || !in_norm_layer(learn->model, p));
        fc_status st = fc_tensor_set_requires_grad(p, !frozen);
        if (st != FC_OK) return st;
        if (frozen) fc_tensor_zero_grad(p);
    }
    return FC_OK;
}

fc_status fc_learner_freeze_to(fc_learner *learn, int n) {
    if (!learn) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "freeze_to: NULL learner");
    if (learn->in_fit) return fc_fail(FC_ERR_STATE, "freeze_to: cannot change the frozen groups during a fit");
    int idx = n >= 0 ? n : learn->n_groups + n;
    if (idx < 0) idx = 0;
    if (idx > learn->n_groups) idx = learn->n_groups; /* the whole model frozen, as fastai warns */
    learn->frozen_idx = idx;
    /* fastai clears the optimizer's state after freezing: a fresh optimizer does the same. */
    fc_optimizer_free(learn->opt);
    learn->opt = NULL;
    return fci_learner_ensure_opt(learn);
}

fc_status fc_learner_freeze(fc_learner *learn) { return fc_learner_freeze_to(learn, -1); }
fc_status fc_learner_unfreeze(fc_learner *learn) { return fc_learner_freeze_to(learn, 0); }
int fc_learner_n_groups(const fc_learner *learn) { return learn ? learn->n_groups : 0; }
