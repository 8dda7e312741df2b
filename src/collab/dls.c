/* fastai's CollabDataLoaders.from_csv: a ratings table read with the data layer's CSV reader, user
 * and item categorified on the training rows, a seeded random split, and loaders whose batches are
 * gathered straight from two in-memory tensors (x [N, 2] i64 codes, y [N, 1] f32 ratings). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../data/data_impl.h"
#include "collab_impl.h"

/* ---- the dataset: rows of x and y, plus the shared info ---- */

typedef struct collab_ds {
    fc_tensor *x, *y; /* [n, 2] i64, [n, 1] f32; outside any scope */
    int64_t n;
    fci_collab_info *info;
} collab_ds;

static void info_unref(fci_collab_info *info) {
    if (!info || --info->refcount > 0) return;
    for (int64_t i = 0; info->users && i < info->n_users; i++) fci_free(info->users[i]);
    for (int64_t i = 0; info->items && i < info->n_items; i++) fci_free(info->items[i]);
    fci_free(info->users);
    fci_free(info->items);
    fci_free(info->item_counts);
    fci_free(info->item_sums);
    fci_free(info);
}

static void collab_ds_free(void *state) {
    collab_ds *s = state;
    fc_tensor_free(s->x);
    fc_tensor_free(s->y);
    info_unref(s->info);
    fci_free(s);
}

static int64_t collab_ds_len(void *state) { return ((collab_ds *)state)->n; }

/* x rows idx[n] and y rows into a tuple: [n, 2] and [n, 1], or [2] and [1] for one item */
static fc_status collab_gather(collab_ds *s, const int64_t *idx, int64_t n, int as_item, fc_tuple *out) {
    fc_tensor *x = fci_tensor_alloc(as_item ? FC_SHAPE(2) : FC_SHAPE(n, 2), FC_DTYPE_I64, FC_CPU);
    fc_tensor *y = fci_tensor_alloc(as_item ? FC_SHAPE(1) : FC_SHAPE(n, 1), FC_DTYPE_F32, FC_CPU);
    if (!x || !y) {
        fc_tensor_free(x);
        fc_tensor_free(y);
        return fc_error_code();
    }
    const int64_t *sx = fc_tensor_data(s->x);
    const float *sy = fc_tensor_data(s->y);
    int64_t *dx = fc_tensor_data(x);
    float *dy = fc_tensor_data(y);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = idx[i];
        dx[2 * i] = sx[2 * r];
        dx[2 * i + 1] = sx[2 * r + 1];
        dy[i] = sy[r];
    }
    out->n = 2;
    out->n_inp = 1;
    out->v[0] = fc_value_tensor(fc_kind_tensor, x);
    out->v[1] = fc_value_tensor(fc_kind_tensor, y);
    return FC_OK;
}

static fc_status collab_ds_get_batch(void *state, const int64_t *idx, int64_t n, fc_tuple *out) {
    return collab_gather(state, idx, n, 0, out);
}

static fc_status collab_ds_get(void *state, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    (void)ctx;
    return collab_gather(state, &i, 1, 1, out);
}

static const fc_dataset_def collab_ds_def = {
    .name = "collab_dataset",
    .len = collab_ds_len,
    .get = collab_ds_get,
    .get_batch = collab_ds_get_batch,
    .free_state = collab_ds_free,
};

const fci_collab_info *fci_collab_info_of(const fc_dataloaders *dls, const char *fn) {
    fc_dataset *ds = dls && dls->train ? fc_dataloader_dataset(dls->train) : NULL;
    if (!ds || ds->def != &collab_ds_def) {
        fc_fail(FC_ERR_ARG, "%s: expected dataloaders made by collab_dls_from_csv, found %s", fn,
                !ds ? "none" : ds->def->name ? ds->def->name : "another dataset");
        return NULL;
    }
    return ((collab_ds *)ds->state)->info;
}

const char *const *fc_collab_users(const fc_dataloaders *dls, int64_t *n) {
    const fci_collab_info *info = fci_collab_info_of(dls, "collab_users");
    if (n) *n = info ? info->n_users : 0;
    return info ? (const char *const *)info->users : NULL;
}

const char *const *fc_collab_items(const fc_dataloaders *dls, int64_t *n) {
    const fci_collab_info *info = fci_collab_info_of(dls, "collab_items");
    if (n) *n = info ? info->n_items : 0;
    return info ? (const char *const *)info->items : NULL;
}

const int64_t *fc_collab_item_counts(const fc_dataloaders *dls) {
    const fci_collab_info *info = fci_collab_info_of(dls, "collab_item_counts");
    return info ? info->item_counts : NULL;
}

/* ---- Categorify: classes of a column over the training rows, codes for every row ---- */

static int parse_number(const char *s, double *v) {
    if (!*s) return 0;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *end == '\0' && errno == 0;
}

typedef struct sort_key {
    const char *s;
    double v;
} sort_key;

static int cmp_numeric(const void *a, const void *b) {
    const sort_key *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return strcmp(x->s, y->s);
}

static int cmp_text(const void *a, const void *b) {
    return strcmp(((const sort_key *)a)->s, ((const sort_key *)b)->s);
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* classes ("#na#", then the distinct training values sorted) into *classes (fci_calloc'd copies)
 * and every row's code into codes[n_rows] (0 for a value unseen in training) */
static fc_status categorify(const fc_csv *csv, int col, const int64_t *train, int64_t n_train, char ***classes,
                            int64_t *n_classes, int64_t *codes) {
    int64_t n_rows = fc_csv_n_rows(csv), n_cls = 0, cap = 1;
    while (cap < 2 * (n_train + 1)) cap <<= 1;
    int64_t *table = fci_calloc((size_t)cap, sizeof *table); /* class index + 1; 0: empty slot */
    sort_key *keys = fci_calloc((size_t)n_train + 1, sizeof *keys);
    char **cls = NULL;
    fc_status st = FC_OK;
    if (!table || !keys) goto fail;
    int numeric = 1;
    for (int64_t r = 0; r < n_train; r++) { /* distinct training values */
        const char *s = fc_csv_cell(csv, train[r], col);
        uint64_t h = hash_str(s) & (uint64_t)(cap - 1);
        while (table[h] && strcmp(keys[table[h] - 1].s, s)) h = (h + 1) & (uint64_t)(cap - 1);
        if (table[h]) continue;
        keys[n_cls].s = s;
        numeric = numeric && parse_number(s, &keys[n_cls].v);
        table[h] = ++n_cls;
    }
    qsort(keys, (size_t)n_cls, sizeof *keys, numeric ? cmp_numeric : cmp_text);
    cls = fci_calloc((size_t)n_cls + 1, sizeof *cls);
    if (!cls) goto fail;
    cls[0] = fci_calloc(5, 1);
    if (!cls[0]) goto fail;
    memcpy(cls[0], "#na#", 5);
    memset(table, 0, (size_t)cap * sizeof *table);
    for (int64_t k = 0; k < n_cls; k++) { /* the table now maps a value to its sorted code */
        size_t len = strlen(keys[k].s) + 1;
        if (!(cls[k + 1] = fci_calloc(len, 1))) goto fail;
        memcpy(cls[k + 1], keys[k].s, len);
        uint64_t h = hash_str(keys[k].s) & (uint64_t)(cap - 1);
        while (table[h]) h = (h + 1) & (uint64_t)(cap - 1);
        table[h] = k + 1;
    }
    for (int64_t r = 0; r < n_rows; r++) {
        const char *s = fc_csv_cell(csv, r, col);
        uint64_t h = hash_str(s) & (uint64_t)(cap - 1);
        while (table[h] && strcmp(cls[table[h]], s)) h = (h + 1) & (uint64_t)(cap - 1);
        codes[r] = table[h]; /* 0 when absent: #na# */
    }
    *classes = cls;
    *n_classes = n_cls + 1;
    fci_free(keys);
    fci_free(table);
    return FC_OK;
fail:
    st = fc_error_code() ? fc_error_code() : FC_ERR_NOMEM;
    for (int64_t k = 0; cls && k <= n_cls; k++) fci_free(cls[k]);
    fci_free(cls);
    fci_free(keys);
    fci_free(table);
    return st;
}

/* ---- reading the table ---- */

/* The index of column name (NULL: column dflt), or -1 with the error naming the columns there */
static int find_col(const fc_csv *csv, const char *path, const char *name, int dflt, const char *what) {
    int n = fc_csv_n_cols(csv);
    int j = name ? fc_csv_col_index(csv, name) : (dflt < n ? dflt : -1);
    if (j >= 0) return j;
    char cols[512] = "";
    for (int k = 0; k < n && strlen(cols) < sizeof cols - 80; k++)
        snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s'%s'", k ? ", " : "", fc_csv_col_name(csv, k));
    if (name)
        fc_fail(FC_ERR_ARG, "collab_dls_from_csv: %s has no %s column '%s' (its columns: %s)", path, what, name,
                cols);
    else
        fc_fail(FC_ERR_ARG, "collab_dls_from_csv: %s: expected a %s column at position %d, found %d columns (%s)",
                path, what, dflt, n, cols);
    return -1;
}

/* ratings of every row into y[n]; a missing or non-numeric one fails naming its line */
static fc_status read_ratings(const fc_csv *csv, const char *path, int col, float *y) {
    int64_t n = fc_csv_n_rows(csv);
    for (int64_t r = 0; r < n; r++) {
        const char *s = fc_csv_cell(csv, r, col);
        double v;
        if (!parse_number(s, &v) || !isfinite(v))
            return fc_fail(FC_ERR_FORMAT, "collab_dls_from_csv: %s line %lld, column '%s': expected a number "
                           "(the rating), found '%s'", path, (long long)fc_csv_row_line(csv, r),
                           fc_csv_col_name(csv, col), s);
        y[r] = (float)v;
    }
    return FC_OK;
}

/* fastai's RandomSplitter: a seeded permutation; its first round(pct * n) rows are valid */
static void random_split(int64_t n, double pct, uint64_t seed, int64_t *perm, int64_t *n_valid) {
    fc_rng g = fc_rng_new(seed);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        uint64_t r = ((uint64_t)fc_rng_u32(&g) << 32) | fc_rng_u32(&g);
        int64_t j = (int64_t)(r % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    *n_valid = (int64_t)(pct * (double)n);
}

/* one subset's dataset: rows rows[n] of the coded table */
static fc_dataset *subset(const int64_t *ucode, const int64_t *icode, const float *rating, const int64_t *rows,
                          int64_t n, fci_collab_info *info) {
    collab_ds *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    fc_scope *outer = fci_scope_suspend(); /* the tensors belong to the dataset */
    s->x = fci_tensor_alloc(FC_SHAPE(n, 2), FC_DTYPE_I64, FC_CPU);
    s->y = fci_tensor_alloc(FC_SHAPE(n, 1), FC_DTYPE_F32, FC_CPU);
    fci_scope_resume(outer);
    s->n = n;
    s->info = info;
    info->refcount++;
    if (!s->x || !s->y) {
        collab_ds_free(s);
        return NULL;
    }
    int64_t *x = fc_tensor_data(s->x);
    float *y = fc_tensor_data(s->y);
    for (int64_t i = 0; i < n; i++) {
        x[2 * i] = ucode[rows[i]];
        x[2 * i + 1] = icode[rows[i]];
        y[i] = rating[rows[i]];
    }
    return fc_dataset_new(&collab_ds_def, s);
}

typedef struct coded {
    int64_t *ucode, *icode, *perm;
    float *rating;
} coded;

static void coded_free(coded *c) {
    fci_free(c->ucode);
    fci_free(c->icode);
    fci_free(c->perm);
    fci_free(c->rating);
}

/* The whole table coded: split, categorified, ratings; info filled */
static fc_status code_table(const fc_csv *csv, const char *path, const fc_collab_dls_opts *o, double pct,
                            uint64_t seed, coded *c, int64_t *n_valid, fci_collab_info *info) {
    int ju = find_col(csv, path, o->user, 0, "user");
    int ji = ju < 0 ? -1 : find_col(csv, path, o->item, 1, "item");
    int jr = ji < 0 ? -1 : find_col(csv, path, o->rating, 2, "rating");
    if (jr < 0) return fc_error_code();
    int64_t n = fc_csv_n_rows(csv);
    if (n < 2)
        return fc_fail(FC_ERR_FORMAT, "collab_dls_from_csv: %s: expected at least 2 ratings, found %lld", path,
                       (long long)n);
    c->ucode = fci_calloc((size_t)n, sizeof *c->ucode);
    c->icode = fci_calloc((size_t)n, sizeof *c->icode);
    c->perm = fci_calloc((size_t)n, sizeof *c->perm);
    c->rating = fci_calloc((size_t)n, sizeof *c->rating);
    if (!c->ucode || !c->icode || !c->perm || !c->rating) return fc_error_code();
    fc_status st = read_ratings(csv, path, jr, c->rating);
    if (st != FC_OK) return st;
    random_split(n, pct, seed, c->perm, n_valid);
    const int64_t *train = c->perm + *n_valid;
    int64_t n_train = n - *n_valid;
    st = categorify(csv, ju, train, n_train, &info->users, &info->n_users, c->ucode);
    if (st == FC_OK) st = categorify(csv, ji, train, n_train, &info->items, &info->n_items, c->icode);
    if (st != FC_OK) return st;
    info->item_counts = fci_calloc((size_t)info->n_items, sizeof *info->item_counts);
    info->item_sums = fci_calloc((size_t)info->n_items, sizeof *info->item_sums);
    if (!info->item_counts || !info->item_sums) return fc_error_code();
    for (int64_t r = 0; r < n; r++) {
        info->item_counts[c->icode[r]]++;
        info->item_sums[c->icode[r]] += c->rating[r];
    }
    return FC_OK;
}

fc_dataloaders *fc_collab_dls_from_csv_(const char *path, const fc_collab_dls_opts *o) {
    static const fc_collab_dls_opts none;
    if (!o) o = &none;
    double pct = o->valid_pct ? o->valid_pct : 0.2;
    uint64_t seed = o->seed ? o->seed : 42;
    int64_t bs = o->bs ? o->bs : 64;
    if (!path) {
        fc_fail(FC_ERR_ARG, "collab_dls_from_csv: path is NULL");
        return NULL;
    }
    if (!(pct > 0 && pct < 1) || bs < 1) {
        fc_fail(FC_ERR_ARG, "collab_dls_from_csv: expected .valid_pct in (0, 1) and .bs >= 1, found %g and %lld",
                pct, (long long)bs);
        return NULL;
    }
    fc_csv *csv = fc_read_csv(path, .sep = o->sep, .no_header = o->no_header);
    if (!csv) return NULL;
    fci_collab_info *info = fci_calloc(1, sizeof *info);
    coded c = {0};
    int64_t n_valid = 0, n = fc_csv_n_rows(csv);
    fc_status st = info ? code_table(csv, path, o, pct, seed, &c, &n_valid, info) : fc_error_code();
    fc_csv_free(csv);
    fc_dataloaders *dls = NULL;
    if (st == FC_OK) {
        info->refcount = 1;
        fc_dataset *train = subset(c.ucode, c.icode, c.rating, c.perm + n_valid, n - n_valid, info);
        fc_dataset *valid = subset(c.ucode, c.icode, c.rating, c.perm, n_valid, info);
        /* fastai's TabularDataLoaders: train shuffled, dropping its last partial batch; valid in
         * order with the same bs */
        fc_dataloader *dl_train = train ? fc_dataloader_new(train, .bs = bs, .shuffle = 1, .drop_last = 1,
                                                            .seed = seed, .split = FC_SPLIT_TRAIN) : NULL;
        fc_dataloader *dl_valid = valid ? fc_dataloader_new(valid, .bs = bs, .seed = seed, .split = FC_SPLIT_VALID)
                                        : NULL;
        if (!train) fc_dataset_free(valid);
        if (train && dl_train && dl_valid) {
            dls = fc_dataloaders_new(dl_train, dl_valid);
        } else {
            fc_dataloader_free(dl_train);
            fc_dataloader_free(dl_valid);
        }
    }
    if (info) info_unref(info);
    coded_free(&c);
    return dls;
}

/* ---- the stand-in of a loaded learner (h-export) ---- */

void fci_collab_info_unref(fci_collab_info *info) { info_unref(info); }

fc_dataloaders *fci_collab_dls_of_info(fci_collab_info *info, int64_t bs) {
    if (!info) return NULL;
    info->refcount = 1;
    static const int64_t none[1] = {0};
    static const float no_rating[1] = {0};
    fc_dataset *train = subset(none, none, no_rating, none, 0, info);
    fc_dataset *valid = train ? subset(none, none, no_rating, none, 0, info) : NULL;
    info_unref(info);
    fc_dataloader *dl_train = train ? fc_dataloader_new(train, .bs = bs, .split = FC_SPLIT_TRAIN) : NULL;
    fc_dataloader *dl_valid = dl_train && valid ? fc_dataloader_new(valid, .bs = bs, .split = FC_SPLIT_VALID) : NULL;
    if (!dl_train && valid) fc_dataset_free(valid);
    if (dl_train && dl_valid) return fc_dataloaders_new(dl_train, dl_valid);
    fc_dataloader_free(dl_train);
    return NULL;
}
