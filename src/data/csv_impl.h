/* Internals of the CSV reader shared by csv.c (the table and its accessors) and csv_parse.c. */
#ifndef FASTC_CSV_IMPL_H
#define FASTC_CSV_IMPL_H

#include "../core/core_impl.h"
#include "fastc/data.h"

/* All cell text lives in one buffer (text, NUL-terminated cells); off[r * n_cols + j] is the
 * offset of cell j of record r in text, or -1 for a missing (empty unquoted) cell. Record 0 is
 * the header when there is one. line[r] is the physical line where record r starts. */
struct fc_csv {
    char *text;
    size_t text_cap; /* bytes given by fci_alloc */
    int64_t *off;
    size_t off_cap; /* in elements */
    int64_t *line;
    size_t line_cap; /* in elements */
    int64_t n_records;
    int64_t n_rows; /* data rows: n_records minus the header */
    int n_cols;
    int has_header;
    char *name;          /* file name for messages (fci_calloc) */
    const char **names;  /* n_cols column names (fci_calloc), borrowed from text or names_buf */
    char *names_buf;     /* "0\0" "1\0" ... when there is no header (fci_calloc) */
};

/* Parses text[0..len) in place (text must have room for text[len]) into csv's offsets and lines.
 * csv->name and csv->text are set by the caller. Returns FC_OK or the error (set). */
fc_status fci_csv_parse_into(fc_csv *csv, char *text, size_t len, const fc_csv_opts *o);

#endif
