/* Pooling loops, one output plane per iteration (planes are independent, so the backward scatters
 * need no atomics). Window bounds follow PyTorch's CPU kernels (aten/src/ATen/native/cpu/
 * MaxPoolKernel.cpp, AvgPoolKernel.cpp, AdaptivePooling.h) so that ceil_mode and padding agree. */
#include "pool.h"

#include <math.h>
#include <string.h>

#define PAR_MIN 65536 /* elements of work before threads pay */

static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
/* PyTorch's adaptive windows: [floor(i * in / out), ceil((i + 1) * in / out)) */
static inline int64_t ad_start(int64_t i, int64_t out, int64_t in) { return i * in / out; }
static inline int64_t ad_end(int64_t i, int64_t out, int64_t in) { return ((i + 1) * in + out - 1) / out; }

void fci_max_pool2d_f32(const float *x, float *y, int32_t *idx, const fci_pool2d_geom *g) {
    int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
#pragma omp parallel for if (g->planes * plane_out * g->kh * g->kw >= PAR_MIN)
    for (int64_t p = 0; p < g->planes; p++) {
        const float *xp = x + p * plane_in;
        for (int64_t oh = 0; oh < g->oh; oh++) {
            int64_t h0 = oh * g->sh - g->ph, h1 = imin(h0 + (g->kh - 1) * g->dh + 1, g->h);
            while (h0 < 0) h0 += g->dh;
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t w0 = ow * g->sw - g->pw, w1 = imin(w0 + (g->kw - 1) * g->dw + 1, g->w);
                while (w0 < 0) w0 += g->dw;
                int64_t best = h0 < h1 && w0 < w1 ? h0 * g->w + w0 : -1;
                float m = -INFINITY;
                for (int64_t h = h0; h < h1; h += g->dh)
                    for (int64_t w = w0; w < w1; w += g->dw) {
                        float v = xp[h * g->w + w];
                        if (v > m || isnan(v)) {
                            m = v;
                            best = h * g->w + w;
                        }
                    }
                y[p * plane_out + oh * g->ow + ow] = m;
                if (idx) idx[p * plane_out + oh * g->ow + ow] = (int32_t)best;
            }
        }
    }
}

void fci_adaptive_max_pool2d_f32(const float *x, float *y, int32_t *idx, const fci_pool2d_geom *g) {
    int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
#pragma omp parallel for if (g->planes * plane_in >= PAR_MIN)
    for (int64_t p = 0; p < g->planes; p++) {
        const float *xp = x + p * plane_in;
        for (int64_t oh = 0; oh < g->oh; oh++) {
            int64_t h0 = ad_start(oh, g->oh, g->h), h1 = ad_end(oh, g->oh, g->h);
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t w0 = ad_start(ow, g->ow, g->w), w1 = ad_end(ow, g->ow, g->w);
                int64_t best = h0 * g->w + w0;
                float m = -INFINITY;
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) {
                        float v = xp[h * g->w + w];
                        if (v > m || isnan(v)) {
                            m = v;
                            best = h * g->w + w;
                        }
                    }
                y[p * plane_out + oh * g->ow + ow] = m;
                if (idx) idx[p * plane_out + oh * g->ow + ow] = (int32_t)best;
            }
        }
    }
}

void fci_max_pool2d_bwd_f32(const float *gy, const int32_t *idx, float *gx, const fci_pool2d_geom *g) {
    int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
#pragma omp parallel for if (g->planes * plane_in >= PAR_MIN)
    for (int64_t p = 0; p < g->planes; p++) {
        float *gp = gx + p * plane_in;
        memset(gp, 0, sizeof(float) * (size_t)plane_in);
        for (int64_t i = 0; i < plane_out; i++) {
            int32_t k = idx[p * plane_out + i];
            if (k >= 0) gp[k] += gy[p * plane_out + i];
        }
    }
}

/* The window of output (oh, ow) clipped to the input, and its divisor. */
static inline float avg_window(const fci_pool2d_geom *g, int64_t oh, int64_t ow, int64_t *h0,
                               int64_t *h1, int64_t *w0, int64_t *w1) {
    int64_t hs = oh * g->sh - g->ph, ws = ow * g->sw - g->pw;
    int64_t he = imin(hs + g->kh, g->h + g->ph), we = imin(ws + g->kw, g->w + g->pw);
    int64_t pool_size = (he - hs) * (we - ws);
    *h0 = imax(hs, 0), *w0 = imax(ws, 0), *h1 = imin(he, g->h), *w1 = imin(we, g->w);
    int64_t n = g->count_include_pad ? pool_size : (*h1 - *h0) * (*w1 - *w0);
    return n > 0 ? 1.0f / (float)n : 0.0f;
}

void fci_avg_pool2d_f32(const float *x, float *y, const fci_pool2d_geom *g) {
    int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
#pragma omp parallel for if (g->planes * plane_out * g->kh * g->kw >= PAR_MIN)
    for (int64_t p = 0; p < g->planes; p++) {
        const float *xp = x + p * plane_in;
        for (int64_t oh = 0; oh < g->oh; oh++)
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t h0, h1, w0, w1;
                float scale = avg_window(g, oh, ow, &h0, &h1, &w0, &w1);
                float s = 0;
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) s += xp[h * g->w + w];
                y[p * plane_out + oh * g->ow + ow] = h0 < h1 && w0 < w1 ? s * scale : 0.0f;
            }
    }
}

void fci_avg_pool2d_bwd_f32(const float *gy, float *gx, const fci_pool2d_geom *g) {
    int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
#pragma omp parallel for if (g->planes * plane_out * g->kh * g->kw >= PAR_MIN)
    for (int64_t p = 0; p < g->planes; p++) {
        float *gp = gx + p * plane_in;
        memset(gp, 0, sizeof(float) * (size_t)plane_in);
        for (int64_t oh = 0; oh < g->oh; oh++)
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t h0, h1, w0, w1;
                float v = gy[p * plane_out + oh * g->ow + ow] * avg_window(g, oh, ow, &h0, &h1, &w0, &w1);
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) gp[h * g->w + w] += v;
            }
    }
}

void fci_adaptive_avg_pool2d_f32(const float *x, float *y, const fci_pool2d_geom *g) {
    int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
#pragma omp parallel for if (g->planes * plane_in >= PAR_MIN)
    for (int64_t p = 0; p < g->planes; p++) {
        const float *xp = x + p * plane_in;
        for (int64_t oh = 0; oh < g->oh; oh++) {
            int64_t h0 = ad_start(oh, g->oh, g->h), h1 = ad_end(oh, g->oh, g->h);
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t w0 = ad_start(ow, g->ow, g->w), w1 = ad_end(ow, g->ow, g->w);
                float s = 0;
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) s += xp[h * g->w + w];
                y[p * plane_out + oh * g->ow + ow] = s / (float)((h1 - h0) * (w1 - w0));
            }
        }
    }
}

void fci_adaptive_avg_pool2d_bwd_f32(const float *gy, float *gx, const fci_pool2d_geom *g) {
    int64_t plane_in = g->h * g->w, plane_out = g->oh * g->ow;
#pragma omp parallel for if (g->planes * plane_in >= PAR_MIN)
    for (int64_t p = 0; p < g->planes; p++) {
        float *gp = gx + p * plane_in;
        memset(gp, 0, sizeof(float) * (size_t)plane_in);
        for (int64_t oh = 0; oh < g->oh; oh++) {
            int64_t h0 = ad_start(oh, g->oh, g->h), h1 = ad_end(oh, g->oh, g->h);
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t w0 = ad_start(ow, g->ow, g->w), w1 = ad_end(ow, g->ow, g->w);
                float v = gy[p * plane_out + oh * g->ow + ow] / (float)((h1 - h0) * (w1 - w0));
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) gp[h * g->w + w] += v;
            }
        }
    }
}
