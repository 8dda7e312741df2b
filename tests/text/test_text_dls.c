/* TextDataLoaders on real data (IMDB sample from CSV, classifier and language model; WikiText-2 from
 * its files) and on a small generated folder: counts, the vocabulary (specials first, a multiple
 * of 8), padding of the sorted batches, decoding for show_batch, a raw text as an input, the
 * classifier reusing its language model's vocabulary, and errors. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/data_dir.h"
#include "fastc/text.h"
#include "fct.h"

/* The extracted folder of dataset name, or NULL (the test skips when the shared data is absent). */
static const char *text_dataset(const char *name) {
    char data[1100], archive[300];
    snprintf(archive, sizeof archive, "%s.tar.gz", name);
    int found = test_data_dir(archive, data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return NULL;
    mkdir("text_data", 0777);
    const char *path = fc_untar_data(name, .data_dir = data, .dest = "text_data", .no_download = 1);
    FCT_NOTNULL(path);
    return path;
}

static void check_vocab(const fc_vocab *v) {
    if (!FCT_NOTNULL(v)) return;
    FCT_EQ_INT(fc_vocab_len(v) % 8, 0);
    for (int i = 0; i < FC_TEXT_N_SPECIAL; i++) FCT_STR(fc_vocab_token(v, i), fc_text_special[i]);
}

/* One epoch of a classifier loader: the share of pad tokens, checking each batch is no wider than
 * its longest document needs; *unsorted: the share batches of the same size in a scrambled order
 * (document k * 7919 % n) would need. */
static double pad_ratio(fc_dataloader *dl, int epoch, int64_t *n_rows, double *unsorted) {
    int64_t pad = 0, cells = 0, *lens = malloc((size_t)fc_dataloader_n(dl) * sizeof *lens), bs = fc_dataloader_bs(dl);
    *n_rows = 0;
    FCT_OK(fc_dataloader_start(dl, epoch));
    fc_tuple b;
    while (fc_dataloader_next(dl, &b) == 1) {
        fc_tensor *x = b.v[0].t;
        int64_t n = fc_tensor_dim(x, 0), w = fc_tensor_dim(x, 1), min_pad = w;
        const int64_t *xd = fc_tensor_data(x);
        for (int64_t i = 0; i < n; i++) {
            int64_t p = 0;
            for (int64_t t = 0; t < w; t++) p += xd[i * w + t] == FC_TOK_PAD;
            pad += p;
            min_pad = p < min_pad ? p : min_pad;
            lens[*n_rows + i] = w - p;
        }
        FCT_EQ_INT(min_pad, 0); /* the longest row is unpadded */
        cells += n * w;
        *n_rows += n;
        fc_tuple_free(&b);
    }
    int64_t n = *n_rows, upad = 0, ucells = 0;
    for (int64_t b0 = 0; b0 < n; b0 += bs) {
        int64_t m = 0, e = b0 + bs < n ? b0 + bs : n;
        for (int64_t k = b0; k < e; k++) m = lens[k * 7919 % n] > m ? lens[k * 7919 % n] : m;
        for (int64_t k = b0; k < e; k++) upad += m - lens[k * 7919 % n];
        ucells += (e - b0) * m;
    }
    *unsorted = ucells ? (double)upad / (double)ucells : 1;
    free(lens);
    return cells ? (double)pad / (double)cells : 1;
}

/* show_batch's text into buf (via a temporary file). */
static void show_text(fc_dataloader *dl, char *buf, size_t n, int max_n) {
    FILE *f = tmpfile();
    if (!FCT_NOTNULL(f)) return;
    FCT_OK(fc_show_batch(dl, NULL, .max_n = max_n, .out = f));
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
}

FCT_TEST(test_text_dls_imdb_classifier_from_csv) {
    const char *dir = text_dataset("imdb_sample");
    if (!dir) return;
    char csv[1200];
    snprintf(csv, sizeof csv, "%s/texts.csv", dir);
    fc_dataloaders *dls = fc_text_dls_from_csv(csv, .valid_col = "is_valid", .bs = 32);
    if (!FCT_NOTNULL(dls)) return;
    FCT_EQ_INT(fc_dataloader_n(dls->train), 800);
    FCT_EQ_INT(fc_dataloader_n(dls->valid), 200);
    FCT_EQ_INT(fc_dataloader_len(dls->train), 800 / 32); /* train drops its last incomplete batch */
    FCT_EQ_INT(fc_dataloader_len(dls->valid), (200 + 31) / 32);
    FCT_EQ_INT(dls->n_vocab, 2);
    if (dls->n_vocab == 2) {
        FCT_STR(dls->vocab[0], "negative");
        FCT_STR(dls->vocab[1], "positive");
    }
    const fc_vocab *v = fc_text_dls_vocab(dls);
    check_vocab(v);
    printf("  imdb_sample classifier: vocab %lld\n", (long long)fc_vocab_len(v));
    int64_t rows;
    double tr_u, va_u, tr = pad_ratio(dls->train, 0, &rows, &tr_u);
    FCT_EQ_INT(rows, 800);
    double va = pad_ratio(dls->valid, 0, &rows, &va_u);
    FCT_EQ_INT(rows, 200);
    printf("  padding: train %.1f%% (unsorted %.1f%%), valid %.1f%% (unsorted %.1f%%) of the batch cells\n", 100 * tr,
           100 * tr_u, 100 * va, 100 * va_u);
    FCT_TRUE(tr < tr_u / 3 && va < va_u / 2);
    char text[8192];
    show_text(dls->valid, text, sizeof text, 2);
    FCT_TRUE(strstr(text, "negative") || strstr(text, "positive"));
    FCT_TRUE(strstr(text, " the ") != NULL);
    FCT_TRUE(!strstr(text, "xxpad") && !strstr(text, "xxbos"));
    fc_tuple b; /* a raw text as a batch of one, for learn.predict */
    if (FCT_OK(fc_dataloader_batch_from_text(dls->valid, "This movie was GREAT!", &b))) {
        FCT_EQ_INT(b.n_inp, 1);
        FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 0), 1);
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 0), FC_TOK_BOS);
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 1), FC_TOK_MAJ);
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 2), fc_vocab_id(v, "this"));
        fc_tuple_free(&b);
    }
    fc_dataloaders_free(dls);
}

FCT_TEST(test_text_dls_imdb_lm_then_classifier_with_its_vocab) {
    const char *dir = text_dataset("imdb_sample");
    if (!dir) return;
    char csv[1200];
    snprintf(csv, sizeof csv, "%s/texts.csv", dir);
    fc_dataloaders *lm = fc_text_dls_from_csv(csv, .is_lm = 1, .valid_col = "is_valid", .bs = 16, .seq_len = 40);
    if (!FCT_NOTNULL(lm)) return;
    const fc_vocab *v = fc_text_dls_vocab(lm);
    check_vocab(v);
    FCT_TRUE(lm->vocab == NULL);
    /* valid corpus: the 200 valid documents' tokens, as fastai's arithmetic counts them */
    fc_csv *t = fc_read_csv(csv);
    const char *texts[200];
    int64_t n = 0, L = 0;
    for (int64_t i = 0; t && i < fc_csv_n_rows(t); i++)
        if (!strcmp(fc_csv_cell(t, i, 2), "True") && n < 200) texts[n++] = fc_csv_cell(t, i, 1);
    FCT_EQ_INT(n, 200);
    fc_tokens toks[200];
    if (FCT_OK(fc_tokenize_docs(texts, n, toks))) {
        for (int64_t i = 0; i < n; i++) {
            L += toks[i].n;
            fc_tokens_free(&toks[i]);
        }
    }
    fc_csv_free(t);
    int64_t bl = (L - 1) / 16, n_batches = bl / 40 + (bl % 40 != 0);
    FCT_EQ_INT(fc_dataloader_len(lm->valid), n_batches);
    printf("  imdb_sample LM: vocab %lld, valid %lld tokens -> %lld batches of 16 x 40; train %lld batches\n",
           (long long)fc_vocab_len(v), (long long)L, (long long)n_batches, (long long)fc_dataloader_len(lm->train));
    fc_tuple b;
    if (FCT_OK(fc_dataloader_one_batch(lm->train, &b))) {
        FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 0), 16);
        FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 1), 40);
        FCT_EQ_INT(fc_tensor_get(b.v[1].t, 0), fc_tensor_get(b.v[0].t, 1));
        fc_tuple_free(&b);
    }
    char text[8192];
    show_text(lm->train, text, sizeof text, 2);
    FCT_TRUE(strlen(text) > 100);
    fc_dataloaders *clas = fc_text_dls_from_csv(csv, .valid_col = "is_valid", .vocab = v);
    if (FCT_NOTNULL(clas)) {
        const fc_vocab *cv = fc_text_dls_vocab(clas);
        FCT_EQ_INT(fc_vocab_len(cv), fc_vocab_len(v));
        for (int64_t i = 0; i < fc_vocab_len(v); i += 97) FCT_STR(fc_vocab_token(cv, i), fc_vocab_token(v, i));
    }
    fc_dataloaders_free(clas);
    fc_dataloaders_free(lm);
}

FCT_TEST(test_text_dls_wikitext2_lm_from_files) {
    const char *dir = text_dataset("wikitext2_partial");
    if (!dir) return;
    char tr[1200], va[1200];
    snprintf(tr, sizeof tr, "%s/test.txt", dir); /* dir is .../wikitext-2 */
    snprintf(va, sizeof va, "%s/valid.txt", dir);
    fc_dataloaders *dls = fc_text_lm_dls_from_files(tr, va, .bs = 32, .seq_len = 70);
    if (!FCT_NOTNULL(dls)) return;
    const fc_vocab *v = fc_text_dls_vocab(dls);
    check_vocab(v);
    /* at least the file's 245,569 tokens (one <eos> per line, not counted here) less one per line */
    int64_t lo = (245569 - 4358) / 32 / 70;
    FCT_TRUE(fc_dataloader_len(dls->train) >= lo);
    printf("  wikitext-2 (test as train): vocab %lld, %lld train and %lld valid batches of 32 x 70\n",
           (long long)fc_vocab_len(v), (long long)fc_dataloader_len(dls->train), (long long)fc_dataloader_len(dls->valid));
    FCT_TRUE(fc_vocab_id(v, "the") >= FC_TEXT_N_SPECIAL && fc_vocab_id(v, "the") < 20); /* among the most frequent */
    FCT_TRUE(fc_vocab_len(v) > 4000 && fc_vocab_len(v) < 14142); /* min_freq 3 keeps a part of the 14,142 words */
    char text[16384];
    show_text(dls->valid, text, sizeof text, 1);
    FCT_TRUE(strstr(text, " the ") != NULL);
    fc_dataloaders_free(dls);
}

/* A tiny IMDB-like folder: train/{neg,pos}, test/{neg,pos}, one review per .txt file. */
static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

FCT_TEST(test_text_dls_from_folder_labels_by_parent_folder) {
    const char *sub[] = {"tiny_imdb", "tiny_imdb/train", "tiny_imdb/train/neg", "tiny_imdb/train/pos", "tiny_imdb/test",
                         "tiny_imdb/test/neg", "tiny_imdb/test/pos", "tiny_imdb/train/unsup"};
    for (int i = 0; i < 8; i++) mkdir(sub[i], 0777);
    const char *good = "A good film , good acting and a good story .", *bad = "A bad film , bad acting and a bad story .";
    char p[256];
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "tiny_imdb/train/pos/%d.txt", i);
        write_file(p, good);
        snprintf(p, sizeof p, "tiny_imdb/train/neg/%d.txt", i);
        write_file(p, bad);
    }
    write_file("tiny_imdb/train/unsup/0.txt", "An unlabelled review .");
    write_file("tiny_imdb/test/pos/0.txt", good);
    write_file("tiny_imdb/test/neg/0.txt", bad);
    write_file("tiny_imdb/test/neg/1.txt", bad);
    fc_dataloaders *dls = fc_text_dls_from_folder("tiny_imdb", .folders = FC_NAMES("neg", "pos"), .bs = 4, .min_freq = 2);
    if (FCT_NOTNULL(dls)) {
        FCT_EQ_INT(fc_dataloader_n(dls->train), 12);
        FCT_EQ_INT(fc_dataloader_n(dls->valid), 3);
        FCT_EQ_INT(dls->n_vocab, 2);
        if (dls->n_vocab == 2) FCT_STR(dls->vocab[1], "pos");
        const fc_vocab *v = fc_text_dls_vocab(dls);
        FCT_TRUE(fc_vocab_id(v, "good") != FC_TOK_UNK && fc_vocab_id(v, "unlabelled") == FC_TOK_UNK);
        fc_tuple b;
        if (FCT_OK(fc_dataloader_one_batch(dls->valid, &b))) {
            fc_tuple *items = NULL;
            int64_t n = 0;
            if (FCT_OK(fc_dataloader_decode_batch(dls->valid, &b, &items, &n))) {
                FCT_EQ_INT(n, 3);
                for (int64_t i = 0; i < n; i++) {
                    FCT_TRUE(items[i].v[0].kind == fc_kind_text && items[i].v[1].kind == fc_kind_label);
                    const char *want = !strcmp(items[i].v[1].text, "pos") ? "A good film" : "A bad film";
                    FCT_TRUE(items[i].v[0].text && !strncasecmp(items[i].v[0].text, want, strlen(want))); /* "A": no xxmaj */
                    fc_tuple_free(&items[i]);
                }
                free(items);
            }
            fc_tuple_free(&b);
        }
    }
    fc_dataloaders_free(dls);
    fc_dataloaders *lm = fc_text_dls_from_folder("tiny_imdb", .is_lm = 1, .bs = 2, .seq_len = 8, .min_freq = 1);
    if (FCT_NOTNULL(lm)) FCT_TRUE(fc_vocab_id(fc_text_dls_vocab(lm), "unlabelled") != FC_TOK_UNK); /* every folder */
    fc_dataloaders_free(lm);
}

FCT_TEST(test_text_dls_errors) {
    FCT_NULL(fc_text_dls_from_csv("no/such.csv"));
    FCT_ERROR(FC_ERR_IO, "no/such.csv");
    write_file("t_bad.csv", "review,label\nhello,pos\n");
    FCT_NULL(fc_text_dls_from_csv("t_bad.csv"));
    FCT_ERROR(FC_ERR_ARG, "has no column 'text'");
    FCT_NULL(fc_text_dls_from_csv("t_bad.csv", .text_col = "review", .valid_pct = 1.5));
    FCT_ERROR(FC_ERR_ARG, ".valid_pct in [0, 1)");
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 2)), *y = fc_zeros(FC_SHAPE(4));
    fc_dataloaders *d = fc_tensor_dls(x, y, x, y);
    FCT_NULL(fc_text_dls_vocab(d));
    FCT_ERROR(FC_ERR_ARG, "not made by fc_text");
    fc_dataloaders_free(d);
}
