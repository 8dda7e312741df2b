/* Tensors: a header (shape, strides, offset, dtype, device) over a refcounted storage. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core_impl.h"
#include "cuda_impl.h"

void fci_scope_forget(fc_tensor *t);  /* scope.c */
void fci_node_unref(struct fci_node *n); /* autograd/engine.c, through this hook */
void (*fci_node_unref_hook)(struct fci_node *n) = NULL;

int64_t fc_shape_numel(fc_shape s) {
    int64_t n = 1;
    for (int i = 0; i < s.ndim; i++) n *= s.d[i];
    return n;
}

char *fc_shape_str(fc_shape s, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s.ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)s.d[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

const char *fci_shape_str(int ndim, const int64_t *shape) {
    static _Thread_local char ring[8][160];
    static _Thread_local int next;
    char *buf = ring[next++ & 7];
    fc_shape s = {ndim, {0}};
    for (int i = 0; i < ndim && i < FC_MAX_DIMS; i++) s.d[i] = shape[i];
    return fc_shape_str(s, buf, 160);
}

const char *fci_tshape(const fc_tensor *t) { return fci_shape_str(t->ndim, t->shape); }

void fci_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i] > 0 ? shape[i] : 1;
    }
}

int fci_wrap_dim(const char *op, int dim, int ndim) {
    int n = ndim > 0 ? ndim : 1;
    int d = dim < 0 ? dim + n : dim;
    if (d < 0 || d >= n) {
        fc_fail(FC_ERR_ARG, "%s: dim %d is out of range for a tensor with %d dims", op, dim, ndim);
        return -1;
    }
    return d;
}

/* Device memory: the CUDA caching allocator; the runtime starts on the first CUDA tensor. */
static void *device_alloc(fc_device device, size_t nbytes) {
    if (device.type == FC_DEVICE_CPU) return fci_alloc(nbytes);
#if FASTC_CUDA
    if (device.type == FC_DEVICE_CUDA && fci_cuda_ensure("tensor", device) == FC_OK)
        return fci_cuda_alloc(device.index, nbytes);
    if (device.type == FC_DEVICE_CUDA) return NULL;
#endif
    fc_fail(FC_ERR_DEVICE, "tensor: CUDA requested (%s) but fastc was built without CUDA (configure with "
                           "the CUDA toolkit installed, -DFASTC_CUDA=ON)", fc_device_name(device));
    return NULL;
}

static void device_release(fc_device device, void *p, size_t nbytes) {
#if FASTC_CUDA
    if (device.type == FC_DEVICE_CUDA) {
        fci_cuda_release(device.index, p, nbytes);
        return;
    }
#endif
    fci_release(p, nbytes);
}

static fci_storage *storage_new(size_t nbytes, fc_device device) {
    fci_storage *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->data = device_alloc(device, nbytes ? nbytes : 1);
    if (!s->data) {
        fci_free(s);
        return NULL;
    }
    s->nbytes = nbytes ? nbytes : 1;
    s->refcount = 1;
    s->device = device;
    return s;
}

static void storage_unref(fci_storage *s) {
    if (!s || __atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) > 0) return;
    device_release(s->device, s->data, s->nbytes);
    fci_free(s);
}

static fc_tensor *header_new(void) {
    fc_tensor *t = fci_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->refcount = 1;
    t->scope_slot = -1;
    return t;
}

fc_tensor *fci_tensor_alloc(fc_shape shape, fc_dtype dtype, fc_device device) {
    if ((unsigned)dtype >= FC_DTYPE_COUNT) {
        fc_fail(FC_ERR_DTYPE, "tensor: unknown dtype %d", (int)dtype);
        return NULL;
    }
    if (shape.ndim < 0 || shape.ndim > FC_MAX_DIMS) {
        fc_fail(FC_ERR_SHAPE, "tensor: expected 0..%d dims, found %d", FC_MAX_DIMS, shape.ndim);
        return NULL;
    }
    for (int i = 0; i < shape.ndim; i++)
        if (shape.d[i] < 0) {
            fc_fail(FC_ERR_SHAPE, "tensor: expected sizes >= 0, found %s",
                    fci_shape_str(shape.ndim, shape.d));
            return NULL;
        }
    fc_tensor *t = header_new();
    if (!t) return NULL;
    t->storage = storage_new((size_t)fc_shape_numel(shape) * fc_dtype_size(dtype), device);
    if (!t->storage) {
        if (device.type != FC_DEVICE_CPU && fc_error_code() == FC_ERR_NOMEM)
            fci_error_prefix("tensor %s %s: ", fci_shape_str(shape.ndim, shape.d),
                             fc_dtype_name(dtype));
        fci_free(t);
        return NULL;
    }
    t->ndim = shape.ndim;
    memcpy(t->shape, shape.d, sizeof(int64_t) * (size_t)shape.ndim);
    fci_contiguous_strides(t->ndim, t->shape, t->stride);
    t->dtype = dtype;
    t->device = device;
    fci_scope_adopt(t);
    return t;
}

fc_tensor *fci_tensor_view(const fc_tensor *src, int ndim, const int64_t *shape,
                           const int64_t *stride, int64_t offset) {
    fc_tensor *t = header_new();
    if (!t) return NULL;
    __atomic_add_fetch(&src->storage->refcount, 1, __ATOMIC_RELAXED);
    t->storage = src->storage;
    t->offset = offset;
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    memcpy(t->stride, stride, sizeof(int64_t) * (size_t)ndim);
    t->dtype = src->dtype;
    t->device = src->device;
    fci_scope_adopt(t);
    return t;
}

fc_tensor *fc_tensor_ref(fc_tensor *t) {
    if (t) __atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED);
    return t;
}

/* Drops one reference without touching scope ownership (internal holders: graph nodes). */
void fci_tensor_unref(fc_tensor *t) {
    if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) > 0) return;
    if (t->scope) fci_scope_forget(t);
    if (t->grad) fci_tensor_unref(t->grad);
    if (t->grad_fn && fci_node_unref_hook) fci_node_unref_hook(t->grad_fn);
    storage_unref(t->storage);
    fci_free(t);
}

void fc_tensor_free(fc_tensor *t) {
    if (!t) return;
    if (t->scope) fci_scope_forget(t);
    fci_tensor_unref(t);
}

static fc_tensor *filled(fc_shape shape, const fc_tensor_opts *o, double v, int init) {
    fc_tensor *t = fci_tensor_alloc(shape, o->dtype, o->device);
    if (!t) return NULL;
    if (init && t->device.type != FC_DEVICE_CPU) {
#if FASTC_CUDA
        if (fci_cuda_fill(t, v) != FC_OK) {
            fc_tensor_free(t);
            return NULL;
        }
#endif
    } else if (init) {
        int64_t n = fc_shape_numel(shape);
        if (v == 0.0) memset(t->storage->data, 0, t->storage->nbytes);
        else if (t->dtype == FC_DTYPE_F32) {
            float *p = t->storage->data, f = (float)v;
            for (int64_t i = 0; i < n; i++) p[i] = f;
        } else {
            size_t es = fc_dtype_size(t->dtype);
            char *p = t->storage->data;
            for (int64_t i = 0; i < n; i++) fci_store_from_double(p + (size_t)i * es, t->dtype, v);
        }
    }
    if (o->requires_grad) {
        if (!fc_dtype_is_float(t->dtype)) {
            fc_tensor_free(t);
            fc_fail(FC_ERR_DTYPE, "tensor: only float tensors can require grad, found %s",
                    fc_dtype_name(o->dtype));
            return NULL;
        }
        t->requires_grad = 1;
    }
    return t;
}

fc_tensor *fc_tensor_new(fc_shape shape, fc_dtype dtype) {
    return filled(shape, &(fc_tensor_opts){.dtype = dtype}, 0.0, 1);
}
fc_tensor *fc_empty_(fc_shape shape, const fc_tensor_opts *o) { return filled(shape, o, 0, 0); }
fc_tensor *fc_zeros_(fc_shape shape, const fc_tensor_opts *o) { return filled(shape, o, 0, 1); }
fc_tensor *fc_ones_(fc_shape shape, const fc_tensor_opts *o) { return filled(shape, o, 1, 1); }
fc_tensor *fc_full_(fc_shape shape, double v, const fc_tensor_opts *o) {
    return filled(shape, o, v, 1);
}
fc_tensor *fc_scalar_(double v, const fc_tensor_opts *o) {
    return filled(FC_SCALAR_SHAPE, o, v, 1);
}

/* Values made on the host (arange, from_data) are built there and moved. */
fc_tensor *fc_arange_(double start, double end, double step, const fc_tensor_opts *o) {
    if (o->device.type != FC_DEVICE_CPU) {
        fc_tensor_opts h = *o;
        h.device = FC_CPU;
        return fci_move_or_free(fc_arange_(start, end, step, &h), o->device);
    }
    if (step == 0 || !isfinite(start) || !isfinite(end) || (end - start) / step < 0) {
        fc_fail(FC_ERR_ARG, "arange: expected a finite range reachable from start %g to end %g "
                            "by step %g", start, end, step);
        return NULL;
    }
    int64_t n = (int64_t)ceil((end - start) / step);
    fc_tensor *t = filled(FC_SHAPE(n), o, 0, 0);
    if (!t) return NULL;
    size_t es = fc_dtype_size(t->dtype);
    for (int64_t i = 0; i < n; i++)
        fci_store_from_double((char *)t->storage->data + (size_t)i * es, t->dtype, start + i * step);
    return t;
}

fc_tensor *fc_from_data_(const void *data, fc_shape shape, const fc_tensor_opts *o) {
    if (!data) {
        fc_fail(FC_ERR_ARG, "from_data: data is NULL");
        return NULL;
    }
    if (o->device.type != FC_DEVICE_CPU) {
        fc_tensor_opts h = *o;
        h.device = FC_CPU;
        return fci_move_or_free(fc_from_data_(data, shape, &h), o->device);
    }
    fc_tensor *t = filled(shape, o, 0, 0);
    if (t) memcpy(t->storage->data, data, (size_t)fc_shape_numel(shape) * fc_dtype_size(t->dtype));
    return t;
}

/* ---- metadata ---- */
int fc_tensor_ndim(const fc_tensor *t) { return t ? t->ndim : 0; }
const int64_t *fc_tensor_dims(const fc_tensor *t) { return t ? t->shape : NULL; }
const int64_t *fc_tensor_strides(const fc_tensor *t) { return t ? t->stride : NULL; }
int64_t fc_tensor_dim(const fc_tensor *t, int dim) {
    if (!t) return -1;
    int d = fci_wrap_dim("tensor_dim", dim, t->ndim);
    return d < 0 ? -1 : (t->ndim == 0 ? 1 : t->shape[d]);
}
fc_shape fc_tensor_shape(const fc_tensor *t) {
    fc_shape s = {0, {0}};
    if (!t) return s;
    s.ndim = t->ndim;
    memcpy(s.d, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    return s;
}
int64_t fc_tensor_numel(const fc_tensor *t) {
    if (!t) return 0;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}
fc_dtype fc_tensor_dtype(const fc_tensor *t) { return t ? t->dtype : FC_DTYPE_F32; }
fc_device fc_tensor_device(const fc_tensor *t) { return t ? t->device : FC_CPU; }
int fc_tensor_is_contiguous(const fc_tensor *t) {
    if (!t) return 0;
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s) return 0;
        s *= t->shape[i];
    }
    return 1;
}
void *fc_tensor_data(const fc_tensor *t) {
    if (!t) return NULL;
    return (char *)t->storage->data + (size_t)t->offset * fc_dtype_size(t->dtype);
}

/* Offset (elements) of the element at a flat row-major index. */
static int64_t flat_to_offset(const fc_tensor *t, int64_t flat) {
    int64_t off = 0;
    for (int i = t->ndim - 1; i >= 0; i--) {
        int64_t k = flat % t->shape[i];
        flat /= t->shape[i];
        off += k * t->stride[i];
    }
    return off;
}

double fc_tensor_get(const fc_tensor *t, int64_t i) {
    if (!t) return NAN;
    if (i < 0 || i >= fc_tensor_numel(t)) {
        fc_fail(FC_ERR_ARG, "tensor_get: index %lld out of range for %lld elements", (long long)i,
                (long long)fc_tensor_numel(t));
        return NAN;
    }
    if (t->device.type != FC_DEVICE_CPU) { /* one element, through the host */
        unsigned char v[8];
        fc_tensor one = *t;
        one.ndim = 0;
        one.offset = t->offset + flat_to_offset(t, i);
        fci_storage st = {.refcount = 1, .data = v, .nbytes = sizeof v, .device = FC_CPU};
        fc_tensor h = {.refcount = 1, .storage = &st, .dtype = t->dtype, .device = FC_CPU};
        if (fci_copy_strided(&h, &one) != FC_OK) return NAN;
        return fci_load_as_double(v, t->dtype);
    }
    const char *base = fc_tensor_data(t);
    return fci_load_as_double(base + (size_t)flat_to_offset(t, i) * fc_dtype_size(t->dtype),
                              t->dtype);
}

double fc_tensor_item(const fc_tensor *t) {
    if (!t) return NAN;
    if (fc_tensor_numel(t) != 1) {
        fc_fail(FC_ERR_SHAPE, "item: expected a tensor with one element, found shape %s",
                fci_tshape(t));
        return NAN;
    }
    return fc_tensor_get(t, 0);
}

/* Generic strided copy with dtype conversion. Fast paths for same-dtype contiguous data and for
 * f32 with a unit-stride last dim; the rest goes element by element. */
fc_status fci_copy_strided(fc_tensor *dst, const fc_tensor *src) {
    int64_t n = fc_tensor_numel(dst);
    if (n != fc_tensor_numel(src))
        return FCI_INTERNAL("copy: %lld vs %lld elements", (long long)n,
                            (long long)fc_tensor_numel(src));
#if FASTC_CUDA
    if (dst->device.type != FC_DEVICE_CPU || src->device.type != FC_DEVICE_CPU)
        return fci_cuda_copy_strided(dst, src);
#endif
    char *d = fc_tensor_data(dst);
    const char *s = fc_tensor_data(src);
    size_t des = fc_dtype_size(dst->dtype), ses = fc_dtype_size(src->dtype);
    if (dst->dtype == src->dtype && fc_tensor_is_contiguous(dst) && fc_tensor_is_contiguous(src)) {
        memmove(d, s, (size_t)n * des);
        return FC_OK;
    }
    if (dst->dtype == FC_DTYPE_F32 && src->dtype == FC_DTYPE_F32 && fc_tensor_is_contiguous(dst) &&
        src->ndim > 0) {
        int64_t inner = src->shape[src->ndim - 1], is = src->stride[src->ndim - 1];
        int64_t rows = inner ? n / inner : 0;
#pragma omp parallel for if (n > 65536)
        for (int64_t r = 0; r < rows; r++) {
            const float *sp = (const float *)s + flat_to_offset(src, r * inner);
            float *dp = (float *)d + r * inner;
            for (int64_t j = 0; j < inner; j++) dp[j] = sp[j * is];
        }
        return FC_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = fci_load_as_double(s + (size_t)flat_to_offset(src, i) * ses, src->dtype);
        fci_store_from_double(d + (size_t)flat_to_offset(dst, i) * des, dst->dtype, v);
    }
    return FC_OK;
}

fc_status fc_tensor_copy_out(const fc_tensor *t, void *buf, fc_dtype dtype) {
    if (!t) return fc_error_code() ? fc_error_code() : FC_ERR_ARG;
    fc_tensor tmp = {0};
    tmp.refcount = 1;
    fci_storage st = {.refcount = 1, .data = buf, .nbytes = 0, .device = FC_CPU};
    tmp.storage = &st;
    tmp.ndim = t->ndim;
    memcpy(tmp.shape, t->shape, sizeof tmp.shape);
    fci_contiguous_strides(t->ndim, t->shape, tmp.stride);
    tmp.dtype = dtype;
    return fci_copy_strided(&tmp, t);
}

void fc_tensor_print(const fc_tensor *t, const char *name, int max) {
    if (!t) {
        fprintf(stderr, "%s: NULL\n", name ? name : "tensor");
        return;
    }
    fprintf(stderr, "%s: %s %s%s [", name ? name : "tensor", fci_tshape(t), fc_dtype_name(t->dtype),
            t->requires_grad ? " requires_grad" : "");
    int64_t n = fc_tensor_numel(t);
    for (int64_t i = 0; i < n && i < max; i++) fprintf(stderr, i ? ", %.6g" : "%.6g", fc_tensor_get(t, i));
    fprintf(stderr, "%s]\n", n > max ? ", ..." : "");
}
