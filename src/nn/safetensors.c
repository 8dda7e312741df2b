/* Weights files in the safetensors format (https://github.com/huggingface/safetensors):
 * u64 little-endian header length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [..],
 * "data_offsets": [begin, end]}, ...} (offsets relative to the end of the header), then the raw
 * little-endian data. Saving is atomic; loading validates everything before touching the module. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/json_impl.h"
#include "nn_impl.h"

static const char *const st_dtypes[FC_DTYPE_COUNT] = {
    [FC_DTYPE_F32] = "F32", [FC_DTYPE_BF16] = "BF16", [FC_DTYPE_F16] = "F16", [FC_DTYPE_I32] = "I32",
    [FC_DTYPE_I64] = "I64", [FC_DTYPE_U8] = "U8",     [FC_DTYPE_BOOL] = "BOOL",
};

/* Parameters then buffers, as one list of (name, tensor). */
static int n_entries(fc_module *m) { return fc_module_n_parameters(m) + fc_module_n_buffers(m); }
static fc_tensor *entry(fc_module *m, int i, const char **name) {
    int np = fc_module_n_parameters(m);
    return i < np ? fc_module_parameter(m, i, name) : fc_module_buffer(m, i - np, name);
}

/* The header is written with the shared JSON string builder (src/core/json.c). */
typedef fci_sbuf sbuf;
#define sb_put fci_sb_put
#define sb_printf fci_sb_printf
#define sb_json_string fci_sb_json_string

/* ---- save --------------------------------------------------------------------------------------- */

static fc_status build_header(fc_module *m, sbuf *h) {
    uint64_t off = 0;
    static const char meta[] = "{\"__metadata__\":{\"format\":\"pt\"}";
    sb_put(h, meta, sizeof meta - 1);
    for (int i = 0, n = n_entries(m); i < n; i++) {
        const char *name;
        fc_tensor *t = entry(m, i, &name);
        uint64_t nbytes = (uint64_t)fc_tensor_numel(t) * fc_dtype_size(fc_tensor_dtype(t));
        sb_put(h, ",", 1);
        sb_json_string(h, name);
        sb_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", st_dtypes[fc_tensor_dtype(t)]);
        for (int d = 0; d < fc_tensor_ndim(t); d++)
            sb_printf(h, "%s%lld", d ? "," : "", (long long)fc_tensor_dim(t, d));
        sb_printf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                  (unsigned long long)(off + nbytes));
        off += nbytes;
    }
    sb_put(h, "}", 1);
    /* Pad with spaces so the data starts 8-byte aligned, as the reference writer does. */
    while (!h->failed && (h->n % 8)) sb_put(h, " ", 1);
    return h->failed ? fc_error_code() : FC_OK;
}

static fc_status write_all(FILE *f, const char *tmp, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, f) != n)
        return fc_fail(FC_ERR_IO, "save: cannot write '%s': %s", tmp, strerror(errno));
    return FC_OK;
}

static fc_status write_body(fc_module *m, FILE *f, const char *tmp, const sbuf *h) {
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)h->n >> (8 * i));
    fc_status st = write_all(f, tmp, len, 8);
    if (st == FC_OK) st = write_all(f, tmp, h->p, h->n);
    for (int i = 0, n = n_entries(m); i < n && st == FC_OK; i++) {
        fc_tensor *t = entry(m, i, NULL);
        size_t nbytes = (size_t)fc_tensor_numel(t) * fc_dtype_size(fc_tensor_dtype(t));
        if (fc_tensor_is_contiguous(t)) {
            st = write_all(f, tmp, fc_tensor_data(t), nbytes);
            continue;
        }
        void *buf = malloc(nbytes ? nbytes : 1);
        if (!buf) return fc_fail(FC_ERR_NOMEM, "save: out of memory (%zu bytes)", nbytes);
        st = fc_tensor_copy_out(t, buf, fc_tensor_dtype(t));
        if (st == FC_OK) st = write_all(f, tmp, buf, nbytes);
        free(buf);
    }
    if (st == FC_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        st = fc_fail(FC_ERR_IO, "save: cannot flush '%s': %s", tmp, strerror(errno));
    return st;
}

fc_status fci_module_write(fc_module *m, FILE *f, const char *tmp) {
    sbuf h = {0};
    fc_status st = build_header(m, &h);
    if (st == FC_OK) st = write_body(m, f, tmp, &h);
    free(h.p);
    return st;
}

fc_status fc_module_save(fc_module *m, const char *path) {
    if (!m || !path) return fc_error_code() != FC_OK ? fc_error_code()
                                                    : fc_fail(FC_ERR_ARG, "save: NULL module or path");
    for (int i = 0, n = n_entries(m); i < n; i++) {
        fc_tensor *t = entry(m, i, NULL);
        if (fc_tensor_device(t).type != FC_DEVICE_CPU)
            return fc_fail(FC_ERR_UNSUPPORTED, "save: '%s': only CPU tensors can be saved for now", path);
    }
    sbuf h = {0};
    fc_status st = build_header(m, &h);
    if (st != FC_OK) {
        free(h.p);
        return st;
    }
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    if (!tmp) {
        free(h.p);
        return fc_fail(FC_ERR_NOMEM, "save: out of memory");
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = fc_fail(FC_ERR_IO, "save: cannot create '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    st = write_body(m, f, tmp, &h);
    if (fclose(f) != 0 && st == FC_OK) st = fc_fail(FC_ERR_IO, "save: cannot close '%s': %s", tmp, strerror(errno));
    if (st == FC_OK && rename(tmp, path) != 0)
        st = fc_fail(FC_ERR_IO, "save: cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st != FC_OK) remove(tmp);
fail:
    free(tmp);
    free(h.p);
    return st;
}

/* ---- reading the header (the shared JSON reader, src/core/json.c) -------------------------------- */

typedef struct st_entry {
    char *name;
    char dtype[8];
    int ndim;
    int64_t shape[FC_MAX_DIMS];
    uint64_t begin, end;
    int used;
} st_entry;

static void entries_free(st_entry *es, int n) {
    for (int i = 0; i < n; i++) free(es[i].name);
    free(es);
}

static int is_uint(const fci_json *v) {
    return v && v->type == FCI_JSON_NUMBER && v->num >= 0 && v->num <= 9007199254740992.0 && v->num == (double)(uint64_t)v->num;
}

/* One entry {"dtype": "F32", "shape": [..], "data_offsets": [b, e]} of the parsed header. */
static fc_status entry_of(const char *path, const char *name, const fci_json *v, st_entry *e) {
    *e = (st_entry){0};
    const char *dt = fci_json_str(v, "dtype");
    const fci_json *sh = fci_json_get(v, "shape"), *off = fci_json_get(v, "data_offsets");
    if (!dt || !sh || !off)
        return fc_fail(FC_ERR_FORMAT, "load: '%s': tensor '%s': expected keys dtype, shape and data_offsets, "
                       "found %s%s%s missing", path, name, dt ? "" : "dtype ", sh ? "" : "shape ", off ? "" : "data_offsets");
    if (sh->type != FCI_JSON_ARRAY || sh->n > FC_MAX_DIMS)
        return fc_fail(FC_ERR_FORMAT, "load: '%s': tensor '%s': expected a shape of at most %d dims", path, name, FC_MAX_DIMS);
    for (int64_t d = 0; d < sh->n; d++) {
        if (!is_uint(&sh->items[d]) || sh->items[d].num > (double)INT32_MAX)
            return fc_fail(FC_ERR_FORMAT, "load: '%s': tensor '%s': expected shape entries in [0, 2^31), found "
                           "a bad entry at dim %lld", path, name, (long long)d);
        e->shape[d] = (int64_t)sh->items[d].num;
    }
    e->ndim = (int)sh->n;
    if (off->type != FCI_JSON_ARRAY || off->n != 2 || !is_uint(&off->items[0]) || !is_uint(&off->items[1]))
        return fc_fail(FC_ERR_FORMAT, "load: '%s': tensor '%s': expected data_offsets [begin, end] of two "
                       "non-negative integers", path, name);
    e->begin = (uint64_t)off->items[0].num;
    e->end = (uint64_t)off->items[1].num;
    snprintf(e->dtype, sizeof e->dtype, "%s", dt);
    e->name = strdup(name);
    return e->name ? FC_OK : fc_fail(FC_ERR_NOMEM, "load: out of memory");
}

/* Parses the header into *out (n entries); the metadata is skipped. */
static fc_status parse_header(const char *path, const char *h, size_t len, st_entry **out, int *n_out) {
    size_t at = 0;
    while (at < len && (h[at] == ' ' || h[at] == '\t' || h[at] == '\n' || h[at] == '\r')) at++;
    if (at == len || h[at] != '{')
        return fc_fail(FC_ERR_FORMAT, "load: '%s': header is not valid safetensors JSON at byte %zu: expected '{', "
                       "found '%.*s'", path, at, at < len ? (int)(len - at < 12 ? len - at : 12) : 5,
                       at < len ? h + at : "(end)");
    fci_json root;
    fc_status st = fci_json_parse(h, len, "load", path, &root);
    if (st != FC_OK) return st;
    st_entry *es = NULL;
    int n = 0;
    if (root.type != FCI_JSON_OBJECT) {
        st = fc_fail(FC_ERR_FORMAT, "load: '%s': expected the safetensors header to be a JSON object", path);
        goto done;
    }
    es = calloc((size_t)root.n + 1, sizeof *es);
    if (!es) {
        st = fc_fail(FC_ERR_NOMEM, "load: out of memory reading '%s'", path);
        goto done;
    }
    for (int64_t i = 0; i < root.n && st == FC_OK; i++) {
        if (!strcmp(root.keys[i], "__metadata__")) continue;
        st = entry_of(path, root.keys[i], &root.items[i], &es[n]);
        if (es[n].name) n++;
    }
done:
    fci_json_free(&root);
    if (st != FC_OK) {
        entries_free(es, n);
        return st;
    }
    *out = es;
    *n_out = n;
    return FC_OK;
}

/* ---- load --------------------------------------------------------------------------------------- */

static const char *shape_of(const st_entry *e) { return fci_shape_str(e->ndim, e->shape); }

/* Checks one expected tensor against its entry; returns the entry or NULL with the error set. */
static st_entry *match(const char *path, const char *name, fc_tensor *t, st_entry *es, int n,
                       uint64_t data_len) {
    const char *want_dt = st_dtypes[fc_tensor_dtype(t)];
    st_entry *e = NULL;
    for (int i = 0; i < n && !e; i++)
        if (!strcmp(es[i].name, name)) e = &es[i];
    if (!e) {
        fc_fail(FC_ERR_FORMAT, "load: '%s': missing tensor '%s' (expected %s %s)", path, name, want_dt,
                fci_tshape(t));
        return NULL;
    }
    e->used = 1;
    if (strcmp(e->dtype, want_dt)) {
        fc_fail(FC_ERR_FORMAT, "load: '%s': tensor '%s': expected dtype %s, found %s", path, name,
                want_dt, e->dtype);
        return NULL;
    }
    int same = e->ndim == fc_tensor_ndim(t);
    for (int d = 0; same && d < e->ndim; d++) same = e->shape[d] == fc_tensor_dim(t, d);
    if (!same) {
        fc_fail(FC_ERR_SHAPE, "load: '%s': tensor '%s': expected shape %s, found %s", path, name,
                fci_tshape(t), shape_of(e));
        return NULL;
    }
    uint64_t nbytes = (uint64_t)fc_tensor_numel(t) * fc_dtype_size(fc_tensor_dtype(t));
    if (e->end < e->begin || e->end - e->begin != nbytes) {
        fc_fail(FC_ERR_FORMAT, "load: '%s': tensor '%s': data_offsets [%llu, %llu] hold %lld bytes, "
                "expected %llu for %s %s", path, name, (unsigned long long)e->begin,
                (unsigned long long)e->end, (long long)(e->end - e->begin), (unsigned long long)nbytes,
                want_dt, fci_tshape(t));
        return NULL;
    }
    if (e->end > data_len) {
        fc_fail(FC_ERR_FORMAT, "load: '%s' is truncated: tensor '%s' ends at byte %llu of the data, "
                "found %llu bytes of data", path, name, (unsigned long long)e->end,
                (unsigned long long)data_len);
        return NULL;
    }
    return e;
}

/* Reads every expected tensor into a new contiguous temporary (outside any scope). */
static fc_status read_all(fc_module *m, FILE *f, const char *path, st_entry *es, int n_es,
                          uint64_t data_start, uint64_t data_len, fc_tensor **tmp) {
    for (int i = 0, n = n_entries(m); i < n; i++) {
        const char *name;
        fc_tensor *t = entry(m, i, &name);
        st_entry *e = match(path, name, t, es, n_es, data_len);
        if (!e) return fc_error_code();
        tmp[i] = fc_keep(fc_empty(fc_tensor_shape(t), .dtype = fc_tensor_dtype(t)));
        if (!tmp[i]) return fc_error_code();
        size_t nbytes = (size_t)(e->end - e->begin);
        if (fseeko(f, (off_t)(data_start + e->begin), SEEK_SET) != 0 ||
            fread(fc_tensor_data(tmp[i]), 1, nbytes, f) != nbytes)
            return fc_fail(FC_ERR_IO, "load: '%s': cannot read tensor '%s' (%zu bytes at %llu): %s", path,
                           name, nbytes, (unsigned long long)(data_start + e->begin),
                           ferror(f) ? strerror(errno) : "unexpected end of file");
    }
    for (int i = 0; i < n_es; i++)
        if (!es[i].used)
            return fc_fail(FC_ERR_FORMAT, "load: '%s': unexpected tensor '%s' (%s %s): the module has "
                           "no parameter or buffer of that name", path, es[i].name, es[i].dtype,
                           shape_of(&es[i]));
    return FC_OK;
}

/* The safetensors blob starts at byte base of the file (0 for a weights file; after the metadata
 * in an exported learner) and runs to its end. */
static fc_status read_header(FILE *f, const char *path, uint64_t base, st_entry **es, int *n_es,
                             uint64_t *data_start, uint64_t *data_len) {
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) return fc_fail(FC_ERR_IO, "load: cannot stat '%s': %s", path, strerror(errno));
    if ((uint64_t)sb.st_size < base || fseeko(f, (off_t)base, SEEK_SET) != 0)
        return fc_fail(FC_ERR_FORMAT, "load: '%s' is truncated: %llu bytes, expected the weights at byte %llu",
                       path, (unsigned long long)sb.st_size, (unsigned long long)base);
    uint64_t size = (uint64_t)sb.st_size - base;
    uint8_t lb[8];
    if (size < 8 || fread(lb, 1, 8, f) != 8)
        return fc_fail(FC_ERR_FORMAT, "load: '%s' is truncated: %llu bytes, expected at least 8 (the "
                       "header length)", path, (unsigned long long)size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | lb[i];
    if (hlen > size - 8 || hlen > (100u << 20))
        return fc_fail(FC_ERR_FORMAT, "load: '%s': header length %llu does not fit the file (%llu bytes): "
                       "truncated or not a safetensors file", path, (unsigned long long)hlen,
                       (unsigned long long)size);
    char *h = malloc(hlen + 1);
    if (!h) return fc_fail(FC_ERR_NOMEM, "load: out of memory for a %llu-byte header", (unsigned long long)hlen);
    fc_status st = FC_OK;
    if (fread(h, 1, hlen, f) != hlen)
        st = fc_fail(FC_ERR_IO, "load: '%s': cannot read the %llu-byte header", path, (unsigned long long)hlen);
    if (st == FC_OK) st = parse_header(path, h, hlen, es, n_es);
    free(h);
    *data_start = base + 8 + hlen;
    *data_len = size - 8 - hlen;
    return st;
}

fc_status fc_module_load(fc_module *m, const char *path) { return fci_module_load_at(m, path, 0); }

fc_status fci_safetensors_check(const char *path, uint64_t base) {
    FILE *f = fopen(path, "rb");
    if (!f) return fc_fail(FC_ERR_IO, "load: cannot open '%s': %s", path, strerror(errno));
    st_entry *es = NULL;
    int n_es = 0;
    uint64_t data_start = 0, data_len = 0;
    fc_status st = read_header(f, path, base, &es, &n_es, &data_start, &data_len);
    for (int j = 0; j < n_es && st == FC_OK; j++)
        if (es[j].end > data_len || es[j].end < es[j].begin)
            st = fc_fail(FC_ERR_FORMAT, "load: '%s' is truncated or corrupt: tensor '%s' ends at byte %llu of the data, "
                         "found %llu bytes of data", path, es[j].name, (unsigned long long)es[j].end,
                         (unsigned long long)data_len);
    entries_free(es, n_es);
    fclose(f);
    return st;
}

fc_status fci_module_load_at(fc_module *m, const char *path, uint64_t base) {
    if (!m || !path) return fc_error_code() != FC_OK ? fc_error_code()
                                                    : fc_fail(FC_ERR_ARG, "load: NULL module or path");
    FILE *f = fopen(path, "rb");
    if (!f) return fc_fail(FC_ERR_IO, "load: cannot open '%s': %s", path, strerror(errno));
    st_entry *es = NULL;
    int n_es = 0, n = n_entries(m);
    uint64_t data_start = 0, data_len = 0;
    fc_tensor **tmp = calloc((size_t)n + 1, sizeof *tmp);
    fc_status st = tmp ? read_header(f, path, base, &es, &n_es, &data_start, &data_len)
                       : fc_fail(FC_ERR_NOMEM, "load: out of memory");
    if (st == FC_OK) st = read_all(m, f, path, es, n_es, data_start, data_len, tmp);
    /* Everything read and checked: only now copy into the module. */
    for (int i = 0; i < n && st == FC_OK; i++) {
        fc_tensor *t = entry(m, i, NULL);
        if (fc_tensor_is_contiguous(t))
            memcpy(fc_tensor_data(t), fc_tensor_data(tmp[i]),
                   (size_t)fc_tensor_numel(t) * fc_dtype_size(fc_tensor_dtype(t)));
        else
            st = fci_copy_strided(t, tmp[i]);
    }
    for (int i = 0; tmp && i < n; i++) fc_tensor_free(tmp[i]);
    free(tmp);
    entries_free(es, n_es);
    fclose(f);
    return st;
}

/* Non-strict load: entries whose name, dtype and shape match are read, everything else (missing,
 * extra, other shapes: a new head) is skipped. Bad offsets or a truncated file still fail, and
 * nothing is copied in until every matching tensor was read. */
fc_status fc_module_load_matching(fc_module *m, const char *path, int *n_loaded) {
    if (n_loaded) *n_loaded = 0;
    if (!m || !path) return fc_error_code() != FC_OK ? fc_error_code()
                                                    : fc_fail(FC_ERR_ARG, "load_matching: NULL module or path");
    FILE *f = fopen(path, "rb");
    if (!f) return fc_fail(FC_ERR_IO, "load_matching: cannot open '%s': %s", path, strerror(errno));
    st_entry *es = NULL;
    int n_es = 0, n = n_entries(m), loaded = 0;
    uint64_t data_start = 0, data_len = 0;
    fc_tensor **tmp = calloc((size_t)n + 1, sizeof *tmp);
    fc_status st = tmp ? read_header(f, path, 0, &es, &n_es, &data_start, &data_len)
                       : fc_fail(FC_ERR_NOMEM, "load_matching: out of memory");
    for (int j = 0; j < n_es && st == FC_OK; j++) /* a truncated file fails even where nothing matches */
        if (es[j].end > data_len || es[j].end < es[j].begin)
            st = fc_fail(FC_ERR_FORMAT, "load_matching: '%s' is truncated or corrupt: tensor '%s' ends at byte %llu "
                         "of the data, found %llu bytes of data", path, es[j].name, (unsigned long long)es[j].end,
                         (unsigned long long)data_len);
    for (int i = 0; i < n && st == FC_OK; i++) {
        const char *name;
        fc_tensor *t = entry(m, i, &name);
        st_entry *e = NULL;
        for (int j = 0; j < n_es && !e; j++)
            if (!strcmp(es[j].name, name)) e = &es[j];
        if (!e || strcmp(e->dtype, st_dtypes[fc_tensor_dtype(t)]) || e->ndim != fc_tensor_ndim(t)) continue;
        int same = 1;
        for (int d = 0; same && d < e->ndim; d++) same = e->shape[d] == fc_tensor_dim(t, d);
        if (!same) continue;
        if (!match(path, name, t, es, n_es, data_len)) { /* offsets and size checks */
            st = fc_error_code();
            break;
        }
        tmp[i] = fc_keep(fc_empty(fc_tensor_shape(t), .dtype = fc_tensor_dtype(t)));
        if (!tmp[i]) {
            st = fc_error_code();
            break;
        }
        size_t nbytes = (size_t)(e->end - e->begin);
        if (fseeko(f, (off_t)(data_start + e->begin), SEEK_SET) != 0 ||
            fread(fc_tensor_data(tmp[i]), 1, nbytes, f) != nbytes)
            st = fc_fail(FC_ERR_IO, "load_matching: '%s': cannot read tensor '%s': %s", path, name,
                         ferror(f) ? strerror(errno) : "unexpected end of file");
    }
    for (int i = 0; i < n && st == FC_OK; i++) {
        if (!tmp[i]) continue;
        st = fci_copy_strided(entry(m, i, NULL), tmp[i]);
        loaded++;
    }
    for (int i = 0; tmp && i < n; i++) fc_tensor_free(tmp[i]);
    free(tmp);
    entries_free(es, n_es);
    fclose(f);
    if (st == FC_OK && n_loaded) *n_loaded = loaded;
    return st;
}
