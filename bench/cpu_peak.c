/* What this CPU can do at most in fp32, to judge a speed target against the hardware: the FMA peak
 * (independent AVX2 FMA chains, nothing loaded or stored) on 1 and 2 threads, OpenBLAS's sgemm on a
 * large square product, and, for the AWD-LSTM language model of bench/lstm_lm_bench.c, the FLOPs of
 * one trained token and the per-core rate a given speed-up over a rival needs.
 * Usage: cpu_peak [RIVAL_TOKENS_PER_S [THREADS [SPEEDUP]]]   (the big config; defaults: no rival, 2, 1.5)
 * e.g. `cpu_peak 957 2 1.5`: PyTorch 2.15 trains the big LM at 957 tokens/s on 2 threads; does
 * 1.5x that fit under the peak? */
#include <cblas.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define N_CHAINS 12 /* FMA latency 4-5 cycles x 2 FMA ports: 12 independent chains keep both busy */

/* GFLOP/s of one thread issuing only FMAs. */
__attribute__((target("avx2,fma"))) static void *fma_loop(void *arg) {
    double *gflops = arg;
    /* twelve named accumulators with distinct starts: an array would be spilled to memory, equal
     * starts would let the compiler merge the chains */
#define CHAIN(j) __m256 a##j = _mm256_set1_ps(0.1f + 0.01f * (float)(j));
    CHAIN(0) CHAIN(1) CHAIN(2) CHAIN(3) CHAIN(4) CHAIN(5) CHAIN(6) CHAIN(7) CHAIN(8) CHAIN(9) CHAIN(10) CHAIN(11)
    const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-4f);
    const long n = 100000000;
    double t = now();
    for (long i = 0; i < n; i++) {
#define STEP(j) a##j = _mm256_fmadd_ps(a##j, b, c);
        STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7) STEP(8) STEP(9) STEP(10) STEP(11)
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
        __asm__ volatile("" : "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
    }
    t = now() - t;
    __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                               _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    sum = _mm256_add_ps(sum, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    volatile float sink = sum[0];
    (void)sink;
    *gflops = (double)n * N_CHAINS * 16 / t / 1e9;
    return NULL;
}

/* Per-thread FMA GFLOP/s with n_threads running at once (the lowest thread's). */
static double fma_peak(int n_threads) {
    pthread_t th[16];
    double g[16];
    for (int i = 0; i < n_threads; i++) pthread_create(&th[i], NULL, fma_loop, &g[i]);
    double lo = 1e30;
    for (int i = 0; i < n_threads; i++) {
        pthread_join(th[i], NULL);
        lo = g[i] < lo ? g[i] : lo;
    }
    return lo;
}

/* Best of 3 sgemm N^3 with OpenBLAS on its current thread count. */
static double sgemm_peak(int n) {
    float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n), *C = malloc(sizeof(float) * n * n);
    if (!A || !B || !C) return 0;
    for (long i = 0; i < (long)n * n; i++) A[i] = 1e-3f * (float)(i % 7), B[i] = 1e-3f * (float)(i % 5);
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
        t = now() - t;
        double g = 2.0 * n * n * (double)n / t / 1e9;
        best = g > best ? g : best;
    }
    free(A), free(B), free(C);
    return best;
}

/* FLOPs of one trained token of the AWD-LSTM LM (forward, input gradient and weight gradient of
 * every product: 3 x 2 m n k): each layer's 4 gates from [input, hidden], then the tied decoder. */
static double awd_lstm_flops_per_token(double vocab, double emb, double hid, int layers) {
    double f = 6.0 * vocab * emb;
    for (int l = 0; l < layers; l++) {
        double in = l == 0 ? emb : hid, out = l == layers - 1 ? emb : hid;
        f += 6.0 * 4.0 * out * (in + out);
    }
    return f;
}

int main(int argc, char **argv) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "cpu_peak: this CPU has no AVX2 + FMA; the probe is written for them\n");
        return 1;
    }
    double rival = argc > 1 ? atof(argv[1]) : 0, speedup = argc > 3 ? atof(argv[3]) : 1.5;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    if (threads < 1 || threads > 16) threads = 2;
    double f1 = fma_peak(1), fn = fma_peak(threads);
    openblas_set_num_threads(1);
    double s1 = sgemm_peak(3072);
    openblas_set_num_threads(threads);
    double sn = sgemm_peak(3072);
    printf("BENCH name=fma_peak threads=1 gflops_per_core=%.1f\n", f1);
    printf("BENCH name=fma_peak threads=%d gflops_per_core=%.1f\n", threads, fn);
    printf("BENCH name=sgemm_3072 threads=1 gflops_per_core=%.1f (%.0f%% of the FMA peak)\n", s1, 100 * s1 / f1);
    printf("BENCH name=sgemm_3072 threads=%d gflops_per_core=%.1f\n", threads, sn / threads);
    double fpt = awd_lstm_flops_per_token(10000, 400, 1152, 3);
    printf("AWD-LSTM LM big (vocab 10k, emb 400, hid 1152, 3 layers): %.1f MFLOP per trained token\n", fpt / 1e6);
    if (rival > 0) {
        /* the bound uses one core's peak alone: with several threads each core can at most do that */
        double rival_core = rival * fpt / 1e9 / threads, need = speedup * rival_core, peak = fn > f1 ? fn : f1;
        printf("rival at %.0f tokens/s on %d threads = %.1f GFLOP/s per core; %.2fx of it needs %.1f GFLOP/s per core = "
               "%.0f%% of the FMA peak (%s); the most any fp32 code could reach here is %.2fx\n",
               rival, threads, rival_core, speedup, need, 100 * need / peak, need > peak ? "above it: impossible" : "under it",
               peak / rival_core);
    }
    return 0;
}
