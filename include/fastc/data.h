/* fastc data: values with semantic kinds, transforms (encode and decode), datasets, the DataLoader,
 * the CSV reader, and the generated "shapes" dataset the demo and the training tests use. */
#ifndef FASTC_DATA_H
#define FASTC_DATA_H

#include <stdio.h>

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
    /* ==== export and inference (h-export) ====
     * Optional: the transform's parameters as a new JSON object text (free() it; NULL with the
     * error set on failure), rebuilt by the from_json registered under its name
     * (fc_transform_register). A learner whose inference pipeline holds a transform without it
     * cannot be exported. */
    char *(*to_json)(void *state);
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
    /* Optional (added by h-vinterp): the inputs (values [0, n_inp), n_inp of them) of a new item
     * named by text as the source would name it (an image path), through the getters and
     * pipelines with ctx->split (fastai's test_dl for learn.predict). Must be thread-safe. */
    fc_status (*item_from_text)(void *state, const char *text, const fc_tfm_ctx *ctx, fc_tuple *out);
    /* Optional (added for the text loaders): called by fc_dataloader_start before epoch `epoch`
     * with the loader's item order for it (order[n], already shuffled when the loader shuffles),
     * its seed and batch size. It may rewrite the order (SortedDL: by length within random chunks)
     * or prepare per-epoch state (LMDataLoader: the documents shuffled into new streams). */
    fc_status (*before_epoch)(void *state, int epoch, uint64_t seed, int64_t bs, int64_t *order, int64_t n);
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
    /* (h-cudainfra) where batches are delivered: the cpu (default), or a CUDA device: collated
     * on the host, uploaded through pinned memory on a copy stream, the next batch's copy
     * overlapping the current step. FC_ERR_DEVICE without CUDA or without a device. */
    fc_device device;
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
/* The first batch of a fresh epoch 0 (fastai's one_batch), on the host whatever the loader's device. */
FC_API fc_status fc_dataloader_one_batch(fc_dataloader *dl, fc_tuple *batch);
/* Undoes the batch transforms (in reverse) on batch, then splits it into items and undoes the item
 * pipelines: writes n = batch size decoded items (free each with fc_tuple_free, then the array with
 * free()). For show_batch and show_results. */
FC_API fc_status fc_dataloader_decode_batch(fc_dataloader *dl, const fc_tuple *batch,
                                            fc_tuple **items, int64_t *n);
/* (h-cudainfra) Delivers the loader's batches on d from its next epoch (FC_CPU: on the host, as
 * made). FC_ERR_DEVICE, the loader unchanged, when d cannot be used ("built without CUDA", "no
 * CUDA device"). The learner calls it for its loaders when its model is on a CUDA device. */
FC_API fc_status fc_dataloader_set_device(fc_dataloader *dl, fc_device d);
FC_API fc_device fc_dataloader_device(const fc_dataloader *dl);
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


/* ==== data pipeline: Pipeline, built-in transforms, Datasets, DataBlock (src/data/pipeline.c,
 * tfms_basic.c, datasets.c, datablock.c, getters.c) ================================================ */

/* A list of names: FC_NAMES(".txt", ".csv"). Borrowed for the call. */
typedef struct fc_names {
    int n;
    const char *const *s;
} fc_names;
#define FC_NAMES(...) \
    ((fc_names){(int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__}})
/* Lists of numbers for options (layer sizes, dropout probabilities): FC_INTS(200, 100),
 * FC_FLOATS(0.001, 0.01). Borrowed for the call; n == 0 means "the default". */
typedef struct fc_ints {
    int n;
    const int64_t *v;
} fc_ints;
#define FC_INTS(...) \
    ((fc_ints){(int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}})
typedef struct fc_floats {
    int n;
    const double *v;
} fc_floats;
#define FC_FLOATS(...) \
    ((fc_floats){(int)(sizeof((const double[]){__VA_ARGS__}) / sizeof(double)), (const double[]){__VA_ARGS__}})

/* ---- Pipeline: transforms in order (fastai's Pipeline) ---- */
typedef struct fc_pipeline fc_pipeline;
/* A pipeline of tfms (taken, even on failure), sorted by order (stable: equal orders keep theirs). */
FC_API fc_pipeline *fc_pipeline_new(fc_tfms tfms);
FC_API void fc_pipeline_free(fc_pipeline *p);
FC_API int fc_pipeline_n(const fc_pipeline *p);
FC_API fc_transform *fc_pipeline_at(const fc_pipeline *p, int i); /* borrowed, i-th in run order */
/* Adds tf (taken, even on failure) at its place by order, after the equal ones. */
FC_API fc_status fc_pipeline_add(fc_pipeline *p, fc_transform *tf);
/* Encodes v in order; a transform is skipped when v's kind is not in its kinds or its split_idx is
 * not ctx->split (ctx NULL: FC_SPLIT_BOTH, only split-free transforms run). A list value (n_list > 0)
 * is encoded item by item. The error names the transform and the value's kind and shape. */
FC_API fc_status fc_pipeline_encode(fc_pipeline *p, fc_value *v, const fc_tfm_ctx *ctx);
/* Runs the decodes in reverse order (kinds filter as for encode, split_idx ignored). */
FC_API fc_status fc_pipeline_decode(fc_pipeline *p, fc_value *v);
/* Every value of a tuple. */
FC_API fc_status fc_pipeline_encode_tuple(fc_pipeline *p, fc_tuple *t, const fc_tfm_ctx *ctx);
FC_API fc_status fc_pipeline_decode_tuple(fc_pipeline *p, fc_tuple *t);
/* fastai's Pipeline.setup: each transform's setup sees values[n] (the training values, borrowed)
 * as encoded by the transforms before it (ctx split FC_SPLIT_TRAIN, index = position). */
FC_API fc_status fc_pipeline_setup(fc_pipeline *p, const fc_value *values, int64_t n);
/* Short text of a value for messages and summaries: "image u8 [3, 28, 28]", "label 'cat'". */
FC_API const char *fc_value_str(const fc_value *v, char *buf, size_t n);

/* ---- built-in transforms (src/data/tfms_basic.c) ---- */
typedef struct fc_categorize_opts {
    int _;
    const char *const *vocab; /* NULL: learned in setup (sorted unique training labels)    */
    int64_t n_vocab;
} fc_categorize_opts;
/* Categorize (order 1): label text -> category (0-dim i64 index into the vocabulary); decodes
 * back to the label. A label outside the vocabulary fails naming it. */
FC_API fc_transform *fc_categorize_(const fc_categorize_opts *o);
#define fc_categorize(...) fc_categorize_(&(fc_categorize_opts){._ = 0, __VA_ARGS__})
/* The vocabulary of a Categorize or MultiCategorize (borrowed; NULL with *n = 0 before setup). */
FC_API const char *const *fc_categorize_vocab(const fc_transform *tf, int64_t *n);

typedef struct fc_multi_categorize_opts {
    int _;
    char delim;               /* 0: ';' — labels in one text are separated by it           */
    const char *const *vocab; /* NULL: learned in setup (sorted unique training labels)    */
    int64_t n_vocab;
} fc_multi_categorize_opts;
/* MultiCategorize + OneHotEncode (order 1): "cat;dog" -> [n_vocab] f32 one-hot (kind
 * multi_category); decodes to the labels present (> 0.5) joined by delim in vocab order. */
FC_API fc_transform *fc_multi_categorize_(const fc_multi_categorize_opts *o);
#define fc_multi_categorize(...) fc_multi_categorize_(&(fc_multi_categorize_opts){._ = 0, __VA_ARGS__})

/* RegressionSetup (order 1): label text of one or more numbers ("2.5", "1 2 3") -> f32 0-dim or
 * [k] (kind tensor); decodes back to the numbers as text ("%g", space separated). */
FC_API fc_transform *fc_regression_setup(void);

typedef struct fc_normalize_opts {
    int _;
    const float *mean; /* n_channels per-channel means; NULL: computed in setup           */
    const float *std;  /* n_channels per-channel standard deviations                     */
    int n_channels;
} fc_normalize_opts;
/* Normalize (order 99): float image [C, H, W] or batch [N, C, H, W] -> (x - mean) / std per
 * channel; decodes x * std + mean. Without stats, setup computes them from the training values
 * (unbiased std over every pixel, like torch.std). */
FC_API fc_transform *fc_normalize_(const fc_normalize_opts *o);
#define fc_normalize(...) fc_normalize_(&(fc_normalize_opts){._ = 0, __VA_ARGS__})
/* The stats in use (borrowed; NULL before setup). */
FC_API const float *fc_normalize_mean(const fc_transform *tf, int *n_channels);
FC_API const float *fc_normalize_std(const fc_transform *tf, int *n_channels);
/* ToTensor (order 5): an image [H, W] becomes [1, H, W]; [C, H, W] is made contiguous; the dtype
 * stays (u8 stays u8). Nothing to decode. */
FC_API fc_transform *fc_to_tensor(void);
/* IntToFloatTensor (order 10): u8 image -> f32 / 255; decodes back to u8 (clamped to [0, 1],
 * rounded). Float images pass through. */
FC_API fc_transform *fc_int_to_float(void);

/* ---- items: what get_items finds ---- */
/* n items, each named by text[i] (a file path, or "<file.csv> line <k>" for a CSV row); a CSV
 * source also keeps its table (csv, row[i]) and folder (base) for column readers. */
typedef struct fc_items {
    int64_t n;
    char **text;
    fc_csv *csv;
    int64_t *row;
    char *base;
} fc_items;
FC_API void fc_items_free(fc_items *items); /* and zeroes it */
typedef struct fc_get_files_opts {
    int _;
    fc_names extensions; /* e.g. FC_NAMES(".png", ".jpg"), case-insensitive; none: every file */
    int no_recurse;      /* 1: only path itself, not its subfolders                       */
    fc_names folders;    /* only these subfolders of path (their whole trees); none: all    */
} fc_get_files_opts;
/* fastai's get_files: the files under path, sorted by path, into *out (free with fc_items_free).
 * Hidden files and folders (".x") are skipped. A missing path fails with FC_ERR_IO; finding no
 * file fails with FC_ERR_ARG naming the extensions looked for. */
FC_API fc_status fc_get_files_(const char *path, fc_items *out, const fc_get_files_opts *o);
#define fc_get_files(path, out, ...) \
    fc_get_files_((path), (out), &(fc_get_files_opts){._ = 0, __VA_ARGS__})
/* get_files with the image extensions (.png .jpg .jpeg .bmp .gif .tif .tiff .webp .ppm .pgm). */
FC_API fc_status fc_get_image_files(const char *path, fc_items *out);
/* The rows of a CSV file as items (the table is read with default options). */
FC_API fc_status fc_items_from_csv(const char *path, fc_items *out);

/* ---- getters: get_x / get_y and labellers ---- */
/* Makes a value of item i. fn writes *out (zeroed); it fails with fc_fail naming what it expected. */
typedef fc_status (*fc_getter_fn)(void *ctx, const fc_items *items, int64_t i, fc_value *out);
typedef struct fc_getter fc_getter;
/* A getter named name (copied) calling fn with ctx (borrowed; free_ctx(ctx), if given, on free). */
FC_API fc_getter *fc_getter_new(const char *name, fc_getter_fn fn, void *ctx, void (*free_ctx)(void *));
FC_API void fc_getter_free(fc_getter *g);
FC_API const char *fc_getter_name(const fc_getter *g);
/* Runs g on item i; a failure is prefixed with the getter and the item ("parent_label on 'x': ..."). */
FC_API fc_status fc_getter_get(const fc_getter *g, const fc_items *items, int64_t i, fc_value *out);
/* parent_label: the name of the item's parent folder, as a label. */
FC_API fc_getter *fc_parent_label(void);
/* RegexLabeller: the first group of pattern (POSIX extended) matched in the item's path (with
 * .match = 1, the whole path must match); no match fails naming the item and the pattern. */
typedef struct fc_regex_labeller_opts {
    int _;
    int match;
} fc_regex_labeller_opts;
FC_API fc_getter *fc_regex_labeller_(const char *pattern, const fc_regex_labeller_opts *o);
#define fc_regex_labeller(pattern, ...) \
    fc_regex_labeller_((pattern), &(fc_regex_labeller_opts){._ = 0, __VA_ARGS__})
/* ColReader: the text of column col of a CSV item, with pref/suff added (a relative pref or a
 * .kind path value is resolved against the CSV's folder). kind NULL: fc_kind_label. */
typedef struct fc_col_reader_opts {
    int _;
    const char *pref;
    const char *suff;
    const fc_kind *kind;
} fc_col_reader_opts;
FC_API fc_getter *fc_col_reader_(const char *col, const fc_col_reader_opts *o);
#define fc_col_reader(col, ...) fc_col_reader_((col), &(fc_col_reader_opts){._ = 0, __VA_ARGS__})
/* The item's own text (its path) as a value of kind (NULL: fc_kind_path). */
FC_API fc_getter *fc_item_getter(const fc_kind *kind);

/* ---- splitters ---- */
typedef struct fc_splits {
    int64_t *train, n_train; /* indices into the items, malloc'd */
    int64_t *valid, n_valid;
} fc_splits;
FC_API void fc_splits_free(fc_splits *s); /* and zeroes it */
typedef fc_status (*fc_data_splitter_fn)(void *ctx, const fc_items *items, fc_splits *out);
typedef struct fc_data_splitter fc_data_splitter;
FC_API fc_data_splitter *fc_data_splitter_new(const char *name, fc_data_splitter_fn fn, void *ctx,
                                    void (*free_ctx)(void *));
FC_API void fc_data_splitter_free(fc_data_splitter *s);
FC_API const char *fc_data_splitter_name(const fc_data_splitter *s);
/* Splits items into *out (free with fc_splits_free); every index appears at most once. */
FC_API fc_status fc_data_splitter_split(const fc_data_splitter *s, const fc_items *items, fc_splits *out);
/* RandomSplitter: a seeded permutation; its first int(valid_pct * n) items are valid. */
FC_API fc_data_splitter *fc_random_splitter(double valid_pct, uint64_t seed);
/* GrandparentSplitter: items whose grandparent folder is train_name / valid_name (NULL: "train",
 * "valid"); others are in neither. */
FC_API fc_data_splitter *fc_grandparent_splitter(const char *train_name, const char *valid_name);
/* IndexSplitter: idx[n] (copied) are valid, the rest train. */
FC_API fc_data_splitter *fc_index_splitter(const int64_t *idx, int64_t n);
/* ColSplitter: CSV column col (NULL: "is_valid") true (1, true, True, yes) means valid. */
FC_API fc_data_splitter *fc_col_splitter(const char *col);
/* FuncSplitter: fn(ctx, items, i) returns 1 for valid, 0 for train, negative to fail. */
FC_API fc_data_splitter *fc_func_splitter(int (*fn)(void *ctx, const fc_items *items, int64_t i), void *ctx);
/* TrainTestSplitter (sklearn's train_test_split): round(test_size * n) seeded-random items are
 * valid; with stratify (taken; a getter of labels) each label keeps its share in both. */
typedef struct fc_train_test_splitter_opts {
    int _;
    uint64_t seed;
    fc_getter *stratify;
} fc_train_test_splitter_opts;
FC_API fc_data_splitter *fc_train_test_splitter_(double test_size, const fc_train_test_splitter_opts *o);
#define fc_train_test_splitter(test_size, ...) \
    fc_train_test_splitter_((test_size), &(fc_train_test_splitter_opts){._ = 0, __VA_ARGS__})

/* ---- Datasets (fastai's Datasets over TfmdLists) ---- */
typedef struct fc_datasets fc_datasets;
typedef struct fc_datasets_opts {
    int _;
    int n;                             /* values per item (x and targets), 1..FC_MAX_TUPLE   */
    int n_inp;                         /* 0: 1                                              */
    fc_getter *getters[FC_MAX_TUPLE];  /* value j of item i (taken); NULL: the item's text as a path */
    fc_pipeline *tfms[FC_MAX_TUPLE];   /* type transforms of value j (taken; NULL: none)      */
    fc_tfms item_tfms;                 /* run on the whole tuple after (taken)               */
    fc_data_splitter *splitter;             /* taken; NULL: every item is train, none valid        */
    int skip_bad_items; /* 1: an item that fails to load is dropped with a warning on stderr */
} fc_datasets_opts;
/* Takes items (zeroed) and everything in o, even on failure. Splits, then sets up each pipeline on
 * the training items. NULL on failure, naming the step and the item (a NULL getter or pipeline with
 * an error pending is taken as a failed constructor). */
FC_API fc_datasets *fc_datasets_new_(fc_items *items, const fc_datasets_opts *o);
#define fc_datasets_new(items, ...) fc_datasets_new_((items), &(fc_datasets_opts){._ = 0, __VA_ARGS__})
FC_API void fc_datasets_free(fc_datasets *d); /* the subsets made from it stay valid */
FC_API int64_t fc_datasets_n_train(const fc_datasets *d);
FC_API int64_t fc_datasets_n_valid(const fc_datasets *d);
/* A new dataset over the train or valid subset (runs the pipelines with ctx->split = split), for
 * fc_dataloader_new. It keeps the datasets alive. */
FC_API fc_dataset *fc_datasets_subset(fc_datasets *d, fc_split_idx split);
/* Item i of a subset, and the name of the source item (borrowed). */
FC_API fc_status fc_datasets_get(fc_datasets *d, fc_split_idx split, int64_t i, fc_tuple *out);
FC_API const char *fc_datasets_item_name(const fc_datasets *d, fc_split_idx split, int64_t i);
FC_API fc_pipeline *fc_datasets_pipeline(const fc_datasets *d, int j); /* borrowed */

/* ---- DataBlock ---- */
/* A block: the kind get_x/get_y makes and the transforms that kind needs (taken by the DataBlock).
 * Blocks are plain structs, so an application adds its own (ImageBlock in vision); a block without
 * a name is the zero block a constructor returns on failure (its error stays pending). */
typedef struct fc_block {
    const char *name;
    const fc_kind *kind;
    fc_transform *type_tfm; /* one more type transform, run with type_tfms (the built-in blocks') */
    fc_tfms type_tfms;
    fc_tfms item_tfms;
    fc_tfms batch_tfms;
} fc_block;
typedef struct fc_blocks {
    int n;
    fc_block *b;
} fc_blocks;
#define FC_BLOCKS(...) ((fc_blocks){(int)(sizeof((fc_block[]){__VA_ARGS__}) / sizeof(fc_block)), (fc_block[]){__VA_ARGS__}})
/* TransformBlock: a value of kind (NULL: fc_kind_tensor) with the given transforms. */
typedef struct fc_transform_block_opts {
    int _;
    const fc_kind *kind;
    fc_tfms type_tfms, item_tfms, batch_tfms;
} fc_transform_block_opts;
FC_API fc_block fc_transform_block_(const fc_transform_block_opts *o);
#define fc_transform_block(...) fc_transform_block_(&(fc_transform_block_opts){._ = 0, __VA_ARGS__})
/* CategoryBlock: label text -> Categorize. */
FC_API fc_block fc_category_block_(const fc_categorize_opts *o);
#define fc_category_block(...) fc_category_block_(&(fc_categorize_opts){._ = 0, __VA_ARGS__})
/* MultiCategoryBlock: "a;b" -> MultiCategorize (one-hot). */
FC_API fc_block fc_multi_category_block_(const fc_multi_categorize_opts *o);
#define fc_multi_category_block(...) \
    fc_multi_category_block_(&(fc_multi_categorize_opts){._ = 0, __VA_ARGS__})
/* RegressionBlock: number text -> f32 (RegressionSetup). */
FC_API fc_block fc_regression_block(void);

typedef struct fc_datablock fc_datablock;
/* Where items come from: fills *out from source (a folder, a CSV path...). */
typedef fc_status (*fc_get_items_fn)(void *ctx, const char *source, fc_items *out);
typedef struct fc_datablock_opts {
    int _;
    fc_blocks blocks;          /* taken (their transforms); 1..FC_MAX_TUPLE                 */
    int n_inp;                 /* 0: 1                                                      */
    fc_get_items_fn get_items; /* NULL: a .csv source gives its rows, a folder get_files     */
    void *get_items_ctx;
    fc_names extensions;       /* for the default get_files                                */
    fc_names folders;
    int no_recurse;
    fc_getter *get_x;          /* taken; inputs; NULL: the item's text (as the block's kind) */
    fc_getter *get_y;          /* taken; targets; NULL: the item's text                    */
    fc_data_splitter *splitter;     /* taken; NULL: fc_random_splitter(0.2, 42)                  */
    fc_tfms item_tfms;         /* taken; after the blocks' item_tfms                        */
    fc_tfms batch_tfms;        /* taken; after the blocks' batch_tfms                       */
    int skip_bad_items;        /* 1: items that fail are dropped with a warning on stderr   */
} fc_datablock_opts;
/* A DataBlock (takes everything in o, even on failure). Its transforms are shared by the
 * DataLoaders it builds: building again re-runs their setup (as in fastai). A NULL getter or
 * splitter with an error pending (its constructor failed) fails with that error. */
FC_API fc_datablock *fc_datablock_new_(const fc_datablock_opts *o);
#define fc_datablock_new(...) fc_datablock_new_(&(fc_datablock_opts){._ = 0, __VA_ARGS__})
FC_API void fc_datablock_free(fc_datablock *db); /* loaders built from it stay valid */
/* The Datasets of source (new; free with fc_datasets_free). */
FC_API fc_datasets *fc_datablock_datasets(fc_datablock *db, const char *source);
typedef struct fc_datablock_dls_opts {
    int _;
    int64_t bs;       /* 0: 64; the valid loader uses 2 * bs, in order, keeping the last batch */
    uint64_t seed;    /* 0: 42                                                            */
    int n_workers;
    int drop_last;    /* train loader                                                     */
} fc_datablock_dls_opts;
/* Train (shuffled) and valid loaders over source; vocab is the first target's categories. */
FC_API fc_dataloaders *fc_datablock_dataloaders_(fc_datablock *db, const char *source,
                                                 const fc_datablock_dls_opts *o);
#define fc_datablock_dataloaders(db, source, ...) \
    fc_datablock_dataloaders_((db), (source), &(fc_datablock_dls_opts){._ = 0, __VA_ARGS__})
/* Walks one sample through every step (items, split, getters, each transform, collation, batch
 * transforms), printing each result to f; a failing step is named with the item, what was
 * expected and what was found. Returns the first failure's status (also left pending). */
FC_API fc_status fc_datablock_summary(fc_datablock *db, const char *source, FILE *f);

/* ---- show (src/data/show.c): batches as images or as a text table -------------------------------
 * (section added by h-plot) */
#include <stdio.h>
typedef struct fc_show_opts {
    int _;
    int max_n;                 /* 0: 9 items                                                      */
    int ncols;                 /* image grids; 0: ceil(sqrt(n))                                   */
    const char *const *vocab;  /* names for category indices a decode left as numbers; NULL: the number */
    int64_t n_vocab;
    FILE *out;                 /* text kinds with a NULL path are printed here; NULL: stdout       */
} fc_show_opts;
/* Takes the first batch of dl (fc_dataloader_one_batch), decodes it and shows up to max_n items:
 * items with an image (and mask / points / bbox overlays) as a PNG grid at path titled with their
 * labels (category name, "a;b" for multi-category, the number for regression); other kinds (text,
 * tokens, tabular) as an aligned text table written to path, or to .out when path is NULL. */
FC_API fc_status fc_show_batch_(fc_dataloader *dl, const char *path, const fc_show_opts *o);
#define fc_show_batch(dl, path, ...) fc_show_batch_((dl), (path), &(fc_show_opts){._ = 0, __VA_ARGS__})
/* One decoded value as text into buf[n] (always terminated; returns buf): text as is, a category
 * index by its vocab name, a multi-category one-hot as "a;b", a one-element tensor as a number,
 * tokens and tabular rows as their numbers, anything larger as "image [1, 28, 28] f32". */
FC_API char *fc_show_value_str(const fc_value *v, const fc_show_opts *o, char *buf, size_t n);
/* Prints fc_show_value_str(v) and a newline to f (NULL: stdout). o may be NULL. */
FC_API fc_status fc_show_value(const fc_value *v, FILE *f, const fc_show_opts *o);

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

/* ---- ImageBlock (src/data/image_block.c) ---- */
/* A transform reading a path value as an image value (u8 [C, H, W]) with fc_image_read. */
FC_API fc_transform *fc_image_reader(void);
/* fastai's ImageBlock: items are paths read as images; IntToFloat on batches (u8 -> f32 / 255).
 * A macro so the batch transform list lives in the caller's expression (FC_BLOCKS(...)). */
#define fc_image_block() \
    ((fc_block){.name = "ImageBlock", .kind = fc_kind_path, .type_tfm = fc_image_reader(), \
                .batch_tfms = FC_TFMS(fc_int_to_float())})

/* ---- batch transforms of a built loader (vision_learner adds Normalize) ---- */
/* Adds tf (taken, even on failure) to dl's batch transforms at its place by order; an epoch in
 * progress is stopped (its next batch starts a new one). */
FC_API fc_status fc_dataloader_add_tfm(fc_dataloader *dl, fc_transform *tf);
FC_API int fc_dataloader_n_tfms(const fc_dataloader *dl);
FC_API fc_transform *fc_dataloader_tfm_at(const fc_dataloader *dl, int i); /* borrowed, run order */

/* ==== added by h-vinterp: running a loader's transforms for interpretation, TTA and predict ====
 * (src/data/dataloader.c, dataset.c, datasets.c) */
/* The split whose transforms the loader runs (fc_dataloader_opts.split); set_split changes it and
 * returns the old one, stopping any epoch in progress. The split reaches the batch transforms and
 * the item transforms of a fc_datasets_subset (a subset runs the loader's split when the loader
 * names one, else its own), so fastai's tta runs the valid items with the training augmentation. */
FC_API fc_split_idx fc_dataloader_split(const fc_dataloader *dl);
FC_API fc_split_idx fc_dataloader_set_split(fc_dataloader *dl, fc_split_idx split);
FC_API int fc_dataloader_is_shuffled(const fc_dataloader *dl); /* 1: a new order each epoch */
/* One batch of the dataset's items idx[n] (in that order) made as the loader makes its batches:
 * item transforms, before_batch, collation, batch transforms, with the current epoch's draws. A
 * new tuple (free with fc_tuple_free). FC_ERR_ARG for an index outside [0, fc_dataloader_n). */
FC_API fc_status fc_dataloader_batch_of(fc_dataloader *dl, const int64_t *idx, int64_t n, fc_tuple *batch);
/* The dataset's item_from_text (ctx NULL: FC_SPLIT_BOTH, index 0); FC_ERR_UNSUPPORTED naming the
 * dataset when it has none. *out is zeroed first and empty on failure. */
FC_API fc_status fc_dataset_item_from_text(fc_dataset *ds, const char *text, const fc_tfm_ctx *ctx,
                                           fc_tuple *out);
/* A batch of one holding the inputs of the item named text, made with the loader's split, item
 * pipelines, before_batch and batch transforms (fastai's dls.test_dl([item]).one_batch()). */
FC_API fc_status fc_dataloader_batch_from_text(fc_dataloader *dl, const char *text, fc_tuple *batch);

/* ==== export and inference (h-export): transforms saved by name and parameters ==================
 * (src/data/tfm_json.c) */
/* The parameters of tf (a proxy: of the transform it runs) as a new JSON object text (free() it),
 * or NULL with FC_ERR_UNSUPPORTED naming a transform whose def has no to_json. */
FC_API char *fc_transform_to_json(const fc_transform *tf);
/* Rebuilds a transform from the text its to_json wrote; NULL with the error set. */
typedef fc_transform *(*fc_transform_from_json_fn)(const char *json);
/* Registers from_json for the transforms named name (a second registration replaces the first).
 * Register at start-up, before threads use the registry. The data layer's own transforms
 * (ImageReader, Categorize, MultiCategorize, RegressionSetup, Normalize, IntToFloat, ToTensor)
 * are always known; applications register theirs (vision: fc_vision_register). */
FC_API fc_status fc_transform_register(const char *name, fc_transform_from_json_fn from_json);
/* A new transform named name from its parameters; FC_ERR_UNSUPPORTED for a name nobody registered
 * (the message lists the known ones), FC_ERR_FORMAT for parameters it cannot use. */
FC_API fc_transform *fc_transform_from_json(const char *name, const char *json);
/* The inference pipeline of dls' valid loader as a new JSON text (free() it): the inputs' kinds and
 * type transforms, the item transforms and the batch transforms that run on the valid subset (train-
 * only augmentation is left out), the target vocabulary and the batch size. NULL with
 * FC_ERR_UNSUPPORTED naming what cannot be saved (a getter reading a CSV column, a transform
 * without to_json, a dataset that is not a Datasets subset). */
FC_API char *fc_dataloaders_pipeline_json(const fc_dataloaders *dls);
/* A stand-in for the dataloaders that pipeline came from: it holds no items, but makes the inputs
 * of an item named by text (fc_dataloader_batch_from_text, fc_dataloader_test_dl) exactly as the
 * valid loader did; its vocab is the saved one. New; NULL with the error set. */
FC_API fc_dataloaders *fc_dataloaders_from_pipeline_json(const char *json);
/* fastai's dls.test_dl(items): a new loader (in order, dl's batch size) over the items named
 * items[n] (copied; image paths), made by dl's dataset item_from_text, its split and batch
 * transforms. It borrows dl: free it first. */
FC_API fc_dataloader *fc_dataloader_test_dl(fc_dataloader *dl, const char *const *items, int64_t n);
/* test_dl with labels (fastai's with_labels=True): each item also gets targets[i] (copied) as a
 * category (0-dim i64 index into the vocab), for interpretation on labelled files. */
FC_API fc_dataloader *fc_dataloader_labelled_dl(fc_dataloader *dl, const char *const *items, const int64_t *targets,
                                                int64_t n);


/* ==== distributed sampler (h-mpi) ====================================================================
 * PyTorch's DistributedSampler inside the loader: every later epoch's order (the same on every rank:
 * same seed; shuffled or not, or the dataset's before_epoch order) is padded by repeating its start
 * to a multiple of world, and rank takes positions rank, rank + world, rank + 2 world, ...: each rank
 * gets ceil(n / world) items and the same number of batches, and batch b of the ranks together holds
 * exactly the items of batch b of one loader with world times the batch size. world 1: no shard.
 * Not while a loop over the loader is running. */
FC_API fc_status fc_dataloader_set_shard(fc_dataloader *dl, int rank, int world);
/* The loader's world (1: not sharded) and, when rank is non-NULL, its rank. */
FC_API int fc_dataloader_shard(const fc_dataloader *dl, int *rank);
/* Items a rank sees per epoch: ceil(n / world), padding included (fc_dataloader_n when not sharded). */
FC_API int64_t fc_dataloader_n_epoch_items(const fc_dataloader *dl);

#ifdef __cplusplus
}
#endif
#endif
