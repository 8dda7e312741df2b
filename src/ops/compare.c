/* Elementwise ops of two or three tensors beyond arithmetic: pow, maximum, minimum (f32, through
 * fci_binary_loop), where, and the comparisons (bool results, no gradient). All broadcast as
 * PyTorch; gradients are summed back to each input's shape. */
#include <string.h>

#include "cpu/compare.h"
#include "ops_impl.h"

/* ---- pow, maximum, minimum -------------------------------------------------------------------- */

/* gx[i] = reduce_to(gy * factor(x, y)) where the factor is a row kernel of (in[xi], in[yi]) */
static fc_status grad_by_factor(fci_node *n, fc_tensor *gy, fc_tensor **gx, int i,
                                fci_binary_row factor, int xi, int yi) {
    if (!fci_node_needs_grad(n, i)) return FC_OK;
    fc_tensor *f = fci_tensor_alloc(fc_tensor_shape(gy), FC_DTYPE_F32, gy->device);
    if (!f) return fc_error_code();
    fci_binary_loop(f, n->in[xi], n->in[yi], factor, NULL);
    fc_tensor *g = fc_mul(gy, f);
    fc_tensor_free(f);
    if (!g || !(gx[i] = fci_reduce_to(g, n->in[i]))) return fc_error_code();
    return FC_OK;
}

/* as PyTorch's pow_backward_self / pow_backward_exponent (d/db = a^b log a) */
static fc_status pow_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_status st = grad_by_factor(n, gy, gx, 0, fci_pow_da_row_f32, 0, 1);
    return st ? st : grad_by_factor(n, gy, gx, 1, fci_pow_db_row_f32, 0, 1);
}

/* ties split the gradient half and half, as PyTorch */
static fc_status maximum_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_status st = grad_by_factor(n, gy, gx, 0, fci_max_share_row_f32, 0, 1);
    return st ? st : grad_by_factor(n, gy, gx, 1, fci_max_share_row_f32, 1, 0);
}

static fc_status minimum_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_status st = grad_by_factor(n, gy, gx, 0, fci_max_share_row_f32, 1, 0);
    return st ? st : grad_by_factor(n, gy, gx, 1, fci_max_share_row_f32, 0, 1);
}

static const fci_op op_pow = {"pow", pow_bwd}, op_maximum = {"maximum", maximum_bwd},
                    op_minimum = {"minimum", minimum_bwd};

fc_tensor *fc_pow(fc_tensor *a, fc_tensor *b) {
    return fci_binary_op("pow", fci_pow_row_f32, &op_pow, a, b);
}
fc_tensor *fc_maximum(fc_tensor *a, fc_tensor *b) {
    return fci_binary_op("maximum", fci_maximum_row_f32, &op_maximum, a, b);
}
fc_tensor *fc_minimum(fc_tensor *a, fc_tensor *b) {
    return fci_binary_op("minimum", fci_minimum_row_f32, &op_minimum, a, b);
}

/* ---- a strided loop over up to three broadcast inputs of any dtype ---------------------------- */

#define CHUNK 16384
typedef struct plan {
    const fc_tensor *out;
    int n_in, flat;
    int64_t st[3][FC_MAX_DIMS]; /* broadcast strides of each input, in elements */
    int64_t inner, rows, numel;
    int64_t sin[3]; /* inner stride of each input */
} plan;

static int flat_like(const fc_tensor *x, const fc_tensor *out) {
    return x->ndim == out->ndim &&
           !memcmp(x->shape, out->shape, sizeof(int64_t) * (size_t)x->ndim) &&
           fc_tensor_is_contiguous(x);
}

/* All inputs contiguous like out (or one element): one flat row cut in chunks for the threads;
 * else rows of out's last dim. */
static void plan_init(plan *p, const fc_tensor *out, int n_in, const fc_tensor *const *in) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->n_in = n_in;
    p->numel = fc_tensor_numel(out);
    p->flat = 1;
    for (int i = 0; i < n_in; i++) {
        int f = flat_like(in[i], out);
        p->sin[i] = f;
        if (!f && fc_tensor_numel(in[i]) != 1) p->flat = 0;
    }
    if (p->flat) {
        p->inner = CHUNK;
        p->rows = (p->numel + CHUNK - 1) / CHUNK;
        return;
    }
    int nd = out->ndim;
    for (int i = 0; i < n_in; i++) {
        fci_broadcast_strides(in[i], nd, out->shape, p->st[i]);
        p->sin[i] = p->st[i][nd - 1];
    }
    p->inner = out->shape[nd - 1];
    p->rows = p->inner ? p->numel / p->inner : 0;
}

/* Offsets (elements) of row r in out (off[0]) and each input (off[1 + i]); returns its length. */
static int64_t plan_row(const plan *p, int64_t r, int64_t *off) {
    if (p->flat) {
        off[0] = r * CHUNK;
        for (int i = 0; i < p->n_in; i++) off[1 + i] = r * CHUNK * p->sin[i];
        return p->numel - off[0] < CHUNK ? p->numel - off[0] : CHUNK;
    }
    const fc_tensor *out = p->out;
    int64_t rem = r;
    off[0] = r * p->inner;
    for (int i = 0; i < p->n_in; i++) off[1 + i] = 0;
    for (int d = out->ndim - 2; d >= 0; d--) {
        int64_t k = rem % out->shape[d];
        rem /= out->shape[d];
        for (int i = 0; i < p->n_in; i++) off[1 + i] += k * p->st[i][d];
    }
    return p->inner;
}

#if FASTC_CUDA
/* The CUDA kernels' geometry: out's shape, and each input's broadcast strides in stride[k]. */
static void cuda_geom(fci_cuda_geom *g, const fc_tensor *out, int n_in, const fc_tensor *const *in) {
    memset(g, 0, sizeof *g);
    g->ndim = out->ndim;
    memcpy(g->shape, out->shape, sizeof(int64_t) * (size_t)out->ndim);
    for (int k = 0; k < n_in; k++) fci_broadcast_strides(in[k], out->ndim, out->shape, g->stride[k]);
}
#endif

/* ---- where ---------------------------------------------------------------------------------- */

static fc_status where_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *cond = n->saved[0];
    fc_tensor *zero = fc_scalar(0.0, .device = gy->device);
    if (!zero) return fc_error_code();
    fc_status st = FC_OK;
    for (int i = 0; i < 2 && st == FC_OK; i++) {
        if (!fci_node_needs_grad(n, i)) continue;
        fc_tensor *g = i == 0 ? fc_where(cond, gy, zero) : fc_where(cond, zero, gy);
        if (!g || !(gx[i] = fci_reduce_to(g, n->in[i]))) st = fc_error_code();
    }
    fc_tensor_free(zero);
    return st;
}
static const fci_op op_where = {"where", where_bwd};

fc_tensor *fc_where(fc_tensor *cond, fc_tensor *a, fc_tensor *b) {
    if (!cond || !a || !b) return NULL;
    if (cond->dtype != FC_DTYPE_BOOL && cond->dtype != FC_DTYPE_U8) {
        fc_fail(FC_ERR_DTYPE, "where: expected cond of dtype bool or u8, found %s (shape %s)",
                fc_dtype_name(cond->dtype), fci_tshape(cond));
        return NULL;
    }
    if (fci_check_float32("where", "a", a) || fci_check_float32("where", "b", b) ||
        fci_check_same_device("where", cond, a) || fci_check_same_device("where", a, b) ||
        fci_check_device("where", a))
        return NULL;
    fc_shape ab, s;
    if (fci_broadcast_shape("where", a->ndim, a->shape, b->ndim, b->shape, &ab.ndim, ab.d) ||
        fci_broadcast_shape("where", cond->ndim, cond->shape, ab.ndim, ab.d, &s.ndim, s.d))
        return NULL;
    fc_tensor *y = fci_tensor_alloc(s, FC_DTYPE_F32, a->device);
    if (!y) return NULL;
    const fc_tensor *in[3] = {cond, a, b};
#if FASTC_CUDA
    if (FCI_IS_CUDA(a)) {
        fci_cuda_geom g;
        cuda_geom(&g, y, 3, in);
        fci_cuda_where_launch(FCI_STREAM(a), fc_tensor_data(y), fc_tensor_data(cond), fc_tensor_data(a),
                              fc_tensor_data(b), fc_tensor_numel(y), &g);
        if (fci_cuda_launched("where") != FC_OK) {
            fc_tensor_free(y);
            return NULL;
        }
    } else
#endif
    {
    plan p;
    plan_init(&p, y, 3, in);
    float *o = fc_tensor_data(y);
    const uint8_t *pc = fc_tensor_data(cond);
    const float *pa = fc_tensor_data(a), *pb = fc_tensor_data(b);
#pragma omp parallel for if (p.numel > 65536) schedule(static)
    for (int64_t r = 0; r < p.rows; r++) {
        int64_t off[4], len = plan_row(&p, r, off);
        fci_where_row_f32(o + off[0], pc + off[1], p.sin[0], pa + off[2], p.sin[1], pb + off[3],
                          p.sin[2], len);
    }
    }
    fc_tensor *ab_in[2] = {a, b};
    if (fci_grad_needed(2, ab_in)) {
        fci_node *n = fci_record(&op_where, y, 2, ab_in);
        if (!n) return NULL;
        fci_save(n, 0, cond);
    }
    return y;
}

/* ---- comparisons ------------------------------------------------------------------------------ */

static const char *const cmp_names[] = {"eq", "ne", "lt", "le", "gt", "ge"};

static fc_tensor *compare(int op, fc_tensor *a, fc_tensor *b) {
    const char *name = cmp_names[op];
    if (!a || !b) return NULL;
    fc_dtype dt = a->dtype;
    if (dt != FC_DTYPE_F32 && dt != FC_DTYPE_I32 && dt != FC_DTYPE_I64 && dt != FC_DTYPE_U8 &&
        dt != FC_DTYPE_BOOL) {
        fc_fail(FC_ERR_DTYPE, "%s: expected a of dtype f32, i32, i64, u8 or bool, found %s (shape %s)",
                name, fc_dtype_name(dt), fci_tshape(a));
        return NULL;
    }
    if (b->dtype != dt) {
        fc_fail(FC_ERR_DTYPE, "%s: expected a and b of one dtype, found %s and %s", name,
                fc_dtype_name(dt), fc_dtype_name(b->dtype));
        return NULL;
    }
    if (fci_check_same_device(name, a, b) || fci_check_device(name, a)) return NULL;
    fc_shape s;
    if (fci_broadcast_shape(name, a->ndim, a->shape, b->ndim, b->shape, &s.ndim, s.d)) return NULL;
    fc_tensor *y = fci_tensor_alloc(s, FC_DTYPE_BOOL, a->device);
    if (!y) return NULL;
    const fc_tensor *in[2] = {a, b};
#if FASTC_CUDA
    if (FCI_IS_CUDA(a)) {
        fci_cuda_geom g;
        const fc_tensor *gin[3] = {a, a, b}; /* stride[1]: a, stride[2]: b */
        cuda_geom(&g, y, 3, gin);
        fci_cuda_compare_launch(FCI_STREAM(a), op, (int)dt, fc_tensor_data(y), fc_tensor_data(a),
                                fc_tensor_data(b), fc_tensor_numel(y), &g);
        if (fci_cuda_launched(name) != FC_OK) {
            fc_tensor_free(y);
            return NULL;
        }
        return y;
    }
#endif
    plan p;
    plan_init(&p, y, 2, in);
    uint8_t *o = fc_tensor_data(y);
    const char *pa = fc_tensor_data(a), *pb = fc_tensor_data(b);
    size_t es = fc_dtype_size(dt);
#pragma omp parallel for if (p.numel > 65536) schedule(static)
    for (int64_t r = 0; r < p.rows; r++) {
        int64_t off[3], len = plan_row(&p, r, off);
        const void *ra = pa + (size_t)off[1] * es, *rb = pb + (size_t)off[2] * es;
        switch (dt) {
        case FC_DTYPE_F32: fci_cmp_row_f32(o + off[0], ra, p.sin[0], rb, p.sin[1], len, op); break;
        case FC_DTYPE_I32: fci_cmp_row_i32(o + off[0], ra, p.sin[0], rb, p.sin[1], len, op); break;
        case FC_DTYPE_I64: fci_cmp_row_i64(o + off[0], ra, p.sin[0], rb, p.sin[1], len, op); break;
        default: fci_cmp_row_u8(o + off[0], ra, p.sin[0], rb, p.sin[1], len, op); break;
        }
    }
    return y;
}

fc_tensor *fc_eq(fc_tensor *a, fc_tensor *b) { return compare(FCI_CMP_EQ, a, b); }
fc_tensor *fc_ne(fc_tensor *a, fc_tensor *b) { return compare(FCI_CMP_NE, a, b); }
fc_tensor *fc_lt(fc_tensor *a, fc_tensor *b) { return compare(FCI_CMP_LT, a, b); }
fc_tensor *fc_le(fc_tensor *a, fc_tensor *b) { return compare(FCI_CMP_LE, a, b); }
fc_tensor *fc_gt(fc_tensor *a, fc_tensor *b) { return compare(FCI_CMP_GT, a, b); }
fc_tensor *fc_ge(fc_tensor *a, fc_tensor *b) { return compare(FCI_CMP_GE, a, b); }
