/* Pointwise functions of one tensor: a table of (name, forward kernel, backward) so that each new
 * function is a kernel plus a few lines. */
#include <math.h>

#include "cpu/unary.h"
#include "unary_impl.h"

fc_tensor *fci_unary(const unary_def *def, fc_tensor *x, const double *p, int n_p) {
    if (!x) return NULL;
    fc_tensor *xc = fci_contig_f32(def->name, x);
    if (!xc) return NULL;
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
    if (y) def->fwd(fc_tensor_data(xc), fc_tensor_data(y), fc_tensor_numel(x), p);
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
    fc_tensor *xc = fci_contig_f32(n->op->name, x);
    if (!xc) return fc_error_code();
    fc_tensor *g = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
    if (g)
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
