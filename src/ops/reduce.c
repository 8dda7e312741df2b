/* Reductions: sum (any set of dims, keepdim), sum_to (the inverse of broadcasting), mean, var, std,
 * logsumexp, max/min and argmax/argmin. All run on x laid out as [outer, red, inner]. */
#include <string.h>

#include "cpu/reduce.h"
#include "cpu/softmax.h"
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
    fc_tensor *cur = fci_contig_f32_any("sum", x);
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
#if FASTC_CUDA
        if (FCI_IS_CUDA(cur)) {
            fci_cuda_sum_axis_launch(FCI_STREAM(cur), fc_tensor_data(cur), fc_tensor_data(nxt),
                                     outer, red, inner);
            if (fci_cuda_launched("sum") != FC_OK) {
                fci_tensor_unref(cur);
                fc_tensor_free(nxt);
                return NULL;
            }
        } else
#endif
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

/* ---- mean, var, std, logsumexp, max/min, argmax/argmin ---- */

/* x as a contiguous f32 [outer, red, inner] with the reduced dims in the middle and the kept dims
 * in their order, so the [outer, inner] result is laid out as the kept shape. One run of adjacent
 * reduced dims needs no copy; otherwise the reduced dims are permuted to the end (and copied if
 * that view is not contiguous). *xc is released with fci_tensor_unref. */
typedef struct axis_plan {
    fc_tensor *xc;
    int64_t outer, red, inner;
} axis_plan;

static int axis_layout(const char *op, fc_tensor *x, const int *mask, axis_plan *p) {
    int first = -1, last = -1, nd = x->ndim, run = 1;
    for (int i = 0; i < nd; i++)
        if (mask[i]) {
            if (first < 0) first = i;
            last = i;
        }
    for (int i = first; first >= 0 && i <= last; i++)
        if (!mask[i]) run = 0;
    p->outer = p->red = p->inner = 1;
    if (run) {
        for (int i = 0; i < nd; i++) {
            if (first < 0 || i < first) p->outer *= x->shape[i];
            else if (i <= last) p->red *= x->shape[i];
            else p->inner *= x->shape[i];
        }
        p->xc = fci_contig_f32_any(op, x);
        return p->xc ? 0 : 1;
    }
    if (fci_check_float32(op, "input", x) || fci_check_device(op, x)) return 1;
    int64_t sh[FC_MAX_DIMS], st[FC_MAX_DIMS];
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < nd; i++)
            if (mask[i] == pass) {
                sh[k] = x->shape[i];
                st[k++] = x->stride[i];
                *(pass ? &p->red : &p->outer) *= x->shape[i];
            }
    fc_tensor *v = fci_tensor_view(x, nd, sh, st, x->offset);
    if (!v) return 1;
    p->xc = fci_contig_f32_any(op, v);
    fc_tensor_free(v);
    return p->xc ? 0 : 1;
}

static fc_tensor *alloc_reduced(const fc_tensor *x, const int *mask, int keepdim, fc_dtype dt) {
    return fci_tensor_alloc(keepdim ? kept_shape(x, mask) : dropped_shape(x, mask), dt, x->device);
}

/* gy (the output's shape) reshaped to the kept shape, for broadcasting against x. */
static fc_tensor *grad_kept(fci_node *n, fc_tensor *gy, int *mask) {
    fc_tensor *x = n->in[0];
    for (int i = 0; i < x->ndim; i++) mask[i] = (int)n->ip[i];
    return fc_reshape(gy, kept_shape(x, mask));
}

fc_tensor *fc_mean(fc_tensor *x, fc_shape dims, int keepdim) {
    if (!x) return NULL;
    int mask[FC_MAX_DIMS];
    if (fci_dims_mask("mean", x, dims, mask)) return NULL;
    int64_t n = 1;
    for (int i = 0; i < x->ndim; i++)
        if (mask[i]) n *= x->shape[i];
    fc_tensor *s = fc_sum(x, dims, keepdim);
    fc_tensor *y = s ? fc_mul_scalar(s, n ? 1.0 / (double)n : NAN) : NULL;
    fc_tensor_free(s);
    return y;
}

/* saved[0]: mean (kept shape), saved[1]: the output; fp[0]: the divisor N - correction. */
static fc_status var_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    int mask[FC_MAX_DIMS];
    fc_tensor *g = grad_kept(n, gy, mask);
    fc_tensor *d = fc_sub(n->in[0], n->saved[0]);
    gx[0] = fc_mul_scalar(fc_mul(d, g), 2.0 / n->fp[0]);
    return gx[0] ? FC_OK : fc_error_code();
}

/* d std = d var / (2 std) */
static fc_status std_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    int mask[FC_MAX_DIMS];
    fc_tensor *g = grad_kept(n, gy, mask);
    fc_tensor *sd = fc_reshape(n->saved[1], kept_shape(n->in[0], mask));
    fc_tensor *d = fc_sub(n->in[0], n->saved[0]);
    gx[0] = fc_mul_scalar(fc_mul(d, fc_div(g, sd)), 1.0 / n->fp[0]);
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_var = {"var", var_bwd}, op_std = {"std", std_bwd};

static fc_tensor *var_std(const char *op, fc_tensor *x, fc_shape dims, int correction, int keepdim,
                          int is_std) {
    if (!x) return NULL;
    int mask[FC_MAX_DIMS];
    axis_plan p;
    if (fci_dims_mask(op, x, dims, mask) || fci_check_device(op, x) || axis_layout(op, x, mask, &p))
        return NULL;
    double denom = (double)p.red - correction;
    if (denom < 0) denom = 0; /* PyTorch: max(N - correction, 0), giving inf or nan */
    fc_tensor *mean = alloc_reduced(x, mask, 1, FC_DTYPE_F32);
    fc_tensor *y = mean ? alloc_reduced(x, mask, keepdim, FC_DTYPE_F32) : NULL;
#if FASTC_CUDA
    if (y && FCI_IS_CUDA(x)) {
        fci_cuda_var_axis_launch(FCI_STREAM(x), fc_tensor_data(p.xc), fc_tensor_data(mean), fc_tensor_data(y),
                                 p.outer, p.red, p.inner, denom, is_std);
        if (fci_cuda_launched(op) != FC_OK) {
            fc_tensor_free(y);
            y = NULL;
        }
    } else
#endif
    if (y)
        fci_var_axis_f32(fc_tensor_data(p.xc), fc_tensor_data(mean), fc_tensor_data(y), p.outer,
                         p.red, p.inner, denom, is_std);
    fci_tensor_unref(p.xc);
    if (y && fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(is_std ? &op_std : &op_var, y, 1, &x);
        if (!n) y = NULL;
        else {
            for (int i = 0; i < x->ndim; i++) n->ip[i] = mask[i];
            n->fp[0] = denom;
            fci_save(n, 0, mean);
            fci_save_output(n, 1, y);
        }
    }
    fc_tensor_free(mean);
    return y;
}

fc_tensor *fc_var(fc_tensor *x, fc_shape dims, int correction, int keepdim) {
    return var_std("var", x, dims, correction, keepdim, 0);
}
fc_tensor *fc_std(fc_tensor *x, fc_shape dims, int correction, int keepdim) {
    return var_std("std", x, dims, correction, keepdim, 1);
}

/* d lse / dx = exp(x - lse); saved[0]: the output. */
static fc_status logsumexp_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    int mask[FC_MAX_DIMS];
    fc_tensor *g = grad_kept(n, gy, mask);
    fc_tensor *e = fc_sub(n->in[0], fc_reshape(n->saved[0], kept_shape(n->in[0], mask)));
    if (!e || !g) return fc_error_code();
    if (e->device.type == FC_DEVICE_CPU) fci_exp_inplace_f32(fc_tensor_data(e), fc_tensor_numel(e));
    else if (!(e = fc_exp(e))) return fc_error_code();
    gx[0] = fc_mul(e, g);
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_logsumexp = {"logsumexp", logsumexp_bwd};

fc_tensor *fc_logsumexp(fc_tensor *x, fc_shape dims, int keepdim) {
    if (!x) return NULL;
    int mask[FC_MAX_DIMS];
    axis_plan p;
    if (fci_dims_mask("logsumexp", x, dims, mask) || axis_layout("logsumexp", x, mask, &p))
        return NULL;
    fc_tensor *y = alloc_reduced(x, mask, keepdim, FC_DTYPE_F32);
#if FASTC_CUDA
    if (y && FCI_IS_CUDA(x)) {
        fci_cuda_logsumexp_axis_launch(FCI_STREAM(x), fc_tensor_data(p.xc), fc_tensor_data(y),
                                       p.outer, p.red, p.inner);
        if (fci_cuda_launched("logsumexp") != FC_OK) {
            fc_tensor_free(y);
            y = NULL;
        }
    } else
#endif
    if (y)
        fci_logsumexp_axis_f32(fc_tensor_data(p.xc), fc_tensor_data(y), p.outer, p.red, p.inner);
    fci_tensor_unref(p.xc);
    if (y && fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(&op_logsumexp, y, 1, &x);
        if (!n) return NULL;
        for (int i = 0; i < x->ndim; i++) n->ip[i] = mask[i];
        fci_save_output(n, 0, y);
    }
    return y;
}

/* The gradient goes to the element the forward picked: saved[0] holds its index (i64). */
static fc_status extreme_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *x = n->in[0];
    int dim = (int)n->ip[0];
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < dim; i++) outer *= x->shape[i];
    for (int i = dim + 1; i < x->ndim; i++) inner *= x->shape[i];
    gx[0] = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
    if (!gx[0]) return fc_error_code();
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        fci_cuda_scatter_axis_launch(FCI_STREAM(x), fc_tensor_data(gy), fc_tensor_data(n->saved[0]),
                                     fc_tensor_data(gx[0]), outer, x->shape[dim], inner);
        return fci_cuda_launched(n->op->name);
    }
#endif
    fci_scatter_axis_f32(fc_tensor_data(gy), fc_tensor_data(n->saved[0]), fc_tensor_data(gx[0]),
                         outer, x->shape[dim], inner);
    return FC_OK;
}
static const fci_op op_max = {"max", extreme_bwd}, op_min = {"min", extreme_bwd};

/* values (want_values) or indices of the max/min along dim. */
static fc_tensor *extreme(const char *op, fc_tensor *x, int dim, int keepdim, int is_max,
                          int want_values) {
    if (!x) return NULL;
    int d = fci_wrap_dim(op, dim, x->ndim);
    if (d < 0) return NULL;
    if (x->shape[d] == 0) {
        fc_fail(FC_ERR_SHAPE, "%s: cannot reduce dim %d of size 0 (input %s)", op, d,
                fci_tshape(x));
        return NULL;
    }
    int mask[FC_MAX_DIMS] = {0};
    mask[d] = 1;
    axis_plan p;
    if (axis_layout(op, x, mask, &p)) return NULL;
    fc_tensor *idx = alloc_reduced(x, mask, keepdim, FC_DTYPE_I64);
    fc_tensor *val = idx && want_values ? alloc_reduced(x, mask, keepdim, FC_DTYPE_F32) : NULL;
#if FASTC_CUDA
    if (idx && (val || !want_values) && FCI_IS_CUDA(x)) {
        fci_cuda_argext_axis_launch(FCI_STREAM(x), fc_tensor_data(p.xc),
                                    val ? fc_tensor_data(val) : NULL, fc_tensor_data(idx), p.outer,
                                    p.red, p.inner, is_max);
        if (fci_cuda_launched(op) != FC_OK) {
            fc_tensor_free(val);
            val = NULL;
            fc_tensor_free(idx);
            idx = NULL;
        }
    } else
#endif
    if (idx && (val || !want_values))
        fci_argext_axis_f32(fc_tensor_data(p.xc), val ? fc_tensor_data(val) : NULL,
                            fc_tensor_data(idx), p.outer, p.red, p.inner, is_max);
    fci_tensor_unref(p.xc);
    if (!want_values) return idx;
    if (val && fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(is_max ? &op_max : &op_min, val, 1, &x);
        if (!n) val = NULL;
        else {
            n->ip[0] = d;
            fci_save(n, 0, idx);
        }
    }
    fc_tensor_free(idx);
    return val;
}

fc_tensor *fc_max(fc_tensor *x, int dim, int keepdim) { return extreme("max", x, dim, keepdim, 1, 1); }
fc_tensor *fc_min(fc_tensor *x, int dim, int keepdim) { return extreme("min", x, dim, keepdim, 0, 1); }
fc_tensor *fc_argmax(fc_tensor *x, int dim, int keepdim) {
    return extreme("argmax", x, dim, keepdim, 1, 0);
}
fc_tensor *fc_argmin(fc_tensor *x, int dim, int keepdim) {
    return extreme("argmin", x, dim, keepdim, 0, 0);
}
