/* fastai's get_language_model for AWD_LSTM: SequentialRNN(AWD_LSTM, LinearDecoder) with the decoder
 * weight tied to the encoder's embedding (one tensor registered under both names, listed once,
 * its .grad the sum of both uses), the decoder bias zero, output dropout (RNNDropout) before it.
 * The last forward's raw and dropped outputs stay readable until its scope ends
 * (fc_text_model_outputs), what fastai's LinearDecoder returns for RNNRegularizer. */
#include "text_impl.h"

/* What the last forward saw (a reference on each), shared by the module and the scope the forward
 * ran in: the scope's end drops the tensors, whichever of the two lets go last frees the slot. */
typedef struct outputs_slot {
    int refcount;
    fc_tensor *raw, *dropped;
} outputs_slot;

static void slot_unref(void *p) {
    outputs_slot *s = p;
    if (s && --s->refcount == 0) fci_free(s);
}
static void slot_scope_end(void *p) {
    outputs_slot *s = p;
    fci_tensor_unref(s->raw);
    fci_tensor_unref(s->dropped);
    s->raw = s->dropped = NULL;
    slot_unref(s);
}

/* Records (raw, dropped) of this forward in *slot (replacing the last one); only inside a scope,
 * which bounds their life. */
void fci_text_outputs_set(void **slot, fc_tensor *raw, fc_tensor *dropped) {
    slot_unref(*slot);
    *slot = NULL;
    if (!fci_in_scope() || !raw || !dropped) return;
    outputs_slot *s = fci_calloc(1, sizeof *s);
    if (!s) return;
    *s = (outputs_slot){2, fc_tensor_ref(raw), fc_tensor_ref(dropped)};
    fci_scope_on_end(s, slot_scope_end);
    *slot = s;
}
void fci_text_outputs_free(void *slot) { slot_unref(slot); }
int fci_text_outputs_get(void *slot, fc_tensor **raw, fc_tensor **dropped) {
    outputs_slot *s = slot;
    if (!s || !s->raw) return 0;
    *raw = s->raw;
    *dropped = s->dropped;
    return 1;
}

typedef struct linear_state {
    fc_tensor *weight, *bias; /* borrowed parameters */
} linear_state;

static fc_tensor *linear_fwd(fc_module *m, fc_tensor *x) {
    linear_state *s = fc_module_state(m);
    return fc_linear(x, s->weight, s->bias);
}
static const fc_module_def linear_def = {.name = "Linear", .forward = linear_fwd, .free_state = fci_free};

typedef struct decoder_state {
    void *outputs;                  /* first, as in pool_state: fc_text_model_outputs reads it */
    fc_module *decoder, *output_dp; /* borrowed children */
} decoder_state;

static void decoder_state_free(void *p) {
    decoder_state *s = p;
    if (!s) return;
    fci_text_outputs_free(s->outputs);
    fci_free(s);
}

/* x [B, T, emb_sz] -> logits [B, T, vocab] */
static fc_tensor *decoder_fwd(fc_module *m, fc_tensor *x) {
    decoder_state *s = fc_module_state(m);
    fc_tensor *dp = fc_module_forward(s->output_dp, x);
    fc_tensor *y = fc_module_forward(s->decoder, dp);
    fci_text_outputs_set(&s->outputs, x, dp);
    fc_tensor_free(dp);
    return y;
}
const fc_module_def fci_linear_decoder_def = {
    .name = "LinearDecoder", .forward = decoder_fwd, .free_state = decoder_state_free};

fc_module *fc_awd_lstm_lm_(int64_t vocab_sz, const fc_awd_lstm_opts *o) {
    fc_awd_lstm_opts r;
    if (vocab_sz < 1) {
        fc_fail(FC_ERR_ARG, "awd_lstm_lm: expected vocab_sz >= 1, found %lld", (long long)vocab_sz);
        return NULL;
    }
    if (fci_awd_opts_resolve("awd_lstm_lm", o, &fci_awd_lstm_defaults, &r)) return NULL;
    if (r.pad_token < 0 || r.pad_token >= vocab_sz) {
        fc_fail(FC_ERR_ARG, "awd_lstm_lm: expected .pad_token in [0, %lld), found %lld",
                (long long)vocab_sz, (long long)r.pad_token);
        return NULL;
    }
    fc_module *seq = fc_sequential_new();
    fc_module *awd = fci_awd_lstm_new(vocab_sz, &r);
    fc_tensor *w = fci_awd_lstm_encoder_weight(awd);
    if (fc_sequential_add(seq, awd) != FC_OK) return fci_text_done(seq);
    decoder_state *ds = fci_calloc(1, sizeof *ds);
    linear_state *ls = ds ? fci_calloc(1, sizeof *ls) : NULL;
    if (!ls) {
        fci_free(ds);
        return fci_text_done(seq);
    }
    fc_module *dec = fc_module_new(&fci_linear_decoder_def, ds);
    fc_module *lin = fc_module_new(&linear_def, ls);
    ls->weight = fc_module_add_parameter(lin, "weight", fc_tensor_ref(w)); /* tied */
    ls->bias = fc_module_add_parameter(lin, "bias", fc_keep(fc_zeros(FC_SHAPE(vocab_sz))));
    if (ds) {
        ds->decoder = fc_module_add_child(dec, "decoder", lin);
        ds->output_dp = fc_module_add_child(dec, "output_dp", fci_rnn_dropout_new(r.output_p, 1));
    }
    fc_sequential_add(seq, dec);
    return fci_text_done(seq);
}
