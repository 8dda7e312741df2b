/* softmax and log_softmax against PyTorch (last dim, a middle dim, a transposed input with large
 * logits), gradchecks and errors. */
#include "fct.h"

typedef fc_tensor *(*softmax_fn)(fc_tensor *x, int dim);

static void check_softmax(const char *name, softmax_fn f, int dim, int transposed) {
    char path[64];
    snprintf(path, sizeof path, "ops/%s", name);
    fct_fixture fx = fct_load(path);
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x0"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *y = f(transposed ? fc_transpose(x, 0, 1) : x, dim);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx0"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_softmax_matches_pytorch) {
    check_softmax("softmax_last", fc_softmax, -1, 0);
    check_softmax("softmax_mid", fc_softmax, 1, 0);
    check_softmax("softmax_t", fc_softmax, 1, 1);
}

FCT_TEST(test_log_softmax_matches_pytorch) {
    check_softmax("log_softmax_last", fc_log_softmax, -1, 0);
    check_softmax("log_softmax_mid", fc_log_softmax, 1, 0);
    check_softmax("log_softmax_t", fc_log_softmax, 1, 1);
}

FCT_TEST(test_softmax_masked_logits_give_zero) {
    float v[4] = {0, -INFINITY, 1e4f, 1e4f};
    fc_tensor *y = fc_softmax(fc_from_data(v, FC_SHAPE(4)), 0);
    FCT_NEAR(fc_tensor_get(y, 1), 0, 0);
    FCT_NEAR(fc_tensor_get(y, 2), 0.5, 1e-6);
    fc_tensor *ly = fc_log_softmax(fc_from_data(v, FC_SHAPE(4)), 0);
    FCT_NEAR(fc_tensor_get(ly, 3), -log(2.0), 1e-6);
}

static fc_tensor *softmax_gc(fc_tensor **in, void *ctx) {
    int k = (int)(intptr_t)ctx;
    return (k & 1 ? fc_log_softmax : fc_softmax)(in[0], k >> 1 ? 1 : -1);
}

FCT_TEST(test_softmax_gradcheck) {
    for (int k = 0; k < 4; k++) {
        fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(3, 4, 2), 20 + (uint64_t)k));
        FCT_EQ_INT(FCT_GRADCHECK(softmax_gc, (void *)(intptr_t)k, 1, &x), 0);
        fc_tensor_free(x);
    }
}

FCT_TEST(test_softmax_errors) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3));
    FCT_NULL(fc_softmax(x, 2));
    FCT_ERROR(FC_ERR_ARG, "softmax");
    FCT_NULL(fc_log_softmax(fc_zeros(FC_SHAPE(2), .dtype = FC_DTYPE_I32), 0));
    FCT_ERROR(FC_ERR_DTYPE, "log_softmax: expected input of dtype f32, found i32");
    FCT_NULL(fc_softmax(NULL, 0));
}
