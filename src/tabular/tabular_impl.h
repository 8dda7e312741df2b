/* Internals shared by the tabular files (never installed). */
#ifndef FASTC_TABULAR_IMPL_H
#define FASTC_TABULAR_IMPL_H

#include "../core/core_impl.h"
#include "fastc/tabular.h"

/* One categorical column's vocabulary: classes[0] is "#na#", then the training values sorted
 * (numerically when they are all numbers, else by bytes); lookup holds the codes 1..n-1 sorted by
 * strcmp of their text for bsearch. */
typedef struct fci_tab_vocab {
    char **classes;
    int64_t n;
    int64_t *lookup;
} fci_tab_vocab;

/* A processed table (fastai's TabularPandas). Columns: cat[0, n_user_cat) are the user's
 * categorical columns, cat[n_user_cat, n_cat) the "<col>_na" columns FillMissing added (na_of[j]:
 * the continuous column they flag). x rows are [n_cat codes, n_cont values] f32. */
struct fc_tabular {
    int refs;
    char *name;
    int procs;
    int n_cat, n_user_cat, n_cont;
    char **cat_names, **cont_names;
    int *na_of;         /* [n_cat]: -1 for a user column                                */
    int *cont_na_col;   /* [n_cont]: the cat column flagging it, or -1                  */
    fci_tab_vocab *vocab; /* [n_cat]                                                    */
    double *mean, *std, *fill; /* [n_cont]                                             */
    char *y_name;
    int regression;
    fci_tab_vocab y_vocab; /* category targets (no #na#: classes start at 0)           */
    int64_t n_train, n_valid;
    int64_t *train_rows, *valid_rows; /* source row of each processed row              */
    fc_tensor *x[2], *y[2]; /* [0] train, [1] valid; outside any scope                 */
};

/* The code of text in v (0, "#na#", when absent or text is NULL). */
int64_t fci_tab_code(const fci_tab_vocab *v, const char *text, int has_na);
/* Parses a number as pandas reads one: leading and trailing spaces allowed; 1 on success. A
 * NULL, empty or "nan"/"NaN"/"NA" text is missing: *missing = 1, returns 1. */
int fci_tab_parse(const char *text, double *v, int *missing);
/* Processes one row given as text (NULL: missing): cat_text[n_user_cat], cont_text[n_cont] into
 * out[n_cat + n_cont] with the fitted procs. A non-numeric continuous value fails naming where
 * (where: "file line 4" or "predict") and the column. */
fc_status fci_tab_process_row(const fc_tabular *t, const char *const *cat_text, const char *const *cont_text,
                              float *out, const char *where);
/* The label of code c in categorical column j, or the y class c. */
const char *fci_tab_cat_label(const fc_tabular *t, int j, int64_t c);
void fci_tab_vocab_free(fci_tab_vocab *v);
/* Builds a vocabulary from n texts (missing ones skipped); has_na puts "#na#" first. */
fc_status fci_tab_vocab_build(fci_tab_vocab *v, const char *const *texts, int64_t n, int has_na);
fc_tabular *fci_tab_ref(fc_tabular *t);
/* FillMissing's value of vals[n] (sorted in place): median (pandas') or mode; NAN when n == 0. */
double fci_tab_fill_of(double *vals, int64_t n, fc_fill_strategy how);
/* The rows of the split: *train and *valid (malloc'd) in fastai's order. */
fc_status fci_tab_split(const fc_csv *csv, const char *name, const fc_tabular_opts *o, int64_t **train,
                        int64_t *n_train, int64_t **valid, int64_t *n_valid);
/* The decoded value of x column k (cat label or de-normalized number) into buf. */
void fci_tab_cell_str(const fc_tabular *t, int k, float x, char *buf, size_t n);

/* Records the TabularModel config on learn for export (src/tabular/export.c, h-export). */
fc_status fci_tabular_record_app(fc_learner *learn, const int64_t *card, const int64_t *dim, int n_cat,
                                 int64_t n_cont, int64_t n_out, const fc_tabular_learner_opts *o);

#endif
