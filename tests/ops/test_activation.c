/* Activations against PyTorch fixtures (x spread over [-6, 6] to reach every branch), gradchecks
 * away from kinks, and error paths. */
#include "unary_check.h"

static fc_tensor *a_relu(fc_tensor *x, const double *p) { (void)p; return fc_relu(x); }
static fc_tensor *a_leaky(fc_tensor *x, const double *p) { return fc_leaky_relu(x, p[0]); }
static fc_tensor *a_gelu(fc_tensor *x, const double *p) { (void)p; return fc_gelu(x); }
static fc_tensor *a_gelu_tanh(fc_tensor *x, const double *p) { (void)p; return fc_gelu_tanh(x); }
static fc_tensor *a_silu(fc_tensor *x, const double *p) { (void)p; return fc_silu(x); }
static fc_tensor *a_sigmoid(fc_tensor *x, const double *p) { (void)p; return fc_sigmoid(x); }
static fc_tensor *a_tanh(fc_tensor *x, const double *p) { (void)p; return fc_tanh(x); }
static fc_tensor *a_softplus(fc_tensor *x, const double *p) { return fc_softplus(x, p[0], p[1]); }
static fc_tensor *a_hardswish(fc_tensor *x, const double *p) { (void)p; return fc_hardswish(x); }

static float wide(float v) { return 2.0f * v; }
/* away from the kink at 0 */
static float off_zero(float v) { return v + (v >= 0 ? 0.2f : -0.2f); }
/* 3 * N(0,1), away from the kinks at -3 and 3 */
static float off_three(float v) {
    float t = 3.0f * v;
    return fabsf(fabsf(t) - 3.0f) < 0.1f ? t + 0.3f : t;
}
/* away from the switch to linear at beta x = threshold (beta 2, threshold 5: x = 2.5) */
static float off_threshold(float v) {
    float t = 3.0f * v;
    return fabsf(t - 2.5f) < 0.1f ? t + 0.3f : t;
}

static const unary_case cases[] = {
    {"relu", a_relu, {0}, off_zero},
    {"leaky_relu", a_leaky, {0.2}, off_zero},
    {"gelu", a_gelu, {0}, wide},
    {"gelu_tanh", a_gelu_tanh, {0}, wide},
    {"silu", a_silu, {0}, wide},
    {"sigmoid", a_sigmoid, {0}, wide},
    {"tanh", a_tanh, {0}, NULL},
    {"softplus", a_softplus, {1.0, 20.0}, wide},
    {"softplus_b2_t5", a_softplus, {2.0, 5.0}, off_threshold},
    {"hardswish", a_hardswish, {0}, off_three},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

FCT_TEST(test_activations_match_pytorch) {
    for (int i = 0; i < N_CASES; i++) unary_parity(&cases[i], 1e-6, 1e-5);
}

FCT_TEST(test_activations_gradcheck) {
    for (int i = 0; i < N_CASES; i++) FCT_EQ_INT(unary_gradcheck(&cases[i], 200 + (uint64_t)i), 0);
}

FCT_TEST(test_hardswish_gradient_at_kinks_matches_pytorch) {
    /* torch.ops.aten.hardswish_backward: 0 below -3, x/3 + 0.5 on [-3, 3], 1 above */
    float v[4] = {-3.0f, 3.0f, -3.5f, 3.5f};
    fc_tensor *x = fc_requires_grad(fc_from_data(v, FC_SHAPE(4)));
    FCT_OK(fc_backward_with(fc_hardswish(x), fc_ones(FC_SHAPE(4))));
    float want[4] = {-0.5f, 1.5f, 0.0f, 1.0f};
    FCT_CLOSE(fc_tensor_grad(x), fc_from_data(want, FC_SHAPE(4)), 1e-7, 0);
}

FCT_TEST(test_relu_gradient_at_zero_is_zero) {
    fc_tensor *x = fc_requires_grad(fc_zeros(FC_SHAPE(3)));
    FCT_OK(fc_backward_with(fc_relu(x), fc_ones(FC_SHAPE(3))));
    FCT_CLOSE(fc_tensor_grad(x), fc_zeros(FC_SHAPE(3)), 0, 0);
}

FCT_TEST(test_sigmoid_and_softplus_saturate_without_nan) {
    float v[4] = {-200.0f, -90.0f, 90.0f, 200.0f};
    fc_tensor *x = fc_from_data(v, FC_SHAPE(4));
    float s_want[4] = {0, 0, 1, 1}, sp_want[4] = {0, 0, 90, 200};
    FCT_CLOSE(fc_sigmoid(x), fc_from_data(s_want, FC_SHAPE(4)), 1e-30, 0);
    FCT_CLOSE(fc_softplus(x, 1.0, 20.0), fc_from_data(sp_want, FC_SHAPE(4)), 1e-30, 0);
    FCT_CLOSE(fc_silu(x), fc_from_data(sp_want, FC_SHAPE(4)), 1e-30, 0);
}

FCT_TEST(test_softplus_rejects_nonpositive_beta) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2));
    FCT_NULL(fc_softplus(x, 0.0, 20.0));
    FCT_ERROR(FC_ERR_ARG, "softplus: expected beta > 0 and a threshold, found beta 0, threshold 20");
}

FCT_TEST(test_leaky_relu_rejects_nan_slope) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2));
    FCT_NULL(fc_leaky_relu(x, NAN));
    FCT_ERROR(FC_ERR_ARG, "leaky_relu: expected a finite negative_slope, found nan");
}

FCT_TEST(test_activations_reject_int_dtype) {
    fc_tensor *x = fc_zeros(FC_SHAPE(4), .dtype = FC_DTYPE_I32);
    FCT_NULL(fc_relu(x));
    FCT_ERROR(FC_ERR_DTYPE, "relu: expected input of dtype f32, found i32 (shape [4])");
    FCT_NULL(fc_gelu(x));
    FCT_ERROR(FC_ERR_DTYPE, "gelu: expected input of dtype f32, found i32");
    FCT_NULL(fc_softplus(x, 1, 20));
    FCT_ERROR(FC_ERR_DTYPE, "softplus: expected input of dtype f32, found i32");
}

FCT_TEST(test_activations_pass_null_on) {
    FCT_NULL(fc_relu(NULL));
    FCT_NULL(fc_leaky_relu(NULL, 0.01));
    FCT_NULL(fc_gelu(NULL));
    FCT_NULL(fc_gelu_tanh(NULL));
    FCT_NULL(fc_silu(NULL));
    FCT_NULL(fc_sigmoid(NULL));
    FCT_NULL(fc_tanh(NULL));
    FCT_NULL(fc_softplus(NULL, 1, 20));
    FCT_NULL(fc_hardswish(NULL));
    FCT_TRUE(fc_error_code() == FC_OK);
}
