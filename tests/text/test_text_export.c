/* Text export and load_learner: a tiny AWD-LSTM language model and classifier trained one epoch on
 * generated text are exported and loaded back with no documents; the vocabulary and classes come
 * back in order, the classifier predicts the same class and probabilities (bit for bit) for new
 * texts, and the language model generates the same words under the same seed. Truncated and
 * corrupt files, and files of another application, fail with messages naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fastc/collab.h"
#include "fastc/text.h"
#include "export_checks.h"
#include "fct.h"

#define TINY_AWD .awd = {.emb_sz = 16, .n_hid = 24, .n_layers = 2}, .drop_mult = 0.2

static const char *const WORDS[] = {"the", "cat", "dog", "sat", "on", "a", "mat", "ran", "to", "house",
                                    "big", "small", "red", "green", "saw", "bird", "tree", "under", "and", "then"};

static void write_docs(const char *path, int n, int csv) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    if (csv) fprintf(f, "text,label,is_valid\n");
    fc_rng r = fc_rng_new(17);
    for (int i = 0; i < n; i++) {
        int pos = i % 2, len = 6 + (int)(fc_rng_u32(&r) % 10);
        if (csv) fprintf(f, "\"");
        for (int k = 0; k < len; k++) fprintf(f, "%s%s", k ? " " : "", WORDS[(int)(fc_rng_u32(&r) % 10) + (pos ? 10 : 0)]);
        if (csv) fprintf(f, "\",%s,%s", pos ? "positive" : "negative", i < n / 5 ? "True" : "False");
        fputc('\n', f);
    }
    fclose(f);
}

static fc_learner *trained(int lm) {
    mkdir("text_export_data", 0777);
    fc_dataloaders *dls;
    if (lm) {
        write_docs("text_export_data/lm.txt", 200, 0);
        dls = fc_text_lm_dls_from_files("text_export_data/lm.txt", NULL, .bs = 8, .seq_len = 12, .n_threads = 1);
    } else {
        write_docs("text_export_data/clas.csv", 200, 1);
        dls = fc_text_dls_from_csv("text_export_data/clas.csv", .valid_col = "is_valid", .bs = 16, .seq_len = 12,
                                   .n_threads = 1);
    }
    fc_manual_seed(4);
    fc_learner *learn = lm ? fc_language_model_learner(dls, TINY_AWD, .quiet = 1)
                           : fc_text_classifier_learner(dls, TINY_AWD, .lin_ftrs = FC_INTS(10), .quiet = 1);
    if (learn && fc_fit_one_cycle(learn, 1, 1e-2) != FC_OK) {
        fc_learner_free(learn);
        return NULL;
    }
    return learn;
}

static void same_vocab(fc_learner *a, fc_learner *b) {
    const fc_vocab *va = fc_text_dls_vocab(fc_learner_dls(a)), *vb = fc_text_dls_vocab(fc_learner_dls(b));
    if (!FCT_NOTNULL(va) || !FCT_NOTNULL(vb)) return;
    FCT_EQ_INT(fc_vocab_len(vb), fc_vocab_len(va));
    for (int64_t i = 0; i < fc_vocab_len(va) && i < fc_vocab_len(vb); i++) FCT_STR(fc_vocab_token(vb, i), fc_vocab_token(va, i));
    FCT_EQ_INT(fc_vocab_id(vb, "dog"), fc_vocab_id(va, "dog"));
}

FCT_TEST(test_text_classifier_export_round_trip) {
    fc_learner *learn = trained(0), *loaded = NULL;
    if (!FCT_NOTNULL(learn)) return;
    FCT_STR(fc_learner_app(learn), "text");
    const char *out = "text_clas.fcm";
    if (!FCT_OK(fc_learner_export(learn, out)) || !FCT_NOTNULL(loaded = fc_load_learner(out))) goto done;
    same_vocab(learn, loaded);
    FCT_NEAR(fc_learner_mom_max(loaded), 0.8, 0); /* the text learners' one-cycle momentums */
    FCT_NEAR(fc_learner_mom_min(loaded), 0.7, 0);
    const fc_dataloaders *dl = fc_learner_dls(loaded);
    FCT_EQ_INT(dl->n_vocab, 2);
    if (dl->n_vocab == 2) FCT_STR(dl->vocab[1], "positive");
    static const char *texts[] = {"the cat sat on a mat", "Big RED birds saw the green tree!!!",
                                  "an unknown word zebra and then the dog"};
    for (int k = 0; k < 3; k++) {
        fc_prediction pa, pb;
        if (!FCT_OK(fc_learner_predict(learn, texts[k], &pa))) continue;
        if (FCT_OK(fc_learner_predict(loaded, texts[k], &pb))) {
            FCT_STR(pb.label, pa.label);
            FCT_EQ_INT(pb.index, pa.index);
            FCT_CLOSE(pb.probs, pa.probs, 0, 0);
            fc_prediction_free(&pb);
        }
        fc_prediction_free(&pa);
    }
done:
    remove(out);
    fc_learner_free(loaded);
    fc_learner_free(learn);
}

FCT_TEST(test_text_language_model_export_round_trip) {
    fc_learner *learn = trained(1), *loaded = NULL;
    if (!FCT_NOTNULL(learn)) return;
    const char *out = "text_lm.fcm";
    if (!FCT_OK(fc_learner_export(learn, out)) || !FCT_NOTNULL(loaded = fc_load_learner(out))) goto done;
    same_vocab(learn, loaded);
    fc_manual_seed(11);
    char *ga = fc_lm_predict(learn, "the cat", 8);
    fc_manual_seed(11);
    char *gb = fc_lm_predict(loaded, "the cat", 8);
    if (FCT_NOTNULL(ga) && FCT_NOTNULL(gb)) {
        FCT_STR(gb, ga);
        FCT_TRUE(strlen(ga) > strlen("the cat"));
    }
    free(ga);
    free(gb);
done:
    remove(out);
    fc_learner_free(loaded);
    fc_learner_free(learn);
}

FCT_TEST(test_text_load_rejects_corrupt_files) {
    fc_learner *learn = trained(0);
    if (!FCT_NOTNULL(learn)) return;
    const char *good = "text_good.fcm", *bad = "text_bad.fcm";
    unsigned char *b = NULL;
    size_t n = fct_fcm_export_bytes(learn, good, &b);
    if (!n) goto done;
    FCT_TRUE(fct_fcm_truncations_fail(b, n, bad, 800, 41));
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"emb_sz\":16", "\"emb_sz\":17", bad)))
        fct_fcm_load_fails(bad, FC_ERR_SHAPE, "expected shape");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"emb_sz\":16", "\"emb_sz\":65536", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "text config: the config asks for a model of at least");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"n_layers\":2", "\"n_layers\":3", bad)))
        fct_fcm_load_fails(bad, FC_ERR_SHAPE, "expected shape");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"vocab\":[\"xxunk\",", "\"vocab\":[", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "do not match the model");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"classes\":[\"negative\",", "\"classes\":[\"neutral\",\"negative\",", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "and classes (3) do not match the model's");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"classes\":[\"negative\",", "\"classes\":[", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "'classes'");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"classifier\"", "\"regressor\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "expected 'model'");
    /* files of another application */
    FCT_OK(fc_tabular_register());
    FCT_OK(fc_collab_register());
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"application\":\"text\"", "\"application\":\"collab\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "collab config");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"application\":\"text\"", "\"application\":\"tabular\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "tabular config");
done:
    free(b);
    remove(good);
    remove(bad);
    fc_learner_free(learn);
}
