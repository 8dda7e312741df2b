/* ResNet-style 3x3 stride-1 pad-1 convolutions, batch 128, 2 threads: forward + backward (data and
 * weights), median of a few runs after a warm-up. Compare with bench/torch_conv.py (same rows,
 * same FLOP count: 3 passes x 2*N*C*K*H*W*9). Prints `BENCH name=<row> ms=<median> gflops=<...>`. */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "fastc/ops.h"

enum { N_RUNS = 5 };

static int bench_row(const char *name, int64_t n, int64_t c, int64_t hw) {
    fc_tensor *x = fc_requires_grad(fc_randn(FC_SHAPE(n, c, hw, hw)));
    fc_tensor *w = fc_requires_grad(fc_mul_scalar(fc_randn(FC_SHAPE(c, c, 3, 3)), 0.05));
    fc_tensor *dy = fc_randn(FC_SHAPE(n, c, hw, hw));
    double t[N_RUNS + 1];
    for (int r = 0; r <= N_RUNS; r++) { /* run 0 warms up (primitive creation, allocator) */
        double t0 = now_ms();
        fc_scope *s = fc_scope_begin();
        fc_status st = fc_backward_with(fc_conv2d(x, w, NULL, .padding = {1, 1}), dy);
        fc_scope_end(s);
        t[r] = now_ms() - t0;
        if (st != FC_OK) return fc_report(st);
    }
    qsort(t + 1, N_RUNS, sizeof(double), cmp);
    double ms = t[1 + N_RUNS / 2], flops = 3.0 * 2 * n * c * c * hw * hw * 9;
    printf("BENCH name=%s ms=%.1f gflops=%.1f\n", name, ms, flops / ms * 1e-6);
    fflush(stdout);
    fc_tensor_free(x);
    fc_tensor_free(w);
    fc_tensor_free(dy);
    return 0;
}

/* oneDNN 2.6 implements bf16 convolution only with AVX-512 (avx512_core / _bf16) or AMX; ask it. */
static void report_bf16(void) {
    dnnl_engine_t eng;
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success) return;
    dnnl_memory_desc_t x, w, y;
    dnnl_dims_t xd = {128, 64, 32, 32}, wd = {64, 64, 3, 3}, s = {1, 1}, p = {1, 1};
    dnnl_memory_desc_init_by_tag(&x, 4, xd, dnnl_bf16, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_bf16, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&y, 4, xd, dnnl_bf16, dnnl_format_tag_any);
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training,
        dnnl_convolution_auto, &x, &w, NULL, &y, s, p, p);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL);
    if (st == dnnl_success) {
        const char *impl = "?";
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        printf("# bf16 convolution: oneDNN has an implementation here (%s); no fastc bf16 path yet\n",
               impl);
        dnnl_primitive_desc_destroy(pd);
    } else {
        printf("# bf16 convolution: unsupported by oneDNN %d.%d on this CPU (primitive descriptor "
               "status %d)\n", dnnl_version()->major, dnnl_version()->minor, (int)st);
    }
    dnnl_engine_destroy(eng);
}

int main(void) {
    fc_set_num_threads(2);
    fc_manual_seed(0);
    if (bench_row("conv3x3_c64_32x32", 128, 64, 32) || bench_row("conv3x3_c128_16x16", 128, 128, 16) ||
        bench_row("conv3x3_c256_16x16", 128, 256, 16))
        return 1;
    report_bf16();
    return 0;
}
