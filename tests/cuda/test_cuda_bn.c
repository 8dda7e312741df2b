/* Batch norm on the device at the sizes that matter (src/ops/cuda/norm.cu splits each channel's
 * sums over several blocks): forward, backward and running statistics against the CPU, training
 * and eval, a 4-D [64, 8, 32, 32] batch (16 partitions per channel), a wide BatchNorm1d and a
 * channel-heavy 4-D one; the same bits on a second run. The split itself is host-side arithmetic,
 * tested without a GPU. */
#include <string.h>

#include "cuda_test.h"
#include "fastc/nn.h"
#include "ops/cuda/kernels.h"

FCT_TEST(test_batch_norm_partitions_follow_the_shape_only) {
    FCT_EQ_INT(fci_cuda_batch_norm_parts(512, 64, 1024), 16); /* ResNet-9's first layers: 1024 blocks */
    FCT_EQ_INT(fci_cuda_batch_norm_parts(64, 8, 1024), 16);   /* by size: 65,536 values / 4,096 */
    FCT_EQ_INT(fci_cuda_batch_norm_parts(512, 512, 16), 2);
    FCT_EQ_INT(fci_cuda_batch_norm_parts(256, 3000, 1), 1);   /* few values a channel: one block */
    FCT_EQ_INT(fci_cuda_batch_norm_parts(2, 3, 4), 1);
    FCT_EQ_INT(fci_cuda_batch_norm_parts(1, 0, 5), 1);
    FCT_EQ_INT((int64_t)fci_cuda_batch_norm_ws_bytes(64, 8, 1024), 2 * 8 * 16 * 8 + 3 * 8 * 4);
}

typedef struct bn_out {
    fc_tensor *y, *dx, *dw, *db, *rm, *rv;
} bn_out;

static bn_out bn_run(fc_tensor *x0, fc_tensor *dy0, fc_device d, int training) {
    int64_t C = fc_tensor_dim(x0, 1);
    fc_manual_seed(5);
    fc_tensor *w = fc_keep(fc_tensor_to(fc_add(fc_rand(FC_SHAPE(C)), fc_scalar(0.5)), d));
    fc_tensor *b = fc_keep(fc_tensor_to(fc_randn(FC_SHAPE(C)), d));
    fc_tensor *rm = fc_keep(fc_tensor_to(fc_randn(FC_SHAPE(C)), d));
    fc_tensor *rv = fc_keep(fc_tensor_to(fc_add(fc_rand(FC_SHAPE(C)), fc_scalar(1.0)), d));
    fc_requires_grad(w);
    fc_requires_grad(b);
    fc_tensor *x = fc_requires_grad(fc_tensor_to(x0, d));
    fc_tensor *y = fc_batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5);
    bn_out o = {0};
    if (!FCT_NOTNULL(y)) return o;
    FCT_OK(fc_backward_with(y, fc_tensor_to(dy0, d)));
    o.y = fc_keep(host(y));
    o.dx = fc_keep(host(fc_tensor_grad(x)));
    o.dw = fc_keep(host(fc_tensor_grad(w)));
    o.db = fc_keep(host(fc_tensor_grad(b)));
    o.rm = fc_keep(host(rm));
    o.rv = fc_keep(host(rv));
    fc_tensor_free(w), fc_tensor_free(b), fc_tensor_free(rm), fc_tensor_free(rv);
    return o;
}

static void bn_free(bn_out *o) {
    fc_tensor_free(o->y), fc_tensor_free(o->dx), fc_tensor_free(o->dw), fc_tensor_free(o->db);
    fc_tensor_free(o->rm), fc_tensor_free(o->rv);
}

static int same_bits(fc_tensor *a, fc_tensor *b) {
    return a && b && fc_tensor_numel(a) == fc_tensor_numel(b) &&
           !memcmp(fc_tensor_data(a), fc_tensor_data(b), (size_t)fc_tensor_numel(a) * sizeof(float));
}

static void bn_case(fc_shape shape, int training) {
    fc_manual_seed(9);
    /* an offset mean: the shifted sums must keep the variance */
    fc_tensor *x = fc_keep(fc_add(fc_mul(fc_randn(shape), fc_scalar(2.0)), fc_scalar(3.0)));
    fc_tensor *dy = fc_keep(fc_randn(shape));
    bn_out c = bn_run(x, dy, FC_CPU, training), g = bn_run(x, dy, TEST_DEVICE, training),
           g2 = bn_run(x, dy, TEST_DEVICE, training);
    if (c.y && g.y && g2.y) {
        FCT_CLOSE(g.y, c.y, 1e-5, 1e-5);
        FCT_CLOSE(g.dx, c.dx, 1e-5, 1e-4);
        FCT_CLOSE(g.dw, c.dw, 1e-5, 1e-4); /* sums of ~65k products: rounding grows with the count */
        FCT_CLOSE(g.db, c.db, 1e-5, 1e-4);
        FCT_CLOSE(g.rm, c.rm, 1e-6, 1e-6);
        FCT_CLOSE(g.rv, c.rv, 1e-6, 1e-6);
        FCT_TRUE(same_bits(g.y, g2.y) && same_bits(g.dx, g2.dx) && same_bits(g.dw, g2.dw) &&
                 same_bits(g.db, g2.db) && same_bits(g.rv, g2.rv)); /* deterministic */
    }
    bn_free(&c), bn_free(&g), bn_free(&g2);
    fc_tensor_free(x), fc_tensor_free(dy);
}

FCT_TEST(test_batch_norm_at_scale_matches_the_cpu_on_cuda) {
    NEED_GPU();
    bn_case(FC_SHAPE(64, 8, 32, 32), 1);  /* 16 partitions a channel */
    bn_case(FC_SHAPE(64, 8, 32, 32), 0);  /* eval: the running statistics */
    bn_case(FC_SHAPE(256, 3000), 1);      /* BatchNorm1d: many channels, one block each */
    bn_case(FC_SHAPE(37, 6, 33, 31), 1);  /* 10 partitions of unequal length (37,851 values) */
}

FCT_TEST(test_zz_bn_report_skips) {
    if (n_skipped)
        printf("  [cuda bn] %d device test(s) SKIPPED: no CUDA device on this machine; these are NOT passes\n",
               n_skipped);
}
