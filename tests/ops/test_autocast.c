/* Autocast: the GEMM and convolution ops inside a bf16/f16 region equal the f32 ops on inputs
 * rounded with fc_to_dtype (torch's cast), forward and backward; regions nest; outside them nothing
 * changes. The rounding kernel matches core's conversions bit for bit. */
#include <string.h>

#include "fct.h"
#include "ops/autocast_impl.h"

/* torch's autocast cast, composed from the public ops: x -> dt -> f32 (differentiable). */
static fc_tensor *cast_rt(fc_tensor *x, fc_dtype dt) {
    return x ? fc_to_dtype(fc_to_dtype(x, dt), FC_DTYPE_F32) : NULL;
}

/* Bitwise equality of two f32 tensors (NaN payloads included). */
static int same_bits(fc_tensor *a, fc_tensor *b) {
    if (!a || !b || fc_tensor_numel(a) != fc_tensor_numel(b)) return 0;
    fc_tensor *ac = fc_contiguous(a), *bc = fc_contiguous(b);
    int same = !memcmp(fc_tensor_data(ac), fc_tensor_data(bc), 4 * (size_t)fc_tensor_numel(a));
    fc_tensor_free(ac);
    fc_tensor_free(bc);
    return same;
}

static fc_tensor *special_values(int64_t n_random) {
    static const float sp[] = {0.0f, -0.0f, 1.0f, 1.00390625f /* 1 + 2^-8: tie, to even (1) */,
                               1.01171875f /* 1 + 3 * 2^-8: tie, to even (1 + 2^-6) */,
                               65504.0f, 65519.0f, 65520.0f, 70000.0f, -1e30f, 3e38f, 1e-8f,
                               -3e-8f, 6e-8f, 1e-40f, INFINITY, -INFINITY, NAN, 3.14159265f};
    int64_t n_sp = (int64_t)(sizeof sp / sizeof sp[0]);
    fc_tensor *r = fc_mul_scalar(fc_randn(FC_SHAPE(n_random)), 100.0);
    fc_tensor *s = fc_from_data(sp, FC_SHAPE(n_sp));
    return fc_cat(FC_TENSORS(s, r), 0);
}

FCT_TEST(test_round_matches_core_conversions_bit_for_bit) {
    fc_manual_seed(1);
    /* 1000 + 19: a tail the 8-wide f16 loop leaves; 200000: the threaded path */
    int64_t sizes[] = {1000, 200000};
    for (int k = 0; k < 2; k++) {
        fc_tensor *x = special_values(sizes[k]);
        fc_dtype dts[] = {FC_DTYPE_BF16, FC_DTYPE_F16};
        for (int d = 0; d < 2; d++) {
            fc_tensor *y = fci_autocast_round(x, dts[d]);
            FCT_TRUE(same_bits(y, cast_rt(x, dts[d])));
        }
    }
}

FCT_TEST(test_round_ties_to_even_and_f16_range_by_hand) {
    float v[] = {1.00390625f, 1.01171875f, 70000.0f, 65519.0f, 1e-8f};
    fc_tensor *x = fc_from_data(v, FC_SHAPE(5));
    fc_tensor *b = fci_autocast_round(x, FC_DTYPE_BF16), *h = fci_autocast_round(x, FC_DTYPE_F16);
    FCT_NEAR(fc_tensor_get(b, 0), 1.0, 0);
    FCT_NEAR(fc_tensor_get(b, 1), 1.015625, 0);
    FCT_NEAR(fc_tensor_get(b, 2), 70144.0, 0); /* bf16 keeps 8 bits: 70000 -> 137 * 512 */
    FCT_TRUE(isinf(fc_tensor_get(h, 2)));      /* beyond f16's 65504 */
    FCT_NEAR(fc_tensor_get(h, 3), 65504.0, 0);
    FCT_NEAR(fc_tensor_get(h, 4), 0.0, 0);     /* below half the smallest f16 subnormal */
}

/* ---- the ops: inside a region == the f32 op on rounded inputs (and a rounded output gradient) ---- */

typedef fc_tensor *(*op2)(fc_tensor **in);
static fc_tensor *do_linear(fc_tensor **in) { return fc_linear(in[0], in[1], in[2]); }
static fc_tensor *do_matmul(fc_tensor **in) { return fc_matmul(in[0], in[1]); }
static fc_tensor *do_bmm(fc_tensor **in) { return fc_bmm(in[0], in[1]); }
static fc_tensor *do_conv(fc_tensor **in) {
    return fc_conv2d(in[0], in[1], in[2], .stride = {2, 1}, .padding = {1, 1});
}
static fc_tensor *do_convt(fc_tensor **in) {
    return fc_conv_transpose2d(in[0], in[1], in[2], .stride = {2, 2}, .padding = {1, 0});
}

/* Runs op on n fresh leaves shaped as given, once in an autocast region of dt and once on the
 * rounded leaves outside it; outputs and every leaf's gradient must agree, the reference's output
 * gradient rounded to dt as well (torch's gradient of a 16-bit output arrives in 16 bits). */
static void check_op(const char *name, op2 op, int n, const fc_shape *shapes, fc_dtype dt) {
    fc_tensor *a[3] = {0}, *b[3] = {0}, *ra[3] = {0};
    for (int i = 0; i < n; i++) {
        a[i] = fc_keep(fc_randn(shapes[i]));
        b[i] = fc_keep(fc_clone(a[i])); /* before requires_grad: a leaf of its own */
        fc_requires_grad(a[i]);
        fc_requires_grad(b[i]);
    }
    FCT_OK(fc_autocast_begin(dt));
    fc_tensor *y = op(a);
    FCT_OK(fc_autocast_end());
    for (int i = 0; i < n; i++) ra[i] = cast_rt(b[i], dt);
    fc_tensor *want = op(ra);
    fc_no_grad_begin();
    fc_tensor *plain = op(b); /* f32: autocast must have changed something */
    fc_no_grad_end();
    if (FCT_NOTNULL(y) && FCT_NOTNULL(want)) {
        FCT_EQ_INT(fc_tensor_dtype(y), FC_DTYPE_F32);
        FCT_CLOSE(y, want, 0, 0);
        double diff = fc_tensor_item(fc_sum(fc_abs(fc_sub(y, plain)), FC_ALL_DIMS, 0));
        if (!fct_check(diff > 0, __FILE__, __LINE__, "%s: autocast output equals the f32 one", name))
            return;
        fc_tensor *dy = fc_randn(fc_tensor_shape(y));
        FCT_OK(fc_backward_with(y, dy));
        FCT_OK(fc_backward_with(want, cast_rt(dy, dt)));
        for (int i = 0; i < n; i++) {
            fc_tensor *g = fc_tensor_grad(a[i]);
            if (!fct_check(g != NULL, __FILE__, __LINE__, "%s: input %d got no gradient", name, i))
                continue;
            FCT_EQ_INT(fc_tensor_dtype(g), FC_DTYPE_F32);
            FCT_CLOSE(g, fc_tensor_grad(b[i]), 0, 0);
        }
    }
    for (int i = 0; i < n; i++) {
        fc_tensor_free(a[i]);
        fc_tensor_free(b[i]);
    }
}

FCT_TEST(test_autocast_ops_equal_f32_ops_on_rounded_inputs) {
    fc_manual_seed(2);
    fc_dtype dts[] = {FC_DTYPE_BF16, FC_DTYPE_F16};
    for (int d = 0; d < 2; d++) {
        check_op("linear", do_linear, 3, (fc_shape[]){FC_SHAPE(2, 5, 7), FC_SHAPE(4, 7), FC_SHAPE(4)},
                 dts[d]);
        check_op("matmul", do_matmul, 2, (fc_shape[]){FC_SHAPE(3, 6, 5), FC_SHAPE(5, 4)}, dts[d]);
        check_op("matmul 1-d", do_matmul, 2, (fc_shape[]){FC_SHAPE(5), FC_SHAPE(5, 4)}, dts[d]);
        check_op("bmm", do_bmm, 2, (fc_shape[]){FC_SHAPE(3, 4, 5), FC_SHAPE(3, 5, 2)}, dts[d]);
        check_op("conv2d", do_conv, 3,
                 (fc_shape[]){FC_SHAPE(2, 3, 9, 8), FC_SHAPE(4, 3, 3, 3), FC_SHAPE(4)}, dts[d]);
        check_op("conv_transpose2d", do_convt, 3,
                 (fc_shape[]){FC_SHAPE(2, 3, 5, 4), FC_SHAPE(3, 2, 3, 3), FC_SHAPE(2)}, dts[d]);
    }
}

FCT_TEST(test_autocast_nests_and_f32_region_turns_it_off) {
    fc_manual_seed(3);
    fc_tensor *x = fc_randn(FC_SHAPE(4, 8)), *w = fc_randn(FC_SHAPE(3, 8));
    fc_tensor *plain = fc_linear(x, w, NULL);
    fc_tensor *rounded = fc_linear(cast_rt(x, FC_DTYPE_BF16), cast_rt(w, FC_DTYPE_BF16), NULL);
    fc_tensor *rounded16 = fc_linear(cast_rt(x, FC_DTYPE_F16), cast_rt(w, FC_DTYPE_F16), NULL);
    FCT_EQ_INT(fc_autocast_dtype(), FC_DTYPE_F32);
    FCT_OK(fc_autocast_begin(FC_DTYPE_BF16));
    FCT_EQ_INT(fc_autocast_dtype(), FC_DTYPE_BF16);
    FCT_CLOSE(fc_linear(x, w, NULL), rounded, 0, 0);
    FCT_OK(fc_autocast_begin(FC_DTYPE_F32));
    FCT_EQ_INT(fc_autocast_dtype(), FC_DTYPE_F32);
    FCT_CLOSE(fc_linear(x, w, NULL), plain, 0, 0);
    FCT_OK(fc_autocast_begin(FC_DTYPE_F16));
    FCT_EQ_INT(fc_autocast_dtype(), FC_DTYPE_F16);
    FCT_CLOSE(fc_linear(x, w, NULL), rounded16, 0, 0);
    FCT_OK(fc_autocast_end());
    FCT_CLOSE(fc_linear(x, w, NULL), plain, 0, 0);
    FCT_OK(fc_autocast_end());
    FCT_EQ_INT(fc_autocast_dtype(), FC_DTYPE_BF16);
    FCT_CLOSE(fc_linear(x, w, NULL), rounded, 0, 0);
    FCT_OK(fc_autocast_end());
    FCT_EQ_INT(fc_autocast_dtype(), FC_DTYPE_F32);
    FCT_CLOSE(fc_linear(x, w, NULL), plain, 0, 0); /* outside: unchanged */
}

FCT_TEST(test_autocast_rejects_unbalanced_end_and_integer_dtypes) {
    FCT_EQ_INT(fc_autocast_end(), FC_ERR_STATE);
    FCT_ERROR(FC_ERR_STATE, "autocast_end: no autocast region is open");
    FCT_EQ_INT(fc_autocast_begin(FC_DTYPE_I32), FC_ERR_DTYPE);
    FCT_ERROR(FC_ERR_DTYPE, "expected bf16, f16 or f32 (a region without autocast), found i32");
    FCT_EQ_INT(fc_autocast_dtype(), FC_DTYPE_F32);
    int opened = 0;
    while (fc_autocast_begin(FC_DTYPE_BF16) == FC_OK && opened < 100) opened++;
    FCT_ERROR(FC_ERR_STATE, "regions nest at most");
    FCT_TRUE(opened >= 8 && opened < 100);
    while (opened--) FCT_OK(fc_autocast_end());
    FCT_EQ_INT(fc_autocast_dtype(), FC_DTYPE_F32);
}

FCT_TEST(test_autocast_keeps_the_ops_error_messages) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3)), *w = fc_zeros(FC_SHAPE(4, 5));
    FCT_OK(fc_autocast_begin(FC_DTYPE_BF16));
    FCT_NULL(fc_linear(x, w, NULL));
    FCT_ERROR(FC_ERR_SHAPE, "linear: expected x.shape[-1] == w.shape[1]");
    fc_tensor *xi = fc_zeros(FC_SHAPE(2, 5), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_matmul(xi, fc_transpose(w, 0, 1)));
    FCT_ERROR(FC_ERR_DTYPE, "matmul");
    FCT_NULL(fc_linear(NULL, w, NULL)); /* an earlier failure passes on, no new error */
    FCT_EQ_INT(fc_error_code(), FC_OK);
    FCT_OK(fc_autocast_end());
}

FCT_TEST(test_autocast_works_without_grad_and_leaves_other_ops_f32) {
    fc_manual_seed(4);
    fc_tensor *x = fc_randn(FC_SHAPE(3, 6)), *w = fc_randn(FC_SHAPE(2, 6));
    fc_tensor *plain_sm = fc_softmax(x, 1), *plain_sum = fc_sum(x, FC_ALL_DIMS, 0);
    fc_no_grad_begin();
    FCT_OK(fc_autocast_begin(FC_DTYPE_BF16));
    fc_tensor *y = fc_linear(x, w, NULL);
    FCT_CLOSE(fc_softmax(x, 1), plain_sm, 0, 0);
    FCT_CLOSE(fc_sum(x, FC_ALL_DIMS, 0), plain_sum, 0, 0);
    FCT_OK(fc_autocast_end());
    fc_no_grad_end();
    FCT_CLOSE(y, fc_linear(cast_rt(x, FC_DTYPE_BF16), cast_rt(w, FC_DTYPE_BF16), NULL), 0, 0);
    FCT_TRUE(!fc_tensor_requires_grad(y));
}

/* f16 gradients have f16's range: a gradient below its smallest subnormal vanishes on its way to
 * the f32 weight, which is why f16 training scales the loss (MixedPrecision's GradScaler). */
FCT_TEST(test_autocast_f16_gradients_underflow_unless_the_loss_is_scaled) {
    fc_tensor *x = fc_ones(FC_SHAPE(4, 3));
    fc_tensor *w = fc_keep(fc_requires_grad(fc_ones(FC_SHAPE(2, 3))));
    double scales[] = {1.0, 65536.0};
    for (int k = 0; k < 2; k++) {
        fc_tensor_zero_grad(w);
        FCT_OK(fc_autocast_begin(FC_DTYPE_F16));
        fc_tensor *y = fc_linear(x, w, NULL);
        FCT_OK(fc_autocast_end());
        FCT_OK(fc_backward_with(y, fc_full(FC_SHAPE(4, 2), 1e-9 * scales[k])));
        double g = fc_tensor_get(fc_tensor_grad(w), 0) / scales[k];
        if (k == 0) FCT_NEAR(g, 0.0, 0);           /* 4e-9 rounds to 0 in f16 */
        else FCT_NEAR(g, 4e-9, 4e-9 * 1e-3);       /* 2.6e-4 is a normal f16 */
    }
    fc_tensor_free(w);
}
