/* The glue of amp.cu (declared in core/cuda_impl.h): checks the device, launches on its compute
 * stream, checks the launch. */
#include "core/cuda_impl.h"
#include "ops/cuda/amp_kernels.h"

fc_status fci_cuda_unscale(int device, float *g, int64_t n, float inv, int32_t *found) {
    fci_cuda_unscale_launch(fci_cuda_stream(device), g, n, inv, found);
    return fci_cuda_launched("grad_scaler");
}

fc_status fci_cuda_scale(int device, float *x, int64_t n, float s) {
    fci_cuda_scale_launch(fci_cuda_stream(device), x, n, s);
    return fci_cuda_launched("distributed");
}

fc_status fci_cuda_round_f32(int device, const float *x, float *y, int64_t n, fc_dtype dtype) {
    if (dtype != FC_DTYPE_BF16 && dtype != FC_DTYPE_F16)
        return fc_fail(FC_ERR_DTYPE, "autocast: can round to bf16 or f16, found %s", fc_dtype_name(dtype));
    fci_cuda_round_launch(fci_cuda_stream(device), x, y, n, dtype == FC_DTYPE_BF16);
    return fci_cuda_launched("autocast");
}
