/* fc_learner_distributed outside mpirun: the option checks (before any MPI call) and, in a build
 * without MPI, the clear "built without MPI" error. The data-parallel behaviour itself is tested
 * under mpirun by tests/distributed. */
#include "fastc/distributed.h"
#include "fct.h"

FCT_TEST(test_learner_distributed_checks_options_or_says_built_without_mpi) {
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 2)), *y = fc_zeros(FC_SHAPE(4), .dtype = FC_DTYPE_I64);
    fc_learner *learn = fc_learner(fc_tensor_dls(x, y, x, y), fc_linear_new(2, 2), .quiet = 1);
    FCT_TRUE(fc_learner_distributed(learn, .bucket_mb = -1) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "learner_distributed: .bucket_mb and .timeout_s must be >= 0, found -1 and 0");
    if (!fc_distributed_available()) {
        FCT_TRUE(fc_learner_distributed(learn) == FC_ERR_UNSUPPORTED);
        FCT_ERROR(FC_ERR_UNSUPPORTED, "fastc was built without MPI");
        FCT_TRUE(fc_distributed_init() == FC_ERR_UNSUPPORTED);
        FCT_ERROR(FC_ERR_UNSUPPORTED, "built without MPI");
    }
    FCT_EQ_INT(fc_distributed_rank(), 0);
    FCT_EQ_INT(fc_distributed_size(), 1);
    fc_learner_free(learn);
    fc_tensor_free(x);
    fc_tensor_free(y);
}
