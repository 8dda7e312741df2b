/* Optimizers over parameter groups: construction, per-group hyper-parameters, step, zero_grad,
 * and fastai's Lookahead wrapper. The groups are in param_groups.c, the update arithmetic in
 * update.c, the file format in state_io.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "optim_impl.h"
#if FASTC_CUDA
#include "../core/cuda_impl.h"
#include "../ops/cuda/kernels.h"
#endif

/* ---- construction ---- */

/* Takes groups, even on failure. */
static fc_optimizer *opt_new(fci_optim_kind kind, const char *name, fc_param_groups *groups, const fci_hp *hp) {
    if (!groups) return NULL;
    fc_optimizer *o = fci_calloc(1, sizeof *o);
    if (!o) goto fail;
    o->kind = kind;
    o->name = name;
    if (groups->n == 0) {
        fc_fail(FC_ERR_ARG, "%s: expected at least one parameter group, found none", name);
        goto fail;
    }
    int np = 0;
    for (int i = 0; i < groups->n; i++) np += groups->g[i].n;
    o->hp = fci_calloc((size_t)groups->n, sizeof(fci_hp));
    o->ps = fci_calloc(np > 0 ? (size_t)np : 1, sizeof(fci_pstate));
    if (!o->hp || !o->ps) goto fail;
    o->n_groups = groups->n;
    for (int i = 0; i < groups->n; i++) {
        o->hp[i] = *hp;
        for (int j = 0; j < groups->g[i].n; j++) {
            fc_tensor *t = groups->g[i].p[j];
            groups->g[i].p[j] = NULL; /* the reference moves to the optimizer */
            o->ps[o->n_params++] = (fci_pstate){.p = t, .group = i, .numel = fc_tensor_numel(t)};
        }
        groups->g[i].n = 0;
    }
    fc_param_groups_free(groups);
    return o;
fail:
    fc_param_groups_free(groups);
    fc_optimizer_free(o);
    return NULL;
}

static fc_status check_hp(const char *name, const fci_hp *h) {
    if (!(h->lr >= 0) || !isfinite(h->lr)) return fc_fail(FC_ERR_ARG, "%s: .lr must be >= 0, found %g", name, h->lr);
    if (!(h->mom >= 0 && h->mom < 1)) return fc_fail(FC_ERR_ARG, "%s: .mom must be in [0, 1), found %g", name, h->mom);
    if (!(h->sqr_mom >= 0 && h->sqr_mom < 1))
        return fc_fail(FC_ERR_ARG, "%s: .sqr_mom must be in [0, 1), found %g", name, h->sqr_mom);
    if (!(h->eps >= 0)) return fc_fail(FC_ERR_ARG, "%s: .eps must be >= 0, found %g", name, h->eps);
    if (!(h->wd >= 0) || !isfinite(h->wd)) return fc_fail(FC_ERR_ARG, "%s: .wd must be >= 0, found %g", name, h->wd);
    if (h->nesterov && h->mom <= 0) return fc_fail(FC_ERR_ARG, "%s: .nesterov needs .mom > 0, found %g", name, h->mom);
    return FC_OK;
}

static fc_optimizer *make(fci_optim_kind kind, const char *name, fc_param_groups *groups, const fci_hp *h) {
    if (groups && check_hp(name, h) != FC_OK) {
        fc_param_groups_free(groups);
        return NULL;
    }
    return opt_new(kind, name, groups, h);
}

#define OR(x, d) ((x) != 0 ? (x) : (d))

fc_optimizer *fc_sgd_new_(fc_param_groups *groups, const fc_sgd_opts *o) {
    fci_hp h = {.lr = OR(o->lr, 1e-3), .mom = o->mom, .wd = o->wd, .decouple_wd = !!o->decouple_wd,
                .nesterov = !!o->nesterov};
    return make(FCI_OPT_SGD, "sgd", groups, &h);
}

static fci_hp adam_hp(const fc_adam_opts *o, double wd_default, int decouple) {
    return (fci_hp){.lr = OR(o->lr, 1e-3), .mom = OR(o->mom, 0.9), .sqr_mom = OR(o->sqr_mom, 0.999),
                    .eps = OR(o->eps, 1e-8), .wd = o->no_wd ? 0 : OR(o->wd, wd_default), .decouple_wd = decouple};
}
fc_optimizer *fc_adam_new_(fc_param_groups *groups, const fc_adam_opts *o) {
    fci_hp h = adam_hp(o, 0, !!o->decouple_wd);
    return make(FCI_OPT_ADAM, "adam", groups, &h);
}
fc_optimizer *fc_adamw_new_(fc_param_groups *groups, const fc_adam_opts *o) {
    fci_hp h = adam_hp(o, 0.01, 1);
    return make(FCI_OPT_ADAM, "adamw", groups, &h);
}

fc_optimizer *fc_rmsprop_new_(fc_param_groups *groups, const fc_rmsprop_opts *o) {
    fci_hp h = {.lr = OR(o->lr, 1e-2), .sqr_mom = OR(o->sqr_mom, 0.99), .eps = OR(o->eps, 1e-8), .mom = o->mom,
                .wd = o->wd, .decouple_wd = !!o->decouple_wd, .centered = !!o->centered};
    return make(FCI_OPT_RMSPROP, "rmsprop", groups, &h);
}

static fci_hp lamb_hp(const fc_lamb_opts *o, double mom, double eps, double wd) {
    return (fci_hp){.lr = OR(o->lr, 1e-3), .mom = OR(o->mom, mom), .sqr_mom = OR(o->sqr_mom, 0.99),
                    .eps = OR(o->eps, eps), .wd = o->no_wd ? 0 : OR(o->wd, wd), .decouple_wd = !o->l2_wd};
}
fc_optimizer *fc_lamb_new_(fc_param_groups *groups, const fc_lamb_opts *o) {
    fci_hp h = lamb_hp(o, 0.9, 1e-5, 0);
    return make(FCI_OPT_LAMB, "lamb", groups, &h);
}
fc_optimizer *fc_radam_new_(fc_param_groups *groups, const fc_lamb_opts *o) {
    fci_hp h = lamb_hp(o, 0.9, 1e-5, 0);
    return make(FCI_OPT_RADAM, "radam", groups, &h);
}
fc_optimizer *fc_ranger_new_(fc_param_groups *groups, const fc_lamb_opts *o) {
    fci_hp h = lamb_hp(o, 0.95, 1e-6, 0.01);
    return fc_lookahead_new(make(FCI_OPT_RADAM, "radam", groups, &h));
}

fc_optimizer *fc_lookahead_new_(fc_optimizer *inner, const fc_lookahead_opts *o) {
    if (!inner) return NULL;
    int k = o->k ? o->k : 6;
    double alpha = OR(o->alpha, 0.5);
    if (k < 1 || !(alpha > 0 && alpha <= 1)) {
        fc_fail(FC_ERR_ARG, "lookahead: expected .k >= 1 and .alpha in (0, 1], found %d and %g", k, alpha);
        fc_optimizer_free(inner);
        return NULL;
    }
    fc_optimizer *la = fci_calloc(1, sizeof *la);
    if (la) la->ps = fci_calloc(inner->n_params > 0 ? (size_t)inner->n_params : 1, sizeof(fci_pstate));
    if (!la || !la->ps) {
        if (la) fci_free(la);
        fc_optimizer_free(inner);
        return NULL;
    }
    la->kind = FCI_OPT_LOOKAHEAD;
    la->name = "lookahead";
    la->inner = inner;
    la->k = k;
    la->alpha = alpha;
    la->n_params = inner->n_params;
    for (int i = 0; i < la->n_params; i++)
        la->ps[i] = (fci_pstate){.p = fc_tensor_ref(inner->ps[i].p), .numel = inner->ps[i].numel};
    return la;
}

/* State buffers live on the parameter's device. */
static void free_buf(fci_pstate *ps, int b) {
    if (!ps->buf[b]) return;
#if FASTC_CUDA
    if (ps->buf_device.type == FC_DEVICE_CUDA) {
        fci_cuda_release(ps->buf_device.index, ps->buf[b], (size_t)(ps->numel > 0 ? ps->numel : 1) * sizeof(float));
        ps->buf[b] = NULL;
        return;
    }
#endif
    fci_free(ps->buf[b]);
    ps->buf[b] = NULL;
}

void fc_optimizer_free(fc_optimizer *opt) {
    if (!opt) return;
    for (int i = 0; i < opt->n_params; i++) {
        fc_tensor_free(opt->ps[i].p);
        for (int b = 0; b < FCI_OPT_MAX_BUFS; b++) free_buf(&opt->ps[i], b);
    }
    fci_free(opt->ps);
    fci_free(opt->hp);
    fc_optimizer_free(opt->inner);
    fci_free(opt);
}

const char *fc_optimizer_name(const fc_optimizer *opt) { return opt ? opt->name : "(null)"; }

/* ---- step ---- */

/* Allocates the buffers in mask that ps lacks (zero-filled). */
fc_status fci_optim_ensure_bufs(fci_pstate *ps, unsigned mask);
fc_status fci_optim_ensure_bufs(fci_pstate *ps, unsigned mask) {
    fc_device dev = fc_tensor_device(ps->p);
    for (int b = 0; b < FCI_OPT_MAX_BUFS; b++)
        if ((mask >> b & 1u) && !ps->buf[b]) {
#if FASTC_CUDA
            if (dev.type == FC_DEVICE_CUDA) {
                size_t nbytes = (size_t)(ps->numel > 0 ? ps->numel : 1) * sizeof(float);
                if (fci_cuda_ensure("optimizer step", dev) != FC_OK ||
                    !(ps->buf[b] = fci_cuda_alloc(dev.index, nbytes)))
                    return fc_error_code();
                ps->buf_device = dev;
                fc_status st = fci_cuda_memset0(dev.index, ps->buf[b], nbytes);
                if (st != FC_OK) return st;
                continue;
            }
#endif
            ps->buf[b] = fci_calloc(ps->numel > 0 ? (size_t)ps->numel : 1, sizeof(float));
            if (!ps->buf[b]) return fc_error_code();
            ps->buf_device = dev;
        }
    return FC_OK;
}

#if FASTC_CUDA
/* The scalars of the fused SGD and Adam kernels, as update.c computes them. */
static fci_cuda_sgd sgd_scalars(const fci_hp *h) {
    float decay = h->decouple_wd && h->wd != 0 ? (float)(1.0 - h->lr * h->wd) : 1.0f;
    return (fci_cuda_sgd){.decay = decay, .wd = h->decouple_wd ? 0.f : (float)h->wd, .mom = (float)h->mom,
                          .nlr = (float)-h->lr, .nesterov = h->nesterov};
}

static fci_cuda_adam adam_scalars(const fci_hp *h, int64_t t) {
    float decay = h->decouple_wd && h->wd != 0 ? (float)(1.0 - h->lr * h->wd) : 1.0f;
    double bc1 = 1.0 - pow(h->mom, (double)t), bc2 = 1.0 - pow(h->sqr_mom, (double)t);
    return (fci_cuda_adam){.decay = decay, .wd = h->decouple_wd ? 0.f : (float)h->wd, .b1 = (float)h->mom,
                           .c1 = (float)(1.0 - h->mom), .b2 = (float)h->sqr_mom, .c2 = (float)(1.0 - h->sqr_mom),
                           .nstep = (float)(-h->lr / bc1), .bc2s = (float)sqrt(bc2), .eps = (float)h->eps};
}

/* The fused update kernels of src/ops/cuda/optim.cu, with the scalars as update.c computes them.
 * SGD and Adam never come here: fc_optimizer_step gives every CUDA tensor of theirs to
 * cuda_grouped_step (one launch per group, sgd_mt / adam_mt). */
static fc_status cuda_update(fc_optimizer *o, fci_pstate *ps, float *p, const float *g, int64_t n, int64_t t,
                             const fci_hp *h) {
    float decay = h->decouple_wd && h->wd != 0 ? (float)(1.0 - h->lr * h->wd) : 1.0f;
    float wd = h->decouple_wd ? 0.f : (float)h->wd;
    void *stream = fci_cuda_stream(fc_tensor_device(ps->p).index);
    if (o->kind == FCI_OPT_SGD || o->kind == FCI_OPT_ADAM) {
        return FCI_INTERNAL("optimizer_step: SGD / Adam on CUDA go through the grouped launch");
    } else if (o->kind == FCI_OPT_RMSPROP) {
        fci_cuda_rmsprop r = {.decay = decay, .wd = wd, .a = (float)h->sqr_mom, .ca = (float)(1.0 - h->sqr_mom),
                              .eps = (float)h->eps, .mom = (float)h->mom, .nlr = (float)-h->lr};
        fci_cuda_rmsprop_launch(stream, p, g, ps->buf[0], h->mom > 0 ? ps->buf[1] : NULL,
                                h->centered ? ps->buf[2] : NULL, n, &r);
    } else { /* lamb, radam: fastai's moments; the scalars as update.c computes them */
        double bpow = pow(h->sqr_mom, (double)t), d1 = 1.0 - pow(h->mom, (double)t);
        fci_cuda_moments k = {.decay = decay, .wd = wd, .b1 = (float)h->mom, .c1 = (float)(1.0 - h->mom),
                              .b2 = (float)h->sqr_mom, .c2 = (float)(1.0 - h->sqr_mom), .d1 = (float)d1,
                              .d2 = (float)(1.0 - bpow), .eps = (float)h->eps};
        if (o->kind == FCI_OPT_LAMB) {
            int dev = fc_tensor_device(ps->p).index;
            size_t nb = 2 * FCI_CUDA_LAMB_BLOCKS * sizeof(double);
            double *part = fci_cuda_alloc(dev, nb); /* from the cache after the first step */
            if (!part) return fc_error_code();
            fci_cuda_lamb_launch(stream, p, g, ps->buf[0], ps->buf[1], n, &k, -h->lr, part);
            fci_cuda_release(dev, part, nb); /* reused in stream order: after these kernels */
        } else {
            double r_inf = 2.0 / (1.0 - h->sqr_mom) - 1.0, r = r_inf - 2.0 * (double)t * bpow / (1.0 - bpow);
            int rect = r > 5;
            double f = rect ? -h->lr * sqrt(((r - 4) * (r - 2) * r_inf) / ((r_inf - 4) * (r_inf - 2) * r)) / d1
                            : -h->lr / d1;
            fci_cuda_radam_launch(stream, p, g, ps->buf[0], ps->buf[1], n, &k, (float)f, rect);
        }
    }
    return fci_cuda_launched(o->name);
}
#endif

/* Checks parameter i and its grad, makes its state and advances its step. *h_eff: the group's
 * hyper-parameters, with wd 0 when the parameter is excluded from decay. *ready = 0 (and nothing
 * changed) when it has no grad this step. */
static fc_status prepare_param(fc_optimizer *o, int i, fci_hp *h_eff, int *ready) {
    fci_pstate *ps = &o->ps[i];
    fc_tensor *g = fc_tensor_grad(ps->p);
    *ready = 0;
    if (!g) return FC_OK;
    fc_device dev = fc_tensor_device(ps->p);
    if (fc_tensor_device(g).type != dev.type || fc_tensor_device(g).index != dev.index)
        return fc_fail(FC_ERR_DEVICE, "%s step: parameter %d is on %s but its grad is on another device", o->name, i,
                       fc_device_name(dev));
    int has_bufs = 0;
    for (int b = 0; b < FCI_OPT_MAX_BUFS; b++) has_bufs |= ps->buf[b] != NULL;
    if (has_bufs && (ps->buf_device.type != dev.type || ps->buf_device.index != dev.index)) {
        char was[16];
        snprintf(was, sizeof was, "%s", fc_device_name(ps->buf_device));
        return fc_fail(FC_ERR_DEVICE, "%s step: parameter %d moved to %s after its state was made on %s; move the "
                                      "model (fc_module_to) before the first step", o->name, i, fc_device_name(dev), was);
    }
    if (fc_tensor_numel(g) != ps->numel || fc_tensor_dtype(g) != FC_DTYPE_F32 || !fc_tensor_is_contiguous(g))
        return fc_fail(FC_ERR_SHAPE, "%s step: parameter %d: expected a contiguous f32 grad of %lld elements, found %lld (%s)",
                       o->name, i, (long long)ps->numel, (long long)fc_tensor_numel(g), fc_dtype_name(fc_tensor_dtype(g)));
    *h_eff = o->hp[ps->group];
    if (ps->no_wd) h_eff->wd = 0; /* the same update with wd 0: neither decoupled nor L2 decay */
    fc_status st = fci_optim_ensure_bufs(ps, fci_optim_bufs_needed(o->kind, h_eff));
    if (st != FC_OK) return st;
    ps->step++;
    *ready = 1;
    return FC_OK;
}

static fc_status step_param(fc_optimizer *o, int i) {
    fci_hp hv;
    int ready;
    fc_status st = prepare_param(o, i, &hv, &ready);
    if (st != FC_OK || !ready) return st;
    const fci_hp *h = &hv;
    fci_pstate *ps = &o->ps[i];
    float *p = fc_tensor_data_f32(ps->p);
    const float *gd = fc_tensor_data_f32(fc_tensor_grad(ps->p));
    int64_t n = ps->numel, t = ps->step;
#if FASTC_CUDA
    if (fc_tensor_device(ps->p).type == FC_DEVICE_CUDA) return cuda_update(o, ps, p, gd, n, t, h);
#endif
    switch (o->kind) {
    case FCI_OPT_SGD: fci_sgd_update(p, gd, h->mom != 0 ? ps->buf[0] : NULL, n, h); break;
    case FCI_OPT_ADAM: fci_adam_update(p, gd, ps->buf[0], ps->buf[1], n, t, h); break;
    case FCI_OPT_RMSPROP:
        fci_rmsprop_update(p, gd, ps->buf[0], h->mom > 0 ? ps->buf[1] : NULL, h->centered ? ps->buf[2] : NULL, n, h);
        break;
    case FCI_OPT_LAMB: fci_lamb_update(p, gd, ps->buf[0], ps->buf[1], n, t, h); break;
    case FCI_OPT_RADAM: fci_radam_update(p, gd, ps->buf[0], ps->buf[1], n, t, h); break;
    case FCI_OPT_LOOKAHEAD: return fc_fail(FC_ERR_INTERNAL, "%s:%d: lookahead has no own update", __FILE__, __LINE__);
    }
    return FC_OK;
}

#if FASTC_CUDA
/* SGD and Adam on CUDA: one launch per parameter group (per FCI_CUDA_MT_MAX of its tensors), as
 * torch's fused/foreach optimizers, instead of one per tensor: a ResNet's ~60 tensors would each
 * cost a launch (several microseconds of host time) for a few thousand elements. Tensors share a
 * launch when their scalars are the same: device, group, weight-decay rule and step count. */
typedef struct mt_item {
    int dev, group, no_wd;
    int64_t step;
    int i;
} mt_item;

static int mt_cmp(const void *pa, const void *pb) {
    const mt_item *a = pa, *b = pb;
    if (a->dev != b->dev) return a->dev < b->dev ? -1 : 1;
    if (a->group != b->group) return a->group < b->group ? -1 : 1;
    if (a->no_wd != b->no_wd) return a->no_wd < b->no_wd ? -1 : 1;
    if (a->step != b->step) return a->step < b->step ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static int same_launch(const mt_item *a, const mt_item *b) {
    return a->dev == b->dev && a->group == b->group && a->no_wd == b->no_wd && a->step == b->step;
}

static int64_t g_mt_launches; /* multi-tensor launches so far (tests) */
int64_t fci_optim_cuda_mt_launches(void) { return g_mt_launches; }

static fc_status mt_launch(fc_optimizer *o, const mt_item *run, int n) {
    fci_cuda_mt t;
    t.n = n;
    t.block0[0] = 0;
    fci_hp h = o->hp[run[0].group];
    if (run[0].no_wd) h.wd = 0;
    for (int k = 0; k < n; k++) {
        fci_pstate *ps = &o->ps[run[k].i];
        t.p[k] = fc_tensor_data_f32(ps->p);
        t.g[k] = fc_tensor_data_f32(fc_tensor_grad(ps->p));
        t.b0[k] = o->kind == FCI_OPT_ADAM || h.mom != 0 ? ps->buf[0] : NULL;
        t.b1[k] = o->kind == FCI_OPT_ADAM ? ps->buf[1] : NULL;
        t.numel[k] = ps->numel;
        t.block0[k + 1] = t.block0[k] + fci_cuda_mt_blocks(ps->numel);
    }
    void *stream = fci_cuda_stream(run[0].dev);
    if (o->kind == FCI_OPT_SGD) {
        fci_cuda_sgd s = sgd_scalars(&h);
        fci_cuda_sgd_mt_launch(stream, &t, &s);
    } else {
        fci_cuda_adam a = adam_scalars(&h, run[0].step);
        fci_cuda_adam_mt_launch(stream, &t, &a);
    }
    g_mt_launches++;
    return fci_cuda_launched(o->name);
}

static fc_status cuda_grouped_step(fc_optimizer *o) {
    mt_item *items = fci_calloc(o->n_params > 0 ? (size_t)o->n_params : 1, sizeof *items);
    if (!items) return fc_error_code();
    int n = 0;
    fc_status st = FC_OK;
    for (int i = 0; i < o->n_params && st == FC_OK; i++) {
        fci_pstate *ps = &o->ps[i];
        if (fc_tensor_device(ps->p).type != FC_DEVICE_CUDA) {
            st = step_param(o, i);
            continue;
        }
        fci_hp h;
        int ready;
        st = prepare_param(o, i, &h, &ready);
        if (ps->numel == 0) continue; /* its step counted, nothing to update */
        if (st == FC_OK && ready)
            items[n++] = (mt_item){.dev = fc_tensor_device(ps->p).index, .group = ps->group, .no_wd = ps->no_wd,
                                   .step = ps->step, .i = i};
    }
    if (st == FC_OK) qsort(items, (size_t)n, sizeof *items, mt_cmp);
    for (int a = 0; a < n && st == FC_OK;) {
        int b = a + 1;
        while (b < n && b - a < FCI_CUDA_MT_MAX && same_launch(&items[b], &items[a])) b++;
        st = mt_launch(o, items + a, b - a);
        a = b;
    }
    fci_free(items);
    return st;
}
#endif

/* The slow weights start as a copy of the parameter (on its device). */
static fc_status lookahead_init(fci_pstate *ps) {
    fc_device dev = fc_tensor_device(ps->p);
    if (ps->buf[0] && (ps->buf_device.type != dev.type || ps->buf_device.index != dev.index)) {
        char was[16];
        snprintf(was, sizeof was, "%s", fc_device_name(ps->buf_device));
        return fc_fail(FC_ERR_DEVICE, "lookahead step: a parameter moved to %s after its slow weights were made on %s; "
                                      "move the model (fc_module_to) before the first step", fc_device_name(dev), was);
    }
    if (ps->buf[0]) return FC_OK;
    fc_status st = fci_optim_ensure_bufs(ps, 1u);
    if (st != FC_OK) return st;
    size_t nb = (size_t)ps->numel * sizeof(float);
#if FASTC_CUDA
    if (dev.type == FC_DEVICE_CUDA) return nb ? fci_cuda_d2d(dev.index, ps->buf[0], fc_tensor_data(ps->p), nb) : FC_OK;
#endif
    if (nb) memcpy(ps->buf[0], fc_tensor_data(ps->p), nb);
    return FC_OK;
}

static fc_status lookahead_step(fc_optimizer *o) {
    for (int i = 0; i < o->n_params; i++) {
        fc_status st = lookahead_init(&o->ps[i]);
        if (st != FC_OK) return st;
    }
    fc_status st = fc_optimizer_step(o->inner);
    if (st != FC_OK) return st;
    if (++o->count % o->k != 0) return FC_OK;
    const float a = (float)o->alpha;
    for (int i = 0; i < o->n_params; i++) {
        float *slow = o->ps[i].buf[0], *fast = fc_tensor_data_f32(o->ps[i].p);
#if FASTC_CUDA
        if (o->ps[i].buf_device.type == FC_DEVICE_CUDA) {
            fci_cuda_lookahead_launch(fci_cuda_stream(o->ps[i].buf_device.index), slow, fast, o->ps[i].numel, a);
            if ((st = fci_cuda_launched("lookahead")) != FC_OK) return st;
            continue;
        }
#endif
        for (int64_t j = 0; j < o->ps[i].numel; j++) {
            float s = slow[j] + a * (fast[j] - slow[j]);
            slow[j] = s;
            fast[j] = s;
        }
    }
    return FC_OK;
}

fc_status fc_optimizer_step(fc_optimizer *opt) {
    if (!opt) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "optimizer_step: NULL optimizer");
    if (opt->kind == FCI_OPT_LOOKAHEAD) return lookahead_step(opt);
#if FASTC_CUDA
    if (opt->kind == FCI_OPT_SGD || opt->kind == FCI_OPT_ADAM)
        for (int i = 0; i < opt->n_params; i++)
            if (fc_tensor_device(opt->ps[i].p).type == FC_DEVICE_CUDA) return cuda_grouped_step(opt);
#endif
    for (int i = 0; i < opt->n_params; i++) {
        fc_status st = step_param(opt, i);
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

void fc_optimizer_zero_grad(fc_optimizer *opt) {
    if (!opt) return;
    for (int i = 0; i < opt->n_params; i++) fc_tensor_zero_grad(opt->ps[i].p);
}

/* ---- hyper-parameters ---- */

static const fc_optimizer *base(const fc_optimizer *o) {
    while (o && o->inner) o = o->inner;
    return o;
}

int fc_optimizer_n_groups(const fc_optimizer *opt) { return opt ? base(opt)->n_groups : 0; }

static fci_hp *group_hp(const fc_optimizer *opt, int group, const char *what) {
    const fc_optimizer *o = base(opt);
    if (!o) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "optimizer_%s: NULL optimizer", what);
        return NULL;
    }
    if (group < 0 || group >= o->n_groups) {
        fc_fail(FC_ERR_ARG, "optimizer_%s: group %d out of range (the optimizer has %d groups)", what, group,
                o->n_groups);
        return NULL;
    }
    return &o->hp[group];
}

int fc_optimizer_n_params(const fc_optimizer *opt, int group) {
    const fc_optimizer *o = base(opt);
    if (!group_hp(opt, group, "n_params")) return 0;
    int n = 0;
    for (int i = 0; i < o->n_params; i++) n += o->ps[i].group == group;
    return n;
}

#define HP_ACCESSORS(field, lo, hi_open, hi)                                                                   \
    double fc_optimizer_##field(const fc_optimizer *opt, int group) {                                         \
        fci_hp *h = group_hp(opt, group, #field);                                                              \
        return h ? h->field : NAN;                                                                             \
    }                                                                                                          \
    fc_status fc_optimizer_set_##field(fc_optimizer *opt, int group, double v) {                              \
        fci_hp *h = group_hp(opt, group, "set_" #field);                                                       \
        if (!h) return fc_error_code();                                                                        \
        if (!(v >= (lo) && (hi_open ? v < (hi) : v <= (hi))))                                                  \
            return fc_fail(FC_ERR_ARG, "optimizer_set_" #field ": expected a value in [%g, %g%s, found %g",   \
                           (double)(lo), (double)(hi), hi_open ? ")" : "]", v);                               \
        h->field = v;                                                                                          \
        return FC_OK;                                                                                          \
    }
HP_ACCESSORS(lr, 0, 1, INFINITY)
HP_ACCESSORS(mom, 0, 1, 1)
HP_ACCESSORS(sqr_mom, 0, 1, 1)
HP_ACCESSORS(wd, 0, 1, INFINITY)
HP_ACCESSORS(eps, 0, 1, INFINITY)

/* ---- per-parameter weight decay (fastai's do_wd state) ---- */

static fci_pstate *find_param(const fc_optimizer *opt, const fc_tensor *p, const char *what) {
    const fc_optimizer *o = base(opt);
    if (!o) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "optimizer_%s: NULL optimizer", what);
        return NULL;
    }
    for (int i = 0; p && i < o->n_params; i++)
        if (o->ps[i].p == p) return &o->ps[i];
    fc_fail(FC_ERR_ARG, "optimizer_%s: %s is not a parameter of this %s optimizer", what,
            p ? "the tensor" : "NULL", o->name);
    return NULL;
}

fc_status fc_optimizer_set_param_do_wd(fc_optimizer *opt, const fc_tensor *p, int do_wd) {
    fci_pstate *ps = find_param(opt, p, "set_param_do_wd");
    if (!ps) return fc_error_code();
    ps->no_wd = !do_wd;
    return FC_OK;
}

int fc_optimizer_param_do_wd(const fc_optimizer *opt, const fc_tensor *p) {
    const fci_pstate *ps = find_param(opt, p, "param_do_wd");
    return ps ? !ps->no_wd : -1;
}
