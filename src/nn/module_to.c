/* fc_module_to: every parameter and buffer of a module tree moved in place (PyTorch's
 * module.to(device)), so the tensors optimizers and callers hold stay the same objects. */
#include "../core/core_impl.h"
#include "fastc/cuda.h"
#include "fastc/nn.h"

fc_status fc_module_to(fc_module *m, fc_device d) {
    if (!m) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "module_to: NULL module");
    fc_status st = fc_cuda_check(d);
    for (int i = 0; st == FC_OK && i < fc_module_n_parameters(m); i++) {
        const char *name = NULL;
        fc_tensor *p = fc_module_parameter(m, i, &name);
        if (p && (st = fc_tensor_move_(p, d)) != FC_OK)
            return fci_error_prefix("module_to: parameter '%s': ", name ? name : "?");
    }
    for (int i = 0; st == FC_OK && i < fc_module_n_buffers(m); i++) {
        const char *name = NULL;
        fc_tensor *b = fc_module_buffer(m, i, &name);
        if (b && (st = fc_tensor_move_(b, d)) != FC_OK)
            return fci_error_prefix("module_to: buffer '%s': ", name ? name : "?");
    }
    return st;
}
