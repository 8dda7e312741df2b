/* SortedDL + pad_input_chunk (fastai 2.7): pad_chunk's layout, valid batches sorted by decreasing
 * length, train batches sorted within chunks of bs * 50 with the longest document in the first
 * batch and the middle batches shuffled per epoch (reproducibly), labels kept with their document,
 * little padding. Every token of document d is 100 + d, so a row names its document. */
#include <stdlib.h>
#include <string.h>

#include "fastc/text.h"
#include "fct.h"
#include "../../src/text/text_impl.h"

static int64_t len_of(int64_t d) { return 1 + (d * 37) % 61; }

static void make_docs(int64_t n, fc_tensor **docs, int64_t *labels) {
    int64_t ids[64];
    for (int64_t d = 0; d < n; d++) {
        for (int64_t j = 0; j < len_of(d); j++) ids[j] = 100 + d;
        docs[d] = fc_keep(fc_from_data(ids, FC_SHAPE(len_of(d)), .dtype = FC_DTYPE_I64));
        labels[d] = d % 3;
    }
}

static void free_docs(fc_tensor **docs, int64_t n) {
    for (int64_t d = 0; d < n; d++) fc_tensor_free(docs[d]);
}

FCT_TEST(test_pad_chunk_puts_whole_chunks_first_and_the_rest_after) {
    int64_t ids[4] = {7, 8, 9, 10}, out[12];
    fci_pad_chunk(ids, 4, 12, 3, 1, 1, out); /* 8 pads: 6 before (two chunks of 3), 2 after */
    int64_t want[12] = {1, 1, 1, 1, 1, 1, 7, 8, 9, 10, 1, 1};
    for (int i = 0; i < 12; i++) FCT_EQ_INT(out[i], want[i]);
    fci_pad_chunk(ids, 4, 6, 72, 1, 1, out); /* less than a chunk: all after */
    int64_t want2[6] = {7, 8, 9, 10, 1, 1};
    for (int i = 0; i < 6; i++) FCT_EQ_INT(out[i], want2[i]);
    fci_pad_chunk(ids, 4, 12, 3, 1, 0, out); /* pad_first = False: everything after */
    int64_t want3[12] = {7, 8, 9, 10, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 12; i++) FCT_EQ_INT(out[i], want3[i]);
}

/* One epoch's batches: the document of every row (-1 rows never happen), batch row counts, and
 * checks of each row's padding and label. Returns the number of batches; *pad counts pad tokens. */
static int64_t read_epoch(fc_dataloader *dl, int epoch, int64_t seq_len, int64_t *doc, int64_t *rows, int64_t *pad,
                          int64_t *cells) {
    FCT_OK(fc_dataloader_start(dl, epoch));
    fc_tuple b;
    int64_t n_b = 0, k = 0;
    *pad = *cells = 0;
    while (fc_dataloader_next(dl, &b) == 1) {
        fc_tensor *x = b.v[0].t, *y = b.v[1].t;
        FCT_TRUE(b.v[0].kind == fc_kind_tokens && b.v[1].kind == fc_kind_category);
        int64_t n = fc_tensor_dim(x, 0), w = fc_tensor_dim(x, 1), max_len = 0;
        const int64_t *xd = fc_tensor_data(x);
        for (int64_t i = 0; i < n; i++) {
            int64_t d = -1;
            for (int64_t t = 0; t < w; t++)
                if (xd[i * w + t] != FC_TOK_PAD) d = xd[i * w + t] - 100;
            doc[k] = d;
            if (d < 0) continue;
            if (len_of(d) > max_len) max_len = len_of(d);
            int64_t l = w - len_of(d), before = l / seq_len * seq_len;
            FCT_EQ_INT(xd[i * w + before], 100 + d); /* the text starts after the whole chunks */
            FCT_EQ_INT(xd[i * w + before + len_of(d) - 1], 100 + d);
            if (before > 0) FCT_EQ_INT(xd[i * w + before - 1], FC_TOK_PAD);
            FCT_EQ_INT(fc_tensor_get(y, i), d % 3);
            *pad += l;
            k++;
        }
        FCT_EQ_INT(w, max_len); /* padded to the batch's longest */
        *cells += n * w;
        rows[n_b++] = n;
        fc_tuple_free(&b);
    }
    return n_b;
}

FCT_TEST(test_sorted_valid_is_sorted_by_decreasing_length) {
    enum { N = 50, BS = 8, SL = 5 };
    fc_tensor *docs[N];
    int64_t labels[N], doc[N], rows[N], pad, cells;
    make_docs(N, docs, labels);
    fc_dataloader *dl = fc_sorted_dataloader(docs, labels, N, .bs = BS, .seq_len = SL);
    if (!FCT_NOTNULL(dl)) return free_docs(docs, N);
    FCT_EQ_INT(fc_dataloader_len(dl), 7);
    FCT_EQ_INT(read_epoch(dl, 0, SL, doc, rows, &pad, &cells), 7);
    FCT_EQ_INT(rows[6], 2); /* valid keeps the last batch */
    for (int i = 1; i < N; i++) {
        FCT_TRUE(len_of(doc[i - 1]) >= len_of(doc[i]));
        if (len_of(doc[i - 1]) == len_of(doc[i])) FCT_TRUE(doc[i - 1] < doc[i]); /* stable */
    }
    int64_t naive = 0; /* batches in index order would pad this much */
    for (int64_t b = 0; b < N; b += BS) {
        int64_t m = 0;
        for (int64_t d = b; d < b + BS && d < N; d++) m = len_of(d) > m ? len_of(d) : m;
        for (int64_t d = b; d < b + BS && d < N; d++) naive += m - len_of(d);
    }
    FCT_TRUE(pad * 4 < naive);
    fc_dataloader_free(dl);
    free_docs(docs, N);
}

FCT_TEST(test_sorted_train_sorts_within_chunks_and_shuffles_batches) {
    enum { N = 1000, BS = 4, SL = 6 };
    fc_tensor *docs[N];
    int64_t labels[N], *doc = malloc(N * sizeof *doc), *doc1 = malloc(N * sizeof *doc1), *again = malloc(N * sizeof *again);
    int64_t rows[N], pad, cells;
    make_docs(N, docs, labels);
    fc_dataloader *dl = fc_sorted_dataloader(docs, labels, N, .bs = BS, .seq_len = SL, .shuffle = 1, .seed = 3);
    if (!FCT_NOTNULL(dl)) return free_docs(docs, N);
    int64_t n_b = read_epoch(dl, 0, SL, doc, rows, &pad, &cells);
    FCT_EQ_INT(n_b, N / BS);
    int64_t longest = 0;
    for (int64_t d = 0; d < N; d++)
        if (len_of(d) > len_of(longest)) longest = d;
    int has_longest = 0, out_of_order = 0;
    for (int i = 0; i < BS; i++) has_longest |= doc[i] == longest;
    FCT_TRUE(has_longest); /* the first batch holds the longest document */
    for (int64_t b = 0; b < n_b; b++) {
        for (int i = 1; i < BS; i++) FCT_TRUE(len_of(doc[b * BS + i - 1]) >= len_of(doc[b * BS + i]));
        if (b > 1) out_of_order += len_of(doc[(b - 1) * BS]) < len_of(doc[b * BS]);
    }
    FCT_TRUE(out_of_order > 0); /* the batches are shuffled, not one sorted run */
    int seen[N] = {0}; /* a permutation of the documents */
    for (int64_t i = 0; i < N; i++) seen[doc[i]]++;
    for (int64_t d = 0; d < N; d++) FCT_EQ_INT(seen[d], 1);
    FCT_TRUE(pad * 10 < cells); /* sorted within chunks of 200: under 10% padding */
    int64_t p1, c1, p0, c0;
    read_epoch(dl, 1, SL, doc1, rows, &p1, &c1);
    read_epoch(dl, 0, SL, again, rows, &p0, &c0);
    int differ = 0;
    for (int64_t i = 0; i < N; i++) {
        differ += doc[i] != doc1[i];
        FCT_EQ_INT(again[i], doc[i]);
    }
    FCT_TRUE(differ > 0);
    free(doc);
    free(doc1);
    free(again);
    fc_dataloader_free(dl);
    free_docs(docs, N);
}

FCT_TEST(test_sorted_train_drops_the_last_incomplete_batch) {
    enum { N = 10, BS = 4 };
    fc_tensor *docs[N];
    int64_t labels[N], doc[N], rows[N], pad, cells;
    make_docs(N, docs, labels);
    fc_dataloader *dl = fc_sorted_dataloader(docs, labels, N, .bs = BS, .shuffle = 1);
    if (!FCT_NOTNULL(dl)) return free_docs(docs, N);
    FCT_EQ_INT(fc_dataloader_len(dl), 2);
    FCT_EQ_INT(read_epoch(dl, 0, 72, doc, rows, &pad, &cells), 2);
    FCT_EQ_INT(rows[0], BS);
    FCT_EQ_INT(rows[1], BS);
    fc_dataloader_free(dl);
    free_docs(docs, N);
}

FCT_TEST(test_sorted_rejects_bad_input) {
    int64_t ids[3] = {5, 6, 7}, lab = 0;
    fc_tensor *doc = fc_from_data(ids, FC_SHAPE(3), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_sorted_dataloader(&doc, NULL, 1));
    FCT_ERROR(FC_ERR_ARG, "expected docs, labels");
    fc_tensor *f = fc_zeros(FC_SHAPE(3));
    FCT_NULL(fc_sorted_dataloader(&f, &lab, 1));
    FCT_ERROR(FC_ERR_SHAPE, "1-d integer token ids");
}
