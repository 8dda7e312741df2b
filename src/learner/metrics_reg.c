/* Regression metrics (fastai 2.7): mse, rmse, mae, r2_score, exp_rmspe, and perplexity; sums in
 * double over the whole set, pred and targ of the same numel (fastai's flatten_check). */
#include <math.h>

#include "../core/core_impl.h"
#include "metrics_impl.h"

enum { REG_MSE, REG_RMSE, REG_MAE, REG_EXP_RMSPE };
static const char *const reg_names[] = {"mse", "rmse", "mae", "exp_rmspe"};

typedef struct {
    int kind;
    double sum; /* of (p - t)^2, |p - t| or ((e^t - e^p) / e^t)^2 */
    int64_t n;
} reg_state;

static void reg_reset(void *state) {
    reg_state *s = state;
    s->sum = 0;
    s->n = 0;
}

static double reg_value(void *state) {
    reg_state *s = state;
    if (!s->n) return NAN;
    double mean = s->sum / (double)s->n;
    return s->kind == REG_RMSE || s->kind == REG_EXP_RMSPE ? sqrt(mean) : mean;
}

static fc_status reg_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    reg_state *s = state;
    float *p, *t;
    int64_t n;
    fc_status st = fci_metric_flat(reg_names[s->kind], pred, targ, &p, &t, &n);
    if (st != FC_OK) return st;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)p[i] - (double)t[i], e;
        switch (s->kind) {
        case REG_MAE: e = fabs(d); break;
        /* (e^t - e^p) / e^t = 1 - e^(p - t): the same value without overflowing e^t */
        case REG_EXP_RMSPE: e = expm1(d) * expm1(d); break;
        default: e = d * d;
        }
        sum += e;
    }
    s->sum += sum;
    s->n += n;
    fci_free(p);
    fci_free(t);
    return FC_OK;
}

static fc_metric *reg_new(int kind) {
    reg_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->kind = kind;
    return fc_metric_new(&(fc_metric_def){.name = reg_names[kind], .lower_is_better = 1, .reset = reg_reset,
                                          .accumulate = reg_acc, .value = reg_value, .free_state = fci_free},
                         s);
}

fc_metric *fc_mse(void) { return reg_new(REG_MSE); }
fc_metric *fc_rmse(void) { return reg_new(REG_RMSE); }
fc_metric *fc_mae(void) { return reg_new(REG_MAE); }
fc_metric *fc_exp_rmspe(void) { return reg_new(REG_EXP_RMSPE); }

/* ---- r2_score: 1 - SS_res / SS_tot (sklearn) ----
 * SS_tot is merged across batches from each batch's count, mean and sum of squared deviations
 * (Chan et al.), so a large mean does not cancel the variance as sum(t^2) - n mean^2 would. With
 * SS_tot = 0, sklearn's force_finite: 1 for a perfect fit, else 0. */

typedef struct {
    int64_t n;
    double mean, m2, ss_res;
} r2_state;

static void r2_reset(void *state) { *(r2_state *)state = (r2_state){0}; }

static double r2_value(void *state) {
    r2_state *s = state;
    if (!s->n) return NAN;
    if (s->m2 == 0) return s->ss_res == 0 ? 1.0 : 0.0;
    return 1.0 - s->ss_res / s->m2;
}

static fc_status r2_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    r2_state *s = state;
    float *p, *t;
    int64_t n;
    fc_status st = fci_metric_flat("r2_score", pred, targ, &p, &t, &n);
    if (st != FC_OK) return st;
    if (n) {
        double mean = 0, m2 = 0, res = 0;
        for (int64_t i = 0; i < n; i++) mean += t[i];
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            double d = t[i] - mean, r = (double)p[i] - (double)t[i];
            m2 += d * d;
            res += r * r;
        }
        double na = (double)s->n, nb = (double)n, delta = mean - s->mean;
        s->m2 += m2 + delta * delta * na * nb / (na + nb);
        s->mean += delta * nb / (na + nb);
        s->ss_res += res;
        s->n += n;
    }
    fci_free(p);
    fci_free(t);
    return FC_OK;
}

fc_metric *fc_r2_score(void) {
    r2_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    return fc_metric_new(&(fc_metric_def){.name = "r2_score", .reset = r2_reset, .accumulate = r2_acc,
                                          .value = r2_value, .free_state = fci_free},
                         s);
}

/* ---- perplexity: exp of the bs-weighted mean loss (fastai's Perplexity, an AvgLoss) ---- */

typedef struct {
    double total;
    int64_t count;
} ppl_state;

static void ppl_reset(void *state) { *(ppl_state *)state = (ppl_state){0}; }

static double ppl_value(void *state) {
    ppl_state *s = state;
    return s->count ? exp(s->total / (double)s->count) : NAN;
}

static fc_status ppl_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    ppl_state *s = state;
    if (bs < 0) return fc_fail(FC_ERR_ARG, "perplexity: expected bs >= 0, found %lld", (long long)bs);
    s->total += loss * (double)bs;
    s->count += bs;
    return FC_OK;
}

fc_metric *fc_perplexity(void) {
    ppl_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    return fc_metric_new(&(fc_metric_def){.name = "perplexity", .lower_is_better = 1, .reset = ppl_reset,
                                          .accumulate = ppl_acc, .value = ppl_value, .free_state = fci_free},
                         s);
}
