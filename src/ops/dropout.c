/* Inverted dropout as torch.nn.functional.dropout: kept elements are scaled by 1 / (1 - p) so the
 * expectation is unchanged. The mask comes from the global counter-based generator (numel counters
 * reserved per call), so a seed gives the same mask on any thread count. The node saves the mask
 * (u8) in saved[0] and the scale in fp[0]. */
#include <math.h>

#include "cpu/dropout.h"
#include "ops_impl.h"

static fc_status dropout_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    gx[0] = fci_tensor_alloc(fc_tensor_shape(gy), FC_DTYPE_F32, gy->device);
    if (!gx[0]) return fc_error_code();
#if FASTC_CUDA
    if (FCI_IS_CUDA(gy)) {
        fci_cuda_dropout_bwd_launch(FCI_STREAM(gy), fc_tensor_data(gy), fc_tensor_data(n->saved[0]),
                                    fc_tensor_data(gx[0]), fc_tensor_numel(gy), (float)n->fp[0]);
        return fci_cuda_launched("dropout");
    }
#endif
    fci_dropout_bwd_f32(fc_tensor_data(gy), fc_tensor_data(n->saved[0]), fc_tensor_data(gx[0]),
                        fc_tensor_numel(gy), (float)n->fp[0]);
    return FC_OK;
}
static const fci_op op_dropout = {"dropout", dropout_bwd};

fc_tensor *fc_dropout(fc_tensor *x, double p, int training) {
    if (!x) return NULL;
    if (fci_check_float32("dropout", "input", x) || fci_check_device("dropout", x)) return NULL;
    if (!(p >= 0 && p <= 1)) {
        fc_fail(FC_ERR_ARG, "dropout: expected p in [0, 1], found %g", p);
        return NULL;
    }
    /* identity: a view of x that passes the gradient through unchanged */
    if (!training || p == 0) return fc_expand(x, fc_tensor_shape(x));
    fc_tensor *xc = fci_contig_f32_any("dropout", x);
    if (!xc) return NULL;
    int64_t n = fc_tensor_numel(x);
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
    fc_tensor *mask = y ? fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_U8, x->device) : NULL;
    if (!mask) {
        fc_tensor_free(y);
        fci_tensor_unref(xc);
        return NULL;
    }
    float scale = p < 1 ? (float)(1.0 / (1.0 - p)) : 0.0f; /* p == 1 drops everything */
    uint64_t seed, base = fc_rng_reserve((uint64_t)n, &seed);
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) { /* the CPU's threshold: keep when u24 >= ceil(p 2^24) */
        double t = ceil(p * 16777216.0);
        uint32_t thr = t > 16777216.0 ? 16777217u : (uint32_t)t;
        fci_cuda_dropout_fwd_launch(FCI_STREAM(x), fc_tensor_data(xc), fc_tensor_data(y),
                                    fc_tensor_data(mask), n, seed, base, thr, scale);
        if (fci_cuda_launched("dropout") != FC_OK) {
            fci_tensor_unref(xc);
            fc_tensor_free(mask);
            fc_tensor_free(y);
            return NULL;
        }
    } else
#endif
    fci_dropout_fwd_f32(fc_tensor_data(xc), fc_tensor_data(y), fc_tensor_data(mask), n, seed, base,
                        p, scale);
    fci_tensor_unref(xc);
    if (fci_grad_needed(1, &x)) {
        fci_node *nd = fci_record(&op_dropout, y, 1, &x);
        if (!nd) y = NULL;
        else {
            nd->fp[0] = scale;
            fci_save(nd, 0, mask);
        }
    }
    fc_tensor_free(mask);
    return y;
}
