/* The emulator's cuBLASLt: a host reference GEMM behind cuBLASLt's API (see include/cublasLt.h).
 *
 * D = alpha op(A) op(B) + beta C, column-major, batched with strides, A/B f32, bf16 or f16, C/D f32
 * or A's type, f32 accumulation in k order, the result rounded once to D's type. With
 * CUBLAS_COMPUTE_32F_FAST_TF32 each f32 A/B element is rounded to TF32 (nearest even) before the
 * products, as tensor cores read it; CUBLAS_COMPUTE_32F is exact f32. beta == 0 never reads C
 * (it may hold NaN garbage, as in cuBLASLt). C and D may be the same buffer.
 *
 * The algorithm the heuristic returns records the problem it was chosen for (types, compute type)
 * and the operand alignment the preference declared (256 bytes by default, as cuBLASLt assumes);
 * cublasLtMatmul rejects an operand less aligned than that with CUBLAS_STATUS_INVALID_VALUE where
 * real cuBLASLt may read out of alignment and fault: the glue bug shows as an error, here. While
 * fce_library_pointer_checks is on (the default), an operand whose extent is not inside one cudaMalloc
 * block is CUBLAS_STATUS_INVALID_VALUE too (real cuBLASLt: an illegal address later). */
#include <cublasLt.h>

#include "fce_libs_impl.h"


#define ALGO_MAGIC 0x6663652d6c74616cull /* "fce-ltal" */
#define DEFAULT_ALIGNMENT 256

struct cublasLtContext {
    int magic;
};
struct cublasLtMatmulDescOpaque_t {
    cublasComputeType_t compute;
    cudaDataType_t scale;
    cublasOperation_t trans_a, trans_b;
    cublasLtPointerMode_t pointer_mode;
    int32_t epilogue;
};
struct cublasLtMatrixLayoutOpaque_t {
    cudaDataType_t type;
    uint64_t rows, cols;
    int64_t ld;
    int32_t batch, order;
    int64_t stride;
};
struct cublasLtMatmulPreferenceOpaque_t {
    uint64_t max_workspace;
    uint32_t align[4]; /* A, B, C, D */
};

static _Thread_local char last_error[512];
const char *fce_cublaslt_last_error(void) { return last_error; }

static cublasStatus_t fail(cublasStatus_t st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cublasStatus_t fail(cublasStatus_t st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fce_report(last_error, sizeof last_error, "cuBLASLt", fmt, ap);
    va_end(ap);
    return st;
}

const char *cublasLtGetStatusName(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

const char *cublasLtGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "an error was detected when checking the current licensing";
    }
    return "unknown error";
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) {
    if (!h) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtCreate: NULL handle pointer");
    if (!(*h = calloc(1, sizeof **h))) return CUBLAS_STATUS_ALLOC_FAILED;
    (*h)->magic = 0x4c74;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) {
    if (!h) return fail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasLtDestroy: NULL handle");
    free(h);
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- descriptors ---------------------------------------------------------------------------- */

static int elem_type(cudaDataType_t t) {
    return t == CUDA_R_32F ? FCE_F32 : t == CUDA_R_16BF ? FCE_BF16 : t == CUDA_R_16F ? FCE_F16 : -1;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute, cudaDataType_t scale) {
    if (!d) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmulDescCreate: NULL descriptor pointer");
    if (!(*d = calloc(1, sizeof **d))) return CUBLAS_STATUS_ALLOC_FAILED;
    **d = (struct cublasLtMatmulDescOpaque_t){.compute = compute, .scale = scale, .trans_a = CUBLAS_OP_N,
                                              .trans_b = CUBLAS_OP_N, .epilogue = CUBLASLT_EPILOGUE_DEFAULT};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    free(d);
    return CUBLAS_STATUS_SUCCESS;
}

/* *(type *)dst = value of buf, when size matches the attribute's */
#define SET_ATTR(field, type)                                                                               \
    do {                                                                                                  \
        if (size != sizeof(type))                                                                         \
            return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: attribute %d takes %zu bytes, found %zu", fn,   \
                        (int)attr, sizeof(type), size);                                                   \
        type v_;                                                                                          \
        memcpy(&v_, buf, sizeof v_);                                                                      \
        field = v_;                                                                                       \
    } while (0)

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t size) {
    const char *fn = "cublasLtMatmulDescSetAttribute";
    if (!d || !buf) return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: NULL descriptor or buffer", fn);
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_COMPUTE_TYPE: SET_ATTR(d->compute, int32_t); break;
    case CUBLASLT_MATMUL_DESC_SCALE_TYPE: SET_ATTR(d->scale, int32_t); break;
    case CUBLASLT_MATMUL_DESC_POINTER_MODE: SET_ATTR(d->pointer_mode, int32_t); break;
    case CUBLASLT_MATMUL_DESC_TRANSA: SET_ATTR(d->trans_a, int32_t); break;
    case CUBLASLT_MATMUL_DESC_TRANSB: SET_ATTR(d->trans_b, int32_t); break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE: SET_ATTR(d->epilogue, uint32_t); break;
    default: return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: attribute %d is not emulated", fn, (int)attr);
    }
    if (d->trans_a > CUBLAS_OP_C || d->trans_b > CUBLAS_OP_C)
        return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: transpose must be CUBLAS_OP_N, _T or _C", fn);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescGetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, void *buf,
                                              size_t size, size_t *written) {
    int32_t v;
    if (!d) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmulDescGetAttribute: NULL descriptor");
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_COMPUTE_TYPE: v = d->compute; break;
    case CUBLASLT_MATMUL_DESC_SCALE_TYPE: v = d->scale; break;
    case CUBLASLT_MATMUL_DESC_POINTER_MODE: v = d->pointer_mode; break;
    case CUBLASLT_MATMUL_DESC_TRANSA: v = d->trans_a; break;
    case CUBLASLT_MATMUL_DESC_TRANSB: v = d->trans_b; break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE: v = d->epilogue; break;
    default:
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLtMatmulDescGetAttribute: attribute %d is not emulated",
                    (int)attr);
    }
    if (written) *written = sizeof v;
    if (!buf && size == 0 && written) return CUBLAS_STATUS_SUCCESS;
    if (!buf || size != sizeof v)
        return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmulDescGetAttribute: expected a 4-byte buffer");
    memcpy(buf, &v, sizeof v);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType_t type, uint64_t rows, uint64_t cols,
                                          int64_t ld) {
    if (!l) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatrixLayoutCreate: NULL layout pointer");
    if (!(*l = calloc(1, sizeof **l))) return CUBLAS_STATUS_ALLOC_FAILED;
    **l = (struct cublasLtMatrixLayoutOpaque_t){.type = type, .rows = rows, .cols = cols, .ld = ld, .batch = 1,
                                                .order = CUBLASLT_ORDER_COL};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    free(l);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                                                const void *buf, size_t size) {
    const char *fn = "cublasLtMatrixLayoutSetAttribute";
    if (!l || !buf) return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: NULL layout or buffer", fn);
    switch (attr) {
    case CUBLASLT_MATRIX_LAYOUT_TYPE: SET_ATTR(l->type, uint32_t); break;
    case CUBLASLT_MATRIX_LAYOUT_ORDER: SET_ATTR(l->order, int32_t); break;
    case CUBLASLT_MATRIX_LAYOUT_ROWS: SET_ATTR(l->rows, uint64_t); break;
    case CUBLASLT_MATRIX_LAYOUT_COLS: SET_ATTR(l->cols, uint64_t); break;
    case CUBLASLT_MATRIX_LAYOUT_LD: SET_ATTR(l->ld, int64_t); break;
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: SET_ATTR(l->batch, int32_t); break;
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: SET_ATTR(l->stride, int64_t); break;
    default: return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: attribute %d is not emulated", fn, (int)attr);
    }
    if (l->order != CUBLASLT_ORDER_COL)
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: only CUBLASLT_ORDER_COL is emulated", fn);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutGetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                                                void *buf, size_t size, size_t *written) {
    union {
        int32_t i32;
        uint32_t u32;
        uint64_t u64;
        int64_t i64;
    } v;
    size_t n;
    if (!l) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatrixLayoutGetAttribute: NULL layout");
    switch (attr) {
    case CUBLASLT_MATRIX_LAYOUT_TYPE: v.u32 = (uint32_t)l->type, n = 4; break;
    case CUBLASLT_MATRIX_LAYOUT_ORDER: v.i32 = l->order, n = 4; break;
    case CUBLASLT_MATRIX_LAYOUT_ROWS: v.u64 = l->rows, n = 8; break;
    case CUBLASLT_MATRIX_LAYOUT_COLS: v.u64 = l->cols, n = 8; break;
    case CUBLASLT_MATRIX_LAYOUT_LD: v.i64 = l->ld, n = 8; break;
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: v.i32 = l->batch, n = 4; break;
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: v.i64 = l->stride, n = 8; break;
    default:
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLtMatrixLayoutGetAttribute: attribute %d is not emulated",
                    (int)attr);
    }
    if (written) *written = n;
    if (!buf && size == 0 && written) return CUBLAS_STATUS_SUCCESS;
    if (!buf || size != n)
        return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatrixLayoutGetAttribute: expected a %zu-byte buffer", n);
    memcpy(buf, &v, n);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
    if (!p) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmulPreferenceCreate: NULL pointer");
    if (!(*p = calloc(1, sizeof **p))) return CUBLAS_STATUS_ALLOC_FAILED;
    for (int i = 0; i < 4; i++) (*p)->align[i] = DEFAULT_ALIGNMENT;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    free(p);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void *buf,
                                                    size_t size) {
    const char *fn = "cublasLtMatmulPreferenceSetAttribute";
    uint32_t unused32;
    uint64_t unused64;
    if (!p || !buf) return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: NULL preference or buffer", fn);
    switch (attr) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: SET_ATTR(p->max_workspace, uint64_t); break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: SET_ATTR(p->align[0], uint32_t); break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: SET_ATTR(p->align[1], uint32_t); break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: SET_ATTR(p->align[2], uint32_t); break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: SET_ATTR(p->align[3], uint32_t); break;
    case CUBLASLT_MATMUL_PREF_SEARCH_MODE:
    case CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK:
    case CUBLASLT_MATMUL_PREF_MAX_WAVES_COUNT: SET_ATTR(unused32, uint32_t); (void)unused32; break;
    case CUBLASLT_MATMUL_PREF_IMPL_MASK: SET_ATTR(unused64, uint64_t); (void)unused64; break;
    default: return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: attribute %d is not emulated", fn, (int)attr);
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- the problem ---------------------------------------------------------------------------- */

typedef struct problem {
    int ta, tb;                      /* op(A), op(B) transposed */
    int64_t m, n, k, batch;
    int ab, c;                       /* element types (FCE_*) of A/B and of C/D */
    int tf32;
    const struct cublasLtMatrixLayoutOpaque_t *l[4]; /* A, B, C, D */
} problem;

/* Checks the descriptors as cuBLASLt does; CUBLAS_STATUS_SUCCESS and *p filled, or the failure. */
static cublasStatus_t problem_check(const char *fn, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t la,
                                    cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t lc, cublasLtMatrixLayout_t ld,
                                    problem *p) {
    if (!d || !la || !lb || !lc || !ld) return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: NULL descriptor or layout", fn);
    if (d->trans_a == CUBLAS_OP_C || d->trans_b == CUBLAS_OP_C)
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: CUBLAS_OP_C on real types is not emulated", fn);
    if (d->epilogue != CUBLASLT_EPILOGUE_DEFAULT)
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: epilogue %d is not emulated", fn, (int)d->epilogue);
    if (d->pointer_mode != CUBLASLT_POINTER_MODE_HOST)
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: only host alpha / beta pointers are emulated", fn);
    *p = (problem){.ta = d->trans_a == CUBLAS_OP_T, .tb = d->trans_b == CUBLAS_OP_T, .l = {la, lb, lc, ld}};
    const char *names = "ABCD";
    for (int i = 0; i < 4; i++) {
        const struct cublasLtMatrixLayoutOpaque_t *l = p->l[i];
        if (elem_type(l->type) < 0)
            return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: %c has data type %d, emulated: CUDA_R_32F, _16F, _16BF", fn,
                        names[i], (int)l->type);
        if (l->rows == 0 || l->cols == 0 || l->rows > INT32_MAX || l->cols > INT32_MAX)
            return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: %c is %llu x %llu", fn, names[i],
                        (unsigned long long)l->rows, (unsigned long long)l->cols);
        if (l->ld < (int64_t)l->rows)
            return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: %c has ld %lld < rows %llu (column-major)", fn, names[i],
                        (long long)l->ld, (unsigned long long)l->rows);
        if (l->batch < 1 || l->stride < 0)
            return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: %c has batch count %d, stride %lld", fn, names[i],
                        (int)l->batch, (long long)l->stride);
    }
    p->m = (int64_t)(p->ta ? la->cols : la->rows);
    p->k = (int64_t)(p->ta ? la->rows : la->cols);
    int64_t kb = (int64_t)(p->tb ? lb->cols : lb->rows);
    p->n = (int64_t)(p->tb ? lb->rows : lb->cols);
    if (kb != p->k)
        return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: op(A) is %lld x %lld but op(B) is %lld x %lld", fn,
                    (long long)p->m, (long long)p->k, (long long)kb, (long long)p->n);
    for (int i = 2; i < 4; i++)
        if ((int64_t)p->l[i]->rows != p->m || (int64_t)p->l[i]->cols != p->n)
            return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: %c is %llu x %llu, expected op(A) op(B)'s %lld x %lld", fn,
                        names[i], (unsigned long long)p->l[i]->rows, (unsigned long long)p->l[i]->cols,
                        (long long)p->m, (long long)p->n);
    p->batch = ld->batch;
    for (int i = 0; i < 3; i++)
        if (p->l[i]->batch != ld->batch)
            return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: %c has batch count %d, D %d", fn, names[i],
                        (int)p->l[i]->batch, (int)ld->batch);
    if (la->type != lb->type)
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: A and B types differ (%d, %d)", fn, (int)la->type,
                    (int)lb->type);
    if (lc->type != ld->type)
        return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: C and D types differ (%d, %d)", fn, (int)lc->type,
                    (int)ld->type);
    p->ab = elem_type(la->type);
    p->c = elem_type(lc->type);
    if (p->c != FCE_F32 && p->c != p->ab)
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: C/D type %d with A/B type %d", fn, (int)lc->type, (int)la->type);
    if (d->scale != CUDA_R_32F)
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: scale type %d, emulated: CUDA_R_32F", fn, (int)d->scale);
    if (d->compute == CUBLAS_COMPUTE_32F_FAST_TF32) {
        if (p->ab != FCE_F32)
            return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: CUBLAS_COMPUTE_32F_FAST_TF32 needs f32 A/B", fn);
        p->tf32 = 1;
    } else if (d->compute != CUBLAS_COMPUTE_32F && d->compute != CUBLAS_COMPUTE_32F_PEDANTIC) {
        return fail(CUBLAS_STATUS_NOT_SUPPORTED, "%s: compute type %d, emulated: CUBLAS_COMPUTE_32F, _32F_FAST_TF32",
                    fn, (int)d->compute);
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* The algorithm: a tag, the problem's types and compute, and the alignments it assumes. */
enum { ALGO_TAG, ALGO_TYPES, ALGO_ALIGN_AB, ALGO_ALIGN_CD };
static uint64_t algo_types(const problem *p) { return (uint64_t)p->ab | (uint64_t)p->c << 8 | (uint64_t)p->tf32 << 16; }

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t la,
                                              cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t lc,
                                              cublasLtMatrixLayout_t ld, cublasLtMatmulPreference_t pref,
                                              int requested, cublasLtMatmulHeuristicResult_t results[], int *found) {
    const char *fn = "cublasLtMatmulAlgoGetHeuristic";
    if (!h) return fail(CUBLAS_STATUS_NOT_INITIALIZED, "%s: NULL handle", fn);
    if (!pref || !results || !found || requested < 1)
        return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: NULL preference, results or count, or %d requested", fn,
                    requested);
    *found = 0;
    problem p;
    cublasStatus_t st = problem_check(fn, d, la, lb, lc, ld, &p);
    if (st != CUBLAS_STATUS_SUCCESS) return st; /* with *found = 0 */
    size_t es[4] = {fce_type_size(p.ab), fce_type_size(p.ab), fce_type_size(p.c), fce_type_size(p.c)};
    for (int i = 0; i < 4; i++) {
        uint32_t a = pref->align[i];
        if (a == 0 || (a & (a - 1)) || a < es[i])
            return fail(CUBLAS_STATUS_NOT_SUPPORTED,
                        "%s: no algorithm for operand %c aligned to %u bytes (elements of %zu bytes)", fn, "ABCD"[i],
                        a, es[i]);
    }
    memset(&results[0], 0, sizeof results[0]);
    results[0].algo.data[ALGO_TAG] = ALGO_MAGIC;
    results[0].algo.data[ALGO_TYPES] = algo_types(&p);
    results[0].algo.data[ALGO_ALIGN_AB] = (uint64_t)pref->align[0] | (uint64_t)pref->align[1] << 32;
    results[0].algo.data[ALGO_ALIGN_CD] = (uint64_t)pref->align[2] | (uint64_t)pref->align[3] << 32;
    results[0].workspaceSize = 0;
    results[0].state = CUBLAS_STATUS_SUCCESS;
    results[0].wavesCount = 1.0f;
    *found = 1;
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- the product ---------------------------------------------------------------------------- */

/* Elements from the start of one batch's matrix to one past its last element. */
static int64_t extent(const struct cublasLtMatrixLayoutOpaque_t *l) {
    return ((int64_t)l->batch - 1) * l->stride + ((int64_t)l->cols - 1) * l->ld + (int64_t)l->rows;
}

/* dst[l * rows + i] (column-major rows x cols, packed) = op(src)[i, l] as f32 (TF32-rounded). */
static void pack(float *dst, const void *src, int type, int64_t ld, int trans, int64_t rows, int64_t cols, int tf32) {
    for (int64_t l = 0; l < cols; l++) {
        float *d = dst + l * rows;
        if (!trans) { /* column l of the stored matrix */
            size_t base = (size_t)(l * ld);
            if (type == FCE_F32) memcpy(d, (const float *)src + base, (size_t)rows * sizeof(float));
            else
                for (int64_t i = 0; i < rows; i++) d[i] = fce_load(src, type, base + (size_t)i);
        } else { /* row l of the stored matrix */
            for (int64_t i = 0; i < rows; i++) d[i] = fce_load(src, type, (size_t)(i * ld + l));
        }
        if (tf32)
            for (int64_t i = 0; i < rows; i++) d[i] = fce_round_tf32(d[i]);
    }
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t desc, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t la, const void *B, cublasLtMatrixLayout_t lb, const void *beta,
                              const void *C, cublasLtMatrixLayout_t lc, void *D, cublasLtMatrixLayout_t ld,
                              const cublasLtMatmulAlgo_t *algo, void *workspace, size_t workspace_bytes,
                              cudaStream_t stream) {
    const char *fn = "cublasLtMatmul";
    (void)workspace, (void)workspace_bytes; /* the emulator's algorithm needs no workspace */
    fce_stream_drain(stream); /* computed at the call, after the stream's earlier work */
    if (!h) return fail(CUBLAS_STATUS_NOT_INITIALIZED, "%s: NULL handle", fn);
    problem p;
    cublasStatus_t st = problem_check(fn, desc, la, lb, lc, ld, &p);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    if (!alpha || !beta) return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: NULL alpha or beta", fn);
    float al = *(const float *)alpha, be = *(const float *)beta;
    if (!A || !B || !D || (!C && be != 0.0f))
        return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: NULL operand (A %p, B %p, C %p, D %p)", fn, A, B, C, (void *)D);
    const void *ptr[4] = {A, B, C, D};
    if (algo) {
        if (algo->data[ALGO_TAG] != ALGO_MAGIC)
            return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: the algorithm is not one the heuristic returned", fn);
        if (algo->data[ALGO_TYPES] != algo_types(&p))
            return fail(CUBLAS_STATUS_INVALID_VALUE,
                        "%s: the algorithm was chosen for other data / compute types than this call's", fn);
        for (int i = 0; i < 4; i++) {
            uint64_t need = (algo->data[i < 2 ? ALGO_ALIGN_AB : ALGO_ALIGN_CD] >> (i % 2 ? 32 : 0)) & 0xffffffffu;
            if (ptr[i] && fce_alignment(ptr[i]) < need)
                return fail(CUBLAS_STATUS_INVALID_VALUE,
                            "%s: %c at %p is aligned to %llu bytes, the algorithm was chosen for %llu "
                            "(MIN_ALIGNMENT_%c_BYTES)",
                            fn, "ABCD"[i], ptr[i], (unsigned long long)fce_alignment(ptr[i]),
                            (unsigned long long)need, "ABCD"[i]);
        }
    }
    if (fce_library_pointer_checks)
        for (int i = 0; i < 4; i++) {
            if (!ptr[i] || (i == 2 && be == 0.0f)) continue;
            size_t n = (size_t)extent(p.l[i]) * (i < 2 ? fce_type_size(p.ab) : fce_type_size(p.c));
            if (!fce_is_device(ptr[i], n))
                return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: %c (%p, %zu bytes) is not inside one cudaMalloc block",
                            fn, "ABCD"[i], ptr[i], n);
        }
    if (C == D && (lc->ld != ld->ld || lc->stride != ld->stride))
        return fail(CUBLAS_STATUS_INVALID_VALUE, "%s: C and D are the same buffer with different layouts", fn);

    int64_t m = p.m, n = p.n, k = p.k;
    float *pa = malloc(sizeof(float) * (size_t)(m * k)), *pb = malloc(sizeof(float) * (size_t)(k * n));
    float *acc = malloc(sizeof(float) * (size_t)m);
    if (!pa || !pb || !acc) {
        free(pa), free(pb), free(acc);
        return fail(CUBLAS_STATUS_ALLOC_FAILED, "%s: out of host memory", fn);
    }
    size_t es_ab = fce_type_size(p.ab);
    for (int64_t bi = 0; bi < p.batch; bi++) {
        const char *a = (const char *)A + (size_t)(bi * la->stride) * es_ab;
        const char *b = (const char *)B + (size_t)(bi * lb->stride) * es_ab;
        /* op(A) as m x k and op(B) as k x n, both column-major packed: the loop below streams
         * columns of op(A) and of D */
        if (bi == 0 || la->stride) pack(pa, a, p.ab, la->ld, p.ta, m, k, p.tf32);
        if (bi == 0 || lb->stride) pack(pb, b, p.ab, lb->ld, p.tb, k, n, p.tf32);
        size_t c0 = (size_t)(bi * lc->stride), d0 = (size_t)(bi * ld->stride);
        for (int64_t j = 0; j < n; j++) {
            for (int64_t i = 0; i < m; i++) acc[i] = 0.0f;
            const float *bj = pb + j * k;
            for (int64_t l = 0; l < k; l++) {
                const float *al_ = pa + l * m;
                float bv = bj[l];
                for (int64_t i = 0; i < m; i++) acc[i] += al_[i] * bv;
            }
            size_t cj = c0 + (size_t)(j * lc->ld), dj = d0 + (size_t)(j * ld->ld);
            for (int64_t i = 0; i < m; i++) {
                float v = al * acc[i];
                if (be != 0.0f) v += be * fce_load(C, p.c, cj + (size_t)i);
                fce_store(D, p.c, dj + (size_t)i, v);
            }
        }
    }
    free(pa), free(pb), free(acc);
    return CUBLAS_STATUS_SUCCESS;
}
