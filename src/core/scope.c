/* Scopes: each open scope lists the tensors made while it was innermost, plus release hooks (the
 * autograd graph nodes recorded in it). Ending it runs the hooks, then drops the tensors. */
#include <string.h>

#include "core_impl.h"

typedef struct hook_item {
    void *item;
    fci_scope_hook release;
} hook_item;

struct fc_scope {
    fc_scope *parent;
    fc_tensor **items;
    int64_t n_items, cap_items;
    hook_item *hooks;
    int64_t n_hooks, cap_hooks;
};

static _Thread_local fc_scope *innermost;

fc_scope *fc_scope_begin(void) {
    fc_scope *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->parent = innermost;
    innermost = s;
    return s;
}

int fci_in_scope(void) { return innermost != NULL; }

static int grow(void **arr, int64_t *cap, size_t elem) {
    int64_t ncap = *cap ? *cap * 2 : 256;
    void *n = fci_calloc((size_t)ncap, elem);
    if (!n) return 0;
    if (*arr) memcpy(n, *arr, (size_t)*cap * elem);
    fci_free(*arr);
    *arr = n;
    *cap = ncap;
    return 1;
}

void fci_scope_adopt(fc_tensor *t) {
    fc_scope *s = innermost;
    if (!s || !t) return;
    if (s->n_items == s->cap_items && !grow((void **)&s->items, &s->cap_items, sizeof *s->items))
        return; /* out of memory: the tensor stays with the caller (error is set) */
    t->scope = s;
    t->scope_slot = s->n_items;
    s->items[s->n_items++] = t;
}

void fci_scope_on_end(void *item, fci_scope_hook release) {
    fc_scope *s = innermost;
    if (!s) return;
    if (s->n_hooks == s->cap_hooks && !grow((void **)&s->hooks, &s->cap_hooks, sizeof *s->hooks))
        return;
    s->hooks[s->n_hooks++] = (hook_item){item, release};
}

/* Called by fc_tensor_free and fc_keep: t leaves its scope's list. */
void fci_scope_forget(fc_tensor *t) {
    fc_scope *s = t->scope;
    if (!s) return;
    s->items[t->scope_slot] = NULL;
    t->scope = NULL;
}

void fc_scope_end(fc_scope *s) {
    if (!s) return;
    /* End any inner scopes the caller forgot, so no tensor outlives its list. */
    while (innermost && innermost != s) fc_scope_end(innermost);
    if (innermost != s) return; /* not open on this thread: nothing we may touch */
    for (int64_t i = 0; i < s->n_hooks; i++) s->hooks[i].release(s->hooks[i].item);
    for (int64_t i = 0; i < s->n_items; i++) {
        fc_tensor *t = s->items[i];
        if (!t) continue;
        t->scope = NULL;
        fc_tensor_free(t);
    }
    innermost = s->parent;
    fci_free(s->items);
    fci_free(s->hooks);
    fci_free(s);
}

fc_tensor *fc_keep(fc_tensor *t) {
    if (t) fci_scope_forget(t);
    return t;
}

/* The DataLoader makes batches outside the caller's scope (a batch belongs to its tuple, on any
 * thread): suspend hides the open scopes of this thread until resume. */
fc_scope *fci_scope_suspend(void) {
    fc_scope *s = innermost;
    innermost = NULL;
    return s;
}

void fci_scope_resume(fc_scope *s) { innermost = s; }
