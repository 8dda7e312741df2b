/* Internals shared by the data pipeline files (pipeline, transforms, datasets, DataBlock). */
#ifndef FASTC_PIPELINE_IMPL_H
#define FASTC_PIPELINE_IMPL_H

#include "data_impl.h"

/* fci_transform_def/state, fci_transform_acts_on, fci_tfm_apply, fci_value_copy: data_impl.h */

/* A transform running inner (borrowed) under inner's name, keeping owner alive: ref(owner) now,
 * unref(owner) when freed. Lets one transform serve several pipelines (train and valid loaders). */
fc_transform *fci_transform_proxy(fc_transform *inner, void *owner, void (*ref)(void *),
                                  void (*unref)(void *));

/* The transform a proxy runs (tf itself when it is not a proxy). */
const fc_transform *fci_transform_unproxy(const fc_transform *tf);

/* One more owner of a getter / splitter (freed by the last fc_*_free). */
fc_getter *fci_getter_ref(fc_getter *g);
fc_data_splitter *fci_data_splitter_ref(fc_data_splitter *s);

/* Is tf (through proxies) a Categorize or MultiCategorize? */
int fci_is_categorize(const fc_transform *tf);

/* Runs step i of p alone on v (encode): *ran says whether it applied or was skipped (kind or split). */
fc_status fci_pipeline_encode_step(fc_pipeline *p, int i, fc_value *v, const fc_tfm_ctx *ctx, int *ran);

/* Appends " (where)" to the pending error, keeping its code (st when none is pending); returns
 * the code. The root cause stays first in the message; the context says which step and item. */
fc_status fci_error_context(fc_status st, const char *fmt, ...) FC_PRINTF(2, 3);

/* A Datasets' items, the source index of item i of a subset, and its item-transform pipeline
 * (borrowed), for the DataBlock summary. */
const fc_items *fci_datasets_items(const fc_datasets *d);
int64_t fci_datasets_source_index(const fc_datasets *d, fc_split_idx split, int64_t i);

/* Formats into a malloc'd string (NULL when out of memory). */
char *fci_strdup_printf(const char *fmt, ...) FC_PRINTF(1, 2);

/* Export and inference (h-export, datasets.c): the fc_datasets behind a subset made by
 * fc_datasets_subset (NULL for any other dataset), its n_inp and getter j (NULL: the item's text;
 * borrowed) and its item transforms (borrowed; NULL: none). */
fc_datasets *fci_dataset_datasets(const fc_dataset *ds);
int fci_datasets_n_inp(const fc_datasets *d);
fc_getter *fci_datasets_getter(const fc_datasets *d, int j);
fc_pipeline *fci_datasets_item_tfms(const fc_datasets *d);

#endif
