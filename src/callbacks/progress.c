/* ProgressBar (fastai, order 70): the table "epoch train_loss valid_loss <metrics> time", one row
 * per epoch, written to the learner's log; a live bar with the ETA only when the log is a
 * terminal; nothing with .quiet or while the learner is not logging (lr_find, validate). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/core_impl.h"
#include "../learner/learner_impl.h"

typedef struct progress {
    double t_epoch, t_phase;
    int tty;
} progress;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int silent(const fc_learner *learn) { return learn->quiet || learn->no_logging || !learn->log; }

/* Column width: the name's length plus two spaces, at least 10 (fastai's text table). */
static int width(const char *name) {
    int w = (int)strlen(name) + 2;
    return w < 10 ? 10 : w;
}

static int pb_before_fit(fc_learner *learn, void *s) {
    progress *p = s;
    if (silent(learn)) return FC_CONTINUE;
    p->tty = isatty(fileno(learn->log));
    fprintf(learn->log, "%-*s%-*s%-*s", width("epoch"), "epoch", width("train_loss"), "train_loss",
            width("valid_loss"), "valid_loss");
    for (int i = 0; i < learn->n_metrics; i++) {
        const char *nm = fc_metric_name(learn->metrics[i]);
        fprintf(learn->log, "%-*s", width(nm), nm);
    }
    fprintf(learn->log, "time\n");
    fflush(learn->log);
    return FC_CONTINUE;
}

static int pb_before_epoch(fc_learner *learn, void *s) {
    ((progress *)s)->t_epoch = now();
    return FC_CONTINUE;
}

static int pb_before_phase(fc_learner *learn, void *s) {
    ((progress *)s)->t_phase = now();
    return FC_CONTINUE;
}

static int pb_after_batch(fc_learner *learn, void *s) {
    progress *p = s;
    if (silent(learn) || !p->tty || learn->n_iter <= 0) return FC_CONTINUE;
    int64_t done = learn->iter + 1;
    double el = now() - p->t_phase, eta = el / (double)done * (double)(learn->n_iter - done);
    int bar = (int)(30 * done / learn->n_iter);
    char b[31];
    for (int i = 0; i < 30; i++) b[i] = i < bar ? '#' : '.';
    b[30] = 0;
    fprintf(learn->log, "\r%s [%s] %lld/%lld  eta %02d:%02d ", learn->training ? "train" : "valid", b,
            (long long)done, (long long)learn->n_iter, (int)(eta / 60), (int)fmod(eta, 60));
    fflush(learn->log);
    return FC_CONTINUE;
}

static void put_value(FILE *f, const char *name, double v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.6f", v);
    fprintf(f, "%-*s", width(name), buf);
}

static int pb_after_epoch(fc_learner *learn, void *s) {
    progress *p = s;
    if (silent(learn)) return FC_CONTINUE;
    if (p->tty) fprintf(learn->log, "\r\033[K");
    double t = now() - p->t_epoch;
    fprintf(learn->log, "%-*d", width("epoch"), learn->epoch);
    put_value(learn->log, "train_loss", learn->train_loss);
    put_value(learn->log, "valid_loss", learn->valid_loss);
    for (int i = 0; i < learn->n_metrics; i++)
        put_value(learn->log, fc_metric_name(learn->metrics[i]), learn->metric_values[i]);
    fprintf(learn->log, "%02d:%02d\n", (int)(t / 60), (int)fmod(t, 60));
    fflush(learn->log);
    return FC_CONTINUE;
}

fc_callback *fci_progress_new(void) {
    progress *p = fci_calloc(1, sizeof *p);
    if (!p) return NULL;
    return fc_callback_new(&(fc_callback_def){
        .name = "ProgressBar", .order = FC_ORDER_PROGRESS, .state = p, .free_state = fci_free,
        .before_fit = pb_before_fit, .before_epoch = pb_before_epoch, .before_train = pb_before_phase,
        .before_validate = pb_before_phase, .after_batch = pb_after_batch, .after_epoch = pb_after_epoch,
    });
}
