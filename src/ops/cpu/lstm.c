/* The fused LSTM cell, gate order i, f, g, o as PyTorch's. */
#include "lstm.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* e^x (|x| clamped to 87), relative error < 3e-7: Cody-Waite reduction by ln 2 and Cephes' expf
 * polynomial, with no libm call so the cell loops vectorize. glibc's expf/tanhf (through expm1f)
 * were 14% of a small AWD-LSTM LM training step, 1 thread (bench/RESULTS.md, 2026-11-21). */
static inline float exp_fast(float x) {
    x = fminf(fmaxf(x, -87.0f), 87.0f);
    float n = (x * 1.44269504089f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } scale = {.i = ((int32_t)n + 127) << 23};
    return p * scale.f;
}
static inline float sigmoidf(float x) { return 1.0f / (1.0f + exp_fast(-x)); }
/* tanh(x) = sign(x) (1 - e) / (1 + e), e = e^(-2|x|): absolute error ~1e-7 near 0 */
static inline float tanh_fast(float x) {
    float e = exp_fast(-2.0f * fabsf(x)), t = (1.0f - e) / (1.0f + e);
    return x < 0 ? -t : t;
}

void fci_lstm_cell_fwd_f32(const float *gates, int64_t ldg, const float *c_prev, float *act,
                           float *h, int64_t ldh, float *c, int64_t batch, int64_t hidden) {
    int64_t H = hidden;
#pragma omp parallel for if (batch * H > 16384) schedule(static)
    for (int64_t b = 0; b < batch; b++) {
        const float *g = gates + b * ldg;
        float *a = act + b * 4 * H, *hb = h + b * ldh, *cb = c + b * H;
        const float *cp = c_prev ? c_prev + b * H : NULL;
        for (int64_t j = 0; j < H; j++) {
            float ig = sigmoidf(g[j]), fg = sigmoidf(g[H + j]), gg = tanh_fast(g[2 * H + j]),
                  og = sigmoidf(g[3 * H + j]);
            float cv = ig * gg + (cp ? fg * cp[j] : 0.0f);
            a[j] = ig;
            a[H + j] = fg;
            a[2 * H + j] = gg;
            a[3 * H + j] = og;
            cb[j] = cv;
            hb[j] = og * tanh_fast(cv);
        }
    }
}

/* c = f c_prev + i g, h = o tanh(c): dc_total = dc + dh o (1 - tanh(c)^2), then each gate's
 * gradient times its activation's derivative (sigmoid: a (1 - a); tanh: 1 - a^2). */
void fci_lstm_cell_bwd_f32(const float *act, const float *c_prev, const float *c,
                           const float *dh, const float *dc, float *dgates, float *dc_prev,
                           int64_t batch, int64_t hidden) {
    int64_t H = hidden;
#pragma omp parallel for if (batch * H > 16384) schedule(static)
    for (int64_t b = 0; b < batch; b++) {
        const float *a = act + b * 4 * H, *cb = c + b * H;
        const float *cp = c_prev ? c_prev + b * H : NULL;
        const float *dhb = dh ? dh + b * H : NULL, *dcb = dc ? dc + b * H : NULL;
        float *dg = dgates + b * 4 * H, *dcp = dc_prev ? dc_prev + b * H : NULL;
        for (int64_t j = 0; j < H; j++) {
            float ig = a[j], fg = a[H + j], gg = a[2 * H + j], og = a[3 * H + j];
            float tc = tanh_fast(cb[j]), dhv = dhb ? dhb[j] : 0.0f;
            float dct = (dcb ? dcb[j] : 0.0f) + dhv * og * (1.0f - tc * tc);
            float cpv = cp ? cp[j] : 0.0f;
            dg[j] = dct * gg * ig * (1.0f - ig);
            dg[H + j] = dct * cpv * fg * (1.0f - fg);
            dg[2 * H + j] = dct * ig * (1.0f - gg * gg);
            dg[3 * H + j] = dhv * tc * og * (1.0f - og);
            if (dcp) dcp[j] = dct * fg;
        }
    }
}

void fci_add_inplace_f32(float *dst, const float *src, int64_t n) {
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}
