/* Devices in every build: a CUDA request on a build without CUDA, or on a machine without a GPU,
 * fails with a message that says which, and leaves nothing allocated. */
#include "fastc/cuda.h"
#include "fct.h"

/* The failure a CUDA request must give here, or NULL when a GPU is present (then tests/cuda runs
 * the device tests). */
static const char *expected_failure(void) {
    if (!fc_cuda_is_built()) return "CUDA requested (cuda:0) but fastc was built without CUDA";
    if (!fc_cuda_is_available()) return "CUDA requested but no CUDA device was found (cudaGetDeviceCount: ";
    return NULL;
}

FCT_TEST(test_cuda_request_fails_clearly_without_a_device) {
    const char *want = expected_failure();
    if (!want) {
        printf("  [test_device] a CUDA device is present: the no-device checks do not apply\n");
        return;
    }
    FCT_EQ_INT(fc_cuda_device_count(), 0);
    FCT_EQ_INT(fc_cuda_is_available(), 0);
    FCT_EQ_INT(fc_error_code(), FC_OK); /* the queries never set an error */
    fc_tensor *x = fc_ones(FC_SHAPE(4, 3));
    FCT_NULL(fc_tensor_to(x, FC_CUDA));
    FCT_ERROR(FC_ERR_DEVICE, want);
    FCT_NULL(fc_zeros(FC_SHAPE(2), .device = FC_CUDA));
    FCT_ERROR(FC_ERR_DEVICE, want);
    FCT_NULL(fc_randn(FC_SHAPE(8), .device = FC_CUDA));
    FCT_ERROR(FC_ERR_DEVICE, want);
    const float two[2] = {1, 2};
    FCT_NULL(fc_from_data(two, FC_SHAPE(2), .device = FC_CUDA));
    FCT_ERROR(FC_ERR_DEVICE, want);
    FCT_EQ_INT(fc_cuda_check(FC_CUDA), FC_ERR_DEVICE);
    FCT_ERROR(FC_ERR_DEVICE, want);
    FCT_EQ_INT(fc_tensor_move_(x, FC_CUDA), FC_ERR_DEVICE);
    FCT_ERROR(FC_ERR_DEVICE, want);
    /* x is untouched and still on the host */
    FCT_EQ_INT(fc_tensor_device(x).type, FC_DEVICE_CPU);
    FCT_NEAR(fc_tensor_get(x, 11), 1, 0);
    fc_tensor_free(x);
    /* host bytes: the harness checks every test for leaks; device bytes: */
    fc_cuda_memory_stats ms = fc_cuda_memory_stats_get();
    FCT_EQ_INT(ms.bytes_in_use, 0);
    FCT_EQ_INT(ms.n_device_allocs, 0);
}

FCT_TEST(test_cpu_requests_need_no_cuda) {
    FCT_OK(fc_cuda_check(FC_CPU));
    fc_tensor *x = fc_arange(0, 6, 1);
    fc_tensor *y = fc_tensor_to(x, FC_CPU);
    FCT_CLOSE(y, x, 0, 0);
    FCT_OK(fc_tensor_move_(x, FC_CPU));
    FCT_EQ_INT(fc_tensor_device(y).type, FC_DEVICE_CPU);
}

FCT_TEST(test_tf32_switch_round_trips) {
    FCT_EQ_INT(fc_cuda_allow_tf32(), 0);
    fc_cuda_set_allow_tf32(1);
    FCT_EQ_INT(fc_cuda_allow_tf32(), 1);
    fc_cuda_set_allow_tf32(0);
    FCT_EQ_INT(fc_cuda_allow_tf32(), 0);
}
