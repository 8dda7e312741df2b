/* Loaders that deliver batches on a device (h-cudainfra): without CUDA, or without a device, the
 * option fails at once with the reason and a loader keeps working on the host. The device path
 * itself is tested in tests/cuda/test_cuda_infra.c (on a GPU). */
#include "fastc/cuda.h"
#include "fastc/data.h"
#include "fct.h"

static fc_dataset *small_dataset(void) {
    return fc_tensor_dataset(fc_randn(FC_SHAPE(10, 3)), NULL, fc_randint(0, 2, FC_SHAPE(10)), NULL);
}

FCT_TEST(test_dataloader_device_option_fails_clearly_without_cuda) {
    if (fc_cuda_is_available()) return; /* a GPU machine: tests/cuda covers it */
    const char *why = fc_cuda_is_built() ? "no CUDA device was found" : "fastc was built without CUDA";
    FCT_NULL(fc_dataloader_new(small_dataset(), .bs = 4, .device = FC_CUDA));
    FCT_ERROR(FC_ERR_DEVICE, why);
    fc_dataloader *dl = fc_dataloader_new(small_dataset(), .bs = 4);
    FCT_EQ_INT(fc_dataloader_set_device(dl, FC_CUDA), FC_ERR_DEVICE);
    FCT_ERROR(FC_ERR_DEVICE, why);
    FCT_EQ_INT(fc_dataloader_device(dl).type, FC_DEVICE_CPU);
    fc_tuple b;
    FCT_EQ_INT(fc_dataloader_next(dl, &b), 1);
    FCT_EQ_INT(fc_tensor_device(b.v[0].t).type, FC_DEVICE_CPU);
    fc_tuple_free(&b);
    FCT_OK(fc_dataloader_set_device(dl, FC_CPU)); /* the cpu: always */
    fc_dataloader_free(dl);
}

FCT_TEST(test_dataloader_device_is_the_cpu_by_default) {
    fc_dataloader *dl = fc_dataloader_new(small_dataset(), .bs = 4);
    FCT_EQ_INT(fc_dataloader_device(dl).type, FC_DEVICE_CPU);
    int n = 0;
    fc_tuple b;
    while (fc_dataloader_next(dl, &b) == 1) {
        n++;
        fc_tuple_free(&b);
    }
    FCT_EQ_INT(n, 3);
    fc_dataloader_free(dl);
}
