/* Issue 9's training proof on the GPU: MNIST_SAMPLE (3 vs 7, 12,396 train / 2,038 valid images)
 * through fc_image_dls_from_folder + fc_vision_learner, the same model and recipe as the CPU's
 * tests/vision/test_mnist_sample.c, with the model on the device (the learner then delivers the
 * batches there and runs augmentation, loss, metrics and the optimizer on it). One epoch must
 * reach the CPU test's 98%, in f32 and under bf16 MixedPrecision, and the device must have done
 * the work: the parameters are still on it and its allocator served the step's tensors. */
#include <stdio.h>
#include <stdlib.h>

#include "cuda_test.h"
#include "fastc/vision.h"
#include "vision/vision_data.h"

static double mnist_sample_epoch(fc_dtype amp) {
    /* set by scripts/gpu-check.sh under compute-sanitizer and by ctest on the CUDA emulator (minutes
     * per epoch there); the plain GPU run and `make check-emu-train` train */
    if (getenv("FCT_CUDA_NO_TRAIN")) {
        printf("  not run: FCT_CUDA_NO_TRAIN is set\n");
        return -1;
    }
    const char *path = vision_dataset("mnist_sample");
    if (!path) return -1;
    fc_manual_seed(42);
    fc_dataloaders *dls = fc_image_dls_from_folder(path, .bs = 64);
    fc_callback *mp = amp == FC_DTYPE_F32 ? NULL : fc_mixed_precision(.dtype = amp);
    fc_learner *learn = fc_vision_learner(dls, "xresnet18", .model = {.widen = 0.25}, .metrics = FC_METRICS(fc_accuracy()),
                                          .quiet = 1, .cbs = mp ? FC_CALLBACKS(mp) : (fc_callbacks){0});
    if (!FCT_NOTNULL(learn)) return -1;
    fc_module *model = fc_learner_model(learn);
    FCT_OK(fc_module_to(model, TEST_DEVICE));
    uint64_t allocs0 = fc_cuda_memory_stats_get().n_allocs;
    FCT_OK(fc_fit_one_cycle(learn, 1, .lr_max = 1e-2));
    double acc = fc_learner_monitor(learn, "accuracy");
    fc_tensor *w = fc_module_parameter(model, 0, NULL);
    FCT_EQ_INT(w ? (int)fc_tensor_device(w).type : -1, (int)TEST_DEVICE.type);
    FCT_EQ_INT(fc_dataloader_device(fc_learner_dls(learn)->train).type, TEST_DEVICE.type);
#ifndef FCT_CUDA_DRYRUN
    FCT_TRUE(fc_cuda_memory_stats_get().n_allocs > allocs0 + 1000); /* the steps' tensors lived on the device */
#else
    (void)allocs0;
#endif
    fc_learner_free(learn);
    return acc;
}

FCT_TEST(test_mnist_sample_one_epoch_98_percent_on_cuda) {
    NEED_GPU();
    double acc = mnist_sample_epoch(FC_DTYPE_F32);
    if (acc < 0) return;
    printf("  mnist_sample on %s: accuracy %.4f after 1 epoch (f32)\n", fc_device_name(TEST_DEVICE), acc);
    fct_check(acc >= 0.98, __FILE__, __LINE__, "expected accuracy >= 0.98 after one epoch, found %.4f", acc);
}

FCT_TEST(test_mnist_sample_one_epoch_98_percent_on_cuda_bf16) {
    NEED_GPU();
    double acc = mnist_sample_epoch(FC_DTYPE_BF16);
    if (acc < 0) return;
    printf("  mnist_sample on %s: accuracy %.4f after 1 epoch (bf16 MixedPrecision)\n", fc_device_name(TEST_DEVICE), acc);
    fct_check(acc >= 0.98, __FILE__, __LINE__, "expected accuracy >= 0.98 after one epoch, found %.4f", acc);
}

FCT_TEST(test_zz_train_report_skips) {
    if (n_skipped)
        printf("  [cuda train] %d device test(s) SKIPPED: no CUDA device on this machine; these are NOT passes\n",
               n_skipped);
}
