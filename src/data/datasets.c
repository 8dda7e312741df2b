/* Datasets over TfmdLists (fastai's Datasets): items, a getter and a type pipeline per value, item
 * transforms on the tuple, and a train/valid split; each subset is an fc_dataset for the loader. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_impl.h"

struct fc_datasets {
    atomic_int refcount;
    fc_items items;
    int n, n_inp;
    fc_getter *getters[FC_MAX_TUPLE];
    fc_pipeline *tfms[FC_MAX_TUPLE];
    fc_pipeline *item_tfms;
    int64_t *idx[2], n_idx[2]; /* train, valid: indices into items */
};

static const char *split_name(fc_split_idx s) { return s == FC_SPLIT_VALID ? "valid" : "train"; }
static int slot(fc_split_idx s) { return s == FC_SPLIT_VALID ? 1 : 0; }

static void datasets_unref(fc_datasets *d) {
    if (!d || atomic_fetch_sub(&d->refcount, 1) != 1) return;
    fc_items_free(&d->items);
    for (int j = 0; j < FC_MAX_TUPLE; j++) {
        fc_getter_free(d->getters[j]);
        fc_pipeline_free(d->tfms[j]);
    }
    fc_pipeline_free(d->item_tfms);
    free(d->idx[0]);
    free(d->idx[1]);
    free(d);
}

void fc_datasets_free(fc_datasets *d) { datasets_unref(d); }

int64_t fc_datasets_n_train(const fc_datasets *d) { return d ? d->n_idx[0] : 0; }
int64_t fc_datasets_n_valid(const fc_datasets *d) { return d ? d->n_idx[1] : 0; }
fc_pipeline *fc_datasets_pipeline(const fc_datasets *d, int j) {
    if (!d || j < 0 || j >= d->n) {
        fc_fail(FC_ERR_ARG, "datasets_pipeline: expected j in [0, %d), found %d", d ? d->n : 0, j);
        return NULL;
    }
    return d->tfms[j];
}

/* Value j of item `item` of items (the datasets' own or one made for predict), before its pipeline. */
static fc_status get_raw_of(fc_datasets *d, const fc_items *items, int j, int64_t item, fc_value *v) {
    if (d->getters[j]) return fc_getter_get(d->getters[j], items, item, v);
    *v = fc_value_text(fc_kind_path, items->text[item]);
    return v->text ? FC_OK : fc_fail(FC_ERR_NOMEM, "datasets: out of memory");
}
static fc_status get_raw(fc_datasets *d, int j, int64_t item, fc_value *v) {
    return get_raw_of(d, &d->items, j, item, v);
}

/* The first n values of an item through its getters and pipelines (ctx->split says which
 * transforms run). */
static fc_status load_of(fc_datasets *d, const fc_items *items, int64_t item, int n, const fc_tfm_ctx *ctx,
                         fc_tuple *out) {
    *out = (fc_tuple){.n = n, .n_inp = d->n_inp};
    fc_status st = FC_OK;
    for (int j = 0; j < n && st == FC_OK; j++) {
        st = get_raw_of(d, items, j, item, &out->v[j]);
        if (st == FC_OK && d->tfms[j]) st = fc_pipeline_encode(d->tfms[j], &out->v[j], ctx);
    }
    if (st == FC_OK && d->item_tfms) st = fc_pipeline_encode_tuple(d->item_tfms, out, ctx);
    if (st != FC_OK) fc_tuple_free(out);
    return st;
}
static fc_status load(fc_datasets *d, int64_t item, const fc_tfm_ctx *ctx, fc_tuple *out) {
    return load_of(d, &d->items, item, d->n, ctx, out);
}

/* Says which item failed to load, naming its path unless the message does already. */
static fc_status loading_context(fc_status st, const fc_datasets *d, fc_split_idx split, int64_t i) {
    const char *name = d->items.text[d->idx[slot(split)][i]];
    if (name[0] && strstr(fc_error_message(), name))
        return fci_error_context(st, "loading %s item %lld", split_name(split), (long long)i);
    return fci_error_context(st, "loading %s item %lld: '%s'", split_name(split), (long long)i, name);
}

const char *fc_datasets_item_name(const fc_datasets *d, fc_split_idx split, int64_t i) {
    if (!d || i < 0 || i >= d->n_idx[slot(split)]) return NULL;
    return d->items.text[d->idx[slot(split)][i]];
}

fc_status fc_datasets_get(fc_datasets *d, fc_split_idx split, int64_t i, fc_tuple *out) {
    if (!out) return fc_fail(FC_ERR_ARG, "datasets_get: out is NULL");
    *out = (fc_tuple){0};
    if (!d) return fc_fail(FC_ERR_ARG, "datasets_get: datasets is NULL");
    int s = slot(split);
    if (i < 0 || i >= d->n_idx[s])
        return fc_fail(FC_ERR_ARG, "datasets_get: expected i in [0, %lld) for the %s set, found %lld",
                       (long long)d->n_idx[s], split_name(split), (long long)i);
    fc_rng rng = fc_rng_new((uint64_t)i);
    fc_tfm_ctx ctx = {.split = s ? FC_SPLIT_VALID : FC_SPLIT_TRAIN, .index = i, .rng = &rng};
    fc_status st = load(d, d->idx[s][i], &ctx, out);
    return st == FC_OK ? FC_OK : loading_context(st, d, split, i);
}

/* ---- subsets as fc_dataset ---- */
typedef struct subset {
    fc_datasets *d;
    fc_split_idx split;
} subset;

static int64_t subset_len(void *s) {
    subset *u = s;
    return u->d->n_idx[slot(u->split)];
}
static fc_status subset_get(void *s, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    subset *u = s;
    int k = slot(u->split);
    if (i < 0 || i >= u->d->n_idx[k])
        return fc_fail(FC_ERR_ARG, "datasets: expected i in [0, %lld) for the %s set, found %lld",
                       (long long)u->d->n_idx[k], split_name(u->split), (long long)i);
    fc_tfm_ctx c = ctx ? *ctx : (fc_tfm_ctx){.index = i};
    /* The loader's split when it names one (fc_dataloader_set_split: tta), else the subset's. */
    if (c.split == FC_SPLIT_BOTH) c.split = u->split;
    fc_status st = load(u->d, u->d->idx[k][i], &c, out);
    return st == FC_OK ? FC_OK : loading_context(st, u->d, u->split, i);
}
static fc_status subset_decode(void *s, fc_tuple *item) {
    subset *u = s;
    fc_status st = u->d->item_tfms ? fc_pipeline_decode_tuple(u->d->item_tfms, item) : FC_OK;
    for (int j = 0; j < item->n && j < u->d->n && st == FC_OK; j++)
        if (u->d->tfms[j]) st = fc_pipeline_decode(u->d->tfms[j], &item->v[j]);
    return st;
}
/* An item named by text (fastai's test_dl): a source item of that name, else a new one-item source
 * (a path) read by the same getters; only the inputs are made, so an unknown label cannot fail. */
static fc_status subset_item_from_text(void *s, const char *text, const fc_tfm_ctx *ctx, fc_tuple *out) {
    subset *u = s;
    fc_datasets *d = u->d;
    fc_tfm_ctx c = ctx ? *ctx : (fc_tfm_ctx){0};
    if (c.split == FC_SPLIT_BOTH) c.split = u->split;
    int64_t known = -1;
    for (int64_t i = 0; i < d->items.n && known < 0; i++)
        if (!strcmp(d->items.text[i], text)) known = i;
    if (known < 0 && d->items.csv)
        return fc_fail(FC_ERR_ARG, "datasets: '%s' is not an item of this CSV source (its items are named like '%s')",
                       text, d->items.text[0]);
    char *one_text[1] = {(char *)text};
    fc_items one = {.n = 1, .text = one_text, .base = d->items.base};
    fc_status st = load_of(d, known >= 0 ? &d->items : &one, known >= 0 ? known : 0, d->n_inp, &c, out);
    if (st != FC_OK && !strstr(fc_error_message(), text))
        fci_error_context(st, "making an item from '%s'", text);
    return st;
}
static void subset_free(void *s) {
    subset *u = s;
    datasets_unref(u->d);
    free(u);
}
static const fc_dataset_def subset_def = {
    .name = "datasets", .len = subset_len, .get = subset_get, .decode = subset_decode,
    .free_state = subset_free, .item_from_text = subset_item_from_text,
};

fc_dataset *fc_datasets_subset(fc_datasets *d, fc_split_idx split) {
    if (!d) return NULL;
    subset *u = malloc(sizeof *u);
    if (!u) {
        fc_fail(FC_ERR_NOMEM, "datasets_subset: out of memory");
        return NULL;
    }
    atomic_fetch_add(&d->refcount, 1);
    *u = (subset){d, split == FC_SPLIT_VALID ? FC_SPLIT_VALID : FC_SPLIT_TRAIN};
    return fc_dataset_new(&subset_def, u);
}

/* ---- construction: split, set up, drop bad items ---- */
static int pipeline_has_setup(fc_pipeline *p) {
    for (int i = 0; i < fc_pipeline_n(p); i++)
        if (fci_transform_def(fc_pipeline_at(p, i))->setup) return 1;
    return 0;
}

static void warn_skip(const fc_datasets *d, int64_t item) {
    fprintf(stderr, "fastc: warning: skipping item '%s': %s\n", d->items.text[item], fc_error_message());
    fc_error_clear();
}

/* Drops the items marked bad from both subsets. */
static void compact(fc_datasets *d, const unsigned char *bad) {
    for (int s = 0; s < 2; s++) {
        int64_t w = 0;
        for (int64_t k = 0; k < d->n_idx[s]; k++)
            if (!bad[d->idx[s][k]]) d->idx[s][w++] = d->idx[s][k];
        d->n_idx[s] = w;
    }
}

/* fastai's setup: each pipeline's transforms learn from the training values. */
static fc_status setup_pipelines(fc_datasets *d, unsigned char *bad, int skip) {
    int64_t n = d->n_idx[0];
    fc_status st = FC_OK;
    for (int j = 0; j < d->n && st == FC_OK; j++) {
        if (!d->tfms[j] || !pipeline_has_setup(d->tfms[j])) continue;
        fc_value *vals = calloc((size_t)n + 1, sizeof *vals);
        if (!vals) return fc_fail(FC_ERR_NOMEM, "datasets: out of memory for %lld values", (long long)n);
        int64_t m = 0;
        for (int64_t k = 0; k < n && st == FC_OK; k++) {
            int64_t item = d->idx[0][k];
            if (bad[item]) continue;
            st = get_raw(d, j, item, &vals[m]);
            if (st == FC_OK) m++;
            else if (skip) {
                bad[item] = 1;
                warn_skip(d, item);
                st = FC_OK;
            } else {
                fci_error_context(st, "reading value %d of train item %lld for setup", j, (long long)k);
            }
        }
        if (st == FC_OK && (st = fc_pipeline_setup(d->tfms[j], vals, m)) != FC_OK)
            fci_error_context(st, "value %d of the items", j);
        for (int64_t k = 0; k < m; k++) fc_value_free(&vals[k]);
        free(vals);
    }
    return st;
}

static fc_status check_items(fc_datasets *d, unsigned char *bad) {
    for (int s = 0; s < 2; s++)
        for (int64_t k = 0; k < d->n_idx[s]; k++) {
            int64_t item = d->idx[s][k];
            if (bad[item]) continue;
            fc_rng rng = fc_rng_new((uint64_t)k);
            fc_tfm_ctx ctx = {.split = s ? FC_SPLIT_VALID : FC_SPLIT_TRAIN, .index = k, .rng = &rng};
            fc_tuple t;
            if (load(d, item, &ctx, &t) == FC_OK) fc_tuple_free(&t);
            else {
                bad[item] = 1;
                warn_skip(d, item);
            }
        }
    compact(d, bad);
    if (d->n_idx[0] == 0)
        return fc_fail(FC_ERR_ARG, "datasets: every training item failed to load (see the warnings)");
    return FC_OK;
}

fc_datasets *fc_datasets_new_(fc_items *items, const fc_datasets_opts *o) {
    fc_datasets *d = calloc(1, sizeof *d);
    if (d) {
        atomic_init(&d->refcount, 1);
        if (items) d->items = *items;
        d->n = o->n;
        d->n_inp = o->n_inp ? o->n_inp : 1;
        for (int j = 0; j < FC_MAX_TUPLE; j++) {
            d->getters[j] = o->getters[j];
            d->tfms[j] = o->tfms[j];
        }
        d->item_tfms = fc_pipeline_new(o->item_tfms);
    } else {
        fc_fail(FC_ERR_NOMEM, "datasets_new: out of memory");
        fc_items_free(items);
        for (int j = 0; j < FC_MAX_TUPLE; j++) {
            fc_getter_free(o->getters[j]);
            fc_pipeline_free(o->tfms[j]);
        }
        for (int i = 0; i < o->item_tfms.n; i++) fc_transform_free(o->item_tfms.t[i]);
    }
    if (items) *items = (fc_items){0};
    fc_data_splitter *splitter = o->splitter;
    fc_status st = d ? FC_OK : FC_ERR_NOMEM;
    if (st == FC_OK && !d->item_tfms) st = fc_error_code();
    if (st == FC_OK && (o->n < 1 || o->n > FC_MAX_TUPLE || d->n_inp > o->n))
        st = fc_fail(FC_ERR_ARG, "datasets_new: expected 1 <= .n <= %d and .n_inp <= .n, found n %d, n_inp %d",
                     FC_MAX_TUPLE, o->n, d->n_inp);
    for (int j = 0; st == FC_OK && j < o->n && j < FC_MAX_TUPLE; j++) /* NULL from a failed constructor */
        if ((!o->getters[j] || !o->tfms[j]) && fc_error_code() != FC_OK) st = fc_error_code();
    if (st == FC_OK && (!items || d->items.n == 0))
        st = fc_fail(FC_ERR_ARG, "datasets_new: expected items, found none");
    unsigned char *bad = st == FC_OK ? calloc((size_t)d->items.n + 1, 1) : NULL;
    if (st == FC_OK && !bad) st = fc_fail(FC_ERR_NOMEM, "datasets_new: out of memory");
    if (st == FC_OK && splitter) {
        fc_splits sp;
        st = fc_data_splitter_split(splitter, &d->items, &sp);
        d->idx[0] = sp.train;
        d->n_idx[0] = sp.n_train;
        d->idx[1] = sp.valid;
        d->n_idx[1] = sp.n_valid;
    } else if (st == FC_OK) {
        d->idx[0] = malloc((size_t)d->items.n * sizeof(int64_t));
        d->idx[1] = malloc(sizeof(int64_t));
        if (!d->idx[0] || !d->idx[1]) st = fc_fail(FC_ERR_NOMEM, "datasets_new: out of memory");
        for (int64_t i = 0; st == FC_OK && i < d->items.n; i++) d->idx[0][i] = i;
        if (st == FC_OK) d->n_idx[0] = d->items.n;
    }
    if (st == FC_OK && d->n_idx[0] == 0)
        st = fc_fail(FC_ERR_ARG, "datasets_new: %s put none of the %lld items in the training set",
                     fc_data_splitter_name(splitter), (long long)d->items.n);
    if (st == FC_OK) st = setup_pipelines(d, bad, o->skip_bad_items);
    if (st == FC_OK && o->skip_bad_items) st = check_items(d, bad);
    free(bad);
    fc_data_splitter_free(splitter);
    if (st != FC_OK) {
        datasets_unref(d);
        return NULL;
    }
    return d;
}

const fc_items *fci_datasets_items(const fc_datasets *d) { return &d->items; }
int64_t fci_datasets_source_index(const fc_datasets *d, fc_split_idx split, int64_t i) {
    return d->idx[slot(split)][i];
}
fc_pipeline *fci_datasets_item_tfms(const fc_datasets *d) { return d->item_tfms; }

/* ---- export and inference (h-export): what a loader's subset runs ---- */
fc_datasets *fci_dataset_datasets(const fc_dataset *ds) {
    return ds && ds->def == &subset_def ? ((subset *)ds->state)->d : NULL;
}
int fci_datasets_n_inp(const fc_datasets *d) { return d ? d->n_inp : 0; }
fc_getter *fci_datasets_getter(const fc_datasets *d, int j) { return d && j >= 0 && j < d->n ? d->getters[j] : NULL; }
