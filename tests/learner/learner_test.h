/* Shared helpers of the learner tests: tiny synthetic data, models and a test metric. */
#ifndef LEARNER_TEST_H
#define LEARNER_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/learner.h"
#include "fct.h"

/* Two classes of 4-feature points: class = (x0 + x1 > 0). n_train / n_valid rows; the loaders
 * use bs (valid 2 * bs). */
static inline fc_dataloaders *lt_dls(int64_t n_train, int64_t n_valid, int64_t bs, uint64_t seed) {
    fc_tensor *x[2], *y[2];
    int64_t n[2] = {n_train, n_valid};
    fc_rng g = fc_rng_new(seed);
    for (int k = 0; k < 2; k++) {
        x[k] = fc_keep(fc_zeros(FC_SHAPE(n[k], 4)));
        y[k] = fc_keep(fc_zeros(FC_SHAPE(n[k]), .dtype = FC_DTYPE_I64));
        float *px = fc_tensor_data(x[k]);
        int64_t *py = fc_tensor_data(y[k]);
        for (int64_t i = 0; i < n[k]; i++) {
            for (int j = 0; j < 4; j++) px[i * 4 + j] = fc_rng_normal(&g);
            py[i] = px[i * 4] + px[i * 4 + 1] > 0;
        }
    }
    fc_dataloaders *dls = fc_tensor_dls(x[0], y[0], x[1], y[1], .bs = bs, .seed = seed);
    for (int k = 0; k < 2; k++) {
        fc_tensor_free(x[k]);
        fc_tensor_free(y[k]);
    }
    return dls;
}

static inline fc_module *lt_mlp(void) {
    return fc_sequential(fc_linear_new(4, 8), fc_relu_new(), fc_linear_new(8, 2));
}

/* A copy (outside any scope) of parameter i of m. */
static inline fc_tensor *lt_param_copy(fc_module *m, int i) {
    return fc_keep(fc_clone(fc_module_parameter(m, i, NULL)));
}

static inline int lt_equal(const fc_tensor *a, const fc_tensor *b) {
    return fc_tensor_numel(a) == fc_tensor_numel(b) &&
           memcmp(fc_tensor_data(a), fc_tensor_data(b), (size_t)fc_tensor_numel(a) * sizeof(float)) == 0;
}

/* The test metric: accuracy over the set, pred [N, C] and targ [N]. */
typedef struct lt_acc {
    double correct, total;
} lt_acc;
static inline void lt_acc_reset(void *s) { *(lt_acc *)s = (lt_acc){0, 0}; }
static inline fc_status lt_acc_accumulate(void *s, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    lt_acc *a = s;
    fc_tensor *am = fc_argmax(pred, 1, 0);
    if (!am) return fc_error_code();
    for (int64_t i = 0; i < bs; i++) a->correct += fc_tensor_get(am, i) == fc_tensor_get(targ, i);
    a->total += (double)bs;
    return FC_OK;
}
static inline double lt_acc_value(void *s) {
    lt_acc *a = s;
    return a->total > 0 ? a->correct / a->total : NAN;
}
static inline void lt_free(void *p) { free(p); }
static inline fc_metric *lt_accuracy(void) {
    static const fc_metric_def def = {.name = "test_accuracy", .reset = lt_acc_reset,
                                      .accumulate = lt_acc_accumulate, .value = lt_acc_value, .free_state = lt_free};
    return fc_metric_new(&def, calloc(1, sizeof(lt_acc)));
}

#endif
