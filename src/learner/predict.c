/* validate and get_preds: the validation phase alone over a loader, with the learner's callbacks
 * (TrainEval switches to eval mode, the Recorder computes the loss and the metrics). Unlike
 * fastai's validate, before_epoch/after_epoch are not sent, so trackers and savers never react
 * to a validation run outside a fit. */
#include <math.h>
#include <stdlib.h>

#include "../core/core_impl.h"
#include "learner_impl.h"

typedef struct gather {
    fc_tensor **preds, **targs;
    int64_t n, cap;
    fc_status st;
} gather;

static int gather_after_batch(fc_learner *learn, void *s) {
    gather *g = s;
    if (!learn->pred) return FC_CONTINUE;
    if (g->n == g->cap) {
        int64_t cap = g->cap ? 2 * g->cap : 64;
        fc_tensor **p = realloc(g->preds, (size_t)cap * sizeof *p), **t = p ? realloc(g->targs, (size_t)cap * sizeof *t) : NULL;
        if (p) g->preds = p;
        if (t) g->targs = t;
        if (!p || !t) {
            fc_fail(FC_ERR_NOMEM, "get_preds: out of memory (%lld batches)", (long long)cap);
            return FC_CANCEL_FIT;
        }
        g->cap = cap;
    }
    const fc_loss_func *lf = &learn->loss_func;
    fc_tensor *act = fci_on_host(lf->activation ? lf->activation(lf, learn->pred) : fc_clone(learn->pred));
    if (!act) return FC_CANCEL_FIT;
    fc_tensor *y = fc_learner_yb(learn, 0), *yh = NULL;
    if (y && fc_tensor_device(y).type != FC_DEVICE_CPU && !(yh = fci_on_host(y))) return FC_CANCEL_FIT;
    g->preds[g->n] = fc_keep(act);
    /* a host target is the batch's own (a reference); a device one is copied (kept) */
    g->targs[g->n] = yh ? fc_keep(yh) : y ? fc_tensor_ref(y) : NULL;
    g->n++;
    return FC_CONTINUE;
}

fc_status fci_run_valid(fc_learner *learn, fc_dataloader *dl, fc_callback *extra, const char *fn) {
    if (!learn) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "%s: NULL learner", fn);
    if (learn->in_fit) return fc_fail(FC_ERR_STATE, "%s: cannot run during a fit", fn);
    if (!dl) dl = learn->dls->valid;
    if (!dl) return fc_fail(FC_ERR_ARG, "%s: no loader given and the dataloaders have no valid loader", fn);
    fc_callback **run = NULL;
    int n_run = 0;
    fc_status st = FC_OK;
    for (int i = 0; i < learn->n_cbs && st == FC_OK; i++) st = fci_cb_list_insert(&run, &n_run, learn->cbs[i]);
    if (st == FC_OK && extra) st = fci_cb_list_insert(&run, &n_run, extra);
    if (st == FC_OK) {
        learn->run = run;
        learn->n_run = n_run;
        learn->no_logging = 1;
        int r = fci_do_validate(learn, dl);
        learn->no_logging = 0;
        learn->run = NULL;
        learn->n_run = 0;
        learn->dl = NULL;
        if (r < 0) st = (fc_status)r;
    }
    fci_free(run);
    return st;
}

fc_status fc_learner_validate(fc_learner *learn, fc_dataloader *dl, double *loss, double *values) {
    fc_status st = fci_run_valid(learn, dl, NULL, "validate");
    if (st != FC_OK) return st;
    if (loss) *loss = learn->valid_loss;
    for (int i = 0; values && i < learn->n_metrics; i++) values[i] = learn->metric_values[i];
    return FC_OK;
}

static fc_tensor *cat_kept(fc_tensor **ts, int64_t n) {
    if (n == 0 || !ts[0]) return NULL;
    return fc_keep(fc_cat((fc_tensor_list){(int)n, ts}, 0));
}

fc_status fc_learner_get_preds(fc_learner *learn, fc_dataloader *dl, fc_tensor **preds, fc_tensor **targs,
                               fc_tensor **decoded) {
    if (preds) *preds = NULL;
    if (targs) *targs = NULL;
    if (decoded) *decoded = NULL;
    gather *g = fci_calloc(1, sizeof *g);
    if (!g) return fc_error_code();
    fc_callback *cb = fc_callback_new(&(fc_callback_def){
        .name = "GatherPreds", .order = FC_ORDER_RECORDER + 1, .state = g, .after_batch = gather_after_batch});
    fc_status st = cb ? fci_run_valid(learn, dl, cb, "get_preds") : fc_error_code();
    if (st == FC_OK && g->n == 0) st = fc_fail(FC_ERR_ARG, "get_preds: the loader gave no batch");
    fc_tensor *p = NULL, *t = NULL, *d = NULL;
    if (st == FC_OK) {
        p = cat_kept(g->preds, g->n);
        if (g->targs[0]) t = cat_kept(g->targs, g->n);
        const fc_loss_func *lf = &learn->loss_func;
        if (p && decoded) d = fc_keep(lf->decodes ? lf->decodes(lf, p) : fc_clone(p));
        if (!p || (g->targs[0] && !t) || (decoded && !d)) st = fc_error_code() != FC_OK ? fc_error_code() : FC_ERR_INTERNAL;
    }
    for (int64_t i = 0; i < g->n; i++) {
        fc_tensor_free(g->preds[i]);
        fc_tensor_free(g->targs[i]);
    }
    free(g->preds);
    free(g->targs);
    fci_free(g);
    fc_callback_free(cb);
    if (st != FC_OK) {
        fc_tensor_free(p);
        fc_tensor_free(t);
        fc_tensor_free(d);
        return st;
    }
    if (preds) *preds = p; else fc_tensor_free(p);
    if (targs) *targs = t; else fc_tensor_free(t);
    if (decoded) *decoded = d; else fc_tensor_free(d);
    return FC_OK;
}
