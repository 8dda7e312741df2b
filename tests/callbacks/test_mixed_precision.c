/* MixedPrecision's GradScaler against torch.cuda.amp.GradScaler (PyTorch 1.13), whose kernels run on
 * CUDA only, so the expected values follow its source by hand (_amp_update_scale_cuda_kernel and
 * _amp_foreach_non_finite_check_and_unscale_cuda_), each step written out next to the check. */
#include <string.h>

#include "callbacks/grad_scaler_impl.h"
#include "fct.h"

FCT_TEST(test_grad_scaler_has_torch_defaults) {
    fci_grad_scaler s = fci_grad_scaler_new(0, 0);
    FCT_NEAR(s.scale, 65536.0, 0);
    FCT_NEAR(s.growth_factor, 2.0, 0);
    FCT_NEAR(s.backoff_factor, 0.5, 0);
    FCT_EQ_INT(s.growth_interval, 2000);
    FCT_EQ_INT(s.growth_tracker, 0);
    fci_grad_scaler t = fci_grad_scaler_new(128, 7);
    FCT_NEAR(t.scale, 128.0, 0);
    FCT_EQ_INT(t.growth_interval, 7);
}

FCT_TEST(test_grad_scaler_scales_the_loss_and_unscales_the_gradients) {
    fci_grad_scaler s = fci_grad_scaler_new(1024, 0);
    fc_tensor *w = fc_keep(fc_requires_grad(fc_from_data(((float[]){1, -2, 3}), FC_SHAPE(3))));
    fc_tensor *loss = fc_sum(fc_mul(w, w), FC_ALL_DIMS, 0); /* d/dw = 2w */
    fc_tensor *scaled = fci_grad_scaler_scale(&s, loss);
    FCT_NEAR(fc_tensor_item(scaled), 14.0 * 1024, 0);
    FCT_OK(fc_backward(scaled));
    FCT_NEAR(fc_tensor_get(fc_tensor_grad(w), 1), -4.0 * 1024, 0);
    fc_tensor *grads[] = {fc_tensor_grad(w), NULL}; /* a parameter without .grad is skipped */
    FCT_OK(fci_grad_scaler_unscale(&s, grads, 2));
    FCT_EQ_INT(s.found_inf, 0);
    FCT_CLOSE(fc_tensor_grad(w), fc_from_data(((float[]){2, -4, 6}), FC_SHAPE(3)), 0, 0);
    fc_tensor_free(w);
}

FCT_TEST(test_grad_scaler_unscale_finds_inf_and_nan_anywhere) {
    float bad[] = {INFINITY, -INFINITY, NAN};
    for (int k = 0; k < 3; k++) {
        fci_grad_scaler s = fci_grad_scaler_new(4, 0);
        fc_tensor *g0 = fc_full(FC_SHAPE(5), 8.0);
        fc_tensor *g1 = fc_full(FC_SHAPE(100), 4.0);
        ((float *)fc_tensor_data(g1))[97] = bad[k];
        fc_tensor *grads[] = {g0, g1};
        FCT_OK(fci_grad_scaler_unscale(&s, grads, 2));
        FCT_EQ_INT(s.found_inf, 1);
        FCT_NEAR(fc_tensor_get(g0, 4), 2.0, 0); /* torch unscales everything even so */
        FCT_NEAR(fc_tensor_get(g1, 0), 1.0, 0);
    }
}

FCT_TEST(test_grad_scaler_overflow_skips_the_step_and_halves_the_scale) {
    fci_grad_scaler s = fci_grad_scaler_new(0, 3);
    s.growth_tracker = 2; /* one good step short of growing */
    fc_tensor *g = fc_full(FC_SHAPE(4), INFINITY);
    FCT_OK(fci_grad_scaler_unscale(&s, &g, 1));
    FCT_EQ_INT(s.found_inf, 1);
    fci_grad_scaler_update(&s);
    FCT_NEAR(s.scale, 32768.0, 0);
    FCT_EQ_INT(s.growth_tracker, 0); /* the run of good steps starts again */
}

/* torch: found_inf -> scale *= backoff, tracker = 0; else tracker + 1 == interval -> scale *= growth,
 * tracker = 0; else tracker + 1. Interval 3 from 1024, steps with (1) and without (0) overflow: */
FCT_TEST(test_grad_scaler_follows_torchs_scale_trajectory) {
    static const int overflow[12] = {0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0};
    static const double want[12] = {1024, 1024, 512, 512, 512, 1024, 1024, 512, 256, 256, 256, 512};
    static const int tracker[12] = {1, 2, 0, 1, 2, 0, 1, 0, 0, 1, 2, 0};
    fci_grad_scaler s = fci_grad_scaler_new(1024, 3);
    for (int i = 0; i < 12; i++) {
        fc_tensor *g = fc_full(FC_SHAPE(3), overflow[i] ? NAN : 1.0);
        FCT_OK(fci_grad_scaler_unscale(&s, &g, 1));
        FCT_EQ_INT(s.found_inf, overflow[i]);
        fci_grad_scaler_update(&s);
        FCT_NEAR(s.scale, want[i], 0);
        FCT_EQ_INT(s.growth_tracker, tracker[i]);
        fc_tensor_free(g);
    }
}

FCT_TEST(test_grad_scaler_grows_after_the_default_interval_but_not_past_f32) {
    fci_grad_scaler s = fci_grad_scaler_new(0, 0);
    for (int i = 0; i < 1999; i++) fci_grad_scaler_update(&s);
    FCT_NEAR(s.scale, 65536.0, 0);
    fci_grad_scaler_update(&s);
    FCT_NEAR(s.scale, 131072.0, 0);
    s.scale = 0x1p127f;
    s.growth_tracker = s.growth_interval - 1;
    fci_grad_scaler_update(&s); /* 2^128 is inf in f32: torch keeps the old scale */
    FCT_NEAR(s.scale, 0x1p127, 0);
    FCT_EQ_INT(s.growth_tracker, 0);
}

FCT_TEST(test_grad_scaler_rejects_non_contiguous_gradients) {
    fci_grad_scaler s = fci_grad_scaler_new(0, 0);
    fc_tensor *g = fc_transpose(fc_ones(FC_SHAPE(2, 3)), 0, 1);
    FCT_EQ_INT(fci_grad_scaler_unscale(&s, &g, 1), FC_ERR_UNSUPPORTED);
    FCT_ERROR(FC_ERR_UNSUPPORTED, "grad_scaler: expected contiguous f32 cpu gradients, found "
                                  "gradient 0: f32 on cpu, not contiguous");
}

/* The f16 recipe by hand (what the callback runs around backward and step): a gradient that f16
 * flushes to zero survives when the loss is scaled, and unscaling gives the f32 value back. */
FCT_TEST(test_loss_scaling_keeps_small_f16_gradients) {
    fc_tensor *x = fc_full(FC_SHAPE(8, 4), 1e-3);
    fc_tensor *w = fc_keep(fc_requires_grad(fc_full(FC_SHAPE(2, 4), 1e-3)));
    double got[2];
    for (int scaled = 0; scaled < 2; scaled++) {
        fci_grad_scaler s = fci_grad_scaler_new(scaled ? 0 : 1, 0);
        fc_tensor_zero_grad(w);
        FCT_OK(fc_autocast_begin(FC_DTYPE_F16));
        fc_tensor *y = fc_linear(x, w, NULL);
        FCT_OK(fc_autocast_end());
        fc_tensor *loss = fc_mul_scalar(fc_mean(y, FC_ALL_DIMS, 0), 1e-5); /* dL/dw = 5e-9 */
        FCT_OK(fc_backward(fci_grad_scaler_scale(&s, loss)));
        fc_tensor *g = fc_tensor_grad(w);
        FCT_OK(fci_grad_scaler_unscale(&s, &g, 1));
        FCT_EQ_INT(s.found_inf, 0);
        got[scaled] = fc_tensor_get(g, 0);
    }
    FCT_NEAR(got[0], 0.0, 0);          /* under half f16's smallest subnormal (6e-8): flushed */
    FCT_NEAR(got[1], 5e-9, 5e-9 * 2e-3); /* 3.3e-4 while scaled: a normal f16 */
    fc_tensor_free(w);
}
