/* Autocast internals: the check the GEMM and convolution ops run at their top, and the versions of
 * those ops that round their inputs first (src/ops/autocast.c). */
#ifndef FASTC_AUTOCAST_IMPL_H
#define FASTC_AUTOCAST_IMPL_H

#include "fastc/ops.h"

/* 1 inside an autocast region of bf16 or f16 on this thread (and not inside the rounded op itself). */
int fci_autocast_on(void);

/* x (f32) rounded to dt's precision (bf16 or f16), as a new f32 tensor; differentiable: the
 * gradient is rounded the same way, so the pair equals fc_to_dtype(fc_to_dtype(x, dt), f32). */
fc_tensor *fci_autocast_round(fc_tensor *x, fc_dtype dt);

/* The ops on rounded inputs, computed by the f32 kernels (f32 accumulation, f32 output). */
fc_tensor *fci_autocast_matmul(fc_tensor *a, fc_tensor *b);
fc_tensor *fci_autocast_bmm(fc_tensor *a, fc_tensor *b);
fc_tensor *fci_autocast_linear(fc_tensor *x, fc_tensor *w, fc_tensor *bias);
fc_tensor *fci_autocast_conv2d(fc_tensor *x, fc_tensor *w, fc_tensor *bias, const fc_conv2d_opts *o);
fc_tensor *fci_autocast_conv_transpose2d(fc_tensor *x, fc_tensor *w, fc_tensor *bias,
                                         const fc_conv2d_opts *o);

#endif
