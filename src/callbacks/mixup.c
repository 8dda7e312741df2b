/* MixUp and CutMix (fastai 2.7's MixHandler, MixUp, CutMix). Training batches only: before_batch
 * draws a partner permutation and lam, mixes the inputs (MixUp: lerp per item; CutMix: a box of the
 * partner pasted into every image) and keeps y[perm]; after_loss replaces the loss with
 * mean_i lerp(loss(pred_i, y[perm]_i), loss(pred_i, y_i), lam_i), as fastai's NoneReduce'd loss.
 *
 * Per-item losses come from the learner's own fc_loss_func applied to one-item slices (fastai sets
 * reduction='none'); that works for any loss function, user losses included, with no change to
 * fc_loss_func. fastc's CrossEntropyLossFlat on [N, C] predictions, MixUp's usual case, takes a
 * shortcut: one fc_cross_entropy with reduction none, the same per-item values. For a flat loss the mean of an item's slice is that item's mean over its elements,
 * which is fastai's per-element loss averaged per item. CutMix has one lam for the batch, so its
 * lerp of the two batch means is the same mean and needs no slices.
 *
 * fastai lerps the targets instead of the losses when the loss function has no integer targets
 * (stack_y False: MSE, BCE with float targets); here the losses are always lerped, as the header
 * declares. For BCE the two are identical (the loss is linear in the target); for MSE they have the
 * same gradient and differ by a constant in the logged loss.
 *
 * Randomness: each training batch takes one counter of the global generator and derives its own
 * Philox key from it, so fc_manual_seed makes a fit reproducible while rejection sampling (Gamma)
 * uses as many draws as it needs. */
#include <math.h>
#include <string.h>

#include "../core/core_impl.h"
#include "fastc/learner.h"
#include "mixup_impl.h"

static void mixup_free(void *p) {
    fci_mixup *s = p;
    if (!s) return;
    fci_free(s->perm);
    fci_free(s->lam);
    fci_free(s);
}

static fc_rng batch_rng(void) {
    uint64_t seed, base = fc_rng_reserve(1, &seed);
    uint32_t r[4];
    fc_philox(seed, base, r);
    return fc_rng_new(((uint64_t)r[0] << 32 | r[1]) ^ ((uint64_t)r[2] << 16 | r[3]));
}

static int grow(fci_mixup *s, int64_t bs) {
    if (bs <= s->cap) return 1;
    int64_t *p = fci_calloc((size_t)bs, sizeof *p);
    double *l = fci_calloc((size_t)bs, sizeof *l);
    if (!p || !l) {
        fci_free(p);
        fci_free(l);
        return 0;
    }
    fci_free(s->perm);
    fci_free(s->lam);
    s->perm = p;
    s->lam = l;
    s->cap = bs;
    return 1;
}

/* torch.randperm's role: a uniform permutation (Fisher-Yates; bias of the modulo < 2^-32). */
static void draw_perm(fc_rng *g, int64_t *perm, int64_t n) {
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        uint64_t r = (uint64_t)fc_rng_u32(g) << 32 | fc_rng_u32(g);
        int64_t j = (int64_t)(r % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* fastai's rand_bbox: a box of side ratio sqrt(1 - lam) (torch.round: half to even) around a
 * uniform centre, clipped to the image. */
static void rand_bbox(fc_rng *g, int64_t W, int64_t H, double lam, int64_t box[4]) {
    double cut_rat = sqrt(1.0 - lam);
    int64_t cut_w = (int64_t)nearbyint((double)W * cut_rat), cut_h = (int64_t)nearbyint((double)H * cut_rat);
    int64_t cx = (int64_t)(fc_rng_u32(g) % (uint64_t)W), cy = (int64_t)(fc_rng_u32(g) % (uint64_t)H);
#define CLAMP(v, hi) ((v) < 0 ? 0 : (v) > (hi) ? (hi) : (v))
    box[0] = CLAMP(cx - cut_w / 2, W);
    box[1] = CLAMP(cy - cut_h / 2, H);
    box[2] = CLAMP(cx + cut_w / 2, W);
    box[3] = CLAMP(cy + cut_h / 2, H);
#undef CLAMP
}

/* MixUp: x1 + lam * (x - x1) with lam [bs, 1, ...] (torch.lerp(x1, x, lam)). */
static fc_tensor *mix_lerp(fci_mixup *s, fc_tensor *x, fc_tensor *x1) {
    int nd = fc_tensor_ndim(x);
    fc_shape ws = {nd, {0}};
    ws.d[0] = s->bs;
    for (int i = 1; i < nd; i++) ws.d[i] = 1;
    float *lf = fci_calloc((size_t)s->bs, sizeof *lf);
    if (!lf) return NULL;
    for (int64_t i = 0; i < s->bs; i++) lf[i] = (float)s->lam[i];
    fc_tensor *w = fc_from_data(lf, ws, .device = fc_tensor_device(x));
    fci_free(lf);
    if (w && fc_tensor_dtype(x) != FC_DTYPE_F32) w = fc_to_dtype(w, fc_tensor_dtype(x));
    return fc_add(x1, fc_mul(w, fc_sub(x, x1)));
}

/* CutMix: the partner's pixels inside the box, the item's own outside (exact: a select). */
static fc_tensor *mix_box(fci_mixup *s, fc_tensor *x, fc_tensor *x1, fc_rng *g) {
    int nd = fc_tensor_ndim(x);
    int64_t H = fc_tensor_dim(x, nd - 2), W = fc_tensor_dim(x, nd - 1);
    double lam = fc_rng_beta(g, s->alpha, s->alpha);
    rand_bbox(g, W, H, lam, s->box);
    lam = 1.0 - (double)((s->box[2] - s->box[0]) * (s->box[3] - s->box[1])) / (double)(W * H);
    for (int64_t i = 0; i < s->bs; i++) s->lam[i] = lam;
    uint8_t *m = fci_calloc((size_t)(H * W), 1);
    if (!m) return NULL;
    for (int64_t y = s->box[1]; y < s->box[3]; y++)
        for (int64_t xx = s->box[0]; xx < s->box[2]; xx++) m[y * W + xx] = 1;
    fc_tensor *mask = fc_from_data(m, FC_SHAPE(H, W), .dtype = FC_DTYPE_U8, .device = fc_tensor_device(x));
    fci_free(m);
    return fc_where(mask, x1, x);
}

static int mix_before_batch(fc_learner *learn, void *state) {
    fci_mixup *s = state;
    s->active = 0;
    s->y_partner = NULL;
    if (!fc_learner_training(learn)) return FC_CONTINUE;
    const char *who = s->cutmix ? "cutmix" : "mixup";
    fc_tuple *b = fc_learner_batch(learn);
    fc_tensor *x = fc_learner_xb(learn, 0), *y = fc_learner_yb(learn, 0);
    if (!b || b->n_inp != 1 || !x || !y) {
        fc_fail(FC_ERR_UNSUPPORTED, "%s: expected a batch of one input tensor and a target tensor, found %d inputs%s",
                who, b ? b->n_inp : 0, y ? "" : " and no target tensor");
        return FC_CANCEL_FIT;
    }
    int nd = fc_tensor_ndim(x);
    if (nd < (s->cutmix ? 3 : 1) || !fc_dtype_is_float(fc_tensor_dtype(x))) {
        fc_fail(FC_ERR_SHAPE, "%s: expected a float input %s, found %s %s", who,
                s->cutmix ? "[N, ..., H, W]" : "[N, ...]", fc_dtype_name(fc_tensor_dtype(x)), fci_tshape(x));
        return FC_CANCEL_FIT;
    }
    int64_t bs = fc_tensor_dim(x, 0);
    if (fc_tensor_ndim(y) < 1 || fc_tensor_dim(y, 0) != bs) {
        fc_fail(FC_ERR_SHAPE, "%s: expected targets [%lld, ...] like the input %s, found %s", who, (long long)bs,
                fci_tshape(x), fci_tshape(y));
        return FC_CANCEL_FIT;
    }
    if (bs == 0) return FC_CONTINUE;
    if (s->cutmix && (fc_tensor_dim(x, nd - 1) == 0 || fc_tensor_dim(x, nd - 2) == 0)) return FC_CONTINUE;
    if (!grow(s, bs)) return FC_CANCEL_FIT;
    s->bs = bs;
    fc_rng g = batch_rng();
    fc_tensor *mixed = NULL;
    if (!s->cutmix)
        for (int64_t i = 0; i < bs; i++) { /* fastai draws lam before the permutation */
            double l = fc_rng_beta(&g, s->alpha, s->alpha);
            s->lam[i] = l > 1 - l ? l : 1 - l;
        }
    draw_perm(&g, s->perm, bs);
    fc_tensor *perm = fc_from_data(s->perm, FC_SHAPE(bs), .dtype = FC_DTYPE_I64, .device = fc_tensor_device(x));
    fc_tensor *x1 = fc_index_select(x, 0, perm);
    if (x1) mixed = s->cutmix ? mix_box(s, x, x1, &g) : mix_lerp(s, x, x1);
    fc_tensor *y1 = mixed ? fc_index_select(y, 0, perm) : NULL;
    if (!y1) return FC_CANCEL_FIT;
    /* the batch owns its values (outside the scope): the mixed input replaces the original */
    fc_tensor_free(b->v[0].t);
    b->v[0].t = fc_keep(mixed);
    s->y_partner = y1;
    s->active = 1;
    s->n_mixed++;
    return FC_CONTINUE;
}

/* fastc's own CrossEntropyLossFlat on pred [N, C]: torch's reduction='none' in one call (the slices
 * below cost ~7 ms a batch of 64 on one core, mostly 128 small graphs). */
static fc_tensor *ce_item_losses(const fc_loss_func *lf, fc_tensor *pred, fc_tensor *y) {
    return fc_cross_entropy(pred, fc_reshape(y, FC_SHAPE(-1)), .reduction = FC_REDUCTION_NONE,
                            .label_smoothing = lf->label_smoothing);
}

/* mean_i lerp(lf(pred_i, y1_i), lf(pred_i, y_i), lam_i), one-item slices. */
static fc_tensor *mixup_loss(fci_mixup *s, const fc_loss_func *lf, fc_tensor *pred, fc_tensor *y) {
    if (lf->forward == fc_cross_entropy_flat(0).forward && fc_tensor_ndim(pred) == 2 &&
        fc_tensor_numel(y) == s->bs) {
        float *lam = fci_calloc((size_t)s->bs, sizeof *lam);
        if (!lam) return NULL;
        for (int64_t i = 0; i < s->bs; i++) lam[i] = (float)s->lam[i];
        fc_tensor *w = fc_from_data(lam, FC_SHAPE(s->bs), .device = fc_tensor_device(pred));
        fci_free(lam);
        fc_tensor *own = ce_item_losses(lf, pred, y), *other = ce_item_losses(lf, pred, s->y_partner);
        return fc_mean(fc_add(other, fc_mul(w, fc_sub(own, other))), FC_ALL_DIMS, 0);
    }
    fc_tensor **per = fci_calloc((size_t)s->bs, sizeof *per);
    if (!per) return NULL;
    int ok = 1;
    for (int64_t i = 0; i < s->bs && ok; i++) {
        fc_tensor *pi = fc_narrow(pred, 0, i, 1);
        fc_tensor *own = lf->forward(lf, pi, fc_narrow(y, 0, i, 1));
        fc_tensor *other = lf->forward(lf, pi, fc_narrow(s->y_partner, 0, i, 1));
        if (own && fc_tensor_numel(own) != 1) {
            fc_fail(FC_ERR_SHAPE, "mixup: expected the loss function '%s' to return one value, found %s",
                    lf->name ? lf->name : "(unnamed)", fci_tshape(own));
            ok = 0;
            break;
        }
        per[i] = fc_reshape(fc_add(other, fc_mul_scalar(fc_sub(own, other), s->lam[i])), FC_SHAPE(1));
        ok = per[i] != NULL;
    }
    fc_tensor *loss = ok ? fc_mean(fc_cat((fc_tensor_list){(int)s->bs, per}, 0), FC_ALL_DIMS, 0) : NULL;
    fci_free(per);
    return loss;
}

static int mix_after_loss(fc_learner *learn, void *state) {
    fci_mixup *s = state;
    if (!s->active || !fc_learner_training(learn) || !fc_learner_loss_grad(learn)) return FC_CONTINUE;
    const fc_loss_func *lf = fc_learner_loss_func(learn);
    fc_tensor *pred = fc_learner_pred(learn), *y = fc_learner_yb(learn, 0);
    if (!pred || fc_tensor_ndim(pred) < 1 || fc_tensor_dim(pred, 0) != s->bs) {
        fc_fail(FC_ERR_SHAPE, "%s: expected predictions [%lld, ...] (one row per item), found %s",
                s->cutmix ? "cutmix" : "mixup", (long long)s->bs, pred ? fci_tshape(pred) : "none");
        return FC_CANCEL_FIT;
    }
    fc_tensor *loss;
    if (s->cutmix) { /* one lam: the lerp of the two batch means is the mean of the lerps */
        fc_tensor *own = lf->forward(lf, pred, y), *other = lf->forward(lf, pred, s->y_partner);
        loss = fc_add(other, fc_mul_scalar(fc_sub(own, other), s->lam[0]));
    } else {
        loss = mixup_loss(s, lf, pred, y);
    }
    double v = loss ? fc_tensor_item(loss) : NAN;
    if (!loss || fc_error_code() != FC_OK) return FC_CANCEL_FIT;
    fc_learner_set_loss_grad(learn, loss);
    fc_learner_set_loss(learn, v);
    return FC_CONTINUE;
}

static int mix_end_batch(fc_learner *learn, void *state) {
    (void)learn;
    fci_mixup *s = state;
    s->active = 0;
    s->y_partner = NULL; /* it goes with the batch's scope */
    return FC_CONTINUE;
}

static fc_callback *mix_new(const fc_mixup_opts *o, int cutmix) {
    const char *who = cutmix ? "cutmix" : "mixup";
    double alpha = o->alpha != 0 ? o->alpha : cutmix ? 1.0 : 0.4;
    if (!(alpha > 0) || !isfinite(alpha)) {
        fc_fail(FC_ERR_ARG, "%s: .alpha must be > 0, found %g", who, alpha);
        return NULL;
    }
    fci_mixup *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cutmix = cutmix;
    s->alpha = alpha;
    return fc_callback_new(&(fc_callback_def){
        .name = cutmix ? "CutMix" : "MixUp", .order = FC_ORDER_DEFAULT, .run_valid_off = 1, .state = s,
        .free_state = mixup_free, .before_batch = mix_before_batch, .after_loss = mix_after_loss,
        .after_batch = mix_end_batch, .after_cancel_batch = mix_end_batch,
    });
}

fc_callback *fc_mixup_(const fc_mixup_opts *o) { return mix_new(o, 0); }
fc_callback *fc_cutmix_(const fc_mixup_opts *o) { return mix_new(o, 1); }
