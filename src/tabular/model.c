/* fastai's TabularModel (fastai/tabular/model.py, 2.7): embeddings of the categorical columns,
 * BatchNorm on the continuous ones, LinBnDrop(lin_first=True) layers and an optional
 * SigmoidRange, with fastai's parameter names and init. */
#include <math.h>
#include <string.h>

#include "tabular_impl.h"

int64_t fc_emb_sz_rule(int64_t n_cat) {
    if (n_cat <= 0) return 0;
    int64_t d = (int64_t)llround(1.6 * pow((double)n_cat, 0.56));
    return d < 600 ? d : 600;
}

/* ---- the pieces ----------------------------------------------------------------------------- */

typedef struct tab_state {
    int n_cat;
    int64_t n_cont, n_emb;
    int64_t *card; /* [n_cat]: codes are checked against it */
} tab_state;

static void tab_state_free(void *p) {
    tab_state *s = p;
    if (!s) return;
    fci_free(s->card);
    fci_free(s);
}

/* fastai's SigmoidRange(lo, hi): sigmoid(x) * (hi - lo) + lo. */
static fc_tensor *sigmoid_range_fwd(fc_module *m, fc_tensor *x) {
    const fc_y_range *r = fc_module_state(m);
    fc_tensor *s = fc_sigmoid(x);
    fc_tensor *y = fc_mul_scalar(s, r->hi - r->lo);
    fc_tensor_free(s);
    fc_tensor *z = fc_add_scalar(y, r->lo);
    fc_tensor_free(y);
    return z;
}
static const fc_module_def sigmoid_range_def = {.name = "SigmoidRange", .forward = sigmoid_range_fwd,
                                                .free_state = fci_free};

static fc_module *sigmoid_range_new(fc_y_range r) {
    fc_y_range *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = r;
    return fc_module_new(&sigmoid_range_def, s);
}

/* nn.ModuleList: a container whose children are run by their parent, never called. */
static fc_tensor *module_list_fwd(fc_module *m, fc_tensor *x) {
    (void)x;
    fc_fail(FC_ERR_STATE, "%s: a ModuleList is not callable", fc_module_type(m));
    return NULL;
}
static const fc_module_def module_list_def = {.name = "ModuleList", .forward = module_list_fwd};

/* Fills a parameter outside autograd. */
static void fill_param(fc_tensor *t, double v) {
    if (!t) return;
    float *p = fc_tensor_data(t);
    for (int64_t i = 0, n = fc_tensor_numel(t); i < n; i++) p[i] = (float)v;
}

/* fastai's Embedding(ni, nf): weight from trunc_normal_(std=0.01), fastai's version of it:
 * normal_().fmod_(2).mul_(0.01). */
static fc_module *emb_new(int64_t ni, int64_t nf) {
    fc_module *e = fc_embedding_new(ni, nf);
    fc_tensor *w = e ? fc_module_get(e, "weight") : NULL;
    if (w) {
        float *p = fc_tensor_data(w);
        for (int64_t i = 0, n = fc_tensor_numel(w); i < n; i++) p[i] = fmodf(p[i], 2.0f) * 0.01f;
    }
    return e;
}

/* fastai's BatchNorm(nf, ndim=1): weight 1, bias 1e-3. */
static fc_module *fastai_bn(int64_t nf) {
    fc_module *bn = fc_batchnorm1d_new(nf);
    if (bn) fill_param(fc_module_get(bn, "bias"), 1e-3);
    return bn;
}

/* LinBnDrop(n_in, n_out, bn, p, act, lin_first=True): Linear(bias = !bn), act, BN, Dropout(p). */
static fc_module *lin_bn_drop(int64_t n_in, int64_t n_out, int bn, double p, int act) {
    fc_module *seq = fc_sequential_new();
    if (!seq) return NULL;
    fc_sequential_add(seq, fc_linear_new(n_in, n_out, .no_bias = bn));
    if (act) fc_sequential_add(seq, fc_relu_new());
    if (bn) fc_sequential_add(seq, fastai_bn(n_out));
    if (p != 0) fc_sequential_add(seq, fc_dropout_new(p));
    return seq;
}

/* ---- forward ------------------------------------------------------------------------------- */

/* The category codes of x [B, n_cat + n_cont] as i64 [n_cat, B] (column i contiguous for its
 * embedding), checked to be integers in [0, card). xc: f32, or i64/i32 codes only. */
static fc_tensor *codes_of(const tab_state *s, fc_tensor *xc) {
    int64_t b = fc_tensor_dim(xc, 0), w = fc_tensor_dim(xc, 1);
    fc_tensor *idx = fc_empty(FC_SHAPE(s->n_cat, b), .dtype = FC_DTYPE_I64);
    if (!idx) return NULL;
    fc_dtype dt = fc_tensor_dtype(xc);
    const void *x = fc_tensor_data(xc);
    int64_t *o = fc_tensor_data(idx);
    for (int64_t r = 0; r < b; r++)
        for (int i = 0; i < s->n_cat; i++) {
            int64_t k = r * w + i;
            double v = dt == FC_DTYPE_F32   ? ((const float *)x)[k]
                       : dt == FC_DTYPE_I64 ? (double)((const int64_t *)x)[k]
                                            : ((const int32_t *)x)[k];
            int64_t c = (int64_t)v;
            if (!(v >= 0) || (double)c != v || c >= s->card[i]) {
                fc_fail(FC_ERR_ARG, "TabularModel: expected category codes in [0, %lld) in column %d, "
                        "found %g (row %lld)", (long long)s->card[i], i, (double)v, (long long)r);
                fc_tensor_free(idx);
                return NULL;
            }
            o[(int64_t)i * b + r] = c;
        }
    return idx;
}

static fc_tensor *embed_cats(fc_module *m, const tab_state *s, fc_tensor *xc) {
    fc_tensor *idx = codes_of(s, xc);
    if (!idx) return NULL;
    fc_module *embeds = fc_module_child(m, "embeds");
    fc_tensor *parts[s->n_cat > 0 ? s->n_cat : 1];
    int n = 0;
    for (int i = 0; i < s->n_cat; i++, n++) {
        fc_tensor *col = fc_select(idx, 0, i);
        parts[i] = fc_module_forward(fc_module_child_at(embeds, i, NULL), col);
        fc_tensor_free(col);
        if (!parts[i]) break;
    }
    fc_tensor *e = n == s->n_cat ? fc_cat((fc_tensor_list){n, parts}, 1) : NULL;
    for (int i = 0; i < n; i++) fc_tensor_free(parts[i]);
    fc_tensor_free(idx);
    fc_tensor *d = e ? fc_module_forward(fc_module_child(m, "emb_drop"), e) : NULL;
    fc_tensor_free(e);
    return d;
}

static fc_tensor *tabular_fwd(fc_module *m, fc_tensor *x) {
    const tab_state *s = fc_module_state(m);
    int64_t want = s->n_cat + s->n_cont;
    fc_dtype dt = fc_tensor_dtype(x);
    /* integer codes are taken too when there is no continuous part (collab's EmbeddingNN) */
    int int_ok = s->n_cont == 0 && (dt == FC_DTYPE_I64 || dt == FC_DTYPE_I32);
    if (fc_tensor_ndim(x) != 2 || fc_tensor_dim(x, 1) != want || (dt != FC_DTYPE_F32 && !int_ok)) {
        char buf[64];
        fc_fail(FC_ERR_SHAPE, "TabularModel: expected x [B, %lld] f32 (%d codes then %lld continuous; i64 "
                "codes when there are no continuous), found %s %s", (long long)want, s->n_cat, (long long)s->n_cont,
                fc_shape_str(fc_tensor_shape(x), buf, sizeof buf), fc_dtype_name(fc_tensor_dtype(x)));
        return NULL;
    }
    fc_tensor *xc = fc_contiguous(x);
    fc_tensor *emb = NULL, *cont = NULL, *h = NULL;
    if (!xc) return NULL;
    if (s->n_cat > 0 && !(emb = embed_cats(m, s, xc))) goto done;
    if (s->n_cont > 0) {
        cont = fc_narrow(xc, 1, s->n_cat, s->n_cont);
        fc_module *bn = fc_module_child(m, "bn_cont");
        if (cont && bn) {
            fc_tensor *c2 = fc_module_forward(bn, cont);
            fc_tensor_free(cont);
            cont = c2;
        }
        if (!cont) goto done;
    }
    if (emb && cont) h = fc_cat(FC_TENSORS(emb, cont), 1);
    else h = fc_tensor_ref(emb ? emb : cont);
done:
    fc_tensor_free(emb);
    fc_tensor_free(cont);
    fc_tensor_free(xc);
    fc_tensor *y = h ? fc_module_forward(fc_module_child(m, "layers"), h) : NULL;
    fc_tensor_free(h);
    return y;
}
static const fc_module_def tabular_def = {.name = "TabularModel", .forward = tabular_fwd,
                                          .free_state = tab_state_free};

/* ---- the constructor ------------------------------------------------------------------------- */

static fc_status check_args(const int64_t *card, const int64_t *dim, int n_cat, int64_t n_cont,
                            int64_t out_sz, const fc_tabular_model_opts *o) {
    if (n_cat < 0 || n_cont < 0 || n_cat + n_cont == 0 || out_sz <= 0 || (n_cat > 0 && (!card || !dim)))
        return fc_fail(FC_ERR_ARG, "tabular_model: expected n_cat >= 0, n_cont >= 0 (not both 0), "
                       "out_sz > 0 and card, dim given, found n_cat %d, n_cont %lld, out_sz %lld",
                       n_cat, (long long)n_cont, (long long)out_sz);
    for (int i = 0; i < n_cat; i++)
        if (card[i] <= 0 || dim[i] <= 0)
            return fc_fail(FC_ERR_ARG, "tabular_model: expected card[%d] > 0 and dim[%d] > 0, found %lld "
                           "and %lld", i, i, (long long)card[i], (long long)dim[i]);
    for (int k = 0; k < o->layers.n; k++)
        if (o->layers.v[k] <= 0)
            return fc_fail(FC_ERR_ARG, "tabular_model: expected .layers > 0, found %lld at %d",
                           (long long)o->layers.v[k], k);
    if (o->ps.n && o->ps.n != 1 && o->ps.n != (o->layers.n ? o->layers.n : 2))
        return fc_fail(FC_ERR_ARG, "tabular_model: expected .ps with 1 or one per layer (%d), found %d",
                       o->layers.n ? o->layers.n : 2, o->ps.n);
    if (!(o->embed_p >= 0 && o->embed_p <= 1))
        return fc_fail(FC_ERR_ARG, "tabular_model: expected .embed_p in [0, 1], found %g", o->embed_p);
    return FC_OK;
}

fc_module *fc_tabular_model_(const int64_t *card, const int64_t *dim, int n_cat, int64_t n_cont,
                             int64_t out_sz, const fc_tabular_model_opts *o) {
    static const int64_t default_layers[] = {200, 100};
    if (fc_error_code() != FC_OK) return NULL;
    if (check_args(card, dim, n_cat, n_cont, out_sz, o) != FC_OK) return NULL;
    fc_ints layers = o->layers.n ? o->layers : (fc_ints){2, default_layers};
    tab_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n_cat = n_cat;
    s->n_cont = n_cont;
    s->card = fci_calloc(n_cat > 0 ? (size_t)n_cat : 1, sizeof *s->card);
    if (!s->card) {
        tab_state_free(s);
        return NULL;
    }
    for (int i = 0; i < n_cat; i++) {
        s->card[i] = card[i];
        s->n_emb += dim[i];
    }
    fc_module *m = fc_module_new(&tabular_def, s);
    if (!m) return NULL;
    fc_module *embeds = fc_module_add_child(m, "embeds", fc_module_new(&module_list_def, NULL));
    for (int i = 0; i < n_cat && embeds; i++) {
        char name[24];
        snprintf(name, sizeof name, "%d", i);
        fc_module_add_child(embeds, name, emb_new(card[i], dim[i]));
    }
    fc_module_add_child(m, "emb_drop", fc_dropout_new(o->embed_p));
    if (!o->no_bn_cont && n_cont > 0) fc_module_add_child(m, "bn_cont", fc_batchnorm1d_new(n_cont));
    fc_module *seq = fc_module_add_child(m, "layers", fc_sequential_new());
    int64_t n_in = s->n_emb + n_cont;
    for (int k = 0; k < layers.n && seq; k++) {
        double p = o->ps.n == 0 ? 0 : o->ps.n == 1 ? o->ps.v[0] : o->ps.v[k];
        fc_sequential_add(seq, lin_bn_drop(n_in, layers.v[k], !o->no_bn, p, 1));
        n_in = layers.v[k];
    }
    if (seq) fc_sequential_add(seq, lin_bn_drop(n_in, out_sz, !o->no_bn && o->bn_final, 0, 0));
    if (seq && o->y_range.lo != o->y_range.hi) fc_sequential_add(seq, sigmoid_range_new(o->y_range));
    if (fc_error_code() != FC_OK) {
        fc_module_free(m);
        return NULL;
    }
    return m;
}
