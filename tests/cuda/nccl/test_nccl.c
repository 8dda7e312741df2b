/* The NCCL backend (src/learner/comm_nccl.c) on real GPUs, run as `mpirun -np 2 test_nccl` on a
 * machine with two GPUs (scripts/gpu-check.sh), or -np 1 on one. Every rank runs every test in the
 * same order (the collectives match). Without a GPU each test prints SKIPPED. */
#include <math.h>
#include <stdio.h>

#include "core/cuda_impl.h"
#include "fastc/cuda.h"
#include "fastc/distributed.h"
#include "fastc/learner.h"
#include "fastc/nn.h"
#include "fct.h"
#include "learner/comm_impl.h"

static int need_gpu(const char *test) {
    if (fc_cuda_is_available()) return 1;
    fc_cuda_check(FC_CUDA);
    printf("  SKIPPED %s: no CUDA device (%s)\n", test, fc_error_message());
    fc_error_clear();
    return 0;
}
#define NEED_GPU() \
    if (!need_gpu(__func__)) return

static fc_tensor *host(fc_tensor *t) { return t ? fc_tensor_to(t, FC_CPU) : NULL; }

FCT_TEST(test_nccl_allreduce_and_broadcast_device_memory) {
    NEED_GPU();
    FCT_OK(fc_distributed_init());
    fc_device dev = fc_distributed_device();
    FCT_EQ_INT(dev.type, FC_DEVICE_CUDA);
    int rank = fc_distributed_rank(), world = fc_distributed_size();
    if (fc_cuda_device_count() >= world) FCT_EQ_INT(dev.index, fci_comm_local_rank(NULL) % fc_cuda_device_count());
    fci_comm *mpi = fci_comm_mpi_new();
    fci_comm *c = mpi ? fci_comm_nccl_new(mpi, dev.index) : NULL;
    if (!FCT_NOTNULL(c)) goto done;
    FCT_STR(c->ops->name, "nccl");
    FCT_EQ_INT(c->rank, rank);
    /* sum of rank + 1 over the ranks, on the device, in two requests in flight at once */
    fc_tensor *a = fc_keep(fc_full(FC_SHAPE(1000), rank + 1, .device = dev));
    fc_tensor *b = fc_keep(fc_full(FC_SHAPE(77), 2 * (rank + 1), .device = dev));
    int ra, rb;
    FCT_OK(c->ops->iallreduce_sum_f32(c, fc_tensor_data(a), 1000, &ra));
    FCT_OK(c->ops->iallreduce_sum_f32(c, fc_tensor_data(b), 77, &rb));
    FCT_OK(c->ops->wait(c, rb, fci_comm_now() + 60, "test allreduce b"));
    FCT_OK(c->ops->wait(c, ra, fci_comm_now() + 60, "test allreduce a"));
    FCT_EQ_INT(c->ops->progress(c), 0);
    double s = world * (world + 1) / 2.0;
    FCT_CLOSE(host(a), fc_full(FC_SHAPE(1000), s), 0, 0);
    FCT_CLOSE(host(b), fc_full(FC_SHAPE(77), 2 * s), 0, 0);
    /* broadcast from rank 0: device memory through NCCL, host memory through MPI */
    fc_tensor *p = fc_keep(fc_full(FC_SHAPE(33), 10 * rank + 5, .device = dev));
    FCT_OK(c->ops->broadcast(c, fc_tensor_data(p), 33 * sizeof(float), 0, fci_comm_now() + 60, "test broadcast"));
    FCT_CLOSE(host(p), fc_full(FC_SHAPE(33), 5), 0, 0);
    int h = 100 + rank;
    FCT_OK(c->ops->broadcast(c, &h, sizeof h, 0, fci_comm_now() + 60, "test host broadcast"));
    FCT_EQ_INT(h, 100);
    double v = rank;
    FCT_OK(c->ops->allreduce_sum_f64(c, &v, 1, fci_comm_now() + 60, "test f64"));
    FCT_NEAR(v, world * (world - 1) / 2.0, 0);
    FCT_OK(c->ops->barrier(c, fci_comm_now() + 60, "test barrier"));
    fc_tensor_free(a);
    fc_tensor_free(b);
    fc_tensor_free(p);
done:
    if (c) c->ops->free(c);
    if (mpi) mpi->ops->free(mpi);
}

#define N_TRAIN 64
#define N_VALID 37
#define B 8

static fc_module *mlp(void) {
    fc_manual_seed(11);
    return fc_sequential(fc_linear_new(8, 16), fc_relu_new(), fc_linear_new(16, 3));
}

static fc_learner *make_learner(fc_tensor **d, int64_t bs, int distributed, fc_device dev) {
    fc_module *m = mlp();
    FCT_OK(fc_module_to(m, dev));
    fc_learner *learn = fc_learner(fc_tensor_dls(d[0], d[1], d[2], d[3], .bs = bs, .seed = 5), m,
                                   .opt_func = fc_opt_sgd, .quiet = 1);
    if (learn && distributed) FCT_OK(fc_learner_distributed(learn, .timeout_s = 60, .bucket_mb = 0.0002));
    return learn;
}

/* DDP on GPUs with NCCL computes what one process computes with world * B on one GPU. */
FCT_TEST(test_nccl_weights_equal_one_process_with_world_times_batch) {
    NEED_GPU();
    FCT_OK(fc_distributed_init());
    fc_device dev = fc_distributed_device();
    int world = fc_distributed_size();
    fc_manual_seed(7);
    fc_tensor *d[4] = {fc_keep(fc_randn(FC_SHAPE(N_TRAIN, 8))), fc_keep(fc_randint(0, 3, FC_SHAPE(N_TRAIN))),
                       fc_keep(fc_randn(FC_SHAPE(N_VALID, 8))), fc_keep(fc_randint(0, 3, FC_SHAPE(N_VALID)))};
    fc_learner *ref = make_learner(d, world * B, 0, dev), *dist = make_learner(d, B, 1, dev);
    if (FCT_NOTNULL(ref) && FCT_NOTNULL(dist)) {
        FCT_OK(fc_fit(ref, 1, 0.1));
        FCT_OK(fc_fit(dist, 1, 0.1));
        fc_module *a = fc_learner_model(ref), *b = fc_learner_model(dist);
        for (int i = 0; i < fc_module_n_parameters(a); i++) {
            FCT_EQ_INT(fc_tensor_device(fc_module_parameter(b, i, NULL)).type, FC_DEVICE_CUDA);
            FCT_CLOSE(host(fc_module_parameter(b, i, NULL)), host(fc_module_parameter(a, i, NULL)), 1e-5, 1e-4);
        }
        FCT_NEAR(fc_learner_valid_loss(dist), fc_learner_valid_loss(ref), 1e-5);
        FCT_EQ_INT(fc_dataloader_device(fc_learner_dls(dist)->train).type, FC_DEVICE_CUDA);
        if (world > 1) {
            fc_distributed_stats s;
            FCT_OK(fc_learner_distributed_stats(dist, &s));
            FCT_EQ_INT(s.steps, N_TRAIN / (world * B));
            FCT_TRUE(s.n_buckets >= 2);
        }
    }
    fc_learner_free(ref);
    fc_learner_free(dist);
    for (int i = 0; i < 4; i++) fc_tensor_free(d[i]);
}
