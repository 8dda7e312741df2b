/* Internals of the CUDA backend shared by core (tensor.c) and the ops glue; plain C types only, so
 * files built without the CUDA headers can include it. Everything here exists only when
 * FASTC_CUDA is defined; callers test the device type first, so CPU programs never reach it. */
#ifndef FASTC_CUDA_IMPL_H
#define FASTC_CUDA_IMPL_H

#include "core_impl.h"
#include "fastc/cuda.h"

/* For values made on the host (arange, from_data, rand): moves t to d in place; on failure frees
 * t and returns NULL. Every build (a CPU d returns t as it is). */
fc_tensor *fci_move_or_free(fc_tensor *t, fc_device d);

#if FASTC_CUDA

/* Initializes the runtime on first use (once per process) and makes device d current. FC_OK,
 * or FC_ERR_DEVICE naming 'op' and why (no device, driver error, index out of range). */
fc_status fci_cuda_ensure(const char *op, fc_device d);
/* Devices found (0 when none or the driver failed); starts the runtime, never sets an error. */
int fci_cuda_count(void);
/* Waits for the device's stream. */
fc_status fci_cuda_sync(fc_device d);
/* The device's compute stream (a cudaStream_t); every kernel and copy of fastc runs on it, which
 * is what lets the allocator reuse a freed block at once (stream order). */
void *fci_cuda_stream(int device);
/* A cuBLASLt handle (cublasLtHandle_t) and its workspace for the device. */
void *fci_cublaslt(int device, void **workspace, size_t *workspace_bytes);
/* A cuDNN handle (cudnnHandle_t) bound to the device's stream; NULL with the error set. */
void *fci_cudnn(int device);
/* Fails with FC_ERR_DEVICE "op: <what> failed: <cuda error string>" when err (a cudaError_t) is
 * not cudaSuccess; returns the status. */
fc_status fci_cuda_status(const char *op, const char *what, int err);
/* Checks the last kernel launch (cudaGetLastError). */
fc_status fci_cuda_launched(const char *op);

/* The caching allocator (cuda_alloc.c). fci_cuda_alloc fails with FC_ERR_NOMEM naming the size
 * and what is in use and cached. */
void *fci_cuda_alloc(int device, size_t nbytes);
void fci_cuda_release(int device, void *p, size_t nbytes);
fc_cuda_memory_stats fci_cuda_alloc_stats(void);
void fci_cuda_alloc_empty(void);

/* Copies on the device's stream. h2d stages through pinned memory and returns before the copy
 * ends; d2h waits for it; d2d is asynchronous. */
fc_status fci_cuda_h2d(int device, void *dst, const void *src, size_t nbytes);
fc_status fci_cuda_d2h(int device, void *dst, const void *src, size_t nbytes);
fc_status fci_cuda_d2d(int device, void *dst, const void *src, size_t nbytes);
fc_status fci_cuda_memset0(int device, void *dst, size_t nbytes);

/* fci_copy_strided when either tensor is on a CUDA device (any dtypes, layouts, broadcast
 * strides); src/ops/cuda/copy.c. */
fc_status fci_cuda_copy_strided(fc_tensor *dst, const fc_tensor *src);
/* Fills a contiguous CUDA tensor with v (converted to its dtype). */
fc_status fci_cuda_fill(fc_tensor *t, double v);

#endif
#endif
