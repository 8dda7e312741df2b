/* The flattened losses against the plain ops, their activations and decodes; learner creation
 * errors; the loss plot. */
#include <unistd.h>

#include "learner_test.h"

FCT_TEST(test_cross_entropy_flat_matches_cross_entropy_over_extra_dims) {
    fc_tensor *pred = fc_randn(FC_SHAPE(2, 3, 2, 2));
    fc_tensor *targ = fc_randint(0, 3, FC_SHAPE(2, 2, 2));
    fc_loss_func lf = fc_cross_entropy_flat(0);
    fc_tensor *got = lf.forward(&lf, pred, targ), *want = fc_cross_entropy(pred, targ);
    FCT_NEAR(fc_tensor_item(got), fc_tensor_item(want), 1e-6);
    fc_loss_func ls = fc_cross_entropy_flat(0.1);
    FCT_NEAR(fc_tensor_item(ls.forward(&ls, pred, targ)),
             fc_tensor_item(fc_cross_entropy(pred, targ, .label_smoothing = 0.1)), 1e-6);
    fc_tensor *p2 = fc_randn(FC_SHAPE(5, 4)), *t2 = fc_randint(0, 4, FC_SHAPE(5, 1)); /* targ [N, 1] flattens */
    FCT_NEAR(fc_tensor_item(lf.forward(&lf, p2, t2)), fc_tensor_item(fc_cross_entropy(p2, fc_reshape(t2, FC_SHAPE(5)))),
             1e-6);
    fc_tensor *act = lf.activation(&lf, p2), *dec = lf.decodes(&lf, act);
    FCT_NEAR(fc_tensor_get(act, 0) + fc_tensor_get(act, 1) + fc_tensor_get(act, 2) + fc_tensor_get(act, 3), 1, 1e-6);
    FCT_EQ_INT(fc_tensor_get(dec, 2), fc_tensor_get(fc_argmax(p2, 1, 0), 2));
    FCT_NULL(lf.forward(&lf, fc_randn(FC_SHAPE(4)), t2));
    FCT_ERROR(FC_ERR_SHAPE, "cross_entropy_flat: expected pred [N, C, ...], found [4]");
}

FCT_TEST(test_bce_mse_l1_flat) {
    fc_tensor *pred = fc_randn(FC_SHAPE(4, 3)), *targ = fc_rand(FC_SHAPE(4, 3));
    fc_loss_func b = fc_bce_with_logits_flat(0.7);
    FCT_NEAR(fc_tensor_item(b.forward(&b, pred, targ)), fc_tensor_item(fc_bce_with_logits(pred, targ)), 1e-6);
    fc_tensor *dec = b.decodes(&b, b.activation(&b, pred));
    for (int i = 0; i < 12; i++) FCT_EQ_INT(fc_tensor_get(dec, i) != 0, 1 / (1 + exp(-fc_tensor_get(pred, i))) > 0.7);
    fc_tensor *p1 = fc_randn(FC_SHAPE(6, 1)), *t1 = fc_randint(0, 3, FC_SHAPE(6)); /* i64 targets floatify */
    fc_loss_func m = fc_mse_flat(), l = fc_l1_flat();
    double se = 0, ae = 0;
    for (int i = 0; i < 6; i++) {
        double d = fc_tensor_get(p1, i) - fc_tensor_get(t1, i);
        se += d * d / 6;
        ae += fabs(d) / 6;
    }
    FCT_NEAR(fc_tensor_item(m.forward(&m, p1, t1)), se, 1e-5);
    FCT_NEAR(fc_tensor_item(l.forward(&l, p1, t1)), ae, 1e-5);
    FCT_TRUE(m.activation == NULL && m.decodes == NULL);
}

FCT_TEST(test_learner_creation_errors_free_what_was_given) {
    FCT_NULL(fc_learner(lt_dls(8, 4, 4, 1), NULL));
    FCT_ERROR(FC_ERR_ARG, "learner: NULL dataloaders, model or opts");
    FCT_NULL(fc_learner(lt_dls(8, 4, 4, 1), lt_mlp(), .lr = -1, .metrics = FC_METRICS(lt_accuracy())));
    FCT_ERROR(FC_ERR_ARG, ".lr and .wd must be >= 0, found -1");
    fc_callback *a = fc_callback_new(&(fc_callback_def){.name = "same"});
    fc_callback *b = fc_callback_new(&(fc_callback_def){.name = "same"});
    FCT_NULL(fc_learner(lt_dls(8, 4, 4, 1), lt_mlp(), .cbs = FC_CALLBACKS(a, b)));
    FCT_ERROR(FC_ERR_ARG, "a callback named 'same' is already there");
    /* a pending error stops a fit before it starts */
    fc_learner *learn = fc_learner(lt_dls(8, 4, 4, 1), lt_mlp(), .quiet = 1);
    fc_fail(FC_ERR_IO, "an earlier failure");
    FCT_EQ_INT(fc_fit(learn, 1), FC_ERR_IO);
    FCT_ERROR(FC_ERR_IO, "an earlier failure");
    FCT_EQ_INT(fc_learner_opt(learn) == NULL, 1);
    fc_learner_free(learn);
}

FCT_TEST(test_recorder_plot_loss) {
    fc_learner *learn = fc_learner(lt_dls(32, 8, 8, 1), lt_mlp(), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_EQ_INT(fc_recorder_plot_loss(learn, "loss.png"), FC_ERR_STATE);
    FCT_ERROR(FC_ERR_STATE, "no training batch recorded yet");
    FCT_OK(fc_fit(learn, 2));
    FCT_OK(fc_recorder_plot_loss(learn, "loss.png"));
    FCT_TRUE(access("loss.png", F_OK) == 0);
    fc_learner_free(learn);
}
