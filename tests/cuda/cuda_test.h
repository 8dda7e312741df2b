/* What every tests/cuda file shares: a device test without a GPU prints SKIPPED with the reason
 * (scripts/gpu-check.sh fails on that word) instead of passing silently, and tensors move to and
 * from the device through one place. Each file counts its own skips and reports them last. */
#ifndef FCT_CUDA_TEST_H
#define FCT_CUDA_TEST_H

#include <stdio.h>

#include "fastc/cuda.h"
#include "fct.h"

/* -DFCT_CUDA_DRYRUN builds the tests with the "device" side on the CPU too: a check of the tests'
 * own logic on a machine without a GPU (both sides then agree trivially). */
#ifdef FCT_CUDA_DRYRUN
#define TEST_DEVICE FC_CPU
#else
#define TEST_DEVICE FC_CUDA
#endif

static int n_skipped;

/* 1 when a device is there; else prints the skip with the reason and returns 0. */
static inline int need_gpu(const char *test) {
#ifdef FCT_CUDA_DRYRUN
    (void)test;
    return 1;
#endif
    if (fc_cuda_is_available()) return 1;
    fc_cuda_check(FC_CUDA);
    printf("  SKIPPED %s: no CUDA device (%s)\n", test, fc_error_message());
    fc_error_clear();
    n_skipped++;
    return 0;
}
#define NEED_GPU() \
    if (!need_gpu(__func__)) return

/* A device copy of a host tensor (requires_grad carried over); NULL fails the test. */
static inline fc_tensor *dev(fc_tensor *t) {
    fc_tensor *d = fc_tensor_to(t, TEST_DEVICE);
    FCT_NOTNULL(d);
    return d;
}
static inline fc_tensor *host(fc_tensor *t) { return t ? fc_tensor_to(t, FC_CPU) : NULL; }

#endif
