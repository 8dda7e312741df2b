/* The backward engine: collect the graph under the root, count each node's consumers, then run
 * backward functions in reverse topological order, summing gradients that meet at a tensor. */
#include <string.h>

#include "autograd_impl.h"
#include "../ops/ops_impl.h" /* summing gradients is an op: the one upward dependency */
#include "fastc/ops.h"

extern void (*fci_node_unref_hook)(struct fci_node *n);

static _Thread_local int no_grad_depth;
static _Thread_local fc_grad_ready_fn grad_ready_fn; /* fc_set_grad_ready_hook (h-mpi) */
static _Thread_local void *grad_ready_ctx;

void fc_set_grad_ready_hook(fc_grad_ready_fn fn, void *ctx) {
    grad_ready_fn = fn;
    grad_ready_ctx = fn ? ctx : NULL;
}

void fc_no_grad_begin(void) { no_grad_depth++; }
void fc_no_grad_end(void) {
    if (no_grad_depth > 0) no_grad_depth--;
}
int fc_is_grad_enabled(void) { return no_grad_depth == 0; }

int fci_grad_needed(int n_in, fc_tensor *const *in) {
    if (no_grad_depth) return 0;
    for (int i = 0; i < n_in; i++)
        if (in[i] && in[i]->requires_grad) return 1;
    return 0;
}

/* Drops what backward needed; the node itself lives while its output does. */
static void node_release(fci_node *n) {
    if (n->released) return;
    n->released = 1;
    for (int i = 0; i < n->n_in; i++) {
        fci_tensor_unref(n->in[i]);
        n->in[i] = NULL;
    }
    for (int i = 0; i < FCI_MAX_SAVED; i++) {
        fci_tensor_unref(n->saved[i]);
        n->saved[i] = NULL;
    }
    if (n->aux && n->aux_free) n->aux_free(n->aux);
    n->aux = NULL;
}

static void node_unref(fci_node *n) {
    if (!n || --n->refcount > 0) return;
    node_release(n);
    fci_free(n->in);
    fci_free(n);
}

static void scope_release_node(void *item) {
    fci_node *n = item;
    node_release(n);
    node_unref(n);
}

__attribute__((constructor)) static void install_hook(void) { fci_node_unref_hook = node_unref; }

fci_node *fci_record(const fci_op *op, fc_tensor *out, int n_in, fc_tensor *const *in) {
    fci_node *n = fci_calloc(1, sizeof *n);
    fc_tensor **ins = n ? fci_calloc((size_t)n_in, sizeof *ins) : NULL;
    if (!ins) {
        fci_free(n);
        fc_tensor_free(out);
        return NULL;
    }
    n->refcount = 1; /* held by out */
    n->op = op;
    n->n_in = n_in;
    n->in = ins;
    for (int i = 0; i < n_in; i++) n->in[i] = fc_tensor_ref(in[i]);
    n->out_ndim = out->ndim;
    memcpy(n->out_shape, out->shape, sizeof n->out_shape);
    out->grad_fn = n;
    out->requires_grad = 1;
    if (fci_in_scope()) { /* the scope's end releases the graph it recorded */
        n->refcount++;
        fci_scope_on_end(n, scope_release_node);
    }
    return n;
}

void fci_save(fci_node *n, int slot, fc_tensor *t) {
    if (!n || slot < 0 || slot >= FCI_MAX_SAVED) return;
    fci_tensor_unref(n->saved[slot]);
    n->saved[slot] = fc_tensor_ref(t);
}

void fci_save_output(fci_node *n, int slot, fc_tensor *out) {
    if (!n || !out) return;
    fc_tensor *alias = fci_tensor_view(out, out->ndim, out->shape, out->stride, out->offset);
    if (!alias) return;
    fc_keep(alias); /* owned by the node alone */
    fci_tensor_unref(n->saved[slot]);
    n->saved[slot] = alias;
}

int fci_node_needs_grad(const fci_node *n, int i) {
    return i >= 0 && i < n->n_in && n->in[i] && n->in[i]->requires_grad;
}

/* ---- leaves ---- */

fc_tensor *fc_requires_grad(fc_tensor *t) {
    if (t && fc_tensor_set_requires_grad(t, 1) != FC_OK) return NULL;
    return t;
}

fc_status fc_tensor_set_requires_grad(fc_tensor *t, int on) {
    if (!t) return fc_error_code() ? fc_error_code() : FC_ERR_ARG;
    if (on && !fc_dtype_is_float(t->dtype))
        return fc_fail(FC_ERR_DTYPE, "requires_grad: only float tensors can require grad, found %s",
                       fc_dtype_name(t->dtype));
    if (!on && t->grad_fn)
        return fc_fail(FC_ERR_STATE, "requires_grad: cannot turn it off on a non-leaf tensor "
                                     "(made by '%s'); use fc_detach", t->grad_fn->op->name);
    t->requires_grad = on != 0;
    return FC_OK;
}

int fc_tensor_requires_grad(const fc_tensor *t) { return t && t->requires_grad; }
int fc_tensor_is_leaf(const fc_tensor *t) { return t && !t->grad_fn; }
fc_tensor *fc_tensor_grad(const fc_tensor *t) { return t ? t->grad : NULL; }

void fc_tensor_zero_grad(fc_tensor *t) {
    if (!t || !t->grad) return;
    fci_tensor_unref(t->grad);
    t->grad = NULL;
}

/* t->grad = a copy of g in t's dtype, outside any scope (t owns it). */
static fc_status grad_from_copy(fc_tensor *t, const fc_tensor *g) {
    fc_tensor *c = fci_tensor_alloc(fc_tensor_shape(t), t->dtype, t->device);
    if (!c) return fc_error_code();
    fc_keep(c);
    fc_status st = fci_copy_strided(c, g);
    if (st != FC_OK) {
        fc_tensor_free(c);
        return st;
    }
    t->grad = c;
    return FC_OK;
}

fc_status fc_tensor_set_grad(fc_tensor *t, const fc_tensor *g) {
    if (!t) return fc_error_code() ? fc_error_code() : FC_ERR_ARG;
    fc_tensor_zero_grad(t);
    if (!g) return FC_OK;
    if (g->ndim != t->ndim || memcmp(g->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim))
        return fc_fail(FC_ERR_SHAPE, "set_grad: expected a gradient of shape %s, found %s",
                       fci_tshape(t), fci_tshape(g));
    return grad_from_copy(t, g);
}

fc_tensor *fc_detach(fc_tensor *t) {
    if (!t) return NULL;
    return fci_tensor_view(t, t->ndim, t->shape, t->stride, t->offset);
}

/* ---- backward ---- */

static int same_shape(const fc_tensor *a, int ndim, const int64_t *shape) {
    return a->ndim == ndim && !memcmp(a->shape, shape, sizeof(int64_t) * (size_t)ndim);
}

/* Adds g into the .grad of leaf t (creating it, outside any scope). */
static fc_status accumulate_leaf(fc_tensor *t, fc_tensor *g) {
    if (!same_shape(g, t->ndim, t->shape))
        return FCI_INTERNAL("gradient of shape %s for a leaf of shape %s", fci_tshape(g),
                            fci_tshape(t));
    if (!t->grad) return grad_from_copy(t, g);
    if (t->grad->dtype == FC_DTYPE_F32 && g->dtype == FC_DTYPE_F32) { /* in place: no temporary */
        fci_binary_loop(t->grad, t->grad, g, fci_add_row_f32, NULL);
        return FC_OK;
    }
    fc_tensor *sum = fc_add(t->grad, g);
    if (!sum) return fc_error_code();
    fc_status st = fci_copy_strided(t->grad, sum);
    fc_tensor_free(sum);
    return st;
}

/* As accumulate_leaf, but takes g: a fresh, unshared, contiguous gradient becomes .grad as it is
 * (no copy: the common case of a parameter's first gradient in a step). */
static fc_status accumulate_leaf_take(fc_tensor *t, fc_tensor *g) {
    if (!t->grad && g->refcount == 1 && g->storage->refcount == 1 && g->offset == 0 &&
        g->dtype == t->dtype && fc_tensor_is_contiguous(g) && same_shape(g, t->ndim, t->shape)) {
        t->grad = fc_keep(g);
        return FC_OK;
    }
    fc_status st = accumulate_leaf(t, g);
    fc_tensor_free(g);
    return st;
}

/* 1 when nothing but this reference sees t's data: it may be written in place. */
static int is_private(const fc_tensor *t) {
    return t->refcount == 1 && t->storage->refcount == 1 && t->offset == 0 && fc_tensor_is_contiguous(t);
}

/* Adds g into the pending gradient of node n (takes g). A private f32 accumulator is added to in
 * place: gradients meeting at one tensor (an RNN's weights, every step) allocate nothing. */
static fc_status accumulate_node(fci_node *n, fc_tensor *g) {
    if (!n->gacc) {
        n->gacc = g;
        return FC_OK;
    }
    if (n->gacc->dtype == FC_DTYPE_F32 && g->dtype == FC_DTYPE_F32 && is_private(n->gacc) &&
        same_shape(g, n->gacc->ndim, n->gacc->shape)) {
        fci_binary_loop(n->gacc, n->gacc, g, fci_add_row_f32, NULL);
        fc_tensor_free(g);
        return FC_OK;
    }
    fc_tensor *sum = fc_add(n->gacc, g);
    fc_tensor_free(g);
    if (!sum) return fc_error_code();
    fc_tensor_free(n->gacc);
    n->gacc = sum;
    return FC_OK;
}

/* The backward_into path of node n (one input, with a grad_fn): its gradient is added into the
 * input's pending gradient, made private (a copy) or created (zeros) first. */
static fc_status backward_into_node(fci_node *n, fc_tensor *gy) {
    fc_tensor *in = n->in[0];
    fci_node *c = in->grad_fn;
    if (c->gacc && !(c->gacc->dtype == FC_DTYPE_F32 && is_private(c->gacc))) {
        /* a fresh contiguous f32 copy is private */
        fc_tensor *copy = c->gacc->dtype == FC_DTYPE_F32 ? fc_clone(c->gacc) : fc_to_dtype(c->gacc, FC_DTYPE_F32);
        if (!copy) return fc_error_code();
        fc_tensor_free(c->gacc);
        c->gacc = copy;
    }
    if (!c->gacc && !(c->gacc = fc_zeros(fc_tensor_shape(in), .device = in->device))) return fc_error_code();
    return n->op->backward_into(n, gy, c->gacc);
}

typedef struct node_list {
    fci_node **v;
    int64_t n, cap;
} node_list;

static int push(node_list *l, fci_node *x) {
    if (l->n == l->cap) {
        int64_t cap = l->cap ? l->cap * 2 : 64;
        fci_node **v = fci_calloc((size_t)cap, sizeof *v);
        if (!v) return 0;
        if (l->v) memcpy(v, l->v, sizeof *v * (size_t)l->n);
        fci_free(l->v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return 1;
}

/* Collects every node reachable from root (deps = number of consumers within the graph). */
static fc_status collect(fci_node *root, node_list *all) {
    node_list stack = {0};
    fc_status st = FC_OK;
    root->deps = 0;
    if (!push(all, root) || !push(&stack, root)) st = FC_ERR_NOMEM;
    root->gacc = NULL;
    while (st == FC_OK && stack.n) {
        fci_node *n = stack.v[--stack.n];
        if (n->released) {
            st = fc_fail(FC_ERR_STATE,
                         "backward: the graph through op '%s' was already released (its scope "
                         "ended, or an earlier backward freed it: pass .retain_graph = 1 to "
                         "backward twice, and call backward before fc_scope_end)", n->op->name);
            break;
        }
        for (int i = 0; i < n->n_in; i++) {
            fci_node *c = n->in[i] ? n->in[i]->grad_fn : NULL;
            if (!c || !n->in[i]->requires_grad) continue;
            if (c->deps < 0) { /* first visit (deps starts at -1, marked below) */
                c->deps = 0;
                c->gacc = NULL;
                if (!push(all, c) || !push(&stack, c)) {
                    st = FC_ERR_NOMEM;
                    break;
                }
            }
            c->deps++;
        }
    }
    fci_free(stack.v);
    return st;
}

/* Pending gradient contributions per leaf of one backward, for the grad-ready hook: an
 * open-addressing table keyed by the leaf (only built while a hook is set). */
typedef struct leaf_counts {
    fc_tensor **key;
    int *left;
    int64_t cap;
} leaf_counts;

static int64_t leaf_slot(const leaf_counts *lc, const fc_tensor *t) {
    uint64_t h = (uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ULL;
    int64_t i = (int64_t)(h >> 20) & (lc->cap - 1);
    while (lc->key[i] && lc->key[i] != t) i = (i + 1) & (lc->cap - 1);
    return i;
}

/* Counts the edges from the graph's nodes into leaves that require grad. */
static fc_status leaf_counts_build(leaf_counts *lc, const node_list *all) {
    int64_t edges = 0;
    for (int64_t i = 0; i < all->n; i++) edges += all->v[i]->n_in;
    lc->cap = 16;
    while (lc->cap < 2 * edges + 16) lc->cap *= 2;
    lc->key = fci_calloc((size_t)lc->cap, sizeof *lc->key);
    lc->left = fci_calloc((size_t)lc->cap, sizeof *lc->left);
    if (!lc->key || !lc->left) return fc_error_code() != FC_OK ? fc_error_code() : FC_ERR_NOMEM;
    for (int64_t i = 0; i < all->n; i++)
        for (int k = 0; k < all->v[i]->n_in; k++) {
            fc_tensor *in = all->v[i]->in[k];
            if (!in || in->grad_fn || !in->requires_grad) continue;
            int64_t j = leaf_slot(lc, in);
            lc->key[j] = in;
            lc->left[j]++;
        }
    return FC_OK;
}

/* One contribution to leaf t is done: the hook runs when it was the last. */
static void leaf_done(leaf_counts *lc, fc_tensor *t) {
    if (!lc->key) return;
    int64_t j = leaf_slot(lc, t);
    if (lc->key[j] == t && --lc->left[j] == 0 && grad_ready_fn) grad_ready_fn(t, grad_ready_ctx);
}

static fc_status run_backward(fc_tensor *root_t, fc_tensor *grad, int retain) {
    fci_node *root = root_t->grad_fn;
    node_list all = {0}, ready = {0};
    leaf_counts lc = {0};
    fc_status st = FC_OK;
    /* Mark every reachable node unvisited: a first DFS with deps = -1. */
    {
        node_list stack = {0};
        root->deps = -1;
        if (!push(&stack, root)) return FC_ERR_NOMEM;
        node_list seen = {0};
        while (stack.n) {
            fci_node *n = stack.v[--stack.n];
            if (n->deps == -2) continue;
            n->deps = -2;
            push(&seen, n);
            if (n->released) continue;
            for (int i = 0; i < n->n_in; i++) {
                fci_node *c = n->in[i] ? n->in[i]->grad_fn : NULL;
                if (c && c->deps != -2) push(&stack, c);
            }
        }
        for (int64_t i = 0; i < seen.n; i++) seen.v[i]->deps = -1;
        fci_free(seen.v);
        fci_free(stack.v);
    }
    st = collect(root, &all);
    if (st == FC_OK && grad_ready_fn) st = leaf_counts_build(&lc, &all);
    if (st != FC_OK) goto done;
    root->gacc = fc_contiguous((fc_tensor *)grad);
    if (!root->gacc) {
        st = fc_error_code();
        goto done;
    }
    if (!push(&ready, root)) {
        st = FC_ERR_NOMEM;
        goto done;
    }
    while (ready.n && st == FC_OK) {
        fci_node *n = ready.v[--ready.n];
        fc_tensor *gy = n->gacc;
        n->gacc = NULL;
        fc_tensor *gx_stack[8] = {0};
        fc_tensor **gx = n->n_in <= 8 ? gx_stack : fci_calloc((size_t)n->n_in, sizeof *gx);
        if (!gx) {
            fc_tensor_free(gy);
            st = FC_ERR_NOMEM;
            break;
        }
        fc_tensor *gyc = gy ? fc_contiguous(gy) : NULL;
        fc_tensor *in0 = n->n_in == 1 ? n->in[0] : NULL;
        if (gyc && n->op->backward_into && in0 && in0->grad_fn && in0->requires_grad && gyc->dtype == FC_DTYPE_F32 &&
            gyc->device.type == FC_DEVICE_CPU && /* the in-place slice kernels are CPU loops */
            in0->dtype == FC_DTYPE_F32) {
            st = backward_into_node(n, gyc);
            if (st != FC_OK && fc_error_code() == FC_OK) fc_fail(st, "backward of '%s' failed", n->op->name);
            fc_tensor_free(gyc);
            fc_tensor_free(gy);
            if (st == FC_OK && --in0->grad_fn->deps == 0) push(&ready, in0->grad_fn);
            if (gx != gx_stack) fci_free(gx);
            continue;
        }
        if (gyc) st = n->op->backward(n, gyc, gx);
        else st = fc_error_code() ? fc_error_code() : FCI_INTERNAL("no gradient for '%s'", n->op->name);
        if (st != FC_OK && fc_error_code() == FC_OK)
            fc_fail(st, "backward of '%s' failed", n->op->name);
        fc_tensor_free(gyc);
        fc_tensor_free(gy);
        for (int i = 0; i < n->n_in; i++) {
            fc_tensor *in = n->in[i], *g = gx[i];
            gx[i] = NULL;
            if (!g) {
                fci_node *c = in ? in->grad_fn : NULL;
                if (c && in->requires_grad && --c->deps == 0 && st == FC_OK) push(&ready, c);
                if (in && !c && in->requires_grad && st == FC_OK) leaf_done(&lc, in);
                continue;
            }
            if (st != FC_OK) {
                fc_tensor_free(g);
                continue;
            }
            if (!same_shape(g, in->ndim, in->shape)) {
                st = FCI_INTERNAL("backward of '%s' gave input %d a gradient of shape %s, "
                                  "expected %s", n->op->name, i, fci_tshape(g), fci_tshape(in));
                fc_tensor_free(g);
                continue;
            }
            if (in->grad_fn) {
                st = accumulate_node(in->grad_fn, g);
                if (st == FC_OK && --in->grad_fn->deps == 0) push(&ready, in->grad_fn);
            } else {
                if (in->requires_grad) st = accumulate_leaf_take(in, g);
                else fc_tensor_free(g);
                if (in->requires_grad && st == FC_OK) leaf_done(&lc, in);
            }
        }
        if (gx != gx_stack) fci_free(gx);
    }
done:
    for (int64_t i = 0; i < all.n; i++) {
        fci_node *n = all.v[i];
        fc_tensor_free(n->gacc);
        n->gacc = NULL;
        n->deps = 0;
        if (!retain && st == FC_OK) node_release(n);
    }
    fci_free(all.v);
    fci_free(ready.v);
    fci_free(lc.key);
    fci_free(lc.left);
    return st;
}

fc_status fc_backward_with_(fc_tensor *y, const fc_tensor *grad, const fc_backward_opts *o) {
    if (!y || !grad) return fc_error_code() ? fc_error_code() : FC_ERR_ARG;
    if (!y->requires_grad)
        return fc_fail(FC_ERR_STATE, "backward: the tensor (shape %s, %s) does not require grad: "
                                     "it was made by a non-differentiable op (argmax, "
                                     "comparisons, integer results), from inputs that do not "
                                     "require grad, or in a no-grad region", fci_tshape(y),
                       fc_dtype_name(y->dtype));
    if (!same_shape(grad, y->ndim, y->shape))
        return fc_fail(FC_ERR_SHAPE, "backward: expected a gradient of shape %s, found %s",
                       fci_tshape(y), fci_tshape(grad));
    fc_no_grad_begin();
    fc_scope *s = fc_scope_begin(); /* every temporary of the backward pass goes at its end */
    fc_status st;
    if (!y->grad_fn) {
        st = accumulate_leaf(y, (fc_tensor *)grad);
        if (st == FC_OK && grad_ready_fn) grad_ready_fn(y, grad_ready_ctx);
    } else {
        st = run_backward(y, (fc_tensor *)grad, o && o->retain_graph);
    }
    fc_scope_end(s);
    fc_no_grad_end();
    return st;
}

fc_status fc_backward_(fc_tensor *loss, const fc_backward_opts *o) {
    if (!loss) return fc_error_code() ? fc_error_code() : FC_ERR_ARG;
    if (fc_tensor_numel(loss) != 1)
        return fc_fail(FC_ERR_SHAPE, "backward: expected a one-element loss, found shape %s "
                                     "(use fc_backward_with to give its gradient)",
                       fci_tshape(loss));
    fc_scope *s = fc_scope_begin();
    fc_tensor *one = fc_ones(fc_tensor_shape(loss), .dtype = loss->dtype, .device = loss->device);
    fc_status st = one ? fc_backward_with_(loss, one, o) : fc_error_code();
    fc_scope_end(s);
    return st;
}
