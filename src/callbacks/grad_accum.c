/* GradientAccumulation (fastai 2.7): step once every n_acc items instead of every batch. Each
 * batch's loss_grad is scaled by bs / n_acc, so the gradients summed over the skipped batches are
 * those of the mean loss over n_acc items; cancelling the batch in before_step skips the step and
 * the zero_grad, so .grad keeps accumulating. The logged loss is left unscaled. */
#include "../core/core_impl.h"
#include "fastc/learner.h"

typedef struct {
    int64_t n_acc, count;
} grad_accum;

static int ga_before_fit(fc_learner *learn, void *state) {
    ((grad_accum *)state)->count = 0;
    return FC_CONTINUE;
}

static int ga_after_loss(fc_learner *learn, void *state) {
    grad_accum *s = state;
    fc_tensor *lg = fc_learner_loss_grad(learn);
    if (!lg) return FC_CONTINUE; /* no targets, no loss: nothing to scale */
    fc_tensor *scaled = fc_mul_scalar(lg, (double)fc_learner_bs(learn) / (double)s->n_acc);
    if (!scaled) return FC_CANCEL_FIT;
    fc_learner_set_loss_grad(learn, scaled);
    return FC_CONTINUE;
}

static int ga_before_step(fc_learner *learn, void *state) {
    grad_accum *s = state;
    s->count += fc_learner_bs(learn);
    if (s->count < s->n_acc) return FC_CANCEL_BATCH;
    s->count = 0;
    return FC_CONTINUE;
}

fc_callback *fc_gradient_accumulation_(const fc_grad_accum_opts *o) {
    int64_t n_acc = o->n_acc ? o->n_acc : 32;
    if (n_acc < 1) {
        fc_fail(FC_ERR_ARG, "gradient_accumulation: .n_acc must be >= 1, found %lld", (long long)n_acc);
        return NULL;
    }
    grad_accum *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n_acc = n_acc;
    return fc_callback_new(&(fc_callback_def){
        .name = "GradientAccumulation", .order = FC_ORDER_GRAD_ACCUM, .run_valid_off = 1, .state = s,
        .free_state = fci_free, .before_fit = ga_before_fit, .after_loss = ga_after_loss,
        .before_step = ga_before_step,
    });
}
