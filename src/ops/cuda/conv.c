/* conv2d and conv_transpose2d on cuDNN (NCHW f32), the CUDA twin of src/ops/cpu/dnnl_conv.c with
 * the same passes. A transposed convolution is cuDNN's backward-data of the convolution that maps
 * y back to x (and its backward the forward), as PyTorch computes it. The algorithm comes from
 * cuDNN's heuristic (the _v7 queries); fp32 runs without TF32 unless fc_cuda_set_allow_tf32(1).
 * This uses cuDNN's legacy convolution API, deprecated in cuDNN 9 but present; the graph API is
 * the replacement when it goes.
 *
 * Plans are cached per (device, shape, stride, padding, dilation, groups, TF32): the five
 * descriptors, and for each of the three cuDNN calls the algorithm its heuristic chose and the
 * workspace it needs, found on first use. A steady-state step creates no descriptor and runs no
 * query; the workspace comes from the caching allocator (no cudaMalloc either).
 *
 * Autocast (h-cuda16): inside a bf16 / f16 region, and in the backward of a convolution recorded
 * in one (the type is kept in its node), the three passes run in 16-bit data with f32 compute
 * (cuDNN's PSEUDO_HALF / PSEUDO_BFLOAT16 configurations) on tensor cores, as torch.autocast's:
 * the f32 operands (x and w already hold 16-bit values; dy is rounded to nearest even by the
 * cast) are cast into 16-bit temporaries, and the 16-bit result widened back into the f32 tensor.
 * The result is rounded to 16 bits as torch's is; the bias is added (and its gradient summed) in
 * f32 on the f32 tensors, where torch adds it before rounding.
 *
 * Channels-last: cuDNN's tensor-core convolution kernels work in NHWC; given NCHW they either pick
 * slower kernels or transpose internally. With fc_cuda_conv_channels_last (on by default for 16
 * bits) the descriptors are NHWC and the casts above also transpose (the strided copy kernel, one
 * pass into and one out of each operand), so the rest of the library still sees NCHW tensors. The
 * transposes cost a memory pass each; they are folded into the casts that 16 bits need anyway,
 * which is why NHWC is the default there and not for f32 (where it adds two passes). */
#include <cudnn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cuda_impl.h"
#include "fastc/cuda.h"
#include "ops/autocast_impl.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/kernels.h"

typedef struct conv_descs {
    cudnnTensorDescriptor_t big, small; /* conv input, conv output (y of the conv): the plan's type and layout */
    cudnnTensorDescriptor_t bias;       /* [1, o, 1, 1] f32 */
    cudnnTensorDescriptor_t big32, small32; /* staged plans (16-bit or NHWC): f32 NCHW, for the bias */
    cudnnFilterDescriptor_t filt;
    cudnnConvolutionDescriptor_t conv;
    /* the three calls' algorithms (found: 0 until the first call asks) and workspaces */
    int fwd_found, bwd_data_found, bwd_filter_found;
    cudnnConvolutionFwdAlgo_t fwd_algo;
    cudnnConvolutionBwdDataAlgo_t bwd_data_algo;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo;
    size_t fwd_ws, bwd_data_ws, bwd_filter_ws;
} conv_descs;

static fc_status dnn(const char *op, const char *what, cudnnStatus_t s) {
    if (s == CUDNN_STATUS_SUCCESS) return FC_OK;
    return fc_fail(FC_ERR_DEVICE, "%s: %s failed: %s", op, what, cudnnGetErrorString(s));
}

static void descs_free(void *p) {
    conv_descs *c = p;
    if (!c) return;
    if (c->big) cudnnDestroyTensorDescriptor(c->big);
    if (c->small) cudnnDestroyTensorDescriptor(c->small);
    if (c->bias) cudnnDestroyTensorDescriptor(c->bias);
    if (c->big32) cudnnDestroyTensorDescriptor(c->big32);
    if (c->small32) cudnnDestroyTensorDescriptor(c->small32);
    if (c->filt) cudnnDestroyFilterDescriptor(c->filt);
    if (c->conv) cudnnDestroyConvolutionDescriptor(c->conv);
    free(c);
}

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static fci_plan_cache cache = {.free_plan = descs_free};

void fci_cuda_conv_cache_clear(void) {
    pthread_mutex_lock(&cache_lock);
    fci_plan_cache_clear(&cache);
    pthread_mutex_unlock(&cache_lock);
}
static void cache_at_exit(void) { fci_cuda_conv_cache_clear(); }

fci_plan_cache_stats fci_cuda_conv_cache_stats(void) {
    pthread_mutex_lock(&cache_lock);
    fci_plan_cache_stats s = {.hits = cache.hits, .misses = cache.misses, .evictions = cache.evictions, .n = cache.n};
    pthread_mutex_unlock(&cache_lock);
    return s;
}

void fci_cuda_conv_key(int device, const fci_conv_desc *d, int tf32, fc_dtype dtype, int nhwc,
                       fci_cuda_conv_key_t *k) {
    memset(k, 0, sizeof *k);
    k->device = device;
    k->tf32 = dtype == FC_DTYPE_F32 && tf32 != 0; /* TF32 applies to f32 data only */
    k->dtype = dtype;
    k->nhwc = nhwc != 0;
    k->d = *d;
    k->d.has_bias = 0; /* the bias is added by its own call: one plan serves both */
}

/* The convolution as cuDNN sees it: input 'big' [n, ci, hi, wi] -> output 'small' [n, co, ho, wo].
 * conv2d: big = x, small = y; transposed: big = y, small = x (filter [c, o/g, kh, kw] = [K, C/g]). */
static fc_status descs_make(const char *op, const fci_cuda_conv_key_t *k, conv_descs *c) {
    const fci_conv_desc *d = &k->d;
    cudnnDataType_t dt = k->dtype == FC_DTYPE_BF16  ? CUDNN_DATA_BFLOAT16
                         : k->dtype == FC_DTYPE_F16 ? CUDNN_DATA_HALF
                                                    : CUDNN_DATA_FLOAT;
    cudnnTensorFormat_t fmt = k->nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    int staged = k->dtype != FC_DTYPE_F32 || k->nhwc;
    int64_t ci = d->transposed ? d->o : d->c, hi = d->transposed ? d->oh : d->h, wi = d->transposed ? d->ow : d->w;
    int64_t co = d->transposed ? d->c : d->o, ho = d->transposed ? d->h : d->oh, wo = d->transposed ? d->w : d->ow;
    fc_status st = dnn(op, "cudnnCreateTensorDescriptor", cudnnCreateTensorDescriptor(&c->big));
    if (!st) st = dnn(op, "cudnnCreateTensorDescriptor", cudnnCreateTensorDescriptor(&c->small));
    if (!st) st = dnn(op, "cudnnCreateTensorDescriptor", cudnnCreateTensorDescriptor(&c->bias));
    if (!st) st = dnn(op, "cudnnCreateFilterDescriptor", cudnnCreateFilterDescriptor(&c->filt));
    if (!st) st = dnn(op, "cudnnCreateConvolutionDescriptor", cudnnCreateConvolutionDescriptor(&c->conv));
    if (!st)
        st = dnn(op, "input descriptor",
                 cudnnSetTensor4dDescriptor(c->big, fmt, dt, (int)d->n, (int)ci, (int)hi, (int)wi));
    if (!st)
        st = dnn(op, "output descriptor",
                 cudnnSetTensor4dDescriptor(c->small, fmt, dt, (int)d->n, (int)co, (int)ho, (int)wo));
    if (!st && staged) {
        st = dnn(op, "cudnnCreateTensorDescriptor", cudnnCreateTensorDescriptor(&c->big32));
        if (!st) st = dnn(op, "cudnnCreateTensorDescriptor", cudnnCreateTensorDescriptor(&c->small32));
        if (!st)
            st = dnn(op, "f32 input descriptor", cudnnSetTensor4dDescriptor(c->big32, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                                            (int)d->n, (int)ci, (int)hi, (int)wi));
        if (!st)
            st = dnn(op, "f32 output descriptor", cudnnSetTensor4dDescriptor(c->small32, CUDNN_TENSOR_NCHW,
                                                                             CUDNN_DATA_FLOAT, (int)d->n, (int)co,
                                                                             (int)ho, (int)wo));
    }
    if (!st)
        st = dnn(op, "bias descriptor",
                 cudnnSetTensor4dDescriptor(c->bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, (int)d->o, 1, 1));
    if (!st)
        st = dnn(op, "filter descriptor",
                 cudnnSetFilter4dDescriptor(c->filt, dt, fmt, (int)co, (int)(ci / d->groups), (int)d->kh, (int)d->kw));
    if (!st)
        st = dnn(op, "convolution descriptor",
                 cudnnSetConvolution2dDescriptor(c->conv, (int)d->ph, (int)d->pw, (int)d->sh, (int)d->sw, (int)d->dh,
                                                 (int)d->dw, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    if (!st) st = dnn(op, "group count", cudnnSetConvolutionGroupCount(c->conv, (int)d->groups));
    /* 16 bits: tensor cores with f32 accumulation; f32: TF32 tensor cores only when allowed */
    cudnnMathType_t math = k->dtype != FC_DTYPE_F32 ? CUDNN_TENSOR_OP_MATH : k->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    if (!st) st = dnn(op, "math type", cudnnSetConvolutionMathType(c->conv, math));
    return st;
}

/* A workspace from the caching allocator (released in stream order after the call). */
typedef struct ws {
    void *p;
    size_t n;
    int dev;
} ws;
static fc_status ws_get(ws *w, int dev, size_t n) {
    *w = (ws){.n = n, .dev = dev};
    if (n && !(w->p = fci_cuda_alloc(dev, n))) return fc_error_code();
    return FC_OK;
}
static void ws_put(ws *w) {
    if (w->p) fci_cuda_release(w->dev, w->p, w->n);
}

/* small = conv(big, filt) */
static fc_status conv_fwd(const char *op, cudnnHandle_t h, int dev, conv_descs *c, const void *big,
                          const void *filt, void *small) {
    fc_status st = FC_OK;
    if (!c->fwd_found) {
        cudnnConvolutionFwdAlgoPerf_t perf[4];
        int found = 0;
        st = dnn(op, "cudnnGetConvolutionForwardAlgorithm_v7",
                 cudnnGetConvolutionForwardAlgorithm_v7(h, c->big, c->filt, c->conv, c->small, 4, &found, perf));
        if (st) return st;
        int k = 0; /* the heuristic's best entry that cuDNN says it can run */
        while (k < found && perf[k].status != CUDNN_STATUS_SUCCESS) k++;
        if (k == found) return fc_fail(FC_ERR_UNSUPPORTED, "%s: cuDNN has no forward algorithm for this shape", op);
        if ((st = dnn(op, "workspace size", cudnnGetConvolutionForwardWorkspaceSize(h, c->big, c->filt, c->conv,
                                                                                  c->small, perf[k].algo, &c->fwd_ws))))
            return st;
        c->fwd_algo = perf[k].algo;
        c->fwd_found = 1;
    }
    size_t n = c->fwd_ws;
    ws w;
    if ((st = ws_get(&w, dev, n))) return st;
    const float one = 1.0f, zero = 0.0f;
    st = dnn(op, "cudnnConvolutionForward", cudnnConvolutionForward(h, &one, c->big, big, c->filt, filt, c->conv,
                                                                    c->fwd_algo, w.p, n, &zero, c->small, small));
    ws_put(&w);
    return st;
}

/* big = conv^T(small, filt): the gradient of the input of small = conv(big, filt) */
static fc_status conv_bwd_data(const char *op, cudnnHandle_t h, int dev, conv_descs *c, const void *filt,
                               const void *small, void *big) {
    fc_status st = FC_OK;
    if (!c->bwd_data_found) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[4];
        int found = 0;
        st = dnn(op, "cudnnGetConvolutionBackwardDataAlgorithm_v7",
                 cudnnGetConvolutionBackwardDataAlgorithm_v7(h, c->filt, c->small, c->conv, c->big, 4, &found, perf));
        if (st) return st;
        int k = 0; /* the heuristic's best entry that cuDNN says it can run */
        while (k < found && perf[k].status != CUDNN_STATUS_SUCCESS) k++;
        if (k == found) return fc_fail(FC_ERR_UNSUPPORTED, "%s: cuDNN has no backward-data algorithm for this shape", op);
        if ((st = dnn(op, "workspace size",
                      cudnnGetConvolutionBackwardDataWorkspaceSize(h, c->filt, c->small, c->conv, c->big, perf[k].algo,
                                                                   &c->bwd_data_ws))))
            return st;
        c->bwd_data_algo = perf[k].algo;
        c->bwd_data_found = 1;
    }
    size_t n = c->bwd_data_ws;
    ws w;
    if ((st = ws_get(&w, dev, n))) return st;
    const float one = 1.0f, zero = 0.0f;
    st = dnn(op, "cudnnConvolutionBackwardData",
             cudnnConvolutionBackwardData(h, &one, c->filt, filt, c->small, small, c->conv, c->bwd_data_algo, w.p, n, &zero,
                                          c->big, big));
    ws_put(&w);
    return st;
}

/* dfilt from big (the conv input) and small (the gradient of its output) */
static fc_status conv_bwd_filter(const char *op, cudnnHandle_t h, int dev, conv_descs *c, const void *big,
                                 const void *small, void *dfilt) {
    fc_status st = FC_OK;
    if (!c->bwd_filter_found) {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[4];
        int found = 0;
        st = dnn(op, "cudnnGetConvolutionBackwardFilterAlgorithm_v7",
                 cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, c->big, c->small, c->conv, c->filt, 4, &found, perf));
        if (st) return st;
        int k = 0; /* the heuristic's best entry that cuDNN says it can run */
        while (k < found && perf[k].status != CUDNN_STATUS_SUCCESS) k++;
        if (k == found) return fc_fail(FC_ERR_UNSUPPORTED, "%s: cuDNN has no backward-filter algorithm for this shape", op);
        if ((st = dnn(op, "workspace size",
                      cudnnGetConvolutionBackwardFilterWorkspaceSize(h, c->big, c->small, c->conv, c->filt,
                                                                     perf[k].algo, &c->bwd_filter_ws))))
            return st;
        c->bwd_filter_algo = perf[k].algo;
        c->bwd_filter_found = 1;
    }
    size_t n = c->bwd_filter_ws;
    ws w;
    if ((st = ws_get(&w, dev, n))) return st;
    const float one = 1.0f, zero = 0.0f;
    st = dnn(op, "cudnnConvolutionBackwardFilter",
             cudnnConvolutionBackwardFilter(h, &one, c->big, big, c->small, small, c->conv, c->bwd_filter_algo, w.p, n, &zero,
                                            c->filt, dfilt));
    ws_put(&w);
    return st;
}

/* One pass with the cached plan c (its algorithms found on first use); x, w, y in the plan's type
 * and layout, b (f32) only on unstaged plans. */
static fc_status conv_run(const char *op, cudnnHandle_t h, int device, conv_descs *c, const fci_conv_desc *d,
                          fci_conv_pass pass, void *x, void *w, float *b, void *y) {
    fc_status st = FC_OK;
    const float one = 1.0f, zero = 0.0f;
    /* conv: big = x, small = y; transposed: big = y, small = x */
    void *big = d->transposed ? y : x, *small = d->transposed ? x : y;
    if (!st && pass == FCI_CONV_FWD) {
        st = d->transposed ? conv_bwd_data(op, h, device, c, w, small, big) : conv_fwd(op, h, device, c, big, w, small);
        if (!st && b) /* y += b over [1, o, 1, 1] */
            st = dnn(op, "cudnnAddTensor", cudnnAddTensor(h, &one, c->bias, b, &one, d->transposed ? c->big : c->small, y));
    } else if (!st && pass == FCI_CONV_BWD_DATA) { /* x = dL/dx from y = dL/dy */
        st = d->transposed ? conv_fwd(op, h, device, c, big, w, small) : conv_bwd_data(op, h, device, c, w, small, big);
    } else if (!st && pass == FCI_CONV_BWD_WEIGHTS) { /* w = dL/dw, b = dL/db from x and y = dL/dy */
        st = conv_bwd_filter(op, h, device, c, big, small, w);
        if (!st && b)
            st = dnn(op, "cudnnConvolutionBackwardBias",
                     cudnnConvolutionBackwardBias(h, &one, d->transposed ? c->big : c->small, y, &zero, c->bias, b));
    }
    return st;
}

/* The copy geometry between a contiguous f32 NCHW tensor of dims and the plan's layout (NCHW or
 * NHWC, packed): stride[to] the staged layout's, stride[1 - to] the f32 tensor's. */
static fci_cuda_geom stage_geom(const int64_t *dims, int nhwc, int to) {
    fci_cuda_geom g = {.ndim = 4, .shape = {dims[0], dims[1], dims[2], dims[3]}};
    int64_t nchw[4] = {dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
    int64_t nhwc_[4] = {dims[1] * dims[2] * dims[3], 1, dims[3] * dims[1], dims[1]};
    for (int i = 0; i < 4; i++) {
        g.stride[to][i] = nhwc ? nhwc_[i] : nchw[i];
        g.stride[1 - to][i] = nchw[i];
    }
    return g;
}

static uint64_t n_16bit;
uint64_t fci_cuda_conv_16bit_count(void) { return __atomic_load_n(&n_16bit, __ATOMIC_RELAXED); }

/* A pass on a staged plan (16-bit or NHWC): x, w, y (f32 NCHW) are cast / transposed into
 * temporaries of the plan's type and layout, those the pass reads first; the one it writes is
 * cast back after. The bias is added or summed in f32 on the f32 output / gradient. */
static fc_status conv_staged(const char *op, cudnnHandle_t h, int dev, conv_descs *c, const fci_cuda_conv_key_t *k,
                             fci_conv_pass pass, float *x, float *w, float *b, float *y) {
    const fci_conv_desc *d = &k->d;
    int64_t dims[3][4] = {{d->n, d->c, d->h, d->w},
                          {d->transposed ? d->c : d->o, (d->transposed ? d->o : d->c) / d->groups, d->kh, d->kw},
                          {d->n, d->o, d->oh, d->ow}};
    float *f32[3] = {x, w, y};
    int out = pass == FCI_CONV_FWD ? 2 : pass == FCI_CONV_BWD_DATA ? 0 : 1; /* the operand written */
    size_t es = k->dtype == FC_DTYPE_F32 ? 4 : 2, nbytes[3];
    void *t[3] = {NULL, NULL, NULL};
    cudaStream_t s = (cudaStream_t)fci_cuda_stream(dev);
    fc_status st = FC_OK;
    if (k->dtype != FC_DTYPE_F32) __atomic_fetch_add(&n_16bit, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 3 && st == FC_OK; i++) {
        int64_t n = dims[i][0] * dims[i][1] * dims[i][2] * dims[i][3];
        nbytes[i] = (size_t)n * es;
        if (!(t[i] = fci_cuda_alloc(dev, nbytes[i]))) st = fc_error_code();
        else if (i != out) {
            fci_cuda_geom g = stage_geom(dims[i], (int)k->nhwc, 0);
            fci_cuda_copy_launch(s, t[i], (int)k->dtype, f32[i], FC_DTYPE_F32, n, &g);
        }
    }
    if (st == FC_OK) st = fci_cuda_launched(op);
    if (st == FC_OK) st = conv_run(op, h, dev, c, d, pass, t[0], t[1], NULL, t[2]);
    if (st == FC_OK) {
        fci_cuda_geom g = stage_geom(dims[out], (int)k->nhwc, 1);
        fci_cuda_copy_launch(s, f32[out], FC_DTYPE_F32, t[out], (int)k->dtype,
                             dims[out][0] * dims[out][1] * dims[out][2] * dims[out][3], &g);
        st = fci_cuda_launched(op);
    }
    const float one = 1.0f, zero = 0.0f;
    cudnnTensorDescriptor_t y32 = d->transposed ? c->big32 : c->small32; /* y's f32 NCHW descriptor */
    if (st == FC_OK && b && pass == FCI_CONV_FWD) /* y += b over [1, o, 1, 1] */
        st = dnn(op, "cudnnAddTensor", cudnnAddTensor(h, &one, c->bias, b, &one, y32, y));
    if (st == FC_OK && b && pass == FCI_CONV_BWD_WEIGHTS)
        st = dnn(op, "cudnnConvolutionBackwardBias", cudnnConvolutionBackwardBias(h, &one, y32, y, &zero, c->bias, b));
    for (int i = 2; i >= 0; i--) /* stream order: released after the pass has run */
        if (t[i]) fci_cuda_release(dev, t[i], nbytes[i]);
    return st;
}

fc_status fci_cuda_conv(int device, const char *op, const fci_conv_desc *d, fci_conv_pass pass, float *x, float *w,
                        float *b, float *y) {
    cudnnHandle_t h = fci_cudnn(device);
    if (!h) return fc_error_code();
    static int registered;
    fc_dtype dt = fci_autocast_compute_dtype(); /* bf16 / f16 under autocast (and its backward) */
    fci_cuda_conv_key_t key;
    fci_cuda_conv_key(device, d, fc_cuda_allow_tf32(), dt, fc_cuda_conv_channels_last(dt), &key);
    pthread_mutex_lock(&cache_lock); /* held while the plan is used: no other thread evicts it */
    conv_descs *cp = fci_plan_cache_get(&cache, &key, sizeof key);
    fc_status st = FC_OK;
    if (!cp) {
        cp = calloc(1, sizeof *cp);
        st = cp ? descs_make(op, &key, cp) : fc_fail(FC_ERR_NOMEM, "%s: out of memory for a cuDNN plan", op);
        if (st != FC_OK) {
            descs_free(cp);
            cp = NULL;
        } else if ((st = fci_plan_cache_put(&cache, &key, sizeof key, cp)) != FC_OK) cp = NULL; /* freed by put */
        if (st == FC_OK && !registered) registered = atexit(cache_at_exit) == 0;
    }
    if (st == FC_OK) {
        if (key.dtype != FC_DTYPE_F32 || key.nhwc) st = conv_staged(op, h, device, cp, &key, pass, x, w, b, y);
        else st = conv_run(op, h, device, cp, d, pass, x, w, b, y);
    }
    pthread_mutex_unlock(&cache_lock);
    return st;
}
