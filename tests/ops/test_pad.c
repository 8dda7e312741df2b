/* pad and flip against PyTorch (non-contiguous inputs, negative pads and dims); gradchecks; errors. */
#include "fct.h"

FCT_TEST(test_pad_crop_strided_matches_pytorch) {
    fct_fixture fx = fct_load("ops/pad_crop");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *y = fc_pad(fc_permute(x, FC_DIMS(1, 2, 0)), FC_SHAPE(1, 2, -1, 1), 0.5);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_pad_three_dims_matches_pytorch) {
    fct_fixture fx = fct_load("ops/pad_3d");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *y = fc_pad(x, FC_SHAPE(0, 1, 2, 0, 1, 1), 0);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_pad_large_image) {
    /* NCHW image padding, above the threading threshold */
    fc_tensor *x = fc_ones(FC_SHAPE(4, 3, 64, 64));
    fc_tensor *y = fc_pad(x, FC_SHAPE(2, 2, 2, 2), -1.0);
    FCT_EQ_INT(fc_tensor_dim(y, 2), 68);
    FCT_NEAR(fc_tensor_item(fc_sum(y, FC_ALL_DIMS, 0)), 4 * 3 * (64.0 * 64 - (68.0 * 68 - 64 * 64)), 0);
    fc_tensor *c = fc_pad(y, FC_SHAPE(-2, -2, -2, -2), 0);
    FCT_CLOSE(c, x, 0, 0);
}

FCT_TEST(test_pad_rejects_bad_pads) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3));
    FCT_NULL(fc_pad(x, FC_SHAPE(1, 1, 1), 0));
    FCT_ERROR(FC_ERR_ARG, "pad: expected an even number of pads, at most 4 for x of shape [2, 3], "
                          "found 3");
    FCT_NULL(fc_pad(x, FC_SHAPE(-2, -2), 0));
    FCT_ERROR(FC_ERR_SHAPE, "pad: pads (-2, -2) on dim 1 of x [2, 3] give a negative size -1");
    FCT_NULL(fc_pad(fc_zeros(FC_SHAPE(2), .dtype = FC_DTYPE_I64), FC_SHAPE(1, 1), 0));
    FCT_ERROR(FC_ERR_DTYPE, "pad: expected x of dtype f32, found i64");
}

FCT_TEST(test_flip_strided_matches_pytorch) {
    fct_fixture fx = fct_load("ops/flip_two");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *y = fc_flip(fc_permute(x, FC_DIMS(1, 2, 0)), FC_DIMS(0, -1));
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_flip_last_matches_pytorch) {
    fct_fixture fx = fct_load("ops/flip_last");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *y = fc_flip(x, FC_DIMS(-1));
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_flip_large_twice_is_identity) {
    fc_tensor *x = fc_reshape(fc_arange(0, 100000, 1), FC_SHAPE(100, 1000));
    fc_tensor *y = fc_flip(x, FC_DIMS(0, 1));
    FCT_NEAR(fc_tensor_get(y, 0), 99999.0, 0);
    FCT_CLOSE(fc_flip(y, FC_DIMS(1, 0)), x, 0, 0);
    fc_tensor *e = fc_flip(x, FC_ALL_DIMS); /* no dims: a copy */
    FCT_CLOSE(e, x, 0, 0);
}

FCT_TEST(test_flip_rejects_repeated_dim) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3));
    FCT_NULL(fc_flip(x, FC_DIMS(1, -1)));
    FCT_ERROR(FC_ERR_ARG, "flip: dim 1 appears twice in [1, -1]");
    FCT_NULL(fc_flip(x, FC_DIMS(2)));
    FCT_ERROR(FC_ERR_ARG, "flip");
}

static fc_tensor *pad_fn(fc_tensor **in, void *ctx) {
    (void)ctx;
    fc_tensor *p = fc_pad(fc_transpose(in[0], 0, 1), FC_SHAPE(2, -1, -1, 1), 0.25);
    return fc_mul(p, fc_flip(p, FC_DIMS(0, 1)));
}

FCT_TEST(test_pad_flip_gradcheck) {
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(3, 4), 1));
    FCT_EQ_INT(FCT_GRADCHECK(pad_fn, NULL, 1, &x), 0);
    fc_tensor_free(x);
}
