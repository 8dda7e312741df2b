/* fci_vision_contiguous (vision_impl.h): the one copy-to-contiguous step of the vision kernels. */
#include "../core/core_impl.h"
#include "vision_impl.h"

fc_tensor *fci_vision_contiguous(const char *who, fc_tensor *t) {
    if (!t) return NULL;
    if (fc_tensor_device(t).type != FC_DEVICE_CPU) {
        fc_fail(FC_ERR_DEVICE, "%s: expected a cpu tensor, found %s %s", who,
                fc_device_name(fc_tensor_device(t)), fci_tshape(t));
        return NULL;
    }
    if (fc_tensor_is_contiguous(t)) return fc_tensor_ref(t);
    fc_tensor *c = fc_keep(fci_tensor_alloc(fc_tensor_shape(t), fc_tensor_dtype(t), FC_CPU));
    if (c && fci_copy_strided(c, t) != FC_OK) {
        fc_tensor_free(c);
        return NULL;
    }
    return c;
}
