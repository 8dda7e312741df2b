/* The layers: Linear, Conv2d, BatchNorm, LayerNorm, Embedding, LSTM, Dropout, activations, pools,
 * Flatten, Sequential, Residual. Names, init and defaults follow torch.nn (1.13). */
#include <math.h>
#include <string.h>

#include "nn_impl.h"

/* Parameters by their PyTorch name (NULL when absent: bias=False, affine=False). */
static fc_tensor *p(fc_module *m, const char *name) { return fc_module_get(m, name); }

/* A module with a copy of the options as its state. */
static fc_module *with_state(const fc_module_def *def, const void *opts, size_t size) {
    void *s = fci_calloc(1, size);
    if (!s) return NULL;
    memcpy(s, opts, size);
    return fc_module_new(def, s);
}

/* Frees m and returns NULL when any registration failed (an error is pending). */
static fc_module *done(fc_module *m) {
    if (m && fc_error_code() != FC_OK) {
        fc_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- Linear ------------------------------------------------------------------------------------ */

static fc_tensor *linear_fwd(fc_module *m, fc_tensor *x) {
    return fc_linear(x, p(m, "weight"), p(m, "bias"));
}
static const fc_module_def linear_def = {.name = "Linear", .forward = linear_fwd};

/* kaiming_uniform_(a=sqrt(5)) gives bound sqrt(6 / ((1 + 5) fan_in)) = 1/sqrt(fan_in), the same
 * bound PyTorch uses for the bias. */
fc_module *fc_linear_new_(int64_t in, int64_t out, const fc_linear_new_opts *o) {
    if (in <= 0 || out <= 0) {
        fc_fail(FC_ERR_ARG, "linear_new: expected in_features and out_features > 0, found %lld and %lld",
                (long long)in, (long long)out);
        return NULL;
    }
    if (fc_error_code() != FC_OK) return NULL;
    fc_module *m = fc_module_new(&linear_def, NULL);
    double bound = 1.0 / sqrt((double)in);
    fc_module_add_parameter(m, "weight", fci_nn_uniform(FC_SHAPE(out, in), bound));
    if (!o->no_bias) fc_module_add_parameter(m, "bias", fci_nn_uniform(FC_SHAPE(out), bound));
    return done(m);
}

/* ---- Conv2d ------------------------------------------------------------------------------------ */

static fc_tensor *conv2d_fwd(fc_module *m, fc_tensor *x) {
    const fc_conv2d_new_opts *o = fc_module_state(m);
    return fc_conv2d(x, p(m, "weight"), p(m, "bias"), .stride = {o->stride, o->stride},
                     .padding = {o->padding, o->padding}, .dilation = {o->dilation, o->dilation},
                     .groups = o->groups);
}
static const fc_module_def conv2d_def = {.name = "Conv2d", .forward = conv2d_fwd, .free_state = fci_free};

fc_module *fc_conv2d_new_(int64_t in, int64_t out, int k, const fc_conv2d_new_opts *opts) {
    fc_conv2d_new_opts o = *opts;
    if (!o.stride) o.stride = 1;
    if (!o.dilation) o.dilation = 1;
    if (!o.groups) o.groups = 1;
    if (in <= 0 || out <= 0 || k <= 0) {
        fc_fail(FC_ERR_ARG, "conv2d_new: expected in_channels, out_channels and kernel_size > 0, "
                "found %lld, %lld and %d", (long long)in, (long long)out, k);
        return NULL;
    }
    if (o.stride < 0 || o.padding < 0 || o.dilation < 0 || o.groups < 0) {
        fc_fail(FC_ERR_ARG, "conv2d_new: expected .stride, .padding, .dilation, .groups >= 0, found "
                "%d, %d, %d, %d", o.stride, o.padding, o.dilation, o.groups);
        return NULL;
    }
    if (in % o.groups || out % o.groups) {
        fc_fail(FC_ERR_ARG, "conv2d_new: .groups = %d must divide in_channels (%lld) and "
                "out_channels (%lld)", o.groups, (long long)in, (long long)out);
        return NULL;
    }
    if (fc_error_code() != FC_OK) return NULL;
    fc_module *m = with_state(&conv2d_def, &o, sizeof o);
    double bound = 1.0 / sqrt((double)(in / o.groups * k * k));
    fc_module_add_parameter(m, "weight", fci_nn_uniform(FC_SHAPE(out, in / o.groups, k, k), bound));
    if (!o.no_bias) fc_module_add_parameter(m, "bias", fci_nn_uniform(FC_SHAPE(out), bound));
    return done(m);
}

/* ---- BatchNorm1d / BatchNorm2d ------------------------------------------------------------------- */

typedef struct batchnorm_state {
    fc_batchnorm_new_opts o;
    int min_dim, max_dim; /* accepted input ranks */
} batchnorm_state;

static fc_tensor *batchnorm_fwd(fc_module *m, fc_tensor *x) {
    const batchnorm_state *s = fc_module_state(m);
    int nd = fc_tensor_ndim(x);
    if (nd < s->min_dim || nd > s->max_dim) {
        fc_fail(FC_ERR_SHAPE, "%s: expected %s input, found %dD input %s", fc_module_type(m),
                s->min_dim == s->max_dim ? "4D" : "2D or 3D", nd, fci_tshape(x));
        return NULL;
    }
    int training = fc_module_is_training(m);
    fc_tensor *y = fc_batch_norm(x, p(m, "running_mean"), p(m, "running_var"), p(m, "weight"),
                                 p(m, "bias"), training, s->o.momentum, s->o.eps);
    if (y && training) {
        fc_tensor *nbt = p(m, "num_batches_tracked");
        if (fc_tensor_device(nbt).type == FC_DEVICE_CPU) {
            (*(int64_t *)fc_tensor_data(nbt))++;
        } else { /* on the device without a host sync: through f32, exact below 2^24 batches */
            fc_status st = fc_copy_(nbt, fc_add_scalar(fc_to_dtype(nbt, FC_DTYPE_F32), 1.0));
            if (st != FC_OK) return NULL;
        }
    }
    return y;
}
static const fc_module_def batchnorm1d_def = {.name = "BatchNorm1d", .forward = batchnorm_fwd,
                                              .free_state = fci_free};
static const fc_module_def batchnorm2d_def = {.name = "BatchNorm2d", .forward = batchnorm_fwd,
                                              .free_state = fci_free};

static fc_module *batchnorm_new(const fc_module_def *def, int min_dim, int max_dim, int64_t c,
                                const fc_batchnorm_new_opts *opts) {
    batchnorm_state s = {.o = *opts, .min_dim = min_dim, .max_dim = max_dim};
    if (s.o.eps == 0) s.o.eps = 1e-5;
    if (s.o.momentum == 0) s.o.momentum = 0.1;
    if (c <= 0 || s.o.eps < 0 || s.o.momentum < 0 || s.o.momentum > 1) {
        fc_fail(FC_ERR_ARG, "%s: expected num_features > 0, .eps >= 0, .momentum in [0, 1], found "
                "%lld, %g, %g", def->name, (long long)c, s.o.eps, s.o.momentum);
        return NULL;
    }
    if (fc_error_code() != FC_OK) return NULL;
    fc_module *m = with_state(def, &s, sizeof s);
    if (!s.o.no_affine) {
        fc_module_add_parameter(m, "weight", fci_nn_full(FC_SHAPE(c), 1));
        fc_module_add_parameter(m, "bias", fci_nn_full(FC_SHAPE(c), 0));
    }
    fc_module_add_buffer(m, "running_mean", fci_nn_full(FC_SHAPE(c), 0));
    fc_module_add_buffer(m, "running_var", fci_nn_full(FC_SHAPE(c), 1));
    fc_module_add_buffer(m, "num_batches_tracked",
                         fc_keep(fc_zeros(FC_SCALAR_SHAPE, .dtype = FC_DTYPE_I64)));
    return done(m);
}

fc_module *fc_batchnorm1d_new_(int64_t c, const fc_batchnorm_new_opts *o) {
    return batchnorm_new(&batchnorm1d_def, 2, 3, c, o);
}

fc_module *fc_batchnorm2d_new_(int64_t c, const fc_batchnorm_new_opts *o) {
    return batchnorm_new(&batchnorm2d_def, 4, 4, c, o);
}

/* ---- LayerNorm --------------------------------------------------------------------------------- */

typedef struct layernorm_state {
    fc_shape shape;
    double eps;
} layernorm_state;

static fc_tensor *layernorm_fwd(fc_module *m, fc_tensor *x) {
    const layernorm_state *s = fc_module_state(m);
    return fc_layer_norm(x, s->shape, p(m, "weight"), p(m, "bias"), s->eps);
}
static const fc_module_def layernorm_def = {.name = "LayerNorm", .forward = layernorm_fwd,
                                            .free_state = fci_free};

fc_module *fc_layernorm_new_(fc_shape shape, const fc_layernorm_new_opts *o) {
    layernorm_state s = {.shape = shape, .eps = o->eps ? o->eps : 1e-5};
    int ok = shape.ndim > 0 && shape.ndim <= FC_MAX_DIMS;
    for (int i = 0; ok && i < shape.ndim; i++) ok = shape.d[i] > 0;
    if (!ok) {
        fc_fail(FC_ERR_ARG, "layernorm_new: expected a normalized shape of positive dims, found %s",
                shape.ndim > 0 && shape.ndim <= FC_MAX_DIMS ? fci_shape_str(shape.ndim, shape.d) : "[]");
        return NULL;
    }
    if (fc_error_code() != FC_OK) return NULL;
    fc_module *m = with_state(&layernorm_def, &s, sizeof s);
    if (!o->no_affine) {
        fc_module_add_parameter(m, "weight", fci_nn_full(shape, 1));
        fc_module_add_parameter(m, "bias", fci_nn_full(shape, 0));
    }
    return done(m);
}

/* ---- Embedding --------------------------------------------------------------------------------- */

static fc_tensor *embedding_fwd(fc_module *m, fc_tensor *x) {
    const int64_t *padding_idx = fc_module_state(m);
    return fc_embedding(p(m, "weight"), x, *padding_idx);
}
static const fc_module_def embedding_def = {.name = "Embedding", .forward = embedding_fwd,
                                            .free_state = fci_free};

fc_module *fc_embedding_new_(int64_t v, int64_t d, const fc_embedding_new_opts *o) {
    int64_t pad = -1;
    if (v <= 0 || d <= 0) {
        fc_fail(FC_ERR_ARG, "embedding_new: expected num_embeddings and embedding_dim > 0, found "
                "%lld and %lld", (long long)v, (long long)d);
        return NULL;
    }
    if (o->has_padding_idx) {
        pad = o->padding_idx < 0 ? o->padding_idx + v : o->padding_idx;
        if (pad < 0 || pad >= v) {
            fc_fail(FC_ERR_ARG, "embedding_new: expected .padding_idx in [-%lld, %lld), found %lld",
                    (long long)v, (long long)v, (long long)o->padding_idx);
            return NULL;
        }
    }
    if (fc_error_code() != FC_OK) return NULL;
    fc_module *m = with_state(&embedding_def, &pad, sizeof pad);
    fc_tensor *w = fc_module_add_parameter(m, "weight", fci_nn_normal(FC_SHAPE(v, d)));
    if (w && pad >= 0) memset(fc_tensor_data_f32(w) + pad * d, 0, (size_t)d * sizeof(float));
    return done(m);
}

/* ---- LSTM -------------------------------------------------------------------------------------- */

/* Per-layer weight pointers live on the stack in forward; 32 layers is far past any real LSTM. */
#define LSTM_MAX_LAYERS 32

static fc_tensor *lstm_fwd(fc_module *m, fc_tensor *x) {
    const fc_lstm_new_opts *o = fc_module_state(m);
    fc_tensor *w[4][LSTM_MAX_LAYERS]; /* w_ih, w_hh, b_ih, b_hh per layer */
    static const char *kinds[4] = {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"};
    char name[32];
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < o->n_layers; l++) {
            snprintf(name, sizeof name, "%s%d", kinds[k], l);
            w[k][l] = p(m, name);
        }
    fc_lstm_weights lw = {o->n_layers, w[0], w[1], o->no_bias ? NULL : w[2], o->no_bias ? NULL : w[3]};
    if (o->batch_first) x = fc_transpose(x, 0, 1);
    fc_tensor *y = fc_lstm(x, &lw, NULL, NULL, NULL, NULL);
    return o->batch_first ? fc_transpose(y, 0, 1) : y;
}
static const fc_module_def lstm_def = {.name = "LSTM", .forward = lstm_fwd, .free_state = fci_free};

fc_module *fc_lstm_new_(int64_t in, int64_t h, const fc_lstm_new_opts *opts) {
    fc_lstm_new_opts o = *opts;
    if (!o.n_layers) o.n_layers = 1;
    if (in <= 0 || h <= 0 || o.n_layers < 0 || o.n_layers > LSTM_MAX_LAYERS) {
        fc_fail(FC_ERR_ARG, "lstm_new: expected input_size, hidden_size > 0 and .n_layers in [1, %d], "
                "found %lld, %lld, %d", LSTM_MAX_LAYERS, (long long)in, (long long)h, o.n_layers);
        return NULL;
    }
    if (fc_error_code() != FC_OK) return NULL;
    fc_module *m = with_state(&lstm_def, &o, sizeof o);
    double bound = 1.0 / sqrt((double)h);
    char name[32];
    /* PyTorch registers per layer: weight_ih, weight_hh, bias_ih, bias_hh. */
    for (int l = 0; l < o.n_layers; l++) {
        snprintf(name, sizeof name, "weight_ih_l%d", l);
        fc_module_add_parameter(m, name, fci_nn_uniform(FC_SHAPE(4 * h, l ? h : in), bound));
        snprintf(name, sizeof name, "weight_hh_l%d", l);
        fc_module_add_parameter(m, name, fci_nn_uniform(FC_SHAPE(4 * h, h), bound));
        if (o.no_bias) continue;
        snprintf(name, sizeof name, "bias_ih_l%d", l);
        fc_module_add_parameter(m, name, fci_nn_uniform(FC_SHAPE(4 * h), bound));
        snprintf(name, sizeof name, "bias_hh_l%d", l);
        fc_module_add_parameter(m, name, fci_nn_uniform(FC_SHAPE(4 * h), bound));
    }
    return done(m);
}

/* ---- Dropout and activations --------------------------------------------------------------------- */

static fc_tensor *dropout_fwd(fc_module *m, fc_tensor *x) {
    const double *prob = fc_module_state(m);
    return fc_dropout(x, *prob, fc_module_is_training(m));
}
static const fc_module_def dropout_def = {.name = "Dropout", .forward = dropout_fwd, .free_state = fci_free};

fc_module *fc_dropout_new(double prob) {
    if (!(prob >= 0 && prob <= 1)) {
        fc_fail(FC_ERR_ARG, "dropout_new: expected p in [0, 1], found %g", prob);
        return NULL;
    }
    return with_state(&dropout_def, &prob, sizeof prob);
}

#define ACTIVATION(fn, type)                                                       \
    static fc_tensor *fn##_fwd(fc_module *m, fc_tensor *x) { return fc_##fn(x); } \
    static const fc_module_def fn##_def = {.name = type, .forward = fn##_fwd};   \
    fc_module *fc_##fn##_new(void) { return fc_module_new(&fn##_def, NULL); }
ACTIVATION(relu, "ReLU")
ACTIVATION(gelu, "GELU")
ACTIVATION(silu, "SiLU")
ACTIVATION(sigmoid, "Sigmoid")
ACTIVATION(tanh, "Tanh")

/* A new tensor (a view when x is contiguous), never x itself: callers free what forward returns. */
static fc_tensor *identity_fwd(fc_module *m, fc_tensor *x) { return fc_reshape(x, fc_tensor_shape(x)); }
static const fc_module_def identity_def = {.name = "Identity", .forward = identity_fwd};
fc_module *fc_identity_new(void) { return fc_module_new(&identity_def, NULL); }

/* ---- pools and Flatten --------------------------------------------------------------------------- */

typedef struct pool_state {
    int k;
    fc_pool2d_new_opts o;
} pool_state;

static fc_pool2d_opts pool_opts(const pool_state *s) {
    return (fc_pool2d_opts){.stride = {s->o.stride, s->o.stride}, .padding = {s->o.padding, s->o.padding},
                            .dilation = {s->o.dilation, s->o.dilation}, .ceil_mode = s->o.ceil_mode,
                            .no_count_include_pad = s->o.no_count_include_pad};
}
static fc_tensor *maxpool_fwd(fc_module *m, fc_tensor *x) {
    const pool_state *s = fc_module_state(m);
    fc_pool2d_opts o = pool_opts(s);
    return fc_max_pool2d_(x, s->k, s->k, &o);
}
static fc_tensor *avgpool_fwd(fc_module *m, fc_tensor *x) {
    const pool_state *s = fc_module_state(m);
    fc_pool2d_opts o = pool_opts(s);
    return fc_avg_pool2d_(x, s->k, s->k, &o);
}
static const fc_module_def maxpool_def = {.name = "MaxPool2d", .forward = maxpool_fwd, .free_state = fci_free};
static const fc_module_def avgpool_def = {.name = "AvgPool2d", .forward = avgpool_fwd, .free_state = fci_free};

static fc_module *pool_new(const fc_module_def *def, int k, const fc_pool2d_new_opts *o) {
    if (k <= 0 || o->stride < 0 || o->padding < 0 || o->dilation < 0 || 2 * o->padding > k) {
        fc_fail(FC_ERR_ARG, "%s: expected kernel_size > 0, .stride, .dilation >= 0 and .padding in "
                "[0, kernel_size / 2], found %d, %d, %d, %d", def->name, k, o->stride, o->dilation,
                o->padding);
        return NULL;
    }
    pool_state s = {k, *o};
    return with_state(def, &s, sizeof s);
}

fc_module *fc_maxpool2d_new_(int k, const fc_pool2d_new_opts *o) { return pool_new(&maxpool_def, k, o); }
fc_module *fc_avgpool2d_new_(int k, const fc_pool2d_new_opts *o) { return pool_new(&avgpool_def, k, o); }

static fc_tensor *adaptive_avgpool_fwd(fc_module *m, fc_tensor *x) {
    const int64_t *hw = fc_module_state(m);
    return fc_adaptive_avg_pool2d(x, hw[0], hw[1]);
}
static const fc_module_def adaptive_avgpool_def = {.name = "AdaptiveAvgPool2d",
                                                   .forward = adaptive_avgpool_fwd, .free_state = fci_free};

fc_module *fc_adaptive_avgpool2d_new(int64_t out_h, int64_t out_w) {
    if (out_h <= 0 || out_w <= 0) {
        fc_fail(FC_ERR_ARG, "adaptive_avgpool2d_new: expected output size > 0, found (%lld, %lld)",
                (long long)out_h, (long long)out_w);
        return NULL;
    }
    int64_t hw[2] = {out_h, out_w};
    return with_state(&adaptive_avgpool_def, hw, sizeof hw);
}

static fc_tensor *flatten_fwd(fc_module *m, fc_tensor *x) { return fc_flatten(x, 1, -1); }
static const fc_module_def flatten_def = {.name = "Flatten", .forward = flatten_fwd};
fc_module *fc_flatten_new(void) { return fc_module_new(&flatten_def, NULL); }

/* ---- Sequential and Residual --------------------------------------------------------------------- */

/* Intermediate activations are released as soon as the next layer has them (autograd keeps what
 * it needs by reference), so inference through a deep Sequential holds at most two alive. */
static fc_tensor *sequential_fwd(fc_module *m, fc_tensor *x) {
    int n = fc_module_n_children(m);
    if (n == 0) return fc_reshape(x, fc_tensor_shape(x));
    fc_tensor *cur = x;
    for (int i = 0; i < n && cur; i++) {
        fc_tensor *next = fc_module_forward(fc_module_child_at(m, i, NULL), cur);
        if (cur != x && cur != next) fc_tensor_free(cur);
        cur = next;
    }
    return cur;
}
static const fc_module_def sequential_def = {.name = "Sequential", .forward = sequential_fwd};

fc_module *fc_sequential_new(void) { return fc_module_new(&sequential_def, NULL); }

fc_status fc_sequential_add(fc_module *seq, fc_module *m) {
    if (!seq || !m) {
        fc_module_free(m);
        return fc_error_code() != FC_OK ? fc_error_code()
                                        : fc_fail(FC_ERR_ARG, "sequential_add: a NULL module");
    }
    char name[24];
    snprintf(name, sizeof name, "%d", fc_module_n_children(seq));
    return fc_module_add_child(seq, name, m) ? FC_OK : fc_error_code();
}

fc_module *fc_sequential_of(int n, fc_module **mods) {
    fc_module *seq = fc_sequential_new();
    for (int i = 0; i < n; i++) {
        if (!mods[i] && fc_error_code() == FC_OK)
            fc_fail(FC_ERR_ARG, "sequential: module %d is NULL", i);
        if (fc_sequential_add(seq, mods[i]) != FC_OK) {
            for (int j = i + 1; j < n; j++) fc_module_free(mods[j]);
            fc_module_free(seq);
            return NULL;
        }
    }
    return seq;
}

static fc_tensor *residual_fwd(fc_module *m, fc_tensor *x) {
    fc_tensor *fx = fc_module_forward(fc_module_child_at(m, 0, NULL), x);
    fc_tensor *y = fc_add(x, fx);
    if (fx != x) fc_tensor_free(fx);
    return y;
}
static const fc_module_def residual_def = {.name = "Residual", .forward = residual_fwd};

fc_module *fc_residual_new(fc_module *inner) {
    if (!inner) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "residual_new: the module is NULL");
        return NULL;
    }
    fc_module *m = fc_module_new(&residual_def, NULL);
    if (!m) {
        fc_module_free(inner);
        return NULL;
    }
    fc_module_add_child(m, "module", inner);
    return done(m);
}
