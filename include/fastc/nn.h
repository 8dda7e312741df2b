/* fastc nn: modules with parameters under PyTorch's names, PyTorch's default init, summaries and
 * safetensors weight files. A module owns its parameters, buffers and children; fc_module_free
 * releases them all. Parameters live outside any scope; activations belong to the caller's scope. */
#ifndef FASTC_NN_H
#define FASTC_NN_H

#include <stdio.h>

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the module ----------------------------------------------------------------------------- */

typedef struct fc_module fc_module;

/* What a kind of module does: its type name ("Linear"), its forward, and how to free its state. */
typedef struct fc_module_def {
    const char *name;
    fc_tensor *(*forward)(fc_module *m, fc_tensor *x);
    void (*free_state)(void *state); /* NULL: the state is not freed (or there is none) */
} fc_module_def;

/* A new module in training mode running def (borrowed: keep it static) with state (taken, even
 * on failure: freed with def->free_state). NULL on failure. */
FC_API fc_module *fc_module_new(const fc_module_def *def, void *state);
/* Frees m, its parameters, buffers, children and state. NULL is fine. */
FC_API void fc_module_free(fc_module *m);

/* Registration, in PyTorch's order (parameters, buffers and children are listed in the order they
 * were added). Each takes t (or child), even on failure: t leaves any scope and belongs to m; a
 * parameter is made a leaf requiring grad. Names must be unique within m. Returns t (borrowed) or
 * NULL. */
FC_API fc_tensor *fc_module_add_parameter(fc_module *m, const char *name, fc_tensor *t);
FC_API fc_tensor *fc_module_add_buffer(fc_module *m, const char *name, fc_tensor *t);
FC_API fc_module *fc_module_add_child(fc_module *m, const char *name, fc_module *child);

/* Accessors (borrowed). */
FC_API const char *fc_module_type(const fc_module *m);
FC_API void *fc_module_state(const fc_module *m);
FC_API int fc_module_is_training(const fc_module *m);
FC_API int fc_module_n_children(const fc_module *m);
FC_API fc_module *fc_module_child_at(const fc_module *m, int i, const char **name);
/* Removes child i from m and returns it (now yours to free or to add elsewhere): how create_body
 * cuts a backbone. NULL and FC_ERR_ARG when i is out of range. */
FC_API fc_module *fc_module_take_child(fc_module *m, int i);
/* The child, parameter or buffer under a dotted name ("layer1.0.conv1.weight"), or NULL (no
 * error set: a lookup, not a failure). */
FC_API fc_module *fc_module_child(const fc_module *m, const char *dotted_name);
FC_API fc_tensor *fc_module_get(const fc_module *m, const char *dotted_name);

/* All parameters of m and its descendants in PyTorch's named_parameters() order, with dotted
 * names ("0.weight"). The name is owned by m, valid until a member is added to any module and m is
 * listed again. NULL if i is out of range. */
FC_API int fc_module_n_parameters(fc_module *m);
FC_API fc_tensor *fc_module_parameter(fc_module *m, int i, const char **name);
/* The same for buffers (named_buffers(): running_mean, running_var, num_batches_tracked). */
FC_API int fc_module_n_buffers(fc_module *m);
FC_API fc_tensor *fc_module_buffer(fc_module *m, int i, const char **name);
/* Number of elements in all parameters (PyTorch's sum(p.numel() for p in m.parameters())). */
FC_API int64_t fc_module_num_params(fc_module *m);

/* y = m(x). NULL m or x passes a failure on (NULL). */
FC_API fc_tensor *fc_module_forward(fc_module *m, fc_tensor *x);
/* Training mode on or off for m and all descendants (batchnorm statistics, dropout). */
FC_API void fc_module_train(fc_module *m, int on);
#define fc_module_eval(m) fc_module_train((m), 0)
/* Drops the .grad of every parameter. */
FC_API void fc_module_zero_grad(fc_module *m);

/* ---- layers (constructors return a new module or NULL; PyTorch's names, init and defaults) ---- */

typedef struct fc_linear_new_opts {
    int _;
    int no_bias; /* 1: bias=False */
} fc_linear_new_opts;
/* nn.Linear(in, out): weight [out, in], bias [out], both U(-1/sqrt(in), 1/sqrt(in)). */
FC_API fc_module *fc_linear_new_(int64_t in_features, int64_t out_features, const fc_linear_new_opts *o);
#define fc_linear_new(in, out, ...) \
    fc_linear_new_((in), (out), &(fc_linear_new_opts){._ = 0, __VA_ARGS__})

typedef struct fc_conv2d_new_opts {
    int _;
    int stride;   /* 0: 1 */
    int padding;  /* zeros on each side */
    int dilation; /* 0: 1 */
    int groups;   /* 0: 1 */
    int no_bias;
} fc_conv2d_new_opts;
/* nn.Conv2d(in, out, k): weight [out, in/groups, k, k], bias [out], U(-1/sqrt(fan_in), ..). */
FC_API fc_module *fc_conv2d_new_(int64_t in_channels, int64_t out_channels, int kernel_size,
                                 const fc_conv2d_new_opts *o);
#define fc_conv2d_new(in, out, k, ...) \
    fc_conv2d_new_((in), (out), (k), &(fc_conv2d_new_opts){._ = 0, __VA_ARGS__})

typedef struct fc_batchnorm_new_opts {
    int _;
    double eps;      /* 0: 1e-5 */
    double momentum; /* 0: 0.1 (PyTorch's convention: new = (1 - m) old + m batch) */
    int no_affine;   /* 1: affine=False (no weight and bias) */
} fc_batchnorm_new_opts;
/* nn.BatchNorm1d(C) (input [N, C] or [N, C, L]) and nn.BatchNorm2d(C) (input [N, C, H, W]):
 * weight 1, bias 0; buffers running_mean 0, running_var 1, num_batches_tracked (i64, 0). */
FC_API fc_module *fc_batchnorm1d_new_(int64_t num_features, const fc_batchnorm_new_opts *o);
FC_API fc_module *fc_batchnorm2d_new_(int64_t num_features, const fc_batchnorm_new_opts *o);
#define fc_batchnorm1d_new(c, ...) fc_batchnorm1d_new_((c), &(fc_batchnorm_new_opts){._ = 0, __VA_ARGS__})
#define fc_batchnorm2d_new(c, ...) fc_batchnorm2d_new_((c), &(fc_batchnorm_new_opts){._ = 0, __VA_ARGS__})

typedef struct fc_layernorm_new_opts {
    int _;
    double eps;    /* 0: 1e-5 */
    int no_affine; /* 1: elementwise_affine=False */
} fc_layernorm_new_opts;
/* nn.LayerNorm(normalized_shape), e.g. fc_layernorm_new(FC_SHAPE(64)): weight 1, bias 0. */
FC_API fc_module *fc_layernorm_new_(fc_shape normalized_shape, const fc_layernorm_new_opts *o);
#define fc_layernorm_new(shape, ...) \
    fc_layernorm_new_((shape), &(fc_layernorm_new_opts){._ = 0, __VA_ARGS__})

typedef struct fc_embedding_new_opts {
    int _;
    int64_t padding_idx; /* used when has_padding_idx (negative counts from the end) */
    int has_padding_idx;
} fc_embedding_new_opts;
/* nn.Embedding(V, D): weight [V, D] ~ N(0, 1), the padding row zero. Input: i64/i32 indices. */
FC_API fc_module *fc_embedding_new_(int64_t num_embeddings, int64_t embedding_dim,
                                    const fc_embedding_new_opts *o);
#define fc_embedding_new(v, d, ...) \
    fc_embedding_new_((v), (d), &(fc_embedding_new_opts){._ = 0, __VA_ARGS__})

typedef struct fc_lstm_new_opts {
    int _;
    int n_layers;    /* 0: 1 */
    int no_bias;     /* 1: bias=False */
    int batch_first; /* 1: input and output [B, T, *] */
} fc_lstm_new_opts;
/* nn.LSTM(in, hidden): weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, all
 * U(-1/sqrt(H), 1/sqrt(H)). Forward: x [T, B, I] -> y [T, B, H] (zero initial state). */
FC_API fc_module *fc_lstm_new_(int64_t input_size, int64_t hidden_size, const fc_lstm_new_opts *o);
#define fc_lstm_new(in, h, ...) fc_lstm_new_((in), (h), &(fc_lstm_new_opts){._ = 0, __VA_ARGS__})

/* nn.Dropout(p): inverted dropout in training, identity in eval. p in [0, 1]. */
FC_API fc_module *fc_dropout_new(double p);
/* Activations without parameters. */
FC_API fc_module *fc_relu_new(void);
FC_API fc_module *fc_gelu_new(void);
FC_API fc_module *fc_silu_new(void);
FC_API fc_module *fc_sigmoid_new(void);
FC_API fc_module *fc_tanh_new(void);
FC_API fc_module *fc_identity_new(void);

typedef struct fc_pool2d_new_opts {
    int _;
    int stride;   /* 0: kernel_size */
    int padding;
    int dilation; /* max pool only; 0: 1 */
    int ceil_mode;
    int no_count_include_pad; /* avg pool: 1 is count_include_pad=False */
} fc_pool2d_new_opts;
/* nn.MaxPool2d(k) and nn.AvgPool2d(k). */
FC_API fc_module *fc_maxpool2d_new_(int kernel_size, const fc_pool2d_new_opts *o);
FC_API fc_module *fc_avgpool2d_new_(int kernel_size, const fc_pool2d_new_opts *o);
#define fc_maxpool2d_new(k, ...) fc_maxpool2d_new_((k), &(fc_pool2d_new_opts){._ = 0, __VA_ARGS__})
#define fc_avgpool2d_new(k, ...) fc_avgpool2d_new_((k), &(fc_pool2d_new_opts){._ = 0, __VA_ARGS__})
/* nn.AdaptiveAvgPool2d((h, w)). */
FC_API fc_module *fc_adaptive_avgpool2d_new(int64_t out_h, int64_t out_w);
/* nn.Flatten(): [N, ...] -> [N, prod(...)]. */
FC_API fc_module *fc_flatten_new(void);

/* nn.Sequential: children named "0", "1", ... run in order. */
FC_API fc_module *fc_sequential_new(void);
/* Appends m as the next child; takes m, even on failure (then m is freed). */
FC_API fc_status fc_sequential_add(fc_module *seq, fc_module *m);
/* fc_sequential(a, b, c): a Sequential of the given modules; takes them all, even on failure
 * (a NULL among them frees the rest and returns NULL). */
FC_API fc_module *fc_sequential_of(int n, fc_module **mods);
#define fc_sequential(...)                                                                    \
    fc_sequential_of((int)(sizeof((fc_module *[]){__VA_ARGS__}) / sizeof(fc_module *)), \
                     (fc_module *[]){__VA_ARGS__})
/* y = x + m(x); m (taken, even on failure) is the child "module". */
FC_API fc_module *fc_residual_new(fc_module *m);

/* ---- summary ------------------------------------------------------------------------------- */

typedef struct fc_summary_opts {
    int _;
    fc_dtype dtype; /* of the dummy input; 0: f32 (use FC_DTYPE_I64 for token ids) */
} fc_summary_opts;
/* fastai's learn.summary(): runs a zeros input of input_shape through m (eval mode, no grad, the
 * training flags restored after) and lists each leaf module's name, type, output shape and
 * parameter count, then the totals. Returns a malloc'd string (free it) or NULL. */
FC_API char *fc_module_summary_(fc_module *m, fc_shape input_shape, const fc_summary_opts *o);
#define fc_module_summary(m, shape, ...) \
    fc_module_summary_((m), (shape), &(fc_summary_opts){._ = 0, __VA_ARGS__})
/* The same, written to f. */
FC_API fc_status fc_module_print_summary_(fc_module *m, fc_shape input_shape, FILE *f,
                                          const fc_summary_opts *o);
#define fc_module_print_summary(m, shape, f, ...) \
    fc_module_print_summary_((m), (shape), (f), &(fc_summary_opts){._ = 0, __VA_ARGS__})

/* ---- weights files (safetensors) -------------------------------------------------------------- */

/* Writes every parameter and buffer under its dotted name to path (safetensors: u64 header length,
 * JSON header, raw little-endian data), atomically: a temporary file, fsync, rename. */
FC_API fc_status fc_module_save(fc_module *m, const char *path);
/* Reads a safetensors file holding exactly m's parameters and buffers (names, dtypes and shapes
 * must match; PyTorch's state_dict saved as safetensors fits). On any error m is unchanged and the
 * message names the file, the tensor, what was expected and what was found. */
FC_API fc_status fc_module_load(fc_module *m, const char *path);

/* ---- added by the learner (transfer learning) ---- */
/* Non-strict load: copies the tensors of path whose name, dtype and shape match one of m's
 * parameters or buffers and skips the rest (a new head, extra or missing tensors); *n_loaded
 * (may be NULL) gets the count. A truncated or corrupt file fails and leaves m unchanged. */
FC_API fc_status fc_module_load_matching(fc_module *m, const char *path, int *n_loaded);

/* ---- added by the text models (h-awd) ---- */
/* Tied weights (PyTorch's decoder.weight = encoder.weight): register the same tensor again with
 * fc_module_add_parameter(m, name, fc_tensor_ref(w)). fc_module_get finds it under both names, its
 * .grad sums both uses, and the parameter and buffer listings (so fc_module_num_params, the
 * optimizer and fc_module_save) show it once, at its first place, as named_parameters() does. */
/* The definition m was made with (borrowed): tells a module kind apart from another of the same
 * type name. */
FC_API const fc_module_def *fc_module_definition(const fc_module *m);

/* ---- torch checkpoints (src/nn/torch_load.c: h-vtorch) ---- */
typedef struct fc_torch_load_opts {
    int _;
    const char *strip_prefix; /* removed from each name when present (e.g. "module." of DataParallel) */
    const char *key;          /* the state dict is under this key of the saved dict; NULL: the
                               * object itself, or its "state_dict" entry when it has one        */
    int non_strict;           /* 1: load what matches (by name and shape) and skip the rest     */
    int *n_loaded;            /* if non-NULL: how many tensors were copied                     */
} fc_torch_load_opts;
/* Loads a file written by torch.save(state_dict or dict) — the legacy (pre-1.6) stream format and
 * the zip format — into m's parameters and buffers by name, without Python. Checks everything
 * first: on any error m is unchanged and the message names the file, the tensor, what was
 * expected and what was found. float32 (and float16/bfloat16/float64, converted) tensors. As in
 * PyTorch, a missing BatchNorm num_batches_tracked (files older than PyTorch 0.4.1) is not an error. */
FC_API fc_status fc_module_load_torch_(fc_module *m, const char *path, const fc_torch_load_opts *o);
#define fc_module_load_torch(m, path, ...) \
    fc_module_load_torch_((m), (path), &(fc_torch_load_opts){._ = 0, __VA_ARGS__})

#ifdef __cplusplus
}
#endif
#endif
