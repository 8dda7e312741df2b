/* conv2d and conv_transpose2d (NCHW, as torch.nn.functional) on oneDNN. The forward node keeps the
 * primitive's descriptor; backward finds the cached primitives again by it and reads x and w from
 * the node's inputs. */
#include <string.h>

#include "autocast_impl.h"
#include "cpu/dnnl_conv.h"
#include "ops_impl.h"
#if FASTC_CUDA
#include "cuda/cuda_ops.h"
#endif

static fc_status conv_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx);
static const fci_op op_conv2d = {"conv2d", conv_bwd};
static const fci_op op_conv_transpose2d = {"conv_transpose2d", conv_bwd};

/* Runs one pass with a workspace from the caching allocator. */
static fc_status run(const char *op, const fci_conv_desc *d, fci_conv_pass pass, fc_tensor *x,
                     fc_tensor *w, fc_tensor *b, fc_tensor *y) {
#if FASTC_CUDA
    if (FCI_IS_CUDA(x))
        return fci_cuda_conv(x->device.index, op, d, pass, fc_tensor_data(x), fc_tensor_data(w),
                             b ? fc_tensor_data(b) : NULL, fc_tensor_data(y));
#endif
    size_t nbytes;
    fc_status st = fci_dnnl_conv_ws_bytes(op, d, pass, &nbytes);
    if (st) return st;
    void *ws = nbytes ? fci_alloc(nbytes) : NULL;
    if (nbytes && !ws) return fc_error_code();
    st = fci_dnnl_conv(op, d, pass, fc_tensor_data(x), fc_tensor_data(w),
                       b ? fc_tensor_data(b) : NULL, fc_tensor_data(y), ws);
    if (ws) fci_release(ws, nbytes);
    return st;
}

/* Validates the arguments and fills d; 0 when fine, else the error is set. */
static int setup(const char *op, int transposed, const fc_tensor *x, const fc_tensor *w,
                 const fc_tensor *b, const fc_conv2d_opts *o, fci_conv_desc *d) {
    if (fci_check_float32(op, "input", x) || fci_check_float32(op, "weight", w) ||
        (b && fci_check_float32(op, "bias", b)) || fci_check_device(op, x) ||
        fci_check_same_device(op, x, w) || (b && fci_check_same_device(op, x, b)) ||
        fci_check_ndim(op, "input [N, C, H, W]", x, 4) || fci_check_ndim(op, "weight", w, 4) ||
        (b && fci_check_ndim(op, "bias", b, 1)))
        return 1;
    int s[2], p[2], dl[2], op_[2], g = o->groups ? o->groups : 1;
    for (int i = 0; i < 2; i++) {
        s[i] = o->stride[i] ? o->stride[i] : 1;
        dl[i] = o->dilation[i] ? o->dilation[i] : 1;
        p[i] = o->padding[i];
        op_[i] = o->output_padding[i];
        if (s[i] < 1 || dl[i] < 1 || p[i] < 0 || op_[i] < 0) {
            fc_fail(FC_ERR_ARG, "%s: expected stride >= 1, dilation >= 1, padding >= 0 and "
                    "output_padding >= 0, found stride [%d, %d], dilation [%d, %d], padding [%d, %d], "
                    "output_padding [%d, %d]", op, o->stride[0], o->stride[1], o->dilation[0],
                    o->dilation[1], p[0], p[1], op_[0], op_[1]);
            return 1;
        }
        if (op_[i] && (!transposed || (op_[i] >= s[i] && op_[i] >= dl[i]))) {
            fc_fail(FC_ERR_ARG, "%s: expected output_padding smaller than stride or dilation "
                    "(and only for conv_transpose2d), found output_padding [%d, %d], stride [%d, %d], "
                    "dilation [%d, %d]", op, op_[0], op_[1], s[0], s[1], dl[0], dl[1]);
            return 1;
        }
    }
    if (g < 1) {
        fc_fail(FC_ERR_ARG, "%s: expected groups >= 1, found %d", op, g);
        return 1;
    }
    int64_t c = x->shape[1];
    /* conv: w [O, C/g, kh, kw]; transposed: w [C, O/g, kh, kw] */
    int64_t c_expect = transposed ? w->shape[0] : w->shape[1] * g;
    int64_t o_ch = transposed ? w->shape[1] * g : w->shape[0];
    if (c % g || (!transposed && o_ch % g)) {
        fc_fail(FC_ERR_SHAPE, "%s: groups %d must divide the input channels and output channels, "
                "found input %s and weight %s", op, g, fci_tshape(x), fci_tshape(w));
        return 1;
    }
    if (c != c_expect) {
        fc_fail(FC_ERR_SHAPE, "%s: expected input with %lld channels (weight %s), found %lld (input %s)",
                op, (long long)c_expect, fci_tshape(w), (long long)c, fci_tshape(x));
        return 1;
    }
    if (b && b->shape[0] != o_ch) {
        fc_fail(FC_ERR_SHAPE, "%s: expected bias of shape [%lld], found %s", op, (long long)o_ch,
                fci_tshape(b));
        return 1;
    }
    *d = (fci_conv_desc){.transposed = transposed, .n = x->shape[0], .c = c, .h = x->shape[2],
                         .w = x->shape[3], .o = o_ch, .kh = w->shape[2], .kw = w->shape[3],
                         .sh = s[0], .sw = s[1], .ph = p[0], .pw = p[1], .dh = dl[0], .dw = dl[1],
                         .groups = g, .has_bias = b != NULL};
    int64_t rh = (d->kh - 1) * d->dh + 1, rw = (d->kw - 1) * d->dw + 1;
    if (transposed) {
        d->oh = (d->h - 1) * d->sh - 2 * d->ph + rh + op_[0];
        d->ow = (d->w - 1) * d->sw - 2 * d->pw + rw + op_[1];
    } else {
        if (d->h + 2 * d->ph < rh || d->w + 2 * d->pw < rw) {
            fc_fail(FC_ERR_SHAPE, "%s: kernel %lldx%lld (dilated %lldx%lld) is larger than the padded "
                    "input %lldx%lld (input %s, padding [%d, %d])", op, (long long)d->kh,
                    (long long)d->kw, (long long)rh, (long long)rw, (long long)(d->h + 2 * d->ph),
                    (long long)(d->w + 2 * d->pw), fci_tshape(x), p[0], p[1]);
            return 1;
        }
        d->oh = (d->h + 2 * d->ph - rh) / d->sh + 1;
        d->ow = (d->w + 2 * d->pw - rw) / d->sw + 1;
    }
    if (d->oh < 1 || d->ow < 1 || d->n < 1 || d->c < 1) {
        fc_fail(FC_ERR_SHAPE, "%s: empty output %lldx%lld (input %s, weight %s)", op,
                (long long)d->oh, (long long)d->ow, fci_tshape(x), fci_tshape(w));
        return 1;
    }
    return 0;
}

static fc_tensor *conv(const fci_op *nodeop, int transposed, fc_tensor *x, fc_tensor *w,
                       fc_tensor *b, const fc_conv2d_opts *o) {
    if (!x || !w) return NULL;
    const char *op = nodeop->name;
    fci_conv_desc d;
    if (setup(op, transposed, x, w, b, o, &d)) return NULL;
    fc_tensor *y = fci_tensor_alloc(FC_SHAPE(d.n, d.o, d.oh, d.ow), FC_DTYPE_F32, x->device);
    fc_tensor *xc = fci_contig_f32_any(op, x), *wc = fci_contig_f32_any(op, w);
    fc_tensor *bc = b ? fci_contig_f32_any(op, b) : NULL;
    fc_status st = y && xc && wc && (bc || !b) ? run(op, &d, FCI_CONV_FWD, xc, wc, bc, y)
                                               : fc_error_code();
    fci_tensor_unref(bc);
    fci_tensor_unref(wc);
    fci_tensor_unref(xc);
    if (st) {
        fc_tensor_free(y);
        return NULL;
    }
    fc_tensor *in[3] = {x, w, b};
    int n_in = b ? 3 : 2;
    if (fci_grad_needed(n_in, in)) {
        fci_node *n = fci_record(nodeop, y, n_in, in);
        if (!n) return NULL;
        n->ip[0] = fci_autocast_compute_dtype(); /* backward's cuDNN passes run in it too */
        fci_conv_desc *saved = fci_calloc(1, sizeof *saved);
        if (!saved) return NULL;
        *saved = d;
        n->aux = saved;
        n->aux_free = fci_free;
    }
    return y;
}

static fc_status conv_grads(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    const fci_conv_desc *d = n->aux;
    const char *op = n->op->name;
    fc_tensor *x = n->in[0], *w = n->in[1];
    fc_status st = FC_OK;
    if (fci_node_needs_grad(n, 0)) {
        fc_tensor *wc = fci_contig_f32_any(op, w);
        gx[0] = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
        st = wc && gx[0] ? run(op, d, FCI_CONV_BWD_DATA, gx[0], wc, NULL, gy) : fc_error_code();
        fci_tensor_unref(wc);
        if (st) return st;
    }
    int need_b = d->has_bias && fci_node_needs_grad(n, 2);
    if (fci_node_needs_grad(n, 1) || need_b) {
        /* oneDNN computes the weight and bias gradients in one pass; an unwanted one is dropped */
        fc_tensor *xc = fci_contig_f32_any(op, x);
        fc_tensor *gw = fci_tensor_alloc(fc_tensor_shape(w), FC_DTYPE_F32, w->device);
        fc_tensor *gb = d->has_bias ? fci_tensor_alloc(FC_SHAPE(d->o), FC_DTYPE_F32, w->device) : NULL;
        st = xc && gw && (gb || !d->has_bias) ? run(op, d, FCI_CONV_BWD_WEIGHTS, xc, gw, gb, gy)
                                              : fc_error_code();
        fci_tensor_unref(xc);
        if (fci_node_needs_grad(n, 1)) gx[1] = gw;
        else fc_tensor_free(gw);
        if (need_b) gx[2] = gb;
        else fc_tensor_free(gb);
    }
    return st;
}

/* Under autocast as torch.autocast's: dy rounded to the forward's 16-bit type; on CUDA the cuDNN
 * backward-data and backward-filter passes run in it with f32 compute (src/ops/cuda/conv.c). */
static fc_status conv_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    return fci_autocast_backward(n, gy, gx, conv_grads);
}

fc_tensor *fc_conv2d_(fc_tensor *x, fc_tensor *w, fc_tensor *bias, const fc_conv2d_opts *o) {
    if (x && w && fci_autocast_on()) return fci_autocast_conv2d(x, w, bias, o);
    return conv(&op_conv2d, 0, x, w, bias, o);
}

fc_tensor *fc_conv_transpose2d_(fc_tensor *x, fc_tensor *w, fc_tensor *bias, const fc_conv2d_opts *o) {
    if (x && w && fci_autocast_on()) return fci_autocast_conv_transpose2d(x, w, bias, o);
    return conv(&op_conv_transpose2d, 1, x, w, bias, o);
}
