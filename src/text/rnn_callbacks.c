/* fastai 2.7's rnn_cbs: ModelResetter (the kept hidden state is zeroed before each training and
 * validation phase and after the fit) and RNNRegularizer (activation regularization AR =
 * alpha * mean(out^2) on the dropped last-layer output and temporal activation regularization
 * TAR = beta * mean((h_t+1 - h_t)^2) on the raw one, added to loss_grad in training only).
 *
 * fastai's models return (pred, raw_out, out) and RNNCallback unpacks them; ours return only pred
 * and keep raw_out and out for the batch's scope: fc_text_model_outputs reads them (the LM: the
 * last layer's output and the decoder's dropped input; the classifier: its encoder outputs, twice,
 * as fastai's PoolingLinearClassifier returns them). */
#include "tlearn_impl.h"

/* ---- ModelResetter ---- */

static int reset_model(fc_learner *learn, void *state) {
    fc_awd_lstm_reset(fc_learner_model(learn));
    return FC_CONTINUE;
}

fc_callback *fci_model_resetter(void) {
    return fc_callback_new(&(fc_callback_def){.name = "ModelResetter", .order = FC_ORDER_DEFAULT,
                                              .before_train = reset_model, .before_validate = reset_model,
                                              .after_fit = reset_model});
}

/* ---- RNNRegularizer ---- */

typedef struct {
    double alpha, beta;
} rnn_reg;

static int reg_after_loss(fc_learner *learn, void *state) {
    rnn_reg *s = state;
    if (!fc_learner_training(learn)) return FC_CONTINUE;
    fc_tensor *raw = NULL, *out = NULL, *loss = fc_learner_loss_grad(learn);
    if (!loss) return FC_CONTINUE;
    if (fc_text_model_outputs(fc_learner_model(learn), &raw, &out) != FC_OK || !raw || !out) {
        fc_error_clear(); /* not a text model (or no outputs kept): nothing to regularize */
        return FC_CONTINUE;
    }
    if (s->alpha > 0) loss = fc_add(loss, fc_mul_scalar(fc_mean(fc_mul(out, out), FC_ALL_DIMS, 0), s->alpha));
    int64_t T = fc_tensor_ndim(raw) == 3 ? fc_tensor_dim(raw, 1) : 0;
    if (s->beta > 0 && T > 1) {
        fc_tensor *d = fc_sub(fc_narrow(raw, 1, 1, T - 1), fc_narrow(raw, 1, 0, T - 1));
        loss = fc_add(loss, fc_mul_scalar(fc_mean(fc_mul(d, d), FC_ALL_DIMS, 0), s->beta));
    }
    if (!loss) return FC_CANCEL_FIT; /* the op's message stands; the learner reports it */
    fc_learner_set_loss_grad(learn, loss);
    return FC_CONTINUE;
}

fc_callback *fci_rnn_regularizer(double alpha, double beta) {
    rnn_reg *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->alpha = alpha;
    s->beta = beta;
    return fc_callback_new(&(fc_callback_def){.name = "RNNRegularizer", .order = FC_ORDER_DEFAULT + 1,
                                              .run_valid_off = 1, .state = s, .free_state = fci_free,
                                              .after_loss = reg_after_loss});
}
