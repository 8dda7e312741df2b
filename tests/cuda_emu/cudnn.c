/* The emulator's cuDNN: host reference convolutions behind cuDNN 9's legacy API (see
 * include/cudnn.h).
 *
 * Every pass reads its operands into f32 NCHW (filters K, C/g, R, S) buffers, whatever their layout
 * (NCHW, NHWC or explicit strides) and type (f32, bf16, f16), computes per image and group as an
 * im2col GEMM with f32 accumulation, and writes alpha * result + beta * destination in the
 * destination's layout, rounded once to its type; beta == 0 never reads the destination (it may
 * hold NaN garbage, as in cuDNN). f32 data whose convolution math type allows tensor cores
 * (CUDNN_DEFAULT_MATH, CUDNN_TENSOR_OP_MATH) has its inputs rounded to TF32 first, the worst case
 * of what cuDNN may pick; CUDNN_FMA_MATH is exact f32.
 *
 * Algorithms: the _v7 queries list first an algorithm that keeps its im2col columns in the
 * workspace (FWD_ALGO_GEMM, BWD_DATA_ALGO_1, BWD_FILTER_ALGO_1: the caller's workspace is really
 * used, so one that overlaps live data corrupts the result as on a GPU), then one that needs none
 * (IMPLICIT_GEMM, ALGO_0: the same arithmetic in host memory of its own), then the rest as
 * CUDNN_STATUS_NOT_SUPPORTED. Their time is -1: nothing is measured. Both supported algorithms
 * give bit-identical results.
 *
 * Validation as cuDNN's: CUDNN_STATUS_BAD_PARAM when descriptors do not make one convolution
 * (output dims other than cuDNN's formula, channels or groups that disagree, mixed data types), when
 * the workspace is smaller than the algorithm's size; CUDNN_STATUS_BAD_PARAM_NULL_POINTER (a
 * BAD_PARAM in cuDNN 9's categories) for a NULL pointer. While fce_library_pointer_checks is on
 * (the default), an operand not inside one cudaMalloc block is CUDNN_STATUS_BAD_PARAM too, where
 * cuDNN would fault with an illegal address. */
#include <cudnn.h>

#include "fce_libs_impl.h"


struct cudnnContext {
    cudaStream_t stream;
};
struct cudnnTensorStruct {
    int set;
    cudnnDataType_t type;
    int64_t dim[4], stride[4]; /* n, c, h, w */
};
struct cudnnFilterStruct {
    int set;
    cudnnDataType_t type;
    cudnnTensorFormat_t format;
    int64_t k, c, r, s;
};
struct cudnnConvolutionStruct {
    int set;
    int ph, pw, u, v, dh, dw, groups;
    cudnnConvolutionMode_t mode;
    cudnnDataType_t compute;
    cudnnMathType_t math;
};

static _Thread_local char last_error[512];
const char *fce_cudnn_last_error(void) { return last_error; }

static cudnnStatus_t fail(cudnnStatus_t st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cudnnStatus_t fail(cudnnStatus_t st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fce_report(last_error, sizeof last_error, "cuDNN", fmt, ap);
    va_end(ap);
    return st;
}

size_t cudnnGetVersion(void) { return CUDNN_VERSION; }

const char *cudnnGetErrorString(cudnnStatus_t s) {
    switch (s) {
    case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_NOT_INITIALIZED: return "CUDNN_STATUS_NOT_INITIALIZED";
    case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_BAD_PARAM_NULL_POINTER: return "CUDNN_STATUS_BAD_PARAM_NULL_POINTER";
    case CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER: return "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER";
    case CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED: return "CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED";
    case CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND: return "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND";
    case CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT: return "CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT";
    case CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH: return "CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH";
    case CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH: return "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH";
    case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
    case CUDNN_STATUS_INTERNAL_ERROR: return "CUDNN_STATUS_INTERNAL_ERROR";
    case CUDNN_STATUS_ALLOC_FAILED: return "CUDNN_STATUS_ALLOC_FAILED";
    case CUDNN_STATUS_EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
    }
    return "CUDNN_STATUS_UNKNOWN";
}

/* ---- handles and descriptors ---------------------------------------------------------------- */

#define CREATE(fn, p)                                                                           \
    do {                                                                                        \
        if (!(p)) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL pointer", fn);     \
        if (!(*(p) = calloc(1, sizeof **(p)))) return fail(CUDNN_STATUS_ALLOC_FAILED, "%s", fn); \
        return CUDNN_STATUS_SUCCESS;                                                            \
    } while (0)

cudnnStatus_t cudnnCreate(cudnnHandle_t *h) { CREATE("cudnnCreate", h); }
cudnnStatus_t cudnnDestroy(cudnnHandle_t h) {
    free(h);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) {
    if (!h) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "cudnnSetStream: NULL handle");
    h->stream = s;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetStream(cudnnHandle_t h, cudaStream_t *s) {
    if (!h || !s) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "cudnnGetStream: NULL handle or stream pointer");
    *s = h->stream;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *t) { CREATE("cudnnCreateTensorDescriptor", t); }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t t) {
    free(t);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *f) { CREATE("cudnnCreateFilterDescriptor", f); }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t f) {
    free(f);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *c) {
    if (!c) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "cudnnCreateConvolutionDescriptor: NULL pointer");
    if (!(*c = calloc(1, sizeof **c))) return CUDNN_STATUS_ALLOC_FAILED;
    (*c)->groups = 1;
    (*c)->math = CUDNN_DEFAULT_MATH;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t c) {
    free(c);
    return CUDNN_STATUS_SUCCESS;
}

static int elem_type(cudnnDataType_t t) {
    return t == CUDNN_DATA_FLOAT ? FCE_F32 : t == CUDNN_DATA_BFLOAT16 ? FCE_BF16 : t == CUDNN_DATA_HALF ? FCE_F16 : -1;
}

cudnnStatus_t cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t t, cudnnDataType_t type, int n, int c, int h, int w,
                                           int ns, int cs, int hs, int ws) {
    const char *fn = "cudnnSetTensor4dDescriptor";
    if (!t) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL descriptor", fn);
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: dims must be > 0, found [%d, %d, %d, %d]", fn, n, c, h, w);
    if (ns <= 0 || cs <= 0 || hs <= 0 || ws <= 0)
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: strides must be > 0, found [%d, %d, %d, %d]", fn, ns, cs, hs, ws);
    if (elem_type(type) < 0)
        return fail(CUDNN_STATUS_NOT_SUPPORTED, "%s: data type %d, emulated: FLOAT, HALF, BFLOAT16", fn, (int)type);
    *t = (struct cudnnTensorStruct){.set = 1, .type = type, .dim = {n, c, h, w}, .stride = {ns, cs, hs, ws}};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t t, cudnnTensorFormat_t format, cudnnDataType_t type,
                                         int n, int c, int h, int w) {
    if (format == CUDNN_TENSOR_NCHW) return cudnnSetTensor4dDescriptorEx(t, type, n, c, h, w, c * h * w, h * w, w, 1);
    if (format == CUDNN_TENSOR_NHWC) return cudnnSetTensor4dDescriptorEx(t, type, n, c, h, w, h * w * c, 1, w * c, c);
    return fail(CUDNN_STATUS_NOT_SUPPORTED, "cudnnSetTensor4dDescriptor: format %d, emulated: NCHW, NHWC", (int)format);
}

cudnnStatus_t cudnnGetTensor4dDescriptor(const cudnnTensorDescriptor_t t, cudnnDataType_t *type, int *n, int *c,
                                         int *h, int *w, int *ns, int *cs, int *hs, int *ws) {
    if (!t || !t->set) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnGetTensor4dDescriptor: descriptor not set");
    int *out[8] = {n, c, h, w, ns, cs, hs, ws};
    for (int i = 0; i < 8; i++)
        if (out[i]) *out[i] = (int)(i < 4 ? t->dim[i] : t->stride[i - 4]);
    if (type) *type = t->type;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t f, cudnnDataType_t type, cudnnTensorFormat_t format,
                                         int k, int c, int h, int w) {
    const char *fn = "cudnnSetFilter4dDescriptor";
    if (!f) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL descriptor", fn);
    if (k <= 0 || c <= 0 || h <= 0 || w <= 0)
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: dims must be > 0, found [%d, %d, %d, %d]", fn, k, c, h, w);
    if (format != CUDNN_TENSOR_NCHW && format != CUDNN_TENSOR_NHWC)
        return fail(CUDNN_STATUS_NOT_SUPPORTED, "%s: format %d, emulated: NCHW (KCRS), NHWC (KRSC)", fn, (int)format);
    if (elem_type(type) < 0)
        return fail(CUDNN_STATUS_NOT_SUPPORTED, "%s: data type %d, emulated: FLOAT, HALF, BFLOAT16", fn, (int)type);
    *f = (struct cudnnFilterStruct){.set = 1, .type = type, .format = format, .k = k, .c = c, .r = h, .s = w};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t cd, int pad_h, int pad_w, int u, int v,
                                              int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t compute) {
    const char *fn = "cudnnSetConvolution2dDescriptor";
    if (!cd) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL descriptor", fn);
    if (pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0)
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: expected pad >= 0, stride and dilation > 0, found pad %d,%d stride "
                    "%d,%d dilation %d,%d", fn, pad_h, pad_w, u, v, dilation_h, dilation_w);
    if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION)
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: mode %d", fn, (int)mode);
    cd->set = 1;
    cd->ph = pad_h, cd->pw = pad_w, cd->u = u, cd->v = v, cd->dh = dilation_h, cd->dw = dilation_w;
    cd->mode = mode, cd->compute = compute;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t cd, int groups) {
    if (!cd) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "cudnnSetConvolutionGroupCount: NULL descriptor");
    if (groups < 1) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnSetConvolutionGroupCount: %d groups", groups);
    cd->groups = groups;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t cd, cudnnMathType_t math) {
    if (!cd) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "cudnnSetConvolutionMathType: NULL descriptor");
    if (math < CUDNN_DEFAULT_MATH || math > CUDNN_FMA_MATH)
        return fail(CUDNN_STATUS_BAD_PARAM, "cudnnSetConvolutionMathType: math type %d", (int)math);
    cd->math = math;
    return CUDNN_STATUS_SUCCESS;
}

/* ---- one convolution's geometry, checked ---------------------------------------------------- */

typedef struct geom {
    int64_t n, c, h, w;        /* x */
    int64_t k, oh, ow;         /* y */
    int64_t r, s, g, cg, kg;   /* filter [k, cg, r, s], groups */
    int64_t ph, pw, u, v, dh, dw;
    int type, tf32, flip;
    const struct cudnnTensorStruct *x, *y;
    const struct cudnnFilterStruct *f;
} geom;

/* cuDNN's output size: 1 + (in + 2 pad - ((filter - 1) dilation + 1)) / stride */
static int64_t out_dim(int64_t in, int64_t pad, int64_t f, int64_t dil, int64_t stride) {
    int64_t span = in + 2 * pad - ((f - 1) * dil + 1);
    return span < 0 ? 0 : 1 + span / stride;
}

/* The convolution x (*) f -> y as cuDNN validates it; y may be NULL (output dims only). */
static cudnnStatus_t geom_make(const char *fn, const struct cudnnTensorStruct *x, const struct cudnnFilterStruct *f,
                               const struct cudnnConvolutionStruct *cd, const struct cudnnTensorStruct *y, geom *g) {
    if (!x || !f || !cd) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL descriptor", fn);
    if (!x->set || !f->set || !cd->set || (y && !y->set))
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: a descriptor was created but never set", fn);
    *g = (geom){.n = x->dim[0], .c = x->dim[1], .h = x->dim[2], .w = x->dim[3], .k = f->k, .r = f->r, .s = f->s,
                .g = cd->groups, .ph = cd->ph, .pw = cd->pw, .u = cd->u, .v = cd->v, .dh = cd->dh, .dw = cd->dw,
                .type = elem_type(x->type), .flip = cd->mode == CUDNN_CONVOLUTION, .x = x, .y = y, .f = f};
    g->cg = f->c;
    if (g->c != f->c * g->g)
        return fail(CUDNN_STATUS_BAD_PARAM,
                    "%s: input has %lld channels, expected filter channels %lld x %lld groups = %lld", fn,
                    (long long)g->c, (long long)f->c, (long long)g->g, (long long)(f->c * g->g));
    if (f->k % g->g)
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: %lld filters do not divide into %lld groups", fn, (long long)f->k,
                    (long long)g->g);
    g->kg = f->k / g->g;
    g->oh = out_dim(g->h, g->ph, g->r, g->dh, g->u);
    g->ow = out_dim(g->w, g->pw, g->s, g->dw, g->v);
    if (g->oh <= 0 || g->ow <= 0)
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: the dilated %lldx%lld filter is larger than the padded %lldx%lld input",
                    fn, (long long)g->r, (long long)g->s, (long long)g->h, (long long)g->w);
    if (f->type != x->type || (y && y->type != x->type))
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: data types differ: x %d, filter %d, y %d", fn, (int)x->type,
                    (int)f->type, y ? (int)y->type : -1);
    if (cd->compute != CUDNN_DATA_FLOAT)
        return fail(CUDNN_STATUS_NOT_SUPPORTED, "%s: compute type %d, emulated: CUDNN_DATA_FLOAT", fn,
                    (int)cd->compute);
    if (y) {
        int64_t want[4] = {g->n, g->k, g->oh, g->ow};
        for (int i = 0; i < 4; i++)
            if (y->dim[i] != want[i])
                return fail(CUDNN_STATUS_BAD_PARAM,
                            "%s: output descriptor is [%lld, %lld, %lld, %lld], the convolution gives [%lld, %lld, "
                            "%lld, %lld]",
                            fn, (long long)y->dim[0], (long long)y->dim[1], (long long)y->dim[2],
                            (long long)y->dim[3], (long long)want[0], (long long)want[1], (long long)want[2],
                            (long long)want[3]);
    }
    g->tf32 = g->type == FCE_F32 && cd->math != CUDNN_FMA_MATH;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t cd,
                                                    const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t f,
                                                    int *n, int *c, int *h, int *w) {
    geom g = {0};
    cudnnStatus_t st = geom_make("cudnnGetConvolution2dForwardOutputDim", x, f, cd, NULL, &g);
    if (st) return st;
    if (!n || !c || !h || !w)
        return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "cudnnGetConvolution2dForwardOutputDim: NULL output");
    *n = (int)g.n, *c = (int)g.k, *h = (int)g.oh, *w = (int)g.ow;
    return CUDNN_STATUS_SUCCESS;
}

/* im2col columns of one image and group: cg r s rows of oh ow floats */
static size_t col_bytes(const geom *g) { return (size_t)(g->cg * g->r * g->s * g->oh * g->ow) * sizeof(float); }

/* ---- algorithms ------------------------------------------------------------------------------ */

/* Which pass: the supported algorithms of each, the first keeping its columns in the workspace. */
enum { FWD, BWD_DATA, BWD_FILTER };
static const int ws_algo[3] = {CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1};
static const int plain_algo[3] = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0,
                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0};
static const int n_algos[3] = {CUDNN_CONVOLUTION_FWD_ALGO_COUNT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT};

/* The workspace algo needs, or NOT_SUPPORTED. */
static cudnnStatus_t ws_size(const char *fn, int pass, int algo, const geom *g, size_t *n) {
    if (algo == ws_algo[pass]) *n = col_bytes(g);
    else if (algo == plain_algo[pass]) *n = 0;
    else return fail(CUDNN_STATUS_NOT_SUPPORTED, "%s: algorithm %d is not emulated for this pass", fn, algo);
    return CUDNN_STATUS_SUCCESS;
}

/* Fills perf (an array of the pass's perf struct, all three laid out alike) with the supported
 * algorithms first. */
#define FILL_PERF(perf, requested, returned, pass, g, mathv)                                      \
    do {                                                                                        \
        if ((requested) < 1 || !(returned) || !(perf))                                          \
            return fail(CUDNN_STATUS_BAD_PARAM, "%s: %d algorithms requested, or NULL output", fn, \
                        (int)(requested));                                                      \
        int order_[8], n_ = 0;                                                                  \
        order_[n_++] = ws_algo[pass];                                                           \
        order_[n_++] = plain_algo[pass];                                                        \
        for (int a_ = 0; a_ < n_algos[pass]; a_++)                                              \
            if (a_ != ws_algo[pass] && a_ != plain_algo[pass]) order_[n_++] = a_;               \
        int m_ = n_ < (requested) ? n_ : (requested);                                           \
        for (int i_ = 0; i_ < m_; i_++) {                                                       \
            memset(&(perf)[i_], 0, sizeof (perf)[i_]);                                          \
            (perf)[i_].algo = order_[i_];                                                       \
            (perf)[i_].status = i_ < 2 ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_SUPPORTED;     \
            (perf)[i_].time = -1.0f;                                                            \
            (perf)[i_].memory = i_ == 0 ? col_bytes(g) : 0;                                     \
            (perf)[i_].determinism = CUDNN_DETERMINISTIC;                                       \
            (perf)[i_].mathType = (mathv);                                                      \
        }                                                                                       \
        *(returned) = m_;                                                                       \
    } while (0)

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                     const cudnnFilterDescriptor_t f,
                                                     const cudnnConvolutionDescriptor_t cd,
                                                     const cudnnTensorDescriptor_t y, const int requested,
                                                     int *returned, cudnnConvolutionFwdAlgoPerf_t *perf) {
    const char *fn = "cudnnGetConvolutionForwardAlgorithm_v7";
    geom g = {0};
    if (!h) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL handle", fn);
    cudnnStatus_t st = geom_make(fn, x, f, cd, y, &g);
    if (st) return st;
    FILL_PERF(perf, requested, returned, FWD, &g, cd->math);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t h, const cudnnFilterDescriptor_t f,
                                                          const cudnnTensorDescriptor_t dy,
                                                          const cudnnConvolutionDescriptor_t cd,
                                                          const cudnnTensorDescriptor_t dx, const int requested,
                                                          int *returned, cudnnConvolutionBwdDataAlgoPerf_t *perf) {
    const char *fn = "cudnnGetConvolutionBackwardDataAlgorithm_v7";
    geom g = {0};
    if (!h) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL handle", fn);
    cudnnStatus_t st = geom_make(fn, dx, f, cd, dy, &g);
    if (st) return st;
    FILL_PERF(perf, requested, returned, BWD_DATA, &g, cd->math);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                            const cudnnTensorDescriptor_t dy,
                                                            const cudnnConvolutionDescriptor_t cd,
                                                            const cudnnFilterDescriptor_t f, const int requested,
                                                            int *returned, cudnnConvolutionBwdFilterAlgoPerf_t *perf) {
    const char *fn = "cudnnGetConvolutionBackwardFilterAlgorithm_v7";
    geom g = {0};
    if (!h) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL handle", fn);
    cudnnStatus_t st = geom_make(fn, x, f, cd, dy, &g);
    if (st) return st;
    FILL_PERF(perf, requested, returned, BWD_FILTER, &g, cd->math);
    return CUDNN_STATUS_SUCCESS;
}

static cudnnStatus_t get_ws(const char *fn, cudnnHandle_t h, int pass, int algo, const struct cudnnTensorStruct *x,
                            const struct cudnnFilterStruct *f, const struct cudnnConvolutionStruct *cd,
                            const struct cudnnTensorStruct *y, size_t *n) {
    geom g = {0};
    if (!h || !n) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL handle or size pointer", fn);
    cudnnStatus_t st = geom_make(fn, x, f, cd, y, &g);
    return st ? st : ws_size(fn, pass, algo, &g, n);
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                      const cudnnFilterDescriptor_t f,
                                                      const cudnnConvolutionDescriptor_t cd,
                                                      const cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo,
                                                      size_t *n) {
    return get_ws("cudnnGetConvolutionForwardWorkspaceSize", h, FWD, (int)algo, x, f, cd, y, n);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t h, const cudnnFilterDescriptor_t f,
                                                           const cudnnTensorDescriptor_t dy,
                                                           const cudnnConvolutionDescriptor_t cd,
                                                           const cudnnTensorDescriptor_t dx,
                                                           cudnnConvolutionBwdDataAlgo_t algo, size_t *n) {
    return get_ws("cudnnGetConvolutionBackwardDataWorkspaceSize", h, BWD_DATA, (int)algo, dx, f, cd, dy, n);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                             const cudnnTensorDescriptor_t dy,
                                                             const cudnnConvolutionDescriptor_t cd,
                                                             const cudnnFilterDescriptor_t f,
                                                             cudnnConvolutionBwdFilterAlgo_t algo, size_t *n) {
    return get_ws("cudnnGetConvolutionBackwardFilterWorkspaceSize", h, BWD_FILTER, (int)algo, x, f, cd, dy, n);
}

/* ---- operands: strided, any type <-> f32 packed ------------------------------------------------- */

/* Elements from the first to one past the last element of t. */
static int64_t tensor_extent(const struct cudnnTensorStruct *t) {
    int64_t e = 1;
    for (int i = 0; i < 4; i++) e += (t->dim[i] - 1) * t->stride[i];
    return e;
}

static int64_t tensor_numel(const struct cudnnTensorStruct *t) { return t->dim[0] * t->dim[1] * t->dim[2] * t->dim[3]; }

/* Checks a data pointer: not NULL, aligned to its element, inside one device block when the
 * emulator's runtime can tell. */
static cudnnStatus_t check_ptr(const char *fn, const char *what, const void *p, size_t elems, int type) {
    if (!p) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: %s is NULL", fn, what);
    if (fce_alignment(p) < fce_type_size(type))
        return fail(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER, "%s: %s at %p is not aligned to its %zu-byte elements",
                    fn, what, p, fce_type_size(type));
    size_t n = elems * fce_type_size(type);
    if (fce_library_pointer_checks && !fce_is_device(p, n))
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: %s (%p, %zu bytes) is not inside one cudaMalloc block", fn, what, p, n);
    return CUDNN_STATUS_SUCCESS;
}

/* A packed f32 NCHW copy of t's data (TF32-rounded when asked); NULL when out of memory. */
static float *tensor_load(const struct cudnnTensorStruct *t, const void *p, int tf32) {
    int type = elem_type(t->type);
    float *out = malloc(sizeof(float) * (size_t)tensor_numel(t)), *o = out;
    if (!out) return NULL;
    for (int64_t n = 0; n < t->dim[0]; n++)
        for (int64_t c = 0; c < t->dim[1]; c++)
            for (int64_t h = 0; h < t->dim[2]; h++) {
                size_t base = (size_t)(n * t->stride[0] + c * t->stride[1] + h * t->stride[2]);
                for (int64_t w = 0; w < t->dim[3]; w++) *o++ = fce_load(p, type, base + (size_t)(w * t->stride[3]));
            }
    if (tf32)
        for (int64_t i = 0; i < tensor_numel(t); i++) out[i] = fce_round_tf32(out[i]);
    return out;
}

/* t's data = alpha v + beta t's data (v packed f32 NCHW); beta == 0 never reads it. */
static void tensor_store(const struct cudnnTensorStruct *t, void *p, const float *v, float alpha, float beta) {
    int type = elem_type(t->type);
    for (int64_t n = 0; n < t->dim[0]; n++)
        for (int64_t c = 0; c < t->dim[1]; c++)
            for (int64_t h = 0; h < t->dim[2]; h++) {
                size_t base = (size_t)(n * t->stride[0] + c * t->stride[1] + h * t->stride[2]);
                for (int64_t w = 0; w < t->dim[3]; w++) {
                    size_t i = base + (size_t)(w * t->stride[3]);
                    float r = alpha * *v++;
                    if (beta != 0.0f) r += beta * fce_load(p, type, i);
                    fce_store(p, type, i, r);
                }
            }
}

/* Index of filter element (k, c, r, s) in f's storage: KCRS or KRSC. */
static size_t filter_index(const struct cudnnFilterStruct *f, int64_t k, int64_t c, int64_t r, int64_t s) {
    if (f->format == CUDNN_TENSOR_NHWC) return (size_t)(((k * f->r + r) * f->s + s) * f->c + c);
    return (size_t)(((k * f->c + c) * f->r + r) * f->s + s);
}

/* A packed f32 [k, c, r, s] copy of the filter, flipped in r and s for CUDNN_CONVOLUTION. */
static float *filter_load(const geom *g, const void *p) {
    const struct cudnnFilterStruct *f = g->f;
    float *out = malloc(sizeof(float) * (size_t)(f->k * f->c * f->r * f->s)), *o = out;
    if (!out) return NULL;
    for (int64_t k = 0; k < f->k; k++)
        for (int64_t c = 0; c < f->c; c++)
            for (int64_t r = 0; r < f->r; r++)
                for (int64_t s = 0; s < f->s; s++) {
                    int64_t rr = g->flip ? f->r - 1 - r : r, ss = g->flip ? f->s - 1 - s : s;
                    float v = fce_load(p, g->type, filter_index(f, k, c, rr, ss));
                    *o++ = g->tf32 ? fce_round_tf32(v) : v;
                }
    return out;
}

/* The filter's data = alpha v + beta data (v packed [k, c, r, s], flipped back for CONVOLUTION). */
static void filter_store(const geom *g, void *p, const float *v, float alpha, float beta) {
    const struct cudnnFilterStruct *f = g->f;
    for (int64_t k = 0; k < f->k; k++)
        for (int64_t c = 0; c < f->c; c++)
            for (int64_t r = 0; r < f->r; r++)
                for (int64_t s = 0; s < f->s; s++) {
                    int64_t rr = g->flip ? f->r - 1 - r : r, ss = g->flip ? f->s - 1 - s : s;
                    size_t i = filter_index(f, k, c, rr, ss);
                    float res = alpha * *v++;
                    if (beta != 0.0f) res += beta * fce_load(p, g->type, i);
                    fce_store(p, g->type, i, res);
                }
}

/* ---- the arithmetic: im2col per image and group --------------------------------------------- */

/* col[(c r s), (oy ox)] = x[c, oy u - ph + r dh, ox v - pw + s dw] (0 in the padding);
 * x: one image's group, [cg, h, w] */
static void im2col(const geom *g, const float *x, float *col) {
    int64_t P = g->oh * g->ow;
    for (int64_t c = 0; c < g->cg; c++)
        for (int64_t r = 0; r < g->r; r++)
            for (int64_t s = 0; s < g->s; s++) {
                float *row = col + ((c * g->r + r) * g->s + s) * P;
                for (int64_t oy = 0; oy < g->oh; oy++) {
                    int64_t iy = oy * g->u - g->ph + r * g->dh;
                    float *o = row + oy * g->ow;
                    if (iy < 0 || iy >= g->h) {
                        memset(o, 0, sizeof(float) * (size_t)g->ow);
                        continue;
                    }
                    const float *xr = x + (c * g->h + iy) * g->w;
                    for (int64_t ox = 0; ox < g->ow; ox++) {
                        int64_t ix = ox * g->v - g->pw + s * g->dw;
                        o[ox] = ix >= 0 && ix < g->w ? xr[ix] : 0.0f;
                    }
                }
            }
}

/* dx[c, iy, ix] += col[(c r s), (oy ox)] over the positions im2col read from */
static void col2im(const geom *g, const float *col, float *dx) {
    int64_t P = g->oh * g->ow;
    for (int64_t c = 0; c < g->cg; c++)
        for (int64_t r = 0; r < g->r; r++)
            for (int64_t s = 0; s < g->s; s++) {
                const float *row = col + ((c * g->r + r) * g->s + s) * P;
                for (int64_t oy = 0; oy < g->oh; oy++) {
                    int64_t iy = oy * g->u - g->ph + r * g->dh;
                    if (iy < 0 || iy >= g->h) continue;
                    const float *o = row + oy * g->ow;
                    float *xr = dx + (c * g->h + iy) * g->w;
                    for (int64_t ox = 0; ox < g->ow; ox++) {
                        int64_t ix = ox * g->v - g->pw + s * g->dw;
                        if (ix >= 0 && ix < g->w) xr[ix] += o[ox];
                    }
                }
            }
}

/* y[n, g kg + k, p] = sum_q w[g kg + k, q] col[q, p] */
static void conv_fwd(const geom *g, const float *x, const float *w, float *y, float *col) {
    int64_t P = g->oh * g->ow, Q = g->cg * g->r * g->s;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t gi = 0; gi < g->g; gi++) {
            im2col(g, x + (n * g->c + gi * g->cg) * g->h * g->w, col);
            for (int64_t k = 0; k < g->kg; k++) {
                float *yr = y + ((n * g->k) + gi * g->kg + k) * P;
                const float *wr = w + (gi * g->kg + k) * Q;
                memset(yr, 0, sizeof(float) * (size_t)P);
                for (int64_t q = 0; q < Q; q++) {
                    float a = wr[q];
                    const float *cr = col + q * P;
                    for (int64_t p = 0; p < P; p++) yr[p] += a * cr[p];
                }
            }
        }
}

/* col[q, p] = sum_k w[g kg + k, q] dy[n, g kg + k, p]; dx (zeroed) += col2im(col) */
static void conv_bwd_data(const geom *g, const float *w, const float *dy, float *dx, float *col) {
    int64_t P = g->oh * g->ow, Q = g->cg * g->r * g->s;
    memset(dx, 0, sizeof(float) * (size_t)(g->n * g->c * g->h * g->w));
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t gi = 0; gi < g->g; gi++) {
            for (int64_t q = 0; q < Q; q++) {
                float *cr = col + q * P;
                memset(cr, 0, sizeof(float) * (size_t)P);
                for (int64_t k = 0; k < g->kg; k++) {
                    float a = w[(gi * g->kg + k) * Q + q];
                    const float *dr = dy + (n * g->k + gi * g->kg + k) * P;
                    for (int64_t p = 0; p < P; p++) cr[p] += a * dr[p];
                }
            }
            col2im(g, col, dx + (n * g->c + gi * g->cg) * g->h * g->w);
        }
}

/* dw[g kg + k, q] = sum_n sum_p dy[n, g kg + k, p] col_n[q, p] */
static void conv_bwd_filter(const geom *g, const float *x, const float *dy, float *dw, float *col) {
    int64_t P = g->oh * g->ow, Q = g->cg * g->r * g->s;
    memset(dw, 0, sizeof(float) * (size_t)(g->k * Q));
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t gi = 0; gi < g->g; gi++) {
            im2col(g, x + (n * g->c + gi * g->cg) * g->h * g->w, col);
            for (int64_t k = 0; k < g->kg; k++) {
                const float *dr = dy + (n * g->k + gi * g->kg + k) * P;
                float *wr = dw + (gi * g->kg + k) * Q;
                for (int64_t q = 0; q < Q; q++) {
                    const float *cr = col + q * P;
                    float acc[8] = {0};
                    int64_t p = 0;
                    for (; p + 8 <= P; p += 8)
                        for (int j = 0; j < 8; j++) acc[j] += dr[p + j] * cr[p + j];
                    float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
                    for (; p < P; p++) sum += dr[p] * cr[p];
                    wr[q] += sum;
                }
            }
        }
}

/* ---- the three passes ------------------------------------------------------------------------ */

/* Checks what every pass takes; on success *col is the column buffer (the workspace, or one of
 * its own in *owned that the caller frees). */
static cudnnStatus_t pass_begin(const char *fn, cudnnHandle_t h, int pass, int algo, const geom *g, const void *alpha,
                                const void *beta, void *ws, size_t ws_bytes, float **col, float **owned) {
    size_t need = 0;
    *col = *owned = NULL;
    if (!h) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL handle", fn);
    if (!alpha || !beta) return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL alpha or beta", fn);
    cudnnStatus_t st = ws_size(fn, pass, algo, g, &need);
    if (st) return st;
    if (ws_bytes < need)
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: workspace of %zu bytes, algorithm %d needs %zu", fn, ws_bytes, algo,
                    need);
    if (need) {
        if ((st = check_ptr(fn, "the workspace", ws, need / sizeof(float), FCE_F32))) return st;
        *col = ws;
    } else if (!(*col = *owned = malloc(col_bytes(g)))) {
        return fail(CUDNN_STATUS_ALLOC_FAILED, "%s: out of host memory", fn);
    }
    fce_stream_drain(h->stream); /* computed at the call, after the stream's earlier work */
    return CUDNN_STATUS_SUCCESS;
}

static size_t filter_numel(const struct cudnnFilterStruct *f) { return (size_t)(f->k * f->c * f->r * f->s); }

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t xd,
                                      const void *x, const cudnnFilterDescriptor_t wd, const void *w,
                                      const cudnnConvolutionDescriptor_t cd, cudnnConvolutionFwdAlgo_t algo, void *ws,
                                      size_t ws_bytes, const void *beta, const cudnnTensorDescriptor_t yd, void *y) {
    const char *fn = "cudnnConvolutionForward";
    geom g = {0};
    float *col, *owned, *xf = NULL, *wf = NULL, *yf = NULL;
    cudnnStatus_t st = geom_make(fn, xd, wd, cd, yd, &g);
    if (!st) st = pass_begin(fn, h, FWD, (int)algo, &g, alpha, beta, ws, ws_bytes, &col, &owned);
    if (st) return st;
    if (!(st = check_ptr(fn, "x", x, (size_t)tensor_extent(xd), g.type)) &&
        !(st = check_ptr(fn, "w", w, filter_numel(wd), g.type)) &&
        !(st = check_ptr(fn, "y", y, (size_t)tensor_extent(yd), g.type))) {
        xf = tensor_load(xd, x, g.tf32), wf = filter_load(&g, w);
        yf = malloc(sizeof(float) * (size_t)tensor_numel(yd));
        if (!xf || !wf || !yf) st = fail(CUDNN_STATUS_ALLOC_FAILED, "%s: out of host memory", fn);
        else {
            conv_fwd(&g, xf, wf, yf, col);
            tensor_store(yd, y, yf, *(const float *)alpha, *(const float *)beta);
        }
    }
    free(yf), free(wf), free(xf), free(owned);
    return st;
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void *alpha, const cudnnFilterDescriptor_t wd,
                                           const void *w, const cudnnTensorDescriptor_t dyd, const void *dy,
                                           const cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdDataAlgo_t algo,
                                           void *ws, size_t ws_bytes, const void *beta,
                                           const cudnnTensorDescriptor_t dxd, void *dx) {
    const char *fn = "cudnnConvolutionBackwardData";
    geom g = {0};
    float *col, *owned, *dyf = NULL, *wf = NULL, *dxf = NULL;
    cudnnStatus_t st = geom_make(fn, dxd, wd, cd, dyd, &g);
    if (!st) st = pass_begin(fn, h, BWD_DATA, (int)algo, &g, alpha, beta, ws, ws_bytes, &col, &owned);
    if (st) return st;
    if (!(st = check_ptr(fn, "w", w, filter_numel(wd), g.type)) &&
        !(st = check_ptr(fn, "dy", dy, (size_t)tensor_extent(dyd), g.type)) &&
        !(st = check_ptr(fn, "dx", dx, (size_t)tensor_extent(dxd), g.type))) {
        dyf = tensor_load(dyd, dy, g.tf32), wf = filter_load(&g, w);
        dxf = malloc(sizeof(float) * (size_t)tensor_numel(dxd));
        if (!dyf || !wf || !dxf) st = fail(CUDNN_STATUS_ALLOC_FAILED, "%s: out of host memory", fn);
        else {
            conv_bwd_data(&g, wf, dyf, dxf, col);
            tensor_store(dxd, dx, dxf, *(const float *)alpha, *(const float *)beta);
        }
    }
    free(dxf), free(wf), free(dyf), free(owned);
    return st;
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t xd,
                                             const void *x, const cudnnTensorDescriptor_t dyd, const void *dy,
                                             const cudnnConvolutionDescriptor_t cd,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void *ws, size_t ws_bytes,
                                             const void *beta, const cudnnFilterDescriptor_t dwd, void *dw) {
    const char *fn = "cudnnConvolutionBackwardFilter";
    geom g = {0};
    float *col, *owned, *xf = NULL, *dyf = NULL, *dwf = NULL;
    cudnnStatus_t st = geom_make(fn, xd, dwd, cd, dyd, &g);
    if (!st) st = pass_begin(fn, h, BWD_FILTER, (int)algo, &g, alpha, beta, ws, ws_bytes, &col, &owned);
    if (st) return st;
    if (!(st = check_ptr(fn, "x", x, (size_t)tensor_extent(xd), g.type)) &&
        !(st = check_ptr(fn, "dy", dy, (size_t)tensor_extent(dyd), g.type)) &&
        !(st = check_ptr(fn, "dw", dw, filter_numel(dwd), g.type))) {
        xf = tensor_load(xd, x, g.tf32), dyf = tensor_load(dyd, dy, g.tf32);
        dwf = malloc(sizeof(float) * filter_numel(dwd));
        if (!xf || !dyf || !dwf) st = fail(CUDNN_STATUS_ALLOC_FAILED, "%s: out of host memory", fn);
        else {
            conv_bwd_filter(&g, xf, dyf, dwf, col);
            filter_store(&g, dw, dwf, *(const float *)alpha, *(const float *)beta);
        }
    }
    free(dwf), free(dyf), free(xf), free(owned);
    return st;
}

/* ---- bias ------------------------------------------------------------------------------------ */

cudnnStatus_t cudnnConvolutionBackwardBias(cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t dyd,
                                           const void *dy, const void *beta, const cudnnTensorDescriptor_t dbd,
                                           void *db) {
    const char *fn = "cudnnConvolutionBackwardBias";
    if (!h || !alpha || !beta || !dyd || !dbd)
        return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL handle, alpha, beta or descriptor", fn);
    if (!dyd->set || !dbd->set) return fail(CUDNN_STATUS_BAD_PARAM, "%s: a descriptor was never set", fn);
    if (dbd->dim[0] != 1 || dbd->dim[1] != dyd->dim[1] || dbd->dim[2] != 1 || dbd->dim[3] != 1)
        return fail(CUDNN_STATUS_BAD_PARAM, "%s: db is [%lld, %lld, %lld, %lld], expected [1, %lld, 1, 1]", fn,
                    (long long)dbd->dim[0], (long long)dbd->dim[1], (long long)dbd->dim[2], (long long)dbd->dim[3],
                    (long long)dyd->dim[1]);
    int ty = elem_type(dyd->type), tb = elem_type(dbd->type);
    cudnnStatus_t st = check_ptr(fn, "dy", dy, (size_t)tensor_extent(dyd), ty);
    if (!st) st = check_ptr(fn, "db", db, (size_t)tensor_extent(dbd), tb);
    if (st) return st;
    fce_stream_drain(h->stream); /* computed at the call, after the stream's earlier work */
    float a = *(const float *)alpha, b = *(const float *)beta;
    for (int64_t c = 0; c < dyd->dim[1]; c++) {
        double sum = 0; /* the emulator sums in double: closer to the exact sum than any f32 order */
        for (int64_t n = 0; n < dyd->dim[0]; n++)
            for (int64_t y = 0; y < dyd->dim[2]; y++)
                for (int64_t x = 0; x < dyd->dim[3]; x++)
                    sum += fce_load(dy, ty,
                                    (size_t)(n * dyd->stride[0] + c * dyd->stride[1] + y * dyd->stride[2] +
                                             x * dyd->stride[3]));
        size_t i = (size_t)(c * dbd->stride[1]);
        float r = a * (float)sum;
        if (b != 0.0f) r += b * fce_load(db, tb, i);
        fce_store(db, tb, i, r);
    }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnAddTensor(cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t ad, const void *A,
                             const void *beta, const cudnnTensorDescriptor_t cdd, void *C) {
    const char *fn = "cudnnAddTensor";
    if (!h || !alpha || !beta || !ad || !cdd)
        return fail(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "%s: NULL handle, alpha, beta or descriptor", fn);
    if (!ad->set || !cdd->set) return fail(CUDNN_STATUS_BAD_PARAM, "%s: a descriptor was never set", fn);
    int64_t as[4];
    for (int i = 0; i < 4; i++) {
        if (ad->dim[i] != cdd->dim[i] && ad->dim[i] != 1)
            return fail(CUDNN_STATUS_BAD_PARAM,
                        "%s: A [%lld, %lld, %lld, %lld] does not broadcast to C [%lld, %lld, %lld, %lld]", fn,
                        (long long)ad->dim[0], (long long)ad->dim[1], (long long)ad->dim[2], (long long)ad->dim[3],
                        (long long)cdd->dim[0], (long long)cdd->dim[1], (long long)cdd->dim[2],
                        (long long)cdd->dim[3]);
        as[i] = ad->dim[i] == 1 ? 0 : ad->stride[i];
    }
    int ta = elem_type(ad->type), tc = elem_type(cdd->type);
    cudnnStatus_t st = check_ptr(fn, "A", A, (size_t)tensor_extent(ad), ta);
    if (!st) st = check_ptr(fn, "C", C, (size_t)tensor_extent(cdd), tc);
    if (st) return st;
    fce_stream_drain(h->stream); /* computed at the call, after the stream's earlier work */
    float a = *(const float *)alpha, b = *(const float *)beta;
    const int64_t *cs = cdd->stride;
    for (int64_t n = 0; n < cdd->dim[0]; n++)
        for (int64_t c = 0; c < cdd->dim[1]; c++)
            for (int64_t y = 0; y < cdd->dim[2]; y++)
                for (int64_t x = 0; x < cdd->dim[3]; x++) {
                    size_t ic = (size_t)(n * cs[0] + c * cs[1] + y * cs[2] + x * cs[3]);
                    float r = a * fce_load(A, ta, (size_t)(n * as[0] + c * as[1] + y * as[2] + x * as[3]));
                    if (b != 0.0f) r += b * fce_load(C, tc, ic);
                    fce_store(C, tc, ic, r);
                }
    return CUDNN_STATUS_SUCCESS;
}
