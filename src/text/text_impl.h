/* Internals shared by the text models (never installed). */
#ifndef FASTC_TEXT_IMPL_H
#define FASTC_TEXT_IMPL_H

#include "../core/core_impl.h"
#include "fastc/text.h"

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

#endif
