/* fci_copy_strided when a tensor is on a CUDA device: device to device in one kernel (any
 * strides, any dtypes), host <-> device through a contiguous buffer on each side when the layouts
 * or dtypes differ. */
#include <string.h>

#include "cuda_impl.h"
#include "ops/cuda/kernels.h"

/* A tensor header over a raw buffer: contiguous, shaped like t, of dtype dt, on device d. */
static fc_tensor header_over(const fc_tensor *t, fci_storage *st, void *data, fc_dtype dt,
                             fc_device d) {
    *st = (fci_storage){.refcount = 1, .data = data, .nbytes = 0, .device = d};
    fc_tensor h = {.refcount = 1, .storage = st, .ndim = t->ndim, .dtype = dt, .device = d};
    memcpy(h.shape, t->shape, sizeof h.shape);
    fci_contiguous_strides(h.ndim, h.shape, h.stride);
    return h;
}

static void *ptr(const fc_tensor *t) {
    return (char *)t->storage->data + (size_t)t->offset * fc_dtype_size(t->dtype);
}

static fc_status device_copy(fc_tensor *dst, const fc_tensor *src) {
    int64_t n = fc_tensor_numel(dst);
    int dev = dst->device.index;
    if (dst->dtype == src->dtype && fc_tensor_is_contiguous(dst) && fc_tensor_is_contiguous(src))
        return fci_cuda_d2d(dev, ptr(dst), ptr(src), (size_t)n * fc_dtype_size(dst->dtype));
    if (dst->ndim > FCI_CUDA_MAX_DIMS || src->ndim > FCI_CUDA_MAX_DIMS)
        return FCI_INTERNAL("copy: more than %d dims", FCI_CUDA_MAX_DIMS);
    /* walk dst's shape; src has the same numel, so view it at dst's shape when they differ */
    fci_cuda_geom g = {.ndim = dst->ndim};
    memcpy(g.shape, dst->shape, sizeof(int64_t) * (size_t)dst->ndim);
    memcpy(g.stride[0], dst->stride, sizeof(int64_t) * (size_t)dst->ndim);
    int same_shape = src->ndim == dst->ndim &&
                     !memcmp(src->shape, dst->shape, sizeof(int64_t) * (size_t)dst->ndim);
    if (same_shape) memcpy(g.stride[1], src->stride, sizeof(int64_t) * (size_t)dst->ndim);
    else if (fc_tensor_is_contiguous(src)) fci_contiguous_strides(dst->ndim, dst->shape, g.stride[1]);
    else { /* a reshape of a strided source: make it contiguous first */
        void *tmp = fci_cuda_alloc(dev, (size_t)n * fc_dtype_size(src->dtype));
        if (!tmp) return fc_error_code();
        fci_storage st;
        fc_tensor c = header_over(src, &st, tmp, src->dtype, src->device);
        fc_status s = device_copy(&c, src);
        if (s == FC_OK) {
            fci_contiguous_strides(dst->ndim, dst->shape, g.stride[1]);
            fci_cuda_copy_launch(fci_cuda_stream(dev), ptr(dst), dst->dtype, tmp, src->dtype, n, &g);
            s = fci_cuda_launched("copy");
        }
        fci_cuda_release(dev, tmp, (size_t)n * fc_dtype_size(src->dtype)); /* stream order */
        return s;
    }
    fci_cuda_copy_launch(fci_cuda_stream(dev), ptr(dst), dst->dtype, ptr(src), src->dtype, n, &g);
    return fci_cuda_launched("copy");
}

/* host -> device: src made contiguous in dst's dtype on the host, uploaded, then laid out. */
static fc_status upload(fc_tensor *dst, const fc_tensor *src) {
    int64_t n = fc_tensor_numel(dst);
    int dev = dst->device.index;
    size_t nbytes = (size_t)n * fc_dtype_size(dst->dtype);
    if (src->dtype == dst->dtype && fc_tensor_is_contiguous(src) && fc_tensor_is_contiguous(dst))
        return fci_cuda_h2d(dev, ptr(dst), ptr(src), nbytes);
    void *host = fci_alloc(nbytes), *dtmp = NULL;
    if (!host) return fc_error_code();
    fci_storage hs, ds;
    fc_tensor h = header_over(dst, &hs, host, dst->dtype, FC_CPU);
    fc_status s = fci_copy_strided(&h, src);
    if (s == FC_OK && fc_tensor_is_contiguous(dst)) {
        s = fci_cuda_h2d(dev, ptr(dst), host, nbytes);
    } else if (s == FC_OK) {
        dtmp = fci_cuda_alloc(dev, nbytes);
        s = dtmp ? fci_cuda_h2d(dev, dtmp, host, nbytes) : fc_error_code();
        if (s == FC_OK) {
            fc_tensor d = header_over(dst, &ds, dtmp, dst->dtype, dst->device);
            s = device_copy(dst, &d);
        }
        fci_cuda_release(dev, dtmp, nbytes);
    }
    fci_release(host, nbytes); /* h2d copied it into pinned staging before returning */
    return s;
}

/* device -> host: src made contiguous on the device, downloaded, then converted on the host. */
static fc_status download(fc_tensor *dst, const fc_tensor *src) {
    int64_t n = fc_tensor_numel(src);
    int dev = src->device.index;
    size_t nbytes = (size_t)n * fc_dtype_size(src->dtype);
    if (src->dtype == dst->dtype && fc_tensor_is_contiguous(src) && fc_tensor_is_contiguous(dst))
        return fci_cuda_d2h(dev, ptr(dst), ptr(src), nbytes);
    const void *from = ptr(src);
    void *dtmp = NULL, *host = NULL;
    fci_storage ds, hs;
    fc_status s = FC_OK;
    if (!fc_tensor_is_contiguous(src)) {
        if (!(dtmp = fci_cuda_alloc(dev, nbytes))) return fc_error_code();
        fc_tensor d = header_over(src, &ds, dtmp, src->dtype, src->device);
        s = device_copy(&d, src);
        from = dtmp;
    }
    if (s == FC_OK && !(host = fci_alloc(nbytes))) s = fc_error_code();
    if (s == FC_OK) s = fci_cuda_d2h(dev, host, from, nbytes);
    if (s == FC_OK) {
        fc_tensor h = header_over(src, &hs, host, src->dtype, FC_CPU);
        s = fci_copy_strided(dst, &h);
    }
    if (host) fci_release(host, nbytes);
    if (dtmp) fci_cuda_release(dev, dtmp, nbytes);
    return s;
}

fc_status fci_cuda_copy_strided(fc_tensor *dst, const fc_tensor *src) {
    if (fc_tensor_numel(dst) == 0) return FC_OK;
    fc_device dd = dst->device, sd = src->device;
    fc_status s = fci_cuda_ensure("copy", dd.type == FC_DEVICE_CUDA ? dd : sd);
    if (s != FC_OK) return s;
    if (dd.type == FC_DEVICE_CUDA && sd.type == FC_DEVICE_CUDA) {
        if (dd.index == sd.index) return device_copy(dst, src);
        /* between two GPUs: through the host (rare; peer copies are for the NCCL issue) */
        size_t nbytes = (size_t)fc_tensor_numel(src) * fc_dtype_size(src->dtype);
        void *host = fci_alloc(nbytes);
        if (!host) return fc_error_code();
        fci_storage hs;
        fc_tensor h = header_over(src, &hs, host, src->dtype, FC_CPU);
        s = download(&h, src);
        if (s == FC_OK && (s = fci_cuda_ensure("copy", dd)) == FC_OK) s = upload(dst, &h);
        fci_release(host, nbytes);
        return s;
    }
    return dd.type == FC_DEVICE_CUDA ? upload(dst, src) : download(dst, src);
}

fc_status fci_cuda_fill(fc_tensor *t, double v) {
    fc_status s = fci_cuda_ensure("fill", t->device);
    if (s != FC_OK) return s;
    int64_t n = fc_tensor_numel(t);
    if (v == 0.0) return fci_cuda_memset0(t->device.index, ptr(t), (size_t)n * fc_dtype_size(t->dtype));
    fci_cuda_fill_launch(fci_cuda_stream(t->device.index), ptr(t), t->dtype, v, n);
    return fci_cuda_launched("fill");
}
