/* A small, safe pickle reader for what torch.save writes (never installed). It builds a tree of
 * plain values: no Python object is created and no code runs; the only callables it knows are a
 * short list of globals (collections.OrderedDict, torch._utils._rebuild_tensor[_v2],
 * _rebuild_parameter) and the torch.*Storage types named by persistent ids. Everything else (an
 * unknown opcode or global) fails with FC_ERR_FORMAT naming the file, the byte and the opcode. */
#ifndef FASTC_PICKLE_IMPL_H
#define FASTC_PICKLE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fastc/core.h"

typedef enum fci_pk_kind {
    FCI_PK_NONE,
    FCI_PK_BOOL,
    FCI_PK_INT,     /* i; big = 1 when it does not fit int64 (raw little-endian bytes in s, len) */
    FCI_PK_FLOAT,   /* f */
    FCI_PK_STR,     /* s (NUL-terminated copy), len */
    FCI_PK_BYTES,   /* s, len */
    FCI_PK_TUPLE,   /* items[0..n) */
    FCI_PK_LIST,    /* items[0..n) */
    FCI_PK_DICT,    /* items: key, value, key, value, ... (n = 2 * entries); keys unique */
    FCI_PK_GLOBAL,  /* a known callable or storage type: glob */
    FCI_PK_STORAGE, /* storage: an index into fci_pickle's storage table */
    FCI_PK_TENSOR,  /* storage, offset, ndim, size, stride (elements) */
} fci_pk_kind;

/* The storage types of torch.save's persistent ids; elem_size 0 for an unknown one. */
typedef enum fci_pk_stype {
    FCI_PK_ST_FLOAT = 1,
    FCI_PK_ST_HALF,
    FCI_PK_ST_BFLOAT16,
    FCI_PK_ST_DOUBLE,
    FCI_PK_ST_LONG,
    FCI_PK_ST_INT,
    FCI_PK_ST_SHORT,
    FCI_PK_ST_CHAR,
    FCI_PK_ST_BYTE,
    FCI_PK_ST_BOOL,
} fci_pk_stype;

typedef struct fci_pk_global {
    const char *module, *name;
    int role;          /* internal: what REDUCE does with it */
    fci_pk_stype type; /* storage types */
    int elem_size;
} fci_pk_global;

typedef struct fci_pk_value fci_pk_value;
struct fci_pk_value {
    fci_pk_kind kind;
    int big;
    int64_t i;
    double f;
    char *s;
    size_t len;
    fci_pk_value **items;
    size_t n, cap;
    const fci_pk_global *glob;
    int storage;
    int64_t offset;
    int ndim;
    int64_t size[FC_MAX_DIMS], stride[FC_MAX_DIMS];
};

/* One storage named by a persistent id ('storage', torch.FloatStorage, key, location, numel[,
 * view_metadata]). The caller sets data and n_avail (elements present in the file) once it has
 * found the bytes; numel is what the id says. */
typedef struct fci_pk_storage {
    char *key, *location;
    const fci_pk_global *type;
    int64_t numel;
    const uint8_t *data;
    int64_t n_avail;
} fci_pk_storage;

typedef struct fci_pickle {
    const char *path;  /* for messages: the file ... */
    const char *where; /* ... and the part of it ("data.pkl"), or NULL */
    fci_pk_value **values; /* every value made, freed together */
    size_t n_values, cap_values;
    fci_pk_storage *storages;
    int n_storages, cap_storages;
} fci_pickle;

/* A machine whose messages name path (and where, if not NULL); both borrowed. Zero it first. */
void fci_pickle_init(fci_pickle *pk, const char *path, const char *where);
/* Runs one pickle from p[0..n) up to its STOP: *out (owned by pk) gets the value, *used the
 * bytes read. base is the offset of p in the file, for messages. Several pickles may run on one
 * machine (the legacy format is a sequence); storages accumulate across them. */
fc_status fci_pickle_run(fci_pickle *pk, const uint8_t *p, size_t n, size_t base, fci_pk_value **out,
                         size_t *used);
/* Frees every value and storage record of pk. */
void fci_pickle_free(fci_pickle *pk);

/* The entry of dict d under string key, or NULL. */
fci_pk_value *fci_pk_dict_get(const fci_pk_value *d, const char *key);
/* "torch.FloatStorage", "str", "OrderedDict"...: a short name of v's kind for messages. */
const char *fci_pk_kind_name(const fci_pk_value *v);

#endif
