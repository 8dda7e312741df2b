/* GradientAccumulation: bs 8 accumulated to 32 items steps like bs 32 (same data order, plain SGD,
 * so the two runs are the same computation up to f32 rounding); GradientClip bounds the norm. */
#include "tiny.h"

FCT_TEST(test_grad_accum_bs8_n32_equals_bs32) {
    /* 64 items: bs 32 makes 2 steps an epoch; bs 8 with n_acc 32 cancels 3 batches of 4 and steps
     * on the 4th with the sum of four loss_grads scaled by 8/32: the gradient of the mean over 32. */
    fc_learner *acc = tiny_learner(11, .bs = 8), *big = tiny_learner(11, .bs = 32), *small = tiny_learner(11, .bs = 8);
    probe pa = {0}, pb = {0};
    FCT_OK(fc_learner_add_cb(acc, fc_gradient_accumulation(.n_acc = 32)));
    FCT_OK(fc_learner_add_cb(acc, probe_cb("probe", 20, &pa)));
    FCT_OK(fc_learner_add_cb(big, probe_cb("probe", 20, &pb)));
    FCT_OK(fc_fit(acc, 3));
    FCT_OK(fc_fit(big, 3));
    FCT_OK(fc_fit(small, 3));
    FCT_EQ_INT(pa.n_batches, 24); /* every batch runs ... */
    FCT_EQ_INT(pa.n_steps, 6);    /* ... but only every 4th reaches the step */
    FCT_EQ_INT(pb.n_steps, 6);
    float wa[4], wb[4], ws[4];
    tiny_weights(acc, wa);
    tiny_weights(big, wb);
    tiny_weights(small, ws);
    double diff_small = 0;
    for (int i = 0; i < 4; i++) {
        FCT_NEAR(wa[i], wb[i], 1e-5 * fabs(wb[i]) + 1e-7);
        diff_small = fmax(diff_small, fabs(ws[i] - wb[i]));
    }
    FCT_TRUE(diff_small > 1e-3); /* stepping every 8 items is a different run */
    /* The logged loss is the batch's own, not scaled by 8/32 (fastai's loss is loss_grad's clone
     * taken before after_loss): four bs-8 batches on the same weights average to the bs-32 loss. */
    FCT_NEAR(fc_learner_train_loss(acc), fc_learner_train_loss(big), 1e-5 * fc_learner_train_loss(big));
    FCT_NEAR(fc_learner_valid_loss(acc), fc_learner_valid_loss(big), 1e-5 * fc_learner_valid_loss(big));
    fc_learner_free(acc);
    fc_learner_free(big);
    fc_learner_free(small);
}

FCT_TEST(test_grad_accum_rejects_bad_n_acc) {
    FCT_NULL(fc_gradient_accumulation(.n_acc = -4));
    FCT_ERROR(FC_ERR_ARG, "gradient_accumulation: .n_acc must be >= 1, found -4");
}

FCT_TEST(test_grad_clip_bounds_the_norm) {
    /* targets x100: the first gradients have norms in the hundreds */
    fc_learner *learn = tiny_learner(5, .y_scale = 100, .lr = 1e-3);
    probe before = {0}, after = {0};
    FCT_OK(fc_learner_add_cb(learn, probe_cb("before_clip", 0, &before)));
    FCT_OK(fc_learner_add_cb(learn, fc_gradient_clip(.max_norm = 0.5)));
    FCT_OK(fc_learner_add_cb(learn, probe_cb("after_clip", 20, &after)));
    FCT_OK(fc_fit(learn, 2));
    FCT_EQ_INT(after.n_steps, 16);
    FCT_TRUE(before.max_norm > 10);
    FCT_TRUE(after.max_norm <= 0.5 * (1 + 1e-5));
    FCT_TRUE(after.min_norm >= 0.5 * (1 - 1e-4)); /* every one was clipped, to 0.5 / (1 + 2e-6 / 0.5) */
    fc_learner_free(learn);
    /* a norm already below max_norm is left as it is */
    learn = tiny_learner(5, .lr = 1e-3);
    probe b2 = {0}, a2 = {0};
    FCT_OK(fc_learner_add_cb(learn, probe_cb("before_clip", 0, &b2)));
    FCT_OK(fc_learner_add_cb(learn, fc_gradient_clip(.max_norm = 1e6)));
    FCT_OK(fc_learner_add_cb(learn, probe_cb("after_clip", 20, &a2)));
    FCT_OK(fc_fit(learn, 1));
    FCT_NEAR(a2.max_norm, b2.max_norm, 0);
    FCT_NEAR(a2.min_norm, b2.min_norm, 0);
    fc_learner_free(learn);
}
