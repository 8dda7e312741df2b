/* fc_module_summary: leaf lines with names, types, output shapes and counts; totals; modes kept. */
#include <stdlib.h>
#include <string.h>

#include "fastc/nn.h"
#include "fct.h"

#define FCT_CONTAINS(text, fragment) \
    fct_check((text) && strstr((text), (fragment)) != NULL, __FILE__, __LINE__, "expected '%s' in:\n%s", \
              (fragment), (text) ? (text) : "(null)")

/* One table row: name, type, output shape, parameter count in their columns. */
static void check_row(const char *text, const char *name, const char *type, const char *shape,
                      const char *count, int line) {
    char row[256];
    snprintf(row, sizeof row, "\n%-24s %-20s %-22s %12s\n", name, type, shape, count);
    fct_check(text && strstr(text, row) != NULL, __FILE__, line, "expected row '%s' in:\n%s", row + 1,
              text ? text : "(null)");
}
#define CHECK_ROW(text, name, type, shape, count) check_row((text), (name), (type), (shape), (count), __LINE__)

FCT_TEST(test_summary_lists_leaves_shapes_and_counts) {
    fc_module *m = fc_sequential(fc_conv2d_new(1, 16, 3, .padding = 1), fc_batchnorm2d_new(16),
                                 fc_relu_new(), fc_maxpool2d_new(2), fc_flatten_new(),
                                 fc_residual_new(fc_linear_new(16 * 14 * 14, 16 * 14 * 14, .no_bias = 1)),
                                 fc_linear_new(16 * 14 * 14, 10));
    fc_module_train(m, 1);
    fc_module_eval(fc_module_child(m, "3"));
    int64_t rm_before = (int64_t)fc_tensor_item(fc_module_get(m, "1.num_batches_tracked"));
    char *s = fc_module_summary(m, FC_SHAPE(64, 1, 28, 28));
    FCT_NOTNULL(s);
    FCT_CONTAINS(s, "Sequential (Input shape: 64 x 1 x 28 x 28)");
    FCT_CONTAINS(s, "Output Shape");
    CHECK_ROW(s, "0", "Conv2d", "64 x 16 x 28 x 28", "160");
    CHECK_ROW(s, "1", "BatchNorm2d", "64 x 16 x 28 x 28", "32");
    CHECK_ROW(s, "3", "MaxPool2d", "64 x 16 x 14 x 14", "0");
    CHECK_ROW(s, "4", "Flatten", "64 x 3136", "0");
    CHECK_ROW(s, "5.module", "Linear", "64 x 3136", "9,834,496");
    CHECK_ROW(s, "6", "Linear", "64 x 10", "31,370");
    FCT_CONTAINS(s, "Total params: 9,866,058\n");
    FCT_CONTAINS(s, "Trainable params: 9,866,058\n");
    FCT_CONTAINS(s, "Non-trainable params: 0\n");
    FCT_TRUE(strstr(s, "Residual") == NULL); /* containers have no line of their own */
    free(s);
    /* modes restored one by one, batchnorm statistics untouched */
    FCT_TRUE(fc_module_is_training(m));
    FCT_TRUE(fc_module_is_training(fc_module_child(m, "1")));
    FCT_TRUE(!fc_module_is_training(fc_module_child(m, "3")));
    FCT_EQ_INT((int64_t)fc_tensor_item(fc_module_get(m, "1.num_batches_tracked")), rm_before);
    fc_module_free(m);
}

FCT_TEST(test_summary_of_token_model_and_errors) {
    fc_module *m = fc_sequential(fc_embedding_new(100, 8), fc_lstm_new(8, 4, .batch_first = 1));
    char *s = fc_module_summary(m, FC_SHAPE(2, 5), .dtype = FC_DTYPE_I64);
    CHECK_ROW(s, "0", "Embedding", "2 x 5 x 8", "800");
    CHECK_ROW(s, "1", "LSTM", "2 x 5 x 4", "224");
    free(s);
    FCT_NULL(fc_module_summary(m, FC_SHAPE(2, 5)));
    FCT_ERROR(FC_ERR_DTYPE, "embedding");
    FILE *f = tmpfile();
    FCT_OK(fc_module_print_summary(m, FC_SHAPE(1, 3), f, .dtype = FC_DTYPE_I64));
    FCT_TRUE(f && ftell(f) > 200);
    if (f) fclose(f);
    /* a frozen parameter counts as non-trainable */
    FCT_OK(fc_tensor_set_requires_grad(fc_module_get(m, "0.weight"), 0));
    s = fc_module_summary(m, FC_SHAPE(2, 5), .dtype = FC_DTYPE_I64);
    FCT_CONTAINS(s, "Trainable params: 224\nNon-trainable params: 800\n");
    free(s);
    fc_module_free(m);
}
