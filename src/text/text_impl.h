/* Internal declarations of the text layer (src/text). */
#ifndef FASTC_TEXT_IMPL_H
#define FASTC_TEXT_IMPL_H

#include "fastc/text.h"

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

#endif
