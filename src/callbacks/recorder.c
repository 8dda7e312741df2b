/* Recorder (fastai, order 50): per training batch the smoothed loss (beta 0.98, debiased), lr and
 * mom of the last group; per epoch train_loss, valid_loss and the metrics. Unlike fastai, whose
 * train_loss column is the smoothed loss at the epoch's end, train_loss here is the epoch's mean
 * batch loss weighted by batch size, the same definition as valid_loss. */
#include <math.h>
#include <stdlib.h>

#include "../core/core_impl.h"
#include "../learner/learner_impl.h"
#include "fastc/plot.h"

#define BETA 0.98

typedef struct recorder {
    double *losses, *lrs, *moms;
    int64_t n, cap;
    double *values;
    int n_epochs, cap_epochs, n_cols;
    double mov;
    int64_t count;
    double train_sum, train_n, valid_sum, valid_n;
} recorder;

static void rec_free(void *p) {
    recorder *r = p;
    if (!r) return;
    free(r->losses);
    free(r->lrs);
    free(r->moms);
    free(r->values);
    fci_free(r);
}

static int rec_before_fit(fc_learner *learn, void *s) {
    recorder *r = s;
    r->n = 0;
    r->n_epochs = 0;
    r->n_cols = 2 + learn->n_metrics;
    r->mov = 0;
    r->count = 0;
    learn->smooth_loss = NAN;
    return FC_CONTINUE;
}

static int rec_before_epoch(fc_learner *learn, void *s) {
    recorder *r = s;
    r->train_sum = r->train_n = 0;
    learn->train_loss = learn->valid_loss = NAN;
    for (int i = 0; i < learn->n_metrics; i++) learn->metric_values[i] = NAN;
    return FC_CONTINUE;
}

static int grow(double **a, int64_t cap) {
    double *p = realloc(*a, (size_t)cap * sizeof(double));
    if (!p) return 0;
    *a = p;
    return 1;
}

static int rec_after_batch(fc_learner *learn, void *s) {
    recorder *r = s;
    if (!learn->loss_grad) return FC_CONTINUE; /* cancelled before the loss */
    double bs = (double)fc_learner_bs(learn), loss = learn->loss;
    if (!learn->training) {
        r->valid_sum += loss * bs;
        r->valid_n += bs;
        fc_tensor *y = fc_learner_yb(learn, 0);
        for (int i = 0; i < learn->n_metrics; i++)
            if (fc_metric_accumulate(learn->metrics[i], learn->pred, y, loss, (int64_t)bs) != FC_OK) return FC_CANCEL_FIT;
        return FC_CONTINUE;
    }
    r->train_sum += loss * bs;
    r->train_n += bs;
    r->mov = BETA * r->mov + (1 - BETA) * loss;
    r->count++;
    learn->smooth_loss = r->mov / (1 - pow(BETA, (double)r->count));
    if (r->n == r->cap) {
        int64_t cap = r->cap ? 2 * r->cap : 256;
        if (!grow(&r->losses, cap) || !grow(&r->lrs, cap) || !grow(&r->moms, cap)) {
            fc_fail(FC_ERR_NOMEM, "recorder: out of memory (%lld batches)", (long long)cap);
            return FC_CANCEL_FIT;
        }
        r->cap = cap;
    }
    r->losses[r->n] = learn->smooth_loss;
    r->lrs[r->n] = fc_learner_lr(learn);
    r->moms[r->n] = fc_learner_mom(learn);
    r->n++;
    return FC_CONTINUE;
}

static int rec_after_train(fc_learner *learn, void *s) {
    recorder *r = s;
    learn->train_loss = r->train_n > 0 ? r->train_sum / r->train_n : NAN;
    return FC_CONTINUE;
}

static int rec_before_validate(fc_learner *learn, void *s) {
    recorder *r = s;
    r->valid_sum = r->valid_n = 0;
    for (int i = 0; i < learn->n_metrics; i++) fc_metric_reset(learn->metrics[i]);
    return FC_CONTINUE;
}

static int rec_after_validate(fc_learner *learn, void *s) {
    recorder *r = s;
    learn->valid_loss = r->valid_n > 0 ? r->valid_sum / r->valid_n : NAN;
    for (int i = 0; i < learn->n_metrics; i++) learn->metric_values[i] = fc_metric_value(learn->metrics[i]);
    return FC_CONTINUE;
}

static int rec_after_epoch(fc_learner *learn, void *s) {
    recorder *r = s;
    if (learn->no_logging) return FC_CONTINUE;
    if (r->n_epochs == r->cap_epochs) {
        int cap = r->cap_epochs ? 2 * r->cap_epochs : 16;
        if (!grow(&r->values, (int64_t)cap * r->n_cols)) {
            fc_fail(FC_ERR_NOMEM, "recorder: out of memory (%d epochs)", cap);
            return FC_CANCEL_FIT;
        }
        r->cap_epochs = cap;
    }
    double *row = r->values + (size_t)r->n_epochs * r->n_cols;
    row[0] = learn->train_loss;
    row[1] = learn->valid_loss;
    for (int i = 0; i < learn->n_metrics; i++) row[2 + i] = learn->metric_values[i];
    r->n_epochs++;
    return FC_CONTINUE;
}

fc_callback *fci_recorder_new(void) {
    recorder *r = fci_calloc(1, sizeof *r);
    if (!r) return NULL;
    return fc_callback_new(&(fc_callback_def){
        .name = "Recorder", .order = FC_ORDER_RECORDER, .state = r, .free_state = rec_free,
        .before_fit = rec_before_fit, .before_epoch = rec_before_epoch, .after_batch = rec_after_batch,
        .after_train = rec_after_train, .before_validate = rec_before_validate,
        .after_validate = rec_after_validate, .after_epoch = rec_after_epoch,
    });
}

static const recorder *rec_of(const fc_learner *learn) {
    return fc_callback_state(fc_learner_cb(learn, "Recorder"));
}

int64_t fc_recorder_n_batches(const fc_learner *l) { return rec_of(l) ? rec_of(l)->n : 0; }
const double *fc_recorder_losses(const fc_learner *l) { return rec_of(l) ? rec_of(l)->losses : NULL; }
const double *fc_recorder_lrs(const fc_learner *l) { return rec_of(l) ? rec_of(l)->lrs : NULL; }
const double *fc_recorder_moms(const fc_learner *l) { return rec_of(l) ? rec_of(l)->moms : NULL; }
int fc_recorder_n_epochs(const fc_learner *l) { return rec_of(l) ? rec_of(l)->n_epochs : 0; }
int fc_recorder_n_cols(const fc_learner *l) { return l ? 2 + l->n_metrics : 0; }
const double *fc_recorder_values(const fc_learner *l) { return rec_of(l) ? rec_of(l)->values : NULL; }

const char *fc_recorder_col_name(const fc_learner *l, int col) {
    if (!l || col < 0 || col >= 2 + l->n_metrics) return NULL;
    if (col < 2) return col ? "valid_loss" : "train_loss";
    return fc_metric_name(l->metrics[col - 2]);
}

fc_status fc_recorder_plot_loss(const fc_learner *learn, const char *path) {
    if (!learn || !path)
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "recorder_plot_loss: NULL learner or path");
    const recorder *r = rec_of(learn);
    if (!r || r->n == 0) return fc_fail(FC_ERR_STATE, "recorder_plot_loss: no training batch recorded yet");
    /* valid loss at the last batch of each epoch, as fastai's plot_loss */
    double *vx = calloc((size_t)r->n_epochs + 1, sizeof(double)), *vy = calloc((size_t)r->n_epochs + 1, sizeof(double));
    if (!vx || !vy) {
        free(vx);
        free(vy);
        return fc_fail(FC_ERR_NOMEM, "recorder_plot_loss: out of memory");
    }
    int64_t per_epoch = r->n_epochs > 0 ? r->n / r->n_epochs : r->n;
    for (int e = 0; e < r->n_epochs; e++) {
        vx[e] = (double)((e + 1) * per_epoch - 1);
        vy[e] = r->values[(size_t)e * r->n_cols + 1];
    }
    fc_plot_series s[2] = {{.label = "train", .y = r->losses, .n = r->n},
                           {.label = "valid", .x = vx, .y = vy, .n = r->n_epochs}};
    fc_status st = fc_plot_lines(path, s, r->n_epochs > 0 ? 2 : 1, .title = "Loss", .xlabel = "batch", .ylabel = "loss");
    free(vx);
    free(vy);
    return st;
}
