/* The training loop (fastai 2.7's Learner.fit and its _with_events phases) and the fits built on
 * it: fit, fit_one_cycle, fit_flat_cos, fit_sgdr, fine_tune. Phases return FC_CONTINUE, a cancel
 * code (which the phase it names catches: after_cancel_<phase>, then after_<phase>), or a negative
 * status (an error: stops everything, no more events). One scope per batch. */
#include <math.h>
#include <string.h>

#include "../core/core_impl.h"
#include "learner_impl.h"

typedef int (*phase_fn)(fc_learner *learn);

/* fastai's _with_events: before; f; on its own cancel after_cancel; after. Another cancel or an
 * error passes through (the outer phase that names it catches it). */
static int with_events(fc_learner *learn, fc_event before, fc_event after_cancel, fc_event after,
                       int cancel, phase_fn f) {
    int r = fci_learner_event(learn, before);
    if (r == FC_CONTINUE) r = f(learn);
    if (r < 0) return r;
    if (r == cancel) {
        r = fci_learner_event(learn, after_cancel);
        if (r != FC_CONTINUE) return r;
    } else if (r != FC_CONTINUE) {
        return r;
    }
    return fci_learner_event(learn, after);
}

static int do_backward(fc_learner *learn) {
    if (!learn->loss_grad) return fc_fail(FC_ERR_STATE, "backward: no loss_grad (a callback cleared it)");
    return fc_backward(learn->loss_grad);
}

static int do_step(fc_learner *learn) { return fc_optimizer_step(learn->opt); }

static int do_one_batch(fc_learner *learn) {
    if (learn->batch.n_inp != 1 || !learn->batch.v[0].t)
        return fc_fail(FC_ERR_UNSUPPORTED, "expected a batch with one tensor input, found n_inp %d%s",
                       learn->batch.n_inp, learn->batch.n_inp >= 1 ? " (a list value)" : "");
    learn->pred = fc_module_forward(learn->model, learn->batch.v[0].t);
    if (!learn->pred) return fc_error_code() != FC_OK ? fc_error_code() : FCI_INTERNAL("forward returned NULL");
    int r = fci_learner_event(learn, FC_EVENT_AFTER_PRED);
    if (r != FC_CONTINUE) return r;
    int has_y = learn->batch.n > learn->batch.n_inp;
    if (has_y) {
        fc_tensor *y = learn->batch.v[learn->batch.n_inp].t;
        learn->loss_grad = learn->loss_func.forward(&learn->loss_func, learn->pred, y);
        if (!learn->loss_grad)
            return fc_error_code() != FC_OK ? fc_error_code() : FCI_INTERNAL("loss_func returned NULL");
        learn->loss = fc_tensor_item(learn->loss_grad);
        if (fc_error_code() != FC_OK) return fc_error_code();
    }
    r = fci_learner_event(learn, FC_EVENT_AFTER_LOSS);
    if (r != FC_CONTINUE || !learn->training || !has_y) return r;
    r = with_events(learn, FC_EVENT_BEFORE_BACKWARD, FC_EVENT_AFTER_CANCEL_BACKWARD, FC_EVENT_AFTER_BACKWARD,
                    FC_CANCEL_BACKWARD, do_backward);
    if (r != FC_CONTINUE) return r;
    r = with_events(learn, FC_EVENT_BEFORE_STEP, FC_EVENT_AFTER_CANCEL_STEP, FC_EVENT_AFTER_STEP, FC_CANCEL_STEP,
                    do_step);
    if (r != FC_CONTINUE) return r;
    fc_optimizer_zero_grad(learn->opt);
    return FC_CONTINUE;
}

static int one_batch(fc_learner *learn, int64_t i, fc_tuple *b) {
    learn->iter = i;
    learn->batch = *b;
    learn->has_batch = 1;
    learn->pred = learn->loss_grad = NULL;
    fc_scope *s = fc_scope_begin();
    int r = s ? with_events(learn, FC_EVENT_BEFORE_BATCH, FC_EVENT_AFTER_CANCEL_BATCH, FC_EVENT_AFTER_BATCH,
                            FC_CANCEL_BATCH, do_one_batch)
              : fc_error_code();
    fc_scope_end(s);
    learn->pred = learn->loss_grad = NULL;
    learn->has_batch = 0;
    fc_tuple_free(&learn->batch);
    return r;
}

static const char *what_name(const fc_learner *learn) {
    return learn->in_fit ? "fit" : "validate";
}

/* A model on a CUDA device gets its batches there: the loader uploads them through pinned memory,
 * the next batch's copy overlapping this step (fc_dataloader_set_device, h-cudainfra). */
static fc_status batches_to_model(fc_learner *learn, fc_dataloader *dl) {
    if (!fc_module_n_parameters(learn->model) || fc_dataloader_device(dl).type != FC_DEVICE_CPU) return FC_OK;
    fc_device md = fc_tensor_device(fc_module_parameter(learn->model, 0, NULL));
    return md.type == FC_DEVICE_CPU ? FC_OK : fc_dataloader_set_device(dl, md);
}

static int all_batches(fc_learner *learn) {
    fc_dataloader *dl = learn->dl;
    learn->n_iter = fc_dataloader_len(dl);
    fc_status st = batches_to_model(learn, dl);
    if (st != FC_OK) return st;
    st = fc_dataloader_start(dl, learn->epoch);
    if (st != FC_OK) return st;
    for (int64_t i = 0;; i++) {
        fc_tuple b = {0};
        int got = fc_dataloader_next(dl, &b);
        if (got < 0)
            return fci_error_prefix("%s: epoch %d, %s batch %lld: ", what_name(learn), learn->epoch,
                                    learn->training ? "train" : "valid", (long long)i);
        if (got == 0) return FC_CONTINUE;
        int r = one_batch(learn, i, &b);
        if (r < 0)
            return fci_error_prefix("%s: epoch %d, %s batch %lld: ", what_name(learn), learn->epoch,
                                    learn->training ? "train" : "valid", (long long)i);
        if (r != FC_CONTINUE) return r;
    }
}

static int do_epoch_train(fc_learner *learn) {
    learn->dl = learn->dls->train;
    learn->training = 1;
    return with_events(learn, FC_EVENT_BEFORE_TRAIN, FC_EVENT_AFTER_CANCEL_TRAIN, FC_EVENT_AFTER_TRAIN,
                       FC_CANCEL_TRAIN, all_batches);
}

int fci_do_validate(fc_learner *learn, fc_dataloader *dl) {
    learn->dl = dl;
    learn->training = 0;
    fc_no_grad_begin();
    int r = with_events(learn, FC_EVENT_BEFORE_VALIDATE, FC_EVENT_AFTER_CANCEL_VALIDATE, FC_EVENT_AFTER_VALIDATE,
                        FC_CANCEL_VALIDATE, all_batches);
    fc_no_grad_end();
    return r;
}

static int do_epoch(fc_learner *learn) {
    int r = do_epoch_train(learn);
    if (r != FC_CONTINUE || !learn->dls->valid) return r;
    return fci_do_validate(learn, learn->dls->valid);
}

static int do_fit(fc_learner *learn) {
    for (int e = learn->epoch; e < learn->n_epoch; e++) {
        learn->epoch = e;
        int r = fci_learner_event(learn, FC_EVENT_BEFORE_EPOCH);
        if (r == FC_CONTINUE) r = do_epoch(learn);
        if (r < 0) return r;
        if (r == FC_CONTINUE || r == FC_CANCEL_EPOCH) learn->epochs_done = e + 1; /* before after_epoch: savers see it */
        if (r == FC_CANCEL_EPOCH) {
            r = fci_learner_event(learn, FC_EVENT_AFTER_CANCEL_EPOCH);
            if (r != FC_CONTINUE) return r;
        } else if (r != FC_CONTINUE) {
            return r;
        }
        r = fci_learner_event(learn, FC_EVENT_AFTER_EPOCH);
        if (r != FC_CONTINUE) return r;
    }
    return FC_CONTINUE;
}

/* ---- the schedule callback (fastai's ParamScheduler, order 60, training batches only) ---- */

static double sched_lr(const fci_sched *s, int g, double pos) {
    double lr = s->lr[g];
    switch (s->kind) {
    case FCI_SCHED_ONE_CYCLE: return fc_combined_cos(s->pct_start, lr / s->div, lr, lr / s->div_final, pos);
    case FCI_SCHED_FLAT_COS: return fc_combined_cos(s->pct_start, lr, lr, lr / s->div_final, pos);
    case FCI_SCHED_SGDR: return fc_sgdr_lr(lr, s->n_cycles, s->cycle_len, s->cycle_mult, pos);
    case FCI_SCHED_EXP: return fc_sched_exp(lr, s->lr_end[g], pos);
    }
    return lr;
}

static int sched_before_batch(fc_learner *learn, void *state) {
    const fci_sched *s = state;
    double pos = s->kind == FCI_SCHED_EXP ? (double)learn->train_iter / (double)s->num_it : learn->pct_train;
    if (pos > 1) pos = 1;
    for (int g = 0; g < s->n_groups; g++) {
        if (fc_optimizer_set_lr(learn->opt, g, sched_lr(s, g, pos)) != FC_OK) return FC_CANCEL_FIT;
        if (s->kind == FCI_SCHED_ONE_CYCLE &&
            fc_optimizer_set_mom(learn->opt, g, fc_combined_cos(s->pct_start, s->mom_max, s->mom_min, s->mom_max, pos)) != FC_OK)
            return FC_CANCEL_FIT;
    }
    return FC_CONTINUE;
}

static void sched_free(void *p) {
    fci_sched *s = p;
    if (!s) return;
    fci_free(s->lr);
    fci_free(s->lr_end);
    fci_free(s);
}

fc_callback *fci_param_scheduler_new(const fci_sched *src) {
    fci_sched *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = *src;
    s->lr = fci_calloc((size_t)src->n_groups, sizeof(double));
    s->lr_end = fci_calloc((size_t)src->n_groups, sizeof(double));
    if (!s->lr || !s->lr_end) {
        sched_free(s);
        return NULL;
    }
    memcpy(s->lr, src->lr, (size_t)src->n_groups * sizeof(double));
    if (src->lr_end) memcpy(s->lr_end, src->lr_end, (size_t)src->n_groups * sizeof(double));
    return fc_callback_new(&(fc_callback_def){
        .name = "ParamScheduler", .order = 60, .run_valid_off = 1, .state = s, .free_state = sched_free,
        .before_batch = sched_before_batch,
    });
}

/* ---- fit ---- */

static void free_cbs(fc_callbacks cbs) {
    for (int i = 0; i < cbs.n; i++) fc_callback_free(cbs.cb[i]);
}

static fc_status fit_checks(fc_learner *learn, const char *fn, int n_epoch, int start_epoch) {
    if (!learn) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "%s: NULL learner", fn);
    if (fc_error_code() != FC_OK) return fc_error_code(); /* an earlier failure stands */
    if (learn->in_fit) return fc_fail(FC_ERR_STATE, "%s: a fit is already running on this learner", fn);
    if (n_epoch < 1) return fc_fail(FC_ERR_ARG, "%s: n_epoch must be >= 1, found %d", fn, n_epoch);
    if (start_epoch < 0 || start_epoch > n_epoch)
        return fc_fail(FC_ERR_ARG, "%s: .start_epoch must be in [0, %d], found %d", fn, n_epoch, start_epoch);
    return fci_learner_ensure_opt(learn);
}

/* Runs the fit; the fit's callbacks (cbs, and the scheduler made from sched) are freed after it
 * when free_cbs is set. */
static fc_status run_fit(fc_learner *learn, int n_epoch, int start_epoch, double wd, int no_wd,
                         const fci_sched *sched, fc_callbacks cbs, int free_fit_cbs) {
    fc_callback *sched_cb = NULL;
    fc_status st = FC_OK;
    for (int i = 0; i < learn->n_groups && st == FC_OK; i++)
        st = fc_optimizer_set_wd(learn->opt, i, no_wd ? 0 : wd > 0 ? wd : learn->no_wd ? 0 : learn->wd);
    if (st == FC_OK && sched && !(sched_cb = fci_param_scheduler_new(sched))) st = fc_error_code();
    fc_callback **run = NULL;
    int n_run = 0;
    for (int i = 0; i < learn->n_cbs && st == FC_OK; i++) st = fci_cb_list_insert(&run, &n_run, learn->cbs[i]);
    for (int i = 0; i < cbs.n && st == FC_OK; i++)
        st = cbs.cb[i] ? fci_cb_list_insert(&run, &n_run, cbs.cb[i]) : fc_fail(FC_ERR_ARG, "fit: callback %d is NULL", i);
    if (st == FC_OK && sched_cb) st = fci_cb_list_insert(&run, &n_run, sched_cb);
    if (st == FC_OK) {
        learn->run = run;
        learn->n_run = n_run;
        learn->in_fit = 1;
        learn->n_epoch = n_epoch;
        learn->epoch = start_epoch;
        learn->epochs_done = start_epoch;
        int r = with_events(learn, FC_EVENT_BEFORE_FIT, FC_EVENT_AFTER_CANCEL_FIT, FC_EVENT_AFTER_FIT, FC_CANCEL_FIT,
                            do_fit);
        st = r < 0 ? (fc_status)r : FC_OK;
        /* fastai's _end_cleanup */
        learn->in_fit = 0;
        learn->training = 0;
        learn->dl = NULL;
        learn->run = NULL;
        learn->n_run = 0;
    }
    fci_free(run);
    fc_callback_free(sched_cb);
    if (free_fit_cbs) free_cbs(cbs);
    return st;
}

fc_status fci_fit(fc_learner *learn, int n_epoch, int start_epoch, double wd, int no_wd,
                  const fci_sched *sched, fc_callbacks cbs) {
    return run_fit(learn, n_epoch, start_epoch, wd, no_wd, sched, cbs, 1);
}

fc_status fc_fit_(fc_learner *learn, int n_epoch, const fc_fit_opts *o) {
    fc_status st = fit_checks(learn, "fit", n_epoch, o->start_epoch);
    if (st == FC_OK && (o->lr < 0 || o->lr_lo < 0 || o->wd < 0))
        st = fc_fail(FC_ERR_ARG, "fit: .lr, .lr_lo and .wd must be >= 0, found %g, %g, %g", o->lr, o->lr_lo, o->wd);
    if (st != FC_OK) {
        free_cbs(o->cbs);
        return st;
    }
    double lrs[64], *lr = learn->n_groups <= 64 ? lrs : fci_calloc((size_t)learn->n_groups, sizeof(double));
    if (!lr) {
        free_cbs(o->cbs);
        return fc_error_code();
    }
    fci_lr_range(learn->n_groups, o->lr_lo, o->lr > 0 ? o->lr : learn->lr, 0, lr);
    st = fci_learner_set_lrs(learn, lr, 0);
    if (lr != lrs) fci_free(lr);
    if (st != FC_OK) {
        free_cbs(o->cbs);
        return st;
    }
    return run_fit(learn, n_epoch, o->start_epoch, o->wd, o->no_wd, NULL, o->cbs, 1);
}

/* Schedules with per-group lrs: fills s->lr (allocated here; the caller frees it). */
static fc_status sched_lrs(fc_learner *learn, fci_sched *s, double lr_lo, double lr, int slice_stop_only) {
    s->n_groups = learn->n_groups;
    s->lr = fci_calloc((size_t)s->n_groups, sizeof(double));
    if (!s->lr) return fc_error_code();
    fci_lr_range(s->n_groups, lr_lo, lr, slice_stop_only, s->lr);
    return fci_learner_set_lrs(learn, s->lr, 0);
}

static fc_status one_cycle(fc_learner *learn, int n_epoch, const fc_fit_one_cycle_opts *o, int slice_stop_only,
                           int free_fit_cbs) {
    fc_status st = fit_checks(learn, "fit_one_cycle", n_epoch, o->start_epoch);
    fci_sched s = {.kind = FCI_SCHED_ONE_CYCLE, .div = o->div > 0 ? o->div : 25,
                   .div_final = o->div_final > 0 ? o->div_final : 1e5, .pct_start = o->pct_start > 0 ? o->pct_start : 0.25,
                   .mom_max = o->mom_max > 0 ? o->mom_max : learn ? learn->mom_max : 0.95,
                   .mom_min = o->mom_min > 0 ? o->mom_min : learn ? learn->mom_min : 0.85};
    double lr_max = o->lr_max > 0 ? o->lr_max : learn ? learn->lr : 0;
    if (st == FC_OK && (o->lr_max < 0 || o->lr_lo < 0 || o->wd < 0 || o->div < 0 || o->div_final < 0))
        st = fc_fail(FC_ERR_ARG, "fit_one_cycle: .lr_max, .lr_lo, .wd, .div and .div_final must be >= 0");
    if (st == FC_OK && !(s.pct_start > 0 && s.pct_start < 1))
        st = fc_fail(FC_ERR_ARG, "fit_one_cycle: .pct_start must be in (0, 1), found %g", s.pct_start);
    if (st == FC_OK && !(s.mom_max < 1 && s.mom_min < 1))
        st = fc_fail(FC_ERR_ARG, "fit_one_cycle: .mom_max and .mom_min must be < 1, found %g and %g", s.mom_max, s.mom_min);
    if (st == FC_OK) st = sched_lrs(learn, &s, o->lr_lo, lr_max, slice_stop_only);
    if (st == FC_OK) {
        st = run_fit(learn, n_epoch, o->start_epoch, o->wd, o->no_wd, &s, o->cbs, free_fit_cbs);
        fci_free(s.lr);
        return st;
    }
    fci_free(s.lr);
    if (free_fit_cbs) free_cbs(o->cbs);
    return st;
}

fc_status fc_fit_one_cycle_(fc_learner *learn, int n_epoch, const fc_fit_one_cycle_opts *o) {
    return one_cycle(learn, n_epoch, o, 0, 1);
}

fc_status fc_fit_flat_cos_(fc_learner *learn, int n_epoch, const fc_fit_flat_cos_opts *o) {
    fc_status st = fit_checks(learn, "fit_flat_cos", n_epoch, o->start_epoch);
    fci_sched s = {.kind = FCI_SCHED_FLAT_COS, .div_final = o->div_final > 0 ? o->div_final : 1e5,
                   .pct_start = o->pct_start > 0 ? o->pct_start : 0.75};
    if (st == FC_OK && (o->lr < 0 || o->lr_lo < 0 || o->wd < 0 || o->div_final < 0 || s.pct_start >= 1))
        st = fc_fail(FC_ERR_ARG, "fit_flat_cos: .lr, .lr_lo, .wd, .div_final must be >= 0 and .pct_start < 1");
    if (st == FC_OK) st = sched_lrs(learn, &s, o->lr_lo, o->lr > 0 ? o->lr : learn->lr, 0);
    if (st == FC_OK) {
        st = run_fit(learn, n_epoch, o->start_epoch, o->wd, o->no_wd, &s, o->cbs, 1);
        fci_free(s.lr);
        return st;
    }
    fci_free(s.lr);
    free_cbs(o->cbs);
    return st;
}

fc_status fc_fit_sgdr_(fc_learner *learn, int n_cycles, int cycle_len, const fc_fit_sgdr_opts *o) {
    int mult = o->cycle_mult > 0 ? o->cycle_mult : 2;
    fc_status st = FC_OK;
    if (n_cycles < 1 || cycle_len < 1 || o->cycle_mult < 0)
        st = fc_fail(FC_ERR_ARG, "fit_sgdr: n_cycles, cycle_len and .cycle_mult must be >= 1, found %d, %d, %d",
                     n_cycles, cycle_len, o->cycle_mult);
    int n_epoch = st == FC_OK ? fc_sgdr_n_epoch(n_cycles, cycle_len, mult) : 0;
    if (st == FC_OK) st = fit_checks(learn, "fit_sgdr", n_epoch, 0);
    fci_sched s = {.kind = FCI_SCHED_SGDR, .n_cycles = n_cycles, .cycle_len = cycle_len, .cycle_mult = mult};
    if (st == FC_OK && (o->lr_max < 0 || o->lr_lo < 0 || o->wd < 0))
        st = fc_fail(FC_ERR_ARG, "fit_sgdr: .lr_max, .lr_lo and .wd must be >= 0");
    if (st == FC_OK) st = sched_lrs(learn, &s, o->lr_lo, o->lr_max > 0 ? o->lr_max : learn->lr, 0);
    if (st == FC_OK) {
        st = run_fit(learn, n_epoch, 0, o->wd, o->no_wd, &s, o->cbs, 1);
        fci_free(s.lr);
        return st;
    }
    fci_free(s.lr);
    free_cbs(o->cbs);
    return st;
}

fc_status fc_fine_tune_(fc_learner *learn, int epochs, const fc_fine_tune_opts *o) {
    double base_lr = o->base_lr > 0 ? o->base_lr : 2e-3, lr_mult = o->lr_mult > 0 ? o->lr_mult : 100;
    int freeze_epochs = o->no_freeze ? 0 : o->freeze_epochs > 0 ? o->freeze_epochs : 1;
    fc_status st = fit_checks(learn, "fine_tune", epochs, 0);
    if (st == FC_OK && (o->base_lr < 0 || o->lr_mult < 0 || o->freeze_epochs < 0 || o->pct_start < 0 ||
                        o->pct_start >= 1 || o->div < 0 || o->wd < 0))
        st = fc_fail(FC_ERR_ARG, "fine_tune: .base_lr, .lr_mult, .freeze_epochs, .div, .wd must be >= 0 and "
                                 ".pct_start in [0, 1)");
    if (st == FC_OK && freeze_epochs > 0) {
        st = fc_learner_freeze(learn);
        /* fastai: fit_one_cycle(freeze_epochs, slice(base_lr), pct_start=0.99) */
        fc_fit_one_cycle_opts f = {.lr_max = base_lr, .pct_start = 0.99, .wd = o->wd, .no_wd = o->no_wd, .cbs = o->cbs};
        if (st == FC_OK) st = one_cycle(learn, freeze_epochs, &f, 1, 0);
    }
    base_lr /= 2; /* fastai halves it even when no frozen epoch ran */
    if (st == FC_OK) st = fc_learner_unfreeze(learn);
    if (st == FC_OK) {
        fc_fit_one_cycle_opts f = {.lr_lo = base_lr / lr_mult, .lr_max = base_lr,
                                   .pct_start = o->pct_start > 0 ? o->pct_start : 0.3, .div = o->div > 0 ? o->div : 5,
                                   .wd = o->wd, .no_wd = o->no_wd, .cbs = o->cbs};
        st = one_cycle(learn, epochs, &f, 0, 0);
    }
    free_cbs(o->cbs);
    return st;
}
