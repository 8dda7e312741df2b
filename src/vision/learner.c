/* vision_learner: the model (create_model.c) on the data's channels and outputs, the arch's layer
 * groups and Normalize with the pretrained weights' statistics (fastai's vision_learner and
 * _add_norm). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/core_impl.h"
#include "models_impl.h"
#include "fastc/vision.h"

/* What the data says: input channels, outputs and the loss that fits the target's kind. */
typedef struct data_shape {
    int64_t n_in, n_out;
    const fc_kind *target_kind;
} data_shape;

static fc_status read_data_shape(fc_dataloaders *dls, data_shape *out) {
    fc_tuple b = {0};
    fc_status st = fc_dataloader_one_batch(dls->train, &b);
    if (st != FC_OK) return st;
    char buf[128];
    if (b.n < 2 || !b.v[0].t || fc_tensor_ndim(b.v[0].t) != 4) {
        st = fc_fail(FC_ERR_SHAPE, "vision_learner: expected batches of (images [N, C, H, W], target), found %d values, the first %s",
                     b.n, b.n ? fc_value_str(&b.v[0], buf, sizeof buf) : "missing");
        fc_tuple_free(&b);
        return st;
    }
    const fc_value *y = &b.v[b.n_inp ? b.n_inp : 1];
    out->n_in = fc_tensor_dim(b.v[0].t, 1);
    out->target_kind = y->kind;
    if (y->kind == fc_kind_category) out->n_out = dls->vocab ? dls->n_vocab : 0;
    else if (y->t && fc_tensor_ndim(y->t) >= 2) out->n_out = fc_tensor_numel(y->t) / fc_tensor_dim(y->t, 0);
    else out->n_out = 1;
    if (out->n_out <= 0)
        st = fc_fail(FC_ERR_ARG, "vision_learner: cannot infer the number of outputs from the target (%s) and the dataloaders have no vocabulary; pass .n_out",
                     fc_value_str(y, buf, sizeof buf));
    fc_tuple_free(&b);
    return st;
}

/* fastai's _add_norm: pretrained weights expect their training statistics. */
static fc_status add_normalize(fc_dataloaders *dls, const fc_arch *arch, int64_t n_in) {
    if (!arch->mean || !arch->std || n_in != 3) return FC_OK;
    fc_dataloader *dl[2] = {dls->train, dls->valid};
    for (int k = 0; k < 2; k++) {
        if (!dl[k]) continue;
        int has = 0;
        for (int i = 0; i < fc_dataloader_n_tfms(dl[k]); i++)
            has |= !strcmp(fc_transform_name(fc_dataloader_tfm_at(dl[k], i)), "Normalize");
        if (has) continue;
        fc_status st = fc_dataloader_add_tfm(dl[k], fc_normalize(.mean = arch->mean, .std = arch->std, .n_channels = 3));
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

/* The default splitter: the body, then the head. */
static fc_status body_head_split(fc_module *model, fc_param_groups *groups) {
    for (int k = 0; k < 2; k++) {
        fc_module *part = fc_module_child_at(model, k, NULL);
        int n = fc_module_n_parameters(part);
        fc_tensor **ps = fci_calloc((size_t)(n ? n : 1), sizeof *ps);
        if (!ps) return fc_error_code();
        for (int i = 0; i < n; i++) ps[i] = fc_module_parameter(part, i, NULL);
        fc_status st = fc_param_groups_add(groups, ps, n);
        fci_free(ps);
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

static fc_loss_func loss_for(const fc_kind *k) {
    if (k == fc_kind_multi_category) return fc_bce_with_logits_flat(0.5);
    if (k == fc_kind_category) return fc_cross_entropy_flat(0);
    return fc_mse_flat();
}

fc_learner *fc_vision_learner_(fc_dataloaders *dls, const char *arch_name, const fc_vision_learner_opts *o) {
    fc_vision_learner_opts z = {0};
    if (!o) o = &z;
    const fc_arch *arch = NULL;
    data_shape ds = {0};
    fc_status st = FC_OK;
    if (!dls) st = fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "vision_learner: NULL dataloaders");
    if (st == FC_OK && !(arch = fc_arch_by_name(arch_name))) st = fc_error_code();
    if (st == FC_OK) st = read_data_shape(dls, &ds);
    if (st == FC_OK && o->n_out > 0) ds.n_out = o->n_out;
    if (st == FC_OK && o->n_in > 0) ds.n_in = o->n_in;
    if (st == FC_OK && o->pretrained && !o->no_normalize) st = add_normalize(dls, arch, ds.n_in);
    fc_module *model = st == FC_OK ? fci_vision_create_model(arch, ds.n_in, ds.n_out, o) : NULL;
    if (!model) {
        for (int i = 0; i < o->metrics.n; i++) fc_metric_free(o->metrics.m[i]);
        for (int i = 0; i < o->cbs.n; i++) fc_callback_free(o->cbs.cb[i]);
        fc_dataloaders_free(dls);
        return NULL;
    }
    fc_loss_func lf = o->loss_func.forward ? o->loss_func : loss_for(ds.target_kind);
    fc_learner *learn = fc_learner(dls, model, .loss_func = lf, .opt_func = o->opt_func, .lr = o->lr, .wd = o->wd,
                                   .no_wd = o->no_wd, .metrics = o->metrics, .cbs = o->cbs,
                                   .splitter = arch->split ? arch->split : body_head_split, .quiet = o->quiet,
                                   .log = o->log);
    if (learn && fci_vision_record_app(learn, arch->name, ds.n_in, ds.n_out, &o->model, &o->head) != FC_OK) {
        fc_learner_free(learn);
        return NULL;
    }
    if (learn && o->pretrained && fc_learner_freeze(learn) != FC_OK) {
        fc_learner_free(learn);
        return NULL;
    }
    return learn;
}
