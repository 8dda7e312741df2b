/* Classification metrics (fastai 2.7 names and formulas): accuracy, error_rate, top_k_accuracy,
 * accuracy_multi, and sklearn's precision / recall / F1 (binary and macro) and ROC AUC, each
 * accumulated over the whole set as counts (or stored scores for AUC). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "metrics_impl.h"

/* ---- accuracy, error_rate, top_k_accuracy: a count of hits over a count of items ---- */

typedef struct {
    int k;     /* top_k_accuracy; 0 for accuracy and error_rate */
    int error; /* error_rate reports 1 - accuracy */
    int64_t hits, n;
} hit_count;

static void hits_reset(void *state) {
    hit_count *s = state;
    s->hits = s->n = 0;
}

static double hits_value(void *state) {
    hit_count *s = state;
    if (!s->n) return NAN;
    double acc = (double)s->hits / (double)s->n;
    return s->error ? 1.0 - acc : acc;
}

static fc_status accuracy_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    hit_count *s = state;
    fci_cls_batch b;
    fc_status st = fci_metric_classes(s->error ? "error_rate" : "accuracy", pred, targ, &b);
    if (st != FC_OK) return st;
    for (int64_t i = 0; i < b.n; i++) s->hits += b.pred[i] == b.targ[i];
    s->n += b.n;
    fci_metric_classes_free(&b);
    return FC_OK;
}

static fc_metric *hit_metric(const char *name, int lower, int k, int error,
                             fc_status (*acc)(void *, fc_tensor *, fc_tensor *, double, int64_t)) {
    hit_count *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->k = k;
    s->error = error;
    return fc_metric_new(&(fc_metric_def){.name = name, .lower_is_better = lower, .reset = hits_reset,
                                          .accumulate = acc, .value = hits_value, .free_state = fci_free},
                         s);
}

fc_metric *fc_accuracy(void) { return hit_metric("accuracy", 0, 0, 0, accuracy_acc); }
fc_metric *fc_error_rate(void) { return hit_metric("error_rate", 1, 0, 1, accuracy_acc); }

/* The target is in the top k when fewer than k classes rank above it; among equal scores the lower
 * class index ranks first (what torch.topk returns on CPU for ties). pred [N, C], targ [N]. */
static fc_status top_k_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    hit_count *s = state;
    if (pred && targ && fc_tensor_ndim(pred) != 2)
        return fc_fail(FC_ERR_SHAPE, "top_k_accuracy: expected pred [N, C], found %s", fci_tshape(pred));
    if (pred && fc_tensor_ndim(pred) == 2 && s->k > fc_tensor_dim(pred, 1))
        return fc_fail(FC_ERR_ARG, "top_k_accuracy: expected k <= number of classes %lld, found k = %d",
                       (long long)fc_tensor_dim(pred, 1), s->k);
    fci_cls_batch b;
    fc_status st = fci_metric_classes("top_k_accuracy", pred, targ, &b);
    if (st != FC_OK) return st;
    int64_t c = b.n_classes;
    float *p = fci_calloc((size_t)(b.n * c) + 1, sizeof *p);
    if (!p || (st = fc_tensor_copy_out(pred, p, FC_DTYPE_F32)) != FC_OK) {
        fci_free(p);
        fci_metric_classes_free(&b);
        return p ? st : FC_ERR_NOMEM;
    }
    for (int64_t i = 0; i < b.n; i++) {
        int64_t t = b.targ[i], above = 0;
        if (t < 0 || t >= c) continue; /* a target outside the classes is never predicted */
        const float *row = p + i * c;
        for (int64_t j = 0; j < c; j++) above += row[j] > row[t] || (row[j] == row[t] && j < t);
        s->hits += above < s->k;
    }
    s->n += b.n;
    fci_free(p);
    fci_metric_classes_free(&b);
    return FC_OK;
}

fc_metric *fc_top_k_accuracy(int k) {
    if (k < 0) {
        fc_fail(FC_ERR_ARG, "top_k_accuracy: expected k >= 1 (0: 5), found %d", k);
        return NULL;
    }
    return hit_metric("top_k_accuracy", 0, k ? k : 5, 0, top_k_acc);
}

/* ---- accuracy_multi: ((sigmoid(pred) > thresh) == targ.bool()) over every element ---- */

typedef struct {
    double thresh;
    int sigmoid;
    int64_t hits, n;
} multi_state;

static void multi_reset(void *state) {
    multi_state *s = state;
    s->hits = s->n = 0;
}

static double multi_value(void *state) {
    multi_state *s = state;
    return s->n ? (double)s->hits / (double)s->n : NAN;
}

static fc_status multi_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    multi_state *s = state;
    float *p, *t;
    int64_t n;
    fc_status st = fci_metric_flat("accuracy_multi", pred, targ, &p, &t, &n);
    if (st != FC_OK) return st;
    for (int64_t i = 0; i < n; i++) {
        double v = s->sigmoid ? 1.0 / (1.0 + exp(-(double)p[i])) : p[i];
        s->hits += (v > s->thresh) == (t[i] != 0);
    }
    s->n += n;
    fci_free(p);
    fci_free(t);
    return FC_OK;
}

fc_metric *fc_accuracy_multi_(const fc_accuracy_multi_opts *o) {
    multi_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->thresh = o->thresh ? o->thresh : 0.5;
    s->sigmoid = !o->no_sigmoid;
    return fc_metric_new(&(fc_metric_def){.name = "accuracy_multi", .reset = multi_reset,
                                          .accumulate = multi_acc, .value = multi_value, .free_state = fci_free},
                         s);
}

/* ---- precision, recall, F1 (sklearn, zero_division = 0) ----
 * Per-class counts over the set. Binary: the class pos_label against the rest (sklearn would
 * refuse a target with more than two labels; here the other classes all count as negative).
 * Macro: the unweighted mean over the labels present in targ or pred (sklearn's unique_labels),
 * a class's F1 being 2 tp / (2 tp + fp + fn). */

enum { PRF_PRECISION, PRF_RECALL, PRF_F1 };
static const char *const prf_names[] = {"precision_score", "recall_score", "f1_score"};

typedef struct {
    int kind;
    fc_average average;
    int pos_label;
    int64_t n_classes;
    int64_t *tp, *fp, *fn; /* [n_classes], grown on the first batch */
} prf_state;

static void prf_reset(void *state) {
    prf_state *s = state;
    fci_free(s->tp);
    s->tp = s->fp = s->fn = NULL;
    s->n_classes = 0;
}

static void prf_free(void *state) {
    prf_reset(state);
    fci_free(state);
}

static double prf_of(int kind, int64_t tp, int64_t fp, int64_t fn) {
    int64_t den = kind == PRF_PRECISION ? tp + fp : kind == PRF_RECALL ? tp + fn : 2 * tp + fp + fn;
    int64_t num = kind == PRF_F1 ? 2 * tp : tp;
    return den ? (double)num / (double)den : 0.0;
}

static double prf_value(void *state) {
    prf_state *s = state;
    if (!s->n_classes) return NAN;
    if (s->average == FC_AVERAGE_BINARY) {
        int k = s->pos_label;
        return prf_of(s->kind, s->tp[k], s->fp[k], s->fn[k]);
    }
    double sum = 0;
    int64_t n = 0;
    for (int64_t k = 0; k < s->n_classes; k++) {
        if (!s->tp[k] && !s->fp[k] && !s->fn[k]) continue; /* neither in targ nor in pred */
        sum += prf_of(s->kind, s->tp[k], s->fp[k], s->fn[k]);
        n++;
    }
    return n ? sum / (double)n : 0.0;
}

static fc_status prf_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    prf_state *s = state;
    const char *name = prf_names[s->kind];
    fci_cls_batch b;
    fc_status st = fci_metric_classes(name, pred, targ, &b);
    if (st != FC_OK) return st;
    int64_t c = b.n_classes;
    if (s->n_classes && s->n_classes != c)
        st = fc_fail(FC_ERR_SHAPE, "%s: expected pred with %lld classes like the earlier batches, found %s",
                     name, (long long)s->n_classes, fci_tshape(pred));
    else if (s->average == FC_AVERAGE_BINARY && s->pos_label >= c)
        st = fc_fail(FC_ERR_ARG, "%s: expected pos_label < number of classes %lld, found %d", name,
                     (long long)c, s->pos_label);
    for (int64_t i = 0; st == FC_OK && i < b.n; i++)
        if (b.targ[i] < 0 || b.targ[i] >= c)
            st = fc_fail(FC_ERR_ARG, "%s: expected targets in [0, %lld), found %lld at item %lld", name,
                         (long long)c, (long long)b.targ[i], (long long)i);
    if (st == FC_OK && !s->n_classes) {
        s->tp = fci_calloc((size_t)(3 * c), sizeof *s->tp);
        if (!s->tp) st = FC_ERR_NOMEM;
        else {
            s->fp = s->tp + c;
            s->fn = s->fp + c;
            s->n_classes = c;
        }
    }
    for (int64_t i = 0; st == FC_OK && i < b.n; i++) {
        int64_t p = b.pred[i], t = b.targ[i];
        if (p == t) {
            s->tp[p]++;
        } else {
            s->fp[p]++;
            s->fn[t]++;
        }
    }
    fci_metric_classes_free(&b);
    return st;
}

static fc_metric *prf_new(int kind, const fc_prf_opts *o) {
    int pos = o->has_pos_label ? o->pos_label : 1;
    if (o->average != FC_AVERAGE_BINARY && o->average != FC_AVERAGE_MACRO) {
        fc_fail(FC_ERR_ARG, "%s: expected .average FC_AVERAGE_BINARY or FC_AVERAGE_MACRO, found %d",
                prf_names[kind], (int)o->average);
        return NULL;
    }
    if (pos < 0) {
        fc_fail(FC_ERR_ARG, "%s: expected .pos_label >= 0, found %d", prf_names[kind], pos);
        return NULL;
    }
    prf_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = (prf_state){.kind = kind, .average = o->average, .pos_label = pos};
    return fc_metric_new(&(fc_metric_def){.name = prf_names[kind], .reset = prf_reset, .accumulate = prf_acc,
                                          .value = prf_value, .free_state = prf_free},
                         s);
}

fc_metric *fc_precision_(const fc_prf_opts *o) { return prf_new(PRF_PRECISION, o); }
fc_metric *fc_recall_(const fc_prf_opts *o) { return prf_new(PRF_RECALL, o); }
fc_metric *fc_f1_score_(const fc_prf_opts *o) { return prf_new(PRF_F1, o); }

/* ---- ROC AUC, binary ----
 * Scores and labels of the whole set are kept; the value is the Mann-Whitney statistic with tied
 * scores sharing their average rank, which equals the trapezoidal area under sklearn's ROC curve
 * (roc_auc_score) including ties. The score of pred [N, 2] is x1 - x0 (softmax column 1 is a
 * monotone function of it, and ranks are all AUC depends on); pred [N] is taken as it is. NAN when
 * targ holds a single class (sklearn raises there). */

typedef struct {
    double score;
    int64_t label;
} auc_item;

typedef struct {
    int64_t n, cap;
    auc_item *items;
} auc_state;

static void auc_reset(void *state) {
    auc_state *s = state;
    s->n = 0;
}

static void auc_free(void *state) {
    auc_state *s = state;
    fci_free(s->items);
    fci_free(s);
}

static fc_status auc_grow(auc_state *s, int64_t need) {
    if (need <= s->cap) return FC_OK;
    int64_t cap = s->cap ? s->cap : 256;
    while (cap < need) cap *= 2;
    auc_item *items = fci_calloc((size_t)cap, sizeof *items);
    if (!items) return FC_ERR_NOMEM;
    if (s->n) memcpy(items, s->items, (size_t)s->n * sizeof *items);
    fci_free(s->items);
    s->items = items;
    s->cap = cap;
    return FC_OK;
}

static fc_status auc_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    auc_state *s = state;
    if (!pred || !targ) return fc_fail(FC_ERR_ARG, "roc_auc_score: expected pred and targ, found NULL");
    int pn = fc_tensor_ndim(pred);
    int64_t n = pn ? fc_tensor_dim(pred, 0) : 1;
    if (!(pn == 1 || (pn == 2 && fc_tensor_dim(pred, 1) == 2)))
        return fc_fail(FC_ERR_SHAPE, "roc_auc_score: expected pred [N, 2] or [N], found %s", fci_tshape(pred));
    if (fc_tensor_ndim(targ) != 1 || fc_tensor_numel(targ) != n)
        return fc_fail(FC_ERR_SHAPE, "roc_auc_score: expected targ [N] with N = pred.shape[0] = %lld, found %s",
                       (long long)n, fci_tshape(targ));
    float *p = fci_calloc((size_t)(n * pn) + 1, sizeof *p);
    int64_t *t = fci_calloc((size_t)n + 1, sizeof *t);
    fc_status st = !p || !t ? FC_ERR_NOMEM : auc_grow(s, s->n + n);
    if (st == FC_OK) st = fc_tensor_copy_out(pred, p, FC_DTYPE_F32);
    if (st == FC_OK) st = fc_tensor_copy_out(targ, t, FC_DTYPE_I64);
    for (int64_t i = 0; st == FC_OK && i < n; i++)
        if (t[i] != 0 && t[i] != 1)
            st = fc_fail(FC_ERR_ARG, "roc_auc_score: expected binary targets in {0, 1}, found %lld at item %lld",
                         (long long)t[i], (long long)i);
    for (int64_t i = 0; st == FC_OK && i < n; i++)
        s->items[s->n + i] = (auc_item){pn == 2 ? (double)p[2 * i + 1] - (double)p[2 * i] : p[i], t[i]};
    if (st == FC_OK) s->n += n;
    fci_free(p);
    fci_free(t);
    return st;
}

/* Ascending score, NaN above everything (a total order, as qsort needs). */
static int auc_cmp(const void *a, const void *b) {
    double x = ((const auc_item *)a)->score, y = ((const auc_item *)b)->score;
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

static int same_score(double x, double y) { return x == y || (isnan(x) && isnan(y)); }

static double auc_value(void *state) {
    auc_state *s = state;
    int64_t n_pos = 0;
    for (int64_t i = 0; i < s->n; i++) n_pos += s->items[i].label;
    int64_t n_neg = s->n - n_pos;
    if (!n_pos || !n_neg) return NAN;
    auc_item *v = fci_calloc((size_t)s->n, sizeof *v);
    if (!v) return NAN;
    memcpy(v, s->items, (size_t)s->n * sizeof *v);
    qsort(v, (size_t)s->n, sizeof *v, auc_cmp);
    double rank_sum = 0; /* the positives' 1-based ranks, a tie group sharing its mean rank */
    for (int64_t i = 0; i < s->n;) {
        int64_t j = i, pos = 0;
        while (j < s->n && same_score(v[j].score, v[i].score)) pos += v[j++].label;
        rank_sum += (double)pos * (double)(i + 1 + j) / 2.0;
        i = j;
    }
    fci_free(v);
    return (rank_sum - (double)n_pos * (double)(n_pos + 1) / 2.0) / ((double)n_pos * (double)n_neg);
}

fc_metric *fc_roc_auc_binary(void) {
    auc_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    return fc_metric_new(&(fc_metric_def){.name = "roc_auc_score", .reset = auc_reset, .accumulate = auc_acc,
                                          .value = auc_value, .free_state = auc_free},
                         s);
}
