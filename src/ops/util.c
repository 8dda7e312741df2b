/* Shared op plumbing: argument checks with clear messages, broadcasting, and the strided binary
 * loop every elementwise op runs on. */
#include <stdio.h>
#include <string.h>

#include "ops_impl.h"
#if FASTC_CUDA
#include "cpu/compare.h"
#endif

int fci_check_float32(const char *op, const char *what, const fc_tensor *t) {
    if (t->dtype == FC_DTYPE_F32) return 0;
    fc_fail(FC_ERR_DTYPE, "%s: expected %s of dtype f32, found %s (shape %s)", op, what,
            fc_dtype_name(t->dtype), fci_tshape(t));
    return 1;
}

int fci_check_cpu(const char *op, const fc_tensor *t) {
    if (t->device.type == FC_DEVICE_CPU) return 0;
    fc_fail(FC_ERR_DEVICE, "%s: no kernel for device %s in this build", op,
            fc_device_name(t->device));
    return 1;
}

int fci_check_device(const char *op, const fc_tensor *t) {
#if FASTC_CUDA
    if (t->device.type == FC_DEVICE_CUDA) return 0;
#endif
    return fci_check_cpu(op, t);
}

int fci_check_same_device(const char *op, const fc_tensor *a, const fc_tensor *b) {
    if (a->device.type == b->device.type && a->device.index == b->device.index) return 0;
    char da[16];
    snprintf(da, sizeof da, "%s", fc_device_name(a->device));
    fc_fail(FC_ERR_DEVICE, "%s: expected tensors on one device, found %s and %s", op, da,
            fc_device_name(b->device));
    return 1;
}

int fci_check_ndim(const char *op, const char *what, const fc_tensor *t, int ndim) {
    if (t->ndim == ndim) return 0;
    fc_fail(FC_ERR_SHAPE, "%s: expected %s with %d dims, found %d (shape %s)", op, what, ndim,
            t->ndim, fci_tshape(t));
    return 1;
}

int fci_check_index_dtype(const char *op, const char *what, const fc_tensor *t) {
    if (t->dtype == FC_DTYPE_I64 || t->dtype == FC_DTYPE_I32) return 0;
    fc_fail(FC_ERR_DTYPE, "%s: expected %s of dtype i64 or i32, found %s (shape %s)", op, what,
            fc_dtype_name(t->dtype), fci_tshape(t));
    return 1;
}

int fci_broadcast_shape(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                        int *nout, int64_t *out) {
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int ia = na - n + i, ib = nb - n + i;
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            fc_fail(FC_ERR_SHAPE, "%s: shapes %s and %s do not broadcast (dim %d: %lld vs %lld)",
                    op, fci_shape_str(na, a), fci_shape_str(nb, b), i - n, (long long)da,
                    (long long)db);
            return 1;
        }
        out[i] = da == 1 ? db : da;
    }
    *nout = n;
    return 0;
}

void fci_broadcast_strides(const fc_tensor *t, int ndim, const int64_t *shape, int64_t *strides) {
    for (int i = 0; i < ndim; i++) {
        int it = t->ndim - ndim + i;
        strides[i] = (it < 0 || t->shape[it] == 1 || shape[i] == 1) ? 0 : t->stride[it];
    }
}

static int same_geometry_contiguous(const fc_tensor *x, const fc_tensor *out) {
    return x->ndim == out->ndim && !memcmp(x->shape, out->shape, sizeof(int64_t) * (size_t)x->ndim) &&
           fc_tensor_is_contiguous(x);
}

#if FASTC_CUDA
/* The CUDA twin of the row kernels the binary ops pass in. */
static void cuda_binary_loop(fc_tensor *out, const fc_tensor *a, const fc_tensor *b,
                             fci_binary_row row) {
    static const struct { fci_binary_row row; int kind; } rows[] = {
        {fci_add_row_f32, FCI_CUDA_ADD}, {fci_sub_row_f32, FCI_CUDA_SUB},
        {fci_mul_row_f32, FCI_CUDA_MUL}, {fci_div_row_f32, FCI_CUDA_DIV},
        {fci_pow_row_f32, FCI_CUDA_BPOW}, {fci_maximum_row_f32, FCI_CUDA_MAXIMUM},
        {fci_minimum_row_f32, FCI_CUDA_MINIMUM}, {fci_pow_da_row_f32, FCI_CUDA_POW_DA},
        {fci_pow_db_row_f32, FCI_CUDA_POW_DB}, {fci_max_share_row_f32, FCI_CUDA_MAX_SHARE},
    };
    int kind = -1;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        if (rows[i].row == row) kind = rows[i].kind;
    if (kind < 0) {
        FCI_INTERNAL("binary: no CUDA kernel for this row function");
        return;
    }
    fci_cuda_geom g = {.ndim = out->ndim};
    memcpy(g.shape, out->shape, sizeof(int64_t) * (size_t)out->ndim);
    memcpy(g.stride[0], out->stride, sizeof(int64_t) * (size_t)out->ndim);
    fci_broadcast_strides(a, out->ndim, out->shape, g.stride[1]);
    fci_broadcast_strides(b, out->ndim, out->shape, g.stride[2]);
    fci_cuda_binary_launch(FCI_STREAM(out), kind, fc_tensor_data(out), fc_tensor_data(a),
                           fc_tensor_data(b), fc_tensor_numel(out), &g);
    fci_cuda_launched("binary");
}
#endif

void fci_binary_loop(fc_tensor *out, const fc_tensor *a, const fc_tensor *b, fci_binary_row row,
                     const double *params) {
#if FASTC_CUDA
    if (FCI_IS_CUDA(out)) {
        cuda_binary_loop(out, a, b, row);
        return;
    }
#endif
    float *o = fc_tensor_data(out);
    const float *pa = fc_tensor_data(a), *pb = fc_tensor_data(b);
    int64_t n = fc_tensor_numel(out);
    if (n == 0) return;
    int a_flat = same_geometry_contiguous(a, out), b_flat = same_geometry_contiguous(b, out);
    int a_scalar = fc_tensor_numel(a) == 1, b_scalar = fc_tensor_numel(b) == 1;
    if ((a_flat || a_scalar) && (b_flat || b_scalar)) {
        int64_t sa = a_flat, sb = b_flat;
        const int64_t chunk = 16384;
#pragma omp parallel for if (n > 4 * chunk) schedule(static)
        for (int64_t s = 0; s < n; s += chunk) {
            int64_t len = n - s < chunk ? n - s : chunk;
            row(o + s, pa + s * sa, sa, pb + s * sb, sb, len, params);
        }
        return;
    }
    int nd = out->ndim;
    int64_t st_a[FC_MAX_DIMS], st_b[FC_MAX_DIMS];
    fci_broadcast_strides(a, nd, out->shape, st_a);
    fci_broadcast_strides(b, nd, out->shape, st_b);
    int64_t inner = out->shape[nd - 1], rows = n / inner;
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t rem = r, oa = 0, ob = 0;
        for (int d = nd - 2; d >= 0; d--) {
            int64_t k = rem % out->shape[d];
            rem /= out->shape[d];
            oa += k * st_a[d];
            ob += k * st_b[d];
        }
        row(o + r * inner, pa + oa, st_a[nd - 1], pb + ob, st_b[nd - 1], inner, params);
    }
}

fc_tensor *fci_binary_op(const char *name, fci_binary_row row, const fci_op *op, fc_tensor *a,
                         fc_tensor *b) {
    if (!a || !b) return NULL;
    if (fci_check_float32(name, "a", a) || fci_check_float32(name, "b", b) ||
        fci_check_same_device(name, a, b) || fci_check_device(name, a))
        return NULL;
    fc_shape s;
    if (fci_broadcast_shape(name, a->ndim, a->shape, b->ndim, b->shape, &s.ndim, s.d)) return NULL;
    fc_tensor *y = fci_tensor_alloc(s, FC_DTYPE_F32, a->device);
    if (!y) return NULL;
    fci_binary_loop(y, a, b, row, NULL);
    fc_tensor *in[2] = {a, b};
    if (fci_grad_needed(2, in) && !fci_record(op, y, 2, in)) return NULL;
    return y;
}

fc_tensor *fci_contig_f32(const char *op, fc_tensor *x) {
    if (fci_check_cpu(op, x)) return NULL;
    return fci_contig_f32_any(op, x);
}

fc_tensor *fci_contig_f32_any(const char *op, fc_tensor *x) {
    if (fci_check_float32(op, "input", x) || fci_check_device(op, x)) return NULL;
    if (fc_tensor_is_contiguous(x)) return fc_tensor_ref(x);
    fc_tensor *c = fci_tensor_alloc(fc_tensor_shape(x), x->dtype, x->device);
    if (!c) return NULL;
    /* the caller frees its reference; keep scope ownership symmetric with the ref above */
    fc_keep(c);
    if (fci_copy_strided(c, x) != FC_OK) {
        fc_tensor_free(c);
        return NULL;
    }
    return c;
}

fc_tensor *fci_reduce_to(fc_tensor *g, const fc_tensor *t) {
    if (g->ndim == t->ndim && !memcmp(g->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim))
        return fci_tensor_view(g, g->ndim, g->shape, g->stride, g->offset);
    return fc_sum_to(g, fc_tensor_shape(t));
}
