/* Internals shared by the metric files (never installed). */
#ifndef FASTC_METRICS_IMPL_H
#define FASTC_METRICS_IMPL_H

#include "fastc/learner.h"

/* One classification batch as flat host arrays: argmax class and target per item. */
typedef struct fci_cls_batch {
    int64_t n, n_classes;
    int64_t *pred, *targ;
} fci_cls_batch;
/* pred [N, C, d...] (classes along dim 1), targ integer [N, d...]; errors name the metric and
 * both shapes. Free with fci_metric_classes_free. */
fc_status fci_metric_classes(const char *name, fc_tensor *pred, fc_tensor *targ, fci_cls_batch *out);
void fci_metric_classes_free(fci_cls_batch *b);
/* pred and targ of equal numel as new f32 arrays (free both with fci_free). */
fc_status fci_metric_flat(const char *name, fc_tensor *pred, fc_tensor *targ, float **p, float **t, int64_t *n);

#endif
