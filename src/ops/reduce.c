/* Reductions: sum (any set of dims, keepdim) and sum_to (the inverse of broadcasting). The other
 * reductions build on the same axis walk. */
#include <string.h>

#include "ops_impl.h"

/* Parses a dim list into a mask; FC_ALL_DIMS (ndim 0) means every dim. */
int fci_dims_mask(const char *op, const fc_tensor *x, fc_shape dims, int *mask) {
    memset(mask, 0, sizeof(int) * FC_MAX_DIMS);
    if (dims.ndim == 0) {
        for (int i = 0; i < x->ndim; i++) mask[i] = 1;
        return 0;
    }
    for (int i = 0; i < dims.ndim; i++) {
        int d = fci_wrap_dim(op, (int)dims.d[i], x->ndim);
        if (d < 0) return 1;
        if (mask[d]) {
            fc_fail(FC_ERR_ARG, "%s: dim %d appears twice in %s", op, d,
                    fci_shape_str(dims.ndim, dims.d));
            return 1;
        }
        mask[d] = 1;
    }
    return 0;
}

/* Shape of the result with reduced dims kept as 1. */
static fc_shape kept_shape(const fc_tensor *x, const int *mask) {
    fc_shape s = fc_tensor_shape(x);
    for (int i = 0; i < x->ndim; i++)
        if (mask[i]) s.d[i] = 1;
    return s;
}

static fc_shape dropped_shape(const fc_tensor *x, const int *mask) {
    fc_shape s = {0, {0}};
    for (int i = 0; i < x->ndim; i++)
        if (!mask[i]) s.d[s.ndim++] = x->shape[i];
    return s;
}

/* Sum of contiguous x over masked dims into a new tensor of kept_shape (no autograd). Reduces one
 * run of adjacent masked dims at a time. */
static fc_tensor *sum_raw(fc_tensor *x, const int *mask) {
    fc_tensor *cur = fci_contig_f32("sum", x);
    if (!cur) return NULL;
    fc_shape s = fc_tensor_shape(cur);
    for (int d = 0; d < s.ndim;) {
        if (!mask[d]) {
            d++;
            continue;
        }
        int e = d;
        while (e + 1 < s.ndim && mask[e + 1]) e++;
        int64_t outer = 1, red = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= s.d[i];
        for (int i = d; i <= e; i++) red *= s.d[i];
        for (int i = e + 1; i < s.ndim; i++) inner *= s.d[i];
        for (int i = d; i <= e; i++) s.d[i] = 1;
        fc_tensor *nxt = fci_tensor_alloc(s, FC_DTYPE_F32, cur->device);
        if (!nxt) {
            fci_tensor_unref(cur);
            return NULL;
        }
        fc_keep(nxt);
        fci_sum_axis_f32(fc_tensor_data(cur), fc_tensor_data(nxt), outer, red, inner);
        fci_tensor_unref(cur);
        cur = nxt;
        d = e + 1;
    }
    /* hand the result to the current scope like any new tensor */
    fc_tensor *y = fci_tensor_view(cur, cur->ndim, cur->shape, cur->stride, cur->offset);
    fci_tensor_unref(cur);
    return y;
}

/* ip[0..ndim): reduced-dim mask; the gradient is gy (kept shape) expanded to the input. */
static fc_status sum_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *x = n->in[0];
    int mask[FC_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) mask[i] = (int)n->ip[i];
    fc_tensor *g = fc_reshape(gy, kept_shape(x, mask));
    gx[0] = g ? fc_expand(g, fc_tensor_shape(x)) : NULL;
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_sum = {"sum", sum_bwd};

fc_tensor *fc_sum(fc_tensor *x, fc_shape dims, int keepdim) {
    if (!x) return NULL;
    int mask[FC_MAX_DIMS];
    if (fci_dims_mask("sum", x, dims, mask)) return NULL;
    fc_tensor *k = sum_raw(x, mask);
    if (!k) return NULL;
    fc_tensor *y = k;
    if (!keepdim) {
        fc_shape s = dropped_shape(x, mask);
        y = fci_tensor_view(k, s.ndim, s.d, (int64_t[FC_MAX_DIMS]){0}, k->offset);
        if (y) fci_contiguous_strides(s.ndim, s.d, y->stride);
        fc_tensor_free(k);
        if (!y) return NULL;
    }
    if (fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(&op_sum, y, 1, &x);
        if (!n) return NULL;
        for (int i = 0; i < x->ndim; i++) n->ip[i] = mask[i];
    }
    return y;
}

fc_tensor *fc_sum_to(fc_tensor *x, fc_shape shape) {
    if (!x) return NULL;
    if (shape.ndim > x->ndim) {
        fc_fail(FC_ERR_SHAPE, "sum_to: cannot sum %s to the larger shape %s", fci_tshape(x),
                fci_shape_str(shape.ndim, shape.d));
        return NULL;
    }
    fc_shape dims = {0, {0}};
    int lead = x->ndim - shape.ndim;
    for (int i = 0; i < x->ndim; i++) {
        int64_t want = i < lead ? 1 : shape.d[i - lead];
        if (i < lead || (want == 1 && x->shape[i] != 1)) dims.d[dims.ndim++] = i;
        else if (want != x->shape[i]) {
            fc_fail(FC_ERR_SHAPE, "sum_to: shape %s does not broadcast to %s",
                    fci_shape_str(shape.ndim, shape.d), fci_tshape(x));
            return NULL;
        }
    }
    if (dims.ndim == 0) return fc_reshape(x, shape);
    fc_tensor *s = fc_sum(x, dims, 1);
    fc_tensor *y = s ? fc_reshape(s, shape) : NULL;
    fc_tensor_free(s);
    return y;
}
