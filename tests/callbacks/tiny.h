/* A tiny learner for the callback tests: linear regression y = x w + 0.5 + noise on x [n, 3],
 * plain SGD (no momentum, no weight decay), no shuffling, so every run is exactly reproducible;
 * and a probe callback that records what the tests assert on. */
#ifndef TINY_H
#define TINY_H

#include <math.h>
#include <string.h>

#include "fastc/learner.h"
#include "fct.h"

static inline fc_optimizer *tiny_sgd(fc_param_groups *g) { return fc_sgd_new(g, .lr = 0.1); }

typedef struct tiny_opts {
    int _;
    int64_t bs;        /* 0: 8 */
    int64_t n_train;   /* 0: 64 */
    double lr;         /* 0: 0.05 */
    double y_scale;    /* 0: 1 (large values give large gradients) */
    int64_t nan_item;  /* > 0: x[nan_item - 1, 0] = NaN in the training set */
    fc_metrics metrics;
} tiny_opts;

/* The same data and initial weights for the same seed. */
static inline fc_learner *tiny_learner_(uint64_t seed, const tiny_opts *o) {
    int64_t bs = o->bs ? o->bs : 8, n = o->n_train ? o->n_train : 64, nv = 16;
    double scale = o->y_scale ? o->y_scale : 1;
    fc_tensor *x = fct_randn(FC_SHAPE(n + nv, 3), seed), *noise = fct_randn(FC_SHAPE(n + nv, 1), seed + 1);
    const float wv[3] = {1.5f, -2.0f, 0.7f};
    fc_tensor *w = fc_from_data(wv, FC_SHAPE(3, 1));
    fc_tensor *y = fc_mul_scalar(fc_add(fc_add_scalar(fc_matmul(x, w), 0.5), fc_mul_scalar(noise, 0.1)), scale);
    if (o->nan_item > 0) ((float *)fc_tensor_data(x))[(o->nan_item - 1) * 3] = NAN;
    fc_dataloaders *dls = fc_tensor_dls(fc_narrow(x, 0, 0, n), fc_narrow(y, 0, 0, n), fc_narrow(x, 0, n, nv),
                                        fc_narrow(y, 0, n, nv), .bs = bs, .no_shuffle = 1);
    fc_manual_seed(seed);
    fc_module *model = fc_linear_new(3, 1);
    fc_tensor_free(x);
    fc_tensor_free(noise);
    return fc_learner(dls, model, .loss_func = fc_mse_flat(), .opt_func = tiny_sgd, .lr = o->lr ? o->lr : 0.05,
                      .no_wd = 1, .quiet = 1, .metrics = o->metrics);
}
#define tiny_learner(seed, ...) tiny_learner_((seed), &(tiny_opts){._ = 0, __VA_ARGS__})

/* The model's parameters flattened (weight [1, 3] then bias [1]). */
static inline void tiny_weights(fc_learner *learn, float out[4]) {
    fc_module *m = fc_learner_model(learn);
    int k = 0;
    for (int i = 0; i < fc_module_n_parameters(m); i++) {
        fc_tensor *p = fc_module_parameter(m, i, NULL);
        if (k + fc_tensor_numel(p) > 4) break;
        fc_tensor_copy_out(p, out + k, FC_DTYPE_F32);
        k += (int)fc_tensor_numel(p);
    }
}

static inline double tiny_grad_norm(fc_learner *learn) {
    fc_module *m = fc_learner_model(learn);
    double sq = 0;
    for (int i = 0; i < fc_module_n_parameters(m); i++) {
        fc_tensor *g = fc_tensor_grad(fc_module_parameter(m, i, NULL));
        for (int64_t j = 0; g && j < fc_tensor_numel(g); j++) sq += fc_tensor_get(g, j) * fc_tensor_get(g, j);
    }
    return sqrt(sq);
}

/* What the probe saw. */
typedef struct probe {
    int epoch;             /* the current epoch (set in before_epoch) */
    int n_epochs;          /* after_epoch calls */
    int64_t n_batches;     /* training after_batch calls */
    int64_t n_steps;       /* before_step calls that reached the probe */
    double lr[64];         /* fc_learner_lr at each before_epoch */
    float w[64][4];        /* the weights after each epoch */
    double max_norm, min_norm; /* of the gradients at before_step */
    const double *script;  /* the scripted metric's value per epoch */
    int inject_nan;        /* 1: set the loss to NaN at nan_epoch ... */
    int nan_epoch;
    int64_t nan_iter;      /* ... and training batch */
} probe;

static inline int probe_before_epoch(fc_learner *learn, void *state) {
    probe *p = state;
    p->epoch = fc_learner_epoch(learn);
    if (p->epoch < 64) p->lr[p->epoch] = fc_learner_lr(learn);
    return FC_CONTINUE;
}
static inline int probe_after_loss(fc_learner *learn, void *state) {
    probe *p = state;
    if (p->inject_nan && fc_learner_training(learn) && p->epoch == p->nan_epoch && fc_learner_iter(learn) == p->nan_iter)
        fc_learner_set_loss(learn, NAN);
    return FC_CONTINUE;
}
static inline int probe_before_step(fc_learner *learn, void *state) {
    probe *p = state;
    double n = tiny_grad_norm(learn);
    p->max_norm = p->n_steps ? fmax(p->max_norm, n) : n;
    p->min_norm = p->n_steps ? fmin(p->min_norm, n) : n;
    p->n_steps++;
    return FC_CONTINUE;
}
static inline int probe_after_batch(fc_learner *learn, void *state) {
    probe *p = state;
    p->n_batches += fc_learner_training(learn);
    return FC_CONTINUE;
}
static inline int probe_after_epoch(fc_learner *learn, void *state) {
    probe *p = state;
    if (p->epoch < 64) tiny_weights(learn, p->w[p->epoch]);
    p->n_epochs++;
    return FC_CONTINUE;
}

/* A probe callback (state borrowed from the test) running at the given order. */
static inline fc_callback *probe_cb(const char *name, int order, probe *p) {
    return fc_callback_new(&(fc_callback_def){
        .name = name, .order = order, .state = p, .before_epoch = probe_before_epoch,
        .after_loss = probe_after_loss, .before_step = probe_before_step, .after_batch = probe_after_batch,
        .after_epoch = probe_after_epoch,
    });
}

/* A metric "score" (higher is better) whose value at epoch e is script[e]. */
static inline void score_reset(void *state) { (void)state; }
static inline fc_status score_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) { return FC_OK; }
static inline double score_value(void *state) {
    probe *p = state;
    return p->script[p->epoch];
}
static inline fc_metric *score_metric(probe *p, const char *name, int lower_is_better) {
    return fc_metric_new(&(fc_metric_def){.name = name, .lower_is_better = lower_is_better, .reset = score_reset,
                                          .accumulate = score_acc, .value = score_value},
                         p);
}

#endif
