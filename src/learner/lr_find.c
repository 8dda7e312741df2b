/* lr_find (fastai 2.7's LRFinder and its suggestion functions): an exponential lr sweep over
 * training batches with the smoothed loss, stopped when it passes 4x its minimum; the weights, the
 * optimizer state and MixedPrecision's loss scaler (scale, growth tracker) are put back afterwards:
 * the sweep's huge lrs overflow f16 and would leave the fit that follows with a backed-off scale. */
#include <math.h>
#include <stdlib.h>

#include "../callbacks/grad_scaler_impl.h"
#include "../core/core_impl.h"
#include "fastc/plot.h"
#include "learner_impl.h"

typedef struct lr_finder {
    int64_t num_it;
    int stop_div;
    double best;
} lr_finder;

static int lrf_before_fit(fc_learner *learn, void *s) {
    ((lr_finder *)s)->best = INFINITY;
    return FC_CONTINUE;
}

static int lrf_after_batch(fc_learner *learn, void *s) {
    lr_finder *f = s;
    double sl = learn->smooth_loss;
    if (sl < f->best) f->best = sl;
    if (f->stop_div && (sl > 4 * f->best || isnan(sl))) return FC_CANCEL_FIT;
    if (learn->train_iter >= f->num_it) return FC_CANCEL_FIT;
    return FC_CONTINUE;
}

static int lrf_before_validate(fc_learner *learn, void *s) { return FC_CANCEL_VALIDATE; }

/* fastai's valley: the longest decreasing run of losses, 2/3 of the way down it (rounded as fastai). */
static double valley(const double *lrs, const double *losses, int n, double *loss_at) {
    int *lds = malloc((size_t)n * sizeof(int));
    if (!lds) return NAN;
    int max_start = 0, max_end = 0;
    for (int i = 0; i < n; i++) lds[i] = 1;
    for (int i = 1; i < n; i++)
        for (int j = 0; j < i; j++) {
            if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
            if (lds[max_end] < lds[i]) {
                max_end = i;
                max_start = max_end - lds[max_end];
            }
        }
    free(lds);
    double sections = (max_end - max_start) / 3.0;
    int idx = max_start + (int)sections + (int)(sections / 2);
    if (idx < 0) idx = 0;
    *loss_at = losses[idx];
    return lrs[idx];
}

static void suggestions(const double *lrs_all, const double *losses_all, int64_t n_all, int num_it,
                        fc_lr_suggestions *out, double mark_x[3], double mark_y[3]) {
    /* fastai: lrs[num_it//10 : -5], cut at the first NaN loss */
    int64_t lo = num_it / 10, hi = n_all - 5;
    int64_t n = hi - lo;
    for (int64_t i = 0; i < n; i++)
        if (isnan(losses_all[lo + i])) {
            n = i;
            break;
        }
    out->valley = out->minimum = out->steep = NAN;
    for (int k = 0; k < 3; k++) mark_x[k] = mark_y[k] = NAN;
    if (n < 2) return;
    const double *lrs = lrs_all + lo, *losses = losses_all + lo;
    mark_x[0] = out->valley = valley(lrs, losses, (int)n, &mark_y[0]);
    int64_t amin = 0, gmin = 0;
    double gbest = INFINITY;
    for (int64_t i = 1; i < n; i++)
        if (losses[i] < losses[amin]) amin = i;
    for (int64_t i = 0; i + 1 < n; i++) {
        double g = (losses[i + 1] - losses[i]) / (log(lrs[i + 1]) - log(lrs[i]));
        if (g < gbest) {
            gbest = g;
            gmin = i;
        }
    }
    out->minimum = lrs[amin] / 10;
    mark_x[1] = lrs[amin];
    mark_y[1] = losses[amin];
    mark_x[2] = out->steep = lrs[gmin];
    mark_y[2] = losses[gmin];
}

typedef struct saved_scaler {
    fc_callback *cb; /* NULL: not a MixedPrecision with a scaler */
    fci_grad_scaler s;
} saved_scaler;

/* Puts each saved scaler back into its callback if that is still one of the learner's. */
static void restore_scalers(fc_learner *learn, const saved_scaler *saved, int n) {
    for (int k = 0; k < n; k++)
        for (int i = 0; saved[k].cb && i < learn->n_cbs; i++)
            if (learn->cbs[i] == saved[k].cb) {
                fci_grad_scaler *sc = fci_mixed_precision_scaler(learn->cbs[i]);
                if (sc) *sc = saved[k].s;
            }
}

fc_status fc_lr_find_(fc_learner *learn, fc_lr_suggestions *out, const fc_lr_find_opts *o) {
    if (!learn) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "lr_find: NULL learner");
    double start = o->start_lr > 0 ? o->start_lr : 1e-7, end = o->end_lr > 0 ? o->end_lr : 10;
    int num_it = o->num_it > 0 ? o->num_it : 100;
    if (o->start_lr < 0 || o->end_lr < 0 || o->num_it < 0 || !(end > start))
        return fc_fail(FC_ERR_ARG, "lr_find: expected 0 < .start_lr < .end_lr and .num_it >= 0, found %g, %g, %d",
                       start, end, o->num_it);
    if (learn->in_fit) return fc_fail(FC_ERR_STATE, "lr_find: a fit is already running on this learner");
    fc_status st = fci_learner_ensure_opt(learn);
    if (st != FC_OK) return st;
    int64_t n_iter = fc_dataloader_len(learn->dls->train);
    if (n_iter <= 0) return fc_fail(FC_ERR_ARG, "lr_find: the train loader has no batch");
    unsigned char *snap = NULL;
    size_t n_snap = 0;
    int n_saved = learn->n_cbs;
    saved_scaler *scalers = fci_calloc(n_saved > 0 ? (size_t)n_saved : 1, sizeof *scalers);
    if (!scalers) return fc_error_code();
    for (int i = 0; i < n_saved; i++) {
        const fci_grad_scaler *sc = fci_mixed_precision_scaler(learn->cbs[i]);
        if (sc) scalers[i] = (saved_scaler){learn->cbs[i], *sc};
    }
    st = fci_learner_snapshot(learn, &snap, &n_snap);
    if (st != FC_OK) {
        fci_free(scalers);
        return st;
    }
    fci_sched s = {.kind = FCI_SCHED_EXP, .n_groups = learn->n_groups, .num_it = num_it};
    s.lr = fci_calloc((size_t)s.n_groups, sizeof(double));
    s.lr_end = fci_calloc((size_t)s.n_groups, sizeof(double));
    lr_finder *f = fci_calloc(1, sizeof *f);
    fc_callback *cb = NULL;
    if (s.lr && s.lr_end && f) {
        for (int g = 0; g < s.n_groups; g++) {
            s.lr[g] = start;
            s.lr_end[g] = end;
        }
        *f = (lr_finder){.num_it = num_it, .stop_div = !o->no_stop_div};
        cb = fc_callback_new(&(fc_callback_def){
            .name = "LRFinder", .order = 60, .state = f, .free_state = fci_free, .before_fit = lrf_before_fit,
            .after_batch = lrf_after_batch, .before_validate = lrf_before_validate, .run_valid_off = 1});
    } else {
        fci_free(f);
    }
    st = cb ? FC_OK : fc_error_code();
    if (st == FC_OK) {
        learn->no_logging = 1;
        st = fci_fit(learn, (int)(num_it / n_iter) + 1, 0, 0, 0, &s, FC_CALLBACKS(cb));
        learn->no_logging = 0;
    }
    fci_free(s.lr);
    fci_free(s.lr_end);
    /* put the weights and the optimizer state back, whatever happened */
    fc_optimizer_zero_grad(learn->opt);
    if (st != FC_OK) {
        fc_status keep = st;
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", fc_error_message());
        fc_error_clear();
        if (fci_learner_restore(learn, snap, n_snap, "lr_find snapshot", 0) != FC_OK) fc_error_clear();
        fc_fail(keep, "%s", msg);
    } else {
        st = fci_learner_restore(learn, snap, n_snap, "lr_find snapshot", 0);
    }
    free(snap);
    restore_scalers(learn, scalers, n_saved);
    fci_free(scalers);
    if (st != FC_OK) return st;

    int64_t n = fc_recorder_n_batches(learn);
    const double *lrs = fc_recorder_lrs(learn), *losses = fc_recorder_losses(learn);
    fc_lr_suggestions sug = {.n = (int)n};
    double mx[3], my[3];
    suggestions(lrs, losses, n, num_it, &sug, mx, my);
    if (out) *out = sug;
    if (o->plot_path) {
        int64_t np = n > 5 ? n - 5 : n; /* fastai's skip_end=5 */
        fc_plot_series line = {.y = losses, .x = lrs, .n = np};
        static const char *const labels[3] = {"valley", "minimum", "steep"};
        st = fc_plot_lines(o->plot_path, &line, 1, .title = "lr_find", .xlabel = "Learning Rate", .ylabel = "Loss",
                           .log_x = 1, .mark_x = mx, .mark_y = my, .mark_labels = labels, .n_marks = 3);
    }
    return st;
}
