/* Data-parallel step throughput on the CIFAR ResNet-9 (bench/cifar10_resnet9.c's model) with
 * in-memory random 3x32x32 images (the step, not JPEG decoding, is measured):
 *   OMP_NUM_THREADS=2 build/distributed_bench [WIDEN [GLOBAL_BS [STEPS [no_overlap]]]]   1 rank x 2 threads
 *   mpirun -np 2 build/distributed_bench [same]                                          2 ranks x 1 thread
 * The global batch is split over the ranks (per-rank bs = GLOBAL_BS / ranks), so both runs do the
 * same work per step. Prints the median step time, images/s, and per step: bytes reduced, time in
 * the gradient hooks (copy into buckets + starting allreduces), time waiting after backward, and
 * how many buckets were already complete when backward returned (the overlap). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fastc/fastc.h"
#ifdef FASTC_HAVE_MPI
#include <mpi.h>
#endif

#define MAX_STEPS 256

typedef struct timing {
    double t0, step_ms[MAX_STEPS], hook_ms[MAX_STEPS], wait_ms[MAX_STEPS];
    int n;
    fc_distributed_stats last;
} timing;

static int t_before_batch(fc_learner *learn, void *s) {
    timing *t = s;
    t->t0 = now_ms();
    fc_learner_distributed_stats(learn, &t->last);
    fc_error_clear(); /* one rank: no Distributed callback */
    return FC_CONTINUE;
}

static int t_after_step(fc_learner *learn, void *s) {
    timing *t = s;
    if (t->n >= MAX_STEPS) return FC_CONTINUE;
    fc_distributed_stats now = {0};
    fc_learner_distributed_stats(learn, &now);
    fc_error_clear();
    t->step_ms[t->n] = now_ms() - t->t0;
    t->hook_ms[t->n] = 1e3 * (now.hook_s - t->last.hook_s);
    t->wait_ms[t->n] = 1e3 * (now.wait_s - t->last.wait_s);
    t->n++;
    return FC_CONTINUE;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n ? v[n / 2] : 0;
}

int main(int argc, char **argv) {
    double widen = argc > 1 ? atof(argv[1]) : 0.5;
    int global_bs = argc > 2 ? atoi(argv[2]) : 64, steps = argc > 3 ? atoi(argv[3]) : 12;
    int no_overlap = argc > 4 && !strcmp(argv[4], "no_overlap");
    if (steps > MAX_STEPS - 3) steps = MAX_STEPS - 3;
    int ranks = 1;
    if (getenv("OMPI_COMM_WORLD_SIZE") && atoi(getenv("OMPI_COMM_WORLD_SIZE")) > 1) {
        check(fc_distributed_init() == FC_OK);
        ranks = fc_distributed_size();
    }
    int threads = ranks >= 2 ? 1 : 2;
    fc_set_num_threads(threads);
    int bs = global_bs / ranks, warm = 3, n_steps = steps + warm;
    fc_manual_seed(0);
    fc_tensor *x = fc_keep(fc_randn(FC_SHAPE((int64_t)n_steps * global_bs, 3, 32, 32)));
    fc_tensor *y = fc_keep(fc_randint(0, 10, FC_SHAPE((int64_t)n_steps * global_bs)));
    fc_tensor *xv = fc_keep(fc_randn(FC_SHAPE(2 * ranks, 3, 32, 32))), *yv = fc_keep(fc_randint(0, 10, FC_SHAPE(2 * ranks)));
    timing *t = calloc(1, sizeof *t);
    fc_learner *learn = fc_learner(fc_tensor_dls(x, y, xv, yv, .bs = bs, .drop_last = 1), fc_resnet9(.widen = widen, .n_out = 10),
                                   .quiet = 1, .cbs = FC_CALLBACKS(fc_callback_new(&(fc_callback_def){
                                       .name = "Timing", .order = -20, .run_valid_off = 1, .state = t,
                                       .before_batch = t_before_batch, .after_step = t_after_step})));
    check(learn != NULL);
    if (ranks > 1) check(fc_learner_distributed(learn, .no_overlap = no_overlap) == FC_OK);
    check(fc_fit(learn, 1, 1e-3) == FC_OK);
    fc_distributed_stats ds = {0};
    if (ranks > 1) check(fc_learner_distributed_stats(learn, &ds) == FC_OK);
    int n = t->n - warm;
    double *st = t->step_ms + warm, *hk = t->hook_ms + warm, *wt = t->wait_ms + warm;
    double sum_hook = 0, sum_wait = 0, sum_step = 0;
    for (int i = 0; i < n; i++) sum_hook += hk[i], sum_wait += wt[i], sum_step += st[i];
    double med = median(st, n);
    if (fc_distributed_rank() == 0) {
        printf("resnet9 widen %g, %d params, global batch %d: %d rank(s) x %d thread(s)%s\n", widen,
               (int)fc_module_num_params(fc_learner_model(learn)), global_bs, ranks, threads,
               ranks > 1 ? (no_overlap ? ", allreduce after backward" : ", allreduce overlapped with backward") : "");
        printf("  step: median %.1f ms, mean %.1f ms over %d steps -> %.1f images/s\n", med, sum_step / n, n,
               global_bs / (med / 1e3));
        if (ranks > 1)
            printf("  per step: %.2f MB reduced in %d buckets; hooks (copy + start) %.1f ms, wait after backward "
                   "%.1f ms = %.1f%% of the step; buckets complete when backward returned: %lld of %lld\n",
                   ds.bytes_per_step / 1e6, ds.n_buckets, sum_hook / n, sum_wait / n, 100 * (sum_hook + sum_wait) / sum_step,
                   (long long)ds.buckets_done_early, (long long)ds.steps * ds.n_buckets);
    }
#ifdef FASTC_HAVE_MPI
    if (ranks > 1) { /* the allreduce alone, after a barrier: transfer cost without compute skew */
        int64_t nf = ds.bytes_per_step / 4, reps = 10;
        float *buf = calloc((size_t)nf, sizeof *buf);
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)nf, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = now_ms();
        for (int i = 0; i < reps; i++) MPI_Allreduce(MPI_IN_PLACE, buf, (int)nf, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double ms = (now_ms() - t0) / reps;
        if (fc_distributed_rank() == 0)
            printf("  allreduce of %.2f MB alone (blocking, after a barrier): %.2f ms -> bus bandwidth "
                   "2(N-1)/N * bytes / t = %.2f GB/s\n", nf * 4 / 1e6, ms, 2.0 * (ranks - 1) / ranks * nf * 4 / (ms * 1e6));
        free(buf);
    }
#endif
    fc_learner_free(learn);
    free(t);
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
    return 0;
}
