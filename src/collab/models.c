/* fastai's collab models: EmbeddingDotBias (factors and biases, a dot product, sigmoid_range) and
 * EmbeddingNN (a TabularModel over the user and item embeddings). */
#include <math.h>
#include <string.h>

#include "fastc/autograd.h"
#include "collab_impl.h"

void fci_collab_trunc_normal(fc_tensor *w, double std) {
    float *d = fc_tensor_data(w);
    int64_t n = fc_tensor_numel(w);
    fc_tensor *r = fc_randn(FC_SHAPE(n));
    if (!r) return;
    const float *z = fc_tensor_data(r);
    for (int64_t i = 0; i < n; i++) d[i] = fmodf(z[i], 2.0f) * (float)std;
    fc_tensor_free(r);
}

/* sigmoid(x) * (hi - lo) + lo, or x when the range is empty */
static fc_tensor *sigmoid_range(fc_tensor *x, fc_y_range r) {
    if (r.lo == r.hi) return x;
    return fc_add_scalar(fc_mul_scalar(fc_sigmoid(x), r.hi - r.lo), r.lo);
}

/* ---- EmbeddingDotBias ---- */

typedef struct dot_bias {
    fc_y_range y_range;
    fc_tensor *uw, *iw, *ub, *ib; /* the children's weights (borrowed) */
} dot_bias;

static fc_tensor *dot_bias_fwd(fc_module *m, fc_tensor *x) {
    dot_bias *s = fc_module_state(m);
    if (fc_tensor_ndim(x) != 2 || fc_tensor_dim(x, 1) != 2) {
        fc_fail(FC_ERR_SHAPE, "EmbeddingDotBias: expected x [B, 2] (user, item codes), found %s", fci_tshape(x));
        return NULL;
    }
    fc_tensor *users = fc_select(x, 1, 0), *items = fc_select(x, 1, 1);
    fc_tensor *dot = fc_sum(fc_mul(fc_embedding(s->uw, users, -1), fc_embedding(s->iw, items, -1)), FC_SHAPE(1), 0);
    fc_tensor *bias = fc_add(fc_embedding(s->ub, users, -1), fc_embedding(s->ib, items, -1)); /* [B, 1] */
    return sigmoid_range(fc_add(dot, fc_squeeze(bias, 1)), s->y_range);
}

static const fc_module_def dot_bias_def = {.name = "EmbeddingDotBias", .forward = dot_bias_fwd,
                                           .free_state = fci_free};

/* an nn.Embedding(n, f) with fastai's init, added to m as child name; its weight or NULL */
static fc_tensor *add_embedding(fc_module *m, const char *name, int64_t n, int64_t f) {
    fc_module *e = fc_module_add_child(m, name, fc_embedding_new(n, f));
    fc_tensor *w = e ? fc_module_get(e, "weight") : NULL;
    if (w) fci_collab_trunc_normal(w, 0.01);
    return w;
}

fc_module *fc_embedding_dot_bias(int64_t n_factors, int64_t n_users, int64_t n_items, fc_y_range y_range) {
    if (fc_error_code() != FC_OK) return NULL;
    if (n_factors < 1 || n_users < 1 || n_items < 1) {
        fc_fail(FC_ERR_ARG, "embedding_dot_bias: expected n_factors, n_users and n_items >= 1, found %lld, %lld "
                "and %lld", (long long)n_factors, (long long)n_users, (long long)n_items);
        return NULL;
    }
    if (y_range.lo > y_range.hi) {
        fc_fail(FC_ERR_ARG, "embedding_dot_bias: expected y_range lo < hi, found (%g, %g)", y_range.lo, y_range.hi);
        return NULL;
    }
    dot_bias *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->y_range = y_range;
    fc_module *m = fc_module_new(&dot_bias_def, s);
    if (!m) return NULL;
    /* fastai's order: u_weight, i_weight, u_bias, i_bias */
    s->uw = add_embedding(m, "u_weight", n_users, n_factors);
    s->iw = add_embedding(m, "i_weight", n_items, n_factors);
    s->ub = add_embedding(m, "u_bias", n_users, 1);
    s->ib = add_embedding(m, "i_bias", n_items, 1);
    if (!s->uw || !s->iw || !s->ub || !s->ib) {
        fc_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- EmbeddingNN ---- */

/* [B, 1] -> [B]: the contract's squeezed output, the last module of the TabularModel's layers */
static fc_tensor *squeeze_fwd(fc_module *m, fc_tensor *x) {
    (void)m;
    return fc_squeeze(x, 1);
}
static const fc_module_def squeeze_def = {.name = "Squeeze", .forward = squeeze_fwd};

/* fastai's EmbeddingNN is a TabularModel subclass (no module of its own), so its parameters are the
 * TabularModel's (embeds.0.weight, layers.0.0.weight, ...): the model is fc_tabular_model itself
 * (which takes i64 codes when there are no continuous columns) with a parameterless Squeeze
 * appended to its layers, so every name stays fastai's. */
fc_module *fc_embedding_nn_(int64_t n_users, int64_t user_dim, int64_t n_items, int64_t item_dim,
                           const fc_embedding_nn_opts *o) {
    static const fc_embedding_nn_opts none;
    if (!o) o = &none;
    if (fc_error_code() != FC_OK) return NULL;
    if (o->layers.n < 1) {
        fc_fail(FC_ERR_ARG, "embedding_nn: .layers is required (collab_learner passes [n_factors]), found none");
        return NULL;
    }
    const int64_t card[2] = {n_users, n_items}, dim[2] = {user_dim, item_dim};
    fc_module *m = fc_tabular_model(card, dim, 2, 0, 1, .layers = o->layers, .ps = o->ps, .embed_p = o->embed_p,
                                    .y_range = o->y_range);
    fc_module *layers = m ? fc_module_child(m, "layers") : NULL;
    if (m && (!layers || fc_sequential_add(layers, fc_module_new(&squeeze_def, NULL)) != FC_OK)) {
        if (!layers) FCI_INTERNAL("embedding_nn: the TabularModel has no 'layers'");
        fc_module_free(m);
        return NULL;
    }
    return m;
}

static int is_embedding_nn(const fc_module *m) {
    fc_module *layers = strcmp(fc_module_type(m), "TabularModel") ? NULL : fc_module_child(m, "layers");
    int n = layers ? fc_module_n_children(layers) : 0;
    return n > 0 && !strcmp(fc_module_type(fc_module_child_at(layers, n - 1, NULL)), squeeze_def.name);
}

int fci_collab_model_kind(const fc_module *m) {
    if (!m) return 0;
    if (!strcmp(fc_module_type(m), dot_bias_def.name)) return 1;
    if (is_embedding_nn(m)) return 2;
    return 0;
}
