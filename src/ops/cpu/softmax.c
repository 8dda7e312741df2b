/* Softmax and log_softmax along the middle axis of [outer, red, inner]. The last-dim case
 * (inner == 1) is a row loop: max, exp-sum, scale, each pass vectorized; other dims process the
 * columns in stack blocks so the inner loops still run over contiguous memory. */
#include "softmax.h"

#define BLK 256

/* max that vectorizes (fmaxf is a libm call without -ffinite-math-only). A NaN input is skipped
 * here but still reaches the exp-sum, so the row comes out NaN as in PyTorch. */
static inline float max2(float m, float v) { return v > m ? v : m; }

static void softmax_row(const float *x, float *y, int64_t n, int is_log) {
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t i = 0; i < n; i++) m = max2(m, x[i]);
    float s = 0;
    if (is_log) {
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < n; i++) s += fci_vexpf(x[i] - m);
        float ls = logf(s); /* (x - m) - log s: x - (m + log s) loses digits for large x */
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) - ls;
    } else {
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < n; i++) s += (y[i] = fci_vexpf(x[i] - m));
        float inv = 1.0f / s;
        for (int64_t i = 0; i < n; i++) y[i] *= inv;
    }
}

static void softmax_cols(const float *x, float *y, int64_t red, int64_t inner, int64_t n,
                         int is_log) {
    float m[BLK], s[BLK];
    for (int64_t i = 0; i < n; i++) m[i] = -INFINITY, s[i] = 0;
    for (int64_t r = 0; r < red; r++)
        for (int64_t i = 0; i < n; i++) m[i] = max2(m[i], x[r * inner + i]);
    for (int64_t r = 0; r < red; r++)
        for (int64_t i = 0; i < n; i++) {
            float e = fci_vexpf(x[r * inner + i] - m[i]);
            s[i] += e;
            if (!is_log) y[r * inner + i] = e;
        }
    if (is_log) {
        for (int64_t i = 0; i < n; i++) s[i] = logf(s[i]);
        for (int64_t r = 0; r < red; r++)
            for (int64_t i = 0; i < n; i++) y[r * inner + i] = (x[r * inner + i] - m[i]) - s[i];
    } else {
        for (int64_t i = 0; i < n; i++) s[i] = 1.0f / s[i];
        for (int64_t r = 0; r < red; r++)
            for (int64_t i = 0; i < n; i++) y[r * inner + i] *= s[i];
    }
}

void fci_softmax_fwd_f32(const float *x, float *y, int64_t outer, int64_t red, int64_t inner,
                         int is_log) {
    if (inner == 1) {
#pragma omp parallel for if (outer * red > 65536) schedule(static)
        for (int64_t o = 0; o < outer; o++) softmax_row(x + o * red, y + o * red, red, is_log);
        return;
    }
    int64_t nblk = (inner + BLK - 1) / BLK;
#pragma omp parallel for if (outer * red * inner > 65536) schedule(static)
    for (int64_t ob = 0; ob < outer * nblk; ob++) {
        int64_t o = ob / nblk, i0 = (ob % nblk) * BLK, n = inner - i0 < BLK ? inner - i0 : BLK;
        int64_t off = o * red * inner + i0;
        softmax_cols(x + off, y + off, red, inner, n, is_log);
    }
}

static void softmax_bwd_cols(const float *y, const float *gy, float *gx, int64_t red,
                             int64_t inner, int64_t n, int is_log) {
    float s[BLK];
    for (int64_t i = 0; i < n; i++) s[i] = 0;
    for (int64_t r = 0; r < red; r++)
        for (int64_t i = 0; i < n; i++)
            s[i] += is_log ? gy[r * inner + i] : gy[r * inner + i] * y[r * inner + i];
    for (int64_t r = 0; r < red; r++)
        for (int64_t i = 0; i < n; i++) {
            int64_t k = r * inner + i;
            gx[k] = is_log ? gy[k] - fci_vexpf(y[k]) * s[i] : y[k] * (gy[k] - s[i]);
        }
}

void fci_softmax_bwd_f32(const float *y, const float *gy, float *gx, int64_t outer, int64_t red,
                         int64_t inner, int is_log) {
    int64_t nblk = (inner + BLK - 1) / BLK;
#pragma omp parallel for if (outer * red * inner > 65536) schedule(static)
    for (int64_t ob = 0; ob < outer * nblk; ob++) {
        int64_t o = ob / nblk, i0 = (ob % nblk) * BLK, n = inner - i0 < BLK ? inner - i0 : BLK;
        int64_t off = o * red * inner + i0;
        if (inner == 1) {
            float s = 0;
            const float *yr = y + off, *gr = gy + off;
            float *xr = gx + off;
            if (is_log) {
                for (int64_t r = 0; r < red; r++) s += gr[r];
                for (int64_t r = 0; r < red; r++) xr[r] = gr[r] - fci_vexpf(yr[r]) * s;
            } else {
                for (int64_t r = 0; r < red; r++) s += gr[r] * yr[r];
                for (int64_t r = 0; r < red; r++) xr[r] = yr[r] * (gr[r] - s);
            }
        } else {
            softmax_bwd_cols(y + off, gy + off, gx + off, red, inner, n, is_log);
        }
    }
}

void fci_exp_inplace_f32(float *x, int64_t n) {
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) x[i] = fci_vexpf(x[i]);
}
