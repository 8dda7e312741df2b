/* index_select / index_add, gather / scatter_add over raw pointers. */
#include "index.h"

#include <string.h>

void fci_index_select_f32(float *y, const float *x, const int64_t *idx, int64_t outer,
                          int64_t n_src, int64_t n_idx, int64_t inner) {
    int64_t rows = outer * n_idx;
#pragma omp parallel for if (rows * inner > 65536) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = r / n_idx, i = r % n_idx;
        memcpy(y + r * inner, x + (o * n_src + idx[i]) * inner, sizeof(float) * (size_t)inner);
    }
}

/* Threads split (outer, inner block) pairs: each pair owns its slice of gx, so repeated indices
 * never race. */
void fci_index_add_f32(float *gx, const float *gy, const int64_t *idx, int64_t outer,
                       int64_t n_dst, int64_t n_idx, int64_t inner) {
    const int64_t blk = 1024;
    int64_t n_blk = (inner + blk - 1) / blk, tasks = outer * n_blk;
#pragma omp parallel for if (outer * n_idx * inner > 65536) schedule(static)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / n_blk, k0 = (t % n_blk) * blk;
        int64_t len = inner - k0 < blk ? inner - k0 : blk;
        for (int64_t i = 0; i < n_idx; i++) {
            float *d = gx + (o * n_dst + idx[i]) * inner + k0;
            const float *s = gy + (o * n_idx + i) * inner + k0;
            for (int64_t k = 0; k < len; k++) d[k] += s[k];
        }
    }
}

/* Groups: the coordinates of every dim but 'dim' and the last. For gather and scatter alike a
 * group visits c[dim] in order, then the last dim; two groups never touch the same destination
 * element (they differ on a dim that is not replaced by an index), so groups run in parallel.
 * Writes the group's offsets (for a, b and the contiguous index) into *oa, *ob, *oi. */
static void group_offsets(int64_t g, const int64_t *shape, int ndim, int dim, const int64_t *sa,
                          const int64_t *sb, int64_t *oa, int64_t *ob, int64_t *oi) {
    int64_t a = 0, b = 0, ci = 0, cs = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        if (d != dim && d != ndim - 1) {
            int64_t c = g % shape[d];
            g /= shape[d];
            a += c * sa[d];
            b += c * sb[d];
            ci += c * cs;
        }
        cs *= shape[d];
    }
    *oa = a;
    *ob = b;
    *oi = ci;
}

static int64_t n_groups(const int64_t *shape, int ndim, int dim) {
    int64_t n = 1;
    for (int d = 0; d < ndim - 1; d++)
        if (d != dim) n *= shape[d];
    return n;
}

void fci_gather_f32(float *y, const float *x, const int64_t *x_stride, const int64_t *idx,
                    const int64_t *shape, int ndim, int dim) {
    int64_t cont[8], n = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        cont[d] = n;
        n *= shape[d];
    }
    if (n == 0) return;
    int64_t groups = n_groups(shape, ndim, dim), last = shape[ndim - 1], xl = x_stride[ndim - 1];
    int64_t nd = dim == ndim - 1 ? 1 : shape[dim], sd = x_stride[dim];
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t g = 0; g < groups; g++) {
        int64_t ox, oy, oi;
        group_offsets(g, shape, ndim, dim, x_stride, cont, &ox, &oy, &oi);
        for (int64_t c = 0; c < nd; c++) {
            int64_t base = dim == ndim - 1 ? 0 : c * cont[dim];
            float *yr = y + oy + base;
            const int64_t *ir = idx + oi + base;
            if (dim == ndim - 1)
                for (int64_t j = 0; j < last; j++) yr[j] = x[ox + ir[j] * sd];
            else
                for (int64_t j = 0; j < last; j++) yr[j] = x[ox + j * xl + ir[j] * sd];
        }
    }
}

void fci_scatter_add_f32(float *y, const int64_t *y_stride, const float *src,
                         const int64_t *src_stride, const int64_t *idx, const int64_t *shape,
                         int ndim, int dim) {
    int64_t cont[8], n = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        cont[d] = n;
        n *= shape[d];
    }
    if (n == 0) return;
    int64_t groups = n_groups(shape, ndim, dim), last = shape[ndim - 1];
    int64_t yl = y_stride[ndim - 1], sl = src_stride[ndim - 1], sd = y_stride[dim];
    int64_t nd = dim == ndim - 1 ? 1 : shape[dim];
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t g = 0; g < groups; g++) {
        int64_t oy, os, oi;
        group_offsets(g, shape, ndim, dim, y_stride, src_stride, &oy, &os, &oi);
        for (int64_t c = 0; c < nd; c++) {
            int64_t bi = dim == ndim - 1 ? 0 : c * cont[dim];
            const float *sr = src + os + (dim == ndim - 1 ? 0 : c * src_stride[dim]);
            const int64_t *ir = idx + oi + bi;
            if (dim == ndim - 1)
                for (int64_t j = 0; j < last; j++) y[oy + ir[j] * sd] += sr[j * sl];
            else
                for (int64_t j = 0; j < last; j++) y[oy + j * yl + ir[j] * sd] += sr[j * sl];
        }
    }
}
