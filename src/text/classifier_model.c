/* fastai's get_text_classifier for AWD_LSTM: SequentialRNN(SentenceEncoder(AWD_LSTM),
 * PoolingLinearClassifier). The encoder reads the document in chunks of seq_len, each chunk only
 * over the rows up to the last one with text in it (the batch is sorted longest first and padded
 * in front by whole chunks: fastai's real_bs, fixed for rows that end in the last chunk), so a
 * row's state starts fresh where its text starts; outputs of the last max_len tokens are kept. The classifier pools them over the non-pad
 * positions ([last, max, mean], masked_concat_pool) and runs LinBnDrop layers (BatchNorm1d, Dropout
 * when p != 0, Linear without bias, ReLU but on the last). */
#include <math.h>
#include <string.h>

#include "text_impl.h"

typedef struct encoder_state {
    int64_t bptt, max_len, pad;
} encoder_state;

static fc_tensor *encoder_fwd(fc_module *m, fc_tensor *x) {
    fc_fail(FC_ERR_STATE, "SentenceEncoder: returns (outputs, mask); run the whole classifier");
    return NULL;
}
static const fc_module_def encoder_def = {.name = "SentenceEncoder", .forward = encoder_fwd, .free_state = fci_free};

/* x [B, S] i64 -> outputs [B, L, E] and *mask [B, L] u8 (1: pad), L the kept length. */
static fc_tensor *encode(fc_module *enc, const fc_tensor *x_ids, fc_tensor *x, fc_tensor **mask) {
    encoder_state *s = fc_module_state(enc);
    fc_module *awd = fc_module_child_at(enc, 0, NULL);
    int64_t B = fc_tensor_dim(x, 0), S = fc_tensor_dim(x, 1);
    const int64_t *ids = fc_tensor_data(x_ids);
    fc_awd_lstm_reset(awd);
    int64_t first = 0; /* the first chunk kept: sl - i <= max_len */
    while (S - first > s->max_len) first += s->bptt;
    int64_t L = S - first, n_chunks = (S + s->bptt - 1) / s->bptt;
    fc_tensor **outs = fci_calloc((size_t)n_chunks, sizeof *outs);
    *mask = fc_keep(fc_zeros(FC_SHAPE(B, L > 0 ? L : 0), .dtype = FC_DTYPE_U8));
    if (!outs || !*mask) {
        fci_free(outs);
        return NULL;
    }
    uint8_t *mk = fc_tensor_data(*mask);
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < L; t++) mk[b * L + t] = ids[b * S + first + t] == s->pad;
    int n_out = 0, ok = 1;
    for (int64_t i = 0; i < S && ok; i += s->bptt) {
        /* the rows run: up to the last one with text in this chunk. fastai counts the rows whose
         * token i is not a pad, which, as pad_input_chunk puts the remainder of the padding after
         * the text, can leave out a shorter row whose text runs on into the last chunk and run a
         * longer one that has ended instead: its last tokens are lost and its outputs there are
         * zeros, its `last` pooled feature too (fastai issue 3379). The rows are sorted longest
         * first, so those before the last row with text have all started. */
        int64_t len = S - i < s->bptt ? S - i : s->bptt, real_bs = 0;
        for (int64_t b = 0; b < B; b++)
            for (int64_t t = i; t < i + len; t++)
                if (ids[b * S + t] != s->pad) {
                    real_bs = b + 1;
                    break;
                }
        fc_tensor *o;
        if (real_bs == 0) { /* no row has started: every state is dropped (fastai: hidden[:, :0]) */
            fc_awd_lstm_reset(awd);
            o = i >= first ? fc_zeros(FC_SHAPE(B, len, fc_tensor_dim(fci_awd_lstm_encoder_weight(awd), 1))) : NULL;
        } else {
            fc_tensor *rows = fc_narrow(x, 0, 0, real_bs), *xi = fc_narrow(rows, 1, i, len);
            fc_tensor *oi = fc_module_forward(awd, xi);
            fc_tensor_free(xi);
            fc_tensor_free(rows);
            o = oi && real_bs < B ? fc_pad(oi, FC_SHAPE(0, 0, 0, 0, 0, B - real_bs), 0) : oi;
            if (o != oi) fc_tensor_free(oi);
            if (o && i < first) fc_tensor_free(o), o = NULL;
            else if (!o) ok = 0;
        }
        if (o) outs[n_out++] = o;
        else if (i >= first) ok = 0;
    }
    fc_tensor *y = ok && n_out ? (n_out == 1 ? fc_tensor_ref(outs[0]) : fc_cat((fc_tensor_list){n_out, outs}, 1)) : NULL;
    for (int k = 0; k < n_out; k++) fc_tensor_free(outs[k]);
    fci_free(outs);
    return y;
}

/* fastai's masked_concat_pool: [output at the last non-pad position, max, mean over non-pad]. */
static fc_tensor *masked_concat_pool(fc_tensor *out, const fc_tensor *mask, int64_t bptt) {
    int64_t B = fc_tensor_dim(out, 0), L = fc_tensor_dim(out, 1), E = fc_tensor_dim(out, 2);
    const uint8_t *mk = fc_tensor_data(mask);
    fc_tensor *keep = fc_empty(FC_SHAPE(B, L, 1)), *neg = fc_empty(FC_SHAPE(B, L, 1));
    fc_tensor *lens = fc_empty(FC_SHAPE(B, 1)), *last = fc_empty(FC_SHAPE(B, 1, E), .dtype = FC_DTYPE_I64);
    fc_tensor *y = NULL;
    if (keep && neg && lens && last) {
        float *kp = fc_tensor_data(keep), *ng = fc_tensor_data(neg), *ln = fc_tensor_data(lens);
        int64_t *li = fc_tensor_data(last);
        for (int64_t b = 0; b < B; b++) {
            int64_t n_pad = 0, last_pad = 0;
            for (int64_t t = 0; t < L; t++) {
                int pad = mk[b * L + t];
                kp[b * L + t] = pad ? 0.0f : 1.0f;
                ng[b * L + t] = pad ? -INFINITY : 0.0f;
                n_pad += pad;
                last_pad += pad && t >= L - bptt;
            }
            ln[b] = (float)(L - n_pad);
            int64_t at = L - last_pad - 1; /* output[:, -last_lens - 1] */
            for (int64_t e = 0; e < E; e++) li[b * E + e] = at < 0 ? at + L : at;
        }
        fc_tensor *avg = fc_div(fc_sum(fc_mul(out, keep), FC_DIMS(1), 0), lens);
        fc_tensor *mx = fc_max(fc_add(out, neg), 1, 0);
        fc_tensor *lst = fc_reshape(fc_gather(out, 1, last), FC_SHAPE(B, E));
        y = avg && mx && lst ? fc_cat(FC_TENSORS(lst, mx, avg), 1) : NULL;
    }
    fc_tensor_free(keep);
    fc_tensor_free(neg);
    fc_tensor_free(lens);
    fc_tensor_free(last);
    return y;
}

typedef struct pool_state {
    void *outputs; /* first, as in LinearDecoder's state: the encoder outputs of the last forward */
    int64_t bptt;
    fc_module *layers;
} pool_state;

static void pool_state_free(void *p) {
    pool_state *s = p;
    if (!s) return;
    fci_text_outputs_free(s->outputs);
    fci_free(s);
}

static fc_tensor *pool_fwd(fc_module *m, fc_tensor *x) {
    fc_fail(FC_ERR_STATE, "PoolingLinearClassifier: needs the encoder's mask; run the whole classifier");
    return NULL;
}
const fc_module_def fci_pooling_classifier_def = {
    .name = "PoolingLinearClassifier", .forward = pool_fwd, .free_state = pool_state_free};

static fc_tensor *classifier_fwd(fc_module *m, fc_tensor *x) {
    fc_module *enc = fc_module_child_at(m, 0, NULL), *head = fc_module_child_at(m, 1, NULL);
    pool_state *ps = fc_module_state(head);
    encoder_state *es = fc_module_state(enc);
    if (fc_tensor_ndim(x) != 2 || (fc_tensor_dtype(x) != FC_DTYPE_I64 && fc_tensor_dtype(x) != FC_DTYPE_I32)) {
        fc_fail(FC_ERR_SHAPE, "text_classifier: expected token ids [B, T] (i64), found %s %s",
                fc_dtype_name(fc_tensor_dtype(x)), fci_tshape(x));
        return NULL;
    }
    fc_tensor *ids = fc_keep(fc_contiguous(fc_to_dtype(x, FC_DTYPE_I64)));
    fc_tensor *mask = NULL, *y = NULL;
    fc_tensor *out = ids ? encode(enc, ids, ids, &mask) : NULL;
    fc_tensor *pooled = out ? masked_concat_pool(out, mask, es->bptt) : NULL;
    if (pooled) y = fc_module_forward(ps->layers, pooled);
    fci_text_outputs_set(&ps->outputs, out, out);
    fc_tensor_free(pooled);
    fc_tensor_free(out);
    fc_tensor_free(mask);
    fc_tensor_free(ids);
    return y;
}
static const fc_module_def classifier_def = {.name = "SequentialRNN", .forward = classifier_fwd};

typedef struct srange {
    double lo, hi;
} srange;
static fc_tensor *sigmoid_range_fwd(fc_module *m, fc_tensor *x) {
    srange *r = fc_module_state(m);
    return fc_add_scalar(fc_mul_scalar(fc_sigmoid(x), r->hi - r->lo), r->lo);
}
static const fc_module_def sigmoid_range_def = {.name = "SigmoidRange", .forward = sigmoid_range_fwd, .free_state = fci_free};

/* fastai's LinBnDrop(n_in, n_out, bn=True, p, act, lin_first=False). */
static fc_module *lin_bn_drop(int64_t n_in, int64_t n_out, double p, int relu) {
    fc_module *bn = fc_batchnorm1d_new(n_in);
    fc_tensor *bias = fc_module_get(bn, "bias");
    if (bias) { /* fastai's BatchNorm(): bias 1e-3, weight 1 */
        float *b = fc_tensor_data_f32(bias);
        for (int64_t i = 0; i < n_in; i++) b[i] = 1e-3f;
    }
    fc_module *seq = fc_sequential_new();
    fc_sequential_add(seq, bn);
    if (p != 0) fc_sequential_add(seq, fc_dropout_new(p));
    fc_sequential_add(seq, fc_linear_new(n_in, n_out, .no_bias = 1));
    if (relu) fc_sequential_add(seq, fc_relu_new());
    return fci_text_done(seq);
}

static fc_module *pooling_classifier(int64_t n_in, int64_t n_class, const fc_text_classifier_opts *o,
                                     double output_p, int64_t bptt) {
    static const int64_t dflt_ftrs[1] = {50};
    int n_lin = o->lin_ftrs.n ? o->lin_ftrs.n : 1;
    const int64_t *ftrs = o->lin_ftrs.n ? o->lin_ftrs.v : dflt_ftrs;
    if (o->ps.n && o->ps.n != n_lin) {
        fc_fail(FC_ERR_ARG, "text_classifier_model: expected %d values in .ps (one per .lin_ftrs), found %d",
                n_lin, o->ps.n);
        return NULL;
    }
    pool_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->bptt = bptt;
    fc_module *m = fc_module_new(&fci_pooling_classifier_def, s);
    fc_module *layers = fc_sequential_new();
    int64_t d_in = n_in;
    for (int k = 0; k <= n_lin; k++) {
        int64_t d_out = k < n_lin ? ftrs[k] : n_class;
        double p = k == 0 ? output_p : o->ps.n ? o->ps.v[k - 1] : 0.1;
        if (d_out < 1 || !(p >= 0 && p <= 1)) {
            fc_fail(FC_ERR_ARG, "text_classifier_model: expected layer sizes >= 1 and ps in [0, 1], "
                                "found %lld and %g (layer %d)", (long long)d_out, p, k);
            break;
        }
        fc_sequential_add(layers, lin_bn_drop(d_in, d_out, p, k < n_lin));
        d_in = d_out;
    }
    if (o->y_range.lo != o->y_range.hi) {
        srange *r = fci_calloc(1, sizeof *r);
        if (r) *r = (srange){o->y_range.lo, o->y_range.hi};
        fc_sequential_add(layers, r ? fc_module_new(&sigmoid_range_def, r) : NULL);
    }
    if (s) s->layers = fc_module_add_child(m, "layers", layers);
    else fc_module_free(layers);
    return fci_text_done(m);
}

fc_module *fc_text_classifier_model_(int64_t vocab_sz, int64_t n_class, const fc_text_classifier_opts *o) {
    fc_awd_lstm_opts r;
    if (vocab_sz < 1 || n_class < 1) {
        fc_fail(FC_ERR_ARG, "text_classifier_model: expected vocab_sz and n_class >= 1, found %lld and %lld",
                (long long)vocab_sz, (long long)n_class);
        return NULL;
    }
    if (fci_awd_opts_resolve("text_classifier_model", &o->awd, &fci_awd_lstm_clas_defaults, &r)) return NULL;
    int64_t bptt = o->seq_len ? o->seq_len : 72, max_len = o->max_len ? o->max_len : 72 * 20;
    if (bptt < 1 || max_len < 1 || r.pad_token < 0 || r.pad_token >= vocab_sz) {
        fc_fail(FC_ERR_ARG, "text_classifier_model: expected .seq_len, .max_len >= 1 and .awd.pad_token "
                            "in [0, %lld), found %lld, %lld and %lld", (long long)vocab_sz,
                (long long)bptt, (long long)max_len, (long long)r.pad_token);
        return NULL;
    }
    encoder_state *es = fci_calloc(1, sizeof *es);
    if (!es) return NULL;
    *es = (encoder_state){bptt, max_len, r.pad_token};
    fc_module *m = fc_module_new(&classifier_def, NULL);
    fc_module *enc = fc_module_new(&encoder_def, es);
    fc_module_add_child(enc, "module", fci_awd_lstm_new(vocab_sz, &r));
    fc_module_add_child(m, "0", enc);
    fc_module_add_child(m, "1", pooling_classifier(3 * r.emb_sz, n_class, o, r.output_p, bptt));
    return fci_text_done(m);
}

fc_status fc_text_model_outputs(fc_module *m, fc_tensor **raw, fc_tensor **dropped) {
    fc_tensor *a = NULL, *b = NULL;
    if (raw) *raw = NULL;
    if (dropped) *dropped = NULL;
    if (!m) return fc_fail(FC_ERR_ARG, "text_model_outputs: the module is NULL");
    for (int i = 0, n = fc_module_n_children(m); i < n; i++) {
        fc_module *c = fc_module_child_at(m, i, NULL);
        const fc_module_def *d = fc_module_definition(c);
        if (d != &fci_linear_decoder_def && d != &fci_pooling_classifier_def) continue;
        if (!fci_text_outputs_get(*(void **)fc_module_state(c), &a, &b)) break;
        if (raw) *raw = a;
        if (dropped) *dropped = b;
        return FC_OK;
    }
    return fc_fail(FC_ERR_STATE, "text_model_outputs: expected a language model or text classifier "
                                 "run in the current scope, found %s", fc_module_type(m));
}
