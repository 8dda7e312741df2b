/* fastai's collab_learner, and reading back what the model learned (bias and weight per id). */
#include <string.h>

#include "collab_impl.h"

fc_learner *fc_collab_learner_(fc_dataloaders *dls, const fc_collab_learner_opts *o) {
    static const fc_collab_learner_opts none;
    if (!o) o = &none;
    const fci_collab_info *info = dls ? fci_collab_info_of(dls, "collab_learner") : NULL;
    int64_t n_factors = o->n_factors ? o->n_factors : 50;
    fc_y_range y_range = o->no_y_range ? (fc_y_range){0, 0}
                         : o->y_range.lo == o->y_range.hi ? (fc_y_range){0, 5.5} : o->y_range;
    fc_module *model = NULL;
    if (info && n_factors < 1)
        fc_fail(FC_ERR_ARG, "collab_learner: .n_factors must be >= 1, found %lld", (long long)n_factors);
    else if (info && o->use_nn) /* fastai: emb_szs by emb_sz_rule, layers [n_factors] */
        model = fc_embedding_nn(info->n_users, fc_emb_sz_rule(info->n_users), info->n_items,
                                fc_emb_sz_rule(info->n_items),
                                .layers = o->layers.n ? o->layers : (fc_ints){1, &n_factors}, .ps = o->ps,
                                .embed_p = o->embed_p, .y_range = y_range);
    else if (info)
        model = fc_embedding_dot_bias(n_factors, info->n_users, info->n_items, y_range);
    if (!model) { /* the learner takes dls even on failure, so free them here */
        fc_dataloaders_free(dls);
        return NULL;
    }
    fc_loss_func lf = o->loss_func.forward ? o->loss_func : fc_mse_flat();
    int64_t nu = info->n_users, ni = info->n_items;
    fc_learner *learn = fc_learner(dls, model, .loss_func = lf, .opt_func = o->opt_func, .lr = o->lr, .wd = o->wd,
                                   .no_wd = o->no_wd, .metrics = o->metrics, .cbs = o->cbs, .quiet = o->quiet,
                                   .log = o->log);
    fc_ints layers = o->layers.n ? o->layers : (fc_ints){1, &n_factors};
    if (learn && fci_collab_record_app(learn, o->use_nn ? 2 : 1, n_factors, nu, fc_emb_sz_rule(nu), ni,
                                       fc_emb_sz_rule(ni), layers, o->ps, o->embed_p, y_range) != FC_OK) {
        fc_learner_free(learn); /* for export */
        learn = NULL;
    }
    return learn;
}

/* A copy of the model parameter under name as a new [rows] or [rows, cols] tensor outside any scope */
static fc_tensor *copy_param(fc_learner *learn, const char *name, int flat) {
    fc_tensor *w = fc_module_get(fc_learner_model(learn), name);
    if (!w) {
        fc_fail(FC_ERR_INTERNAL, "collab: the model has no parameter '%s'", name);
        return NULL;
    }
    fc_scope *outer = fci_scope_suspend();
    fc_tensor *out = fci_tensor_alloc(flat ? FC_SHAPE(fc_tensor_dim(w, 0)) : fc_tensor_shape(w), FC_DTYPE_F32, FC_CPU);
    fci_scope_resume(outer);
    if (out) memcpy(fc_tensor_data(out), fc_tensor_data(w), (size_t)fc_tensor_numel(w) * sizeof(float));
    return out;
}

fc_tensor *fc_collab_bias(fc_learner *learn, int is_item) {
    if (!learn) return NULL;
    if (fci_collab_model_kind(fc_learner_model(learn)) != 1) {
        fc_fail(FC_ERR_ARG, "collab_bias: expected an EmbeddingDotBias model, found %s",
                fc_module_type(fc_learner_model(learn)));
        return NULL;
    }
    return copy_param(learn, is_item ? "i_bias.weight" : "u_bias.weight", 1);
}

fc_tensor *fc_collab_weight(fc_learner *learn, int is_item) {
    if (!learn) return NULL;
    int kind = fci_collab_model_kind(fc_learner_model(learn));
    if (!kind) {
        fc_fail(FC_ERR_ARG, "collab_weight: expected an EmbeddingDotBias or EmbeddingNN model, found %s",
                fc_module_type(fc_learner_model(learn)));
        return NULL;
    }
    if (kind == 1) return copy_param(learn, is_item ? "i_weight.weight" : "u_weight.weight", 0);
    return copy_param(learn, is_item ? "embeds.1.weight" : "embeds.0.weight", 0);
}
