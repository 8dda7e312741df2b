/* Devices: the public face of the CUDA backend, in every build. Without FASTC_CUDA each query
 * answers "none" and each request fails with "fastc was built without CUDA"; with it, the work is
 * done by cuda_runtime.c, cuda_alloc.c and src/ops/cuda. */
#include <string.h>

#include "cuda_impl.h"
#include "fastc/cuda.h"

static int allow_tf32;
void fc_cuda_set_allow_tf32(int on) { __atomic_store_n(&allow_tf32, on != 0, __ATOMIC_RELAXED); }
int fc_cuda_allow_tf32(void) { return __atomic_load_n(&allow_tf32, __ATOMIC_RELAXED); }

static int conv_channels_last = -1; /* -1: NHWC for 16-bit convolutions only */
fc_status fc_cuda_set_conv_channels_last(int mode) {
    if (mode < -1 || mode > 1)
        return fc_fail(FC_ERR_ARG, "cuda_set_conv_channels_last: expected -1 (NHWC for bf16/f16 only, the "
                                   "default), 0 (never) or 1 (always), found %d", mode);
    __atomic_store_n(&conv_channels_last, mode, __ATOMIC_RELAXED);
    return FC_OK;
}
int fc_cuda_conv_channels_last(fc_dtype dtype) {
    int mode = __atomic_load_n(&conv_channels_last, __ATOMIC_RELAXED);
    return mode < 0 ? dtype == FC_DTYPE_BF16 || dtype == FC_DTYPE_F16 : mode;
}

#if FASTC_CUDA

int fc_cuda_is_built(void) { return 1; }
int fc_cuda_device_count(void) { return fci_cuda_count(); }
fc_status fc_cuda_check(fc_device d) {
    if (d.type != FC_DEVICE_CUDA) return FC_OK;
    return fci_cuda_ensure("cuda_check", d);
}
fc_status fc_cuda_synchronize(fc_device d) { return fci_cuda_sync(d); }
fc_cuda_memory_stats fc_cuda_memory_stats_get(void) { return fci_cuda_alloc_stats(); }
void fc_cuda_empty_cache(void) { fci_cuda_alloc_empty(); }

#else

static fc_status not_built(const char *op, fc_device d) {
    return fc_fail(FC_ERR_DEVICE, "%s: CUDA requested (%s) but fastc was built without CUDA (configure "
                                  "with the CUDA toolkit installed, -DFASTC_CUDA=ON)",
                   op, fc_device_name(d));
}
int fc_cuda_is_built(void) { return 0; }
int fc_cuda_device_count(void) { return 0; }
fc_status fc_cuda_check(fc_device d) {
    return d.type == FC_DEVICE_CUDA ? not_built("cuda_check", d) : FC_OK;
}
fc_status fc_cuda_synchronize(fc_device d) { return not_built("cuda_synchronize", d); }
fc_cuda_memory_stats fc_cuda_memory_stats_get(void) { return (fc_cuda_memory_stats){0}; }
void fc_cuda_empty_cache(void) {}

#endif

int fc_cuda_is_available(void) { return fc_cuda_device_count() > 0; }

/* Checks a device request: the type is known and, for CUDA, the backend can run it. */
static fc_status check_device(const char *op, fc_device d) {
    if (d.type == FC_DEVICE_CPU) return FC_OK;
    if (d.type != FC_DEVICE_CUDA)
        return fc_fail(FC_ERR_DEVICE, "%s: unknown device type %d", op, (int)d.type);
#if FASTC_CUDA
    return fci_cuda_ensure(op, d);
#else
    return not_built(op, d);
#endif
}

static int same_device(fc_device a, fc_device b) {
    return a.type == b.type && (a.type == FC_DEVICE_CPU || a.index == b.index);
}

fc_tensor *fc_tensor_to(fc_tensor *t, fc_device d) {
    if (!t) return NULL;
    if (check_device("tensor_to", d) != FC_OK) return NULL;
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(t), t->dtype, d);
    if (!y) return NULL;
    if (fci_copy_strided(y, t) != FC_OK) {
        fc_tensor_free(y);
        return NULL;
    }
    y->requires_grad = t->requires_grad && !t->grad_fn;
    return y;
}

/* Moves one tensor's data in place: a new storage on d replaces the old one. */
static fc_status move_one(fc_tensor *t, fc_device d) {
    if (same_device(t->device, d)) return FC_OK;
    fc_tensor *moved = fci_tensor_alloc(fc_tensor_shape(t), t->dtype, d);
    if (!moved) return fc_error_code();
    fc_keep(moved);
    fc_status st = fci_copy_strided(moved, t);
    if (st == FC_OK) { /* swap storages: t takes the new one, 'moved' releases the old */
        fci_storage *old = t->storage;
        t->storage = moved->storage;
        moved->storage = old;
        t->offset = 0;
        memcpy(t->stride, moved->stride, sizeof t->stride);
        t->device = d;
    }
    fc_tensor_free(moved);
    return st;
}

fc_status fc_tensor_move_(fc_tensor *t, fc_device d) {
    if (!t) return fc_error_code() ? fc_error_code() : FC_ERR_ARG;
    fc_status st = check_device("tensor_move_", d);
    if (st == FC_OK) st = move_one(t, d);
    if (st == FC_OK && t->grad) st = move_one(t->grad, d);
    return st;
}

fc_tensor *fci_move_or_free(fc_tensor *t, fc_device d) {
    if (!t || same_device(t->device, d)) return t;
    if (fc_tensor_move_(t, d) != FC_OK) {
        fc_tensor_free(t);
        return NULL;
    }
    return t;
}
