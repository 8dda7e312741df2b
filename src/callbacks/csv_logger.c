/* CSVLogger (fastai 2.7): one row per epoch, "epoch,train_loss,valid_loss,<metrics>,time", into
 * fname. Each row is formatted whole and written with one write(2) on an O_APPEND descriptor, then
 * fsync'd: a crash loses at most the row being written, never leaves half of one. With .append the
 * file is continued (the header only goes into an empty file; fastai writes it at every fit). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/core_impl.h"
#include "../learner/learner_impl.h"

typedef struct {
    char *fname;
    int append;
    int fd;
    double t_epoch; /* monotonic seconds at before_epoch */
} csv_logger;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void csv_close(csv_logger *s) {
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}

static void csv_free(void *state) {
    csv_logger *s = state;
    csv_close(s);
    fci_free(s->fname);
    fci_free(s);
}

/* One whole line, or an error naming the file. */
static fc_status csv_write_line(csv_logger *s, const char *line, size_t n) {
    ssize_t w = write(s->fd, line, n);
    if (w != (ssize_t)n || fsync(s->fd) != 0)
        return fc_fail(FC_ERR_IO, "CSVLogger: cannot write '%s': %s", s->fname,
                       w < 0 || w == (ssize_t)n ? strerror(errno) : "short write");
    return FC_OK;
}

/* Appends ",<text>" to buf at *k; 0 when it no longer fits. */
static int put(char *buf, size_t cap, size_t *k, const char *fmt, const char *text, double v) {
    int n = text ? snprintf(buf + *k, cap - *k, fmt, text) : snprintf(buf + *k, cap - *k, fmt, v);
    if (n < 0 || (size_t)n >= cap - *k) return 0;
    *k += (size_t)n;
    return 1;
}

static int csv_before_fit(fc_learner *learn, void *state) {
    csv_logger *s = state;
    csv_close(s);
    if (fci_dist_rank() > 0) return FC_CONTINUE; /* data-parallel: only rank 0 writes (h-mpi) */
    s->fd = open(s->fname, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (s->append ? 0 : O_TRUNC), 0644);
    if (s->fd < 0) {
        fc_fail(FC_ERR_IO, "CSVLogger: cannot open '%s': %s", s->fname, strerror(errno));
        return FC_CANCEL_FIT;
    }
    if (s->append && lseek(s->fd, 0, SEEK_END) > 0) return FC_CONTINUE;
    char line[4096];
    size_t k = 0;
    int ok = put(line, sizeof line, &k, "%s", "epoch,train_loss,valid_loss", 0);
    for (int i = 0; ok && i < fc_learner_n_metrics(learn); i++)
        ok = put(line, sizeof line, &k, ",%s", fc_metric_name(fc_learner_metric(learn, i)), 0);
    ok = ok && put(line, sizeof line, &k, "%s", ",time\n", 0);
    if (!ok) {
        fc_fail(FC_ERR_ARG, "CSVLogger: the header of '%s' is longer than %zu bytes", s->fname, sizeof line);
        return FC_CANCEL_FIT;
    }
    return csv_write_line(s, line, k) == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

static int csv_before_epoch(fc_learner *learn, void *state) {
    ((csv_logger *)state)->t_epoch = now_s();
    return FC_CONTINUE;
}

/* Values in full (%.9g: every f32 and most doubles round-trip); time as fastai's format_time. */
static int csv_after_epoch(fc_learner *learn, void *state) {
    csv_logger *s = state;
    if (s->fd < 0) return FC_CONTINUE;
    char line[4096];
    size_t k = 0;
    int ok = put(line, sizeof line, &k, "%.0f", NULL, (double)fc_learner_epoch(learn));
    ok = ok && put(line, sizeof line, &k, ",%.9g", NULL, fc_learner_train_loss(learn));
    ok = ok && put(line, sizeof line, &k, ",%.9g", NULL, fc_learner_valid_loss(learn));
    for (int i = 0; ok && i < fc_learner_n_metrics(learn); i++)
        ok = put(line, sizeof line, &k, ",%.9g", NULL, fc_metric_value(fc_learner_metric(learn, i)));
    long t = lround(now_s() - s->t_epoch);
    char tm[32];
    if (t >= 3600) snprintf(tm, sizeof tm, ",%ld:%02ld:%02ld\n", t / 3600, t / 60 % 60, t % 60);
    else snprintf(tm, sizeof tm, ",%02ld:%02ld\n", t / 60, t % 60);
    ok = ok && put(line, sizeof line, &k, "%s", tm, 0);
    if (!ok) {
        fc_fail(FC_ERR_ARG, "CSVLogger: a row of '%s' is longer than %zu bytes", s->fname, sizeof line);
        return FC_CANCEL_FIT;
    }
    return csv_write_line(s, line, k) == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

static int csv_after_fit(fc_learner *learn, void *state) {
    csv_close(state);
    return FC_CONTINUE;
}

fc_callback *fc_csv_logger_(const fc_csv_logger_opts *o) {
    const char *fname = o->fname ? o->fname : "history.csv";
    if (!*fname) {
        fc_fail(FC_ERR_ARG, "csv_logger: expected a file name in .fname, found ''");
        return NULL;
    }
    csv_logger *s = fci_calloc(1, sizeof *s);
    size_t n = strlen(fname) + 1;
    char *copy = s ? fci_calloc(n, 1) : NULL;
    if (!copy) {
        fci_free(s);
        return NULL;
    }
    memcpy(copy, fname, n);
    *s = (csv_logger){.fname = copy, .append = o->append, .fd = -1};
    return fc_callback_new(&(fc_callback_def){
        .name = "CSVLogger", .order = FC_ORDER_TRACKER, .run_valid_off = 0, .state = s, .free_state = csv_free,
        .before_fit = csv_before_fit, .before_epoch = csv_before_epoch, .after_epoch = csv_after_epoch,
        .after_fit = csv_after_fit,
    });
}
