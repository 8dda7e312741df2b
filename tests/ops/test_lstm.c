/* The fused LSTM cell and the multi-layer LSTM against PyTorch (tests/fixtures/gen_linalg.py:
 * torch.nn.LSTM's own weights), gradchecks and error messages. */
#include <stdio.h>

#include "fct.h"

FCT_TEST(test_lstm_cell_matches_pytorch) {
    fct_fixture fx = fct_load("ops/lstm_cell");
    fc_tensor *g = fc_requires_grad(fct_get(&fx, "gates")),
              *c = fc_requires_grad(fct_get(&fx, "c_prev"));
    fc_tensor *y = fc_lstm_cell(g, c);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(g), fct_get(&fx, "dgates"), 1e-6, 1e-5);
    FCT_CLOSE(fc_tensor_grad(c), fct_get(&fx, "dc_prev"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

/* <a, b> as a 0-dim tensor, for a loss over several outputs */
static fc_tensor *dot(fc_tensor *a, fc_tensor *b) { return fc_sum(fc_mul(a, b), FC_ALL_DIMS, 0); }

FCT_TEST(test_lstm_matches_torch_nn_lstm) {
    fct_fixture fx = fct_load("ops/lstm");
    if (!fx.n) return;
    fc_tensor *w[4][2];
    const char *names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    char key[48];
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 2; l++) {
            snprintf(key, sizeof key, "%s_l%d", names[k], l);
            w[k][l] = fc_requires_grad(fct_get(&fx, key));
        }
    fc_lstm_weights lw = {2, w[0], w[1], w[2], w[3]};
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x")), *h0 = fc_requires_grad(fct_get(&fx, "h0")),
              *c0 = fc_requires_grad(fct_get(&fx, "c0"));
    fc_tensor *hn, *cn;
    fc_tensor *y = fc_lstm(x, &lw, h0, c0, &hn, &cn);
    if (!FCT_NOTNULL(y)) return fct_fixture_free(&fx);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-5, 1e-5);
    FCT_CLOSE(hn, fct_get(&fx, "hn"), 1e-5, 1e-5);
    FCT_CLOSE(cn, fct_get(&fx, "cn"), 1e-5, 1e-5);
    fc_tensor *loss = fc_add(fc_add(dot(y, fct_get(&fx, "dy")), dot(hn, fct_get(&fx, "dhn"))),
                             dot(cn, fct_get(&fx, "dcn")));
    FCT_OK(fc_backward(loss));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-5, 1e-4);
    FCT_CLOSE(fc_tensor_grad(h0), fct_get(&fx, "dh0"), 1e-5, 1e-4);
    FCT_CLOSE(fc_tensor_grad(c0), fct_get(&fx, "dc0"), 1e-5, 1e-4);
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 2; l++) {
            snprintf(key, sizeof key, "d%s_l%d", names[k], l);
            FCT_CLOSE(fc_tensor_grad(w[k][l]), fct_get(&fx, key), 1e-5, 1e-4);
        }
    fct_fixture_free(&fx);
}

/* The LSTM equals its composition from linear and the fused cell, step by step (no h0/c0). */
FCT_TEST(test_lstm_without_state_or_bias_matches_the_cell_loop) {
    int64_t T = 3, B = 2, I = 4, H = 3;
    fc_tensor *x = fct_randn(FC_SHAPE(T, B, I), 1), *wi = fct_randn(FC_SHAPE(4 * H, I), 2),
              *wh = fct_randn(FC_SHAPE(4 * H, H), 3);
    fc_tensor *wis[1] = {wi}, *whs[1] = {wh};
    fc_lstm_weights lw = {1, wis, whs, NULL, NULL};
    fc_tensor *y = fc_lstm(x, &lw, NULL, NULL, NULL, NULL);
    fc_tensor *h = fc_zeros(FC_SHAPE(B, H)), *c = fc_zeros(FC_SHAPE(B, H));
    for (int64_t t = 0; t < T; t++) {
        fc_tensor *g = fc_add(fc_linear(fc_select(x, 0, t), wi, NULL), fc_linear(h, wh, NULL));
        fc_tensor *hc = fc_lstm_cell(g, c);
        h = fc_select(hc, 0, 0);
        c = fc_select(hc, 0, 1);
        FCT_CLOSE(fc_select(y, 0, t), h, 1e-6, 1e-5);
    }
    fc_tensor_free(x);
    fc_tensor_free(wi);
    fc_tensor_free(wh);
}

/* Wide enough that the recurrence splits its hidden units across threads (B H^2 >= 2^18, H not a
 * multiple of 8): output and every gradient equal the step-by-step composition of linear and the
 * cell (itself checked against PyTorch above), with two threads. */
static fc_tensor *randn_scaled(fc_shape shape, uint64_t seed, double scale) {
    fc_tensor *r = fct_randn(shape, seed), *s = fc_keep(fc_mul_scalar(r, scale));
    fc_tensor_free(r);
    return s;
}

FCT_TEST(test_lstm_threaded_recurrence_matches_the_cell_loop) {
    int64_t T = 4, B = 16, I = 20, H = 132;
    int threads = fc_num_threads();
    fc_set_num_threads(2);
    fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(T, B, I), 1));
    fc_tensor *wi = fc_requires_grad(randn_scaled(FC_SHAPE(4 * H, I), 2, 0.2));
    fc_tensor *wh = fc_requires_grad(randn_scaled(FC_SHAPE(4 * H, H), 3, 0.1));
    fc_tensor *bi = fc_requires_grad(fct_randn(FC_SHAPE(4 * H), 4)), *bh = fc_requires_grad(fct_randn(FC_SHAPE(4 * H), 5));
    fc_tensor *h0 = fc_requires_grad(fct_randn(FC_SHAPE(1, B, H), 6)), *c0 = fc_requires_grad(fct_randn(FC_SHAPE(1, B, H), 7));
    fc_tensor *dy = fct_randn(FC_SHAPE(T, B, H), 8);
    fc_tensor *wis[1] = {wi}, *whs[1] = {wh}, *bis[1] = {bi}, *bhs[1] = {bh};
    fc_lstm_weights lw = {1, wis, whs, bis, bhs};
    fc_tensor *cn, *y = fc_lstm(x, &lw, h0, c0, NULL, &cn);
    FCT_OK(fc_backward(fc_add(dot(y, dy), fc_sum(cn, FC_ALL_DIMS, 0))));
    fc_tensor *ref[7], *in[7] = {x, wi, wh, bi, bh, h0, c0};
    for (int i = 0; i < 7; i++) {
        ref[i] = fc_keep(fc_clone(fc_tensor_grad(in[i])));
        fc_tensor_zero_grad(in[i]);
    }
    fc_tensor *h = fc_select(h0, 0, 0), *c = fc_select(c0, 0, 0), *loss = NULL;
    for (int64_t t = 0; t < T; t++) {
        fc_tensor *g = fc_add(fc_linear(fc_select(x, 0, t), wi, bi), fc_linear(h, wh, bh));
        fc_tensor *hc = fc_lstm_cell(g, c);
        h = fc_select(hc, 0, 0);
        c = fc_select(hc, 0, 1);
        FCT_CLOSE(fc_select(y, 0, t), h, 1e-5, 1e-5);
        fc_tensor *term = dot(h, fc_select(dy, 0, t));
        loss = loss ? fc_add(loss, term) : term;
    }
    FCT_CLOSE(fc_select(cn, 0, 0), c, 1e-5, 1e-5);
    FCT_OK(fc_backward(fc_add(loss, fc_sum(c, FC_ALL_DIMS, 0))));
    for (int i = 0; i < 7; i++) {
        FCT_CLOSE(ref[i], fc_tensor_grad(in[i]), 1e-4, 1e-4);
        fc_tensor_free(ref[i]);
        fc_tensor_free(in[i]);
    }
    fc_tensor_free(dy);
    fc_set_num_threads(threads);
}

static fc_tensor *call_cell(fc_tensor **in, void *ctx) { return fc_lstm_cell(in[0], in[1]); }

/* in: x, h0, c0, w_ih0, w_hh0, b_ih0, b_hh0, w_ih1, w_hh1, b_ih1, b_hh1 -> (y, h_n, c_n) summed
 * with fixed weights so one output carries all three gradients */
static fc_tensor *call_lstm(fc_tensor **in, void *ctx) {
    fc_tensor *wi[2] = {in[3], in[7]}, *wh[2] = {in[4], in[8]}, *bi[2] = {in[5], in[9]},
              *bh[2] = {in[6], in[10]};
    fc_lstm_weights lw = {2, wi, wh, bi, bh};
    fc_tensor *hn, *cn;
    fc_tensor *y = fc_lstm(in[0], &lw, in[1], in[2], &hn, &cn);
    return fc_add(fc_add(fc_sum(y, FC_ALL_DIMS, 0), fc_mul_scalar(fc_sum(hn, FC_ALL_DIMS, 0), 0.5)),
                  fc_mul_scalar(fc_sum(fc_mul(cn, cn), FC_ALL_DIMS, 0), 0.25));
}

FCT_TEST(test_lstm_gradcheck) {
    fc_tensor *in[2] = {fc_requires_grad(fct_randn(FC_SHAPE(2, 12), 1)),
                        fc_requires_grad(fct_randn(FC_SHAPE(2, 3), 2))};
    FCT_EQ_INT(FCT_GRADCHECK(call_cell, NULL, 2, in), 0);
    fc_tensor_free(in[0]);
    fc_tensor_free(in[1]);
    int64_t T = 3, B = 2, I = 3, H = 2;
    fc_shape shapes[11] = {FC_SHAPE(T, B, I), FC_SHAPE(2, B, H), FC_SHAPE(2, B, H),
                           FC_SHAPE(4 * H, I), FC_SHAPE(4 * H, H), FC_SHAPE(4 * H), FC_SHAPE(4 * H),
                           FC_SHAPE(4 * H, H), FC_SHAPE(4 * H, H), FC_SHAPE(4 * H), FC_SHAPE(4 * H)};
    fc_tensor *l[11];
    for (int i = 0; i < 11; i++) l[i] = fc_requires_grad(fct_randn(shapes[i], 10 + i));
    FCT_EQ_INT(FCT_GRADCHECK(call_lstm, NULL, 11, l), 0);
    for (int i = 0; i < 11; i++) fc_tensor_free(l[i]);
}

FCT_TEST(test_lstm_rejects_bad_shapes) {
    fc_tensor *x = fc_zeros(FC_SHAPE(3, 2, 4)), *wi = fc_zeros(FC_SHAPE(12, 5)),
              *wh = fc_zeros(FC_SHAPE(12, 3));
    fc_tensor *wis[1] = {wi}, *whs[1] = {wh};
    fc_lstm_weights lw = {1, wis, whs, NULL, NULL};
    FCT_NULL(fc_lstm(x, &lw, NULL, NULL, NULL, NULL));
    FCT_ERROR(FC_ERR_SHAPE, "lstm: expected w_ih[0] of shape [12, 4], found [12, 5]");
    wis[0] = fc_zeros(FC_SHAPE(12, 4));
    fc_tensor *h0 = fc_zeros(FC_SHAPE(1, 3, 3));
    FCT_NULL(fc_lstm(x, &lw, h0, NULL, NULL, NULL));
    FCT_ERROR(FC_ERR_SHAPE, "lstm: expected h0 of shape [1, 2, 3] (layers, batch, hidden), found [1, 3, 3]");
    fc_tensor *g = fc_zeros(FC_SHAPE(2, 8)), *c = fc_zeros(FC_SHAPE(2, 3));
    FCT_NULL(fc_lstm_cell(g, c));
    FCT_ERROR(FC_ERR_SHAPE, "lstm_cell: expected gates of shape [2, 12] (c_prev [2, 3]), found [2, 8]");
    FCT_NULL(fc_lstm_cell(NULL, c));
    FCT_NULL(fc_lstm(NULL, &lw, NULL, NULL, NULL, NULL));
}
