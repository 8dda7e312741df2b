/* embedding against PyTorch fixtures (gen_norm.py): padding_idx, repeated indices, i32 indices,
 * a non-contiguous index tensor; a gradcheck; errors naming the bad index. */
#include "fct.h"

static void check_embedding(const char *name, int64_t padding_idx) {
    fct_fixture f = fct_load(name);
    fc_tensor *w = fc_requires_grad(fct_get(&f, "w")), *idx = fct_get(&f, "idx");
    if (!w || !idx) return fct_fixture_free(&f);
    fc_tensor *y = fc_embedding(w, idx, padding_idx);
    FCT_CLOSE(y, fct_get(&f, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&f, "dy")));
    FCT_CLOSE(fc_tensor_grad(w), fct_get(&f, "dw"), 1e-6, 1e-6);
    fct_fixture_free(&f);
}

FCT_TEST(test_embedding_matches_pytorch) {
    check_embedding("ops/embedding_pad", 2);
    check_embedding("ops/embedding_i32", -1);
}

FCT_TEST(test_embedding_takes_strided_indices) {
    fct_fixture f = fct_load("ops/embedding_pad");
    fc_tensor *w = fct_get(&f, "w"), *idx = fct_get(&f, "idx");
    if (!w || !idx) return fct_fixture_free(&f);
    fc_tensor *y = fc_embedding(w, fc_transpose(idx, 0, 1), -1);
    FCT_CLOSE(y, fc_transpose(fct_get(&f, "y"), 0, 1), 0, 0);
    fct_fixture_free(&f);
}

/* no padding_idx: a padding row has a real derivative that embedding deliberately drops */
static fc_tensor *emb(fc_tensor **in, void *ctx) { return fc_embedding(in[0], ctx, -1); }

FCT_TEST(test_embedding_gradcheck) {
    int64_t ids[6] = {0, 1, 3, 3, 2, 0};
    fc_tensor *idx = fc_from_data(ids, FC_SHAPE(2, 3), .dtype = FC_DTYPE_I64);
    fc_tensor *w = fc_requires_grad(fct_randn(FC_SHAPE(4, 5), 1));
    FCT_EQ_INT(FCT_GRADCHECK(emb, idx, 1, &w), 0);
    fc_tensor_free(w);
}

FCT_TEST(test_embedding_large_repeated_indices) {
    /* many rows into few: the threaded backward must add every one */
    fc_tensor *w = fc_requires_grad(fc_zeros(FC_SHAPE(3, 256)));
    fc_tensor *idx = fc_randint(0, 3, FC_SHAPE(1000));
    fc_tensor *y = fc_embedding(w, idx, 0);
    FCT_OK(fc_backward_with(y, fc_ones(FC_SHAPE(1000, 256))));
    int64_t count[3] = {0};
    for (int i = 0; i < 1000; i++) count[(int)fc_tensor_get(idx, i)]++;
    fc_tensor *g = fc_tensor_grad(w);
    FCT_NOTNULL(g);
    for (int r = 0; g && r < 3; r++)
        for (int j = 0; j < 256; j += 51)
            FCT_NEAR(fc_tensor_get(g, r * 256 + j), r == 0 ? 0.0 : (double)count[r], 0);
    fc_tensor_free(w);
}

FCT_TEST(test_embedding_rejects_out_of_range_index) {
    fc_tensor *w = fc_zeros(FC_SHAPE(5, 2));
    int64_t ids[4] = {0, 4, 7, 1};
    FCT_NULL(fc_embedding(w, fc_from_data(ids, FC_SHAPE(2, 2), .dtype = FC_DTYPE_I64), -1));
    FCT_ERROR(FC_ERR_ARG, "embedding: index 7 at position [1, 0] of idx [2, 2] is out of range for "
                          "weight with 5 rows (expected 0 <= index < 5)");
    int32_t neg[2] = {1, -1};
    FCT_NULL(fc_embedding(w, fc_from_data(neg, FC_SHAPE(2), .dtype = FC_DTYPE_I32), -1));
    FCT_ERROR(FC_ERR_ARG, "index -1 at position [1] of idx [2]");
}

FCT_TEST(test_embedding_rejects_bad_arguments) {
    fc_tensor *w = fc_zeros(FC_SHAPE(5, 2)), *idx = fc_zeros(FC_SHAPE(3), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_embedding(w, fc_zeros(FC_SHAPE(3)), -1));
    FCT_ERROR(FC_ERR_DTYPE, "embedding: expected idx of dtype i64 or i32, found f32");
    FCT_NULL(fc_embedding(fc_zeros(FC_SHAPE(5)), idx, -1));
    FCT_ERROR(FC_ERR_SHAPE, "embedding: expected weight [V, D] with 2 dims, found 1");
    FCT_NULL(fc_embedding(w, idx, 5));
    FCT_ERROR(FC_ERR_ARG, "embedding: expected padding_idx -1 (none) or in [0, 5), found 5");
    FCT_NULL(fc_embedding(NULL, idx, -1));
    FCT_NULL(fc_embedding(w, NULL, -1));
}
