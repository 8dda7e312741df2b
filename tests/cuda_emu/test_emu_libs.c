/* The emulator's cuDNN and cuBLASLt (tests/cuda_emu/cudnn.c, cublaslt.c) against fastc's own CPU
 * ops (fc_conv2d, fc_matmul, themselves checked against PyTorch): convolutions forward, backward
 * data and backward filter (NCHW and NHWC, groups, stride, dilation, padding, f32 and bf16), bias,
 * GEMMs (transposes, batches, ld > rows, beta, C == D, TF32 rounding), and the validation that
 * makes glue bugs show (BAD_PARAM / INVALID_VALUE). The CPU library is the reference, and the
 * emulated libraries are handed its host tensors (fce_library_pointer_checks off).
 *
 * Tolerances: f32 results agree with oneDNN's to float rounding of sums of <= 150 terms of order
 * 1 (1e-4); a 16-bit result may differ by one bf16 ulp (2^-8 relative) where the two f32 sums
 * straddle a rounding boundary, hence rtol 1e-2 there. */
#include <cublasLt.h>
#include <cudnn.h>
#include <stdlib.h>

#include "fct.h"

/* the operands here are CPU tensors, not cudaMalloc blocks */
__attribute__((constructor)) static void host_operands(void) { fce_library_pointer_checks = 0; }

#define ATOL 1e-4
#define RTOL 1e-4

static void quiet(void) { setenv("FCE_QUIET", "1", 1); }

/* A call that must succeed; on failure the emulator's reason is printed. */
#define DNN_OK(call)                                                                                    \
    do {                                                                                                \
        cudnnStatus_t st_ = (call);                                                                     \
        fct_check(st_ == CUDNN_STATUS_SUCCESS, __FILE__, __LINE__, "%s: %s (%s)", #call,               \
                  cudnnGetErrorString(st_), fce_cudnn_last_error());                                    \
    } while (0)
#define LT_OK(call)                                                                                     \
    do {                                                                                                \
        cublasStatus_t st_ = (call);                                                                    \
        fct_check(st_ == CUBLAS_STATUS_SUCCESS, __FILE__, __LINE__, "%s: %s (%s)", #call,              \
                  cublasLtGetStatusName(st_), fce_cublaslt_last_error());                               \
    } while (0)

/* f32 tensor with values representable in dtype (bf16 values when dtype is bf16) */
static fc_tensor *randn_as(fc_shape s, fc_dtype dt) {
    fc_tensor *t = fc_randn(s);
    return dt == FC_DTYPE_F32 ? t : fc_to_dtype(fc_to_dtype(t, dt), FC_DTYPE_F32);
}

/* Contiguous copy of t (f32) in dtype, optionally permuted NCHW -> NHWC. */
static fc_tensor *device_copy(fc_tensor *t, fc_dtype dt, int nhwc) {
    if (nhwc) t = fc_permute(t, FC_DIMS(0, 2, 3, 1));
    return fc_contiguous(fc_to_dtype(t, dt));
}

/* The emulator's output (a contiguous dtype tensor in NCHW or NHWC) as f32 NCHW. */
static fc_tensor *host_view(fc_tensor *t, int nhwc) {
    fc_tensor *f = fc_to_dtype(t, FC_DTYPE_F32);
    return nhwc ? fc_contiguous(fc_permute(f, FC_DIMS(0, 3, 1, 2))) : f;
}

static cudnnDataType_t dnn_type(fc_dtype dt) {
    return dt == FC_DTYPE_BF16 ? CUDNN_DATA_BFLOAT16 : dt == FC_DTYPE_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
}

typedef struct conv_case {
    int n, c, h, w, k, r, s, stride, pad, dil, groups;
} conv_case;

typedef struct dnn_descs {
    cudnnHandle_t h;
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t f;
    cudnnConvolutionDescriptor_t conv;
} dnn_descs;

static void descs_make(dnn_descs *d, const conv_case *cc, int oh, int ow, fc_dtype dt, int nhwc,
                       cudnnMathType_t math) {
    cudnnTensorFormat_t fmt = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    DNN_OK(cudnnCreate(&d->h));
    DNN_OK(cudnnCreateTensorDescriptor(&d->x));
    DNN_OK(cudnnCreateTensorDescriptor(&d->y));
    DNN_OK(cudnnCreateFilterDescriptor(&d->f));
    DNN_OK(cudnnCreateConvolutionDescriptor(&d->conv));
    DNN_OK(cudnnSetTensor4dDescriptor(d->x, fmt, dnn_type(dt), cc->n, cc->c, cc->h, cc->w));
    DNN_OK(cudnnSetTensor4dDescriptor(d->y, fmt, dnn_type(dt), cc->n, cc->k, oh, ow));
    DNN_OK(cudnnSetFilter4dDescriptor(d->f, dnn_type(dt), fmt, cc->k, cc->c / cc->groups, cc->r, cc->s));
    DNN_OK(cudnnSetConvolution2dDescriptor(d->conv, cc->pad, cc->pad, cc->stride, cc->stride, cc->dil, cc->dil,
                                               CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DNN_OK(cudnnSetConvolutionGroupCount(d->conv, cc->groups));
    DNN_OK(cudnnSetConvolutionMathType(d->conv, math));
}

static void descs_free(dnn_descs *d) {
    cudnnDestroyConvolutionDescriptor(d->conv);
    cudnnDestroyFilterDescriptor(d->f);
    cudnnDestroyTensorDescriptor(d->y);
    cudnnDestroyTensorDescriptor(d->x);
    cudnnDestroy(d->h);
}

static int out_size(int in, int pad, int f, int dil, int stride) { return 1 + (in + 2 * pad - (f - 1) * dil - 1) / stride; }

/* A fresh output of shape s and dtype dt holding NaN: beta == 0 must never read it. */
static fc_tensor *nan_tensor(fc_shape s, fc_dtype dt) { return fc_full(s, NAN, .dtype = dt); }

/* The three passes of one convolution with both supported algorithms of each (perf[0]: with a
 * workspace, perf[1]: without), against fc_conv2d's forward and gradients. */
static void check_conv(conv_case cc, fc_dtype dt, int nhwc) {
    int oh = out_size(cc.h, cc.pad, cc.r, cc.dil, cc.stride), ow = out_size(cc.w, cc.pad, cc.s, cc.dil, cc.stride);
    fc_tensor *x = fc_requires_grad(randn_as(FC_SHAPE(cc.n, cc.c, cc.h, cc.w), dt));
    fc_tensor *w = fc_requires_grad(randn_as(FC_SHAPE(cc.k, cc.c / cc.groups, cc.r, cc.s), dt));
    fc_tensor *dy = randn_as(FC_SHAPE(cc.n, cc.k, oh, ow), dt);
    fc_tensor *y = fc_conv2d(x, w, NULL, .stride = {cc.stride, cc.stride}, .padding = {cc.pad, cc.pad},
                             .dilation = {cc.dil, cc.dil}, .groups = cc.groups);
    FCT_OK(fc_backward_with(y, dy));
    fc_tensor *want[3] = {y, fc_tensor_grad(x), fc_tensor_grad(w)};
    double rtol = dt == FC_DTYPE_F32 ? RTOL : 1e-2;
    for (int i = 0; i < 3 && dt != FC_DTYPE_F32; i++) want[i] = fc_to_dtype(fc_to_dtype(want[i], dt), FC_DTYPE_F32);

    dnn_descs d;
    descs_make(&d, &cc, oh, ow, dt, nhwc, CUDNN_FMA_MATH);
    fc_tensor *xd = device_copy(x, dt, nhwc), *wd = device_copy(w, dt, nhwc), *dyd = device_copy(dy, dt, nhwc);
    fc_shape ys = nhwc ? FC_SHAPE(cc.n, oh, ow, cc.k) : FC_SHAPE(cc.n, cc.k, oh, ow);
    fc_shape xs = nhwc ? FC_SHAPE(cc.n, cc.h, cc.w, cc.c) : FC_SHAPE(cc.n, cc.c, cc.h, cc.w);
    fc_shape ws = nhwc ? FC_SHAPE(cc.k, cc.r, cc.s, cc.c / cc.groups) : FC_SHAPE(cc.k, cc.c / cc.groups, cc.r, cc.s);
    const float one = 1.0f, zero = 0.0f;
    cudnnConvolutionFwdAlgoPerf_t pf[4];
    cudnnConvolutionBwdDataAlgoPerf_t pd[4];
    cudnnConvolutionBwdFilterAlgoPerf_t pw[4];
    int nf = 0, nd = 0, nw = 0;
    DNN_OK(cudnnGetConvolutionForwardAlgorithm_v7(d.h, d.x, d.f, d.conv, d.y, 4, &nf, pf));
    DNN_OK(cudnnGetConvolutionBackwardDataAlgorithm_v7(d.h, d.f, d.y, d.conv, d.x, 4, &nd, pd));
    DNN_OK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(d.h, d.x, d.y, d.conv, d.f, 4, &nw, pw));
    FCT_EQ_INT(nf, 4);
    FCT_EQ_INT(nd, 4);
    FCT_EQ_INT(nw, 4);
    fc_tensor *got[3][2];
    for (int a = 0; a < 2; a++) {
        DNN_OK(pf[a].status);
        DNN_OK(pd[a].status);
        DNN_OK(pw[a].status);
        size_t n0 = 0, n1 = 0, n2 = 0;
        DNN_OK(cudnnGetConvolutionForwardWorkspaceSize(d.h, d.x, d.f, d.conv, d.y, pf[a].algo, &n0));
        DNN_OK(cudnnGetConvolutionBackwardDataWorkspaceSize(d.h, d.f, d.y, d.conv, d.x, pd[a].algo, &n1));
        DNN_OK(cudnnGetConvolutionBackwardFilterWorkspaceSize(d.h, d.x, d.y, d.conv, d.f, pw[a].algo, &n2));
        FCT_EQ_INT(n0, pf[a].memory);
        FCT_EQ_INT(a == 0 ? n0 > 0 : n0 == 0, 1);
        size_t nmax = n0 > n1 ? n0 : n1;
        nmax = nmax > n2 ? nmax : n2;
        void *wsp = nmax ? malloc(nmax) : NULL;
        got[0][a] = nan_tensor(ys, dt), got[1][a] = nan_tensor(xs, dt), got[2][a] = nan_tensor(ws, dt);
        DNN_OK(cudnnConvolutionForward(d.h, &one, d.x, fc_tensor_data(xd), d.f, fc_tensor_data(wd), d.conv,
                                           pf[a].algo, wsp, n0, &zero, d.y, fc_tensor_data(got[0][a])));
        DNN_OK(cudnnConvolutionBackwardData(d.h, &one, d.f, fc_tensor_data(wd), d.y, fc_tensor_data(dyd), d.conv,
                                                pd[a].algo, wsp, n1, &zero, d.x, fc_tensor_data(got[1][a])));
        DNN_OK(cudnnConvolutionBackwardFilter(d.h, &one, d.x, fc_tensor_data(xd), d.y, fc_tensor_data(dyd),
                                                  d.conv, pw[a].algo, wsp, n2, &zero, d.f, fc_tensor_data(got[2][a])));
        free(wsp);
        for (int i = 0; i < 3; i++) FCT_CLOSE(host_view(got[i][a], nhwc), want[i], ATOL, rtol);
    }
    for (int i = 0; i < 3; i++) /* the two algorithms do the same arithmetic */
        FCT_TRUE(!memcmp(fc_tensor_data(got[i][0]), fc_tensor_data(got[i][1]),
                         (size_t)fc_tensor_numel(got[i][0]) * (dt == FC_DTYPE_F32 ? 4 : 2)));
    descs_free(&d);
}

FCT_TEST(test_emu_conv_f32_nchw_matches_fc_conv2d) {
    check_conv((conv_case){2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1}, FC_DTYPE_F32, 0);
    check_conv((conv_case){2, 4, 9, 8, 6, 3, 2, 2, 1, 1, 2}, FC_DTYPE_F32, 0);  /* stride 2, groups 2 */
    check_conv((conv_case){1, 3, 10, 9, 2, 3, 3, 1, 2, 2, 1}, FC_DTYPE_F32, 0); /* dilation 2, pad 2 */
    check_conv((conv_case){2, 4, 7, 7, 4, 3, 3, 2, 1, 1, 4}, FC_DTYPE_F32, 0);  /* depthwise */
    check_conv((conv_case){3, 2, 5, 5, 3, 1, 1, 1, 0, 1, 1}, FC_DTYPE_F32, 0);  /* 1x1 */
}

FCT_TEST(test_emu_conv_f32_nhwc_matches_fc_conv2d) {
    check_conv((conv_case){2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1}, FC_DTYPE_F32, 1);
    check_conv((conv_case){2, 4, 9, 8, 6, 3, 2, 2, 1, 2, 2}, FC_DTYPE_F32, 1);
}

FCT_TEST(test_emu_conv_bf16_matches_fc_conv2d_rounded) {
    check_conv((conv_case){2, 4, 8, 7, 6, 3, 3, 2, 1, 1, 2}, FC_DTYPE_BF16, 0);
    check_conv((conv_case){2, 3, 9, 9, 4, 3, 3, 1, 2, 2, 1}, FC_DTYPE_BF16, 1);
    check_conv((conv_case){1, 2, 6, 6, 2, 3, 3, 1, 1, 1, 1}, FC_DTYPE_F16, 1);
}

/* y = alpha conv + beta y, and db = alpha sum dy + beta db, bias added by cudnnAddTensor */
FCT_TEST(test_emu_conv_alpha_beta_bias) {
    conv_case cc = {2, 3, 6, 6, 4, 3, 3, 1, 1, 1, 1};
    fc_tensor *x = fc_randn(FC_SHAPE(2, 3, 6, 6)), *w = fc_randn(FC_SHAPE(4, 3, 3, 3)), *b = fc_randn(FC_SHAPE(4));
    fc_tensor *y0 = fc_randn(FC_SHAPE(2, 4, 6, 6));
    fc_tensor *y = fc_clone(y0);
    dnn_descs d;
    descs_make(&d, &cc, 6, 6, FC_DTYPE_F32, 0, CUDNN_FMA_MATH);
    const float alpha = 2.0f, beta = 0.5f, one = 1.0f;
    DNN_OK(cudnnConvolutionForward(d.h, &alpha, d.x, fc_tensor_data(x), d.f, fc_tensor_data(w), d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &beta, d.y, fc_tensor_data(y)));
    fc_tensor *want = fc_add(fc_mul_scalar(fc_conv2d(x, w, NULL, .padding = {1, 1}), 2.0), fc_mul_scalar(y0, 0.5));
    FCT_CLOSE(y, want, ATOL, RTOL);

    cudnnTensorDescriptor_t bd;
    DNN_OK(cudnnCreateTensorDescriptor(&bd));
    DNN_OK(cudnnSetTensor4dDescriptor(bd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 4, 1, 1));
    DNN_OK(cudnnAddTensor(d.h, &one, bd, fc_tensor_data(b), &one, d.y, fc_tensor_data(y)));
    FCT_CLOSE(y, fc_add(want, fc_reshape(b, FC_SHAPE(1, 4, 1, 1))), ATOL, RTOL);

    fc_tensor *db = fc_full(FC_SHAPE(4), 1.0);
    DNN_OK(cudnnConvolutionBackwardBias(d.h, &alpha, d.y, fc_tensor_data(y0), &beta, bd, fc_tensor_data(db)));
    FCT_CLOSE(db, fc_add_scalar(fc_mul_scalar(fc_sum(y0, FC_DIMS(0, 2, 3), 0), 2.0), 0.5), ATOL, RTOL);
    fc_tensor *db0 = nan_tensor(FC_SHAPE(4), FC_DTYPE_F32);
    const float zero = 0.0f;
    DNN_OK(cudnnConvolutionBackwardBias(d.h, &one, d.y, fc_tensor_data(y0), &zero, bd, fc_tensor_data(db0)));
    FCT_CLOSE(db0, fc_sum(y0, FC_DIMS(0, 2, 3), 0), ATOL, RTOL);

    /* a bias into an NHWC bf16 tensor: broadcast by dims, whatever the layout */
    cudnnTensorDescriptor_t yb;
    DNN_OK(cudnnCreateTensorDescriptor(&yb));
    DNN_OK(cudnnSetTensor4dDescriptor(yb, CUDNN_TENSOR_NHWC, CUDNN_DATA_BFLOAT16, 2, 4, 6, 6));
    fc_tensor *ybf = device_copy(y0, FC_DTYPE_BF16, 1);
    fc_tensor *ybf0 = host_view(ybf, 1);
    DNN_OK(cudnnAddTensor(d.h, &one, bd, fc_tensor_data(b), &one, yb, fc_tensor_data(ybf)));
    FCT_CLOSE(host_view(ybf, 1), fc_add(ybf0, fc_reshape(b, FC_SHAPE(1, 4, 1, 1))), 1e-2, 1e-2);
    cudnnDestroyTensorDescriptor(yb);
    cudnnDestroyTensorDescriptor(bd);
    descs_free(&d);
}

/* CUDNN_CONVOLUTION flips the filter; DEFAULT_MATH on f32 rounds the inputs to TF32 */
FCT_TEST(test_emu_conv_mode_and_tf32) {
    conv_case cc = {1, 2, 5, 5, 3, 3, 2, 1, 1, 1, 1};
    fc_tensor *x = fc_randn(FC_SHAPE(1, 2, 5, 5)), *w = fc_randn(FC_SHAPE(3, 2, 3, 2));
    fc_tensor *wflip = fc_clone(w);
    float *wp = fc_tensor_data(w), *fp = fc_tensor_data(wflip);
    for (int i = 0; i < 6; i++)
        for (int r = 0; r < 3; r++)
            for (int s = 0; s < 2; s++) fp[(i * 3 + r) * 2 + s] = wp[(i * 3 + 2 - r) * 2 + 1 - s];
    dnn_descs d;
    descs_make(&d, &cc, 5, 6, FC_DTYPE_F32, 0, CUDNN_FMA_MATH);
    DNN_OK(cudnnSetConvolution2dDescriptor(d.conv, 1, 1, 1, 1, 1, 1, CUDNN_CONVOLUTION, CUDNN_DATA_FLOAT));
    fc_tensor *y = nan_tensor(FC_SHAPE(1, 3, 5, 6), FC_DTYPE_F32);
    const float one = 1.0f, zero = 0.0f;
    DNN_OK(cudnnConvolutionForward(d.h, &one, d.x, fc_tensor_data(x), d.f, fc_tensor_data(w), d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, d.y, fc_tensor_data(y)));
    FCT_CLOSE(y, fc_conv2d(x, wflip, NULL, .padding = {1, 1}), ATOL, RTOL);

    /* TF32: bf16 values are exact in TF32, so DEFAULT_MATH equals FMA_MATH on them bit for bit,
     * and differs on full f32 values (by about 2^-11 relative) */
    DNN_OK(cudnnSetConvolution2dDescriptor(d.conv, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    fc_tensor *xb = randn_as(FC_SHAPE(1, 2, 5, 5), FC_DTYPE_BF16), *wb = randn_as(FC_SHAPE(3, 2, 3, 2), FC_DTYPE_BF16);
    fc_tensor *out[2][2];
    for (int m = 0; m < 2; m++) {
        DNN_OK(cudnnSetConvolutionMathType(d.conv, m ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
        for (int v = 0; v < 2; v++) {
            out[m][v] = nan_tensor(FC_SHAPE(1, 3, 5, 6), FC_DTYPE_F32);
            DNN_OK(cudnnConvolutionForward(d.h, &one, d.x, fc_tensor_data(v ? x : xb), d.f,
                                               fc_tensor_data(v ? w : wb), d.conv,
                                               CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, d.y,
                                               fc_tensor_data(out[m][v])));
        }
    }
    FCT_TRUE(!memcmp(fc_tensor_data(out[0][0]), fc_tensor_data(out[1][0]), 90 * sizeof(float)));
    FCT_TRUE(memcmp(fc_tensor_data(out[0][1]), fc_tensor_data(out[1][1]), 90 * sizeof(float)) != 0);
    FCT_CLOSE(out[1][1], out[0][1], 2e-2, 2e-3);
    descs_free(&d);
}

FCT_TEST(test_emu_conv_rejects_bad_descriptors) {
    quiet();
    conv_case cc = {2, 4, 8, 8, 6, 3, 3, 2, 1, 1, 2};
    dnn_descs d;
    descs_make(&d, &cc, 4, 4, FC_DTYPE_F32, 0, CUDNN_FMA_MATH); /* the right output is 4x4 */
    cudnnConvolutionFwdAlgoPerf_t pf[4];
    int n = 0, on, oc, ohh, oww;
    DNN_OK(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.f, &on, &oc, &ohh, &oww));
    FCT_TRUE(on == 2 && oc == 6 && ohh == 4 && oww == 4);
    DNN_OK(cudnnGetConvolutionForwardAlgorithm_v7(d.h, d.x, d.f, d.conv, d.y, 4, &n, pf));
    /* y 5x4: not the convolution's output */
    DNN_OK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 6, 5, 4));
    FCT_EQ_INT(cudnnGetConvolutionForwardAlgorithm_v7(d.h, d.x, d.f, d.conv, d.y, 4, &n, pf), CUDNN_STATUS_BAD_PARAM);
    FCT_TRUE(strstr(fce_cudnn_last_error(), "output descriptor is [2, 6, 5, 4], the convolution gives [2, 6, 4, 4]"));
    size_t wsn;
    FCT_EQ_INT(cudnnGetConvolutionBackwardDataWorkspaceSize(d.h, d.f, d.y, d.conv, d.x,
                                                            CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, &wsn),
               CUDNN_STATUS_BAD_PARAM);
    DNN_OK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 6, 4, 4));
    /* the filter's channels times groups must be the input's */
    DNN_OK(cudnnSetConvolutionGroupCount(d.conv, 1));
    FCT_EQ_INT(cudnnGetConvolutionForwardAlgorithm_v7(d.h, d.x, d.f, d.conv, d.y, 4, &n, pf), CUDNN_STATUS_BAD_PARAM);
    FCT_TRUE(strstr(fce_cudnn_last_error(), "input has 4 channels, expected filter channels 2 x 1 groups = 2"));
    DNN_OK(cudnnSetConvolutionGroupCount(d.conv, 4));
    DNN_OK(cudnnSetFilter4dDescriptor(d.f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 6, 1, 3, 3));
    FCT_EQ_INT(cudnnGetConvolutionForwardAlgorithm_v7(d.h, d.x, d.f, d.conv, d.y, 4, &n, pf), CUDNN_STATUS_BAD_PARAM);
    FCT_TRUE(strstr(fce_cudnn_last_error(), "6 filters do not divide into 4 groups"));
    DNN_OK(cudnnSetConvolutionGroupCount(d.conv, 2));
    DNN_OK(cudnnSetFilter4dDescriptor(d.f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 6, 2, 3, 3));
    /* a workspace smaller than the algorithm's, NULL data, an algorithm not offered, mixed types */
    size_t need = 0;
    DNN_OK(cudnnGetConvolutionForwardWorkspaceSize(d.h, d.x, d.f, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
                                                       &need));
    FCT_TRUE(need > 0);
    float *x = calloc(2 * 4 * 8 * 8, 4), *w = calloc(6 * 2 * 9, 4), *y = calloc(2 * 6 * 16, 4), *ws = malloc(need);
    const float one = 1.0f, zero = 0.0f;
    FCT_EQ_INT(cudnnConvolutionForward(d.h, &one, d.x, x, d.f, w, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, ws,
                                       need - 4, &zero, d.y, y),
               CUDNN_STATUS_BAD_PARAM);
    FCT_TRUE(strstr(fce_cudnn_last_error(), "workspace of"));
    DNN_OK(cudnnConvolutionForward(d.h, &one, d.x, x, d.f, w, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, ws, need,
                                       &zero, d.y, y));
    cudnnStatus_t st = cudnnConvolutionForward(d.h, &one, d.x, NULL, d.f, w, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
                                               ws, need, &zero, d.y, y);
    FCT_EQ_INT(CUDNN_STATUS_CATEGORY(st), CUDNN_STATUS_BAD_PARAM);
    FCT_EQ_INT(cudnnConvolutionBackwardFilter(d.h, &one, d.x, x, d.y, y, d.conv, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
                                              NULL, 0, &zero, d.f, w),
               CUDNN_STATUS_BAD_PARAM);
    FCT_EQ_INT(cudnnConvolutionForward(d.h, &one, d.x, x, d.f, w, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_FFT, ws, need,
                                       &zero, d.y, y),
               CUDNN_STATUS_NOT_SUPPORTED);
    DNN_OK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_BFLOAT16, 2, 6, 4, 4));
    FCT_EQ_INT(cudnnConvolutionForward(d.h, &one, d.x, x, d.f, w, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, ws, need,
                                       &zero, d.y, y),
               CUDNN_STATUS_BAD_PARAM);
    /* a filter too large for the padded input, a bias that does not broadcast */
    DNN_OK(cudnnSetFilter4dDescriptor(d.f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 6, 2, 11, 3));
    FCT_EQ_INT(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.f, &on, &oc, &ohh, &oww), CUDNN_STATUS_BAD_PARAM);
    cudnnTensorDescriptor_t bd;
    DNN_OK(cudnnCreateTensorDescriptor(&bd));
    DNN_OK(cudnnSetTensor4dDescriptor(bd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 3, 1, 1));
    FCT_EQ_INT(cudnnAddTensor(d.h, &one, bd, w, &one, d.x, x), CUDNN_STATUS_BAD_PARAM);
    cudnnDestroyTensorDescriptor(bd);
    free(x), free(w), free(y), free(ws);
    descs_free(&d);
}

/* ---- cuBLASLt -------------------------------------------------------------------------------- */

static cudaDataType_t lt_type(fc_dtype dt) {
    return dt == FC_DTYPE_BF16 ? CUDA_R_16BF : dt == FC_DTYPE_F16 ? CUDA_R_16F : CUDA_R_32F;
}

/* A stored column-major operand: rows x cols with leading dim ld, as a row-major fastc tensor
 * [batch, cols, ld] (row j = column j); the logical matrix is its first 'rows' columns, transposed. */
static fc_tensor *stored_matrix(fc_tensor *t, int64_t rows) { return fc_transpose(fc_narrow(t, 2, 0, rows), 1, 2); }

typedef struct gemm_case {
    int m, n, k, ta, tb, batch, pad; /* pad: ld = rows + pad */
    float alpha, beta;
    int b_broadcast, alias;          /* B batch stride 0; C and D the same buffer */
} gemm_case;

static void check_gemm(gemm_case g, fc_dtype ab, fc_dtype cd) {
    int64_t ar = g.ta ? g.k : g.m, ac = g.ta ? g.m : g.k, br = g.tb ? g.n : g.k, bc = g.tb ? g.k : g.n;
    int64_t lda = ar + g.pad, ldb = br + g.pad, ldc = g.m + g.pad;
    fc_tensor *A = randn_as(FC_SHAPE(g.batch, ac, lda), ab);
    fc_tensor *B = randn_as(FC_SHAPE(g.b_broadcast ? 1 : g.batch, bc, ldb), ab);
    fc_tensor *C = randn_as(FC_SHAPE(g.batch, g.n, ldc), cd);
    fc_tensor *opa = stored_matrix(A, ar), *opb = stored_matrix(B, br);
    if (g.ta) opa = fc_transpose(opa, 1, 2);
    if (g.tb) opb = fc_transpose(opb, 1, 2);
    fc_tensor *want = fc_mul_scalar(fc_matmul(opa, opb), g.alpha);
    if (g.beta != 0.0f) want = fc_add(want, fc_mul_scalar(stored_matrix(C, g.m), g.beta));
    if (cd != FC_DTYPE_F32) want = fc_to_dtype(fc_to_dtype(want, cd), FC_DTYPE_F32);

    fc_tensor *Ad = fc_to_dtype(A, ab), *Bd = fc_to_dtype(B, ab), *Cd = fc_to_dtype(C, cd);
    fc_tensor *Dd = g.alias ? Cd : nan_tensor(FC_SHAPE(g.batch, g.n, ldc), cd);
    if (g.beta == 0.0f && !g.alias) FCT_OK(fc_fill_(Cd, NAN)); /* never read */
    cublasLtHandle_t h;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulPreference_t pref;
    cublasOperation_t opA = g.ta ? CUBLAS_OP_T : CUBLAS_OP_N, opB = g.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    LT_OK(cublasLtCreate(&h));
    LT_OK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof opA));
    LT_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof opB));
    LT_OK(cublasLtMatrixLayoutCreate(&la, lt_type(ab), (uint64_t)ar, (uint64_t)ac, lda));
    LT_OK(cublasLtMatrixLayoutCreate(&lb, lt_type(ab), (uint64_t)br, (uint64_t)bc, ldb));
    LT_OK(cublasLtMatrixLayoutCreate(&lc, lt_type(cd), (uint64_t)g.m, (uint64_t)g.n, ldc));
    if (g.batch > 1) {
        int32_t count = g.batch;
        int64_t strides[3] = {ac * lda, g.b_broadcast ? 0 : bc * ldb, g.n * ldc};
        cublasLtMatrixLayout_t ls[3] = {la, lb, lc};
        for (int i = 0; i < 3; i++) {
            LT_OK(cublasLtMatrixLayoutSetAttribute(ls[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
            LT_OK(cublasLtMatrixLayoutSetAttribute(ls[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &strides[i],
                                                        sizeof strides[i]));
        }
    }
    LT_OK(cublasLtMatmulPreferenceCreate(&pref));
    uint32_t al = 16; /* fastc's tensors are 64-byte aligned; the default (256) would not do */
    for (int i = 0; i < 4; i++)
        LT_OK(cublasLtMatmulPreferenceSetAttribute(
            pref, (cublasLtMatmulPreferenceAttributes_t)(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES + i), &al, sizeof al));
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    LT_OK(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, lc, pref, 1, &res, &found));
    FCT_EQ_INT(found, 1);
    LT_OK(res.state);
    LT_OK(cublasLtMatmul(h, desc, &g.alpha, fc_tensor_data(Ad), la, fc_tensor_data(Bd), lb, &g.beta,
                              fc_tensor_data(Cd), lc, fc_tensor_data(Dd), lc, &res.algo, NULL, 0, NULL));
    FCT_CLOSE(stored_matrix(fc_to_dtype(Dd, FC_DTYPE_F32), g.m), want, ATOL, cd == FC_DTYPE_F32 ? RTOL : 1e-2);
    /* D's padding rows (ld > rows) are left alone */
    if (g.pad && !g.alias) FCT_TRUE(isnan(fc_tensor_get(Dd, g.m)));
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatmulDescDestroy(desc);
    cublasLtDestroy(h);
}

FCT_TEST(test_emu_gemm_matches_fc_matmul) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_gemm((gemm_case){5, 7, 9, ta, tb, 1, 0, 1.0f, 0.0f, 0, 0}, FC_DTYPE_F32, FC_DTYPE_F32);
            check_gemm((gemm_case){6, 3, 4, ta, tb, 3, 2, 1.5f, 0.0f, 0, 0}, FC_DTYPE_F32, FC_DTYPE_F32);
            check_gemm((gemm_case){4, 5, 6, ta, tb, 2, 1, 1.0f, 0.5f, 0, 0}, FC_DTYPE_F32, FC_DTYPE_F32);
            check_gemm((gemm_case){4, 5, 6, ta, tb, 2, 3, -1.0f, 1.0f, 0, 1}, FC_DTYPE_F32, FC_DTYPE_F32);
            check_gemm((gemm_case){8, 4, 5, ta, tb, 3, 0, 1.0f, 0.0f, 1, 0}, FC_DTYPE_F32, FC_DTYPE_F32);
        }
}

FCT_TEST(test_emu_gemm_16bit_matches_fc_matmul_rounded) {
    check_gemm((gemm_case){8, 6, 16, 0, 1, 2, 0, 1.0f, 0.0f, 0, 0}, FC_DTYPE_BF16, FC_DTYPE_BF16);
    check_gemm((gemm_case){8, 6, 16, 1, 0, 2, 2, 1.0f, 1.0f, 0, 1}, FC_DTYPE_BF16, FC_DTYPE_BF16);
    check_gemm((gemm_case){5, 6, 7, 1, 1, 1, 0, 1.0f, 0.5f, 0, 0}, FC_DTYPE_BF16, FC_DTYPE_F32);
    check_gemm((gemm_case){5, 6, 7, 0, 0, 2, 1, 2.0f, 0.0f, 0, 0}, FC_DTYPE_F16, FC_DTYPE_F16);
    check_gemm((gemm_case){5, 6, 7, 0, 1, 1, 0, 1.0f, 0.0f, 0, 0}, FC_DTYPE_F16, FC_DTYPE_F32);
}

/* One 1 x 1 product over k = 4 by hand: TF32 keeps 10 mantissa bits, rounding to nearest even. */
FCT_TEST(test_emu_gemm_tf32_rounds_inputs_to_nearest_even) {
    const float u = 1.0f / 4096; /* 2^-12 */
    /* A: 1 + 3 2^-11 -> 1 + 2^-9 (a tie, to even); 1 + 2^-11 -> 1 (a tie, to even);
     * 1 + 2^-11 + 2^-20 -> 1 + 2^-10 (above the tie); B: 1 + 2^-12 -> 1 (below the tie) */
    float a[4] = {1, 1 + 6 * u, 1 + 2 * u, 1 + 2 * u + u / 256}, b[4] = {1 + u, 1, 1, 1};
    float d = NAN, alpha = 1, beta = 0;
    cublasLtHandle_t h;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, lc;
    LT_OK(cublasLtCreate(&h));
    LT_OK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, 1, 4, 1));
    LT_OK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, 4, 1, 4));
    LT_OK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, 1, 1, 1));
    for (int tf32 = 0; tf32 < 2; tf32++) {
        LT_OK(cublasLtMatmulDescCreate(&desc, tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F));
        LT_OK(cublasLtMatmul(h, desc, &alpha, a, la, b, lb, &beta, NULL, lc, &d, lc, NULL, NULL, 0, NULL));
        /* every partial sum is exact in f32: 4 + 11 2^-12 + 2^-20; TF32: 1 + (1 + 2^-9) + 1 + (1 + 2^-10) */
        FCT_NEAR(d, tf32 ? 4 + 12 * u : 4 + 11 * u + u / 256, 0);
        cublasLtMatmulDescDestroy(desc);
    }
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtDestroy(h);
}

FCT_TEST(test_emu_gemm_rejects_impossible_problems) {
    quiet();
    cublasLtHandle_t h;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulHeuristicResult_t res;
    int found = -1;
    LT_OK(cublasLtCreate(&h));
    LT_OK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT_OK(cublasLtMatmulPreferenceCreate(&pref));
    LT_OK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, 4, 3, 3)); /* ld < rows */
    LT_OK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, 3, 2, 3));
    LT_OK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, 4, 2, 4));
    FCT_EQ_INT(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, lc, pref, 1, &res, &found),
               CUBLAS_STATUS_INVALID_VALUE);
    FCT_EQ_INT(found, 0);
    FCT_TRUE(strstr(fce_cublaslt_last_error(), "A has ld 3 < rows 4"));
    int64_t ld = 4;
    LT_OK(cublasLtMatrixLayoutSetAttribute(la, CUBLASLT_MATRIX_LAYOUT_LD, &ld, sizeof ld));
    LT_OK(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, lc, pref, 1, &res, &found));
    /* inner dims: op(A) 4 x 3 with op(B) 2 x 3 */
    cublasOperation_t t = CUBLAS_OP_T;
    LT_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &t, sizeof t));
    FCT_EQ_INT(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, lc, pref, 1, &res, &found),
               CUBLAS_STATUS_INVALID_VALUE);
    FCT_TRUE(strstr(fce_cublaslt_last_error(), "op(A) is 4 x 3 but op(B) is 2 x 3"));
    cublasOperation_t n = CUBLAS_OP_N;
    LT_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &n, sizeof n));
    /* a wrong attribute size, batch counts that differ */
    int64_t big = 2;
    FCT_EQ_INT(cublasLtMatrixLayoutSetAttribute(lb, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &big, sizeof big),
               CUBLAS_STATUS_INVALID_VALUE);
    int32_t two = 2;
    LT_OK(cublasLtMatrixLayoutSetAttribute(lb, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &two, sizeof two));
    FCT_EQ_INT(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, lc, pref, 1, &res, &found),
               CUBLAS_STATUS_INVALID_VALUE);
    int32_t one_ = 1;
    LT_OK(cublasLtMatrixLayoutSetAttribute(lb, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &one_, sizeof one_));
    /* an alignment below the element size: no algorithm */
    uint32_t al2 = 2;
    LT_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al2, sizeof al2));
    FCT_EQ_INT(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, lc, pref, 1, &res, &found),
               CUBLAS_STATUS_NOT_SUPPORTED);
    FCT_EQ_INT(found, 0);
    /* an algorithm chosen for 16-byte aligned A, given A at an odd float */
    uint32_t al16 = 16, al4 = 4;
    LT_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al16, 4));
    for (int i = 1; i < 4; i++)
        LT_OK(cublasLtMatmulPreferenceSetAttribute(
                       pref, (cublasLtMatmulPreferenceAttributes_t)(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES + i),
                       &al4, 4));
    LT_OK(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, lc, pref, 1, &res, &found));
    float *buf = aligned_alloc(64, 64 * sizeof(float)), alpha = 1, beta = 0;
    for (int i = 0; i < 64; i++) buf[i] = 1;
    LT_OK(cublasLtMatmul(h, desc, &alpha, buf, la, buf + 16, lb, &beta, buf + 32, lc, buf + 32, lc, &res.algo, NULL,
                              0, NULL));
    FCT_NEAR(buf[32], 3, 0);
    FCT_EQ_INT(cublasLtMatmul(h, desc, &alpha, buf + 1, la, buf + 16, lb, &beta, buf + 32, lc, buf + 32, lc, &res.algo,
                              NULL, 0, NULL),
               CUBLAS_STATUS_INVALID_VALUE);
    FCT_TRUE(strstr(fce_cublaslt_last_error(), "MIN_ALIGNMENT_A_BYTES"));
    /* TF32 on bf16 data, and an algorithm from another problem's types */
    cublasLtMatmulDesc_t tf;
    cublasLtMatrixLayout_t la16, lb16;
    LT_OK(cublasLtMatmulDescCreate(&tf, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F));
    LT_OK(cublasLtMatrixLayoutCreate(&la16, CUDA_R_16BF, 4, 3, 4));
    LT_OK(cublasLtMatrixLayoutCreate(&lb16, CUDA_R_16BF, 3, 2, 3));
    FCT_EQ_INT(cublasLtMatmulAlgoGetHeuristic(h, tf, la16, lb16, lc, lc, pref, 1, &res, &found),
               CUBLAS_STATUS_NOT_SUPPORTED);
    LT_OK(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, lc, pref, 1, &res, &found));
    FCT_EQ_INT(cublasLtMatmul(h, desc, &alpha, buf, la16, buf + 16, lb16, &beta, buf + 32, lc, buf + 32, lc, &res.algo,
                              NULL, 0, NULL),
               CUBLAS_STATUS_INVALID_VALUE);
    free(buf);
    cublasLtMatrixLayoutDestroy(lb16);
    cublasLtMatrixLayoutDestroy(la16);
    cublasLtMatmulDescDestroy(tf);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatmulDescDestroy(desc);
    cublasLtDestroy(h);
}
