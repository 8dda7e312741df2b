/* fastai 2.7's LMDataLoader: the documents (shuffled per epoch on train) form one token stream of
 * length L, cut into bs contiguous streams of bl = (L - 1) // bs tokens; item seq is the window
 * (seq // bs) of stream (seq % bs): x = stream[k*seq_len : k*seq_len + sl], y the same one token
 * later, with sl = seq_len except for the last batch (bl - (n_batches - 1) * seq_len). The loader
 * keeps items in order; before_epoch reshuffles the documents instead. Also the text layer's shared
 * info (vocabulary and label classes) that text_dls.c hangs on its datasets. */
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "../data/data_impl.h"
#include "text_impl.h"

#define LM_SHUFFLE_MIX 0x2545F4914F6CDD1DULL /* the document shuffle's stream, apart from the loader's */

/* ---- shared info ---- */

fci_text_info *fci_text_info_ref(fci_text_info *info) {
    if (info) info->refs++;
    return info;
}

void fci_text_info_free(fci_text_info *info) {
    if (!info || --info->refs > 0) return;
    info->free(info);
}

/* ---- the dataset ---- */

typedef struct lm_state {
    fci_text_info *info; /* first: fci_text_dataset_info reads it */
    int64_t n_docs;
    int64_t *tok;      /* every document's ids, back to back */
    int64_t *doc_off;  /* [n_docs + 1]: document d is tok[doc_off[d] : doc_off[d + 1]] */
    int64_t *perm;     /* this epoch's document order                               */
    int64_t *cum;      /* [n_docs + 1]: stream position where perm[k] starts        */
    int64_t bs, seq_len, bl, n_batches, last_len;
    int shuffle;
} lm_state;

static void lm_free(void *p) {
    lm_state *s = p;
    if (!s) return;
    free(s->tok);
    free(s->doc_off);
    free(s->perm);
    free(s->cum);
    fci_text_info_free(s->info);
    fci_free(s);
}

static int64_t lm_len(void *p) {
    lm_state *s = p;
    return s->n_batches * s->bs;
}

static void lm_make_chunks(lm_state *s) {
    s->cum[0] = 0;
    for (int64_t k = 0; k < s->n_docs; k++) {
        int64_t d = s->perm[k];
        s->cum[k + 1] = s->cum[k] + s->doc_off[d + 1] - s->doc_off[d];
    }
}

/* Stream tokens [start, start + len) into dst (fastai's Chunks). */
static void lm_read(const lm_state *s, int64_t start, int64_t len, int64_t *dst) {
    int64_t lo = 0, hi = s->n_docs - 1; /* the last k with cum[k] <= start */
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (s->cum[mid] <= start) lo = mid;
        else hi = mid - 1;
    }
    for (int64_t k = lo; len > 0 && k < s->n_docs; k++) {
        int64_t d = s->perm[k], off = start - s->cum[k];
        int64_t avail = s->cum[k + 1] - start, m = avail < len ? avail : len;
        if (m <= 0) continue; /* an empty document */
        memcpy(dst, s->tok + s->doc_off[d] + off, (size_t)m * sizeof *dst);
        dst += m;
        start += m;
        len -= m;
    }
}

static void lm_window(const lm_state *s, int64_t seq, int64_t *st, int64_t *sl) {
    int64_t b = seq / s->bs;
    *sl = b == s->n_batches - 1 ? s->last_len : s->seq_len;
    *st = (seq % s->bs) * s->bl + b * s->seq_len;
}

static fc_status lm_check_index(const lm_state *s, int64_t i) {
    if (i < 0 || i >= s->n_batches * s->bs)
        return fc_fail(FC_ERR_ARG, "lm_dataloader: item %lld is outside [0, %lld)", (long long)i,
                       (long long)(s->n_batches * s->bs));
    return FC_OK;
}

static fc_status lm_get(void *p, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    (void)ctx;
    lm_state *s = p;
    fc_status st = lm_check_index(s, i);
    if (st != FC_OK) return st;
    int64_t start, sl;
    lm_window(s, i, &start, &sl);
    fc_tensor *x = fc_tensor_new(FC_SHAPE(sl), FC_DTYPE_I64), *y = fc_tensor_new(FC_SHAPE(sl), FC_DTYPE_I64);
    int64_t *buf = malloc((size_t)(sl + 1) * sizeof *buf);
    if (!x || !y || !buf) {
        fc_tensor_free(x);
        fc_tensor_free(y);
        free(buf);
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_NOMEM, "lm_dataloader: out of memory");
    }
    lm_read(s, start, sl + 1, buf);
    memcpy(fc_tensor_data(x), buf, (size_t)sl * sizeof *buf);
    memcpy(fc_tensor_data(y), buf + 1, (size_t)sl * sizeof *buf);
    free(buf);
    *out = (fc_tuple){.n = 2, .n_inp = 1};
    out->v[0] = fc_value_tensor(fc_kind_tokens, x);
    out->v[1] = fc_value_tensor(fc_kind_tokens, y);
    return FC_OK;
}

/* The whole batch at once: x, y [n, sl] (the items must share sl: one batch's windows). */
static fc_status lm_get_batch(void *p, const int64_t *idx, int64_t n, fc_tuple *out) {
    lm_state *s = p;
    int64_t sl0 = -1;
    for (int64_t j = 0; j < n; j++) {
        fc_status st = lm_check_index(s, idx[j]);
        if (st != FC_OK) return st;
        int64_t start, sl;
        lm_window(s, idx[j], &start, &sl);
        if (sl0 >= 0 && sl != sl0)
            return fc_fail(FC_ERR_ARG, "lm_dataloader: items %lld and %lld have windows of %lld and %lld tokens (not one batch)",
                           (long long)idx[0], (long long)idx[j], (long long)sl0, (long long)sl);
        sl0 = sl;
    }
    fc_tensor *x = fc_tensor_new(FC_SHAPE(n, sl0), FC_DTYPE_I64), *y = fc_tensor_new(FC_SHAPE(n, sl0), FC_DTYPE_I64);
    int64_t *buf = malloc((size_t)(sl0 + 1) * sizeof *buf);
    if (!x || !y || !buf) {
        fc_tensor_free(x);
        fc_tensor_free(y);
        free(buf);
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_NOMEM, "lm_dataloader: out of memory");
    }
    int64_t *xd = fc_tensor_data(x), *yd = fc_tensor_data(y);
    for (int64_t j = 0; j < n; j++) {
        int64_t start, sl;
        lm_window(s, idx[j], &start, &sl);
        lm_read(s, start, sl + 1, buf);
        memcpy(xd + j * sl0, buf, (size_t)sl0 * sizeof *buf);
        memcpy(yd + j * sl0, buf + 1, (size_t)sl0 * sizeof *buf);
    }
    free(buf);
    *out = (fc_tuple){.n = 2, .n_inp = 1};
    out->v[0] = fc_value_tensor(fc_kind_tokens, x);
    out->v[1] = fc_value_tensor(fc_kind_tokens, y);
    return FC_OK;
}

/* fastai's shuffle_fn: the items keep their order, the documents are reshuffled (Fisher-Yates from
 * (seed, epoch)) and the streams rebuilt. */
static fc_status lm_before_epoch(void *p, int epoch, uint64_t seed, int64_t bs, int64_t *order, int64_t n) {
    (void)bs;
    (void)order;
    (void)n;
    lm_state *s = p;
    for (int64_t k = 0; k < s->n_docs; k++) s->perm[k] = k;
    if (s->shuffle) {
        fc_rng g = {seed ^ LM_SHUFFLE_MIX, (uint64_t)epoch << 32};
        for (int64_t i = s->n_docs - 1; i > 0; i--) {
            uint64_t r = ((uint64_t)fc_rng_u32(&g) << 32) | fc_rng_u32(&g);
            int64_t j = (int64_t)(r % (uint64_t)(i + 1)), t = s->perm[i];
            s->perm[i] = s->perm[j];
            s->perm[j] = t;
        }
    }
    lm_make_chunks(s);
    return FC_OK;
}

static fc_status lm_decode(void *p, fc_tuple *item) {
    lm_state *s = p;
    return s->info && s->info->decode ? s->info->decode(s->info, item) : FC_OK;
}

static fc_status lm_item_from_text(void *p, const char *text, const fc_tfm_ctx *ctx, fc_tuple *out) {
    (void)ctx;
    lm_state *s = p;
    if (!s->info || !s->info->numericalize)
        return fc_fail(FC_ERR_UNSUPPORTED, "lm_dataloader: item_from_text needs a vocabulary (make the loaders with fc_text_*dls*)");
    fc_tensor *x = s->info->numericalize(s->info, text);
    if (!x) return fc_error_code();
    *out = (fc_tuple){.n = 1, .n_inp = 1};
    out->v[0] = fc_value_tensor(fc_kind_tokens, x);
    return FC_OK;
}

const fc_dataset_def fci_lm_dataset_def = {
    .name = "lm_dataset",
    .len = lm_len,
    .get = lm_get,
    .get_batch = lm_get_batch,
    .decode = lm_decode,
    .free_state = lm_free,
    .item_from_text = lm_item_from_text,
    .before_epoch = lm_before_epoch,
};

/* Copies every document's ids into one buffer. */
static fc_status lm_load_docs(lm_state *s, fc_tensor *const *docs, int64_t n) {
    s->doc_off = malloc((size_t)(n + 1) * sizeof *s->doc_off);
    s->perm = malloc((size_t)(n ? n : 1) * sizeof *s->perm);
    s->cum = malloc((size_t)(n + 1) * sizeof *s->cum);
    if (!s->doc_off || !s->perm || !s->cum) return fc_fail(FC_ERR_NOMEM, "lm_dataloader: out of memory for %lld documents", (long long)n);
    s->doc_off[0] = 0;
    for (int64_t d = 0; d < n; d++) {
        if (!docs[d]) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "lm_dataloader: docs[%lld] is NULL", (long long)d);
        if (fc_tensor_ndim(docs[d]) != 1 || fc_dtype_is_float(fc_tensor_dtype(docs[d]))) {
            char sh[96];
            return fc_fail(FC_ERR_SHAPE, "lm_dataloader: expected docs[%lld] to be 1-d integer token ids, found %s %s", (long long)d,
                           fc_dtype_name(fc_tensor_dtype(docs[d])), fc_shape_str(fc_tensor_shape(docs[d]), sh, sizeof sh));
        }
        s->doc_off[d + 1] = s->doc_off[d] + fc_tensor_numel(docs[d]);
    }
    s->tok = malloc((size_t)(s->doc_off[n] ? s->doc_off[n] : 1) * sizeof *s->tok);
    if (!s->tok) return fc_fail(FC_ERR_NOMEM, "lm_dataloader: out of memory for %lld tokens", (long long)s->doc_off[n]);
    for (int64_t d = 0; d < n; d++) {
        fc_status st = fc_tensor_copy_out(docs[d], s->tok + s->doc_off[d], FC_DTYPE_I64);
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

fc_dataloader *fci_lm_dataloader(fc_tensor *const *docs, int64_t n, const fc_lm_dl_opts *o, fci_text_info *info) {
    fc_lm_dl_opts z = {0};
    if (!o) o = &z;
    if (!docs || n < 1) {
        fci_text_info_free(info);
        fc_fail(FC_ERR_ARG, "lm_dataloader: expected n >= 1 documents, found %lld%s", (long long)n, docs ? "" : " (docs NULL)");
        return NULL;
    }
    if (o->bs < 0 || o->seq_len < 0) {
        fci_text_info_free(info);
        fc_fail(FC_ERR_ARG, "lm_dataloader: expected .bs and .seq_len >= 0, found %lld and %lld", (long long)o->bs,
                (long long)o->seq_len);
        return NULL;
    }
    lm_state *s = fci_calloc(1, sizeof *s);
    if (!s) {
        fci_text_info_free(info);
        return NULL;
    }
    s->info = info;
    s->n_docs = n;
    s->bs = o->bs ? o->bs : 64;
    s->seq_len = o->seq_len ? o->seq_len : 72;
    s->shuffle = o->shuffle;
    if (lm_load_docs(s, docs, n) != FC_OK) goto fail;
    int64_t L = s->doc_off[n];
    /* fastai: corpus = round_multiple(L - 1, bs, round_down), bl = corpus // bs, a last shorter window */
    s->bl = L > 0 ? (L - 1) / s->bs : 0;
    if (s->bl < 1) {
        fc_fail(FC_ERR_ARG, "lm_dataloader: expected more than bs = %lld tokens, found %lld in %lld documents", (long long)s->bs,
                (long long)L, (long long)n);
        goto fail;
    }
    s->n_batches = s->bl / s->seq_len + (s->bl % s->seq_len != 0);
    s->last_len = s->bl - (s->n_batches - 1) * s->seq_len;
    lm_before_epoch(s, 0, 0, s->bs, NULL, 0); /* unshuffled streams until the first epoch */
    uint64_t seed = o->seed ? o->seed : 42;
    return fc_dataloader_new(fc_dataset_new(&fci_lm_dataset_def, s), .bs = s->bs, .seed = seed,
                             .split = o->shuffle ? FC_SPLIT_TRAIN : FC_SPLIT_VALID);
fail:
    lm_free(s);
    return NULL;
}

fc_dataloader *fc_lm_dataloader_(fc_tensor *const *docs, int64_t n, const fc_lm_dl_opts *o) {
    return fci_lm_dataloader(docs, n, o, NULL);
}

fci_text_info *fci_text_dataset_info(const fc_dataset *ds) {
    if (!ds || (ds->def != &fci_lm_dataset_def && ds->def != &fci_sorted_dataset_def)) return NULL;
    return *(fci_text_info **)ds->state; /* both states start with their info */
}
