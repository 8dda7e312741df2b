/* The fused LSTM cell, gate order i, f, g, o as PyTorch's. */
#include "lstm.h"

#include <math.h>
#include <stddef.h>

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

void fci_lstm_cell_fwd_f32(const float *gates, int64_t ldg, const float *c_prev, float *act,
                           float *h, int64_t ldh, float *c, int64_t batch, int64_t hidden) {
    int64_t H = hidden;
#pragma omp parallel for if (batch * H > 16384) schedule(static)
    for (int64_t b = 0; b < batch; b++) {
        const float *g = gates + b * ldg;
        float *a = act + b * 4 * H, *hb = h + b * ldh, *cb = c + b * H;
        const float *cp = c_prev ? c_prev + b * H : NULL;
        for (int64_t j = 0; j < H; j++) {
            float ig = sigmoidf(g[j]), fg = sigmoidf(g[H + j]), gg = tanhf(g[2 * H + j]),
                  og = sigmoidf(g[3 * H + j]);
            float cv = ig * gg + (cp ? fg * cp[j] : 0.0f);
            a[j] = ig;
            a[H + j] = fg;
            a[2 * H + j] = gg;
            a[3 * H + j] = og;
            cb[j] = cv;
            hb[j] = og * tanhf(cv);
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
            float tc = tanhf(cb[j]), dhv = dhb ? dhb[j] : 0.0f;
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
