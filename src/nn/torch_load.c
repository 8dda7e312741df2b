/* Loading torch.save files into a module, without Python.
 *
 * Two containers hold the same pickled object (a state dict, or a dict with one inside):
 * - zip (PyTorch >= 1.6): <folder>/data.pkl, and the raw bytes of storage <key> in
 *   <folder>/data/<key>; entries are stored, not compressed. We read the central directory.
 * - legacy (older, or _use_new_zipfile_serialization=False): a stream of pickles — the magic
 *   number 0x1950a86a20f9469cfc6c, the protocol version 1001, a sys_info dict, the object, the list
 *   of storage keys — then, for each key in that order, an int64 element count and the raw data.
 * Tensors are persistent ids ('storage', torch.FloatStorage, key, location, numel[, None]) wrapped
 * in torch._utils._rebuild_tensor[_v2](storage, offset, size, stride, ...) (pickle.c).
 * The file is mapped read-only; every tensor is checked (name, dtype, shape, bytes present) before
 * the first element is copied, so a failed load leaves the module as it was. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_impl.h"
#include "pickle_impl.h"

typedef struct ckpt {
    const char *path;
    const uint8_t *map;
    size_t size;
    fci_pickle pk;
    fci_pk_value *root;
    char where[300]; /* the zip entry holding the pickle, for messages */
} ckpt;

static uint64_t le(const uint8_t *p, int k) {
    uint64_t x = 0;
    for (int i = k; i-- > 0;) x = x << 8 | p[i];
    return x;
}

static fc_status truncated(const ckpt *c, const char *what, uint64_t at, uint64_t need) {
    return fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is truncated: %s needs bytes %llu..%llu, the file has %zu",
                   c->path, what, (unsigned long long)at, (unsigned long long)(at + need), c->size);
}

/* ---- zip: the central directory ------------------------------------------------------------------ */

typedef struct zip_entry {
    const char *name;
    size_t name_len;
    uint64_t local_off, size, comp_size;
    uint32_t crc;
    int method;
} zip_entry;

typedef struct zip {
    zip_entry *e;
    size_t n;
} zip;

/* The end-of-central-directory record (zip64 when the 32-bit fields overflow). */
static fc_status zip_directory(const ckpt *c, uint64_t *cd_off, uint64_t *cd_size, uint64_t *n) {
    size_t lo = c->size > 22 + 65535 ? c->size - 22 - 65535 : 0;
    size_t at = (size_t)-1;
    for (size_t i = c->size >= 22 ? c->size - 22 + 1 : 0; i-- > lo;)
        if (le(c->map + i, 4) == 0x06054b50) {
            at = i;
            break;
        }
    if (at == (size_t)-1)
        return fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is truncated or not a zip archive: no end of central "
                       "directory record in its last %zu bytes", c->path, c->size - lo);
    const uint8_t *e = c->map + at;
    *n = le(e + 10, 2);
    *cd_size = le(e + 12, 4);
    *cd_off = le(e + 16, 4);
    if (*n == 0xffff || *cd_size == 0xffffffffu || *cd_off == 0xffffffffu) {
        if (at < 20 || le(e - 20, 4) != 0x07064b50)
            return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': zip64 archive without its locator", c->path);
        uint64_t off64 = le(e - 20 + 8, 8);
        if (off64 > at || at - off64 < 56 || le(c->map + off64, 4) != 0x06064b50)
            return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': bad zip64 end of central directory at %llu", c->path,
                           (unsigned long long)off64);
        *n = le(c->map + off64 + 32, 8);
        *cd_size = le(c->map + off64 + 40, 8);
        *cd_off = le(c->map + off64 + 48, 8);
    }
    if (*cd_off > at || *cd_size > at - *cd_off)
        return fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is truncated or corrupt: the central directory (%llu bytes "
                       "at %llu) does not fit before its end record at %zu", c->path,
                       (unsigned long long)*cd_size, (unsigned long long)*cd_off, at);
    return FC_OK;
}

/* Zip64 extra field 0x0001: the 64-bit values of the fields that read 0xffffffff, in order. */
static void zip64_extra(const uint8_t *x, size_t len, zip_entry *z, int need_size, int need_comp, int need_off) {
    for (size_t i = 0; i + 4 <= len;) {
        size_t id = le(x + i, 2), sz = le(x + i + 2, 2), j = i + 4;
        if (i + 4 + sz > len) return;
        if (id == 1) {
            if (need_size && j + 8 <= i + 4 + sz) z->size = le(x + j, 8), j += 8;
            if (need_comp && j + 8 <= i + 4 + sz) z->comp_size = le(x + j, 8), j += 8;
            if (need_off && j + 8 <= i + 4 + sz) z->local_off = le(x + j, 8);
            return;
        }
        i += 4 + sz;
    }
}

static fc_status zip_read(const ckpt *c, zip *z) {
    uint64_t off = 0, size = 0, n = 0;
    fc_status st = zip_directory(c, &off, &size, &n);
    if (st != FC_OK) return st;
    if (n > size / 46) /* each record takes at least 46 bytes */
        return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': %llu zip entries cannot fit a %llu-byte directory", c->path,
                       (unsigned long long)n, (unsigned long long)size);
    z->e = calloc(n ? n : 1, sizeof *z->e);
    if (!z->e) return fc_fail(FC_ERR_NOMEM, "load_torch: out of memory (%llu zip entries)", (unsigned long long)n);
    const uint8_t *p = c->map + off, *end = p + size;
    for (z->n = 0; z->n < n; z->n++) {
        if (end - p < 46 || le(p, 4) != 0x02014b50)
            return fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is corrupt: zip directory record %zu at byte %llu is "
                           "not one", c->path, z->n, (unsigned long long)(p - c->map));
        size_t nl = le(p + 28, 2), xl = le(p + 30, 2), cl = le(p + 32, 2);
        if ((size_t)(end - p) < 46 + nl + xl + cl)
            return fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is corrupt: zip directory record %zu overruns the "
                           "directory", c->path, z->n);
        zip_entry *e = &z->e[z->n];
        *e = (zip_entry){.name = (const char *)p + 46, .name_len = nl, .method = (int)le(p + 10, 2),
                         .comp_size = le(p + 20, 4), .size = le(p + 24, 4), .local_off = le(p + 42, 4),
                         .crc = (uint32_t)le(p + 16, 4)};
        zip64_extra(p + 46 + nl, xl, e, e->size == 0xffffffffu, e->comp_size == 0xffffffffu,
                    e->local_off == 0xffffffffu);
        p += 46 + nl + xl + cl;
    }
    return FC_OK;
}

/* CRC-32 (IEEE, reflected, as zip uses), 8 bytes per step: ~1 GB/s, a small cost next to the
 * conversion, and it turns a corrupt checkpoint into an error instead of wrong weights. */
static uint32_t crc_table[8][256];
static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t crc32_of(const uint8_t *p, uint64_t n) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    uint32_t c = 0xffffffffu;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t a, b; /* little-endian host: the only kind the loader supports */
        memcpy(&a, p, 4);
        memcpy(&b, p + 4, 4);
        a ^= c;
        c = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^ crc_table[5][(a >> 16) & 0xff] ^
            crc_table[4][a >> 24] ^ crc_table[3][b & 0xff] ^ crc_table[2][(b >> 8) & 0xff] ^
            crc_table[1][(b >> 16) & 0xff] ^ crc_table[0][b >> 24];
    }
    while (n--) c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

/* The data of the entry called name (NULL and no error when there is none; NULL with the error
 * set when it is compressed or does not fit the file). owner: " (tensor 'x')" or "", for messages. */
static const uint8_t *zip_find(const ckpt *c, const zip *z, const char *name, const char *owner, uint64_t *size,
                               int *failed) {
    size_t len = strlen(name);
    *failed = 0;
    for (size_t i = 0; i < z->n; i++) {
        const zip_entry *e = &z->e[i];
        if (e->name_len != len || memcmp(e->name, name, len)) continue;
        *failed = 1;
        if (e->method != 0) {
            fc_fail(FC_ERR_UNSUPPORTED, "load_torch: '%s': zip entry '%s' is compressed (method %d); torch.save "
                    "stores entries uncompressed", c->path, name, e->method);
            return NULL;
        }
        if (e->comp_size != e->size) {
            fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is corrupt: zip entry '%s' is stored, but its directory "
                    "gives %llu bytes stored and %llu uncompressed", c->path, name,
                    (unsigned long long)e->comp_size, (unsigned long long)e->size);
            return NULL;
        }
        if (e->local_off > c->size || c->size - e->local_off < 30 || le(c->map + e->local_off, 4) != 0x04034b50) {
            fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is corrupt: no local header for zip entry '%s'%s at byte %llu",
                    c->path, name, owner, (unsigned long long)e->local_off);
            return NULL;
        }
        const uint8_t *h = c->map + e->local_off;
        uint64_t data = e->local_off + 30 + le(h + 26, 2) + le(h + 28, 2);
        if (data > c->size || c->size - data < e->size) {
            char what[320];
            snprintf(what, sizeof what, "zip entry '%.200s'%.100s", name, owner);
            truncated(c, what, data, e->size);
            return NULL;
        }
        uint32_t crc = crc32_of(c->map + data, e->size);
        if (crc != e->crc) {
            fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is corrupt: zip entry '%s'%s has CRC-32 %08x, its directory "
                    "says %08x", c->path, name, owner, crc, e->crc);
            return NULL;
        }
        *size = e->size;
        *failed = 0;
        return c->map + data;
    }
    return NULL;
}

/* The name of a tensor of dict d that views storage idx, or NULL. */
static const char *owner_in(const fci_pk_value *d, int idx) {
    for (size_t i = 0; d->kind == FCI_PK_DICT && i + 1 < d->n; i += 2) {
        const fci_pk_value *k = d->items[i], *v = d->items[i + 1];
        if (v->kind == FCI_PK_TENSOR && v->storage == idx && k->kind == FCI_PK_STR) return k->s;
    }
    return NULL;
}

/* Writes " of tensor 'name'" for a tensor of the saved dict (or of a dict inside it) that views
 * storage idx, or "" when none does: messages about a storage then say whose data it is. */
static void storage_owner(const ckpt *c, int idx, char *out, size_t n) {
    const fci_pk_value *r = c->root;
    const char *name = r ? owner_in(r, idx) : NULL;
    for (size_t i = 0; r && !name && r->kind == FCI_PK_DICT && i + 1 < r->n; i += 2)
        name = owner_in(r->items[i + 1], idx);
    snprintf(out, n, name ? " of tensor '%.150s'" : "%s", name ? name : "");
}

static fc_status load_zip(ckpt *c) {
    zip z = {0};
    fc_status st = zip_read(c, &z);
    const char *prefix = NULL;
    size_t plen = 0;
    for (size_t i = 0; st == FC_OK && i < z.n && !prefix; i++) { /* "<folder>/data.pkl" */
        const zip_entry *e = &z.e[i];
        const char *slash = memchr(e->name, '/', e->name_len);
        if (slash && e->name + e->name_len - slash == 9 && !memcmp(slash, "/data.pkl", 9) &&
            (size_t)(slash - e->name) < 200 && !memchr(e->name, 0, (size_t)(slash - e->name))) {
            prefix = e->name;
            plen = (size_t)(slash - e->name);
        }
    }
    if (st == FC_OK && !prefix)
        st = fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is a zip archive without <folder>/data.pkl: not a torch.save "
                     "file", c->path);
    char name[512];
    uint64_t size = 0;
    int failed = 0;
    if (st == FC_OK) {
        snprintf(name, sizeof name, "%.*s/byteorder", (int)plen, prefix);
        const uint8_t *bo = zip_find(c, &z, name, "", &size, &failed);
        if (failed) st = fc_error_code();
        else if (bo && !(size == 6 && !memcmp(bo, "little", 6)))
            st = fc_fail(FC_ERR_UNSUPPORTED, "load_torch: '%s': byteorder '%.*s': only little-endian files are "
                         "supported", c->path, (int)(size < 16 ? size : 16), (const char *)bo);
    }
    if (st == FC_OK) {
        snprintf(c->where, sizeof c->where, "%.*s/data.pkl", (int)plen, prefix);
        const uint8_t *pkl = zip_find(c, &z, c->where, "", &size, &failed);
        size_t used;
        fci_pickle_init(&c->pk, c->path, c->where);
        if (pkl) st = fci_pickle_run(&c->pk, pkl, (size_t)size, 0, &c->root, &used);
        else if (failed) st = fc_error_code();
        else st = fc_fail(FC_ERR_FORMAT, "load_torch: '%s': no zip entry '%s'", c->path, c->where);
    }
    for (int i = 0; st == FC_OK && i < c->pk.n_storages; i++) {
        fci_pk_storage *s = &c->pk.storages[i];
        snprintf(name, sizeof name, "%.*s/data/%.300s", (int)plen, prefix, s->key);
        char owner[200];
        storage_owner(c, i, owner, sizeof owner);
        s->data = zip_find(c, &z, name, owner, &size, &failed);
        uint64_t need = (uint64_t)s->numel * (uint64_t)s->type->elem_size;
        if (failed) st = fc_error_code();
        else if (!s->data)
            st = fc_fail(FC_ERR_FORMAT, "load_torch: '%s': storage '%s'%s has no entry '%s' in the archive", c->path,
                         s->key, owner, name);
        else if (size < need)
            st = fc_fail(FC_ERR_FORMAT, "load_torch: '%s': entry '%s'%s holds %llu bytes, expected %llu (%lld "
                         "elements of %s.%s)", c->path, name, owner, (unsigned long long)size, (unsigned long long)need,
                         (long long)s->numel, s->type->module, s->type->name);
        else s->n_avail = s->numel;
    }
    free(z.e);
    return st;
}

/* ---- legacy: a stream of pickles, then the storages ---------------------------------------------- */

static fc_status legacy_header(ckpt *c, size_t *pos) {
    static const uint8_t magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    fci_pk_value *v[3];
    for (int k = 0; k < 3; k++) {
        size_t used;
        fc_status st = fci_pickle_run(&c->pk, c->map + *pos, c->size - *pos, *pos, &v[k], &used);
        if (st != FC_OK) return st;
        *pos += used;
    }
    if (v[0]->kind != FCI_PK_INT || !v[0]->big || v[0]->len != 10 || memcmp(v[0]->s, magic, 10))
        return fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is not a torch.save file: expected the magic number "
                       "0x1950a86a20f9469cfc6c first, found %s", c->path, fci_pk_kind_name(v[0]));
    if (v[1]->kind != FCI_PK_INT || v[1]->big || v[1]->i != 1001)
        return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': expected legacy protocol version 1001, found %s %lld",
                       c->path, fci_pk_kind_name(v[1]), (long long)(v[1]->kind == FCI_PK_INT ? v[1]->i : 0));
    const fci_pk_value *le_ = fci_pk_dict_get(v[2], "little_endian");
    if (v[2]->kind != FCI_PK_DICT || (le_ && le_->kind == FCI_PK_BOOL && !le_->i))
        return fc_fail(FC_ERR_UNSUPPORTED, "load_torch: '%s': expected a sys_info dict saying little_endian, "
                       "found %s", c->path, v[2]->kind == FCI_PK_DICT ? "a big-endian file" : fci_pk_kind_name(v[2]));
    return FC_OK;
}

static fc_status load_legacy(ckpt *c) {
    size_t pos = 0, used;
    fci_pickle_init(&c->pk, c->path, NULL);
    fc_status st = legacy_header(c, &pos);
    if (st == FC_OK) st = fci_pickle_run(&c->pk, c->map + pos, c->size - pos, pos, &c->root, &used);
    if (st != FC_OK) return st;
    pos += used;
    fci_pk_value *keys;
    st = fci_pickle_run(&c->pk, c->map + pos, c->size - pos, pos, &keys, &used);
    if (st != FC_OK) return st;
    pos += used;
    if (keys->kind != FCI_PK_LIST)
        return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': expected the list of storage keys after the object, "
                       "found %s", c->path, fci_pk_kind_name(keys));
    for (size_t k = 0; k < keys->n; k++) {
        const fci_pk_value *key = keys->items[k];
        fci_pk_storage *s = NULL;
        for (int i = 0; key->kind == FCI_PK_STR && i < c->pk.n_storages && !s; i++)
            if (!strcmp(c->pk.storages[i].key, key->s)) s = &c->pk.storages[i];
        if (!s)
            return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': storage key %zu (%s) was not named by any tensor",
                           c->path, k, key->kind == FCI_PK_STR ? key->s : fci_pk_kind_name(key));
        char what[600], owner[200];
        storage_owner(c, (int)(s - c->pk.storages), owner, sizeof owner);
        snprintf(what, sizeof what, "the element count of storage '%.200s'%s", s->key, owner);
        if (c->size - pos < 8) return truncated(c, what, pos, 8);
        int64_t count = (int64_t)le(c->map + pos, 8);
        pos += 8;
        if (count != s->numel)
            return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': storage '%s'%s at byte %zu: expected %lld elements, "
                           "found %lld", c->path, s->key, owner, pos - 8, (long long)s->numel, (long long)count);
        uint64_t need = (uint64_t)count * (uint64_t)s->type->elem_size;
        snprintf(what, sizeof what, "storage '%.200s'%s (%lld elements of %s.%s)", s->key, owner, (long long)count,
                 s->type->module, s->type->name);
        if (c->size - pos < need) return truncated(c, what, pos, need);
        s->data = c->map + pos;
        s->n_avail = count;
        pos += (size_t)need;
    }
    for (int i = 0; i < c->pk.n_storages; i++)
        if (!c->pk.storages[i].data) {
            char owner[200];
            storage_owner(c, i, owner, sizeof owner);
            return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': storage '%s'%s is not in the file's storage list",
                           c->path, c->pk.storages[i].key, owner);
        }
    return FC_OK;
}

/* ---- the file ------------------------------------------------------------------------------------ */

static fc_status ckpt_open(ckpt *c, const char *path) {
    *c = (ckpt){.path = path};
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fc_fail(FC_ERR_IO, "load_torch: cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    fc_status st = FC_OK;
    if (fstat(fd, &sb) != 0) st = fc_fail(FC_ERR_IO, "load_torch: cannot stat '%s': %s", path, strerror(errno));
    else if (sb.st_size < 4)
        st = fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is truncated: %lld bytes", path, (long long)sb.st_size);
    if (st == FC_OK) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) st = fc_fail(FC_ERR_IO, "load_torch: cannot map '%s': %s", path, strerror(errno));
        else c->map = m, c->size = (size_t)sb.st_size;
    }
    close(fd);
    if (st != FC_OK) return st;
    if (!memcmp(c->map, "PK\3\4", 4)) return load_zip(c);
    if (c->map[0] == 0x80) return load_legacy(c);
    return fc_fail(FC_ERR_FORMAT, "load_torch: '%s' is not a torch.save file: expected a zip archive ('PK') or a "
                   "pickle (0x80) at byte 0, found 0x%02x 0x%02x", path, c->map[0], c->map[1]);
}

static void ckpt_close(ckpt *c) {
    fci_pickle_free(&c->pk);
    if (c->map) munmap((void *)c->map, c->size);
}

/* ---- matching the state dict to the module -------------------------------------------------------- */

/* Can a storage of this type fill a tensor of dtype dt? Floats convert among themselves; integer
 * buffers (num_batches_tracked) take their own type only. */
static int compatible(const fci_pk_global *type, fc_dtype dt) {
    switch (type->type) {
    case FCI_PK_ST_FLOAT:
    case FCI_PK_ST_HALF:
    case FCI_PK_ST_BFLOAT16:
    case FCI_PK_ST_DOUBLE: return dt == FC_DTYPE_F32 || dt == FC_DTYPE_F16 || dt == FC_DTYPE_BF16;
    case FCI_PK_ST_LONG: return dt == FC_DTYPE_I64;
    case FCI_PK_ST_INT: return dt == FC_DTYPE_I32;
    case FCI_PK_ST_BYTE: return dt == FC_DTYPE_U8;
    case FCI_PK_ST_BOOL: return dt == FC_DTYPE_BOOL;
    default: return 0;
    }
}

static double load_elem(const uint8_t *p, fci_pk_stype t, int64_t *as_int) {
    float f;
    double d;
    uint16_t h;
    int64_t l;
    int32_t i;
    switch (t) {
    case FCI_PK_ST_FLOAT: memcpy(&f, p, 4); return f;
    case FCI_PK_ST_HALF: memcpy(&h, p, 2); return fc_f16_to_f32(h);
    case FCI_PK_ST_BFLOAT16: memcpy(&h, p, 2); return fc_bf16_to_f32(h);
    case FCI_PK_ST_DOUBLE: memcpy(&d, p, 8); return d;
    case FCI_PK_ST_LONG: memcpy(&l, p, 8); *as_int = l; return (double)l;
    case FCI_PK_ST_INT: memcpy(&i, p, 4); *as_int = i; return i;
    default: *as_int = p[0]; return p[0];
    }
}

/* Copies the elements of tensor t (any strides, in its storage's type) in row-major order into
 * dst (contiguous, dtype dt). */
static void gather(void *dst, fc_dtype dt, const fci_pk_value *t, const fci_pk_storage *s) {
    int64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) numel *= t->size[d];
    if (numel == 0) return;
    size_t es = (size_t)s->type->elem_size, des = fc_dtype_size(dt);
    int contiguous = 1;
    int64_t want = 1;
    for (int d = t->ndim - 1; d >= 0; want *= t->size[d], d--)
        if (t->size[d] != 1 && t->stride[d] != want) contiguous = 0;
    if (contiguous && s->type->type == FCI_PK_ST_FLOAT && dt == FC_DTYPE_F32) {
        memcpy(dst, s->data + (size_t)t->offset * 4, (size_t)numel * 4);
        return;
    }
    int64_t idx[FC_MAX_DIMS] = {0}, off = t->offset;
    for (int64_t i = 0; i < numel; i++) {
        int64_t as_int = 0;
        double v = load_elem(s->data + (size_t)off * es, s->type->type, &as_int);
        uint8_t *q = (uint8_t *)dst + (size_t)i * des;
        if (dt == FC_DTYPE_I64) memcpy(q, &as_int, 8); /* exact beyond 2^53 */
        else fci_store_from_double(q, dt, v);
        for (int d = t->ndim - 1; d >= 0; d--) { /* next index, last dim fastest */
            off += t->stride[d];
            if (++idx[d] < t->size[d]) break;
            off -= t->stride[d] * t->size[d];
            idx[d] = 0;
        }
    }
}

typedef struct plan {
    int n;            /* module tensors */
    fc_tensor **dst;  /* borrowed */
    const char **names;
    const fci_pk_value **src; /* the file's tensor for each, or NULL: skipped */
} plan;

static const char *stype_name(const fci_pk_global *g) { return g->name; }

static const char *file_shape(const fci_pk_value *v) { return fci_shape_str(v->ndim, v->size); }

/* The state dict: o->key's entry, else a "state_dict" dict inside, else the object itself. */
static const fci_pk_value *state_dict(const ckpt *c, const char *key) {
    const fci_pk_value *sd = c->root;
    if (key) {
        sd = fci_pk_dict_get(c->root, key);
        if (!sd) {
            char keys[200] = "";
            for (size_t i = 0; c->root->kind == FCI_PK_DICT && i + 1 < c->root->n; i += 2)
                if (c->root->items[i]->kind == FCI_PK_STR && strlen(keys) + c->root->items[i]->len + 8 < sizeof keys)
                    snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s'%s'", *keys ? ", " : "",
                             c->root->items[i]->s);
            fc_fail(FC_ERR_FORMAT, "load_torch: '%s': .key '%s': the saved object has no such entry (found %s%s)",
                    c->path, key, c->root->kind == FCI_PK_DICT ? "keys " : "a ",
                    c->root->kind == FCI_PK_DICT ? keys : fci_pk_kind_name(c->root));
            return NULL;
        }
    } else {
        const fci_pk_value *in = fci_pk_dict_get(c->root, "state_dict");
        if (in && in->kind == FCI_PK_DICT) sd = in;
    }
    if (sd->kind != FCI_PK_DICT) {
        fc_fail(FC_ERR_FORMAT, "load_torch: '%s': expected a state dict (a dict of tensors)%s%s, found a %s", c->path,
                key ? " under key " : "", key ? key : "", fci_pk_kind_name(sd));
        return NULL;
    }
    return sd;
}

static const char *entry_name(const fci_pk_value *k, const char *prefix) {
    if (k->kind != FCI_PK_STR) return NULL;
    size_t pl = prefix ? strlen(prefix) : 0;
    return pl && !strncmp(k->s, prefix, pl) ? k->s + pl : k->s;
}

static int is_num_batches_tracked(const char *name) {
    size_t n = strlen(name), k = strlen("num_batches_tracked");
    return n >= k && !strcmp(name + n - k, "num_batches_tracked") && (n == k || name[n - k - 1] == '.');
}

/* Decides, for each of m's tensors, which file tensor fills it; fails on anything strict mode
 * (or any mode, for a corrupt file) rejects. Nothing is copied. */
static fc_status make_plan(const ckpt *c, const fci_pk_value *sd, const fc_torch_load_opts *o, plan *pl,
                           uint8_t *used) {
    const char *path = c->path;
    int strict = !o->non_strict;
    for (int i = 0; i < pl->n; i++) {
        fc_tensor *t = pl->dst[i];
        const char *name = pl->names[i];
        const fci_pk_value *v = NULL;
        for (size_t j = 0; j + 1 < sd->n && !v; j += 2) {
            const char *en = entry_name(sd->items[j], o->strip_prefix);
            if (en && !strcmp(en, name)) v = sd->items[j + 1], used[j / 2] = 1;
        }
        if (!v) {
            if (strict && !is_num_batches_tracked(name)) /* PyTorch's own tolerance (files before 0.4.1) */
                return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': missing tensor '%s' (expected %s %s)", path, name,
                               fc_dtype_name(fc_tensor_dtype(t)), fci_tshape(t));
            continue;
        }
        if (v->kind != FCI_PK_TENSOR) {
            if (strict)
                return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': entry '%s': expected a tensor (%s %s), found %s", path,
                               name, fc_dtype_name(fc_tensor_dtype(t)), fci_tshape(t), fci_pk_kind_name(v));
            continue;
        }
        const fci_pk_storage *s = &c->pk.storages[v->storage];
        if (!compatible(s->type, fc_tensor_dtype(t))) {
            if (strict)
                return fc_fail(FC_ERR_DTYPE, "load_torch: '%s': tensor '%s': expected %s, found a %s of %s", path, name,
                               fc_dtype_name(fc_tensor_dtype(t)), stype_name(s->type), file_shape(v));
            continue;
        }
        int same = v->ndim == fc_tensor_ndim(t);
        for (int d = 0; same && d < v->ndim; d++) same = v->size[d] == fc_tensor_dim(t, d);
        if (!same) {
            if (strict)
                return fc_fail(FC_ERR_SHAPE, "load_torch: '%s': tensor '%s': expected shape %s, found %s", path, name,
                               fci_tshape(t), file_shape(v));
            continue;
        }
        if (fc_tensor_device(t).type != FC_DEVICE_CPU)
            return fc_fail(FC_ERR_UNSUPPORTED, "load_torch: '%s': tensor '%s' is on %s: only CPU modules can be "
                           "loaded for now", path, name, fc_device_name(fc_tensor_device(t)));
        pl->src[i] = v;
    }
    for (size_t j = 0; strict && j + 1 < sd->n; j += 2) {
        if (used[j / 2]) continue;
        const fci_pk_value *k = sd->items[j], *v = sd->items[j + 1];
        const char *en = entry_name(k, o->strip_prefix);
        return fc_fail(FC_ERR_FORMAT, "load_torch: '%s': unexpected %s '%s'%s%s%s: the module has no parameter or "
                       "buffer of that name", path, v->kind == FCI_PK_TENSOR ? "tensor" : "entry",
                       en ? en : fci_pk_kind_name(k), v->kind == FCI_PK_TENSOR ? " (" : "",
                       v->kind == FCI_PK_TENSOR ? file_shape(v) : "", v->kind == FCI_PK_TENSOR ? ")" : "");
    }
    return FC_OK;
}

/* Copies the planned tensors into m: straight into contiguous ones; through a temporary (made
 * before the first copy, so that running out of memory changes nothing) into the others. */
static fc_status apply_plan(const ckpt *c, const plan *pl, int *n_loaded) {
    fc_tensor **tmp = calloc((size_t)pl->n + 1, sizeof *tmp);
    if (!tmp) return fc_fail(FC_ERR_NOMEM, "load_torch: out of memory");
    fc_status st = FC_OK;
    for (int i = 0; i < pl->n && st == FC_OK; i++)
        if (pl->src[i] && !fc_tensor_is_contiguous(pl->dst[i])) {
            tmp[i] = fc_keep(fc_empty(fc_tensor_shape(pl->dst[i]), .dtype = fc_tensor_dtype(pl->dst[i])));
            if (!tmp[i]) st = fc_error_code();
        }
    int loaded = 0;
    for (int i = 0; i < pl->n && st == FC_OK; i++) {
        if (!pl->src[i]) continue;
        fc_tensor *t = tmp[i] ? tmp[i] : pl->dst[i];
        gather(fc_tensor_data(t), fc_tensor_dtype(t), pl->src[i], &c->pk.storages[pl->src[i]->storage]);
        if (tmp[i]) st = fci_copy_strided(pl->dst[i], tmp[i]);
        loaded++;
    }
    for (int i = 0; i < pl->n; i++) fc_tensor_free(tmp[i]);
    free(tmp);
    if (st == FC_OK) *n_loaded = loaded;
    return st;
}

fc_status fc_module_load_torch_(fc_module *m, const char *path, const fc_torch_load_opts *o) {
    static const fc_torch_load_opts none = {0};
    if (!o) o = &none;
    if (o->n_loaded) *o->n_loaded = 0;
    if (!m || !path)
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "load_torch: NULL module or path");
    ckpt c;
    fc_status st = ckpt_open(&c, path);
    const fci_pk_value *sd = st == FC_OK ? state_dict(&c, o->key) : NULL;
    if (st == FC_OK && !sd) st = fc_error_code();
    int np = fc_module_n_parameters(m), n = np + fc_module_n_buffers(m), n_loaded = 0;
    plan pl = {.n = n};
    uint8_t *used = NULL;
    if (st == FC_OK) {
        pl.dst = calloc((size_t)n + 1, sizeof *pl.dst);
        pl.names = calloc((size_t)n + 1, sizeof *pl.names);
        pl.src = calloc((size_t)n + 1, sizeof *pl.src);
        used = calloc(sd->n / 2 + 1, 1);
        if (!pl.dst || !pl.names || !pl.src || !used) st = fc_fail(FC_ERR_NOMEM, "load_torch: out of memory");
    }
    /* Names are valid until a member is added anywhere: none is while we hold them. */
    for (int i = 0; st == FC_OK && i < n; i++)
        pl.dst[i] = i < np ? fc_module_parameter(m, i, &pl.names[i]) : fc_module_buffer(m, i - np, &pl.names[i]);
    if (st == FC_OK) st = make_plan(&c, sd, o, &pl, used);
    if (st == FC_OK) st = apply_plan(&c, &pl, &n_loaded);
    if (st == FC_OK && o->n_loaded) *o->n_loaded = n_loaded;
    free(used);
    free(pl.dst);
    free((void *)pl.names);
    free((void *)pl.src);
    ckpt_close(&c);
    return st;
}
