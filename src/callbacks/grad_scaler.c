/* GradScaler: the arithmetic of torch/cuda/amp/grad_scaler.py and the _amp_update_scale_ and
 * _amp_foreach_non_finite_check_and_unscale_ kernels (PyTorch 1.13), on f32 gradients on the CPU
 * or a CUDA device. On the device the check and the unscale are one kernel per gradient that
 * raises a flag in device memory; the flag is read back once per step (the one host sync that
 * deciding whether to step needs, as torch's optimizer.step reads found_inf). */
#include "grad_scaler_impl.h"

#include <math.h>

#include "../core/cuda_impl.h"

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

#if FASTC_CUDA
/* The gradients on CUDA device 'dev': one kernel each into a device flag, read back once. */
static fc_status unscale_cuda(fc_tensor *const *grads, int n, fc_device dev, float inv, int *found) {
    fc_status st = fci_cuda_ensure("grad_scaler", dev);
    if (st != FC_OK) return st;
    int32_t *flag = fci_cuda_alloc(dev.index, sizeof *flag), host = 0;
    if (!flag) return fc_error_code();
    st = fci_cuda_memset0(dev.index, flag, sizeof *flag);
    for (int i = 0; i < n && st == FC_OK; i++) {
        fc_tensor *g = grads[i];
        if (!g || fc_tensor_device(g).type != FC_DEVICE_CUDA) continue;
        if (fc_tensor_device(g).index != dev.index)
            st = fc_fail(FC_ERR_DEVICE, "grad_scaler: expected every gradient on %s, found gradient %d on %s",
                         fc_device_name(dev), i, fc_device_name(fc_tensor_device(g)));
        else st = fci_cuda_unscale(dev.index, fc_tensor_data(g), fc_tensor_numel(g), inv, flag);
    }
    if (st == FC_OK) st = fci_cuda_d2h(dev.index, &host, flag, sizeof host); /* waits for the kernels */
    fci_cuda_release(dev.index, flag, sizeof *flag);
    *found |= host != 0;
    return st;
}
#endif

fc_status fci_grad_scaler_unscale(fci_grad_scaler *s, fc_tensor *const *grads, int n) {
    float inv = (float)(1.0 / (double)s->scale);
    int found = 0, on_cuda = -1;
    for (int i = 0; i < n; i++) {
        fc_tensor *g = grads[i];
        if (!g) continue;
        fc_device dev = fc_tensor_device(g);
        int cuda_ok = 0;
#if FASTC_CUDA
        cuda_ok = dev.type == FC_DEVICE_CUDA;
#endif
        if (fc_tensor_dtype(g) != FC_DTYPE_F32 || !fc_tensor_is_contiguous(g) ||
            (dev.type != FC_DEVICE_CPU && !cuda_ok))
            return fc_fail(FC_ERR_UNSUPPORTED, "grad_scaler: expected contiguous f32 cpu gradients, "
                           "found gradient %d: %s on %s%s%s", i, fc_dtype_name(fc_tensor_dtype(g)),
                           fc_device_name(dev), fc_tensor_is_contiguous(g) ? "" : ", not contiguous",
                           fc_cuda_is_built() ? " (or contiguous f32 on a cuda device)" : "");
        if (cuda_ok) {
            if (on_cuda < 0) on_cuda = i;
            continue;
        }
        found |= unscale_f32(fc_tensor_data(g), fc_tensor_numel(g), inv);
    }
#if FASTC_CUDA
    if (on_cuda >= 0) {
        fc_status st = unscale_cuda(grads, n, fc_tensor_device(grads[on_cuda]), inv, &found);
        if (st != FC_OK) return st;
    }
#endif
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
