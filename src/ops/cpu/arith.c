/* Row kernels for broadcasting arithmetic: strides are 1 (contiguous) or 0 (broadcast) in the
 * common cases, which the compiler vectorizes when specialised below. */
#include "kernels.h"
#include "row_kernel.h"


FCI_ROW_KERNEL(fci_add_row_f32, x + y)
FCI_ROW_KERNEL(fci_sub_row_f32, x - y)
FCI_ROW_KERNEL(fci_mul_row_f32, x * y)
FCI_ROW_KERNEL(fci_div_row_f32, x / y)
