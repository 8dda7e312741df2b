/* Batch augmentation throughput: fc_affine_sample (random thetas, bilinear, reflection padding: what
 * torch's affine_grid + grid_sample compute) and the whole aug_transforms (draws, flip, rotate,
 * zoom, warp and lighting in one pass; and without lighting) on 64x3x32x32 and 64x3x224x224 f32 batches, median of a few
 * runs after a warm-up. Twin: bench/torch_augment.py (same rows). Prints
 * `BENCH name=<row> ms=<median> img_per_s=<...>`; bench/run.sh prints the ratio. */
#include <stdio.h>
#include <string.h>

#include "bench_util.h"
#include "fastc/vision.h"

#define N_RUNS 7

static void report(const char *name, double *t, int64_t n) {
    qsort(t, N_RUNS, sizeof *t, cmp);
    double ms = t[N_RUNS / 2];
    printf("BENCH name=%s ms=%.2f img_per_s=%.0f\n", name, ms, (double)n / ms * 1e3);
    fflush(stdout);
}

static void bench_sample(int64_t n, int64_t hw) {
    char name[64];
    snprintf(name, sizeof name, "affine_sample_%lldx3x%lldx%lld", (long long)n, (long long)hw, (long long)hw);
    fc_tensor *x = fc_keep(fc_rand(FC_SHAPE(n, 3, hw, hw)));
    check(x != NULL);
    float *theta = malloc((size_t)n * 6 * sizeof *theta);
    fc_rng g = fc_rng_new(1);
    for (int64_t i = 0; i < n * 6; i++)
        theta[i] = (i % 6 == 0 || i % 6 == 4 ? 1.0f : 0.0f) + 0.2f * (fc_rng_uniform(&g) - 0.5f);
    double t[N_RUNS];
    for (int r = -1; r < N_RUNS; r++) {
        fc_scope *s = fc_scope_begin();
        double t0 = now_ms();
        check(fc_affine_sample(x, theta, hw, hw, FC_PAD_REFLECTION, 0) != NULL);
        if (r >= 0) t[r] = now_ms() - t0;
        fc_scope_end(s);
    }
    report(name, t, n);
    free(theta);
    fc_tensor_free(x);
}

/* lighting 0: geometry only (.max_lighting = -1), to see what the fused lighting costs */
static void bench_aug(int64_t n, int64_t hw, int lighting) {
    char name[64];
    snprintf(name, sizeof name, "aug_%s_%lldx3x%lldx%lld", lighting ? "transforms" : "geometry_only",
             (long long)n, (long long)hw, (long long)hw);
    fc_tensor *x = fc_keep(fc_rand(FC_SHAPE(n, 3, hw, hw)));
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(lighting ? fc_aug_transforms() : fc_aug_transforms(.max_lighting = -1)));
    check(p != NULL);
    double t[N_RUNS];
    for (int r = -1; r < N_RUNS; r++) {
        fc_value v = fc_value_tensor(fc_kind_image, fc_tensor_ref(x));
        fc_rng rng = fc_rng_new((uint64_t)r + 10);
        fc_tfm_ctx ctx = {.split = FC_SPLIT_TRAIN, .index = r + 1, .rng = &rng};
        double t0 = now_ms();
        check(fc_pipeline_encode(p, &v, &ctx) == FC_OK);
        if (r >= 0) t[r] = now_ms() - t0;
        fc_value_free(&v);
    }
    report(name, t, n);
    fc_pipeline_free(p);
    fc_tensor_free(x);
}

int main(void) {
    bench_sample(64, 32);
    bench_sample(64, 224);
    bench_aug(64, 32, 1);
    bench_aug(64, 224, 1);
    bench_aug(64, 224, 0);
    return 0;
}
