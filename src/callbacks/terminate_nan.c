/* TerminateOnNaN (fastai 2.7's TerminateOnNaNCallback): after every batch, a NaN or infinite loss
 * ends the fit. Unlike fastai (which cancels silently), the fit fails with FC_ERR_STATE and a
 * message naming where: "TerminateOnNaN: loss is nan at epoch 2, batch 17" (0-based, as the
 * progress table counts epochs), so a program learns that the run diverged. */
#include <math.h>

#include "fastc/learner.h"

static int tn_after_batch(fc_learner *learn, void *state) {
    double loss = fc_learner_loss(learn);
    if (isfinite(loss)) return FC_CONTINUE;
    fc_fail(FC_ERR_STATE, "TerminateOnNaN: loss is %s at epoch %d, %sbatch %lld", isnan(loss) ? "nan" : "inf",
            fc_learner_epoch(learn), fc_learner_training(learn) ? "" : "validation ",
            (long long)fc_learner_iter(learn));
    return FC_CANCEL_FIT;
}

fc_callback *fc_terminate_on_nan(void) {
    return fc_callback_new(&(fc_callback_def){.name = "TerminateOnNaN", .order = FC_ORDER_TRAIN_EVAL + 1,
                                              .after_batch = tn_after_batch});
}
