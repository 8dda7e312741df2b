/* Internals shared by the op families: checks, broadcasting, the device switch. */
#ifndef FASTC_OPS_IMPL_H
#define FASTC_OPS_IMPL_H

#include "../autograd/autograd_impl.h"
#include "cpu/kernels.h"
#include "fastc/ops.h"

/* Checks that name the op and what was found; each returns 0 when fine, else sets the error. */
int fci_check_float32(const char *op, const char *what, const fc_tensor *t);
int fci_check_cpu(const char *op, const fc_tensor *t); /* a device with no kernel yet */
/* For ops with CUDA kernels: the CPU, or a CUDA device in a CUDA build. */
int fci_check_device(const char *op, const fc_tensor *t);
int fci_check_same_device(const char *op, const fc_tensor *a, const fc_tensor *b);
int fci_check_ndim(const char *op, const char *what, const fc_tensor *t, int ndim);
int fci_check_index_dtype(const char *op, const char *what, const fc_tensor *t);

/* Broadcast shapes a and b as PyTorch does; 0 on success, else error naming op. */
int fci_broadcast_shape(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                        int *nout, int64_t *out);
/* Strides of t viewed at shape (ndim, shape) after broadcasting (0 on broadcast dims). */
void fci_broadcast_strides(const fc_tensor *t, int ndim, const int64_t *shape, int64_t *strides);

/* Runs a row kernel over out = f(a, b) with broadcasting and any strides (f32). The row kernel
 * gets the inner dimension: n elements, a and b with their inner strides (0 when broadcast). */
typedef void (*fci_binary_row)(float *out, const float *a, int64_t sa, const float *b, int64_t sb,
                               int64_t n, const double *params);
void fci_binary_loop(fc_tensor *out, const fc_tensor *a, const fc_tensor *b, fci_binary_row row,
                     const double *params);

/* out = row(a, b) for f32 CPU tensors with broadcasting, recording op for autograd: the whole
 * forward of a broadcasting binary op. */
fc_tensor *fci_binary_op(const char *name, fci_binary_row row, const fci_op *op, fc_tensor *a,
                         fc_tensor *b);

/* Contiguous f32 version of x: a new reference to x itself when already contiguous, else a copy
 * outside any scope. Release it with fci_tensor_unref (never fc_tensor_free: that would drop x's
 * scope claim). */
fc_tensor *fci_contig_f32(const char *op, fc_tensor *x);
/* The same on any device with kernels (fci_check_device): for ops that dispatch to CUDA. */
fc_tensor *fci_contig_f32_any(const char *op, fc_tensor *x);
/* Sum g down to t's shape (for backward of broadcasting ops): a new tensor (an alias of g when the
 * shapes match); NULL on error. */
fc_tensor *fci_reduce_to(fc_tensor *g, const fc_tensor *t);

/* Pointwise functions of one tensor: the backward finds x in n->in[0], y in n->saved[0] and the
 * parameters in n->fp[]. */
typedef struct unary_def {
    const char *name;
    void (*fwd)(const float *x, float *y, int64_t n, const double *p);
    fci_op op;
} unary_def;
fc_tensor *fci_unary(const unary_def *def, fc_tensor *x, const double *p, int n_p);

/* One row-major GEMM (fci_gemm_f32's arguments) on dev: OpenBLAS, or cuBLASLt for CUDA. */
fc_status fci_gemm_dev(fc_device dev, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc);

/* Parses a dim list (FC_ALL_DIMS: all) into mask[FC_MAX_DIMS]; 0 on success. */
int fci_dims_mask(const char *op, const fc_tensor *x, fc_shape dims, int *mask);

/* The CUDA dispatch: one branch on the device type in each op that has a CUDA kernel; the kernels
 * (src/ops/cuda/kernels.h) take raw pointers and the device's stream. */
#if FASTC_CUDA
#include "../core/cuda_impl.h"
#include "cuda/kernels.h"
#define FCI_IS_CUDA(t) ((t)->device.type == FC_DEVICE_CUDA)
#define FCI_STREAM(t) fci_cuda_stream((t)->device.index)
#endif

#endif
