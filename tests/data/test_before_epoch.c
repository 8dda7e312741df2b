/* The dataset's before_epoch hook: called by fc_dataloader_start with the epoch, seed, batch size and
 * the epoch's order (already shuffled when the loader shuffles); the order it writes is the one the
 * batches follow, with worker threads too; a failing hook fails the start with its message. */
#include <stdlib.h>
#include <string.h>

#include "fastc/data.h"
#include "fct.h"

#define N_ITEMS 10

typedef struct hook_state {
    int calls, last_epoch, fail;
    uint64_t last_seed;
    int64_t last_bs, last_n;
    int64_t seen[N_ITEMS]; /* the order as the hook received it */
} hook_state;

static int64_t hook_len(void *p) {
    (void)p;
    return N_ITEMS;
}

static fc_status hook_get(void *p, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    (void)p;
    (void)ctx;
    *out = (fc_tuple){.n = 1, .n_inp = 1};
    out->v[0] = fc_value_tensor(fc_kind_tensor, fc_from_data(&i, FC_SCALAR_SHAPE, .dtype = FC_DTYPE_I64));
    return out->v[0].t ? FC_OK : fc_error_code();
}

/* Records its arguments, then reverses the order (a stand-in for SortedDL's sort). */
static fc_status hook_before_epoch(void *p, int epoch, uint64_t seed, int64_t bs, int64_t *order, int64_t n) {
    hook_state *s = p;
    if (s->fail) return fc_fail(FC_ERR_ARG, "hook: refusing epoch %d", epoch);
    s->calls++;
    s->last_epoch = epoch;
    s->last_seed = seed;
    s->last_bs = bs;
    s->last_n = n;
    memcpy(s->seen, order, (size_t)n * sizeof *order);
    for (int64_t i = 0; i < n / 2; i++) {
        int64_t t = order[i];
        order[i] = order[n - 1 - i];
        order[n - 1 - i] = t;
    }
    return FC_OK;
}

static const fc_dataset_def hook_def = {
    .name = "hook", .len = hook_len, .get = hook_get, .free_state = free, .before_epoch = hook_before_epoch};

static int64_t epoch_ids(fc_dataloader *dl, int epoch, int64_t *ids) {
    int64_t n = 0;
    if (!FCT_OK(fc_dataloader_start(dl, epoch))) return 0;
    fc_tuple b;
    while (fc_dataloader_next(dl, &b) == 1) {
        for (int64_t i = 0; i < fc_tensor_numel(b.v[0].t); i++) ids[n++] = (int64_t)fc_tensor_get(b.v[0].t, i);
        fc_tuple_free(&b);
    }
    return n;
}

FCT_TEST(test_before_epoch_rewrites_the_order_in_place) {
    hook_state *s = calloc(1, sizeof *s);
    fc_dataloader *dl = fc_dataloader_new(fc_dataset_new(&hook_def, s), .bs = 4, .seed = 7);
    if (!FCT_NOTNULL(dl)) return;
    int64_t ids[N_ITEMS];
    FCT_EQ_INT(epoch_ids(dl, 3, ids), N_ITEMS);
    FCT_EQ_INT(s->calls, 1);
    FCT_EQ_INT(s->last_epoch, 3);
    FCT_EQ_INT(s->last_seed, 7);
    FCT_EQ_INT(s->last_bs, 4);
    FCT_EQ_INT(s->last_n, N_ITEMS);
    for (int i = 0; i < N_ITEMS; i++) {
        FCT_EQ_INT(s->seen[i], i); /* unshuffled loader: identity in */
        FCT_EQ_INT(ids[i], N_ITEMS - 1 - i); /* the hook's order out */
    }
    fc_dataloader_free(dl);
}

FCT_TEST(test_before_epoch_sees_the_shuffled_order_and_workers_follow_it) {
    hook_state *s = calloc(1, sizeof *s);
    fc_dataloader *dl = fc_dataloader_new(fc_dataset_new(&hook_def, s), .bs = 3, .shuffle = 1, .n_workers = 2);
    if (!FCT_NOTNULL(dl)) return;
    int64_t ids[N_ITEMS];
    FCT_EQ_INT(epoch_ids(dl, 1, ids), N_ITEMS);
    int moved = 0, seen_sum = 0;
    for (int i = 0; i < N_ITEMS; i++) {
        moved += s->seen[i] != i;
        seen_sum += (int)s->seen[i];
        FCT_EQ_INT(ids[i], s->seen[N_ITEMS - 1 - i]);
    }
    FCT_TRUE(moved > 0);
    FCT_EQ_INT(seen_sum, N_ITEMS * (N_ITEMS - 1) / 2);
    FCT_EQ_INT(s->last_seed, 42);
    fc_tuple b; /* one_batch starts epoch 0: the hook runs again */
    FCT_OK(fc_dataloader_one_batch(dl, &b));
    FCT_EQ_INT(s->calls, 2);
    FCT_EQ_INT(s->last_epoch, 0);
    fc_tuple_free(&b);
    fc_dataloader_free(dl);
}

FCT_TEST(test_before_epoch_failure_fails_the_start) {
    hook_state *s = calloc(1, sizeof *s);
    s->fail = 1;
    fc_dataloader *dl = fc_dataloader_new(fc_dataset_new(&hook_def, s), .bs = 4);
    if (!FCT_NOTNULL(dl)) return;
    FCT_EQ_INT(fc_dataloader_start(dl, 2), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "hook: refusing epoch 2");
    fc_tuple b;
    FCT_TRUE(fc_dataloader_next(dl, &b) < 0); /* next starts epoch 0, which fails too */
    FCT_ERROR(FC_ERR_ARG, "refusing epoch 0");
    fc_dataloader_free(dl);
}
