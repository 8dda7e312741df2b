/* CUDA kernel launchers: raw device pointers and sizes, no tensors, no allocation (STYLE.md 1).
 * Each queues its work on 'stream' (a cudaStream_t) and returns at once; the caller checks the
 * launch with fci_cuda_launched. Plain C declarations: the glue in src/ops/cuda calls them. */
#ifndef FASTC_CUDA_KERNELS_H
#define FASTC_CUDA_KERNELS_H

#include <stdint.h>

#include "../cpu/pool.h"

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

/* Reductions over x laid out as [outer, red, inner] (contiguous); outputs are [outer, inner]. */
void fci_cuda_sum_axis_launch(void *stream, const float *x, float *out, int64_t outer, int64_t red,
                              int64_t inner);
void fci_cuda_logsumexp_axis_launch(void *stream, const float *x, float *out, int64_t outer,
                                    int64_t red, int64_t inner);
/* max (is_max) or min and its first index; a NaN wins (as the CPU kernel and PyTorch). val may
 * be NULL. */
void fci_cuda_argext_axis_launch(void *stream, const float *x, float *val, int64_t *idx,
                                 int64_t outer, int64_t red, int64_t inner, int is_max);
/* gx = 0 except gx[o, idx[o, i], i] = gy[o, i]. */
void fci_cuda_scatter_axis_launch(void *stream, const float *gy, const int64_t *idx, float *gx,
                                  int64_t outer, int64_t red, int64_t inner);

/* softmax / log_softmax along red, and their backward from the output y. */
void fci_cuda_softmax_fwd_launch(void *stream, const float *x, float *y, int64_t outer, int64_t red,
                                 int64_t inner, int is_log);
void fci_cuda_softmax_bwd_launch(void *stream, const float *y, const float *gy, float *gx,
                                 int64_t outer, int64_t red, int64_t inner, int is_log);

/* Cross entropy as src/ops/cpu/loss.h (fci_cross_entropy_fwd_f32) on z [outer, C, inner] with
 * targets t [outer * inner] i64 and class weights w [C] or NULL. A target outside [0, C) that is
 * not the ignore index gives a NaN loss (the glue checks targets before). */
typedef struct fci_cuda_class_loss {
    const int64_t *t;
    const float *w;
    int64_t outer, C, inner, ignore;
    int has_ignore;
    float eps;
} fci_cuda_class_loss;
void fci_cuda_cross_entropy_fwd_launch(void *stream, const fci_cuda_class_loss *c, const float *z,
                                       float *loss, float *wt, float *lse);
/* g_s = g[s * g_stride] * (scale_by ? 1 / scale_by[0] : 1): the mean's divisor stays on the
 * device (no host sync between forward and backward). wtotal: sum of the class weights on the
 * device (NULL: C), read only with label smoothing. */
void fci_cuda_cross_entropy_bwd_launch(void *stream, const fci_cuda_class_loss *c, const float *z,
                                       const float *lse, const float *g, int64_t g_stride,
                                       const float *scale_by, const float *wtotal, float *gz);
/* out[0] = sum(loss) / sum(wt) (mean) or sum(loss); wsum[0] = sum(wt). One block. */
void fci_cuda_class_reduce_launch(void *stream, const float *loss, const float *wt, int64_t n,
                                  int mean, float *out, float *wsum);

/* Embedding rows: y[i, :] = w[idx[i], :]; backward adds dy rows into dw (atomics) except at
 * padding_idx. */
void fci_cuda_embedding_fwd_launch(void *stream, const float *w, const int64_t *idx, float *y,
                                   int64_t n, int64_t D);
void fci_cuda_embedding_bwd_launch(void *stream, const float *dy, const int64_t *idx, float *dw,
                                   int64_t n, int64_t D, int64_t padding_idx);

/* Dropout with the CPU's mask bit for bit: element i keeps when (philox(seed, base + i / 4)[i % 4]
 * >> 8) >= thr (src/ops/cpu/dropout.c). */
void fci_cuda_dropout_fwd_launch(void *stream, const float *x, float *y, uint8_t *mask, int64_t n,
                                 uint64_t seed, uint64_t base, uint32_t thr, float scale);
void fci_cuda_dropout_bwd_launch(void *stream, const float *dy, const uint8_t *mask, float *dx,
                                 int64_t n, float scale);

/* Optimizer steps (src/optim/update.c): the scalars as the CPU computes them; decay is
 * 1 - lr wd for decoupled weight decay (applied to p first), else 1. */
typedef struct fci_cuda_sgd {
    float decay, wd, mom, nlr;
    int nesterov;
} fci_cuda_sgd;
void fci_cuda_sgd_launch(void *stream, float *p, const float *g, float *buf, int64_t n,
                         const fci_cuda_sgd *s);
typedef struct fci_cuda_adam {
    float decay, wd, b1, c1, b2, c2, nstep, bc2s, eps;
} fci_cuda_adam;
void fci_cuda_adam_launch(void *stream, float *p, const float *g, float *m, float *v, int64_t n,
                          const fci_cuda_adam *a);

/* Pooling as src/ops/cpu/pool.c (adaptive: the adaptive windows); backward zeroes gx first. */
void fci_cuda_max_pool_launch(void *stream, const float *x, float *y, int32_t *idx,
                              const fci_pool2d_geom *g, int adaptive);
void fci_cuda_avg_pool_launch(void *stream, const float *x, float *y, const fci_pool2d_geom *g,
                              int adaptive);
void fci_cuda_pool_bwd_launch(void *stream, const float *gy, const int32_t *idx, float *gx,
                              const fci_pool2d_geom *g, int is_max, int adaptive);

/* Batch norm and layer norm as src/ops/cpu/norm.h (the same arguments and NULL conventions). */
void fci_cuda_batch_norm_fwd_launch(void *stream, const float *x, float *y, int64_t N, int64_t C,
                                    int64_t S, const float *w, const float *b, float *running_mean,
                                    float *running_var, int training, double momentum, double eps,
                                    float *mean, float *rstd);
void fci_cuda_batch_norm_bwd_launch(void *stream, const float *x, const float *dy, int64_t N,
                                    int64_t C, int64_t S, const float *w, const float *mean,
                                    const float *rstd, int training, float *dx, float *dw, float *db);
void fci_cuda_layer_norm_fwd_launch(void *stream, const float *x, float *y, int64_t R, int64_t D,
                                    const float *w, const float *b, double eps, float *mean,
                                    float *rstd);
void fci_cuda_layer_norm_bwd_launch(void *stream, const float *x, const float *dy, int64_t R,
                                    int64_t D, const float *w, const float *mean, const float *rstd,
                                    float *dx, float *dw, float *db);

/* The LSTM cell and the recurrence's helpers, as src/ops/cpu/lstm.h and fci_rows_fill_f32. */
void fci_cuda_lstm_cell_fwd_launch(void *stream, const float *gates, int64_t ldg,
                                   const float *c_prev, float *act, float *h, int64_t ldh, float *c,
                                   int64_t batch, int64_t hidden);
void fci_cuda_lstm_cell_bwd_launch(void *stream, const float *act, const float *c_prev,
                                   const float *c, const float *dh, const float *dc, float *dgates,
                                   float *dc_prev, int64_t batch, int64_t hidden);
void fci_cuda_rows_fill_launch(void *stream, float *y, const float *b0, const float *b1,
                               int64_t rows, int64_t cols);
void fci_cuda_add_inplace_launch(void *stream, float *dst, const float *src, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
