/* fastc autograd: define-by-run. Every op on a tensor that requires grad records a node; fc_backward
 * walks the nodes in reverse topological order and accumulates into the .grad of leaves. */
#ifndef FASTC_AUTOGRAD_H
#define FASTC_AUTOGRAD_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Marks t as a leaf that collects .grad (float dtypes only); returns t (NULL passes through). */
FC_API fc_tensor *fc_requires_grad(fc_tensor *t);
FC_API fc_status fc_tensor_set_requires_grad(fc_tensor *t, int on);
FC_API int fc_tensor_requires_grad(const fc_tensor *t);
FC_API int fc_tensor_is_leaf(const fc_tensor *t);
/* The accumulated gradient of a leaf (borrowed, owned by t) or NULL if none yet. */
FC_API fc_tensor *fc_tensor_grad(const fc_tensor *t);
/* Drops t's .grad (the next backward starts from zero). */
FC_API void fc_tensor_zero_grad(fc_tensor *t);
/* Replaces t's .grad by a copy of g (NULL clears). */
FC_API fc_status fc_tensor_set_grad(fc_tensor *t, const fc_tensor *g);

typedef struct fc_backward_opts {
    int _;
    int retain_graph; /* 1: keep the graph for another backward (default: release it) */
} fc_backward_opts;
/* Backward from a one-element tensor (gradient 1). */
FC_API fc_status fc_backward_(fc_tensor *loss, const fc_backward_opts *o);
#define fc_backward(loss, ...) fc_backward_((loss), &(fc_backward_opts){._ = 0, __VA_ARGS__})
/* Backward from any tensor with the given gradient (same shape). */
FC_API fc_status fc_backward_with_(fc_tensor *y, const fc_tensor *grad, const fc_backward_opts *o);
#define fc_backward_with(y, grad, ...) \
    fc_backward_with_((y), (grad), &(fc_backward_opts){._ = 0, __VA_ARGS__})

/* No-grad regions nest: ops inside record nothing. */
FC_API void fc_no_grad_begin(void);
FC_API void fc_no_grad_end(void);
FC_API int fc_is_grad_enabled(void);

/* A new tensor sharing t's data without history. */
FC_API fc_tensor *fc_detach(fc_tensor *t);

/* ==== gradient-ready hook (h-mpi) ===================================================================
 * fn(leaf, ctx) runs during fc_backward on this thread as soon as a leaf's .grad has received the
 * last contribution of this backward (its final value for this pass), leaves in the order their
 * gradients complete: what data-parallel training uses to start reducing a bucket of gradients
 * while backward goes on (PyTorch's post-accumulate-grad hooks). Thread-local; fn NULL removes it.
 * With no hook set, backward does no extra work. */
typedef void (*fc_grad_ready_fn)(fc_tensor *leaf, void *ctx);
FC_API void fc_set_grad_ready_hook(fc_grad_ready_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
