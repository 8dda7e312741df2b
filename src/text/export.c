/* Text's part of export and inference (h-export): the config a text learner records (a language
 * model or a classifier, the AWD-LSTM options it was built with, the classifier head's), the
 * vocabulary, the label classes and the tokenizer options saved as data, and loaders rebuilt from
 * them, so a loaded classifier predicts a text with fc_learner_predict and a loaded language
 * model generates with fc_lm_predict exactly as the trained learner. Registers the application
 * "text" at start-up and through fc_text_register. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json_impl.h"
#include "../data/data_impl.h"
#include "../learner/learner_impl.h"
#include "text_impl.h"
#include "tlearn_impl.h"

/* Bounds that keep a corrupt file from asking for an absurd model before the weights are compared. */
#define MAX_VOCAB (1 << 24)
#define MAX_SIZE (1 << 16)
#define MAX_LAYERS 64

static void put_awd(fci_sbuf *b, const fc_awd_lstm_opts *a) {
    fci_sb_printf(b, "\"awd\":{\"emb_sz\":%lld,\"n_hid\":%lld,\"n_layers\":%d,\"pad_token\":%lld,\"embed_p\":%.17g,"
                  "\"input_p\":%.17g,\"hidden_p\":%.17g,\"weight_p\":%.17g,\"output_p\":%.17g,\"drop_mult\":%.17g}",
                  (long long)a->emb_sz, (long long)a->n_hid, a->n_layers, (long long)a->pad_token, a->embed_p, a->input_p,
                  a->hidden_p, a->weight_p, a->output_p, a->drop_mult);
}

fc_status fci_text_record_app(fc_learner *learn, int64_t vocab_sz, int64_t n_class, const fc_awd_lstm_opts *awd,
                              const fc_text_classifier_opts *co) {
    if (!learn) return fc_error_code();
    fci_sbuf b = {0};
    fci_sb_printf(&b, "{\"model\":\"%s\",\"vocab_sz\":%lld,\"n_class\":%lld,", co ? "classifier" : "language_model",
                  (long long)vocab_sz, (long long)n_class);
    put_awd(&b, awd);
    if (co) {
        fci_sb_printf(&b, ",\"seq_len\":%lld,\"max_len\":%lld,\"lin_ftrs\":[", (long long)co->seq_len, (long long)co->max_len);
        for (int i = 0; co->lin_ftrs.v && i < co->lin_ftrs.n; i++)
            fci_sb_printf(&b, "%s%lld", i ? "," : "", (long long)co->lin_ftrs.v[i]);
        fci_sb_puts(&b, "],\"ps\":[");
        for (int i = 0; co->ps.v && i < co->ps.n; i++) {
            if (i) fci_sb_puts(&b, ",");
            fci_sb_json_number(&b, co->ps.v[i]);
        }
        fci_sb_printf(&b, "],\"y_range\":[%.17g,%.17g]", co->y_range.lo, co->y_range.hi);
    }
    fci_sb_puts(&b, "}");
    fc_status st = b.failed ? fc_error_code() : fc_learner_set_app(learn, "text", b.p);
    free(b.p);
    return st;
}

/* The AWD-LSTM options as recorded (0 and negative values keep their meaning: the defaults, none). */
static int awd_from(const fci_json *a, fc_awd_lstm_opts *o) {
    int64_t emb = 0, hid = 0, nl = 0, pad = 0;
    int ok = a && fci_json_int(a, "emb_sz", 0, MAX_SIZE, &emb) && fci_json_int(a, "n_hid", 0, MAX_SIZE, &hid) &&
             fci_json_int(a, "n_layers", 0, MAX_LAYERS, &nl) && fci_json_int(a, "pad_token", 0, MAX_VOCAB, &pad) &&
             fci_json_real(a, "embed_p", -1, 1, &o->embed_p) && fci_json_real(a, "input_p", -1, 1, &o->input_p) &&
             fci_json_real(a, "hidden_p", -1, 1, &o->hidden_p) && fci_json_real(a, "weight_p", -1, 1, &o->weight_p) &&
             fci_json_real(a, "output_p", -1, 1, &o->output_p) && fci_json_real(a, "drop_mult", 0, 100, &o->drop_mult);
    if (!a) fc_fail(FC_ERR_FORMAT, "expected an object 'awd'");
    o->emb_sz = emb, o->n_hid = hid, o->n_layers = (int)nl, o->pad_token = pad;
    return ok;
}

static fc_module *build_model(const char *config) {
    fci_json j;
    if (fci_json_parse(config, strlen(config), "text config", "config", &j) != FC_OK) return NULL;
    const char *kind = fci_json_str(&j, "model");
    int clas = kind && !strcmp(kind, "classifier");
    int64_t vocab_sz = 0, n_class = 0, seq_len = 0, max_len = 0, n_lin = 0, n_ps = 0, *lin = NULL;
    double *ps = NULL;
    fc_awd_lstm_opts awd = {0};
    fc_module *m = NULL;
    const fci_json *yr = fci_json_get(&j, "y_range");
    int ok = fci_json_int(&j, "vocab_sz", 1, MAX_VOCAB, &vocab_sz) && fci_json_int(&j, "n_class", 0, MAX_VOCAB, &n_class) &&
             awd_from(fci_json_get(&j, "awd"), &awd);
    if (ok && (!kind || (!clas && strcmp(kind, "language_model") != 0)))
        ok = !fc_fail(FC_ERR_FORMAT, "expected 'model' to be \"language_model\" or \"classifier\"");
    if (ok && clas)
        ok = fci_json_int(&j, "seq_len", 0, 1 << 20, &seq_len) && fci_json_int(&j, "max_len", 0, 1 << 24, &max_len) &&
             fci_json_int(&j, "n_class", 2, MAX_VOCAB, &n_class) &&
             (lin = fci_json_ints_new(&j, "lin_ftrs", 1, MAX_SIZE, -1, MAX_LAYERS, &n_lin)) &&
             (ps = fci_json_reals_new(&j, "ps", -1, MAX_LAYERS, &n_ps));
    if (ok && clas && (!yr || yr->type != FCI_JSON_ARRAY || yr->n != 2 || yr->items[0].type != FCI_JSON_NUMBER ||
                       yr->items[1].type != FCI_JSON_NUMBER))
        ok = !fc_fail(FC_ERR_FORMAT, "expected 'y_range' to be [lo, hi]");
    for (int64_t i = 0; ok && i < n_ps; i++)
        if (!(ps[i] >= 0 && ps[i] < 1)) ok = !fc_fail(FC_ERR_FORMAT, "expected 'ps' to hold numbers in [0, 1)");
    if (ok) { /* at least the embedding and the first LSTM's weights (sizes 0: 400, 1152) */
        double emb = awd.emb_sz ? (double)awd.emb_sz : 400, hid = awd.n_hid ? (double)awd.n_hid : 1152;
        ok = fci_export_check_size("text config", (double)vocab_sz * emb + 4 * hid * emb) == FC_OK;
    }
    if (ok && clas)
        m = fc_text_classifier_model_(vocab_sz, n_class, &(fc_text_classifier_opts){
            .awd = awd, .seq_len = seq_len, .max_len = max_len, .lin_ftrs = {(int)n_lin, n_lin ? lin : NULL},
            .ps = {(int)n_ps, n_ps ? ps : NULL}, .y_range = {yr->items[0].num, yr->items[1].num}});
    else if (ok)
        m = fc_awd_lstm_lm_(vocab_sz, &awd);
    if (!ok && !strstr(fc_error_message(), "text config")) fci_error_prefix("text config: ");
    free(lin);
    free(ps);
    fci_json_free(&j);
    return m;
}

/* ---- the vocabulary, the classes and the tokenizer ---- */

static char *data_to_json(fc_learner *learn) {
    const fc_dataloaders *dls = fc_learner_dls(learn);
    fci_text_info *info = dls ? fci_text_dataset_info(fc_dataloader_dataset(dls->train)) : NULL;
    if (!info) {
        fc_fail(FC_ERR_ARG, "export: expected dataloaders made by fc_text_*dls*");
        return NULL;
    }
    fc_dataset *ds = fc_dataloader_dataset(dls->valid);
    int is_lm = ds && ds->def == &fci_lm_dataset_def;
    fci_sbuf b = {0};
    fci_sb_printf(&b, "{\"is_lm\":%d,\"bs\":%lld,\"tok\":{\"no_bos\":%d,\"add_eos\":%d,\"no_lower\":%d},\"vocab\":[", is_lm,
                  (long long)fc_dataloader_bs(dls->valid), info->tok.no_bos, info->tok.add_eos, info->tok.no_lower);
    for (int64_t i = 0; i < fc_vocab_len(info->vocab); i++) {
        if (i) fci_sb_puts(&b, ",");
        fci_sb_json_string(&b, fc_vocab_token(info->vocab, i));
    }
    fci_sb_puts(&b, "],\"classes\":[");
    for (int64_t i = 0; i < info->n_classes; i++) {
        if (i) fci_sb_puts(&b, ",");
        fci_sb_json_string(&b, info->classes[i]);
    }
    fci_sb_puts(&b, "]}");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* Loaders over one document of xxbos tokens (the loaders need one): they make the inputs of a
 * new text (item_from_text) with the saved vocabulary and tokenizer. */
static fc_dataloaders *loaders(fci_text_info *info, int is_lm, int64_t bs) {
    static const int64_t bos[4] = {FC_TOK_BOS, FC_TOK_BOS, FC_TOK_BOS, FC_TOK_BOS}, label[1] = {0};
    if (is_lm) bs = 1; /* the LM loader needs more than bs tokens; generation does not use it */
    fc_scope *outer = fci_scope_suspend();
    fc_tensor *doc = fc_from_data(bos, FC_SHAPE(is_lm ? 4 : 1), .dtype = FC_DTYPE_I64);
    fci_scope_resume(outer);
    fc_tensor *docs[1] = {doc};
    fc_dataloader *train = NULL, *valid = NULL;
    if (doc && is_lm) {
        train = fci_lm_dataloader(docs, 1, &(fc_lm_dl_opts){.bs = bs}, fci_text_info_ref(info));
        valid = fci_lm_dataloader(docs, 1, &(fc_lm_dl_opts){.bs = bs}, fci_text_info_ref(info));
    } else if (doc) {
        train = fci_sorted_dataloader(docs, label, 1, &(fc_sorted_dl_opts){.bs = bs}, fci_text_info_ref(info));
        valid = fci_sorted_dataloader(docs, label, 1, &(fc_sorted_dl_opts){.bs = bs}, fci_text_info_ref(info));
    }
    fc_tensor_free(doc);
    fc_dataloaders *dls = train && valid ? fc_dataloaders_new(train, valid) : NULL;
    if (!dls) {
        fc_dataloader_free(train);
        fc_dataloader_free(valid);
    } else if (info->n_classes) {
        dls->vocab = (const char *const *)info->classes; /* lives as long as the datasets */
        dls->n_vocab = info->n_classes;
    }
    return dls;
}

static fc_dataloaders *data_from_json(const char *json) {
    fci_json j;
    if (fci_json_parse(json, strlen(json), "text data", "data", &j) != FC_OK) return NULL;
    int64_t is_lm = 0, bs = 0, n_vocab = 0, n_classes = 0, flags[3] = {0};
    char **tokens = NULL, **classes = NULL;
    const fci_json *tok = fci_json_get(&j, "tok");
    fc_dataloaders *dls = NULL;
    int ok = (tok || !fc_fail(FC_ERR_FORMAT, "expected an object 'tok'")) && fci_json_int(&j, "is_lm", 0, 1, &is_lm) &&
             fci_json_int(&j, "bs", 1, 1 << 20, &bs) && fci_json_int(tok, "no_bos", 0, 1, &flags[0]) && fci_json_int(tok, "add_eos", 0, 1, &flags[1]) &&
             fci_json_int(tok, "no_lower", 0, 1, &flags[2]) &&
             (tokens = fci_json_strs_new(&j, "vocab", -1, MAX_VOCAB, &n_vocab)) &&
             (classes = fci_json_strs_new(&j, "classes", -1, MAX_VOCAB, &n_classes));
    if (ok && n_vocab < FC_TEXT_N_SPECIAL)
        ok = !fc_fail(FC_ERR_FORMAT, "expected a vocabulary of at least the %d special tokens", FC_TEXT_N_SPECIAL);
    if (ok && !is_lm && n_classes < 2) ok = !fc_fail(FC_ERR_FORMAT, "expected a classifier's 'classes' (at least 2)");
    if (ok) {
        fc_vocab *v = fc_vocab_new((const char *const *)tokens, n_vocab);
        fc_tokenize_opts to = {.no_bos = (int)flags[0], .add_eos = (int)flags[1], .no_lower = (int)flags[2]};
        fci_text_info *info = v ? fci_text_info_new(v, (const char *const *)classes, is_lm ? 0 : n_classes, &to) : NULL;
        dls = info ? loaders(info, (int)is_lm, bs) : NULL;
        fci_text_info_free(info);
    }
    if (!dls) fci_error_prefix("text data: ");
    fci_json_strs_free(tokens, n_vocab);
    fci_json_strs_free(classes, n_classes);
    fci_json_free(&j);
    return dls;
}

/* The vocabulary and classes must have the sizes the model was built for. A loaded text learner also
 * gets the text learners' one-cycle momentums (0.8, 0.7), as a freshly built one has. */
static fc_status check(fc_learner *learn) {
    const char *config = fc_learner_app_config(learn);
    const fc_dataloaders *dls = fc_learner_dls(learn);
    const fc_vocab *v = fc_text_dls_vocab(dls);
    fci_json j;
    if (!v || fci_json_parse(config, strlen(config), "text config", "config", &j) != FC_OK) return fc_error_code();
    double vocab_sz = 0, n_class = 0;
    fci_json_num(&j, "vocab_sz", &vocab_sz);
    fci_json_num(&j, "n_class", &n_class);
    fci_json_free(&j);
    if ((double)fc_vocab_len(v) != vocab_sz || (double)(dls->vocab ? dls->n_vocab : 0) != n_class)
        return fc_fail(FC_ERR_FORMAT, "the data's vocabulary (%lld tokens) and classes (%lld) do not match the model's "
                       "(%g and %g)", (long long)fc_vocab_len(v), (long long)(dls->vocab ? dls->n_vocab : 0), vocab_sz,
                       n_class);
    return fc_learner_set_moms(learn, 0.8, 0.7);
}

fc_status fc_text_register(void) {
    return fc_register_app(&(fc_app){.name = "text", .build_model = build_model, .data_to_json = data_to_json,
                                     .data_from_json = data_from_json, .check = check});
}

__attribute__((constructor)) static void register_at_start(void) {
    if (fc_text_register() != FC_OK) fc_error_clear();
}
