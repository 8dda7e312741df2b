/* Losses with PyTorch's semantics (torch.nn.functional): cross_entropy (fused log_softmax + nll,
 * class weights, ignore_index, label smoothing), nll_loss, mse, l1, smooth_l1, bce_with_logits.
 * Reduction mean divides by the sum of the target weights for the class losses (as PyTorch) and
 * by the element count for the others. Class weights and pos_weight get no gradient. */
#include <stdio.h>
#include <string.h>

#include "cpu/loss.h"
#include "fastc/cuda.h"
#include "ops_impl.h"

static int check_reduction(const char *op, const fc_loss_opts *o) {
    if (o->reduction >= FC_REDUCTION_MEAN && o->reduction <= FC_REDUCTION_NONE) return 0;
    fc_fail(FC_ERR_ARG, "%s: .reduction must be mean, sum or none, found %d", op, (int)o->reduction);
    return 1;
}

/* A scalar (mean or sum) result holding v. */
static fc_tensor *scalar_out(double v, fc_device dev) {
    fc_tensor *y = fci_tensor_alloc(FC_SCALAR_SHAPE, FC_DTYPE_F32, dev);
    if (y) *(float *)fc_tensor_data(y) = (float)v;
    return y;
}

/* ---- class-index losses: cross_entropy and nll_loss ---- */

/* Checks logits [N, C, d...] (or [C]) against target [N, d...] (or []), and the options; fills the
 * geometry and returns the target as contiguous i64 (a new tensor outside any scope). */
static fc_tensor *class_setup(const char *op, fc_tensor *x, fc_tensor *target,
                              const fc_loss_opts *o, fci_class_loss *c) {
    if (fci_check_float32(op, "input", x) || fci_check_device(op, x) ||
        fci_check_index_dtype(op, "target", target) || fci_check_same_device(op, x, target) ||
        check_reduction(op, o))
        return NULL;
    if (x->ndim < 1) {
        fc_fail(FC_ERR_SHAPE, "%s: expected input [N, C, d...] or [C], found a 0-dim tensor", op);
        return NULL;
    }
    int cd = x->ndim == 1 ? 0 : 1;
    fc_shape want = {0, {0}};
    for (int i = 0; i < x->ndim; i++)
        if (i != cd) want.d[want.ndim++] = x->shape[i];
    if (target->ndim != want.ndim ||
        memcmp(target->shape, want.d, sizeof(int64_t) * (size_t)want.ndim)) {
        fc_fail(FC_ERR_SHAPE, "%s: expected target of shape %s for input %s, found %s", op,
                fci_shape_str(want.ndim, want.d), fci_tshape(x), fci_tshape(target));
        return NULL;
    }
    *c = (fci_class_loss){.C = x->shape[cd], .outer = 1, .inner = 1, .ignore = o->ignore_index,
                          .has_ignore = o->has_ignore_index, .eps = (float)o->label_smoothing};
    if (cd) c->outer = x->shape[0];
    for (int i = 2; i < x->ndim; i++) c->inner *= x->shape[i];
    if (o->label_smoothing < 0 || o->label_smoothing > 1) {
        fc_fail(FC_ERR_ARG, "%s: .label_smoothing must be in [0, 1], found %g", op,
                o->label_smoothing);
        return NULL;
    }
    if (o->weight) {
        if (fci_check_float32(op, "weight", o->weight) ||
            fci_check_same_device(op, x, o->weight))
            return NULL;
        if (o->weight->ndim != 1 || o->weight->shape[0] != c->C) {
            fc_fail(FC_ERR_SHAPE, "%s: expected weight of shape [%lld] (one per class), found %s",
                    op, (long long)c->C, fci_tshape(o->weight));
            return NULL;
        }
    }
    fc_tensor *t = fci_tensor_alloc(want, FC_DTYPE_I64, x->device);
    if (!t) return NULL;
    fc_keep(t);
    if (fci_copy_strided(t, target) != FC_OK) goto fail;
    /* CUDA targets are checked on a host copy (n i64): a bad class must fail clearly */
    fc_tensor *th = t->device.type == FC_DEVICE_CPU ? fc_tensor_ref(t) : fc_keep(fc_tensor_to(t, FC_CPU));
    if (!th) goto fail;
    int64_t bad = fci_first_bad_target(fc_tensor_data(th), fc_tensor_numel(th), c->C,
                                       c->has_ignore, c->ignore);
    int64_t bad_value = bad >= 0 ? ((int64_t *)fc_tensor_data(th))[bad] : 0;
    fci_tensor_unref(th);
    if (bad >= 0) {
        char ign[64] = "";
        if (c->has_ignore) snprintf(ign, sizeof ign, " or ignore_index %lld", (long long)c->ignore);
        fc_fail(FC_ERR_ARG, "%s: target at position %lld is %lld, expected a class index in [0, %lld)%s",
                op, (long long)bad, (long long)bad_value,
                (long long)c->C, ign);
        goto fail;
    }
    c->t = fc_tensor_data(t);
    return t;
fail:
    fc_tensor_free(t);
    return NULL;
}

/* Reduces per-sample losses (loss, wt: numel of target) to the result; *denom gets the divisor. */
static fc_tensor *class_reduce(fc_tensor *loss, fc_tensor *wt, fc_reduction red, double *denom) {
    *denom = 1;
    if (red == FC_REDUCTION_NONE) return loss;
    const float *l = fc_tensor_data(loss), *w = fc_tensor_data(wt);
    double s = 0, ws = 0;
    for (int64_t i = 0; i < fc_tensor_numel(loss); i++) s += l[i], ws += w[i];
    if (red == FC_REDUCTION_MEAN) *denom = ws; /* 0 when every target is ignored: nan, as PyTorch */
    return scalar_out(red == FC_REDUCTION_MEAN ? s / ws : s, loss->device);
}

/* The upstream gradient as (pointer, stride, scale) over samples. */
static void grad_spec(const fci_node *n, fc_tensor *gy, int64_t *stride, float *scale) {
    fc_reduction red = (fc_reduction)n->ip[0];
    *stride = red == FC_REDUCTION_NONE;
    *scale = red == FC_REDUCTION_MEAN ? (float)(1.0 / n->fp[1]) : 1.0f;
}

static fci_class_loss class_from_node(const fci_node *n) {
    return (fci_class_loss){.t = fc_tensor_data(n->saved[0]),
                            .w = n->saved[1] ? fc_tensor_data(n->saved[1]) : NULL,
                            .outer = n->ip[4], .C = n->ip[3], .inner = n->ip[5],
                            .ignore = n->ip[2], .has_ignore = (int)n->ip[1], .eps = (float)n->fp[0]};
}

/* saved: [0] target (i64), [1] weight contiguous or NULL, [2] (max, log-sum-exp) per sample. */
#if FASTC_CUDA
static fci_cuda_class_loss cuda_class(const fci_class_loss *c) {
    return (fci_cuda_class_loss){.t = c->t, .w = c->w, .outer = c->outer, .C = c->C,
                                 .inner = c->inner, .ignore = c->ignore,
                                 .has_ignore = c->has_ignore, .eps = c->eps};
}
#endif

static fc_status cross_entropy_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *x = n->in[0], *xc = fci_contig_f32_any("cross_entropy", x);
    if (!xc) return fc_error_code();
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) { /* saved[3]: the mean's divisor, saved[4]: sum of class weights */
        fci_class_loss c = class_from_node(n);
        fci_cuda_class_loss cc = cuda_class(&c);
        gx[0] = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
        if (gx[0]) {
            fci_cuda_cross_entropy_bwd_launch(
                FCI_STREAM(x), &cc, fc_tensor_data(xc), fc_tensor_data(n->saved[2]),
                fc_tensor_data(gy), n->ip[0] == FC_REDUCTION_NONE,
                n->saved[3] ? fc_tensor_data(n->saved[3]) : NULL,
                n->saved[4] ? fc_tensor_data(n->saved[4]) : NULL, fc_tensor_data(gx[0]));
            if (fci_cuda_launched("cross_entropy") != FC_OK) {
                fc_tensor_free(gx[0]);
                gx[0] = NULL;
            }
        }
        fci_tensor_unref(xc);
        return gx[0] ? FC_OK : fc_error_code();
    }
#endif
    fci_class_loss c = class_from_node(n);
    int64_t stride;
    float scale;
    grad_spec(n, gy, &stride, &scale);
    gx[0] = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
    if (gx[0])
        fci_cross_entropy_bwd_f32(&c, fc_tensor_data(xc), fc_tensor_data(n->saved[2]),
                                  fc_tensor_data(gy), stride, scale, fc_tensor_data(gx[0]));
    fci_tensor_unref(xc);
    return gx[0] ? FC_OK : fc_error_code();
}

static fc_status nll_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fci_class_loss c = class_from_node(n);
#if FASTC_CUDA
    if (FCI_IS_CUDA(n->in[0])) { /* saved[3]: the mean's divisor on the device (NULL: none) */
        fci_cuda_class_loss cc = cuda_class(&c);
        gx[0] = fci_tensor_alloc(fc_tensor_shape(n->in[0]), FC_DTYPE_F32, n->in[0]->device);
        if (!gx[0]) return fc_error_code();
        fci_cuda_nll_bwd_launch(FCI_STREAM(n->in[0]), &cc, fc_tensor_data(gy), n->ip[0] == FC_REDUCTION_NONE,
                                n->saved[3] ? fc_tensor_data(n->saved[3]) : NULL, fc_tensor_data(gx[0]));
        return fci_cuda_launched("nll_loss");
    }
#endif
    int64_t stride;
    float scale;
    grad_spec(n, gy, &stride, &scale);
    gx[0] = fci_tensor_alloc(fc_tensor_shape(n->in[0]), FC_DTYPE_F32, n->in[0]->device);
    if (gx[0]) fci_nll_bwd_f32(&c, fc_tensor_data(gy), stride, scale, fc_tensor_data(gx[0]));
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_cross_entropy = {"cross_entropy", cross_entropy_bwd},
                    op_nll_loss = {"nll_loss", nll_bwd};

#if FASTC_CUDA
/* The device's per-sample class losses reduced in one block (reduction none: the per-sample losses
 * themselves, taken from *loss). *wsum receives the mean's divisor, kept on the device for
 * backward. NULL on failure. */
static fc_tensor *class_reduce_cuda(const char *op, fc_tensor *x, fc_tensor **loss, fc_tensor *wt, int64_t n,
                                    fc_reduction reduction, fc_tensor **wsum) {
    if (reduction == FC_REDUCTION_NONE) {
        fc_tensor *y = *loss;
        *loss = NULL;
        return y;
    }
    int mean = reduction == FC_REDUCTION_MEAN;
    fc_tensor *y = fci_tensor_alloc(FC_SCALAR_SHAPE, FC_DTYPE_F32, x->device);
    *wsum = y && mean ? fci_tensor_alloc(FC_SCALAR_SHAPE, FC_DTYPE_F32, x->device) : NULL;
    if (y && (!mean || *wsum)) {
        fci_cuda_class_reduce_launch(FCI_STREAM(x), fc_tensor_data(*loss), fc_tensor_data(wt), n, mean,
                                     fc_tensor_data(y), *wsum ? fc_tensor_data(*wsum) : NULL);
        if (fci_cuda_launched(op) == FC_OK) return y;
    }
    fc_tensor_free(y);
    return NULL;
}

/* nll_loss on the device: the per-sample kernel, then cross entropy's reduction (one block); the
 * mean's divisor stays on the device for backward. */
static fc_tensor *nll_cuda(fc_tensor *x, fc_tensor *t, const fc_loss_opts *o, fci_class_loss *c) {
    const char *op = "nll_loss";
    fc_shape ts = fc_tensor_shape(t);
    int64_t n = fc_shape_numel(ts);
    fc_tensor *xc = fci_contig_f32_any(op, x), *w = NULL, *y = NULL, *wsum = NULL;
    fc_tensor *loss = xc ? fci_tensor_alloc(ts, FC_DTYPE_F32, x->device) : NULL;
    fc_tensor *wt = loss ? fci_tensor_alloc(ts, FC_DTYPE_F32, x->device) : NULL;
    if (wt && o->weight && (w = fci_contig_f32_any(op, o->weight))) c->w = fc_tensor_data(w);
    if (!wt || (o->weight && !w)) goto done;
    fci_cuda_class_loss cc = cuda_class(c);
    fci_cuda_nll_fwd_launch(FCI_STREAM(x), &cc, fc_tensor_data(xc), fc_tensor_data(loss), fc_tensor_data(wt));
    if (fci_cuda_launched(op) != FC_OK) goto done;
    if (!(y = class_reduce_cuda(op, x, &loss, wt, n, o->reduction, &wsum))) goto done;
    if (fci_grad_needed(1, &x)) {
        fci_node *nd = fci_record(&op_nll_loss, y, 1, &x);
        if (!nd) {
            y = NULL;
            goto done;
        }
        nd->ip[0] = o->reduction, nd->ip[1] = c->has_ignore, nd->ip[2] = c->ignore;
        nd->ip[3] = c->C, nd->ip[4] = c->outer, nd->ip[5] = c->inner;
        nd->fp[0] = 0, nd->fp[1] = 1;
        fci_save(nd, 0, t);
        fci_save(nd, 1, w);
        fci_save(nd, 3, wsum);
    }
done:
    if (w) fci_tensor_unref(w);
    if (xc) fci_tensor_unref(xc);
    fc_tensor_free(wsum);
    fc_tensor_free(wt);
    fc_tensor_free(loss);
    return y;
}

/* Cross entropy on the device: the fused kernel per sample, the reduction in one block, and the
 * mean's divisor kept on the device for backward (no host sync in forward or backward). */
static fc_tensor *cross_entropy_cuda(fc_tensor *x, fc_tensor *t, const fc_loss_opts *o,
                                     fci_class_loss *c) {
    const char *op = "cross_entropy";
    fc_shape ts = fc_tensor_shape(t);
    int64_t n = fc_shape_numel(ts);
    fc_tensor *xc = fci_contig_f32_any(op, x), *w = NULL, *y = NULL, *wsum = NULL, *wtot = NULL;
    fc_tensor *loss = xc ? fci_tensor_alloc(ts, FC_DTYPE_F32, x->device) : NULL;
    fc_tensor *wt = loss ? fci_tensor_alloc(ts, FC_DTYPE_F32, x->device) : NULL;
    fc_tensor *lse = wt ? fci_tensor_alloc(FC_SHAPE(2 * n), FC_DTYPE_F32, x->device) : NULL;
    if (lse && o->weight && (w = fci_contig_f32_any(op, o->weight))) c->w = fc_tensor_data(w);
    if (!lse || (o->weight && !w)) goto done;
    if (w && c->eps != 0 && !(wtot = fc_sum(w, FC_ALL_DIMS, 0))) goto done;
    fci_cuda_class_loss cc = cuda_class(c);
    fci_cuda_cross_entropy_fwd_launch(FCI_STREAM(x), &cc, fc_tensor_data(xc), fc_tensor_data(loss),
                                      fc_tensor_data(wt), fc_tensor_data(lse));
    if (fci_cuda_launched(op) != FC_OK) goto done;
    if (!(y = class_reduce_cuda(op, x, &loss, wt, n, o->reduction, &wsum))) goto done;
    if (fci_grad_needed(1, &x)) {
        fci_node *nd = fci_record(&op_cross_entropy, y, 1, &x);
        if (!nd) {
            y = NULL;
            goto done;
        }
        nd->ip[0] = o->reduction, nd->ip[1] = c->has_ignore, nd->ip[2] = c->ignore;
        nd->ip[3] = c->C, nd->ip[4] = c->outer, nd->ip[5] = c->inner;
        nd->fp[0] = c->eps, nd->fp[1] = 1;
        fci_save(nd, 0, t);
        fci_save(nd, 1, w);
        fci_save(nd, 2, lse);
        fci_save(nd, 3, wsum);
        fci_save(nd, 4, wtot);
    }
done:
    if (w) fci_tensor_unref(w);
    if (xc) fci_tensor_unref(xc);
    fc_tensor_free(wtot);
    fc_tensor_free(wsum);
    fc_tensor_free(lse);
    fc_tensor_free(wt);
    fc_tensor_free(loss);
    return y;
}
#endif

static fc_tensor *class_loss(const char *op, fc_tensor *x, fc_tensor *target,
                             const fc_loss_opts *o, int is_ce) {
    if (!x || !target) return NULL;
    fci_class_loss c;
    fc_tensor *t = class_setup(op, x, target, o, &c);
    if (!t) return NULL;
    if (!is_ce && c.eps != 0) {
        fc_fail(FC_ERR_ARG, "%s: .label_smoothing applies to cross_entropy only, found %g", op,
                o->label_smoothing);
        fc_tensor_free(t);
        return NULL;
    }
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        fc_tensor *y = is_ce ? cross_entropy_cuda(x, t, o, &c) : nll_cuda(x, t, o, &c);
        fc_tensor_free(t);
        return y;
    }
#endif
    fc_tensor *xc = fci_contig_f32(op, x), *w = NULL, *y = NULL;
    fc_shape ts = fc_tensor_shape(t);
    fc_tensor *loss = xc ? fci_tensor_alloc(ts, FC_DTYPE_F32, x->device) : NULL;
    fc_tensor *wt = loss ? fci_tensor_alloc(ts, FC_DTYPE_F32, x->device) : NULL;
    fc_tensor *lse = wt && is_ce ? fci_tensor_alloc(FC_SHAPE(2 * fc_shape_numel(ts)), FC_DTYPE_F32,
                                                   x->device)
                                : NULL;
    if (o->weight && (w = fci_contig_f32(op, o->weight))) c.w = fc_tensor_data(w);
    if (!wt || (is_ce && !lse) || (o->weight && !w)) goto done;
    if (is_ce)
        fci_cross_entropy_fwd_f32(&c, fc_tensor_data(xc), fc_tensor_data(loss), fc_tensor_data(wt),
                                  fc_tensor_data(lse));
    else
        fci_nll_fwd_f32(&c, fc_tensor_data(xc), fc_tensor_data(loss), fc_tensor_data(wt));
    double denom;
    y = class_reduce(loss, wt, o->reduction, &denom);
    if (y && fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(is_ce ? &op_cross_entropy : &op_nll_loss, y, 1, &x);
        if (!n) { /* fci_record freed y */
            if (o->reduction == FC_REDUCTION_NONE) loss = NULL;
            y = NULL;
            goto done;
        }
        n->ip[0] = o->reduction, n->ip[1] = c.has_ignore, n->ip[2] = c.ignore;
        n->ip[3] = c.C, n->ip[4] = c.outer, n->ip[5] = c.inner;
        n->fp[0] = c.eps, n->fp[1] = denom;
        fci_save(n, 0, t);
        fci_save(n, 1, w);
        fci_save(n, 2, lse);
    }
done:
    if (w) fci_tensor_unref(w);
    if (xc) fci_tensor_unref(xc);
    fc_tensor_free(lse);
    fc_tensor_free(wt);
    if (!y || o->reduction != FC_REDUCTION_NONE) fc_tensor_free(loss);
    fc_tensor_free(t);
    return y;
}

fc_tensor *fc_cross_entropy_(fc_tensor *logits, fc_tensor *target, const fc_loss_opts *o) {
    return class_loss("cross_entropy", logits, target, o, 1);
}
fc_tensor *fc_nll_loss_(fc_tensor *logp, fc_tensor *target, const fc_loss_opts *o) {
    return class_loss("nll_loss", logp, target, o, 0);
}

/* ---- pointwise losses: mse, l1, smooth_l1, bce_with_logits ---- */

/* x and y broadcast to one shape (as PyTorch; expand keeps the gradient path), then contiguous. */
static int pair_setup(const char *op, fc_tensor **x, fc_tensor **y, const fc_loss_opts *o) {
    if (fci_check_float32(op, "input", *x) || fci_check_float32(op, "target", *y) ||
        fci_check_same_device(op, *x, *y) || fci_check_device(op, *x) || check_reduction(op, o))
        return 1;
    fc_shape s;
    if (fci_broadcast_shape(op, (*x)->ndim, (*x)->shape, (*y)->ndim, (*y)->shape, &s.ndim, s.d))
        return 1;
    if ((*x)->ndim != s.ndim || memcmp((*x)->shape, s.d, sizeof(int64_t) * (size_t)s.ndim))
        *x = fc_expand(*x, s);
    if ((*y)->ndim != s.ndim || memcmp((*y)->shape, s.d, sizeof(int64_t) * (size_t)s.ndim))
        *y = fc_expand(*y, s);
    return !*x || !*y;
}

/* ip[0]: reduction, ip[1]: kind; fp[0]: beta; fp[1]: element count. */
static fc_status pw_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *xc = fci_contig_f32_any("loss", n->in[0]), *yc = fci_contig_f32_any("loss", n->in[1]);
    fc_tensor *g = xc && yc ? fci_tensor_alloc(fc_tensor_shape(xc), FC_DTYPE_F32, xc->device) : NULL;
    fc_reduction red = (fc_reduction)n->ip[0];
    float scale = red == FC_REDUCTION_MEAN ? (float)(1.0 / n->fp[1]) : 1.0f;
#if FASTC_CUDA
    if (g && FCI_IS_CUDA(g)) {
        fci_cuda_pw_loss_bwd_launch(FCI_STREAM(g), (int)n->ip[1], fc_tensor_data(xc), fc_tensor_data(yc),
                                    fc_tensor_numel(xc), (float)n->fp[0], fc_tensor_data(gy),
                                    red == FC_REDUCTION_NONE, scale, fc_tensor_data(g));
        if (fci_cuda_launched("loss") != FC_OK) {
            fci_tensor_unref(g);
            g = NULL;
        }
    } else
#endif
    if (g)
        fci_pw_loss_bwd_f32((fci_pw_loss)n->ip[1], fc_tensor_data(xc), fc_tensor_data(yc),
                            fc_tensor_numel(xc), (float)n->fp[0], fc_tensor_data(gy),
                            red == FC_REDUCTION_NONE, scale, fc_tensor_data(g));
    /* both devices: d/dy = -d/dx for every pointwise loss here */
    if (g && fci_node_needs_grad(n, 1)) gx[1] = fc_neg(g);
    if (g && fci_node_needs_grad(n, 0)) gx[0] = g;
    if (xc) fci_tensor_unref(xc);
    if (yc) fci_tensor_unref(yc);
    return (!fci_node_needs_grad(n, 0) || gx[0]) && (!fci_node_needs_grad(n, 1) || gx[1])
               ? FC_OK : fc_error_code();
}
static const fci_op op_pw = {"loss", pw_bwd};

static fc_tensor *pw_loss(const char *op, fci_pw_loss kind, fc_tensor *x, fc_tensor *y,
                          const fc_loss_opts *o) {
    if (!x || !y || pair_setup(op, &x, &y, o)) return NULL;
    float beta = o->beta != 0 ? (float)o->beta : 1.0f;
    if (kind == FCI_LOSS_SMOOTH_L1 && beta < 0) {
        fc_fail(FC_ERR_ARG, "%s: .beta must be >= 0, found %g", op, o->beta);
        return NULL;
    }
    fc_tensor *xc = fci_contig_f32_any(op, x), *yc = xc ? fci_contig_f32_any(op, y) : NULL, *out = NULL;
    if (!yc) goto done;
    int64_t n = fc_tensor_numel(xc);
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        int none = o->reduction == FC_REDUCTION_NONE;
        out = fci_tensor_alloc(none ? fc_tensor_shape(xc) : FC_SCALAR_SHAPE, FC_DTYPE_F32, x->device);
        if (out) {
            fci_cuda_pw_loss_fwd_launch(FCI_STREAM(x), kind, fc_tensor_data(xc), fc_tensor_data(yc), n, beta,
                                        none ? fc_tensor_data(out) : NULL, none ? NULL : fc_tensor_data(out),
                                        o->reduction == FC_REDUCTION_MEAN ? (double)n : 1.0);
            if (fci_cuda_launched(op) != FC_OK) {
                fc_tensor_free(out);
                out = NULL;
            }
        }
    } else
#endif
    if (o->reduction == FC_REDUCTION_NONE) {
        if ((out = fci_tensor_alloc(fc_tensor_shape(xc), FC_DTYPE_F32, x->device)))
            fci_pw_loss_fwd_f32(kind, fc_tensor_data(xc), fc_tensor_data(yc), n, beta,
                                fc_tensor_data(out));
    } else {
        double s = fci_pw_loss_fwd_f32(kind, fc_tensor_data(xc), fc_tensor_data(yc), n, beta, NULL);
        out = scalar_out(o->reduction == FC_REDUCTION_MEAN ? s / (double)n : s, x->device);
    }
    fc_tensor *in[2] = {x, y};
    if (out && fci_grad_needed(2, in)) {
        fci_node *nd = fci_record(&op_pw, out, 2, in);
        if (!nd) out = NULL;
        else {
            nd->ip[0] = o->reduction, nd->ip[1] = kind;
            nd->fp[0] = beta, nd->fp[1] = (double)n;
        }
    }
done:
    if (yc) fci_tensor_unref(yc);
    if (xc) fci_tensor_unref(xc);
    return out;
}

fc_tensor *fc_mse_loss_(fc_tensor *x, fc_tensor *y, const fc_loss_opts *o) {
    return pw_loss("mse_loss", FCI_LOSS_MSE, x, y, o);
}
fc_tensor *fc_l1_loss_(fc_tensor *x, fc_tensor *y, const fc_loss_opts *o) {
    return pw_loss("l1_loss", FCI_LOSS_L1, x, y, o);
}
fc_tensor *fc_smooth_l1_loss_(fc_tensor *x, fc_tensor *y, const fc_loss_opts *o) {
    return pw_loss("smooth_l1_loss", FCI_LOSS_SMOOTH_L1, x, y, o);
}

/* weight or pos_weight broadcast to x's shape as a contiguous f32 (released with
 * fci_tensor_unref); *p NULL when not given; 1 on error. */
static int full_like(const char *op, const char *what, fc_tensor *w, const fc_tensor *x,
                     fc_tensor **p) {
    *p = NULL;
    if (!w) return 0;
    if (fci_check_float32(op, what, w) || fci_check_same_device(op, w, x)) return 1;
    fc_shape s;
    if (fci_broadcast_shape(op, w->ndim, w->shape, x->ndim, x->shape, &s.ndim, s.d)) return 1;
    if (s.ndim != x->ndim || memcmp(s.d, x->shape, sizeof(int64_t) * (size_t)s.ndim)) {
        fc_fail(FC_ERR_SHAPE, "%s: expected %s that broadcasts to the input %s, found %s", op,
                what, fci_tshape(x), fci_tshape(w));
        return 1;
    }
    int64_t st[FC_MAX_DIMS];
    fci_broadcast_strides(w, s.ndim, s.d, st);
    fc_tensor *v = fci_tensor_view(w, s.ndim, s.d, st, w->offset);
    *p = v ? fci_contig_f32_any(op, v) : NULL;
    fc_tensor_free(v);
    return !*p;
}

/* saved: [0] weight, [1] pos_weight (full size, or NULL); ip[0]: reduction; fp[1]: count. */
static fc_status bce_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *xc = fci_contig_f32_any("bce_with_logits", n->in[0]);
    fc_tensor *yc = xc ? fci_contig_f32_any("bce_with_logits", n->in[1]) : NULL;
    fc_shape s = fc_tensor_shape(n->in[0]);
    for (int i = 0; i < 2 && yc; i++)
        if (fci_node_needs_grad(n, i) && !(gx[i] = fci_tensor_alloc(s, FC_DTYPE_F32, xc->device)))
            break;
    fc_status st = fc_error_code();
    if (yc && st == FC_OK) {
        fc_reduction red = (fc_reduction)n->ip[0];
        float scale = red == FC_REDUCTION_MEAN ? (float)(1.0 / n->fp[1]) : 1.0f;
#if FASTC_CUDA
        if (FCI_IS_CUDA(xc)) {
            fci_cuda_bce_logits_bwd_launch(FCI_STREAM(xc), fc_tensor_data(xc), fc_tensor_data(yc),
                                           n->saved[0] ? fc_tensor_data(n->saved[0]) : NULL,
                                           n->saved[1] ? fc_tensor_data(n->saved[1]) : NULL, fc_tensor_numel(xc),
                                           fc_tensor_data(gy), red == FC_REDUCTION_NONE, scale,
                                           gx[0] ? fc_tensor_data(gx[0]) : NULL, gx[1] ? fc_tensor_data(gx[1]) : NULL);
            st = fci_cuda_launched("bce_with_logits");
        } else
#endif
        fci_bce_logits_bwd_f32(fc_tensor_data(xc), fc_tensor_data(yc),
                               n->saved[0] ? fc_tensor_data(n->saved[0]) : NULL,
                               n->saved[1] ? fc_tensor_data(n->saved[1]) : NULL,
                               fc_tensor_numel(xc), fc_tensor_data(gy), red == FC_REDUCTION_NONE,
                               scale, gx[0] ? fc_tensor_data(gx[0]) : NULL,
                               gx[1] ? fc_tensor_data(gx[1]) : NULL);
    }
    if (yc) fci_tensor_unref(yc);
    if (xc) fci_tensor_unref(xc);
    return fc_error_code();
}
static const fci_op op_bce = {"bce_with_logits", bce_bwd};

fc_tensor *fc_bce_with_logits_(fc_tensor *x, fc_tensor *y, const fc_loss_opts *o) {
    const char *op = "bce_with_logits";
    if (!x || !y || pair_setup(op, &x, &y, o)) return NULL;
    fc_tensor *w = NULL, *pw = NULL, *xc = NULL, *yc = NULL, *out = NULL;
    if (full_like(op, "weight", o->weight, x, &w) || full_like(op, "pos_weight", o->pos_weight, x, &pw))
        goto done;
    if (!(xc = fci_contig_f32_any(op, x)) || !(yc = fci_contig_f32_any(op, y))) goto done;
    int64_t n = fc_tensor_numel(xc);
    const float *wp = w ? fc_tensor_data(w) : NULL, *pp = pw ? fc_tensor_data(pw) : NULL;
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        int none = o->reduction == FC_REDUCTION_NONE;
        out = fci_tensor_alloc(none ? fc_tensor_shape(xc) : FC_SCALAR_SHAPE, FC_DTYPE_F32, x->device);
        if (out) {
            fci_cuda_bce_logits_fwd_launch(FCI_STREAM(x), fc_tensor_data(xc), fc_tensor_data(yc), wp, pp, n,
                                           none ? fc_tensor_data(out) : NULL, none ? NULL : fc_tensor_data(out),
                                           o->reduction == FC_REDUCTION_MEAN ? (double)n : 1.0);
            if (fci_cuda_launched(op) != FC_OK) {
                fc_tensor_free(out);
                out = NULL;
            }
        }
    } else
#endif
    if (o->reduction == FC_REDUCTION_NONE) {
        if ((out = fci_tensor_alloc(fc_tensor_shape(xc), FC_DTYPE_F32, x->device)))
            fci_bce_logits_fwd_f32(fc_tensor_data(xc), fc_tensor_data(yc), wp, pp, n,
                                   fc_tensor_data(out));
    } else {
        double s = fci_bce_logits_fwd_f32(fc_tensor_data(xc), fc_tensor_data(yc), wp, pp, n, NULL);
        out = scalar_out(o->reduction == FC_REDUCTION_MEAN ? s / (double)n : s, x->device);
    }
    fc_tensor *in[2] = {x, y};
    if (out && fci_grad_needed(2, in)) {
        fci_node *nd = fci_record(&op_bce, out, 2, in);
        if (!nd) out = NULL;
        else {
            nd->ip[0] = o->reduction;
            nd->fp[1] = (double)n;
            fci_save(nd, 0, w);
            fci_save(nd, 1, pw);
        }
    }
done:
    if (yc) fci_tensor_unref(yc);
    if (xc) fci_tensor_unref(xc);
    if (pw) fci_tensor_unref(pw);
    if (w) fci_tensor_unref(w);
    return out;
}
