/* Broadcasting arithmetic: add, sub, mul, div (and their scalar forms). Gradients are summed back
 * to each input's shape, as PyTorch does. */
#include "ops_impl.h"

typedef struct binary_def {
    const char *name;
    fci_binary_row row;
    const fci_op *op;
} binary_def;

/* Runs out = a (op) b on f32 CPU tensors with broadcasting, and records the node. */
static fc_tensor *binary(const binary_def *def, fc_tensor *a, fc_tensor *b) {
    if (!a || !b) return NULL;
    if (fci_check_float32(def->name, "a", a) || fci_check_float32(def->name, "b", b) ||
        fci_check_same_device(def->name, a, b) || fci_check_cpu(def->name, a))
        return NULL;
    fc_shape s;
    if (fci_broadcast_shape(def->name, a->ndim, a->shape, b->ndim, b->shape, &s.ndim, s.d))
        return NULL;
    fc_tensor *y = fci_tensor_alloc(s, FC_DTYPE_F32, a->device);
    if (!y) return NULL;
    fci_binary_loop(y, a, b, def->row, NULL);
    fc_tensor *in[2] = {a, b};
    if (fci_grad_needed(2, in) && !fci_record(def->op, y, 2, in)) return NULL;
    return y;
}

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
static const binary_def def_add = {"add", fci_add_row_f32, &op_add},
                        def_sub = {"sub", fci_sub_row_f32, &op_sub},
                        def_mul = {"mul", fci_mul_row_f32, &op_mul},
                        def_div = {"div", fci_div_row_f32, &op_div};

fc_tensor *fc_add(fc_tensor *a, fc_tensor *b) { return binary(&def_add, a, b); }
fc_tensor *fc_sub(fc_tensor *a, fc_tensor *b) { return binary(&def_sub, a, b); }
fc_tensor *fc_mul(fc_tensor *a, fc_tensor *b) { return binary(&def_mul, a, b); }
fc_tensor *fc_div(fc_tensor *a, fc_tensor *b) { return binary(&def_div, a, b); }

/* Scalar forms: the scalar is a 0-dim constant (no gradient), broadcast by the same loop. */
static fc_tensor *with_scalar(fc_tensor *(*f)(fc_tensor *, fc_tensor *), fc_tensor *a, double s) {
    if (!a) return NULL;
    fc_tensor *c = fc_scalar(s, .dtype = a->dtype);
    if (!c) return NULL;
    fc_tensor *y = f(a, c);
    fc_tensor_free(c);
    return y;
}

fc_tensor *fc_add_scalar(fc_tensor *a, double s) { return with_scalar(fc_add, a, s); }
fc_tensor *fc_mul_scalar(fc_tensor *a, double s) { return with_scalar(fc_mul, a, s); }
