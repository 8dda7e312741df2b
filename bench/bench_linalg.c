/* Linear-algebra benchmarks: matmul, the MLP's linear layers (forward + backward) and one LSTM
 * layer over 16 steps (forward + backward), on 2 threads. Prints one line per row:
 *     BENCH name=<row> ms=<median ms> gflops=<GFLOP/s>
 * bench/torch_linalg.py prints the same rows for PyTorch. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "fastc/ops.h"

typedef void (*bench_fn)(void *ctx);

/* one warm-up, then the median of n_runs */
static void bench(const char *name, double flop, int n_runs, bench_fn f, void *ctx) {
    double t[16];
    f(ctx);
    for (int i = 0; i < n_runs; i++) {
        double t0 = now_ms();
        f(ctx);
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)n_runs, sizeof t[0], cmp);
    double ms = t[n_runs / 2];
    printf("BENCH name=%s ms=%.3f gflops=%.1f\n", name, ms, flop / (ms * 1e6));
    fflush(stdout);
}

typedef struct mm_ctx { fc_tensor *a, *b; } mm_ctx;
static void run_matmul(void *p) {
    mm_ctx *c = p;
    fc_scope *s = fc_scope_begin();
    check(fc_matmul(c->a, c->b) != NULL);
    fc_scope_end(s);
}

typedef struct lin_ctx { fc_tensor *x, *w, *b, *dy; } lin_ctx;
static void run_linear(void *p) {
    lin_ctx *c = p;
    fc_scope *s = fc_scope_begin();
    fc_tensor *y = fc_linear(c->x, c->w, c->b);
    check(fc_backward_with(y, c->dy) == FC_OK);
    fc_scope_end(s);
    fc_tensor_zero_grad(c->x);
    fc_tensor_zero_grad(c->w);
    fc_tensor_zero_grad(c->b);
}

typedef struct lstm_ctx { fc_tensor *x, *dy; fc_lstm_weights w; } lstm_ctx;
static void run_lstm(void *p) {
    lstm_ctx *c = p;
    fc_scope *s = fc_scope_begin();
    fc_tensor *y = fc_lstm(c->x, &c->w, NULL, NULL, NULL, NULL);
    check(fc_backward_with(y, c->dy) == FC_OK);
    fc_scope_end(s);
    fc_tensor_zero_grad(c->x);
    fc_tensor_zero_grad(c->w.w_ih[0]);
    fc_tensor_zero_grad(c->w.w_hh[0]);
    fc_tensor_zero_grad(c->w.b_ih[0]);
    fc_tensor_zero_grad(c->w.b_hh[0]);
}

int main(void) {
    fc_set_num_threads(2);
    fc_manual_seed(0);
    char name[64];
    static const int64_t sizes[] = {1024, 2048, 4096};
    for (int i = 0; i < 3; i++) {
        int64_t n = sizes[i];
        mm_ctx c = {fc_randn(FC_SHAPE(n, n)), fc_randn(FC_SHAPE(n, n))};
        snprintf(name, sizeof name, "matmul_%lld", (long long)n);
        bench(name, 2.0 * n * n * n, n >= 4096 ? 3 : 7, run_matmul, &c);
        fc_tensor_free(c.a);
        fc_tensor_free(c.b);
    }
    static const int64_t mlp[][2] = {{784, 1024}, {1024, 1024}, {1024, 10}};
    for (int i = 0; i < 3; i++) {
        int64_t bs = 256, in = mlp[i][0], out = mlp[i][1];
        lin_ctx c = {fc_requires_grad(fc_randn(FC_SHAPE(bs, in))),
                     fc_requires_grad(fc_randn(FC_SHAPE(out, in))),
                     fc_requires_grad(fc_randn(FC_SHAPE(out))), fc_randn(FC_SHAPE(bs, out))};
        snprintf(name, sizeof name, "linear_fwd_bwd_%lldx%lld", (long long)in, (long long)out);
        bench(name, 6.0 * bs * in * out, 9, run_linear, &c);
        fc_tensor_free(c.x);
        fc_tensor_free(c.w);
        fc_tensor_free(c.b);
        fc_tensor_free(c.dy);
    }
    {
        int64_t T = 16, B = 64, I = 1024, H = 1024;
        fc_tensor *wi = fc_requires_grad(fc_mul_scalar(fc_randn(FC_SHAPE(4 * H, I)), 0.03));
        fc_tensor *wh = fc_requires_grad(fc_mul_scalar(fc_randn(FC_SHAPE(4 * H, H)), 0.03));
        fc_tensor *bi = fc_requires_grad(fc_zeros(FC_SHAPE(4 * H)));
        fc_tensor *bh = fc_requires_grad(fc_zeros(FC_SHAPE(4 * H)));
        fc_tensor *wis[1] = {wi}, *whs[1] = {wh}, *bis[1] = {bi}, *bhs[1] = {bh};
        lstm_ctx c = {fc_requires_grad(fc_randn(FC_SHAPE(T, B, I))), fc_randn(FC_SHAPE(T, B, H)),
                      {1, wis, whs, bis, bhs}};
        /* forward x W_ih^T and h W_hh^T; backward twice that (weights and inputs) */
        bench("lstm_fwd_bwd_T16_B64_H1024", 3.0 * 2.0 * T * B * 4 * H * (I + H), 5, run_lstm, &c);
        fc_tensor_free(c.x);
        fc_tensor_free(c.dy);
        fc_tensor_free(wi);
        fc_tensor_free(wh);
        fc_tensor_free(bi);
        fc_tensor_free(bh);
    }
    return 0;
}
