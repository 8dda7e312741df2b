/* Internals of the text tokenizer shared by src/text/utf8.c, rules.c, tokenize.c and vocab.c (never
 * installed). */
#ifndef FASTC_TEXT_IMPL_H
#define FASTC_TEXT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fastc/text.h"

/* ---- UTF-8 (utf8.c) ---- */
/* Decodes the code point at s[0..n); *len gets its byte length (1 for an invalid byte, which
 * decodes to U+FFFD). n must be > 0. */
uint32_t fci_utf8_decode(const char *s, size_t n, int *len);
/* Writes cp as UTF-8 into out (4 bytes room); returns the byte count. */
int fci_utf8_encode(uint32_t cp, char *out);
/* Python's str.isspace, str.isalpha-like (letters of the scripts we know), \w, and the simple
 * case mappings of Latin-1, Latin Extended-A, Greek and Cyrillic. fci_cp_lower never changes the
 * UTF-8 length (so offsets of a lowered copy match the original). */
int fci_cp_is_space(uint32_t cp);
int fci_cp_is_alpha(uint32_t cp);
int fci_cp_is_word(uint32_t cp);
int fci_cp_is_upper(uint32_t cp);
int fci_cp_is_lower(uint32_t cp);
uint32_t fci_cp_lower(uint32_t cp);
uint32_t fci_cp_upper(uint32_t cp);

/* ---- growable strings (rules.c) ---- */
typedef struct fci_buf {
    char *p;
    size_t n, cap;
    int oom; /* an append failed: the content is incomplete */
} fci_buf;
void fci_buf_add(fci_buf *b, const char *s, size_t n);
void fci_buf_adds(fci_buf *b, const char *s);
void fci_buf_free(fci_buf *b);

/* fastai's text_proc_rules on one document: returns the processed text (malloc'd, ready for the
 * word split) or NULL with FC_ERR_NOMEM. Invalid UTF-8 becomes U+FFFD first. */
char *fci_text_rules(const char *text, const fc_tokenize_opts *o);
/* Lowercases s in place (same byte length). */
void fci_utf8_lower_inplace(char *s, size_t n);

/* ==== data (h-tdata: lm_data.c, sorted_data.c, text_dls.c) ========================================
 * What the train and valid text datasets of one TextDataLoaders share: the vocabulary and label
 * classes (for decode and item_from_text) and the tokenizer options. Reference-counted (the
 * datasets are built and freed on one thread). The hooks are set by text_dls.c, so the loaders do
 * not depend on the tokenizer: without info, items decode as token ids. */
typedef struct fci_text_info fci_text_info;
struct fci_text_info {
    int refs;
    fc_vocab *vocab;          /* owned                                        */
    char **classes;           /* owned label names (classifier); n_classes    */
    int64_t n_classes;
    fc_tokenize_opts tok;
    /* Replaces token values by text values (and categories by labels) of one decoded item. */
    fc_status (*decode)(const fci_text_info *info, fc_tuple *item);
    /* Raw text -> numericalized i64 [n] tensor (new, outside any scope). */
    fc_tensor *(*numericalize)(const fci_text_info *info, const char *text);
    void (*free)(fci_text_info *info); /* frees everything: called when the last reference goes */
};
fci_text_info *fci_text_info_ref(fci_text_info *info); /* NULL passes */
/* A new info (one reference) holding vocab (taken, even on failure), classes[n_classes] (copied)
 * and the tokenizer options (NULL: the defaults): what a loaded learner's loaders share (h-export). */
fci_text_info *fci_text_info_new(fc_vocab *vocab, const char *const *classes, int64_t n_classes,
                                 const fc_tokenize_opts *tok);
void fci_text_info_free(fci_text_info *info);          /* drops one reference */

/* The public loaders with info (one reference taken, even on failure) and the loader's split. */
fc_dataloader *fci_lm_dataloader(fc_tensor *const *docs, int64_t n, const fc_lm_dl_opts *o, fci_text_info *info);
fc_dataloader *fci_sorted_dataloader(fc_tensor *const *docs, const int64_t *labels, int64_t n,
                                     const fc_sorted_dl_opts *o, fci_text_info *info);
/* The text datasets (their states start with their fci_text_info pointer). */
extern const fc_dataset_def fci_lm_dataset_def, fci_sorted_dataset_def;
/* The info of a text dataset (borrowed), NULL for any other dataset. */
fci_text_info *fci_text_dataset_info(const fc_dataset *ds);
/* fastai's pad_chunk of one document: ids[len] into out[pad_len] with pad_idx, whole seq_len chunks
 * of padding first (pad_first) and the remainder after the text. */
void fci_pad_chunk(const int64_t *ids, int64_t len, int64_t pad_len, int64_t seq_len, int64_t pad_idx,
                   int pad_first, int64_t *out);
/* ==== end h-tdata ================================================================================= */

/* ==== models (h-awd: awd_lstm.c, lm_model.c, classifier_model.c) ==================================== */

#include "../core/core_impl.h"

/* fastai's AWD_LSTM defaults (class defaults) and awd_lstm_clas_config's dropouts. */
extern const fc_awd_lstm_opts fci_awd_lstm_defaults, fci_awd_lstm_clas_defaults;
/* o with zero fields taken from defaults, negative probabilities made 0 and every probability
 * multiplied by drop_mult (fastai's get_language_model / get_text_classifier); FC_ERR_ARG names
 * fn and the field for sizes < 1 or a probability that ends outside [0, 1]. */
fc_status fci_awd_opts_resolve(const char *fn, const fc_awd_lstm_opts *o,
                               const fc_awd_lstm_opts *defaults, fc_awd_lstm_opts *out);
/* An AWD_LSTM from resolved options. */
fc_module *fci_awd_lstm_new(int64_t vocab_sz, const fc_awd_lstm_opts *r);
/* The AWD_LSTM's embedding weight [vocab, emb_sz] (borrowed), for the tied decoder. */
fc_tensor *fci_awd_lstm_encoder_weight(fc_module *awd);
/* fastai's RNNDropout as a module: locked dropout constant along time_dim. */
fc_module *fci_rnn_dropout_new(double p, int time_dim);
/* m, or NULL after freeing m when an error is pending (a registration failed). */
fc_module *fci_text_done(fc_module *m);

/* The raw and dropped outputs of a model's last forward, kept (one reference each) until the scope
 * it ran in ends; no scope: nothing is kept. *slot is an opaque holder in the module's state. */
void fci_text_outputs_set(void **slot, fc_tensor *raw, fc_tensor *dropped);
int fci_text_outputs_get(void *slot, fc_tensor **raw, fc_tensor **dropped); /* 0: none */
void fci_text_outputs_free(void *slot);
extern const fc_module_def fci_linear_decoder_def, fci_pooling_classifier_def;
/* ==== end h-awd ==== */

#endif
