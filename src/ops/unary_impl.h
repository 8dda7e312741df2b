/* Shared by the pointwise families (unary.c, activation.c): backward through a fused kernel. */
#ifndef FASTC_UNARY_IMPL_H
#define FASTC_UNARY_IMPL_H

#include "ops_impl.h"

/* gx[i] = gy[i] * f'(x[i]) given x, y = f(x) and gy, all contiguous f32 of n elements. */
typedef void (*fci_unary_bwd_kernel)(const float *x, const float *y, const float *gy, float *gx,
                                     int64_t n, const double *p);
/* Sets gx[0] from the node of an fci_unary op (x = n->in[0], y = n->saved[0], p = n->fp). */
fc_status fci_unary_grad(fci_node *n, fc_tensor *gy, fc_tensor **gx, fci_unary_bwd_kernel k);

#endif
