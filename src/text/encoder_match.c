/* fastai's match_embeds (text/models/core.py): an encoder trained on one vocabulary (WikiText's)
 * reused on a corpus with another (IMDB's). The LSTM weights are taken as they are; the embedding
 * gets one row per token of the new vocabulary: the pretrained row of the same token when the old
 * vocabulary has it, else the mean of all the old rows (fastai's wgts.mean(0)). The LM's decoder
 * weight is the embedding (tied), so it follows. fastai also maps the decoder bias of a whole
 * pretrained LM; an encoder file holds no decoder, so the new LM's bias keeps its init (zeros).
 *
 * The file's weights are read into a scratch AWD_LSTM of the old vocabulary size and the model's
 * sizes (strict fc_module_load: names, dtypes and shapes checked), then copied over, so the model
 * is unchanged by any failure. (h-textreal) */
#include <string.h>

#include "tlearn_impl.h"

/* The sizes of an AWD_LSTM read from its parameters: emb_sz, n_hid, n_layers. */
static fc_status awd_sizes(fc_module *awd, int64_t *emb, int64_t *hid, int *layers, const char *who) {
    fc_tensor *w = fc_module_get(awd, "encoder.weight");
    if (!w || fc_tensor_ndim(w) != 2)
        return fc_fail(FC_ERR_ARG, "%s: expected an AWD_LSTM with an encoder.weight [vocab, emb_sz]", who);
    *emb = fc_tensor_dim(w, 1);
    char name[64];
    int l = 0;
    for (;; l++) {
        snprintf(name, sizeof name, "rnns.%d.weight_hh_l0_raw", l);
        if (!fc_module_get(awd, name)) break;
    }
    fc_error_clear(); /* fc_module_get's miss ends the count */
    if (l == 0) return fc_fail(FC_ERR_ARG, "%s: expected an AWD_LSTM with rnns.0.weight_hh_l0_raw, found none", who);
    *layers = l;
    /* layer 0 maps emb_sz -> n_hid (emb_sz itself when there is one layer) */
    *hid = fc_tensor_dim(fc_module_get(awd, "rnns.0.weight_hh_l0_raw"), 1);
    return FC_OK;
}

fc_status fc_awd_lstm_load_encoder_matched(fc_module *model, const fc_vocab *vocab, const char *path, int64_t *n_matched) {
    const char *who = "load_encoder_matched";
    if (!model || !vocab || !path) return fc_fail(FC_ERR_ARG, "%s: expected a model, a vocabulary and a path, found NULL", who);
    fc_module *awd = fci_find_awd_lstm(model, who, NULL);
    if (!awd) return fc_error_code();
    int64_t emb = 0, hid = 0;
    int layers = 0;
    if (awd_sizes(awd, &emb, &hid, &layers, who) != FC_OK) return fc_error_code();
    fc_tensor *w_new = fc_module_get(awd, "encoder.weight");
    int64_t nv = fc_vocab_len(vocab);
    if (fc_tensor_dim(w_new, 0) != nv)
        return fc_fail(FC_ERR_ARG, "%s: the model's embedding has %lld rows, its vocabulary %lld tokens", who,
                       (long long)fc_tensor_dim(w_new, 0), (long long)nv);
    fc_vocab *old = fci_encoder_file_vocab(path, who);
    if (!old) return fc_error_code();
    int64_t no = fc_vocab_len(old);
    fc_module *src = fc_awd_lstm(no, .emb_sz = emb, .n_hid = hid, .n_layers = layers);
    fc_status st = src ? fci_load_encoder_into(src, NULL, path, who) : fc_error_code();
    if (st == FC_ERR_SHAPE) { /* the message names the scratch copy: name the file and the sizes */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", fc_error_message());
        fc_error_clear();
        st = fc_fail(FC_ERR_SHAPE, "%s: '%s' does not fit an AWD_LSTM of emb_sz %lld, n_hid %lld, %d layers (%s)", who,
                     path, (long long)emb, (long long)hid, layers, msg);
    }
    /* every tensor of src must have a twin of the same size in awd (the embedding: emb_sz columns) */
    int np = src ? fc_module_n_parameters(src) : 0;
    for (int i = 0; i < np && st == FC_OK; i++) {
        const char *name = NULL;
        fc_tensor *p = fc_module_parameter(src, i, &name);
        fc_tensor *q = fc_module_get(awd, name);
        if (!q) st = fc_error_code();
        else if (fc_tensor_dtype(p) != FC_DTYPE_F32 || fc_tensor_dtype(q) != FC_DTYPE_F32 || !fc_tensor_is_contiguous(q) ||
                 (strcmp(name, "encoder.weight") != 0 && fc_tensor_numel(p) != fc_tensor_numel(q)))
            st = fc_fail(FC_ERR_ARG, "%s: '%s' does not fit the model's %s", who, path, name);
    }
    double *mean = st == FC_OK ? fci_calloc((size_t)emb, sizeof *mean) : NULL;
    if (st == FC_OK && !mean) st = fc_error_code();
    int64_t found = 0;
    for (int i = 0; i < np && st == FC_OK; i++) {
        const char *name = NULL;
        fc_tensor *p = fc_module_parameter(src, i, &name);
        fc_tensor *q = fc_module_get(awd, name);
        const float *a = fc_tensor_data_f32(p);
        float *b = fc_tensor_data_f32(q);
        if (strcmp(name, "encoder.weight") != 0) {
            memcpy(b, a, (size_t)fc_tensor_numel(p) * sizeof *a);
            continue;
        }
        /* fastai's match_embeds: old row of the same token, else the mean row (in double) */
        for (int64_t r = 0; r < no; r++)
            for (int64_t c = 0; c < emb; c++) mean[c] += a[r * emb + c];
        for (int64_t c = 0; c < emb; c++) mean[c] /= (double)(no ? no : 1);
        for (int64_t r = 0; r < nv; r++) {
            const char *tok = fc_vocab_token(vocab, r);
            int64_t id = fc_vocab_id(old, tok);
            if (id == FC_TOK_UNK && strcmp(tok, fc_text_special[FC_TOK_UNK]) != 0) id = -1;
            if (id >= 0) {
                memcpy(b + r * emb, a + id * emb, (size_t)emb * sizeof *a);
                found++;
            } else {
                for (int64_t c = 0; c < emb; c++) b[r * emb + c] = (float)mean[c];
            }
        }
    }
    fci_free(mean);
    if (st == FC_OK && n_matched) *n_matched = found;
    fc_module_free(src);
    fc_vocab_free(old);
    return st;
}

fc_status fc_learner_load_encoder_matched(fc_learner *learn, const char *path, int64_t *n_matched) {
    if (!learn || !path) return fc_fail(FC_ERR_ARG, "load_encoder_matched: expected a learner and a path, found NULL");
    const fc_vocab *vocab = fc_text_dls_vocab(fc_learner_dls(learn));
    if (!vocab) return fc_error_code();
    fc_status st = fc_awd_lstm_load_encoder_matched(fc_learner_model(learn), vocab, path, n_matched);
    /* as fastai's language_model_learner(pretrained) and load_encoder: frozen, the new parts first */
    if (st == FC_OK) st = fc_learner_freeze(learn);
    return st;
}
