/* Constant padding (torch.nn.functional.pad, mode="constant") and flip. */
#include <string.h>

#include "cpu/join.h"
#include "ops_impl.h"

/* fill[0..n_fill) = value (n_fill 0: none), then dst (dst_stride) = src (src_stride, may be
 * negative) over shape; f32 on dev. */
static fc_status copy_nd(const char *op, fc_device dev, float *fill, int64_t n_fill, float value, float *dst,
                         const int64_t *dst_stride, const float *src, const int64_t *src_stride,
                         const int64_t *shape, int ndim) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
#if FASTC_CUDA
    if (dev.type == FC_DEVICE_CUDA) {
        void *stream = fci_cuda_stream(dev.index);
        if (n_fill > 0) fci_cuda_fill_launch(stream, fill, FC_DTYPE_F32, value, n_fill);
        fci_cuda_geom g = {.ndim = ndim};
        memcpy(g.shape, shape, sizeof(int64_t) * (size_t)ndim);
        memcpy(g.stride[0], dst_stride, sizeof(int64_t) * (size_t)ndim);
        memcpy(g.stride[1], src_stride, sizeof(int64_t) * (size_t)ndim);
        if (n > 0) fci_cuda_copy_launch(stream, dst, FC_DTYPE_F32, src, FC_DTYPE_F32, n, &g);
        return fci_cuda_launched(op);
    }
#endif
    (void)op;
    (void)dev;
    if (n_fill > 0) fci_fill_f32(fill, n_fill, value);
    if (n > 0) fci_copy_nd_f32(dst, dst_stride, src, src_stride, shape, ndim);
    return FC_OK;
}

/* ---- pad ---- */

/* The gradient of padding is cropping by the same amounts (and padding with zeros where the
 * forward cropped): pad(gy, -pads). fp[0]: number of pads (at most FC_MAX_DIMS), ip[0..]: the pads */
static fc_status pad_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_shape neg = {(int)n->fp[0], {0}};
    for (int i = 0; i < neg.ndim; i++) neg.d[i] = -n->ip[i];
    gx[0] = fc_pad(gy, neg, 0.0);
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_pad = {"pad", pad_bwd};

fc_tensor *fc_pad(fc_tensor *x, fc_shape pads, double value) {
    if (!x) return NULL;
    if (fci_check_float32("pad", "x", x) || fci_check_device("pad", x)) return NULL;
    if (pads.ndim < 0 || pads.ndim % 2 || pads.ndim / 2 > x->ndim) {
        fc_fail(FC_ERR_ARG, "pad: expected an even number of pads, at most %d for x of shape %s, "
                            "found %d", 2 * x->ndim, fci_tshape(x), pads.ndim);
        return NULL;
    }
    fc_shape s = fc_tensor_shape(x);
    /* the window of x that survives, and where it lands in y */
    int64_t xoff = 0, yoff = 0, win[FC_MAX_DIMS], ystart[FC_MAX_DIMS] = {0};
    memcpy(win, x->shape, sizeof win);
    for (int k = 0; k < pads.ndim / 2; k++) {
        int d = x->ndim - 1 - k;
        int64_t l = pads.d[2 * k], r = pads.d[2 * k + 1];
        s.d[d] = x->shape[d] + l + r;
        if (s.d[d] < 0) {
            fc_fail(FC_ERR_SHAPE, "pad: pads (%lld, %lld) on dim %d of x %s give a negative size "
                                  "%lld", (long long)l, (long long)r, d, fci_tshape(x),
                    (long long)s.d[d]);
            return NULL;
        }
        int64_t cl = l < 0 ? -l : 0, cr = r < 0 ? -r : 0;
        win[d] = x->shape[d] - cl - cr;
        if (win[d] < 0) win[d] = 0;
        xoff += cl * x->stride[d];
        ystart[d] = l > 0 ? l : 0;
    }
    fc_tensor *y = fci_tensor_alloc(s, FC_DTYPE_F32, x->device);
    if (!y) return NULL;
    for (int d = 0; d < y->ndim; d++) yoff += ystart[d] * y->stride[d];
    float *py = fc_tensor_data(y);
    int64_t ny = fc_tensor_numel(y), nw = 1;
    for (int d = 0; d < x->ndim; d++) nw *= win[d];
    if (copy_nd("pad", x->device, py, nw != ny ? ny : 0, (float)value, py + yoff, y->stride,
                fc_tensor_data_f32(x) + xoff, x->stride, win, x->ndim) != FC_OK) {
        fc_tensor_free(y);
        return NULL;
    }
    if (fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(&op_pad, y, 1, &x);
        if (!n) return NULL;
        n->fp[0] = pads.ndim;
        for (int i = 0; i < pads.ndim; i++) n->ip[i] = pads.d[i];
    }
    return y;
}

/* ---- flip ---- */

/* ip[0..ndim): 1 where the dim is flipped */
static fc_status flip_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_shape dims = {0, {0}};
    for (int d = 0; d < gy->ndim; d++)
        if (n->ip[d]) dims.d[dims.ndim++] = d;
    gx[0] = fc_flip(gy, dims);
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_flip = {"flip", flip_bwd};

fc_tensor *fc_flip(fc_tensor *x, fc_shape dims) {
    if (!x) return NULL;
    if (fci_check_float32("flip", "x", x) || fci_check_device("flip", x)) return NULL;
    if (dims.ndim < 0 || dims.ndim > FC_MAX_DIMS) {
        fc_fail(FC_ERR_ARG, "flip: expected at most %d dims, found %d", FC_MAX_DIMS, dims.ndim);
        return NULL;
    }
    int flip[FC_MAX_DIMS] = {0};
    for (int i = 0; i < dims.ndim; i++) {
        int d = fci_wrap_dim("flip", (int)dims.d[i], x->ndim);
        if (d < 0) return NULL;
        if (flip[d]++) {
            fc_fail(FC_ERR_ARG, "flip: dim %d appears twice in %s", d,
                    fci_shape_str(dims.ndim, dims.d));
            return NULL;
        }
    }
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
    if (!y) return NULL;
    /* read x through negative strides on the flipped dims */
    int64_t st[FC_MAX_DIMS], off = 0;
    for (int d = 0; d < x->ndim; d++) {
        st[d] = flip[d] ? -x->stride[d] : x->stride[d];
        if (flip[d] && x->shape[d] > 0) off += (x->shape[d] - 1) * x->stride[d];
    }
    if (copy_nd("flip", x->device, NULL, 0, 0.0f, fc_tensor_data(y), y->stride, fc_tensor_data_f32(x) + off,
                st, x->shape, x->ndim) != FC_OK) {
        fc_tensor_free(y);
        return NULL;
    }
    if (fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(&op_flip, y, 1, &x);
        if (!n) return NULL;
        for (int d = 0; d < x->ndim; d++) n->ip[d] = flip[d];
    }
    return y;
}
