/* Reduction kernels over a middle axis: x viewed as [outer, red, inner], contiguous. */
#include "kernels.h"

/* Sums in double per output so long reductions keep float precision (PyTorch uses pairwise sums;
 * double accumulation is at least as accurate). */
void fci_sum_axis_f32(const float *x, float *out, int64_t outer, int64_t red, int64_t inner) {
    if (inner == 1) {
#pragma omp parallel for if (outer * red > 65536)
        for (int64_t o = 0; o < outer; o++) {
            const float *p = x + o * red;
            double s = 0;
            for (int64_t r = 0; r < red; r++) s += p[r];
            out[o] = (float)s;
        }
        return;
    }
#pragma omp parallel for if (outer * red * inner > 65536)
    for (int64_t o = 0; o < outer; o++) {
        float *q = out + o * inner;
        for (int64_t i = 0; i < inner; i++) q[i] = 0;
        for (int64_t r = 0; r < red; r++) {
            const float *p = x + (o * red + r) * inner;
            for (int64_t i = 0; i < inner; i++) q[i] += p[i];
        }
    }
}

/* ---- var, logsumexp, arg-extremes: the same [outer, red, inner] walk ---- */
#include <math.h>
#include <string.h>

#include "reduce.h"
#include "softmax.h"

/* Columns are handled in blocks of BLK so the per-column accumulators live on the stack (kernels
 * do not allocate) and the inner loop runs over contiguous memory. */
#define BLK 256

void fci_var_axis_f32(const float *x, float *mean, float *var, int64_t outer, int64_t red,
                      int64_t inner, double denom, int take_sqrt) {
    int64_t nblk = (inner + BLK - 1) / BLK;
#pragma omp parallel for if (outer * red * inner > 65536)
    for (int64_t ob = 0; ob < outer * nblk; ob++) {
        int64_t o = ob / nblk, i0 = (ob % nblk) * BLK, n = inner - i0 < BLK ? inner - i0 : BLK;
        double s[BLK], q[BLK];
        for (int64_t i = 0; i < n; i++) s[i] = q[i] = 0;
        const float *base = x + o * red * inner + i0;
        for (int64_t r = 0; r < red; r++)
            for (int64_t i = 0; i < n; i++) s[i] += base[r * inner + i];
        for (int64_t i = 0; i < n; i++) s[i] /= (double)red;
        for (int64_t r = 0; r < red; r++)
            for (int64_t i = 0; i < n; i++) {
                double d = base[r * inner + i] - s[i];
                q[i] += d * d;
            }
        for (int64_t i = 0; i < n; i++) {
            double v = q[i] / denom;
            mean[o * inner + i0 + i] = (float)s[i];
            var[o * inner + i0 + i] = (float)(take_sqrt ? sqrt(v) : v);
        }
    }
}

void fci_logsumexp_axis_f32(const float *x, float *out, int64_t outer, int64_t red, int64_t inner) {
    int64_t nblk = (inner + BLK - 1) / BLK;
#pragma omp parallel for if (outer * red * inner > 65536)
    for (int64_t ob = 0; ob < outer * nblk; ob++) {
        int64_t o = ob / nblk, i0 = (ob % nblk) * BLK, n = inner - i0 < BLK ? inner - i0 : BLK;
        float m[BLK], s[BLK];
        const float *base = x + o * red * inner + i0;
        for (int64_t i = 0; i < n; i++) m[i] = -INFINITY, s[i] = 0;
        for (int64_t r = 0; r < red; r++)
            for (int64_t i = 0; i < n; i++) m[i] = fmaxf(m[i], base[r * inner + i]);
        for (int64_t i = 0; i < n; i++)
            if (isinf(m[i])) m[i] = 0;
        for (int64_t r = 0; r < red; r++)
            for (int64_t i = 0; i < n; i++) s[i] += fci_vexpf(base[r * inner + i] - m[i]);
        for (int64_t i = 0; i < n; i++) out[o * inner + i0 + i] = logf(s[i]) + m[i];
    }
}

void fci_argext_axis_f32(const float *x, float *val, int64_t *idx, int64_t outer, int64_t red,
                         int64_t inner, int is_max) {
    float sign = is_max ? 1.0f : -1.0f;
#pragma omp parallel for if (outer * red * inner > 65536)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *p = x + o * red * inner + i;
            float best = p[0];
            int64_t k = 0;
            for (int64_t r = 1; r < red && best == best; r++) {
                float v = p[r * inner];
                if (v != v || sign * v > sign * best) best = v, k = r;
            }
            idx[o * inner + i] = k;
            if (val) val[o * inner + i] = best;
        }
}

void fci_scatter_axis_f32(const float *gy, const int64_t *idx, float *gx, int64_t outer,
                          int64_t red, int64_t inner) {
    memset(gx, 0, sizeof(float) * (size_t)(outer * red * inner));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            gx[(o * red + idx[o * inner + i]) * inner + i] = gy[o * inner + i];
}
