/* Activation kernels: y[i] = f(x[i]) and gx[i] = gy[i] * f'(x[i]), contiguous f32 of n elements;
 * p: parameters (leaky_relu: slope; softplus: beta, threshold). */
#ifndef FASTC_CPU_ACTIVATION_H
#define FASTC_CPU_ACTIVATION_H

#include "unary.h"

FCI_UNARY_KERNELS(relu)
FCI_UNARY_KERNELS(leaky_relu)
FCI_UNARY_KERNELS(gelu)
FCI_UNARY_KERNELS(gelu_tanh)
FCI_UNARY_KERNELS(silu)
FCI_UNARY_KERNELS(sigmoid)
FCI_UNARY_KERNELS(tanh)
FCI_UNARY_KERNELS(softplus)
FCI_UNARY_KERNELS(hardswish)

#endif
