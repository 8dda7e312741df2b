/* The CUDA emulator's cuda_runtime.h (tests/cuda_emu, FASTC_CUDA=EMU builds only).
 *
 * A GPU is not needed to run fastc's CUDA code paths: this header, with runtime.cpp, stands in for
 * the CUDA runtime. "Device" memory is host memory, each stream is a queue run as late as CUDA
 * allows (see runtime.cpp: a missing wait shows as stale data), and a kernel launched through
 * FCI_LAUNCH (src/ops/cuda/launch.cuh) runs on the CPU with CUDA's execution model: a grid of
 * blocks, each block's threads as cooperative fibers that meet at __syncthreads, warps of 32 that
 * exchange values through __shfl_xor_sync / __any_sync, __shared__ memory shared by a block.
 * It proves the kernels' indexing, launch shapes, barriers and arithmetic, and the host glue
 * around them; it proves nothing about speed, real memory ordering, or NVIDIA's libraries
 * (cuBLASLt and cuDNN are host reference implementations here, see cublasLt.h and cudnn.h).
 *
 * Declarations are C (the host glue in src/core and src/ops/cuda is C); the device-side part
 * (kernels, intrinsics) is C++ and is only seen by the .cu files, compiled as C++. */
#ifndef FCE_CUDA_RUNTIME_H
#define FCE_CUDA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "library_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInitializationError = 3,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevice = 101,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorNotReady = 600,
    cudaErrorIllegalAddress = 700,
    cudaErrorLaunchFailure = 719,
} cudaError_t;

typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

enum cudaMemoryType {
    cudaMemoryTypeUnregistered = 0,
    cudaMemoryTypeHost = 1,
    cudaMemoryTypeDevice = 2,
    cudaMemoryTypeManaged = 3,
};

struct cudaPointerAttributes {
    enum cudaMemoryType type;
    int device;
    void *devicePointer;
    void *hostPointer;
};

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventDisableTiming 0x02
#define cudaHostAllocDefault 0x00

cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
cudaError_t cudaDeviceSynchronize(void);

cudaError_t cudaMalloc(void **p, size_t n);
cudaError_t cudaFree(void *p);
cudaError_t cudaHostAlloc(void **p, size_t n, unsigned flags);
cudaError_t cudaMallocHost(void **p, size_t n);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *p);

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind, cudaStream_t s);
cudaError_t cudaMemset(void *dst, int v, size_t n);
cudaError_t cudaMemsetAsync(void *dst, int v, size_t n, cudaStream_t s);
cudaError_t cudaMemset2DAsync(void *dst, size_t pitch, int v, size_t width, size_t height, cudaStream_t s);

cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags);

cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaEventSynchronize(cudaEvent_t e);

/* For the emulator's own checks: 1 when p lies in a live cudaMalloc block (n bytes from p). */
int fce_is_device(const void *p, size_t n);
/* 1 (the default): the emulated cuBLASLt / cuDNN refuse operands outside cudaMalloc blocks, as the
 * real ones would fault on them; tests/cuda_emu/test_emu_libs.c sets 0 to hand them host tensors. */
extern int fce_library_pointer_checks;
/* Host work queued on a stream, run in the stream's order (fn(arg) owns arg); and a wait until a
 * stream has run what it was given (the emulated libraries call it before they read operands). */
void fce_defer_host(cudaStream_t s, void (*fn)(void *), void *arg);
void fce_stream_drain(cudaStream_t s);
/* Stops the program with a message naming the kernel misuse the emulator found (a deadlock at a
 * barrier, a warp exchange with lanes missing): a bug in the kernel, not a user error. */
void fce_fatal(const char *fmt, ...);

#ifdef __cplusplus
} /* extern "C" */
#include "fce_device.h" /* kernels, launches and intrinsics (C++) */
#endif

#endif
