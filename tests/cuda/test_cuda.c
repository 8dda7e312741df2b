/* The CUDA backend (built only with FASTC_CUDA). Without a device: the "no device" errors, and
 * every parity test prints SKIPPED with the reason (loudly: a skip is not a pass). With a device:
 * each op on CUDA against the PyTorch fixtures of tests/ops and against the CPU, dropout masks
 * bit for bit, optimizer steps, the allocator's steady state and its out-of-memory message, and a
 * few training steps of a small network. scripts/gpu-check.sh runs this under compute-sanitizer. */
#include <stdlib.h>

#include "fastc/cuda.h"
#include "fastc/nn.h"
#include "fastc/optim.h"
#include "cuda_test.h"
#include "fct.h"

static fc_tensor *grad_host(fc_tensor *t) { return host(fc_tensor_grad(t)); }

/* ---- without a device ---- */

FCT_TEST(test_cuda_build_reports_its_device_state) {
    FCT_TRUE(fc_cuda_is_built());
    int n = fc_cuda_device_count();
    printf("  [cuda] built with CUDA; %d device(s)%s\n", n,
           n ? "" : ": the parity tests below are SKIPPED (run scripts/gpu-check.sh on a GPU)");
    FCT_EQ_INT(fc_error_code(), FC_OK);
}

FCT_TEST(test_no_device_fails_cleanly) {
    if (fc_cuda_is_available()) return;
    fc_tensor *x = fc_ones(FC_SHAPE(3));
    FCT_NULL(fc_tensor_to(x, FC_CUDA));
    FCT_ERROR(FC_ERR_DEVICE, "tensor_to: CUDA requested but no CUDA device was found (cudaGetDeviceCount: ");
    fc_module *m = fc_linear_new(4, 2);
    FCT_EQ_INT(fc_module_to(m, FC_CUDA), FC_ERR_DEVICE);
    FCT_ERROR(FC_ERR_DEVICE, "no CUDA device was found");
    FCT_EQ_INT(fc_tensor_device(fc_module_parameter(m, 0, NULL)).type, FC_DEVICE_CPU);
    fc_module_free(m);
    FCT_EQ_INT(fc_cuda_synchronize(FC_CUDA), FC_ERR_DEVICE);
    FCT_ERROR(FC_ERR_DEVICE, "no CUDA device was found");
    fc_cuda_empty_cache(); /* nothing cached, nothing to do, no error */
    FCT_EQ_INT(fc_cuda_memory_stats_get().bytes_in_use, 0);
}

FCT_TEST(test_bad_device_index_is_named) {
    NEED_GPU();
    fc_device d = {FC_DEVICE_CUDA, 99};
    FCT_NULL(fc_zeros(FC_SHAPE(2), .device = d));
    FCT_ERROR(FC_ERR_DEVICE, "found cuda:99");
}

/* ---- copies and the allocator ---- */

FCT_TEST(test_round_trip_every_dtype_and_layout) {
    NEED_GPU();
    fc_tensor *x = fc_arange(-6, 6, 1);
    fc_tensor *xt = fc_transpose(fc_reshape(x, FC_SHAPE(3, 4)), 0, 1);
    for (int dt = 0; dt < FC_DTYPE_COUNT; dt++) {
        fc_tensor *c = fc_to_dtype(x, (fc_dtype)dt);
        FCT_CLOSE(host(dev(c)), c, 0, 0);
        /* a conversion on the device rounds as the host does */
        FCT_CLOSE(host(fc_to_dtype(dev(x), (fc_dtype)dt)), c, 0, 0);
    }
    fc_tensor *d = dev(xt); /* strided host source */
    FCT_CLOSE(host(d), xt, 0, 0);
    fc_tensor *dt = fc_transpose(fc_reshape(dev(x), FC_SHAPE(3, 4)), 0, 1); /* strided device source */
    FCT_CLOSE(host(fc_contiguous(dt)), xt, 0, 0);
    FCT_NEAR(fc_tensor_get(dt, 5), fc_tensor_get(xt, 5), 0);
    FCT_CLOSE(host(fc_full(FC_SHAPE(5), 2.5, .device = FC_CUDA)), fc_full(FC_SHAPE(5), 2.5), 0, 0);
    fc_manual_seed(7);
    fc_tensor *r1 = fc_randn(FC_SHAPE(64), .device = FC_CUDA);
    fc_manual_seed(7);
    FCT_CLOSE(host(r1), fc_randn(FC_SHAPE(64)), 0, 0);
}

FCT_TEST(test_allocator_reuses_blocks_in_steady_state) {
    NEED_GPU();
    for (int step = 0; step < 2; step++) {
        fc_scope *s = fc_scope_begin();
        fc_tensor *a = fc_randn(FC_SHAPE(256, 128), .device = FC_CUDA);
        fc_tensor *b = fc_relu(fc_add(a, a));
        FCT_NOTNULL(fc_sum(b, FC_ALL_DIMS, 0));
        fc_scope_end(s);
        if (step == 0) continue;
    }
    fc_cuda_memory_stats before = fc_cuda_memory_stats_get();
    fc_scope *s = fc_scope_begin();
    fc_tensor *a = fc_randn(FC_SHAPE(256, 128), .device = FC_CUDA);
    FCT_NOTNULL(fc_sum(fc_relu(fc_add(a, a)), FC_ALL_DIMS, 0));
    fc_scope_end(s);
    fc_cuda_memory_stats after = fc_cuda_memory_stats_get();
    FCT_EQ_INT(after.n_device_allocs, before.n_device_allocs);
    FCT_TRUE(after.n_cache_hits > before.n_cache_hits);
    FCT_EQ_INT(after.bytes_in_use, before.bytes_in_use);
    fc_cuda_empty_cache();
    FCT_EQ_INT(fc_cuda_memory_stats_get().bytes_cached, 0);
}

FCT_TEST(test_out_of_memory_names_size_and_use) {
    NEED_GPU();
    fc_tensor *keep = fc_zeros(FC_SHAPE(1024), .device = FC_CUDA);
    FCT_NULL(fc_empty(FC_SHAPE((int64_t)1 << 48), .device = FC_CUDA)); /* 1 PiB of f32 */
    FCT_ERROR(FC_ERR_NOMEM, "tensor [281474976710656] f32: cuda: out of memory on cuda:0: could not allocate");
    fc_empty(FC_SHAPE((int64_t)1 << 48), .device = FC_CUDA);
    FCT_TRUE(strstr(fc_error_message(), "in use by live tensors") != NULL);
    FCT_TRUE(strstr(fc_error_message(), "cached") != NULL);
    fc_error_clear();
    fc_tensor_free(keep);
}

/* ---- ops against the PyTorch fixtures and the CPU ---- */

typedef fc_tensor *(*unary_fn)(fc_tensor *x, const double *p);
static fc_tensor *u_relu(fc_tensor *x, const double *p) { (void)p; return fc_relu(x); }
static fc_tensor *u_gelu(fc_tensor *x, const double *p) { (void)p; return fc_gelu(x); }
static fc_tensor *u_gelu_tanh(fc_tensor *x, const double *p) { (void)p; return fc_gelu_tanh(x); }
static fc_tensor *u_silu(fc_tensor *x, const double *p) { (void)p; return fc_silu(x); }
static fc_tensor *u_sigmoid(fc_tensor *x, const double *p) { (void)p; return fc_sigmoid(x); }
static fc_tensor *u_tanh(fc_tensor *x, const double *p) { (void)p; return fc_tanh(x); }
static fc_tensor *u_hardswish(fc_tensor *x, const double *p) { (void)p; return fc_hardswish(x); }
static fc_tensor *u_exp(fc_tensor *x, const double *p) { (void)p; return fc_exp(x); }
static fc_tensor *u_abs(fc_tensor *x, const double *p) { (void)p; return fc_abs(x); }
static fc_tensor *u_leaky(fc_tensor *x, const double *p) { return fc_leaky_relu(x, p[0]); }
static fc_tensor *u_softplus(fc_tensor *x, const double *p) { return fc_softplus(x, p[0], p[1]); }
static fc_tensor *u_pow(fc_tensor *x, const double *p) { return fc_pow_scalar(x, p[0]); }
static fc_tensor *u_clamp(fc_tensor *x, const double *p) { return fc_clamp(x, p[0], p[1]); }

/* fixture x, y, dy, dx (and the transposed x2 case) through fn on the device */
static void unary_on_cuda(const char *fixture, unary_fn fn, double p0, double p1) {
    char path[64];
    snprintf(path, sizeof path, "ops/%s", fixture);
    fct_fixture fx = fct_load(path);
    double p[2] = {p0, p1};
    fc_tensor *x = fct_get(&fx, "x"), *x2 = fct_get(&fx, "x2");
    if (!x || !x2) return fct_fixture_free(&fx);
    fc_tensor *dx = dev(fc_requires_grad(x)), *dx2 = dev(fc_requires_grad(x2));
    fc_tensor *y = fn(dx, p);
    if (!fct_check(y != NULL, __FILE__, __LINE__, "%s on cuda: %s", fixture, fc_error_message())) {
        fc_error_clear();
        return fct_fixture_free(&fx);
    }
    FCT_CLOSE(host(y), fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, dev(fct_get(&fx, "dy"))));
    FCT_CLOSE(grad_host(dx), fct_get(&fx, "dx"), 1e-6, 1e-5);
    fc_tensor *y2 = fn(fc_transpose(dx2, 0, 1), p);
    FCT_CLOSE(host(y2), fct_get(&fx, "y2"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y2, dev(fct_get(&fx, "dy2"))));
    FCT_CLOSE(grad_host(dx2), fct_get(&fx, "dx2"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_pointwise_match_pytorch_on_cuda) {
    NEED_GPU();
    unary_on_cuda("relu", u_relu, 0, 0);
    unary_on_cuda("gelu", u_gelu, 0, 0);
    unary_on_cuda("gelu_tanh", u_gelu_tanh, 0, 0);
    unary_on_cuda("silu", u_silu, 0, 0);
    unary_on_cuda("sigmoid", u_sigmoid, 0, 0);
    unary_on_cuda("tanh", u_tanh, 0, 0);
    unary_on_cuda("hardswish", u_hardswish, 0, 0);
    unary_on_cuda("exp", u_exp, 0, 0);
    unary_on_cuda("abs", u_abs, 0, 0);
    unary_on_cuda("leaky_relu", u_leaky, 0.2, 0);
    unary_on_cuda("softplus", u_softplus, 1, 20);
    unary_on_cuda("softplus_b2_t5", u_softplus, 2, 5);
    unary_on_cuda("pow_scalar_2", u_pow, 2, 0);
    unary_on_cuda("pow_scalar_3", u_pow, 3, 0);
    unary_on_cuda("clamp", u_clamp, -0.5, 0.7);
}

typedef fc_tensor *(*binop)(fc_tensor *, fc_tensor *);
static void binary_on_cuda(const char *fixture, binop f) {
    fct_fixture fx = fct_load(fixture);
    fc_tensor *a = fct_get(&fx, "a"), *b = fct_get(&fx, "b");
    if (!a || !b) return fct_fixture_free(&fx);
    fc_tensor *da = dev(fc_requires_grad(a)), *db = dev(fc_requires_grad(b));
    fc_tensor *y = f(da, db);
    FCT_CLOSE(host(y), fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, dev(fct_get(&fx, "dy"))));
    FCT_CLOSE(grad_host(da), fct_get(&fx, "da"), 1e-6, 1e-5);
    FCT_CLOSE(grad_host(db), fct_get(&fx, "db"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_broadcasting_arithmetic_matches_pytorch_on_cuda) {
    NEED_GPU();
    binary_on_cuda("ops/add_bcast", fc_add);
    binary_on_cuda("ops/sub_bcast", fc_sub);
    binary_on_cuda("ops/mul_bcast", fc_mul);
    binary_on_cuda("ops/div_bcast", fc_div);
    fc_tensor *x = fc_randn(FC_SHAPE(3, 4));
    FCT_CLOSE(host(fc_mul_scalar(fc_add_scalar(dev(x), 1.5), -2)), fc_mul_scalar(fc_add_scalar(x, 1.5), -2),
              1e-6, 1e-6);
}

FCT_TEST(test_reductions_match_pytorch_on_cuda) {
    NEED_GPU();
    fct_fixture fx = fct_load("ops/sum_dims");
    fc_tensor *x = fct_get(&fx, "x");
    if (x) {
        fc_tensor *d = dev(fc_requires_grad(x));
        fc_tensor *y = fc_mul_scalar(fc_sum(d, FC_DIMS(0, 2), 1), 2);
        FCT_CLOSE(host(y), fct_get(&fx, "y"), 1e-5, 1e-5);
        FCT_OK(fc_backward_with(y, dev(fct_get(&fx, "dy"))));
        FCT_CLOSE(grad_host(d), fct_get(&fx, "dx"), 1e-6, 1e-6);
    }
    fct_fixture_free(&fx);
    fx = fct_load("ops/max_mid");
    x = fct_get(&fx, "x0");
    if (x) FCT_CLOSE(host(fc_argmax(dev(x), 1, 1)), fct_get(&fx, "idx"), 0, 0);
    fct_fixture_free(&fx);
    /* against the CPU: rows (inner 1), columns (inner > 1), everything, logsumexp, max + grad */
    fc_tensor *r = fc_randn(FC_SHAPE(7, 300, 5));
    fc_tensor *rd = dev(r);
    FCT_CLOSE(host(fc_sum(rd, FC_DIMS(-1), 0)), fc_sum(r, FC_DIMS(-1), 0), 1e-5, 1e-5);
    FCT_CLOSE(host(fc_sum(rd, FC_DIMS(1), 0)), fc_sum(r, FC_DIMS(1), 0), 1e-4, 1e-5);
    FCT_CLOSE(host(fc_mean(rd, FC_ALL_DIMS, 0)), fc_mean(r, FC_ALL_DIMS, 0), 1e-6, 1e-5);
    FCT_CLOSE(host(fc_logsumexp(rd, FC_DIMS(1), 0)), fc_logsumexp(r, FC_DIMS(1), 0), 1e-5, 1e-5);
    FCT_CLOSE(host(fc_logsumexp(rd, FC_DIMS(-1), 0)), fc_logsumexp(r, FC_DIMS(-1), 0), 1e-5, 1e-5); /* rows */
    FCT_CLOSE(host(fc_max(rd, 2, 0)), fc_max(r, 2, 0), 0, 0);
    FCT_CLOSE(host(fc_argmin(rd, 1, 0)), fc_argmin(r, 1, 0), 0, 0);
    /* max along an axis, backward: the gradient goes to the element picked (a scatter) */
    fc_tensor *rc = fc_requires_grad(fc_clone(r)), *rg = dev(rc);
    fc_tensor *mc = fc_max(rc, 1, 0), *mg = fc_max(rg, 1, 0);
    fc_tensor *dm = fc_randn(fc_tensor_shape(mc));
    FCT_OK(fc_backward_with(mc, dm));
    FCT_OK(fc_backward_with(mg, dev(dm)));
    FCT_CLOSE(grad_host(rg), fc_tensor_grad(rc), 0, 0);
}

static void softmax_on_cuda(const char *name, fc_tensor *(*f)(fc_tensor *, int), int dim, int transposed) {
    char path[64];
    snprintf(path, sizeof path, "ops/%s", name);
    fct_fixture fx = fct_load(path);
    fc_tensor *x = fct_get(&fx, "x0");
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *d = dev(fc_requires_grad(x));
    fc_tensor *y = f(transposed ? fc_transpose(d, 0, 1) : d, dim);
    FCT_CLOSE(host(y), fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, dev(fct_get(&fx, "dy"))));
    FCT_CLOSE(grad_host(d), fct_get(&fx, "dx0"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_softmax_matches_pytorch_on_cuda) {
    NEED_GPU();
    softmax_on_cuda("softmax_last", fc_softmax, -1, 0);
    softmax_on_cuda("softmax_mid", fc_softmax, 1, 0);
    softmax_on_cuda("softmax_t", fc_softmax, 1, 1);
    softmax_on_cuda("log_softmax_last", fc_log_softmax, -1, 0);
    softmax_on_cuda("log_softmax_mid", fc_log_softmax, 1, 0);
    softmax_on_cuda("log_softmax_t", fc_log_softmax, 1, 1);
}

static void ce_on_cuda(const char *name, fc_reduction red, int64_t ignore, double smoothing, int transposed) {
    char path[64];
    snprintf(path, sizeof path, "ops/%s", name);
    fct_fixture fx = fct_load(path);
    fc_tensor *x = fct_get(&fx, "x0"), *t = fct_get(&fx, "t");
    if (!x || !t) return fct_fixture_free(&fx);
    fc_tensor *w = NULL;
    for (int i = 0; i < fx.n; i++)
        if (!strcmp(fx.names[i], "w")) w = dev(fx.t[i]);
    fc_tensor *d = dev(fc_requires_grad(x));
    fc_tensor *y = fc_cross_entropy(transposed ? fc_transpose(d, 0, 1) : d, dev(t), .reduction = red, .weight = w,
                                    .ignore_index = ignore, .has_ignore_index = ignore >= 0,
                                    .label_smoothing = smoothing);
    if (FCT_NOTNULL(y)) {
        FCT_CLOSE(host(y), fct_get(&fx, "y"), 1e-6, 1e-5);
        FCT_OK(fc_backward_with(y, dev(fct_get(&fx, "dy"))));
        FCT_CLOSE(grad_host(d), fct_get(&fx, "dx0"), 1e-6, 1e-5);
    }
    fct_fixture_free(&fx);
}

FCT_TEST(test_cross_entropy_matches_pytorch_on_cuda) {
    NEED_GPU();
    const char *plain[3] = {"ce_mean", "ce_sum", "ce_none"};
    const char *full[3] = {"ce_full_mean", "ce_full_sum", "ce_full_none"};
    for (int r = 0; r < 3; r++) {
        ce_on_cuda(plain[r], (fc_reduction)r, -1, 0, 0);
        ce_on_cuda(full[r], (fc_reduction)r, 2, 0.1, 0);
    }
    ce_on_cuda("ce_smooth", FC_REDUCTION_MEAN, -1, 0.2, 0);
    ce_on_cuda("ce_weight", FC_REDUCTION_MEAN, -1, 0, 0);
    ce_on_cuda("ce_t", FC_REDUCTION_MEAN, 2, 0, 1);
    ce_on_cuda("ce_nd", FC_REDUCTION_MEAN, 1, 0.15, 0);
    ce_on_cuda("ce_nd_none", FC_REDUCTION_NONE, -1, 0, 0);
    /* a bad class fails clearly on the device too */
    fc_tensor *x = dev(fc_zeros(FC_SHAPE(2, 3)));
    fc_tensor *t = dev(fc_from_data(((int64_t[]){0, 7}), FC_SHAPE(2), .dtype = FC_DTYPE_I64));
    FCT_NULL(fc_cross_entropy(x, t));
    FCT_ERROR(FC_ERR_ARG, "target at position 1 is 7");
}

/* the view gen_linalg.py's torch code took of a stored operand: "t" transposes the last two dims */
static fc_tensor *viewed(fc_tensor *t, int transposed) { return transposed ? fc_transpose(t, -1, -2) : t; }

static void matmul_fixture(const char *name, int linear, int ta, int tb) {
    fct_fixture fx = fct_load(name);
    if (linear) {
        fc_tensor *x = fct_get(&fx, "x"), *w = fct_get(&fx, "w"), *b = fct_get(&fx, "b");
        if (!x || !w || !b) return fct_fixture_free(&fx);
        fc_tensor *dx = dev(fc_requires_grad(x)), *dw = dev(fc_requires_grad(w)), *db = dev(fc_requires_grad(b));
        fc_tensor *y = fc_linear(dx, dw, db);
        FCT_CLOSE(host(y), fct_get(&fx, "y"), 1e-5, 1e-5);
        FCT_OK(fc_backward_with(y, dev(fct_get(&fx, "dy"))));
        FCT_CLOSE(grad_host(dx), fct_get(&fx, "dx"), 1e-5, 1e-5);
        FCT_CLOSE(grad_host(dw), fct_get(&fx, "dw"), 1e-5, 1e-5);
        FCT_CLOSE(grad_host(db), fct_get(&fx, "db"), 1e-5, 1e-5);
    } else {
        fc_tensor *a = fct_get(&fx, "a"), *b = fct_get(&fx, "b");
        if (!a || !b) return fct_fixture_free(&fx);
        fc_tensor *da = dev(fc_requires_grad(a)), *db = dev(fc_requires_grad(b));
        fc_tensor *y = fc_matmul(viewed(da, ta), viewed(db, tb));
        FCT_CLOSE(host(y), fct_get(&fx, "y"), 1e-5, 1e-5);
        FCT_OK(fc_backward_with(y, dev(fct_get(&fx, "dy"))));
        FCT_CLOSE(grad_host(da), fct_get(&fx, "da"), 1e-5, 1e-5);
        FCT_CLOSE(grad_host(db), fct_get(&fx, "db"), 1e-5, 1e-5);
    }
    fct_fixture_free(&fx);
}

FCT_TEST(test_matmul_and_linear_match_pytorch_on_cuda) {
    NEED_GPU();
    fc_cuda_set_allow_tf32(0);
    matmul_fixture("ops/linear_bias", 1, 0, 0);
    /* keep in sync with MATMUL in gen_linalg.py (name, a transposed, b transposed) */
    static const struct { const char *name; int ta, tb; } mm[] = {
        {"ops/matmul_mm", 0, 0},      {"ops/matmul_mm_tt", 1, 1},   {"ops/matmul_bcast", 0, 0},
        {"ops/matmul_batch_2d", 0, 0}, {"ops/matmul_2d_batch", 0, 0}, {"ops/matmul_bcast_t", 1, 1},
        {"ops/matmul_batch_t_2d", 1, 0}, {"ops/matmul_mv", 0, 0},    {"ops/matmul_vm", 0, 0},
        {"ops/matmul_dot", 0, 0},     {"ops/matmul_v_batch", 0, 0}, {"ops/matmul_batch_v", 0, 0}};
    for (size_t i = 0; i < sizeof mm / sizeof *mm; i++) matmul_fixture(mm[i].name, 0, mm[i].ta, mm[i].tb);
    /* a larger GEMM against OpenBLAS; TF32 within its 10-bit mantissa */
    fc_tensor *a = fc_randn(FC_SHAPE(96, 200)), *b = fc_randn(FC_SHAPE(200, 72));
    fc_tensor *want = fc_matmul(a, b);
    FCT_CLOSE(host(fc_matmul(dev(a), dev(b))), want, 1e-4, 1e-4);
    FCT_CLOSE(host(fc_bmm(dev(fc_reshape(a, FC_SHAPE(4, 24, 200))), dev(fc_expand(fc_reshape(b, FC_SHAPE(1, 200, 72)), FC_SHAPE(4, 200, 72))))),
              fc_bmm(fc_reshape(a, FC_SHAPE(4, 24, 200)), fc_expand(fc_reshape(b, FC_SHAPE(1, 200, 72)), FC_SHAPE(4, 200, 72))),
              1e-4, 1e-4);
    fc_cuda_set_allow_tf32(1);
    FCT_CLOSE(host(fc_matmul(dev(a), dev(b))), want, 0.1, 1e-2);
    fc_cuda_set_allow_tf32(0);
}

static void conv_on_cuda(const char *name, int transposed, const fc_conv2d_opts *o) {
    fct_fixture f = fct_load(name);
    fc_tensor *x = fct_get(&f, "x"), *w = fct_get(&f, "w"), *b = NULL;
    if (!x || !w) return fct_fixture_free(&f);
    for (int i = 0; i < f.n; i++)
        if (!strcmp(f.names[i], "b")) b = dev(fc_requires_grad(f.t[i]));
    fc_tensor *dx = dev(fc_requires_grad(x)), *dw = dev(fc_requires_grad(w));
    fc_tensor *y = transposed ? fc_conv_transpose2d_(dx, dw, b, o) : fc_conv2d_(dx, dw, b, o);
    if (!FCT_NOTNULL(y)) return fct_fixture_free(&f);
    FCT_CLOSE(host(y), fct_get(&f, "y"), 1e-4, 1e-4);
    FCT_OK(fc_backward_with(y, dev(fct_get(&f, "dy"))));
    FCT_CLOSE(grad_host(dx), fct_get(&f, "dx"), 1e-4, 1e-4);
    FCT_CLOSE(grad_host(dw), fct_get(&f, "dw"), 1e-4, 1e-4);
    if (b) FCT_CLOSE(grad_host(b), fct_get(&f, "db"), 1e-4, 1e-4);
    fct_fixture_free(&f);
}

FCT_TEST(test_conv_matches_pytorch_on_cuda) {
    NEED_GPU();
    fc_cuda_set_allow_tf32(0);
    conv_on_cuda("ops/conv_basic", 0, &(fc_conv2d_opts){.padding = {1, 1}});
    conv_on_cuda("ops/conv_stride2", 0, &(fc_conv2d_opts){.stride = {2, 2}, .padding = {1, 1}});
    conv_on_cuda("ops/conv_dilation", 0, &(fc_conv2d_opts){.stride = {1, 2}, .padding = {2, 1}, .dilation = {2, 1}});
    conv_on_cuda("ops/conv_groups", 0, &(fc_conv2d_opts){.groups = 2});
    conv_on_cuda("ops/conv_depthwise", 0, &(fc_conv2d_opts){.stride = {2, 2}, .padding = {1, 1}, .groups = 4});
    conv_on_cuda("ops/convt_basic", 1, &(fc_conv2d_opts){.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}});
    conv_on_cuda("ops/convt_groups", 1,
                 &(fc_conv2d_opts){.stride = {2, 2}, .dilation = {2, 2}, .groups = 2, .output_padding = {1, 1}});
}

typedef struct win {
    int kh, kw, kind; /* kind 0 max, 1 avg, 2 adaptive max, 3 adaptive avg (kh, kw: output size) */
    fc_pool2d_opts o;
} win;

static void pool_on_cuda(const char *name, win w, int nhwc) {
    fct_fixture fx = fct_load(name);
    fc_tensor *x = fct_get(&fx, "x");
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *d = dev(fc_requires_grad(x));
    fc_tensor *xin = nhwc ? fc_permute(d, FC_DIMS(0, 3, 1, 2)) : d;
    fc_tensor *y = w.kind == 0 ? fc_max_pool2d_(xin, w.kh, w.kw, &w.o)
                 : w.kind == 1 ? fc_avg_pool2d_(xin, w.kh, w.kw, &w.o)
                 : w.kind == 2 ? fc_adaptive_max_pool2d(xin, w.kh, w.kw)
                               : fc_adaptive_avg_pool2d(xin, w.kh, w.kw);
    if (!FCT_NOTNULL(y)) return fct_fixture_free(&fx);
    FCT_CLOSE(host(y), fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, dev(fct_get(&fx, "dy"))));
    FCT_CLOSE(grad_host(d), fct_get(&fx, "dx"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_pooling_matches_pytorch_on_cuda) {
    NEED_GPU();
    pool_on_cuda("ops/maxpool_basic", (win){2, 2, 0, {0}}, 0);
    pool_on_cuda("ops/maxpool_pad_ceil", (win){3, 3, 0, {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1}}, 0);
    pool_on_cuda("ops/maxpool_dilation", (win){3, 3, 0, {.stride = {1, 1}, .padding = {1, 1}, .dilation = {2, 2}}}, 0);
    pool_on_cuda("ops/maxpool_strided", (win){3, 2, 0, {.stride = {2, 1}}}, 1);
    pool_on_cuda("ops/avgpool_basic", (win){2, 2, 1, {0}}, 0);
    pool_on_cuda("ops/avgpool_pad_ceil", (win){3, 3, 1, {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1}}, 0);
    pool_on_cuda("ops/avgpool_nopad_ceil",
                 (win){3, 3, 1, {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1, .no_count_include_pad = 1}}, 0);
    pool_on_cuda("ops/avgpool_strided", (win){2, 3, 1, {.stride = {3, 1}, .padding = {1, 1}}}, 1);
    pool_on_cuda("ops/adaptive_avg", (win){3, 4, 3, {0}}, 0);
    pool_on_cuda("ops/adaptive_avg_up", (win){4, 7, 3, {0}}, 0);
    pool_on_cuda("ops/adaptive_avg_global", (win){1, 1, 3, {0}}, 0);
    pool_on_cuda("ops/adaptive_max", (win){3, 4, 2, {0}}, 0);
    pool_on_cuda("ops/adaptive_max_strided", (win){4, 5, 2, {0}}, 1);
}

/* x (and w, b when the fixture has them) on the device, backward with dy, all against PyTorch */
static void norm_on_cuda(const char *name, int is_bn, int training, int strided, fc_shape nshape) {
    fct_fixture f = fct_load(name);
    fc_tensor *x = fct_get(&f, "x"), *w = NULL, *b = NULL;
    if (!x) return fct_fixture_free(&f);
    for (int i = 0; i < f.n; i++) {
        if (!strcmp(f.names[i], "w")) w = dev(fc_requires_grad(f.t[i]));
        if (!strcmp(f.names[i], "b")) b = dev(fc_requires_grad(f.t[i]));
    }
    fc_tensor *dx = dev(fc_requires_grad(x)), *rm = NULL, *rv = NULL, *y;
    if (is_bn) {
        rm = dev(fct_get(&f, "rm0"));
        rv = dev(fct_get(&f, "rv0"));
        y = fc_batch_norm(strided ? fc_transpose(dx, 0, 1) : dx, rm, rv, w, b, training, 0.1, 1e-5);
    } else {
        y = fc_layer_norm(strided ? fc_transpose(dx, -1, -2) : dx, nshape, w, b, 1e-5);
    }
    if (!FCT_NOTNULL(y)) return fct_fixture_free(&f);
    FCT_CLOSE(host(y), fct_get(&f, "y"), 2e-5, 2e-5);
    FCT_OK(fc_backward_with(y, dev(fct_get(&f, "dy"))));
    FCT_CLOSE(grad_host(dx), fct_get(&f, "dx"), 2e-5, 2e-5);
    if (w) FCT_CLOSE(grad_host(w), fct_get(&f, "dw"), 2e-5, 2e-5);
    if (b) FCT_CLOSE(grad_host(b), fct_get(&f, "db"), 2e-5, 2e-5);
    if (is_bn) {
        FCT_CLOSE(host(rm), fct_get(&f, "rm"), 1e-6, 1e-5);
        FCT_CLOSE(host(rv), fct_get(&f, "rv"), 1e-6, 1e-5);
    }
    fct_fixture_free(&f);
}

FCT_TEST(test_norms_match_pytorch_on_cuda) {
    NEED_GPU();
    norm_on_cuda("ops/bn_train_4d", 1, 1, 0, FC_ALL_DIMS);
    norm_on_cuda("ops/bn_train_2d_noaffine", 1, 1, 0, FC_ALL_DIMS);
    norm_on_cuda("ops/bn_train_strided", 1, 1, 1, FC_ALL_DIMS);
    norm_on_cuda("ops/bn_eval_4d", 1, 0, 0, FC_ALL_DIMS);
    norm_on_cuda("ops/ln_1d", 0, 1, 0, FC_SHAPE(6));
    norm_on_cuda("ops/ln_2d", 0, 1, 0, FC_SHAPE(4, 5));
    norm_on_cuda("ops/ln_strided", 0, 1, 1, FC_SHAPE(5));
}

static fc_tensor *dot(fc_tensor *a, fc_tensor *b) { return fc_sum(fc_mul(a, b), FC_ALL_DIMS, 0); }

FCT_TEST(test_lstm_matches_pytorch_on_cuda) {
    NEED_GPU();
    fc_cuda_set_allow_tf32(0);
    fct_fixture fc = fct_load("ops/lstm_cell");
    fc_tensor *g = fct_get(&fc, "gates"), *c = fct_get(&fc, "c_prev");
    if (g && c) {
        fc_tensor *dg = dev(fc_requires_grad(g)), *dc = dev(fc_requires_grad(c));
        fc_tensor *y = fc_lstm_cell(dg, dc);
        FCT_CLOSE(host(y), fct_get(&fc, "y"), 1e-6, 1e-5);
        FCT_OK(fc_backward_with(y, dev(fct_get(&fc, "dy"))));
        FCT_CLOSE(grad_host(dg), fct_get(&fc, "dgates"), 1e-6, 1e-5);
        FCT_CLOSE(grad_host(dc), fct_get(&fc, "dc_prev"), 1e-6, 1e-5);
    }
    fct_fixture_free(&fc);
    fct_fixture fx = fct_load("ops/lstm");
    if (!fx.n) return;
    fc_tensor *w[4][2];
    const char *names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    char key[48];
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 2; l++) {
            snprintf(key, sizeof key, "%s_l%d", names[k], l);
            w[k][l] = dev(fc_requires_grad(fct_get(&fx, key)));
        }
    fc_lstm_weights lw = {2, w[0], w[1], w[2], w[3]};
    fc_tensor *x = dev(fc_requires_grad(fct_get(&fx, "x"))), *h0 = dev(fc_requires_grad(fct_get(&fx, "h0"))),
              *c0 = dev(fc_requires_grad(fct_get(&fx, "c0")));
    fc_tensor *hn, *cn;
    fc_tensor *y = fc_lstm(x, &lw, h0, c0, &hn, &cn);
    if (!FCT_NOTNULL(y)) return fct_fixture_free(&fx);
    FCT_CLOSE(host(y), fct_get(&fx, "y"), 1e-5, 1e-5);
    FCT_CLOSE(host(hn), fct_get(&fx, "hn"), 1e-5, 1e-5);
    FCT_CLOSE(host(cn), fct_get(&fx, "cn"), 1e-5, 1e-5);
    fc_tensor *loss = fc_add(fc_add(dot(y, dev(fct_get(&fx, "dy"))), dot(hn, dev(fct_get(&fx, "dhn")))),
                             dot(cn, dev(fct_get(&fx, "dcn"))));
    FCT_OK(fc_backward(loss));
    FCT_CLOSE(grad_host(x), fct_get(&fx, "dx"), 1e-5, 1e-4);
    FCT_CLOSE(grad_host(h0), fct_get(&fx, "dh0"), 1e-5, 1e-4);
    FCT_CLOSE(grad_host(c0), fct_get(&fx, "dc0"), 1e-5, 1e-4);
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 2; l++) {
            snprintf(key, sizeof key, "d%s_l%d", names[k], l);
            FCT_CLOSE(grad_host(w[k][l]), fct_get(&fx, key), 1e-5, 1e-4);
        }
    fct_fixture_free(&fx);
}

FCT_TEST(test_embedding_matches_pytorch_on_cuda) {
    NEED_GPU();
    fct_fixture f = fct_load("ops/embedding_pad");
    fc_tensor *w = fct_get(&f, "w"), *idx = fct_get(&f, "idx");
    if (!w || !idx) return fct_fixture_free(&f);
    fc_tensor *dw = dev(fc_requires_grad(w));
    fc_tensor *y = fc_embedding(dw, dev(idx), 2);
    FCT_CLOSE(host(y), fct_get(&f, "y"), 0, 0);
    FCT_OK(fc_backward_with(y, dev(fct_get(&f, "dy"))));
    FCT_CLOSE(grad_host(dw), fct_get(&f, "dw"), 1e-6, 1e-6);
    FCT_NULL(fc_embedding(dw, dev(fc_from_data(((int64_t[]){0, 999}), FC_SHAPE(2), .dtype = FC_DTYPE_I64)), -1));
    FCT_ERROR(FC_ERR_ARG, "index 999 at position [1]");
    fct_fixture_free(&f);
}

FCT_TEST(test_dropout_mask_is_the_cpu_mask) {
    NEED_GPU();
    fc_tensor *x = fc_randn(FC_SHAPE(1001));
    fc_manual_seed(123);
    fc_tensor *yc = fc_dropout(x, 0.3, 1);
    fc_manual_seed(123);
    fc_tensor *yg = fc_dropout(dev(x), 0.3, 1);
    FCT_CLOSE(host(yg), yc, 0, 0); /* the same elements kept, the same scale: bit for bit */
    fc_tensor *xr = fc_requires_grad(fc_randn(FC_SHAPE(64)));
    fc_tensor *dxr = dev(xr);
    fc_manual_seed(5);
    fc_tensor *a = fc_dropout(xr, 0.5, 1);
    fc_manual_seed(5);
    fc_tensor *b = fc_dropout(dxr, 0.5, 1);
    FCT_OK(fc_backward(fc_sum(a, FC_ALL_DIMS, 0)));
    FCT_OK(fc_backward(fc_sum(b, FC_ALL_DIMS, 0)));
    FCT_CLOSE(grad_host(dxr), fc_tensor_grad(xr), 0, 0);
}

/* one optimizer step on the CPU and on the device from the same parameters and gradients */
static void step_both(int adam) {
    fc_tensor *p = fc_randn(FC_SHAPE(33, 7)), *g = fc_randn(FC_SHAPE(33, 7));
    fc_tensor *pc = fc_keep(fc_clone(p)), *pg = fc_keep(fc_tensor_to(p, FC_CUDA));
    fc_requires_grad(pc);
    fc_requires_grad(pg);
    fc_param_groups *gc = fc_param_groups_new(), *gg = fc_param_groups_new();
    FCT_OK(fc_param_groups_add(gc, &pc, 1));
    FCT_OK(fc_param_groups_add(gg, &pg, 1));
    fc_optimizer *oc = adam ? fc_adamw_new(gc, .lr = 1e-2) : fc_sgd_new(gc, .lr = 0.1, .mom = 0.9, .wd = 1e-2);
    fc_optimizer *og = adam ? fc_adamw_new(gg, .lr = 1e-2) : fc_sgd_new(gg, .lr = 0.1, .mom = 0.9, .wd = 1e-2);
    for (int s = 0; s < 3; s++) {
        fc_tensor *l1 = fc_sum(fc_mul(pc, g), FC_ALL_DIMS, 0), *l2 = fc_sum(fc_mul(pg, dev(g)), FC_ALL_DIMS, 0);
        FCT_OK(fc_backward(l1));
        FCT_OK(fc_backward(l2));
        FCT_OK(fc_optimizer_step(oc));
        FCT_OK(fc_optimizer_step(og));
        fc_optimizer_zero_grad(oc);
        fc_optimizer_zero_grad(og);
    }
    FCT_CLOSE(host(pg), pc, 1e-6, 1e-5);
    fc_optimizer_free(oc);
    fc_optimizer_free(og);
    fc_tensor_free(pc);
    fc_tensor_free(pg);
}

FCT_TEST(test_fused_sgd_and_adam_match_the_cpu) {
    NEED_GPU();
    step_both(0);
    step_both(1);
}

FCT_TEST(test_small_network_trains_the_same_on_cuda) {
    NEED_GPU();
    fc_tensor *x = fc_randn(FC_SHAPE(64, 10)), *y = fc_randint(0, 3, FC_SHAPE(64));
    float losses[2][5];
    for (int on_gpu = 0; on_gpu < 2; on_gpu++) {
        fc_manual_seed(1);
        fc_module *m = fc_sequential_new();
        fc_sequential_add(m, fc_linear_new(10, 32));
        fc_sequential_add(m, fc_relu_new());
        fc_sequential_add(m, fc_linear_new(32, 3));
        if (on_gpu) FCT_OK(fc_module_to(m, FC_CUDA));
        fc_optimizer *opt = fc_adam_new(fc_params_of(m), .lr = 1e-2);
        fc_tensor *xb = on_gpu ? fc_keep(dev(x)) : fc_keep(fc_clone(x));
        fc_tensor *yb = on_gpu ? fc_keep(dev(y)) : fc_keep(fc_clone(y));
        for (int s = 0; s < 5; s++) {
            fc_scope *sc = fc_scope_begin();
            fc_tensor *loss = fc_cross_entropy(fc_module_forward(m, xb), yb);
            FCT_OK(fc_backward(loss));
            FCT_OK(fc_optimizer_step(opt));
            fc_optimizer_zero_grad(opt);
            losses[on_gpu][s] = (float)fc_tensor_item(loss);
            fc_scope_end(sc);
        }
        fc_tensor_free(xb);
        fc_tensor_free(yb);
        fc_optimizer_free(opt);
        fc_module_free(m);
    }
    for (int s = 0; s < 5; s++) FCT_NEAR(losses[1][s], losses[0][s], 1e-4);
    FCT_TRUE(losses[1][4] < losses[1][0]);
}

FCT_TEST(test_zz_report_skips) {
    if (n_skipped)
        printf("  [cuda] %d device test(s) SKIPPED: no CUDA device on this machine; these are NOT passes\n",
               n_skipped);
}
