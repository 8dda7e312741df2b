/* The CSV parser: one pass over the text, in place. Unescaping only ever shrinks a field and each
 * field gives up its delimiter for its NUL, so the write position never passes the read position
 * and the cells fit in the input buffer itself (plus one byte for a last field without newline). */
#include <stdio.h>
#include <string.h>

#include "csv_impl.h"

/* Grows an fci_alloc'd array of elem-byte elements to hold at least need elements. */
static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t n = *cap ? *cap : 1024;
    while (n < need) n *= 2;
    void *q = fci_alloc(n * elem);
    if (!q) return 0;
    if (*p) {
        memcpy(q, *p, *cap * elem);
        fci_release(*p, *cap * elem);
    }
    *p = q;
    *cap = n;
    return 1;
}

/* "column 'age'" from the header, or "column 3" (1-based) without one or past its end. */
static const char *col_label(const fc_csv *csv, int j, char *buf, size_t n) {
    if (csv->has_header && csv->n_records > 0 && j < csv->n_cols && csv->off[j] >= 0)
        snprintf(buf, n, "column '%s'", csv->text + csv->off[j]);
    else if (csv->has_header && csv->n_records > 0 && j < csv->n_cols)
        snprintf(buf, n, "column %d (unnamed)", j + 1);
    else
        snprintf(buf, n, "column %d", j + 1);
    return buf;
}

static fc_status fail_at(const fc_csv *csv, int64_t line, int j, const char *what, char c) {
    char col[300];
    if (c)
        return fc_fail(FC_ERR_FORMAT, "read_csv: %s line %lld, %s: %s '%c'", csv->name,
                       (long long)line, col_label(csv, j, col, sizeof col), what, c);
    return fc_fail(FC_ERR_FORMAT, "read_csv: %s line %lld, %s: %s", csv->name, (long long)line,
                   col_label(csv, j, col, sizeof col), what);
}

static fc_status check_fields(const fc_csv *csv, int64_t line, int n_fields) {
    if (csv->n_records == 0 || n_fields == csv->n_cols) return FC_OK;
    return fc_fail(FC_ERR_FORMAT, "read_csv: %s line %lld: expected %d fields (as in %s), found %d",
                   csv->name, (long long)line, csv->n_cols,
                   csv->has_header ? "the header" : "line 1", n_fields);
}

fc_status fci_csv_parse_into(fc_csv *csv, char *text, size_t len, const fc_csv_opts *o) {
    const char sep = o->sep ? o->sep : ',', quote = o->quote ? o->quote : '"';
    size_t r = 0, w = 0;
    int64_t line = 1, max_records = o->max_rows > 0 ? o->max_rows + csv->has_header : -1;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) r = 3; /* UTF-8 BOM */
    while (r < len && csv->n_records != max_records) {
        if (text[r] == '\n' || text[r] == '\r') { /* a blank line: skipped, like pandas */
            r += (text[r] == '\r' && r + 1 < len && text[r + 1] == '\n') ? 2 : 1;
            line++;
            continue;
        }
        int64_t rec_line = line;
        int n_fields = 0;
        size_t base = (size_t)csv->n_records * (size_t)(csv->n_cols ? csv->n_cols : 0);
        for (;;) {
            size_t start = w;
            int missing = 0;
            if (r < len && text[r] == quote) {
                int64_t open_line = line;
                r++;
                for (;;) {
                    if (r >= len)
                        return fail_at(csv, open_line, n_fields,
                                       "a quoted field opened here is never closed", 0);
                    char c = text[r];
                    if (c == quote) {
                        if (r + 1 < len && text[r + 1] == quote) {
                            text[w++] = quote;
                            r += 2;
                            continue;
                        }
                        r++;
                        break;
                    }
                    if (c == '\n') line++;
                    else if (c == '\r' && !(r + 1 < len && text[r + 1] == '\n')) line++;
                    text[w++] = c;
                    r++;
                }
                if (r < len && text[r] != sep && text[r] != '\n' && text[r] != '\r')
                    return fail_at(csv, line, n_fields, "unexpected character after a closing quote:",
                                   text[r]);
            } else {
                while (r < len) {
                    char c = text[r];
                    if (c == sep || c == '\n' || c == '\r') break;
                    if (c == quote)
                        return fail_at(csv, line, n_fields,
                                       "a quote inside an unquoted field (quote the whole field "
                                       "and double the quotes inside it)", 0);
                    text[w++] = c;
                    r++;
                }
                missing = w == start;
            }
            int delim = r < len ? text[r] : -1;
            text[w++] = '\0';
            if (csv->n_records == 0 || n_fields < csv->n_cols) {
                if (!grow((void **)&csv->off, &csv->off_cap, base + (size_t)n_fields + 1,
                          sizeof *csv->off))
                    return fc_error_code();
                csv->off[base + (size_t)n_fields] = missing ? -1 : (int64_t)start;
            }
            n_fields++;
            if (delim == sep) {
                r++;
                continue;
            }
            if (delim == '\r' && r + 1 < len && text[r + 1] == '\n') r++; /* text[r] is now '\0' */
            if (delim != -1) {
                r++;
                line++;
            }
            break;
        }
        fc_status st = check_fields(csv, rec_line, n_fields);
        if (st != FC_OK) return st;
        if (csv->n_records == 0) csv->n_cols = n_fields;
        if (!grow((void **)&csv->line, &csv->line_cap, (size_t)csv->n_records + 1, sizeof *csv->line))
            return fc_error_code();
        csv->line[csv->n_records++] = rec_line;
    }
    if (csv->n_records == 0)
        return fc_fail(FC_ERR_FORMAT, "read_csv: %s: the file is empty (%s)", csv->name,
                       csv->has_header ? "expected a header line" : "no rows");
    csv->n_rows = csv->n_records - csv->has_header;
    return FC_OK;
}
