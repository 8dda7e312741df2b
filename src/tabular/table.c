/* The processed table (fastai's TabularPandas): column roles (given, or cont_cat_split), the split,
 * the procs fitted on the training rows and every row processed into x and y tensors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tabular_impl.h"

/* ---- free and accessors -------------------------------------------------------------------- */

fc_tabular *fci_tab_ref(fc_tabular *t) {
    if (t) t->refs++;
    return t;
}

static void free_names(char **names, int n) {
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

void fc_tabular_free(fc_tabular *t) {
    if (!t || --t->refs > 0) return;
    for (int j = 0; t->vocab && j < t->n_cat; j++) fci_tab_vocab_free(&t->vocab[j]);
    free(t->vocab);
    fci_tab_vocab_free(&t->y_vocab);
    free_names(t->cat_names, t->n_cat);
    free_names(t->cont_names, t->n_cont);
    free(t->na_of);
    free(t->cont_na_col);
    free(t->mean);
    free(t->std);
    free(t->fill);
    free(t->y_name);
    free(t->name);
    free(t->train_rows);
    free(t->valid_rows);
    for (int k = 0; k < 2; k++) {
        fc_tensor_free(t->x[k]);
        fc_tensor_free(t->y[k]);
    }
    free(t);
}

int fc_tabular_n_cat(const fc_tabular *t) { return t ? t->n_cat : 0; }
int fc_tabular_n_cont(const fc_tabular *t) { return t ? t->n_cont : 0; }
const char *fc_tabular_cat_name(const fc_tabular *t, int j) {
    return t && j >= 0 && j < t->n_cat ? t->cat_names[j] : NULL;
}
const char *fc_tabular_cont_name(const fc_tabular *t, int j) {
    return t && j >= 0 && j < t->n_cont ? t->cont_names[j] : NULL;
}
const char *const *fc_tabular_classes(const fc_tabular *t, int j, int64_t *n) {
    if (!t || j < 0 || j >= t->n_cat) {
        if (n) *n = 0;
        return NULL;
    }
    if (n) *n = t->vocab[j].n;
    return (const char *const *)t->vocab[j].classes;
}
double fc_tabular_cont_mean(const fc_tabular *t, int j) { return t && j >= 0 && j < t->n_cont ? t->mean[j] : NAN; }
double fc_tabular_cont_std(const fc_tabular *t, int j) { return t && j >= 0 && j < t->n_cont ? t->std[j] : NAN; }
double fc_tabular_fill_value(const fc_tabular *t, int j) { return t && j >= 0 && j < t->n_cont ? t->fill[j] : NAN; }
int64_t fc_tabular_n_rows(const fc_tabular *t, fc_split_idx split) {
    if (!t) return 0;
    return split == FC_SPLIT_VALID ? t->n_valid : split == FC_SPLIT_TRAIN ? t->n_train : t->n_train + t->n_valid;
}
int fc_tabular_is_regression(const fc_tabular *t) { return t ? t->regression : 0; }
const char *const *fc_tabular_y_classes(const fc_tabular *t, int64_t *n) {
    if (n) *n = t && !t->regression ? t->y_vocab.n : 0;
    return t && !t->regression ? (const char *const *)t->y_vocab.classes : NULL;
}

/* ---- column roles ---------------------------------------------------------------------------- */

/* "a, b, c": the table's columns, for messages. */
static void col_list(const fc_csv *csv, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    for (int j = 0; j < fc_csv_n_cols(csv) && len + 4 < n; j++) {
        int k = snprintf(buf + len, n - len, "%s'%s'", j ? ", " : "", fc_csv_col_name(csv, j));
        if (k < 0 || len + (size_t)k >= n) {
            snprintf(buf + (n > 4 ? n - 4 : 0), 4, "...");
            break;
        }
        len += (size_t)k;
    }
}

static fc_status no_column(const fc_csv *csv, const char *name, const char *what, const char *col) {
    char cols[512];
    col_list(csv, cols, sizeof cols);
    return fc_fail(FC_ERR_ARG, "tabular: %s: unknown %s column '%s' (the columns are %s)", name, what, col, cols);
}

/* fastai's cont_cat_split over every row: a column whose values are all numbers is continuous
 * when it holds a non-integer or a missing value (a float column in pandas) or more than max_card
 * distinct integers; every other column is categorical. */
static int is_cont_column(const fc_csv *csv, int c, int max_card) {
    double seen[64];
    int n_seen = 0, many = 0, floaty = 0;
    for (int64_t i = 0, n = fc_csv_n_rows(csv); i < n; i++) {
        double v;
        int miss;
        if (!fci_tab_parse(fc_csv_cell(csv, i, c), &v, &miss)) return 0;
        if (miss || v != floor(v)) {
            floaty = 1;
            continue;
        }
        if (many) continue;
        int k = 0;
        while (k < n_seen && seen[k] != v) k++;
        if (k == n_seen) {
            if (n_seen > max_card || n_seen == 64) many = 1;
            else seen[n_seen++] = v;
        }
    }
    return floaty || many || n_seen > max_card;
}

typedef struct roles {
    int n_cat, n_cont, y;
    int *cat, *cont; /* csv columns */
} roles;

static fc_status find_roles(const fc_csv *csv, const char *name, const fc_tabular_opts *o, roles *r) {
    int nc = fc_csv_n_cols(csv);
    r->y = -1;
    if (o->y && (r->y = fc_csv_col_index(csv, o->y)) < 0) return no_column(csv, name, "target", o->y);
    r->cat = calloc((size_t)nc + o->cat.n + 1, sizeof *r->cat);
    r->cont = calloc((size_t)nc + o->cont.n + 1, sizeof *r->cont);
    if (!r->cat || !r->cont) return fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    if (o->cat.n == 0 && o->cont.n == 0) {
        int max_card = o->max_card ? o->max_card : 20;
        for (int c = 0; c < nc; c++) {
            if (c == r->y || (o->valid_col && !strcmp(fc_csv_col_name(csv, c), o->valid_col))) continue;
            if (is_cont_column(csv, c, max_card)) r->cont[r->n_cont++] = c;
            else r->cat[r->n_cat++] = c;
        }
        return FC_OK;
    }
    for (int k = 0; k < o->cat.n; k++)
        if ((r->cat[r->n_cat++] = fc_csv_col_index(csv, o->cat.s[k])) < 0)
            return no_column(csv, name, "categorical", o->cat.s[k]);
    for (int k = 0; k < o->cont.n; k++)
        if ((r->cont[r->n_cont++] = fc_csv_col_index(csv, o->cont.s[k])) < 0)
            return no_column(csv, name, "continuous", o->cont.s[k]);
    return FC_OK;
}

/* ---- fitting ----------------------------------------------------------------------------------- */

/* The continuous columns as numbers (NAN: missing), checked on every row. */
static fc_status parse_conts(const fc_csv *csv, const char *name, const roles *r, double *vals) {
    int64_t n = fc_csv_n_rows(csv);
    for (int k = 0; k < r->n_cont; k++)
        for (int64_t i = 0; i < n; i++) {
            const char *s = fc_csv_cell(csv, i, r->cont[k]);
            int miss;
            if (!fci_tab_parse(s, &vals[(size_t)k * n + i], &miss))
                return fc_fail(FC_ERR_FORMAT, "tabular: %s line %lld, column '%s': expected a number, found '%s'",
                               name, (long long)fc_csv_row_line(csv, i), fc_csv_col_name(csv, r->cont[k]), s);
        }
    return FC_OK;
}

/* FillMissing and Normalize for continuous column k (vals: its values on every row). */
static fc_status fit_cont(fc_tabular *t, const fc_tabular_opts *o, int k, const double *vals, int *has_missing) {
    double *tv = malloc(((size_t)t->n_train + 1) * sizeof *tv);
    if (!tv) return fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    int64_t m = 0;
    *has_missing = 0;
    for (int64_t i = 0; i < t->n_train; i++) {
        double v = vals[t->train_rows[i]];
        if (isnan(v)) *has_missing = 1;
        else tv[m++] = v;
    }
    t->fill[k] = o->fill_strategy == FC_FILL_CONSTANT ? o->fill_value : fci_tab_fill_of(tv, m, o->fill_strategy);
    t->mean[k] = 0;
    t->std[k] = 1;
    if (t->procs & FC_PROC_NORMALIZE) {
        /* pandas' mean and std(ddof=0) of the filled training values, + 1e-7 (fastai's Normalize) */
        int fill = (t->procs & FC_PROC_FILL_MISSING) != 0;
        double s = 0, ss = 0;
        int64_t cnt = 0;
        for (int64_t i = 0; i < t->n_train; i++) {
            double v = vals[t->train_rows[i]];
            if (isnan(v) && fill) v = t->fill[k];
            if (isnan(v)) continue;
            s += v;
            cnt++;
        }
        double mean = cnt ? s / (double)cnt : 0;
        for (int64_t i = 0; i < t->n_train; i++) {
            double v = vals[t->train_rows[i]];
            if (isnan(v) && fill) v = t->fill[k];
            if (!isnan(v)) ss += (v - mean) * (v - mean);
        }
        t->mean[k] = mean;
        t->std[k] = (cnt ? sqrt(ss / (double)cnt) : 0) + 1e-7;
    }
    free(tv);
    return FC_OK;
}

static fc_status add_na_col(fc_tabular *t, int k) {
    int j = t->n_cat++;
    char name[512];
    snprintf(name, sizeof name, "%s_na", t->cont_names[k]);
    if (!(t->cat_names[j] = strdup(name))) return fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    t->na_of[j] = k;
    t->cont_na_col[k] = j;
    return FC_OK;
}

/* The "<col>_na" vocabulary: the training rows' True/False, Categorified. */
static fc_status fit_na_vocab(fc_tabular *t, int j, const double *vals) {
    const char **tx = malloc(((size_t)t->n_train + 1) * sizeof *tx);
    if (!tx) return fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    for (int64_t i = 0; i < t->n_train; i++) tx[i] = isnan(vals[t->train_rows[i]]) ? "True" : "False";
    fc_status st = fci_tab_vocab_build(&t->vocab[j], tx, t->n_train, 1);
    free(tx);
    return st;
}

static fc_status fit_cat(fc_tabular *t, const fc_csv *csv, int j, int c) {
    const char **tx = malloc(((size_t)t->n_train + 1) * sizeof *tx);
    if (!tx) return fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    for (int64_t i = 0; i < t->n_train; i++) {
        const char *s = fc_csv_cell(csv, t->train_rows[i], c);
        tx[i] = fc_csv_is_missing(csv, t->train_rows[i], c) || !*s ? NULL : s;
    }
    fc_status st = fci_tab_vocab_build(&t->vocab[j], tx, t->n_train, 1);
    free(tx);
    return st;
}

/* ---- the target ---------------------------------------------------------------------------------- */

/* FC_Y_AUTO: a target of numbers is a regression when one of them has a fraction part or when
 * more than 20 distinct integers are seen (a float column in pandas); otherwise a category. */
static int y_is_regression(const fc_csv *csv, const fc_tabular *t, int c) {
    double seen[21];
    int n_seen = 0;
    for (int64_t i = 0; i < t->n_train; i++) {
        const char *s = fc_csv_cell(csv, t->train_rows[i], c);
        double v;
        int miss;
        if (!fci_tab_parse(s, &v, &miss)) return 0;
        if (miss) continue;
        if (v != floor(v) || strchr(s, '.') || strchr(s, 'e') || strchr(s, 'E')) return 1;
        int k = 0;
        while (k < n_seen && seen[k] != v) k++;
        if (k == n_seen) {
            if (n_seen == 20) return 1;
            seen[n_seen++] = v;
        }
    }
    return 0;
}

static fc_status fit_y(fc_tabular *t, const fc_csv *csv, const fc_tabular_opts *o, int c) {
    t->regression = o->y_block == FC_Y_REGRESSION || (o->y_block == FC_Y_AUTO && y_is_regression(csv, t, c));
    if (t->regression) return FC_OK;
    const char **tx = malloc(((size_t)t->n_train + 1) * sizeof *tx);
    if (!tx) return fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    for (int64_t i = 0; i < t->n_train; i++) tx[i] = fc_csv_cell(csv, t->train_rows[i], c);
    fc_status st = fci_tab_vocab_build(&t->y_vocab, tx, t->n_train, 0);
    free(tx);
    return st;
}

/* ---- processing every row ------------------------------------------------------------------------ */

static fc_status process_split(fc_tabular *t, const fc_csv *csv, const roles *r, int k) {
    int64_t n = k ? t->n_valid : t->n_train;
    const int64_t *rows = k ? t->valid_rows : t->train_rows;
    int w = t->n_cat + t->n_cont;
    fc_tensor *x = fc_empty(FC_SHAPE(n, w));
    fc_tensor *y = r->y < 0 ? NULL
                   : t->regression ? fc_empty(FC_SHAPE(n, 1)) : fc_empty(FC_SHAPE(n), .dtype = FC_DTYPE_I64);
    const char *cat_text[r->n_cat + 1], *cont_text[r->n_cont + 1];
    fc_status st = x && (y || r->y < 0) ? FC_OK : fc_error_code();
    for (int64_t i = 0; i < n && st == FC_OK; i++) {
        int64_t row = rows[i];
        for (int j = 0; j < r->n_cat; j++)
            cat_text[j] = fc_csv_is_missing(csv, row, r->cat[j]) ? NULL : fc_csv_cell(csv, row, r->cat[j]);
        for (int j = 0; j < r->n_cont; j++) cont_text[j] = fc_csv_cell(csv, row, r->cont[j]);
        char where[300];
        snprintf(where, sizeof where, "%s line %lld", t->name, (long long)fc_csv_row_line(csv, row));
        st = fci_tab_process_row(t, cat_text, cont_text, fc_tensor_data_f32(x) + (size_t)i * w, where);
        if (st != FC_OK || !y) continue;
        const char *s = fc_csv_cell(csv, row, r->y);
        double v;
        int miss;
        if (!fci_tab_parse(s, &v, &miss) && t->regression)
            st = fc_fail(FC_ERR_FORMAT, "tabular: %s line %lld, target '%s': expected a number, found '%s'",
                         t->name, (long long)fc_csv_row_line(csv, row), t->y_name, s);
        else if (fc_csv_is_missing(csv, row, r->y) || (t->regression && miss))
            st = fc_fail(FC_ERR_FORMAT, "tabular: %s line %lld: the target '%s' is missing", t->name,
                         (long long)fc_csv_row_line(csv, row), t->y_name);
        else if (t->regression)
            fc_tensor_data_f32(y)[i] = (float)v;
        else if ((((int64_t *)fc_tensor_data(y))[i] = fci_tab_code(&t->y_vocab, s, 0)) < 0)
            st = fc_fail(FC_ERR_FORMAT, "tabular: %s line %lld: target '%s' value '%s' is not among the training "
                         "classes", t->name, (long long)fc_csv_row_line(csv, row), t->y_name, s);
    }
    if (st != FC_OK) {
        fc_tensor_free(x);
        fc_tensor_free(y);
        return st;
    }
    t->x[k] = fc_keep(x);
    t->y[k] = y ? fc_keep(y) : NULL;
    return FC_OK;
}

/* ---- the table ----------------------------------------------------------------------------------- */

static fc_status alloc_table(fc_tabular *t, const roles *r, const fc_csv *csv, const char *name, const char *y) {
    int nc = r->n_cat + r->n_cont;
    t->refs = 1;
    t->name = strdup(name ? name : "table");
    t->y_name = y ? strdup(y) : NULL;
    t->cat_names = calloc((size_t)nc + 1, sizeof *t->cat_names);
    t->cont_names = calloc((size_t)r->n_cont + 1, sizeof *t->cont_names);
    t->na_of = calloc((size_t)nc + 1, sizeof *t->na_of);
    t->cont_na_col = calloc((size_t)r->n_cont + 1, sizeof *t->cont_na_col);
    t->vocab = calloc((size_t)nc + 1, sizeof *t->vocab);
    t->mean = calloc((size_t)r->n_cont + 1, sizeof *t->mean);
    t->std = calloc((size_t)r->n_cont + 1, sizeof *t->std);
    t->fill = calloc((size_t)r->n_cont + 1, sizeof *t->fill);
    if (!t->name || (y && !t->y_name) || !t->cat_names || !t->cont_names || !t->na_of || !t->cont_na_col ||
        !t->vocab || !t->mean || !t->std || !t->fill)
        return fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    t->n_user_cat = t->n_cat = r->n_cat;
    for (int j = 0; j < r->n_cat; j++) {
        t->na_of[j] = -1;
        if (!(t->cat_names[j] = strdup(fc_csv_col_name(csv, r->cat[j]))))
            return fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    }
    t->n_cont = r->n_cont;
    for (int k = 0; k < r->n_cont; k++) {
        t->cont_na_col[k] = -1;
        if (!(t->cont_names[k] = strdup(fc_csv_col_name(csv, r->cont[k]))))
            return fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    }
    return FC_OK;
}

static fc_status fit(fc_tabular *t, const fc_csv *csv, const roles *r, const fc_tabular_opts *o) {
    int64_t n = fc_csv_n_rows(csv);
    double *vals = malloc(((size_t)r->n_cont * n + 1) * sizeof *vals);
    if (!vals) return fc_fail(FC_ERR_NOMEM, "tabular: out of memory for %lld values", (long long)(r->n_cont * n));
    fc_status st = parse_conts(csv, t->name, r, vals);
    for (int k = 0; k < r->n_cont && st == FC_OK; k++) {
        int has_missing = 0;
        st = fit_cont(t, o, k, vals + (size_t)k * n, &has_missing);
        if (st == FC_OK && has_missing && (t->procs & FC_PROC_FILL_MISSING) && !o->no_add_col) {
            st = add_na_col(t, k);
            if (st == FC_OK) st = fit_na_vocab(t, t->n_cat - 1, vals + (size_t)k * n);
        }
    }
    free(vals);
    for (int j = 0; j < r->n_cat && st == FC_OK; j++) st = fit_cat(t, csv, j, r->cat[j]);
    if (st == FC_OK && r->y >= 0) st = fit_y(t, csv, o, r->y);
    return st;
}

fc_tabular *fc_tabular_from_table_(const fc_csv *csv, const char *name, const fc_tabular_opts *o) {
    if (!csv) return NULL;
    if (fc_error_code() != FC_OK) return NULL;
    name = name ? name : "table";
    if (fc_csv_n_cols(csv) == 0 || fc_csv_n_rows(csv) == 0) {
        fc_fail(FC_ERR_FORMAT, "tabular: %s: empty file (%s)", name,
                fc_csv_n_cols(csv) == 0 ? "no header and no rows" : "a header but no data rows");
        return NULL;
    }
    int procs = o->procs == 0 ? FC_PROCS_ALL : o->procs < 0 ? 0 : o->procs;
    if (procs & ~FC_PROCS_ALL) {
        fc_fail(FC_ERR_ARG, "tabular: expected .procs a mask of FC_PROC_* (or 0 or -1), found %d", o->procs);
        return NULL;
    }
    roles r = {0};
    fc_tabular *t = calloc(1, sizeof *t);
    fc_status st = t ? find_roles(csv, name, o, &r) : fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
    if (st == FC_OK && r.n_cat && !(procs & FC_PROC_CATEGORIFY))
        st = fc_fail(FC_ERR_UNSUPPORTED, "tabular: %s: categorical columns need the Categorify proc "
                     "(.procs = %d lacks FC_PROC_CATEGORIFY)", name, o->procs);
    if (st == FC_OK && r.n_cat + r.n_cont == 0)
        st = fc_fail(FC_ERR_ARG, "tabular: %s: no input columns (every column is the target)", name);
    if (st == FC_OK) {
        t->procs = procs;
        st = alloc_table(t, &r, csv, name, o->y);
    }
    if (st == FC_OK) st = fci_tab_split(csv, name, o, &t->train_rows, &t->n_train, &t->valid_rows, &t->n_valid);
    if (st == FC_OK && t->n_train == 0) st = fc_fail(FC_ERR_ARG, "tabular: %s: the split leaves no training rows", name);
    if (st == FC_OK) st = fit(t, csv, &r, o);
    for (int k = 0; k < 2 && st == FC_OK; k++) st = process_split(t, csv, &r, k);
    free(r.cat);
    free(r.cont);
    if (st != FC_OK) {
        if (t) t->refs = 1;
        fc_tabular_free(t);
        return NULL;
    }
    return t;
}

fc_tabular *fc_tabular_from_csv_(const char *path, const fc_tabular_opts *o) {
    if (!path) {
        fc_fail(FC_ERR_ARG, "tabular_from_csv: path is NULL");
        return NULL;
    }
    fc_csv *csv = fc_read_csv_(path, &o->csv);
    if (!csv) return NULL;
    fc_tabular *t = fc_tabular_from_table_(csv, path, o);
    fc_csv_free(csv);
    return t;
}
