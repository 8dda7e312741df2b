/* fastai's match_embeds (src/text/encoder_match.c): an encoder saved with one vocabulary loaded on
 * another — shared tokens keep their rows, new tokens get the mean row, the LSTM weights are
 * copied, failures leave the model unchanged — and the vocabulary of texts with newlines (fastai
 * keeps "\n" as a token) through the tokenizer, the vocabulary file and the encoder file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fastc/text.h"
#include "fct.h"

#define SMALL_AWD .awd = {.emb_sz = 8, .n_hid = 12, .n_layers = 2}

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(s, f);
    fclose(f);
}

/* A CSV of reviews whose texts hold newlines (quoted fields), so "\n" is a frequent token. */
static void write_newline_csv(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "text,label\n");
    static const char *const lines[] = {"the film was good", "a bad film", "the plot was thin", "good acting"};
    for (int i = 0; i < 24; i++)
        fprintf(f, "\"%s\n%s\n\nthe end\",%s\n", lines[i % 4], lines[(i + 1) % 4], i % 2 ? "pos" : "neg");
    fclose(f);
}

/* An LM learner on the newline CSV with its encoder saved to path. */
static fc_learner *lm_with_encoder(const char *path) {
    mkdir("encoder_match_data", 0777);
    write_newline_csv("encoder_match_data/nl.csv");
    fc_dataloaders *dls = fc_text_dls_from_csv("encoder_match_data/nl.csv", .is_lm = 1, .bs = 4, .seq_len = 8,
                                               .n_threads = 1);
    fc_learner *lm = fc_language_model_learner(dls, SMALL_AWD, .quiet = 1);
    if (lm && fc_learner_save_encoder(lm, path) != FC_OK) {
        fc_learner_free(lm);
        return NULL;
    }
    return lm;
}

static int rows_equal(const float *a, const float *b, int64_t n) { return memcmp(a, b, (size_t)n * sizeof *a) == 0; }

FCT_TEST(test_vocab_keeps_newline_tokens_through_tokenizer_file_and_decode) {
    fc_tokens docs[2] = {0};
    const char *texts[2] = {"One line\nand another\n\nlast line", "line\nline\nand\n"};
    FCT_OK(fc_tokenize_docs(texts, 2, docs, .n_threads = 1));
    int64_t n_nl = 0;
    for (int d = 0; d < 2; d++)
        for (int64_t i = 0; i < docs[d].n; i++) n_nl += strcmp(docs[d].tok[i], "\n") == 0;
    FCT_TRUE(n_nl >= 3);
    fc_vocab *v = fc_vocab_from_tokens(docs, 2, .min_freq = 1);
    if (FCT_NOTNULL(v)) {
        int64_t id = fc_vocab_id(v, "\n");
        FCT_TRUE(id >= FC_TEXT_N_SPECIAL); /* a token of its own, not xxunk */
        FCT_STR(fc_vocab_token(v, id), "\n");
        /* numericalize keeps it at its place; decode writes it back as a newline */
        fc_tensor *ids = fc_vocab_numericalize(v, &docs[1]);
        if (FCT_NOTNULL(ids)) {
            const int64_t *p = fc_tensor_data(ids);
            int64_t k = 0;
            for (int64_t i = 0; i < docs[1].n; i++) {
                FCT_EQ_INT(p[i], fc_vocab_id(v, docs[1].tok[i]));
                k += p[i] == id;
            }
            FCT_TRUE(k >= 2);
            char *text = fc_vocab_decode(v, p, fc_tensor_numel(ids));
            if (FCT_NOTNULL(text)) FCT_TRUE(strchr(text, '\n') != NULL);
            free(text);
            fc_tensor_free(ids);
        }
        /* the vocabulary file escapes it: one token per line still */
        mkdir("encoder_match_data", 0777);
        FCT_OK(fc_vocab_save(v, "encoder_match_data/nl.vocab"));
        fc_vocab *w = fc_vocab_load("encoder_match_data/nl.vocab");
        if (FCT_NOTNULL(w)) {
            FCT_EQ_INT(fc_vocab_len(w), fc_vocab_len(v));
            FCT_EQ_INT(fc_vocab_id(w, "\n"), id);
            for (int64_t i = 0; i < fc_vocab_len(v); i++) FCT_STR(fc_vocab_token(w, i), fc_vocab_token(v, i));
            fc_vocab_free(w);
        }
        fc_vocab_free(v);
    }
    for (int d = 0; d < 2; d++) fc_tokens_free(&docs[d]);
}

FCT_TEST(test_newline_csv_lm_vocab_has_newline_and_encoder_keeps_it) {
    fc_manual_seed(0);
    fc_learner *lm = lm_with_encoder("encoder_match_data/nl.fce");
    if (!FCT_NOTNULL(lm)) return;
    const fc_vocab *v = fc_text_dls_vocab(fc_learner_dls(lm));
    FCT_TRUE(fc_vocab_id(v, "\n") >= FC_TEXT_N_SPECIAL);
    /* the same vocabulary loads strictly and matched: every token found, weights identical */
    fc_module *m = fc_awd_lstm_lm(fc_vocab_len(v), .emb_sz = 8, .n_hid = 12, .n_layers = 2);
    int64_t found = -1;
    FCT_OK(fc_awd_lstm_load_encoder_matched(m, v, "encoder_match_data/nl.fce", &found));
    int64_t n_fake = 0;
    for (int64_t i = 0; i < fc_vocab_len(v); i++) n_fake += strcmp(fc_vocab_token(v, i), "xxfake") == 0;
    FCT_EQ_INT(found, fc_vocab_len(v) - n_fake); /* xxfake is unknown to lookups, as fastai's o2i */
    fc_module *src = fc_learner_model(lm);
    int n_params = fc_module_n_parameters(src);
    for (int i = 0; i < n_params; i++) {
        const char *name = NULL;
        fc_tensor *p = fc_module_parameter(src, i, &name);
        if (strncmp(name, "0.", 2) != 0) continue; /* the encoder only: the decoder bias is not in the file */
        fc_tensor *q = fc_module_get(m, name);
        if (!FCT_NOTNULL(q)) continue;
        if (strcmp(name, "0.encoder.weight") != 0) {
            FCT_TRUE(rows_equal(fc_tensor_data_f32(p), fc_tensor_data_f32(q), fc_tensor_numel(p)));
            continue;
        }
        for (int64_t r = 0; r < fc_vocab_len(v); r++)
            if (strcmp(fc_vocab_token(v, r), "xxfake") != 0)
                FCT_TRUE(rows_equal(fc_tensor_data_f32(p) + r * 8, fc_tensor_data_f32(q) + r * 8, 8));
    }
    fc_module_free(m);
    fc_learner_free(lm);
}

FCT_TEST(test_matched_encoder_copies_shared_rows_and_gives_new_tokens_the_mean) {
    fc_manual_seed(1);
    fc_learner *lm = lm_with_encoder("encoder_match_data/nl2.fce");
    if (!FCT_NOTNULL(lm)) return;
    const fc_vocab *old = fc_text_dls_vocab(fc_learner_dls(lm));
    fc_tensor *w_old = fc_module_get(fc_learner_model(lm), "0.encoder.weight");
    int64_t no = fc_vocab_len(old);
    /* the mean row of the old embedding, in double */
    double mean[8] = {0};
    const float *a = fc_tensor_data_f32(w_old);
    for (int64_t r = 0; r < no; r++)
        for (int c = 0; c < 8; c++) mean[c] += a[r * 8 + c] / (double)no;
    /* a new vocabulary: shared tokens at other ids, new words, "\n" moved */
    const char *toks[] = {"xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj",
                          "zebra", "film", "\n",  "unseen", "the",  "good",  "quokka"};
    fc_vocab *nv = fc_vocab_new(toks, 16);
    fc_module *clas = fc_text_classifier_model(16, 2, .awd = {.emb_sz = 8, .n_hid = 12, .n_layers = 2});
    if (FCT_NOTNULL(nv) && FCT_NOTNULL(clas)) {
        int64_t found = -1;
        FCT_OK(fc_awd_lstm_load_encoder_matched(clas, nv, "encoder_match_data/nl2.fce", &found));
        FCT_EQ_INT(found, 9 + 4); /* the specials, film, \n, the, good */
        const float *b = fc_tensor_data_f32(fc_module_get(clas, "0.module.encoder.weight"));
        for (int64_t r = 0; r < 16; r++) {
            int64_t id = fc_vocab_id(old, toks[r]);
            int known = id != FC_TOK_UNK || r == 0;
            if (known) {
                fct_check(rows_equal(a + id * 8, b + r * 8, 8), __FILE__, __LINE__, "row of '%s' not copied", toks[r]);
            } else {
                for (int c = 0; c < 8; c++) FCT_NEAR(b[r * 8 + c], mean[c], 1e-6);
            }
        }
        /* the LSTM weights are the LM's */
        fc_tensor *p = fc_module_get(fc_learner_model(lm), "0.rnns.1.weight_hh_l0_raw");
        fc_tensor *q = fc_module_get(clas, "0.module.rnns.1.weight_hh_l0_raw");
        if (FCT_NOTNULL(p) && FCT_NOTNULL(q))
            FCT_TRUE(rows_equal(fc_tensor_data_f32(p), fc_tensor_data_f32(q), fc_tensor_numel(p)));
    }
    fc_module_free(clas);
    fc_vocab_free(nv);
    fc_learner_free(lm);
}

FCT_TEST(test_matched_encoder_failures_leave_the_model_unchanged) {
    fc_manual_seed(2);
    fc_learner *lm = lm_with_encoder("encoder_match_data/nl3.fce");
    if (!FCT_NOTNULL(lm)) return;
    const char *toks[] = {"xxunk", "xxpad", "film", "new"};
    fc_vocab *nv = fc_vocab_new(toks, 4);
    /* other sizes: emb 8 but hidden 16 */
    fc_module *m = fc_awd_lstm(4, .emb_sz = 8, .n_hid = 16, .n_layers = 2);
    if (FCT_NOTNULL(nv) && FCT_NOTNULL(m)) {
        fc_tensor *w = fc_module_get(m, "encoder.weight");
        float before[32];
        memcpy(before, fc_tensor_data_f32(w), sizeof before);
        FCT_TRUE(fc_awd_lstm_load_encoder_matched(m, nv, "encoder_match_data/nl3.fce", NULL) != FC_OK);
        FCT_ERROR(FC_ERR_SHAPE, "nl3.fce' does not fit an AWD_LSTM of emb_sz 8, n_hid 16");
        FCT_TRUE(rows_equal(before, fc_tensor_data_f32(w), 32));
        /* not an encoder file */
        write_text("encoder_match_data/not_enc.fce", "hello");
        FCT_TRUE(fc_awd_lstm_load_encoder_matched(m, nv, "encoder_match_data/not_enc.fce", NULL) != FC_OK);
        FCT_ERROR(FC_ERR_FORMAT, "not_enc.fce");
        /* a missing file */
        FCT_TRUE(fc_awd_lstm_load_encoder_matched(m, nv, "encoder_match_data/missing.fce", NULL) != FC_OK);
        FCT_ERROR(FC_ERR_IO, "missing.fce");
        /* a model whose embedding does not fit its vocabulary */
        fc_module *m5 = fc_awd_lstm(5, .emb_sz = 8, .n_hid = 12, .n_layers = 2);
        FCT_TRUE(fc_awd_lstm_load_encoder_matched(m5, nv, "encoder_match_data/nl3.fce", NULL) != FC_OK);
        FCT_ERROR(FC_ERR_ARG, "5 rows");
        fc_module_free(m5);
        FCT_TRUE(rows_equal(before, fc_tensor_data_f32(w), 32));
    }
    fc_module_free(m);
    fc_vocab_free(nv);
    fc_learner_free(lm);
}

FCT_TEST(test_learner_load_encoder_matched_on_another_vocabulary_freezes) {
    fc_manual_seed(3);
    fc_learner *lm = lm_with_encoder("encoder_match_data/nl4.fce");
    if (!FCT_NOTNULL(lm)) return;
    /* a classifier with a vocabulary of its own (made from its CSV with min_freq 1) */
    fc_dataloaders *dls = fc_text_dls_from_csv("encoder_match_data/nl.csv", .bs = 4, .seq_len = 8, .min_freq = 1,
                                               .valid_pct = 0.25, .n_threads = 1);
    fc_learner *clas = fc_text_classifier_learner(dls, SMALL_AWD, .quiet = 1);
    if (FCT_NOTNULL(clas)) {
        FCT_TRUE(fc_learner_load_encoder(clas, "encoder_match_data/nl4.fce") != FC_OK); /* strict: refused */
        FCT_ERROR(FC_ERR_ARG, "vocabulary");
        int64_t found = 0;
        FCT_OK(fc_learner_load_encoder_matched(clas, "encoder_match_data/nl4.fce", &found));
        FCT_TRUE(found > FC_TEXT_N_SPECIAL);
        /* frozen: one epoch changes the head only */
        fc_tensor *emb = fc_module_get(fc_learner_model(clas), "0.module.encoder.weight");
        int64_t ne = fc_tensor_numel(emb);
        float *before = malloc((size_t)ne * sizeof *before);
        memcpy(before, fc_tensor_data_f32(emb), (size_t)ne * sizeof *before);
        FCT_OK(fc_fit_one_cycle(clas, 1, 1e-2));
        FCT_TRUE(rows_equal(before, fc_tensor_data_f32(emb), ne));
        free(before);
        fc_learner_free(clas);
    }
    fc_learner_free(lm);
}

FCT_TEST(test_load_encoder_of_other_sizes_names_the_encoder_file) {
    /* fc_module_load read a scratch copy, so its shape error named /tmp/fastc_encoder_XXXXXX only */
    fc_manual_seed(4);
    fc_learner *lm = lm_with_encoder("encoder_match_data/nl5.fce");
    if (!FCT_NOTNULL(lm)) return;
    fc_dataloaders *dls = fc_text_dls_from_csv("encoder_match_data/nl.csv", .bs = 4, .seq_len = 8, .valid_pct = 0.25,
                                               .vocab = fc_text_dls_vocab(fc_learner_dls(lm)), .n_threads = 1);
    fc_learner *clas = fc_text_classifier_learner(dls, .awd = {.emb_sz = 8, .n_hid = 10, .n_layers = 2}, .quiet = 1);
    if (FCT_NOTNULL(clas)) {
        FCT_TRUE(fc_learner_load_encoder(clas, "encoder_match_data/nl5.fce") != FC_OK);
        FCT_ERROR(FC_ERR_SHAPE, "the weights of 'encoder_match_data/nl5.fce' do not fit the model");
        fc_learner_free(clas);
    }
    fc_learner_free(lm);
}
