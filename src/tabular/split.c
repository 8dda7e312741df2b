/* The table's splits: fastai's RandomSplitter (a seeded permutation, the first int(valid_pct * n)
 * valid: the same permutation as fc_random_splitter), ColSplitter and IndexSplitter. */
#include <stdlib.h>
#include <string.h>

#include "../data/data_impl.h"
#include "tabular_impl.h"

static int is_true(const char *s) {
    while (*s == ' ') s++;
    return !strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") ||
           !strcmp(s, "yes") || !strcmp(s, "1.0");
}

/* Rows flagged valid[n] (0/1) into train and valid lists, in row order. */
static fc_status from_flags(const char *flags, int64_t n, int64_t **train, int64_t *n_train, int64_t **valid,
                            int64_t *n_valid) {
    *train = malloc(((size_t)n + 1) * sizeof **train);
    *valid = malloc(((size_t)n + 1) * sizeof **valid);
    if (!*train || !*valid) return fc_fail(FC_ERR_NOMEM, "tabular split: out of memory");
    *n_train = *n_valid = 0;
    for (int64_t i = 0; i < n; i++) {
        if (flags[i]) (*valid)[(*n_valid)++] = i;
        else (*train)[(*n_train)++] = i;
    }
    return FC_OK;
}

fc_status fci_tab_split(const fc_csv *csv, const char *name, const fc_tabular_opts *o, int64_t **train,
                        int64_t *n_train, int64_t **valid, int64_t *n_valid) {
    int64_t n = fc_csv_n_rows(csv);
    *train = *valid = NULL;
    if (o->valid_col || o->valid_idx) {
        char *flags = calloc((size_t)n + 1, 1);
        if (!flags) return fc_fail(FC_ERR_NOMEM, "tabular split: out of memory");
        fc_status st = FC_OK;
        if (o->valid_col) {
            int c = fc_csv_col_index(csv, o->valid_col);
            if (c < 0) st = fc_fail(FC_ERR_ARG, "tabular: %s: no column '%s' (.valid_col)", name, o->valid_col);
            for (int64_t i = 0; i < n && st == FC_OK; i++) flags[i] = (char)is_true(fc_csv_cell(csv, i, c));
        } else {
            for (int64_t k = 0; k < o->n_valid_idx && st == FC_OK; k++) {
                int64_t i = o->valid_idx[k];
                if (i < 0 || i >= n)
                    st = fc_fail(FC_ERR_ARG, "tabular: %s: .valid_idx[%lld] = %lld is outside the %lld rows", name,
                                 (long long)k, (long long)i, (long long)n);
                else flags[i] = 1;
            }
        }
        if (st == FC_OK) st = from_flags(flags, n, train, n_train, valid, n_valid);
        free(flags);
        return st;
    }
    double pct = o->valid_pct == 0 ? 0.2 : o->valid_pct < 0 ? 0 : o->valid_pct;
    if (pct >= 1) return fc_fail(FC_ERR_ARG, "tabular: expected .valid_pct < 1, found %g", pct);
    int64_t cut = (int64_t)(pct * (double)n); /* fastai: int(valid_pct * len) */
    int64_t *p = fci_permutation(n, o->seed ? o->seed : 42);
    *train = malloc(((size_t)(n - cut) + 1) * sizeof **train);
    *valid = malloc(((size_t)cut + 1) * sizeof **valid);
    if (!p || !*train || !*valid) {
        free(p);
        return fc_fail(FC_ERR_NOMEM, "tabular split: out of memory");
    }
    memcpy(*valid, p, (size_t)cut * sizeof *p);
    memcpy(*train, p + cut, (size_t)(n - cut) * sizeof *p);
    *n_valid = cut;
    *n_train = n - cut;
    free(p);
    return FC_OK;
}
