/* Items (get_files, CSV rows), getters (get_x/get_y, labellers) and splitters, after fastai's
 * data.transforms: get_files, parent_label, RegexLabeller, ColReader, RandomSplitter,
 * GrandparentSplitter, IndexSplitter, ColSplitter, FuncSplitter, TrainTestSplitter. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "pipeline_impl.h"

/* ---- items ---- */
void fc_items_free(fc_items *items) {
    if (!items) return;
    for (int64_t i = 0; items->text && i < items->n; i++) free(items->text[i]);
    free(items->text);
    fc_csv_free(items->csv);
    free(items->row);
    free(items->base);
    *items = (fc_items){0};
}

typedef struct str_list {
    char **s;
    int64_t n, cap;
} str_list;

static fc_status list_push(str_list *l, char *s) {
    if (!s) return fc_fail(FC_ERR_NOMEM, "get_files: out of memory");
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 64;
        char **a = realloc(l->s, (size_t)cap * sizeof *a);
        if (!a) {
            free(s);
            return fc_fail(FC_ERR_NOMEM, "get_files: out of memory for %lld paths", (long long)cap);
        }
        l->s = a;
        l->cap = cap;
    }
    l->s[l->n++] = s;
    return FC_OK;
}

static int has_extension(const char *name, fc_names ext) {
    if (ext.n == 0) return 1;
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (int i = 0; i < ext.n; i++) {
        const char *e = ext.s[i][0] == '.' ? ext.s[i] + 1 : ext.s[i];
        if (!strcasecmp(dot + 1, e)) return 1;
    }
    return 0;
}

static int in_names(const char *name, fc_names names) {
    for (int i = 0; i < names.n; i++)
        if (!strcmp(name, names.s[i])) return 1;
    return 0;
}

static fc_status walk(const char *dir, const fc_get_files_opts *o, int depth, str_list *out) {
    DIR *d = opendir(dir);
    if (!d) return fc_fail(FC_ERR_IO, "get_files: cannot open folder '%s': %s", dir, strerror(errno));
    fc_status st = FC_OK;
    struct dirent *e;
    while (st == FC_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ".", "..", and hidden files (fastai skips them too) */
        char *path = fci_strdup_printf("%s/%s", dir, e->d_name);
        struct stat sb;
        if (!path) st = fc_fail(FC_ERR_NOMEM, "get_files: out of memory");
        else if (stat(path, &sb) != 0) free(path); /* a dangling link: not a file */
        else if (S_ISDIR(sb.st_mode)) {
            if (!o->no_recurse && (depth > 0 || o->folders.n == 0 || in_names(e->d_name, o->folders)))
                st = walk(path, o, depth + 1, out);
            free(path);
        } else if (S_ISREG(sb.st_mode) && has_extension(e->d_name, o->extensions) &&
                   (depth > 0 || o->folders.n == 0)) {
            st = list_push(out, path);
        } else {
            free(path);
        }
    }
    closedir(d);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void names_str(fc_names n, char *buf, size_t size) {
    size_t w = 0;
    buf[0] = '\0';
    for (int i = 0; i < n.n && w < size; i++)
        w += (size_t)snprintf(buf + w, size - w, "%s%s", i ? ", " : "", n.s[i]);
}

fc_status fc_get_files_(const char *path, fc_items *out, const fc_get_files_opts *o) {
    if (!out) return fc_fail(FC_ERR_ARG, "get_files: out is NULL");
    *out = (fc_items){0};
    if (!path) return fc_fail(FC_ERR_ARG, "get_files: path is NULL");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return fc_fail(FC_ERR_IO, "get_files: cannot open folder '%s': %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return fc_fail(FC_ERR_IO, "get_files: expected a folder, found a file: '%s'", path);
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    char *root = strndup(path, len);
    str_list l = {0};
    fc_status st = root ? walk(root, o, 0, &l) : fc_fail(FC_ERR_NOMEM, "get_files: out of memory");
    free(root);
    if (st == FC_OK && l.n == 0) {
        char ext[256], fold[256];
        names_str(o->extensions, ext, sizeof ext);
        names_str(o->folders, fold, sizeof fold);
        st = fc_fail(FC_ERR_ARG, "get_files: found no files%s%s under '%s'%s%s%s", o->extensions.n ? " with extensions " : "",
                     ext, path, o->no_recurse ? " (not recursing)" : "",
                     o->folders.n ? " in folders " : "", fold);
    }
    if (st != FC_OK) {
        for (int64_t i = 0; i < l.n; i++) free(l.s[i]);
        free(l.s);
        return st;
    }
    qsort(l.s, (size_t)l.n, sizeof *l.s, cmp_str);
    out->n = l.n;
    out->text = l.s;
    return FC_OK;
}

fc_status fc_get_image_files(const char *path, fc_items *out) {
    return fc_get_files(path, out, .extensions = FC_NAMES(".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif",
                                                          ".tiff", ".webp", ".ppm", ".pgm"));
}

fc_status fc_items_from_csv(const char *path, fc_items *out) {
    if (!out) return fc_fail(FC_ERR_ARG, "items_from_csv: out is NULL");
    *out = (fc_items){0};
    fc_csv *csv = fc_read_csv(path);
    if (!csv) return fc_error_code();
    int64_t n = fc_csv_n_rows(csv);
    if (n == 0) {
        fc_csv_free(csv);
        return fc_fail(FC_ERR_ARG, "items_from_csv: '%s' has a header and no rows", path);
    }
    out->csv = csv;
    out->text = calloc((size_t)n, sizeof *out->text);
    out->row = calloc((size_t)n, sizeof *out->row);
    const char *slash = strrchr(path, '/');
    out->base = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    if (!out->text || !out->row || !out->base) {
        fc_items_free(out);
        return fc_fail(FC_ERR_NOMEM, "items_from_csv: out of memory for %lld rows", (long long)n);
    }
    out->n = n;
    for (int64_t i = 0; i < n; i++) {
        out->row[i] = i;
        if (!(out->text[i] = fci_strdup_printf("%s line %lld", path, (long long)fc_csv_row_line(csv, i)))) {
            fc_items_free(out);
            return fc_fail(FC_ERR_NOMEM, "items_from_csv: out of memory");
        }
    }
    return FC_OK;
}

/* ---- getters ---- */
struct fc_getter {
    char *name;
    fc_getter_fn fn;
    void *ctx;
    void (*free_ctx)(void *);
    atomic_int refcount;
};

fc_getter *fc_getter_new(const char *name, fc_getter_fn fn, void *ctx, void (*free_ctx)(void *)) {
    fc_getter *g = calloc(1, sizeof *g);
    if (g) g->name = strdup(name ? name : "getter");
    if (!g || !g->name || !fn) {
        if (free_ctx) free_ctx(ctx);
        if (g) free(g->name);
        free(g);
        if (!fn) fc_fail(FC_ERR_ARG, "getter_new: fn is NULL for '%s'", name ? name : "getter");
        else fc_fail(FC_ERR_NOMEM, "getter_new: out of memory");
        return NULL;
    }
    g->fn = fn;
    g->ctx = ctx;
    g->free_ctx = free_ctx;
    atomic_init(&g->refcount, 1);
    return g;
}

fc_getter *fci_getter_ref(fc_getter *g) {
    if (g) atomic_fetch_add(&g->refcount, 1);
    return g;
}

void fc_getter_free(fc_getter *g) {
    if (!g || atomic_fetch_sub(&g->refcount, 1) != 1) return;
    if (g->free_ctx) g->free_ctx(g->ctx);
    free(g->name);
    free(g);
}

const char *fc_getter_name(const fc_getter *g) { return g ? g->name : "(none)"; }

fc_status fc_getter_get(const fc_getter *g, const fc_items *items, int64_t i, fc_value *out) {
    *out = (fc_value){0};
    if (!g || !items || i < 0 || i >= items->n)
        return fc_fail(FC_ERR_ARG, "getter_get: expected a getter and i in [0, %lld), found %s and %lld",
                       items ? (long long)items->n : 0LL, g ? "a getter" : "NULL", (long long)i);
    fc_status st = g->fn(g->ctx, items, i, out);
    if (st != FC_OK) {
        fc_value_free(out);
        if (items->text[i][0] && strstr(fc_error_message(), items->text[i])) /* named already */
            return fci_error_context(st, "%s on item %lld", g->name, (long long)i);
        return fci_error_context(st, "%s on item %lld '%s'", g->name, (long long)i, items->text[i]);
    }
    return FC_OK;
}

static fc_status set_text(fc_value *out, const fc_kind *kind, const char *s, size_t len) {
    char *t = strndup(s, len);
    if (!t) return fc_fail(FC_ERR_NOMEM, "getter: out of memory");
    *out = (fc_value){.kind = kind, .text = t};
    return FC_OK;
}

static fc_status item_get(void *ctx, const fc_items *items, int64_t i, fc_value *out) {
    return set_text(out, ctx, items->text[i], strlen(items->text[i]));
}
fc_getter *fc_item_getter(const fc_kind *kind) {
    return fc_getter_new("item", item_get, (void *)(kind ? kind : fc_kind_path), NULL);
}

/* The name of the folder n levels above the file (1: parent, 2: grandparent); NULL if none. */
static const char *ancestor(const char *path, int level, size_t *len) {
    const char *end = path + strlen(path);
    for (int k = 0; k < level; k++) {
        while (end > path && end[-1] != '/') end--;
        if (end == path) return NULL;
        end--; /* on the '/' */
    }
    const char *b = end;
    while (b > path && b[-1] != '/') b--;
    *len = (size_t)(end - b);
    return *len ? b : NULL;
}

static fc_status parent_get(void *ctx, const fc_items *items, int64_t i, fc_value *out) {
    size_t len;
    const char *p = ancestor(items->text[i], 1, &len);
    if (!p) return fc_fail(FC_ERR_ARG, "parent_label: expected a path inside a folder, found '%s'", items->text[i]);
    return set_text(out, fc_kind_label, p, len);
}
fc_getter *fc_parent_label(void) { return fc_getter_new("parent_label", parent_get, NULL, NULL); }

typedef struct regex_ctx {
    regex_t re;
    char *pattern;
    int match;
} regex_ctx;

static void regex_free(void *p) {
    regex_ctx *r = p;
    regfree(&r->re);
    free(r->pattern);
    free(r);
}

static fc_status regex_get(void *ctx, const fc_items *items, int64_t i, fc_value *out) {
    regex_ctx *r = ctx;
    const char *s = items->text[i];
    regmatch_t m[2];
    int ok = regexec(&r->re, s, 2, m, 0) == 0;
    if (ok && r->match && (m[0].rm_so != 0 || s[m[0].rm_eo] != '\0')) ok = 0;
    if (!ok)
        return fc_fail(FC_ERR_ARG, "RegexLabeller: pattern '%s' does not %s '%s'", r->pattern,
                       r->match ? "match the whole of" : "match", s);
    int g = m[1].rm_so >= 0 ? 1 : 0; /* the first group, or the whole match without groups */
    return set_text(out, fc_kind_label, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
}

fc_getter *fc_regex_labeller_(const char *pattern, const fc_regex_labeller_opts *o) {
    if (!pattern) {
        fc_fail(FC_ERR_ARG, "regex_labeller: pattern is NULL");
        return NULL;
    }
    regex_ctx *r = calloc(1, sizeof *r);
    if (!r || !(r->pattern = strdup(pattern))) {
        free(r);
        fc_fail(FC_ERR_NOMEM, "regex_labeller: out of memory");
        return NULL;
    }
    int rc = regcomp(&r->re, pattern, REG_EXTENDED);
    if (rc != 0) {
        char msg[200];
        regerror(rc, &r->re, msg, sizeof msg);
        fc_fail(FC_ERR_ARG, "regex_labeller: cannot compile '%s': %s", pattern, msg);
        free(r->pattern);
        free(r);
        return NULL;
    }
    r->match = o->match;
    return fc_getter_new("RegexLabeller", regex_get, r, regex_free);
}

typedef struct col_ctx {
    char *col, *pref, *suff;
    const fc_kind *kind;
} col_ctx;

static void col_free(void *p) {
    col_ctx *c = p;
    free(c->col);
    free(c->pref);
    free(c->suff);
    free(c);
}

/* Column j of items' CSV, or -1 with an error listing the columns there are. */
static int csv_column(const char *who, const fc_items *items, const char *col) {
    if (!items->csv) {
        fc_fail(FC_ERR_ARG, "%s: expected items from a CSV (column '%s'), found files", who, col);
        return -1;
    }
    int j = fc_csv_col_index(items->csv, col);
    if (j < 0) {
        char cols[256] = "";
        size_t w = 0;
        for (int k = 0; k < fc_csv_n_cols(items->csv) && w < sizeof cols; k++)
            w += (size_t)snprintf(cols + w, sizeof cols - w, "%s%s", k ? ", " : "",
                                  fc_csv_col_name(items->csv, k));
        fc_fail(FC_ERR_ARG, "%s: expected a column '%s', found columns %s", who, col, cols);
    }
    return j;
}

static fc_status col_get(void *ctx, const fc_items *items, int64_t i, fc_value *out) {
    col_ctx *c = ctx;
    int j = csv_column("ColReader", items, c->col);
    if (j < 0) return fc_error_code();
    const char *cell = fc_csv_cell(items->csv, items->row[i], j);
    if (!cell) return fc_error_code();
    const char *pref = c->pref ? c->pref : "", *suff = c->suff ? c->suff : "";
    int rel = c->kind == fc_kind_path && pref[0] != '/' && !(pref[0] == '\0' && cell[0] == '/');
    char *t = rel && items->base ? fci_strdup_printf("%s/%s%s%s", items->base, pref, cell, suff)
                                 : fci_strdup_printf("%s%s%s", pref, cell, suff);
    if (!t) return fc_fail(FC_ERR_NOMEM, "ColReader: out of memory");
    *out = (fc_value){.kind = c->kind, .text = t};
    return FC_OK;
}

fc_getter *fc_col_reader_(const char *col, const fc_col_reader_opts *o) {
    col_ctx *c = calloc(1, sizeof *c);
    if (!c || !col || !(c->col = strdup(col)) || (o->pref && !(c->pref = strdup(o->pref))) ||
        (o->suff && !(c->suff = strdup(o->suff)))) {
        if (c) col_free(c);
        fc_fail(col ? FC_ERR_NOMEM : FC_ERR_ARG, "col_reader: %s", col ? "out of memory" : "col is NULL");
        return NULL;
    }
    c->kind = o->kind ? o->kind : fc_kind_label;
    char name[128];
    snprintf(name, sizeof name, "ColReader('%s')", col);
    return fc_getter_new(name, col_get, c, col_free);
}

/* ---- splitters ---- */
struct fc_data_splitter {
    char *name;
    fc_data_splitter_fn fn;
    void *ctx;
    void (*free_ctx)(void *);
    atomic_int refcount;
};

fc_data_splitter *fc_data_splitter_new(const char *name, fc_data_splitter_fn fn, void *ctx, void (*free_ctx)(void *)) {
    fc_data_splitter *s = calloc(1, sizeof *s);
    if (s) s->name = strdup(name ? name : "splitter");
    if (!s || !s->name || !fn) {
        if (free_ctx) free_ctx(ctx);
        if (s) free(s->name);
        free(s);
        if (!fn) fc_fail(FC_ERR_ARG, "splitter_new: fn is NULL");
        else fc_fail(FC_ERR_NOMEM, "splitter_new: out of memory");
        return NULL;
    }
    s->fn = fn;
    s->ctx = ctx;
    s->free_ctx = free_ctx;
    atomic_init(&s->refcount, 1);
    return s;
}

fc_data_splitter *fci_data_splitter_ref(fc_data_splitter *s) {
    if (s) atomic_fetch_add(&s->refcount, 1);
    return s;
}

void fc_data_splitter_free(fc_data_splitter *s) {
    if (!s || atomic_fetch_sub(&s->refcount, 1) != 1) return;
    if (s->free_ctx) s->free_ctx(s->ctx);
    free(s->name);
    free(s);
}

const char *fc_data_splitter_name(const fc_data_splitter *s) { return s ? s->name : "(none)"; }

void fc_splits_free(fc_splits *s) {
    if (!s) return;
    free(s->train);
    free(s->valid);
    *s = (fc_splits){0};
}

static fc_status split_alloc(fc_splits *out, int64_t n_train, int64_t n_valid) {
    out->train = malloc(((size_t)n_train + 1) * sizeof *out->train);
    out->valid = malloc(((size_t)n_valid + 1) * sizeof *out->valid);
    if (!out->train || !out->valid) {
        fc_splits_free(out);
        return fc_fail(FC_ERR_NOMEM, "split: out of memory for %lld indices", (long long)(n_train + n_valid));
    }
    return FC_OK;
}

fc_status fc_data_splitter_split(const fc_data_splitter *s, const fc_items *items, fc_splits *out) {
    if (!out) return fc_fail(FC_ERR_ARG, "splitter_split: out is NULL");
    *out = (fc_splits){0};
    if (!s || !items) return fc_fail(FC_ERR_ARG, "splitter_split: splitter or items is NULL");
    fc_status st = s->fn(s->ctx, items, out);
    if (st != FC_OK) {
        fc_splits_free(out);
        return fci_error_context(st, "splitting %lld items with %s", (long long)items->n, s->name);
    }
    unsigned char *seen = calloc((size_t)items->n + 1, 1);
    if (!seen) {
        fc_splits_free(out);
        return fc_fail(FC_ERR_NOMEM, "splitter_split: out of memory");
    }
    for (int part = 0; part < 2 && st == FC_OK; part++) {
        const int64_t *idx = part ? out->valid : out->train;
        int64_t n = part ? out->n_valid : out->n_train;
        for (int64_t k = 0; k < n && st == FC_OK; k++) {
            if (idx[k] < 0 || idx[k] >= items->n)
                st = fc_fail(FC_ERR_ARG, "%s: expected indices in [0, %lld), found %lld", s->name,
                             (long long)items->n, (long long)idx[k]);
            else if (seen[idx[k]])
                st = fc_fail(FC_ERR_ARG, "%s: item %lld '%s' is given twice (train and valid overlap)",
                             s->name, (long long)idx[k], items->text[idx[k]]);
            else
                seen[idx[k]] = 1;
        }
    }
    free(seen);
    if (st != FC_OK) fc_splits_free(out);
    return st;
}

int64_t *fci_permutation(int64_t n, uint64_t seed) {
    int64_t *p = malloc(((size_t)n + 1) * sizeof *p);
    if (!p) {
        fc_fail(FC_ERR_NOMEM, "split: out of memory for %lld indices", (long long)n);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) p[i] = i;
    fc_rng g = fc_rng_new(seed);
    for (int64_t i = n - 1; i > 0; i--) {
        uint64_t r = ((uint64_t)fc_rng_u32(&g) << 32) | fc_rng_u32(&g);
        int64_t j = (int64_t)(r % (uint64_t)(i + 1)), t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    return p;
}

typedef struct random_ctx {
    double pct;
    uint64_t seed;
} random_ctx;

static fc_status random_split(void *ctx, const fc_items *items, fc_splits *out) {
    random_ctx *r = ctx;
    int64_t n = items->n, cut = (int64_t)(r->pct * (double)n); /* fastai: int(valid_pct * len) */
    int64_t *p = fci_permutation(n, r->seed);
    if (!p || split_alloc(out, n - cut, cut) != FC_OK) {
        free(p);
        return fc_error_code();
    }
    memcpy(out->valid, p, (size_t)cut * sizeof *p);
    memcpy(out->train, p + cut, (size_t)(n - cut) * sizeof *p);
    out->n_valid = cut;
    out->n_train = n - cut;
    free(p);
    return FC_OK;
}

fc_data_splitter *fc_random_splitter(double valid_pct, uint64_t seed) {
    if (!(valid_pct >= 0 && valid_pct < 1)) {
        fc_fail(FC_ERR_ARG, "random_splitter: expected valid_pct in [0, 1), found %g", valid_pct);
        return NULL;
    }
    random_ctx *r = malloc(sizeof *r);
    if (!r) {
        fc_fail(FC_ERR_NOMEM, "random_splitter: out of memory");
        return NULL;
    }
    *r = (random_ctx){valid_pct, seed};
    return fc_data_splitter_new("RandomSplitter", random_split, r, free);
}

/* Splits by a per-item decision: 1 valid, 0 train, -1 neither, other negatives fail. */
static fc_status split_by(const fc_items *items, int (*decide)(void *, const fc_items *, int64_t),
                          void *ctx, fc_splits *out) {
    if (split_alloc(out, items->n, items->n) != FC_OK) return fc_error_code();
    for (int64_t i = 0; i < items->n; i++) {
        int d = decide(ctx, items, i);
        if (d == 1) out->valid[out->n_valid++] = i;
        else if (d == 0) out->train[out->n_train++] = i;
        else if (d != -1) return fc_error_code() ? fc_error_code() : fc_fail(FC_ERR_ARG, "split: item %lld '%s' failed", (long long)i, items->text[i]);
    }
    return FC_OK;
}

typedef struct names2 {
    char *train, *valid;
} names2;
static void names2_free(void *p) {
    names2 *n = p;
    free(n->train);
    free(n->valid);
    free(n);
}
static int grandparent_decide(void *ctx, const fc_items *items, int64_t i) {
    names2 *n = ctx;
    size_t len;
    const char *g = ancestor(items->text[i], 2, &len);
    if (!g) return -1;
    if (len == strlen(n->valid) && !strncmp(g, n->valid, len)) return 1;
    if (len == strlen(n->train) && !strncmp(g, n->train, len)) return 0;
    return -1;
}
static fc_status grandparent_split(void *ctx, const fc_items *items, fc_splits *out) {
    return split_by(items, grandparent_decide, ctx, out);
}
fc_data_splitter *fc_grandparent_splitter(const char *train_name, const char *valid_name) {
    names2 *n = calloc(1, sizeof *n);
    if (!n || !(n->train = strdup(train_name ? train_name : "train")) ||
        !(n->valid = strdup(valid_name ? valid_name : "valid"))) {
        if (n) names2_free(n);
        fc_fail(FC_ERR_NOMEM, "grandparent_splitter: out of memory");
        return NULL;
    }
    return fc_data_splitter_new("GrandparentSplitter", grandparent_split, n, names2_free);
}

typedef struct index_ctx {
    int64_t n;
    int64_t idx[];
} index_ctx;
static fc_status index_split(void *ctx, const fc_items *items, fc_splits *out) {
    index_ctx *c = ctx;
    unsigned char *valid = calloc((size_t)items->n + 1, 1);
    if (!valid || split_alloc(out, items->n, c->n) != FC_OK) {
        free(valid);
        return fc_error_code() ? fc_error_code() : fc_fail(FC_ERR_NOMEM, "IndexSplitter: out of memory");
    }
    fc_status st = FC_OK;
    for (int64_t k = 0; k < c->n && st == FC_OK; k++) {
        if (c->idx[k] < 0 || c->idx[k] >= items->n)
            st = fc_fail(FC_ERR_ARG, "IndexSplitter: expected indices in [0, %lld), found %lld",
                         (long long)items->n, (long long)c->idx[k]);
        else if (valid[c->idx[k]])
            st = fc_fail(FC_ERR_ARG, "IndexSplitter: index %lld is given twice", (long long)c->idx[k]);
        else {
            valid[c->idx[k]] = 1;
            out->valid[out->n_valid++] = c->idx[k];
        }
    }
    for (int64_t i = 0; i < items->n; i++)
        if (!valid[i]) out->train[out->n_train++] = i;
    free(valid);
    return st;
}
fc_data_splitter *fc_index_splitter(const int64_t *idx, int64_t n) {
    if (n < 0 || (n > 0 && !idx)) {
        fc_fail(FC_ERR_ARG, "index_splitter: expected idx with n >= 0, found n %lld", (long long)n);
        return NULL;
    }
    index_ctx *c = malloc(sizeof *c + ((size_t)n + 1) * sizeof(int64_t));
    if (!c) {
        fc_fail(FC_ERR_NOMEM, "index_splitter: out of memory");
        return NULL;
    }
    c->n = n;
    if (n) memcpy(c->idx, idx, (size_t)n * sizeof *idx);
    return fc_data_splitter_new("IndexSplitter", index_split, c, free);
}

static fc_status col_split(void *ctx, const fc_items *items, fc_splits *out) {
    const char *col = ctx;
    int j = csv_column("ColSplitter", items, col);
    if (j < 0) return fc_error_code();
    if (split_alloc(out, items->n, items->n) != FC_OK) return fc_error_code();
    static const char *const yes[] = {"1", "true", "True", "TRUE", "yes", "Yes", NULL};
    static const char *const no[] = {"0", "false", "False", "FALSE", "no", "No", "", NULL};
    for (int64_t i = 0; i < items->n; i++) {
        const char *cell = fc_csv_cell(items->csv, items->row[i], j);
        int v = -1;
        for (int k = 0; cell && yes[k] && v < 0; k++) if (!strcmp(cell, yes[k])) v = 1;
        for (int k = 0; cell && no[k] && v < 0; k++) if (!strcmp(cell, no[k])) v = 0;
        if (v < 0)
            return fc_fail(FC_ERR_FORMAT, "ColSplitter: %s, column '%s': expected true/false (1/0), found '%s'",
                           items->text[i], col, cell ? cell : "(none)");
        if (v) out->valid[out->n_valid++] = i;
        else out->train[out->n_train++] = i;
    }
    return FC_OK;
}
fc_data_splitter *fc_col_splitter(const char *col) {
    char *c = strdup(col ? col : "is_valid");
    if (!c) {
        fc_fail(FC_ERR_NOMEM, "col_splitter: out of memory");
        return NULL;
    }
    return fc_data_splitter_new("ColSplitter", col_split, c, free);
}

typedef struct func_ctx {
    int (*fn)(void *, const fc_items *, int64_t);
    void *ctx;
} func_ctx;
static int func_decide(void *ctx, const fc_items *items, int64_t i) {
    func_ctx *f = ctx;
    int d = f->fn(f->ctx, items, i);
    if (d < 0) {
        if (fc_error_code() == FC_OK)
            fc_fail(FC_ERR_ARG, "FuncSplitter: the function failed on item %lld '%s'", (long long)i, items->text[i]);
        return -2;
    }
    return d ? 1 : 0;
}
static fc_status func_split(void *ctx, const fc_items *items, fc_splits *out) {
    return split_by(items, func_decide, ctx, out);
}
fc_data_splitter *fc_func_splitter(int (*fn)(void *ctx, const fc_items *items, int64_t i), void *ctx) {
    func_ctx *f = malloc(sizeof *f);
    if (!f || !fn) {
        free(f);
        fc_fail(fn ? FC_ERR_NOMEM : FC_ERR_ARG, "func_splitter: %s", fn ? "out of memory" : "fn is NULL");
        return NULL;
    }
    *f = (func_ctx){fn, ctx};
    return fc_data_splitter_new("FuncSplitter", func_split, f, free);
}

typedef struct tts_ctx {
    double test_size;
    uint64_t seed;
    fc_getter *stratify;
} tts_ctx;
static void tts_free(void *p) {
    tts_ctx *t = p;
    fc_getter_free(t->stratify);
    free(t);
}

static fc_status tts_split(void *ctx, const fc_items *items, fc_splits *out) {
    tts_ctx *t = ctx;
    int64_t n = items->n;
    int64_t *p = fci_permutation(n, t->seed);
    if (!p || split_alloc(out, n, n) != FC_OK) {
        free(p);
        return fc_error_code();
    }
    fc_status st = FC_OK;
    if (!t->stratify) {
        int64_t n_test = (int64_t)ceil(t->test_size * (double)n); /* sklearn: ceil(test_size * n) */
        for (int64_t k = 0; k < n; k++)
            if (k < n_test) out->valid[out->n_valid++] = p[k];
            else out->train[out->n_train++] = p[k];
        free(p);
        return FC_OK;
    }
    /* Stratified: each label's items in permuted order, the first round(test_size * count) valid. */
    char **label = calloc((size_t)n + 1, sizeof *label);
    if (!label) st = fc_fail(FC_ERR_NOMEM, "TrainTestSplitter: out of memory");
    for (int64_t i = 0; i < n && st == FC_OK; i++) {
        fc_value v;
        st = fc_getter_get(t->stratify, items, i, &v);
        if (st == FC_OK && !v.text) {
            char buf[160];
            st = fc_fail(FC_ERR_ARG, "TrainTestSplitter: stratify expected label text, found %s on item '%s'",
                         fc_value_str(&v, buf, sizeof buf), items->text[i]);
        }
        if (st == FC_OK) {
            label[i] = v.text;
            v.text = NULL;
        }
        fc_value_free(&v);
    }
    unsigned char *done = st == FC_OK ? calloc((size_t)n + 1, 1) : NULL;
    if (st == FC_OK && !done) st = fc_fail(FC_ERR_NOMEM, "TrainTestSplitter: out of memory");
    for (int64_t a = 0; a < n && st == FC_OK; a++) {
        const char *lab = label[p[a]];
        if (done[p[a]]) continue;
        int64_t count = 0, taken = 0;
        for (int64_t b = a; b < n; b++) count += !done[p[b]] && !strcmp(label[p[b]], lab);
        int64_t n_test = (int64_t)llround(t->test_size * (double)count);
        for (int64_t b = a; b < n; b++) {
            if (done[p[b]] || strcmp(label[p[b]], lab)) continue;
            done[p[b]] = 1;
            if (taken++ < n_test) out->valid[out->n_valid++] = p[b];
            else out->train[out->n_train++] = p[b];
        }
    }
    for (int64_t i = 0; label && i < n; i++) free(label[i]);
    free(label);
    free(done);
    free(p);
    return st;
}

fc_data_splitter *fc_train_test_splitter_(double test_size, const fc_train_test_splitter_opts *o) {
    if (!(test_size > 0 && test_size < 1)) {
        fc_getter_free(o->stratify);
        fc_fail(FC_ERR_ARG, "train_test_splitter: expected test_size in (0, 1), found %g", test_size);
        return NULL;
    }
    tts_ctx *t = malloc(sizeof *t);
    if (!t) {
        fc_getter_free(o->stratify);
        fc_fail(FC_ERR_NOMEM, "train_test_splitter: out of memory");
        return NULL;
    }
    *t = (tts_ctx){test_size, o->seed, o->stratify};
    return fc_data_splitter_new("TrainTestSplitter", tts_split, t, tts_free);
}
