/* fastai 2.7's rnn_cbs: ModelResetter (the kept hidden state is zeroed before each training and
 * validation phase and after the fit) and RNNRegularizer (activation regularization AR =
 * alpha * mean(out^2) on the dropped last-layer output and temporal activation regularization
 * TAR = beta * mean((h_t+1 - h_t)^2) on the raw one, added to loss_grad in training only).
 *
 * fastai's models return (pred, raw_out, out) and RNNCallback unpacks them; ours return only pred,
 * so the regularizer watches the forward with the nn layer's forward hook during training batches:
 * the AWD_LSTM's output is raw_out, the first dropout applied to a tensor of that shape after it
 * (the LM decoder's output dropout) is out. A classifier's SentenceEncoder output is both, as
 * fastai's PoolingLinearClassifier returns it twice. */
#include <string.h>

#include "../nn/nn_impl.h"
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
    fc_tensor *raw, *out, *sentence; /* borrowed, in the batch's scope; reset every batch */
    int watching;
} rnn_reg;

static int is_dropout_type(const char *t) { return strstr(t, "Dropout") != NULL || strstr(t, "dropout") != NULL; }

static int same_shape(const fc_tensor *a, const fc_tensor *b) {
    if (fc_tensor_ndim(a) != fc_tensor_ndim(b)) return 0;
    for (int i = 0; i < fc_tensor_ndim(a); i++)
        if (fc_tensor_dim(a, i) != fc_tensor_dim(b, i)) return 0;
    return 1;
}

static void on_forward(fc_module *m, fc_tensor *y, void *ctx) {
    rnn_reg *s = ctx;
    const char *t = fc_module_type(m);
    if (!strcmp(t, "AWD_LSTM")) {
        s->raw = y;
        s->out = NULL;
    } else if (!strcmp(t, "SentenceEncoder")) {
        s->sentence = y;
    } else if (s->raw && !s->out && is_dropout_type(t) && same_shape(y, s->raw)) {
        s->out = y;
    }
}

static void stop_watching(rnn_reg *s) {
    if (s->watching) fci_set_forward_hook(NULL, NULL);
    s->watching = 0;
}

static int reg_before_batch(fc_learner *learn, void *state) {
    rnn_reg *s = state;
    s->raw = s->out = s->sentence = NULL;
    if (!fc_learner_training(learn)) return FC_CONTINUE;
    fci_set_forward_hook(on_forward, s);
    s->watching = 1;
    return FC_CONTINUE;
}

static int reg_after_pred(fc_learner *learn, void *state) {
    stop_watching(state);
    return FC_CONTINUE;
}

static int reg_after_loss(fc_learner *learn, void *state) {
    rnn_reg *s = state;
    stop_watching(s);
    if (!fc_learner_training(learn)) return FC_CONTINUE;
    fc_tensor *raw = s->sentence ? s->sentence : s->raw;
    fc_tensor *out = s->sentence ? s->sentence : s->out ? s->out : s->raw;
    fc_tensor *loss = fc_learner_loss_grad(learn);
    if (!raw || !loss) return FC_CONTINUE; /* a model without an AWD_LSTM: nothing to regularize */
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

static int reg_after_cancel(fc_learner *learn, void *state) {
    stop_watching(state);
    return FC_CONTINUE;
}

fc_callback *fci_rnn_regularizer(double alpha, double beta) {
    rnn_reg *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->alpha = alpha;
    s->beta = beta;
    return fc_callback_new(&(fc_callback_def){.name = "RNNRegularizer", .order = FC_ORDER_DEFAULT + 1,
                                              .run_valid_off = 1, .state = s, .free_state = fci_free,
                                              .before_batch = reg_before_batch, .after_pred = reg_after_pred,
                                              .after_loss = reg_after_loss, .after_cancel_batch = reg_after_cancel,
                                              .after_cancel_fit = reg_after_cancel, .after_fit = reg_after_cancel});
}
