/* Linear algebra: matmul (torch.matmul semantics), bmm and linear, all on OpenBLAS sgemm.
 * Transposed operands are passed to BLAS as flags with their leading dimension, so a transposed
 * view (w.t(), x.transpose(-1, -2)) costs no copy; only layouts BLAS cannot describe are copied. */
#include <string.h>

#include "autocast_impl.h"
#include "cpu/linalg.h"
#include "ops_impl.h"
#if FASTC_CUDA
#include "cuda/cuda_ops.h"
#endif

/* One GEMM (row-major, as fci_gemm_f32) on the device of its output: OpenBLAS or cuBLASLt. */
fc_status fci_gemm_dev(fc_device dev, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc) {
#if FASTC_CUDA
    if (dev.type == FC_DEVICE_CUDA)
        return fci_cuda_gemm(dev.index, &(fci_cuda_gemm_args){
            .trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta,
            .a = a, .b = b, .c = c, .lda = lda, .ldb = ldb, .ldc = ldc, .batch = 1,
            .ab_dtype = FC_DTYPE_F32, .c_dtype = FC_DTYPE_F32});
#endif
    (void)dev;
    fci_gemm_f32(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return FC_OK;
}

/* ---- BLAS views of strided tensors ---- */

/* A [rows, cols] matrix with row stride rs and column stride cs, as BLAS sees it: trans = 0 with
 * ld = rs (rows contiguous), or trans = 1 with ld = cs (the transpose is row-major). Size-1 dims
 * have no meaningful stride. Returns 0 when neither fits (the caller copies). */
static int blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, int *trans, int64_t *ld) {
    int64_t mc = cols > 1 ? cols : 1, mr = rows > 1 ? rows : 1;
    if ((cols == 1 || cs == 1) && (rows == 1 || rs >= mc)) {
        *trans = 0;
        *ld = rows == 1 ? mc : rs;
        return 1;
    }
    if ((rows == 1 || rs == 1) && (cols == 1 || cs >= mr)) {
        *trans = 1;
        *ld = cols == 1 ? mr : cs;
        return 1;
    }
    return 0;
}

/* Whether dims [0, last] of t fold into one dim with a uniform stride; sets *n and *stride. */
static int fold_dims(const fc_tensor *t, int last, int64_t *n, int64_t *stride) {
    int64_t count = 1, st = 0, expect = 0;
    int have = 0;
    for (int d = last; d >= 0; d--) {
        if (t->shape[d] == 1) continue;
        if (have && t->stride[d] != expect) return 0;
        if (!have) st = t->stride[d];
        have = 1;
        expect = t->stride[d] * t->shape[d];
        count *= t->shape[d];
    }
    for (int d = 0; d <= last; d++)
        if (t->shape[d] == 0) count = 0;
    *n = count;
    *stride = have ? st : 0;
    return 1;
}

/* A tensor's last two dims as a BLAS operand; *own is a contiguous copy when one was needed
 * (release it with fci_tensor_unref), and t is replaced by what to read. */
typedef struct blas_mat {
    fc_tensor *t; /* what the pointers refer to (t itself or own) */
    fc_tensor *own;
    int trans;
    int64_t ld;
} blas_mat;

static int blas_mat_of(const char *op, fc_tensor *t, blas_mat *m) {
    int nd = t->ndim;
    *m = (blas_mat){.t = t};
    if (blas_layout(t->shape[nd - 2], t->shape[nd - 1], t->stride[nd - 2], t->stride[nd - 1],
                    &m->trans, &m->ld))
        return 0;
    m->own = fci_contig_f32_any(op, t);
    if (!m->own) return 1;
    m->t = m->own;
    m->trans = 0;
    m->ld = t->shape[nd - 1] > 1 ? t->shape[nd - 1] : 1;
    return 0;
}

/* ---- matmul on >= 2-D operands with broadcast batch dims ---- */

static fc_status matmul_nd_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx);
static const fci_op op_matmul = {"matmul", matmul_nd_bwd};

static fc_tensor *matmul_nd(const char *op, fc_tensor *a, fc_tensor *b);

/* A transposed view of the last two dims, without history (backward runs with recording off). */
static fc_tensor *mT(fc_tensor *t) {
    int64_t sh[FC_MAX_DIMS], st[FC_MAX_DIMS];
    int nd = t->ndim;
    memcpy(sh, t->shape, sizeof sh);
    memcpy(st, t->stride, sizeof st);
    sh[nd - 2] = t->shape[nd - 1], sh[nd - 1] = t->shape[nd - 2];
    st[nd - 2] = t->stride[nd - 1], st[nd - 1] = t->stride[nd - 2];
    return fci_tensor_view(t, nd, sh, st, t->offset);
}

#if FASTC_CUDA
/* Batched GEMM on cuBLASLt: one call when a's and b's batch offsets are evenly spaced (bmm,
 * broadcast batches of stride 0), else one call per batch; 0 on success. */
static int cuda_batched(fc_tensor *y, const blas_mat *ma, const blas_mat *mb, int64_t n, int64_t m,
                        int64_t k, const int64_t *off, int64_t n_batch) {
    int even = 1;
    int64_t sa = n_batch > 1 ? off[1] - off[0] : 0, sb = n_batch > 1 ? off[n_batch + 1] - off[n_batch] : 0;
    for (int64_t i = 1; i < n_batch && even; i++)
        even = off[i] - off[i - 1] == sa && off[n_batch + i] - off[n_batch + i - 1] == sb;
    const float *pa = fc_tensor_data(ma->t), *pb = fc_tensor_data(mb->t);
    float *py = fc_tensor_data(y);
    fci_cuda_gemm_args g = {.trans_a = ma->trans, .trans_b = mb->trans, .m = n, .n = m, .k = k,
                            .alpha = 1.0f, .beta = 0.0f, .lda = ma->ld, .ldb = mb->ld, .ldc = m,
                            .ab_dtype = FC_DTYPE_F32, .c_dtype = FC_DTYPE_F32};
    if (even && off[0] >= 0 && sa >= 0 && sb >= 0) {
        g.a = pa + off[0], g.b = pb + off[n_batch], g.c = py;
        g.stride_a = sa, g.stride_b = sb, g.stride_c = n * m, g.batch = n_batch;
        return fci_cuda_gemm(y->device.index, &g) != FC_OK;
    }
    g.batch = 1;
    for (int64_t i = 0; i < n_batch; i++) {
        g.a = pa + off[i], g.b = pb + off[n_batch + i], g.c = py + i * n * m;
        if (fci_cuda_gemm(y->device.index, &g) != FC_OK) return 1;
    }
    return 0;
}
#endif

/* Runs the GEMMs for y = a @ b; y is contiguous with the broadcast batch shape. */
static int matmul_run(const char *op, fc_tensor *a, fc_tensor *b, fc_tensor *y) {
    int na = a->ndim, nb = b->ndim, ny = y->ndim;
    int64_t n = a->shape[na - 2], k = a->shape[na - 1], m = b->shape[nb - 1];
    int64_t n_batch = 1;
    for (int d = 0; d < ny - 2; d++) n_batch *= y->shape[d];
    if (n_batch == 0 || n == 0 || m == 0) return 0;
    blas_mat ma, mb;
    if (blas_mat_of(op, a, &ma)) return 1;
    if (blas_mat_of(op, b, &mb)) {
        fci_tensor_unref(ma.own);
        return 1;
    }
    int64_t b_batch = 1;
    for (int d = 0; d < nb - 2; d++) b_batch *= b->shape[d];
    const float *pa = fc_tensor_data(ma.t), *pb = fc_tensor_data(mb.t);
    float *py = fc_tensor_data(y);
    int64_t rows, rs;
    int st = 0;
    /* b shared by every batch and a's batch rows fold into one: a single GEMM (x @ W shapes) */
    if (b_batch == 1 && !ma.trans && fold_dims(ma.t, na - 2, &rows, &rs) &&
        (rows <= 1 || rs >= (k > 1 ? k : 1))) {
        if (fci_gemm_dev(y->device, 0, mb.trans, rows, m, k, 1.0f, pa, rows <= 1 ? (k > 1 ? k : 1) : rs,
                 pb, mb.ld, 0.0f, py, m) != FC_OK)
            st = 1;
    } else {
        int64_t *off = fci_calloc((size_t)(2 * n_batch), sizeof *off);
        if (!off) {
            st = 1;
        } else {
            int64_t sa[FC_MAX_DIMS], sb[FC_MAX_DIMS];
            int nbd = ny - 2;
            fci_broadcast_strides(ma.t, ny, y->shape, sa);
            fci_broadcast_strides(mb.t, ny, y->shape, sb);
            for (int64_t i = 0; i < n_batch; i++) {
                int64_t rem = i, oa = 0, ob = 0;
                for (int d = nbd - 1; d >= 0; d--) {
                    int64_t j = rem % y->shape[d];
                    rem /= y->shape[d];
                    oa += j * sa[d];
                    ob += j * sb[d];
                }
                off[i] = oa;
                off[n_batch + i] = ob;
            }
#if FASTC_CUDA
            if (y->device.type == FC_DEVICE_CUDA) /* strided batches when the offsets are even */
                st = cuda_batched(y, &ma, &mb, n, m, k, off, n_batch);
            else
#endif
            fci_gemm_batched_f32(ma.trans, mb.trans, n, m, k, pa, ma.ld, off, pb, mb.ld,
                                 off + n_batch, py, n_batch);
            fci_free(off);
        }
    }
    fci_tensor_unref(ma.own);
    fci_tensor_unref(mb.own);
    return st;
}

static fc_tensor *matmul_nd(const char *op, fc_tensor *a, fc_tensor *b) {
    int na = a->ndim, nb = b->ndim;
    fc_shape s;
    if (fci_broadcast_shape(op, na - 2, a->shape, nb - 2, b->shape, &s.ndim, s.d)) return NULL;
    if (s.ndim + 2 > FC_MAX_DIMS) {
        fc_fail(FC_ERR_SHAPE, "%s: too many batch dims (%d)", op, s.ndim);
        return NULL;
    }
    s.d[s.ndim++] = a->shape[na - 2];
    s.d[s.ndim++] = b->shape[nb - 1];
    fc_tensor *y = fci_tensor_alloc(s, FC_DTYPE_F32, a->device);
    if (!y) return NULL;
    if (matmul_run(op, a, b, y)) {
        fc_tensor_free(y);
        return NULL;
    }
    fc_tensor *in[2] = {a, b};
    if (fci_grad_needed(2, in)) {
        fci_node *nd = fci_record(&op_matmul, y, 2, in);
        if (!nd) return NULL;
        nd->ip[0] = fci_autocast_compute_dtype(); /* backward's GEMMs on CUDA run in it too */
    }
    return y;
}

/* da = dy @ b^T and db = a^T @ dy, each summed over the batch dims its input was broadcast on.
 * With a 2-D b and a batched a (x @ W), db is one GEMM over the folded rows of a. */
static fc_status matmul_grads(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *a = n->in[0], *b = n->in[1];
    if (fci_node_needs_grad(n, 0)) {
        fc_tensor *g = matmul_nd("matmul", gy, mT(b));
        if (!g || !(gx[0] = fci_reduce_to(g, a))) return fc_error_code();
    }
    if (fci_node_needs_grad(n, 1)) {
        fc_tensor *g;
        int64_t k = a->shape[a->ndim - 1], m = b->shape[b->ndim - 1];
        if (b->ndim == 2 && a->ndim > 2 && k > 0) {
            fc_tensor *af = fc_reshape(a, FC_SHAPE(-1, k)), *gf = fc_reshape(gy, FC_SHAPE(-1, m));
            g = af && gf ? matmul_nd("matmul", mT(af), gf) : NULL;
        } else {
            g = matmul_nd("matmul", mT(a), gy);
        }
        if (!g || !(gx[1] = fci_reduce_to(g, b))) return fc_error_code();
    }
    return FC_OK;
}

/* Under autocast the backward runs as torch.autocast's: dy rounded to the forward's 16-bit type,
 * a and b already 16-bit values (the rounded inputs); on CUDA the products run on tensor cores with
 * f32 accumulation into f32 gradients (src/ops/cuda/gemm.c), on the CPU in f32 (exact products). */
static fc_status matmul_nd_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    return fci_autocast_backward(n, gy, gx, matmul_grads);
}

static int check_pair(const char *op, fc_tensor *a, fc_tensor *b) {
    return fci_check_float32(op, "a", a) || fci_check_float32(op, "b", b) ||
           fci_check_same_device(op, a, b) || fci_check_device(op, a);
}

fc_tensor *fc_matmul(fc_tensor *a, fc_tensor *b) {
    if (!a || !b) return NULL;
    if (fci_autocast_on()) return fci_autocast_matmul(a, b);
    if (check_pair("matmul", a, b)) return NULL;
    if (a->ndim == 0 || b->ndim == 0) {
        fc_fail(FC_ERR_SHAPE, "matmul: expected tensors with at least 1 dim, found shapes %s and %s",
                fci_tshape(a), fci_tshape(b));
        return NULL;
    }
    int64_t ka = a->shape[a->ndim - 1], kb = b->shape[b->ndim > 1 ? b->ndim - 2 : 0];
    if (ka != kb) {
        fc_fail(FC_ERR_SHAPE, "matmul: expected a.shape[-1] == b.shape[-2], found %lld and %lld "
                              "(shapes %s and %s)", (long long)ka, (long long)kb, fci_tshape(a),
                fci_tshape(b));
        return NULL;
    }
    /* 1-D operands become [1, k] / [k, 1] and the added dim is dropped again, as torch does */
    fc_tensor *a2 = a->ndim == 1 ? fc_unsqueeze(a, 0) : a;
    fc_tensor *b2 = b->ndim == 1 ? fc_unsqueeze(b, 1) : b;
    fc_tensor *y = a2 && b2 ? matmul_nd("matmul", a2, b2) : NULL;
    if (a2 != a) fc_tensor_free(a2);
    if (b2 != b) fc_tensor_free(b2);
    if (!y || (a->ndim > 1 && b->ndim > 1)) return y;
    fc_shape s = fc_tensor_shape(y);
    if (a->ndim == 1 && b->ndim == 1) s.ndim = 0;
    else if (a->ndim == 1) {
        s.d[s.ndim - 2] = s.d[s.ndim - 1];
        s.ndim--;
    } else {
        s.ndim--;
    }
    fc_tensor *r = fc_reshape(y, s);
    fc_tensor_free(y);
    return r;
}

fc_tensor *fc_bmm(fc_tensor *a, fc_tensor *b) {
    if (!a || !b) return NULL;
    if (fci_autocast_on()) return fci_autocast_bmm(a, b);
    if (check_pair("bmm", a, b) || fci_check_ndim("bmm", "a", a, 3) ||
        fci_check_ndim("bmm", "b", b, 3))
        return NULL;
    if (a->shape[0] != b->shape[0]) {
        fc_fail(FC_ERR_SHAPE, "bmm: expected a.shape[0] == b.shape[0], found %lld and %lld "
                              "(shapes %s and %s)", (long long)a->shape[0], (long long)b->shape[0],
                fci_tshape(a), fci_tshape(b));
        return NULL;
    }
    if (a->shape[2] != b->shape[1]) {
        fc_fail(FC_ERR_SHAPE, "bmm: expected a.shape[-1] == b.shape[-2], found %lld and %lld "
                              "(shapes %s and %s)", (long long)a->shape[2], (long long)b->shape[1],
                fci_tshape(a), fci_tshape(b));
        return NULL;
    }
    return matmul_nd("bmm", a, b);
}

/* ---- linear: y = x W^T + b as one GEMM over the folded rows of x ---- */

/* x [..., in] as a BLAS operand [rows, in]; copies when the leading dims do not fold. */
static int linear_x(fc_tensor *x, blas_mat *m, int64_t *rows) {
    int nd = x->ndim;
    int64_t in = x->shape[nd - 1], rs = 0;
    *m = (blas_mat){.t = x};
    *rows = 1;
    int folds = nd == 1 || fold_dims(x, nd - 2, rows, &rs);
    if (folds && blas_layout(*rows, in, rs, x->stride[nd - 1], &m->trans, &m->ld)) return 0;
    m->own = fci_contig_f32_any("linear", x);
    if (!m->own) return 1;
    m->t = m->own;
    m->trans = 0;
    m->ld = in > 1 ? in : 1;
    *rows = 1;
    for (int d = 0; d < nd - 1; d++) *rows *= x->shape[d];
    return 0;
}

static fc_status linear_grads(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *x = n->in[0], *w = n->in[1];
    int64_t out = w->shape[0], in = w->shape[1], rows = fc_tensor_numel(gy) / (out ? out : 1);
    const float *pg = fc_tensor_data(gy);
    fc_status st = FC_OK;
    blas_mat mw;
    if (blas_mat_of("linear", w, &mw)) return fc_error_code();
    if (fci_node_needs_grad(n, 0)) { /* dx = dy W */
        gx[0] = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
        if (!gx[0]) st = fc_error_code();
        else
            st = fci_gemm_dev(x->device, 0, mw.trans, rows, in, out, 1.0f, pg, out > 1 ? out : 1,
                      fc_tensor_data(mw.t), mw.ld, 0.0f, fc_tensor_data(gx[0]), in);
    }
    fci_tensor_unref(mw.own);
    if (st == FC_OK && fci_node_needs_grad(n, 1)) { /* dW = dy^T x */
        blas_mat mx;
        int64_t xr;
        gx[1] = fci_tensor_alloc(fc_tensor_shape(w), FC_DTYPE_F32, w->device);
        if (!gx[1] || linear_x(x, &mx, &xr)) return fc_error_code();
        st = fci_gemm_dev(w->device, 1, mx.trans, out, in, rows, 1.0f, pg, out > 1 ? out : 1,
                  fc_tensor_data(mx.t), mx.ld, 0.0f, fc_tensor_data(gx[1]), in);
        fci_tensor_unref(mx.own);
    }
    if (st == FC_OK && n->n_in > 2 && fci_node_needs_grad(n, 2)) {
        gx[2] = fci_tensor_alloc(FC_SHAPE(out), FC_DTYPE_F32, w->device);
        if (!gx[2]) return fc_error_code();
#if FASTC_CUDA
        if (FCI_IS_CUDA(w)) {
            fci_cuda_sum_axis_launch(FCI_STREAM(w), pg, fc_tensor_data(gx[2]), 1, rows, out);
            return fci_cuda_launched("linear");
        }
#endif
        fci_col_sum_f32(pg, fc_tensor_data(gx[2]), rows, out, 0);
    }
    return st;
}
/* Under autocast as matmul's; the bias gradient is the column sum of the rounded dy. */
static fc_status linear_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    return fci_autocast_backward(n, gy, gx, linear_grads);
}
static const fci_op op_linear = {"linear", linear_bwd};

static int linear_check(fc_tensor *x, fc_tensor *w, fc_tensor *bias) {
    if (fci_check_float32("linear", "x", x) || fci_check_float32("linear", "w", w) ||
        fci_check_same_device("linear", x, w) || fci_check_device("linear", x) ||
        fci_check_ndim("linear", "w", w, 2))
        return 1;
    if (x->ndim == 0 || x->shape[x->ndim - 1] != w->shape[1]) {
        fc_fail(FC_ERR_SHAPE, "linear: expected x.shape[-1] == w.shape[1] (in_features), found "
                              "x %s and w %s", fci_tshape(x), fci_tshape(w));
        return 1;
    }
    if (!bias) return 0;
    if (fci_check_float32("linear", "bias", bias) || fci_check_same_device("linear", x, bias))
        return 1;
    if (bias->ndim != 1 || bias->shape[0] != w->shape[0]) {
        fc_fail(FC_ERR_SHAPE, "linear: expected bias of shape [%lld] (out_features), found %s",
                (long long)w->shape[0], fci_tshape(bias));
        return 1;
    }
    return 0;
}

fc_tensor *fc_linear(fc_tensor *x, fc_tensor *w, fc_tensor *bias) {
    if (!x || !w) return NULL;
    if (fci_autocast_on()) return fci_autocast_linear(x, w, bias);
    if (linear_check(x, w, bias)) return NULL;
    int64_t out = w->shape[0], in = w->shape[1], rows;
    fc_shape s = fc_tensor_shape(x);
    s.d[s.ndim - 1] = out;
    fc_tensor *y = fci_tensor_alloc(s, FC_DTYPE_F32, x->device);
    if (!y) return NULL;
    blas_mat mx, mw;
    if (linear_x(x, &mx, &rows)) goto fail_y;
    if (blas_mat_of("linear", w, &mw)) goto fail_x;
    fc_tensor *bc = bias ? fci_contig_f32_any("linear", bias) : NULL;
    if (bias && !bc) goto fail_w;
    float *py = fc_tensor_data(y);
    int on_host = y->device.type == FC_DEVICE_CPU;
    if (bc && on_host) fci_rows_fill_f32(py, fc_tensor_data(bc), NULL, rows, out);
    /* y = x W^T: W stored [out, in] row-major is BLAS's transposed operand */
    fc_status gst = fci_gemm_dev(y->device, mx.trans, !mw.trans, rows, out, in, 1.0f, fc_tensor_data(mx.t),
                         mx.ld, fc_tensor_data(mw.t), mw.ld, bc && on_host ? 1.0f : 0.0f, py, out);
    if (gst == FC_OK && bc && !on_host) /* the bias row added on the device */
        fci_binary_loop(y, y, bc, fci_add_row_f32, NULL);
    if (gst != FC_OK) {
        fci_tensor_unref(bc);
        goto fail_w;
    }
    fci_tensor_unref(bc);
    fci_tensor_unref(mw.own);
    fci_tensor_unref(mx.own);
    fc_tensor *ins[3] = {x, w, bias};
    int n_in = bias ? 3 : 2;
    if (fci_grad_needed(n_in, ins)) {
        fci_node *nd = fci_record(&op_linear, y, n_in, ins);
        if (!nd) return NULL;
        nd->ip[0] = fci_autocast_compute_dtype();
    }
    return y;
fail_w:
    fci_tensor_unref(mw.own);
fail_x:
    fci_tensor_unref(mx.own);
fail_y:
    fc_tensor_free(y);
    return NULL;
}
