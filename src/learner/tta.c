/* fastai's learn.tta: n prediction passes over a loader running its training-time transforms
 * (item and batch augmentation; pass i draws as epoch i), averaged (or their maximum), then one
 * plain pass with the validation transforms; the result is torch.lerp(aug, plain, beta), or the
 * element-wise maximum of both with use_max. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "learner_impl.h"

/* get_preds' activated predictions as a contiguous f32 tensor outside any scope. */
static fc_status preds_f32(fc_learner *learn, fc_dataloader *dl, fc_tensor **out, fc_tensor **targs) {
    fc_tensor *p = NULL;
    fc_status st = fc_learner_get_preds(learn, dl, &p, targs, NULL);
    if (st != FC_OK) return st;
    if (fc_tensor_dtype(p) == FC_DTYPE_F32 && fc_tensor_is_contiguous(p)) {
        *out = p;
        return FC_OK;
    }
    fc_scope *s = fc_scope_begin();
    fc_tensor *c = fc_contiguous(fc_to_dtype(p, FC_DTYPE_F32));
    *out = c ? fc_keep(c) : NULL;
    fc_scope_end(s);
    fc_tensor_free(p);
    return *out ? FC_OK : fc_error_code();
}

/* torch.lerp(a, b, w) elementwise, written in the form torch uses so that w = 1 gives b exactly
 * (and w = 0 gives a): a + w (b - a) below 0.5, b - (b - a)(1 - w) from 0.5. */
static float lerp(float a, float b, double w) {
    return w < 0.5 ? (float)(a + w * (b - a)) : (float)(b - (b - a) * (1 - w));
}

fc_status fc_tta_(fc_learner *learn, fc_tensor **preds, fc_tensor **targs, const fc_tta_opts *o) {
    fc_tta_opts d = {0};
    if (!o) o = &d;
    if (preds) *preds = NULL;
    if (targs) *targs = NULL;
    if (!learn) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "tta: learn is NULL");
    if (!preds) return fc_fail(FC_ERR_ARG, "tta: preds is NULL");
    int n = o->n ? o->n : 4;
    double beta = o->beta == 0 ? 0.25 : o->beta < 0 ? 0 : o->beta;
    if (n < 0) return fc_fail(FC_ERR_ARG, "tta: .n must be >= 0 (0: 4 passes), found %d", o->n);
    if (!(beta <= 1)) return fc_fail(FC_ERR_ARG, "tta: .beta must be in [0, 1] (0: 0.25, negative: 0), found %g", o->beta);
    if (learn->in_fit) return fc_fail(FC_ERR_STATE, "tta: cannot run during a fit");
    fc_dataloader *dl = o->dl ? o->dl : learn->dls ? learn->dls->valid : NULL;
    if (!dl) return fc_fail(FC_ERR_ARG, "tta: no .dl given and the dataloaders have no valid loader");
    if (fc_dataloader_is_shuffled(dl))
        return fc_fail(FC_ERR_ARG, "tta: .dl shuffles, so its passes would not line up item by item; use one in order");

    int old_epoch = learn->epoch;
    fc_split_idx old_split = fc_dataloader_set_split(dl, FC_SPLIT_TRAIN); /* fastai: set_split_idx(0) */
    double *acc = NULL;
    fc_tensor *aug = NULL, *plain = NULL, *t = NULL;
    int64_t numel = 0;
    fc_status st = FC_OK;
    for (int i = 0; i < n && st == FC_OK; i++) {
        learn->epoch = i; /* the loader's draws for pass i are epoch i's */
        st = preds_f32(learn, dl, &aug, NULL);
        if (st != FC_OK) break;
        const float *a = fc_tensor_data(aug);
        if (!acc) {
            numel = fc_tensor_numel(aug);
            acc = malloc((size_t)(numel ? numel : 1) * sizeof *acc);
            if (!acc) st = fc_fail(FC_ERR_NOMEM, "tta: cannot allocate %lld predictions", (long long)numel);
            for (int64_t j = 0; acc && j < numel; j++) acc[j] = a[j];
        } else if (fc_tensor_numel(aug) != numel) {
            st = fc_fail(FC_ERR_SHAPE, "tta: pass %d gave %lld predictions, pass 0 gave %lld", i,
                         (long long)fc_tensor_numel(aug), (long long)numel);
        } else {
            for (int64_t j = 0; j < numel; j++) acc[j] = o->use_max ? fmax(acc[j], a[j]) : acc[j] + a[j];
        }
        fc_tensor_free(aug);
        aug = NULL;
    }
    fc_dataloader_set_split(dl, FC_SPLIT_VALID); /* fastai: set_split_idx(1) for the plain pass */
    learn->epoch = n;
    if (st == FC_OK) st = preds_f32(learn, dl, &plain, &t);
    fc_dataloader_set_split(dl, old_split);
    learn->epoch = old_epoch;
    if (st == FC_OK && n > 0 && fc_tensor_numel(plain) != numel)
        st = fc_fail(FC_ERR_SHAPE, "tta: the plain pass gave %lld predictions, the augmented ones %lld",
                     (long long)fc_tensor_numel(plain), (long long)numel);
    if (st == FC_OK && n > 0) { /* n = 0: nothing augmented, the plain predictions stand */
        float *p = fc_tensor_data(plain);
        for (int64_t j = 0; j < numel; j++) {
            float a = o->use_max ? (float)acc[j] : (float)(acc[j] / n);
            p[j] = o->use_max ? fmaxf(a, p[j]) : lerp(a, p[j], beta);
        }
    }
    free(acc);
    if (st != FC_OK) {
        fc_tensor_free(plain);
        fc_tensor_free(t);
        return st;
    }
    *preds = plain;
    if (targs) *targs = t;
    else fc_tensor_free(t);
    return FC_OK;
}
