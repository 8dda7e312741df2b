/* Pointwise functions of one tensor: a table of (name, forward kernel, backward) so that each new
 * function is a kernel plus a few lines. */
#include "ops_impl.h"

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

static fc_status neg_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    (void)n;
    gx[0] = fc_neg(gy);
    return gx[0] ? FC_OK : fc_error_code();
}
static const unary_def def_neg = {"neg", fci_neg_f32, {"neg", neg_bwd}};

fc_tensor *fc_neg(fc_tensor *x) { return fci_unary(&def_neg, x, NULL, 0); }
