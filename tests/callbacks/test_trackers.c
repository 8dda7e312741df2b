/* EarlyStopping, SaveModel and ReduceLROnPlateau on a scripted metric "score" (its value at epoch e
 * is script[e]) and on the valid loss. */
#include <stdio.h>
#include <unistd.h>

#include "tiny.h"

FCT_TEST(test_early_stopping_on_a_metric_stops_at_the_expected_epoch) {
    /* higher is better; patience 2: best .5 (e0), .6 (e1), e2 .6 no gain (wait 1), .7 (e3) best,
     * e4 .65 (wait 1), e5 .64 (wait 2): stop after epoch 5, 6 epochs of 10 run */
    static const double script[10] = {0.5, 0.6, 0.6, 0.7, 0.65, 0.64, 0.9, 0.9, 0.9, 0.9};
    probe p = {.script = script};
    fc_learner *learn = tiny_learner(1, .metrics = FC_METRICS(score_metric(&p, "score", 0)));
    FCT_OK(fc_learner_add_cb(learn, probe_cb("probe", 0, &p)));
    FCT_OK(fc_learner_add_cb(learn, fc_early_stopping(.monitor = "score", .patience = 2)));
    FCT_OK(fc_fit(learn, 10)); /* stopping is not an error */
    FCT_EQ_INT(p.n_epochs, 6);
    FCT_EQ_INT(fc_recorder_n_epochs(learn), 6);
    /* min_delta 0.15: .6 and .6 do not beat .5 by more than .15: stop after epoch 2 */
    p = (probe){.script = script};
    FCT_OK(fc_learner_remove_cb(learn, "EarlyStopping"));
    FCT_OK(fc_learner_add_cb(learn, fc_early_stopping(.monitor = "score", .patience = 2, .min_delta = 0.15)));
    FCT_OK(fc_fit(learn, 10));
    FCT_EQ_INT(p.n_epochs, 3);
    fc_learner_free(learn);
}

FCT_TEST(test_early_stopping_on_a_lower_is_better_metric) {
    /* "score" declared lower-is-better: best 1.0 (e0), .8 (e1), e2 .9 (wait 1): patience 1 stops */
    static const double script[6] = {1.0, 0.8, 0.9, 0.1, 0.1, 0.1};
    probe p = {.script = script};
    fc_learner *learn = tiny_learner(1, .metrics = FC_METRICS(score_metric(&p, "score", 1)));
    FCT_OK(fc_learner_add_cb(learn, probe_cb("probe", 0, &p)));
    FCT_OK(fc_learner_add_cb(learn, fc_early_stopping(.monitor = "score")));
    FCT_OK(fc_fit(learn, 6));
    FCT_EQ_INT(p.n_epochs, 3);
    fc_learner_free(learn);
}

FCT_TEST(test_early_stopping_on_valid_loss_with_lr_0) {
    /* lr 0: the valid loss is the same every epoch; epoch 0 improves on +inf, epoch 1 does not */
    probe p = {0};
    fc_learner *learn = tiny_learner(2);
    FCT_OK(fc_learner_add_cb(learn, probe_cb("probe", 0, &p)));
    FCT_OK(fc_learner_add_cb(learn, fc_early_stopping()));
    FCT_OK(fc_fit(learn, 5, .lr = 1e-300));
    FCT_EQ_INT(p.n_epochs, 2);
    fc_learner_free(learn);
}

FCT_TEST(test_tracker_rejects_an_unknown_monitor) {
    fc_learner *learn = tiny_learner(3, .metrics = FC_METRICS(fc_mae()));
    FCT_OK(fc_learner_add_cb(learn, fc_early_stopping(.monitor = "acuracy")));
    FCT_TRUE(fc_fit(learn, 2) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "EarlyStopping: expected monitor to be one of train_loss, valid_loss, mae, found 'acuracy'");
    fc_learner_free(learn);
    FCT_NULL(fc_reduce_lr_on_plateau(.factor = 0.5));
    FCT_ERROR(FC_ERR_ARG, "ReduceLROnPlateau: expected .patience >= 1, .factor > 1");
}

static int same_weights(const float a[4], const float b[4]) { return !memcmp(a, b, 4 * sizeof(float)); }

FCT_TEST(test_save_model_keeps_and_reloads_the_best) {
    /* best score at epoch 1 of 4: the file holds epoch 1's weights and the model gets them back */
    static const double script[4] = {0.3, 0.9, 0.5, 0.4};
    const char *fname = "test_cbs_best.fcm";
    probe p = {.script = script};
    fc_learner *learn = tiny_learner(4, .metrics = FC_METRICS(score_metric(&p, "score", 0)));
    FCT_OK(fc_learner_add_cb(learn, probe_cb("probe", 0, &p)));
    FCT_OK(fc_learner_add_cb(learn, fc_save_model(.monitor = "score", .fname = fname)));
    FCT_OK(fc_fit(learn, 4));
    FCT_EQ_INT(p.n_epochs, 4);
    FCT_TRUE(!same_weights(p.w[1], p.w[3])); /* training moved the weights */
    float now[4];
    tiny_weights(learn, now);
    FCT_TRUE(same_weights(now, p.w[1]));
    /* the file itself: a fresh model loads epoch 1's weights */
    fc_module *fresh = fc_linear_new(3, 1);
    FCT_OK(fc_module_load(fresh, fname));
    float got[4];
    fc_tensor_copy_out(fc_module_parameter(fresh, 0, NULL), got, FC_DTYPE_F32);
    fc_tensor_copy_out(fc_module_parameter(fresh, 1, NULL), got + 3, FC_DTYPE_F32);
    FCT_TRUE(same_weights(got, p.w[1]));
    fc_module_free(fresh);
    /* at_end_load_off: the last epoch's weights stay */
    p = (probe){.script = script};
    FCT_OK(fc_learner_remove_cb(learn, "SaveModel"));
    FCT_OK(fc_learner_add_cb(learn, fc_save_model(.monitor = "score", .fname = fname, .at_end_load_off = 1)));
    FCT_OK(fc_fit(learn, 4));
    tiny_weights(learn, now);
    FCT_TRUE(same_weights(now, p.w[3]) && !same_weights(now, p.w[1]));
    fc_learner_free(learn);
    unlink(fname);
}

FCT_TEST(test_save_model_every_epoch) {
    probe p = {0};
    fc_learner *learn = tiny_learner(4);
    FCT_OK(fc_learner_add_cb(learn, probe_cb("probe", 0, &p)));
    FCT_OK(fc_learner_add_cb(learn, fc_save_model(.fname = "test_cbs_every.fcm", .every_epoch = 1)));
    FCT_OK(fc_fit(learn, 3));
    for (int e = 0; e < 3; e++) {
        char path[64];
        snprintf(path, sizeof path, "test_cbs_every_%d.fcm", e);
        fc_module *fresh = fc_linear_new(3, 1);
        FCT_OK(fc_module_load(fresh, path));
        float got[4];
        fc_tensor_copy_out(fc_module_parameter(fresh, 0, NULL), got, FC_DTYPE_F32);
        fc_tensor_copy_out(fc_module_parameter(fresh, 1, NULL), got + 3, FC_DTYPE_F32);
        FCT_TRUE(same_weights(got, p.w[e]));
        fc_module_free(fresh);
        unlink(path);
    }
    float now[4];
    tiny_weights(learn, now);
    FCT_TRUE(same_weights(now, p.w[2])); /* every_epoch loads nothing at the end */
    fc_learner_free(learn);
}

FCT_TEST(test_reduce_lr_on_plateau_divides_at_the_right_epoch) {
    /* higher is better, patience 2, factor 10: best .5 (e0), e1 wait 1, e2 wait 2 -> lr / 10 for
     * e3; .6 best (e3), e4 wait 1, e5 wait 2 -> lr / 10 again for e6 */
    static const double script[7] = {0.5, 0.4, 0.4, 0.6, 0.3, 0.3, 0.3};
    probe p = {.script = script};
    fc_learner *learn = tiny_learner(6, .metrics = FC_METRICS(score_metric(&p, "score", 0)));
    FCT_OK(fc_learner_add_cb(learn, probe_cb("probe", 0, &p)));
    FCT_OK(fc_learner_add_cb(learn, fc_reduce_lr_on_plateau(.monitor = "score", .patience = 2)));
    FCT_OK(fc_fit(learn, 7, .lr = 0.1));
    const double want[7] = {0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001};
    for (int e = 0; e < 7; e++) FCT_NEAR(p.lr[e], want[e], 1e-12);
    /* min_lr 5e-3 floors the second cut */
    p = (probe){.script = script};
    FCT_OK(fc_learner_remove_cb(learn, "ReduceLROnPlateau"));
    FCT_OK(fc_learner_add_cb(learn, fc_reduce_lr_on_plateau(.monitor = "score", .patience = 2, .min_lr = 5e-3)));
    FCT_OK(fc_fit(learn, 7, .lr = 0.1));
    FCT_NEAR(p.lr[6], 5e-3, 1e-12);
    fc_learner_free(learn);
}
