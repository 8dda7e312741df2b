/* Tensor core: creation, metadata, dtypes, scopes, the caching allocator, RNG, errors. */
#include <string.h>

#include "fct.h"

FCT_TEST(test_creation_and_metadata) {
    fc_tensor *t = fc_full(FC_SHAPE(2, 3), 1.5);
    FCT_EQ_INT(fc_tensor_ndim(t), 2);
    FCT_EQ_INT(fc_tensor_numel(t), 6);
    FCT_EQ_INT(fc_tensor_dim(t, -1), 3);
    FCT_EQ_INT(fc_tensor_strides(t)[0], 3);
    FCT_TRUE(fc_tensor_is_contiguous(t));
    FCT_NEAR(fc_tensor_get(t, 5), 1.5, 0);
    fc_tensor *a = fc_arange(0, 10, 2, .dtype = FC_DTYPE_I64);
    FCT_EQ_INT(fc_tensor_numel(a), 5);
    FCT_NEAR(fc_tensor_get(a, 4), 8, 0);
    FCT_NEAR(fc_tensor_item(fc_scalar(7, .dtype = FC_DTYPE_I32)), 7, 0);
}

FCT_TEST(test_item_rejects_many_elements) {
    FCT_TRUE(isnan(fc_tensor_item(fc_zeros(FC_SHAPE(2, 2)))));
    FCT_ERROR(FC_ERR_SHAPE, "item: expected a tensor with one element, found shape [2, 2]");
}

FCT_TEST(test_dtype_casts_round_trip) {
    float v[5] = {1.0f, -2.5f, 3.1415926f, 65504.0f, 1e-3f};
    fc_tensor *x = fc_from_data(v, FC_SHAPE(5));
    fc_tensor *h = fc_to_dtype(x, FC_DTYPE_F16), *b = fc_to_dtype(x, FC_DTYPE_BF16);
    fc_tensor *xh = fc_to_dtype(h, FC_DTYPE_F32), *xb = fc_to_dtype(b, FC_DTYPE_F32);
    for (int i = 0; i < 5; i++) {
        FCT_NEAR(fc_tensor_get(xh, i), v[i], fabs(v[i]) * 1e-3);
        FCT_NEAR(fc_tensor_get(xb, i), v[i], fabs(v[i]) * 8e-3);
    }
    FCT_EQ_INT(fc_f32_to_bf16(1.0f), 0x3f80);
    FCT_EQ_INT(fc_f32_to_f16(1.0f), 0x3c00);
    fc_tensor *i = fc_to_dtype(fc_from_data(v, FC_SHAPE(5)), FC_DTYPE_I32);
    FCT_NEAR(fc_tensor_get(i, 1), -2, 0);
}

FCT_TEST(test_rng_is_reproducible) {
    fc_manual_seed(42);
    fc_tensor *a = fc_randn(FC_SHAPE(1000));
    fc_manual_seed(42);
    fc_tensor *b = fc_randn(FC_SHAPE(1000));
    FCT_CLOSE(a, b, 0, 0);
    double s = 0, s2 = 0;
    for (int i = 0; i < 1000; i++) {
        double v = fc_tensor_get(a, i);
        s += v;
        s2 += v * v;
    }
    FCT_NEAR(s / 1000, 0, 0.1);
    FCT_NEAR(s2 / 1000, 1, 0.15);
    fc_tensor *u = fc_rand(FC_SHAPE(1000));
    for (int i = 0; i < 1000; i++) FCT_TRUE(fc_tensor_get(u, i) >= 0 && fc_tensor_get(u, i) < 1);
    fc_tensor *r = fc_randint(3, 7, FC_SHAPE(100));
    FCT_EQ_INT(fc_tensor_dtype(r), FC_DTYPE_I64);
    for (int i = 0; i < 100; i++) FCT_TRUE(fc_tensor_get(r, i) >= 3 && fc_tensor_get(r, i) < 7);
}

FCT_TEST(test_scope_releases_and_keep_moves_out) {
    uint64_t before = fc_alloc_stats_get().bytes_in_use;
    fc_scope *s = fc_scope_begin();
    fc_tensor *kept = NULL;
    for (int i = 0; i < 10; i++) {
        fc_tensor *t = fc_ones(FC_SHAPE(100));
        if (i == 3) kept = fc_keep(t);
    }
    fc_scope_end(s);
    FCT_NEAR(fc_tensor_get(kept, 99), 1, 0);
    fc_tensor_free(kept);
    FCT_EQ_INT(fc_alloc_stats_get().bytes_in_use, before);
}

FCT_TEST(test_steady_state_step_makes_no_system_allocation) {
    fc_tensor *w = fc_keep(fc_requires_grad(fc_randn(FC_SHAPE(32, 16))));
    fc_tensor *x = fc_keep(fc_randn(FC_SHAPE(8, 32)));
    uint64_t sys = 0;
    for (int step = 0; step < 5; step++) {
        if (step == 2) sys = fc_alloc_stats_get().n_system_allocs;
        fc_scope *s = fc_scope_begin();
        fc_tensor *y = fc_sum(fc_mul(fc_sum(fc_mul(fc_unsqueeze(x, 2), w), FC_DIMS(1), 0), x == NULL ? NULL : fc_ones(FC_SHAPE(16))), FC_ALL_DIMS, 0);
        FCT_OK(fc_backward(y));
        fc_scope_end(s);
        fc_tensor_zero_grad(w);
    }
    FCT_EQ_INT(fc_alloc_stats_get().n_system_allocs - sys, 0);
    fc_tensor_free(w);
    fc_tensor_free(x);
}

FCT_TEST(test_errors_keep_the_first_cause) {
    fc_fail(FC_ERR_ARG, "first: %d", 1);
    fc_fail(FC_ERR_SHAPE, "second");
    FCT_EQ_INT(fc_error_code(), FC_ERR_ARG);
    FCT_TRUE(strcmp(fc_error_message(), "first: 1") == 0);
    fc_error_clear();
    FCT_EQ_INT(fc_error_code(), FC_OK);
}

FCT_TEST(test_cuda_tensor_fails_cleanly) {
    FCT_NULL(fc_zeros(FC_SHAPE(2), .device = FC_CUDA));
    FCT_ERROR(FC_ERR_DEVICE, "CUDA requested");
}

FCT_TEST(test_set_num_threads_sets_the_one_runtime) {
    int before = fc_num_threads();
    fc_set_num_threads(1);
    FCT_EQ_INT(fc_num_threads(), 1);
    fc_set_num_threads(2);
    FCT_EQ_INT(fc_num_threads(), 2);
    fc_set_num_threads(before);
}

FCT_TEST(test_random_values_do_not_depend_on_thread_count) {
    fc_set_num_threads(1);
    fc_manual_seed(9);
    fc_tensor *a = fc_randn(FC_SHAPE(300000)); /* large enough for the parallel path */
    fc_set_num_threads(2);
    fc_manual_seed(9);
    fc_tensor *b = fc_randn(FC_SHAPE(300000));
    FCT_CLOSE(a, b, 0, 0);
    fc_set_num_threads(0);
}
