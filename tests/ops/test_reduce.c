/* mean, var, std, logsumexp, max/min, argmax/argmin against PyTorch, gradchecks and errors. */
#include "fct.h"

typedef fc_tensor *(*unary_fn)(fc_tensor *x);

/* Loads ops/<name>: x0 (made to require grad), y, dy, dx0; checks f(x0) and its gradient. */
static void check_unary(const char *name, unary_fn f, double tol) {
    char path[64];
    snprintf(path, sizeof path, "ops/%s", name);
    fct_fixture fx = fct_load(path);
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x0"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *y = f(x);
    FCT_CLOSE(y, fct_get(&fx, "y"), tol, tol);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx0"), tol, tol);
    fct_fixture_free(&fx);
}

static fc_tensor *mean_dims(fc_tensor *x) { return fc_mean(x, FC_DIMS(0, 2), 0); }
static fc_tensor *mean_t(fc_tensor *x) { return fc_mean(fc_transpose(x, 0, 1), FC_DIMS(1), 1); }
static fc_tensor *mean_all(fc_tensor *x) { return fc_mean(x, FC_ALL_DIMS, 0); }
static fc_tensor *var_mid(fc_tensor *x) { return fc_var(x, FC_DIMS(1), 1, 1); }
static fc_tensor *var_split(fc_tensor *x) { return fc_var(x, FC_DIMS(0, 2), 0, 0); }
static fc_tensor *std_t(fc_tensor *x) { return fc_std(fc_transpose(x, 0, 1), FC_DIMS(0), 1, 0); }
static fc_tensor *std_all(fc_tensor *x) { return fc_std(x, FC_ALL_DIMS, 1, 0); }
static fc_tensor *lse_mid(fc_tensor *x) { return fc_logsumexp(x, FC_DIMS(1), 0); }
static fc_tensor *lse_t(fc_tensor *x) { return fc_logsumexp(fc_transpose(x, 0, 1), FC_DIMS(-1), 1); }
static fc_tensor *lse_split(fc_tensor *x) { return fc_logsumexp(x, FC_DIMS(0, 2), 0); }
static fc_tensor *max_mid(fc_tensor *x) { return fc_max(x, 1, 1); }
static fc_tensor *min_last(fc_tensor *x) { return fc_min(x, -1, 0); }
static fc_tensor *max_t(fc_tensor *x) { return fc_max(fc_transpose(x, 0, 1), 0, 0); }

FCT_TEST(test_mean_matches_pytorch) {
    check_unary("mean_dims", mean_dims, 1e-6);
    check_unary("mean_t", mean_t, 1e-6);
    check_unary("mean_all", mean_all, 1e-6);
}
FCT_TEST(test_var_std_match_pytorch) {
    check_unary("var_mid", var_mid, 1e-5);
    check_unary("var_split", var_split, 1e-5);
    check_unary("std_t", std_t, 1e-5);
    check_unary("std_all", std_all, 1e-5);
}
FCT_TEST(test_logsumexp_matches_pytorch) {
    check_unary("lse_mid", lse_mid, 1e-5);
    check_unary("lse_t", lse_t, 1e-5);
    check_unary("lse_split", lse_split, 1e-5);
}
FCT_TEST(test_max_min_match_pytorch) {
    check_unary("max_mid", max_mid, 0);
    check_unary("min_last", min_last, 0);
    check_unary("max_t", max_t, 0);
}

FCT_TEST(test_argmax_argmin_match_pytorch) {
    fct_fixture fx = fct_load("ops/max_mid");
    fc_tensor *x = fct_get(&fx, "x0");
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *i = fc_argmax(x, 1, 1);
    FCT_TRUE(i && fc_tensor_dtype(i) == FC_DTYPE_I64);
    FCT_CLOSE(i, fct_get(&fx, "idx"), 0, 0);
    fct_fixture_free(&fx);
    fx = fct_load("ops/min_last");
    FCT_CLOSE(fc_argmin(fct_get(&fx, "x0"), -1, 0), fct_get(&fx, "idx"), 0, 0);
    fct_fixture_free(&fx);
    fx = fct_load("ops/max_t");
    FCT_CLOSE(fc_argmax(fc_transpose(fct_get(&fx, "x0"), 0, 1), 0, 0), fct_get(&fx, "idx"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_logsumexp_is_stable_and_handles_inf) {
    float v[6] = {1000, 1000, -1000, -INFINITY, -INFINITY, -INFINITY};
    fc_tensor *x = fc_from_data(v, FC_SHAPE(2, 3));
    fc_tensor *y = fc_logsumexp(x, FC_DIMS(1), 0);
    FCT_NEAR(fc_tensor_get(y, 0), 1000 + log(2.0), 1e-3);
    FCT_TRUE(isinf(fc_tensor_get(y, 1)) && fc_tensor_get(y, 1) < 0);
}

FCT_TEST(test_argmax_treats_nan_as_max) {
    float v[4] = {1, NAN, 5, 2};
    fc_tensor *x = fc_from_data(v, FC_SHAPE(4));
    FCT_EQ_INT(fc_tensor_get(fc_argmax(x, 0, 0), 0), 1);
    FCT_EQ_INT(fc_tensor_get(fc_argmin(x, 0, 0), 0), 1);
}

static fc_tensor *reduce_fn(fc_tensor **in, void *ctx) {
    fc_tensor *x = in[0];
    switch ((int)(intptr_t)ctx) {
    case 0: return fc_mean(x, FC_DIMS(0, 2), 1);
    case 1: return fc_var(x, FC_DIMS(1), 1, 0);
    case 2: return fc_std(x, FC_DIMS(0, 2), 0, 1);
    case 3: return fc_logsumexp(x, FC_DIMS(2), 0);
    case 4: return fc_max(x, 1, 0);
    default: return fc_min(x, 0, 1);
    }
}

FCT_TEST(test_reduce_gradcheck) {
    for (int k = 0; k < 6; k++) {
        fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(3, 4, 2), 7 + (uint64_t)k));
        FCT_EQ_INT(FCT_GRADCHECK(reduce_fn, (void *)(intptr_t)k, 1, &x), 0);
        fc_tensor_free(x);
    }
}

FCT_TEST(test_reduce_errors) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3));
    FCT_NULL(fc_mean(x, FC_DIMS(2), 0));
    FCT_ERROR(FC_ERR_ARG, "mean");
    FCT_NULL(fc_var(x, FC_DIMS(1, 1), 1, 0));
    FCT_ERROR(FC_ERR_ARG, "var: dim 1 appears twice");
    FCT_NULL(fc_max(x, 5, 0));
    FCT_ERROR(FC_ERR_ARG, "max");
    FCT_NULL(fc_argmin(fc_zeros(FC_SHAPE(2, 0)), 1, 0));
    FCT_ERROR(FC_ERR_SHAPE, "argmin: cannot reduce dim 1 of size 0 (input [2, 0])");
    FCT_NULL(fc_logsumexp(fc_zeros(FC_SHAPE(2), .dtype = FC_DTYPE_I64), FC_ALL_DIMS, 0));
    FCT_ERROR(FC_ERR_DTYPE, "logsumexp: expected input of dtype f32, found i64");
    FCT_NULL(fc_std(NULL, FC_ALL_DIMS, 1, 0));
    FCT_NULL(fc_argmax(NULL, 0, 0));
}
