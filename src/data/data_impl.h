/* Internals of the data layer shared by its files: the transform and dataset objects, and how a
 * list of transforms is applied to the values of a tuple. */
#ifndef FASTC_DATA_IMPL_H
#define FASTC_DATA_IMPL_H

#include "../core/core_impl.h"
#include "fastc/data.h"

struct fc_transform {
    const fc_transform_def *def;
    void *state;
};

struct fc_dataset {
    const fc_dataset_def *def;
    void *state;
};

/* The def and state a transform was made with (borrowed). */
const fc_transform_def *fci_transform_def(const fc_transform *tf);
void *fci_transform_state(const fc_transform *tf);
/* Is kind in the transform's kinds (a NULL list means every kind)? */
int fci_transform_acts_on(const fc_transform_def *def, const fc_kind *kind);
/* 1 when tf acts on a value of this kind in this subset (kinds list and split_idx). */
int fci_tfm_applies(const fc_transform *tf, const fc_kind *kind, fc_split_idx split);
/* Runs tf's encodes (decode: decodes) on v without checks, a list value item by item. */
fc_status fci_tfm_apply(const fc_transform *tf, fc_value *v, const fc_tfm_ctx *ctx, int decode);
/* Encodes one value (a list value item by item) with tf when it applies; errors name tf. */
fc_status fci_tfm_encode(const fc_transform *tf, fc_value *v, const fc_tfm_ctx *ctx);
fc_status fci_tfm_decode(const fc_transform *tf, fc_value *v);
/* Every value of tup through tfs (in the given order) / back through them in reverse. */
fc_status fci_tfms_encode_tuple(fc_transform *const *tfs, int n, fc_tuple *tup, const fc_tfm_ctx *ctx);
fc_status fci_tfms_decode_tuple(fc_transform *const *tfs, int n, fc_tuple *tup);
/* A copy of v sharing its tensors (new references) and copying its text. */
fc_status fci_value_copy(const fc_value *v, fc_value *out);
/* Sorts tfs[n] by order, keeping the given order among equals. */
void fci_tfms_sort(fc_transform **tfs, int n);

/* Items in a batch (dim 0 of its first tensor value, or its first list's length). */
int64_t fci_batch_size(const fc_tuple *batch);
/* Splits a batch into bs new items (row i of each stacked value, item i of each list). */
fc_status fci_uncollate(const fc_tuple *batch, fc_tuple **items, int64_t *n);
/* A seeded permutation of 0..n-1 (Fisher-Yates on Philox): fastai's RandomSplitter order, shared
 * by every splitter that must agree with fc_random_splitter (getters.c). malloc'd; NULL on OOM. */
int64_t *fci_permutation(int64_t n, uint64_t seed);
/* Rows idx[n] of t into a new [n, ...] tensor, or [...] for one row when as_item, outside any
 * scope: the in-memory datasets' batch gather (dataset.c). */
fc_tensor *fci_gather_rows(const fc_tensor *t, const int64_t *idx, int64_t n, int as_item);

/* ---- batches on a device (device_feed.c, h-cudainfra) ---- */
typedef struct fci_device_feed fci_device_feed;
/* FC_OK when loaders can deliver batches on d (the cpu always; cuda: built with CUDA and the
 * device usable), else FC_ERR_DEVICE naming op and why. */
fc_status fci_device_feed_check(const char *op, fc_device d);
/* A pinned-memory upload path to CUDA device d; NULL with the error set (no CUDA, no device). */
fci_device_feed *fci_device_feed_new(fc_device d);
void fci_device_feed_free(fci_device_feed *f);
fc_device fci_device_feed_device(const fci_device_feed *f);
/* *out = host (a collated batch; not taken) with every cpu tensor uploaded asynchronously (the
 * compute stream waits for the copies; the host does not). */
fc_status fci_device_feed_upload(fci_device_feed *f, const fc_tuple *host, fc_tuple *out);

#endif
