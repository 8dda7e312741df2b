/* MixUp / CutMix state (src/callbacks/mixup.c), shared with its tests: what the last training
 * batch was mixed with, so that a test can rebuild the mixed batch and the mixed loss by hand. */
#ifndef FASTC_MIXUP_IMPL_H
#define FASTC_MIXUP_IMPL_H

#include <stdint.h>

#include "fastc/learner.h"

typedef struct fci_mixup {
    int cutmix;     /* 0: MixUp, 1: CutMix                                                       */
    double alpha;   /* of Beta(alpha, alpha)                                                     */
    int active;     /* the current batch was mixed (training batches only)                       */
    int64_t bs, cap;
    int64_t *perm;  /* [bs] the partner of item i                                                */
    double *lam;    /* [bs] the weight of item i's own input and target (CutMix: one for all)    */
    int64_t box[4]; /* CutMix: x1, y1, x2, y2 of the pasted box, [x1, x2) x [y1, y2)            */
    fc_tensor *y_partner; /* y[perm], in the batch's scope: valid until after_batch              */
    int64_t n_mixed;      /* batches mixed since the callback was made                           */
} fci_mixup;

#endif
