/* fastai 2.7's TrackerCallbacks: EarlyStopping, SaveModel and ReduceLROnPlateau follow one value
 * after every epoch ("valid_loss", "train_loss" or a metric by name) and act on whether it
 * improved. Lower is better for a metric that says so (fc_metric_lower_is_better) and for names
 * containing "loss" or "error"; higher otherwise. An improvement must beat the best by more than
 * min_delta. They run after the Recorder (order 60 + 1, 2, 3 as in fastai). */
#include <math.h>
#include <string.h>

#include "../core/core_impl.h"
#include "fastc/learner.h"

enum { TRACK_EARLY_STOP, TRACK_SAVE_MODEL, TRACK_REDUCE_LR };
static const char *const track_names[] = {"EarlyStopping", "SaveModel", "ReduceLROnPlateau"};

typedef struct {
    int kind;
    char *monitor, *fname;
    double min_delta, factor, min_lr;
    int patience, every_epoch, at_end_load_off;
    int lower;    /* resolved in before_fit from the monitored name */
    double best;  /* reset at every fit (fastai's reset_on_fit) */
    int wait;     /* epochs since the last improvement */
    int saved;    /* SaveModel: the best weights are in fname */
} tracker;

static void tracker_free(void *state) {
    tracker *s = state;
    fci_free(s->monitor);
    fci_free(s->fname);
    fci_free(s);
}

static char *dup_str(const char *str) {
    size_t n = strlen(str) + 1;
    char *d = fci_calloc(n, 1);
    if (d) memcpy(d, str, n);
    return d;
}

static int tracker_before_fit(fc_learner *learn, void *state) {
    tracker *s = state;
    int found = !strcmp(s->monitor, "valid_loss") || !strcmp(s->monitor, "train_loss");
    s->lower = strstr(s->monitor, "loss") || strstr(s->monitor, "error");
    for (int i = 0; !found && i < fc_learner_n_metrics(learn); i++) {
        fc_metric *m = fc_learner_metric(learn, i);
        if (!strcmp(fc_metric_name(m), s->monitor)) {
            found = 1;
            s->lower = fc_metric_lower_is_better(m);
        }
    }
    if (!found) {
        char names[512] = "train_loss, valid_loss";
        size_t k = strlen(names);
        for (int i = 0; i < fc_learner_n_metrics(learn) && k < sizeof names; i++)
            k += (size_t)snprintf(names + k, sizeof names - k, ", %s", fc_metric_name(fc_learner_metric(learn, i)));
        fc_fail(FC_ERR_ARG, "%s: expected monitor to be one of %s, found '%s'", track_names[s->kind], names,
                s->monitor);
        return FC_CANCEL_FIT;
    }
    s->best = s->lower ? INFINITY : -INFINITY;
    s->wait = 0;
    s->saved = 0;
    return FC_CONTINUE;
}

/* fastai's TrackerCallback.after_epoch: 1 when the monitored value is a new best. */
static int tracker_improved(fc_learner *learn, tracker *s) {
    double v = fc_learner_monitor(learn, s->monitor);
    int better = s->lower ? v + s->min_delta < s->best : v - s->min_delta > s->best;
    if (better) s->best = v;
    return better;
}

static int early_stop_after_epoch(fc_learner *learn, void *state) {
    tracker *s = state;
    if (tracker_improved(learn, s)) {
        s->wait = 0;
        return FC_CONTINUE;
    }
    return ++s->wait >= s->patience ? FC_CANCEL_FIT : FC_CONTINUE; /* stopping is not an error */
}

/* fname with "_<epoch>" before its extension: model.fcm -> model_3.fcm (fastai's f'{fname}_{epoch}'). */
static fc_status save_epoch(fc_learner *learn, tracker *s) {
    char path[4096];
    const char *dot = strrchr(s->fname, '.'), *slash = strrchr(s->fname, '/');
    int stem = dot && (!slash || dot > slash) ? (int)(dot - s->fname) : (int)strlen(s->fname);
    int n = snprintf(path, sizeof path, "%.*s_%d%s", stem, s->fname, fc_learner_epoch(learn), s->fname + stem);
    if (n < 0 || (size_t)n >= sizeof path)
        return fc_fail(FC_ERR_ARG, "SaveModel: the file name '%s' is too long", s->fname);
    return fc_module_save(fc_learner_model(learn), path);
}

static int save_model_after_epoch(fc_learner *learn, void *state) {
    tracker *s = state;
    fc_status st = FC_OK;
    if (s->every_epoch) {
        if (fc_learner_epoch(learn) % s->every_epoch == 0) st = save_epoch(learn, s);
    } else if (tracker_improved(learn, s)) {
        st = fc_module_save(fc_learner_model(learn), s->fname);
        s->saved = st == FC_OK;
    }
    return st == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

/* After the fit (also one cancelled by EarlyStopping): the best weights back into the model. */
static int save_model_after_fit(fc_learner *learn, void *state) {
    tracker *s = state;
    if (s->every_epoch || s->at_end_load_off || !s->saved || fc_error_code() != FC_OK) return FC_CONTINUE;
    return fc_module_load(fc_learner_model(learn), s->fname) == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

/* lr = max(lr / factor, min_lr) in every group after patience epochs without improvement. */
static int reduce_lr_after_epoch(fc_learner *learn, void *state) {
    tracker *s = state;
    if (tracker_improved(learn, s)) {
        s->wait = 0;
        return FC_CONTINUE;
    }
    if (++s->wait < s->patience) return FC_CONTINUE;
    s->wait = 0;
    fc_optimizer *opt = fc_learner_opt(learn);
    for (int g = 0; opt && g < fc_optimizer_n_groups(opt); g++) {
        double lr = fc_optimizer_lr(opt, g) / s->factor;
        if (fc_optimizer_set_lr(opt, g, lr > s->min_lr ? lr : s->min_lr) != FC_OK) return FC_CANCEL_FIT;
    }
    return FC_CONTINUE;
}

static fc_callback *tracker_new(int kind, const fc_tracker_opts *o) {
    const char *name = track_names[kind];
    const char *monitor = o->monitor ? o->monitor : "valid_loss";
    const char *fname = o->fname ? o->fname : "model.fcm";
    double factor = o->factor ? o->factor : 10;
    int patience = o->patience ? o->patience : 1;
    if (patience < 1 || !(factor > 1) || o->every_epoch < 0 || o->min_delta < 0 || o->min_lr < 0 || !*monitor || !*fname) {
        fc_fail(FC_ERR_ARG, "%s: expected .patience >= 1, .factor > 1, .min_delta >= 0, .min_lr >= 0 and "
                "non-empty .monitor and .fname (and .every_epoch >= 0), found %d, %g, %g, %g, '%s', '%s'", name, patience, factor,
                o->min_delta, o->min_lr, monitor, fname);
        return NULL;
    }
    tracker *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = (tracker){.kind = kind, .monitor = dup_str(monitor), .fname = dup_str(fname), .min_delta = o->min_delta,
                   .factor = factor, .min_lr = o->min_lr, .patience = patience, .every_epoch = o->every_epoch,
                   .at_end_load_off = o->at_end_load_off};
    if (!s->monitor || !s->fname) {
        tracker_free(s);
        return NULL;
    }
    fc_callback_def def = {.name = name, .order = FC_ORDER_TRACKER, .state = s, .free_state = tracker_free,
                           .before_fit = tracker_before_fit};
    if (kind == TRACK_EARLY_STOP) {
        def.order += 3;
        def.after_epoch = early_stop_after_epoch;
    } else if (kind == TRACK_SAVE_MODEL) {
        def.order += 1;
        def.after_epoch = save_model_after_epoch;
        def.after_fit = save_model_after_fit;
    } else {
        def.order += 2;
        def.after_epoch = reduce_lr_after_epoch;
    }
    return fc_callback_new(&def);
}

fc_callback *fc_early_stopping_(const fc_tracker_opts *o) { return tracker_new(TRACK_EARLY_STOP, o); }
fc_callback *fc_save_model_(const fc_tracker_opts *o) { return tracker_new(TRACK_SAVE_MODEL, o); }
fc_callback *fc_reduce_lr_on_plateau_(const fc_tracker_opts *o) { return tracker_new(TRACK_REDUCE_LR, o); }
