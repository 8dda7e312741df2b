/* fastai's wd_bn_bias=False: one step of fastai's Adam (decoupled wd) on Linear + BatchNorm1d +
 * Linear from the same weights, with wd 0.1, without wd, and with wd on everything. Decoupled wd
 * is p *= 1 - lr * wd before the update, and Adam's update does not depend on p, so a decayed
 * parameter ends exactly -lr * wd * p0 away from its undecayed twin and an exempt one equal to it. */
#include "learner_test.h"

static fc_learner *bn_learner(double wd, int no_wd, int wd_bn_bias) {
    fc_tensor *x = fct_randn(FC_SHAPE(16, 3), 4);
    float *px = fc_tensor_data(x);
    int64_t yv[16];
    for (int i = 0; i < 16; i++) yv[i] = px[i * 3] - px[i * 3 + 2] > 0;
    fc_tensor *y = fc_from_data(yv, FC_SHAPE(16), .dtype = FC_DTYPE_I64);
    fc_dataloaders *dls = fc_tensor_dls(fc_narrow(x, 0, 0, 8), fc_narrow(y, 0, 0, 8), fc_narrow(x, 0, 8, 8),
                                        fc_narrow(y, 0, 8, 8), .bs = 8, .no_shuffle = 1);
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_manual_seed(77);
    fc_module *m = fc_sequential(fc_linear_new(3, 4), fc_batchnorm1d_new(4), fc_linear_new(4, 2));
    /* BatchNorm starts at weight 1, bias 0: move them so that a decay would show */
    fc_tensor *bw = fc_module_parameter(m, 2, NULL), *bb = fc_module_parameter(m, 3, NULL);
    float *w = fc_tensor_data(bw), *b = fc_tensor_data(bb);
    for (int i = 0; i < 4; i++) {
        w[i] = 0.5f + 0.25f * (float)i;
        b[i] = 0.3f - 0.2f * (float)i;
    }
    return fc_learner(dls, m, .lr = 0.01, .wd = wd, .no_wd = no_wd, .wd_bn_bias = wd_bn_bias, .quiet = 1);
}

FCT_TEST(test_wd_bn_bias_default_exempts_biases_and_norm_parameters) {
    fc_learner *dflt = bn_learner(0.1, 0, 0), *none = bn_learner(0, 1, 0), *all = bn_learner(0.1, 0, 1);
    fc_module *m = fc_learner_model(dflt);
    int n = fc_module_n_parameters(m);
    FCT_EQ_INT(n, 6); /* 0.weight 0.bias 1.weight 1.bias 2.weight 2.bias */
    float p0[6][16];
    for (int i = 0; i < n; i++) FCT_OK(fc_tensor_copy_out(fc_module_parameter(m, i, NULL), p0[i], FC_DTYPE_F32));
    FCT_OK(fc_fit(dflt, 1)); /* one batch: one step */
    FCT_OK(fc_fit(none, 1));
    FCT_OK(fc_fit(all, 1));
    const double lr_wd = 0.01 * 0.1;
    for (int i = 0; i < n; i++) {
        const char *name;
        fc_tensor *pd = fc_module_parameter(m, i, &name);
        fc_tensor *pn = fc_module_parameter(fc_learner_model(none), i, NULL);
        fc_tensor *pa = fc_module_parameter(fc_learner_model(all), i, NULL);
        int exempt = i % 2 == 1 || i == 2; /* the biases and BatchNorm's weight */
        FCT_EQ_INT(fc_optimizer_param_do_wd(fc_learner_opt(dflt), pd), !exempt);
        FCT_EQ_INT(fc_optimizer_param_do_wd(fc_learner_opt(all), pa), 1);
        double max_dflt = 0, max_all = 0, moved = 0;
        for (int64_t j = 0; j < fc_tensor_numel(pd); j++) {
            double d = fc_tensor_get(pd, j), nw = fc_tensor_get(pn, j), a = fc_tensor_get(pa, j);
            double want = nw - lr_wd * p0[i][j]; /* the decayed twin */
            max_dflt = fmax(max_dflt, fabs(d - (exempt ? nw : want)));
            max_all = fmax(max_all, fabs(a - want));
            moved = fmax(moved, fabs(nw - p0[i][j]));
        }
        if (exempt) FCT_NEAR(max_dflt, 0, 0); /* exactly the run without wd */
        else FCT_TRUE(max_dflt < 1e-7);
        FCT_TRUE(max_all < 1e-7);
        if (i != 1) FCT_TRUE(moved > 1e-3); /* each stepped (0.bias, before BatchNorm, has ~0 gradient) */
    }
    fc_learner_free(dflt);
    fc_learner_free(none);
    fc_learner_free(all);
}
