/* fastc data: datasets and loaders. For now: the generated "shapes" dataset the demo and the
 * training tests use, so that nothing outside the repo is needed. */
#ifndef FASTC_DATA_H
#define FASTC_DATA_H

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FC_SHAPES_N_CLASSES 4
/* Class names in label order: "circle", "square", "triangle", "cross". */
FC_API const char *fc_shapes_class_name(int label);

/* n grayscale images [n, 1, size, size] (f32 in [0, 1]) of a randomly placed and sized shape with
 * noise, and labels [n] (i64, balanced: label = i % 4). Same seed, same data on every machine.
 * Writes new tensors (outside any scope: you free them) to *x and *y. size must be 12..128. */
FC_API fc_status fc_shapes_dataset(int64_t n, int size, uint64_t seed, fc_tensor **x, fc_tensor **y);

/* ---- CSV ---------------------------------------------------------------------------------------
 * RFC 4180 reader: quoted fields with separators, newlines and doubled quotes; CRLF or LF; a UTF-8
 * BOM is skipped; whitespace is kept (" Private" stays " Private"); blank lines are skipped. Cells
 * live in one buffer; every string the accessors return is borrowed from the fc_csv. */

typedef struct fc_csv fc_csv;

typedef struct fc_csv_opts {
    int _;
    char sep;      /* 0: ','                                                       */
    int no_header; /* 1: the first line is data; columns are named "0", "1", ...   */
    int64_t max_rows; /* 0: all rows; n: stop after n data rows                    */
    char quote;    /* 0: '"'                                                       */
} fc_csv_opts;

/* Reads a whole file; a new table you free with fc_csv_free, or NULL with the error set:
 * FC_ERR_IO (cannot open/read: path and strerror), FC_ERR_FORMAT (file, line, column, what). */
FC_API fc_csv *fc_read_csv_(const char *path, const fc_csv_opts *o);
#define fc_read_csv(path, ...) fc_read_csv_((path), &(fc_csv_opts){._ = 0, __VA_ARGS__})
/* The same for text in memory (len bytes, no terminator needed); name is used in messages. */
FC_API fc_csv *fc_csv_parse_(const char *text, size_t len, const char *name, const fc_csv_opts *o);
#define fc_csv_parse(text, len, name, ...) \
    fc_csv_parse_((text), (len), (name), &(fc_csv_opts){._ = 0, __VA_ARGS__})
FC_API void fc_csv_free(fc_csv *csv);

FC_API int64_t fc_csv_n_rows(const fc_csv *csv); /* data rows, header excluded */
FC_API int fc_csv_n_cols(const fc_csv *csv);
FC_API const char *fc_csv_col_name(const fc_csv *csv, int j); /* NULL when j is out of range */
FC_API int fc_csv_col_index(const fc_csv *csv, const char *name); /* -1 when absent (no error) */
/* Cell text ("" when empty), or NULL with FC_ERR_ARG when i or j is out of range. */
FC_API const char *fc_csv_cell(const fc_csv *csv, int64_t i, int j);
/* 1 for an empty unquoted field (a quoted "" is an empty string, not missing); 0 otherwise. */
FC_API int fc_csv_is_missing(const fc_csv *csv, int64_t i, int j);
/* The physical line (1-based, header = line 1) where data row i starts; -1 out of range. */
FC_API int64_t fc_csv_row_line(const fc_csv *csv, int64_t i);
/* Parses column 'name' as numbers into out[n_rows]; empty cells become missing_value. Fails with
 * FC_ERR_ARG (no such column) or FC_ERR_FORMAT naming the line, column and the text found. */
FC_API fc_status fc_csv_col_f32(const fc_csv *csv, const char *name, float *out,
                                float missing_value);
/* The distinct values of column 'name' in order of first appearance: writes a new array of
 * borrowed strings to *values (free it with free()) and their count to *n; codes (may be NULL)
 * gets n_rows indices into *values. */
FC_API fc_status fc_csv_col_unique(const fc_csv *csv, const char *name, const char ***values,
                                   int64_t *n, int64_t *codes);

#ifdef __cplusplus
}
#endif
#endif
