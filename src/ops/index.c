/* Indexing: index_select, gather, scatter_add (PyTorch semantics; indices i64 or i32, checked to be
 * in range with the position and value of the first bad one). */
#include <string.h>

#include "cpu/index.h"
#include "fastc/cuda.h"
#include "ops_impl.h"

/* Contiguous i64 copy (or reference) of index with every value in [0, bound); released with
 * fci_tensor_unref. 'bound' is the size of x along 'dim'. */
static fc_tensor *index_i64(const char *op, fc_tensor *index, const fc_tensor *x, int dim,
                            int64_t bound) {
    if (fci_check_index_dtype(op, "index", index) || fci_check_device(op, index)) return NULL;
    fc_tensor *t;
    if (index->dtype == FC_DTYPE_I64 && fc_tensor_is_contiguous(index)) {
        t = fc_tensor_ref(index);
    } else {
        t = fci_tensor_alloc(fc_tensor_shape(index), FC_DTYPE_I64, index->device);
        if (!t) return NULL;
        fc_keep(t);
        int64_t *d = fc_tensor_data(t), n = fc_tensor_numel(t);
        fc_status st = FC_OK;
        if (index->dtype == FC_DTYPE_I32 && fc_tensor_is_contiguous(index) &&
            index->device.type == FC_DEVICE_CPU) {
            const int32_t *s = fc_tensor_data(index);
            for (int64_t i = 0; i < n; i++) d[i] = s[i];
        } else {
            st = fci_copy_strided(t, index);
        }
        if (st != FC_OK) {
            fci_tensor_unref(t);
            return NULL;
        }
    }
    /* CUDA indices are checked on a host copy (n i64): a bad index must fail clearly, not read
     * or write outside x */
    fc_tensor *th = t->device.type == FC_DEVICE_CPU ? fc_tensor_ref(t) : fc_keep(fc_tensor_to(t, FC_CPU));
    if (!th) {
        fci_tensor_unref(t);
        return NULL;
    }
    const int64_t *v = fc_tensor_data(th);
    int64_t n = fc_tensor_numel(th);
    for (int64_t i = 0; i < n; i++) {
        if (v[i] >= 0 && v[i] < bound) continue;
        int64_t pos[FC_MAX_DIMS], r = i;
        for (int k = t->ndim - 1; k >= 0; k--) {
            pos[k] = r % t->shape[k];
            r /= t->shape[k];
        }
        fc_fail(FC_ERR_ARG, "%s: index %lld at position %s is out of range for dim %d of size "
                            "%lld (x shape %s)", op, (long long)v[i],
                fci_shape_str(t->ndim, pos), dim, (long long)bound, fci_tshape(x));
        fci_tensor_unref(th);
        fci_tensor_unref(t);
        return NULL;
    }
    fci_tensor_unref(th);
    return t;
}

static void outer_inner(const fc_tensor *x, int d, int64_t *outer, int64_t *inner) {
    *outer = *inner = 1;
    for (int k = 0; k < d; k++) *outer *= x->shape[k];
    for (int k = d + 1; k < x->ndim; k++) *inner *= x->shape[k];
}

/* ---- index_select ---- */

/* gx = zeros(x); gx[.., idx[i], ..] += gy[.., i, ..]. ip[0]: dim; saved[0]: i64 index */
static fc_status index_select_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *x = n->in[0], *idx = n->saved[0];
    int d = (int)n->ip[0];
    fc_tensor *g = fc_zeros(fc_tensor_shape(x), .device = x->device);
    fc_tensor *gc = g ? fci_contig_f32_any("index_select", gy) : NULL;
    if (!gc) return fc_error_code();
    int64_t outer, inner;
    outer_inner(x, d, &outer, &inner);
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        fci_cuda_index_add_launch(FCI_STREAM(x), fc_tensor_data(g), fc_tensor_data(gc), fc_tensor_data(idx),
                                  outer, x->shape[d], fc_tensor_numel(idx), inner);
        fci_tensor_unref(gc);
        gx[0] = g;
        return fci_cuda_launched("index_select");
    }
#endif
    fci_index_add_f32(fc_tensor_data(g), fc_tensor_data(gc), fc_tensor_data(idx), outer,
                      x->shape[d], fc_tensor_numel(idx), inner);
    fci_tensor_unref(gc);
    gx[0] = g;
    return FC_OK;
}
static const fci_op op_index_select = {"index_select", index_select_bwd};

/* Any dtype other than f32 (labels, masks): a plain row copy; such tensors carry no gradient. */
static fc_tensor *index_select_bytes(fc_tensor *x, int d, fc_tensor *idx) {
    fc_tensor *xc = fc_contiguous(x);
    fc_shape s = fc_tensor_shape(x);
    s.d[d] = fc_tensor_numel(idx);
    fc_tensor *y = xc ? fci_tensor_alloc(s, x->dtype, x->device) : NULL;
    if (y) {
        int64_t outer, inner;
        outer_inner(x, d, &outer, &inner);
#if FASTC_CUDA
        if (FCI_IS_CUDA(x)) {
            fci_cuda_index_select_launch(FCI_STREAM(x), fc_tensor_data(y), fc_tensor_data(xc), fc_tensor_data(idx),
                                         outer, x->shape[d], s.d[d], inner, (int64_t)fc_dtype_size(x->dtype));
            fc_tensor_free(xc);
            if (fci_cuda_launched("index_select") == FC_OK) return y;
            fc_tensor_free(y);
            return NULL;
        }
#endif
        size_t row = (size_t)inner * fc_dtype_size(x->dtype);
        const int64_t *iv = fc_tensor_data(idx);
        const char *src = fc_tensor_data(xc);
        char *dst = fc_tensor_data(y);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < s.d[d]; i++)
                memcpy(dst + (size_t)(o * s.d[d] + i) * row,
                       src + (size_t)(o * x->shape[d] + iv[i]) * row, row);
    }
    fc_tensor_free(xc);
    return y;
}

fc_tensor *fc_index_select(fc_tensor *x, int dim, fc_tensor *index) {
    if (!x || !index) return NULL;
    const char *op = "index_select";
    if (x->dtype != FC_DTYPE_F32 && !fc_dtype_is_float(x->dtype) && x->ndim > 0) {
        int d = fci_wrap_dim(op, dim, x->ndim);
        if (d < 0 || fci_check_device(op, x) || fci_check_same_device(op, x, index)) return NULL;
        if (index->ndim > 1) {
            fc_fail(FC_ERR_SHAPE, "index_select: expected a 1-dim index, found shape %s",
                    fci_tshape(index));
            return NULL;
        }
        fc_tensor *idx = index_i64(op, index, x, d, x->shape[d]);
        fc_tensor *y = idx ? index_select_bytes(x, d, idx) : NULL;
        fci_tensor_unref(idx);
        return y;
    }
    if (fci_check_float32(op, "x", x) || fci_check_device(op, x) ||
        fci_check_same_device(op, x, index))
        return NULL;
    if (x->ndim == 0) {
        fc_fail(FC_ERR_SHAPE, "index_select: expected x with at least 1 dim, found a 0-dim tensor");
        return NULL;
    }
    if (index->ndim > 1) {
        fc_fail(FC_ERR_SHAPE, "index_select: expected a 1-dim index, found shape %s",
                fci_tshape(index));
        return NULL;
    }
    int d = fci_wrap_dim(op, dim, x->ndim);
    if (d < 0) return NULL;
    fc_tensor *idx = index_i64(op, index, x, d, x->shape[d]);
    if (!idx) return NULL;
    fc_tensor *xc = fci_contig_f32_any(op, x);
    fc_shape s = fc_tensor_shape(x);
    s.d[d] = fc_tensor_numel(idx);
    fc_tensor *y = xc ? fci_tensor_alloc(s, FC_DTYPE_F32, x->device) : NULL;
#if FASTC_CUDA
    if (y && FCI_IS_CUDA(x)) {
        int64_t outer, inner;
        outer_inner(x, d, &outer, &inner);
        fci_cuda_index_select_launch(FCI_STREAM(x), fc_tensor_data(y), fc_tensor_data(xc), fc_tensor_data(idx),
                                     outer, x->shape[d], s.d[d], inner, (int64_t)sizeof(float));
        if (fci_cuda_launched(op) != FC_OK) {
            fc_tensor_free(y);
            y = NULL;
        }
    } else
#endif
    if (y) {
        int64_t outer, inner;
        outer_inner(x, d, &outer, &inner);
        fci_index_select_f32(fc_tensor_data(y), fc_tensor_data(xc), fc_tensor_data(idx), outer,
                             x->shape[d], s.d[d], inner);
    }
    fci_tensor_unref(xc);
    if (y && fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(&op_index_select, y, 1, &x);
        if (n) {
            n->ip[0] = d;
            fci_save(n, 0, idx);
        } else y = NULL;
    }
    fci_tensor_unref(idx);
    return y;
}

/* ---- gather and scatter_add on either device: the CPU loops or their CUDA twins ---- */

/* y (contiguous, idx's shape) = x gathered along dim d; x any strides. */
static fc_status gather_run(const char *op, float *y, const fc_tensor *x, const float *xp,
                            const int64_t *x_stride, const fc_tensor *idx, int d) {
    if (fc_tensor_numel(idx) == 0) return FC_OK;
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        fci_cuda_gather_geom g = {.ndim = idx->ndim, .dim = d};
        memcpy(g.shape, idx->shape, sizeof(int64_t) * (size_t)idx->ndim);
        memcpy(g.a_stride, x_stride, sizeof(int64_t) * (size_t)idx->ndim);
        fci_cuda_gather_launch(FCI_STREAM(x), y, xp, fc_tensor_data(idx), &g);
        return fci_cuda_launched(op);
    }
#endif
    (void)op;
    fci_gather_f32(y, xp, x_stride, fc_tensor_data(idx), idx->shape, idx->ndim, d);
    return FC_OK;
}

/* y[.. idx ..] += src along dim d over idx's shape; y and src any strides. */
static fc_status scatter_add_run(const char *op, fc_tensor *y, const fc_tensor *src, const fc_tensor *idx, int d) {
    if (fc_tensor_numel(idx) == 0) return FC_OK;
#if FASTC_CUDA
    if (FCI_IS_CUDA(y)) {
        fci_cuda_gather_geom g = {.ndim = idx->ndim, .dim = d};
        memcpy(g.shape, idx->shape, sizeof(int64_t) * (size_t)idx->ndim);
        memcpy(g.a_stride, y->stride, sizeof(int64_t) * (size_t)idx->ndim);
        memcpy(g.b_stride, src->stride, sizeof(int64_t) * (size_t)idx->ndim);
        fci_cuda_scatter_add_launch(FCI_STREAM(y), fc_tensor_data(y), fc_tensor_data(src), fc_tensor_data(idx), &g);
        return fci_cuda_launched(op);
    }
#endif
    (void)op;
    fci_scatter_add_f32(fc_tensor_data(y), y->stride, fc_tensor_data(src), src->stride,
                        fc_tensor_data(idx), idx->shape, idx->ndim, d);
    return FC_OK;
}

/* ---- gather ---- */

/* Checks index against x (and src for scatter_add) as PyTorch does: same ndim, index.size(k) <=
 * x.size(k) for k != dim, index.size(k) <= src.size(k) for all k. Returns the wrapped dim or -1. */
static int check_gather_shapes(const char *op, const fc_tensor *x, int dim, const fc_tensor *index,
                               const fc_tensor *src) {
    if (x->ndim == 0) {
        fc_fail(FC_ERR_SHAPE, "%s: expected x with at least 1 dim, found a 0-dim tensor", op);
        return -1;
    }
    int d = fci_wrap_dim(op, dim, x->ndim);
    if (d < 0) return -1;
    if (index->ndim != x->ndim || (src && src->ndim != x->ndim)) {
        fc_fail(FC_ERR_SHAPE, "%s: expected index%s with as many dims as x %s, found index %s%s%s",
                op, src ? " and src" : "", fci_tshape(x), fci_tshape(index), src ? ", src " : "",
                src ? fci_tshape(src) : "");
        return -1;
    }
    for (int k = 0; k < x->ndim; k++) {
        if ((k != d && index->shape[k] > x->shape[k]) || (src && index->shape[k] > src->shape[k])) {
            fc_fail(FC_ERR_SHAPE, "%s: expected index.size(%d) <= %s.size(%d), found index %s, "
                                  "x %s%s%s (dim %d)", op, k, k != d && index->shape[k] >
                                  x->shape[k] ? "x" : "src", k, fci_tshape(index), fci_tshape(x),
                    src ? ", src " : "", src ? fci_tshape(src) : "", d);
            return -1;
        }
    }
    return d;
}

/* gx = zeros(x) with gy scatter-added at idx. ip[0]: dim; saved[0]: i64 index */
static fc_status gather_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *x = n->in[0], *idx = n->saved[0];
    fc_tensor *g = fc_zeros(fc_tensor_shape(x), .device = x->device);
    if (!g) return fc_error_code();
    fc_status st = fc_tensor_numel(gy) > 0 ? scatter_add_run("gather", g, gy, idx, (int)n->ip[0]) : FC_OK;
    gx[0] = g;
    return st;
}
static const fci_op op_gather = {"gather", gather_bwd};

fc_tensor *fc_gather(fc_tensor *x, int dim, fc_tensor *index) {
    if (!x || !index) return NULL;
    const char *op = "gather";
    if (fci_check_float32(op, "x", x) || fci_check_device(op, x) ||
        fci_check_same_device(op, x, index))
        return NULL;
    int d = check_gather_shapes(op, x, dim, index, NULL);
    if (d < 0) return NULL;
    fc_tensor *idx = index_i64(op, index, x, d, x->shape[d]);
    if (!idx) return NULL;
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(idx), FC_DTYPE_F32, x->device);
    if (y && gather_run(op, fc_tensor_data(y), x, fc_tensor_data(x), x->stride, idx, d) != FC_OK) {
        fc_tensor_free(y);
        y = NULL;
    }
    if (y && fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(&op_gather, y, 1, &x);
        if (n) {
            n->ip[0] = d;
            fci_save(n, 0, idx);
        } else y = NULL;
    }
    fci_tensor_unref(idx);
    return y;
}

/* ---- scatter_add ---- */

/* gx = gy; gsrc = gather(gy, dim, idx), zero where src reaches past the index. ip[0]: dim */
static fc_status scatter_add_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *src = n->in[1], *idx = n->saved[0];
    if (fci_node_needs_grad(n, 0) &&
        !(gx[0] = fci_tensor_view(gy, gy->ndim, gy->shape, gy->stride, gy->offset)))
        return fc_error_code();
    if (!fci_node_needs_grad(n, 1)) return FC_OK;
    fc_tensor *g = fc_zeros(fc_tensor_shape(src), .device = src->device);
    if (!g) return fc_error_code();
    fc_tensor *win = fci_tensor_view(g, idx->ndim, idx->shape, g->stride, g->offset);
    if (!win) return fc_error_code();
    if (fc_tensor_numel(idx) > 0) {
        if (fc_tensor_is_contiguous(win)) {
            fc_status st = gather_run("scatter_add", fc_tensor_data(win), gy, fc_tensor_data(gy), gy->stride, idx,
                                      (int)n->ip[0]);
            if (st != FC_OK) return st;
        } else {
            fc_tensor *t = fci_tensor_alloc(fc_tensor_shape(idx), FC_DTYPE_F32, gy->device);
            if (!t) return fc_error_code();
            fc_status st = gather_run("scatter_add", fc_tensor_data(t), gy, fc_tensor_data(gy), gy->stride, idx,
                                      (int)n->ip[0]);
            if (st == FC_OK) st = fci_copy_strided(win, t);
            fc_tensor_free(t);
            if (st != FC_OK) return st;
        }
    }
    fc_tensor_free(win);
    gx[1] = g;
    return FC_OK;
}
static const fci_op op_scatter_add = {"scatter_add", scatter_add_bwd};

fc_tensor *fc_scatter_add(fc_tensor *x, int dim, fc_tensor *index, fc_tensor *src) {
    if (!x || !index || !src) return NULL;
    const char *op = "scatter_add";
    if (fci_check_float32(op, "x", x) || fci_check_float32(op, "src", src) ||
        fci_check_device(op, x) || fci_check_same_device(op, x, index) ||
        fci_check_same_device(op, x, src))
        return NULL;
    int d = check_gather_shapes(op, x, dim, index, src);
    if (d < 0) return NULL;
    fc_tensor *idx = index_i64(op, index, x, d, x->shape[d]);
    if (!idx) return NULL;
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
    if (y && fci_copy_strided(y, x) != FC_OK) {
        fc_tensor_free(y);
        y = NULL;
    }
    if (y && scatter_add_run(op, y, src, idx, d) != FC_OK) {
        fc_tensor_free(y);
        y = NULL;
    }
    fc_tensor *in[2] = {x, src};
    if (y && fci_grad_needed(2, in)) {
        fci_node *n = fci_record(&op_scatter_add, y, 2, in);
        if (n) {
            n->ip[0] = d;
            fci_save(n, 0, idx);
        } else y = NULL;
    }
    fci_tensor_unref(idx);
    return y;
}
