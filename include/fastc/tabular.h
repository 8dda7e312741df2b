/* fastc tabular: a table read from CSV with categorical and continuous columns, the procs fitted on
 * the training split (Categorify, FillMissing, Normalize), TabularModel and tabular_learner. fastai
 * 2.7's names, defaults and semantics (TabularPandas, TabularDataLoaders, tabular_learner). */
#ifndef FASTC_TABULAR_H
#define FASTC_TABULAR_H

#include "learner.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== the processed table (src/tabular/table.c, procs.c, split.c: h-tab) ===========================
 * fastai's TabularPandas: the CSV is read, split into train and valid, the procs are fitted on the
 * training rows only and applied to every row. The result holds, per row, the category codes of the
 * categorical columns (0 is "#na#", the missing or unseen value) and the processed continuous
 * values, plus the target (a category code or a float). Everything needed to process new rows the
 * same way (vocabularies, fill values, means and stds) is kept, so test_dl and predict work on raw
 * strings. */

typedef enum fc_y_block {
    FC_Y_AUTO = 0,   /* a target whose every training value parses as a float with a fraction part
                      * or a column of floats with more than 20 distinct values: regression; else
                      * category (fastai: CategoryBlock unless the column is float)               */
    FC_Y_CATEGORY,   /* CategoryBlock: the target is categorified (vocab sorted, no #na#)         */
    FC_Y_REGRESSION  /* RegressionBlock: the target is a float                                    */
} fc_y_block;

/* Procs, applied in fastai's order (FillMissing and Categorify, then Normalize); a bit mask. */
enum {
    FC_PROC_CATEGORIFY = 1,
    FC_PROC_FILL_MISSING = 2,
    FC_PROC_NORMALIZE = 4,
    FC_PROCS_ALL = 7
};
typedef enum fc_fill_strategy {
    FC_FILL_MEDIAN = 0, /* fastai's default                              */
    FC_FILL_CONSTANT,   /* .fill_value                                   */
    FC_FILL_MODE        /* the most common training value                */
} fc_fill_strategy;

typedef struct fc_tabular_opts {
    int _;
    const char *y;             /* the target column (y_names); NULL: no target (test data)          */
    fc_names cat;              /* categorical columns (cat_names)                                   */
    fc_names cont;             /* continuous columns (cont_names). With neither cat nor cont given,
                                * fastai's cont_cat_split: every column but y whose values are all
                                * numbers is continuous unless it holds integers with at most
                                * max_card distinct values; the others are categorical             */
    int max_card;              /* 0: 20                                                             */
    fc_y_block y_block;
    int procs;                 /* FC_PROC_* mask; 0: FC_PROCS_ALL; -1: none                         */
    fc_fill_strategy fill_strategy;
    double fill_value;         /* FC_FILL_CONSTANT                                                  */
    int no_add_col;            /* 1: FillMissing adds no "<col>_na" category column                 */
    /* the split: valid_col, else valid_idx, else a random split of valid_pct */
    double valid_pct;          /* 0: 0.2; negative: no validation rows                              */
    uint64_t seed;             /* 0: 42 — the random split's permutation                            */
    const char *valid_col;     /* ColSplitter: rows where it is true (1/true/True/yes) are valid    */
    const int64_t *valid_idx;  /* IndexSplitter: these rows (0-based data rows) are valid           */
    int64_t n_valid_idx;
    fc_csv_opts csv;           /* separator, header...                                              */
} fc_tabular_opts;

typedef struct fc_tabular fc_tabular;
/* Reads the CSV at path, splits, fits the procs on the training rows and processes every row. NULL
 * on failure with the error naming the file and what was wrong: an empty file, a ragged row (line,
 * fields expected and found), an unknown column name (and the columns there are), a non-numeric
 * value in a continuous column (line, column, the text), a missing target. */
FC_API fc_tabular *fc_tabular_from_csv_(const char *path, const fc_tabular_opts *o);
#define fc_tabular_from_csv(path, ...) fc_tabular_from_csv_((path), &(fc_tabular_opts){._ = 0, __VA_ARGS__})
/* The same from a table already read (borrowed; name is used in messages). */
FC_API fc_tabular *fc_tabular_from_table_(const fc_csv *csv, const char *name, const fc_tabular_opts *o);
#define fc_tabular_from_table(csv, name, ...) \
    fc_tabular_from_table_((csv), (name), &(fc_tabular_opts){._ = 0, __VA_ARGS__})
FC_API void fc_tabular_free(fc_tabular *t);

/* What the procs made (borrowed; valid while t lives). Categorical columns include the "<col>_na"
 * columns FillMissing added (after the user's, in cont order, as fastai). */
FC_API int fc_tabular_n_cat(const fc_tabular *t);
FC_API int fc_tabular_n_cont(const fc_tabular *t);
FC_API const char *fc_tabular_cat_name(const fc_tabular *t, int j);
FC_API const char *fc_tabular_cont_name(const fc_tabular *t, int j);
/* Categorical column j's classes: "#na#" first, then the training values sorted (fastai's
 * Categorify: its classes[col]); *n gets their count (the embedding's cardinality). */
FC_API const char *const *fc_tabular_classes(const fc_tabular *t, int j, int64_t *n);
FC_API double fc_tabular_cont_mean(const fc_tabular *t, int j); /* Normalize's training mean      */
FC_API double fc_tabular_cont_std(const fc_tabular *t, int j);  /* and std (+1e-7, as fastai)      */
FC_API double fc_tabular_fill_value(const fc_tabular *t, int j); /* FillMissing's value            */
FC_API int64_t fc_tabular_n_rows(const fc_tabular *t, fc_split_idx split); /* FC_SPLIT_TRAIN / VALID */
FC_API int fc_tabular_is_regression(const fc_tabular *t);
/* The target's classes (category targets; NULL with *n = 0 for regression). */
FC_API const char *const *fc_tabular_y_classes(const fc_tabular *t, int64_t *n);

/* ==== DataLoaders (src/tabular/dls.c: h-tab) =======================================================
 * Items are (x, y): x a fc_kind_tabular f32 row [n_cat + n_cont] holding the category codes (exact
 * integers) then the continuous values — one tensor, so a batch is one gather — and y an i64
 * category (0-dim) or an f32 [1] regression target. Batches are gathered straight from the
 * processed table (no per-item work). The dataset decodes a row back to its labels and
 * de-normalized values, so fc_show_batch prints a table with one column per cat / cont / y name. */
typedef struct fc_tabular_dls_opts {
    int _;
    int64_t bs;        /* 0: 64; valid uses the same bs (fastai's TabularDataLoaders)          */
    int no_shuffle;    /* 1: train in order                                                  */
    int keep_last;     /* 1: train keeps its last incomplete batch (fastai drops it)          */
    uint64_t seed;     /* 0: 42                                                              */
} fc_tabular_dls_opts;
/* Train and valid loaders over t (borrowed by reference: the loaders keep t alive, free yours
 * whenever). dls->vocab is the target's classes. */
FC_API fc_dataloaders *fc_tabular_dataloaders_(fc_tabular *t, const fc_tabular_dls_opts *o);
#define fc_tabular_dataloaders(t, ...) fc_tabular_dataloaders_((t), &(fc_tabular_dls_opts){._ = 0, __VA_ARGS__})
/* fastai's TabularDataLoaders.from_csv in one call: the table's options and the loaders'. */
typedef struct fc_tabular_csv_dls_opts {
    int _;
    const char *y;
    fc_names cat, cont;
    int max_card;
    fc_y_block y_block;
    int procs;
    fc_fill_strategy fill_strategy;
    double fill_value;
    int no_add_col;
    double valid_pct;
    uint64_t seed;
    const char *valid_col;
    const int64_t *valid_idx;
    int64_t n_valid_idx;
    fc_csv_opts csv;
    int64_t bs;
    int no_shuffle;
    int keep_last;
} fc_tabular_csv_dls_opts;
FC_API fc_dataloaders *fc_tabular_dls_from_csv_(const char *path, const fc_tabular_csv_dls_opts *o);
#define fc_tabular_dls_from_csv(path, ...) \
    fc_tabular_dls_from_csv_((path), &(fc_tabular_csv_dls_opts){._ = 0, __VA_ARGS__})
/* The processed table behind tabular dataloaders (borrowed), or NULL with FC_ERR_ARG when dls were
 * not made by fc_tabular_dataloaders. */
FC_API fc_tabular *fc_tabular_of_dls(const fc_dataloaders *dls);
/* fastai's dls.test_dl(df): the rows of a new CSV processed with t's fitted procs (categories not
 * seen in training become #na#, missing values filled with the training fill value), in order,
 * batch bs (0: 64). Targets are included when the file has the y column, else items are (x) only.
 * A missing cat/cont column fails naming the columns missing and the file. */
FC_API fc_dataloader *fc_tabular_test_dl(fc_tabular *t, const char *csv_path, int64_t bs);
/* show_batch for a tabular loader: up to max_n (0: 10) decoded rows of its first batch as an
 * aligned text table to f (NULL: stdout): categories as their labels, continuous values
 * de-normalized, the target decoded. */
FC_API fc_status fc_tabular_show_batch(fc_dataloader *dl, FILE *f, int max_n);

/* ==== the model (src/tabular/model.c: h-tab) =======================================================
 * fastai's emb_sz_rule: min(600, round(1.6 * n_cat ^ 0.56)). */
FC_API int64_t fc_emb_sz_rule(int64_t n_cat);
typedef struct fc_tabular_model_opts {
    int _;
    fc_ints layers;    /* hidden sizes; none: [200, 100]                                         */
    fc_floats ps;      /* dropout after each hidden layer; none: 0 for each                      */
    double embed_p;    /* dropout on the concatenated embeddings; 0: none                        */
    fc_y_range y_range;/* SigmoidRange(lo, hi) on the output                                    */
    int no_bn;         /* 1: use_bn=False (no BatchNorm after the hidden layers)                 */
    int bn_final;      /* 1: BatchNorm1d on the output too                                       */
    int no_bn_cont;    /* 1: no BatchNorm1d on the continuous inputs                             */
} fc_tabular_model_opts;
/* fastai's TabularModel(emb_szs, n_cont, out_sz, layers): one Embedding(card[i], dim[i]) per
 * categorical column (fastai's init: trunc_normal std 0.01), Dropout(embed_p), BatchNorm1d(n_cont)
 * on the continuous part, then per hidden layer LinBnDrop(lin_first): Linear (no bias when a BN
 * follows), ReLU, BatchNorm1d, Dropout(p); a final Linear(out_sz) (+ BN when bn_final), then
 * SigmoidRange. PyTorch parameter names as fastai: embeds.{i}.weight, bn_cont.*, layers.{k}.0.weight,
 * layers.{k}.2.* ... Input: x [B, n_cat + n_cont] f32 (codes then continuous values, as the loaders
 * make them). card and dim have n_cat entries (borrowed). NULL on failure. */
FC_API fc_module *fc_tabular_model_(const int64_t *card, const int64_t *dim, int n_cat, int64_t n_cont,
                                    int64_t out_sz, const fc_tabular_model_opts *o);
#define fc_tabular_model(card, dim, n_cat, n_cont, out_sz, ...) \
    fc_tabular_model_((card), (dim), (n_cat), (n_cont), (out_sz), &(fc_tabular_model_opts){._ = 0, __VA_ARGS__})

/* ==== the learner (src/tabular/learner.c, predict.c: h-tab) ======================================== */
typedef struct fc_tabular_learner_opts {
    int _;
    fc_ints layers;          /* none: [200, 100]                                                  */
    fc_floats ps;
    double embed_p;
    fc_y_range y_range;
    int no_bn, bn_final, no_bn_cont;
    int64_t n_out;           /* 0: from the data (the target's classes, or 1 for regression)       */
    /* the Learner's options */
    fc_loss_func loss_func;  /* zero: cross entropy for a category target, MSE for regression     */
    fc_opt_func opt_func;
    double lr, wd;
    int no_wd;
    fc_metrics metrics;
    fc_callbacks cbs;
    int quiet;
    FILE *log;
} fc_tabular_learner_opts;
/* fastai's tabular_learner: emb sizes from the data by emb_sz_rule, TabularModel, the learner
 * (one layer group, as fastai). Takes dls, even on failure. */
FC_API fc_learner *fc_tabular_learner_(fc_dataloaders *dls, const fc_tabular_learner_opts *o);
#define fc_tabular_learner(dls, ...) fc_tabular_learner_((dls), &(fc_tabular_learner_opts){._ = 0, __VA_ARGS__})
/* fastai's learn.predict(row): one row given as column names and their raw text values (n of them,
 * any order; a NULL or "" value is missing; columns not used are ignored), processed with the
 * table's procs, the model in eval mode. out gets the decoded class (or the number for regression)
 * and the probabilities (the activated output). A cat/cont column absent from names fails naming
 * it; a non-numeric continuous value fails naming the column and the text. */
FC_API fc_status fc_tabular_predict(fc_learner *learn, const char *const *names, const char *const *values,
                                    int n, fc_prediction *out);

/* ==== export and inference (src/tabular/export.c: h-export) =========================================
 * A tabular learner exports with fc_learner_export: the TabularModel config and the fitted procs
 * (column names, classes, fill values, means and stds, the target's classes). fc_load_learner
 * rebuilds a learner whose table holds no rows but processes new ones as the trained one did, so
 * fc_tabular_predict and fc_tabular_test_dl(fc_tabular_of_dls(fc_learner_dls(learn)), ...) work.
 * "tabular" registers itself at start-up; a static link that drops this file calls this first. */
FC_API fc_status fc_tabular_register(void);

#ifdef __cplusplus
}
#endif
#endif
