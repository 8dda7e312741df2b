/* Tied parameters: one tensor registered under two names is listed once (PyTorch's
 * named_parameters() dedup), found under both names, and its .grad sums both uses. */
#include "fct.h"
#include "fastc/nn.h"

FCT_TEST(test_module_tied_parameter_is_listed_once_and_sums_grads) {
    fc_module *a = fc_linear_new(3, 3), *b = fc_linear_new(3, 3, .no_bias = 1);
    fc_tensor *w = fc_module_get(a, "weight");
    fc_module *seq = fc_sequential(a, fc_module_new(fc_module_definition(b), NULL));
    fc_module_free(b);
    fc_module *b2 = fc_module_child(seq, "1");
    FCT_NOTNULL(fc_module_add_parameter(b2, "weight", fc_tensor_ref(w)));
    FCT_EQ_INT(fc_module_n_parameters(seq), 2); /* 0.weight, 0.bias; 1.weight is the same tensor */
    const char *name = NULL;
    FCT_TRUE(fc_module_parameter(seq, 1, &name) == fc_module_get(seq, "0.bias"));
    FCT_STR(name, "0.bias");
    FCT_TRUE(fc_module_get(seq, "1.weight") == w);
    FCT_EQ_INT(fc_module_num_params(seq), 12);
    /* x -> W x + b -> W (W x + b) uses W twice: dL/dW = sum of both uses */
    fc_tensor *x = fc_ones(FC_SHAPE(1, 3));
    fc_tensor *h = fc_linear(x, w, fc_module_get(seq, "0.bias"));
    FCT_OK(fc_backward(fc_sum(fc_linear(h, w, NULL), FC_ALL_DIMS, 0)));
    fc_tensor *g = fc_tensor_grad(w);
    /* L = 1^T W h: dW = 1 h^T (outer use) + (W^T 1) x^T (inner use) */
    fc_no_grad_begin();
    fc_tensor *ones = fc_ones(FC_SHAPE(3, 1));
    fc_tensor *want = fc_add(fc_matmul(ones, h), fc_matmul(fc_matmul(fc_transpose(w, 0, 1), ones), x));
    fc_no_grad_end();
    FCT_CLOSE(g, want, 1e-6, 1e-5);
    fc_module_free(seq); /* frees w once per owner */
}
