/* GradScaler: the arithmetic of torch/cuda/amp/grad_scaler.py and the _amp_update_scale_ and
 * _amp_foreach_non_finite_check_and_unscale_ kernels (PyTorch 1.13), on f32 CPU gradients. */
#include "grad_scaler_impl.h"

#include <math.h>

fci_grad_scaler fci_grad_scaler_new(double init_scale, int growth_interval) {
    return (fci_grad_scaler){
        .scale = init_scale > 0 ? (float)init_scale : 65536.0f,
        .growth_factor = 2.0f,
        .backoff_factor = 0.5f,
        .growth_interval = growth_interval > 0 ? growth_interval : 2000,
    };
}

fc_tensor *fci_grad_scaler_scale(const fci_grad_scaler *s, fc_tensor *loss) {
    return fc_mul_scalar(loss, s->scale);
}

/* g *= inv in place; returns 1 if any value (before scaling) is inf or nan. */
static int unscale_f32(float *g, int64_t n, float inv) {
    int bad = 0;
#pragma omp simd reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        bad |= !isfinite(g[i]);
        g[i] *= inv;
    }
    return bad;
}

fc_status fci_grad_scaler_unscale(fci_grad_scaler *s, fc_tensor *const *grads, int n) {
    float inv = (float)(1.0 / (double)s->scale);
    int found = 0;
    for (int i = 0; i < n; i++) {
        fc_tensor *g = grads[i];
        if (!g) continue;
        if (fc_tensor_dtype(g) != FC_DTYPE_F32 || !fc_tensor_is_contiguous(g) ||
            fc_tensor_device(g).type != FC_DEVICE_CPU)
            return fc_fail(FC_ERR_UNSUPPORTED, "grad_scaler: expected contiguous f32 cpu gradients, "
                           "found gradient %d: %s on %s%s", i, fc_dtype_name(fc_tensor_dtype(g)),
                           fc_device_name(fc_tensor_device(g)),
                           fc_tensor_is_contiguous(g) ? "" : ", not contiguous");
        found |= unscale_f32(fc_tensor_data(g), fc_tensor_numel(g), inv);
    }
    s->found_inf = found;
    return FC_OK;
}

void fci_grad_scaler_update(fci_grad_scaler *s) {
    if (s->found_inf) {
        s->scale *= s->backoff_factor;
        s->growth_tracker = 0;
        return;
    }
    if (++s->growth_tracker == s->growth_interval) {
        float grown = s->scale * s->growth_factor;
        if (isfinite(grown)) s->scale = grown;
        s->growth_tracker = 0;
    }
}
