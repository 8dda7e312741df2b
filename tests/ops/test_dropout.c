/* dropout: statistics of the mask, reproducibility from the seed (on any thread count), the
 * gradient mask / (1 - p), identity in eval, and errors. */
#include <string.h>

#include "fct.h"

/* Fraction of zeros in y, and whether every nonzero equals x * scale. */
static double zero_fraction(const fc_tensor *x, const fc_tensor *y, double scale, int *scaled_ok) {
    int64_t n = fc_tensor_numel(y), zeros = 0;
    *scaled_ok = 1;
    for (int64_t i = 0; i < n; i++) {
        double v = fc_tensor_get(y, i);
        if (v == 0) zeros++;
        else if (fabs(v - fc_tensor_get(x, i) * scale) > 1e-5 * fabs(v)) *scaled_ok = 0;
    }
    return (double)zeros / (double)n;
}

FCT_TEST(test_dropout_zeroes_p_and_scales_the_rest) {
    double ps[3] = {0.1, 0.3, 0.75};
    fc_tensor *x = fc_add_scalar(fc_rand(FC_SHAPE(200, 1000)), 0.5); /* > 64K: threaded path */
    for (int k = 0; k < 3; k++) {
        int ok;
        double frac = zero_fraction(x, fc_dropout(x, ps[k], 1), 1 / (1 - ps[k]), &ok);
        FCT_NEAR(frac, ps[k], 0.005); /* 200K draws: the standard deviation is ~0.001 */
        FCT_TRUE(ok);
    }
}

FCT_TEST(test_dropout_is_reproducible_from_the_seed_on_any_thread_count) {
    fc_tensor *x = fc_ones(FC_SHAPE(300, 301));
    fc_manual_seed(42);
    fc_tensor *a = fc_dropout(x, 0.5, 1);
    fc_tensor *b = fc_dropout(x, 0.5, 1); /* the generator moved on: a new mask */
    fc_set_num_threads(1);
    fc_manual_seed(42);
    fc_tensor *c = fc_dropout(x, 0.5, 1);
    fc_set_num_threads(0);
    FCT_CLOSE(c, a, 0, 0);
    int64_t diff = 0, n = fc_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) diff += fc_tensor_get(a, i) != fc_tensor_get(b, i);
    FCT_TRUE(diff > n / 4);
}

FCT_TEST(test_dropout_gradient_is_mask_over_keep) {
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(7, 9), 3));
    fc_tensor *xt = fc_transpose(x, 0, 1); /* non-contiguous input */
    fc_tensor *y = fc_dropout(xt, 0.4, 1);
    FCT_OK(fc_backward_with(y, fc_ones(FC_SHAPE(9, 7))));
    fc_tensor *g = fc_tensor_grad(x);
    FCT_NOTNULL(g);
    int64_t kept = 0;
    for (int i = 0; g && i < 9; i++)
        for (int j = 0; j < 7; j++) {
            double yv = fc_tensor_get(y, i * 7 + j), xv = fc_tensor_get(x, j * 9 + i);
            double want = yv != 0 ? 1 / 0.6 : 0.0;
            kept += yv != 0;
            FCT_NEAR(fc_tensor_get(g, j * 9 + i), want, 1e-6);
            if (yv != 0) FCT_NEAR(yv, xv / 0.6, 1e-5);
        }
    FCT_TRUE(kept > 10 && kept < 53);
    fc_tensor_free(x);
}

FCT_TEST(test_dropout_is_identity_in_eval_and_for_p0) {
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(4, 5), 4));
    fc_tensor *y = fc_dropout(x, 0.5, 0);
    FCT_CLOSE(y, x, 0, 0);
    FCT_CLOSE(fc_dropout(x, 0.0, 1), x, 0, 0);
    fc_tensor *dy = fct_randn(FC_SHAPE(4, 5), 5);
    FCT_OK(fc_backward_with(y, dy));
    FCT_CLOSE(fc_tensor_grad(x), dy, 0, 0);
    fc_tensor_free(dy);
    fc_tensor_free(x);
}

FCT_TEST(test_dropout_p1_gives_zeros) {
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(3, 4), 6));
    fc_tensor *y = fc_dropout(x, 1.0, 1);
    fc_tensor *z = fc_zeros(FC_SHAPE(3, 4));
    FCT_CLOSE(y, z, 0, 0);
    FCT_OK(fc_backward_with(y, fc_ones(FC_SHAPE(3, 4))));
    FCT_CLOSE(fc_tensor_grad(x), z, 0, 0);
    fc_tensor_free(x);
}

FCT_TEST(test_dropout_rejects_bad_p) {
    fc_tensor *x = fc_ones(FC_SHAPE(3));
    FCT_NULL(fc_dropout(x, 1.5, 1));
    FCT_ERROR(FC_ERR_ARG, "dropout: expected p in [0, 1], found 1.5");
    FCT_NULL(fc_dropout(x, -0.1, 0));
    FCT_ERROR(FC_ERR_ARG, "dropout: expected p in [0, 1], found -0.1");
    FCT_NULL(fc_dropout(fc_ones(FC_SHAPE(3), .dtype = FC_DTYPE_I32), 0.5, 1));
    FCT_ERROR(FC_ERR_DTYPE, "dropout: expected input of dtype f32, found i32");
    FCT_NULL(fc_dropout(NULL, 0.5, 1));
}
