/* Modules: PyTorch names and order, default init, train/eval, running statistics, errors. */
#include <math.h>
#include <string.h>

#include "fastc/nn.h"
#include "fct.h"

static void check_names(fc_module *m, int n, const char *const *want) {
    FCT_EQ_INT(fc_module_n_parameters(m), n);
    for (int i = 0; i < n && i < fc_module_n_parameters(m); i++) {
        const char *name = NULL;
        FCT_NOTNULL(fc_module_parameter(m, i, &name));
        fct_check(name && !strcmp(name, want[i]), __FILE__, __LINE__, "parameter %d: expected '%s', found '%s'",
                  i, want[i], name ? name : "(null)");
    }
}

FCT_TEST(test_parameter_names_follow_pytorch_order) {
    /* nn.Sequential(Conv2d(3,4,3), BatchNorm2d(4), ReLU(), Flatten(), Linear(16,2), LSTM-free) */
    fc_module *m = fc_sequential(fc_conv2d_new(3, 4, 3), fc_batchnorm2d_new(4), fc_relu_new(),
                                 fc_residual_new(fc_sequential(fc_linear_new(4, 4, .no_bias = 1))),
                                 fc_flatten_new(), fc_linear_new(16, 2));
    FCT_NOTNULL(m);
    static const char *const want[] = {"0.weight", "0.bias", "1.weight", "1.bias",
                                       "3.module.0.weight", "5.weight", "5.bias"};
    check_names(m, 7, want);
    FCT_EQ_INT(fc_module_n_buffers(m), 3);
    const char *name = NULL;
    fc_module_buffer(m, 1, &name);
    FCT_TRUE(name && !strcmp(name, "1.running_var"));
    fc_module_buffer(m, 2, &name);
    FCT_TRUE(name && !strcmp(name, "1.num_batches_tracked"));
    FCT_EQ_INT(fc_module_num_params(m), 4 * 3 * 9 + 4 + 4 + 4 + 16 + 16 * 2 + 2);
    FCT_TRUE(fc_module_get(m, "5.bias") == fc_module_parameter(m, 6, NULL));
    FCT_TRUE(fc_module_child(m, "3.module.0") != NULL);
    FCT_TRUE(fc_module_get(m, "9.weight") == NULL);
    FCT_TRUE(!strcmp(fc_module_type(fc_module_child(m, "1")), "BatchNorm2d"));
    /* adding a child renames nothing and the flat list follows */
    FCT_OK(fc_sequential_add(m, fc_linear_new(2, 1)));
    FCT_EQ_INT(fc_module_n_parameters(m), 9);
    fc_module_parameter(m, 8, &name);
    FCT_TRUE(name && !strcmp(name, "6.bias"));
    fc_module_free(m);
}

FCT_TEST(test_lstm_parameter_names) {
    fc_module *m = fc_lstm_new(3, 5, .n_layers = 2);
    static const char *const want[] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                       "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"};
    check_names(m, 8, want);
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(m, "weight_ih_l0"), 1), 3);
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(m, "weight_ih_l1"), 1), 5);
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(m, "weight_hh_l1"), 0), 20);
    fc_module_free(m);
}

/* Every element inside [-bound, bound), and the spread looks uniform (std = bound / sqrt 3). */
static void check_uniform(fc_tensor *t, double bound) {
    int64_t n = fc_tensor_numel(t);
    const float *p = fc_tensor_data_f32(t);
    double s = 0, s2 = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        s += p[i];
        s2 += (double)p[i] * p[i];
        if (fabs(p[i]) > mx) mx = fabs(p[i]);
    }
    double mean = s / n, sd = sqrt(s2 / n - mean * mean);
    FCT_TRUE(mx <= bound);
    FCT_TRUE(mx > 0.9 * bound);
    FCT_NEAR(mean, 0, 4 * bound / sqrt(3.0 * n));
    FCT_NEAR(sd, bound / sqrt(3.0), 0.1 * bound);
}

FCT_TEST(test_init_matches_pytorch_defaults) {
    fc_manual_seed(1);
    fc_module *lin = fc_linear_new(100, 300);
    check_uniform(fc_module_get(lin, "weight"), 0.1);
    check_uniform(fc_module_get(lin, "bias"), 0.1);
    fc_module *conv = fc_conv2d_new(8, 64, 3, .groups = 2);
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(conv, "weight"), 1), 4);
    check_uniform(fc_module_get(conv, "weight"), 1 / 6.0); /* fan_in 4 * 3 * 3 */
    fc_module *lstm = fc_lstm_new(10, 25);
    check_uniform(fc_module_get(lstm, "weight_hh_l0"), 0.2);
    fc_module *emb = fc_embedding_new(200, 50, .padding_idx = 3, .has_padding_idx = 1);
    fc_tensor *w = fc_module_get(emb, "weight");
    double s = 0, s2 = 0, pad = 0;
    for (int64_t i = 0; i < 200 * 50; i++) {
        float v = fc_tensor_data_f32(w)[i];
        if (i / 50 == 3) pad += fabs(v);
        s += v;
        s2 += (double)v * v;
    }
    FCT_NEAR(pad, 0, 0);
    FCT_NEAR(s / 9950, 0, 0.05);
    FCT_NEAR(sqrt(s2 / 9950), 1, 0.05);
    fc_module *bn = fc_batchnorm2d_new(6);
    FCT_NEAR(fc_tensor_get(fc_module_get(bn, "weight"), 5), 1, 0);
    FCT_NEAR(fc_tensor_get(fc_module_get(bn, "bias"), 5), 0, 0);
    FCT_NEAR(fc_tensor_get(fc_module_get(bn, "running_mean"), 2), 0, 0);
    FCT_NEAR(fc_tensor_get(fc_module_get(bn, "running_var"), 2), 1, 0);
    FCT_TRUE(fc_tensor_requires_grad(fc_module_get(bn, "weight")));
    FCT_TRUE(!fc_tensor_requires_grad(fc_module_get(bn, "running_var")));
    /* the same seed builds the same model */
    fc_manual_seed(1);
    fc_module *lin2 = fc_linear_new(100, 300);
    FCT_CLOSE(fc_module_get(lin2, "weight"), fc_module_get(lin, "weight"), 0, 0);
    fc_module_free(lin);
    fc_module_free(lin2);
    fc_module_free(conv);
    fc_module_free(lstm);
    fc_module_free(emb);
    fc_module_free(bn);
}

FCT_TEST(test_batchnorm_train_eval_and_running_stats) {
    fc_module *bn = fc_batchnorm1d_new(3, .momentum = 0.5);
    fc_tensor *x = fc_from_data(((float[]){1, 10, -2, 3, 20, 2}), FC_SHAPE(2, 3));
    fc_tensor *y = fc_module_forward(bn, x); /* training: batch statistics */
    FCT_NEAR(fc_tensor_get(y, 0), -1, 1e-4);
    FCT_NEAR(fc_tensor_get(y, 3), 1, 1e-4);
    fc_tensor *rm = fc_module_get(bn, "running_mean"), *rv = fc_module_get(bn, "running_var");
    FCT_NEAR(fc_tensor_get(rm, 0), 0.5 * 2, 1e-6);  /* (1 - m) 0 + m mean */
    FCT_NEAR(fc_tensor_get(rv, 1), 0.5 + 0.5 * 50, 1e-4); /* unbiased var of {10, 20} is 50 */
    FCT_NEAR(fc_tensor_item(fc_module_get(bn, "num_batches_tracked")), 1, 0);
    fc_module_eval(bn);
    FCT_TRUE(!fc_module_is_training(bn));
    fc_tensor *ye = fc_module_forward(bn, x); /* eval: running statistics, no update */
    FCT_NEAR(fc_tensor_get(ye, 0), (1 - 1) / sqrt(0.5 + 0.5 * 2 + 1e-5), 1e-5);
    FCT_NEAR(fc_tensor_get(rm, 0), 1, 1e-6);
    FCT_NEAR(fc_tensor_item(fc_module_get(bn, "num_batches_tracked")), 1, 0);
    FCT_NULL(fc_module_forward(bn, fc_zeros(FC_SHAPE(2, 3, 4, 5))));
    FCT_ERROR(FC_ERR_SHAPE, "BatchNorm1d: expected 2D or 3D input, found 4D input [2, 3, 4, 5]");
    fc_module_free(bn);
}

FCT_TEST(test_dropout_train_eval) {
    fc_module *m = fc_sequential(fc_linear_new(4, 4), fc_dropout_new(0.5));
    fc_tensor *x = fc_ones(FC_SHAPE(64, 4));
    fc_module_eval(m);
    fc_tensor *a = fc_module_forward(m, x), *b = fc_module_forward(m, x);
    FCT_CLOSE(a, b, 0, 0);
    fc_module_train(m, 1);
    FCT_TRUE(fc_module_is_training(fc_module_child(m, "1")));
    fc_tensor *c = fc_module_forward(m, x);
    int64_t zeros = 0, doubled = 0;
    for (int64_t i = 0; i < 256; i++) {
        double v = fc_tensor_get(c, i), e = fc_tensor_get(a, i);
        if (v == 0) zeros++;
        else if (fabs(v - 2 * e) < 1e-5) doubled++;
    }
    FCT_EQ_INT(zeros + doubled, 256);
    FCT_TRUE(zeros > 80 && zeros < 176);
    fc_module_free(m);
}

FCT_TEST(test_forward_and_backward_reach_parameters) {
    fc_module *m = fc_sequential(fc_conv2d_new(2, 4, 3, .padding = 1), fc_batchnorm2d_new(4),
                                 fc_relu_new(), fc_maxpool2d_new(2), fc_adaptive_avgpool2d_new(1, 1),
                                 fc_flatten_new(), fc_residual_new(fc_linear_new(4, 4)),
                                 fc_linear_new(4, 3));
    fc_tensor *x = fc_randn(FC_SHAPE(2, 2, 8, 8));
    fc_tensor *y = fc_module_forward(m, x);
    FCT_NOTNULL(y);
    FCT_EQ_INT(fc_tensor_ndim(y), 2);
    FCT_EQ_INT(fc_tensor_dim(y, 1), 3);
    FCT_OK(fc_backward(fc_sum(y, FC_ALL_DIMS, 0)));
    int n = fc_module_n_parameters(m);
    for (int i = 0; i < n; i++) FCT_NOTNULL(fc_tensor_grad(fc_module_parameter(m, i, NULL)));
    fc_module_zero_grad(m);
    for (int i = 0; i < n; i++) FCT_TRUE(fc_tensor_grad(fc_module_parameter(m, i, NULL)) == NULL);
    fc_module_free(m);
}

FCT_TEST(test_lstm_embedding_layernorm_forward_shapes) {
    fc_module *m = fc_sequential(fc_embedding_new(10, 6, .padding_idx = 0, .has_padding_idx = 1),
                                 fc_lstm_new(6, 5, .n_layers = 2, .batch_first = 1),
                                 fc_layernorm_new(FC_SHAPE(5)), fc_gelu_new(), fc_identity_new());
    fc_tensor *idx = fc_randint(0, 10, FC_SHAPE(3, 7));
    fc_tensor *y = fc_module_forward(m, idx);
    FCT_NOTNULL(y);
    FCT_EQ_INT(fc_tensor_dim(y, 0), 3);
    FCT_EQ_INT(fc_tensor_dim(y, 1), 7);
    FCT_EQ_INT(fc_tensor_dim(y, 2), 5);
    fc_module_free(m);
}

FCT_TEST(test_constructor_errors_and_null_passing) {
    FCT_NULL(fc_linear_new(0, 3));
    FCT_ERROR(FC_ERR_ARG, "linear_new: expected in_features and out_features > 0, found 0 and 3");
    FCT_NULL(fc_conv2d_new(6, 4, 3, .groups = 4));
    FCT_ERROR(FC_ERR_ARG, ".groups = 4 must divide in_channels (6)");
    FCT_NULL(fc_dropout_new(1.5));
    FCT_ERROR(FC_ERR_ARG, "dropout_new: expected p in [0, 1], found 1.5");
    FCT_NULL(fc_embedding_new(5, 2, .padding_idx = 5, .has_padding_idx = 1));
    FCT_ERROR(FC_ERR_ARG, "expected .padding_idx in [-5, 5), found 5");
    /* a failed constructor inside fc_sequential: the others are freed, the root cause stands */
    FCT_NULL(fc_sequential(fc_linear_new(2, 2), fc_linear_new(-1, 2), fc_relu_new()));
    FCT_ERROR(FC_ERR_ARG, "found -1 and 2");
    FCT_NULL(fc_module_forward(NULL, NULL));
    FCT_TRUE(fc_error_code() == FC_OK);
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 2));
    FCT_NULL(fc_module_forward(NULL, x));
    FCT_ERROR(FC_ERR_ARG, "module is NULL");
    fc_module *lin = fc_linear_new(3, 2);
    FCT_NULL(fc_module_forward(lin, x));
    FCT_ERROR(FC_ERR_SHAPE, "linear");
    FCT_NULL(fc_module_add_parameter(lin, "weight", fc_zeros(FC_SHAPE(1))));
    FCT_ERROR(FC_ERR_ARG, "Linear already has a member named 'weight'");
    FCT_NULL(fc_module_add_child(lin, "a.b", fc_relu_new()));
    FCT_ERROR(FC_ERR_ARG, "without '.', found 'a.b'");
    fc_module_free(lin);
    fc_module_free(NULL);
}

/* A plain SGD loop over fc_module_parameter: the loss of a small MLP on a linear target falls. */
FCT_TEST(test_mlp_trains_with_manual_sgd) {
    fc_manual_seed(5);
    fc_module *m = fc_sequential(fc_linear_new(4, 16), fc_relu_new(), fc_linear_new(16, 1));
    fc_tensor *x = fc_keep(fc_randn(FC_SHAPE(64, 4)));
    fc_tensor *w = fc_from_data(((float[]){1, -2, 0.5f, 3}), FC_SHAPE(4, 1));
    fc_tensor *y = fc_keep(fc_matmul(x, w));
    double first = 0, last = 0;
    for (int step = 0; step < 100; step++) {
        fc_scope *s = fc_scope_begin();
        fc_tensor *loss = fc_mse_loss(fc_module_forward(m, x), y);
        FCT_OK(fc_backward(loss));
        last = fc_tensor_item(loss);
        if (step == 0) first = last;
        for (int i = 0, n = fc_module_n_parameters(m); i < n; i++) {
            fc_tensor *p = fc_module_parameter(m, i, NULL), *g = fc_tensor_grad(p);
            float *pd = fc_tensor_data_f32(p);
            const float *gd = fc_tensor_data_f32(g);
            for (int64_t k = 0; k < fc_tensor_numel(p); k++) pd[k] -= 0.05f * gd[k];
        }
        fc_module_zero_grad(m);
        fc_scope_end(s);
    }
    FCT_TRUE(last < 0.05 * first);
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_module_free(m);
}

FCT_TEST(test_take_child_cuts_a_model) {
    fc_module *m = fc_sequential(fc_linear_new(4, 3), fc_relu_new(), fc_linear_new(3, 2));
    FCT_NOTNULL(m);
    FCT_EQ_INT(fc_module_n_parameters(m), 4);
    fc_module *last = fc_module_take_child(m, 2);
    FCT_NOTNULL(last);
    FCT_EQ_INT(fc_module_n_children(m), 2);
    FCT_EQ_INT(fc_module_n_parameters(m), 2); /* the flat list no longer names 2.weight */
    FCT_TRUE(fc_module_get(m, "2.weight") == NULL);
    FCT_EQ_INT(fc_module_n_parameters(last), 2);
    FCT_NULL(fc_module_take_child(m, 5));
    FCT_ERROR(FC_ERR_ARG, "child index in [0, 2)");
    fc_module_free(last);
    fc_module_free(m);
}
