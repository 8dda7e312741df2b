/* fc_learner_distributed's .backend (h-cudainfra): checked before MPI starts, so a wrong name or
 * NCCL in a build without it fails at once with the reason, in a plain process. */
#include "fastc/cuda.h"
#include "fastc/distributed.h"
#include "fastc/learner.h"
#include "fastc/nn.h"
#include "fct.h"

static fc_learner *tiny_learner(void) {
    fc_tensor *x = fc_randn(FC_SHAPE(32, 4)), *y = fc_randint(0, 2, FC_SHAPE(32));
    fc_dataloaders *dls = fc_tensor_dls(x, y, x, y, .bs = 8);
    fc_module *m = fc_sequential(fc_linear_new(4, 8), fc_relu_new(), fc_linear_new(8, 2));
    return fc_learner(dls, m, .quiet = 1);
}

FCT_TEST(test_distributed_backend_is_checked_before_mpi_starts) {
    fc_learner *learn = tiny_learner();
    FCT_NOTNULL(learn);
    FCT_EQ_INT(fc_learner_distributed(learn, .backend = "gloo"), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".backend must be \"auto\", \"mpi\" or \"nccl\", found \"gloo\"");
    fc_status st = fc_learner_distributed(learn, .backend = "nccl");
    if (!fc_distributed_nccl_available()) {
        FCT_EQ_INT(st, FC_ERR_UNSUPPORTED);
        FCT_ERROR(FC_ERR_UNSUPPORTED, "fastc was built without NCCL: it needs the CUDA toolkit, NCCL");
    } else {
        FCT_EQ_INT(st, FC_ERR_ARG);
        FCT_ERROR(FC_ERR_ARG, ".backend = \"nccl\" needs the model on a CUDA device, found its parameters on cpu");
    }
    FCT_TRUE(fc_learner_cb(learn, "Distributed") == NULL);
    fc_learner_free(learn);
}

FCT_TEST(test_distributed_device_is_the_cpu_without_a_gpu) {
    fc_device d = fc_distributed_device();
    FCT_EQ_INT(d.type, fc_cuda_is_available() ? FC_DEVICE_CUDA : FC_DEVICE_CPU);
    FCT_EQ_INT(fc_error_code(), FC_OK);
    FCT_EQ_INT(fc_distributed_nccl_available() && !fc_distributed_available(), 0); /* NCCL needs MPI */
}
