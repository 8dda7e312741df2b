/* EmbeddingDotBias against the same module in torch (forward and backward), a finite-difference
 * gradcheck, collab_learner on a small synthetic table, bias / weight, and PCA against torch.svd. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/autograd.h"
#include "fastc/collab.h"
#include "fct.h"

static void set_param(fc_module *m, const char *name, fc_tensor *v) {
    fc_tensor *p = fc_module_get(m, name);
    fc_no_grad_begin();
    if (FCT_NOTNULL(p) && FCT_NOTNULL(v)) FCT_OK(fc_copy_(p, v));
    fc_no_grad_end();
}

FCT_TEST(test_embedding_dot_bias_names_and_init) {
    fc_manual_seed(1);
    fc_module *m = fc_embedding_dot_bias(50, 944, 1665, (fc_y_range){0, 5.5});
    if (!FCT_NOTNULL(m)) return;
    const char *want[] = {"u_weight.weight", "i_weight.weight", "u_bias.weight", "i_bias.weight"};
    FCT_EQ_INT(fc_module_n_parameters(m), 4);
    for (int i = 0; i < 4; i++) {
        const char *name;
        fc_module_parameter(m, i, &name);
        FCT_STR(name, want[i]);
    }
    fc_tensor *w = fc_module_get(m, "i_weight.weight"); /* trunc_normal(std 0.01): |w| < 0.02 */
    const float *d = fc_tensor_data(w);
    double ss = 0, mx = 0;
    for (int64_t i = 0; i < fc_tensor_numel(w); i++) {
        ss += (double)d[i] * d[i];
        mx = fmax(mx, fabs(d[i]));
    }
    FCT_TRUE(mx < 0.02);
    FCT_NEAR(sqrt(ss / (double)fc_tensor_numel(w)), 0.0088, 0.0005); /* std of fmod(N(0, 1), 2) ~ 0.88 */
    fc_module_free(m);
}

FCT_TEST(test_embedding_dot_bias_matches_torch) {
    fct_fixture f = fct_load("collab/dot_bias");
    fc_module *m = fc_embedding_dot_bias(5, 7, 9, (fc_y_range){0, 5.5});
    if (!FCT_NOTNULL(m) || f.n == 0) return fct_fixture_free(&f);
    set_param(m, "u_weight.weight", fct_get(&f, "u_weight"));
    set_param(m, "i_weight.weight", fct_get(&f, "i_weight"));
    set_param(m, "u_bias.weight", fct_get(&f, "u_bias"));
    set_param(m, "i_bias.weight", fct_get(&f, "i_bias"));
    fc_tensor *y = fc_module_forward(m, fct_get(&f, "x"));
    FCT_CLOSE(y, fct_get(&f, "y"), 1e-5, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&f, "dy")));
    FCT_CLOSE(fc_tensor_grad(fc_module_get(m, "u_weight.weight")), fct_get(&f, "du_weight"), 1e-5, 1e-5);
    FCT_CLOSE(fc_tensor_grad(fc_module_get(m, "i_weight.weight")), fct_get(&f, "di_weight"), 1e-5, 1e-5);
    FCT_CLOSE(fc_tensor_grad(fc_module_get(m, "u_bias.weight")), fct_get(&f, "du_bias"), 1e-5, 1e-5);
    FCT_CLOSE(fc_tensor_grad(fc_module_get(m, "i_bias.weight")), fct_get(&f, "di_bias"), 1e-5, 1e-5);
    fc_module_free(m);
    fct_fixture_free(&f);
}

typedef struct gc_ctx {
    fc_module *m;
    fc_tensor *x;
} gc_ctx;

/* the model's output; the gradcheck's inputs are the module's own parameters, perturbed in place */
static fc_tensor *dot_bias_of(fc_tensor **in, void *ctx) {
    (void)in;
    gc_ctx *c = ctx;
    return fc_module_forward(c->m, c->x);
}

FCT_TEST(test_embedding_dot_bias_gradcheck) {
    fc_manual_seed(3);
    fc_module *m = fc_embedding_dot_bias(4, 5, 6, (fc_y_range){-1, 3});
    if (!FCT_NOTNULL(m)) return;
    const int64_t xs[] = {0, 1, 4, 5, 2, 2, 3, 0, 1, 1, 4, 3, 0, 5};
    fc_tensor *x = fc_from_data(xs, FC_SHAPE(7, 2), .dtype = FC_DTYPE_I64);
    fc_tensor *in[4];
    const char *names[] = {"u_weight.weight", "i_weight.weight", "u_bias.weight", "i_bias.weight"};
    for (int k = 0; k < 4; k++) { /* weights of order 1 */
        fc_tensor *p = fc_module_get(m, names[k]);
        fc_tensor *r = fct_randn(fc_tensor_shape(p), 20 + (uint64_t)k);
        fc_no_grad_begin();
        fc_copy_(p, r);
        fc_no_grad_end();
        fc_tensor_free(r);
        in[k] = p;
    }
    gc_ctx c = {m, x};
    FCT_EQ_INT(FCT_GRADCHECK(dot_bias_of, &c, 4, in), 0);
    fc_tensor_free(x);
    fc_module_free(m);
}

FCT_TEST(test_embedding_dot_bias_rejects_bad_args) {
    FCT_NULL(fc_embedding_dot_bias(0, 5, 5, (fc_y_range){0, 5.5}));
    FCT_ERROR(FC_ERR_ARG, "expected n_factors, n_users and n_items >= 1, found 0, 5 and 5");
    fc_error_clear();
    fc_module *m = fc_embedding_dot_bias(3, 5, 5, (fc_y_range){0});
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 3), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_module_forward(m, x));
    FCT_ERROR(FC_ERR_SHAPE, "expected x [B, 2] (user, item codes), found [4, 3]");
    fc_error_clear();
    fc_module_free(m);
}

FCT_TEST(test_pca_matches_torch_svd_up_to_sign) {
    fct_fixture f = fct_load("collab/pca");
    fc_tensor *x = fct_get(&f, "x"), *want = fct_get(&f, "y");
    if (!x || !want) return fct_fixture_free(&f);
    fc_tensor *got = fc_pca(x, 3);
    if (FCT_NOTNULL(got)) {
        FCT_EQ_INT(fc_tensor_dim(got, 0), 40);
        FCT_EQ_INT(fc_tensor_dim(got, 1), 3);
        const float *g = fc_tensor_data(got), *w = fc_tensor_data(want);
        for (int c = 0; c < 3; c++) {
            double sign = g[c] * w[c] < 0 ? -1 : 1, err = 0;
            for (int i = 0; i < 40; i++) err = fmax(err, fabs(sign * g[i * 3 + c] - w[i * 3 + c]));
            FCT_TRUE(err < 1e-4);
        }
    }
    fc_tensor_free(got);
    FCT_NULL(fc_pca(x, 7));
    FCT_ERROR(FC_ERR_ARG, "expected k in [1, 6]");
    fc_error_clear();
    fct_fixture_free(&f);
}

FCT_TEST(test_embedding_nn_is_fastai_tabular_model_with_squeezed_output) {
    fc_manual_seed(2);
    fc_module *m = fc_embedding_nn(10, 6, 12, 7, .layers = FC_INTS(8), .y_range = {0, 5.5});
    if (!FCT_NOTNULL(m)) return;
    const char *want[] = {"embeds.0.weight", "embeds.1.weight", "layers.0.0.weight", "layers.0.2.weight",
                          "layers.0.2.bias", "layers.1.0.weight", "layers.1.0.bias"};
    FCT_EQ_INT(fc_module_n_parameters(m), 7);
    for (int i = 0; i < 7; i++) {
        const char *name = NULL;
        fc_module_parameter(m, i, &name);
        FCT_STR(name, want[i]);
    }
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(m, "layers.0.0.weight"), 1), 13);
    const int64_t xs[] = {0, 1, 9, 11, 3, 0, 5, 5};
    fc_tensor *x = fc_from_data(xs, FC_SHAPE(4, 2), .dtype = FC_DTYPE_I64);
    fc_tensor *y = fc_module_forward(m, x);
    if (FCT_NOTNULL(y)) {
        FCT_EQ_INT(fc_tensor_ndim(y), 1);
        FCT_EQ_INT(fc_tensor_dim(y, 0), 4);
        for (int i = 0; i < 4; i++) FCT_TRUE(fc_tensor_get(y, i) > 0 && fc_tensor_get(y, i) < 5.5);
    }
    fc_tensor_free(x);
    fc_module_free(m);
    FCT_NULL(fc_embedding_nn(10, 6, 12, 7));
    FCT_ERROR(FC_ERR_ARG, "embedding_nn: .layers is required");
    fc_error_clear();
}
