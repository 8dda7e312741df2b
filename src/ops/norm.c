/* Normalization: batch_norm, layer_norm, group_norm with PyTorch's semantics (torch.nn.functional).
 * Each runs one fused kernel forward and one backward. The node's inputs are x, then weight and
 * bias when given (ip[0], ip[1]: their input slots or -1); saved[0] is contiguous x, saved[1] and
 * saved[2] the mean and 1/std the forward used. */
#include <string.h>

#include "cpu/norm.h"
#include "ops_impl.h"

/* A [n] f32 tensor outside any scope (freed by the caller with fci_tensor_unref). */
static fc_tensor *stat_tensor(int64_t n, fc_device dev) {
    fc_tensor *t = fci_tensor_alloc(FC_SHAPE(n), FC_DTYPE_F32, dev);
    return t ? fc_keep(t) : NULL;
}

/* weight/bias: NULL (absent) or f32 of exactly 'shape' on x's device. */
static int check_affine(const char *op, const char *what, const fc_tensor *t, const fc_tensor *x,
                        int ndim, const int64_t *shape) {
    if (!t) return 0;
    if (fci_check_float32(op, what, t) || fci_check_same_device(op, x, t)) return 1;
    if (t->ndim != ndim || memcmp(t->shape, shape, sizeof(int64_t) * (size_t)ndim)) {
        fc_fail(FC_ERR_SHAPE, "%s: expected %s of shape %s, found %s (input %s)", op, what,
                fci_shape_str(ndim, shape), fci_tshape(t), fci_tshape(x));
        return 1;
    }
    return 0;
}

typedef struct affine_in {
    fc_tensor *xc, *wc, *bc; /* contiguous references (NULL when absent) */
} affine_in;

static void affine_release(affine_in *a) {
    fci_tensor_unref(a->xc);
    fci_tensor_unref(a->wc);
    fci_tensor_unref(a->bc);
}

static int affine_acquire(const char *op, fc_tensor *x, fc_tensor *w, fc_tensor *b, affine_in *a) {
    *a = (affine_in){0};
    a->xc = fci_contig_f32_any(op, x);
    if (a->xc && w) a->wc = fci_contig_f32_any(op, w);
    if (a->xc && (!w || a->wc) && b) a->bc = fci_contig_f32_any(op, b);
    if (!a->xc || (w && !a->wc) || (b && !a->bc)) {
        affine_release(a);
        return 1;
    }
    return 0;
}

static const float *data_or_null(const fc_tensor *t) { return t ? fc_tensor_data(t) : NULL; }

/* A forward's failure: drops its references (any may be NULL) and returns NULL. */
static fc_tensor *fwd_fail(affine_in *a, fc_tensor *mean, fc_tensor *rstd, fc_tensor *y) {
    affine_release(a);
    fci_tensor_unref(mean);
    fci_tensor_unref(rstd);
    fc_tensor_free(y);
    return NULL;
}

/* Records the node of a normalization (when needed) and drops our references to the stats. */
static fc_tensor *finish(const fci_op *op, fc_tensor *y, fc_tensor *x, fc_tensor *w, fc_tensor *b,
                         affine_in *a, fc_tensor *mean, fc_tensor *rstd, const int64_t *ip, int n_ip) {
    fc_tensor *in[3] = {x, NULL, NULL};
    int n_in = 1, wi = -1, bi = -1;
    if (w) in[wi = n_in++] = w;
    if (b) in[bi = n_in++] = b;
    if (fci_grad_needed(n_in, in)) {
        fci_node *n = fci_record(op, y, n_in, in);
        if (n) {
            n->ip[0] = wi;
            n->ip[1] = bi;
            for (int i = 0; i < n_ip; i++) n->ip[2 + i] = ip[i];
            fci_save(n, 0, a->xc);
            fci_save(n, 1, mean);
            fci_save(n, 2, rstd);
        } else {
            y = NULL;
        }
    }
    affine_release(a);
    fci_tensor_unref(mean);
    fci_tensor_unref(rstd);
    return y;
}

/* Gradient buffers for the inputs that need them; pointers stay NULL otherwise. */
static fc_status alloc_grads(fci_node *n, fc_tensor **gx, float **dx, float **dw, float **db) {
    int slot[3] = {0, (int)n->ip[0], (int)n->ip[1]};
    float **dst[3] = {dx, dw, db};
    for (int k = 0; k < 3; k++) {
        *dst[k] = NULL;
        int i = slot[k];
        if (i < 0 || !fci_node_needs_grad(n, i)) continue;
        gx[i] = fci_tensor_alloc(fc_tensor_shape(n->in[i]), FC_DTYPE_F32, n->in[i]->device);
        if (!gx[i]) return fc_error_code();
        *dst[k] = fc_tensor_data(gx[i]);
    }
    return FC_OK;
}

/* The weight as a contiguous reference (NULL when the op had none); *fail set on error. */
static fc_tensor *node_weight(fci_node *n, const char *op, int *fail) {
    *fail = 0;
    if (n->ip[0] < 0) return NULL;
    fc_tensor *w = fci_contig_f32_any(op, n->in[n->ip[0]]);
    *fail = !w;
    return w;
}

/* ---- batch norm: ip[2] training, ip[3] N, ip[4] C, ip[5] S ---- */

static fc_status batch_norm_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    float *dx, *dw, *db;
    fc_status st = alloc_grads(n, gx, &dx, &dw, &db);
    if (st) return st;
    int fail;
    fc_tensor *w = node_weight(n, "batch_norm", &fail);
    if (fail) return fc_error_code();
#if FASTC_CUDA
    if (FCI_IS_CUDA(gy)) {
        int dev = gy->device.index;
        size_t nb = fci_cuda_batch_norm_ws_bytes(n->ip[3], n->ip[4], n->ip[5]);
        void *ws = fci_cuda_alloc(dev, nb); /* from the cache in steady state */
        if (!ws) {
            fci_tensor_unref(w);
            return fc_error_code();
        }
        fci_cuda_batch_norm_bwd_launch(FCI_STREAM(gy), fc_tensor_data(n->saved[0]), fc_tensor_data(gy),
                                       n->ip[3], n->ip[4], n->ip[5], data_or_null(w),
                                       fc_tensor_data(n->saved[1]), fc_tensor_data(n->saved[2]),
                                       (int)n->ip[2], dx, dw, db, ws);
        fci_cuda_release(dev, ws, nb); /* stream order: reused after these kernels */
        fci_tensor_unref(w);
        return fci_cuda_launched("batch_norm");
    }
#endif
    fci_batch_norm_bwd_f32(fc_tensor_data(n->saved[0]), fc_tensor_data(gy), n->ip[3], n->ip[4],
                           n->ip[5], data_or_null(w), fc_tensor_data(n->saved[1]),
                           fc_tensor_data(n->saved[2]), (int)n->ip[2], dx, dw, db);
    fci_tensor_unref(w);
    return FC_OK;
}
static const fci_op op_batch_norm = {"batch_norm", batch_norm_bwd};

/* running_mean/var: written in place, so f32, contiguous, [C] and without gradient. */
static int check_running(const char *what, const fc_tensor *t, const fc_tensor *x, int64_t C) {
    if (check_affine("batch_norm", what, t, x, 1, &C)) return 1;
    if (!fc_tensor_is_contiguous(t) || t->requires_grad) {
        fc_fail(FC_ERR_ARG, "batch_norm: expected %s to be a contiguous tensor without gradient "
                            "(it is updated in place), found %s",
                what, t->requires_grad ? "one that requires grad" : "a non-contiguous view");
        return 1;
    }
    return 0;
}

fc_tensor *fc_batch_norm(fc_tensor *x, fc_tensor *running_mean, fc_tensor *running_var,
                         fc_tensor *weight, fc_tensor *bias, int training, double momentum,
                         double eps) {
    if (!x) return NULL;
    const char *op = "batch_norm";
    if (fci_check_float32(op, "input", x) || fci_check_device(op, x)) return NULL;
    if (x->ndim < 2) {
        fc_fail(FC_ERR_SHAPE, "batch_norm: expected input [N, C, ...] with at least 2 dims, found %s",
                fci_tshape(x));
        return NULL;
    }
    int64_t N = x->shape[0], C = x->shape[1], NC = N * C, S = NC ? fc_tensor_numel(x) / NC : 0;
    if (check_affine(op, "weight", weight, x, 1, &C) || check_affine(op, "bias", bias, x, 1, &C) ||
        (running_mean && check_running("running_mean", running_mean, x, C)) ||
        (running_var && check_running("running_var", running_var, x, C)))
        return NULL;
    if (!training && (!running_mean || !running_var)) {
        fc_fail(FC_ERR_ARG, "batch_norm: expected running_mean and running_var in eval mode "
                            "(training 0), found %s missing",
                running_mean ? "running_var" : "running_mean");
        return NULL;
    }
    if (training && N * S <= 1) {
        fc_fail(FC_ERR_ARG, "batch_norm: expected more than 1 value per channel when training, "
                            "found input %s", fci_tshape(x));
        return NULL;
    }
    if (eps < 0) {
        fc_fail(FC_ERR_ARG, "batch_norm: expected eps >= 0, found %g", eps);
        return NULL;
    }
    affine_in a;
    if (affine_acquire(op, x, weight, bias, &a)) return NULL;
    fc_tensor *mean = stat_tensor(C, x->device), *rstd = stat_tensor(C, x->device);
    fc_tensor *y = mean && rstd ? fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device) : NULL;
    if (!y) return fwd_fail(&a, mean, rstd, NULL);
    float *rm = running_mean ? fc_tensor_data(running_mean) : NULL;
    float *rv = running_var ? fc_tensor_data(running_var) : NULL;
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        size_t nb = fci_cuda_batch_norm_ws_bytes(N, C, S);
        void *ws = fci_cuda_alloc(x->device.index, nb); /* from the cache in steady state */
        if (!ws) return fwd_fail(&a, mean, rstd, y);
        fci_cuda_batch_norm_fwd_launch(FCI_STREAM(x), fc_tensor_data(a.xc), fc_tensor_data(y), N, C, S,
                                       data_or_null(a.wc), data_or_null(a.bc), rm, rv, training,
                                       momentum, eps, fc_tensor_data(mean), fc_tensor_data(rstd), ws);
        fci_cuda_release(x->device.index, ws, nb); /* stream order: reused after these kernels */
        if (fci_cuda_launched(op) != FC_OK) return fwd_fail(&a, mean, rstd, y);
    } else
#endif
    fci_batch_norm_fwd_f32(fc_tensor_data(a.xc), fc_tensor_data(y), N, C, S, data_or_null(a.wc),
                           data_or_null(a.bc), rm, rv, training, momentum, eps,
                           fc_tensor_data(mean), fc_tensor_data(rstd));
    int64_t ip[4] = {training != 0, N, C, S};
    return finish(&op_batch_norm, y, x, weight, bias, &a, mean, rstd, ip, 4);
}

/* ---- layer norm: ip[2] R (rows), ip[3] D (normalized size) ---- */

static fc_status layer_norm_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    float *dx, *dw, *db;
    fc_status st = alloc_grads(n, gx, &dx, &dw, &db);
    if (st) return st;
    int fail;
    fc_tensor *w = node_weight(n, "layer_norm", &fail);
    if (fail) return fc_error_code();
#if FASTC_CUDA
    if (FCI_IS_CUDA(gy)) {
        fci_cuda_layer_norm_bwd_launch(FCI_STREAM(gy), fc_tensor_data(n->saved[0]), fc_tensor_data(gy),
                                       n->ip[2], n->ip[3], data_or_null(w), fc_tensor_data(n->saved[1]),
                                       fc_tensor_data(n->saved[2]), dx, dw, db);
        fci_tensor_unref(w);
        return fci_cuda_launched("layer_norm");
    }
#endif
    fci_layer_norm_bwd_f32(fc_tensor_data(n->saved[0]), fc_tensor_data(gy), n->ip[2], n->ip[3],
                           data_or_null(w), fc_tensor_data(n->saved[1]),
                           fc_tensor_data(n->saved[2]), dx, dw, db);
    fci_tensor_unref(w);
    return FC_OK;
}
static const fci_op op_layer_norm = {"layer_norm", layer_norm_bwd};

fc_tensor *fc_layer_norm(fc_tensor *x, fc_shape normalized_shape, fc_tensor *weight,
                         fc_tensor *bias, double eps) {
    if (!x) return NULL;
    const char *op = "layer_norm";
    if (fci_check_float32(op, "input", x) || fci_check_device(op, x)) return NULL;
    int k = normalized_shape.ndim, lead = x->ndim - k;
    if (k < 1 || lead < 0 ||
        memcmp(x->shape + lead, normalized_shape.d, sizeof(int64_t) * (size_t)k)) {
        fc_fail(FC_ERR_SHAPE, "layer_norm: expected input whose trailing dims are normalized_shape "
                              "%s, found %s", fci_shape_str(k, normalized_shape.d), fci_tshape(x));
        return NULL;
    }
    if (check_affine(op, "weight", weight, x, k, normalized_shape.d) ||
        check_affine(op, "bias", bias, x, k, normalized_shape.d))
        return NULL;
    if (eps < 0) {
        fc_fail(FC_ERR_ARG, "layer_norm: expected eps >= 0, found %g", eps);
        return NULL;
    }
    int64_t D = fc_shape_numel(normalized_shape), R = D ? fc_tensor_numel(x) / D : 0;
    affine_in a;
    if (affine_acquire(op, x, weight, bias, &a)) return NULL;
    fc_tensor *mean = stat_tensor(R, x->device), *rstd = stat_tensor(R, x->device);
    fc_tensor *y = mean && rstd ? fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device) : NULL;
    if (!y) return fwd_fail(&a, mean, rstd, NULL);
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        fci_cuda_layer_norm_fwd_launch(FCI_STREAM(x), fc_tensor_data(a.xc), fc_tensor_data(y), R, D,
                                       data_or_null(a.wc), data_or_null(a.bc), eps,
                                       fc_tensor_data(mean), fc_tensor_data(rstd));
        if (fci_cuda_launched(op) != FC_OK) return fwd_fail(&a, mean, rstd, y);
    } else
#endif
    fci_layer_norm_fwd_f32(fc_tensor_data(a.xc), fc_tensor_data(y), R, D, data_or_null(a.wc),
                           data_or_null(a.bc), eps, fc_tensor_data(mean), fc_tensor_data(rstd));
    int64_t ip[2] = {R, D};
    return finish(&op_layer_norm, y, x, weight, bias, &a, mean, rstd, ip, 2);
}

/* ---- group norm: ip[2] N, ip[3] C, ip[4] S, ip[5] groups ---- */

static fc_status group_norm_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    float *dx, *dw, *db;
    fc_status st = alloc_grads(n, gx, &dx, &dw, &db);
    if (st) return st;
    int fail;
    fc_tensor *w = node_weight(n, "group_norm", &fail);
    if (fail) return fc_error_code();
#if FASTC_CUDA
    if (FCI_IS_CUDA(gy)) {
        fci_cuda_group_norm_bwd_launch(FCI_STREAM(gy), fc_tensor_data(n->saved[0]), fc_tensor_data(gy), n->ip[2],
                                       n->ip[3], n->ip[4], n->ip[5], data_or_null(w), fc_tensor_data(n->saved[1]),
                                       fc_tensor_data(n->saved[2]), dx, dw, db);
        fci_tensor_unref(w);
        return fci_cuda_launched("group_norm");
    }
#endif
    fci_group_norm_bwd_f32(fc_tensor_data(n->saved[0]), fc_tensor_data(gy), n->ip[2], n->ip[3],
                           n->ip[4], n->ip[5], data_or_null(w), fc_tensor_data(n->saved[1]),
                           fc_tensor_data(n->saved[2]), dx, dw, db);
    fci_tensor_unref(w);
    return FC_OK;
}
static const fci_op op_group_norm = {"group_norm", group_norm_bwd};

fc_tensor *fc_group_norm(fc_tensor *x, int num_groups, fc_tensor *weight, fc_tensor *bias,
                         double eps) {
    if (!x) return NULL;
    const char *op = "group_norm";
    if (fci_check_float32(op, "input", x) || fci_check_device(op, x)) return NULL;
    if (x->ndim < 2) {
        fc_fail(FC_ERR_SHAPE, "group_norm: expected input [N, C, ...] with at least 2 dims, found %s",
                fci_tshape(x));
        return NULL;
    }
    int64_t N = x->shape[0], C = x->shape[1], NC = N * C, S = NC ? fc_tensor_numel(x) / NC : 0;
    if (num_groups < 1 || C % num_groups) {
        fc_fail(FC_ERR_ARG, "group_norm: expected num_groups >= 1 dividing the %lld channels, "
                            "found %d (input %s)", (long long)C, num_groups, fci_tshape(x));
        return NULL;
    }
    if (check_affine(op, "weight", weight, x, 1, &C) || check_affine(op, "bias", bias, x, 1, &C))
        return NULL;
    if (eps < 0) {
        fc_fail(FC_ERR_ARG, "group_norm: expected eps >= 0, found %g", eps);
        return NULL;
    }
    affine_in a;
    if (affine_acquire(op, x, weight, bias, &a)) return NULL;
    fc_tensor *mean = stat_tensor(N * num_groups, x->device);
    fc_tensor *rstd = stat_tensor(N * num_groups, x->device);
    fc_tensor *y = mean && rstd ? fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device) : NULL;
    if (!y) return fwd_fail(&a, mean, rstd, NULL);
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        fci_cuda_group_norm_fwd_launch(FCI_STREAM(x), fc_tensor_data(a.xc), fc_tensor_data(y), N, C, S, num_groups,
                                       data_or_null(a.wc), data_or_null(a.bc), eps, fc_tensor_data(mean),
                                       fc_tensor_data(rstd));
        if (fci_cuda_launched(op) != FC_OK) return fwd_fail(&a, mean, rstd, y);
    } else
#endif
    fci_group_norm_fwd_f32(fc_tensor_data(a.xc), fc_tensor_data(y), N, C, S, num_groups,
                           data_or_null(a.wc), data_or_null(a.bc), eps, fc_tensor_data(mean),
                           fc_tensor_data(rstd));
    int64_t ip[4] = {N, C, S, num_groups};
    return finish(&op_group_norm, y, x, weight, bias, &a, mean, rstd, ip, 4);
}
