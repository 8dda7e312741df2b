/* CUDA kernel launchers: raw device pointers and sizes, no tensors, no allocation (STYLE.md 1).
 * Each queues its work on 'stream' (a cudaStream_t) and returns at once; the caller checks the
 * launch with fci_cuda_launched. Plain C declarations: the glue in src/ops/cuda calls them. */
#ifndef FASTC_CUDA_KERNELS_H
#define FASTC_CUDA_KERNELS_H

#include <stddef.h>
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
enum {
    FCI_CUDA_ADD, FCI_CUDA_SUB, FCI_CUDA_MUL, FCI_CUDA_DIV,
    /* src/ops/cpu/compare.c's rows: pow, maximum, minimum (NaN wins) and their gradient factors */
    FCI_CUDA_BPOW, FCI_CUDA_MAXIMUM, FCI_CUDA_MINIMUM, FCI_CUDA_POW_DA, FCI_CUDA_POW_DB, FCI_CUDA_MAX_SHARE
};
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

/* Embedding rows: y[i, :] = w[idx[i], :]. Backward sets the rows of dw that idx names (except
 * padding_idx; the others stay as they are: zero them first) to the sum of their dy rows in
 * position order, the CPU's sums bit for bit: the (index, position) pairs are sorted once (a
 * stable radix sort) and each run of equal indices is summed by one thread per column, no atomics.
 * Indices in [0, V); ws holds fci_cuda_embedding_bwd_ws bytes. Both return a cudaError_t. */
void fci_cuda_embedding_fwd_launch(void *stream, const float *w, const int64_t *idx, float *y,
                                   int64_t n, int64_t D);
int fci_cuda_embedding_bwd_ws(int64_t n, int64_t V, size_t *bytes);
int fci_cuda_embedding_bwd_launch(void *stream, const float *dy, const int64_t *idx, float *dw, int64_t n,
                                  int64_t D, int64_t V, int64_t padding_idx, void *ws, size_t ws_bytes);

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
typedef struct fci_cuda_adam {
    float decay, wd, b1, c1, b2, c2, nstep, bc2s, eps;
} fci_cuda_adam;
/* Multi-tensor SGD / Adam: one launch updates up to FCI_CUDA_MT_MAX tensors that share their
 * scalars (a parameter group's tensors with the same weight-decay rule and step count), with the
 * element arithmetic of sgd_elem / adam_elem (optim.cu). The table travels in the kernel's parameter block
 * (under CUDA's 4 KiB limit), so a launch needs no upload. block0: prefix sums of each tensor's
 * block count, fci_cuda_mt_blocks(numel). */
#define FCI_CUDA_MT_MAX 48
typedef struct fci_cuda_mt {
    float *p[FCI_CUDA_MT_MAX];
    const float *g[FCI_CUDA_MT_MAX];
    float *b0[FCI_CUDA_MT_MAX]; /* sgd: the momentum buffer or NULL; adam: m */
    float *b1[FCI_CUDA_MT_MAX]; /* adam: v */
    int64_t numel[FCI_CUDA_MT_MAX];
    int32_t block0[FCI_CUDA_MT_MAX + 1];
    int n;
} fci_cuda_mt;
int fci_cuda_mt_blocks(int64_t n);
void fci_cuda_sgd_mt_launch(void *stream, const fci_cuda_mt *t, const fci_cuda_sgd *s);
void fci_cuda_adam_mt_launch(void *stream, const fci_cuda_mt *t, const fci_cuda_adam *a);

/* Pooling as src/ops/cpu/pool.c (adaptive: the adaptive windows); backward zeroes gx first. */
void fci_cuda_max_pool_launch(void *stream, const float *x, float *y, int32_t *idx,
                              const fci_pool2d_geom *g, int adaptive);
void fci_cuda_avg_pool_launch(void *stream, const float *x, float *y, const fci_pool2d_geom *g,
                              int adaptive);
void fci_cuda_pool_bwd_launch(void *stream, const float *gy, const int32_t *idx, float *gx,
                              const fci_pool2d_geom *g, int is_max, int adaptive);

/* Batch norm and layer norm as src/ops/cpu/norm.h (the same arguments and NULL conventions). Batch
 * norm's sums are split over fci_cuda_batch_norm_parts blocks per channel (a function of the shape
 * only: deterministic); ws: a device workspace of fci_cuda_batch_norm_ws_bytes. */
int64_t fci_cuda_batch_norm_parts(int64_t N, int64_t C, int64_t S);
size_t fci_cuda_batch_norm_ws_bytes(int64_t N, int64_t C, int64_t S);
void fci_cuda_batch_norm_fwd_launch(void *stream, const float *x, float *y, int64_t N, int64_t C,
                                    int64_t S, const float *w, const float *b, float *running_mean,
                                    float *running_var, int training, double momentum, double eps,
                                    float *mean, float *rstd, void *ws);
void fci_cuda_batch_norm_bwd_launch(void *stream, const float *x, const float *dy, int64_t N,
                                    int64_t C, int64_t S, const float *w, const float *mean,
                                    const float *rstd, int training, float *dx, float *dw, float *db,
                                    void *ws);
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

/* ---- added by the CUDA ops pass (issue 9): compare/where, indexing, regression losses, group
 * norm, var/std, RMSProp/LAMB/RAdam/Lookahead, the vision batch sampler ---- */

/* Comparisons (src/ops/cpu/compare.c; op: FCI_CMP_*): out (bool, contiguous) = a op b over the
 * broadcast geometry g (stride[1]: a, stride[2]: b, in elements). dtype: an fc_dtype of f32, i32,
 * i64, u8 or bool. */
void fci_cuda_compare_launch(void *stream, int op, int dtype, uint8_t *out, const void *a,
                             const void *b, int64_t n, const fci_cuda_geom *g);
/* out (f32, contiguous) = cond ? a : b; g->stride[0]: cond (u8/bool), [1]: a, [2]: b. */
void fci_cuda_where_launch(void *stream, float *out, const uint8_t *cond, const float *a,
                           const float *b, int64_t n, const fci_cuda_geom *g);

/* index_select over x [outer, n_src, inner] contiguous: y[o, i, :] = x[o, idx[i], :] (rows of
 * elem_size bytes * inner; any dtype). */
void fci_cuda_index_select_launch(void *stream, void *y, const void *x, const int64_t *idx,
                                  int64_t outer, int64_t n_src, int64_t n_idx, int64_t inner,
                                  int64_t elem_size);
/* gx[o, idx[i], :] += gy[o, i, :] (gx zeroed by the caller). One thread per (o, column) walks i
 * in order: no atomics, the CPU's summation order, bit-for-bit deterministic. */
void fci_cuda_index_add_launch(void *stream, float *gx, const float *gy, const int64_t *idx,
                               int64_t outer, int64_t n_dst, int64_t n_idx, int64_t inner);
/* gather / scatter_add as src/ops/cpu/index.h (fci_gather_f32, fci_scatter_add_f32): idx
 * contiguous i64 of shape[ndim], strides in elements. scatter_add walks each destination group in
 * the CPU's order (deterministic, no atomics). */
typedef struct fci_cuda_gather_geom {
    int ndim, dim;
    int64_t shape[FCI_CUDA_MAX_DIMS];
    int64_t a_stride[FCI_CUDA_MAX_DIMS]; /* gather: x; scatter_add: y   */
    int64_t b_stride[FCI_CUDA_MAX_DIMS]; /* scatter_add: src (gather: -) */
} fci_cuda_gather_geom;
void fci_cuda_gather_launch(void *stream, float *y, const float *x, const int64_t *idx,
                            const fci_cuda_gather_geom *g);
void fci_cuda_scatter_add_launch(void *stream, float *y, const float *src, const int64_t *idx,
                                 const fci_cuda_gather_geom *g);

/* Pointwise regression losses (kind: fci_pw_loss of src/ops/cpu/loss.h) of d = x - y over n
 * contiguous elements: per element into out, or (out NULL) the sum in double divided by divisor
 * into sum[0] (one block: deterministic). */
void fci_cuda_pw_loss_fwd_launch(void *stream, int kind, const float *x, const float *y, int64_t n,
                                 float beta, float *out, float *sum, double divisor);
/* gx[i] = g[i * g_stride] * g_scale * dloss/dx. */
void fci_cuda_pw_loss_bwd_launch(void *stream, int kind, const float *x, const float *y, int64_t n,
                                 float beta, const float *g, int64_t g_stride, float g_scale,
                                 float *gx);
/* bce_with_logits as fci_bce_logits_fwd_f32 / _bwd_f32 (w, pw full size or NULL; gx, gy either
 * NULL). Forward: per element into out, or the sum / divisor into sum[0]. */
void fci_cuda_bce_logits_fwd_launch(void *stream, const float *x, const float *y, const float *w,
                                    const float *pw, int64_t n, float *out, float *sum,
                                    double divisor);
void fci_cuda_bce_logits_bwd_launch(void *stream, const float *x, const float *y, const float *w,
                                    const float *pw, int64_t n, const float *g, int64_t g_stride,
                                    float g_scale, float *gx, float *gy);
/* nll_loss: loss[s] = -w_t x[s, t], wt[s] = w_t (0 when ignored); backward writes every gx:
 * -w_t g_s at the target, 0 elsewhere, g_s = g[s * g_stride] / (scale_by ? scale_by[0] : 1). */
void fci_cuda_nll_fwd_launch(void *stream, const fci_cuda_class_loss *c, const float *x, float *loss,
                             float *wt);
void fci_cuda_nll_bwd_launch(void *stream, const fci_cuda_class_loss *c, const float *g,
                             int64_t g_stride, const float *scale_by, float *gx);

/* var / std over x [outer, red, inner] contiguous as fci_var_axis_f32: the mean and the
 * two-pass variance in double, divided by denom (sqrt when take_sqrt). */
void fci_cuda_var_axis_launch(void *stream, const float *x, float *mean, float *var, int64_t outer,
                              int64_t red, int64_t inner, double denom, int take_sqrt);

/* Group norm as src/ops/cpu/norm.h (fci_group_norm_fwd_f32 / _bwd_f32). */
void fci_cuda_group_norm_fwd_launch(void *stream, const float *x, float *y, int64_t N, int64_t C,
                                    int64_t S, int64_t G, const float *w, const float *b,
                                    double eps, float *mean, float *rstd);
void fci_cuda_group_norm_bwd_launch(void *stream, const float *x, const float *dy, int64_t N,
                                    int64_t C, int64_t S, int64_t G, const float *w,
                                    const float *mean, const float *rstd, float *dx, float *dw,
                                    float *db);

/* RMSProp (torch.optim.RMSprop, alpha = sqr_mom) as fci_rmsprop_update: buf, gavg may be NULL. */
typedef struct fci_cuda_rmsprop {
    float decay, wd, a, ca, eps, mom, nlr;
} fci_cuda_rmsprop;
void fci_cuda_rmsprop_launch(void *stream, float *p, const float *g, float *sq, float *buf,
                             float *gavg, int64_t n, const fci_cuda_rmsprop *r);
/* fastai's moments (l2 wd when not decoupled) and the LAMB / RAdam steps as update.c. */
typedef struct fci_cuda_moments {
    float decay, wd, b1, c1, b2, c2, d1, d2, eps;
} fci_cuda_moments;
/* LAMB needs the norms of p and of the update before the step: part holds 2 * FCI_CUDA_LAMB_BLOCKS
 * doubles of workspace (per-block partial sums, reduced in a fixed order: deterministic). */
#define FCI_CUDA_LAMB_BLOCKS 256
void fci_cuda_lamb_launch(void *stream, float *p, const float *g, float *m, float *v, int64_t n,
                          const fci_cuda_moments *k, double neg_lr, double *part);
/* RAdam: p += f * m / (sqrt(v / d2) + eps) when rectified, else p += f * m. */
void fci_cuda_radam_launch(void *stream, float *p, const float *g, float *m, float *v, int64_t n,
                           const fci_cuda_moments *k, float f, int rectified);
/* Lookahead's sync: slow += alpha (fast - slow); fast = slow. */
void fci_cuda_lookahead_launch(void *stream, float *slow, float *fast, int64_t n, float alpha);

/* The vision batch sampler (src/vision/affine.c, fci_sample_batch) on the device: m[9] and the
 * lighting of each image packed as 12 floats per image in draws (m[0..8], light on, add, mul);
 * pad: fc_pad_mode; x f32 [n, c, h, w] (masks: i64 [n, h, w], c 1), y [n, c, oh, ow]. */
void fci_cuda_sample_batch_launch(void *stream, const void *x, void *y, int is_mask, int64_t n,
                                  int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                  const float *draws, int pad, int nearest);

#ifdef __cplusplus
}
#endif
#endif
