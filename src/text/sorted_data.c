/* fastai 2.7's SortedDL with pad_input_chunk: classifier items (token ids, label) batched by length
 * so little padding is needed. Valid: sorted by decreasing length. Train (shuffle_fn): a random
 * permutation with the longest document moved first, chunks of bs * 50 sorted by decreasing length,
 * then the batches between the first (it holds the longest: a too-large batch fails at once) and
 * the last shuffled. Each batch is padded to its longest document with xxpad, whole seq_len chunks
 * before the text and the remainder after (pad_first), as fastai's pad_chunk. */
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "../data/data_impl.h"
#include "text_impl.h"

#define SORTED_SHUFFLE_MIX 0x9E3779B97F4A7C15ULL /* the batch shuffle's stream */
#define SORTED_CHUNK_BATCHES 50                  /* fastai: sz = bs * 50 */

typedef struct sorted_state {
    fci_text_info *info; /* first: fci_text_dataset_info reads it */
    int64_t n;
    int64_t *tok;     /* every document's ids, back to back         */
    int64_t *doc_off; /* [n + 1]                                    */
    int64_t *labels;  /* [n]                                        */
    int64_t seq_len, pad_idx, idx_max;
    int shuffle;
} sorted_state;

static int64_t doc_len(const sorted_state *s, int64_t i) { return s->doc_off[i + 1] - s->doc_off[i]; }

static void sorted_free(void *p) {
    sorted_state *s = p;
    if (!s) return;
    free(s->tok);
    free(s->doc_off);
    free(s->labels);
    fci_text_info_free(s->info);
    fci_free(s);
}

static int64_t sorted_len(void *p) { return ((sorted_state *)p)->n; }

static fc_status sorted_get(void *p, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    (void)ctx;
    sorted_state *s = p;
    if (i < 0 || i >= s->n)
        return fc_fail(FC_ERR_ARG, "sorted_dataloader: item %lld is outside [0, %lld)", (long long)i, (long long)s->n);
    fc_tensor *x = fc_from_data(s->tok + s->doc_off[i], FC_SHAPE(doc_len(s, i)), .dtype = FC_DTYPE_I64);
    fc_tensor *y = fc_from_data(&s->labels[i], FC_SCALAR_SHAPE, .dtype = FC_DTYPE_I64);
    if (!x || !y) {
        fc_tensor_free(x);
        fc_tensor_free(y);
        return fc_error_code();
    }
    *out = (fc_tuple){.n = 2, .n_inp = 1};
    out->v[0] = fc_value_tensor(fc_kind_tokens, x);
    out->v[1] = fc_value_tensor(fc_kind_category, y);
    return FC_OK;
}

void fci_pad_chunk(const int64_t *ids, int64_t len, int64_t pad_len, int64_t seq_len, int64_t pad_idx, int pad_first,
                   int64_t *out) {
    int64_t l = pad_len - len, n_chunk = l / seq_len * seq_len, n_res = l % seq_len;
    int64_t *o = out;
    if (pad_first)
        for (int64_t k = 0; k < n_chunk; k++) *o++ = pad_idx;
    memcpy(o, ids, (size_t)len * sizeof *ids);
    o += len;
    for (int64_t k = 0; k < (pad_first ? 0 : n_chunk) + n_res; k++) *o++ = pad_idx;
}

/* fastai's pad_input_chunk (pad_idx 1, pad_first): the inputs of the batch's items padded to the
 * longest. */
static fc_status pad_input_chunk(void *ctx, fc_tuple *items, int64_t n) {
    sorted_state *s = ctx;
    int64_t max_len = 0;
    for (int64_t k = 0; k < n; k++)
        for (int j = 0; j < items[k].n_inp; j++) {
            fc_tensor *t = items[k].v[j].t;
            if (!t || fc_tensor_ndim(t) != 1 || fc_tensor_dtype(t) != FC_DTYPE_I64)
                return fc_fail(FC_ERR_SHAPE, "pad_input_chunk: expected 1-d i64 token ids as input %d of item %lld", j, (long long)k);
            if (fc_tensor_numel(t) > max_len) max_len = fc_tensor_numel(t);
        }
    for (int64_t k = 0; k < n; k++)
        for (int j = 0; j < items[k].n_inp; j++) {
            fc_tensor *t = items[k].v[j].t;
            int64_t len = fc_tensor_numel(t);
            if (len == max_len) continue;
            fc_tensor *src = fc_tensor_is_contiguous(t) ? t : NULL;
            int64_t *ids = src ? fc_tensor_data(t) : malloc((size_t)(len ? len : 1) * sizeof *ids);
            fc_tensor *padded = fc_tensor_new(FC_SHAPE(max_len), FC_DTYPE_I64);
            if (!ids || !padded || (!src && fc_tensor_copy_out(t, ids, FC_DTYPE_I64) != FC_OK)) {
                if (!src) free(ids);
                fc_tensor_free(padded);
                return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_NOMEM, "pad_input_chunk: out of memory");
            }
            fci_pad_chunk(ids, len, max_len, s->seq_len, s->pad_idx, 1, fc_tensor_data(padded));
            if (!src) free(ids);
            fc_value_set_tensor(&items[k].v[j], NULL, padded);
        }
    return FC_OK;
}

typedef struct len_key {
    int64_t len, pos, idx;
} len_key;

static int by_len_desc(const void *a, const void *b) { /* stable: ties keep their position */
    const len_key *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? 1 : -1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* order[n] sorted by decreasing length, ties in their order (Python's sorted(reverse=True)). */
static fc_status sort_by_len(const sorted_state *s, int64_t *order, int64_t n) {
    len_key *k = malloc((size_t)(n ? n : 1) * sizeof *k);
    if (!k) return fc_fail(FC_ERR_NOMEM, "sorted_dataloader: out of memory for %lld items", (long long)n);
    for (int64_t i = 0; i < n; i++) k[i] = (len_key){doc_len(s, order[i]), i, order[i]};
    qsort(k, (size_t)n, sizeof *k, by_len_desc);
    for (int64_t i = 0; i < n; i++) order[i] = k[i].idx;
    free(k);
    return FC_OK;
}

/* Valid: get_idxs sorted. Train: shuffle_fn on the loader's random permutation. */
static fc_status sorted_before_epoch(void *p, int epoch, uint64_t seed, int64_t bs, int64_t *order, int64_t n) {
    sorted_state *s = p;
    if (!s->shuffle) return sort_by_len(s, order, n);
    for (int64_t i = 0; i < n; i++)
        if (order[i] == s->idx_max) {
            order[i] = order[0];
            order[0] = s->idx_max;
            break;
        }
    int64_t sz = bs * SORTED_CHUNK_BATCHES;
    for (int64_t i = 0; i < n; i += sz) {
        fc_status st = sort_by_len(s, order + i, n - i < sz ? n - i : sz);
        if (st != FC_OK) return st;
    }
    int64_t n_b = (n + bs - 1) / bs; /* batches; the first and the last stay */
    if (n_b <= 3) return FC_OK; /* at most one middle batch: nothing to permute */
    int64_t n_mid = n_b - 2, *bperm = malloc((size_t)n_mid * sizeof *bperm), *copy = malloc((size_t)n * sizeof *copy);
    if (!bperm || !copy) {
        free(bperm);
        free(copy);
        return fc_fail(FC_ERR_NOMEM, "sorted_dataloader: out of memory for %lld items", (long long)n);
    }
    fc_rng g = {seed ^ SORTED_SHUFFLE_MIX, (uint64_t)epoch << 32};
    for (int64_t i = 0; i < n_mid; i++) bperm[i] = i + 1;
    for (int64_t i = n_mid - 1; i > 0; i--) {
        uint64_t r = ((uint64_t)fc_rng_u32(&g) << 32) | fc_rng_u32(&g);
        int64_t j = (int64_t)(r % (uint64_t)(i + 1)), t = bperm[i];
        bperm[i] = bperm[j];
        bperm[j] = t;
    }
    memcpy(copy, order, (size_t)n * sizeof *copy);
    int64_t pos = bs; /* the middle batches are all full: only the last may be short */
    for (int64_t i = 0; i < n_mid; i++, pos += bs) memcpy(order + pos, copy + bperm[i] * bs, (size_t)bs * sizeof *order);
    free(bperm);
    free(copy);
    return FC_OK;
}

static fc_status sorted_decode(void *p, fc_tuple *item) {
    sorted_state *s = p;
    return s->info && s->info->decode ? s->info->decode(s->info, item) : FC_OK;
}

static fc_status sorted_item_from_text(void *p, const char *text, const fc_tfm_ctx *ctx, fc_tuple *out) {
    (void)ctx;
    sorted_state *s = p;
    if (!s->info || !s->info->numericalize)
        return fc_fail(FC_ERR_UNSUPPORTED, "sorted_dataloader: item_from_text needs a vocabulary (make the loaders with fc_text_dls_*)");
    fc_tensor *x = s->info->numericalize(s->info, text);
    if (!x) return fc_error_code();
    *out = (fc_tuple){.n = 1, .n_inp = 1};
    out->v[0] = fc_value_tensor(fc_kind_tokens, x);
    return FC_OK;
}

const fc_dataset_def fci_sorted_dataset_def = {
    .name = "sorted_text_dataset",
    .len = sorted_len,
    .get = sorted_get,
    .decode = sorted_decode,
    .free_state = sorted_free,
    .item_from_text = sorted_item_from_text,
    .before_epoch = sorted_before_epoch,
};

static fc_status sorted_load(sorted_state *s, fc_tensor *const *docs, const int64_t *labels, int64_t n) {
    s->doc_off = malloc((size_t)(n + 1) * sizeof *s->doc_off);
    s->labels = malloc((size_t)n * sizeof *s->labels);
    if (!s->doc_off || !s->labels) return fc_fail(FC_ERR_NOMEM, "sorted_dataloader: out of memory for %lld documents", (long long)n);
    memcpy(s->labels, labels, (size_t)n * sizeof *labels);
    s->doc_off[0] = 0;
    for (int64_t d = 0; d < n; d++) {
        if (!docs[d]) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "sorted_dataloader: docs[%lld] is NULL", (long long)d);
        if (fc_tensor_ndim(docs[d]) != 1 || fc_dtype_is_float(fc_tensor_dtype(docs[d]))) {
            char sh[96];
            return fc_fail(FC_ERR_SHAPE, "sorted_dataloader: expected docs[%lld] to be 1-d integer token ids, found %s %s", (long long)d,
                           fc_dtype_name(fc_tensor_dtype(docs[d])), fc_shape_str(fc_tensor_shape(docs[d]), sh, sizeof sh));
        }
        s->doc_off[d + 1] = s->doc_off[d] + fc_tensor_numel(docs[d]);
        if (doc_len(s, d) > doc_len(s, s->idx_max)) s->idx_max = d; /* np.argmax: the first longest */
    }
    s->tok = malloc((size_t)(s->doc_off[n] ? s->doc_off[n] : 1) * sizeof *s->tok);
    if (!s->tok) return fc_fail(FC_ERR_NOMEM, "sorted_dataloader: out of memory for %lld tokens", (long long)s->doc_off[n]);
    for (int64_t d = 0; d < n; d++) {
        fc_status st = fc_tensor_copy_out(docs[d], s->tok + s->doc_off[d], FC_DTYPE_I64);
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

fc_dataloader *fci_sorted_dataloader(fc_tensor *const *docs, const int64_t *labels, int64_t n,
                                     const fc_sorted_dl_opts *o, fci_text_info *info) {
    fc_sorted_dl_opts z = {0};
    if (!o) o = &z;
    if (!docs || !labels || n < 1 || o->bs < 0 || o->seq_len < 0) {
        fci_text_info_free(info);
        fc_fail(FC_ERR_ARG, "sorted_dataloader: expected docs, labels, n >= 1 and .bs, .seq_len >= 0, found %s, %s, %lld, %lld, %lld",
                docs ? "docs" : "NULL", labels ? "labels" : "NULL", (long long)n, (long long)o->bs, (long long)o->seq_len);
        return NULL;
    }
    sorted_state *s = fci_calloc(1, sizeof *s);
    if (!s) {
        fci_text_info_free(info);
        return NULL;
    }
    s->info = info;
    s->n = n;
    s->seq_len = o->seq_len ? o->seq_len : 72;
    s->pad_idx = FC_TOK_PAD;
    s->shuffle = o->shuffle;
    if (sorted_load(s, docs, labels, n) != FC_OK) {
        sorted_free(s);
        return NULL;
    }
    /* fastai's DataLoaders drop the training loader's last incomplete batch (drop_last = shuffle) */
    return fc_dataloader_new(fc_dataset_new(&fci_sorted_dataset_def, s), .bs = o->bs ? o->bs : 64, .shuffle = o->shuffle,
                             .drop_last = o->shuffle, .seed = o->seed ? o->seed : 42,
                             .split = o->shuffle ? FC_SPLIT_TRAIN : FC_SPLIT_VALID, .before_batch = pad_input_chunk,
                             .before_batch_ctx = s);
}

fc_dataloader *fc_sorted_dataloader_(fc_tensor *const *docs, const int64_t *labels, int64_t n, const fc_sorted_dl_opts *o) {
    return fci_sorted_dataloader(docs, labels, n, o, NULL);
}
