/* A user-written recurrent cell against the fused LSTM op: training tokens/s of two word LMs of
 * the same sizes (embedding, one recurrent layer, linear decoder; Adam; cross entropy), one on the
 * GRU cell of examples/gru_cell.c (public ops unrolled by autograd), one on fc_lstm_new (the
 * fused LSTM op). Prints both and the ratio fused / custom (issue 7 asks for <= 2).
 *
 *   build/custom_cell_bench [STEPS] [H] [B] [T] [V] */
#define GRU_CELL_NO_MAIN
#include "../examples/gru_cell.c"

#include "bench_util.h"

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Median tokens/s over rounds of steps training steps, after 3 warm-up steps; *per_cpu_s gets the
 * tokens per CPU-second of the process (all threads), which a loaded shared machine disturbs less. */
static double train_tps(fc_module *model, int steps, int64_t B, int64_t T, int64_t V, const int64_t *tok, int64_t n,
                        double *per_cpu_s) {
    fc_optimizer *opt = fc_adam_new(fc_params_of(model), .lr = 1e-3);
    check(opt != NULL);
    int64_t *xb = malloc(sizeof *xb * (size_t)(B * T)), *yb = malloc(sizeof *yb * (size_t)(B * T));
    enum { ROUNDS = 3 };
    double tps[ROUNDS], tpc[ROUNDS], loss = 0;
    for (int r = -1; r < ROUNDS; r++) {
        int k_steps = r < 0 ? 3 : steps;
        double t0 = now_ms(), c0 = cpu_s();
        for (int k = 0; k < k_steps; k++) {
            lm_batch(tok, n, B, T, k, xb, yb);
            fc_tensor *x = fc_from_data(xb, FC_SHAPE(T, B), .dtype = FC_DTYPE_I64);
            fc_tensor *y = fc_from_data(yb, FC_SHAPE(T, B), .dtype = FC_DTYPE_I64);
            check(lm_step(model, opt, x, y, &loss) == FC_OK);
            fc_tensor_free(x);
            fc_tensor_free(y);
        }
        if (r >= 0) tps[r] = (double)(B * T * steps) / ((now_ms() - t0) / 1e3);
        if (r >= 0) tpc[r] = (double)(B * T * steps) / (cpu_s() - c0);
    }
    qsort(tps, ROUNDS, sizeof *tps, cmp);
    qsort(tpc, ROUNDS, sizeof *tpc, cmp);
    *per_cpu_s = tpc[ROUNDS / 2];
    free(xb);
    free(yb);
    fc_optimizer_free(opt);
    (void)V;
    return tps[ROUNDS / 2];
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 10;
    int64_t H = argc > 2 ? atoll(argv[2]) : 256, B = argc > 3 ? atoll(argv[3]) : 32;
    int64_t T = argc > 4 ? atoll(argv[4]) : 64, V = argc > 5 ? atoll(argv[5]) : 1000, E = H;
    int64_t n = B * T * (steps + 4) + 1;
    int64_t *tok = malloc(sizeof *tok * (size_t)n);
    check(tok != NULL);
    markov_tokens(tok, n, V, 1);
    fc_manual_seed(0);
    fc_module *g = word_lm(V, E, gru_new(E, H), H);
    fc_module *l = word_lm(V, E, fc_lstm_new(E, H), H);
    check(g && l);
    printf("word LM training step (embedding %lld, one recurrent layer of %lld, vocab %lld, batch %lld x %lld tokens, Adam), %d threads\n",
           (long long)E, (long long)H, (long long)V, (long long)B, (long long)T, fc_num_threads());
    double cg = 0, cl = 0;
    double tg = train_tps(g, steps, B, T, V, tok, n, &cg);
    double tl = train_tps(l, steps, B, T, V, tok, n, &cl);
    printf("%-30s %10.0f tokens/s  %10.0f tokens/CPU-s\n", "GRU cell from public ops", tg, cg);
    printf("%-30s %10.0f tokens/s  %10.0f tokens/CPU-s\n", "fused LSTM op (fc_lstm_new)", tl, cl);
    printf("ratio fused / custom: %.2fx wall, %.2fx CPU time (target <= 2x)\n", tl / tg, cl / cg);
    fc_module_free(g);
    fc_module_free(l);
    free(tok);
    return 0;
}
