/* conv2d and conv_transpose2d against PyTorch fixtures (tests/fixtures/gen_conv.py), gradchecks
 * and error messages. Tolerance: oneDNN sums in a different order than PyTorch (blocked layouts,
 * possibly Winograd or a GEMM with another K split), so results agree to float rounding of sums
 * of a few dozen terms of order 1: atol 1e-4, rtol 1e-4 leaves ~10x headroom over what we see. */
#include <string.h>

#include "fct.h"

#define ATOL 1e-4
#define RTOL 1e-4

static void check_conv(const char *name, int transposed, const fc_conv2d_opts *o, int nhwc) {
    fct_fixture f = fct_load(name);
    fc_tensor *x = fct_get(&f, "x"), *w = fct_get(&f, "w");
    if (!x || !w) return fct_fixture_free(&f);
    fc_tensor *b = NULL;
    for (int i = 0; i < f.n; i++)
        if (!strcmp(f.names[i], "b")) b = fc_requires_grad(f.t[i]);
    fc_requires_grad(x);
    fc_requires_grad(w);
    fc_tensor *xin = nhwc ? fc_permute(x, FC_DIMS(0, 3, 1, 2)) : x;
    fc_tensor *y = transposed ? fc_conv_transpose2d_(xin, w, b, o) : fc_conv2d_(xin, w, b, o);
    FCT_CLOSE(y, fct_get(&f, "y"), ATOL, RTOL);
    FCT_OK(fc_backward_with(y, fct_get(&f, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&f, "dx"), ATOL, RTOL);
    FCT_CLOSE(fc_tensor_grad(w), fct_get(&f, "dw"), ATOL, RTOL);
    if (b) FCT_CLOSE(fc_tensor_grad(b), fct_get(&f, "db"), ATOL, RTOL);
    fct_fixture_free(&f);
}

FCT_TEST(test_conv2d_matches_pytorch) {
    check_conv("ops/conv_basic", 0, &(fc_conv2d_opts){.padding = {1, 1}}, 0);
    check_conv("ops/conv_stride2", 0, &(fc_conv2d_opts){.stride = {2, 2}, .padding = {1, 1}}, 0);
    check_conv("ops/conv_dilation", 0,
               &(fc_conv2d_opts){.stride = {1, 2}, .padding = {2, 1}, .dilation = {2, 1}}, 0);
    check_conv("ops/conv_groups", 0, &(fc_conv2d_opts){.groups = 2}, 0);
    check_conv("ops/conv_depthwise", 0,
               &(fc_conv2d_opts){.stride = {2, 2}, .padding = {1, 1}, .groups = 4}, 0);
}

FCT_TEST(test_conv2d_non_contiguous_input_matches_pytorch) {
    check_conv("ops/conv_strided", 0, &(fc_conv2d_opts){.padding = {0, 1}}, 1);
}

FCT_TEST(test_conv_transpose2d_matches_pytorch) {
    check_conv("ops/convt_basic", 1,
               &(fc_conv2d_opts){.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}}, 0);
    check_conv("ops/convt_groups", 1,
               &(fc_conv2d_opts){.stride = {2, 2}, .dilation = {2, 2}, .groups = 2,
                                 .output_padding = {1, 1}}, 0);
}

static fc_tensor *conv_fn(fc_tensor **in, void *ctx) {
    return fc_conv2d(in[0], in[1], in[2], .stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2},
                     .groups = 2);
}
static fc_tensor *convt_fn(fc_tensor **in, void *ctx) {
    return fc_conv_transpose2d(in[0], in[1], in[2], .stride = {2, 2}, .padding = {1, 0},
                               .output_padding = {1, 0});
}

FCT_TEST(test_conv2d_gradcheck) {
    fc_tensor *in[3] = {fc_requires_grad(fct_randn(FC_SHAPE(2, 4, 5, 6), 1)),
                        fc_requires_grad(fct_randn(FC_SHAPE(4, 2, 3, 2), 2)),
                        fc_requires_grad(fct_randn(FC_SHAPE(4), 3))};
    FCT_EQ_INT(FCT_GRADCHECK(conv_fn, NULL, 3, in), 0);
    for (int i = 0; i < 3; i++) fc_tensor_free(in[i]);
}

FCT_TEST(test_conv_transpose2d_gradcheck) {
    fc_tensor *in[3] = {fc_requires_grad(fct_randn(FC_SHAPE(2, 3, 4, 3), 4)),
                        fc_requires_grad(fct_randn(FC_SHAPE(3, 2, 3, 3), 5)),
                        fc_requires_grad(fct_randn(FC_SHAPE(2), 6))};
    FCT_EQ_INT(FCT_GRADCHECK(convt_fn, NULL, 3, in), 0);
    for (int i = 0; i < 3; i++) fc_tensor_free(in[i]);
}

FCT_TEST(test_conv2d_sums_its_window) {
    fc_tensor *x = fc_ones(FC_SHAPE(1, 1, 3, 3)), *w = fc_ones(FC_SHAPE(1, 1, 3, 3));
    fc_tensor *y = fc_conv2d(x, w, NULL);
    FCT_NEAR(fc_tensor_item(y), 9.0, 1e-6);
}

FCT_TEST(test_conv2d_rejects_channel_mismatch) {
    fc_tensor *x = fc_zeros(FC_SHAPE(32, 1, 24, 24)), *w = fc_zeros(FC_SHAPE(64, 3, 7, 7));
    FCT_NULL(fc_conv2d(x, w, NULL));
    FCT_ERROR(FC_ERR_SHAPE, "conv2d: expected input with 3 channels (weight [64, 3, 7, 7]), found 1 "
                            "(input [32, 1, 24, 24])");
}

FCT_TEST(test_conv2d_rejects_kernel_larger_than_padded_input) {
    fc_tensor *x = fc_zeros(FC_SHAPE(1, 3, 4, 4)), *w = fc_zeros(FC_SHAPE(8, 3, 7, 7));
    FCT_NULL(fc_conv2d(x, w, NULL, .padding = {1, 1}));
    FCT_ERROR(FC_ERR_SHAPE, "conv2d: kernel 7x7 (dilated 7x7) is larger than the padded input 6x6");
}

FCT_TEST(test_conv2d_rejects_groups_not_dividing_channels) {
    fc_tensor *x = fc_zeros(FC_SHAPE(1, 6, 4, 4)), *w = fc_zeros(FC_SHAPE(8, 2, 3, 3));
    FCT_NULL(fc_conv2d(x, w, NULL, .groups = 4));
    FCT_ERROR(FC_ERR_SHAPE, "conv2d: groups 4 must divide the input channels and output channels");
}

FCT_TEST(test_conv2d_rejects_bad_bias_and_options) {
    fc_tensor *x = fc_zeros(FC_SHAPE(1, 3, 4, 4)), *w = fc_zeros(FC_SHAPE(8, 3, 3, 3));
    fc_tensor *b = fc_zeros(FC_SHAPE(5));
    FCT_NULL(fc_conv2d(x, w, b));
    FCT_ERROR(FC_ERR_SHAPE, "conv2d: expected bias of shape [8], found [5]");
    FCT_NULL(fc_conv2d(x, w, NULL, .stride = {-1, 1}));
    FCT_ERROR(FC_ERR_ARG, "conv2d: expected stride >= 1");
    FCT_NULL(fc_conv_transpose2d(x, fc_zeros(FC_SHAPE(3, 2, 3, 3)), NULL, .output_padding = {1, 1}));
    FCT_ERROR(FC_ERR_ARG, "conv_transpose2d: expected output_padding smaller than stride or dilation");
    FCT_NULL(fc_conv2d(fc_zeros(FC_SHAPE(3, 4, 4)), w, NULL));
    FCT_ERROR(FC_ERR_SHAPE, "conv2d: expected input [N, C, H, W] with 4 dims, found 3");
    FCT_NULL(fc_conv2d(NULL, w, NULL));
}

FCT_TEST(test_conv2d_weight_grad_only_matches_pytorch) {
    fct_fixture f = fct_load("ops/conv_basic");
    fc_tensor *x = fct_get(&f, "x"), *w = fct_get(&f, "w"), *b = fct_get(&f, "b");
    if (!x || !w || !b) return fct_fixture_free(&f);
    fc_requires_grad(w); /* x and b stay constants: only the weight pass runs */
    FCT_OK(fc_backward_with(fc_conv2d(x, w, b, .padding = {1, 1}), fct_get(&f, "dy")));
    FCT_CLOSE(fc_tensor_grad(w), fct_get(&f, "dw"), ATOL, RTOL);
    FCT_TRUE(fc_tensor_grad(x) == NULL && fc_tensor_grad(b) == NULL);
    fct_fixture_free(&f);
}

FCT_TEST(test_conv_transpose2d_rejects_channel_mismatch) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 5, 4, 4)), *w = fc_zeros(FC_SHAPE(4, 3, 3, 3));
    FCT_NULL(fc_conv_transpose2d(x, w, NULL));
    FCT_ERROR(FC_ERR_SHAPE, "conv_transpose2d: expected input with 4 channels (weight [4, 3, 3, 3]), "
                            "found 5 (input [2, 5, 4, 4])");
}
