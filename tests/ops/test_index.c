/* index_select, gather and scatter_add against PyTorch (i64 and i32 indices, repeated indices,
 * non-contiguous inputs); gradchecks; out-of-range and shape errors. */
#include "fct.h"

FCT_TEST(test_index_select_strided_repeated_matches_pytorch) {
    fct_fixture fx = fct_load("ops/index_select_dim0");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x")), *idx = fct_get(&fx, "index");
    if (!x || !idx) return fct_fixture_free(&fx);
    fc_tensor *y = fc_index_select(fc_permute(x, FC_DIMS(1, 2, 0)), 0, idx);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-6, 1e-6);
    fct_fixture_free(&fx);
}

FCT_TEST(test_index_select_i32_last_dim_matches_pytorch) {
    fct_fixture fx = fct_load("ops/index_select_i32");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x")), *idx = fct_get(&fx, "index");
    if (!x || !idx) return fct_fixture_free(&fx);
    FCT_EQ_INT(fc_tensor_dtype(idx), FC_DTYPE_I32);
    fc_tensor *y = fc_index_select(x, -1, idx);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-6, 1e-6);
    fct_fixture_free(&fx);
}

FCT_TEST(test_gather_strided_matches_pytorch) {
    fct_fixture fx = fct_load("ops/gather_dim1");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x")), *idx = fct_get(&fx, "index");
    if (!x || !idx) return fct_fixture_free(&fx);
    fc_tensor *y = fc_gather(fc_permute(x, FC_DIMS(1, 2, 0)), 1, idx);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-6, 1e-6);
    fct_fixture_free(&fx);
}

FCT_TEST(test_gather_i32_last_dim_matches_pytorch) {
    fct_fixture fx = fct_load("ops/gather_i32");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x")), *idx = fct_get(&fx, "index");
    if (!x || !idx) return fct_fixture_free(&fx);
    fc_tensor *y = fc_gather(x, -1, idx);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-6, 1e-6);
    fct_fixture_free(&fx);
}

FCT_TEST(test_scatter_add_repeated_matches_pytorch) {
    fct_fixture fx = fct_load("ops/scatter_add_dim0");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x")), *idx = fct_get(&fx, "index");
    fc_tensor *src = fc_requires_grad(fct_get(&fx, "src"));
    if (!x || !idx || !src) return fct_fixture_free(&fx);
    fc_tensor *y = fc_scatter_add(x, 0, idx, src);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-6, 1e-6);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 0, 0);
    FCT_CLOSE(fc_tensor_grad(src), fct_get(&fx, "dsrc"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_scatter_add_i32_strided_matches_pytorch) {
    fct_fixture fx = fct_load("ops/scatter_add_i32");
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x")), *idx = fct_get(&fx, "index");
    fc_tensor *src = fc_requires_grad(fct_get(&fx, "src"));
    if (!x || !idx || !src) return fct_fixture_free(&fx);
    fc_tensor *y = fc_scatter_add(fc_transpose(x, 0, 1), -1, idx, src);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-6, 1e-6);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 0, 0);
    FCT_CLOSE(fc_tensor_grad(src), fct_get(&fx, "dsrc"), 0, 0);
    fct_fixture_free(&fx);
}

FCT_TEST(test_index_large_threaded) {
    /* above the threading threshold, with every row index repeated */
    fc_tensor *x = fc_reshape(fc_arange(0, 200000, 1), FC_SHAPE(2000, 100));
    fc_requires_grad(x);
    fc_tensor *idx = fc_randint(0, 2000, FC_SHAPE(3000));
    fc_tensor *y = fc_index_select(x, 0, idx);
    FCT_NEAR(fc_tensor_get(y, 2999 * 100 + 7), fc_tensor_get(idx, 2999) * 100 + 7, 0);
    FCT_OK(fc_backward(fc_sum(y, FC_ALL_DIMS, 0)));
    FCT_NEAR(fc_tensor_item(fc_sum(fc_tensor_grad(x), FC_ALL_DIMS, 0)), 300000.0, 0);
    fc_tensor *gi = fc_randint(0, 2000, FC_SHAPE(1500, 100));
    fc_tensor *g = fc_gather(x, 0, gi);
    FCT_NEAR(fc_tensor_get(g, 1499 * 100 + 3), fc_tensor_get(gi, 1499 * 100 + 3) * 100 + 3, 0);
    fc_tensor *s = fc_scatter_add(fc_zeros(FC_SHAPE(2000, 100)), 0, gi, fc_ones(FC_SHAPE(1500, 100)));
    FCT_NEAR(fc_tensor_item(fc_sum(s, FC_ALL_DIMS, 0)), 150000.0, 0);
}

FCT_TEST(test_index_rejects_out_of_range) {
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 3));
    int64_t iv[] = {0, 4, 1};
    fc_tensor *idx = fc_from_data(iv, FC_SHAPE(3), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_index_select(x, 0, idx));
    FCT_ERROR(FC_ERR_ARG, "index_select: index 4 at position [1] is out of range for dim 0 of size 4");
    int32_t gv[] = {0, 1, 2, -1};
    fc_tensor *gi = fc_from_data(gv, FC_SHAPE(2, 2), .dtype = FC_DTYPE_I32);
    FCT_NULL(fc_gather(x, -1, gi));
    FCT_ERROR(FC_ERR_ARG, "gather: index -1 at position [1, 1] is out of range for dim 1 of size 3");
    FCT_NULL(fc_scatter_add(x, 1, gi, fc_ones(FC_SHAPE(2, 2))));
    FCT_ERROR(FC_ERR_ARG, "scatter_add: index -1 at position [1, 1]");
}

FCT_TEST(test_index_rejects_bad_shapes_and_dtypes) {
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 3));
    FCT_NULL(fc_index_select(x, 0, fc_zeros(FC_SHAPE(2))));
    FCT_ERROR(FC_ERR_DTYPE, "index_select: expected index of dtype i64 or i32, found f32");
    FCT_NULL(fc_index_select(x, 0, fc_zeros(FC_SHAPE(2, 2), .dtype = FC_DTYPE_I64)));
    FCT_ERROR(FC_ERR_SHAPE, "expected a 1-dim index, found shape [2, 2]");
    FCT_NULL(fc_gather(x, 0, fc_zeros(FC_SHAPE(2), .dtype = FC_DTYPE_I64)));
    FCT_ERROR(FC_ERR_SHAPE, "gather: expected index with as many dims as x [4, 3], found index [2]");
    FCT_NULL(fc_gather(x, 0, fc_zeros(FC_SHAPE(2, 5), .dtype = FC_DTYPE_I64)));
    FCT_ERROR(FC_ERR_SHAPE, "gather: expected index.size(1) <= x.size(1)");
    FCT_NULL(fc_scatter_add(x, 0, fc_zeros(FC_SHAPE(2, 3), .dtype = FC_DTYPE_I64),
                            fc_zeros(FC_SHAPE(2, 2))));
    FCT_ERROR(FC_ERR_SHAPE, "scatter_add: expected index.size(1) <= src.size(1)");
    FCT_NULL(fc_gather(x, 2, fc_zeros(FC_SHAPE(2, 2), .dtype = FC_DTYPE_I64)));
    FCT_ERROR(FC_ERR_ARG, "gather");
}

static fc_tensor *index_fn(fc_tensor **in, void *ctx) {
    fc_tensor **idx = ctx;
    fc_tensor *a = fc_index_select(fc_transpose(in[0], 0, 1), 1, idx[0]); /* [4, 5] */
    fc_tensor *b = fc_gather(in[0], 1, idx[1]);                           /* [3, 4] */
    fc_tensor *c = fc_scatter_add(in[1], 0, idx[2], in[2]);               /* [3, 4] */
    return fc_add(fc_sum(a, FC_DIMS(1), 0), fc_sum(fc_mul(b, c), FC_DIMS(0), 0));
}

FCT_TEST(test_index_gradcheck) {
    int64_t sv[] = {2, 0, 2, 1, 2};
    int32_t gv[] = {0, 3, 3, 1, 2, 2, 0, 0, 1, 3, 1, 1};
    int64_t cv[] = {0, 2, 2, 1, 1, 2, 0, 0};
    fc_tensor *idx[3] = {fc_keep(fc_from_data(sv, FC_SHAPE(5), .dtype = FC_DTYPE_I64)),
                         fc_keep(fc_from_data(gv, FC_SHAPE(3, 4), .dtype = FC_DTYPE_I32)),
                         fc_keep(fc_from_data(cv, FC_SHAPE(2, 4), .dtype = FC_DTYPE_I64))};
    fc_tensor *in[3] = {fc_requires_grad(fct_randn(FC_SHAPE(3, 4), 1)),
                        fc_requires_grad(fct_randn(FC_SHAPE(3, 4), 2)),
                        fc_requires_grad(fct_randn(FC_SHAPE(2, 5), 3))};
    FCT_EQ_INT(FCT_GRADCHECK(index_fn, idx, 3, in), 0);
    for (int i = 0; i < 3; i++) {
        fc_tensor_free(in[i]);
        fc_tensor_free(idx[i]);
    }
}

FCT_TEST(test_index_select_copies_integer_labels) {
    int64_t v[5] = {10, 11, 12, 13, 14}, i[3] = {4, 0, 4};
    fc_tensor *y = fc_index_select(fc_from_data(v, FC_SHAPE(5), .dtype = FC_DTYPE_I64), 0,
                                   fc_from_data(i, FC_SHAPE(3), .dtype = FC_DTYPE_I64));
    FCT_EQ_INT(fc_tensor_dtype(y), FC_DTYPE_I64);
    FCT_EQ_INT(fc_tensor_get(y, 0), 14);
    FCT_EQ_INT(fc_tensor_get(y, 1), 10);
    FCT_EQ_INT(fc_tensor_get(y, 2), 14);
}
