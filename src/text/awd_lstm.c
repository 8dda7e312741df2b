/* AWD-LSTM (Merity et al., "Regularizing and Optimizing LSTM Language Models") as fastai 2.7's
 * AWD_LSTM, with its module tree and PyTorch names:
 *   encoder (Embedding, U(-0.1, 0.1)), encoder_dp (EmbeddingDropout; its emb.weight IS
 *   encoder.weight, listed once), rnns.{l} (WeightDropout: weight_hh_l0_raw, module = a one-layer
 *   LSTM holding weight_ih_l0, bias_ih_l0, bias_hh_l0), input_dp, hidden_dps.{l} (RNNDropout).
 * The network runs time-major ([T, B, *]) so that each layer is one fc_lstm call on contiguous
 * data; the ids are transposed on the way in and the output on the way out. Each LSTM keeps its
 * (h, c) between forwards without history (fastai's to_detach), resized when the batch changes:
 * the first rows kept, new rows zero (fastai's _change_hidden). */
#include <math.h>
#include <string.h>

#include "text_impl.h"

const fc_awd_lstm_opts fci_awd_lstm_defaults = {
    .emb_sz = 400, .n_hid = 1152, .n_layers = 3, .pad_token = 1, .embed_p = 0.1,
    .input_p = 0.25, .hidden_p = 0.15, .weight_p = 0.2, .output_p = 0.1, .drop_mult = 1};
const fc_awd_lstm_opts fci_awd_lstm_clas_defaults = {
    .emb_sz = 400, .n_hid = 1152, .n_layers = 3, .pad_token = 1, .embed_p = 0.05,
    .input_p = 0.4, .hidden_p = 0.3, .weight_p = 0.5, .output_p = 0.4, .drop_mult = 1};

fc_module *fci_text_done(fc_module *m) {
    if (m && fc_error_code() != FC_OK) {
        fc_module_free(m);
        return NULL;
    }
    return m;
}

static int resolve_p(const char *fn, const char *name, double v, double dflt, double mult,
                     double *out) {
    double p = v == 0 ? dflt : v < 0 ? 0 : v;
    *out = p * mult;
    if (*out >= 0 && *out <= 1) return 0;
    fc_fail(FC_ERR_ARG, "%s: expected .%s * .drop_mult in [0, 1], found %g * %g", fn, name, p, mult);
    return 1;
}

fc_status fci_awd_opts_resolve(const char *fn, const fc_awd_lstm_opts *o,
                               const fc_awd_lstm_opts *d, fc_awd_lstm_opts *r) {
    *r = *d;
    if (o->emb_sz) r->emb_sz = o->emb_sz;
    if (o->n_hid) r->n_hid = o->n_hid;
    if (o->n_layers) r->n_layers = o->n_layers;
    if (o->pad_token) r->pad_token = o->pad_token;
    r->drop_mult = o->drop_mult ? o->drop_mult : 1;
    if (r->emb_sz < 1 || r->n_hid < 1 || r->n_layers < 1)
        return fc_fail(FC_ERR_ARG, "%s: expected .emb_sz, .n_hid and .n_layers >= 1, found %lld, "
                                   "%lld and %d", fn, (long long)r->emb_sz, (long long)r->n_hid,
                       r->n_layers);
    if (r->drop_mult < 0)
        return fc_fail(FC_ERR_ARG, "%s: expected .drop_mult >= 0, found %g", fn, r->drop_mult);
    double m = r->drop_mult;
    if (resolve_p(fn, "embed_p", o->embed_p, d->embed_p, m, &r->embed_p) ||
        resolve_p(fn, "input_p", o->input_p, d->input_p, m, &r->input_p) ||
        resolve_p(fn, "hidden_p", o->hidden_p, d->hidden_p, m, &r->hidden_p) ||
        resolve_p(fn, "weight_p", o->weight_p, d->weight_p, m, &r->weight_p) ||
        resolve_p(fn, "output_p", o->output_p, d->output_p, m, &r->output_p))
        return fc_error_code();
    return FC_OK;
}

/* ---- small modules: Embedding over a given weight, EmbeddingDropout, RNNDropout, ModuleList ---- */

typedef struct emb_state {
    fc_tensor *weight; /* borrowed from the module's parameter "weight" */
    int64_t pad;
    double p; /* EmbeddingDropout only */
} emb_state;

static fc_tensor *embedding_fwd(fc_module *m, fc_tensor *x) {
    emb_state *s = fc_module_state(m);
    return fc_embedding(s->weight, x, s->pad);
}
static const fc_module_def embedding_def = {.name = "Embedding", .forward = embedding_fwd, .free_state = fci_free};

/* fastai's EmbeddingDropout(emb): whole rows of the embedding (words) dropped in training. */
static fc_tensor *embedding_dropout_fwd(fc_module *m, fc_tensor *x) {
    emb_state *s = fc_module_state(m);
    return fc_embedding_dropout(s->weight, x, s->pad, s->p, fc_module_is_training(m));
}
static const fc_module_def embedding_dropout_def = {
    .name = "EmbeddingDropout", .forward = embedding_dropout_fwd, .free_state = fci_free};

/* A module holding weight (a reference taken) as "weight" (the child "emb" when dropout). */
static fc_module *embedding_over(fc_tensor *weight, int64_t pad, int dropout, double p) {
    emb_state *s = fci_calloc(1, sizeof *s), *es = s ? fci_calloc(1, sizeof *es) : NULL;
    if (!es) {
        fci_free(s);
        return NULL;
    }
    *s = (emb_state){weight, pad, p};
    *es = *s;
    fc_module *emb = fc_module_new(&embedding_def, es);
    fc_module_add_parameter(emb, "weight", fc_tensor_ref(weight));
    if (!dropout) {
        fci_free(s);
        return fci_text_done(emb);
    }
    fc_module *m = fc_module_new(&embedding_dropout_def, s);
    fc_module_add_child(m, "emb", emb);
    return fci_text_done(m);
}

typedef struct rnn_dp_state {
    double p;
    int time_dim;
} rnn_dp_state;

static fc_tensor *rnn_dropout_fwd(fc_module *m, fc_tensor *x) {
    rnn_dp_state *s = fc_module_state(m);
    return fc_locked_dropout(x, s->time_dim, s->p, fc_module_is_training(m));
}
static const fc_module_def rnn_dropout_def = {.name = "RNNDropout", .forward = rnn_dropout_fwd, .free_state = fci_free};

fc_module *fci_rnn_dropout_new(double p, int time_dim) {
    rnn_dp_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = (rnn_dp_state){p, time_dim};
    return fc_module_new(&rnn_dropout_def, s);
}

static fc_tensor *module_list_fwd(fc_module *m, fc_tensor *x) {
    fc_fail(FC_ERR_STATE, "ModuleList: a list of modules is not called (its owner calls each)");
    return NULL;
}
static const fc_module_def module_list_def = {.name = "ModuleList", .forward = module_list_fwd};

/* ---- one LSTM layer with its kept hidden state, and WeightDropout around it ---- */

typedef struct rnn_state {
    int64_t n_hid;
    fc_tensor *w_ih, *b_ih, *b_hh; /* borrowed parameters */
    fc_tensor *w_hh;               /* this call's (dropped) hidden weight, set by WeightDropout */
    fc_tensor *h, *c;              /* [1, B, n_hid] kept, no history; NULL: zeros (after reset) */
} rnn_state;

static void rnn_state_free(void *p) {
    rnn_state *s = p;
    if (!s) return;
    fc_tensor_free(s->h);
    fc_tensor_free(s->c);
    fci_free(s);
}

/* A kept [1, B, H] tensor holding the first rows of old (NULL: none) and zeros after them. */
static fc_tensor *resized_state(fc_tensor *old, int64_t B, int64_t H) {
    fc_tensor *t = fc_keep(fc_zeros(FC_SHAPE(1, B, H)));
    if (t && old) {
        int64_t rows = fc_tensor_dim(old, 1) < B ? fc_tensor_dim(old, 1) : B;
        memcpy(fc_tensor_data(t), fc_tensor_data(old), sizeof(float) * (size_t)(rows * H));
    }
    return t;
}

static fc_tensor *detached_copy(fc_tensor *t) {
    fc_tensor *d = fc_detach(t);
    fc_tensor *c = d ? fc_keep(fc_clone(d)) : NULL;
    fc_tensor_free(d);
    return c;
}

/* x [T, B, I] -> y [T, B, n_hid]; the state moves on to (h_n, c_n). */
static fc_tensor *rnn_fwd(fc_module *m, fc_tensor *x) {
    rnn_state *s = fc_module_state(m);
    if (!s->w_hh) {
        fc_fail(FC_ERR_STATE, "LSTM: an AWD-LSTM layer runs inside its WeightDropout (rnns.{l})");
        return NULL;
    }
    if (fc_tensor_ndim(x) != 3) {
        fc_fail(FC_ERR_SHAPE, "LSTM: expected x [T, B, I], found %s", fci_tshape(x));
        return NULL;
    }
    int64_t B = fc_tensor_dim(x, 1), H = s->n_hid;
    if (!s->h || fc_tensor_dim(s->h, 1) != B) {
        fc_tensor *h = resized_state(s->h, B, H), *c = resized_state(s->c, B, H);
        fc_tensor_free(s->h);
        fc_tensor_free(s->c);
        s->h = h, s->c = c;
        if (!h || !c) return NULL;
    }
    fc_tensor *w_ih[1] = {s->w_ih}, *w_hh[1] = {s->w_hh}, *b_ih[1] = {s->b_ih}, *b_hh[1] = {s->b_hh};
    fc_lstm_weights w = {1, w_ih, w_hh, b_ih, b_hh};
    fc_tensor *h_n = NULL, *c_n = NULL;
    fc_tensor *y = fc_lstm(x, &w, s->h, s->c, &h_n, &c_n);
    if (y) { /* the graph holds its own reference to the old state: replace, not overwrite */
        fc_tensor *h = detached_copy(h_n), *c = detached_copy(c_n);
        if (h && c) {
            fc_tensor_free(s->h);
            fc_tensor_free(s->c);
            s->h = h, s->c = c;
        } else {
            fc_tensor_free(h);
            fc_tensor_free(c);
            fc_tensor_free(y);
            y = NULL;
        }
    }
    fc_tensor_free(h_n);
    fc_tensor_free(c_n);
    return y;
}
static const fc_module_def rnn_def = {.name = "LSTM", .forward = rnn_fwd, .free_state = rnn_state_free};

typedef struct wdrop_state {
    double p;
    fc_tensor *raw; /* borrowed: weight_hh_l0_raw */
    fc_module *lstm;
} wdrop_state;

/* fastai's WeightDropout: the LSTM runs with dropout(weight_hh_l0_raw) (a new mask per forward;
 * the raw weight itself is never changed, and gets the gradient through the mask). */
static fc_tensor *wdrop_fwd(fc_module *m, fc_tensor *x) {
    wdrop_state *s = fc_module_state(m);
    rnn_state *rs = fc_module_state(s->lstm);
    fc_tensor *w = fc_module_is_training(m) && s->p > 0 ? fc_dropout(s->raw, s->p, 1) : fc_tensor_ref(s->raw);
    if (!w) return NULL;
    rs->w_hh = w;
    fc_tensor *y = fc_module_forward(s->lstm, x);
    rs->w_hh = NULL;
    if (w == s->raw) fci_tensor_unref(w);
    else fc_tensor_free(w);
    return y;
}
static const fc_module_def wdrop_def = {.name = "WeightDropout", .forward = wdrop_fwd, .free_state = fci_free};

/* rnns.{l}: nn.LSTM(n_in, n_out) (PyTorch's init, U(-1/sqrt(n_out), 1/sqrt(n_out))) in WeightDropout. */
static fc_module *weight_dropped_lstm(int64_t n_in, int64_t n_out, double weight_p) {
    double bound = 1.0 / sqrt((double)n_out);
    rnn_state *rs = fci_calloc(1, sizeof *rs);
    wdrop_state *ws = rs ? fci_calloc(1, sizeof *ws) : NULL;
    if (!ws) {
        fci_free(rs);
        return NULL;
    }
    rs->n_hid = n_out;
    fc_module *lstm = fc_module_new(&rnn_def, rs);
    /* PyTorch draws weight_ih, weight_hh, bias_ih, bias_hh in that order */
    fc_tensor *w_ih = fc_keep(fc_rand(FC_SHAPE(4 * n_out, n_in)));
    fc_tensor *w_hh = fc_keep(fc_rand(FC_SHAPE(4 * n_out, n_out)));
    fc_tensor *b_ih = fc_keep(fc_rand(FC_SHAPE(4 * n_out)));
    fc_tensor *b_hh = fc_keep(fc_rand(FC_SHAPE(4 * n_out)));
    fc_tensor *all[4] = {w_ih, w_hh, b_ih, b_hh};
    for (int k = 0; k < 4; k++) {
        if (!all[k]) continue;
        float *p = fc_tensor_data_f32(all[k]);
        for (int64_t i = 0, n = fc_tensor_numel(all[k]); i < n; i++)
            p[i] = (float)(-bound + 2 * bound * p[i]);
    }
    rs->w_ih = fc_module_add_parameter(lstm, "weight_ih_l0", w_ih);
    rs->b_ih = fc_module_add_parameter(lstm, "bias_ih_l0", b_ih);
    rs->b_hh = fc_module_add_parameter(lstm, "bias_hh_l0", b_hh);
    ws->p = weight_p;
    fc_module *m = fc_module_new(&wdrop_def, ws);
    ws->raw = fc_module_add_parameter(m, "weight_hh_l0_raw", w_hh);
    ws->lstm = fc_module_add_child(m, "module", lstm);
    return fci_text_done(m);
}

/* ---- AWD_LSTM ---- */

typedef struct awd_state {
    int n_layers;
    fc_tensor *weight;         /* encoder.weight (borrowed) */
    fc_module *encoder_dp, *input_dp;
    fc_module **rnns, **hidden_dps; /* borrowed children, n_layers each */
} awd_state;

static void awd_state_free(void *p) {
    awd_state *s = p;
    if (!s) return;
    fci_free(s->rnns);
    fci_free(s->hidden_dps);
    fci_free(s);
}

/* x [B, T] ids -> [B, T, emb_sz] */
static fc_tensor *awd_fwd(fc_module *m, fc_tensor *x) {
    awd_state *s = fc_module_state(m);
    if (fc_tensor_ndim(x) != 2) {
        fc_fail(FC_ERR_SHAPE, "AWD_LSTM: expected token ids [B, T], found %s", fci_tshape(x));
        return NULL;
    }
    fc_tensor *xt = fc_contiguous(fc_transpose(x, 0, 1)); /* [T, B] */
    fc_tensor *y = fc_module_forward(s->encoder_dp, xt);
    fc_tensor_free(xt);
    fc_tensor *next = fc_module_forward(s->input_dp, y);
    fc_tensor_free(y);
    y = next;
    for (int l = 0; l < s->n_layers && y; l++) {
        next = fc_module_forward(s->rnns[l], y);
        fc_tensor_free(y);
        y = next;
        if (l < s->n_layers - 1) {
            next = fc_module_forward(s->hidden_dps[l], y);
            fc_tensor_free(y);
            y = next;
        }
    }
    fc_tensor *out = fc_contiguous(fc_transpose(y, 0, 1));
    fc_tensor_free(y);
    return out;
}
static const fc_module_def awd_def = {.name = "AWD_LSTM", .forward = awd_fwd, .free_state = awd_state_free};

fc_tensor *fci_awd_lstm_encoder_weight(fc_module *awd) {
    awd_state *s = awd && fc_module_definition(awd) == &awd_def ? fc_module_state(awd) : NULL;
    return s ? s->weight : NULL;
}

fc_module *fci_awd_lstm_new(int64_t vocab_sz, const fc_awd_lstm_opts *r) {
    int L = r->n_layers;
    awd_state *s = fci_calloc(1, sizeof *s);
    if (s) {
        s->n_layers = L;
        s->rnns = fci_calloc((size_t)L, sizeof *s->rnns);
        s->hidden_dps = fci_calloc((size_t)L, sizeof *s->hidden_dps);
    }
    if (!s || !s->rnns || !s->hidden_dps) {
        awd_state_free(s);
        return NULL;
    }
    fc_module *m = fc_module_new(&awd_def, s);
    if (!m) return NULL;
    fc_tensor *w = fc_keep(fc_rand(FC_SHAPE(vocab_sz, r->emb_sz)));
    if (w) { /* fastai: encoder.weight.data.uniform_(-0.1, 0.1) */
        float *p = fc_tensor_data_f32(w);
        for (int64_t i = 0, n = fc_tensor_numel(w); i < n; i++) p[i] = -0.1f + 0.2f * p[i];
    }
    fc_module *enc = w ? embedding_over(w, r->pad_token, 0, 0) : NULL;
    fc_tensor_free(w); /* the encoder holds it now */
    if (!fc_module_add_child(m, "encoder", enc)) return fci_text_done(m);
    s->weight = fc_module_get(enc, "weight");
    s->encoder_dp = fc_module_add_child(m, "encoder_dp", embedding_over(s->weight, r->pad_token, 1, r->embed_p));
    fc_module *rnns = fc_module_add_child(m, "rnns", fc_module_new(&module_list_def, NULL));
    char name[16];
    for (int l = 0; l < L && rnns; l++) {
        snprintf(name, sizeof name, "%d", l);
        s->rnns[l] = fc_module_add_child(rnns, name, weight_dropped_lstm(l ? r->n_hid : r->emb_sz,
                                                                      l == L - 1 ? r->emb_sz : r->n_hid,
                                                                      r->weight_p));
    }
    s->input_dp = fc_module_add_child(m, "input_dp", fci_rnn_dropout_new(r->input_p, 0));
    fc_module *dps = fc_module_add_child(m, "hidden_dps", fc_module_new(&module_list_def, NULL));
    for (int l = 0; l < L && dps; l++) {
        snprintf(name, sizeof name, "%d", l);
        s->hidden_dps[l] = fc_module_add_child(dps, name, fci_rnn_dropout_new(r->hidden_p, 0));
    }
    return fci_text_done(m);
}

fc_module *fc_awd_lstm_(int64_t vocab_sz, const fc_awd_lstm_opts *o) {
    fc_awd_lstm_opts r;
    if (vocab_sz < 1) {
        fc_fail(FC_ERR_ARG, "awd_lstm: expected vocab_sz >= 1, found %lld", (long long)vocab_sz);
        return NULL;
    }
    if (fci_awd_opts_resolve("awd_lstm", o, &fci_awd_lstm_defaults, &r)) return NULL;
    if (r.pad_token < 0 || r.pad_token >= vocab_sz) {
        fc_fail(FC_ERR_ARG, "awd_lstm: expected .pad_token in [0, %lld), found %lld",
                (long long)vocab_sz, (long long)r.pad_token);
        return NULL;
    }
    return fci_awd_lstm_new(vocab_sz, &r);
}

/* Every LSTM layer under m forgets its state. */
void fc_awd_lstm_reset(fc_module *m) {
    if (!m) return;
    if (fc_module_definition(m) == &rnn_def) {
        rnn_state *s = fc_module_state(m);
        fc_tensor_free(s->h);
        fc_tensor_free(s->c);
        s->h = s->c = NULL;
        return;
    }
    for (int i = 0, n = fc_module_n_children(m); i < n; i++)
        fc_awd_lstm_reset(fc_module_child_at(m, i, NULL));
}
