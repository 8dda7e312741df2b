/* fastc on NVIDIA GPUs: is a device there, moving tensors and modules, the device allocator.
 * Every function here exists in every build: a build without CUDA answers "none" and fails with
 * "fastc was built without CUDA". The CUDA runtime is touched only when a CUDA tensor is asked
 * for (or by the queries below), so a CUDA build runs CPU programs on machines without a GPU. */
#ifndef FASTC_CUDA_H
#define FASTC_CUDA_H

#include "fastc/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this build has the CUDA backend (FASTC_CUDA at configure time). */
FC_API int fc_cuda_is_built(void);
/* Number of usable CUDA devices; 0 when none, when the driver fails or without the backend.
 * Never sets an error. */
FC_API int fc_cuda_device_count(void);
FC_API int fc_cuda_is_available(void); /* fc_cuda_device_count() > 0 */
/* FC_OK when device d can run tensors; else FC_ERR_DEVICE with the reason: "fastc was built
 * without CUDA", "CUDA requested but no CUDA device was found (cudaGetDeviceCount: ...)", or an
 * index out of range. */
FC_API fc_status fc_cuda_check(fc_device d);

/* A copy of t on device d (a new tensor; same dtype, contiguous). Host to device goes through a
 * pinned staging buffer and an asynchronous copy on the device's stream; device to host waits for
 * it. Not recorded by autograd: the copy is a new leaf that requires grad when t does. */
FC_API fc_tensor *fc_tensor_to(fc_tensor *t, fc_device d);
/* Moves t's data to d in place (the header, and every pointer to it, stays valid; views of the
 * old storage keep the old copy). For parameters and buffers: fc_module_to uses it. A gradient
 * already attached is moved too. */
FC_API fc_status fc_tensor_move_(fc_tensor *t, fc_device d);

/* Moves every parameter and buffer of m (and its children) to d in place, so optimizers made
 * before or after see the same tensors (src/nn/module_to.c). */
typedef struct fc_module fc_module;
FC_API fc_status fc_module_to(fc_module *m, fc_device d);

/* Waits for all work queued on the device's stream (d's index; timing, tests). */
FC_API fc_status fc_cuda_synchronize(fc_device d);

/* The caching device allocator: freed blocks are kept per size class and reused in stream order,
 * so a steady-state training step calls cudaMalloc zero times. Stats cover all devices. */
typedef struct fc_cuda_memory_stats {
    uint64_t n_device_allocs; /* cudaMalloc calls                                        */
    uint64_t n_allocs;        /* all allocations served                                  */
    uint64_t n_cache_hits;    /* allocations served from the cache                       */
    uint64_t bytes_in_use;    /* held by live storages (rounded to the block size)       */
    uint64_t bytes_cached;    /* free blocks kept for reuse                              */
    uint64_t bytes_peak;      /* largest bytes_in_use seen                               */
} fc_cuda_memory_stats;
FC_API fc_cuda_memory_stats fc_cuda_memory_stats_get(void);
/* Returns every cached block to the driver (cudaFree); live tensors are untouched. */
FC_API void fc_cuda_empty_cache(void);

/* f32 matmuls on tensor cores in TF32 (10-bit mantissa; ~1e-3 relative error), as PyTorch's
 * torch.backends.cuda.matmul.allow_tf32. Default 0: full f32. */
FC_API void fc_cuda_set_allow_tf32(int on);
FC_API int fc_cuda_allow_tf32(void);

/* ---- channels-last convolutions (h-cuda16) ---- */
/* cuDNN convolutions in NHWC, where its tensor-core kernels are fastest: 1 for every convolution,
 * 0 for none, -1 (the default) for the bf16 / f16 convolutions of autocast only. Tensors stay NCHW:
 * each call transposes its operands on the device (a pass each way). FC_ERR_ARG on another value. */
FC_API fc_status fc_cuda_set_conv_channels_last(int mode);
/* Whether a CUDA convolution computing in dtype (f32, bf16, f16) runs in NHWC now. */
FC_API int fc_cuda_conv_channels_last(fc_dtype dtype);

#ifdef __cplusplus
}
#endif
#endif
