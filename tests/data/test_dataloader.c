/* The DataLoader: batch counts and shapes, drop_last, shuffle reproducible from (seed, epoch),
 * worker threads giving the same batches as the calling thread, collation (stacked or listed),
 * batch transforms with kinds and split_idx, decode_batch, and errors carried from workers. */
#include <stdlib.h>
#include <string.h>

#include "fastc/data.h"
#include "fct.h"

/* x[i] = [i, 10 i] (f32), y[i] = i (i64): a batch tells which items it holds. */
static void make_xy(int64_t n, fc_tensor **x, fc_tensor **y) {
    float *xs = malloc((size_t)n * 2 * sizeof *xs);
    int64_t *ys = malloc((size_t)n * sizeof *ys);
    for (int64_t i = 0; i < n; i++) {
        xs[2 * i] = (float)i;
        xs[2 * i + 1] = 10.0f * (float)i;
        ys[i] = i;
    }
    *x = fc_from_data(xs, FC_SHAPE(n, 2));
    *y = fc_from_data(ys, FC_SHAPE(n), .dtype = FC_DTYPE_I64);
    free(xs);
    free(ys);
}

static fc_dataloader *loader(int64_t n, fc_dataloader_opts o) {
    fc_tensor *x, *y;
    make_xy(n, &x, &y);
    fc_dataloader *dl = fc_dataloader_new_(fc_tensor_dataset(x, NULL, y, NULL), &o);
    fc_tensor_free(x);
    fc_tensor_free(y);
    return dl;
}

/* The item ids of one epoch, in order, into ids (n_seen returned). */
static int64_t epoch_ids(fc_dataloader *dl, int epoch, int64_t *ids, int64_t *bs_sizes) {
    int64_t n = 0, b = 0;
    FCT_OK(fc_dataloader_start(dl, epoch));
    fc_tuple batch;
    int r;
    while ((r = fc_dataloader_next(dl, &batch)) == 1) {
        fc_tensor *y = batch.v[1].t;
        if (bs_sizes) bs_sizes[b] = fc_tensor_dim(y, 0);
        b++;
        for (int64_t i = 0; i < fc_tensor_dim(y, 0); i++) ids[n++] = (int64_t)fc_tensor_get(y, i);
        fc_tuple_free(&batch);
    }
    FCT_EQ_INT(r, 0);
    return n;
}

FCT_TEST(test_dataloader_batches_in_order_with_a_short_last_batch) {
    fc_dataloader *dl = loader(10, (fc_dataloader_opts){.bs = 4});
    if (!FCT_NOTNULL(dl)) return;
    FCT_EQ_INT(fc_dataloader_len(dl), 3);
    FCT_EQ_INT(fc_dataloader_n(dl), 10);
    int64_t ids[10], sizes[3];
    FCT_EQ_INT(epoch_ids(dl, 0, ids, sizes), 10);
    for (int i = 0; i < 10; i++) FCT_EQ_INT(ids[i], i);
    FCT_EQ_INT(sizes[2], 2);
    fc_tuple b;
    FCT_OK(fc_dataloader_one_batch(dl, &b));
    FCT_EQ_INT(b.n, 2);
    FCT_EQ_INT(b.n_inp, 1);
    FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 0), 4);
    FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 1), 2);
    FCT_NEAR(fc_tensor_get(b.v[0].t, 7), 30.0, 0); /* x[3] = [3, 30] */
    fc_tuple_free(&b);
    fc_dataloader_free(dl);
}

FCT_TEST(test_dataloader_drop_last) {
    fc_dataloader *dl = loader(10, (fc_dataloader_opts){.bs = 4, .drop_last = 1, .shuffle = 1});
    if (!FCT_NOTNULL(dl)) return;
    FCT_EQ_INT(fc_dataloader_len(dl), 2);
    int64_t ids[10];
    FCT_EQ_INT(epoch_ids(dl, 0, ids, NULL), 8);
    fc_dataloader_free(dl);
}

FCT_TEST(test_dataloader_shuffle_is_a_permutation_reproducible_from_seed_and_epoch) {
    fc_dataloader *a = loader(50, (fc_dataloader_opts){.bs = 7, .shuffle = 1, .seed = 3});
    fc_dataloader *b = loader(50, (fc_dataloader_opts){.bs = 7, .shuffle = 1, .seed = 3});
    if (!FCT_NOTNULL(a) || !FCT_NOTNULL(b)) return;
    int64_t a0[50], a1[50], b1[50], b0[50];
    epoch_ids(a, 0, a0, NULL);
    epoch_ids(a, 1, a1, NULL);
    epoch_ids(b, 1, b1, NULL); /* b starts at epoch 1: a resumed run */
    epoch_ids(b, 0, b0, NULL);
    FCT_TRUE(!memcmp(a0, b0, sizeof a0));
    FCT_TRUE(!memcmp(a1, b1, sizeof a1));
    FCT_TRUE(memcmp(a0, a1, sizeof a0) != 0);
    int seen[50] = {0}, in_order = 1;
    for (int i = 0; i < 50; i++) {
        seen[a0[i]]++;
        in_order &= a0[i] == i;
    }
    for (int i = 0; i < 50; i++) FCT_EQ_INT(seen[i], 1);
    FCT_TRUE(!in_order);
    fc_dataloader_free(a);
    fc_dataloader_free(b);
}

/* A transform through the item path (no get_batch fast path): x * 2, decodes / 2; counts calls. */
static fc_status twice_enc(void *st, fc_value *v, const fc_tfm_ctx *ctx) {
    fc_value_set_tensor(v, NULL, fc_mul_scalar(v->t, 2.0));
    return v->t ? FC_OK : fc_error_code();
}
static fc_status twice_dec(void *st, fc_value *v) {
    fc_value_set_tensor(v, NULL, fc_mul_scalar(v->t, 0.5));
    return v->t ? FC_OK : fc_error_code();
}
static const fc_kind *const image_only[] = {fc_kind_image, NULL};
static const fc_transform_def twice_def = {
    .name = "twice", .kinds = image_only, .encodes = twice_enc, .decodes = twice_dec};
static const fc_transform_def twice_train_def = {
    .name = "twice_train", .split_idx = FC_SPLIT_TRAIN, .kinds = image_only, .encodes = twice_enc};

static fc_status no_op_before_batch(void *ctx, fc_tuple *items, int64_t n) {
    (*(int64_t *)ctx) += n;
    return FC_OK;
}

FCT_TEST(test_dataloader_workers_give_the_same_batches_as_the_calling_thread) {
    for (int w = 1; w <= 3; w++) {
        int64_t seen0 = 0, seen1 = 0;
        fc_tensor *x, *y;
        make_xy(37, &x, &y);
        fc_dataloader *d0 = fc_dataloader_new(fc_tensor_dataset(x, fc_kind_image, y, NULL), .bs = 5,
                                              .shuffle = 1, .before_batch = no_op_before_batch,
                                              .before_batch_ctx = &seen0,
                                              .after_batch = FC_TFMS(fc_transform_new(&twice_def, NULL)));
        fc_dataloader *d1 = fc_dataloader_new(fc_tensor_dataset(x, fc_kind_image, y, NULL), .bs = 5,
                                              .shuffle = 1, .n_workers = w, .prefetch = w == 3 ? 1 : 0,
                                              .before_batch = no_op_before_batch, .before_batch_ctx = &seen1,
                                              .after_batch = FC_TFMS(fc_transform_new(&twice_def, NULL)));
        fc_tensor_free(x);
        fc_tensor_free(y);
        if (!FCT_NOTNULL(d0) || !FCT_NOTNULL(d1)) return;
        for (int epoch = 0; epoch < 2; epoch++) {
            FCT_OK(fc_dataloader_start(d0, epoch));
            FCT_OK(fc_dataloader_start(d1, epoch));
            fc_tuple b0, b1;
            while (fc_dataloader_next(d0, &b0) == 1) {
                FCT_EQ_INT(fc_dataloader_next(d1, &b1), 1);
                FCT_CLOSE(b1.v[0].t, b0.v[0].t, 0, 0);
                FCT_CLOSE(b1.v[1].t, b0.v[1].t, 0, 0);
                /* doubled: x[i] = [2i, 20i] */
                FCT_NEAR(fc_tensor_get(b0.v[0].t, 1), 20.0 * fc_tensor_get(b0.v[1].t, 0), 0);
                fc_tuple_free(&b0);
                fc_tuple_free(&b1);
            }
            FCT_EQ_INT(fc_dataloader_next(d1, &b1), 0);
        }
        FCT_EQ_INT(seen0, 74);
        FCT_EQ_INT(seen1, 74);
        fc_dataloader_free(d0);
        fc_dataloader_free(d1);
    }
}

FCT_TEST(test_dataloader_stops_early_without_leaking) {
    fc_dataloader *dl = loader(100, (fc_dataloader_opts){.bs = 3, .n_workers = 2});
    if (!FCT_NOTNULL(dl)) return;
    fc_tuple b;
    FCT_EQ_INT(fc_dataloader_next(dl, &b), 1); /* starts epoch 0 on its own */
    fc_tuple_free(&b);
    FCT_OK(fc_dataloader_start(dl, 1)); /* abandons epoch 0 with batches in flight */
    FCT_EQ_INT(fc_dataloader_next(dl, &b), 1);
    fc_tuple_free(&b);
    fc_dataloader_free(dl); /* with batches in flight again */
}

FCT_TEST(test_batch_transform_respects_kinds_split_and_decodes) {
    fc_tensor *x, *y;
    make_xy(6, &x, &y);
    fc_dataloaders *dls = fc_dataloaders_new(
        fc_dataloader_new(fc_tensor_dataset(x, fc_kind_image, y, NULL), .bs = 6, .split = FC_SPLIT_TRAIN,
                          .after_batch = FC_TFMS(fc_transform_new(&twice_train_def, NULL))),
        fc_dataloader_new(fc_tensor_dataset(x, fc_kind_image, y, NULL), .bs = 6, .split = FC_SPLIT_VALID,
                          .after_batch = FC_TFMS(fc_transform_new(&twice_train_def, NULL))));
    if (!FCT_NOTNULL(dls)) return;
    fc_tuple bt, bv;
    FCT_OK(fc_dataloader_one_batch(dls->train, &bt));
    FCT_OK(fc_dataloader_one_batch(dls->valid, &bv));
    FCT_NEAR(fc_tensor_get(bt.v[0].t, 3), 20.0, 0); /* train: doubled */
    FCT_NEAR(fc_tensor_get(bv.v[0].t, 3), 10.0, 0); /* valid: unchanged */
    FCT_NEAR(fc_tensor_get(bt.v[1].t, 3), 3.0, 0);  /* y is not an image: unchanged */
    fc_tuple_free(&bt);
    fc_tuple_free(&bv);
    fc_dataloaders_free(dls);

    fc_dataloader *dl = fc_dataloader_new(fc_tensor_dataset(x, fc_kind_image, y, NULL), .bs = 4,
                                          .after_batch = FC_TFMS(fc_transform_new(&twice_def, NULL)));
    fc_tensor_free(x);
    fc_tensor_free(y);
    if (!FCT_NOTNULL(dl)) return;
    fc_tuple b, *items = NULL;
    int64_t n = 0;
    FCT_OK(fc_dataloader_one_batch(dl, &b));
    FCT_OK(fc_dataloader_decode_batch(dl, &b, &items, &n));
    FCT_EQ_INT(n, 4);
    for (int64_t i = 0; i < n; i++) {
        FCT_TRUE(items[i].v[0].kind == fc_kind_image);
        FCT_EQ_INT(fc_tensor_ndim(items[i].v[0].t), 1);
        FCT_NEAR(fc_tensor_get(items[i].v[0].t, 1), 10.0 * (double)i, 0); /* decoded back */
        FCT_NEAR(fc_tensor_item(items[i].v[1].t), (double)i, 0);
        fc_tuple_free(&items[i]);
    }
    free(items);
    FCT_NEAR(fc_tensor_get(b.v[0].t, 3), 20.0, 0); /* the batch itself is untouched */
    fc_tuple_free(&b);
    fc_dataloader_free(dl);
}

FCT_TEST(test_collate_stacks_equal_shapes_and_lists_different_ones) {
    fc_tuple items[3] = {0};
    for (int i = 0; i < 3; i++) {
        items[i].n = 2;
        items[i].n_inp = 1;
        items[i].v[0] = fc_value_tensor(fc_kind_image, fc_full(FC_SHAPE(1, 2 + i, 2), i));
        items[i].v[1] = fc_value_tensor(fc_kind_category, fc_scalar(i, .dtype = FC_DTYPE_I64));
    }
    fc_tuple b;
    FCT_OK(fc_collate(items, 3, &b));
    FCT_TRUE(b.v[0].t == NULL);
    FCT_EQ_INT(b.v[0].n_list, 3);
    FCT_EQ_INT(fc_tensor_dim(b.v[0].list[2], 1), 4);
    FCT_TRUE(b.v[0].kind == fc_kind_image);
    FCT_EQ_INT(fc_tensor_ndim(b.v[1].t), 1);
    FCT_NEAR(fc_tensor_get(b.v[1].t, 2), 2.0, 0);
    fc_tuple_free(&b);

    fc_value_free(&items[1].v[1]);
    items[1].v[1] = fc_value_text(fc_kind_label, "cat");
    FCT_TRUE(fc_collate(items, 3, &b) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "value 1 of item 1 is label 'cat', not a tensor");
    for (int i = 0; i < 3; i++) fc_tuple_free(&items[i]);
}

/* A dataset whose item 13 cannot be read: the error must reach the consumer, on any thread. */
static int64_t bad_len(void *s) { return 20; }
static fc_status bad_get(void *s, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    if (i == 13) return fc_fail(FC_ERR_FORMAT, "bad_ds: item 13 ('x/13.png') is corrupt");
    out->n = 1;
    out->v[0] = fc_value_tensor(NULL, fc_scalar((double)i));
    return FC_OK;
}
static const fc_dataset_def bad_def = {.name = "bad_ds", .len = bad_len, .get = bad_get};

FCT_TEST(test_dataloader_reports_an_item_error_from_a_worker) {
    for (int w = 0; w <= 2; w += 2) {
        fc_dataloader *dl = fc_dataloader_new(fc_dataset_new(&bad_def, NULL), .bs = 4, .n_workers = w);
        if (!FCT_NOTNULL(dl)) return;
        fc_tuple b;
        int r, n_ok = 0;
        while ((r = fc_dataloader_next(dl, &b)) == 1) {
            n_ok++;
            fc_tuple_free(&b);
        }
        FCT_EQ_INT(n_ok, 3);
        FCT_EQ_INT(r, FC_ERR_FORMAT);
        FCT_ERROR(FC_ERR_FORMAT, "item 13 ('x/13.png') is corrupt");
        FCT_EQ_INT(fc_dataloader_next(dl, &b), 0);
        fc_dataloader_free(dl);
    }
}

FCT_TEST(test_tensor_dls_valid_is_twice_the_batch_size_in_order) {
    fc_tensor *x, *y, *xv, *yv;
    make_xy(100, &x, &y);
    make_xy(30, &xv, &yv);
    fc_dataloaders *dls = fc_tensor_dls(x, y, xv, yv, .bs = 8);
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
    if (!FCT_NOTNULL(dls)) return;
    FCT_EQ_INT(fc_dataloader_bs(dls->valid), 16);
    FCT_EQ_INT(fc_dataloader_len(dls->valid), 2);
    FCT_EQ_INT(fc_dataloader_len(dls->train), 13);
    int64_t ids[30];
    FCT_EQ_INT(epoch_ids(dls->valid, 3, ids, NULL), 30);
    for (int i = 0; i < 30; i++) FCT_EQ_INT(ids[i], i);
    fc_dataloaders_free(dls);
    FCT_NULL(fc_tensor_dls(NULL, NULL, NULL, NULL));
}
