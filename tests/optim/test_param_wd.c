/* Per-parameter weight decay (fastai's do_wd): an exempt parameter steps exactly as with wd 0,
 * for L2 (torch SGD) and decoupled (AdamW) decay, through Lookahead too. */
#include "fct.h"
#include "fastc/optim.h"

static fc_tensor *leaf(const float *v, int n) {
    fc_tensor *t = fc_keep(fc_from_data(v, FC_SHAPE(n)));
    fc_tensor_set_requires_grad(t, 1);
    return t;
}

static void set_grad(fc_tensor *p, const float *g, int n) {
    fc_tensor *gt = fc_from_data(g, FC_SHAPE(n));
    fc_tensor_set_grad(p, gt);
}

FCT_TEST(test_param_do_wd_exempts_one_parameter) {
    const float v[3] = {0.5f, -1.25f, 2.0f}, g[3] = {0.1f, 0.2f, -0.3f};
    for (int kind = 0; kind < 3; kind++) {
        fc_tensor *a = leaf(v, 3), *b = leaf(v, 3);
        fc_param_groups *gr = fc_param_groups_new();
        FCT_OK(fc_param_groups_add(gr, (fc_tensor *[]){a, b}, 2));
        fc_optimizer *opt = kind == 0   ? fc_sgd_new(gr, .lr = 0.1, .wd = 0.5)
                            : kind == 1 ? fc_adamw_new(gr, .lr = 0.1, .wd = 0.5)
                                        : fc_lookahead_new(fc_sgd_new(gr, .lr = 0.1, .wd = 0.5, .decouple_wd = 1));
        FCT_EQ_INT(fc_optimizer_param_do_wd(opt, b), 1);
        FCT_OK(fc_optimizer_set_param_do_wd(opt, b, 0));
        FCT_EQ_INT(fc_optimizer_param_do_wd(opt, b), 0);
        FCT_EQ_INT(fc_optimizer_param_do_wd(opt, a), 1);
        set_grad(a, g, 3);
        set_grad(b, g, 3);
        FCT_OK(fc_optimizer_step(opt));
        for (int i = 0; i < 3; i++) {
            double pa = fc_tensor_get(a, i), pb = fc_tensor_get(b, i);
            if (kind == 1) { /* Adam's first step moves by lr * sign(g) (eps aside) */
                double u = 0.1 * (g[i] > 0 ? 1 : -1);
                FCT_NEAR(pb, v[i] - u, 1e-6);
                FCT_NEAR(pa, v[i] * (1 - 0.1 * 0.5) - u, 1e-6);
            } else if (kind == 0) { /* torch SGD, L2: p -= lr (g + wd p) */
                FCT_NEAR(pb, v[i] - 0.1f * g[i], 1e-7);
                FCT_NEAR(pa, v[i] - 0.1 * (g[i] + 0.5 * v[i]), 1e-6);
            } else { /* decoupled: p *= 1 - lr wd, then p -= lr g */
                FCT_NEAR(pb, v[i] - 0.1f * g[i], 1e-7);
                FCT_NEAR(pa, v[i] * (1 - 0.05) - 0.1 * g[i], 1e-6);
            }
        }
        fc_optimizer_free(opt);
        fc_tensor_free(a);
        fc_tensor_free(b);
    }
}

FCT_TEST(test_param_do_wd_rejects_a_foreign_tensor) {
    const float v[2] = {1, 2};
    fc_tensor *a = leaf(v, 2), *other = leaf(v, 2);
    fc_param_groups *gr = fc_param_groups_new();
    FCT_OK(fc_param_groups_add(gr, &a, 1));
    fc_optimizer *opt = fc_sgd_new(gr, .lr = 0.1);
    FCT_TRUE(fc_optimizer_set_param_do_wd(opt, other, 0) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "optimizer_set_param_do_wd: the tensor is not a parameter of this sgd optimizer");
    FCT_EQ_INT(fc_optimizer_param_do_wd(opt, NULL), -1);
    FCT_ERROR(FC_ERR_ARG, "optimizer_param_do_wd: NULL is not a parameter");
    fc_optimizer_free(opt);
    fc_tensor_free(a);
    fc_tensor_free(other);
}
