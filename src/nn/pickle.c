/* A pickle reader for torch.save files: the opcodes of protocols 2 (what torch writes) and the
 * few of 3-5 that cost nothing, over a value tree (pickle_impl.h). Every read is bounds-checked;
 * the machine never recurses, so a hostile file can cost at most memory proportional to its size
 * (plus a memo capped at 2^20 slots). See Lib/pickle.py and pickletools.py for the opcodes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "pickle_impl.h"

enum { ROLE_STORAGE_TYPE = 1, ROLE_ORDERED_DICT, ROLE_REBUILD_TENSOR, ROLE_REBUILD_TENSOR_V2,
       ROLE_REBUILD_PARAMETER };

static const fci_pk_global globals[] = {
    {"collections", "OrderedDict", ROLE_ORDERED_DICT, 0, 0},
    {"torch._utils", "_rebuild_tensor", ROLE_REBUILD_TENSOR, 0, 0},
    {"torch._utils", "_rebuild_tensor_v2", ROLE_REBUILD_TENSOR_V2, 0, 0},
    {"torch._utils", "_rebuild_parameter", ROLE_REBUILD_PARAMETER, 0, 0},
    {"torch", "FloatStorage", ROLE_STORAGE_TYPE, FCI_PK_ST_FLOAT, 4},
    {"torch", "HalfStorage", ROLE_STORAGE_TYPE, FCI_PK_ST_HALF, 2},
    {"torch", "BFloat16Storage", ROLE_STORAGE_TYPE, FCI_PK_ST_BFLOAT16, 2},
    {"torch", "DoubleStorage", ROLE_STORAGE_TYPE, FCI_PK_ST_DOUBLE, 8},
    {"torch", "LongStorage", ROLE_STORAGE_TYPE, FCI_PK_ST_LONG, 8},
    {"torch", "IntStorage", ROLE_STORAGE_TYPE, FCI_PK_ST_INT, 4},
    {"torch", "ShortStorage", ROLE_STORAGE_TYPE, FCI_PK_ST_SHORT, 2},
    {"torch", "CharStorage", ROLE_STORAGE_TYPE, FCI_PK_ST_CHAR, 1},
    {"torch", "ByteStorage", ROLE_STORAGE_TYPE, FCI_PK_ST_BYTE, 1},
    {"torch", "BoolStorage", ROLE_STORAGE_TYPE, FCI_PK_ST_BOOL, 1},
};

#define MEMO_MAX (1u << 20)

typedef struct vm {
    fci_pickle *pk;
    const uint8_t *p;
    size_t n, pos, base, op_pos; /* op_pos: where the current opcode starts */
    uint8_t op;
    fci_pk_value **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t n_marks, marks_cap;
    fci_pk_value **memo;
    size_t memo_cap, memo_n; /* memo_n: slots filled (MEMOIZE stores at that index) */
} vm;

/* ---- messages ---------------------------------------------------------------------------------- */

static const char *op_name(uint8_t op) {
    switch (op) {
    case 0x80: return "PROTO";
    case 0x95: return "FRAME";
    case '}': return "EMPTY_DICT";
    case ']': return "EMPTY_LIST";
    case ')': return "EMPTY_TUPLE";
    case '(': return "MARK";
    case 'X': return "BINUNICODE";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x8e: return "BINBYTES8";
    case 'G': return "BINFLOAT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'M': return "BININT2";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 'N': return "NONE";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 't': return "TUPLE";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 'c': return "GLOBAL";
    case 0x93: return "STACK_GLOBAL";
    case 'R': return "REDUCE";
    case 0x81: return "NEWOBJ";
    case 'b': return "BUILD";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 0x94: return "MEMOIZE";
    case 'h': return "BINGET";
    case 'j': return "LONG_BINGET";
    case 's': return "SETITEM";
    case 'u': return "SETITEMS";
    case 'a': return "APPEND";
    case 'e': return "APPENDS";
    case 'Q': return "BINPERSID";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case '.': return "STOP";
    default: return NULL;
    }
}

static fc_status vfail(vm *v, const char *fmt, ...) FC_PRINTF(2, 3);
static fc_status vfail(vm *v, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *name = op_name(v->op);
    char opdesc[64];
    if (name) snprintf(opdesc, sizeof opdesc, "%s (0x%02x)", name, v->op);
    else snprintf(opdesc, sizeof opdesc, "0x%02x", v->op);
    return fc_fail(FC_ERR_FORMAT, "load_torch: '%s'%s%s%s byte %zu, opcode %s: %s", v->pk->path,
                   v->pk->where ? " (" : "", v->pk->where ? v->pk->where : "", v->pk->where ? ")" : "",
                   v->base + v->op_pos, opdesc, msg);
}

const char *fci_pk_kind_name(const fci_pk_value *v) {
    static const char *const names[] = {"None", "bool", "int", "float", "str", "bytes", "tuple", "list",
                                        "dict", "global", "storage", "tensor"};
    if (!v) return "nothing";
    return names[v->kind];
}

/* ---- values ------------------------------------------------------------------------------------ */

static fci_pk_value *new_value(vm *v, fci_pk_kind kind) {
    fci_pickle *pk = v->pk;
    if (pk->n_values == pk->cap_values) {
        size_t cap = pk->cap_values ? 2 * pk->cap_values : 256;
        fci_pk_value **p = realloc(pk->values, cap * sizeof *p);
        if (!p) {
            fc_fail(FC_ERR_NOMEM, "load_torch: out of memory (%zu values) reading '%s'", cap, pk->path);
            return NULL;
        }
        pk->values = p;
        pk->cap_values = cap;
    }
    fci_pk_value *x = calloc(1, sizeof *x);
    if (!x) {
        fc_fail(FC_ERR_NOMEM, "load_torch: out of memory reading '%s'", pk->path);
        return NULL;
    }
    x->kind = kind;
    pk->values[pk->n_values++] = x;
    return x;
}

static int add_item(vm *v, fci_pk_value *c, fci_pk_value *item) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        fci_pk_value **p = realloc(c->items, cap * sizeof *p);
        if (!p) {
            fc_fail(FC_ERR_NOMEM, "load_torch: out of memory (a container of %zu items) reading '%s'", cap,
                    v->pk->path);
            return 0;
        }
        c->items = p;
        c->cap = cap;
    }
    c->items[c->n++] = item;
    return 1;
}

static int same_key(const fci_pk_value *a, const fci_pk_value *b) {
    if (a->kind != b->kind) return 0;
    if (a->kind == FCI_PK_STR || a->kind == FCI_PK_BYTES) return a->len == b->len && !memcmp(a->s, b->s, a->len);
    if (a->kind == FCI_PK_INT) return !a->big && !b->big && a->i == b->i;
    return a == b;
}

static int dict_set(vm *v, fci_pk_value *d, fci_pk_value *k, fci_pk_value *val) {
    for (size_t i = 0; i < d->n; i += 2)
        if (same_key(d->items[i], k)) {
            d->items[i + 1] = val;
            return 1;
        }
    return add_item(v, d, k) && add_item(v, d, val);
}

fci_pk_value *fci_pk_dict_get(const fci_pk_value *d, const char *key) {
    if (!d || d->kind != FCI_PK_DICT) return NULL;
    size_t len = strlen(key);
    for (size_t i = 0; i + 1 < d->n; i += 2)
        if (d->items[i]->kind == FCI_PK_STR && d->items[i]->len == len && !memcmp(d->items[i]->s, key, len))
            return d->items[i + 1];
    return NULL;
}

/* ---- the stack ---------------------------------------------------------------------------------- */

static int push(vm *v, fci_pk_value *x) {
    if (!x) return 0;
    if (v->sp == v->stack_cap) {
        size_t cap = v->stack_cap ? 2 * v->stack_cap : 64;
        fci_pk_value **p = realloc(v->stack, cap * sizeof *p);
        if (!p) {
            fc_fail(FC_ERR_NOMEM, "load_torch: out of memory (a stack of %zu) reading '%s'", cap, v->pk->path);
            return 0;
        }
        v->stack = p;
        v->stack_cap = cap;
    }
    v->stack[v->sp++] = x;
    return 1;
}

/* The lowest stack slot pop may take: above the innermost mark. */
static size_t floor_(const vm *v) { return v->n_marks ? v->marks[v->n_marks - 1] : 0; }

static fci_pk_value *pop(vm *v) {
    if (v->sp <= floor_(v)) {
        vfail(v, "the stack is empty%s", v->n_marks ? " above the mark" : "");
        return NULL;
    }
    return v->stack[--v->sp];
}

static fci_pk_value *top(vm *v) {
    if (v->sp <= floor_(v)) {
        vfail(v, "the stack is empty%s", v->n_marks ? " above the mark" : "");
        return NULL;
    }
    return v->stack[v->sp - 1];
}

/* Removes the innermost mark; *start gets the first slot above it. */
static int pop_mark(vm *v, size_t *start) {
    if (!v->n_marks) {
        vfail(v, "no MARK on the stack");
        return 0;
    }
    *start = v->marks[--v->n_marks];
    return 1;
}

/* ---- reading arguments -------------------------------------------------------------------------- */

static const uint8_t *take(vm *v, size_t k) {
    if (v->n - v->pos < k) {
        vfail(v, "truncated: needs %zu more bytes, found %zu", k, v->n - v->pos);
        return NULL;
    }
    const uint8_t *q = v->p + v->pos;
    v->pos += k;
    return q;
}

static int read_uint(vm *v, size_t k, uint64_t *out) {
    const uint8_t *q = take(v, k);
    if (!q) return 0;
    uint64_t x = 0;
    for (size_t i = k; i-- > 0;) x = x << 8 | q[i];
    *out = x;
    return 1;
}

static int push_int(vm *v, int64_t x) {
    fci_pk_value *val = new_value(v, FCI_PK_INT);
    if (val) val->i = x;
    return push(v, val);
}

/* LONG1 / LONG4: little-endian two's complement of k bytes. */
static int push_long(vm *v, size_t k) {
    const uint8_t *q = take(v, k);
    if (!q) return 0;
    fci_pk_value *val = new_value(v, FCI_PK_INT);
    if (!val) return 0;
    int neg = k && (q[k - 1] & 0x80);
    int fits = 1;
    for (size_t i = 8; i < k; i++) fits &= q[i] == (neg ? 0xff : 0x00);
    if (k > 8 && fits) fits = ((q[7] & 0x80) != 0) == neg;
    if (fits) {
        uint64_t x = neg ? ~(uint64_t)0 : 0;
        for (size_t i = (k < 8 ? k : 8); i-- > 0;) x = x << 8 | q[i];
        val->i = (int64_t)x;
        return push(v, val);
    }
    val->big = 1;
    val->s = malloc(k);
    if (!val->s) {
        fc_fail(FC_ERR_NOMEM, "load_torch: out of memory (%zu bytes) reading '%s'", k, v->pk->path);
        return 0;
    }
    memcpy(val->s, q, k);
    val->len = k;
    return push(v, val);
}

static int push_string(vm *v, size_t len_bytes, fci_pk_kind kind) {
    uint64_t len;
    if (!read_uint(v, len_bytes, &len)) return 0;
    if (len > v->n - v->pos) {
        vfail(v, "truncated: a string of %llu bytes, found %zu", (unsigned long long)len, v->n - v->pos);
        return 0;
    }
    const uint8_t *q = take(v, (size_t)len);
    fci_pk_value *val = new_value(v, kind);
    if (!q || !val) return 0;
    val->s = malloc((size_t)len + 1);
    if (!val->s) {
        fc_fail(FC_ERR_NOMEM, "load_torch: out of memory (%llu bytes) reading '%s'", (unsigned long long)len,
                v->pk->path);
        return 0;
    }
    memcpy(val->s, q, (size_t)len);
    val->s[len] = 0;
    val->len = (size_t)len;
    return push(v, val);
}

static int push_global(vm *v, const char *module, const char *name) {
    for (size_t i = 0; i < sizeof globals / sizeof *globals; i++)
        if (!strcmp(globals[i].module, module) && !strcmp(globals[i].name, name)) {
            fci_pk_value *val = new_value(v, FCI_PK_GLOBAL);
            if (val) val->glob = &globals[i];
            return push(v, val);
        }
    vfail(v, "unsupported global '%.100s.%.100s': only tensors, OrderedDict and plain Python values "
          "can be loaded", module, name);
    return 0;
}

/* GLOBAL: "module\nname\n" */
static int op_global(vm *v) {
    char parts[2][256];
    for (int k = 0; k < 2; k++) {
        const uint8_t *s = v->p + v->pos, *nl = memchr(s, '\n', v->n - v->pos);
        if (!nl) {
            vfail(v, "truncated: no end of line after the %s name", k ? "global" : "module");
            return 0;
        }
        size_t len = (size_t)(nl - s);
        if (len >= sizeof parts[k]) {
            vfail(v, "a %s name of %zu bytes (at most 255)", k ? "global" : "module", len);
            return 0;
        }
        memcpy(parts[k], s, len);
        parts[k][len] = 0;
        v->pos += len + 1;
    }
    return push_global(v, parts[0], parts[1]);
}

static int op_stack_global(vm *v) {
    fci_pk_value *name = pop(v), *module = name ? pop(v) : NULL;
    if (!module) return 0;
    if (module->kind != FCI_PK_STR || name->kind != FCI_PK_STR) {
        vfail(v, "expected two strings, found %s and %s", fci_pk_kind_name(module), fci_pk_kind_name(name));
        return 0;
    }
    return push_global(v, module->s, name->s);
}

/* ---- tensors and storages ------------------------------------------------------------------------ */

static int int_arg(vm *v, const fci_pk_value *x, const char *what, int64_t lo, int64_t *out) {
    if (x->kind != FCI_PK_INT || x->big || x->i < lo || x->i > ((int64_t)1 << 56)) {
        if (x->kind == FCI_PK_INT && !x->big)
            vfail(v, "%s: expected an integer in [%lld, 2^56], found %lld", what, (long long)lo, (long long)x->i);
        else
            vfail(v, "%s: expected an integer, found %s", what, fci_pk_kind_name(x));
        return 0;
    }
    *out = x->i;
    return 1;
}

/* _rebuild_tensor(storage, offset, size, stride) and _v2 (... requires_grad, hooks[, metadata]). */
static fci_pk_value *rebuild_tensor(vm *v, const fci_pk_value *args, int v2) {
    if (args->n < 4 || (!v2 && args->n != 4) || args->n > 7) {
        vfail(v, "_rebuild_tensor%s: expected %s arguments, found %zu", v2 ? "_v2" : "", v2 ? "4 to 7" : "4",
              args->n);
        return NULL;
    }
    const fci_pk_value *st = args->items[0], *size = args->items[2], *stride = args->items[3];
    if (st->kind != FCI_PK_STORAGE) {
        vfail(v, "_rebuild_tensor: expected a storage (a persistent id), found %s", fci_pk_kind_name(st));
        return NULL;
    }
    if (size->kind != FCI_PK_TUPLE || stride->kind != FCI_PK_TUPLE || size->n != stride->n) {
        vfail(v, "_rebuild_tensor: expected size and stride tuples of one length, found %s of %zu and %s of %zu",
              fci_pk_kind_name(size), size->n, fci_pk_kind_name(stride), stride->n);
        return NULL;
    }
    if (size->n > FC_MAX_DIMS) {
        vfail(v, "_rebuild_tensor: a tensor of %zu dims (at most %d)", size->n, FC_MAX_DIMS);
        return NULL;
    }
    fci_pk_value *t = new_value(v, FCI_PK_TENSOR);
    if (!t) return NULL;
    t->storage = st->storage;
    t->ndim = (int)size->n;
    if (!int_arg(v, args->items[1], "storage offset", 0, &t->offset)) return NULL;
    int64_t numel = 1, last = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        if (!int_arg(v, size->items[d], "size", 0, &t->size[d]) ||
            !int_arg(v, stride->items[d], "stride", 0, &t->stride[d]))
            return NULL;
        if (__builtin_mul_overflow(numel, t->size[d], &numel) || numel > ((int64_t)1 << 56)) {
            vfail(v, "_rebuild_tensor: more than 2^56 elements");
            return NULL;
        }
        int64_t reach;
        if (t->size[d] > 0 && (__builtin_mul_overflow(t->size[d] - 1, t->stride[d], &reach) ||
                               __builtin_add_overflow(last, reach, &last))) {
            vfail(v, "_rebuild_tensor: size %s and stride %s reach past 2^63", fci_shape_str(t->ndim, t->size),
                  fci_shape_str(t->ndim, t->stride));
            return NULL;
        }
    }
    const fci_pk_storage *s = &v->pk->storages[t->storage];
    if (numel > 0 && last >= s->numel) {
        vfail(v, "_rebuild_tensor: a tensor of size %s, stride %s and offset %lld reads element %lld of "
              "storage '%s', which holds %lld", fci_shape_str(t->ndim, t->size), fci_shape_str(t->ndim, t->stride),
              (long long)t->offset, (long long)last, s->key, (long long)s->numel);
        return NULL;
    }
    return t;
}

/* BINPERSID: ('storage', torch.XStorage, key, location, numel[, view_metadata]). */
static int op_persid(vm *v) {
    fci_pk_value *pid = pop(v);
    if (!pid) return 0;
    if (pid->kind != FCI_PK_TUPLE || pid->n < 5 || pid->n > 6 || pid->items[0]->kind != FCI_PK_STR ||
        strcmp(pid->items[0]->s, "storage")) {
        vfail(v, "expected a persistent id ('storage', type, key, location, numel), found a %s of %zu items",
              fci_pk_kind_name(pid), pid->n);
        return 0;
    }
    fci_pk_value **it = pid->items;
    if (it[1]->kind != FCI_PK_GLOBAL || it[1]->glob->role != ROLE_STORAGE_TYPE || it[2]->kind != FCI_PK_STR ||
        it[3]->kind != FCI_PK_STR) {
        vfail(v, "persistent id: expected (str, torch storage type, str, str, int), found (%s, %s, %s, %s, ..)",
              fci_pk_kind_name(it[0]), fci_pk_kind_name(it[1]), fci_pk_kind_name(it[2]), fci_pk_kind_name(it[3]));
        return 0;
    }
    if (pid->n == 6 && it[5]->kind != FCI_PK_NONE) {
        vfail(v, "persistent id of storage '%s': storage views (view_metadata) are not supported", it[2]->s);
        return 0;
    }
    int64_t numel;
    if (!int_arg(v, it[4], "persistent id: numel", 0, &numel)) return 0;
    fci_pickle *pk = v->pk;
    int idx = -1;
    for (int i = 0; i < pk->n_storages && idx < 0; i++)
        if (!strcmp(pk->storages[i].key, it[2]->s)) idx = i;
    if (idx >= 0 && (pk->storages[idx].type != it[1]->glob || pk->storages[idx].numel != numel)) {
        vfail(v, "storage '%s' named twice with different types or sizes", it[2]->s);
        return 0;
    }
    if (idx < 0) {
        if (pk->n_storages == pk->cap_storages) {
            int cap = pk->cap_storages ? 2 * pk->cap_storages : 64;
            fci_pk_storage *p = realloc(pk->storages, (size_t)cap * sizeof *p);
            if (!p) {
                fc_fail(FC_ERR_NOMEM, "load_torch: out of memory (%d storages) reading '%s'", cap, pk->path);
                return 0;
            }
            pk->storages = p;
            pk->cap_storages = cap;
        }
        fci_pk_storage *s = &pk->storages[pk->n_storages];
        *s = (fci_pk_storage){.type = it[1]->glob, .numel = numel};
        s->key = malloc(it[2]->len + 1);
        s->location = malloc(it[3]->len + 1);
        if (!s->key || !s->location) {
            free(s->key);
            free(s->location);
            fc_fail(FC_ERR_NOMEM, "load_torch: out of memory reading '%s'", pk->path);
            return 0;
        }
        memcpy(s->key, it[2]->s, it[2]->len + 1);
        memcpy(s->location, it[3]->s, it[3]->len + 1);
        idx = pk->n_storages++;
    }
    fci_pk_value *val = new_value(v, FCI_PK_STORAGE);
    if (val) val->storage = idx;
    return push(v, val);
}

/* REDUCE and NEWOBJ: callable(*args) for the known callables only. */
static int op_reduce(vm *v) {
    fci_pk_value *args = pop(v), *fn = args ? pop(v) : NULL;
    if (!fn) return 0;
    if (fn->kind != FCI_PK_GLOBAL || args->kind != FCI_PK_TUPLE) {
        vfail(v, "expected a known callable and an argument tuple, found %s and %s", fci_pk_kind_name(fn),
              fci_pk_kind_name(args));
        return 0;
    }
    switch (fn->glob->role) {
    case ROLE_ORDERED_DICT:
        if (args->n != 0) {
            vfail(v, "OrderedDict: expected no arguments, found %zu", args->n);
            return 0;
        }
        return push(v, new_value(v, FCI_PK_DICT));
    case ROLE_REBUILD_TENSOR:
    case ROLE_REBUILD_TENSOR_V2:
        return push(v, rebuild_tensor(v, args, fn->glob->role == ROLE_REBUILD_TENSOR_V2));
    case ROLE_REBUILD_PARAMETER:
        if (args->n < 1 || args->items[0]->kind != FCI_PK_TENSOR) {
            vfail(v, "_rebuild_parameter: expected a tensor first, found %s",
                  args->n ? fci_pk_kind_name(args->items[0]) : "no arguments");
            return 0;
        }
        return push(v, args->items[0]);
    default:
        vfail(v, "%s.%s cannot be called", fn->glob->module, fn->glob->name);
        return 0;
    }
}

/* ---- containers --------------------------------------------------------------------------------- */

static int op_tuple(vm *v, int k) {
    size_t start;
    if (k < 0) {
        if (!pop_mark(v, &start)) return 0;
    } else {
        if (v->sp < floor_(v) + (size_t)k) {
            vfail(v, "expected %d items on the stack, found %zu", k, v->sp - floor_(v));
            return 0;
        }
        start = v->sp - (size_t)k;
    }
    fci_pk_value *t = new_value(v, FCI_PK_TUPLE);
    if (!t) return 0;
    for (size_t i = start; i < v->sp; i++)
        if (!add_item(v, t, v->stack[i])) return 0;
    v->sp = start;
    return push(v, t);
}

static int op_setitems(vm *v, int many) {
    size_t start;
    if (many) {
        if (!pop_mark(v, &start)) return 0;
    } else {
        start = v->sp >= 2 ? v->sp - 2 : 0;
        if (v->sp < floor_(v) + 2) {
            vfail(v, "expected a key and a value on the stack");
            return 0;
        }
    }
    if (start <= floor_(v) || (v->sp - start) % 2) {
        vfail(v, "expected a dict and key-value pairs on the stack, found %zu items", v->sp - start);
        return 0;
    }
    fci_pk_value *d = v->stack[start - 1];
    if (d->kind != FCI_PK_DICT) {
        vfail(v, "expected a dict, found %s", fci_pk_kind_name(d));
        return 0;
    }
    for (size_t i = start; i < v->sp; i += 2)
        if (!dict_set(v, d, v->stack[i], v->stack[i + 1])) return 0;
    v->sp = start;
    return 1;
}

static int op_appends(vm *v, int many) {
    size_t start;
    if (many) {
        if (!pop_mark(v, &start)) return 0;
    } else {
        if (v->sp < floor_(v) + 1) {
            vfail(v, "expected a value on the stack");
            return 0;
        }
        start = v->sp - 1;
    }
    if (start <= floor_(v) || v->stack[start - 1]->kind != FCI_PK_LIST) {
        vfail(v, "expected a list, found %s", start > floor_(v) ? fci_pk_kind_name(v->stack[start - 1]) : "nothing");
        return 0;
    }
    fci_pk_value *l = v->stack[start - 1];
    for (size_t i = start; i < v->sp; i++)
        if (!add_item(v, l, v->stack[i])) return 0;
    v->sp = start;
    return 1;
}

/* BUILD: obj.__setstate__(state). Only a dict's attributes (OrderedDict._metadata of a state dict)
 * and a tensor's are accepted, and dropped: they carry nothing the loader needs. */
static int op_build(vm *v) {
    fci_pk_value *state = pop(v), *obj = state ? top(v) : NULL;
    if (!obj) return 0;
    if (obj->kind != FCI_PK_DICT && obj->kind != FCI_PK_TENSOR) {
        vfail(v, "cannot set the state of a %s", fci_pk_kind_name(obj));
        return 0;
    }
    return 1;
}

/* ---- memo ---------------------------------------------------------------------------------------- */

static int memo_put(vm *v, uint64_t idx) {
    fci_pk_value *x = top(v);
    if (!x) return 0;
    if (idx >= MEMO_MAX) {
        vfail(v, "memo index %llu (at most %u)", (unsigned long long)idx, MEMO_MAX - 1);
        return 0;
    }
    if (idx >= v->memo_cap) {
        size_t cap = v->memo_cap ? v->memo_cap : 256;
        while (cap <= idx) cap *= 2;
        fci_pk_value **p = realloc(v->memo, cap * sizeof *p);
        if (!p) {
            fc_fail(FC_ERR_NOMEM, "load_torch: out of memory (a memo of %zu) reading '%s'", cap, v->pk->path);
            return 0;
        }
        memset(p + v->memo_cap, 0, (cap - v->memo_cap) * sizeof *p);
        v->memo = p;
        v->memo_cap = cap;
    }
    if (!v->memo[idx]) v->memo_n++;
    v->memo[idx] = x;
    return 1;
}

static int memo_get(vm *v, uint64_t idx) {
    if (idx >= v->memo_cap || !v->memo[idx]) {
        vfail(v, "memo index %llu was never stored", (unsigned long long)idx);
        return 0;
    }
    return push(v, v->memo[idx]);
}

/* ---- the loop ------------------------------------------------------------------------------------ */

static int step(vm *v, int *stop) {
    uint64_t x;
    switch (v->op) {
    case 0x80: /* PROTO */
        if (!read_uint(v, 1, &x)) return 0;
        if (x > 5) return vfail(v, "pickle protocol %llu (at most 5)", (unsigned long long)x), 0;
        return 1;
    case 0x95: return read_uint(v, 8, &x); /* FRAME: a length hint */
    case '}': return push(v, new_value(v, FCI_PK_DICT));
    case ']': return push(v, new_value(v, FCI_PK_LIST));
    case ')': return push(v, new_value(v, FCI_PK_TUPLE));
    case '(':
        if (v->n_marks == v->marks_cap) {
            size_t cap = v->marks_cap ? 2 * v->marks_cap : 16;
            size_t *p = realloc(v->marks, cap * sizeof *p);
            if (!p) return fc_fail(FC_ERR_NOMEM, "load_torch: out of memory reading '%s'", v->pk->path), 0;
            v->marks = p;
            v->marks_cap = cap;
        }
        v->marks[v->n_marks++] = v->sp;
        return 1;
    case 'X': return push_string(v, 4, FCI_PK_STR);
    case 0x8c: return push_string(v, 1, FCI_PK_STR);
    case 0x8d: return push_string(v, 8, FCI_PK_STR);
    case 'T': return push_string(v, 4, FCI_PK_STR);
    case 'U': return push_string(v, 1, FCI_PK_STR);
    case 'B': return push_string(v, 4, FCI_PK_BYTES);
    case 'C': return push_string(v, 1, FCI_PK_BYTES);
    case 0x8e: return push_string(v, 8, FCI_PK_BYTES);
    case 'G': {
        const uint8_t *q = take(v, 8);
        if (!q) return 0;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | q[i]; /* big endian */
        fci_pk_value *f = new_value(v, FCI_PK_FLOAT);
        if (f) memcpy(&f->f, &bits, sizeof f->f);
        return push(v, f);
    }
    case 'J': return read_uint(v, 4, &x) && push_int(v, (int32_t)(uint32_t)x);
    case 'K': return read_uint(v, 1, &x) && push_int(v, (int64_t)x);
    case 'M': return read_uint(v, 2, &x) && push_int(v, (int64_t)x);
    case 0x8a: return read_uint(v, 1, &x) && push_long(v, (size_t)x);
    case 0x8b:
        if (!read_uint(v, 4, &x)) return 0;
        if ((int32_t)x < 0) return vfail(v, "negative length %d", (int32_t)x), 0;
        return push_long(v, (size_t)x);
    case 'N': return push(v, new_value(v, FCI_PK_NONE));
    case 0x88:
    case 0x89: {
        fci_pk_value *b = new_value(v, FCI_PK_BOOL);
        if (b) b->i = v->op == 0x88;
        return push(v, b);
    }
    case 't': return op_tuple(v, -1);
    case 0x85: return op_tuple(v, 1);
    case 0x86: return op_tuple(v, 2);
    case 0x87: return op_tuple(v, 3);
    case 'c': return op_global(v);
    case 0x93: return op_stack_global(v);
    case 'R':
    case 0x81: return op_reduce(v);
    case 'b': return op_build(v);
    case 'q': return read_uint(v, 1, &x) && memo_put(v, x);
    case 'r': return read_uint(v, 4, &x) && memo_put(v, x);
    case 0x94: return memo_put(v, v->memo_n);
    case 'h': return read_uint(v, 1, &x) && memo_get(v, x);
    case 'j': return read_uint(v, 4, &x) && memo_get(v, x);
    case 's': return op_setitems(v, 0);
    case 'u': return op_setitems(v, 1);
    case 'a': return op_appends(v, 0);
    case 'e': return op_appends(v, 1);
    case 'Q': return op_persid(v);
    case '0': return pop(v) != NULL;
    case '1': {
        size_t start;
        if (!pop_mark(v, &start)) return 0;
        v->sp = start;
        return 1;
    }
    case '2': {
        fci_pk_value *t = top(v);
        return t && push(v, t);
    }
    case '.': *stop = 1; return 1;
    default:
        if (v->op >= 0x20 && v->op < 0x7f)
            vfail(v, "unsupported opcode '%c': not a torch.save file, or one with objects the loader does not "
                  "read", v->op);
        else
            vfail(v, "unsupported opcode: not a torch.save file, or one with objects the loader does not read");
        return 0;
    }
}

void fci_pickle_init(fci_pickle *pk, const char *path, const char *where) {
    *pk = (fci_pickle){.path = path, .where = where};
}

fc_status fci_pickle_run(fci_pickle *pk, const uint8_t *p, size_t n, size_t base, fci_pk_value **out,
                         size_t *used) {
    vm v = {.pk = pk, .p = p, .n = n, .base = base};
    int stop = 0, ok = 1;
    *out = NULL;
    while (ok && !stop) {
        v.op_pos = v.pos;
        if (v.pos >= v.n) {
            v.op = 0;
            vfail(&v, "truncated: the pickle ends without STOP");
            ok = 0;
            break;
        }
        v.op = v.p[v.pos++];
        ok = step(&v, &stop);
    }
    if (ok) {
        if (v.sp != 1 || v.n_marks) {
            vfail(&v, "expected one value on the stack at STOP, found %zu%s", v.sp, v.n_marks ? " and a MARK" : "");
            ok = 0;
        } else {
            *out = v.stack[0];
            *used = v.pos;
        }
    }
    free(v.stack);
    free(v.marks);
    free(v.memo);
    if (ok) return FC_OK;
    return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_INTERNAL, "load_torch: pickle failed");
}

void fci_pickle_free(fci_pickle *pk) {
    for (size_t i = 0; i < pk->n_values; i++) {
        free(pk->values[i]->s);
        free(pk->values[i]->items);
        free(pk->values[i]);
    }
    free(pk->values);
    for (int i = 0; i < pk->n_storages; i++) {
        free(pk->storages[i].key);
        free(pk->storages[i].location);
    }
    free(pk->storages);
    *pk = (fci_pickle){0};
}
