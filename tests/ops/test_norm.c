/* batch_norm, layer_norm, group_norm against PyTorch fixtures (gen_norm.py), gradchecks, errors. */
#include <string.h>

#include "fct.h"

/* Loads a fixture's x (and w, b when present) as leaves requiring grad. */
typedef struct norm_case {
    fct_fixture f;
    fc_tensor *x, *w, *b;
    int affine;
} norm_case;

static norm_case load_case(const char *name) {
    norm_case c = {.f = fct_load(name)};
    c.x = fc_requires_grad(fct_get(&c.f, "x"));
    for (int i = 0; i < c.f.n; i++)
        if (!strcmp(c.f.names[i], "w")) c.affine = 1;
    if (c.affine) {
        c.w = fc_requires_grad(fct_get(&c.f, "w"));
        c.b = fc_requires_grad(fct_get(&c.f, "b"));
    }
    return c;
}

/* Backward with the fixture's dy, then dx (and dw, db) against PyTorch. */
static void check_grads(norm_case *c, fc_tensor *y, double tol) {
    FCT_CLOSE(y, fct_get(&c->f, "y"), tol, tol);
    if (!y) return;
    FCT_OK(fc_backward_with(y, fct_get(&c->f, "dy")));
    FCT_CLOSE(fc_tensor_grad(c->x), fct_get(&c->f, "dx"), tol, tol);
    if (c->affine) {
        FCT_CLOSE(fc_tensor_grad(c->w), fct_get(&c->f, "dw"), tol, tol);
        FCT_CLOSE(fc_tensor_grad(c->b), fct_get(&c->f, "db"), tol, tol);
    }
}

static void check_batch_norm(const char *name, int training, int strided) {
    norm_case c = load_case(name);
    if (!c.x) return fct_fixture_free(&c.f);
    fc_tensor *rm = fc_clone(fct_get(&c.f, "rm0")), *rv = fc_clone(fct_get(&c.f, "rv0"));
    fc_tensor *x = strided ? fc_transpose(c.x, 0, 1) : c.x;
    fc_tensor *y = fc_batch_norm(x, rm, rv, c.w, c.b, training, 0.1, 1e-5);
    check_grads(&c, y, 2e-5);
    FCT_CLOSE(rm, fct_get(&c.f, "rm"), 1e-6, 1e-5); /* updated in place (eval: unchanged) */
    FCT_CLOSE(rv, fct_get(&c.f, "rv"), 1e-6, 1e-5);
    fct_fixture_free(&c.f);
}

FCT_TEST(test_batch_norm_train_matches_pytorch) {
    check_batch_norm("ops/bn_train_4d", 1, 0);
    check_batch_norm("ops/bn_train_2d_noaffine", 1, 0);
    check_batch_norm("ops/bn_train_strided", 1, 1);
}

FCT_TEST(test_batch_norm_eval_matches_pytorch) { check_batch_norm("ops/bn_eval_4d", 0, 0); }

FCT_TEST(test_batch_norm_train_without_running_stats) {
    norm_case c = load_case("ops/bn_train_4d");
    if (!c.x) return fct_fixture_free(&c.f);
    check_grads(&c, fc_batch_norm(c.x, NULL, NULL, c.w, c.b, 1, 0.1, 1e-5), 2e-5);
    fct_fixture_free(&c.f);
}

static void check_layer_norm(const char *name, fc_shape nshape, int strided) {
    norm_case c = load_case(name);
    if (!c.x) return fct_fixture_free(&c.f);
    fc_tensor *x = strided ? fc_transpose(c.x, -1, -2) : c.x;
    check_grads(&c, fc_layer_norm(x, nshape, c.w, c.b, 1e-5), 2e-5);
    fct_fixture_free(&c.f);
}

FCT_TEST(test_layer_norm_matches_pytorch) {
    check_layer_norm("ops/ln_1d", FC_SHAPE(6), 0);
    check_layer_norm("ops/ln_2d", FC_SHAPE(4, 5), 0);
    check_layer_norm("ops/ln_strided", FC_SHAPE(5), 1);
}

static void check_group_norm(const char *name, int groups) {
    norm_case c = load_case(name);
    if (!c.x) return fct_fixture_free(&c.f);
    check_grads(&c, fc_group_norm(c.x, groups, c.w, c.b, 1e-5), 2e-5);
    fct_fixture_free(&c.f);
}

FCT_TEST(test_group_norm_matches_pytorch) {
    check_group_norm("ops/gn_4d", 3);
    check_group_norm("ops/gn_3d_noaffine", 2);
}

/* ---- gradchecks: in[0] x, in[1] weight, in[2] bias ---- */

static fc_tensor *bn_train(fc_tensor **in, void *ctx) {
    return fc_batch_norm(in[0], NULL, NULL, in[1], in[2], 1, 0.1, 1e-5);
}
static fc_tensor *bn_eval(fc_tensor **in, void *ctx) {
    fc_tensor **rs = ctx;
    return fc_batch_norm(in[0], rs[0], rs[1], in[1], in[2], 0, 0.1, 1e-5);
}
static fc_tensor *bn_train_noaffine(fc_tensor **in, void *ctx) {
    return fc_batch_norm(in[0], NULL, NULL, NULL, NULL, 1, 0.1, 1e-5);
}
static fc_tensor *ln(fc_tensor **in, void *ctx) {
    return fc_layer_norm(in[0], FC_SHAPE(3, 4), in[1], in[2], 1e-5);
}
static fc_tensor *gn(fc_tensor **in, void *ctx) { return fc_group_norm(in[0], 2, in[1], in[2], 1e-5); }

static void gradcheck3(fct_fn_n f, void *ctx, fc_shape xs, fc_shape ps, const char *name) {
    fc_tensor *in[3] = {fc_requires_grad(fct_randn(xs, 1)), fc_requires_grad(fct_randn(ps, 2)),
                        fc_requires_grad(fct_randn(ps, 3))};
    if (FCT_GRADCHECK(f, ctx, 3, in)) fprintf(stderr, "  (in %s)\n", name);
    for (int i = 0; i < 3; i++) fc_tensor_free(in[i]);
}

FCT_TEST(test_norm_gradcheck) {
    gradcheck3(bn_train, NULL, FC_SHAPE(3, 4, 2, 2), FC_SHAPE(4), "batch_norm train");
    fc_tensor *rs[2] = {fct_randn(FC_SHAPE(4), 4), fc_ones(FC_SHAPE(4))};
    gradcheck3(bn_eval, rs, FC_SHAPE(3, 4, 2), FC_SHAPE(4), "batch_norm eval");
    fc_tensor_free(rs[0]);
    fc_tensor_free(rs[1]);
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(5, 3), 5));
    FCT_EQ_INT(FCT_GRADCHECK(bn_train_noaffine, NULL, 1, &x), 0);
    fc_tensor_free(x);
    gradcheck3(ln, NULL, FC_SHAPE(2, 3, 4), FC_SHAPE(3, 4), "layer_norm");
    gradcheck3(gn, NULL, FC_SHAPE(2, 4, 3), FC_SHAPE(4), "group_norm");
}

/* ---- larger inputs take the threaded paths: compare with the composed formula ---- */

FCT_TEST(test_batch_norm_large_is_normalized) {
    fc_tensor *x = fct_randn(FC_SHAPE(16, 8, 32, 32), 7);
    fc_tensor *y = fc_batch_norm(x, NULL, NULL, NULL, NULL, 1, 0.1, 1e-5);
    fc_tensor *m = fc_sum(y, FC_DIMS(0, 2, 3), 0);
    fc_tensor *q = fc_sum(fc_mul(y, y), FC_DIMS(0, 2, 3), 0);
    for (int c = 0; c < 8; c++) {
        FCT_NEAR(fc_tensor_get(m, c) / 16384.0, 0.0, 1e-4);
        FCT_NEAR(fc_tensor_get(q, c) / 16384.0, 1.0, 1e-3);
    }
    fc_tensor_free(x);
}

/* ---- errors ---- */

FCT_TEST(test_batch_norm_rejects_bad_arguments) {
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 3)), *w = fc_ones(FC_SHAPE(5)), *r = fc_zeros(FC_SHAPE(3));
    FCT_NULL(fc_batch_norm(x, NULL, NULL, w, NULL, 1, 0.1, 1e-5));
    FCT_ERROR(FC_ERR_SHAPE, "batch_norm: expected weight of shape [3], found [5] (input [4, 3])");
    FCT_NULL(fc_batch_norm(x, NULL, NULL, NULL, NULL, 0, 0.1, 1e-5));
    FCT_ERROR(FC_ERR_ARG, "batch_norm: expected running_mean and running_var in eval mode");
    FCT_NULL(fc_batch_norm(fc_zeros(FC_SHAPE(1, 3)), r, NULL, NULL, NULL, 1, 0.1, 1e-5));
    FCT_ERROR(FC_ERR_ARG, "expected more than 1 value per channel when training, found input [1, 3]");
    FCT_NULL(fc_batch_norm(fc_zeros(FC_SHAPE(4)), NULL, NULL, NULL, NULL, 1, 0.1, 1e-5));
    FCT_ERROR(FC_ERR_SHAPE, "batch_norm: expected input [N, C, ...] with at least 2 dims, found [4]");
    FCT_NULL(fc_batch_norm(x, fc_transpose(fc_zeros(FC_SHAPE(1, 3)), 0, 1), NULL, NULL, NULL, 1, 0.1,
                           1e-5));
    FCT_ERROR(FC_ERR_SHAPE, "expected running_mean of shape [3], found [3, 1]");
    FCT_NULL(fc_batch_norm(fc_zeros(FC_SHAPE(4, 3), .dtype = FC_DTYPE_I64), NULL, NULL, NULL, NULL, 1,
                           0.1, 1e-5));
    FCT_ERROR(FC_ERR_DTYPE, "batch_norm: expected input of dtype f32, found i64");
    FCT_NULL(fc_batch_norm(NULL, r, r, NULL, NULL, 1, 0.1, 1e-5));
}

FCT_TEST(test_layer_norm_rejects_bad_arguments) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3, 4));
    FCT_NULL(fc_layer_norm(x, FC_SHAPE(3), NULL, NULL, 1e-5));
    FCT_ERROR(FC_ERR_SHAPE, "layer_norm: expected input whose trailing dims are normalized_shape [3], "
                            "found [2, 3, 4]");
    FCT_NULL(fc_layer_norm(x, FC_SHAPE(3, 4), fc_ones(FC_SHAPE(4)), NULL, 1e-5));
    FCT_ERROR(FC_ERR_SHAPE, "layer_norm: expected weight of shape [3, 4], found [4]");
    FCT_NULL(fc_layer_norm(NULL, FC_SHAPE(4), NULL, NULL, 1e-5));
}

FCT_TEST(test_group_norm_rejects_bad_arguments) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 6, 4));
    FCT_NULL(fc_group_norm(x, 4, NULL, NULL, 1e-5));
    FCT_ERROR(FC_ERR_ARG, "group_norm: expected num_groups >= 1 dividing the 6 channels, found 4");
    FCT_NULL(fc_group_norm(x, 3, NULL, fc_zeros(FC_SHAPE(3)), 1e-5));
    FCT_ERROR(FC_ERR_SHAPE, "group_norm: expected bias of shape [6], found [3]");
    FCT_NULL(fc_group_norm(NULL, 2, NULL, NULL, 1e-5));
}

/* The threaded, column-blocked backward (300 x 300 > 64K elements, D > one 256-column block) must
 * agree with the serial path run on each half of the rows. */
FCT_TEST(test_layer_norm_large_matches_halves) {
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(300, 300), 8));
    fc_tensor *w = fc_requires_grad(fct_randn(FC_SHAPE(300), 9));
    fc_tensor *dy = fct_randn(FC_SHAPE(300, 300), 10);
    FCT_OK(fc_backward_with(fc_layer_norm(x, FC_SHAPE(300), w, NULL, 1e-5), dy));
    fc_tensor *dx_full = fc_clone(fc_tensor_grad(x)), *dw_full = fc_clone(fc_tensor_grad(w));
    fc_tensor_zero_grad(x);
    fc_tensor_zero_grad(w);
    for (int h = 0; h < 2; h++) {
        fc_tensor *yh = fc_layer_norm(fc_narrow(x, 0, 150 * h, 150), FC_SHAPE(300), w, NULL, 1e-5);
        FCT_OK(fc_backward_with(yh, fc_contiguous(fc_narrow(dy, 0, 150 * h, 150))));
    }
    FCT_CLOSE(fc_tensor_grad(x), dx_full, 1e-5, 1e-5);
    FCT_CLOSE(fc_tensor_grad(w), dw_full, 1e-4, 1e-5);
    fc_tensor_free(x);
    fc_tensor_free(w);
    fc_tensor_free(dy);
}
