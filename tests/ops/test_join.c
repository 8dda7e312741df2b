/* cat, stack and split against PyTorch; gradchecks; error messages. */
#include "fct.h"

FCT_TEST(test_cat_neg_dim_strided_matches_pytorch) {
    fct_fixture fx = fct_load("ops/cat_neg_dim");
    fc_tensor *a = fc_requires_grad(fct_get(&fx, "a")), *b = fc_requires_grad(fct_get(&fx, "b"));
    fc_tensor *c = fc_requires_grad(fct_get(&fx, "c"));
    if (!a || !b || !c) return fct_fixture_free(&fx);
    fc_tensor *bp = fc_permute(b, FC_DIMS(1, 2, 0));
    FCT_TRUE(!fc_tensor_is_contiguous(bp));
    fc_tensor *y = fc_cat(FC_TENSORS(a, bp, c), -2);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(a), fct_get(&fx, "da"), 0, 0);
    FCT_CLOSE(fc_tensor_grad(b), fct_get(&fx, "db"), 0, 0);
    FCT_CLOSE(fc_tensor_grad(c), fct_get(&fx, "dc"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_cat_last_dim_matches_pytorch) {
    fct_fixture fx = fct_load("ops/cat_last");
    fc_tensor *a = fc_requires_grad(fct_get(&fx, "a")), *b = fc_requires_grad(fct_get(&fx, "b"));
    if (!a || !b) return fct_fixture_free(&fx);
    fc_tensor *y = fc_cat(FC_TENSORS(a, b), 1);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(a), fct_get(&fx, "da"), 0, 0);
    FCT_CLOSE(fc_tensor_grad(b), fct_get(&fx, "db"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_cat_only_some_inputs_need_grad) {
    fc_tensor *a = fc_requires_grad(fct_randn(FC_SHAPE(2, 3), 1));
    fc_tensor *b = fc_ones(FC_SHAPE(1, 3));
    fc_tensor *y = fc_cat(FC_TENSORS(b, a, b), 0);
    FCT_EQ_INT(fc_tensor_dim(y, 0), 4);
    FCT_OK(fc_backward(fc_sum(y, FC_ALL_DIMS, 0)));
    FCT_NEAR(fc_tensor_item(fc_sum(fc_tensor_grad(a), FC_ALL_DIMS, 0)), 6.0, 0);
    fc_tensor_free(a);
}

FCT_TEST(test_cat_large_is_exact) {
    /* big enough for the threaded copy */
    fc_tensor *a = fc_arange(0, 300000, 1), *b = fc_arange(300000, 400000, 1);
    fc_tensor *y = fc_cat(FC_TENSORS(fc_reshape(a, FC_SHAPE(3000, 100)),
                                     fc_reshape(b, FC_SHAPE(1000, 100))), 0);
    fc_tensor *t = fc_cat(FC_TENSORS(fc_reshape(a, FC_SHAPE(100, 3000)),
                                     fc_reshape(b, FC_SHAPE(100, 1000))), -1);
    FCT_NEAR(fc_tensor_get(y, 399999), 399999.0, 0);
    FCT_NEAR(fc_tensor_get(y, 123456), 123456.0, 0);
    FCT_NEAR(fc_tensor_get(t, 3999), 300000.0 + 999, 0);
    FCT_NEAR(fc_tensor_get(t, 4000 + 2999), 5999.0, 0);
}

FCT_TEST(test_cat_i64) {
    int64_t av[] = {1, 2}, bv[] = {3};
    fc_tensor *y = fc_cat(FC_TENSORS(fc_from_data(av, FC_SHAPE(2), .dtype = FC_DTYPE_I64),
                                     fc_from_data(bv, FC_SHAPE(1), .dtype = FC_DTYPE_I64)), 0);
    FCT_EQ_INT(fc_tensor_dtype(y), FC_DTYPE_I64);
    FCT_NEAR(fc_tensor_get(y, 2), 3.0, 0);
}

FCT_TEST(test_cat_rejects_shape_mismatch) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2, 3)), *b = fc_zeros(FC_SHAPE(2, 3)), *c = fc_zeros(FC_SHAPE(3, 3));
    FCT_NULL(fc_cat(FC_TENSORS(a, b, c), 1));
    FCT_ERROR(FC_ERR_SHAPE, "cat: expected input 2 to match input 0's shape [2, 3] except on dim 1, "
                            "found [3, 3]");
    FCT_NULL(fc_cat(FC_TENSORS(a, fc_zeros(FC_SHAPE(2, 3, 1))), 0));
    FCT_ERROR(FC_ERR_SHAPE, "found [2, 3, 1]");
    FCT_NULL(fc_cat(FC_TENSORS(a, b), 2));
    FCT_ERROR(FC_ERR_ARG, "cat");
    FCT_NULL(fc_cat(FC_TENSORS(a, fc_zeros(FC_SHAPE(2, 3), .dtype = FC_DTYPE_I64)), 0));
    FCT_ERROR(FC_ERR_DTYPE, "cat: expected input 1 of dtype f32");
    FCT_NULL(fc_cat(FC_TENSORS(a, NULL), 0));
    fc_error_clear();
}

FCT_TEST(test_stack_matches_pytorch) {
    fct_fixture fx = fct_load("ops/stack_last");
    fc_tensor *a = fc_requires_grad(fct_get(&fx, "a")), *b = fc_requires_grad(fct_get(&fx, "b"));
    if (!a || !b) return fct_fixture_free(&fx);
    fc_tensor *y = fc_stack(FC_TENSORS(a, fc_transpose(b, 0, 1)), -1);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(a), fct_get(&fx, "da"), 0, 0);
    FCT_CLOSE(fc_tensor_grad(b), fct_get(&fx, "db"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_stack_rejects_shape_mismatch) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2, 3)), *b = fc_zeros(FC_SHAPE(3, 2));
    FCT_NULL(fc_stack(FC_TENSORS(a, b), 0));
    FCT_ERROR(FC_ERR_SHAPE, "stack: expected input 1 to have input 0's shape [2, 3], found [3, 2]");
    FCT_NULL(fc_stack(FC_TENSORS(a, a), 3));
    FCT_ERROR(FC_ERR_ARG, "stack");
}

FCT_TEST(test_split_matches_pytorch) {
    fct_fixture fx = fct_load("ops/split_last");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *ch[4];
    FCT_EQ_INT(fc_split(x, 3, -1, ch, 4), 3);
    FCT_EQ_INT(fc_tensor_dim(ch[2], 1), 1);
    FCT_TRUE(fc_tensor_data(ch[1]) == fc_tensor_data_f32(x) + 3); /* views */
    fc_tensor *y = fc_cat(FC_TENSORS(ch[0], fc_mul_scalar(ch[1], 2), fc_mul_scalar(ch[2], 3)), -1);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_split_rejects_small_output_and_bad_size) {
    fc_tensor *x = fc_zeros(FC_SHAPE(9, 2)), *out[2];
    FCT_EQ_INT(fc_split(x, 4, 0, out, 2), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "split: 3 chunks of size 4 along dim 0 of shape [9, 2] do not fit in an "
                          "output array of 2");
    FCT_EQ_INT(fc_split(x, 0, 0, out, 2), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "expected split_size > 0, found 0");
    FCT_EQ_INT(fc_split(x, 1, 2, out, 2), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "split");
    FCT_EQ_INT(fc_split(x, 5, 0, out, 2), 2);
    FCT_EQ_INT(fc_tensor_dim(out[1], 0), 4);
}

static fc_tensor *cat_fn(fc_tensor **in, void *ctx) {
    (void)ctx;
    return fc_cat(FC_TENSORS(in[0], fc_transpose(in[1], 0, 1), in[0]), -1);
}
static fc_tensor *stack_fn(fc_tensor **in, void *ctx) {
    (void)ctx;
    return fc_stack(FC_TENSORS(in[0], in[1]), 1);
}
static fc_tensor *split_fn(fc_tensor **in, void *ctx) {
    (void)ctx;
    fc_tensor *ch[3];
    if (fc_split(in[0], 2, 1, ch, 3) != 3) return NULL;
    return fc_cat(FC_TENSORS(fc_mul(ch[0], ch[1]), ch[2]), 1);
}

FCT_TEST(test_join_gradcheck) {
    fc_tensor *in[2] = {fc_requires_grad(fct_randn(FC_SHAPE(3, 2), 1)),
                        fc_requires_grad(fct_randn(FC_SHAPE(4, 3), 2))};
    FCT_EQ_INT(FCT_GRADCHECK(cat_fn, NULL, 2, in), 0);
    fc_tensor_free(in[1]);
    in[1] = fc_requires_grad(fct_randn(FC_SHAPE(3, 2), 3));
    FCT_EQ_INT(FCT_GRADCHECK(stack_fn, NULL, 2, in), 0);
    fc_tensor_free(in[0]);
    fc_tensor_free(in[1]);
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(2, 6), 4));
    FCT_EQ_INT(FCT_GRADCHECK(split_fn, NULL, 1, &x), 0);
    fc_tensor_free(x);
}

FCT_TEST(test_cat_many_inputs_with_grad) {
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(2, 3), 5));
    fc_tensor *t[12];
    for (int i = 0; i < 12; i++) t[i] = fc_mul_scalar(x, i + 1);
    fc_tensor *y = fc_cat((fc_tensor_list){12, t}, 0);
    FCT_EQ_INT(fc_tensor_dim(y, 0), 24);
    FCT_OK(fc_backward(fc_sum(y, FC_ALL_DIMS, 0)));
    FCT_NEAR(fc_tensor_get(fc_tensor_grad(x), 4), 78.0, 1e-5);
    fc_tensor_free(x);
}

FCT_TEST(test_join_passes_null_on) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3));
    FCT_NULL(fc_stack(FC_TENSORS(x, fc_reshape(x, FC_SHAPE(7))), 0));
    FCT_ERROR(FC_ERR_SHAPE, "reshape");
    FCT_NULL(fc_index_select(NULL, 0, NULL));
    FCT_NULL(fc_pad(NULL, FC_SHAPE(1, 1), 0));
    FCT_EQ_INT(fc_error_code(), FC_OK);
}
