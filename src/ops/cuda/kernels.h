/* CUDA kernel launchers: raw device pointers and sizes, no tensors, no allocation (STYLE.md 1).
 * Each queues its work on 'stream' (a cudaStream_t) and returns at once; the caller checks the
 * launch with fci_cuda_launched. Plain C declarations: the glue in src/ops/cuda calls them. */
#ifndef FASTC_CUDA_KERNELS_H
#define FASTC_CUDA_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FCI_CUDA_MAX_DIMS 8
/* An element-wise walk: out index i (row-major over shape) reads in[k] at sum(idx_d * stride_d). */
typedef struct fci_cuda_geom {
    int ndim;
    int64_t shape[FCI_CUDA_MAX_DIMS];
    int64_t stride[3][FCI_CUDA_MAX_DIMS]; /* [0]: out, [1]: first input, [2]: second input */
} fci_cuda_geom;

/* dst = convert(src) over the geometry (stride[0]: dst, stride[1]: src); dtypes are fc_dtype. */
void fci_cuda_copy_launch(void *stream, void *dst, int dst_dtype, const void *src, int src_dtype,
                          int64_t n, const fci_cuda_geom *g);
/* dst[0..n) = v converted to dtype. */
void fci_cuda_fill_launch(void *stream, void *dst, int dtype, double v, int64_t n);

/* f32 binary ops with broadcasting: out (contiguous) = a op b. */
enum { FCI_CUDA_ADD, FCI_CUDA_SUB, FCI_CUDA_MUL, FCI_CUDA_DIV };
void fci_cuda_binary_launch(void *stream, int op, float *out, const float *a, const float *b,
                            int64_t n, const fci_cuda_geom *g);

/* f32 pointwise functions of one contiguous tensor; p: the op's parameters (slope, min/max...). */
enum {
    FCI_CUDA_NEG, FCI_CUDA_EXP, FCI_CUDA_LOG, FCI_CUDA_SQRT, FCI_CUDA_RSQRT, FCI_CUDA_ABS,
    FCI_CUDA_CLAMP, FCI_CUDA_POW, FCI_CUDA_RELU, FCI_CUDA_LEAKY_RELU, FCI_CUDA_GELU,
    FCI_CUDA_GELU_TANH, FCI_CUDA_SILU, FCI_CUDA_SIGMOID, FCI_CUDA_TANH, FCI_CUDA_SOFTPLUS,
    FCI_CUDA_HARDSWISH, FCI_CUDA_N_UNARY
};
typedef struct fci_cuda_params {
    float p[2];
} fci_cuda_params;
void fci_cuda_unary_fwd_launch(void *stream, int op, const float *x, float *y, int64_t n,
                               fci_cuda_params p);
/* gx = gy * f'(x) (y = f(x) given for the functions whose derivative reads it). */
void fci_cuda_unary_bwd_launch(void *stream, int op, const float *x, const float *y,
                               const float *gy, float *gx, int64_t n, fci_cuda_params p);

#ifdef __cplusplus
}
#endif
#endif
