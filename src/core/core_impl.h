/* Internals of the core layer shared by the layers above (never installed). */
#ifndef FASTC_CORE_IMPL_H
#define FASTC_CORE_IMPL_H

#include <stdlib.h>

#include "fastc/core.h"

struct fci_node; /* autograd: the op that produced a tensor */

typedef struct fci_storage {
    int refcount;
    void *data;
    size_t nbytes;
    fc_device device;
} fci_storage;

struct fc_tensor {
    int refcount;
    fci_storage *storage;
    int64_t offset; /* in elements */
    int ndim;
    int64_t shape[FC_MAX_DIMS];
    int64_t stride[FC_MAX_DIMS]; /* in elements */
    fc_dtype dtype;
    fc_device device;
    int requires_grad;
    fc_tensor *grad;          /* leaves: owned, never in a scope */
    struct fci_node *grad_fn; /* non-leaves: owned reference */
    struct fc_scope *scope;   /* the scope holding our first reference, or NULL */
    int64_t scope_slot;
};

/* Errors with a location for broken invariants. */
#define FCI_INTERNAL(...) fci_fail_at(__FILE__, __LINE__, __VA_ARGS__)
fc_status fci_fail_at(const char *file, int line, const char *fmt, ...) FC_PRINTF(3, 4);

/* Prepends text to the pending error's message (the learner names the callback and event that
 * failed); returns the pending code (FC_OK, and nothing changes, when none is pending). */
fc_status fci_error_prefix(const char *fmt, ...) FC_PRINTF(1, 2);

/* The global generator's state (checkpoints save and restore it). */
void fci_rng_get_state(uint64_t *seed, uint64_t *offset);
void fci_rng_set_state(uint64_t seed, uint64_t offset);

/* Memory: the caching allocator (64-byte aligned). fci_alloc fails with FC_ERR_NOMEM set. */
void *fci_alloc(size_t nbytes);
void fci_release(void *p, size_t nbytes);
void *fci_calloc(size_t n, size_t size); /* plain heap (small structs); error set on failure */
void fci_free(void *p);

/* Tensor construction helpers. */
fc_tensor *fci_tensor_alloc(fc_shape shape, fc_dtype dtype, fc_device device); /* uninitialized */
/* A new header over t's storage (a view) with the given geometry; no autograd. */
fc_tensor *fci_tensor_view(const fc_tensor *t, int ndim, const int64_t *shape,
                           const int64_t *stride, int64_t offset);
void fci_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);
/* Copy with conversion between any dtypes and layouts (same numel; dst's shape wins). */
fc_status fci_copy_strided(fc_tensor *dst, const fc_tensor *src);
/* Normalizes a possibly negative dim against ndim; returns -1 with an error naming 'op'. */
int fci_wrap_dim(const char *op, int dim, int ndim);
/* Registers t with the innermost open scope, if any. */
void fci_scope_adopt(fc_tensor *t);
typedef void (*fci_scope_hook)(void *item);
/* Calls release(item) when the innermost scope ends (used by autograd for graph nodes). */
void fci_scope_on_end(void *item, fci_scope_hook release);
/* Drops one reference without touching scope ownership: for internal holders of fc_tensor_ref. */
void fci_tensor_unref(fc_tensor *t);
int fci_in_scope(void);
/* Hides this thread's open scopes (new tensors belong to their maker) until fci_scope_resume. */
fc_scope *fci_scope_suspend(void);
void fci_scope_resume(fc_scope *s);

/* Shape formatting into a thread-local ring of buffers (valid for a few calls). */
const char *fci_shape_str(int ndim, const int64_t *shape);
const char *fci_tshape(const fc_tensor *t);

/* Scalar conversion of one element. */
double fci_load_as_double(const void *p, fc_dtype dt);
void fci_store_from_double(void *p, fc_dtype dt, double v);

#endif
