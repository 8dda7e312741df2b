/* The module: named parameters, buffers and children in PyTorch's order, dotted names, training
 * mode, forward. */
#include <string.h>

#include "nn_impl.h"

typedef struct named_tensor {
    char *name;
    fc_tensor *t;
} named_tensor;

typedef struct named_module {
    char *name;
    fc_module *m;
} named_module;

/* A flattened, recursively named list, rebuilt when any module has changed since. */
typedef struct flat_list {
    uint64_t gen;
    int n;
    named_tensor *items; /* names owned, tensors borrowed */
} flat_list;

struct fc_module {
    const fc_module_def *def;
    void *state;
    int training;
    int n_params, n_buffers, n_children;
    named_tensor *params, *buffers;
    named_module *children;
    flat_list flat_params, flat_buffers;
};

/* Bumped by every registration: a flat list built at an older generation is stale. */
static uint64_t generation = 1;

static _Thread_local fci_forward_hook forward_hook;
static _Thread_local void *forward_hook_ctx;

void fci_set_forward_hook(fci_forward_hook hook, void *ctx) {
    forward_hook = hook;
    forward_hook_ctx = ctx;
}

char *fci_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = fci_calloc(1, n);
    if (d) memcpy(d, s, n);
    return d;
}

fc_module *fc_module_new(const fc_module_def *def, void *state) {
    if (!def || !def->forward) {
        if (def && def->free_state) def->free_state(state);
        fc_fail(FC_ERR_ARG, "module_new: expected a definition with a forward function");
        return NULL;
    }
    fc_module *m = fci_calloc(1, sizeof *m);
    if (!m) {
        if (def->free_state) def->free_state(state);
        return NULL;
    }
    m->def = def;
    m->state = state;
    m->training = 1;
    return m;
}

static void flat_clear(flat_list *l) {
    for (int i = 0; i < l->n; i++) fci_free(l->items[i].name);
    fci_free(l->items);
    *l = (flat_list){0};
}

void fc_module_free(fc_module *m) {
    if (!m) return;
    for (int i = 0; i < m->n_children; i++) {
        fc_module_free(m->children[i].m);
        fci_free(m->children[i].name);
    }
    for (int i = 0; i < m->n_params; i++) {
        fc_tensor_free(m->params[i].t);
        fci_free(m->params[i].name);
    }
    for (int i = 0; i < m->n_buffers; i++) {
        fc_tensor_free(m->buffers[i].t);
        fci_free(m->buffers[i].name);
    }
    fci_free(m->children);
    fci_free(m->params);
    fci_free(m->buffers);
    flat_clear(&m->flat_params);
    flat_clear(&m->flat_buffers);
    if (m->def->free_state) m->def->free_state(m->state);
    fci_free(m);
}

/* A copy of arr (n entries of sz bytes) with room for cap; arr is freed on success. Everything
 * here comes from fci_calloc so that the test harness's leak check sees it. */
static void *grow(void *arr, int n, int cap, size_t sz) {
    char *p = fci_calloc((size_t)cap, sz);
    if (!p) return NULL;
    if (n) memcpy(p, arr, (size_t)n * sz);
    fci_free(arr);
    return p;
}

static void *grow_by_one(void *arr, int n, size_t sz) { return grow(arr, n, n + 1, sz); }

static int name_taken(const fc_module *m, const char *name) {
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) return 1;
    for (int i = 0; i < m->n_buffers; i++)
        if (!strcmp(m->buffers[i].name, name)) return 1;
    for (int i = 0; i < m->n_children; i++)
        if (!strcmp(m->children[i].name, name)) return 1;
    return 0;
}

static int check_name(const fc_module *m, const char *what, const char *name) {
    if (!name || !*name || strchr(name, '.')) {
        fc_fail(FC_ERR_ARG, "module_add_%s: expected a non-empty name without '.', found '%s'", what,
                name ? name : "(null)");
        return 0;
    }
    if (name_taken(m, name)) {
        fc_fail(FC_ERR_ARG, "module_add_%s: %s already has a member named '%s'", what,
                m->def->name, name);
        return 0;
    }
    return 1;
}

static fc_tensor *add_tensor(fc_module *m, const char *what, const char *name, fc_tensor *t,
                             named_tensor **arr, int *n) {
    if (t) fc_keep(t);
    if (!m || !t) {
        fc_tensor_free(t);
        return NULL;
    }
    char *dup = check_name(m, what, name) ? fci_strdup(name) : NULL;
    named_tensor *grown = dup ? grow_by_one(*arr, *n, sizeof **arr) : NULL;
    if (!grown) {
        fci_free(dup);
        fc_tensor_free(t);
        return NULL;
    }
    *arr = grown;
    (*arr)[(*n)++] = (named_tensor){dup, t};
    __atomic_add_fetch(&generation, 1, __ATOMIC_RELAXED);
    return t;
}

fc_tensor *fc_module_add_parameter(fc_module *m, const char *name, fc_tensor *t) {
    if (t && fc_tensor_set_requires_grad(t, 1) != FC_OK) {
        fc_tensor_free(fc_keep(t));
        return NULL;
    }
    if (!m) {
        fc_tensor_free(fc_keep(t));
        return NULL;
    }
    return add_tensor(m, "parameter", name, t, &m->params, &m->n_params);
}

fc_tensor *fc_module_add_buffer(fc_module *m, const char *name, fc_tensor *t) {
    if (!m) {
        fc_tensor_free(fc_keep(t));
        return NULL;
    }
    return add_tensor(m, "buffer", name, t, &m->buffers, &m->n_buffers);
}

fc_module *fc_module_add_child(fc_module *m, const char *name, fc_module *child) {
    if (!m || !child) {
        fc_module_free(child);
        return NULL;
    }
    if (child == m) {
        fc_fail(FC_ERR_ARG, "module_add_child: a module cannot be its own child ('%s')", name);
        return NULL;
    }
    char *dup = check_name(m, "child", name) ? fci_strdup(name) : NULL;
    named_module *grown = dup ? grow_by_one(m->children, m->n_children, sizeof *grown) : NULL;
    if (!grown) {
        fci_free(dup);
        fc_module_free(child);
        return NULL;
    }
    m->children = grown;
    m->children[m->n_children++] = (named_module){dup, child};
    __atomic_add_fetch(&generation, 1, __ATOMIC_RELAXED);
    return child;
}

const char *fc_module_type(const fc_module *m) { return m ? m->def->name : NULL; }
const fc_module_def *fc_module_definition(const fc_module *m) { return m ? m->def : NULL; }
void *fc_module_state(const fc_module *m) { return m ? m->state : NULL; }
int fc_module_is_training(const fc_module *m) { return m ? m->training : 0; }
int fc_module_n_children(const fc_module *m) { return m ? m->n_children : 0; }

fc_module *fc_module_child_at(const fc_module *m, int i, const char **name) {
    if (!m || i < 0 || i >= m->n_children) return NULL;
    if (name) *name = m->children[i].name;
    return m->children[i].m;
}

fc_module *fc_module_take_child(fc_module *m, int i) {
    if (!m || i < 0 || i >= m->n_children) {
        fc_fail(FC_ERR_ARG, "module_take_child: expected a child index in [0, %d), found %d",
                m ? m->n_children : 0, i);
        return NULL;
    }
    fc_module *child = m->children[i].m;
    fci_free(m->children[i].name);
    memmove(m->children + i, m->children + i + 1, (size_t)(m->n_children - i - 1) * sizeof *m->children);
    m->n_children--;
    __atomic_add_fetch(&generation, 1, __ATOMIC_RELAXED); /* m's flat lists named the child's members */
    return child;
}

/* Follows the dotted path's module part: returns the module holding the last component, which
 * *last points to. */
static const fc_module *resolve(const fc_module *m, const char *path, const char **last) {
    for (;;) {
        const char *dot = strchr(path, '.');
        if (!dot) {
            *last = path;
            return m;
        }
        size_t len = (size_t)(dot - path);
        const fc_module *next = NULL;
        for (int i = 0; i < m->n_children && !next; i++)
            if (strlen(m->children[i].name) == len && !strncmp(m->children[i].name, path, len))
                next = m->children[i].m;
        if (!next) return NULL;
        m = next;
        path = dot + 1;
    }
}

fc_module *fc_module_child(const fc_module *m, const char *dotted_name) {
    const char *last;
    if (!m || !dotted_name || !(m = resolve(m, dotted_name, &last))) return NULL;
    for (int i = 0; i < m->n_children; i++)
        if (!strcmp(m->children[i].name, last)) return m->children[i].m;
    return NULL;
}

fc_tensor *fc_module_get(const fc_module *m, const char *dotted_name) {
    const char *last;
    if (!m || !dotted_name || !(m = resolve(m, dotted_name, &last))) return NULL;
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, last)) return m->params[i].t;
    for (int i = 0; i < m->n_buffers; i++)
        if (!strcmp(m->buffers[i].name, last)) return m->buffers[i].t;
    return NULL;
}

/* ---- flattened, dotted lists ---------------------------------------------------------------- */

typedef struct flat_builder {
    int buffers; /* 0: parameters */
    int n, cap, failed;
    named_tensor *items;
} flat_builder;

/* A tensor registered twice (tied weights: fc_module_add_parameter(m, name, fc_tensor_ref(w))) is
 * listed once, at its first place, as PyTorch's named_parameters() / named_buffers() dedup. */
static int listed(const flat_builder *b, const fc_tensor *t) {
    for (int i = 0; i < b->n; i++)
        if (b->items[i].t == t) return 1;
    return 0;
}

/* named_parameters(): own members first, then each child's, prefixed with its name. */
static void flat_collect(const fc_module *m, const char *prefix, flat_builder *b) {
    int n = b->buffers ? m->n_buffers : m->n_params;
    const named_tensor *own = b->buffers ? m->buffers : m->params;
    for (int i = 0; i < n && !b->failed; i++) {
        if (listed(b, own[i].t)) continue;
        if (b->n == b->cap) {
            int cap = b->cap ? 2 * b->cap : 16;
            named_tensor *p = grow(b->items, b->n, cap, sizeof *p);
            if (!p) {
                b->failed = 1;
                return;
            }
            b->items = p;
            b->cap = cap;
        }
        size_t len = strlen(prefix) + strlen(own[i].name) + 1;
        char *name = fci_calloc(1, len);
        if (!name) {
            b->failed = 1;
            return;
        }
        snprintf(name, len, "%s%s", prefix, own[i].name);
        b->items[b->n++] = (named_tensor){name, own[i].t};
    }
    for (int i = 0; i < m->n_children && !b->failed; i++) {
        size_t len = strlen(prefix) + strlen(m->children[i].name) + 2;
        char *sub = fci_calloc(1, len);
        if (!sub) {
            b->failed = 1;
            return;
        }
        snprintf(sub, len, "%s%s.", prefix, m->children[i].name);
        flat_collect(m->children[i].m, sub, b);
        fci_free(sub);
    }
}

static flat_list *flat_get(fc_module *m, int buffers) {
    flat_list *l = buffers ? &m->flat_buffers : &m->flat_params;
    uint64_t gen = __atomic_load_n(&generation, __ATOMIC_RELAXED);
    if (l->gen == gen) return l;
    flat_clear(l);
    flat_builder b = {.buffers = buffers};
    flat_collect(m, "", &b);
    if (b.failed) {
        for (int i = 0; i < b.n; i++) fci_free(b.items[i].name);
        fci_free(b.items);
        return NULL;
    }
    l->items = b.items;
    l->n = b.n;
    l->gen = gen;
    return l;
}

int fc_module_n_parameters(fc_module *m) {
    flat_list *l = m ? flat_get(m, 0) : NULL;
    return l ? l->n : 0;
}

int fc_module_n_buffers(fc_module *m) {
    flat_list *l = m ? flat_get(m, 1) : NULL;
    return l ? l->n : 0;
}

static fc_tensor *flat_at(fc_module *m, int buffers, int i, const char **name) {
    flat_list *l = m ? flat_get(m, buffers) : NULL;
    if (!l || i < 0 || i >= l->n) return NULL;
    if (name) *name = l->items[i].name;
    return l->items[i].t;
}

fc_tensor *fc_module_parameter(fc_module *m, int i, const char **name) {
    return flat_at(m, 0, i, name);
}

fc_tensor *fc_module_buffer(fc_module *m, int i, const char **name) {
    return flat_at(m, 1, i, name);
}

int64_t fc_module_num_params(fc_module *m) {
    int64_t total = 0;
    int n = fc_module_n_parameters(m);
    for (int i = 0; i < n; i++) total += fc_tensor_numel(fc_module_parameter(m, i, NULL));
    return total;
}

/* ---- running -------------------------------------------------------------------------------- */

fc_tensor *fc_module_forward(fc_module *m, fc_tensor *x) {
    if (!x) return NULL;
    if (!m) {
        fc_fail(FC_ERR_ARG, "module_forward: the module is NULL (did its constructor fail?)");
        return NULL;
    }
    fc_tensor *y = m->def->forward(m, x);
    if (y && forward_hook) forward_hook(m, y, forward_hook_ctx);
    return y;
}

void fc_module_train(fc_module *m, int on) {
    if (!m) return;
    m->training = !!on;
    for (int i = 0; i < m->n_children; i++) fc_module_train(m->children[i].m, on);
}

void fci_module_set_training(fc_module *m, int on) {
    if (m) m->training = !!on;
}

void fc_module_zero_grad(fc_module *m) {
    if (!m) return;
    for (int i = 0; i < m->n_params; i++) fc_tensor_zero_grad(m->params[i].t);
    for (int i = 0; i < m->n_children; i++) fc_module_zero_grad(m->children[i].m);
}

static void walk(fc_module *m, const char *name, fci_module_visit fn, void *ctx) {
    fn(m, name, ctx);
    for (int i = 0; i < m->n_children; i++) {
        size_t len = strlen(name) + strlen(m->children[i].name) + 2;
        char *sub = malloc(len);
        if (!sub) continue;
        snprintf(sub, len, "%s%s%s", name, *name ? "." : "", m->children[i].name);
        walk(m->children[i].m, sub, fn, ctx);
        free(sub);
    }
}

void fci_module_walk(fc_module *m, fci_module_visit fn, void *ctx) {
    if (m) walk(m, "", fn, ctx);
}

void fci_module_set_def(fc_module *m, const fc_module_def *def) {
    if (m && def) m->def = def;
}

/* ---- init helpers --------------------------------------------------------------------------- */

fc_tensor *fci_nn_uniform(fc_shape shape, double bound) {
    fc_tensor *t = fc_keep(fc_rand(shape));
    if (!t) return NULL;
    float *p = fc_tensor_data_f32(t), lo = (float)-bound, w = (float)(2 * bound);
    for (int64_t i = 0, n = fc_tensor_numel(t); i < n; i++) p[i] = lo + w * p[i];
    return t;
}

fc_tensor *fci_nn_normal(fc_shape shape) { return fc_keep(fc_randn(shape)); }

fc_tensor *fci_nn_full(fc_shape shape, double value) { return fc_keep(fc_full(shape, value)); }
