/* softmax and log_softmax along any dim (torch.softmax / torch.log_softmax), max-subtracted so
 * large logits do not overflow. */
#include "cpu/softmax.h"
#include "ops_impl.h"

/* saved[0]: the output y; ip[0]: the dim; ip[1]: 1 for log_softmax. */
static fc_status softmax_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *y = n->saved[0];
    int dim = (int)n->ip[0];
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < dim; i++) outer *= y->shape[i];
    for (int i = dim + 1; i < y->ndim; i++) inner *= y->shape[i];
    gx[0] = fci_tensor_alloc(fc_tensor_shape(y), FC_DTYPE_F32, y->device);
    if (!gx[0]) return fc_error_code();
#if FASTC_CUDA
    if (FCI_IS_CUDA(y)) {
        fci_cuda_softmax_bwd_launch(FCI_STREAM(y), fc_tensor_data(y), fc_tensor_data(gy),
                                    fc_tensor_data(gx[0]), outer, y->ndim ? y->shape[dim] : 1,
                                    inner, (int)n->ip[1]);
        return fci_cuda_launched(n->op->name);
    }
#endif
    fci_softmax_bwd_f32(fc_tensor_data(y), fc_tensor_data(gy), fc_tensor_data(gx[0]), outer,
                        y->ndim ? y->shape[dim] : 1, inner, (int)n->ip[1]);
    return FC_OK;
}
static const fci_op op_softmax = {"softmax", softmax_bwd},
                    op_log_softmax = {"log_softmax", softmax_bwd};

static fc_tensor *softmax_any(const char *op, fc_tensor *x, int dim, int is_log) {
    if (!x) return NULL;
    int d = x->ndim ? fci_wrap_dim(op, dim, x->ndim) : (dim == 0 || dim == -1 ? 0 : -1);
    if (d < 0) {
        if (!x->ndim) fc_fail(FC_ERR_ARG, "%s: dim %d out of range for a 0-dim input", op, dim);
        return NULL;
    }
    fc_tensor *xc = fci_contig_f32_any(op, x);
    if (!xc) return NULL;
    int64_t outer = 1, inner = 1, red = x->ndim ? x->shape[d] : 1;
    for (int i = 0; i < d; i++) outer *= x->shape[i];
    for (int i = d + 1; i < x->ndim; i++) inner *= x->shape[i];
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
#if FASTC_CUDA
    if (y && FCI_IS_CUDA(x)) {
        fci_cuda_softmax_fwd_launch(FCI_STREAM(x), fc_tensor_data(xc), fc_tensor_data(y), outer,
                                    red, inner, is_log);
        if (fci_cuda_launched(op) != FC_OK) {
            fc_tensor_free(y);
            y = NULL;
        }
    } else
#endif
    if (y) fci_softmax_fwd_f32(fc_tensor_data(xc), fc_tensor_data(y), outer, red, inner, is_log);
    fci_tensor_unref(xc);
    if (y && fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(is_log ? &op_log_softmax : &op_softmax, y, 1, &x);
        if (!n) return NULL;
        n->ip[0] = d;
        n->ip[1] = is_log;
        fci_save_output(n, 0, y);
    }
    return y;
}

fc_tensor *fc_softmax(fc_tensor *x, int dim) { return softmax_any("softmax", x, dim, 0); }
fc_tensor *fc_log_softmax(fc_tensor *x, int dim) { return softmax_any("log_softmax", x, dim, 1); }
