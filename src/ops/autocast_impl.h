/* Autocast internals: the check the GEMM and convolution ops run at their top, and the versions of
 * those ops that round their inputs first (src/ops/autocast.c). */
#ifndef FASTC_AUTOCAST_IMPL_H
#define FASTC_AUTOCAST_IMPL_H

#include "../autograd/autograd_impl.h"
#include "fastc/ops.h"

/* 1 inside an autocast region of bf16 or f16 on this thread (and not inside the rounded op itself). */
int fci_autocast_on(void);

/* The type the f32 GEMMs and convolutions on CUDA multiply in now: the region's bf16 / f16 while a
 * rounded op runs its f32 op underneath (forward), the type recorded by the forward while that
 * op's backward runs (fci_autocast_backward_begin), f32 otherwise. The CPU kernels never ask. */
fc_dtype fci_autocast_compute_dtype(void);
/* Around an op's backward: its GEMMs / convolutions run in dt (what fci_autocast_compute_dtype
 * said when the forward was recorded), whether or not a region is open now. Returns the previous
 * setting, which fci_autocast_backward_end restores (backward ops do not nest, but stay exact). */
int fci_autocast_backward_begin(fc_dtype dt);
void fci_autocast_backward_end(int prev);
/* The backward of a matmul / linear / conv node whose n->ip[0] holds the type its forward
 * multiplied in (fci_autocast_compute_dtype at record time): for bf16 / f16, gy is rounded to it
 * first, as torch's gradient of a 16-bit output arrives in 16 bits (so an f16 overflow shows, on
 * the CPU as on CUDA, where the loss scaler looks for it), then grads runs with its CUDA GEMMs and
 * convolutions in that type. For f32, grads as it is. */
fc_status fci_autocast_backward(fci_node *n, fc_tensor *gy, fc_tensor **gx,
                                fc_status (*grads)(fci_node *n, fc_tensor *gy, fc_tensor **gx));

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
