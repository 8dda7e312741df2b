/* TrainEvalCallback (fastai, order -10): the training flag, the model's train/eval mode, and the
 * progress counters train_iter and pct_train that the schedules read. */
#include "../learner/learner_impl.h"

static int te_after_create(fc_learner *learn, void *s) {
    learn->n_epoch = 1;
    return FC_CONTINUE;
}

static int te_before_fit(fc_learner *learn, void *s) {
    learn->train_iter = 0;
    learn->pct_train = 0;
    return FC_CONTINUE;
}

static int te_before_train(fc_learner *learn, void *s) {
    learn->pct_train = (double)learn->epoch / learn->n_epoch; /* a resumed fit starts where it was */
    fc_module_train(learn->model, 1);
    learn->training = 1;
    return FC_CONTINUE;
}

static int te_after_batch(fc_learner *learn, void *s) {
    learn->pct_train += 1.0 / ((double)learn->n_iter * learn->n_epoch);
    learn->train_iter++;
    return FC_CONTINUE;
}

static int te_before_validate(fc_learner *learn, void *s) {
    fc_module_eval(learn->model);
    learn->training = 0;
    return FC_CONTINUE;
}

fc_callback *fci_train_eval_new(void) {
    return fc_callback_new(&(fc_callback_def){
        .name = "TrainEval", .order = FC_ORDER_TRAIN_EVAL, .run_valid_off = 1, .after_create = te_after_create,
        .before_fit = te_before_fit, .before_train = te_before_train, .after_batch = te_after_batch,
        .before_validate = te_before_validate,
    });
}
