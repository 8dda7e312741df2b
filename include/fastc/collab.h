/* fastc collab: collaborative filtering as fastai 2.7 — CollabDataLoaders from a ratings table,
 * EmbeddingDotBias and EmbeddingNN, collab_learner, and inspecting what was learned (biases, the
 * principal components of the item factors). */
#ifndef FASTC_COLLAB_H
#define FASTC_COLLAB_H

#include "tabular.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== data (src/collab/dls.c: h-collab) ============================================================
 * Items are (x, y): x i64 [2] (user code, item code), y f32 [1] the rating. Users and items are
 * categorified as fastai's CollabDataLoaders does (Categorify on user and item, fitted on the
 * training rows): "#na#" at code 0 (what a user or item unseen in training maps to), then the ids
 * sorted (numerically when every id is a number, else as text). */
typedef struct fc_collab_dls_opts {
    int _;
    char sep;            /* 0: ','; '\t' for ml-100k's u.data                                   */
    int no_header;       /* 1: the first line is data (u.data); columns are then "0", "1", ...  */
    const char *user;    /* column names; NULL: the first, second and third columns             */
    const char *item;
    const char *rating;
    double valid_pct;    /* 0: 0.2 random rows                                                  */
    uint64_t seed;       /* 0: 42                                                               */
    int64_t bs;          /* 0: 64                                                               */
} fc_collab_dls_opts;
/* fastai's CollabDataLoaders.from_csv. NULL on failure naming the file (an empty file, a missing
 * column, a non-numeric rating with its line). */
FC_API fc_dataloaders *fc_collab_dls_from_csv_(const char *path, const fc_collab_dls_opts *o);
#define fc_collab_dls_from_csv(path, ...) fc_collab_dls_from_csv_((path), &(fc_collab_dls_opts){._ = 0, __VA_ARGS__})
/* The users' and items' classes ("#na#" first; *n gets the count, the embedding size); NULL with
 * FC_ERR_ARG when dls were not made by fc_collab_dls_from_csv. Borrowed. */
FC_API const char *const *fc_collab_users(const fc_dataloaders *dls, int64_t *n);
FC_API const char *const *fc_collab_items(const fc_dataloaders *dls, int64_t *n);
/* The ratings each item has in the whole table (by item code; borrowed [n_items]). */
FC_API const int64_t *fc_collab_item_counts(const fc_dataloaders *dls);

/* ==== models (src/collab/models.c: h-collab) ======================================================= */
/* fastai's EmbeddingDotBias(n_factors, n_users, n_items, y_range): u_weight, i_weight [n, f] and
 * u_bias, i_bias [n, 1] embeddings (fastai's Embedding init: trunc_normal std 0.01); forward of
 * x [B, 2] i64 is dot(u, i) + u_bias + i_bias, then sigmoid_range(lo, hi) when y_range is set:
 * [B] f32. Names as fastai: u_weight.weight, i_weight.weight, u_bias.weight, i_bias.weight. */
FC_API fc_module *fc_embedding_dot_bias(int64_t n_factors, int64_t n_users, int64_t n_items, fc_y_range y_range);
/* fastai's EmbeddingNN(emb_szs, layers): a TabularModel (tabular.h) with the two embeddings, no
 * continuous inputs and one output, squeezed to [B]. Input x [B, 2] i64. */
typedef struct fc_embedding_nn_opts {
    int _;
    fc_ints layers;      /* none: [n_factors] as collab_learner passes; here required (n > 0)     */
    fc_floats ps;
    double embed_p;
    fc_y_range y_range;
} fc_embedding_nn_opts;
FC_API fc_module *fc_embedding_nn_(int64_t n_users, int64_t user_dim, int64_t n_items, int64_t item_dim,
                                   const fc_embedding_nn_opts *o);
#define fc_embedding_nn(nu, du, ni, di, ...) \
    fc_embedding_nn_((nu), (du), (ni), (di), &(fc_embedding_nn_opts){._ = 0, __VA_ARGS__})

/* ==== the learner and inspection (src/collab/learner.c, inspect.c: h-collab) ======================= */
typedef struct fc_collab_learner_opts {
    int _;
    int64_t n_factors;   /* 0: 50                                                               */
    int use_nn;          /* 1: EmbeddingNN with emb_sz_rule sizes; else EmbeddingDotBias          */
    fc_ints layers;      /* EmbeddingNN; none: [n_factors]                                       */
    fc_floats ps;
    double embed_p;
    fc_y_range y_range;  /* zero: (0, 5.5)                                                      */
    int no_y_range;      /* 1: no sigmoid range                                                 */
    /* the Learner's options */
    fc_loss_func loss_func; /* zero: MSE                                                        */
    fc_opt_func opt_func;
    double lr, wd;
    int no_wd;
    fc_metrics metrics;
    fc_callbacks cbs;
    int quiet;
    FILE *log;
} fc_collab_learner_opts;
/* fastai's collab_learner. Takes dls, even on failure. */
FC_API fc_learner *fc_collab_learner_(fc_dataloaders *dls, const fc_collab_learner_opts *o);
#define fc_collab_learner(dls, ...) fc_collab_learner_((dls), &(fc_collab_learner_opts){._ = 0, __VA_ARGS__})
/* The learned bias [n] or factors [n, f] of every user or item (by code), as fastai's
 * learn.model.bias(ids, is_item) / weight(ids, is_item) over all ids: a new tensor outside any
 * scope (you free it). EmbeddingDotBias only for bias; weight works for both models (the
 * embedding). */
FC_API fc_tensor *fc_collab_bias(fc_learner *learn, int is_item);
FC_API fc_tensor *fc_collab_weight(fc_learner *learn, int is_item);
/* PCA of x [n, d] (f32, centred per column first) onto its first k principal axes: a new tensor
 * [n, k] outside any scope (fastai's Tensor.pca), the axes ordered by explained variance. */
FC_API fc_tensor *fc_pca(fc_tensor *x, int k);
/* Item titles from an item table such as ml-100k's u.item (sep '|', no header, id in column 0,
 * title in column 1, ISO-8859-1 converted to UTF-8): titles[code] for each item class, the id itself
 * when the table lacks it. A new array of n_items malloc'd strings: free with fc_collab_titles_free. */
FC_API char **fc_collab_item_titles(const fc_dataloaders *dls, const char *path, char sep);
FC_API void fc_collab_titles_free(char **titles, int64_t n);
typedef struct fc_collab_inspect_opts {
    int _;
    const char *titles_path; /* an item table (u.item); NULL: items shown by id                */
    char titles_sep;         /* 0: '|'                                                         */
    int top_n;               /* 0: 15                                                          */
    int64_t among;           /* 0: 1000 — only the most-rated items are ranked (fastai's top_movies) */
} fc_collab_inspect_opts;
/* Prints to f (NULL: stdout) fastai's collab tutorial views: the top_n items with the lowest and
 * the highest learned bias, and the items at both ends of the first two principal components of
 * the item factors, each with its title. */
FC_API fc_status fc_collab_inspect_(fc_learner *learn, FILE *f, const fc_collab_inspect_opts *o);
#define fc_collab_inspect(learn, f, ...) fc_collab_inspect_((learn), (f), &(fc_collab_inspect_opts){._ = 0, __VA_ARGS__})

/* ==== export and inference (src/collab/export.c: h-export) ==========================================
 * A collab learner exports with fc_learner_export: the model (EmbeddingDotBias or EmbeddingNN, its
 * sizes and y_range) and the users' and items' classes. fc_load_learner rebuilds a learner without
 * ratings on which fc_collab_users / items and fc_collab_predict work. "collab" registers itself at
 * start-up; a static link that drops this file calls fc_collab_register first. */
FC_API fc_status fc_collab_register(void);
/* fastai's learn.predict for one pair: user and item are ids as the ratings file wrote them. out
 * gets the predicted rating as its label ("%g") and in probs ([1]); index is -1. An id not in the
 * training ratings fails (FC_ERR_ARG naming it): fastai would silently use the untrained #na#
 * embedding. */
FC_API fc_status fc_collab_predict(fc_learner *learn, const char *user, const char *item, fc_prediction *out);

#ifdef __cplusplus
}
#endif
#endif
