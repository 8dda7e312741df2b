/* fastc text: fastai 2.7's text application — the word tokenizer with its rules and special tokens,
 * the vocabulary, language-model and classifier data, AWD-LSTM and the ULMFiT models. */
#ifndef FASTC_TEXT_H
#define FASTC_TEXT_H

#include "learner.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== tokenization (src/text/tokenize.c, rules.c: h-tok) ===========================================
 * fastai's special tokens, in its order (they are the first vocabulary entries: xxunk is 0, xxpad 1). */
#define FC_TEXT_N_SPECIAL 9
FC_API extern const char *const fc_text_special[FC_TEXT_N_SPECIAL];
enum {
    FC_TOK_UNK = 0, /* xxunk: a word outside the vocabulary          */
    FC_TOK_PAD,     /* xxpad                                         */
    FC_TOK_BOS,     /* xxbos: beginning of a document                */
    FC_TOK_EOS,     /* xxeos                                         */
    FC_TOK_FLD,     /* xxfld: a new field (several text columns)     */
    FC_TOK_REP,     /* xxrep n c: a character repeated n >= 3 times  */
    FC_TOK_WREP,    /* xxwrep n w: a word repeated n >= 3 times      */
    FC_TOK_UP,      /* xxup: the next word was all caps (lowercased) */
    FC_TOK_MAJ      /* xxmaj: the next word was capitalized          */
};

/* The tokens of one document: n UTF-8 strings (tok[i]) in one allocation. */
typedef struct fc_tokens {
    int64_t n;
    char **tok;
} fc_tokens;
FC_API void fc_tokens_free(fc_tokens *t); /* and zeroes it */

typedef struct fc_tokenize_opts {
    int _;
    int n_threads;   /* documents are tokenized in parallel; 0: fc_num_threads()         */
    int no_bos;      /* 1: no xxbos at the start of each document                              */
    int add_eos;     /* 1: xxeos at the end                                                    */
    int no_lower;    /* 1: keep case (no xxmaj / xxup / lowercasing)                           */
} fc_tokenize_opts;
/* fastai 2.7's default rules, in its order: fix_html (HTML entities, <br />, nbsp, "@-@", "..." ->
 * " …"), replace_rep (ccc -> xxrep 3 c: three or more, fastai's (\S)(\1{2,})), replace_wrep
 * (w w w -> xxwrep 3 w), spec_add_spaces (around / # \), rm_useless_spaces, replace_all_caps
 * (xxup), replace_maj (xxmaj), lowercase and xxbos; then words split like spaCy's English
 * tokenizer (punctuation, contractions do|n't it|'s ..., numbers and e-mail/host names kept whole,
 * hyphens between letters split off, newlines as tokens) and fastai's replace_space (' ' inside a
 * token -> U+2581). UTF-8 aware: case rules apply to non-ASCII letters too (Latin-1 supplement,
 * Latin Extended-A, Greek, Cyrillic), invalid UTF-8 is replaced by U+FFFD. One document into *out
 * (zeroed first). */
FC_API fc_status fc_tokenize_(const char *text, fc_tokens *out, const fc_tokenize_opts *o);
#define fc_tokenize(text, out, ...) fc_tokenize_((text), (out), &(fc_tokenize_opts){._ = 0, __VA_ARGS__})
/* n documents into out[n] (caller's array), on .n_threads threads; same result as one by one. */
FC_API fc_status fc_tokenize_docs_(const char *const *texts, int64_t n, fc_tokens *out, const fc_tokenize_opts *o);
#define fc_tokenize_docs(texts, n, out, ...) \
    fc_tokenize_docs_((texts), (n), (out), &(fc_tokenize_opts){._ = 0, __VA_ARGS__})

/* ==== vocabulary (src/text/vocab.c: h-tok) =========================================================
 * fastai's make_vocab: the special tokens first, then the tokens with at least min_freq occurrences
 * by decreasing count (ties in order of first appearance), at most max_vocab, then 8 - len % 8
 * "xxfake" tokens (fastai's padding: a multiple of 8, with 8 more when the length already is one).
 * Lookup as fastai's o2i: xxfake is unknown, and of duplicate tokens the last wins. */
typedef struct fc_vocab fc_vocab;
typedef struct fc_vocab_opts {
    int _;
    int64_t min_freq;  /* 0: 3      */
    int64_t max_vocab; /* 0: 60000  */
} fc_vocab_opts;
FC_API fc_vocab *fc_vocab_from_tokens_(const fc_tokens *docs, int64_t n, const fc_vocab_opts *o);
#define fc_vocab_from_tokens(docs, n, ...) fc_vocab_from_tokens_((docs), (n), &(fc_vocab_opts){._ = 0, __VA_ARGS__})
/* A vocabulary of the given tokens in that order (copied). */
FC_API fc_vocab *fc_vocab_new(const char *const *tokens, int64_t n);
FC_API void fc_vocab_free(fc_vocab *v);
FC_API int64_t fc_vocab_len(const fc_vocab *v);
FC_API const char *fc_vocab_token(const fc_vocab *v, int64_t id); /* NULL out of range */
FC_API int64_t fc_vocab_id(const fc_vocab *v, const char *token);  /* FC_TOK_UNK when absent */
/* Numericalize: a new i64 tensor [n] outside any scope. */
FC_API fc_tensor *fc_vocab_numericalize(const fc_vocab *v, const fc_tokens *doc);
/* Tokens back to readable text (malloc'd): ids joined by spaces with xxbos/xxpad dropped, xxmaj
 * capitalizing and xxup upper-casing the next word, xxrep/xxwrep expanded (fastai's decode for
 * show_batch). */
FC_API char *fc_vocab_decode(const fc_vocab *v, const int64_t *ids, int64_t n);
/* A header line "fastc-vocab 1 <n>" then one token per line, UTF-8 ('\\', newline and CR escaped as
 * \\ \n \r), written atomically; load checks the header, count, escapes and UTF-8 (FC_ERR_FORMAT). */
FC_API fc_status fc_vocab_save(const fc_vocab *v, const char *path);
FC_API fc_vocab *fc_vocab_load(const char *path);

/* ==== data (src/text/lm_data.c, sorted_data.c, text_dls.c: h-tdata) ================================
 * Language-model batches (fastai's LMDataLoader): the documents (shuffled each epoch on train) are
 * concatenated and cut into bs contiguous streams; batch k is x [bs, seq_len] i64 = the k-th window
 * of every stream and y the same shifted by one token. Items are windows, so the loader must not
 * shuffle them: the dataset's before_epoch hook reshuffles the documents instead.
 * Classifier batches: (x [bs, max_len] i64 padded with xxpad by fastai's pad_input_chunk (pad_first:
 * whole seq_len chunks of padding before the text, the rest after), y category); fastai's SortedDL
 * order: valid sorted by decreasing length, train sorted within random chunks of 50 batches with the
 * batches shuffled (the longest first), so little padding. Item kinds: fc_kind_tokens and
 * fc_kind_category; the dataset decodes tokens to text for fc_show_batch. */
typedef struct fc_lm_dl_opts {
    int _;
    int64_t bs;       /* 0: 64                     */
    int64_t seq_len;  /* 0: 72                     */
    int shuffle;      /* 1: documents shuffled per epoch (train) */
    uint64_t seed;    /* 0: 42                     */
} fc_lm_dl_opts;
/* A language-model loader over docs[n] (i64 [len_i] token ids; references taken, keep your own). */
FC_API fc_dataloader *fc_lm_dataloader_(fc_tensor *const *docs, int64_t n, const fc_lm_dl_opts *o);
#define fc_lm_dataloader(docs, n, ...) fc_lm_dataloader_((docs), (n), &(fc_lm_dl_opts){._ = 0, __VA_ARGS__})
typedef struct fc_sorted_dl_opts {
    int _;
    int64_t bs;       /* 0: 64                                         */
    int64_t seq_len;  /* 0: 72 — padding chunk                         */
    int shuffle;      /* 1: train order (random chunks, sorted within) */
    uint64_t seed;    /* 0: 42                                         */
} fc_sorted_dl_opts;
/* A classifier loader over docs[n] (token ids, references taken) with labels[n] (i64 codes). */
FC_API fc_dataloader *fc_sorted_dataloader_(fc_tensor *const *docs, const int64_t *labels, int64_t n,
                                            const fc_sorted_dl_opts *o);
#define fc_sorted_dataloader(docs, labels, n, ...) \
    fc_sorted_dataloader_((docs), (labels), (n), &(fc_sorted_dl_opts){._ = 0, __VA_ARGS__})

/* TextDataLoaders (fastai's from_csv / from_folder with TextBlock(is_lm)): read, tokenize (in
 * parallel), build the vocabulary on the training documents (or use .vocab: a classifier must use
 * its language model's), numericalize, make the loaders. dls->vocab is the label classes. */
typedef struct fc_text_dls_opts {
    int _;
    int is_lm;              /* 1: language-model loaders (labels ignored; every document used)   */
    const char *text_col;   /* CSV: 0: "text"                                                   */
    const char *label_col;  /* CSV: 0: "label"                                                  */
    const char *valid_col;  /* CSV: rows where it is true are valid; NULL: random valid_pct      */
    const char *train;      /* folder: the training subfolder (0: "train"; labels = its subfolders) */
    const char *valid;      /* folder: 0: "test" (IMDB's layout); "" : random valid_pct split   */
    fc_names folders;       /* folder, is_lm: only these subfolders; none: all                 */
    double valid_pct;       /* 0: 0.1 (is_lm), 0.2 otherwise                                   */
    uint64_t seed;          /* 0: 42                                                            */
    int64_t bs;             /* 0: 64                                                            */
    int64_t seq_len;        /* 0: 72                                                            */
    const fc_vocab *vocab;  /* borrowed (copied); NULL: made from the training documents        */
    int64_t min_freq, max_vocab;
    int n_threads;          /* tokenizer threads; 0: all                                        */
} fc_text_dls_opts;
FC_API fc_dataloaders *fc_text_dls_from_csv_(const char *path, const fc_text_dls_opts *o);
#define fc_text_dls_from_csv(path, ...) fc_text_dls_from_csv_((path), &(fc_text_dls_opts){._ = 0, __VA_ARGS__})
FC_API fc_dataloaders *fc_text_dls_from_folder_(const char *path, const fc_text_dls_opts *o);
#define fc_text_dls_from_folder(path, ...) fc_text_dls_from_folder_((path), &(fc_text_dls_opts){._ = 0, __VA_ARGS__})
/* Language-model loaders from plain text files: each non-empty line is a document (WikiText's
 * articles are kept whole: a line starting with " = " and not " = = " starts a new one). valid_path
 * NULL: the last valid_pct of the documents (in order) are the validation set (tiny Shakespeare). */
FC_API fc_dataloaders *fc_text_lm_dls_from_files_(const char *train_path, const char *valid_path,
                                                  const fc_text_dls_opts *o);
#define fc_text_lm_dls_from_files(train_path, valid_path, ...) \
    fc_text_lm_dls_from_files_((train_path), (valid_path), &(fc_text_dls_opts){._ = 0, __VA_ARGS__})
/* The vocabulary of text dataloaders (borrowed), or NULL with FC_ERR_ARG for other dataloaders. */
FC_API const fc_vocab *fc_text_dls_vocab(const fc_dataloaders *dls);

/* ==== models (src/text/awd_lstm.c, lm_model.c, classifier_model.c: h-awd) ==========================
 * AWD-LSTM (Merity et al.) as fastai's AWD_LSTM: an Embedding(vocab, emb_sz, padding_idx 1) with
 * whole-word embedding dropout, input (locked/variational) dropout, n_layers LSTMs (emb_sz -> n_hid
 * ... -> emb_sz) each with DropConnect on its hidden-to-hidden weights (weight dropout) and locked
 * dropout between layers. The hidden state is kept across batches (detached each batch) until
 * fc_awd_lstm_reset. Every probability is multiplied by drop_mult. PyTorch names as fastai's:
 * encoder.weight, rnns.{l}.weight_hh_l0_raw, rnns.{l}.module.weight_ih_l0, .bias_ih_l0,
 * .bias_hh_l0. Input x [B, T] i64; output [B, T, emb_sz] (the last layer's, before output dropout). */
typedef struct fc_awd_lstm_opts {
    int _;
    int64_t emb_sz;    /* 0: 400                  */
    int64_t n_hid;     /* 0: 1152                 */
    int n_layers;      /* 0: 3                    */
    int64_t pad_token; /* 0: 1 (xxpad)            */
    double embed_p;    /* 0: 0.1; negative: none  */
    double input_p;    /* 0: 0.25                 */
    double hidden_p;   /* 0: 0.15                 */
    double weight_p;   /* 0: 0.2                  */
    double output_p;   /* 0: 0.1 (decoder / head) */
    double drop_mult;  /* 0: 1                    */
} fc_awd_lstm_opts;
FC_API fc_module *fc_awd_lstm_(int64_t vocab_sz, const fc_awd_lstm_opts *o);
#define fc_awd_lstm(vocab_sz, ...) fc_awd_lstm_((vocab_sz), &(fc_awd_lstm_opts){._ = 0, __VA_ARGS__})
/* Zeroes the kept hidden state (fastai's reset) of an AWD_LSTM or of any module holding one. */
FC_API void fc_awd_lstm_reset(fc_module *m);
/* The language model: Sequential 0 = AWD_LSTM, 1 = LinearDecoder (output dropout, Linear(emb_sz,
 * vocab) whose weight IS the encoder's embedding weight — tied, one tensor listed once — and a
 * bias). Output [B, T, vocab] logits. */
FC_API fc_module *fc_awd_lstm_lm_(int64_t vocab_sz, const fc_awd_lstm_opts *o);
#define fc_awd_lstm_lm(vocab_sz, ...) fc_awd_lstm_lm_((vocab_sz), &(fc_awd_lstm_opts){._ = 0, __VA_ARGS__})
typedef struct fc_text_classifier_opts {
    int _;
    fc_awd_lstm_opts awd;  /* zero: fastai's awd_lstm_clas_config (output_p 0.4, hidden 0.3,
                            * input 0.4, embed 0.05, weight 0.5)                               */
    int64_t seq_len;       /* 0: 72 — the document is read in chunks of seq_len (SentenceEncoder) */
    int64_t max_len;       /* 0: 72 * 20 — only the last max_len tokens' outputs are pooled     */
    fc_ints lin_ftrs;      /* none: [50]                                                       */
    fc_floats ps;          /* none: 0.1 each; the first layer's is output_p                    */
    fc_y_range y_range;
} fc_text_classifier_opts;
/* fastai's get_text_classifier: Sequential 0 = SentenceEncoder(AWD_LSTM), 1 = PoolingLinearClassifier
 * (masked concat pooling [last, max, mean] over the non-pad positions, then LinBnDrop layers
 * 3*emb_sz -> lin_ftrs -> n_class with BatchNorm1d, Dropout and ReLU between). x [B, T] i64 padded
 * with pad_token -> [B, n_class] logits. The hidden state is reset for every batch. */
FC_API fc_module *fc_text_classifier_model_(int64_t vocab_sz, int64_t n_class, const fc_text_classifier_opts *o);
#define fc_text_classifier_model(vocab_sz, n_class, ...) \
    fc_text_classifier_model_((vocab_sz), (n_class), &(fc_text_classifier_opts){._ = 0, __VA_ARGS__})

/* ---- added by h-awd: AWD-LSTM's dropouts as ops (src/text/text_dropout.c) and the outputs the
 * RNNRegularizer needs ---- */
/* fastai's EmbeddingDropout: embedding(idx, weight * m) with m [V, 1] Bernoulli(1 - p) / (1 - p),
 * so whole words are dropped (the same word everywhere in the batch); identity in eval or p == 0.
 * padding_idx as fc_embedding. Weight dropout (DropConnect) is fc_dropout(raw_weight, p, training). */
FC_API fc_tensor *fc_embedding_dropout(fc_tensor *weight, fc_tensor *idx, int64_t padding_idx, double p,
                                       int training);
/* fastai's RNNDropout (locked / variational dropout): x times one mask drawn for the whole sequence,
 * constant along time_dim (1 for [B, T, *]). Identity in eval or p == 0. */
FC_API fc_tensor *fc_locked_dropout(fc_tensor *x, int time_dim, double p, int training);
/* What fastai's LinearDecoder / PoolingLinearClassifier return beside the logits, for the
 * RNNRegularizer: the last forward's last-layer output *raw [B, T, emb_sz] and *dropped (after
 * output dropout; the classifier gives its pooled encoder outputs for both). Borrowed, valid until
 * the scope that forward ran in ends (nothing is kept for a forward outside a scope). m: a model
 * from fc_awd_lstm_lm or fc_text_classifier_model. FC_ERR_STATE when there is none. */
FC_API fc_status fc_text_model_outputs(fc_module *m, fc_tensor **raw, fc_tensor **dropped);

/* ==== learners (src/text/learner.c, generate.c, rnn_callbacks.c: h-tlearn) =========================
 * fastai's language_model_learner and text_classifier_learner with its rnn callbacks: ModelResetter
 * (fc_awd_lstm_reset before each training and validation phase) and RNNRegularizer (AR alpha 2 on
 * the dropped last-layer output, TAR beta 1 on its differences over time). Splitters as fastai's
 * awd_lstm_lm_split (one group per LSTM layer, then embedding + decoder) and awd_lstm_clas_split
 * (embedding, one group per LSTM layer, the head), so fc_learner_freeze_to(-2), (-3) and unfreeze
 * give ULMFiT's gradual unfreezing with discriminative lrs (.lr_lo = lr / 2.6^4). Both learners
 * carry fastai's TextLearner moms (0.8, 0.7, 0.8): fit_one_cycle and fine_tune cycle the momentum
 * 0.8 -> 0.7 -> 0.8 unless given .mom_max / .mom_min (fc_learner_set_moms changes them; h-moms). */
typedef struct fc_text_learner_opts {
    int _;
    const char *arch;         /* 0: "awd_lstm" (the only one)                                        */
    double drop_mult;         /* 0: 1 — multiplies every dropout of the arch                          */
    fc_awd_lstm_opts awd;     /* sizes and dropouts; zero fields: the arch's config                   */
    const char *pretrained;   /* LM: weights of a whole language model (fc_learner_save_encoder's or
                               * fc_module_save's file); classifier: an encoder file. NULL: none    */
    double alpha, beta;       /* RNNRegularizer; 0: 2 and 1; negative: off                           */
    /* classifier only */
    int64_t seq_len, max_len; /* 0: 72, 72 * 20                                                      */
    fc_ints lin_ftrs;
    fc_floats ps;
    /* the Learner's options */
    fc_loss_func loss_func;   /* zero: cross entropy (flattened over time for the LM)                */
    fc_opt_func opt_func;
    double lr, wd;
    int no_wd;
    fc_metrics metrics;       /* LM: none given means accuracy and perplexity                         */
    fc_callbacks cbs;
    int quiet;
    FILE *log;
} fc_text_learner_opts;
/* Takes dls, even on failure. The model's vocabulary is fc_text_dls_vocab(dls). */
FC_API fc_learner *fc_language_model_learner_(fc_dataloaders *dls, const fc_text_learner_opts *o);
#define fc_language_model_learner(dls, ...) \
    fc_language_model_learner_((dls), &(fc_text_learner_opts){._ = 0, __VA_ARGS__})
FC_API fc_learner *fc_text_classifier_learner_(fc_dataloaders *dls, const fc_text_learner_opts *o);
#define fc_text_classifier_learner(dls, ...) \
    fc_text_classifier_learner_((dls), &(fc_text_learner_opts){._ = 0, __VA_ARGS__})
/* fastai's save_encoder / load_encoder: the AWD_LSTM's weights with the vocabulary (atomic write);
 * loading into a classifier checks the vocabulary and sizes match and leaves the model unchanged
 * otherwise. */
FC_API fc_status fc_learner_save_encoder(fc_learner *learn, const char *path);
FC_API fc_status fc_learner_load_encoder(fc_learner *learn, const char *path);
/* fastai's LM learn.predict(text, n_words, temperature): tokenizes text (no xxeos), runs the model
 * over it, then samples n_words tokens (softmax of logits / temperature; never xxunk), returning
 * the decoded text (malloc'd) or NULL on failure. temperature 0: 1. Seeded by fc_manual_seed. */
typedef struct fc_lm_predict_opts {
    int _;
    double temperature;
    int no_unk_off; /* 1: allow xxunk to be sampled */
} fc_lm_predict_opts;
FC_API char *fc_lm_predict_(fc_learner *learn, const char *text, int n_words, const fc_lm_predict_opts *o);
#define fc_lm_predict(learn, text, n_words, ...) \
    fc_lm_predict_((learn), (text), (n_words), &(fc_lm_predict_opts){._ = 0, __VA_ARGS__})
/* Classification of one text goes through fc_learner_predict (learner.h): the text dataset's
 * item_from_text tokenizes and numericalizes it with the dls' vocabulary. */

/* ==== subword tokenizer (src/text/bpe.c: h-tok; added by h-tok) ====================================
 * Byte-pair encoding of our own (not SentencePiece): text is split at whitespace, each word starts
 * with U+2581 "▁", and training merges the most frequent adjacent pair of symbols (ties to the
 * lowest symbol ids: deterministic) until vocab_sz symbols (the characters seen, then the merges)
 * or no pair occurs twice. Encoding applies the merges to each word, lowest rank first; decoding
 * concatenates the pieces with "▁" back to spaces, so decode(encode(t)) is t with its whitespace
 * runs collapsed to single spaces. Characters never seen in training stay single pieces. */
typedef struct fc_bpe fc_bpe;
typedef struct fc_bpe_opts {
    int _;
    int64_t vocab_sz; /* 0: 1000 */
} fc_bpe_opts;
FC_API fc_bpe *fc_bpe_train_(const char *const *texts, int64_t n, const fc_bpe_opts *o);
#define fc_bpe_train(texts, n, ...) fc_bpe_train_((texts), (n), &(fc_bpe_opts){._ = 0, __VA_ARGS__})
FC_API void fc_bpe_free(fc_bpe *b);
FC_API int64_t fc_bpe_len(const fc_bpe *b);                  /* symbols: characters + merges */
FC_API const char *fc_bpe_symbol(const fc_bpe *b, int64_t i); /* NULL out of range (borrowed)  */
/* The pieces of text into *out (zeroed first; free with fc_tokens_free). */
FC_API fc_status fc_bpe_encode(const fc_bpe *b, const char *text, fc_tokens *out);
/* The text of pieces (malloc'd). */
FC_API char *fc_bpe_decode(const fc_tokens *pieces);

/* ==== export and inference (src/text/export.c: h-export) ============================================
 * A language model or classifier learner exports with fc_learner_export: the AWD-LSTM config, the
 * vocabulary, the label classes and the tokenizer options. fc_load_learner rebuilds a learner on
 * which fc_learner_predict(learn, "some text", ...) classifies and fc_lm_predict generates.
 * "text" registers itself at start-up; a static link that drops this file calls this first. */
FC_API fc_status fc_text_register(void);

/* ---- added by h-textreal: a pretrained encoder on another vocabulary (src/text/encoder_match.c) ----
 * fastai's match_embeds, for ULMFiT's transfer from a general corpus (WikiText) to the target's
 * vocabulary: loads an encoder file (fc_learner_save_encoder's) trained on ANY vocabulary into the
 * AWD_LSTM of model (an AWD_LSTM, a language model or a classifier) whose vocabulary is vocab. The
 * LSTM weights are copied as they are; the embedding row of each token of vocab is the file's row
 * of the same token when its vocabulary has it, else the mean of all the file's rows (a tied LM
 * decoder follows; its bias, which an encoder file does not hold, is left as it is). The sizes
 * (emb_sz, n_hid, n_layers) must match. *n_matched (may be NULL) gets how many tokens of vocab
 * were found. The model is unchanged on failure. */
FC_API fc_status fc_awd_lstm_load_encoder_matched(fc_module *model, const fc_vocab *vocab, const char *path,
                                                  int64_t *n_matched);
/* The same into a text learner's model with its data's vocabulary, then fc_learner_freeze (as
 * fastai's language_model_learner(pretrained=True) and load_encoder leave the model). */
FC_API fc_status fc_learner_load_encoder_matched(fc_learner *learn, const char *path, int64_t *n_matched);

#ifdef __cplusplus
}
#endif
#endif
