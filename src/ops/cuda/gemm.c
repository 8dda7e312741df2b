/* GEMM on cuBLASLt: C = alpha op(A) op(B) + beta C in row-major terms (the CPU's fci_gemm_f32),
 * computed as the column-major C^T = op(B)^T op(A)^T, so no operand is ever transposed in memory.
 * f32 runs in full f32 unless fc_cuda_set_allow_tf32(1); bf16 / f16 inputs accumulate in f32 on
 * tensor cores.
 *
 * Plans are cached: the matmul descriptor, the three layouts and the algorithm cuBLASLt's
 * heuristic chose are kept per (device, shape, leading dims, batch strides, dtypes, compute type,
 * operand alignment), so a steady-state step creates no descriptor and runs no heuristic query
 * (each a few microseconds; a ResNet step runs hundreds of GEMMs). The alignment of each pointer
 * (the largest power of two dividing it, up to 256) is part of the key and is told to the
 * heuristic, which otherwise assumes 256-byte aligned operands and may pick an algorithm that
 * faults on a view at an odd offset.
 *
 * Inside an autocast region (the f32 GEMM under a rounded op: inputs already hold bf16 / f16
 * values) the f32 operands are cast to 16 bits on the device, exactly, and multiplied on tensor
 * cores with f32 accumulation and an f32 result: what torch's autocast computes, at 16-bit speed.
 * The backward GEMMs of an op recorded inside a region (dA = dC op(B), dB = op(A) dC) do the same
 * in the type the forward used (kept in the op's node: the region may be closed by then): dC is
 * rounded to 16 bits by the cast, as torch's gradient arrives in bf16 / f16. */
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cuda_impl.h"
#include "ops/autocast_impl.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/kernels.h"

typedef struct gemm_plan {
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t lb, la, lc;
    cublasLtMatmulAlgo_t algo;
} gemm_plan;

static void plan_free(void *p) {
    gemm_plan *g = p;
    if (!g) return;
    if (g->lc) cublasLtMatrixLayoutDestroy(g->lc);
    if (g->la) cublasLtMatrixLayoutDestroy(g->la);
    if (g->lb) cublasLtMatrixLayoutDestroy(g->lb);
    if (g->desc) cublasLtMatmulDescDestroy(g->desc);
    free(g);
}

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static fci_plan_cache cache = {.free_plan = plan_free};

static void cache_at_exit(void) { fci_cuda_gemm_cache_clear(); }

void fci_cuda_gemm_cache_clear(void) {
    pthread_mutex_lock(&cache_lock);
    fci_plan_cache_clear(&cache);
    pthread_mutex_unlock(&cache_lock);
}

fci_plan_cache_stats fci_cuda_gemm_cache_stats(void) {
    pthread_mutex_lock(&cache_lock);
    fci_plan_cache_stats s = {.hits = cache.hits, .misses = cache.misses, .evictions = cache.evictions, .n = cache.n};
    pthread_mutex_unlock(&cache_lock);
    return s;
}

static int64_t alignment(const void *p) {
    uintptr_t a = (uintptr_t)p;
    int64_t al = 1;
    while (al < 256 && !(a & (uintptr_t)al)) al <<= 1;
    return al;
}

void fci_cuda_gemm_key(int device, const fci_cuda_gemm_args *g, int tf32, fci_cuda_gemm_key_t *k) {
    memset(k, 0, sizeof *k);
    *k = (fci_cuda_gemm_key_t){
        .device = device, .trans_a = g->trans_a != 0, .trans_b = g->trans_b != 0, .m = g->m, .n = g->n, .k = g->k,
        .lda = g->lda, .ldb = g->ldb, .ldc = g->ldc, .batch = g->batch,
        .stride_a = g->batch > 1 ? g->stride_a : 0, .stride_b = g->batch > 1 ? g->stride_b : 0,
        .stride_c = g->batch > 1 ? g->stride_c : 0, .ab_dtype = g->ab_dtype, .c_dtype = g->c_dtype,
        .tf32 = g->ab_dtype == FC_DTYPE_F32 && tf32, .align_a = alignment(g->a), .align_b = alignment(g->b),
        .align_c = alignment(g->c),
    };
}

static cudaDataType_t cuda_type(fc_dtype dt) {
    return dt == FC_DTYPE_BF16 ? CUDA_R_16BF : dt == FC_DTYPE_F16 ? CUDA_R_16F : CUDA_R_32F;
}

static fc_status lt_status(const char *what, cublasStatus_t s) {
    if (s == CUBLAS_STATUS_SUCCESS) return FC_OK;
    return fc_fail(FC_ERR_DEVICE, "matmul: %s failed: %s", what, cublasLtGetStatusString(s));
}

/* Descriptors, layouts and the heuristic's algorithm for key k; NULL with the error set. */
static gemm_plan *plan_new(cublasLtHandle_t lt, size_t ws_bytes, const fci_cuda_gemm_key_t *k) {
    gemm_plan *p = calloc(1, sizeof *p);
    if (!p) {
        fc_fail(FC_ERR_NOMEM, "matmul: out of memory for a cuBLASLt plan");
        return NULL;
    }
    cudaDataType_t ab = cuda_type((fc_dtype)k->ab_dtype), c = cuda_type((fc_dtype)k->c_dtype);
    cublasComputeType_t compute = k->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    /* column-major operands: first B (N x K as op(B)^T), then A (K x M as op(A)^T) */
    cublasOperation_t op_b = k->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t op_a = k->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    uint64_t b_rows = k->trans_b ? (uint64_t)k->k : (uint64_t)k->n;
    uint64_t b_cols = k->trans_b ? (uint64_t)k->n : (uint64_t)k->k;
    uint64_t a_rows = k->trans_a ? (uint64_t)k->m : (uint64_t)k->k;
    uint64_t a_cols = k->trans_a ? (uint64_t)k->k : (uint64_t)k->m;
    cublasLtMatmulPreference_t pref = NULL;
    fc_status st = lt_status("cublasLtMatmulDescCreate", cublasLtMatmulDescCreate(&p->desc, compute, CUDA_R_32F));
    if (st == FC_OK)
        st = lt_status("set TRANSA", cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_b, sizeof op_b));
    if (st == FC_OK)
        st = lt_status("set TRANSB", cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_a, sizeof op_a));
    if (st == FC_OK) st = lt_status("layout B", cublasLtMatrixLayoutCreate(&p->lb, ab, b_rows, b_cols, k->ldb));
    if (st == FC_OK) st = lt_status("layout A", cublasLtMatrixLayoutCreate(&p->la, ab, a_rows, a_cols, k->lda));
    if (st == FC_OK)
        st = lt_status("layout C", cublasLtMatrixLayoutCreate(&p->lc, c, (uint64_t)k->n, (uint64_t)k->m, k->ldc));
    if (st == FC_OK && k->batch > 1) {
        int32_t count = (int32_t)k->batch;
        struct {
            cublasLtMatrixLayout_t l;
            int64_t stride;
        } L[3] = {{p->lb, k->stride_b}, {p->la, k->stride_a}, {p->lc, k->stride_c}};
        for (int i = 0; i < 3 && st == FC_OK; i++) {
            st = lt_status("batch count", cublasLtMatrixLayoutSetAttribute(L[i].l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                                           &count, sizeof count));
            if (st == FC_OK)
                st = lt_status("batch stride",
                               cublasLtMatrixLayoutSetAttribute(L[i].l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                                &L[i].stride, sizeof L[i].stride));
        }
    }
    if (st == FC_OK) st = lt_status("cublasLtMatmulPreferenceCreate", cublasLtMatmulPreferenceCreate(&pref));
    if (st == FC_OK)
        st = lt_status("workspace preference", cublasLtMatmulPreferenceSetAttribute(
                                                   pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes, sizeof ws_bytes));
    /* cuBLASLt's A is our B and its B our A; C and D are both our C */
    uint32_t al[4] = {(uint32_t)k->align_b, (uint32_t)k->align_a, (uint32_t)k->align_c, (uint32_t)k->align_c};
    cublasLtMatmulPreferenceAttributes_t which[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4 && st == FC_OK; i++)
        st = lt_status("alignment preference", cublasLtMatmulPreferenceSetAttribute(pref, which[i], &al[i], sizeof al[i]));
    cublasLtMatmulHeuristicResult_t h;
    int found = 0;
    if (st == FC_OK)
        st = lt_status("cublasLtMatmulAlgoGetHeuristic",
                       cublasLtMatmulAlgoGetHeuristic(lt, p->desc, p->lb, p->la, p->lc, p->lc, pref, 1, &h, &found));
    if (st == FC_OK && !found)
        st = fc_fail(FC_ERR_UNSUPPORTED, "matmul: cuBLASLt has no algorithm for [%lld, %lld] x [%lld, %lld] (%s)",
                     (long long)k->m, (long long)k->k, (long long)k->k, (long long)k->n,
                     fc_dtype_name((fc_dtype)k->ab_dtype));
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (st != FC_OK) {
        plan_free(p);
        return NULL;
    }
    p->algo = h.algo;
    return p;
}

/* The cached plan for k (made on a miss); the caller holds cache_lock while it uses it. */
static gemm_plan *plan_get(cublasLtHandle_t lt, size_t ws_bytes, const fci_cuda_gemm_key_t *k) {
    static int registered;
    gemm_plan *p = fci_plan_cache_get(&cache, k, sizeof *k);
    if (!p && (p = plan_new(lt, ws_bytes, k))) {
        if (fci_plan_cache_put(&cache, k, sizeof *k, p) != FC_OK) p = NULL;
        /* after the runtime's atexit (registered when the device started): runs before it */
        if (p && !registered) registered = atexit(cache_at_exit) == 0;
    }
    return p;
}

/* The stored (row-major) matrix of an operand: rows x cols with leading dim ld, batch stride s. */
typedef struct stored {
    const void *p;
    int64_t rows, cols, ld, stride;
} stored;

/* dst (packed rows x cols per batch, batch stride rows * cols, or one matrix when the batch
 * stride is 0) = src converted to dtype; the new leading dim and stride go to *ld and *stride. */
static void cast_operand(cudaStream_t s, void *dst, fc_dtype dtype, const stored *src, int64_t batch, int64_t *ld,
                         int64_t *stride) {
    int64_t nb = src->stride ? batch : 1;
    fci_cuda_geom g = {.ndim = 3, .shape = {nb, src->rows, src->cols}};
    g.stride[0][0] = src->rows * src->cols, g.stride[0][1] = src->cols, g.stride[0][2] = 1;
    g.stride[1][0] = src->stride, g.stride[1][1] = src->ld, g.stride[1][2] = 1;
    fci_cuda_copy_launch(s, dst, dtype, src->p, FC_DTYPE_F32, nb * src->rows * src->cols, &g);
    *ld = src->cols;
    *stride = src->stride ? src->rows * src->cols : 0;
}

static uint64_t n_16bit;
uint64_t fci_cuda_gemm_16bit_count(void) { return __atomic_load_n(&n_16bit, __ATOMIC_RELAXED); }

/* Autocast's GEMM: f32 operands holding 16-bit values (or dC, rounded by the cast) cast to dtype
 * in temporaries. */
static fc_status gemm_16bit(int device, const fci_cuda_gemm_args *g, fc_dtype dtype) {
    __atomic_fetch_add(&n_16bit, 1, __ATOMIC_RELAXED);
    stored a = {g->a, g->trans_a ? g->k : g->m, g->trans_a ? g->m : g->k, g->lda, g->batch > 1 ? g->stride_a : 0};
    stored b = {g->b, g->trans_b ? g->n : g->k, g->trans_b ? g->k : g->n, g->ldb, g->batch > 1 ? g->stride_b : 0};
    size_t na = (size_t)((a.stride ? g->batch : 1) * a.rows * a.cols) * 2;
    size_t nb = (size_t)((b.stride ? g->batch : 1) * b.rows * b.cols) * 2;
    void *ta = fci_cuda_alloc(device, na), *tb = ta ? fci_cuda_alloc(device, nb) : NULL;
    fc_status st = tb ? FC_OK : fc_error_code();
    if (st == FC_OK) {
        cudaStream_t s = (cudaStream_t)fci_cuda_stream(device);
        fci_cuda_gemm_args h = *g;
        cast_operand(s, ta, dtype, &a, g->batch, &h.lda, &h.stride_a);
        cast_operand(s, tb, dtype, &b, g->batch, &h.ldb, &h.stride_b);
        h.a = ta, h.b = tb, h.ab_dtype = dtype;
        st = fci_cuda_launched("matmul");
        if (st == FC_OK) st = fci_cuda_gemm(device, &h);
    }
    if (tb) fci_cuda_release(device, tb, nb); /* stream order: the GEMM runs before any reuse */
    if (ta) fci_cuda_release(device, ta, na);
    return st;
}

fc_status fci_cuda_gemm(int device, const fci_cuda_gemm_args *g) {
    if (g->m == 0 || g->n == 0 || g->batch == 0) return FC_OK;
    if (g->k == 0) { /* an empty sum: C = beta C; cuBLASLt takes no empty operand */
        if (g->beta == 1.0f) return FC_OK;
        if (g->beta != 0.0f)
            return fc_fail(FC_ERR_UNSUPPORTED, "matmul: an empty inner dimension with beta %g", (double)g->beta);
        size_t es = g->c_dtype == FC_DTYPE_F32 ? 4 : 2;
        cudaStream_t s = (cudaStream_t)fci_cuda_stream(device);
        for (int64_t i = 0; i < g->batch; i++) {
            cudaError_t e = cudaMemset2DAsync((char *)g->c + (size_t)(i * g->stride_c) * es, (size_t)g->ldc * es, 0,
                                              (size_t)g->n * es, (size_t)g->m, s);
            if (e != cudaSuccess) return fci_cuda_status("matmul", "cudaMemset2DAsync", e);
        }
        return FC_OK;
    }
    /* inside a rounded op (autocast on, suspended) or the backward of one: in 16 bits */
    fc_dtype dt16 = fci_autocast_compute_dtype();
    if (g->ab_dtype == FC_DTYPE_F32 && g->c_dtype == FC_DTYPE_F32 && dt16 != FC_DTYPE_F32)
        return gemm_16bit(device, g, dt16);
    void *ws;
    size_t ws_bytes;
    cublasLtHandle_t lt = fci_cublaslt(device, &ws, &ws_bytes);
    if (!lt) return fc_error_code();
    fci_cuda_gemm_key_t key;
    fci_cuda_gemm_key(device, g, fc_cuda_allow_tf32(), &key);
    pthread_mutex_lock(&cache_lock); /* held while the plan is used: no other thread evicts it */
    gemm_plan *p = plan_get(lt, ws_bytes, &key);
    fc_status st = p ? lt_status("cublasLtMatmul",
                                 cublasLtMatmul(lt, p->desc, &g->alpha, g->b, p->lb, g->a, p->la, &g->beta, g->c, p->lc,
                                                g->c, p->lc, &p->algo, ws, ws_bytes, (cudaStream_t)fci_cuda_stream(device)))
                     : fc_error_code();
    pthread_mutex_unlock(&cache_lock);
    return st;
}
