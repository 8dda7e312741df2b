/* Internals shared by the text learner's files (learner.c, rnn_callbacks.c, encoder_io.c,
 * generate.c: h-tlearn). Never installed. */
#ifndef FASTC_TLEARN_IMPL_H
#define FASTC_TLEARN_IMPL_H

#include "../core/core_impl.h"
#include "fastc/text.h"

/* The AWD_LSTM inside model (the model itself, the LM's child 0, or the classifier's
 * SentenceEncoder's module), borrowed; NULL and FC_ERR_ARG naming who asked when there is none.
 * *prefix (may be NULL) gets its dotted name within model ("", "0", "0.module"; owned by a static
 * buffer of the caller's thread, valid until the next call). */
fc_module *fci_find_awd_lstm(fc_module *model, const char *who, const char **prefix);

/* fastai's rnn_cbs(alpha, beta): ModelResetter and RNNRegularizer (alpha or beta negative: that
 * term off; both off: no regularizer). Each callback is new (NULL on failure). */
fc_callback *fci_model_resetter(void);
fc_callback *fci_rnn_regularizer(double alpha, double beta);

/* fastai's splitters (fc_splitter). */
fc_status fci_awd_lstm_lm_split(fc_module *model, fc_param_groups *groups);
fc_status fci_awd_lstm_clas_split(fc_module *model, fc_param_groups *groups);

/* Loads an encoder file (fc_learner_save_encoder's) into awd after checking its vocabulary against
 * vocab (NULL: unchecked); awd is unchanged on any failure. who names the caller in messages. */
fc_status fci_load_encoder_into(fc_module *awd, const fc_vocab *vocab, const char *path, const char *who);
/* 1 when path starts like an encoder file (it exists and has the magic), else 0. */
int fci_is_encoder_file(const char *path);
/* The vocabulary an encoder file was trained on (new; free with fc_vocab_free), NULL on a missing
 * or corrupt file (h-textreal). */
fc_vocab *fci_encoder_file_vocab(const char *path, const char *who);

/* Records the model config on learn for export (src/text/export.c, h-export): a language model
 * (co NULL) or a classifier of n_class classes; awd as the model was built with. */
fc_status fci_text_record_app(fc_learner *learn, int64_t vocab_sz, int64_t n_class, const fc_awd_lstm_opts *awd,
                              const fc_text_classifier_opts *co);

#endif
