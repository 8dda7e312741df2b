/* 16-bit autocast on CUDA and deterministic backward kernels (h-cuda16): the backward GEMMs of
 * matmul / bmm / linear and the three cuDNN passes of conv2d / conv_transpose2d in the forward's
 * bf16 / f16 (NCHW and channels-last), compared with the CPU's result of the same rounded
 * computation; embedding and pooling backward compared with the CPU exactly (same summation
 * order). Host-side logic (the autocast type the kernels see, the conv plan key, the channels-last
 * switch) runs everywhere; the device tests print SKIPPED without a GPU (scripts/gpu-check.sh runs
 * them), and -DFCT_CUDA_DRYRUN runs them with both sides on the CPU to check their own logic. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autograd/autograd_impl.h"
#include "core/core_impl.h"
#include "fastc/cuda.h"
#include "fastc/nn.h"
#include "cuda_test.h"
#include "fct.h"
#include "ops/autocast_impl.h"
#include "ops/cuda/cuda_ops.h"

static const fc_dtype DTS[2] = {FC_DTYPE_BF16, FC_DTYPE_F16};

/* One unit in the last place of the 16-bit type, relative: 2^-7 for bf16 (8 significant bits),
 * 2^-10 for f16 (11). Both sides round their f32 sums to it at the end (the cuDNN output, the
 * autocast rounding of each leaf's gradient); the sums differ only in order (cuBLASLt / cuDNN
 * against OpenBLAS / oneDNN), which moves a value by a few f32 ulps and can flip its 16-bit
 * rounding by one step, never more. atol 1e-4 covers values that cancel to near 0, where the f32
 * order alone differs by ~K * 2^-24 * max|term| (K <= 72 terms of size <= 10 here). */
static double ulp16(fc_dtype dt) { return dt == FC_DTYPE_BF16 ? 1.0 / 128 : 1.0 / 1024; }

/* x rounded to dt (to nearest even) as f32, without history. */
static fc_tensor *round16(fc_tensor *x, fc_dtype dt) { return fc_to_dtype(fc_to_dtype(fc_detach(x), dt), FC_DTYPE_F32); }

/* ---- host side: what the kernels are told ---- */

FCT_TEST(test_autocast_compute_dtype_follows_forward_and_backward) {
    FCT_EQ_INT(fci_autocast_compute_dtype(), FC_DTYPE_F32);
    FCT_OK(fc_autocast_begin(FC_DTYPE_BF16));
    /* an open region is not enough: the ops round first, and only the rounded op's f32 kernel sees it */
    FCT_EQ_INT(fci_autocast_compute_dtype(), FC_DTYPE_F32);
    FCT_OK(fc_autocast_end());
    /* a backward runs in what its forward recorded, with or without a region */
    int prev = fci_autocast_backward_begin(FC_DTYPE_F16);
    FCT_EQ_INT(fci_autocast_compute_dtype(), FC_DTYPE_F16);
    FCT_OK(fc_autocast_begin(FC_DTYPE_BF16));
    int inner = fci_autocast_backward_begin(FC_DTYPE_F32); /* an op recorded outside autocast */
    FCT_EQ_INT(fci_autocast_compute_dtype(), FC_DTYPE_F32);
    fci_autocast_backward_end(inner);
    FCT_EQ_INT(fci_autocast_compute_dtype(), FC_DTYPE_F16);
    FCT_OK(fc_autocast_end());
    fci_autocast_backward_end(prev);
    FCT_EQ_INT(fci_autocast_compute_dtype(), FC_DTYPE_F32);
}

/* The node of each GEMM / conv op keeps the type its forward multiplied in (CPU tensors: the same
 * glue records it; only the CUDA kernels read it). */
FCT_TEST(test_autocast_ops_record_their_type_for_backward) {
    fc_tensor *a = fc_requires_grad(fc_randn(FC_SHAPE(4, 6))), *b = fc_requires_grad(fc_randn(FC_SHAPE(6, 3)));
    fc_tensor *x = fc_requires_grad(fc_randn(FC_SHAPE(1, 2, 5, 5))), *w = fc_requires_grad(fc_randn(FC_SHAPE(3, 2, 3, 3)));
    for (int i = 0; i < 2; i++) {
        FCT_OK(fc_autocast_begin(DTS[i]));
        fc_tensor *ys[3] = {fc_matmul(a, b), fc_linear(a, fc_transpose(b, 0, 1), NULL), fc_conv2d(x, w, NULL)};
        FCT_OK(fc_autocast_end());
        for (int k = 0; k < 3; k++) {
            FCT_TRUE(ys[k] && ys[k]->grad_fn);
            if (ys[k] && ys[k]->grad_fn) FCT_EQ_INT(ys[k]->grad_fn->ip[0], DTS[i]);
        }
    }
    fc_tensor *y = fc_matmul(a, b); /* outside a region: f32 */
    FCT_TRUE(y && y->grad_fn && y->grad_fn->ip[0] == FC_DTYPE_F32);
}

FCT_TEST(test_conv_key_has_dtype_and_layout) {
    fci_conv_desc d = {.n = 2, .c = 4, .h = 8, .w = 8, .o = 8, .kh = 3, .kw = 3, .oh = 6, .ow = 6,
                       .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1};
    fci_cuda_conv_key_t f32, bf16, f16, nhwc, k;
    fci_cuda_conv_key(0, &d, 0, FC_DTYPE_F32, 0, &f32);
    fci_cuda_conv_key(0, &d, 0, FC_DTYPE_BF16, 1, &bf16);
    fci_cuda_conv_key(0, &d, 0, FC_DTYPE_F16, 1, &f16);
    fci_cuda_conv_key(0, &d, 0, FC_DTYPE_BF16, 0, &nhwc);
    FCT_TRUE(memcmp(&f32, &bf16, sizeof k) != 0);
    FCT_TRUE(memcmp(&bf16, &f16, sizeof k) != 0);
    FCT_TRUE(memcmp(&bf16, &nhwc, sizeof k) != 0); /* the layout is another plan */
    FCT_EQ_INT(bf16.dtype, FC_DTYPE_BF16);
    FCT_EQ_INT(bf16.nhwc, 1);
    /* TF32 is about f32 data: a 16-bit plan is the same either way */
    fci_cuda_conv_key(0, &d, 1, FC_DTYPE_BF16, 1, &k);
    FCT_TRUE(!memcmp(&k, &bf16, sizeof k));
    fci_cuda_conv_key(0, &d, 1, FC_DTYPE_F32, 0, &k);
    FCT_TRUE(memcmp(&k, &f32, sizeof k) != 0);
}

FCT_TEST(test_conv_channels_last_switch) {
    /* the default: NHWC for the 16-bit convolutions (tensor cores), NCHW for f32 */
    FCT_EQ_INT(fc_cuda_conv_channels_last(FC_DTYPE_F32), 0);
    FCT_EQ_INT(fc_cuda_conv_channels_last(FC_DTYPE_BF16), 1);
    FCT_EQ_INT(fc_cuda_conv_channels_last(FC_DTYPE_F16), 1);
    FCT_OK(fc_cuda_set_conv_channels_last(1));
    FCT_EQ_INT(fc_cuda_conv_channels_last(FC_DTYPE_F32), 1);
    FCT_OK(fc_cuda_set_conv_channels_last(0));
    FCT_EQ_INT(fc_cuda_conv_channels_last(FC_DTYPE_BF16), 0);
    FCT_EQ_INT(fc_cuda_set_conv_channels_last(2), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "cuda_set_conv_channels_last: expected -1 (NHWC for bf16/f16 only, the default), 0 "
                          "(never) or 1 (always), found 2");
    FCT_EQ_INT(fc_cuda_conv_channels_last(FC_DTYPE_BF16), 0); /* a refused value changes nothing */
    FCT_OK(fc_cuda_set_conv_channels_last(-1));
    FCT_EQ_INT(fc_cuda_conv_channels_last(FC_DTYPE_F16), 1);
}

/* ---- on a device: 16-bit backward under autocast ---- */

typedef fc_tensor *(*op3)(fc_tensor **in);
static fc_tensor *f_matmul(fc_tensor **in) { return fc_matmul(in[0], in[1]); }
static fc_tensor *f_matmul_t(fc_tensor **in) { return fc_matmul(in[0], fc_transpose(in[1], -1, -2)); }
static fc_tensor *f_bmm(fc_tensor **in) { return fc_bmm(in[0], in[1]); }
static fc_tensor *f_linear(fc_tensor **in) { return fc_linear(in[0], in[1], in[2]); }
static fc_tensor *f_conv(fc_tensor **in) { return fc_conv2d(in[0], in[1], in[2], .stride = {2, 1}, .padding = {1, 1}, .groups = 2); }
static fc_tensor *f_convt(fc_tensor **in) {
    return fc_conv_transpose2d(in[0], in[1], in[2], .stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1});
}

typedef struct case16 {
    const char *name;
    op3 f;
    int n_in;
    fc_shape shapes[3];
    int n_16bit; /* GEMMs or conv passes in 16 bits: forward + the two input gradients */
} case16;

/* f on leaves copied from in (on dev), forward inside a region of dt that is closed before
 * backward_with(dy) unless keep_open; grads[i] get the leaves' gradients (on the CPU). */
static fc_tensor *run16(const case16 *c, fc_tensor **in, fc_device dev, fc_dtype dt, fc_tensor *dy, int keep_open,
                        fc_tensor **grads) {
    fc_tensor *leaf[3];
    for (int i = 0; i < c->n_in; i++) leaf[i] = fc_requires_grad(fc_tensor_to(fc_clone(in[i]), dev));
    FCT_OK(fc_autocast_begin(dt));
    fc_tensor *y = c->f(leaf);
    if (!keep_open) FCT_OK(fc_autocast_end());
    FCT_OK(fc_backward_with(y, fc_tensor_to(dy, dev)));
    if (keep_open) FCT_OK(fc_autocast_end());
    for (int i = 0; i < c->n_in; i++) grads[i] = host(fc_tensor_grad(leaf[i]));
    return host(y);
}

static void check16(const case16 *c, fc_dtype dt) {
    fc_tensor *in[3];
    for (int i = 0; i < c->n_in; i++) in[i] = fc_randn(c->shapes[i]);
    fc_tensor *want_y, *got_y, *want[3], *got[3], *got_open[3];
    fc_shape ys;
    {
        fc_tensor *leaf[3];
        for (int i = 0; i < c->n_in; i++) leaf[i] = fc_clone(in[i]);
        ys = fc_tensor_shape(c->f(leaf));
    }
    fc_tensor *dy = fc_randn(ys);
    /* the CPU's result of the same rounded computation (both devices round dy to dt first:
     * fci_autocast_backward), the bias gradient a sum of that rounded dy on both */
    want_y = run16(c, in, FC_CPU, dt, dy, 0, want);
    uint64_t g0 = fci_cuda_gemm_16bit_count() + fci_cuda_conv_16bit_count();
    got_y = run16(c, in, TEST_DEVICE, dt, dy, 0, got);
    uint64_t n16 = fci_cuda_gemm_16bit_count() + fci_cuda_conv_16bit_count() - g0;
    run16(c, in, TEST_DEVICE, dt, dy, 1, got_open); /* the region still open during backward: the same */
    double u = ulp16(dt);
    char msg[128];
    int is_conv = c->f == f_conv || c->f == f_convt;
    if (is_conv) { /* cuDNN writes y in 16 bits (as torch's autocast), then the f32 bias is added */
        fc_tensor *b = fc_reshape(in[2], FC_SHAPE(1, -1, 1, 1));
        snprintf(msg, sizeof msg, "%s %s forward", c->name, fc_dtype_name(dt));
        fct_close(fc_sub(got_y, b), round16(fc_sub(want_y, b), dt), 1e-4, u, msg, __FILE__, __LINE__);
    } else { /* f32 results of exact products: only the order of the f32 sums differs */
        snprintf(msg, sizeof msg, "%s %s forward", c->name, fc_dtype_name(dt));
        fct_close(got_y, want_y, 1e-4, 1e-4, msg, __FILE__, __LINE__);
    }
    for (int i = 0; i < c->n_in; i++) {
        fc_tensor *w = want[i];
        snprintf(msg, sizeof msg, "%s %s grad %d", c->name, fc_dtype_name(dt), i);
        fct_close(got[i], w, 1e-4, u, msg, __FILE__, __LINE__);
        snprintf(msg, sizeof msg, "%s %s grad %d (region open in backward)", c->name, fc_dtype_name(dt), i);
        fct_close(got_open[i], w, 1e-4, u, msg, __FILE__, __LINE__);
    }
#ifndef FCT_CUDA_DRYRUN
    /* the backward ran in 16 bits too (forward, d input 0, d input 1) */
    if (n16 != (uint64_t)c->n_16bit) printf("  %s %s: %llu 16-bit GEMMs / conv passes\n", c->name,
                                            fc_dtype_name(dt), (unsigned long long)n16);
    FCT_EQ_INT(n16, c->n_16bit);
#else
    (void)n16;
#endif
}

FCT_TEST(test_autocast_backward_gemms_match_the_rounded_cpu) {
    NEED_GPU();
    fc_cuda_set_allow_tf32(0);
    case16 cases[] = {
        {"matmul [3,40,24] @ [24,16]", f_matmul, 2, {FC_SHAPE(3, 40, 24), FC_SHAPE(24, 16)}, 3},
        {"matmul a @ b^T (a transposed operand)", f_matmul_t, 2, {FC_SHAPE(2, 12, 20), FC_SHAPE(2, 9, 20)}, 3},
        {"bmm", f_bmm, 2, {FC_SHAPE(4, 10, 24), FC_SHAPE(4, 24, 8)}, 3},
        {"linear with bias", f_linear, 3, {FC_SHAPE(6, 5, 24), FC_SHAPE(16, 24), FC_SHAPE(16)}, 3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        for (int i = 0; i < 2; i++) check16(&cases[k], DTS[i]);
}

FCT_TEST(test_autocast_convolutions_match_the_rounded_cpu) {
    NEED_GPU();
    fc_cuda_set_allow_tf32(0);
    case16 cases[] = {
        {"conv2d stride 2x1 groups 2", f_conv, 3, {FC_SHAPE(2, 4, 7, 9), FC_SHAPE(6, 2, 3, 3), FC_SHAPE(6)}, 3},
        {"conv_transpose2d stride 2", f_convt, 3, {FC_SHAPE(2, 4, 5, 5), FC_SHAPE(4, 3, 3, 3), FC_SHAPE(3)}, 3},
    };
    int modes[2] = {-1, 0}; /* NHWC (the 16-bit default), then NCHW */
    for (int m = 0; m < 2; m++) {
        FCT_OK(fc_cuda_set_conv_channels_last(modes[m]));
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
            for (int i = 0; i < 2; i++) check16(&cases[k], DTS[i]);
    }
    FCT_OK(fc_cuda_set_conv_channels_last(-1));
}

/* f32 convolutions in channels-last (the staged path without rounding): the CPU's result. */
FCT_TEST(test_f32_channels_last_convolutions_match_the_cpu) {
    NEED_GPU();
    fc_cuda_set_allow_tf32(0);
    FCT_OK(fc_cuda_set_conv_channels_last(1));
    fc_tensor *in[3] = {fc_randn(FC_SHAPE(2, 4, 7, 9)), fc_randn(FC_SHAPE(6, 2, 3, 3)), fc_randn(FC_SHAPE(6))};
    fc_tensor *c[3], *g[3];
    for (int i = 0; i < 3; i++) c[i] = fc_requires_grad(fc_clone(in[i])), g[i] = dev(c[i]);
    fc_tensor *yc = f_conv(c), *yg = f_conv(g), *dy = fc_randn(fc_tensor_shape(yc));
    FCT_CLOSE(host(yg), yc, 1e-4, 1e-4);
    FCT_OK(fc_backward_with(yc, dy));
    FCT_OK(fc_backward_with(yg, dev(dy)));
    for (int i = 0; i < 3; i++) FCT_CLOSE(host(fc_tensor_grad(g[i])), fc_tensor_grad(c[i]), 1e-4, 1e-4);
    FCT_OK(fc_cuda_set_conv_channels_last(-1));
}

/* ---- on a device: deterministic embedding and pooling backward ---- */

/* The gradient of w through embedding(w, idx) for dy, on dev (returned on the CPU). */
static fc_tensor *embedding_grad(fc_tensor *w, fc_tensor *idx, fc_tensor *dy, int64_t pad, fc_device dev) {
    fc_tensor *wl = fc_requires_grad(fc_tensor_to(fc_clone(w), dev));
    FCT_OK(fc_backward_with(fc_embedding(wl, fc_tensor_to(idx, dev), pad), fc_tensor_to(dy, dev)));
    return host(fc_tensor_grad(wl));
}

FCT_TEST(test_embedding_backward_is_the_cpus_sum_bit_for_bit) {
    NEED_GPU();
    struct {
        int64_t V, D, n_rows;
        fc_shape idx;
        int64_t pad;
    } cases[] = {
        {50, 33, 10, FC_SHAPE(40, 25), 3},     /* 1000 indices into 10 rows: long runs of repeats */
        {1000, 64, 1000, FC_SHAPE(64, 70), -1}, /* few repeats, no padding row */
        {7, 5, 7, FC_SHAPE(1), 0},               /* one index */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        fc_tensor *w = fc_randn(FC_SHAPE(cases[k].V, cases[k].D));
        fc_tensor *idx = fc_randint(0, cases[k].n_rows, cases[k].idx);
        fc_shape ys = cases[k].idx;
        ys.d[ys.ndim++] = cases[k].D;
        fc_tensor *dy = fc_randn(ys);
        fc_tensor *want = embedding_grad(w, idx, dy, cases[k].pad, FC_CPU);
        fc_tensor *got = embedding_grad(w, idx, dy, cases[k].pad, TEST_DEVICE);
        FCT_CLOSE(got, want, 0, 0); /* the same additions in the same order */
        FCT_CLOSE(embedding_grad(w, idx, dy, cases[k].pad, TEST_DEVICE), got, 0, 0); /* and on every run */
    }
}

typedef struct pool_case {
    const char *name;
    int kind; /* 0 max, 1 avg, 2 adaptive max, 3 adaptive avg */
    int kh, kw;
    fc_pool2d_opts o;
} pool_case;

static fc_tensor *pool_grad(const pool_case *p, fc_tensor *x, fc_tensor *dy_or_null, fc_device dev, fc_tensor **dy) {
    fc_tensor *xl = fc_requires_grad(fc_tensor_to(fc_clone(x), dev));
    fc_tensor *y = p->kind == 0   ? fc_max_pool2d_(xl, p->kh, p->kw, &p->o)
                   : p->kind == 1 ? fc_avg_pool2d_(xl, p->kh, p->kw, &p->o)
                   : p->kind == 2 ? fc_adaptive_max_pool2d(xl, p->kh, p->kw)
                                  : fc_adaptive_avg_pool2d(xl, p->kh, p->kw);
    if (!dy_or_null) *dy = dy_or_null = fc_randn(fc_tensor_shape(y));
    FCT_OK(fc_backward_with(y, fc_tensor_to(dy_or_null, dev)));
    return host(fc_tensor_grad(xl));
}

FCT_TEST(test_pool_backward_with_overlapping_windows_is_the_cpus_sum) {
    NEED_GPU();
    pool_case cases[] = {
        {"max 3x3 stride 1 pad 1", 0, 3, 3, {.stride = {1, 1}, .padding = {1, 1}}},
        {"max 3x3 stride 2 dilation 2 ceil", 0, 3, 3, {.stride = {2, 2}, .padding = {1, 1}, .dilation = {2, 2}, .ceil_mode = 1}},
        {"max 2x4 stride 1x2", 0, 2, 4, {.stride = {1, 2}}},
        {"adaptive max 9x9 -> 4x5", 2, 4, 5, {0}},
        {"avg 3x3 stride 1 pad 1", 1, 3, 3, {.stride = {1, 1}, .padding = {1, 1}}},
        {"avg 3x2 stride 2x1 no pad count", 1, 3, 2, {.stride = {2, 1}, .padding = {1, 1}, .no_count_include_pad = 1}},
        {"adaptive avg 9x9 -> 4x5", 3, 4, 5, {0}},
    };
    /* small integers: many ties, so several windows pick the same input (the first maximum) */
    fc_tensor *x = fc_to_dtype(fc_randint(-3, 4, FC_SHAPE(2, 3, 9, 9)), FC_DTYPE_F32);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        fc_tensor *dy = NULL;
        fc_tensor *want = pool_grad(&cases[k], x, NULL, FC_CPU, &dy);
        fc_tensor *got = pool_grad(&cases[k], x, dy, TEST_DEVICE, &dy);
        /* max: the same additions in the same order, exact; avg: the CPU build may fuse its
         * v = dy * (1 / count) into the sum (-march=native FMA), the device never does */
        double rtol = cases[k].kind == 0 || cases[k].kind == 2 ? 0 : 1e-6;
        fct_close(got, want, 0, rtol, cases[k].name, __FILE__, __LINE__);
        fct_close(pool_grad(&cases[k], x, dy, TEST_DEVICE, &dy), got, 0, 0, cases[k].name, __FILE__, __LINE__);
    }
}

FCT_TEST(test_zz_16bit_report_skips) {
    if (n_skipped)
        printf("  [cuda 16-bit] %d device test(s) SKIPPED: no CUDA device on this machine; these are NOT passes\n",
               n_skipped);
}
