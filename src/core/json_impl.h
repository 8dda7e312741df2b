/* A small JSON reader (a tree) and writer (a growing string), shared by the safetensors files, the
 * exported learners and their metadata (never installed). */
#ifndef FASTC_JSON_IMPL_H
#define FASTC_JSON_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core_impl.h"

/* ---- writing: a growing string; the first failure sticks (FC_ERR_NOMEM) ---- */
typedef struct fci_sbuf {
    char *p; /* malloc'd, terminated; free() it */
    size_t n, cap;
    int failed;
} fci_sbuf;
void fci_sb_put(fci_sbuf *b, const char *s, size_t len);
void fci_sb_puts(fci_sbuf *b, const char *s);
void fci_sb_printf(fci_sbuf *b, const char *fmt, ...) FC_PRINTF(2, 3);
/* s as a JSON string literal (quotes, escapes). */
void fci_sb_json_string(fci_sbuf *b, const char *s);
/* A double that reads back the same (%.17g; non-finite values as null). */
void fci_sb_json_number(fci_sbuf *b, double v);

/* ---- reading: a tree of values ---- */
typedef enum fci_json_type {
    FCI_JSON_NULL = 0,
    FCI_JSON_BOOL,
    FCI_JSON_NUMBER,
    FCI_JSON_STRING,
    FCI_JSON_ARRAY,
    FCI_JSON_OBJECT
} fci_json_type;
typedef struct fci_json {
    fci_json_type type;
    double num;             /* number, bool (0 / 1) */
    char *str;              /* string                */
    char **keys;            /* object: n keys        */
    struct fci_json *items; /* array and object: n values */
    int64_t n;
} fci_json;
/* Parses text[len] (nesting at most 64 deep) into *out (free with fci_json_free). Fails with
 * FC_ERR_FORMAT "<who>: '<name>': invalid JSON at byte k: expected ..., found '...'". */
fc_status fci_json_parse(const char *text, size_t len, const char *who, const char *name, fci_json *out);
void fci_json_free(fci_json *j);
/* The member of an object named key (borrowed), NULL when absent or j is not an object. */
const fci_json *fci_json_get(const fci_json *j, const char *key);
/* Typed members: 1 and *out written when present with that type; 0 otherwise. */
int fci_json_num(const fci_json *j, const char *key, double *out);
const char *fci_json_str(const fci_json *j, const char *key); /* NULL unless a string */
/* j written back as compact JSON text (numbers with %.17g). */
fc_status fci_json_write(fci_sbuf *b, const fci_json *j);

/* ---- typed members for the applications' export configs (h-export) ----
 * Each fails with FC_ERR_FORMAT "expected 'key' to be ..." (the caller prefixes who it is) and
 * returns 0 / NULL. n_exact >= 0: the array must have that length; -1: any length up to max_n. */
int fci_json_int(const fci_json *j, const char *key, int64_t lo, int64_t hi, int64_t *out);
int fci_json_real(const fci_json *j, const char *key, double lo, double hi, double *out);
/* New arrays (free() them; the strings with fci_json_strs_free); *n gets the length. Numbers in
 * reals may be null (NAN). */
int64_t *fci_json_ints_new(const fci_json *j, const char *key, int64_t lo, int64_t hi, int64_t n_exact,
                           int64_t max_n, int64_t *n);
double *fci_json_reals_new(const fci_json *j, const char *key, int64_t n_exact, int64_t max_n, int64_t *n);
char **fci_json_strs_new(const fci_json *j, const char *key, int64_t n_exact, int64_t max_n, int64_t *n);
void fci_json_strs_free(char **s, int64_t n);

#endif
