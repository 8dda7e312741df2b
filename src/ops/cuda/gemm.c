/* GEMM on cuBLASLt: C = alpha op(A) op(B) + beta C in row-major terms (the CPU's fci_gemm_f32),
 * computed as the column-major C^T = op(B)^T op(A)^T, so no operand is ever transposed in memory.
 * f32 runs in full f32 unless fc_cuda_set_allow_tf32(1); bf16 / f16 inputs accumulate in f32 on
 * tensor cores. The algorithm comes from cuBLASLt's heuristic for the handle's workspace. */
#include <cublasLt.h>
#include <cuda_runtime.h>

#include "core/cuda_impl.h"
#include "ops/cuda/cuda_ops.h"

static cudaDataType_t cuda_type(fc_dtype dt) {
    return dt == FC_DTYPE_BF16 ? CUDA_R_16BF : dt == FC_DTYPE_F16 ? CUDA_R_16F : CUDA_R_32F;
}

static fc_status lt_status(const char *what, cublasStatus_t s) {
    if (s == CUBLAS_STATUS_SUCCESS) return FC_OK;
    return fc_fail(FC_ERR_DEVICE, "matmul: %s failed: %s", what, cublasLtGetStatusString(s));
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
    void *ws;
    size_t ws_bytes;
    cublasLtHandle_t lt = fci_cublaslt(device, &ws, &ws_bytes);
    if (!lt) return fc_error_code();
    cudaDataType_t ab = cuda_type(g->ab_dtype), c = cuda_type(g->c_dtype);
    cublasComputeType_t compute = g->ab_dtype == FC_DTYPE_F32 && fc_cuda_allow_tf32()
                                      ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    /* column-major operands: first B (N x K as op(B)^T), then A (K x M as op(A)^T) */
    cublasOperation_t op_b = g->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t op_a = g->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    uint64_t b_rows = g->trans_b ? (uint64_t)g->k : (uint64_t)g->n;
    uint64_t b_cols = g->trans_b ? (uint64_t)g->n : (uint64_t)g->k;
    uint64_t a_rows = g->trans_a ? (uint64_t)g->m : (uint64_t)g->k;
    uint64_t a_cols = g->trans_a ? (uint64_t)g->k : (uint64_t)g->m;
    cublasLtMatmulDesc_t desc = NULL;
    cublasLtMatrixLayout_t lb = NULL, la = NULL, lc = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    fc_status st = lt_status("cublasLtMatmulDescCreate", cublasLtMatmulDescCreate(&desc, compute, CUDA_R_32F));
    if (st == FC_OK)
        st = lt_status("set TRANSA", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_b, sizeof op_b));
    if (st == FC_OK)
        st = lt_status("set TRANSB", cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_a, sizeof op_a));
    if (st == FC_OK)
        st = lt_status("layout B", cublasLtMatrixLayoutCreate(&lb, ab, b_rows, b_cols, g->ldb));
    if (st == FC_OK)
        st = lt_status("layout A", cublasLtMatrixLayoutCreate(&la, ab, a_rows, a_cols, g->lda));
    if (st == FC_OK)
        st = lt_status("layout C", cublasLtMatrixLayoutCreate(&lc, c, (uint64_t)g->n, (uint64_t)g->m, g->ldc));
    if (st == FC_OK && g->batch > 1) {
        int32_t count = (int32_t)g->batch;
        struct { cublasLtMatrixLayout_t l; int64_t stride; } L[3] = {{lb, g->stride_b}, {la, g->stride_a}, {lc, g->stride_c}};
        for (int i = 0; i < 3 && st == FC_OK; i++) {
            st = lt_status("batch count", cublasLtMatrixLayoutSetAttribute(L[i].l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
            if (st == FC_OK)
                st = lt_status("batch stride", cublasLtMatrixLayoutSetAttribute(L[i].l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                                                &L[i].stride, sizeof L[i].stride));
        }
    }
    if (st == FC_OK) st = lt_status("cublasLtMatmulPreferenceCreate", cublasLtMatmulPreferenceCreate(&pref));
    if (st == FC_OK)
        st = lt_status("workspace preference", cublasLtMatmulPreferenceSetAttribute(
                                                   pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes, sizeof ws_bytes));
    cublasLtMatmulHeuristicResult_t h;
    int found = 0;
    if (st == FC_OK)
        st = lt_status("cublasLtMatmulAlgoGetHeuristic",
                       cublasLtMatmulAlgoGetHeuristic(lt, desc, lb, la, lc, lc, pref, 1, &h, &found));
    if (st == FC_OK && !found)
        st = fc_fail(FC_ERR_UNSUPPORTED, "matmul: cuBLASLt has no algorithm for [%lld, %lld] x [%lld, %lld] (%s)",
                     (long long)g->m, (long long)g->k, (long long)g->k, (long long)g->n, fc_dtype_name(g->ab_dtype));
    if (st == FC_OK)
        st = lt_status("cublasLtMatmul",
                       cublasLtMatmul(lt, desc, &g->alpha, g->b, lb, g->a, la, &g->beta, g->c, lc, g->c, lc, &h.algo,
                                      ws, ws_bytes, (cudaStream_t)fci_cuda_stream(device)));
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (desc) cublasLtMatmulDescDestroy(desc);
    return st;
}
