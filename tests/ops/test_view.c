/* Views (reshape, permute, slice, expand, ...) and sum, against PyTorch. */
#include "fct.h"

FCT_TEST(test_view_chain_matches_pytorch) {
    fct_fixture fx = fct_load("ops/view_chain");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *v = fc_permute(x, FC_DIMS(2, 0, 1));
    v = fc_slice(v, 0, 1, 4, 2);
    FCT_TRUE(!fc_tensor_is_contiguous(v));
    v = fc_reshape(v, FC_SHAPE(4, 3));
    v = fc_expand(fc_unsqueeze(v, 0), FC_SHAPE(2, 4, 3));
    fc_tensor *y = fc_mul(v, fc_reshape(fc_arange(0, 24, 1), FC_SHAPE(2, 4, 3)));
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-6, 1e-6);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-5, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_sum_dims_matches_pytorch) {
    fct_fixture fx = fct_load("ops/sum_dims");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *y = fc_mul_scalar(fc_sum(x, FC_DIMS(0, 2), 1), 2);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-5, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-6, 1e-6);
    fct_fixture_free(&fx);
}

FCT_TEST(test_view_shares_storage) {
    fc_tensor *x = fc_arange(0, 6, 1);
    fc_tensor *v = fc_view(x, FC_SHAPE(2, 3));
    FCT_TRUE(fc_tensor_data(v) == fc_tensor_data(x));
    fc_tensor *t = fc_transpose(v, 0, 1);
    FCT_NEAR(fc_tensor_get(t, 1), 3.0, 0);
    FCT_NULL(fc_view(t, FC_SHAPE(6)));
    FCT_ERROR(FC_ERR_SHAPE, "without a copy");
    fc_tensor *r = fc_reshape(t, FC_SHAPE(6));
    FCT_NEAR(fc_tensor_get(r, 1), 3.0, 0);
}

FCT_TEST(test_reshape_rejects_wrong_numel) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3));
    FCT_NULL(fc_reshape(x, FC_SHAPE(4, -1)));
    FCT_ERROR(FC_ERR_SHAPE, "reshape: cannot view [2, 3] (6 elements) as [4, -1]");
}

static fc_tensor *views_fn(fc_tensor **in, void *ctx) {
    (void)ctx;
    fc_tensor *v = fc_narrow(fc_permute(in[0], FC_DIMS(1, 0, 2)), 0, 1, 2);
    v = fc_flatten(fc_select(v, 2, 1), 0, -1);
    return fc_mul(fc_expand(fc_unsqueeze(v, 0), FC_SHAPE(3, 4)), fc_sum(in[0], FC_ALL_DIMS, 0));
}

FCT_TEST(test_views_gradcheck) {
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(2, 3, 2), 3));
    FCT_EQ_INT(FCT_GRADCHECK(views_fn, NULL, 1, &x), 0);
    fc_tensor_free(x);
}
