/* CUDA library calls shared by the op families (cuBLASLt GEMM, cuDNN); plain C types, so the op
 * files built without the CUDA headers can call them. Only with FASTC_CUDA. */
#ifndef FASTC_CUDA_OPS_H
#define FASTC_CUDA_OPS_H

#include "fastc/core.h"
#include "../cpu/dnnl_conv.h"

/* Row-major C[m, n] (ldc) = alpha op(A)[m, k] op(B)[k, n] + beta C, batch times with element
 * strides between the batches' matrices (0: shared). A and B of ab_dtype (f32, bf16, f16), C of
 * c_dtype (f32 or ab_dtype). */
typedef struct fci_cuda_gemm_args {
    int trans_a, trans_b;
    int64_t m, n, k;
    float alpha, beta;
    const void *a, *b;
    void *c;
    int64_t lda, ldb, ldc;
    int64_t stride_a, stride_b, stride_c;
    int64_t batch;
    fc_dtype ab_dtype, c_dtype;
} fci_cuda_gemm_args;
fc_status fci_cuda_gemm(int device, const fci_cuda_gemm_args *g);

/* One pass of conv2d / conv_transpose2d on cuDNN: the buffers and their roles as
 * fci_dnnl_conv (src/ops/cpu/dnnl_conv.h); contiguous NCHW f32 on the device. */
fc_status fci_cuda_conv(int device, const char *op, const fci_conv_desc *d, fci_conv_pass pass, float *x, float *w,
                        float *b, float *y);

#endif
