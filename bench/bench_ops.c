/* Op benchmarks: forward + backward of the memory-bound ops of a training step (activations,
 * broadcasting add, softmax and cross_entropy, batch_norm, layer_norm, max_pool2d, embedding,
 * dropout) on realistic training sizes, on 2 threads. Each run: forward on inputs that require
 * grad, backward with a fixed dy (a scalar loss: fc_backward), then the leaves' grads are dropped.
 * One warm-up, then the median of 5. Prints one line per row:
 *     BENCH name=<row> ms=<median ms> gflops=0
 * (these ops are memory-bound: no FLOP count). bench/torch_ops.py prints the same rows. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "fastc/ops.h"

typedef enum op {
    OP_RELU, OP_GELU, OP_SIGMOID, OP_TANH, OP_ADD_BCAST, OP_SOFTMAX, OP_CROSS_ENTROPY,
    OP_BATCH_NORM, OP_LAYER_NORM, OP_MAX_POOL, OP_EMBEDDING, OP_DROPOUT
} op;

/* leaves[] require grad and have their grads dropped after each run; aux[] do not */
typedef struct ctx {
    op op;
    fc_tensor *leaves[3];
    int n_leaves;
    fc_tensor *aux[3];
    fc_tensor *dy; /* NULL: the output is a scalar loss */
} ctx;

static fc_tensor *forward(ctx *c) {
    fc_tensor **l = c->leaves, **a = c->aux;
    switch (c->op) {
    case OP_RELU: return fc_relu(l[0]);
    case OP_GELU: return fc_gelu(l[0]);
    case OP_SIGMOID: return fc_sigmoid(l[0]);
    case OP_TANH: return fc_tanh(l[0]);
    case OP_ADD_BCAST: return fc_add(l[0], l[1]);
    case OP_SOFTMAX: return fc_softmax(l[0], 1);
    case OP_CROSS_ENTROPY: return fc_cross_entropy(l[0], a[0]);
    case OP_BATCH_NORM: return fc_batch_norm(l[0], a[0], a[1], l[1], l[2], 1, 0.1, 1e-5);
    case OP_LAYER_NORM: return fc_layer_norm(l[0], FC_SHAPE(1024), l[1], l[2], 1e-5);
    case OP_MAX_POOL: return fc_max_pool2d(l[0], 2, 2);
    case OP_EMBEDDING: return fc_embedding(l[0], a[0], -1);
    case OP_DROPOUT: return fc_dropout(l[0], 0.5, 1);
    }
    return NULL;
}

static void run(ctx *c) {
    fc_scope *s = fc_scope_begin();
    fc_tensor *y = forward(c);
    check(y != NULL);
    check((c->dy ? fc_backward_with(y, c->dy) : fc_backward(y)) == FC_OK);
    fc_scope_end(s);
    for (int i = 0; i < c->n_leaves; i++) fc_tensor_zero_grad(c->leaves[i]);
}

/* one warm-up, then the median of 5; frees the context's tensors */
static void bench(const char *name, ctx *c) {
    enum { N_RUNS = 5 };
    double t[N_RUNS];
    run(c);
    for (int i = 0; i < N_RUNS; i++) {
        double t0 = now_ms();
        run(c);
        t[i] = now_ms() - t0;
    }
    qsort(t, N_RUNS, sizeof t[0], cmp);
    printf("BENCH name=%s ms=%.3f gflops=0\n", name, t[N_RUNS / 2]);
    fflush(stdout);
    for (int i = 0; i < 3; i++) {
        fc_tensor_free(c->leaves[i]);
        fc_tensor_free(c->aux[i]);
    }
    fc_tensor_free(c->dy);
}

static fc_tensor *leaf(fc_tensor *t) { return fc_requires_grad(check(t != NULL) ? t : NULL); }

#define IMG FC_SHAPE(64, 256, 32, 32)

int main(void) {
    fc_set_num_threads(2);
    fc_manual_seed(0);
    static const struct { op op; const char *name; } unary[] = {
        {OP_RELU, "relu_64x256x32x32"},
        {OP_GELU, "gelu_64x256x32x32"},
        {OP_SIGMOID, "sigmoid_64x256x32x32"},
        {OP_TANH, "tanh_64x256x32x32"},
    };
    for (int i = 0; i < 4; i++) {
        ctx c = {unary[i].op, {leaf(fc_randn(IMG))}, 1, {NULL}, fc_randn(IMG)};
        bench(unary[i].name, &c);
    }
    {
        ctx c = {OP_ADD_BCAST, {leaf(fc_randn(IMG)), leaf(fc_randn(FC_SHAPE(256, 1, 1)))}, 2, {NULL},
                 fc_randn(IMG)};
        bench("add_bcast_64x256x32x32+256x1x1", &c);
    }
    {
        ctx c = {OP_SOFTMAX, {leaf(fc_randn(FC_SHAPE(4096, 1000)))}, 1, {NULL},
                 fc_randn(FC_SHAPE(4096, 1000))};
        bench("softmax_4096x1000", &c);
    }
    {
        ctx c = {OP_CROSS_ENTROPY, {leaf(fc_randn(FC_SHAPE(4096, 1000)))}, 1,
                 {fc_randint(0, 1000, FC_SHAPE(4096), .dtype = FC_DTYPE_I64)}, NULL};
        bench("cross_entropy_4096x1000", &c);
    }
    {
        ctx c = {OP_BATCH_NORM,
                 {leaf(fc_randn(IMG)), leaf(fc_ones(FC_SHAPE(256))), leaf(fc_zeros(FC_SHAPE(256)))}, 3,
                 {fc_zeros(FC_SHAPE(256)), fc_ones(FC_SHAPE(256))}, fc_randn(IMG)};
        bench("batch_norm_train_64x256x32x32", &c);
    }
    {
        ctx c = {OP_LAYER_NORM,
                 {leaf(fc_randn(FC_SHAPE(4096, 1024))), leaf(fc_ones(FC_SHAPE(1024))),
                  leaf(fc_zeros(FC_SHAPE(1024)))}, 3,
                 {NULL}, fc_randn(FC_SHAPE(4096, 1024))};
        bench("layer_norm_4096x1024", &c);
    }
    {
        ctx c = {OP_MAX_POOL, {leaf(fc_randn(IMG))}, 1, {NULL}, fc_randn(FC_SHAPE(64, 256, 16, 16))};
        bench("max_pool2d_2x2_64x256x32x32", &c);
    }
    {
        ctx c = {OP_EMBEDDING, {leaf(fc_randn(FC_SHAPE(50000, 400)))}, 1,
                 {fc_randint(0, 50000, FC_SHAPE(64, 70), .dtype = FC_DTYPE_I64)},
                 fc_randn(FC_SHAPE(64, 70, 400))};
        bench("embedding_50000x400_idx64x70", &c);
    }
    {
        ctx c = {OP_DROPOUT, {leaf(fc_randn(IMG))}, 1, {NULL}, fc_randn(IMG)};
        bench("dropout_0.5_64x256x32x32", &c);
    }
    return fc_report(fc_error_code());
}
