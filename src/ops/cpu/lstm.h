/* CPU kernels for the fused LSTM cell: raw pointers and sizes, no tensors or allocation. */
#ifndef FASTC_CPU_LSTM_H
#define FASTC_CPU_LSTM_H

#include <stdint.h>

/* LSTM cell, gate order i, f, g, o (PyTorch). gates [B, 4H] pre-activations (row stride ldg);
 * act [B, 4H] receives sigmoid/tanh of them (may alias gates); c_prev, h, c [B, H] (c_prev NULL:
 * zeros). h may have its own row stride ldh (e.g. a slice of the output sequence). */
void fci_lstm_cell_fwd_f32(const float *gates, int64_t ldg, const float *c_prev, float *act,
                           float *h, int64_t ldh, float *c, int64_t batch, int64_t hidden);
/* Backward of the cell from the activated gates: dh, dc [B, H] (either may be NULL: zero) ->
 * dgates [B, 4H] (pre-activation gradients) and dc_prev [B, H] (may be NULL). */
void fci_lstm_cell_bwd_f32(const float *act, const float *c_prev, const float *c,
                           const float *dh, const float *dc, float *dgates, float *dc_prev,
                           int64_t batch, int64_t hidden);

/* One layer's recurrence over T steps, in one parallel region (units split across threads).
 * Forward: act [T, B, 4H] holds x W_ih^T + biases on entry and the activated gates on exit; h0, c0
 * [B, H] (NULL: zeros); c, h [T, B, H] receive the states. Backward: dy [T, B, H] the gradients of
 * the outputs; dh, dc [B, H] hold those of h_T, c_T on entry and of h0 (only when need_dh0), c0 on
 * exit; dg [T, B, 4H] receives the pre-activation gate gradients. w_pack: workspace of
 * fci_lstm_pack_floats(H) floats for W_hh packed once per call (NULL: OpenBLAS at every step). */
int64_t fci_lstm_pack_floats(int64_t H);
void fci_lstm_recur_fwd_f32(int64_t T, int64_t B, int64_t H, const float *w_hh, const float *h0,
                            const float *c0, float *act, float *c, float *h, float *w_pack);
void fci_lstm_recur_bwd_f32(int64_t T, int64_t B, int64_t H, const float *dy, const float *act,
                            const float *c, const float *c0, const float *w_hh, float *dh, float *dc,
                            float *dg, int need_dh0, float *w_pack);

/* dst[i] += src[i] */
void fci_add_inplace_f32(float *dst, const float *src, int64_t n);

#endif
