/* fastc ops: differentiable tensor operations with PyTorch's names and semantics.
 * Each returns a new tensor (scope-owned when a scope is open) or NULL with the error set; each
 * accepts NULL inputs and passes the failure on. Shapes broadcast as in PyTorch where noted. */
#ifndef FASTC_OPS_H
#define FASTC_OPS_H

#include "autograd.h"
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- views and copies (share storage where PyTorch does) ---------------------------------------- */
FC_API fc_tensor *fc_reshape(fc_tensor *x, fc_shape shape); /* one dim may be -1; copies if needed */
FC_API fc_tensor *fc_view(fc_tensor *x, fc_shape shape);    /* never copies: fails if impossible */
FC_API fc_tensor *fc_permute(fc_tensor *x, fc_shape dims);
FC_API fc_tensor *fc_transpose(fc_tensor *x, int dim0, int dim1);
FC_API fc_tensor *fc_narrow(fc_tensor *x, int dim, int64_t start, int64_t length);
/* x[..., start:end:step, ...] along dim; end is clamped like Python's. step >= 1. */
FC_API fc_tensor *fc_slice(fc_tensor *x, int dim, int64_t start, int64_t end, int64_t step);
FC_API fc_tensor *fc_select(fc_tensor *x, int dim, int64_t index); /* removes dim */
FC_API fc_tensor *fc_expand(fc_tensor *x, fc_shape shape);         /* -1 keeps a dim */
FC_API fc_tensor *fc_squeeze(fc_tensor *x, int dim);
FC_API fc_tensor *fc_unsqueeze(fc_tensor *x, int dim);
FC_API fc_tensor *fc_flatten(fc_tensor *x, int start_dim, int end_dim);
FC_API fc_tensor *fc_contiguous(fc_tensor *x); /* x itself (one more reference) if already */
FC_API fc_tensor *fc_clone(fc_tensor *x);
FC_API fc_tensor *fc_to_dtype(fc_tensor *x, fc_dtype dtype); /* differentiable between floats */
/* Copies src into dst (broadcasting src); no autograd; dst must not require grad. */
FC_API fc_status fc_copy_(fc_tensor *dst, const fc_tensor *src);
FC_API fc_status fc_fill_(fc_tensor *dst, double value);

/* ---- elementwise, broadcasting ----------------------------------------------------------------- */
FC_API fc_tensor *fc_add(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_sub(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_mul(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_div(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_pow(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_maximum(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_minimum(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_add_scalar(fc_tensor *a, double s);
FC_API fc_tensor *fc_mul_scalar(fc_tensor *a, double s);
FC_API fc_tensor *fc_pow_scalar(fc_tensor *a, double p);
FC_API fc_tensor *fc_neg(fc_tensor *x);
FC_API fc_tensor *fc_exp(fc_tensor *x);
FC_API fc_tensor *fc_log(fc_tensor *x);
FC_API fc_tensor *fc_sqrt(fc_tensor *x);
FC_API fc_tensor *fc_rsqrt(fc_tensor *x);
FC_API fc_tensor *fc_abs(fc_tensor *x);
FC_API fc_tensor *fc_clamp(fc_tensor *x, double min, double max); /* -INFINITY/INFINITY: no bound */
/* cond (bool or u8) ? a : b, broadcasting all three. */
FC_API fc_tensor *fc_where(fc_tensor *cond, fc_tensor *a, fc_tensor *b);
/* Comparisons return FC_DTYPE_BOOL, no gradient. */
FC_API fc_tensor *fc_eq(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_ne(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_lt(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_le(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_gt(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_ge(fc_tensor *a, fc_tensor *b);

/* ---- activations ------------------------------------------------------------------------------- */
FC_API fc_tensor *fc_relu(fc_tensor *x);
FC_API fc_tensor *fc_leaky_relu(fc_tensor *x, double negative_slope); /* PyTorch default 0.01 */
FC_API fc_tensor *fc_gelu(fc_tensor *x);      /* exact (erf), PyTorch's default */
FC_API fc_tensor *fc_gelu_tanh(fc_tensor *x); /* approximate="tanh" */
FC_API fc_tensor *fc_silu(fc_tensor *x);
FC_API fc_tensor *fc_sigmoid(fc_tensor *x);
FC_API fc_tensor *fc_tanh(fc_tensor *x);
FC_API fc_tensor *fc_softplus(fc_tensor *x, double beta, double threshold); /* 1, 20 */
FC_API fc_tensor *fc_hardswish(fc_tensor *x);

/* ---- reductions: dims as FC_DIMS(...); FC_ALL_DIMS reduces everything ---------------------------- */
#define FC_ALL_DIMS ((fc_shape){0, {0}})
FC_API fc_tensor *fc_sum(fc_tensor *x, fc_shape dims, int keepdim);
FC_API fc_tensor *fc_mean(fc_tensor *x, fc_shape dims, int keepdim);
FC_API fc_tensor *fc_var(fc_tensor *x, fc_shape dims, int correction, int keepdim); /* correction 1: unbiased */
FC_API fc_tensor *fc_std(fc_tensor *x, fc_shape dims, int correction, int keepdim);
FC_API fc_tensor *fc_logsumexp(fc_tensor *x, fc_shape dims, int keepdim);
/* Along one dim; the gradient goes to the first maximal element (as PyTorch's max(dim)). */
FC_API fc_tensor *fc_max(fc_tensor *x, int dim, int keepdim);
FC_API fc_tensor *fc_min(fc_tensor *x, int dim, int keepdim);
FC_API fc_tensor *fc_argmax(fc_tensor *x, int dim, int keepdim); /* i64, no gradient */
FC_API fc_tensor *fc_argmin(fc_tensor *x, int dim, int keepdim);
/* Sum x to 'shape' (the inverse of broadcasting it): used by backward passes. */
FC_API fc_tensor *fc_sum_to(fc_tensor *x, fc_shape shape);

/* ---- linear algebra ---------------------------------------------------------------------------- */
/* matmul as torch.matmul: 1-D/2-D/batched with broadcast batch dims. */
FC_API fc_tensor *fc_matmul(fc_tensor *a, fc_tensor *b);
FC_API fc_tensor *fc_bmm(fc_tensor *a, fc_tensor *b); /* [B,n,k] x [B,k,m] */
/* y = x W^T + b; x [..., in], w [out, in], bias [out] or NULL. */
FC_API fc_tensor *fc_linear(fc_tensor *x, fc_tensor *w, fc_tensor *bias);

/* ---- convolution and pooling (NCHW) ------------------------------------------------------------- */
typedef struct fc_conv2d_opts {
    int _;
    int stride[2];   /* 0: 1 */
    int padding[2];  /* zero padding on both sides */
    int dilation[2]; /* 0: 1 */
    int groups;      /* 0: 1 */
    int output_padding[2]; /* conv_transpose2d only */
} fc_conv2d_opts;
/* x [N, C, H, W], w [O, C/groups, kh, kw], bias [O] or NULL. */
FC_API fc_tensor *fc_conv2d_(fc_tensor *x, fc_tensor *w, fc_tensor *bias, const fc_conv2d_opts *o);
#define fc_conv2d(x, w, b, ...) fc_conv2d_((x), (w), (b), &(fc_conv2d_opts){._ = 0, __VA_ARGS__})
/* w [C, O/groups, kh, kw] as torch.nn.functional.conv_transpose2d. */
FC_API fc_tensor *fc_conv_transpose2d_(fc_tensor *x, fc_tensor *w, fc_tensor *bias,
                                       const fc_conv2d_opts *o);
#define fc_conv_transpose2d(x, w, b, ...) \
    fc_conv_transpose2d_((x), (w), (b), &(fc_conv2d_opts){._ = 0, __VA_ARGS__})

typedef struct fc_pool2d_opts {
    int _;
    int stride[2];  /* 0: the kernel size */
    int padding[2];
    int dilation[2];      /* max pool only; 0: 1 */
    int ceil_mode;
    int no_count_include_pad; /* avg pool: 1 excludes padding from the divisor */
} fc_pool2d_opts;
FC_API fc_tensor *fc_max_pool2d_(fc_tensor *x, int kh, int kw, const fc_pool2d_opts *o);
FC_API fc_tensor *fc_avg_pool2d_(fc_tensor *x, int kh, int kw, const fc_pool2d_opts *o);
#define fc_max_pool2d(x, kh, kw, ...) \
    fc_max_pool2d_((x), (kh), (kw), &(fc_pool2d_opts){._ = 0, __VA_ARGS__})
#define fc_avg_pool2d(x, kh, kw, ...) \
    fc_avg_pool2d_((x), (kh), (kw), &(fc_pool2d_opts){._ = 0, __VA_ARGS__})
FC_API fc_tensor *fc_adaptive_avg_pool2d(fc_tensor *x, int64_t out_h, int64_t out_w);
FC_API fc_tensor *fc_adaptive_max_pool2d(fc_tensor *x, int64_t out_h, int64_t out_w);

/* ---- normalization ------------------------------------------------------------------------------ */
/* x [N, C, ...]. training: normalize with batch stats and update running_mean/var (if given) with
 * momentum (PyTorch's 0.1 convention; running_var takes the unbiased variance). Eval: running stats. */
FC_API fc_tensor *fc_batch_norm(fc_tensor *x, fc_tensor *running_mean, fc_tensor *running_var,
                                fc_tensor *weight, fc_tensor *bias, int training, double momentum,
                                double eps);
/* normalizes over the trailing dims given by normalized_shape (weight/bias of that shape or NULL) */
FC_API fc_tensor *fc_layer_norm(fc_tensor *x, fc_shape normalized_shape, fc_tensor *weight,
                                fc_tensor *bias, double eps);
FC_API fc_tensor *fc_group_norm(fc_tensor *x, int num_groups, fc_tensor *weight, fc_tensor *bias,
                                double eps);

/* ---- dropout and embedding ---------------------------------------------------------------------- */
/* Inverted dropout with the global seeded generator; identity when !training or p == 0. */
FC_API fc_tensor *fc_dropout(fc_tensor *x, double p, int training);
/* idx (i32/i64) of any shape -> [..., dim]; rows at padding_idx get no gradient (-1: none). */
FC_API fc_tensor *fc_embedding(fc_tensor *weight, fc_tensor *idx, int64_t padding_idx);

/* ---- softmax and losses -------------------------------------------------------------------------- */
FC_API fc_tensor *fc_softmax(fc_tensor *x, int dim);
FC_API fc_tensor *fc_log_softmax(fc_tensor *x, int dim);

typedef enum fc_reduction { FC_REDUCTION_MEAN = 0, FC_REDUCTION_SUM, FC_REDUCTION_NONE } fc_reduction;
typedef struct fc_loss_opts {
    int _;
    fc_reduction reduction;  /* 0: mean */
    fc_tensor *weight;       /* class weights [C] or NULL */
    int64_t ignore_index;    /* used when has_ignore_index */
    int has_ignore_index;    /* PyTorch's default -100 is not assumed: say it */
    double label_smoothing;  /* cross_entropy only */
    double beta;             /* smooth_l1: 0 means 1.0 */
    fc_tensor *pos_weight;   /* bce_with_logits only */
} fc_loss_opts;
/* logits [N, C] or [N, C, d...], target class indices (i64/i32) [N] or [N, d...]. */
FC_API fc_tensor *fc_cross_entropy_(fc_tensor *logits, fc_tensor *target, const fc_loss_opts *o);
FC_API fc_tensor *fc_nll_loss_(fc_tensor *logp, fc_tensor *target, const fc_loss_opts *o);
FC_API fc_tensor *fc_mse_loss_(fc_tensor *x, fc_tensor *y, const fc_loss_opts *o);
FC_API fc_tensor *fc_l1_loss_(fc_tensor *x, fc_tensor *y, const fc_loss_opts *o);
FC_API fc_tensor *fc_smooth_l1_loss_(fc_tensor *x, fc_tensor *y, const fc_loss_opts *o);
FC_API fc_tensor *fc_bce_with_logits_(fc_tensor *x, fc_tensor *y, const fc_loss_opts *o);
#define fc_cross_entropy(x, t, ...) fc_cross_entropy_((x), (t), &(fc_loss_opts){._ = 0, __VA_ARGS__})
#define fc_nll_loss(x, t, ...) fc_nll_loss_((x), (t), &(fc_loss_opts){._ = 0, __VA_ARGS__})
#define fc_mse_loss(x, y, ...) fc_mse_loss_((x), (y), &(fc_loss_opts){._ = 0, __VA_ARGS__})
#define fc_l1_loss(x, y, ...) fc_l1_loss_((x), (y), &(fc_loss_opts){._ = 0, __VA_ARGS__})
#define fc_smooth_l1_loss(x, y, ...) fc_smooth_l1_loss_((x), (y), &(fc_loss_opts){._ = 0, __VA_ARGS__})
#define fc_bce_with_logits(x, y, ...) fc_bce_with_logits_((x), (y), &(fc_loss_opts){._ = 0, __VA_ARGS__})

/* ---- joining, splitting, indexing ---------------------------------------------------------------- */
/* n tensors; FC_TENSORS(a, b, c) builds the array and count. */
typedef struct fc_tensor_list {
    int n;
    fc_tensor **t;
} fc_tensor_list;
#define FC_TENSORS(...) \
    ((fc_tensor_list){(int)(sizeof((fc_tensor *[]){__VA_ARGS__}) / sizeof(fc_tensor *)), \
                      (fc_tensor *[]){__VA_ARGS__}})
FC_API fc_tensor *fc_cat(fc_tensor_list xs, int dim);
FC_API fc_tensor *fc_stack(fc_tensor_list xs, int dim);
/* Splits into chunks of split_size along dim (the last may be smaller); out gets up to max_out
 * views; returns the number of chunks or a negative fc_status. */
FC_API int fc_split(fc_tensor *x, int64_t split_size, int dim, fc_tensor **out, int max_out);
FC_API fc_tensor *fc_index_select(fc_tensor *x, int dim, fc_tensor *index);
FC_API fc_tensor *fc_gather(fc_tensor *x, int dim, fc_tensor *index);
/* out = x with src added at index along dim (torch.scatter_add). */
FC_API fc_tensor *fc_scatter_add(fc_tensor *x, int dim, fc_tensor *index, fc_tensor *src);
/* Constant padding of the trailing dims: pads = (left_last, right_last, left_prev, right_prev, ...),
 * as torch.nn.functional.pad; negative pads crop. */
FC_API fc_tensor *fc_pad(fc_tensor *x, fc_shape pads, double value);
FC_API fc_tensor *fc_flip(fc_tensor *x, fc_shape dims);

/* ---- recurrent ----------------------------------------------------------------------------------- */
/* A multi-layer unidirectional LSTM as torch.nn.LSTM(batch_first=False): x [T, B, I];
 * weights per layer l: w_ih[l] [4H, I_l], w_hh[l] [4H, H], b_ih[l], b_hh[l] [4H] (may be NULL);
 * gate order i, f, g, o. h0/c0 [L, B, H] or NULL (zeros). Returns y [T, B, H]; h_n and c_n
 * [L, B, H] are written to *h_n / *c_n when those are not NULL. */
typedef struct fc_lstm_weights {
    int n_layers;
    fc_tensor **w_ih, **w_hh, **b_ih, **b_hh;
} fc_lstm_weights;
FC_API fc_tensor *fc_lstm(fc_tensor *x, const fc_lstm_weights *w, fc_tensor *h0, fc_tensor *c0,
                          fc_tensor **h_n, fc_tensor **c_n);
/* One fused cell step: gates [B, 4H] (x W_ih^T + h W_hh^T + biases), c_prev [B, H] ->
 * [2, B, H] holding (h, c). */
FC_API fc_tensor *fc_lstm_cell(fc_tensor *gates, fc_tensor *c_prev);

/* ---- mixed precision: autocast (torch.autocast) ------------------------------------------------
 * Inside a region, fc_matmul, fc_bmm, fc_linear, fc_conv2d and fc_conv_transpose2d compute with
 * every f32 input rounded to the region's dtype (round to nearest even) and accumulate in f32; the
 * output stays f32 (torch returns bf16/f16: our kernels are f32). The rounding is differentiable:
 * its backward rounds the gradient the same way, so gradients reach the f32 (master) weights.
 * Reductions, softmax, norms, losses and pointwise ops stay f32. Regions are per thread and nest;
 * FC_DTYPE_F32 opens a region without autocast inside one (torch's enabled=False). On CPUs without
 * bf16 GEMM kernels this is the precision of bf16 training, not its speed (bench/RESULTS.md). */
FC_API fc_status fc_autocast_begin(fc_dtype dtype); /* bf16, f16 or f32; FC_ERR_DTYPE otherwise */
FC_API fc_status fc_autocast_end(void);             /* FC_ERR_STATE when no region is open */
FC_API fc_dtype fc_autocast_dtype(void);            /* the innermost region's dtype; f32 outside */

#ifdef __cplusplus
}
#endif
#endif
