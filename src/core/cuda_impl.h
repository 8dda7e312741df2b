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

/* ---- added for issue 9's infrastructure (h-cudainfra) ---- */

/* A small cache of library plans (cuBLASLt matmul descriptors and algorithm, cuDNN descriptors
 * and algorithms) keyed by plain bytes: shapes, dtypes, flags, device. Keys are compared whole
 * (build them from memset-0 structs of int64 so padding never differs); when full, the least
 * recently used entry is evicted and its free function runs. Not locked: the caller locks. */
#define FCI_PLAN_KEY_MAX 192
#define FCI_PLAN_CACHE_CAP 64
typedef struct fci_plan_slot {
    size_t key_len;
    unsigned char key[FCI_PLAN_KEY_MAX];
    void *plan;
} fci_plan_slot;
typedef struct fci_plan_cache {
    void (*free_plan)(void *plan);
    uint64_t clock, hits, misses, evictions;
    int n;
    /* scanned first, apart from the keys: 1 KiB, a few cache lines per lookup */
    uint64_t hash[FCI_PLAN_CACHE_CAP];
    uint64_t used[FCI_PLAN_CACHE_CAP]; /* the clock at the slot's last hit; 0 = empty */
    fci_plan_slot slot[FCI_PLAN_CACHE_CAP];
} fci_plan_cache;
/* The plan stored under key (borrowed), or NULL (a miss; counted). */
void *fci_plan_cache_get(fci_plan_cache *c, const void *key, size_t key_len);
/* Stores plan under key (takes it; evicts the least recently used entry when full). FC_ERR_ARG
 * (and plan freed) when the key is longer than FCI_PLAN_KEY_MAX. */
fc_status fci_plan_cache_put(fci_plan_cache *c, const void *key, size_t key_len, void *plan);
/* Frees every plan. */
void fci_plan_cache_clear(fci_plan_cache *c);

/* A ring of pinned host buffers, each with an event recorded after the copy that reads it, for the
 * data loaders' device batches (cuda_pinned.c). acquire returns the next slot in ring order once
 * its previous copy has completed (waiting for it when needed), grown to at least nbytes; the
 * host fills it, fci_pinned_ring_copy queues its upload on the device's copy stream and records
 * the slot's event. The bookkeeping goes through 'hooks' so the ring logic runs without a GPU in
 * the tests; NULL hooks: cudaHostAlloc / cudaFreeHost / cudaEventSynchronize. */
typedef struct fci_pinned_hooks {
    void *(*alloc)(size_t nbytes);       /* NULL with the error set */
    void (*release)(void *p);
    fc_status (*wait)(void *event);      /* blocks until the slot's last copy is done */
} fci_pinned_hooks;
typedef struct fci_pinned_slot {
    void *p;
    size_t size;
    void *event;   /* cudaEvent_t (NULL until the first copy) */
    int pending;   /* a copy reading p was queued and not yet waited for */
} fci_pinned_slot;
#define FCI_PINNED_MAX_SLOTS 8
typedef struct fci_pinned_ring {
    int device, n_slots, next;
    fci_pinned_hooks hooks;
    fci_pinned_slot slot[FCI_PINNED_MAX_SLOTS];
    uint64_t n_allocs, n_waits;  /* host allocations made, waits that found a copy in flight */
} fci_pinned_ring;
/* n_slots in 2..FCI_PINNED_MAX_SLOTS; hooks may be NULL (the CUDA runtime's). */
fc_status fci_pinned_ring_init(fci_pinned_ring *r, int device, int n_slots, const fci_pinned_hooks *hooks);
/* The next slot, free and at least nbytes (rounded up to 1 MiB steps); NULL with the error set. */
fci_pinned_slot *fci_pinned_ring_acquire(fci_pinned_ring *r, size_t nbytes);
void fci_pinned_ring_free(fci_pinned_ring *r);

/* The device's copy stream (a cudaStream_t made on first use, for uploads that overlap compute);
 * NULL with the error set. */
void *fci_cuda_copy_stream(int device);
/* Makes the copy stream wait for everything queued so far on the compute stream. */
fc_status fci_cuda_copy_fence(int device);
/* Queues nbytes from slot s's pinned memory (at offset off) to dst on the copy stream, after all
 * work queued so far on the compute stream (dst may be a block that work just released). */
fc_status fci_pinned_copy(int device, fci_pinned_slot *s, size_t off, void *dst, size_t nbytes);
/* Ends the batch of copies from slot s: records its event on the copy stream and makes the
 * compute stream wait for it (no host wait: compute waits only for its own batch). */
fc_status fci_pinned_commit(int device, fci_pinned_slot *s);

/* Dynamic loss scaling on the device (src/ops/cuda/amp.cu via cuda_amp.c): g[n] *= inv in place
 * for each f32 gradient, setting *found (a device i32, zeroed by the caller) when any value was
 * inf or nan before scaling (torch's _amp_foreach_non_finite_check_and_unscale_). */
fc_status fci_cuda_unscale(int device, float *g, int64_t n, float inv, int32_t *found);
/* x[n] *= s in place (f32, contiguous). */
fc_status fci_cuda_scale(int device, float *x, int64_t n, float s);
/* y[n] = x[n] rounded to bf16 (dtype FC_DTYPE_BF16) or f16 and back to f32 (autocast's rounding
 * on the device; f16 overflows to inf as a cast does). */
fc_status fci_cuda_round_f32(int device, const float *x, float *y, int64_t n, fc_dtype dtype);

#endif
#endif
