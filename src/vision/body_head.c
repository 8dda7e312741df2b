/* fastai's transfer-learning pieces: AdaptiveConcatPool2d, create_head, create_body and the
 * body's number of output features. */
#include "models_impl.h"

/* ---- AdaptiveConcatPool2d -------------------------------------------------------------------- */

/* torch.cat([mp(x), ap(x)], 1): max first, as fastai. */
static fc_tensor *concat_pool_fwd(fc_module *m, fc_tensor *x) {
    fc_tensor *mp = fc_module_forward(fc_module_child(m, "mp"), x);
    fc_tensor *ap = mp ? fc_module_forward(fc_module_child(m, "ap"), x) : NULL;
    fc_tensor *y = ap ? fc_cat(FC_TENSORS(mp, ap), 1) : NULL;
    fc_tensor_free(mp);
    fc_tensor_free(ap);
    return y;
}
static const fc_module_def concat_pool_def = {.name = "AdaptiveConcatPool2d", .forward = concat_pool_fwd};

/* Children ap (AdaptiveAvgPool2d) and mp (AdaptiveMaxPool2d), registered in fastai's order. */
fc_module *fc_adaptive_concat_pool2d_new(int64_t size) {
    if (size < 0) {
        fc_fail(FC_ERR_ARG, "adaptive_concat_pool2d_new: expected size >= 0 (0: 1), found %lld", (long long)size);
        return NULL;
    }
    if (!size) size = 1;
    fc_module *m = fc_module_new(&concat_pool_def, NULL);
    fc_module_add_child(m, "ap", fc_adaptive_avgpool2d_new(size, size));
    fc_module_add_child(m, "mp", fci_adaptive_maxpool2d_new(size));
    return fci_model_done(m);
}

/* ---- create_head ----------------------------------------------------------------------------- */

/* fastai's BatchNorm(nf, ndim=1): BatchNorm1d with weight 1 and bias 1e-3. */
static fc_module *fastai_bn1d(int64_t nf) {
    fc_module *bn = fc_batchnorm1d_new(nf);
    if (bn) fci_fill_param(fc_module_get(bn, "bias"), 1e-3);
    return bn;
}

/* One LinBnDrop(ni, no, bn, p, act, lin_first), its layers appended to seq (fastai extends the
 * head's list with the LinBnDrop's children): [BN(ni)] [Dropout(p)] Linear [ReLU], or with
 * lin_first Linear [ReLU] [BN(no)] [Dropout(p)]. The linear has a bias only without BN. */
static void lin_bn_drop(fc_module *seq, int64_t ni, int64_t no, int bn, double p, int act, int lin_first) {
    if (!lin_first && bn) fc_sequential_add(seq, fastai_bn1d(ni));
    if (!lin_first && p != 0) fc_sequential_add(seq, fc_dropout_new(p));
    fc_sequential_add(seq, fc_linear_new(ni, no, .no_bias = bn));
    if (act) fc_sequential_add(seq, fc_relu_new());
    if (lin_first && bn) fc_sequential_add(seq, fastai_bn1d(no));
    if (lin_first && p != 0) fc_sequential_add(seq, fc_dropout_new(p));
}

#define HEAD_MAX_LIN 64

/* fastai 2.7's create_head with pool=True, the doubling for concat pooling left to the caller
 * (nf is the pooled width). With lin_first, as in fastai, a Dropout(ps[0]) comes first, the
 * remaining ps pair with the first layers only, and a final Linear(lin_ftrs[-2], n_out) closes. */
fc_module *fc_create_head_(int64_t nf, int64_t n_out, const fc_create_head_opts *o) {
    if (fc_error_code() != FC_OK) return NULL;
    static const int64_t default_lin[1] = {512};
    const int64_t *hidden = o->lin_ftrs ? o->lin_ftrs : default_lin;
    int n_hidden = o->lin_ftrs ? o->n_lin_ftrs : 1;
    double ps = o->ps == 0 ? 0.5 : o->ps < 0 ? 0 : o->ps;
    if (nf <= 0 || n_out <= 0 || n_hidden < 0 || n_hidden > HEAD_MAX_LIN - 2 || ps > 1) {
        fc_fail(FC_ERR_ARG, "create_head: expected nf, n_out > 0, .n_lin_ftrs in [0, %d] and .ps <= 1, "
                "found %lld, %lld, %d, %g", HEAD_MAX_LIN - 2, (long long)nf, (long long)n_out, n_hidden, o->ps);
        return NULL;
    }
    int64_t lin[HEAD_MAX_LIN];
    int n_lin = 0;
    lin[n_lin++] = nf;
    for (int i = 0; i < n_hidden; i++) {
        if (hidden[i] <= 0) {
            fc_fail(FC_ERR_ARG, "create_head: expected .lin_ftrs[%d] > 0, found %lld", i, (long long)hidden[i]);
            return NULL;
        }
        lin[n_lin++] = hidden[i];
    }
    lin[n_lin++] = n_out;
    /* ps: ps / 2 for each layer but the last, which gets ps */
    double p[HEAD_MAX_LIN];
    int n_p = n_lin - 1, p0 = 0;
    for (int i = 0; i < n_p; i++) p[i] = i < n_p - 1 ? ps / 2 : ps;
    fc_module *m = fc_sequential_new();
    fc_sequential_add(m, o->no_concat_pool ? fc_adaptive_avgpool2d_new(1, 1) : fc_adaptive_concat_pool2d_new(1));
    fc_sequential_add(m, fc_flatten_new());
    if (o->lin_first) fc_sequential_add(m, fc_dropout_new(p[p0++]));
    for (int i = 0; i + p0 < n_p && fc_error_code() == FC_OK; i++)
        lin_bn_drop(m, lin[i], lin[i + 1], i == 0 ? !o->no_first_bn : 1, p[i + p0], i < n_lin - 2, o->lin_first);
    if (o->lin_first) fc_sequential_add(m, fc_linear_new(lin[n_lin - 2], n_out));
    if (o->bn_final) fc_sequential_add(m, fc_batchnorm1d_new(n_out, .momentum = 0.01));
    return fci_model_done(m);
}

/* ---- create_body ----------------------------------------------------------------------------- */

fc_module *fc_create_body(fc_module *model, int cut) {
    if (!model) return NULL;
    int n = fc_module_n_children(model), keep = cut < 0 ? n + cut : cut;
    if (cut == 0 || keep <= 0 || keep > n) {
        fc_fail(FC_ERR_ARG, "create_body: expected a cut that keeps 1 to %d of the %d children of %s, "
                "found cut %d", n, n, fc_module_type(model), cut);
        fc_module_free(model);
        return NULL;
    }
    fc_module *body = fc_sequential_new();
    for (int i = 0; i < keep && body; i++)
        if (fc_sequential_add(body, fc_module_take_child(model, 0)) != FC_OK) {
            fc_module_free(body);
            body = NULL;
        }
    fc_module_free(model);
    return body;
}

int64_t fc_body_n_features(fc_module *body, int64_t n_in) {
    if (!body) return -1;
    if (n_in <= 0) {
        fc_fail(FC_ERR_ARG, "body_n_features: expected n_in > 0, found %lld", (long long)n_in);
        return -1;
    }
    int was_training = fc_module_is_training(body);
    fc_scope *s = fc_scope_begin();
    fc_module_eval(body);
    fc_no_grad_begin();
    fc_tensor *y = fc_module_forward(body, fc_zeros(FC_SHAPE(1, n_in, 64, 64)));
    fc_no_grad_end();
    int64_t nf = -1;
    if (y && fc_tensor_ndim(y) >= 2) nf = fc_tensor_dim(y, 1);
    else if (y) fc_fail(FC_ERR_SHAPE, "body_n_features: expected a [N, C, ...] output, found %dD", fc_tensor_ndim(y));
    fc_scope_end(s);
    fc_module_train(body, was_training);
    return nf;
}
