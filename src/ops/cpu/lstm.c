/* The fused LSTM cell, gate order i, f, g, o as PyTorch's. */
#include "lstm.h"

#include <omp.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "gemm_packed.h"
#include "linalg.h"
#include "vmath.h"

/* vmath.h's libm-free exp and tanh keep the cell loops vectorizable: glibc's expf/tanhf (through
 * expm1f) were 14% of a small AWD-LSTM LM training step, 1 thread (bench/RESULTS.md, 2026-11-21). */
static inline float sigmoidf(float x) { return 1.0f / (1.0f + fci_vexpf(-x)); }
static inline float tanh_fast(float x) { return fci_vtanhf(x); }

/* The cells' unit loops vectorize only without branches, so each row runs through an
 * always-inlined body whose optional operands are compile-time flags (one copy per case). */
#define ROW_BODY static inline __attribute__((always_inline)) void

/* One row, units [j0, j1): each unit reads its four gate columns and writes the same four, so a
 * may alias g. */
ROW_BODY cell_fwd_row(const float *g, const float *cp, float *a, float *hb, float *cb, int64_t H,
                      int64_t j0, int64_t j1, const int has_cp) {
#pragma omp simd
    for (int64_t j = j0; j < j1; j++) {
        float ig = sigmoidf(g[j]), fg = sigmoidf(g[H + j]), gg = tanh_fast(g[2 * H + j]),
              og = sigmoidf(g[3 * H + j]);
        float cv = ig * gg;
        if (has_cp) cv += fg * cp[j];
        a[j] = ig;
        a[H + j] = fg;
        a[2 * H + j] = gg;
        a[3 * H + j] = og;
        cb[j] = cv;
        hb[j] = og * tanh_fast(cv);
    }
}

/* Rows [b0, b1) and hidden units [j0, j1) of the cell forward; act may alias gates. */
static void cell_fwd_part(const float *gates, int64_t ldg, const float *c_prev, float *act, float *h,
                          int64_t ldh, float *c, int64_t H, int64_t b0, int64_t b1, int64_t j0, int64_t j1) {
    for (int64_t b = b0; b < b1; b++) {
        const float *g = gates + b * ldg;
        float *a = act + b * 4 * H, *hb = h + b * ldh, *cb = c + b * H;
        if (c_prev)
            cell_fwd_row(g, c_prev + b * H, a, hb, cb, H, j0, j1, 1);
        else
            cell_fwd_row(g, NULL, a, hb, cb, H, j0, j1, 0);
    }
}

void fci_lstm_cell_fwd_f32(const float *gates, int64_t ldg, const float *c_prev, float *act,
                           float *h, int64_t ldh, float *c, int64_t batch, int64_t hidden) {
#pragma omp parallel for if (batch * hidden > 16384) schedule(static)
    for (int64_t b = 0; b < batch; b++) cell_fwd_part(gates, ldg, c_prev, act, h, ldh, c, hidden, b, b + 1, 0, hidden);
}

/* c = f c_prev + i g, h = o tanh(c): dc_total = dc + dh o (1 - tanh(c)^2), then each gate's
 * gradient times its activation's derivative (sigmoid: a (1 - a); tanh: 1 - a^2). One row, units
 * [j0, j1); dcp may alias dcb (each element is read before it is written). */
ROW_BODY cell_bwd_row(const float *a, const float *cp, const float *cb, const float *dhb,
                      const float *dcb, float *dg, float *dcp, int64_t H, int64_t j0, int64_t j1,
                      const int has_dh, const int has_dc, const int has_cp, const int has_dcp) {
#pragma omp simd
    for (int64_t j = j0; j < j1; j++) {
        float ig = a[j], fg = a[H + j], gg = a[2 * H + j], og = a[3 * H + j];
        float tc = tanh_fast(cb[j]), dhv = has_dh ? dhb[j] : 0.0f;
        float dct = (has_dc ? dcb[j] : 0.0f) + dhv * og * (1.0f - tc * tc);
        float cpv = has_cp ? cp[j] : 0.0f;
        dg[j] = dct * gg * ig * (1.0f - ig);
        dg[H + j] = dct * cpv * fg * (1.0f - fg);
        dg[2 * H + j] = dct * ig * (1.0f - gg * gg);
        dg[3 * H + j] = dhv * tc * og * (1.0f - og);
        if (has_dcp) dcp[j] = dct * fg;
    }
}

/* Rows [b0, b1), units [j0, j1) of the cell backward. The recurrence's two cases (every operand;
 * no c_prev at the first step) get their own vectorized copies, the rest share a generic one. */
static void cell_bwd_part(const float *act, const float *c_prev, const float *c, const float *dh,
                          const float *dc, float *dgates, float *dc_prev, int64_t H, int64_t b0, int64_t b1,
                          int64_t j0, int64_t j1) {
    for (int64_t b = b0; b < b1; b++) {
        const float *a = act + b * 4 * H, *cb = c + b * H;
        const float *cp = c_prev ? c_prev + b * H : NULL;
        const float *dhb = dh ? dh + b * H : NULL, *dcb = dc ? dc + b * H : NULL;
        float *dg = dgates + b * 4 * H, *dcp = dc_prev ? dc_prev + b * H : NULL;
        if (dhb && dcb && dcp && cp)
            cell_bwd_row(a, cp, cb, dhb, dcb, dg, dcp, H, j0, j1, 1, 1, 1, 1);
        else if (dhb && dcb && dcp)
            cell_bwd_row(a, NULL, cb, dhb, dcb, dg, dcp, H, j0, j1, 1, 1, 0, 1);
        else
            cell_bwd_row(a, cp, cb, dhb, dcb, dg, dcp, H, j0, j1, dhb != NULL, dcb != NULL, cp != NULL,
                         dcp != NULL);
    }
}

void fci_lstm_cell_bwd_f32(const float *act, const float *c_prev, const float *c,
                           const float *dh, const float *dc, float *dgates, float *dc_prev,
                           int64_t batch, int64_t hidden) {
#pragma omp parallel for if (batch * hidden > 16384) schedule(static)
    for (int64_t b = 0; b < batch; b++)
        cell_bwd_part(act, c_prev, c, dh, dc, dgates, dc_prev, hidden, b, b + 1, 0, hidden);
}

/* ---- the recurrence of one layer in one parallel region ----
 * Thread k owns hidden units [j0, j1) (whole 16-column panels): their four gate columns of every
 * step's h W_hh^T and their cell. A step needs the whole previous h (forward) or the whole gate
 * gradient (backward), so there is one barrier per step; calling BLAS once per step instead paid
 * OpenBLAS's own fork/join plus the cell's, and ran the cell on one thread when B*H was small.
 * With a w_pack workspace each thread first packs its slice of W_hh once (fci_pack_b_f32) and
 * every step multiplies against it (fci_gemm_packed_f32); without, OpenBLAS (single-threaded
 * inside the region) repacks the slice at every step. */
static int recur_threads(int64_t B, int64_t H) {
    int nt = omp_get_max_threads();
    if (nt < 2 || (double)B * (double)H * (double)H < 1 << 18) return 1; /* < ~2 MFLOP a step */
    int64_t most = H / FCI_PACK_NR;
    return most < nt ? (int)(most < 1 ? 1 : most) : nt;
}

static void unit_range(int64_t H, int k, int n, int64_t *j0, int64_t *j1) {
    int64_t blocks = (H + FCI_PACK_NR - 1) / FCI_PACK_NR;
    *j0 = blocks * k / n * FCI_PACK_NR;
    *j1 = blocks * (k + 1) / n * FCI_PACK_NR;
    if (*j1 > H) *j1 = H;
    if (*j0 > H) *j0 = H;
}

int64_t fci_lstm_pack_floats(int64_t H) { return fci_pack_b_floats(4 * H, H); }

void fci_lstm_recur_fwd_f32(int64_t T, int64_t B, int64_t H, const float *w_hh, const float *h0,
                            const float *c0, float *act, float *c, float *h, float *w_pack) {
    int64_t G = 4 * H, per_gate = fci_pack_b_floats(H, H);
#pragma omp parallel num_threads(recur_threads(B, H))
    {
        int64_t j0, j1;
        unit_range(H, omp_get_thread_num(), omp_get_num_threads(), &j0, &j1);
        /* gate g's columns [j0, j1) of W_hh^T; j0 is a whole number of panels into the gate */
        for (int g = 0; g < 4 && w_pack && j1 > j0; g++)
            fci_pack_b_f32(1, H, j1 - j0, w_hh + (g * H + j0) * H, H, w_pack + g * per_gate + j0 * H);
        for (int64_t t = 0; t < T; t++) {
            const float *hp = t ? h + (t - 1) * B * H : h0, *cp = t ? c + (t - 1) * B * H : c0;
            float *at = act + t * B * G;
            if (j1 > j0) {
                if (hp && w_pack)
                    for (int g = 0; g < 4; g++)
                        fci_gemm_packed_f32(B, j1 - j0, H, hp, H, w_pack + g * per_gate + j0 * H, 1.0f,
                                            at + g * H + j0, G);
                else if (hp && j1 - j0 == H) /* one thread: the four gate blocks are one product */
                    fci_gemm_f32(0, 1, B, G, H, 1.0f, hp, H, w_hh, H, 1.0f, at, G);
                else
                    for (int g = 0; g < 4 && hp; g++)
                        fci_gemm_f32(0, 1, B, j1 - j0, H, 1.0f, hp, H, w_hh + (g * H + j0) * H, H, 1.0f,
                                     at + g * H + j0, G);
                cell_fwd_part(at, G, cp, at, h + t * B * H, H, c + t * B * H, H, 0, B, j0, j1);
            }
#pragma omp barrier
        }
    }
}

void fci_lstm_recur_bwd_f32(int64_t T, int64_t B, int64_t H, const float *dy, const float *act,
                            const float *c, const float *c0, const float *w_hh, float *dh, float *dc,
                            float *dg, int need_dh0, float *w_pack) {
    int64_t G = 4 * H;
#pragma omp parallel num_threads(recur_threads(B, H))
    {
        int64_t j0, j1;
        unit_range(H, omp_get_thread_num(), omp_get_num_threads(), &j0, &j1);
        if (w_pack && j1 > j0) /* columns [j0, j1) of W_hh [4H, H] */
            fci_pack_b_f32(0, G, j1 - j0, w_hh + j0, H, w_pack + j0 * G);
        for (int64_t t = T - 1; t >= 0; t--) {
            const float *dyt = dy + t * B * H;
            for (int64_t b = 0; b < B && j1 > j0; b++)
                for (int64_t j = j0; j < j1; j++) dh[b * H + j] += dyt[b * H + j];
            cell_bwd_part(act + t * B * G, t ? c + (t - 1) * B * H : c0, c + t * B * H, dh, dc, dg + t * B * G,
                          dc, H, 0, B, j0, j1);
#pragma omp barrier
            /* dh's units [j0, j1) from the whole gate gradient; only this thread reads them next */
            if ((t > 0 || need_dh0) && j1 > j0) {
                if (w_pack)
                    fci_gemm_packed_f32(B, j1 - j0, G, dg + t * B * G, G, w_pack + j0 * G, 0.0f, dh + j0, H);
                else
                    fci_gemm_f32(0, 0, B, j1 - j0, G, 1.0f, dg + t * B * G, G, w_hh + j0, H, 0.0f, dh + j0, H);
            }
        }
    }
}

void fci_add_inplace_f32(float *dst, const float *src, int64_t n) {
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}
