/* Differentiable views and copies: reshape, permute, narrow/slice/select, expand, squeeze,
 * unsqueeze, flatten, contiguous, clone, dtype casts. Views share storage like PyTorch's. */
#include <string.h>

#include "ops_impl.h"

static fc_tensor *alias(fc_tensor *x) {
    return fci_tensor_view(x, x->ndim, x->shape, x->stride, x->offset);
}

/* ---- reshape / view ---- */

static fc_status reshape_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_shape s = fc_tensor_shape(n->in[0]);
    gx[0] = fci_tensor_view(gy, s.ndim, s.d, (int64_t[FC_MAX_DIMS]){0}, gy->offset);
    if (!gx[0]) return fc_error_code();
    fci_contiguous_strides(s.ndim, s.d, gx[0]->stride);
    return FC_OK;
}
static const fci_op op_reshape = {"reshape", reshape_bwd};

/* Resolves a -1 and checks the element count. */
static int infer_shape(const char *op, const fc_tensor *x, fc_shape *s) {
    int64_t known = 1, n = fc_tensor_numel(x);
    int infer = -1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->d[i] == -1) {
            if (infer >= 0) {
                fc_fail(FC_ERR_SHAPE, "%s: only one dim may be -1, found shape %s", op,
                        fci_shape_str(s->ndim, s->d));
                return 1;
            }
            infer = i;
        } else if (s->d[i] < 0) {
            fc_fail(FC_ERR_SHAPE, "%s: invalid shape %s", op, fci_shape_str(s->ndim, s->d));
            return 1;
        } else known *= s->d[i];
    }
    if (infer >= 0 && known > 0 && n % known == 0) s->d[infer] = n / known;
    if ((infer >= 0 && (known == 0 || n % known)) || fc_shape_numel(*s) != n) {
        fc_fail(FC_ERR_SHAPE, "%s: cannot view %s (%lld elements) as %s", op, fci_tshape(x),
                (long long)n, fci_shape_str(s->ndim, s->d));
        return 1;
    }
    return 0;
}

/* Strides for viewing x as shape without a copy, or 0 if impossible (PyTorch's computeStride). */
static int view_strides(const fc_tensor *x, const fc_shape *s, int64_t *st) {
    if (fc_tensor_is_contiguous(x)) {
        fci_contiguous_strides(s->ndim, s->d, st);
        return 1;
    }
    int oi = x->ndim - 1, ni = s->ndim - 1;
    while (oi >= 0 || ni >= 0) {
        /* group old dims [oj..oi] and new dims [nj..ni] with equal products */
        int64_t po = 1, pn = 1;
        int oj = oi, nj = ni;
        if (oj >= 0) po = x->shape[oj];
        if (nj >= 0) pn = s->d[nj];
        while (po != pn) {
            if (po < pn) {
                if (--oj < 0) return 0;
                po *= x->shape[oj];
            } else {
                if (--nj < 0) return 0;
                pn *= s->d[nj];
            }
        }
        for (int k = oi; k > oj; k--) /* old group must be one contiguous chunk */
            if (x->shape[k - 1] != 1 && x->shape[k] != 1 &&
                x->stride[k - 1] != x->stride[k] * x->shape[k])
                return 0;
        int64_t base = oi >= 0 ? x->stride[oi] : 1;
        for (int k = ni; k >= nj && k >= 0; k--) {
            st[k] = base;
            base *= s->d[k];
        }
        oi = oj - 1;
        ni = nj - 1;
    }
    return 1;
}

static fc_tensor *record_view(const fci_op *op, fc_tensor *x, fc_tensor *y) {
    if (y && fci_grad_needed(1, &x) && !fci_record(op, y, 1, &x)) return NULL;
    return y;
}

static fc_tensor *reshape_impl(const char *name, fc_tensor *x, fc_shape s, int allow_copy) {
    if (!x) return NULL;
    if (s.ndim < 0 || s.ndim > FC_MAX_DIMS) {
        fc_fail(FC_ERR_SHAPE, "%s: expected 0..%d dims, found %d", name, FC_MAX_DIMS, s.ndim);
        return NULL;
    }
    if (infer_shape(name, x, &s)) return NULL;
    int64_t st[FC_MAX_DIMS];
    fc_tensor *y;
    if (view_strides(x, &s, st)) {
        y = fci_tensor_view(x, s.ndim, s.d, st, x->offset);
    } else if (allow_copy) {
        fc_tensor *c = fc_contiguous(x);
        if (!c) return NULL;
        fci_contiguous_strides(s.ndim, s.d, st);
        y = fci_tensor_view(c, s.ndim, s.d, st, c->offset);
        fc_tensor_free(c);
    } else {
        fc_fail(FC_ERR_SHAPE, "view: cannot view %s with strides %s as %s without a copy "
                              "(use fc_reshape)", fci_tshape(x), fci_shape_str(x->ndim, x->stride),
                fci_shape_str(s.ndim, s.d));
        return NULL;
    }
    return record_view(&op_reshape, x, y);
}

fc_tensor *fc_reshape(fc_tensor *x, fc_shape s) { return reshape_impl("reshape", x, s, 1); }
fc_tensor *fc_view(fc_tensor *x, fc_shape s) { return reshape_impl("view", x, s, 0); }

fc_tensor *fc_flatten(fc_tensor *x, int start, int end) {
    if (!x) return NULL;
    if (x->ndim == 0) return fc_reshape(x, FC_SHAPE(1));
    int s = fci_wrap_dim("flatten", start, x->ndim), e = fci_wrap_dim("flatten", end, x->ndim);
    if (s < 0 || e < 0) return NULL;
    if (s > e) {
        fc_fail(FC_ERR_ARG, "flatten: start_dim %d comes after end_dim %d", start, end);
        return NULL;
    }
    fc_shape ns = {0, {0}};
    for (int i = 0; i < s; i++) ns.d[ns.ndim++] = x->shape[i];
    int64_t m = 1;
    for (int i = s; i <= e; i++) m *= x->shape[i];
    ns.d[ns.ndim++] = m;
    for (int i = e + 1; i < x->ndim; i++) ns.d[ns.ndim++] = x->shape[i];
    return fc_reshape(x, ns);
}

fc_tensor *fc_squeeze(fc_tensor *x, int dim) {
    if (!x) return NULL;
    int d = fci_wrap_dim("squeeze", dim, x->ndim);
    if (d < 0) return NULL;
    if (x->ndim == 0 || x->shape[d] != 1) return fc_reshape(x, fc_tensor_shape(x));
    fc_shape ns = {0, {0}};
    for (int i = 0; i < x->ndim; i++)
        if (i != d) ns.d[ns.ndim++] = x->shape[i];
    return fc_reshape(x, ns);
}

fc_tensor *fc_unsqueeze(fc_tensor *x, int dim) {
    if (!x) return NULL;
    int d = fci_wrap_dim("unsqueeze", dim, x->ndim + 1);
    if (d < 0) return NULL;
    if (x->ndim == FC_MAX_DIMS) {
        fc_fail(FC_ERR_SHAPE, "unsqueeze: a tensor already has the maximum %d dims", FC_MAX_DIMS);
        return NULL;
    }
    fc_shape ns = {0, {0}};
    for (int i = 0; i <= x->ndim; i++) {
        if (i == d) ns.d[ns.ndim++] = 1;
        if (i < x->ndim) ns.d[ns.ndim++] = x->shape[i];
    }
    return fc_reshape(x, ns);
}

/* ---- permute / transpose ---- */

static fc_status permute_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_shape inv = {n->out_ndim, {0}};
    for (int i = 0; i < n->out_ndim; i++) inv.d[n->ip[i]] = i;
    gx[0] = fc_permute(gy, inv);
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_permute = {"permute", permute_bwd};

fc_tensor *fc_permute(fc_tensor *x, fc_shape dims) {
    if (!x) return NULL;
    if (dims.ndim != x->ndim) {
        fc_fail(FC_ERR_SHAPE, "permute: expected %d dims for a tensor of shape %s, found %d", x->ndim,
                fci_tshape(x), dims.ndim);
        return NULL;
    }
    int64_t sh[FC_MAX_DIMS], st[FC_MAX_DIMS];
    int seen[FC_MAX_DIMS] = {0};
    for (int i = 0; i < dims.ndim; i++) {
        int d = fci_wrap_dim("permute", (int)dims.d[i], x->ndim);
        if (d < 0) return NULL;
        if (seen[d]++) {
            fc_fail(FC_ERR_ARG, "permute: dim %d appears twice in %s", d,
                    fci_shape_str(dims.ndim, dims.d));
            return NULL;
        }
        sh[i] = x->shape[d];
        st[i] = x->stride[d];
        dims.d[i] = d;
    }
    fc_tensor *y = fci_tensor_view(x, x->ndim, sh, st, x->offset);
    if (y && fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(&op_permute, y, 1, &x);
        if (!n) return NULL;
        for (int i = 0; i < dims.ndim; i++) n->ip[i] = dims.d[i];
    }
    return y;
}

fc_tensor *fc_transpose(fc_tensor *x, int d0, int d1) {
    if (!x) return NULL;
    int a = fci_wrap_dim("transpose", d0, x->ndim), b = fci_wrap_dim("transpose", d1, x->ndim);
    if (a < 0 || b < 0) return NULL;
    fc_shape p = {x->ndim, {0}};
    for (int i = 0; i < x->ndim; i++) p.d[i] = i;
    p.d[a] = b;
    p.d[b] = a;
    return fc_permute(x, p);
}

/* ---- slice (narrow, select) ---- */

/* gx = zeros(input shape); gx[slice] = gy. ip: dim, start, step, squeezed */
static fc_status slice_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *x = n->in[0];
    fc_tensor *g = fc_zeros(fc_tensor_shape(x), .dtype = gy->dtype, .device = gy->device);
    if (!g) return fc_error_code();
    int d = (int)n->ip[0];
    int64_t st[FC_MAX_DIMS], sh[FC_MAX_DIMS];
    memcpy(sh, g->shape, sizeof sh);
    memcpy(st, g->stride, sizeof st);
    int64_t len = n->ip[3] ? 1 : gy->shape[d];
    sh[d] = len;
    st[d] = g->stride[d] * n->ip[2];
    fc_tensor *win = fci_tensor_view(g, g->ndim, sh, st, n->ip[1] * g->stride[d]);
    if (!win) return fc_error_code();
    fc_status s = FC_OK;
    if (len > 0 && fc_tensor_numel(gy) > 0) s = fci_copy_strided(win, gy);
    fc_tensor_free(win);
    gx[0] = g;
    return s;
}
/* gx[slice] += gy in place (gx: contiguous, the input's shape): O(slice), not O(input). */
static fc_status slice_bwd_into(fci_node *n, fc_tensor *gy, fc_tensor *gx) {
    int d = (int)n->ip[0], nd = gx->ndim;
    int64_t sh[FC_MAX_DIMS], st[FC_MAX_DIMS];
    memcpy(sh, gx->shape, sizeof sh);
    memcpy(st, gx->stride, sizeof st);
    sh[d] = n->ip[3] ? 1 : gy->shape[d];
    st[d] = gx->stride[d] * n->ip[2];
    int64_t inner = sh[nd - 1], rows = inner ? fc_tensor_numel(gy) / inner : 0, is = st[nd - 1];
    float *base = (float *)fc_tensor_data(gx) + n->ip[1] * gx->stride[d];
    const float *g = fc_tensor_data(gy);
#pragma omp parallel for if (rows * inner > 65536) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t rem = r, off = 0;
        for (int k = nd - 2; k >= 0; k--) {
            off += (rem % sh[k]) * st[k];
            rem /= sh[k];
        }
        float *o = base + off;
        const float *gr = g + r * inner;
        if (is == 1)
            for (int64_t i = 0; i < inner; i++) o[i] += gr[i];
        else
            for (int64_t i = 0; i < inner; i++) o[i * is] += gr[i];
    }
    return FC_OK;
}
static const fci_op op_slice = {"slice", slice_bwd, slice_bwd_into};

static fc_tensor *slice_impl(const char *name, fc_tensor *x, int dim, int64_t start, int64_t end,
                             int64_t step, int squeeze) {
    if (!x) return NULL;
    if (x->ndim == 0) {
        fc_fail(FC_ERR_SHAPE, "%s: cannot slice a 0-dim tensor", name);
        return NULL;
    }
    int d = fci_wrap_dim(name, dim, x->ndim);
    if (d < 0) return NULL;
    if (step < 1) {
        fc_fail(FC_ERR_ARG, "%s: expected step >= 1, found %lld", name, (long long)step);
        return NULL;
    }
    int64_t n = x->shape[d];
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0) start = 0;
    if (end > n) end = n;
    if (start > n) start = n;
    if (end < start) end = start;
    int64_t len = (end - start + step - 1) / step;
    int64_t sh[FC_MAX_DIMS], st[FC_MAX_DIMS];
    memcpy(sh, x->shape, sizeof sh);
    memcpy(st, x->stride, sizeof st);
    sh[d] = len;
    st[d] = x->stride[d] * step;
    int nd = x->ndim;
    if (squeeze) {
        for (int i = d; i < nd - 1; i++) {
            sh[i] = sh[i + 1];
            st[i] = st[i + 1];
        }
        nd--;
    }
    fc_tensor *y = fci_tensor_view(x, nd, sh, st, x->offset + start * x->stride[d]);
    if (y && fci_grad_needed(1, &x)) {
        fci_node *node = fci_record(&op_slice, y, 1, &x);
        if (!node) return NULL;
        node->ip[0] = d;
        node->ip[1] = start;
        node->ip[2] = step;
        node->ip[3] = squeeze;
    }
    return y;
}

fc_tensor *fc_slice(fc_tensor *x, int dim, int64_t start, int64_t end, int64_t step) {
    return slice_impl("slice", x, dim, start, end, step, 0);
}

fc_tensor *fc_narrow(fc_tensor *x, int dim, int64_t start, int64_t length) {
    if (!x) return NULL;
    int d = fci_wrap_dim("narrow", dim, x->ndim);
    if (d < 0) return NULL;
    int64_t n = x->shape[d], s = start < 0 ? start + n : start;
    if (s < 0 || length < 0 || s + length > n) {
        fc_fail(FC_ERR_ARG, "narrow: expected start + length <= %lld on dim %d of shape %s, found "
                            "start %lld, length %lld", (long long)n, d, fci_tshape(x),
                (long long)start, (long long)length);
        return NULL;
    }
    return slice_impl("narrow", x, d, s, s + length, 1, 0);
}

fc_tensor *fc_select(fc_tensor *x, int dim, int64_t index) {
    if (!x) return NULL;
    int d = fci_wrap_dim("select", dim, x->ndim);
    if (d < 0) return NULL;
    int64_t n = x->shape[d], i = index < 0 ? index + n : index;
    if (i < 0 || i >= n) {
        fc_fail(FC_ERR_ARG, "select: index %lld is out of range for dim %d of size %lld",
                (long long)index, d, (long long)n);
        return NULL;
    }
    return slice_impl("select", x, d, i, i + 1, 1, 1);
}

/* ---- expand ---- */

static fc_status expand_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    gx[0] = fci_reduce_to(gy, n->in[0]);
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_expand = {"expand", expand_bwd};

fc_tensor *fc_expand(fc_tensor *x, fc_shape s) {
    if (!x) return NULL;
    if (s.ndim < x->ndim || s.ndim > FC_MAX_DIMS) {
        fc_fail(FC_ERR_SHAPE, "expand: cannot expand %s to %s (fewer dims)", fci_tshape(x),
                fci_shape_str(s.ndim, s.d));
        return NULL;
    }
    int64_t st[FC_MAX_DIMS];
    for (int i = 0; i < s.ndim; i++) {
        int ix = x->ndim - s.ndim + i;
        int64_t xs = ix >= 0 ? x->shape[ix] : 1;
        if (s.d[i] == -1) {
            if (ix < 0) {
                fc_fail(FC_ERR_SHAPE, "expand: -1 is not allowed for a new leading dim (%s)",
                        fci_shape_str(s.ndim, s.d));
                return NULL;
            }
            s.d[i] = xs;
        }
        if (xs == s.d[i]) st[i] = ix >= 0 ? x->stride[ix] : 0;
        else if (xs == 1) st[i] = 0;
        else {
            fc_fail(FC_ERR_SHAPE, "expand: cannot expand %s to %s (dim %d: %lld is not 1)",
                    fci_tshape(x), fci_shape_str(s.ndim, s.d), i, (long long)xs);
            return NULL;
        }
    }
    fc_tensor *y = fci_tensor_view(x, s.ndim, s.d, st, x->offset);
    return record_view(&op_expand, x, y);
}

/* ---- copies ---- */

static fc_status identity_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    (void)n;
    gx[0] = alias(gy);
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_copy = {"contiguous", identity_bwd};

static fc_tensor *copy_of(fc_tensor *x) {
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(x), x->dtype, x->device);
    if (!y) return NULL;
    if (fci_copy_strided(y, x) != FC_OK) {
        fc_tensor_free(y);
        return NULL;
    }
    return record_view(&op_copy, x, y);
}

fc_tensor *fc_contiguous(fc_tensor *x) {
    if (!x) return NULL;
    if (fc_tensor_is_contiguous(x)) return record_view(&op_copy, x, alias(x));
    return copy_of(x);
}

fc_tensor *fc_clone(fc_tensor *x) { return x ? copy_of(x) : NULL; }

static fc_status cast_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    gx[0] = fc_to_dtype(gy, n->in[0]->dtype);
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_cast = {"to_dtype", cast_bwd};

fc_tensor *fc_to_dtype(fc_tensor *x, fc_dtype dt) {
    if (!x) return NULL;
    if ((unsigned)dt >= FC_DTYPE_COUNT) {
        fc_fail(FC_ERR_DTYPE, "to_dtype: unknown dtype %d", (int)dt);
        return NULL;
    }
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(x), dt, x->device);
    if (!y) return NULL;
    if (fci_copy_strided(y, x) != FC_OK) {
        fc_tensor_free(y);
        return NULL;
    }
    if (fc_dtype_is_float(dt) && fci_grad_needed(1, &x) && !fci_record(&op_cast, y, 1, &x))
        return NULL;
    return y;
}

fc_status fc_copy_(fc_tensor *dst, const fc_tensor *src) {
    if (!dst || !src) return fc_error_code() ? fc_error_code() : FC_ERR_ARG;
    if (dst->requires_grad && fc_is_grad_enabled())
        return fc_fail(FC_ERR_STATE, "copy_: the destination (shape %s) requires grad; wrap "
                                     "in-place updates in fc_no_grad_begin/end", fci_tshape(dst));
    int nd;
    int64_t bs[FC_MAX_DIMS];
    if (fci_broadcast_shape("copy_", src->ndim, src->shape, dst->ndim, dst->shape, &nd, bs))
        return fc_error_code();
    if (nd != dst->ndim || memcmp(bs, dst->shape, sizeof(int64_t) * (size_t)nd))
        return fc_fail(FC_ERR_SHAPE, "copy_: cannot broadcast source %s to destination %s",
                       fci_tshape(src), fci_tshape(dst));
    int64_t st[FC_MAX_DIMS];
    fci_broadcast_strides(src, nd, dst->shape, st);
    fc_tensor *v = fci_tensor_view(src, nd, dst->shape, st, src->offset);
    if (!v) return fc_error_code();
    fc_status s = fci_copy_strided(dst, v);
    fc_tensor_free(v);
    return s;
}

fc_status fc_fill_(fc_tensor *dst, double value) {
    if (!dst) return fc_error_code() ? fc_error_code() : FC_ERR_ARG;
    fc_tensor *s = fc_scalar(value, .dtype = dst->dtype);
    if (!s) return fc_error_code();
    fc_status st = fc_copy_(dst, s);
    fc_tensor_free(s);
    return st;
}
