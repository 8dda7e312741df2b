/* Shared by the bench programs: a monotonic clock in ms, a comparator for medians, and check(),
 * which reports fastc's error and ends the (benchmark) program on failure. */
#ifndef FASTC_BENCH_UTIL_H
#define FASTC_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

#include "fastc/core.h"

static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static inline int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline int check(int ok) {
    if (!ok) {
        fc_report(fc_error_code());
        exit(1);
    }
    return ok;
}

#endif
