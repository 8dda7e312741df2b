/* Internals of autograd shared with the ops layer: graph nodes and how ops record them. */
#ifndef FASTC_AUTOGRAD_IMPL_H
#define FASTC_AUTOGRAD_IMPL_H

#include "../core/core_impl.h"
#include "fastc/autograd.h"

typedef struct fci_node fci_node;

/* An op's backward: given the gradient of its output (gy, contiguous, same shape as the output),
 * set gx[i] to a new tensor with the gradient of input i, shaped like that input, for each i with
 * fci_node_needs_grad(n, i); leave the others NULL. Runs with grad recording off. */
typedef fc_status (*fci_backward_fn)(fci_node *n, fc_tensor *gy, fc_tensor **gx);

/* Optional, for ops whose input gradient is zero outside a window (slices): adds the gradient of
 * the single input into gx (a private, contiguous tensor shaped like the input) in place, so T
 * slices of one tensor cost O(slice) each in backward instead of O(tensor) (a user's RNN unrolled
 * over time selects every step of one input projection). */
typedef fc_status (*fci_backward_into_fn)(fci_node *n, fc_tensor *gy, fc_tensor *gx);

typedef struct fci_op {
    const char *name;
    fci_backward_fn backward;
    fci_backward_into_fn backward_into; /* NULL: backward only */
} fci_op;

#define FCI_MAX_SAVED 8
struct fci_node {
    int refcount;
    int released; /* saved tensors and inputs dropped (scope ended or backward ran) */
    const fci_op *op;
    int n_in;
    fc_tensor **in; /* references to the inputs (for the graph and their data) */
    fc_tensor *saved[FCI_MAX_SAVED]; /* references to anything else backward needs */
    int64_t ip[16];  /* integer parameters (dims, strides, flags) */
    double fp[8];    /* float parameters (eps, slopes) */
    void *aux;       /* anything else, freed with aux_free */
    void (*aux_free)(void *);
    int64_t out_shape[FC_MAX_DIMS]; /* the output's shape, for checks */
    int out_ndim;
    /* backward bookkeeping */
    int deps;
    fc_tensor *gacc;
};

/* 1 if an op on these inputs must record a node (grad mode on and any input requires grad). */
int fci_grad_needed(int n_in, fc_tensor *const *in);
/* Records a node producing out from the inputs (call it only when fci_grad_needed); returns it so
 * the op can save tensors and parameters. On failure frees out, sets the error, returns NULL:
 *     if (fci_grad_needed(1, &x)) {
 *         fci_node *n = fci_record(&op_relu, y, 1, &x);
 *         if (!n) return NULL;
 *         fci_save_output(n, 0, y);
 *     }                                                                                    */
fci_node *fci_record(const fci_op *op, fc_tensor *out, int n_in, fc_tensor *const *in);
/* Keeps a reference to t for backward (NULL is fine). Saving an op's own output stores a
 * history-free alias, so no cycle forms. */
void fci_save(fci_node *n, int slot, fc_tensor *t);
void fci_save_output(fci_node *n, int slot, fc_tensor *out);
int fci_node_needs_grad(const fci_node *n, int i);



#endif
