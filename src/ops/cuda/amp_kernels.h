/* Kernels of mixed precision and data-parallel averaging on the device (amp.cu): raw pointers,
 * no allocation; each queues its work on 'stream' and returns (the caller checks the launch). */
#ifndef FASTC_CUDA_AMP_KERNELS_H
#define FASTC_CUDA_AMP_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* g[n] *= inv; *found = 1 when any g was inf or nan before (found is left alone otherwise). */
void fci_cuda_unscale_launch(void *stream, float *g, int64_t n, float inv, int32_t *found);
/* x[n] *= s. */
void fci_cuda_scale_launch(void *stream, float *x, int64_t n, float s);
/* y[n] = f32(bf16(x)) when to_bf16, else f32(f16(x)); round to nearest even. */
void fci_cuda_round_launch(void *stream, const float *x, float *y, int64_t n, int to_bf16);

#ifdef __cplusplus
}
#endif
#endif
