/* fastai's LMLearner.predict: text generation from a language model learner. fastai reruns the
 * whole sequence for every new word; the AWD_LSTM keeps its hidden state, so here the prompt runs
 * once and each sampled token is fed alone — the same distribution with O(n) instead of O(n^2)
 * work. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tlearn_impl.h"

/* The last position's logits of model(x) as doubles (probs[V]). x: i64 [1, T]. */
static fc_status last_logits(fc_module *model, fc_tensor *x, double *out, int64_t V) {
    fc_scope *s = fc_scope_begin();
    fc_tensor *y = fc_module_forward(model, x);
    fc_status st = y ? FC_OK : fc_error_code();
    if (st == FC_OK && (fc_tensor_ndim(y) != 3 || fc_tensor_dim(y, -1) != V))
        st = fc_fail(FC_ERR_SHAPE, "lm_predict: expected the model to return [1, T, %lld] logits, found %s", (long long)V,
                     fci_tshape(y));
    fc_tensor *last = st == FC_OK ? fc_contiguous(fc_select(fc_select(y, 0, 0), 0, fc_tensor_dim(y, 1) - 1)) : NULL;
    if (st == FC_OK && !last) st = fc_error_code();
    if (st == FC_OK) {
        const float *p = fc_tensor_data_f32(last);
        for (int64_t i = 0; i < V; i++) out[i] = p[i];
    }
    fc_scope_end(s);
    return st;
}

/* Draws from softmax(logits / temperature) without xxunk unless allowed; u from the global RNG. */
static fc_status sample(double *logits, int64_t V, double temperature, int allow_unk, int64_t *id) {
    double mx = -INFINITY;
    for (int64_t i = 0; i < V; i++)
        if ((allow_unk || i != FC_TOK_UNK) && logits[i] > mx) mx = logits[i];
    double total = 0;
    for (int64_t i = 0; i < V; i++) {
        logits[i] = (allow_unk || i != FC_TOK_UNK) ? exp((logits[i] - mx) / temperature) : 0;
        total += logits[i];
    }
    fc_scope *s = fc_scope_begin();
    fc_tensor *r = fc_rand(FC_SHAPE(1));
    double u = r ? fc_tensor_item(r) * total : 0;
    fc_scope_end(s);
    if (!r) return fc_error_code();
    int64_t pick = V - 1;
    for (int64_t i = 0; i < V; i++) {
        if (logits[i] <= 0) continue;
        pick = i;
        if ((u -= logits[i]) < 0) break;
    }
    *id = pick;
    return FC_OK;
}

char *fc_lm_predict_(fc_learner *learn, const char *text, int n_words, const fc_lm_predict_opts *o) {
    fc_lm_predict_opts z = {0};
    if (!o) o = &z;
    if (!learn || !text) {
        fc_fail(FC_ERR_ARG, "lm_predict: expected a learner and a text, found NULL");
        return NULL;
    }
    double temperature = o->temperature == 0 ? 1 : o->temperature;
    if (!(temperature > 0) || n_words < 0) {
        fc_fail(FC_ERR_ARG, "lm_predict: expected temperature > 0 and n_words >= 0, found %g and %d", temperature, n_words);
        return NULL;
    }
    const fc_vocab *vocab = fc_text_dls_vocab(fc_learner_dls(learn));
    if (!vocab) return NULL;
    int64_t V = fc_vocab_len(vocab);
    fc_module *model = fc_learner_model(learn);
    fc_tokens toks = {0};
    if (fc_tokenize(text, &toks) != FC_OK) return NULL;
    fc_tensor *prompt = fc_vocab_numericalize(vocab, &toks);
    fc_tokens_free(&toks);
    if (!prompt) return NULL;
    int64_t n0 = fc_tensor_numel(prompt);
    int64_t *ids = malloc(sizeof *ids * (size_t)(n0 + n_words + 1));
    double *logits = malloc(sizeof *logits * (size_t)V);
    char *out = NULL;
    fc_status st = ids && logits ? FC_OK : fc_fail(FC_ERR_NOMEM, "lm_predict: out of memory for %lld tokens", (long long)(n0 + n_words));
    if (st == FC_OK) memcpy(ids, fc_tensor_data(prompt), sizeof *ids * (size_t)n0);
    int was_training = fc_module_is_training(model);
    fc_module_train(model, 0);
    fc_awd_lstm_reset(model);
    fc_no_grad_begin();
    fc_tensor *x = st == FC_OK ? fc_reshape(prompt, FC_SHAPE(1, n0)) : NULL;
    if (st == FC_OK) st = x ? last_logits(model, x, logits, V) : fc_error_code();
    fc_tensor_free(x);
    for (int k = 0; k < n_words && st == FC_OK; k++) {
        st = sample(logits, V, temperature, o->no_unk_off, &ids[n0 + k]);
        if (st != FC_OK || k == n_words - 1) break;
        fc_tensor *one = fc_from_data(&ids[n0 + k], FC_SHAPE(1, 1), .dtype = FC_DTYPE_I64);
        st = one ? last_logits(model, one, logits, V) : fc_error_code();
        fc_tensor_free(one);
    }
    fc_no_grad_end();
    fc_awd_lstm_reset(model); /* the kept state is for batches of one: training starts afresh */
    fc_module_train(model, was_training);
    if (st == FC_OK) out = fc_vocab_decode(vocab, ids, n0 + n_words);
    free(logits);
    free(ids);
    fc_tensor_free(prompt);
    return out;
}
