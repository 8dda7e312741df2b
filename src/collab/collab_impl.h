/* Internals of the collab application shared by its files (never installed). */
#ifndef FASTC_COLLAB_IMPL_H
#define FASTC_COLLAB_IMPL_H

#include "../core/core_impl.h"
#include "fastc/collab.h"

/* What fc_collab_dls_from_csv learned from the table, shared (refcounted) by the train and valid
 * datasets: the classes of users and items ("#na#" first) and each item's number and sum of ratings in
 * the whole table. */
typedef struct fci_collab_info {
    int refcount;
    char **users, **items; /* fci_calloc'd strings */
    int64_t n_users, n_items;
    int64_t *item_counts;  /* [n_items] */
    double *item_sums;     /* [n_items]: the sum of each item's ratings (mean ratings for inspect) */
} fci_collab_info;

/* The info behind loaders made by fc_collab_dls_from_csv (borrowed), or NULL with FC_ERR_ARG
 * naming fn. */
const fci_collab_info *fci_collab_info_of(const fc_dataloaders *dls, const char *fn);

/* fastai's trunc_normal_(std): normal draws with fmod 2, times std (in place on w, f32). */
void fci_collab_trunc_normal(fc_tensor *w, double std);

/* The kind of model a collab learner holds: 1 for EmbeddingDotBias, 2 for EmbeddingNN, 0 else. */
int fci_collab_model_kind(const fc_module *m);

/* ---- export (h-export; src/collab/export.c, dls.c) ---- */
/* Loaders over no rows that carry info (taken, even on failure: freed with the loaders): what a
 * loaded learner's fc_collab_users / items and fc_collab_predict read. */
fc_dataloaders *fci_collab_dls_of_info(fci_collab_info *info, int64_t bs);
void fci_collab_info_unref(fci_collab_info *info); /* frees it with its last reference */
/* Records the model config on learn for export; kind 1 EmbeddingDotBias, 2 EmbeddingNN. */
fc_status fci_collab_record_app(fc_learner *learn, int kind, int64_t n_factors, int64_t n_users, int64_t user_dim,
                                int64_t n_items, int64_t item_dim, fc_ints layers, fc_floats ps, double embed_p,
                                fc_y_range y_range);

#endif
