/* pow, maximum, minimum, where and comparisons against PyTorch fixtures (broadcasting and a
 * transposed input), gradchecks away from ties and error paths. */
#include "binary_check.h"

FCT_TEST(test_pow_matches_pytorch) {
    check_binary("ops/pow_bcast", fc_pow, 0);
    check_binary("ops/pow_strided", fc_pow, 1);
}
/* the fixtures hold values rounded to 0.5, so many pairs tie and split the gradient */
FCT_TEST(test_maximum_matches_pytorch_with_ties) {
    check_binary("ops/maximum_bcast", fc_maximum, 0);
    check_binary("ops/maximum_strided", fc_maximum, 1);
}
FCT_TEST(test_minimum_matches_pytorch_with_ties) {
    check_binary("ops/minimum_bcast", fc_minimum, 0);
    check_binary("ops/minimum_strided", fc_minimum, 1);
}

FCT_TEST(test_pow_maximum_minimum_gradcheck) {
    binop ops[] = {fc_pow, fc_maximum, fc_minimum};
    for (int k = 0; k < 3; k++) {
        fc_tensor *in[2] = {fc_requires_grad(fct_randn(FC_SHAPE(3, 1, 4), 1)),
                            fc_requires_grad(fct_randn(FC_SHAPE(2, 4), 2))};
        float *a = fc_tensor_data(in[0]), *b = fc_tensor_data(in[1]);
        for (int i = 0; i < 12; i++) {
            if (k == 0) a[i] = fabsf(a[i]) + 0.5f;  /* pow: positive base */
            else a[i] = 0.5f * (float)(i % 5) - 1.1f; /* max/min: a on a grid ... */
        }
        if (k > 0)
            for (int i = 0; i < 8; i++) b[i] = 0.5f * (float)(i % 4) - 0.85f; /* ... b between */
        FCT_EQ_INT(FCT_GRADCHECK(call2, (void *)ops[k], 2, in), 0);
        fc_tensor_free(in[0]);
        fc_tensor_free(in[1]);
    }
}

FCT_TEST(test_pow_exponent_grad_is_zero_at_zero_base) {
    float av[2] = {0.0f, 0.0f}, bv[2] = {2.0f, 0.0f};
    fc_tensor *a = fc_requires_grad(fc_from_data(av, FC_SHAPE(2)));
    fc_tensor *b = fc_requires_grad(fc_from_data(bv, FC_SHAPE(2)));
    FCT_OK(fc_backward_with(fc_pow(a, b), fc_ones(FC_SHAPE(2))));
    FCT_CLOSE(fc_tensor_grad(a), fc_zeros(FC_SHAPE(2)), 0, 0); /* 2*0^1 and (b == 0) */
    FCT_CLOSE(fc_tensor_grad(b), fc_zeros(FC_SHAPE(2)), 0, 0); /* not 0 * log 0 = nan */
}

static void check_where(const char *fixture, int strided) {
    fct_fixture fx = fct_load(fixture);
    fc_tensor *c = fct_get(&fx, "cond"), *a = fct_get(&fx, "a"), *b = fct_get(&fx, "b");
    if (!c || !a || !b) return fct_fixture_free(&fx);
    fc_requires_grad(a);
    fc_requires_grad(b);
    fc_tensor *y = fc_where(c, strided ? fc_transpose(a, 0, 1) : a, b);
    FCT_CLOSE(y, fct_get(&fx, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(a), fct_get(&fx, "da"), 1e-6, 1e-5);
    FCT_CLOSE(fc_tensor_grad(b), fct_get(&fx, "db"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_where_matches_pytorch) {
    check_where("ops/where_bcast", 0);   /* bool cond [4], a [3,1,4], b [2,4] */
    check_where("ops/where_strided", 1); /* u8 cond [3,1], a [5,3]^T, b [5] */
}

static fc_tensor *where_call(fc_tensor **in, void *ctx) { return fc_where(ctx, in[0], in[1]); }

FCT_TEST(test_where_gradcheck) {
    uint8_t cv[4] = {1, 0, 0, 1};
    fc_tensor *cond = fc_from_data(cv, FC_SHAPE(4), .dtype = FC_DTYPE_BOOL);
    fc_tensor *in[2] = {fc_requires_grad(fct_randn(FC_SHAPE(3, 1, 4), 3)),
                        fc_requires_grad(fct_randn(FC_SHAPE(2, 4), 4))};
    FCT_EQ_INT(FCT_GRADCHECK(where_call, cond, 2, in), 0);
    fc_tensor_free(in[0]);
    fc_tensor_free(in[1]);
}

FCT_TEST(test_comparisons_match_pytorch) {
    binop ops[] = {fc_eq, fc_ne, fc_lt, fc_le, fc_gt, fc_ge};
    const char *names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    fct_fixture fx = fct_load("ops/compare");
    fc_tensor *a = fct_get(&fx, "a"), *b = fct_get(&fx, "b");
    fc_tensor *a2 = fct_get(&fx, "a2"), *b2 = fct_get(&fx, "b2");
    if (!a || !b || !a2 || !b2) return fct_fixture_free(&fx);
    fc_requires_grad(a); /* comparisons take such inputs and record nothing */
    for (int k = 0; k < 6; k++) {
        char n2[8];
        snprintf(n2, sizeof n2, "%s2", names[k]);
        fc_tensor *y = ops[k](a, b);
        FCT_TRUE(y && fc_tensor_dtype(y) == FC_DTYPE_BOOL && !fc_tensor_requires_grad(y));
        FCT_CLOSE(y, fct_get(&fx, names[k]), 0, 0);
        FCT_CLOSE(ops[k](fc_transpose(a2, 0, 1), b2), fct_get(&fx, n2), 0, 0);
    }
    fct_fixture_free(&fx);
}

FCT_TEST(test_comparisons_on_int64) {
    int64_t av[3] = {1, 5, -2}, bv[1] = {1};
    fc_tensor *a = fc_from_data(av, FC_SHAPE(3), .dtype = FC_DTYPE_I64);
    fc_tensor *b = fc_from_data(bv, FC_SHAPE(1), .dtype = FC_DTYPE_I64);
    uint8_t want_ge[3] = {1, 1, 0};
    FCT_CLOSE(fc_ge(a, b), fc_from_data(want_ge, FC_SHAPE(3), .dtype = FC_DTYPE_BOOL), 0, 0);
}

FCT_TEST(test_where_rejects_float_cond) {
    fc_tensor *c = fc_zeros(FC_SHAPE(2, 3)), *a = fc_zeros(FC_SHAPE(3));
    FCT_NULL(fc_where(c, a, a));
    FCT_ERROR(FC_ERR_DTYPE, "where: expected cond of dtype bool or u8, found f32 (shape [2, 3])");
}

FCT_TEST(test_where_rejects_shapes_that_do_not_broadcast) {
    fc_tensor *c = fc_zeros(FC_SHAPE(4), .dtype = FC_DTYPE_BOOL);
    fc_tensor *a = fc_zeros(FC_SHAPE(2, 3)), *b = fc_zeros(FC_SHAPE(3));
    FCT_NULL(fc_where(c, a, b));
    FCT_ERROR(FC_ERR_SHAPE, "where: shapes [4] and [2, 3] do not broadcast");
}

FCT_TEST(test_binary_reject_bad_inputs) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2, 3)), *b = fc_zeros(FC_SHAPE(4, 3));
    FCT_NULL(fc_pow(a, b));
    FCT_ERROR(FC_ERR_SHAPE, "pow: shapes [2, 3] and [4, 3] do not broadcast");
    FCT_NULL(fc_maximum(a, fc_zeros(FC_SHAPE(3), .dtype = FC_DTYPE_I64)));
    FCT_ERROR(FC_ERR_DTYPE, "maximum: expected b of dtype f32, found i64");
    FCT_NULL(fc_lt(a, b));
    FCT_ERROR(FC_ERR_SHAPE, "lt: shapes [2, 3] and [4, 3] do not broadcast");
    FCT_NULL(fc_eq(a, fc_zeros(FC_SHAPE(3), .dtype = FC_DTYPE_I32)));
    FCT_ERROR(FC_ERR_DTYPE, "eq: expected a and b of one dtype, found f32 and i32");
    FCT_NULL(fc_gt(fc_zeros(FC_SHAPE(2), .dtype = FC_DTYPE_F16), fc_zeros(FC_SHAPE(2), .dtype = FC_DTYPE_F16)));
    FCT_ERROR(FC_ERR_DTYPE, "gt: expected a of dtype f32, i32, i64, u8 or bool, found f16");
}

FCT_TEST(test_binary_pass_null_on) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2));
    FCT_NULL(fc_pow(a, NULL));
    FCT_NULL(fc_maximum(NULL, a));
    FCT_NULL(fc_minimum(a, NULL));
    FCT_NULL(fc_where(NULL, a, a));
    FCT_NULL(fc_eq(a, NULL));
    FCT_NULL(fc_ge(NULL, a));
    FCT_TRUE(fc_error_code() == FC_OK);
}

/* Past the threading threshold: the flat path in chunks and the row path both cover every element. */
FCT_TEST(test_where_and_compare_on_large_tensors) {
    int64_t n = 3 * 16384 + 123;
    fc_tensor *x = fc_arange(0, (double)n, 1);
    fc_tensor *half = fc_scalar((double)(n / 2));
    fc_tensor *m = fc_lt(x, half);
    fc_tensor *y = fc_where(m, x, fc_neg(x));
    double s = 0;
    for (int64_t i = 0; i < n; i += 997) s += fc_tensor_get(y, i) - (i < n / 2 ? i : -i);
    FCT_NEAR(s, 0, 0);
    FCT_NEAR(fc_tensor_get(m, n - 1), 0, 0);
    FCT_NEAR(fc_tensor_get(m, n / 2 - 1), 1, 0);
    /* rows: [n/256, 256] against a transposed view of the same values */
    fc_tensor *a = fc_reshape(fc_arange(0, 256.0 * 300, 1), FC_SHAPE(256, 300));
    fc_tensor *at = fc_transpose(a, 0, 1), *atc = fc_contiguous(at);
    fc_tensor *e = fc_eq(at, atc);
    FCT_NEAR(fc_tensor_item(fc_sum(fc_to_dtype(e, FC_DTYPE_F32), FC_ALL_DIMS, 0)), 256.0 * 300, 0);
    fc_tensor *w = fc_where(e, at, fc_zeros(FC_SHAPE(1)));
    FCT_CLOSE(w, atc, 0, 0);
    fc_tensor_free(atc);
}
