/* Pooling against PyTorch fixtures (tests/fixtures/gen_conv.py), gradchecks and error messages.
 * Max pooling is exact (a selection); averages differ from PyTorch only in summation order. */
#include "fct.h"

typedef fc_tensor *(*pool_fn)(fc_tensor *x, const void *ctx);

static void check_pool(const char *name, pool_fn f, const void *ctx, int nhwc) {
    fct_fixture fx = fct_load(name);
    fc_tensor *x = fct_get(&fx, "x");
    if (!x) return fct_fixture_free(&fx);
    fc_requires_grad(x);
    fc_tensor *y = f(nhwc ? fc_permute(x, FC_DIMS(0, 3, 1, 2)) : x, ctx);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

typedef struct win {
    int kh, kw;
    fc_pool2d_opts o;
} win;
static fc_tensor *max_fn(fc_tensor *x, const void *c) {
    const win *w = c;
    return fc_max_pool2d_(x, w->kh, w->kw, &w->o);
}
static fc_tensor *avg_fn(fc_tensor *x, const void *c) {
    const win *w = c;
    return fc_avg_pool2d_(x, w->kh, w->kw, &w->o);
}
static fc_tensor *amax_fn(fc_tensor *x, const void *c) {
    const int64_t *s = c;
    return fc_adaptive_max_pool2d(x, s[0], s[1]);
}
static fc_tensor *aavg_fn(fc_tensor *x, const void *c) {
    const int64_t *s = c;
    return fc_adaptive_avg_pool2d(x, s[0], s[1]);
}

FCT_TEST(test_max_pool2d_matches_pytorch) {
    check_pool("ops/maxpool_basic", max_fn, &(win){2, 2}, 0);
    check_pool("ops/maxpool_pad_ceil", max_fn,
               &(win){3, 3, {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1}}, 0);
    check_pool("ops/maxpool_dilation", max_fn,
               &(win){3, 3, {.stride = {1, 1}, .padding = {1, 1}, .dilation = {2, 2}}}, 0);
    check_pool("ops/maxpool_strided", max_fn, &(win){3, 2, {.stride = {2, 1}}}, 1);
}

FCT_TEST(test_avg_pool2d_matches_pytorch) {
    check_pool("ops/avgpool_basic", avg_fn, &(win){2, 2}, 0);
    check_pool("ops/avgpool_pad_ceil", avg_fn,
               &(win){3, 3, {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1}}, 0);
    check_pool("ops/avgpool_nopad_ceil", avg_fn,
               &(win){3, 3, {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1,
                             .no_count_include_pad = 1}}, 0);
    check_pool("ops/avgpool_strided", avg_fn, &(win){2, 3, {.stride = {3, 1}, .padding = {1, 1}}}, 1);
}

FCT_TEST(test_adaptive_pools_match_pytorch) {
    check_pool("ops/adaptive_avg", aavg_fn, (int64_t[]){3, 4}, 0);
    check_pool("ops/adaptive_avg_up", aavg_fn, (int64_t[]){4, 7}, 0);
    check_pool("ops/adaptive_avg_global", aavg_fn, (int64_t[]){1, 1}, 0);
    check_pool("ops/adaptive_max", amax_fn, (int64_t[]){3, 4}, 0);
    check_pool("ops/adaptive_max_strided", amax_fn, (int64_t[]){4, 5}, 1);
}

static fc_tensor *gc_max(fc_tensor **in, void *ctx) {
    return fc_max_pool2d(in[0], 3, 2, .stride = {2, 1}, .padding = {1, 1}, .ceil_mode = 1);
}
static fc_tensor *gc_avg(fc_tensor **in, void *ctx) {
    return fc_avg_pool2d(in[0], 3, 3, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1,
                         .no_count_include_pad = 1);
}
static fc_tensor *gc_aavg(fc_tensor **in, void *ctx) { return fc_adaptive_avg_pool2d(in[0], 3, 2); }
static fc_tensor *gc_amax(fc_tensor **in, void *ctx) { return fc_adaptive_max_pool2d(in[0], 2, 3); }

FCT_TEST(test_pools_gradcheck) {
    /* Max pooling has kinks where two inputs of a window tie; central differences with eps 1e-2
     * cross them when two inputs are closer than eps. So the inputs are a scrambled ramp with
     * spacing 0.05 (distinct, no near ties) rather than normal draws. */
    fct_fn_n fns[] = {gc_max, gc_avg, gc_aavg, gc_amax};
    for (int k = 0; k < 4; k++) {
        fc_tensor *x = fc_requires_grad(fct_randn(FC_SHAPE(2, 2, 5, 5), 10 + (uint64_t)k));
        float *p = fc_tensor_data(x);
        for (int i = 0; i < 100; i++) p[i] = 0.05f * (float)((i * 37 + 11 * k) % 100) - 2.5f;
        FCT_EQ_INT(FCT_GRADCHECK(fns[k], NULL, 1, &x), 0);
        fc_tensor_free(x);
    }
}

FCT_TEST(test_max_pool2d_output_size_follows_pytorch) {
    fc_tensor *x = fc_zeros(FC_SHAPE(1, 1, 6, 6));
    fc_tensor *y = fc_max_pool2d(x, 3, 3, .stride = {2, 2}, .ceil_mode = 1);
    FCT_EQ_INT(fc_tensor_dim(y, 2), 3); /* floor mode would give 2 */
    y = fc_max_pool2d(x, 2, 2, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1);
    FCT_EQ_INT(fc_tensor_dim(y, 2), 4); /* the last window would start in the right padding */
}

FCT_TEST(test_pools_reject_bad_arguments) {
    fc_tensor *x = fc_zeros(FC_SHAPE(1, 2, 4, 4));
    FCT_NULL(fc_max_pool2d(x, 3, 3, .padding = {2, 2}));
    FCT_ERROR(FC_ERR_ARG, "max_pool2d: expected padding at most half the kernel size, found padding [2, 2]");
    FCT_NULL(fc_avg_pool2d(x, 5, 5));
    FCT_ERROR(FC_ERR_SHAPE, "avg_pool2d: kernel [5, 5] (dilation [1, 1]) is larger than the padded input");
    FCT_NULL(fc_avg_pool2d(x, 2, 2, .dilation = {2, 2}));
    FCT_ERROR(FC_ERR_ARG, "avg_pool2d: dilation is for max_pool2d only");
    FCT_NULL(fc_max_pool2d(x, 0, 2));
    FCT_ERROR(FC_ERR_ARG, "max_pool2d: expected kernel, stride, dilation >= 1");
    FCT_NULL(fc_adaptive_avg_pool2d(x, 0, 2));
    FCT_ERROR(FC_ERR_ARG, "adaptive_avg_pool2d: expected an output size >= 1, found 0x2");
    FCT_NULL(fc_adaptive_max_pool2d(fc_zeros(FC_SHAPE(2, 4, 4)), 2, 2));
    FCT_ERROR(FC_ERR_SHAPE, "adaptive_max_pool2d: expected input [N, C, H, W] with 4 dims, found 3");
    FCT_NULL(fc_max_pool2d(NULL, 2, 2));
}
