/* Training-step benchmarks on 2 threads: one full step (forward, cross_entropy, backward, SGD with
 * momentum 0.9 updating the parameters in place, grads dropped) of
 *   train_cnn_demo  the small CNN of examples/demo.c on 64 random 1x24x24 images, 4 classes;
 *   train_resblock  a ResNet basic block on [32, 64, 32, 32]: relu(bn(conv3x3(x))), bn(conv3x3(.)),
 *                   + x, relu; then adaptive_avg_pool2d(1), flatten, linear 64->10;
 *   train_mlp       784->512->512->10 with relu on a batch of 256.
 * 3 warm-up steps, then the median of 10. Prints one line per row:
 *     BENCH name=<row> ms=<median ms> gflops=<GFLOP/s of the convolutions and matmuls, x3 for
 *     forward + both backward products>
 * bench/torch_train.py prints the same rows for PyTorch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "fastc/fastc.h"

enum { MAX_PARAMS = 8 };

typedef struct model model;
typedef fc_tensor *(*forward_fn)(model *m, fc_tensor *x);
struct model {
    forward_fn forward;
    fc_tensor *p[MAX_PARAMS], *v[MAX_PARAMS]; /* parameters and their momentum buffers */
    int n;
    fc_tensor *aux[4]; /* batch-norm running stats */
    fc_tensor *x, *target;
};

/* PyTorch's default init for conv and linear layers: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
static fc_tensor *param(model *m, fc_shape s, int64_t fan_in) {
    fc_tensor *t = fc_rand(s);
    check(t != NULL);
    double b = 1.0 / sqrt((double)fan_in);
    float *p = fc_tensor_data(t);
    for (int64_t i = 0; i < fc_tensor_numel(t); i++) p[i] = (float)((2 * p[i] - 1) * b);
    m->p[m->n] = fc_requires_grad(t);
    m->v[m->n] = fc_zeros(s);
    return m->p[m->n++];
}

/* SGD with momentum, as torch.optim.SGD: v = mom * v + g; p -= lr * v; then the grads dropped. */
static void sgd_step(model *m, float lr, float mom) {
    for (int i = 0; i < m->n; i++) {
        fc_tensor *g = fc_tensor_grad(m->p[i]);
        if (!g) continue;
        float *p = fc_tensor_data(m->p[i]), *v = fc_tensor_data(m->v[i]);
        const float *d = fc_tensor_data(g);
        int64_t n = fc_tensor_numel(m->p[i]);
        for (int64_t k = 0; k < n; k++) {
            v[k] = mom * v[k] + d[k];
            p[k] -= lr * v[k];
        }
        fc_tensor_zero_grad(m->p[i]);
    }
}

static void step(model *m) {
    fc_scope *s = fc_scope_begin();
    fc_tensor *loss = fc_cross_entropy(m->forward(m, m->x), m->target);
    check(loss != NULL);
    check(fc_backward(loss) == FC_OK);
    fc_scope_end(s);
    sgd_step(m, 0.01f, 0.9f);
}

static void bench(const char *name, double flop, model *m) {
    enum { N_WARM = 3, N_RUNS = 10 };
    double t[N_RUNS];
    for (int i = 0; i < N_WARM; i++) step(m);
    for (int i = 0; i < N_RUNS; i++) {
        double t0 = now_ms();
        step(m);
        t[i] = now_ms() - t0;
    }
    qsort(t, N_RUNS, sizeof t[0], cmp);
    double ms = t[N_RUNS / 2];
    printf("BENCH name=%s ms=%.3f gflops=%.1f\n", name, ms, flop / (ms * 1e6));
    fflush(stdout);
    for (int i = 0; i < m->n; i++) {
        fc_tensor_free(m->p[i]);
        fc_tensor_free(m->v[i]);
    }
    for (int i = 0; i < 4; i++) fc_tensor_free(m->aux[i]);
    fc_tensor_free(m->x);
    fc_tensor_free(m->target);
}

static fc_tensor *cnn_forward(model *m, fc_tensor *x) {
    fc_tensor **p = m->p;
    fc_tensor *h = fc_relu(fc_conv2d(x, p[0], p[1], .padding = {1, 1}));
    h = fc_max_pool2d(h, 2, 2); /* [B, 8, 12, 12] */
    h = fc_relu(fc_conv2d(h, p[2], p[3], .padding = {1, 1}));
    h = fc_max_pool2d(h, 2, 2); /* [B, 16, 6, 6] */
    return fc_linear(fc_flatten(h, 1, -1), p[4], p[5]);
}

/* p: conv1 w, bn1 w, bn1 b, conv2 w, bn2 w, bn2 b, fc w, fc b; aux: bn1 mean, var, bn2 mean, var */
static fc_tensor *resblock_forward(model *m, fc_tensor *x) {
    fc_tensor **p = m->p, **a = m->aux;
    fc_tensor *h = fc_conv2d(x, p[0], NULL, .padding = {1, 1});
    h = fc_relu(fc_batch_norm(h, a[0], a[1], p[1], p[2], 1, 0.1, 1e-5));
    h = fc_conv2d(h, p[3], NULL, .padding = {1, 1});
    h = fc_batch_norm(h, a[2], a[3], p[4], p[5], 1, 0.1, 1e-5);
    h = fc_relu(fc_add(h, x));
    h = fc_flatten(fc_adaptive_avg_pool2d(h, 1, 1), 1, -1); /* [B, 64] */
    return fc_linear(h, p[6], p[7]);
}

static fc_tensor *mlp_forward(model *m, fc_tensor *x) {
    fc_tensor **p = m->p;
    fc_tensor *h = fc_relu(fc_linear(x, p[0], p[1]));
    h = fc_relu(fc_linear(h, p[2], p[3]));
    return fc_linear(h, p[4], p[5]);
}

int main(void) {
    fc_set_num_threads(2);
    fc_manual_seed(0);
    {
        model m = {cnn_forward};
        param(&m, FC_SHAPE(8, 1, 3, 3), 9);
        param(&m, FC_SHAPE(8), 9);
        param(&m, FC_SHAPE(16, 8, 3, 3), 72);
        param(&m, FC_SHAPE(16), 72);
        param(&m, FC_SHAPE(4, 576), 576);
        param(&m, FC_SHAPE(4), 576);
        m.x = fc_randn(FC_SHAPE(64, 1, 24, 24));
        m.target = fc_randint(0, 4, FC_SHAPE(64), .dtype = FC_DTYPE_I64);
        /* conv1's input needs no gradient: forward + weight gradient only */
        double flop = 2.0 * 64 * (8 * 9 * 24 * 24 * 2 + 16 * 72 * 12 * 12 * 3 + 4 * 576 * 3);
        bench("train_cnn_demo", flop, &m);
    }
    {
        model m = {resblock_forward};
        param(&m, FC_SHAPE(64, 64, 3, 3), 576);
        m.p[m.n] = fc_requires_grad(fc_ones(FC_SHAPE(64))), m.v[m.n++] = fc_zeros(FC_SHAPE(64));
        m.p[m.n] = fc_requires_grad(fc_zeros(FC_SHAPE(64))), m.v[m.n++] = fc_zeros(FC_SHAPE(64));
        param(&m, FC_SHAPE(64, 64, 3, 3), 576);
        m.p[m.n] = fc_requires_grad(fc_ones(FC_SHAPE(64))), m.v[m.n++] = fc_zeros(FC_SHAPE(64));
        m.p[m.n] = fc_requires_grad(fc_zeros(FC_SHAPE(64))), m.v[m.n++] = fc_zeros(FC_SHAPE(64));
        param(&m, FC_SHAPE(10, 64), 64);
        param(&m, FC_SHAPE(10), 64);
        m.aux[0] = fc_zeros(FC_SHAPE(64)), m.aux[1] = fc_ones(FC_SHAPE(64));
        m.aux[2] = fc_zeros(FC_SHAPE(64)), m.aux[3] = fc_ones(FC_SHAPE(64));
        m.x = fc_randn(FC_SHAPE(32, 64, 32, 32));
        m.target = fc_randint(0, 10, FC_SHAPE(32), .dtype = FC_DTYPE_I64);
        /* the input needs no gradient: conv1 backward computes only the weight gradient */
        double flop = 2.0 * 32 * 64 * 576 * 32 * 32 * (3 + 2) + 3 * 2.0 * 32 * 64 * 10;
        bench("train_resblock", flop, &m);
    }
    {
        model m = {mlp_forward};
        param(&m, FC_SHAPE(512, 784), 784);
        param(&m, FC_SHAPE(512), 784);
        param(&m, FC_SHAPE(512, 512), 512);
        param(&m, FC_SHAPE(512), 512);
        param(&m, FC_SHAPE(10, 512), 512);
        param(&m, FC_SHAPE(10), 512);
        m.x = fc_randn(FC_SHAPE(256, 784));
        m.target = fc_randint(0, 10, FC_SHAPE(256), .dtype = FC_DTYPE_I64);
        double flop = 2.0 * 256 * (784 * 512 * 2 + 512 * 512 * 3 + 512 * 10 * 3);
        bench("train_mlp", flop, &m);
    }
    return fc_report(fc_error_code());
}
