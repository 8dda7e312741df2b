/* End to end: a small MLP and a small CNN trained with plain SGD on the generated shapes data
 * reach a stated validation accuracy. Uses only the low-level API (ops + autograd). */
#include "fastc/data.h"
#include "fct.h"

enum { IMG = 16, N_TRAIN = 2000, N_VALID = 400, BATCH = 50 };

static fc_tensor *param(fc_shape s, int64_t fan_in) { /* PyTorch's default U(+-1/sqrt(fan_in)) */
    fc_tensor *t = fc_keep(fc_rand(s));
    float *p = fc_tensor_data(t);
    for (int64_t i = 0; i < fc_tensor_numel(t); i++) p[i] = (2 * p[i] - 1) / sqrtf((float)fan_in);
    return fc_requires_grad(t);
}

typedef fc_tensor *(*model_fn)(fc_tensor **p, fc_tensor *x);

static fc_tensor *mlp(fc_tensor **p, fc_tensor *x) {
    fc_tensor *h = fc_relu(fc_linear(fc_flatten(x, 1, -1), p[0], p[1]));
    return fc_linear(h, p[2], p[3]);
}

static fc_tensor *cnn(fc_tensor **p, fc_tensor *x) {
    fc_tensor *h = fc_max_pool2d(fc_relu(fc_conv2d(x, p[0], p[1], .padding = {1, 1})), 2, 2);
    h = fc_max_pool2d(fc_relu(fc_conv2d(h, p[2], p[3], .padding = {1, 1})), 2, 2); /* 16x4x4 */
    return fc_linear(fc_flatten(h, 1, -1), p[4], p[5]);
}

/* Trains for n_epochs with SGD (lr, momentum 0.9 as torch.optim.SGD) in shuffled batches;
 * returns validation accuracy. */
static double train(model_fn f, fc_tensor **p, int n_p, int n_epochs, double lr) {
    fc_tensor *xt, *yt, *xv, *yv;
    if (!FCT_OK(fc_shapes_dataset(N_TRAIN, IMG, 11, &xt, &yt)) ||
        !FCT_OK(fc_shapes_dataset(N_VALID, IMG, 12, &xv, &yv)))
        return 0;
    fc_tensor *v[8];
    for (int k = 0; k < n_p; k++) v[k] = fc_keep(fc_zeros(fc_tensor_shape(p[k])));
    fc_rng g = fc_rng_new(5);
    int64_t order[N_TRAIN];
    for (int i = 0; i < N_TRAIN; i++) order[i] = i;
    for (int e = 0; e < n_epochs; e++) {
        for (int i = N_TRAIN - 1; i > 0; i--) {
            int j = (int)(fc_rng_u32(&g) % (uint32_t)(i + 1));
            int64_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int b = 0; b < N_TRAIN / BATCH; b++) {
            fc_scope *s = fc_scope_begin();
            fc_tensor *idx = fc_from_data(order + b * BATCH, FC_SHAPE(BATCH), .dtype = FC_DTYPE_I64);
            fc_tensor *loss = fc_cross_entropy(f(p, fc_index_select(xt, 0, idx)), fc_index_select(yt, 0, idx));
            FCT_OK(fc_backward(loss));
            fc_no_grad_begin();
            for (int k = 0; k < n_p; k++) { /* v = 0.9 v + grad; p -= lr * v */
                fc_tensor *gr = fc_tensor_grad(p[k]);
                if (gr) FCT_OK(fc_copy_(v[k], fc_add(fc_mul_scalar(v[k], 0.9), gr)));
                if (gr) FCT_OK(fc_copy_(p[k], fc_sub(p[k], fc_mul_scalar(v[k], lr))));
                fc_tensor_zero_grad(p[k]);
            }
            fc_no_grad_end();
            fc_scope_end(s);
        }
    }
    fc_scope *s = fc_scope_begin();
    fc_no_grad_begin();
    fc_tensor *pred = fc_argmax(f(p, xv), 1, 0);
    int correct = 0;
    for (int i = 0; i < N_VALID; i++) correct += fc_tensor_get(pred, i) == fc_tensor_get(yv, i);
    fc_no_grad_end();
    fc_scope_end(s);
    for (int k = 0; k < n_p; k++) fc_tensor_free(v[k]);
    fc_tensor_free(xt);
    fc_tensor_free(yt);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
    return (double)correct / N_VALID;
}

FCT_TEST(test_mlp_learns_shapes) {
    fc_manual_seed(1);
    fc_tensor *p[4] = {param(FC_SHAPE(64, IMG * IMG), IMG * IMG), param(FC_SHAPE(64), IMG * IMG),
                       param(FC_SHAPE(4, 64), 64), param(FC_SHAPE(4), 64)};
    double acc = train(mlp, p, 4, 30, 0.05);
    printf("  mlp validation accuracy %.3f\n", acc);
    FCT_TRUE(acc >= 0.75); /* an MLP sees no translation invariance: ~0.84 here */
    for (int k = 0; k < 4; k++) fc_tensor_free(p[k]);
}

FCT_TEST(test_cnn_learns_shapes) {
    fc_manual_seed(2);
    fc_tensor *p[6] = {param(FC_SHAPE(8, 1, 3, 3), 9),   param(FC_SHAPE(8), 9),
                       param(FC_SHAPE(16, 8, 3, 3), 72), param(FC_SHAPE(16), 72),
                       param(FC_SHAPE(4, 256), 256),      param(FC_SHAPE(4), 256)};
    double acc = train(cnn, p, 6, 8, 0.05);
    printf("  cnn validation accuracy %.3f\n", acc);
    FCT_TRUE(acc >= 0.95);
    for (int k = 0; k < 6; k++) fc_tensor_free(p[k]);
}

/* The caching allocator at work: after two warm-up steps, a full CNN training step (conv, pool,
 * linear, cross-entropy, backward, SGD update) asks the system for no memory at all. */
FCT_TEST(test_steady_state_cnn_step_makes_no_system_allocation) {
    fc_manual_seed(3);
    fc_tensor *p[6] = {param(FC_SHAPE(8, 1, 3, 3), 9),   param(FC_SHAPE(8), 9),
                       param(FC_SHAPE(16, 8, 3, 3), 72), param(FC_SHAPE(16), 72),
                       param(FC_SHAPE(4, 256), 256),      param(FC_SHAPE(4), 256)};
    fc_tensor *x = fc_keep(fc_rand(FC_SHAPE(32, 1, IMG, IMG)));
    fc_tensor *y = fc_keep(fc_randint(0, 4, FC_SHAPE(32)));
    uint64_t sys = 0;
    for (int step = 0; step < 6; step++) {
        if (step == 2) sys = fc_alloc_stats_get().n_system_allocs;
        fc_scope *s = fc_scope_begin();
        FCT_OK(fc_backward(fc_cross_entropy(cnn(p, x), y)));
        fc_no_grad_begin();
        for (int k = 0; k < 6; k++) {
            FCT_OK(fc_copy_(p[k], fc_sub(p[k], fc_mul_scalar(fc_tensor_grad(p[k]), 0.01))));
            fc_tensor_zero_grad(p[k]);
        }
        fc_no_grad_end();
        fc_scope_end(s);
    }
    FCT_EQ_INT(fc_alloc_stats_get().n_system_allocs - sys, 0);
    for (int k = 0; k < 6; k++) fc_tensor_free(p[k]);
    fc_tensor_free(x);
    fc_tensor_free(y);
}
