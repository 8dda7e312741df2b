/* Pointwise functions of one tensor: a table of (name, forward kernel, backward) so that each new
 * function is a kernel plus a few lines. */
#include <math.h>
#include <string.h>

#include "cpu/unary.h"
#include "unary_impl.h"

#if FASTC_CUDA
/* The CUDA kernel of a pointwise function, by its name; -1 when it has none. */
static int cuda_kind(const char *name) {
    static const char *const names[FCI_CUDA_N_UNARY] = {
        [FCI_CUDA_NEG] = "neg", [FCI_CUDA_EXP] = "exp", [FCI_CUDA_LOG] = "log",
        [FCI_CUDA_SQRT] = "sqrt", [FCI_CUDA_RSQRT] = "rsqrt", [FCI_CUDA_ABS] = "abs",
        [FCI_CUDA_CLAMP] = "clamp", [FCI_CUDA_POW] = "pow_scalar", [FCI_CUDA_RELU] = "relu",
        [FCI_CUDA_LEAKY_RELU] = "leaky_relu", [FCI_CUDA_GELU] = "gelu",
        [FCI_CUDA_GELU_TANH] = "gelu_tanh", [FCI_CUDA_SILU] = "silu",
        [FCI_CUDA_SIGMOID] = "sigmoid", [FCI_CUDA_TANH] = "tanh", [FCI_CUDA_SOFTPLUS] = "softplus",
        [FCI_CUDA_HARDSWISH] = "hardswish",
    };
    for (int k = 0; k < FCI_CUDA_N_UNARY; k++)
        if (names[k] && !strcmp(names[k], name)) return k;
    fc_fail(FC_ERR_DEVICE, "%s: no CUDA kernel yet (the CPU has one)", name);
    return -1;
}

static fci_cuda_params cuda_params(const double *p, int n_p) {
    fci_cuda_params cp = {{0, 0}};
    for (int i = 0; i < n_p && i < 2; i++) cp.p[i] = (float)p[i];
    return cp;
}
#endif

/* y = f(x) on x's device. */
static fc_status unary_fwd(const unary_def *def, fc_tensor *xc, fc_tensor *y, const double *p,
                           int n_p) {
#if FASTC_CUDA
    if (FCI_IS_CUDA(xc)) {
        int k = cuda_kind(def->name);
        if (k < 0) return fc_error_code();
        fci_cuda_unary_fwd_launch(FCI_STREAM(xc), k, fc_tensor_data(xc), fc_tensor_data(y),
                                  fc_tensor_numel(xc), cuda_params(p, n_p));
        return fci_cuda_launched(def->name);
    }
#endif
    (void)n_p;
    def->fwd(fc_tensor_data(xc), fc_tensor_data(y), fc_tensor_numel(xc), p);
    return FC_OK;
}

fc_tensor *fci_unary(const unary_def *def, fc_tensor *x, const double *p, int n_p) {
    if (!x) return NULL;
    fc_tensor *xc = fci_contig_f32_any(def->name, x);
    if (!xc) return NULL;
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
    if (y && unary_fwd(def, xc, y, p, n_p) != FC_OK) {
        fc_tensor_free(y);
        y = NULL;
    }
    fci_tensor_unref(xc);
    if (!y) return NULL;
    if (fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(&def->op, y, 1, &x);
        if (!n) return NULL;
        for (int i = 0; i < n_p && i < 8; i++) n->fp[i] = p[i];
        fci_save_output(n, 0, y);
    }
    return y;
}

fc_status fci_unary_grad(fci_node *n, fc_tensor *gy, fc_tensor **gx, fci_unary_bwd_kernel k) {
    fc_tensor *x = n->in[0], *y = n->saved[0];
    fc_tensor *xc = fci_contig_f32_any(n->op->name, x);
    if (!xc) return fc_error_code();
    fc_tensor *g = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
#if FASTC_CUDA
    if (g && FCI_IS_CUDA(x)) {
        int kind = cuda_kind(n->op->name);
        if (kind >= 0)
            fci_cuda_unary_bwd_launch(FCI_STREAM(x), kind, fc_tensor_data(xc),
                                      y ? fc_tensor_data(y) : NULL, fc_tensor_data(gy),
                                      fc_tensor_data(g), fc_tensor_numel(x), cuda_params(n->fp, 2));
        if (kind < 0 || fci_cuda_launched(n->op->name) != FC_OK) {
            fc_tensor_free(g);
            g = NULL;
        }
        k = NULL;
    }
#endif
    if (g && k)
        k(fc_tensor_data(xc), fc_tensor_data(y), fc_tensor_data(gy), fc_tensor_data(g),
          fc_tensor_numel(x), n->fp);
    fci_tensor_unref(xc);
    gx[0] = g;
    return g ? FC_OK : fc_error_code();
}

static fc_status neg_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    (void)n;
    gx[0] = fc_neg(gy);
    return gx[0] ? FC_OK : fc_error_code();
}
static const unary_def def_neg = {"neg", fci_neg_f32, {"neg", neg_bwd}};

fc_tensor *fc_neg(fc_tensor *x) { return fci_unary(&def_neg, x, NULL, 0); }

/* One descriptor per function: forward kernel, backward through its fused kernel. */
#define UNARY_DEF(name)                                                                      \
    static fc_status name##_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {                \
        return fci_unary_grad(n, gy, gx, fci_##name##_bwd_f32);                              \
    }                                                                                        \
    static const unary_def def_##name = {#name, fci_##name##_f32, {#name, name##_bwd}};

UNARY_DEF(exp)
UNARY_DEF(log)
UNARY_DEF(sqrt)
UNARY_DEF(rsqrt)
UNARY_DEF(abs)
UNARY_DEF(clamp)
UNARY_DEF(pow_scalar)

fc_tensor *fc_exp(fc_tensor *x) { return fci_unary(&def_exp, x, NULL, 0); }
fc_tensor *fc_log(fc_tensor *x) { return fci_unary(&def_log, x, NULL, 0); }
fc_tensor *fc_sqrt(fc_tensor *x) { return fci_unary(&def_sqrt, x, NULL, 0); }
fc_tensor *fc_rsqrt(fc_tensor *x) { return fci_unary(&def_rsqrt, x, NULL, 0); }
fc_tensor *fc_abs(fc_tensor *x) { return fci_unary(&def_abs, x, NULL, 0); }

fc_tensor *fc_clamp(fc_tensor *x, double min, double max) {
    if (!x) return NULL;
    if (isnan(min) || isnan(max)) {
        fc_fail(FC_ERR_ARG, "clamp: expected min and max to be numbers (+-INFINITY: no bound), "
                            "found min %g, max %g", min, max);
        return NULL;
    }
    double p[2] = {min, max};
    return fci_unary(&def_clamp, x, p, 2);
}

fc_tensor *fc_pow_scalar(fc_tensor *x, double p) {
    if (!x) return NULL;
    if (!isfinite(p)) {
        fc_fail(FC_ERR_ARG, "pow_scalar: expected a finite exponent, found %g", p);
        return NULL;
    }
    return fci_unary(&def_pow_scalar, x, &p, 1);
}
