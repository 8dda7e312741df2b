/* The IMDB sample through fc_text_dls_from_csv and the SortedDL: every label still belongs to its
 * review after tokenizing, sorting by length and batching (ULMFiT's classifier at chance would be
 * the first symptom of a misalignment). A sentiment-word count (no model) must agree with the batch
 * labels far above chance, and the label counts must be the CSV's. (h-textreal) */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data_dir.h"
#include "fastc/text.h"
#include "fct.h"

static const char *const POS[] = {"great", "excellent", "best", "wonderful", "love", "loved", "perfect", "amazing",
                                  "beautiful", "favorite", "brilliant", "enjoyed"};
static const char *const NEG[] = {"worst", "bad", "awful", "terrible", "waste", "boring", "poor", "stupid",
                                  "horrible", "worse", "crap", "lame"};

/* Over one epoch of dl: rows whose sentiment-word count is not a tie, and how many of them agree
 * with their label (1 = positive); label counts into n_lab[2]. */
static void lexicon_agreement(fc_dataloader *dl, const fc_vocab *v, int64_t *n_rows, int64_t *n_agree, int64_t n_lab[2]) {
    int64_t pos_id[12], neg_id[12];
    for (int i = 0; i < 12; i++) pos_id[i] = fc_vocab_id(v, POS[i]), neg_id[i] = fc_vocab_id(v, NEG[i]);
    *n_rows = *n_agree = n_lab[0] = n_lab[1] = 0;
    if (!FCT_OK(fc_dataloader_start(dl, 0))) return;
    fc_tuple b;
    while (fc_dataloader_next(dl, &b) == 1) {
        const fc_tensor *x = b.v[0].t, *y = b.v[1].t;
        int64_t B = fc_tensor_dim(x, 0), T = fc_tensor_dim(x, 1);
        const int64_t *ids = fc_tensor_data(x);
        for (int64_t r = 0; r < B; r++) {
            int score = 0;
            for (int64_t t = 0; t < T; t++)
                for (int i = 0; i < 12; i++) score += (ids[r * T + t] == pos_id[i]) - (ids[r * T + t] == neg_id[i]);
            int label = (int)fc_tensor_get(y, r);
            if (label == 0 || label == 1) n_lab[label]++;
            if (score == 0) continue;
            (*n_rows)++;
            *n_agree += (score > 0) == (label == 1);
        }
        fc_tuple_free(&b);
    }
}

FCT_TEST(test_imdb_labels_follow_their_reviews_through_sorted_batches) {
    char data[1100];
    int found = test_data_dir("imdb_sample.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return;
    mkdir("imdb_labels_data", 0777);
    const char *dir = fc_untar_data("imdb_sample", .data_dir = data, .dest = "imdb_labels_data", .no_download = 1);
    if (!FCT_NOTNULL(dir)) return;
    char csv[1200];
    snprintf(csv, sizeof csv, "%s/texts.csv", dir);
    fc_dataloaders *dls = fc_text_dls_from_csv(csv, .valid_col = "is_valid", .bs = 16);
    if (!FCT_NOTNULL(dls)) return;
    FCT_STR(dls->vocab[1], "positive");
    const fc_vocab *v = fc_text_dls_vocab(dls);
    int64_t rows, agree, lab[2];
    lexicon_agreement(dls->valid, v, &rows, &agree, lab);
    FCT_EQ_INT(lab[0], 107); /* the CSV's valid rows: 107 negative, 93 positive */
    FCT_EQ_INT(lab[1], 93);
    printf("  imdb valid: sentiment words agree with the label on %lld of %lld reviews\n", (long long)agree,
           (long long)rows);
    FCT_TRUE(rows >= 150 && agree >= 0.65 * rows);
    lexicon_agreement(dls->train, v, &rows, &agree, lab);
    FCT_EQ_INT(lab[0] + lab[1], 800); /* train drops no row at bs 16 */
    FCT_EQ_INT(lab[0], 417);
    printf("  imdb train: %lld of %lld\n", (long long)agree, (long long)rows);
    FCT_TRUE(rows >= 550 && agree >= 0.65 * rows);
    fc_dataloaders_free(dls);
}
