/* The backward engine: accumulation, shared subgraphs, no-grad, detach, released graphs. */
#include "fct.h"

FCT_TEST(test_grad_accumulates_across_backward_calls) {
    fc_tensor *x = fc_keep(fc_requires_grad(fc_full(FC_SHAPE(3), 2.0)));
    for (int k = 0; k < 2; k++) FCT_OK(fc_backward(fc_sum(fc_mul(x, x), FC_ALL_DIMS, 0)));
    FCT_NEAR(fc_tensor_get(fc_tensor_grad(x), 0), 8.0, 1e-6); /* 2 * (2x) */
    fc_tensor_zero_grad(x);
    FCT_TRUE(fc_tensor_grad(x) == NULL);
    fc_tensor_free(x);
}

FCT_TEST(test_shared_subgraph_sums_gradients) {
    fc_tensor *x = fc_keep(fc_requires_grad(fc_full(FC_SHAPE(2), 3.0)));
    fc_tensor *h = fc_mul(x, x);             /* used twice below */
    fc_tensor *y = fc_sum(fc_add(fc_mul(h, x), h), FC_ALL_DIMS, 0); /* x^3 + x^2 */
    FCT_OK(fc_backward(y));
    FCT_NEAR(fc_tensor_get(fc_tensor_grad(x), 1), 3 * 9 + 2 * 3, 1e-5);
    fc_tensor_free(x);
}

FCT_TEST(test_no_grad_and_detach_record_nothing) {
    fc_tensor *x = fc_requires_grad(fc_ones(FC_SHAPE(2)));
    fc_no_grad_begin();
    fc_tensor *y = fc_mul(x, x);
    fc_no_grad_end();
    FCT_TRUE(!fc_tensor_requires_grad(y));
    FCT_TRUE(!fc_tensor_requires_grad(fc_detach(x)));
    FCT_TRUE(fc_backward(fc_sum(y, FC_ALL_DIMS, 0)) == FC_ERR_STATE);
    FCT_ERROR(FC_ERR_STATE, "does not require grad");
}

FCT_TEST(test_backward_twice_needs_retain_graph) {
    fc_tensor *x = fc_requires_grad(fc_ones(FC_SHAPE(2)));
    fc_tensor *y = fc_sum(fc_mul(x, x), FC_ALL_DIMS, 0);
    FCT_OK(fc_backward(y, .retain_graph = 1));
    FCT_OK(fc_backward(y));
    FCT_NEAR(fc_tensor_get(fc_tensor_grad(x), 0), 4.0, 1e-6);
    FCT_TRUE(fc_backward(y) == FC_ERR_STATE);
    FCT_ERROR(FC_ERR_STATE, "already released");
}

FCT_TEST(test_backward_after_scope_end_is_a_clear_error) {
    fc_tensor *x = fc_keep(fc_requires_grad(fc_ones(FC_SHAPE(2))));
    fc_scope *s = fc_scope_begin();
    fc_tensor *loss = fc_keep(fc_sum(fc_mul(x, x), FC_ALL_DIMS, 0));
    fc_scope_end(s);
    FCT_TRUE(fc_backward(loss) == FC_ERR_STATE);
    FCT_ERROR(FC_ERR_STATE, "its scope ended");
    fc_tensor_free(loss);
    fc_tensor_free(x);
}

FCT_TEST(test_backward_rejects_non_scalar) {
    fc_tensor *x = fc_requires_grad(fc_ones(FC_SHAPE(2)));
    FCT_TRUE(fc_backward(fc_mul(x, x)) == FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "expected a one-element loss, found shape [2]");
}

FCT_TEST(test_int_tensor_cannot_require_grad) {
    FCT_NULL(fc_requires_grad(fc_zeros(FC_SHAPE(2), .dtype = FC_DTYPE_I64)));
    FCT_ERROR(FC_ERR_DTYPE, "only float tensors can require grad");
}

FCT_TEST(test_backward_through_non_differentiable_op_is_a_clear_error) {
    fc_tensor *x = fc_requires_grad(fc_randn(FC_SHAPE(3, 4)));
    fc_tensor *i = fc_argmax(x, 1, 0);
    FCT_TRUE(!fc_tensor_requires_grad(i));
    FCT_TRUE(fc_backward(fc_sum(fc_to_dtype(i, FC_DTYPE_F32), FC_ALL_DIMS, 0)) == FC_ERR_STATE);
    FCT_ERROR(FC_ERR_STATE, "non-differentiable op");
}
