/* A recurrent cell written by a user: a GRU (torch.nn.GRU's equations and parameter names) built
 * only from fastc's public ops — fc_linear, fc_add, fc_sigmoid, fc_tanh, fc_mul, fc_sub, fc_narrow,
 * fc_stack — unrolled over time by autograd, wrapped as an nn module, and trained as a small word
 * language model. No fused kernel, no backward written by hand: in fastc a custom cell is plain C
 * and runs at the speed of the ops it calls (bench/custom_cell_bench.c compares it with the fused
 * LSTM op).
 *
 *   build/fastc_gru_cell [STEPS]     prints the training loss as it falls
 *
 * The data is synthetic: token streams from a random sparse Markov chain (each token is followed
 * by one of 4 successors), so a model that learns the chain reaches a loss near log(4) = 1.39. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fastc/fastc.h"

/* ---- the cell ----
 * r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
 * z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
 * n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
 * h' = (1 - z) * n + z * h  =  n + z * (h - n)
 * The input projections of all T steps are one matmul before the loop (as cuDNN does); each step
 * then costs one [B, H] x [H, 3H] matmul and a handful of pointwise ops. */
typedef struct gru {
    int64_t n_in, n_hid;
} gru;

/* One step: gi [B, 3H] (this step's input projection, biases included), h [B, H] -> h' [B, H]. */
static fc_tensor *gru_step(fc_tensor *gi, fc_tensor *h, fc_tensor *w_hh, fc_tensor *b_hh, int64_t H) {
    fc_tensor *gh = fc_linear(h, w_hh, b_hh);                                             /* [B, 3H] */
    fc_tensor *rz = fc_sigmoid(fc_add(fc_narrow(gi, 1, 0, 2 * H), fc_narrow(gh, 1, 0, 2 * H))); /* r | z  */
    fc_tensor *r = fc_narrow(rz, 1, 0, H), *z = fc_narrow(rz, 1, H, H);
    fc_tensor *n = fc_tanh(fc_add(fc_narrow(gi, 1, 2 * H, H), fc_mul(r, fc_narrow(gh, 1, 2 * H, H))));
    return fc_add(n, fc_mul(z, fc_sub(h, n)));
}

/* x [T, B, I] -> [T, B, H], from a zero state (like fc_lstm_new's module). */
static fc_tensor *gru_forward(fc_module *m, fc_tensor *x) {
    gru *g = fc_module_state(m);
    if (!x) return NULL;
    if (fc_tensor_ndim(x) != 3 || fc_tensor_dim(x, 2) != g->n_in) {
        fc_fail(FC_ERR_SHAPE, "gru: expected x [T, B, %lld], found a tensor of %d dims", (long long)g->n_in, fc_tensor_ndim(x));
        return NULL;
    }
    int64_t T = fc_tensor_dim(x, 0), B = fc_tensor_dim(x, 1), H = g->n_hid;
    fc_tensor *w_ih = fc_module_get(m, "weight_ih_l0"), *w_hh = fc_module_get(m, "weight_hh_l0");
    fc_tensor *b_ih = fc_module_get(m, "bias_ih_l0"), *b_hh = fc_module_get(m, "bias_hh_l0");
    fc_tensor *gi = fc_reshape(fc_linear(fc_reshape(x, FC_SHAPE(T * B, g->n_in)), w_ih, b_ih), FC_SHAPE(T, B, 3 * H));
    if (!gi) return NULL;
    fc_tensor **hs = malloc(sizeof *hs * (size_t)T);
    if (!hs) {
        fc_fail(FC_ERR_NOMEM, "gru: out of memory for %lld steps", (long long)T);
        return NULL;
    }
    fc_tensor *h = fc_zeros(FC_SHAPE(B, H));
    for (int64_t t = 0; t < T; t++) hs[t] = h = gru_step(fc_select(gi, 0, t), h, w_hh, b_hh, H);
    fc_tensor *y = fc_stack((fc_tensor_list){(int)T, hs}, 0);
    free(hs);
    return y;
}

static const fc_module_def gru_def = {.name = "GRU", .forward = gru_forward, .free_state = free};

/* torch.nn.GRU(n_in, n_hid)'s parameters and init: all U(-1/sqrt(H), 1/sqrt(H)). */
static fc_module *gru_new(int64_t n_in, int64_t n_hid) {
    gru *g = malloc(sizeof *g);
    if (!g) return NULL;
    *g = (gru){n_in, n_hid};
    fc_module *m = fc_module_new(&gru_def, g);
    double k = 1 / sqrt((double)n_hid);
    const char *names[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"};
    fc_shape shapes[4] = {FC_SHAPE(3 * n_hid, n_in), FC_SHAPE(3 * n_hid, n_hid), FC_SHAPE(3 * n_hid), FC_SHAPE(3 * n_hid)};
    for (int i = 0; i < 4 && m; i++) {
        fc_tensor *u = fc_rand(shapes[i]); /* U[0, 1) -> U[-k, k) */
        float *p = u ? fc_tensor_data_f32(u) : NULL;
        for (int64_t j = 0; p && j < fc_tensor_numel(u); j++) p[j] = (float)(k * (2 * p[j] - 1));
        if (!fc_module_add_parameter(m, names[i], u)) {
            fc_module_free(m);
            m = NULL;
        }
    }
    return m;
}

/* ---- a word LM around any recurrent module: x [T, B] i64 -> logits [T, B, V] ---- */
static fc_module *word_lm(int64_t vocab, int64_t emb, fc_module *rnn, int64_t n_hid) {
    return fc_sequential(fc_embedding_new(vocab, emb), rnn, fc_linear_new(n_hid, vocab));
}

/* Synthetic streams: a random Markov chain where token v is followed by one of 4 successors.
 * Writes n tokens into out. */
static void markov_tokens(int64_t *out, int64_t n, int64_t vocab, uint64_t seed) {
    fc_rng r = fc_rng_new(seed);
    int64_t *succ = malloc(sizeof *succ * (size_t)(vocab * 4));
    if (!succ) return;
    for (int64_t v = 0; v < vocab * 4; v++) succ[v] = fc_rng_u32(&r) % (uint32_t)vocab;
    int64_t cur = 0;
    for (int64_t i = 0; i < n; i++) {
        out[i] = cur;
        cur = succ[cur * 4 + fc_rng_u32(&r) % 4];
    }
    free(succ);
}

/* One training step on x, y [T, B]: forward, cross entropy, backward, optimizer step. */
static fc_status lm_step(fc_module *model, fc_optimizer *opt, fc_tensor *x, fc_tensor *y, double *loss_out) {
    fc_scope *s = fc_scope_begin();
    fc_tensor *logits = fc_module_forward(model, x);
    fc_tensor *loss = logits ? fc_cross_entropy(fc_reshape(logits, FC_SHAPE(-1, fc_tensor_dim(logits, 2))),
                                                fc_reshape(y, FC_SHAPE(-1)))
                             : NULL;
    fc_status st = loss ? fc_backward(loss) : fc_error_code();
    if (st == FC_OK) st = fc_optimizer_step(opt);
    fc_optimizer_zero_grad(opt);
    if (st == FC_OK && loss_out) *loss_out = fc_tensor_item(loss);
    fc_scope_end(s);
    return st;
}

/* Batch k of a token stream cut into B streams (LMDataLoader's layout, time-major): x, y [T, B]. */
static void lm_batch(const int64_t *tok, int64_t n, int64_t B, int64_t T, int64_t k, int64_t *x, int64_t *y) {
    int64_t per = (n - 1) / B, nb = per / T;
    int64_t off = (k % nb) * T;
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++) {
            x[t * B + b] = tok[b * per + off + t];
            y[t * B + b] = tok[b * per + off + t + 1];
        }
}

#ifndef GRU_CELL_NO_MAIN
int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 300;
    enum { V = 200, E = 64, H = 128, B = 32, T = 35, N = 200000 };
    fc_manual_seed(0);
    int64_t *tok = malloc(sizeof *tok * N), *xb = malloc(sizeof *xb * B * T), *yb = malloc(sizeof *yb * B * T);
    if (!tok || !xb || !yb) return 1;
    markov_tokens(tok, N, V, 1);
    fc_module *model = word_lm(V, E, gru_new(E, H), H);
    fc_optimizer *opt = model ? fc_adam_new(fc_params_of(model), .lr = 3e-3) : NULL;
    if (!opt) return fc_report(fc_error_code());
    printf("a GRU cell written with fastc's public ops: word LM, vocab %d, emb %d, hidden %d, batch %d x %d tokens\n",
           V, E, H, B, T);
    printf("synthetic Markov-chain tokens (4 successors each): the best loss is about log(4) = %.2f\n", log(4.0));
    fc_status st = FC_OK;
    double smooth = 0;
    for (int k = 0; k < steps && st == FC_OK; k++) {
        lm_batch(tok, N, B, T, k, xb, yb);
        fc_tensor *x = fc_from_data(xb, FC_SHAPE(T, B), .dtype = FC_DTYPE_I64);
        fc_tensor *y = fc_from_data(yb, FC_SHAPE(T, B), .dtype = FC_DTYPE_I64);
        double loss = 0;
        st = x && y ? lm_step(model, opt, x, y, &loss) : fc_error_code();
        fc_tensor_free(x);
        fc_tensor_free(y);
        smooth = 0.98 * smooth + 0.02 * loss;
        if (st == FC_OK && (k % 50 == 0 || k == steps - 1))
            printf("step %4d  loss %.4f  (smoothed %.4f)\n", k, loss, smooth / (1 - pow(0.98, k + 1)));
    }
    fc_optimizer_free(opt);
    fc_module_free(model);
    free(tok);
    free(xb);
    free(yb);
    return fc_report(st);
}
#endif
