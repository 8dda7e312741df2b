/* ImageDataLoaders.from_folder on real images (mnist_tiny) and its errors. */
#include <string.h>

#include "fastc/vision.h"
#include "fct.h"
#include "vision_data.h"

FCT_TEST(test_image_dls_from_folder_mnist_tiny) {
    const char *path = vision_dataset("mnist_tiny");
    if (!path) return;
    fc_dataloaders *dls = fc_image_dls_from_folder(path, .bs = 32);
    if (!FCT_NOTNULL(dls)) return;
    FCT_EQ_INT(fc_dataloader_n(dls->train), 709); /* train/3 346 + train/7 363; test/ is not read */
    FCT_EQ_INT(fc_dataloader_n(dls->valid), 699);
    FCT_EQ_INT(dls->n_vocab, 2);
    FCT_TRUE(!strcmp(dls->vocab[0], "3") && !strcmp(dls->vocab[1], "7"));
    fc_tuple b = {0};
    FCT_OK(fc_dataloader_one_batch(dls->train, &b));
    fc_shape s = fc_tensor_shape(b.v[0].t);
    FCT_TRUE(s.ndim == 4 && s.d[0] == 32 && s.d[1] == 1 && s.d[2] == 28 && s.d[3] == 28);
    FCT_TRUE(fc_tensor_dtype(b.v[0].t) == FC_DTYPE_F32);
    FCT_TRUE(b.v[1].kind == fc_kind_category);
    float mx = 0;
    for (int64_t i = 0; i < fc_tensor_numel(b.v[0].t); i++) mx = fc_tensor_data_f32(b.v[0].t)[i] > mx ? fc_tensor_data_f32(b.v[0].t)[i] : mx;
    FCT_TRUE(mx > 0.9f && mx <= 1.0f); /* u8 / 255 */
    fc_tuple_free(&b);
    /* a random split of every image instead of the folders */
    fc_dataloaders_free(dls);
    dls = fc_image_dls_from_folder(path, .valid_pct = 0.25, .seed = 7);
    if (FCT_NOTNULL(dls)) {
        int64_t n = fc_dataloader_n(dls->train) + fc_dataloader_n(dls->valid);
        FCT_EQ_INT(n, 709 + 699 + 20); /* test/ images are labelled "test" */
        FCT_EQ_INT(fc_dataloader_n(dls->valid), (int64_t)(0.25 * n));
    }
    fc_dataloaders_free(dls);
}

FCT_TEST(test_image_dls_from_folder_errors) {
    FCT_NULL(fc_image_dls_from_folder("no_such_folder_xyz"));
    FCT_ERROR(FC_ERR_IO, "expected the dataset folder 'no_such_folder_xyz'");
    const char *path = vision_dataset("mnist_tiny");
    if (!path) return;
    FCT_NULL(fc_image_dls_from_folder(path, .valid = "validation", .item_tfms = FC_TFMS(fc_to_tensor())));
    FCT_ERROR(FC_ERR_IO, "expected the validation folder");
}
