/* LMDataLoader (fastai 2.7): batch count and window lengths by fastai's arithmetic, x = stream
 * windows, y = x shifted by one, streams contiguous across batches, documents reshuffled per epoch
 * on train (reproducibly), and errors. Token ids are hand-made: token j of document d is
 * 1000 * (d + 1) + j, so any token names its document and position. */
#include <stdlib.h>
#include <string.h>

#include "fastc/text.h"
#include "fct.h"

#define TOK(d, j) (1000 * ((d) + 1) + (j))

static int64_t doc_len_of(int64_t d) { return 3 + (d * 7) % 11; }

static void make_docs(int64_t n, fc_tensor **docs, int64_t *total) {
    *total = 0;
    for (int64_t d = 0; d < n; d++) {
        int64_t len = doc_len_of(d), ids[32];
        for (int64_t j = 0; j < len; j++) ids[j] = TOK(d, j);
        docs[d] = fc_keep(fc_from_data(ids, FC_SHAPE(len), .dtype = FC_DTYPE_I64));
        *total += len;
    }
}

static void free_docs(fc_tensor **docs, int64_t n) {
    for (int64_t d = 0; d < n; d++) fc_tensor_free(docs[d]);
}

/* Token b follows token a in a stream: the next position of the same document, or the first token
 * of another document after the last of a's. */
static int follows(int64_t a, int64_t b) {
    int64_t da = a / 1000 - 1, ja = a % 1000, db = b / 1000 - 1, jb = b % 1000;
    if (da == db) return jb == ja + 1;
    return ja == doc_len_of(da) - 1 && jb == 0;
}

/* Reads one epoch: every stream's tokens (x of each batch, then the final y token) into
 * streams[s * cap ...], checking y = x shifted by one. Returns the number of batches. */
static int64_t read_epoch(fc_dataloader *dl, int epoch, int64_t bs, int64_t *streams, int64_t cap, int64_t *lens,
                          int64_t *last_sl) {
    for (int64_t s = 0; s < bs; s++) lens[s] = 0;
    FCT_OK(fc_dataloader_start(dl, epoch));
    fc_tuple b;
    int64_t n_b = 0;
    while (fc_dataloader_next(dl, &b) == 1) {
        fc_tensor *x = b.v[0].t, *y = b.v[1].t;
        FCT_EQ_INT(fc_tensor_dim(x, 0), bs);
        FCT_EQ_INT(fc_tensor_dtype(x), FC_DTYPE_I64);
        int64_t sl = fc_tensor_dim(x, 1);
        *last_sl = sl;
        const int64_t *xd = fc_tensor_data(x), *yd = fc_tensor_data(y);
        for (int64_t s = 0; s < bs; s++) {
            for (int64_t t = 0; t + 1 < sl; t++) FCT_EQ_INT(yd[s * sl + t], xd[s * sl + t + 1]);
            if (lens[s] > 0) FCT_EQ_INT(xd[s * sl], streams[s * cap + lens[s]]); /* continues the last y */
            for (int64_t t = 0; t < sl; t++) streams[s * cap + lens[s] + t] = xd[s * sl + t];
            lens[s] += sl;
            streams[s * cap + lens[s]] = yd[s * sl + sl - 1]; /* overwritten by the next batch's x */
        }
        fc_tuple_free(&b);
        n_b++;
    }
    return n_b;
}

FCT_TEST(test_lm_batches_follow_fastai_arithmetic_and_the_corpus) {
    enum { N = 20, BS = 4, SL = 5 };
    fc_tensor *docs[N];
    int64_t L;
    make_docs(N, docs, &L);
    fc_dataloader *dl = fc_lm_dataloader(docs, N, .bs = BS, .seq_len = SL);
    if (!FCT_NOTNULL(dl)) return free_docs(docs, N);
    int64_t bl = (L - 1) / BS, n_batches = bl / SL + (bl % SL != 0), last_len = bl - (n_batches - 1) * SL;
    FCT_EQ_INT(fc_dataloader_len(dl), n_batches);
    FCT_EQ_INT(fc_dataloader_n(dl), n_batches * BS);
    FCT_TRUE(last_len < SL); /* this corpus exercises the short last window */
    int64_t *corpus = malloc((size_t)L * sizeof *corpus), k = 0;
    for (int64_t d = 0; d < N; d++)
        for (int64_t j = 0; j < doc_len_of(d); j++) corpus[k++] = TOK(d, j);
    int64_t cap = bl + 2, *streams = malloc((size_t)(BS * cap) * sizeof *streams), lens[BS], last_sl = 0;
    FCT_EQ_INT(read_epoch(dl, 0, BS, streams, cap, lens, &last_sl), n_batches);
    FCT_EQ_INT(last_sl, last_len);
    for (int64_t s = 0; s < BS; s++) { /* unshuffled: stream s is corpus[s * bl : (s + 1) * bl + 1] */
        FCT_EQ_INT(lens[s], bl);
        for (int64_t t = 0; t <= bl; t++) FCT_EQ_INT(streams[s * cap + t], corpus[s * bl + t]);
    }
    fc_tuple item = {0}; /* item seq = window seq // bs of stream seq % bs */
    FCT_OK(fc_dataset_get(fc_dataloader_dataset(dl), 1 * BS + 2, NULL, &item));
    FCT_EQ_INT(fc_tensor_get(item.v[0].t, 0), corpus[2 * bl + 1 * SL]);
    FCT_EQ_INT(fc_tensor_get(item.v[1].t, 0), corpus[2 * bl + 1 * SL + 1]);
    fc_tuple_free(&item);
    free(corpus);
    free(streams);
    fc_dataloader_free(dl);
    free_docs(docs, N);
}

FCT_TEST(test_lm_shuffle_reorders_documents_per_epoch_keeping_streams_contiguous) {
    enum { N = 30, BS = 3, SL = 7 };
    fc_tensor *docs[N];
    int64_t L;
    make_docs(N, docs, &L);
    fc_dataloader *dl = fc_lm_dataloader(docs, N, .bs = BS, .seq_len = SL, .shuffle = 1, .seed = 5);
    if (!FCT_NOTNULL(dl)) return free_docs(docs, N);
    int64_t bl = (L - 1) / BS, cap = bl + 2, lens[BS], last_sl;
    int64_t *e0 = malloc((size_t)(BS * cap) * sizeof *e0), *e1 = malloc((size_t)(BS * cap) * sizeof *e1),
            *again = malloc((size_t)(BS * cap) * sizeof *again);
    read_epoch(dl, 0, BS, e0, cap, lens, &last_sl);
    read_epoch(dl, 1, BS, e1, cap, lens, &last_sl);
    read_epoch(dl, 0, BS, again, cap, lens, &last_sl);
    int differ = 0;
    for (int64_t s = 0; s < BS; s++) {
        FCT_EQ_INT(lens[s], bl);
        for (int64_t t = 0; t < bl; t++) {
            FCT_TRUE(follows(e0[s * cap + t], e0[s * cap + t + 1]));
            FCT_TRUE(follows(e1[s * cap + t], e1[s * cap + t + 1]));
            FCT_EQ_INT(again[s * cap + t], e0[s * cap + t]); /* (seed, epoch) decides the order */
            differ += e0[s * cap + t] != e1[s * cap + t];
        }
        if (s > 0) FCT_TRUE(follows(e0[(s - 1) * cap + bl - 1], e0[s * cap])); /* streams cut one corpus */
    }
    FCT_TRUE(differ > 0);
    FCT_TRUE(e0[0] % 1000 == 0); /* the stream starts at a document's first token */
    free(e0);
    free(e1);
    free(again);
    fc_dataloader_free(dl);
    free_docs(docs, N);
}

FCT_TEST(test_lm_exact_multiple_has_full_windows) {
    /* L - 1 = 2 * 12: bl = 12, seq_len 4 -> 3 full batches */
    int64_t ids[25];
    for (int i = 0; i < 25; i++) ids[i] = 10 + i;
    fc_tensor *doc = fc_from_data(ids, FC_SHAPE(25), .dtype = FC_DTYPE_I64);
    fc_dataloader *dl = fc_lm_dataloader(&doc, 1, .bs = 2, .seq_len = 4);
    if (!FCT_NOTNULL(dl)) return;
    FCT_EQ_INT(fc_dataloader_len(dl), 3);
    fc_tuple b;
    FCT_OK(fc_dataloader_start(dl, 0));
    int64_t k = 0;
    while (fc_dataloader_next(dl, &b) == 1) {
        FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 1), 4);
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 0), 10 + 4 * k);
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 4), 10 + 12 + 4 * k);
        FCT_EQ_INT(fc_tensor_get(b.v[1].t, 7), 10 + 12 + 4 * k + 4);
        fc_tuple_free(&b);
        k++;
    }
    FCT_EQ_INT(k, 3);
    fc_dataloader_free(dl);
}

FCT_TEST(test_lm_rejects_bad_input) {
    int64_t ids[4] = {5, 6, 7, 8};
    fc_tensor *doc = fc_from_data(ids, FC_SHAPE(4), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_lm_dataloader(&doc, 1, .bs = 4));
    FCT_ERROR(FC_ERR_ARG, "expected more than bs = 4 tokens, found 4");
    fc_tensor *m = fc_zeros(FC_SHAPE(2, 3), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_lm_dataloader(&m, 1, .bs = 2));
    FCT_ERROR(FC_ERR_SHAPE, "expected docs[0] to be 1-d integer token ids");
    FCT_NULL(fc_lm_dataloader(&doc, 0));
    FCT_ERROR(FC_ERR_ARG, "expected n >= 1 documents");
    fc_tuple it; /* a loader without a vocabulary cannot read a text */
    fc_dataloader *dl = fc_lm_dataloader(&doc, 1, .bs = 1, .seq_len = 2);
    FCT_EQ_INT(fc_dataset_item_from_text(fc_dataloader_dataset(dl), "hello", NULL, &it), FC_ERR_UNSUPPORTED);
    FCT_ERROR(FC_ERR_UNSUPPORTED, "needs a vocabulary");
    fc_dataloader_free(dl);
}
