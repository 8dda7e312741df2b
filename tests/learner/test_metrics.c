/* Metrics against values computed by hand (the arithmetic is in the comments), accumulation over
 * several batches equal to one batch, and the shape errors. */
#include <string.h>

#include "fastc/learner.h"
#include "fct.h"

/* 8 items, 3 classes. Row argmax (ties: the first): 1 0 2 1 0 2 0 2 */
static const float cls_pred[8 * 3] = {
    0.1f, 0.7f, 0.2f,  /* -> 1 */
    2, 1, 0,           /* -> 0 */
    0, 0, 5,           /* -> 2 */
    1, 3, 2,           /* -> 1 */
    0.5f, 0.4f, 0.1f,  /* -> 0 */
    -1, -2, -0.5f,     /* -> 2 */
    3, 3, 1,           /* -> 0 (tie with class 1) */
    0, 1, 1.5f,        /* -> 2 */
};
static const int64_t cls_targ[8] = {1, 0, 1, 1, 2, 2, 0, 1};

/* Accumulates rows [0, 3) then [3, 8) (or all 8 at once) and returns the value. */
static double run_cls(fc_metric *m, int split) {
    fc_metric_reset(m);
    int64_t cuts[3] = {0, split ? 3 : 8, 8};
    for (int b = 0; b < (split ? 2 : 1); b++) {
        int64_t n = cuts[b + 1] - cuts[b];
        fc_tensor *p = fc_from_data(cls_pred + 3 * cuts[b], FC_SHAPE(n, 3));
        fc_tensor *t = fc_from_data(cls_targ + cuts[b], FC_SHAPE(n), .dtype = FC_DTYPE_I64);
        FCT_OK(fc_metric_accumulate(m, p, t, 0, n));
        fc_tensor_free(p);
        fc_tensor_free(t);
    }
    return fc_metric_value(m);
}

/* The value on one batch and on two batches, both near want. */
#define CHECK_CLS(m, want)                          \
    do {                                            \
        fc_metric *cm = (m);                        \
        FCT_NEAR(run_cls(cm, 0), (want), 1e-12);    \
        FCT_NEAR(run_cls(cm, 1), (want), 1e-12);    \
        fc_metric_free(cm);                         \
    } while (0)

FCT_TEST(test_accuracy_and_error_rate_by_hand) {
    /* argmax 1 0 2 1 0 2 0 2 vs targ 1 0 1 1 2 2 0 1: hits at items 0 1 3 5 6 = 5 of 8. A mean of
     * the two batch means would give (2/3 + 3/5) / 2 = 0.633, not 0.625. */
    CHECK_CLS(fc_accuracy(), 5.0 / 8);
    CHECK_CLS(fc_error_rate(), 3.0 / 8);
    fc_metric *m = fc_accuracy();
    FCT_TRUE(!strcmp(fc_metric_name(m), "accuracy") && !fc_metric_lower_is_better(m));
    FCT_TRUE(isnan(fc_metric_value(m))); /* nothing accumulated */
    fc_metric_free(m);
    m = fc_error_rate();
    FCT_TRUE(fc_metric_lower_is_better(m));
    fc_metric_free(m);
}

FCT_TEST(test_top_k_accuracy_by_hand) {
    /* Rank of the target (classes scoring higher, or equal with a lower index):
     * item 0 t1 0.7 top: 0 | 1 t0 2 top: 0 | 2 t1 [0,0,5]: 5 and the tied class 0 above: 2
     * 3 t1 3 top: 0 | 4 t2 0.1 lowest: 2 | 5 t2 -0.5 top: 0 | 6 t0 3 tied with class 1 (higher
     * index): 0 | 7 t1 [0,1,1.5]: 1. Within the top 2 (rank < 2): all but items 2 and 4 = 6/8. */
    CHECK_CLS(fc_top_k_accuracy(2), 6.0 / 8);
    CHECK_CLS(fc_top_k_accuracy(1), 5.0 / 8); /* top 1 is accuracy */
    CHECK_CLS(fc_top_k_accuracy(3), 1.0);
    fc_metric *m = fc_top_k_accuracy(0); /* default k = 5 > 3 classes */
    fc_tensor *p = fc_from_data(cls_pred, FC_SHAPE(8, 3));
    fc_tensor *t = fc_from_data(cls_targ, FC_SHAPE(8), .dtype = FC_DTYPE_I64);
    FCT_TRUE(fc_metric_accumulate(m, p, t, 0, 8) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "top_k_accuracy: expected k <= number of classes 3, found k = 5");
    fc_metric_free(m);
}

FCT_TEST(test_precision_recall_f1_by_hand) {
    /* (pred, targ): (1,1) (0,0) (2,1) (1,1) (0,2) (2,2) (0,0) (2,1)
     * class 0: tp 2 (items 1, 6), fp 1 (item 4), fn 0 -> P 2/3, R 1,   F1 4/5
     * class 1: tp 2 (items 0, 3), fp 0, fn 2 (items 2, 7) -> P 1, R 1/2, F1 4/6
     * class 2: tp 1 (item 5), fp 2 (items 2, 7), fn 1 (item 4) -> P 1/3, R 1/2, F1 2/5
     * macro: P (2/3 + 1 + 1/3) / 3 = 2/3, R (1 + 1/2 + 1/2) / 3 = 2/3, F1 (4/5 + 2/3 + 2/5) / 3 = 28/45 */
    CHECK_CLS(fc_precision(.average = FC_AVERAGE_MACRO), 2.0 / 3);
    CHECK_CLS(fc_recall(.average = FC_AVERAGE_MACRO), 2.0 / 3);
    CHECK_CLS(fc_f1_score(.average = FC_AVERAGE_MACRO), 28.0 / 45);
    /* binary, positive class 1 (sklearn's default pos_label=1), then class 0 */
    CHECK_CLS(fc_precision(), 1.0);
    CHECK_CLS(fc_recall(), 0.5);
    CHECK_CLS(fc_f1_score(), 2.0 / 3);
    CHECK_CLS(fc_precision(.pos_label = 0, .has_pos_label = 1), 2.0 / 3);
    CHECK_CLS(fc_recall(.pos_label = 0, .has_pos_label = 1), 1.0);
    CHECK_CLS(fc_f1_score(.pos_label = 0, .has_pos_label = 1), 0.8);
    fc_metric *m = fc_f1_score();
    FCT_TRUE(!strcmp(fc_metric_name(m), "f1_score"));
    fc_metric_free(m);
}

FCT_TEST(test_precision_recall_zero_division_and_absent_classes) {
    /* 4 classes; argmax 0 0 0, targ 0 1 1; classes 2 and 3 appear in neither and are left out of
     * the macro mean (sklearn's unique_labels).
     * class 0: tp 1, fp 2, fn 0 -> P 1/3, R 1, F1 2/4;  class 1: tp 0, fp 0, fn 2 -> P 0 (0/0 is
     * zero_division = 0), R 0, F1 0. macro P 1/6, R 1/2, F1 1/4; binary (class 1) P 0, F1 0. */
    const float p[3 * 4] = {1, 0, 0, 0, 2, 1, 0, 0, 5, 0, 0, -1};
    const int64_t t[3] = {0, 1, 1};
    fc_tensor *pt = fc_from_data(p, FC_SHAPE(3, 4)), *tt = fc_from_data(t, FC_SHAPE(3), .dtype = FC_DTYPE_I64);
    fc_metric *ms[5] = {fc_precision(.average = FC_AVERAGE_MACRO), fc_recall(.average = FC_AVERAGE_MACRO),
                        fc_f1_score(.average = FC_AVERAGE_MACRO), fc_precision(), fc_f1_score()};
    double want[5] = {1.0 / 6, 0.5, 0.25, 0, 0};
    for (int i = 0; i < 5; i++) {
        FCT_OK(fc_metric_accumulate(ms[i], pt, tt, 0, 3));
        FCT_NEAR(fc_metric_value(ms[i]), want[i], 1e-12);
        fc_metric_free(ms[i]);
    }
    /* a target outside the classes */
    const int64_t bad[3] = {0, 4, 1};
    fc_tensor *bt = fc_from_data(bad, FC_SHAPE(3), .dtype = FC_DTYPE_I64);
    fc_metric *m = fc_recall(.average = FC_AVERAGE_MACRO);
    FCT_TRUE(fc_metric_accumulate(m, pt, bt, 0, 3) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "recall_score: expected targets in [0, 4), found 4 at item 1");
    fc_metric_free(m);
    fc_tensor_free(pt);
    fc_tensor_free(tt);
    fc_tensor_free(bt);
}

FCT_TEST(test_accuracy_multi_by_hand) {
    /* logits > 0 <=> sigmoid > 0.5: [[1,0,1],[0,1,0]] vs targ [[1,0,1],[0,0,0]]: 5 of 6 agree.
     * thresh 0.6: sigmoid(2) = .881, sigmoid(.3) = .574, sigmoid(.5) = .622 -> [[1,0,0],[0,1,0]]:
     * 4 of 6. */
    const float logits[6] = {2, -1, 0.3f, -0.2f, 0.5f, -3};
    const float targ[6] = {1, 0, 1, 0, 0, 0};
    fc_tensor *p = fc_from_data(logits, FC_SHAPE(2, 3)), *t = fc_from_data(targ, FC_SHAPE(2, 3));
    fc_metric *m = fc_accuracy_multi(), *m6 = fc_accuracy_multi(.thresh = 0.6);
    FCT_OK(fc_metric_accumulate(m, p, t, 0, 2));
    FCT_OK(fc_metric_accumulate(m6, p, t, 0, 2));
    FCT_NEAR(fc_metric_value(m), 5.0 / 6, 1e-12);
    FCT_NEAR(fc_metric_value(m6), 4.0 / 6, 1e-12);
    /* probabilities as they are, > 0.4: [[1,0,1],[0,0,1]]: 5 of 6; accumulated row by row */
    const float probs[6] = {0.9f, 0.1f, 0.45f, 0.2f, 0.35f, 0.41f};
    fc_metric *mp = fc_accuracy_multi(.thresh = 0.4, .no_sigmoid = 1);
    for (int r = 0; r < 2; r++) {
        fc_tensor *pr = fc_from_data(probs + 3 * r, FC_SHAPE(1, 3)), *tr = fc_from_data(targ + 3 * r, FC_SHAPE(1, 3));
        FCT_OK(fc_metric_accumulate(mp, pr, tr, 0, 1));
        fc_tensor_free(pr);
        fc_tensor_free(tr);
    }
    FCT_NEAR(fc_metric_value(mp), 5.0 / 6, 1e-12);
    fc_metric_free(m);
    fc_metric_free(m6);
    fc_metric_free(mp);
    fc_tensor_free(p);
    fc_tensor_free(t);
}

FCT_TEST(test_roc_auc_binary_with_ties_by_hand) {
    /* positives 0.35 0.8 0.4, negatives 0.1 0.4 0.2. Pairs (pos > neg: 1, tie: 1/2):
     * 0.35: 1 + 0 + 1 = 2; 0.8: 3; 0.4: 1 + 1/2 + 1 = 2.5 -> 7.5 / 9 (sklearn's trapezoid with ties). */
    const float s[6] = {0.1f, 0.4f, 0.35f, 0.8f, 0.4f, 0.2f};
    const int64_t y[6] = {0, 0, 1, 1, 1, 0};
    fc_metric *m1 = fc_roc_auc_binary(), *m2 = fc_roc_auc_binary();
    for (int b = 0; b < 2; b++) { /* [N] scores in two batches of 3 */
        fc_tensor *p = fc_from_data(s + 3 * b, FC_SHAPE(3)), *t = fc_from_data(y + 3 * b, FC_SHAPE(3), .dtype = FC_DTYPE_I64);
        FCT_OK(fc_metric_accumulate(m1, p, t, 0, 3));
        fc_tensor_free(p);
        fc_tensor_free(t);
    }
    FCT_NEAR(fc_metric_value(m1), 7.5 / 9, 1e-12);
    /* [N, 2] logits: softmax column 1 ranks as x1 - x0; rows (x0, x0 + s) with varying x0 */
    float two[12];
    for (int i = 0; i < 6; i++) {
        two[2 * i] = (float)(i % 3) - 1;
        two[2 * i + 1] = two[2 * i] + s[i];
    }
    fc_tensor *p = fc_from_data(two, FC_SHAPE(6, 2)), *t = fc_from_data(y, FC_SHAPE(6), .dtype = FC_DTYPE_I64);
    FCT_OK(fc_metric_accumulate(m2, p, t, 0, 6));
    FCT_NEAR(fc_metric_value(m2), 7.5 / 9, 1e-6); /* x0 + s - x0 rounds in f32 */
    FCT_TRUE(!strcmp(fc_metric_name(m2), "roc_auc_score"));
    /* a single class in targ: undefined (sklearn raises), NAN */
    fc_metric_reset(m2);
    fc_tensor *t0 = fc_zeros(FC_SHAPE(6), .dtype = FC_DTYPE_I64);
    FCT_OK(fc_metric_accumulate(m2, p, t0, 0, 6));
    FCT_TRUE(isnan(fc_metric_value(m2)));
    fc_metric_free(m1);
    fc_metric_free(m2);
    fc_tensor_free(p);
    fc_tensor_free(t);
    fc_tensor_free(t0);
}

FCT_TEST(test_regression_metrics_by_hand) {
    /* pred 1 2 3 4, targ 1.5 2 2 5: p - t = -0.5 0 1 -1
     * mse (0.25 + 0 + 1 + 1) / 4 = 0.5625; rmse 0.75; mae (0.5 + 0 + 1 + 1) / 4 = 0.625
     * r2: mean t = 10.5 / 4 = 2.625, SS_tot = 1.125^2 + 0.625^2 + 0.625^2 + 2.375^2 = 123/16,
     * SS_res = 36/16 -> 1 - 36/123 = 29/41. Fed as [2, 2] in two batches of one row too. */
    const float p[4] = {1, 2, 3, 4}, t[4] = {1.5f, 2, 2, 5};
    fc_metric *ms[4] = {fc_mse(), fc_rmse(), fc_mae(), fc_r2_score()};
    double want[4] = {0.5625, 0.75, 0.625, 29.0 / 41};
    for (int i = 0; i < 4; i++) {
        fc_tensor *pa = fc_from_data(p, FC_SHAPE(4)), *ta = fc_from_data(t, FC_SHAPE(4, 1));
        FCT_OK(fc_metric_accumulate(ms[i], pa, ta, 0, 4));
        FCT_NEAR(fc_metric_value(ms[i]), want[i], 1e-12);
        fc_metric_reset(ms[i]);
        for (int b = 0; b < 2; b++) {
            fc_tensor *pb = fc_from_data(p + 2 * b, FC_SHAPE(1, 2)), *tb = fc_from_data(t + 2 * b, FC_SHAPE(2));
            FCT_OK(fc_metric_accumulate(ms[i], pb, tb, 0, 1));
            fc_tensor_free(pb);
            fc_tensor_free(tb);
        }
        FCT_NEAR(fc_metric_value(ms[i]), want[i], 1e-12);
        fc_metric_free(ms[i]);
        fc_tensor_free(pa);
        fc_tensor_free(ta);
    }
    /* r2 of a constant target (sklearn's force_finite): 1 when exact, else 0 */
    fc_metric *r2 = fc_r2_score();
    fc_tensor *c3 = fc_full(FC_SHAPE(3), 3.0), *c4 = fc_full(FC_SHAPE(3), 4.0);
    FCT_OK(fc_metric_accumulate(r2, c3, c3, 0, 3));
    FCT_NEAR(fc_metric_value(r2), 1.0, 0);
    FCT_OK(fc_metric_accumulate(r2, c4, c3, 0, 3));
    FCT_NEAR(fc_metric_value(r2), 0.0, 0);
    fc_metric_free(r2);
    fc_tensor_free(c3);
    fc_tensor_free(c4);
}

FCT_TEST(test_exp_rmspe_and_perplexity_by_hand) {
    /* exp(pred) 100 90 210 vs exp(targ) 100 100 200: (t - p) / t = 0, 0.1, -0.05;
     * squares 0, 0.01, 0.0025: sqrt(0.0125 / 3) = 0.0645497224 */
    const float p[3] = {logf(100), logf(90), logf(210)}, t[3] = {logf(100), logf(100), logf(200)};
    fc_tensor *pt = fc_from_data(p, FC_SHAPE(3)), *tt = fc_from_data(t, FC_SHAPE(3));
    fc_metric *m = fc_exp_rmspe();
    FCT_OK(fc_metric_accumulate(m, pt, tt, 0, 3));
    FCT_NEAR(fc_metric_value(m), sqrt(0.0125 / 3), 1e-6); /* f32 logs */
    fc_metric_free(m);
    /* batches of mean loss 2 (bs 3) and 1 (bs 1): exp((3 * 2 + 1) / 4) = exp(1.75) */
    fc_metric *pp = fc_perplexity();
    FCT_OK(fc_metric_accumulate(pp, pt, tt, 2.0, 3));
    FCT_OK(fc_metric_accumulate(pp, pt, tt, 1.0, 1));
    FCT_NEAR(fc_metric_value(pp), 5.754602676005731, 1e-12);
    FCT_TRUE(fc_metric_lower_is_better(pp));
    fc_metric_free(pp);
    fc_tensor_free(pt);
    fc_tensor_free(tt);
}

typedef fc_metric *(*metric_ctor)(void);
static fc_metric *macro_f1(void) { return fc_f1_score(.average = FC_AVERAGE_MACRO); }
static fc_metric *top2(void) { return fc_top_k_accuracy(2); }
static fc_metric *multi(void) { return fc_accuracy_multi(); }

/* 101 random items fed in uneven batches (1, 7, 30, 63) give the value of one batch. */
FCT_TEST(test_metrics_over_batches_equal_one_batch) {
    fc_tensor *logits = fct_randn(FC_SHAPE(101, 4), 1), *reg = fct_randn(FC_SHAPE(101), 2);
    fc_tensor *regt = fct_randn(FC_SHAPE(101), 3), *bin = fct_randn(FC_SHAPE(101, 2), 4);
    fc_tensor *cls = fc_keep(fc_randint(0, 4, FC_SHAPE(101)));
    fc_tensor *y01 = fc_keep(fc_randint(0, 2, FC_SHAPE(101)));
    fc_tensor *ml = fct_randn(FC_SHAPE(101, 4), 5), *mt = fc_keep(fc_to_dtype(fc_randint(0, 2, FC_SHAPE(101, 4)), FC_DTYPE_F32));
    struct { metric_ctor make; fc_tensor *p, *t; } cases[] = {
        {fc_accuracy, logits, cls}, {fc_error_rate, logits, cls}, {top2, logits, cls}, {macro_f1, logits, cls},
        {multi, ml, mt}, {fc_roc_auc_binary, bin, y01}, {fc_mse, reg, regt}, {fc_rmse, reg, regt},
        {fc_mae, reg, regt}, {fc_r2_score, reg, regt}, {fc_exp_rmspe, reg, regt},
    };
    const int64_t cuts[5] = {0, 1, 8, 38, 101};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        fc_metric *one = cases[c].make(), *many = cases[c].make();
        FCT_OK(fc_metric_accumulate(one, cases[c].p, cases[c].t, 0, 101));
        for (int b = 0; b < 4; b++) {
            fc_tensor *p = fc_narrow(cases[c].p, 0, cuts[b], cuts[b + 1] - cuts[b]);
            fc_tensor *t = fc_narrow(cases[c].t, 0, cuts[b], cuts[b + 1] - cuts[b]);
            FCT_OK(fc_metric_accumulate(many, p, t, 0, cuts[b + 1] - cuts[b]));
        }
        double a = fc_metric_value(one), b = fc_metric_value(many);
        fct_check(fabs(a - b) <= 1e-12 * (1 + fabs(a)) && !isnan(a), __FILE__, __LINE__,
                  "%s: one batch %.15g, four batches %.15g", fc_metric_name(one), a, b);
        fc_metric_free(one);
        fc_metric_free(many);
    }
    fc_tensor *all[] = {logits, reg, regt, bin, cls, y01, ml, mt};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) fc_tensor_free(all[i]);
}

FCT_TEST(test_metrics_reject_wrong_shapes) {
    fc_tensor *p = fc_zeros(FC_SHAPE(8, 3)), *t = fc_zeros(FC_SHAPE(4), .dtype = FC_DTYPE_I64);
    fc_metric *m = fc_accuracy();
    FCT_TRUE(fc_metric_accumulate(m, p, t, 0, 8) == FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "accuracy: expected targ [N] with N = pred.shape[0] = 8, found [4]");
    fc_tensor *tf = fc_zeros(FC_SHAPE(8));
    FCT_TRUE(fc_metric_accumulate(m, p, tf, 0, 8) == FC_ERR_DTYPE);
    FCT_ERROR(FC_ERR_DTYPE, "accuracy: expected integer class targets (i64), found f32");
    fc_tensor *p1 = fc_zeros(FC_SHAPE(8));
    FCT_TRUE(fc_metric_accumulate(m, p1, t, 0, 8) == FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "accuracy: expected pred [N, C] (scores per class), found [8]");
    /* segmentation layout: pred [N, C, H, W], targ [N, H, W] */
    fc_tensor *ps = fc_zeros(FC_SHAPE(2, 3, 4, 5)), *ts = fc_zeros(FC_SHAPE(2, 4, 4), .dtype = FC_DTYPE_I64);
    FCT_TRUE(fc_metric_accumulate(m, ps, ts, 0, 2) == FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "accuracy: expected targ [2, 4, 5] (pred [2, 3, 4, 5] without its class dim 1), found [2, 4, 4]");
    fc_metric *mse = fc_mse();
    FCT_TRUE(fc_metric_accumulate(mse, p, t, 0, 8) == FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "mse: expected pred and targ with the same number of elements, found pred [8, 3] and targ [4]");
    fc_metric *auc = fc_roc_auc_binary();
    FCT_TRUE(fc_metric_accumulate(auc, p, t, 0, 8) == FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "roc_auc_score: expected pred [N, 2] or [N], found [8, 3]");
    FCT_TRUE(isnan(fc_metric_value(m)) && isnan(fc_metric_value(mse)));
    fc_metric_free(m);
    fc_metric_free(mse);
    fc_metric_free(auc);
    fc_tensor *xs[] = {p, t, tf, p1, ps, ts};
    for (int i = 0; i < 6; i++) fc_tensor_free(xs[i]);
}

FCT_TEST(test_segmentation_accuracy_by_hand) {
    /* pred [1, 2, 2, 2]: class 0 scores 1 0 / 0 1, class 1 scores 0 1 / 1 0 -> argmax 0 1 / 1 0;
     * targ 0 1 / 0 0: 3 of 4 pixels right. */
    const float p[8] = {1, 0, 0, 1, 0, 1, 1, 0};
    const int64_t t[4] = {0, 1, 0, 0};
    fc_tensor *pt = fc_from_data(p, FC_SHAPE(1, 2, 2, 2)), *tt = fc_from_data(t, FC_SHAPE(1, 2, 2), .dtype = FC_DTYPE_I64);
    fc_metric *m = fc_accuracy();
    FCT_OK(fc_metric_accumulate(m, pt, tt, 0, 1));
    FCT_NEAR(fc_metric_value(m), 0.75, 1e-12);
    fc_metric_free(m);
    fc_tensor_free(pt);
    fc_tensor_free(tt);
}

static fc_status count_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    *(int64_t *)state += bs;
    return FC_OK;
}
static double count_value(void *state) { return (double)*(int64_t *)state; }

FCT_TEST(test_metric_new_copies_the_name_and_rejects_bad_defs) {
    char name[16] = "my_metric";
    static int64_t count;
    fc_metric *m = fc_metric_new(&(fc_metric_def){.name = name, .accumulate = count_acc, .value = count_value}, &count);
    strcpy(name, "changed");
    FCT_TRUE(!strcmp(fc_metric_name(m), "my_metric"));
    FCT_OK(fc_metric_accumulate(m, NULL, NULL, 0, 5));
    FCT_NEAR(fc_metric_value(m), 5, 0);
    fc_metric_free(m);
    FCT_NULL(fc_metric_new(&(fc_metric_def){.name = name}, NULL));
    FCT_ERROR(FC_ERR_ARG, "metric_new: expected a def with name, accumulate and value, found no accumulate");
    fc_metric_free(NULL);
}

/* AUC against the definition: the share of (positive, negative) pairs ranked right, ties half. */
FCT_TEST(test_roc_auc_equals_pair_count) {
    fc_tensor *s = fct_randn(FC_SHAPE(200), 7);
    fc_tensor *y = fc_keep(fc_randint(0, 2, FC_SHAPE(200)));
    float sc[200];
    int64_t lab[200];
    FCT_OK(fc_tensor_copy_out(s, sc, FC_DTYPE_F32));
    FCT_OK(fc_tensor_copy_out(y, lab, FC_DTYPE_I64));
    for (int i = 0; i < 200; i += 10) sc[i] = 0.25f; /* some ties */
    fc_tensor *st = fc_from_data(sc, FC_SHAPE(200));
    double good = 0, pairs = 0;
    for (int i = 0; i < 200; i++)
        for (int j = 0; j < 200; j++)
            if (lab[i] == 1 && lab[j] == 0) {
                pairs++;
                good += sc[i] > sc[j] ? 1 : sc[i] == sc[j] ? 0.5 : 0;
            }
    fc_metric *m = fc_roc_auc_binary();
    FCT_OK(fc_metric_accumulate(m, st, y, 0, 200));
    FCT_NEAR(fc_metric_value(m), good / pairs, 1e-12);
    fc_metric_free(m);
    fc_tensor_free(s);
    fc_tensor_free(y);
    fc_tensor_free(st);
}
