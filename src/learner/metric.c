/* Metrics: a named accumulator (reset, accumulate per batch, value over the whole set) and the
 * helpers the built-in metrics share to read pred and targ batches into flat host arrays. */
#include <math.h>
#include <string.h>

#include "../core/core_impl.h"
#include "fastc/learner.h"
#include "metrics_impl.h"

struct fc_metric {
    fc_metric_def def;
    char *name; /* copy of def.name: the def is borrowed for the call */
    void *state;
};

fc_metric *fc_metric_new(const fc_metric_def *def, void *state) {
    if (!def || !def->name || !def->accumulate || !def->value) {
        if (def && def->free_state) def->free_state(state);
        fc_fail(FC_ERR_ARG, "metric_new: expected a def with name, accumulate and value, found %s",
                !def ? "NULL" : !def->name ? "no name" : !def->accumulate ? "no accumulate" : "no value");
        return NULL;
    }
    fc_metric *m = fci_calloc(1, sizeof *m);
    size_t len = strlen(def->name);
    char *name = m ? fci_calloc(len + 1, 1) : NULL;
    if (!m || !name) {
        fci_free(m);
        if (def->free_state) def->free_state(state);
        return NULL;
    }
    memcpy(name, def->name, len + 1);
    m->def = *def;
    m->def.name = m->name = name;
    m->state = state;
    fc_metric_reset(m);
    return m;
}

void fc_metric_free(fc_metric *m) {
    if (!m) return;
    if (m->def.free_state) m->def.free_state(m->state);
    fci_free(m->name);
    fci_free(m);
}

const char *fc_metric_name(const fc_metric *m) { return m ? m->name : NULL; }
int fc_metric_lower_is_better(const fc_metric *m) { return m ? m->def.lower_is_better : 0; }

void fc_metric_reset(fc_metric *m) {
    if (m && m->def.reset) m->def.reset(m->state);
}

fc_status fc_metric_accumulate(fc_metric *m, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    if (!m) return fc_fail(FC_ERR_ARG, "metric_accumulate: expected a metric, found NULL");
    return m->def.accumulate(m->state, pred, targ, loss, bs);
}

double fc_metric_value(fc_metric *m) { return m ? m->def.value(m->state) : NAN; }

/* ---- shared by the built-in metrics ---- */

static int is_integer_dtype(fc_dtype dt) {
    return dt == FC_DTYPE_I64 || dt == FC_DTYPE_I32 || dt == FC_DTYPE_U8 || dt == FC_DTYPE_BOOL;
}

/* pred [N, C, d...] with the classes along dim 1 (the layout fc_cross_entropy takes), targ
 * [N, d...]: items N * prod(d), their argmax class and target. */
fc_status fci_metric_classes(const char *name, fc_tensor *pred, fc_tensor *targ, fci_cls_batch *out) {
    *out = (fci_cls_batch){0};
    if (!pred || !targ) return fc_fail(FC_ERR_ARG, "%s: expected pred and targ, found NULL", name);
    int pn = fc_tensor_ndim(pred), tn = fc_tensor_ndim(targ);
    const int64_t *pd = fc_tensor_dims(pred), *td = fc_tensor_dims(targ);
    if (pn < 2)
        return fc_fail(FC_ERR_SHAPE, "%s: expected pred [N, C] (scores per class), found %s", name,
                       fci_tshape(pred));
    int fits = tn == pn - 1 && td[0] == pd[0];
    for (int i = 1; fits && i < tn; i++) fits = td[i] == pd[i + 1];
    if (!fits) {
        if (pn == 2)
            return fc_fail(FC_ERR_SHAPE, "%s: expected targ [N] with N = pred.shape[0] = %lld, found %s",
                           name, (long long)pd[0], fci_tshape(targ));
        int64_t want[FC_MAX_DIMS];
        want[0] = pd[0];
        for (int i = 2; i < pn; i++) want[i - 1] = pd[i];
        return fc_fail(FC_ERR_SHAPE, "%s: expected targ %s (pred %s without its class dim 1), found %s",
                       name, fci_shape_str(pn - 1, want), fci_tshape(pred), fci_tshape(targ));
    }
    if (!is_integer_dtype(fc_tensor_dtype(targ)))
        return fc_fail(FC_ERR_DTYPE, "%s: expected integer class targets (i64), found %s targ %s", name,
                       fc_dtype_name(fc_tensor_dtype(targ)), fci_tshape(targ));
    int64_t n_items = fc_tensor_numel(targ), c = pd[1], inner = n_items / (pd[0] ? pd[0] : 1);
    float *p = fci_calloc((size_t)fc_tensor_numel(pred) + 1, sizeof *p);
    out->pred = fci_calloc((size_t)n_items + 1, sizeof *out->pred);
    out->targ = fci_calloc((size_t)n_items + 1, sizeof *out->targ);
    fc_status st = !p || !out->pred || !out->targ ? FC_ERR_NOMEM : FC_OK;
    if (st == FC_OK) st = fc_tensor_copy_out(pred, p, FC_DTYPE_F32);
    if (st == FC_OK) st = fc_tensor_copy_out(targ, out->targ, FC_DTYPE_I64);
    if (st != FC_OK) {
        fci_free(p);
        fci_metric_classes_free(out);
        return st;
    }
    /* argmax: the first maximum, NaN counting as the largest (torch.argmax) */
    for (int64_t i = 0; i < n_items; i++) {
        const float *row = p + (i / inner) * c * inner + i % inner;
        int64_t best = 0;
        for (int64_t k = 1; k < c && !isnan(row[best * inner]); k++)
            if (isnan(row[k * inner]) || row[k * inner] > row[best * inner]) best = k;
        out->pred[i] = best;
    }
    fci_free(p);
    out->n = n_items;
    out->n_classes = c;
    return FC_OK;
}

void fci_metric_classes_free(fci_cls_batch *b) {
    fci_free(b->pred);
    fci_free(b->targ);
    *b = (fci_cls_batch){0};
}

/* pred and targ of the same numel (fastai's flatten_check), both read as f32. */
fc_status fci_metric_flat(const char *name, fc_tensor *pred, fc_tensor *targ, float **p, float **t, int64_t *n) {
    *p = *t = NULL;
    *n = 0;
    if (!pred || !targ) return fc_fail(FC_ERR_ARG, "%s: expected pred and targ, found NULL", name);
    int64_t np = fc_tensor_numel(pred), nt = fc_tensor_numel(targ);
    if (np != nt)
        return fc_fail(FC_ERR_SHAPE, "%s: expected pred and targ with the same number of elements, found pred %s and targ %s",
                       name, fci_tshape(pred), fci_tshape(targ));
    *p = fci_calloc((size_t)np + 1, sizeof **p);
    *t = fci_calloc((size_t)np + 1, sizeof **t);
    fc_status st = !*p || !*t ? FC_ERR_NOMEM : FC_OK;
    if (st == FC_OK) st = fc_tensor_copy_out(pred, *p, FC_DTYPE_F32);
    if (st == FC_OK) st = fc_tensor_copy_out(targ, *t, FC_DTYPE_F32);
    if (st != FC_OK) {
        fci_free(*p);
        fci_free(*t);
        *p = *t = NULL;
        return st;
    }
    *n = np;
    return FC_OK;
}
