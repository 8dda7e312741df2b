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
 * fci_dnnl_conv (src/ops/cpu/dnnl_conv.h); contiguous NCHW f32 on the device. Runs in the type
 * of fci_autocast_compute_dtype (bf16 / f16 under autocast) and in NHWC when
 * fc_cuda_conv_channels_last says so, converting on the device. */
fc_status fci_cuda_conv(int device, const char *op, const fci_conv_desc *d, fci_conv_pass pass, float *x, float *w,
                        float *b, float *y);

/* How many GEMMs / convolution passes ran in bf16 or f16 since the start (the tests check that an
 * autocast op's backward runs in 16 bits too). */
uint64_t fci_cuda_gemm_16bit_count(void);
uint64_t fci_cuda_conv_16bit_count(void);

/* ---- plan caches (h-cudainfra) ---- */

/* What a cached cuBLASLt plan depends on (all int64: compared with memcmp). align_*: the largest
 * power of two (<= 256) dividing each pointer; strides are 0 for one matrix. */
typedef struct fci_cuda_gemm_key_t {
    int64_t device, trans_a, trans_b, m, n, k, lda, ldb, ldc, batch, stride_a, stride_b, stride_c;
    int64_t ab_dtype, c_dtype, tf32, align_a, align_b, align_c;
} fci_cuda_gemm_key_t;
void fci_cuda_gemm_key(int device, const fci_cuda_gemm_args *g, int tf32, fci_cuda_gemm_key_t *k);

/* What a cached cuDNN convolution plan depends on: dtype is the data type cuDNN sees (f32, or
 * bf16 / f16 under autocast), nhwc the layout of its descriptors (fc_cuda_conv_channels_last);
 * tf32 is kept for f32 only. */
typedef struct fci_cuda_conv_key_t {
    int64_t device, tf32, dtype, nhwc;
    fci_conv_desc d;
} fci_cuda_conv_key_t;
void fci_cuda_conv_key(int device, const fci_conv_desc *d, int tf32, fc_dtype dtype, int nhwc,
                       fci_cuda_conv_key_t *k);

typedef struct fci_plan_cache_stats {
    uint64_t hits, misses, evictions;
    int n;
} fci_plan_cache_stats;
fci_plan_cache_stats fci_cuda_gemm_cache_stats(void);
fci_plan_cache_stats fci_cuda_conv_cache_stats(void);
/* Drop every plan (frees the descriptors). */
void fci_cuda_gemm_cache_clear(void);
void fci_cuda_conv_cache_clear(void);

#endif
