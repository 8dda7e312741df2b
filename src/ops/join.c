/* Joining and splitting: cat, stack (unsqueeze + cat), split (views made with narrow). */
#include <string.h>

#include "cpu/join.h"
#include "ops_impl.h"

/* Copies src (any strides) into dst (any strides) of the same shape. */
static fc_status copy_into(fc_tensor *dst, const fc_tensor *src) {
    if (dst->dtype == FC_DTYPE_F32 && src->dtype == FC_DTYPE_F32 && dst->device.type == FC_DEVICE_CPU) {
        fci_copy_nd_f32(fc_tensor_data(dst), dst->stride, fc_tensor_data(src), src->stride,
                        dst->shape, dst->ndim);
        return FC_OK;
    }
    return fci_copy_strided(dst, src);
}

/* ---- cat ---- */

/* gx[i] = gy narrowed to input i's range along dim (a view). ip[0]: dim */
static fc_status cat_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    int d = (int)n->ip[0];
    int64_t start = 0;
    for (int i = 0; i < n->n_in; i++) {
        int64_t len = n->in[i]->shape[d];
        if (fci_node_needs_grad(n, i) && !(gx[i] = fc_narrow(gy, d, start, len)))
            return fc_error_code();
        start += len;
    }
    return FC_OK;
}
static const fci_op op_cat = {"cat", cat_bwd};

/* Checks the inputs of cat; sets *dim (wrapped) and the output shape. 0 when fine. */
static int cat_check(fc_tensor_list xs, int dim, int *d_out, fc_shape *out) {
    if (xs.n < 1 || !xs.t) {
        fc_fail(FC_ERR_ARG, "cat: expected at least one tensor, found %d", xs.n);
        return 1;
    }
    for (int i = 0; i < xs.n; i++)
        if (!xs.t[i]) {
            if (!fc_error_code()) fc_fail(FC_ERR_ARG, "cat: input %d is NULL", i);
            return 1;
        }
    fc_tensor *x0 = xs.t[0];
    if (x0->ndim == 0) {
        fc_fail(FC_ERR_SHAPE, "cat: expected tensors with at least 1 dim, found a 0-dim input 0");
        return 1;
    }
    int d = fci_wrap_dim("cat", dim, x0->ndim);
    if (d < 0 || fci_check_device("cat", x0)) return 1;
    *out = fc_tensor_shape(x0);
    out->d[d] = 0;
    for (int i = 0; i < xs.n; i++) {
        fc_tensor *x = xs.t[i];
        if (fci_check_same_device("cat", x0, x)) return 1;
        if (x->dtype != x0->dtype) {
            fc_fail(FC_ERR_DTYPE, "cat: expected input %d of dtype %s (as input 0), found %s", i,
                    fc_dtype_name(x0->dtype), fc_dtype_name(x->dtype));
            return 1;
        }
        int ok = x->ndim == x0->ndim;
        for (int k = 0; ok && k < x->ndim; k++) ok = k == d || x->shape[k] == x0->shape[k];
        if (!ok) {
            fc_fail(FC_ERR_SHAPE, "cat: expected input %d to match input 0's shape %s except on "
                                  "dim %d, found %s", i, fci_tshape(x0), d, fci_tshape(x));
            return 1;
        }
        out->d[d] += x->shape[d];
    }
    *d_out = d;
    return 0;
}

fc_tensor *fc_cat(fc_tensor_list xs, int dim) {
    int d;
    fc_shape s;
    if (cat_check(xs, dim, &d, &s)) return NULL;
    fc_tensor *y = fci_tensor_alloc(s, xs.t[0]->dtype, xs.t[0]->device);
    if (!y) return NULL;
    int64_t start = 0, sh[FC_MAX_DIMS];
    memcpy(sh, y->shape, sizeof sh);
    for (int i = 0; i < xs.n; i++) {
        fc_tensor *x = xs.t[i];
        sh[d] = x->shape[d];
        fc_tensor *win = fci_tensor_view(y, y->ndim, sh, y->stride, y->offset + start * y->stride[d]);
        fc_status st = win ? copy_into(win, x) : fc_error_code();
        fc_tensor_free(win);
        if (st != FC_OK) {
            fc_tensor_free(y);
            return NULL;
        }
        start += sh[d];
    }
    if (fci_grad_needed(xs.n, xs.t)) {
        fci_node *n = fci_record(&op_cat, y, xs.n, xs.t);
        if (!n) return NULL;
        n->ip[0] = d;
    }
    return y;
}

/* ---- stack ---- */

fc_tensor *fc_stack(fc_tensor_list xs, int dim) {
    if (xs.n < 1 || !xs.t) {
        fc_fail(FC_ERR_ARG, "stack: expected at least one tensor, found %d", xs.n);
        return NULL;
    }
    for (int i = 0; i < xs.n; i++)
        if (!xs.t[i]) {
            if (!fc_error_code()) fc_fail(FC_ERR_ARG, "stack: input %d is NULL", i);
            return NULL;
        }
    fc_tensor *x0 = xs.t[0];
    for (int i = 1; i < xs.n; i++) {
        fc_tensor *x = xs.t[i];
        if (x->ndim != x0->ndim ||
            memcmp(x->shape, x0->shape, sizeof(int64_t) * (size_t)x->ndim)) {
            fc_fail(FC_ERR_SHAPE, "stack: expected input %d to have input 0's shape %s, found %s",
                    i, fci_tshape(x0), fci_tshape(x));
            return NULL;
        }
    }
    int d = fci_wrap_dim("stack", dim, x0->ndim + 1);
    if (d < 0) return NULL;
    fc_tensor **u = fci_calloc((size_t)xs.n, sizeof *u);
    if (!u) return NULL;
    fc_tensor *y = NULL;
    int i = 0;
    for (; i < xs.n; i++)
        if (!(u[i] = fc_unsqueeze(xs.t[i], d))) goto fail;
    y = fc_cat((fc_tensor_list){xs.n, u}, d);
fail:
    while (i-- > 0) fc_tensor_free(u[i]);
    fci_free(u);
    return y;
}

/* ---- split ---- */

int fc_split(fc_tensor *x, int64_t split_size, int dim, fc_tensor **out, int max_out) {
    if (!x) return fc_error_code() ? fc_error_code() : FC_ERR_ARG;
    if (x->ndim == 0)
        return fc_fail(FC_ERR_SHAPE, "split: expected a tensor with at least 1 dim, found 0-dim");
    int d = fci_wrap_dim("split", dim, x->ndim);
    if (d < 0) return fc_error_code();
    int64_t size = x->shape[d];
    if (split_size <= 0)
        return fc_fail(FC_ERR_ARG, "split: expected split_size > 0, found %lld",
                       (long long)split_size);
    int64_t count = size == 0 ? 1 : (size + split_size - 1) / split_size;
    if (!out || count > max_out)
        return fc_fail(FC_ERR_ARG, "split: %lld chunks of size %lld along dim %d of shape %s do "
                                   "not fit in an output array of %d", (long long)count,
                       (long long)split_size, d, fci_tshape(x), out ? max_out : 0);
    for (int64_t c = 0; c < count; c++) {
        int64_t start = c * split_size;
        int64_t len = size - start < split_size ? size - start : split_size;
        out[c] = fc_narrow(x, d, start, len);
        if (!out[c]) {
            while (c-- > 0) {
                fc_tensor_free(out[c]);
                out[c] = NULL;
            }
            return fc_error_code();
        }
    }
    return (int)count;
}
