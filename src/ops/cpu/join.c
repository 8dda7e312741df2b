/* Strided f32 copies for cat, pad and flip: the innermost dim is the loop, the outer dims are rows
 * (split across threads for large copies). */
#include "join.h"

#include <string.h>

/* Merges adjacent dims that are contiguous with each other in both operands and drops size-1
 * dims, so a copy of a window of a contiguous tensor runs long inner rows. Returns the new ndim. */
static int coalesce(int ndim, const int64_t *shape, const int64_t *ds, const int64_t *ss,
                    int64_t *sh, int64_t *d, int64_t *s) {
    int m = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 1) continue;
        if (m > 0 && d[m - 1] == ds[i] * shape[i] && s[m - 1] == ss[i] * shape[i]) {
            sh[m - 1] *= shape[i];
            d[m - 1] = ds[i];
            s[m - 1] = ss[i];
            continue;
        }
        sh[m] = shape[i];
        d[m] = ds[i];
        s[m] = ss[i];
        m++;
    }
    if (m == 0) {
        sh[0] = 1;
        d[0] = s[0] = 1;
        m = 1;
    }
    return m;
}

void fci_copy_nd_f32(float *dst, const int64_t *dst_stride, const float *src,
                     const int64_t *src_stride, const int64_t *shape, int ndim) {
    int64_t sh[8], ds[8], ss[8], n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    if (n == 0) return;
    int nd = coalesce(ndim, shape, dst_stride, src_stride, sh, ds, ss);
    int64_t inner = sh[nd - 1], di = ds[nd - 1], si = ss[nd - 1], rows = n / inner;
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t rem = r, od = 0, os = 0;
        for (int k = nd - 2; k >= 0; k--) {
            int64_t c = rem % sh[k];
            rem /= sh[k];
            od += c * ds[k];
            os += c * ss[k];
        }
        float *dp = dst + od;
        const float *sp = src + os;
        if (di == 1 && si == 1) memcpy(dp, sp, sizeof(float) * (size_t)inner);
        else if (di == 1 && si == -1)
            for (int64_t j = 0; j < inner; j++) dp[j] = sp[-j];
        else
            for (int64_t j = 0; j < inner; j++) dp[j * di] = sp[j * si];
    }
}

void fci_fill_f32(float *dst, int64_t n, float v) {
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) dst[i] = v;
}
