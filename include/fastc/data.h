/* fastc data: values with semantic kinds, transforms (encode and decode), datasets, the DataLoader,
 * the CSV reader, and the generated "shapes" dataset the demo and the training tests use. */
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

/* ---- kinds and values -------------------------------------------------------------------------
 * A value is one element of an item or a batch: a tensor (or a string, before it is read) with a
 * semantic kind saying what it means, so transforms know whether to act and show knows how to draw.
 * Kinds are an open set: an application defines `const fc_kind my_kind[1] = {{"my_kind"}};` and
 * compares pointers. */
typedef struct fc_kind {
    const char *name;
} fc_kind;
FC_API extern const fc_kind fc_kind_tensor[1];         /* a plain tensor                        */
FC_API extern const fc_kind fc_kind_path[1];           /* text: a file path                     */
FC_API extern const fc_kind fc_kind_label[1];          /* text: a label before Categorize       */
FC_API extern const fc_kind fc_kind_image[1];          /* [C, H, W] u8 or float                 */
FC_API extern const fc_kind fc_kind_mask[1];           /* [H, W] i64 class per pixel            */
FC_API extern const fc_kind fc_kind_points[1];         /* [n, 2] (x, y) pixels                  */
FC_API extern const fc_kind fc_kind_bbox[1];           /* [n, 4] (x0, y0, x1, y1) pixels        */
FC_API extern const fc_kind fc_kind_category[1];       /* 0-dim i64 index into a vocabulary      */
FC_API extern const fc_kind fc_kind_multi_category[1]; /* [n_classes] float one-hot            */
FC_API extern const fc_kind fc_kind_text[1];           /* text: a document                      */
FC_API extern const fc_kind fc_kind_tokens[1];         /* [n] i64 token ids                     */
FC_API extern const fc_kind fc_kind_tabular[1];        /* [n_cat + n_cont] a processed row      */

/* A value owns its payload: t (a reference, outside any scope), text (malloc'd) and, in a batch of
 * variably-sized items, list[n_list] (one reference per item, t NULL). Zero is "no value". */
typedef struct fc_value {
    const fc_kind *kind;
    fc_tensor *t;
    char *text;
    fc_tensor **list;
    int64_t n_list;
} fc_value;
FC_API fc_value fc_value_tensor(const fc_kind *kind, fc_tensor *t); /* takes t */
FC_API fc_value fc_value_text(const fc_kind *kind, const char *text); /* copies text */
FC_API void fc_value_free(fc_value *v);                         /* and zeroes it */
/* Replaces v's tensor by t (taken), freeing the old one; the kind stays unless kind is non-NULL. */
FC_API void fc_value_set_tensor(fc_value *v, const fc_kind *kind, fc_tensor *t);

/* An item or a batch: a tuple of values, the first n_inp of them inputs (fastai's n_inp; the rest
 * targets). fc_tuple_free frees every value. */
#define FC_MAX_TUPLE 6
typedef struct fc_tuple {
    int n;
    int n_inp;
    fc_value v[FC_MAX_TUPLE];
} fc_tuple;
FC_API void fc_tuple_free(fc_tuple *tup);

/* ---- transforms ---------------------------------------------------------------------------------
 * A transform encodes a value in place (and decodes it back for showing). It acts only on the kinds
 * it lists (others pass through unchanged), runs in `order` within a pipeline, and with split_idx
 * FC_SPLIT_TRAIN or FC_SPLIT_VALID only on that subset (fastai's split_idx 0 / 1). */
typedef enum fc_split_idx { FC_SPLIT_BOTH = 0, FC_SPLIT_TRAIN = 1, FC_SPLIT_VALID = 2 } fc_split_idx;

/* What a transform sees while it runs: the subset, the item's index and a generator seeded from
 * (dataloader seed, epoch, item) so random augmentation is reproducible on any thread count. */
typedef struct fc_tfm_ctx {
    fc_split_idx split;
    int64_t index;
    fc_rng *rng;
} fc_tfm_ctx;

typedef struct fc_transform_def {
    const char *name;
    int order;                   /* pipelines sort by it (stable)                        */
    fc_split_idx split_idx;          /* FC_SPLIT_BOTH: always                                */
    const fc_kind *const *kinds; /* NULL-terminated kinds it acts on; NULL: all kinds    */
    /* Learns from the training subset before use (Categorize's vocabulary, Normalize's stats):
     * values[n] are the training items' values as they arrive at this transform. May be NULL. */
    fc_status (*setup)(void *state, const fc_value *values, int64_t n);
    /* Replace v's payload (free what it replaces) or leave it. Must be thread-safe. */
    fc_status (*encodes)(void *state, fc_value *v, const fc_tfm_ctx *ctx);
    fc_status (*decodes)(void *state, fc_value *v); /* NULL: nothing to undo */
    void (*free_state)(void *state);
} fc_transform_def;
typedef struct fc_transform fc_transform;
/* A new transform running def (borrowed: keep it static) with state (taken, even on failure). */
FC_API fc_transform *fc_transform_new(const fc_transform_def *def, void *state);
FC_API void fc_transform_free(fc_transform *tf);
FC_API const char *fc_transform_name(const fc_transform *tf);
/* A list of transforms, taken by whatever receives it: FC_TFMS(fc_normalize(...), fc_int_to_float()). */
typedef struct fc_tfms {
    int n;
    fc_transform **t;
} fc_tfms;
#define FC_TFMS(...) \
    ((fc_tfms){(int)(sizeof((fc_transform *[]){__VA_ARGS__}) / sizeof(fc_transform *)), (fc_transform *[]){__VA_ARGS__}})

/* ---- datasets -------------------------------------------------------------------------------------
 * A dataset gives item i as a tuple; what makes it (files and pipelines, or rows of tensors) is
 * behind the def, so the DataLoader takes any of them. */
typedef struct fc_dataset_def {
    const char *name;
    int64_t (*len)(void *state);
    /* Item i of the subset (ctx->split) into *out (zeroed by the caller). Must be thread-safe. */
    fc_status (*get)(void *state, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out);
    /* Optional fast path: a whole collated batch of items idx[n] (in-memory tensors gather rows). */
    fc_status (*get_batch)(void *state, const int64_t *idx, int64_t n, fc_tuple *out);
    /* Optional: undo the item pipelines on one decoded item (for show). */
    fc_status (*decode)(void *state, fc_tuple *item);
    void (*free_state)(void *state);
} fc_dataset_def;
typedef struct fc_dataset fc_dataset;
FC_API fc_dataset *fc_dataset_new(const fc_dataset_def *def, void *state); /* takes state */
FC_API void fc_dataset_free(fc_dataset *ds);
FC_API int64_t fc_dataset_len(const fc_dataset *ds);
FC_API fc_status fc_dataset_get(fc_dataset *ds, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out);
/* Rows of x [N, ...] and y [N, ...] as items (x, y) with the given kinds (NULL: fc_kind_tensor);
 * references to x and y are taken, the caller keeps its own. */
FC_API fc_dataset *fc_tensor_dataset(fc_tensor *x, const fc_kind *x_kind, fc_tensor *y,
                                     const fc_kind *y_kind);

/* ---- DataLoader ------------------------------------------------------------------------------------ */
typedef struct fc_dataloader fc_dataloader;
typedef struct fc_dataloader_opts {
    int _;
    int64_t bs;      /* 0: 64                                                              */
    int shuffle;     /* 1: a new order each epoch, drawn from (seed, epoch)                 */
    int drop_last;   /* 1: drop the last incomplete batch                                   */
    uint64_t seed;   /* shuffle and augmentation seed; 0: 42                                */
    int n_workers;   /* item threads; 0: items are made on the calling thread               */
    int prefetch;    /* batches made ahead of the consumer; 0: 2 per worker                 */
    fc_split_idx split;  /* the subset this loader serves (split_idx of its transforms)         */
    /* Called on the items of a batch before collation (fastai's before_batch): e.g. padding. */
    fc_status (*before_batch)(void *ctx, fc_tuple *items, int64_t n);
    void *before_batch_ctx;
    fc_tfms after_batch; /* batch transforms (taken), run on the collated batch in order     */
} fc_dataloader_opts;
/* A loader over ds (taken, even on failure). NULL on failure. */
FC_API fc_dataloader *fc_dataloader_new_(fc_dataset *ds, const fc_dataloader_opts *o);
#define fc_dataloader_new(ds, ...) \
    fc_dataloader_new_((ds), &(fc_dataloader_opts){._ = 0, __VA_ARGS__})
FC_API void fc_dataloader_free(fc_dataloader *dl);
FC_API int64_t fc_dataloader_n(const fc_dataloader *dl);   /* items                       */
FC_API int64_t fc_dataloader_len(const fc_dataloader *dl); /* batches per epoch            */
FC_API int64_t fc_dataloader_bs(const fc_dataloader *dl);
FC_API fc_dataset *fc_dataloader_dataset(const fc_dataloader *dl); /* borrowed */
/* Starts epoch `epoch` (its order depends only on seed and epoch, so a resumed run sees the same
 * batches); stops any epoch in progress. */
FC_API fc_status fc_dataloader_start(fc_dataloader *dl, int epoch);
/* The next batch into *batch (the caller frees it with fc_tuple_free): 1 when a batch was written,
 * 0 at the end of the epoch, a negative fc_status on error (the item and what failed are named). */
FC_API int fc_dataloader_next(fc_dataloader *dl, fc_tuple *batch);
/* The first batch of a fresh epoch 0 (fastai's one_batch). */
FC_API fc_status fc_dataloader_one_batch(fc_dataloader *dl, fc_tuple *batch);
/* Undoes the batch transforms (in reverse) on batch, then splits it into items and undoes the item
 * pipelines: writes n = batch size decoded items (free each with fc_tuple_free, then the array with
 * free()). For show_batch and show_results. */
FC_API fc_status fc_dataloader_decode_batch(fc_dataloader *dl, const fc_tuple *batch,
                                            fc_tuple **items, int64_t *n);
/* Stacks n equal-shaped items into a batch; a kind whose items differ in shape becomes a list value
 * (fastai's object-detection case) instead of an error. Takes nothing; copies. */
FC_API fc_status fc_collate(const fc_tuple *items, int64_t n, fc_tuple *batch);

/* Train and valid loaders (fastai's DataLoaders). Takes both, even on failure. */
typedef struct fc_dataloaders {
    fc_dataloader *train;
    fc_dataloader *valid;
    /* Category vocabulary of the target (borrowed from the target's Categorize; NULL if none). */
    const char *const *vocab;
    int64_t n_vocab;
} fc_dataloaders;
FC_API fc_dataloaders *fc_dataloaders_new(fc_dataloader *train, fc_dataloader *valid);
FC_API void fc_dataloaders_free(fc_dataloaders *dls);
typedef struct fc_tensor_dls_opts {
    int _;
    int64_t bs;     /* 0: 64 (valid: 2 * bs)           */
    uint64_t seed;  /* 0: 42                           */
    int no_shuffle; /* 1: train in order               */
    int drop_last;  /* train loader drops the last incomplete batch */
} fc_tensor_dls_opts;
/* DataLoaders over in-memory tensors: train (x_train, y_train) shuffled, valid (x_valid, y_valid)
 * in order with batch size 2*bs; references are taken, the caller keeps its own. */
FC_API fc_dataloaders *fc_tensor_dls_(fc_tensor *x_train, fc_tensor *y_train, fc_tensor *x_valid,
                                      fc_tensor *y_valid, const fc_tensor_dls_opts *o);
#define fc_tensor_dls(xt, yt, xv, yv, ...) \
    fc_tensor_dls_((xt), (yt), (xv), (yv), &(fc_tensor_dls_opts){._ = 0, __VA_ARGS__})

/* ---- datasets on disk and images (h-untar: src/data/untar.c, src/data/image_io.c) -------------- */

typedef struct fc_untar_opts {
    int _;
    const char *data_dir; /* archives (and downloads); NULL: $FASTC_DATA, else ~/.fastc/data       */
    const char *dest;     /* where the folder is extracted; NULL: $FASTC_EXTRACT, else data_dir     */
    int force;            /* 1: extract again even when a complete folder is there                 */
    int no_download;      /* 1: never download; a missing archive is an error naming where to put it */
    const char *base_url; /* mirror of the archives (base_url/<file>); NULL: $FASTC_DATA_URL, else
                           * fastai's URL (packaged differently: its checksum does not match)     */
} fc_untar_opts;
/* fastai's untar_data: the path of the extracted folder of dataset 'name' (e.g. "mnist_sample"; the
 * names are those of the shared data folder's README). Extracts <data_dir>/<name>.tar.gz (or .tgz)
 * once, after checking its SHA-256, atomically (a marker file inside says the folder is complete; a
 * folder there without it is replaced); downloads the archive first when it is missing. The returned string is interned: owned by fastc,
 * valid until the process exits, never freed by you. NULL on failure: FC_ERR_ARG (unknown name),
 * FC_ERR_IO (no archive: says where it looked and what to put there), FC_ERR_FORMAT (checksum
 * mismatch, with both checksums; an unsafe or corrupt archive). */
FC_API const char *fc_untar_data_(const char *name, const fc_untar_opts *o);
#define fc_untar_data(name, ...) fc_untar_data_((name), &(fc_untar_opts){._ = 0, __VA_ARGS__})

/* Reads a PNG or JPEG (chosen by its first bytes, not its name) as a new u8 tensor [C, H, W] outside
 * any scope (you free it): C = 1 for grayscale, 3 for colour; alpha is dropped, palettes expanded,
 * 16-bit samples reduced to 8. NULL on failure: FC_ERR_IO (cannot open/read: path and reason),
 * FC_ERR_FORMAT (not a PNG/JPEG, corrupt or truncated: path and what). Thread-safe. */
FC_API fc_tensor *fc_image_read(const char *path);
/* Writes img (u8 [C, H, W], C = 1 or 3, or [H, W] grayscale) as a PNG, atomically (temporary file,
 * fsync, rename). FC_ERR_DTYPE / FC_ERR_SHAPE for other tensors, FC_ERR_IO naming the path. */
FC_API fc_status fc_image_write_png(const fc_tensor *img, const char *path);

#ifdef __cplusplus
}
#endif
#endif
