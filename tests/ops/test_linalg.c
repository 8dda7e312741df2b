/* matmul, bmm and linear against PyTorch fixtures (tests/fixtures/gen_linalg.py), gradchecks and
 * error messages. */
#include <string.h>

#include "fct.h"

/* The view the fixture's torch code took of a stored operand (see view() in gen_linalg.py). */
static fc_tensor *viewed(fc_tensor *t, const char *mode) {
    if (!strcmp(mode, "t")) return fc_transpose(t, -1, -2);
    if (!strcmp(mode, "step")) return fc_slice(t, -1, 0, fc_tensor_dim(t, -1), 2);
    return t;
}

static void check_matmul(const char *name, const char *ma, const char *mb) {
    char path[64];
    snprintf(path, sizeof path, "ops/matmul_%s", name);
    fct_fixture fx = fct_load(path);
    fc_tensor *a = fct_get(&fx, "a"), *b = fct_get(&fx, "b");
    if (!a || !b) return fct_fixture_free(&fx);
    fc_requires_grad(a);
    fc_requires_grad(b);
    fc_tensor *y = fc_matmul(viewed(a, ma), viewed(b, mb));
    if (!FCT_NOTNULL(y)) return fct_fixture_free(&fx);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-5, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(a), fct_get(&fx, "da"), 1e-5, 1e-5);
    FCT_CLOSE(fc_tensor_grad(b), fct_get(&fx, "db"), 1e-5, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_matmul_matches_pytorch_in_every_shape_mode) {
    /* keep in sync with MATMUL in gen_linalg.py */
    static const char *cases[][3] = {
        {"dot", "", ""},          {"mm", "", ""},           {"vm", "", ""},
        {"mv", "", ""},           {"bcast", "", ""},        {"batch_2d", "", ""},
        {"2d_batch", "", ""},     {"v_batch", "", ""},      {"batch_v", "", ""},
        {"mm_tt", "t", "t"},      {"batch_t_2d", "t", ""},  {"bcast_t", "t", "t"},
        {"mm_step", "step", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_matmul(cases[i][0], cases[i][1], cases[i][2]);
}

FCT_TEST(test_matmul_dot_is_0_dim) {
    fc_tensor *a = fc_ones(FC_SHAPE(3)), *b = fc_full(FC_SHAPE(3), 2.0);
    fc_tensor *y = fc_matmul(a, b);
    if (!FCT_NOTNULL(y)) return;
    FCT_EQ_INT(fc_tensor_ndim(y), 0);
    FCT_NEAR(fc_tensor_item(y), 6.0, 1e-6);
}

FCT_TEST(test_bmm_matches_pytorch) {
    fct_fixture fx = fct_load("ops/bmm");
    fc_tensor *a = fc_requires_grad(fct_get(&fx, "a")), *b = fc_requires_grad(fct_get(&fx, "b"));
    fc_tensor *y = fc_bmm(a, b);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-5, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(a), fct_get(&fx, "da"), 1e-5, 1e-5);
    FCT_CLOSE(fc_tensor_grad(b), fct_get(&fx, "db"), 1e-5, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_linear_matches_pytorch) {
    fct_fixture fx = fct_load("ops/linear_bias");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x")), *w = fc_requires_grad(fct_get(&fx, "w")),
              *b = fc_requires_grad(fct_get(&fx, "b"));
    fc_tensor *y = fc_linear(x, w, b);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-5, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-5, 1e-5);
    FCT_CLOSE(fc_tensor_grad(w), fct_get(&fx, "dw"), 1e-5, 1e-5);
    FCT_CLOSE(fc_tensor_grad(b), fct_get(&fx, "db"), 1e-5, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_linear_without_bias_on_transposed_inputs) {
    fct_fixture fx = fct_load("ops/linear_nobias_t");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x")), *w = fc_requires_grad(fct_get(&fx, "w"));
    fc_tensor *y = fc_linear(fc_transpose(x, 0, 1), fc_transpose(w, 0, 1), NULL);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-5, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-5, 1e-5);
    FCT_CLOSE(fc_tensor_grad(w), fct_get(&fx, "dw"), 1e-5, 1e-5);
    fct_fixture_free(&fx);
}

static fc_tensor *call_matmul(fc_tensor **in, void *ctx) { return fc_matmul(in[0], in[1]); }
static fc_tensor *call_matmul_t(fc_tensor **in, void *ctx) {
    return fc_matmul(fc_transpose(in[0], -1, -2), in[1]);
}
static fc_tensor *call_linear(fc_tensor **in, void *ctx) {
    return fc_linear(in[0], in[1], ctx ? in[2] : NULL);
}

FCT_TEST(test_linalg_gradcheck) {
    /* batched with broadcast batch dims, 2-D x batched, vector x matrix */
    fc_shape sa[] = {FC_SHAPE(2, 1, 3, 4), FC_SHAPE(3, 4), FC_SHAPE(4), FC_SHAPE(2, 3, 4)};
    fc_shape sb[] = {FC_SHAPE(3, 4, 2), FC_SHAPE(2, 4, 2), FC_SHAPE(2, 4, 3), FC_SHAPE(4)};
    for (int k = 0; k < 4; k++) {
        fc_tensor *in[2] = {fc_requires_grad(fct_randn(sa[k], 1 + k)),
                            fc_requires_grad(fct_randn(sb[k], 11 + k))};
        FCT_EQ_INT(FCT_GRADCHECK(call_matmul, NULL, 2, in), 0);
        fc_tensor_free(in[0]);
        fc_tensor_free(in[1]);
    }
    fc_tensor *t[2] = {fc_requires_grad(fct_randn(FC_SHAPE(2, 4, 3), 21)),
                       fc_requires_grad(fct_randn(FC_SHAPE(4, 5), 22))};
    FCT_EQ_INT(FCT_GRADCHECK(call_matmul_t, NULL, 2, t), 0);
    fc_tensor_free(t[0]);
    fc_tensor_free(t[1]);
    fc_tensor *l[3] = {fc_requires_grad(fct_randn(FC_SHAPE(2, 3, 4), 31)),
                       fc_requires_grad(fct_randn(FC_SHAPE(5, 4), 32)),
                       fc_requires_grad(fct_randn(FC_SHAPE(5), 33))};
    FCT_EQ_INT(FCT_GRADCHECK(call_linear, (void *)1, 3, l), 0);
    FCT_EQ_INT(FCT_GRADCHECK(call_linear, NULL, 2, l), 0);
    for (int i = 0; i < 3; i++) fc_tensor_free(l[i]);
}

FCT_TEST(test_matmul_rejects_inner_dim_mismatch) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2, 3)), *b = fc_zeros(FC_SHAPE(4, 5));
    FCT_NULL(fc_matmul(a, b));
    FCT_ERROR(FC_ERR_SHAPE, "matmul: expected a.shape[-1] == b.shape[-2], found 3 and 4");
    fc_tensor *v = fc_zeros(FC_SHAPE(5));
    FCT_NULL(fc_matmul(a, v));
    FCT_ERROR(FC_ERR_SHAPE, "found 3 and 5 (shapes [2, 3] and [5])");
}

FCT_TEST(test_matmul_rejects_batches_that_do_not_broadcast) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2, 3, 4)), *b = fc_zeros(FC_SHAPE(3, 4, 5));
    FCT_NULL(fc_matmul(a, b));
    FCT_ERROR(FC_ERR_SHAPE, "matmul: shapes [2] and [3] do not broadcast");
}

FCT_TEST(test_matmul_rejects_0_dim_and_int) {
    fc_tensor *s = fc_scalar(1.0), *m = fc_zeros(FC_SHAPE(2, 2));
    FCT_NULL(fc_matmul(s, m));
    FCT_ERROR(FC_ERR_SHAPE, "matmul: expected tensors with at least 1 dim");
    fc_tensor *i = fc_zeros(FC_SHAPE(2, 2), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_matmul(m, i));
    FCT_ERROR(FC_ERR_DTYPE, "matmul: expected b of dtype f32, found i64");
    FCT_NULL(fc_matmul(NULL, m));
}

FCT_TEST(test_bmm_rejects_bad_shapes) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2, 3, 4)), *b = fc_zeros(FC_SHAPE(3, 4, 5));
    FCT_NULL(fc_bmm(a, b));
    FCT_ERROR(FC_ERR_SHAPE, "bmm: expected a.shape[0] == b.shape[0], found 2 and 3");
    fc_tensor *c = fc_zeros(FC_SHAPE(4, 5));
    FCT_NULL(fc_bmm(a, c));
    FCT_ERROR(FC_ERR_SHAPE, "bmm: expected b with 3 dims, found 2");
    fc_tensor *d = fc_zeros(FC_SHAPE(2, 5, 5));
    FCT_NULL(fc_bmm(a, d));
    FCT_ERROR(FC_ERR_SHAPE, "bmm: expected a.shape[-1] == b.shape[-2], found 4 and 5");
}

FCT_TEST(test_linear_rejects_bad_shapes) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3)), *w = fc_zeros(FC_SHAPE(5, 4));
    FCT_NULL(fc_linear(x, w, NULL));
    FCT_ERROR(FC_ERR_SHAPE, "linear: expected x.shape[-1] == w.shape[1] (in_features), found x "
                            "[2, 3] and w [5, 4]");
    fc_tensor *w2 = fc_zeros(FC_SHAPE(5, 3)), *b = fc_zeros(FC_SHAPE(4));
    FCT_NULL(fc_linear(x, w2, b));
    FCT_ERROR(FC_ERR_SHAPE, "linear: expected bias of shape [5] (out_features), found [4]");
}
