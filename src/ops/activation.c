/* Activations: pointwise, through fci_unary with a fused backward kernel each (one pass over x
 * instead of the several a composed backward would take). */
#include <math.h>

#include "cpu/activation.h"
#include "unary_impl.h"

#define ACT_DEF(name)                                                                        \
    static fc_status name##_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {                \
        return fci_unary_grad(n, gy, gx, fci_##name##_bwd_f32);                              \
    }                                                                                        \
    static const unary_def def_##name = {#name, fci_##name##_f32, {#name, name##_bwd}};

ACT_DEF(relu)
ACT_DEF(leaky_relu)
ACT_DEF(gelu)
ACT_DEF(gelu_tanh)
ACT_DEF(silu)
ACT_DEF(sigmoid)
ACT_DEF(tanh)
ACT_DEF(softplus)
ACT_DEF(hardswish)

fc_tensor *fc_relu(fc_tensor *x) { return fci_unary(&def_relu, x, NULL, 0); }
fc_tensor *fc_gelu(fc_tensor *x) { return fci_unary(&def_gelu, x, NULL, 0); }
fc_tensor *fc_gelu_tanh(fc_tensor *x) { return fci_unary(&def_gelu_tanh, x, NULL, 0); }
fc_tensor *fc_silu(fc_tensor *x) { return fci_unary(&def_silu, x, NULL, 0); }
fc_tensor *fc_sigmoid(fc_tensor *x) { return fci_unary(&def_sigmoid, x, NULL, 0); }
fc_tensor *fc_tanh(fc_tensor *x) { return fci_unary(&def_tanh, x, NULL, 0); }
fc_tensor *fc_hardswish(fc_tensor *x) { return fci_unary(&def_hardswish, x, NULL, 0); }

fc_tensor *fc_leaky_relu(fc_tensor *x, double negative_slope) {
    if (!x) return NULL;
    if (!isfinite(negative_slope)) {
        fc_fail(FC_ERR_ARG, "leaky_relu: expected a finite negative_slope, found %g", negative_slope);
        return NULL;
    }
    return fci_unary(&def_leaky_relu, x, &negative_slope, 1);
}

/* PyTorch's defaults are beta 1, threshold 20; both are required here (0 is not a default: a
 * zero beta has no meaning and is rejected). */
fc_tensor *fc_softplus(fc_tensor *x, double beta, double threshold) {
    if (!x) return NULL;
    if (!(beta > 0) || !isfinite(beta) || isnan(threshold)) {
        fc_fail(FC_ERR_ARG, "softplus: expected beta > 0 and a threshold, found beta %g, threshold %g",
                beta, threshold);
        return NULL;
    }
    double p[2] = {beta, threshold};
    return fci_unary(&def_softplus, x, p, 2);
}
