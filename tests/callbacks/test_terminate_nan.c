/* TerminateOnNaN: the fit fails at the batch whose loss is NaN, naming the epoch and the batch. */
#include "tiny.h"

FCT_TEST(test_terminate_on_nan_from_the_data) {
    /* item 20 (1-based) of the unshuffled training set is NaN: batch 2 (items 16..23) of epoch 0 */
    probe p = {0};
    fc_learner *learn = tiny_learner(7, .nan_item = 20);
    FCT_OK(fc_learner_add_cb(learn, fc_terminate_on_nan()));
    FCT_OK(fc_learner_add_cb(learn, probe_cb("probe", 20, &p)));
    FCT_TRUE(fc_fit(learn, 3) == FC_ERR_STATE);
    FCT_ERROR(FC_ERR_STATE, "TerminateOnNaN: loss is nan at epoch 0, batch 2");
    FCT_EQ_INT(p.n_batches, 2); /* the probe runs after TerminateOnNaN: it never saw batch 2 */
    FCT_EQ_INT(p.n_epochs, 0);
    fc_learner_free(learn);
}

FCT_TEST(test_terminate_on_nan_injected) {
    probe p = {.inject_nan = 1, .nan_epoch = 1, .nan_iter = 5};
    fc_learner *learn = tiny_learner(8);
    FCT_OK(fc_learner_add_cb(learn, probe_cb("probe", 0, &p)));
    FCT_OK(fc_learner_add_cb(learn, fc_terminate_on_nan()));
    FCT_TRUE(fc_fit(learn, 4) == FC_ERR_STATE);
    FCT_ERROR(FC_ERR_STATE, "TerminateOnNaN: loss is nan at epoch 1, batch 5");
    FCT_EQ_INT(p.n_epochs, 1);
    /* the probe (order 0) injects in after_loss but its after_batch runs after TerminateOnNaN's
     * (order -9): it counted batches 0..4 of epoch 1 */
    FCT_EQ_INT(p.n_batches, 8 + 5);
    fc_learner_free(learn);
}
