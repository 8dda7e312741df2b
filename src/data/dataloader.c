/* The DataLoader: an epoch's order (shuffled from (seed, epoch) only, so a resumed run sees the
 * same batches), batches made by worker threads into a bounded ring of slots and handed out in
 * order, item transforms on the workers, batch transforms after collation. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_impl.h"

#define ITEM_SEED_MIX 0x5851F42D4C957F2DULL /* item and batch streams apart from the shuffle's */

typedef struct slot {
    int64_t b;     /* batch index held, -1 when empty */
    fc_tuple batch;
    fc_status st;
    char msg[1024];
} slot;

struct fc_dataloader {
    fc_dataset *ds;
    int64_t bs, n, n_batches;
    int shuffle, drop_last, n_workers, prefetch;
    uint64_t seed;
    fc_split_idx split;
    fc_status (*before_batch)(void *ctx, fc_tuple *items, int64_t n);
    void *before_batch_ctx;
    fc_transform **after;
    int n_after;
    int shard_rank, shard_world; /* fc_dataloader_set_shard (h-mpi); world 0 or 1: none */
    int64_t n_take;              /* items of the epoch this loader hands out                 */
    int64_t *take;               /* their order: order itself, or shard (n_take items)       */
    int64_t *shard;

    int epoch, started;
    int64_t *order;
    int64_t next_make, next_take;
    int stop;
    pthread_t *threads;
    int n_threads;
    slot *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv_ready, cv_space;

    /* batches on a device (device_feed.c): the next batch is uploaded while the caller runs the
     * current one; an error making it is kept for the call that would have returned it */
    fci_device_feed *feed;
    fc_tuple ahead;
    int has_ahead;
    fc_status ahead_st;
    char ahead_msg[1024];
};

int64_t fc_dataloader_n(const fc_dataloader *dl) { return dl ? dl->n : 0; }
int64_t fc_dataloader_len(const fc_dataloader *dl) { return dl ? dl->n_batches : 0; }
int64_t fc_dataloader_bs(const fc_dataloader *dl) { return dl ? dl->bs : 0; }
fc_dataset *fc_dataloader_dataset(const fc_dataloader *dl) { return dl ? dl->ds : NULL; }

/* ---- making one batch (any thread) ---- */

/* before_batch and collation of m loaded items (the caller frees them). */
static fc_status collate_items(fc_dataloader *dl, fc_tuple *items, int64_t m, fc_tuple *out) {
    fc_status st = FC_OK;
    if (dl->before_batch) {
        st = dl->before_batch(dl->before_batch_ctx, items, m);
        if (st != FC_OK && fc_error_code() == FC_OK)
            st = fc_fail(st, "dataloader: before_batch failed without saying why");
    }
    return st == FC_OK ? fc_collate(items, m, out) : st;
}

static fc_status make_items_batch(fc_dataloader *dl, const int64_t *idx, int64_t m, fc_tuple *out) {
    fc_tuple *items = calloc((size_t)m, sizeof *items);
    if (!items) return fc_fail(FC_ERR_NOMEM, "dataloader: cannot allocate %lld items", (long long)m);
    fc_status st = FC_OK;
    for (int64_t i = 0; i < m && st == FC_OK; i++) {
        fc_rng rng = {dl->seed ^ ITEM_SEED_MIX, ((uint64_t)dl->epoch << 44) + ((uint64_t)idx[i] << 16)};
        fc_tfm_ctx ctx = {.split = dl->split, .index = idx[i], .rng = &rng};
        st = fc_dataset_get(dl->ds, idx[i], &ctx, &items[i]);
    }
    if (st == FC_OK) st = collate_items(dl, items, m, out);
    for (int64_t i = 0; i < m; i++) fc_tuple_free(&items[i]);
    free(items);
    return st;
}

/* The batch transforms on batch b of the epoch (b seeds their draws). */
static fc_status batch_tfms(fc_dataloader *dl, int64_t b, fc_tuple *out) {
    if (!dl->n_after) return FC_OK;
    fc_rng rng = {dl->seed ^ ~ITEM_SEED_MIX, ((uint64_t)dl->epoch << 44) + ((uint64_t)b << 16)};
    fc_tfm_ctx ctx = {.split = dl->split, .index = b, .rng = &rng};
    return fci_tfms_encode_tuple(dl->after, dl->n_after, out, &ctx);
}

/* Items idx[m] as batch number b. */
static fc_status make_batch_of(fc_dataloader *dl, const int64_t *idx, int64_t m, int64_t b, fc_tuple *out) {
    fc_scope *outer = fci_scope_suspend(); /* the batch belongs to its tuple, not to a scope */
    *out = (fc_tuple){0};
    fc_status st = dl->ds->def->get_batch && !dl->before_batch
                       ? dl->ds->def->get_batch(dl->ds->state, idx, m, out)
                       : make_items_batch(dl, idx, m, out);
    if (st == FC_OK) st = batch_tfms(dl, b, out);
    if (st != FC_OK) fc_tuple_free(out);
    fci_scope_resume(outer);
    return st;
}

static fc_status make_batch(fc_dataloader *dl, int64_t b, fc_tuple *out) {
    int64_t m = dl->n_take - b * dl->bs < dl->bs ? dl->n_take - b * dl->bs : dl->bs;
    return make_batch_of(dl, dl->take + b * dl->bs, m, b, out);
}

/* ---- workers ---- */

static void *worker(void *arg) {
    fc_dataloader *dl = arg;
    pthread_mutex_lock(&dl->mu);
    while (!dl->stop && dl->next_make < dl->n_batches) {
        int64_t b = dl->next_make;
        if (b >= dl->next_take + dl->prefetch) { /* the ring is full: wait for the consumer */
            pthread_cond_wait(&dl->cv_space, &dl->mu);
            continue;
        }
        dl->next_make++;
        pthread_mutex_unlock(&dl->mu);
        fc_tuple batch;
        fc_status st = make_batch(dl, b, &batch);
        pthread_mutex_lock(&dl->mu);
        slot *s = &dl->slots[b % dl->prefetch];
        s->b = b;
        s->batch = batch;
        s->st = st;
        if (st != FC_OK) { /* errors are per thread: carry the message to the consumer */
            snprintf(s->msg, sizeof s->msg, "%s", fc_error_message());
            fc_error_clear();
        }
        pthread_cond_broadcast(&dl->cv_ready);
    }
    pthread_mutex_unlock(&dl->mu);
    return NULL;
}

static void stop_workers(fc_dataloader *dl) {
    if (!dl->n_threads) return;
    pthread_mutex_lock(&dl->mu);
    dl->stop = 1;
    pthread_cond_broadcast(&dl->cv_space);
    pthread_mutex_unlock(&dl->mu);
    for (int i = 0; i < dl->n_threads; i++) pthread_join(dl->threads[i], NULL);
    dl->n_threads = 0;
    for (int i = 0; i < dl->prefetch; i++) {
        if (dl->slots[i].b >= 0) fc_tuple_free(&dl->slots[i].batch);
        dl->slots[i].b = -1;
    }
}

/* ---- the public loader ---- */

fc_dataloader *fc_dataloader_new_(fc_dataset *ds, const fc_dataloader_opts *o) {
    fc_dataloader_opts z = {0};
    if (!o) o = &z;
    fc_dataloader *dl = NULL;
    if (!ds) goto fail;
    if (o->bs < 0 || o->n_workers < 0 || o->prefetch < 0) {
        fc_fail(FC_ERR_ARG, "dataloader: expected bs, n_workers and prefetch >= 0, found %lld, %d, %d",
                (long long)o->bs, o->n_workers, o->prefetch);
        goto fail;
    }
    dl = fci_calloc(1, sizeof *dl);
    if (!dl) goto fail;
    dl->ds = ds;
    dl->bs = o->bs ? o->bs : 64;
    dl->n = fc_dataset_len(ds);
    dl->shuffle = o->shuffle;
    dl->drop_last = o->drop_last;
    dl->seed = o->seed ? o->seed : 42;
    dl->n_workers = o->n_workers;
    dl->prefetch = o->prefetch ? o->prefetch : 2 * (o->n_workers ? o->n_workers : 1);
    dl->split = o->split;
    dl->before_batch = o->before_batch;
    dl->before_batch_ctx = o->before_batch_ctx;
    dl->n_batches = dl->drop_last ? dl->n / dl->bs : (dl->n + dl->bs - 1) / dl->bs;
    dl->n_take = dl->n;
    dl->order = malloc((size_t)(dl->n ? dl->n : 1) * sizeof *dl->order);
    dl->slots = calloc((size_t)dl->prefetch, sizeof *dl->slots);
    dl->threads = calloc((size_t)(dl->n_workers ? dl->n_workers : 1), sizeof *dl->threads);
    dl->after = calloc((size_t)(o->after_batch.n ? o->after_batch.n : 1), sizeof *dl->after);
    if (!dl->order || !dl->slots || !dl->threads || !dl->after) {
        fc_fail(FC_ERR_NOMEM, "dataloader: out of memory for %lld items", (long long)dl->n);
        free(dl->order);
        free(dl->slots);
        free(dl->threads);
        free(dl->after);
        fci_free(dl);
        goto fail;
    }
    for (int i = 0; i < o->after_batch.n; i++)
        if (o->after_batch.t[i]) dl->after[dl->n_after++] = o->after_batch.t[i];
    fci_tfms_sort(dl->after, dl->n_after);
    for (int i = 0; i < dl->prefetch; i++) dl->slots[i].b = -1;
    pthread_mutex_init(&dl->mu, NULL);
    pthread_cond_init(&dl->cv_ready, NULL);
    pthread_cond_init(&dl->cv_space, NULL);
    if (o->device.type != FC_DEVICE_CPU && fc_dataloader_set_device(dl, o->device) != FC_OK) {
        fc_dataloader_free(dl); /* frees ds and the transforms */
        return NULL;
    }
    if (o->after_batch.n != dl->n_after) { /* a NULL transform: an earlier constructor failed */
        fc_dataloader_free(dl);
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "dataloader: a batch transform is NULL");
        return NULL;
    }
    return dl;
fail:
    fc_dataset_free(ds);
    for (int i = 0; i < o->after_batch.n; i++) fc_transform_free(o->after_batch.t[i]);
    return NULL;
}

/* Drops the batch uploaded ahead (and a kept error): a new epoch, a new device or the end. */
static void drop_ahead(fc_dataloader *dl) {
    if (dl->has_ahead) fc_tuple_free(&dl->ahead);
    dl->has_ahead = 0;
    dl->ahead_st = FC_OK;
}

void fc_dataloader_free(fc_dataloader *dl) {
    if (!dl) return;
    stop_workers(dl);
    drop_ahead(dl);
    fci_device_feed_free(dl->feed);
    for (int i = 0; i < dl->n_after; i++) fc_transform_free(dl->after[i]);
    pthread_mutex_destroy(&dl->mu);
    pthread_cond_destroy(&dl->cv_ready);
    pthread_cond_destroy(&dl->cv_space);
    fc_dataset_free(dl->ds);
    free(dl->order);
    free(dl->shard);
    free(dl->slots);
    free(dl->threads);
    free(dl->after);
    fci_free(dl);
}

fc_status fc_dataloader_start(fc_dataloader *dl, int epoch) {
    if (!dl) return fc_fail(FC_ERR_ARG, "dataloader_start: NULL loader");
    if (epoch < 0) return fc_fail(FC_ERR_ARG, "dataloader_start: expected epoch >= 0, found %d", epoch);
    stop_workers(dl);
    drop_ahead(dl);
    dl->epoch = epoch;
    for (int64_t i = 0; i < dl->n; i++) dl->order[i] = i;
    if (dl->shuffle) { /* Fisher-Yates from (seed, epoch) alone */
        fc_rng g = {dl->seed, (uint64_t)epoch << 32};
        for (int64_t i = dl->n - 1; i > 0; i--) {
            uint64_t r = ((uint64_t)fc_rng_u32(&g) << 32) | fc_rng_u32(&g);
            int64_t j = (int64_t)(r % (uint64_t)(i + 1));
            int64_t t = dl->order[i];
            dl->order[i] = dl->order[j];
            dl->order[j] = t;
        }
    }
    if (dl->ds->def->before_epoch) { /* SortedDL's order, LMDataLoader's streams */
        fc_status st = dl->ds->def->before_epoch(dl->ds->state, epoch, dl->seed, dl->bs, dl->order, dl->n);
        if (st != FC_OK) {
            dl->started = 0;
            return fc_error_code() != FC_OK ? st
                                            : fc_fail(st, "dataloader_start: the dataset's before_epoch failed without saying why");
        }
    }
    dl->take = dl->order;
    dl->n_take = dl->n;
    if (dl->shard_world > 1 && dl->n > 0) { /* DistributedSampler: pad by wrapping, then stride */
        int64_t w = dl->shard_world, m = (dl->n + w - 1) / w;
        for (int64_t j = 0; j < m; j++) dl->shard[j] = dl->order[(j * w + dl->shard_rank) % dl->n];
        dl->take = dl->shard;
        dl->n_take = m;
    }
    dl->next_make = dl->next_take = 0;
    dl->stop = 0;
    dl->started = 1;
    for (int i = 0; i < dl->n_workers && i < dl->n_batches; i++) {
        if (pthread_create(&dl->threads[i], NULL, worker, dl) != 0) {
            fc_status st = fc_fail(FC_ERR_INTERNAL, "dataloader: cannot start worker thread %d", i);
            stop_workers(dl);
            return st;
        }
        dl->n_threads++;
    }
    return FC_OK;
}

/* The next batch on the host (fc_dataloader_next's contract). */
static int next_host(fc_dataloader *dl, fc_tuple *batch) {
    *batch = (fc_tuple){0};
    if (!dl->started) {
        fc_status st = fc_dataloader_start(dl, 0);
        if (st != FC_OK) return st;
    }
    if (dl->next_take >= dl->n_batches) return 0;
    if (!dl->n_threads) {
        fc_status st = make_batch(dl, dl->next_take, batch);
        if (st != FC_OK) {
            dl->next_take = dl->n_batches; /* the epoch cannot go on in order */
            return st;
        }
        dl->next_take++;
        return 1;
    }
    pthread_mutex_lock(&dl->mu);
    slot *s = &dl->slots[dl->next_take % dl->prefetch];
    while (s->b != dl->next_take) pthread_cond_wait(&dl->cv_ready, &dl->mu);
    fc_status st = s->st;
    char msg[sizeof s->msg];
    if (st != FC_OK) memcpy(msg, s->msg, sizeof msg); /* the slot is reused once released */
    *batch = s->batch;
    s->batch = (fc_tuple){0};
    s->b = -1;
    dl->next_take++;
    pthread_cond_broadcast(&dl->cv_space);
    pthread_mutex_unlock(&dl->mu);
    if (st != FC_OK) {
        fc_fail(st, "%s", msg);
        stop_workers(dl); /* the epoch cannot go on in order */
        dl->next_take = dl->n_batches;
        return st;
    }
    return 1;
}

/* The next host batch uploaded to the feed's device into *out: 1, 0 at the end, or an error. */
static int next_uploaded(fc_dataloader *dl, fc_tuple *out) {
    fc_tuple h;
    int r = next_host(dl, &h);
    if (r <= 0) return r;
    fc_status st = fci_device_feed_upload(dl->feed, &h, out);
    fc_tuple_free(&h);
    if (st != FC_OK) {
        stop_workers(dl); /* the epoch cannot go on in order */
        dl->next_take = dl->n_batches;
        return st;
    }
    return 1;
}

int fc_dataloader_next(fc_dataloader *dl, fc_tuple *batch) {
    if (!dl || !batch) return fc_fail(FC_ERR_ARG, "dataloader_next: NULL loader or batch");
    if (!dl->feed) return next_host(dl, batch);
    *batch = (fc_tuple){0};
    if (dl->ahead_st != FC_OK) { /* making this batch failed while the previous one was out */
        fc_status st = dl->ahead_st;
        dl->ahead_st = FC_OK;
        fc_fail(st, "%s", dl->ahead_msg);
        return st;
    }
    if (!dl->has_ahead) {
        int r = next_uploaded(dl, &dl->ahead);
        if (r <= 0) return r;
        dl->has_ahead = 1;
    }
    *batch = dl->ahead;
    dl->ahead = (fc_tuple){0};
    dl->has_ahead = 0;
    /* the next batch's copy is queued now, so it runs while the caller computes on this one */
    int r = next_uploaded(dl, &dl->ahead);
    if (r == 1) dl->has_ahead = 1;
    if (r < 0) {
        dl->ahead_st = r;
        snprintf(dl->ahead_msg, sizeof dl->ahead_msg, "%s", fc_error_message());
        fc_error_clear();
    }
    return 1;
}

fc_status fc_dataloader_set_device(fc_dataloader *dl, fc_device d) {
    if (!dl) return fc_error_code() ? fc_error_code() : fc_fail(FC_ERR_ARG, "dataloader_set_device: NULL loader");
    fc_device cur = fci_device_feed_device(dl->feed);
    if (cur.type == d.type && cur.index == d.index) return FC_OK;
    fc_status st = fci_device_feed_check("dataloader", d);
    if (st != FC_OK) return st;
    fci_device_feed *f = d.type == FC_DEVICE_CPU ? NULL : fci_device_feed_new(d);
    if (d.type != FC_DEVICE_CPU && !f) return fc_error_code();
    stop_workers(dl); /* an epoch in progress restarts on the new device */
    drop_ahead(dl);
    dl->started = 0;
    fci_device_feed_free(dl->feed);
    dl->feed = f;
    return FC_OK;
}

fc_device fc_dataloader_device(const fc_dataloader *dl) { return dl ? fci_device_feed_device(dl->feed) : FC_CPU; }

/* On the host even when the loader delivers on a device: show_batch and the decoders read it there. */
fc_status fc_dataloader_one_batch(fc_dataloader *dl, fc_tuple *batch) {
    fc_status st = fc_dataloader_start(dl, 0);
    if (st != FC_OK) return st;
    int r = next_host(dl, batch);
    if (r == 0) st = fc_fail(FC_ERR_ARG, "one_batch: the loader has no batch (%lld items, bs %lld%s)",
                             (long long)dl->n, (long long)dl->bs, dl->drop_last ? ", drop_last" : "");
    else st = r < 0 ? r : FC_OK;
    stop_workers(dl);
    drop_ahead(dl);
    dl->started = 0;
    return st;
}

fc_status fc_dataloader_decode_batch(fc_dataloader *dl, const fc_tuple *batch, fc_tuple **items,
                                     int64_t *n) {
    if (!dl || !batch || !items || !n) return fc_fail(FC_ERR_ARG, "decode_batch: NULL argument");
    fc_scope *outer = fci_scope_suspend();
    fc_tuple copy = {.n = batch->n, .n_inp = batch->n_inp};
    fc_status st = FC_OK;
    for (int j = 0; j < batch->n && st == FC_OK; j++) st = fci_value_copy(&batch->v[j], &copy.v[j]);
    if (st == FC_OK) st = fci_tfms_decode_tuple(dl->after, dl->n_after, &copy);
    if (st == FC_OK) st = fci_uncollate(&copy, items, n);
    fc_tuple_free(&copy);
    for (int64_t i = 0; st == FC_OK && dl->ds->def->decode && i < *n; i++)
        st = dl->ds->def->decode(dl->ds->state, &(*items)[i]);
    if (st != FC_OK && *items) {
        for (int64_t i = 0; i < *n; i++) fc_tuple_free(&(*items)[i]);
        free(*items);
        *items = NULL;
        *n = 0;
    }
    fci_scope_resume(outer);
    return st;
}

/* ---- train + valid ---- */

fc_dataloaders *fc_dataloaders_new(fc_dataloader *train, fc_dataloader *valid) {
    fc_dataloaders *dls = train && valid ? fci_calloc(1, sizeof *dls) : NULL;
    if (!dls) {
        if ((!train || !valid) && fc_error_code() == FC_OK)
            fc_fail(FC_ERR_ARG, "dataloaders: the %s loader is NULL", train ? "valid" : "train");
        fc_dataloader_free(train);
        fc_dataloader_free(valid);
        return NULL;
    }
    dls->train = train;
    dls->valid = valid;
    return dls;
}

void fc_dataloaders_free(fc_dataloaders *dls) {
    if (!dls) return;
    fc_dataloader_free(dls->train);
    fc_dataloader_free(dls->valid);
    fci_free(dls);
}

fc_dataloaders *fc_tensor_dls_(fc_tensor *x_train, fc_tensor *y_train, fc_tensor *x_valid,
                               fc_tensor *y_valid, const fc_tensor_dls_opts *o) {
    fc_tensor_dls_opts z = {0};
    if (!o) o = &z;
    if (o->bs < 0) {
        fc_fail(FC_ERR_ARG, "tensor_dls: expected .bs >= 0, found %lld", (long long)o->bs);
        return NULL;
    }
    if (!x_train || !y_train || !x_valid || !y_valid) return NULL;
    int64_t bs = o->bs ? o->bs : 64;
    uint64_t seed = o->seed ? o->seed : 42;
    const fc_kind *xk = fc_tensor_ndim(x_train) == 4 ? fc_kind_image : fc_kind_tensor;
    fc_dataloader *train = fc_dataloader_new(fc_tensor_dataset(x_train, xk, y_train, NULL), .bs = bs,
                                             .shuffle = !o->no_shuffle, .drop_last = o->drop_last,
                                             .seed = seed, .split = FC_SPLIT_TRAIN);
    fc_dataloader *valid = fc_dataloader_new(fc_tensor_dataset(x_valid, xk, y_valid, NULL), .bs = 2 * bs,
                                             .seed = seed, .split = FC_SPLIT_VALID);
    return fc_dataloaders_new(train, valid);
}

/* ---- batch transforms added after construction (vision_learner's Normalize) ---- */

fc_status fc_dataloader_add_tfm(fc_dataloader *dl, fc_transform *tf) {
    if (!dl || !tf) {
        fc_transform_free(tf);
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "dataloader_add_tfm: NULL %s", dl ? "transform" : "loader");
    }
    fc_transform **grown = realloc(dl->after, (size_t)(dl->n_after + 1) * sizeof *grown);
    if (!grown) {
        fc_transform_free(tf);
        return fc_fail(FC_ERR_NOMEM, "dataloader_add_tfm: out of memory");
    }
    stop_workers(dl); /* batches made ahead did not run the new transform */
    dl->started = 0;
    dl->after = grown;
    dl->after[dl->n_after++] = tf;
    fci_tfms_sort(dl->after, dl->n_after);
    return FC_OK;
}

int fc_dataloader_n_tfms(const fc_dataloader *dl) { return dl ? dl->n_after : 0; }

fc_transform *fc_dataloader_tfm_at(const fc_dataloader *dl, int i) {
    return dl && i >= 0 && i < dl->n_after ? dl->after[i] : NULL;
}

/* ---- added by h-vinterp: other splits, chosen items, an item from text ---- */

fc_split_idx fc_dataloader_split(const fc_dataloader *dl) { return dl ? dl->split : FC_SPLIT_BOTH; }

fc_split_idx fc_dataloader_set_split(fc_dataloader *dl, fc_split_idx split) {
    if (!dl) return FC_SPLIT_BOTH;
    fc_split_idx old = dl->split;
    stop_workers(dl); /* batches made ahead ran the old split's transforms */
    dl->started = 0;
    dl->split = split;
    return old;
}

int fc_dataloader_is_shuffled(const fc_dataloader *dl) { return dl ? dl->shuffle : 0; }

fc_status fc_dataloader_batch_of(fc_dataloader *dl, const int64_t *idx, int64_t n, fc_tuple *batch) {
    if (batch) *batch = (fc_tuple){0};
    if (!dl || !batch || (!idx && n > 0)) return fc_fail(FC_ERR_ARG, "dataloader_batch_of: NULL argument");
    if (n < 1) return fc_fail(FC_ERR_ARG, "dataloader_batch_of: expected n >= 1 items, found %lld", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= dl->n)
            return fc_fail(FC_ERR_ARG, "dataloader_batch_of: idx[%lld] = %lld is outside [0, %lld)", (long long)i,
                           (long long)idx[i], (long long)dl->n);
    return make_batch_of(dl, idx, n, 0, batch);
}

fc_status fc_dataloader_batch_from_text(fc_dataloader *dl, const char *text, fc_tuple *batch) {
    if (batch) *batch = (fc_tuple){0};
    if (!dl || !text || !batch) return fc_fail(FC_ERR_ARG, "dataloader_batch_from_text: NULL argument");
    fc_scope *outer = fci_scope_suspend();
    fc_rng rng = {dl->seed ^ ITEM_SEED_MIX, (uint64_t)dl->epoch << 44};
    fc_tfm_ctx ctx = {.split = dl->split, .index = 0, .rng = &rng};
    fc_tuple item = {0};
    fc_status st = fc_dataset_item_from_text(dl->ds, text, &ctx, &item);
    if (st == FC_OK) st = collate_items(dl, &item, 1, batch);
    if (st == FC_OK) st = batch_tfms(dl, 0, batch);
    if (st != FC_OK) fc_tuple_free(batch);
    fc_tuple_free(&item);
    fci_scope_resume(outer);
    return st;
}

/* ---- added by h-mpi: the distributed sampler ---- */

fc_status fc_dataloader_set_shard(fc_dataloader *dl, int rank, int world) {
    if (!dl) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "dataloader_set_shard: NULL loader");
    if (world < 1 || rank < 0 || rank >= world)
        return fc_fail(FC_ERR_ARG, "dataloader_set_shard: expected 0 <= rank < world, found rank %d, world %d", rank, world);
    int64_t m = world > 1 ? (dl->n + world - 1) / world : dl->n;
    int64_t *shard = NULL;
    if (world > 1 && !(shard = malloc((size_t)(m ? m : 1) * sizeof *shard)))
        return fc_fail(FC_ERR_NOMEM, "dataloader_set_shard: out of memory for %lld items", (long long)m);
    stop_workers(dl); /* batches made ahead were the old shard's */
    dl->started = 0;
    free(dl->shard);
    dl->shard = shard;
    dl->shard_rank = rank;
    dl->shard_world = world;
    dl->n_take = m;
    dl->n_batches = dl->drop_last ? m / dl->bs : (m + dl->bs - 1) / dl->bs;
    return FC_OK;
}

int fc_dataloader_shard(const fc_dataloader *dl, int *rank) {
    if (rank) *rank = dl && dl->shard_world > 1 ? dl->shard_rank : 0;
    return dl && dl->shard_world > 1 ? dl->shard_world : 1;
}

int64_t fc_dataloader_n_epoch_items(const fc_dataloader *dl) {
    if (!dl) return 0;
    return dl->shard_world > 1 ? (dl->n + dl->shard_world - 1) / dl->shard_world : dl->n;
}
