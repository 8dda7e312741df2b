/* Pointwise math (exp, log, sqrt, rsqrt, abs, clamp, pow_scalar) against PyTorch fixtures, plus
 * gradchecks away from kinks and error paths. */
#include "unary_check.h"

static fc_tensor *u_exp(fc_tensor *x, const double *p) { (void)p; return fc_exp(x); }
static fc_tensor *u_log(fc_tensor *x, const double *p) { (void)p; return fc_log(x); }
static fc_tensor *u_sqrt(fc_tensor *x, const double *p) { (void)p; return fc_sqrt(x); }
static fc_tensor *u_rsqrt(fc_tensor *x, const double *p) { (void)p; return fc_rsqrt(x); }
static fc_tensor *u_abs(fc_tensor *x, const double *p) { (void)p; return fc_abs(x); }
static fc_tensor *u_clamp(fc_tensor *x, const double *p) { return fc_clamp(x, p[0], p[1]); }
static fc_tensor *u_pow(fc_tensor *x, const double *p) { return fc_pow_scalar(x, p[0]); }

/* positive, away from 0 */
static float positive(float v) { return fabsf(v) + 0.5f; }
/* away from the kink at 0 */
static float off_zero(float v) { return v + (v >= 0 ? 0.2f : -0.2f); }
/* away from the clamp bounds -0.5 and 0.7 */
static float off_bounds(float v) {
    if (fabsf(v + 0.5f) < 0.05f || fabsf(v - 0.7f) < 0.05f) return v + 0.1f;
    return v;
}

static const unary_case cases[] = {
    {"exp", u_exp, {0}, NULL},
    {"log", u_log, {0}, positive},
    {"sqrt", u_sqrt, {0}, positive},
    {"rsqrt", u_rsqrt, {0}, positive},
    {"abs", u_abs, {0}, off_zero},
    {"clamp", u_clamp, {-0.5, 0.7}, off_bounds},
    {"clamp_min", u_clamp, {-0.5, INFINITY}, off_bounds},
    {"pow_scalar_2", u_pow, {2.0}, NULL},
    {"pow_scalar_3", u_pow, {3.0}, NULL},
    {"pow_scalar_0_5", u_pow, {0.5}, positive},
    {"pow_scalar_m1_5", u_pow, {-1.5}, positive},
    {"pow_scalar_0", u_pow, {0.0}, NULL},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

FCT_TEST(test_unary_math_matches_pytorch) {
    for (int i = 0; i < N_CASES; i++) unary_parity(&cases[i], 1e-6, 1e-5);
}

FCT_TEST(test_unary_math_gradcheck) {
    for (int i = 0; i < N_CASES; i++) FCT_EQ_INT(unary_gradcheck(&cases[i], 100 + (uint64_t)i), 0);
}

FCT_TEST(test_clamp_gradient_includes_bounds) {
    float v[4] = {-1.0f, -0.5f, 0.7f, 1.0f};
    fc_tensor *x = fc_requires_grad(fc_from_data(v, FC_SHAPE(4)));
    fc_tensor *y = fc_clamp(x, -0.5, 0.7);
    FCT_OK(fc_backward_with(y, fc_ones(FC_SHAPE(4))));
    float want[4] = {0, 1, 1, 0};
    FCT_CLOSE(fc_tensor_grad(x), fc_from_data(want, FC_SHAPE(4)), 0, 0);
}

FCT_TEST(test_clamp_min_above_max_gives_max) {
    float v[3] = {-1.0f, 0.5f, 3.0f};
    fc_tensor *y = fc_clamp(fc_from_data(v, FC_SHAPE(3)), 2.0, 1.0); /* as torch.clamp */
    float want[3] = {1, 1, 1};
    FCT_CLOSE(y, fc_from_data(want, FC_SHAPE(3)), 0, 0);
}

FCT_TEST(test_clamp_rejects_nan_bound) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2));
    FCT_NULL(fc_clamp(x, NAN, 1.0));
    FCT_ERROR(FC_ERR_ARG, "clamp: expected min and max to be numbers");
}

FCT_TEST(test_pow_scalar_rejects_infinite_exponent) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2));
    FCT_NULL(fc_pow_scalar(x, INFINITY));
    FCT_ERROR(FC_ERR_ARG, "pow_scalar: expected a finite exponent, found inf");
}

FCT_TEST(test_unary_math_rejects_int_dtype) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_exp(x));
    FCT_ERROR(FC_ERR_DTYPE, "exp: expected input of dtype f32, found i64 (shape [2, 3])");
    FCT_NULL(fc_log(x));
    FCT_ERROR(FC_ERR_DTYPE, "log: expected input of dtype f32");
    FCT_NULL(fc_clamp(x, 0, 1));
    FCT_ERROR(FC_ERR_DTYPE, "clamp: expected input of dtype f32");
}

FCT_TEST(test_unary_math_passes_null_on) {
    FCT_NULL(fc_exp(NULL));
    FCT_NULL(fc_log(NULL));
    FCT_NULL(fc_sqrt(NULL));
    FCT_NULL(fc_rsqrt(NULL));
    FCT_NULL(fc_abs(NULL));
    FCT_NULL(fc_clamp(NULL, 0, 1));
    FCT_NULL(fc_pow_scalar(NULL, 2));
    FCT_TRUE(fc_error_code() == FC_OK);
}
