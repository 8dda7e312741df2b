/* Broadcasting arithmetic against PyTorch fixtures, plus gradchecks. */
#include "binary_check.h"

FCT_TEST(test_add_matches_pytorch) {
    check_binary("ops/add_bcast", fc_add, 0);
    check_binary("ops/add_strided", fc_add, 1);
}
FCT_TEST(test_sub_matches_pytorch) {
    check_binary("ops/sub_bcast", fc_sub, 0);
    check_binary("ops/sub_strided", fc_sub, 1);
}
FCT_TEST(test_mul_matches_pytorch) {
    check_binary("ops/mul_bcast", fc_mul, 0);
    check_binary("ops/mul_strided", fc_mul, 1);
}
FCT_TEST(test_div_matches_pytorch) {
    check_binary("ops/div_bcast", fc_div, 0);
    check_binary("ops/div_strided", fc_div, 1);
}

FCT_TEST(test_arith_gradcheck) {
    binop ops[] = {fc_add, fc_sub, fc_mul, fc_div};
    for (int k = 0; k < 4; k++) {
        fc_tensor *in[2] = {fc_requires_grad(fct_randn(FC_SHAPE(3, 1, 4), 1)),
                            fc_requires_grad(fct_randn(FC_SHAPE(2, 4), 2))};
        if (k == 3) { /* keep the divisor away from zero */
            float *p = fc_tensor_data(in[1]);
            for (int i = 0; i < 8; i++) p[i] = 1.0f + 0.25f * (float)i;
        }
        FCT_EQ_INT(FCT_GRADCHECK(call2, (void *)ops[k], 2, in), 0);
        fc_tensor_free(in[0]);
        fc_tensor_free(in[1]);
    }
}

FCT_TEST(test_add_rejects_shapes_that_do_not_broadcast) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2, 3)), *b = fc_zeros(FC_SHAPE(4, 3));
    FCT_NULL(fc_add(a, b));
    FCT_ERROR(FC_ERR_SHAPE, "add: shapes [2, 3] and [4, 3] do not broadcast");
}

FCT_TEST(test_add_passes_null_on) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2));
    FCT_NULL(fc_add(a, NULL));
    FCT_NULL(fc_mul(fc_add(a, NULL), a));
}

FCT_TEST(test_add_rejects_int_dtype) {
    fc_tensor *a = fc_zeros(FC_SHAPE(2), .dtype = FC_DTYPE_I64), *b = fc_zeros(FC_SHAPE(2));
    FCT_NULL(fc_add(a, b));
    FCT_ERROR(FC_ERR_DTYPE, "add: expected a of dtype f32, found i64");
}
