/* The CSV table: reading a file in one go, column names, cells, typed columns. The parser itself
 * is in csv_parse.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_impl.h"

void fc_csv_free(fc_csv *csv) {
    if (!csv) return;
    if (csv->text) fci_release(csv->text, csv->text_cap);
    if (csv->off) fci_release(csv->off, csv->off_cap * sizeof *csv->off);
    if (csv->line) fci_release(csv->line, csv->line_cap * sizeof *csv->line);
    fci_free(csv->names_buf);
    fci_free((void *)csv->names);
    fci_free(csv->name);
    fci_free(csv);
}

static fc_csv *csv_alloc(const char *name) {
    fc_csv *csv = fci_calloc(1, sizeof *csv);
    if (!csv) return NULL;
    size_t n = strlen(name);
    csv->name = fci_calloc(n + 1, 1);
    if (!csv->name) {
        fci_free(csv);
        return NULL;
    }
    memcpy(csv->name, name, n);
    return csv;
}

/* Duplicate names are found by sorting (name, index) pairs: O(n log n) for wide files. */
typedef struct named {
    const char *name;
    int j;
} named;
static int cmp_named(const void *a, const void *b) {
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->j > y->j) - (x->j < y->j);
}

static fc_status check_unique_names(const fc_csv *csv) {
    int n = csv->n_cols;
    named *v = fci_calloc((size_t)n, sizeof *v);
    if (!v) return fc_error_code();
    for (int j = 0; j < n; j++) v[j] = (named){csv->names[j], j};
    qsort(v, (size_t)n, sizeof *v, cmp_named);
    fc_status st = FC_OK;
    for (int k = 1; k < n && st == FC_OK; k++)
        if (!strcmp(v[k - 1].name, v[k].name))
            st = fc_fail(FC_ERR_FORMAT,
                         "read_csv: %s line %lld: duplicate column name '%s' (columns %d and %d)",
                         csv->name, (long long)csv->line[0], v[k].name, v[k - 1].j + 1, v[k].j + 1);
    fci_free(v);
    return st;
}

static fc_status set_names(fc_csv *csv) {
    int n = csv->n_cols;
    csv->names = fci_calloc((size_t)n, sizeof *csv->names);
    if (!csv->names) return fc_error_code();
    if (csv->has_header) {
        for (int j = 0; j < n; j++) csv->names[j] = csv->off[j] >= 0 ? csv->text + csv->off[j] : "";
        return check_unique_names(csv);
    }
    csv->names_buf = fci_calloc((size_t)n, 12);
    if (!csv->names_buf) return fc_error_code();
    for (int j = 0; j < n; j++) {
        snprintf(csv->names_buf + 12 * (size_t)j, 12, "%d", j);
        csv->names[j] = csv->names_buf + 12 * (size_t)j;
    }
    return FC_OK;
}

/* Takes text (an fci_alloc'd buffer of cap bytes holding len bytes, cap > len) and csv, even on
 * failure. */
static fc_csv *parse_owned(fc_csv *csv, char *text, size_t cap, size_t len, const fc_csv_opts *o) {
    csv->text = text;
    csv->text_cap = cap;
    csv->has_header = !o->no_header;
    if (o->max_rows < 0) {
        fc_fail(FC_ERR_ARG, "read_csv: .max_rows must be >= 0, found %lld", (long long)o->max_rows);
        goto fail;
    }
    if (o->sep == '\n' || o->sep == '\r' || (o->sep && o->sep == (o->quote ? o->quote : '"'))) {
        fc_fail(FC_ERR_ARG, "read_csv: .sep must differ from the quote and newlines, found '%c'",
                o->sep);
        goto fail;
    }
    if (fci_csv_parse_into(csv, text, len, o) != FC_OK) goto fail;
    if (set_names(csv) != FC_OK) goto fail;
    return csv;
fail:
    fc_csv_free(csv);
    return NULL;
}

fc_csv *fc_csv_parse_(const char *text, size_t len, const char *name, const fc_csv_opts *o) {
    if (!text) return NULL;
    static const fc_csv_opts defaults;
    if (!o) o = &defaults;
    fc_csv *csv = csv_alloc(name ? name : "<text>");
    if (!csv) return NULL;
    char *buf = fci_alloc(len + 1);
    if (!buf) {
        fc_csv_free(csv);
        return NULL;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    return parse_owned(csv, buf, len + 1, len, o);
}

/* The whole file into one fci_alloc'd buffer with a spare byte; sizes from fseek/ftell. */
static char *read_all(const char *path, size_t *len, size_t *cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fc_fail(FC_ERR_IO, "read_csv: cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fc_fail(FC_ERR_IO, "read_csv: cannot read '%s': %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    char *buf = fci_alloc((size_t)size + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, (size_t)size, f);
    if (got != (size_t)size || ferror(f)) {
        fc_fail(FC_ERR_IO, "read_csv: cannot read '%s': read %zu of %ld bytes", path, got, size);
        fci_release(buf, (size_t)size + 1);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[size] = '\0';
    *len = (size_t)size;
    *cap = (size_t)size + 1;
    return buf;
}

fc_csv *fc_read_csv_(const char *path, const fc_csv_opts *o) {
    if (!path) return NULL;
    static const fc_csv_opts defaults;
    if (!o) o = &defaults;
    size_t len, cap;
    char *buf = read_all(path, &len, &cap);
    if (!buf) return NULL;
    fc_csv *csv = csv_alloc(path);
    if (!csv) {
        fci_release(buf, cap);
        return NULL;
    }
    return parse_owned(csv, buf, cap, len, o);
}

/* ---- accessors ---- */

int64_t fc_csv_n_rows(const fc_csv *csv) { return csv ? csv->n_rows : 0; }
int fc_csv_n_cols(const fc_csv *csv) { return csv ? csv->n_cols : 0; }

const char *fc_csv_col_name(const fc_csv *csv, int j) {
    return csv && j >= 0 && j < csv->n_cols ? csv->names[j] : NULL;
}

int fc_csv_col_index(const fc_csv *csv, const char *name) {
    if (!csv || !name) return -1;
    for (int j = 0; j < csv->n_cols; j++)
        if (!strcmp(csv->names[j], name)) return j;
    return -1;
}

int64_t fc_csv_row_line(const fc_csv *csv, int64_t i) {
    return csv && i >= 0 && i < csv->n_rows ? csv->line[i + csv->has_header] : -1;
}

static int64_t cell_off(const fc_csv *csv, int64_t i, int j) {
    return csv->off[(i + csv->has_header) * csv->n_cols + j];
}

const char *fc_csv_cell(const fc_csv *csv, int64_t i, int j) {
    if (!csv) return NULL;
    if (i < 0 || i >= csv->n_rows || j < 0 || j >= csv->n_cols) {
        fc_fail(FC_ERR_ARG, "csv_cell: expected row in [0, %lld) and column in [0, %d), found %lld, %d",
                (long long)csv->n_rows, csv->n_cols, (long long)i, j);
        return NULL;
    }
    int64_t o = cell_off(csv, i, j);
    return o >= 0 ? csv->text + o : "";
}

int fc_csv_is_missing(const fc_csv *csv, int64_t i, int j) {
    if (!csv || i < 0 || i >= csv->n_rows || j < 0 || j >= csv->n_cols) return 0;
    return cell_off(csv, i, j) < 0;
}

static int find_col(const fc_csv *csv, const char *fn, const char *name) {
    int j = fc_csv_col_index(csv, name);
    if (j < 0)
        fc_fail(FC_ERR_ARG, "%s: %s has no column '%s' (it has %d columns, the first '%s')", fn,
                csv->name, name ? name : "(null)", csv->n_cols, csv->names[0]);
    return j;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

fc_status fc_csv_col_f32(const fc_csv *csv, const char *name, float *out, float missing_value) {
    if (!csv) return fc_fail(FC_ERR_ARG, "csv_col_f32: csv is NULL");
    if (!out) return fc_fail(FC_ERR_ARG, "csv_col_f32: out is NULL");
    int j = find_col(csv, "csv_col_f32", name);
    if (j < 0) return FC_ERR_ARG;
    for (int64_t i = 0; i < csv->n_rows; i++) {
        int64_t o = cell_off(csv, i, j);
        const char *s = o >= 0 ? csv->text + o : "";
        if (!*s) {
            out[i] = missing_value;
            continue;
        }
        char *end;
        out[i] = strtof(s, &end);
        while (is_blank(*end)) end++;
        if (end == s || *end)
            return fc_fail(FC_ERR_FORMAT,
                           "read_csv: %s line %lld, column '%s': expected a number, found '%.40s'",
                           csv->name, (long long)fc_csv_row_line(csv, i), csv->names[j], s);
    }
    return FC_OK;
}

/* Open addressing over row indices; FNV-1a on the cell text. */
static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

fc_status fc_csv_col_unique(const fc_csv *csv, const char *name, const char ***values, int64_t *n,
                            int64_t *codes) {
    if (!csv) return fc_fail(FC_ERR_ARG, "csv_col_unique: csv is NULL");
    if (!values || !n) return fc_fail(FC_ERR_ARG, "csv_col_unique: values and n must not be NULL");
    *values = NULL;
    *n = 0;
    int j = find_col(csv, "csv_col_unique", name);
    if (j < 0) return FC_ERR_ARG;
    size_t cap = 16;
    while (cap < 2 * (size_t)csv->n_rows) cap *= 2;
    int64_t *table = malloc(cap * sizeof *table);
    const char **vals = malloc(((size_t)csv->n_rows + 1) * sizeof *vals);
    if (!table || !vals) {
        free(table);
        free(vals);
        return fc_fail(FC_ERR_NOMEM, "csv_col_unique: out of memory (%zu bytes)",
                       cap * sizeof *table);
    }
    memset(table, 0xff, cap * sizeof *table); /* -1: empty slot */
    int64_t count = 0;
    for (int64_t i = 0; i < csv->n_rows; i++) {
        int64_t o = cell_off(csv, i, j);
        const char *s = o >= 0 ? csv->text + o : "";
        size_t h = (size_t)hash_str(s) & (cap - 1);
        while (table[h] >= 0 && strcmp(vals[table[h]], s)) h = (h + 1) & (cap - 1);
        if (table[h] < 0) {
            table[h] = count;
            vals[count++] = s;
        }
        if (codes) codes[i] = table[h];
    }
    free(table);
    *values = vals;
    *n = count;
    return FC_OK;
}
