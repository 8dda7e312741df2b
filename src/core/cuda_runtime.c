/* The CUDA runtime behind fastc: lazy initialization, one compute stream per device, host<->device
 * copies through pinned staging buffers, and the cuBLASLt / cuDNN handles.
 *
 * Nothing here runs until a CUDA tensor is asked for: a CUDA build on a machine without a GPU runs
 * every CPU program without touching the driver. All of fastc's device work is queued on one
 * stream per device, so a block the allocator hands out again is used after the work that freed
 * it, with no events (PyTorch's caching allocator relies on the same stream order). */
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_impl.h"

#define MAX_DEVICES 16
#define WORKSPACE_BYTES ((size_t)32 << 20) /* cuBLASLt: enough for every H100 GEMM algorithm */

typedef struct device_state {
    int ready;
    cudaStream_t stream;
    cublasLtHandle_t lt;
    void *lt_workspace;
    cudnnHandle_t dnn;
    cudaStream_t copy;     /* uploads that overlap compute (data loaders); made on first use */
    cudaEvent_t copy_fence; /* recorded on the compute stream, waited for by the copy stream */
} device_state;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int n_devices = -1;
static cudaError_t init_error = cudaSuccess;
static device_state devices[MAX_DEVICES];

static void runtime_cleanup(void);

static void init_runtime(void) {
    int n = 0;
    init_error = cudaGetDeviceCount(&n);
    n_devices = init_error == cudaSuccess ? (n < MAX_DEVICES ? n : MAX_DEVICES) : 0;
    if (init_error != cudaSuccess) cudaGetLastError(); /* not sticky: clear it */
}

int fci_cuda_count(void) {
    pthread_once(&init_once, init_runtime);
    return n_devices;
}

fc_status fci_cuda_status(const char *op, const char *what, int err) {
    if (err == cudaSuccess) return FC_OK;
    return fc_fail(FC_ERR_DEVICE, "%s: %s failed: %s (%s)", op, what,
                   cudaGetErrorString((cudaError_t)err), cudaGetErrorName((cudaError_t)err));
}

fc_status fci_cuda_launched(const char *op) {
    return fci_cuda_status(op, "kernel launch", cudaGetLastError());
}

/* The reason device d cannot be used, or FC_OK. */
static fc_status device_reason(const char *op, fc_device d) {
    if (fci_cuda_count() == 0) {
        if (init_error != cudaSuccess)
            return fc_fail(FC_ERR_DEVICE,
                           "%s: CUDA requested but no CUDA device was found (cudaGetDeviceCount: "
                           "%s)", op, cudaGetErrorString(init_error));
        return fc_fail(FC_ERR_DEVICE, "%s: CUDA requested but no CUDA device was found "
                                      "(cudaGetDeviceCount: 0 devices)", op);
    }
    if (d.index < 0 || d.index >= n_devices)
        return fc_fail(FC_ERR_DEVICE, "%s: expected a CUDA device index in 0..%d, found %s", op,
                       n_devices - 1, fc_device_name(d));
    return FC_OK;
}

fc_status fci_cuda_ensure(const char *op, fc_device d) {
    fc_status st = device_reason(op, d);
    if (st != FC_OK) return st;
    device_state *s = &devices[d.index];
    if ((st = fci_cuda_status(op, "cudaSetDevice", cudaSetDevice(d.index))) != FC_OK) return st;
    if (__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE)) return FC_OK;
    pthread_mutex_lock(&lock);
    if (!s->ready) {
        st = fci_cuda_status(op, "cudaStreamCreateWithFlags",
                             cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
        static int registered;
        if (st == FC_OK && !registered) registered = atexit(runtime_cleanup) == 0;
        if (st == FC_OK) __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&lock);
    return st;
}

void *fci_cuda_stream(int device) { return devices[device].stream; }

void *fci_cuda_copy_stream(int device) {
    device_state *s = &devices[device];
    pthread_mutex_lock(&lock);
    if (!s->copy) {
        cudaError_t e = cudaStreamCreateWithFlags(&s->copy, cudaStreamNonBlocking);
        if (e == cudaSuccess) e = cudaEventCreateWithFlags(&s->copy_fence, cudaEventDisableTiming);
        if (e != cudaSuccess) {
            if (s->copy) cudaStreamDestroy(s->copy);
            s->copy = NULL;
            cudaGetLastError();
            fci_cuda_status("dataloader", "creating the copy stream", e);
        }
    }
    pthread_mutex_unlock(&lock);
    return s->copy;
}

fc_status fci_cuda_copy_fence(int device) {
    device_state *s = &devices[device];
    if (!fci_cuda_copy_stream(device)) return fc_error_code();
    cudaError_t e = cudaEventRecord(s->copy_fence, s->stream);
    if (e == cudaSuccess) e = cudaStreamWaitEvent(s->copy, s->copy_fence, 0);
    return fci_cuda_status("dataloader", "ordering the copy stream after the compute stream", e);
}

void *fci_cublaslt(int device, void **workspace, size_t *workspace_bytes) {
    device_state *s = &devices[device];
    pthread_mutex_lock(&lock);
    if (!s->lt) {
        cublasStatus_t bs = cublasLtCreate(&s->lt);
        if (bs != CUBLAS_STATUS_SUCCESS) {
            s->lt = NULL;
            fc_fail(FC_ERR_DEVICE, "matmul: cublasLtCreate failed: %s", cublasLtGetStatusString(bs));
        } else if (cudaMalloc(&s->lt_workspace, WORKSPACE_BYTES) != cudaSuccess) {
            cudaGetLastError();
            s->lt_workspace = NULL; /* cuBLASLt runs without one, on fewer algorithms */
        }
    }
    pthread_mutex_unlock(&lock);
    *workspace = s->lt_workspace;
    *workspace_bytes = s->lt_workspace ? WORKSPACE_BYTES : 0;
    return s->lt;
}

void *fci_cudnn(int device) {
    device_state *s = &devices[device];
    pthread_mutex_lock(&lock);
    if (!s->dnn) {
        cudnnStatus_t ds = cudnnCreate(&s->dnn);
        if (ds != CUDNN_STATUS_SUCCESS) {
            s->dnn = NULL;
            fc_fail(FC_ERR_DEVICE, "cudnn: cudnnCreate failed: %s", cudnnGetErrorString(ds));
        } else {
            cudnnSetStream(s->dnn, s->stream);
        }
    }
    pthread_mutex_unlock(&lock);
    return s->dnn;
}

/* ---- pinned staging for host -> device copies ----
 * A pageable source cannot be copied asynchronously, so it is first memcpy'd into a pinned
 * buffer; the buffer is reused once the event recorded after its copy has completed. */
#define N_STAGING 8
typedef struct staging {
    void *p;
    size_t size;
    cudaEvent_t done;
    int used;
} staging;
static staging stage[N_STAGING];
static pthread_mutex_t stage_lock = PTHREAD_MUTEX_INITIALIZER;

/* A pinned buffer of at least n bytes whose last copy has finished, or -1 (then copy directly). */
static int stage_acquire(size_t n) {
    pthread_mutex_lock(&stage_lock);
    int pick = -1;
    for (int i = 0; i < N_STAGING && pick < 0; i++)
        if (stage[i].p && stage[i].size >= n && !stage[i].used &&
            cudaEventQuery(stage[i].done) == cudaSuccess)
            pick = i;
    for (int i = 0; i < N_STAGING && pick < 0; i++) {
        if (stage[i].used || (stage[i].p && cudaEventQuery(stage[i].done) != cudaSuccess)) continue;
        if (stage[i].p) { /* too small: replace it */
            cudaFreeHost(stage[i].p);
            cudaEventDestroy(stage[i].done);
            stage[i].p = NULL;
        }
        size_t size = n < ((size_t)1 << 20) ? ((size_t)1 << 20) : n;
        if (cudaHostAlloc(&stage[i].p, size, cudaHostAllocDefault) != cudaSuccess ||
            cudaEventCreateWithFlags(&stage[i].done, cudaEventDisableTiming) != cudaSuccess) {
            if (stage[i].p) cudaFreeHost(stage[i].p);
            stage[i].p = NULL;
            cudaGetLastError();
            break;
        }
        stage[i].size = size;
        pick = i;
    }
    cudaGetLastError(); /* cudaEventQuery's cudaErrorNotReady is not an error */
    if (pick >= 0) stage[pick].used = 1;
    pthread_mutex_unlock(&stage_lock);
    return pick;
}

fc_status fci_cuda_h2d(int device, void *dst, const void *src, size_t nbytes) {
    if (!nbytes) return FC_OK;
    cudaStream_t st = devices[device].stream;
    int i = stage_acquire(nbytes);
    if (i < 0) /* no pinned memory to be had: a synchronous copy from pageable memory */
        return fci_cuda_status("to", "cudaMemcpy (host to device)",
                               cudaMemcpy(dst, src, nbytes, cudaMemcpyHostToDevice));
    memcpy(stage[i].p, src, nbytes);
    cudaError_t e = cudaMemcpyAsync(dst, stage[i].p, nbytes, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess) e = cudaEventRecord(stage[i].done, st);
    pthread_mutex_lock(&stage_lock);
    stage[i].used = 0;
    pthread_mutex_unlock(&stage_lock);
    return fci_cuda_status("to", "cudaMemcpyAsync (host to device)", e);
}

fc_status fci_cuda_d2h(int device, void *dst, const void *src, size_t nbytes) {
    if (!nbytes) return FC_OK;
    cudaStream_t st = devices[device].stream;
    cudaError_t e = cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess) e = cudaStreamSynchronize(st);
    return fci_cuda_status("to", "cudaMemcpyAsync (device to host)", e);
}

fc_status fci_cuda_d2d(int device, void *dst, const void *src, size_t nbytes) {
    if (!nbytes) return FC_OK;
    return fci_cuda_status("copy", "cudaMemcpyAsync (device to device)",
                           cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice,
                                           devices[device].stream));
}

fc_status fci_cuda_memset0(int device, void *dst, size_t nbytes) {
    if (!nbytes) return FC_OK;
    return fci_cuda_status("zeros", "cudaMemsetAsync",
                           cudaMemsetAsync(dst, 0, nbytes, devices[device].stream));
}

fc_status fci_cuda_sync(fc_device d) {
    fc_status st = fci_cuda_ensure("cuda_synchronize", d);
    if (st != FC_OK) return st;
    return fci_cuda_status("cuda_synchronize", "cudaStreamSynchronize",
                           cudaStreamSynchronize(devices[d.index].stream));
}

/* Gives the cached blocks, pinned buffers and handles back at exit so leak checkers
 * (compute-sanitizer --leak-check, ASan) see a clean process. Registered with atexit when the
 * first device starts, i.e. after the CUDA runtime registered its own teardown, so it runs first. */
static void runtime_cleanup(void) {
    if (n_devices <= 0) return;
    fci_cuda_alloc_empty();
    for (int i = 0; i < N_STAGING; i++)
        if (stage[i].p) {
            cudaEventSynchronize(stage[i].done);
            cudaEventDestroy(stage[i].done);
            cudaFreeHost(stage[i].p);
            stage[i].p = NULL;
        }
    for (int d = 0; d < n_devices; d++) {
        device_state *s = &devices[d];
        if (!s->ready) continue;
        cudaSetDevice(d);
        cudaStreamSynchronize(s->stream);
        if (s->dnn) cudnnDestroy(s->dnn);
        if (s->lt) cublasLtDestroy(s->lt);
        if (s->lt_workspace) cudaFree(s->lt_workspace);
        if (s->copy) {
            cudaStreamSynchronize(s->copy);
            cudaEventDestroy(s->copy_fence);
            cudaStreamDestroy(s->copy);
        }
        cudaStreamDestroy(s->stream);
    }
}
