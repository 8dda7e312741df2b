/* The generated shapes dataset: shapes, labels, determinism, bad arguments. */
#include <string.h>
#include "fastc/data.h"
#include "fct.h"

FCT_TEST(test_shapes_dataset_is_balanced_and_reproducible) {
    fc_tensor *x, *y, *x2, *y2;
    FCT_OK(fc_shapes_dataset(40, 16, 3, &x, &y));
    FCT_OK(fc_shapes_dataset(40, 16, 3, &x2, &y2));
    FCT_EQ_INT(fc_tensor_ndim(x), 4);
    FCT_EQ_INT(fc_tensor_dim(x, 2), 16);
    FCT_CLOSE(x, x2, 0, 0);
    int counts[4] = {0};
    for (int i = 0; i < 40; i++) counts[(int)fc_tensor_get(y, i)]++;
    for (int c = 0; c < 4; c++) FCT_EQ_INT(counts[c], 10);
    double lo = 1, hi = 0;
    for (int64_t i = 0; i < fc_tensor_numel(x); i++) {
        double v = fc_tensor_get(x, i);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    FCT_TRUE(lo >= 0 && hi <= 1 && hi - lo > 0.5);
    FCT_TRUE(!strcmp(fc_shapes_class_name(2), "triangle"));
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_tensor_free(x2);
    fc_tensor_free(y2);
}

FCT_TEST(test_shapes_dataset_rejects_bad_size) {
    fc_tensor *x, *y;
    FCT_TRUE(fc_shapes_dataset(10, 4, 0, &x, &y) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "size in 12..128, found n 10, size 4");
    FCT_TRUE(x == NULL && y == NULL);
}
