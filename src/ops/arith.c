/* Broadcasting arithmetic: add, sub, mul, div (and their scalar forms). Gradients are summed back
 * to each input's shape, as PyTorch does. */
#include "ops_impl.h"

static fc_status add_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    for (int i = 0; i < 2; i++)
        if (fci_node_needs_grad(n, i) && !(gx[i] = fci_reduce_to(gy, n->in[i])))
            return fc_error_code();
    return FC_OK;
}

static fc_status sub_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    if (fci_node_needs_grad(n, 0) && !(gx[0] = fci_reduce_to(gy, n->in[0]))) return fc_error_code();
    if (fci_node_needs_grad(n, 1)) {
        fc_tensor *ng = fc_neg(gy);
        gx[1] = ng ? fci_reduce_to(ng, n->in[1]) : NULL;
        if (!gx[1]) return fc_error_code();
    }
    return FC_OK;
}

static fc_status mul_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    for (int i = 0; i < 2; i++) {
        if (!fci_node_needs_grad(n, i)) continue;
        fc_tensor *g = fc_mul(gy, n->in[1 - i]);
        gx[i] = g ? fci_reduce_to(g, n->in[i]) : NULL;
        if (!gx[i]) return fc_error_code();
    }
    return FC_OK;
}

/* d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 */
static fc_status div_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *a = n->in[0], *b = n->in[1];
    fc_tensor *ga = fc_div(gy, b);
    if (!ga) return fc_error_code();
    if (fci_node_needs_grad(n, 0) && !(gx[0] = fci_reduce_to(ga, a))) return fc_error_code();
    if (fci_node_needs_grad(n, 1)) {
        fc_tensor *gb = fc_neg(fc_div(fc_mul(ga, a), b));
        if (!gb || !(gx[1] = fci_reduce_to(gb, b))) return fc_error_code();
    }
    return FC_OK;
}

static const fci_op op_add = {"add", add_bwd}, op_sub = {"sub", sub_bwd},
                    op_mul = {"mul", mul_bwd}, op_div = {"div", div_bwd};

fc_tensor *fc_add(fc_tensor *a, fc_tensor *b) { return fci_binary_op("add", fci_add_row_f32, &op_add, a, b); }
fc_tensor *fc_sub(fc_tensor *a, fc_tensor *b) { return fci_binary_op("sub", fci_sub_row_f32, &op_sub, a, b); }
fc_tensor *fc_mul(fc_tensor *a, fc_tensor *b) { return fci_binary_op("mul", fci_mul_row_f32, &op_mul, a, b); }
fc_tensor *fc_div(fc_tensor *a, fc_tensor *b) { return fci_binary_op("div", fci_div_row_f32, &op_div, a, b); }

/* Scalar forms: the scalar is a 0-dim constant (no gradient), broadcast by the same loop. */
static fc_tensor *with_scalar(fc_tensor *(*f)(fc_tensor *, fc_tensor *), fc_tensor *a, double s) {
    if (!a) return NULL;
    fc_tensor *c = fc_scalar(s, .dtype = a->dtype, .device = a->device);
    if (!c) return NULL;
    fc_tensor *y = f(a, c);
    fc_tensor_free(c);
    return y;
}

fc_tensor *fc_add_scalar(fc_tensor *a, double s) { return with_scalar(fc_add, a, s); }
fc_tensor *fc_mul_scalar(fc_tensor *a, double s) { return with_scalar(fc_mul, a, s); }
