/* The text learners (src/text/learner.c, rnn_callbacks.c, encoder_io.c, generate.c): a tiny
 * AWD-LSTM language model and classifier on synthetic text written to the build folder, and a
 * short WikiText-2 run whose validation perplexity must fall. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data_dir.h"
#include "fastc/text.h"
#include "fct.h"

/* Tiny AWD sizes: the behaviour under test does not depend on them. */
#define TINY_AWD .awd = {.emb_sz = 16, .n_hid = 32, .n_layers = 3}, .drop_mult = 0.2

static const char *const WORDS[] = {"the", "cat", "dog", "sat", "on", "a", "mat", "ran", "to", "house",
                                    "big", "small", "red", "green", "saw", "bird", "tree", "under", "and", "then"};
enum { N_WORDS = sizeof WORDS / sizeof *WORDS };

/* Lines of words from a fixed Markov chain (each word has 2 successors): learnable structure. */
static void write_lm_file(const char *path, int n_lines, uint64_t seed) {
    fc_rng r = fc_rng_new(seed);
    FILE *f = fopen(path, "w");
    if (!f) return;
    for (int l = 0; l < n_lines; l++) {
        int w = (int)(fc_rng_u32(&r) % N_WORDS);
        for (int k = 0; k < 16; k++) {
            fprintf(f, "%s%s", k ? " " : "", WORDS[w]);
            w = (w * 7 + 3 + (int)(fc_rng_u32(&r) % 2) * 5) % N_WORDS;
        }
        fputc('\n', f);
    }
    fclose(f);
}

static const char *tmp_dir(void) {
    mkdir("text_learner_data", 0777);
    return "text_learner_data";
}

static fc_dataloaders *lm_dls(void) {
    write_lm_file("text_learner_data/lm_train.txt", 240, 1);
    write_lm_file("text_learner_data/lm_valid.txt", 40, 2);
    return fc_text_lm_dls_from_files("text_learner_data/lm_train.txt", "text_learner_data/lm_valid.txt", .bs = 8,
                                     .seq_len = 16, .n_threads = 1);
}

/* Two classes told apart by their words; rows 0..n_valid-1 are valid. The LM corpus's words come
 * too, so the classifier's vocabulary can be the LM's. */
static void write_clas_csv(const char *path, int n, int n_valid) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "text,label,is_valid\n");
    fc_rng r = fc_rng_new(3);
    for (int i = 0; i < n; i++) {
        int pos = i % 2;
        fprintf(f, "\"");
        int len = 6 + (int)(fc_rng_u32(&r) % 10);
        for (int k = 0; k < len; k++) {
            int w = (int)(fc_rng_u32(&r) % 10) + (pos ? 10 : 0);
            fprintf(f, "%s%s", k ? " " : "", WORDS[w]);
        }
        fprintf(f, "\",%s,%s\n", pos ? "positive" : "negative", i < n_valid ? "True" : "False");
    }
    fclose(f);
}

static fc_dataloaders *clas_dls(const fc_vocab *vocab) {
    write_clas_csv("text_learner_data/clas.csv", 400, 80);
    return fc_text_dls_from_csv("text_learner_data/clas.csv", .valid_col = "is_valid", .bs = 16, .seq_len = 16,
                                .vocab = vocab, .n_threads = 1);
}

/* Copies of every parameter of m (outside any scope). */
static fc_tensor **snapshot(fc_module *m, int *n) {
    *n = fc_module_n_parameters(m);
    fc_tensor **s = calloc((size_t)*n, sizeof *s);
    for (int i = 0; i < *n; i++) s[i] = fc_keep(fc_clone(fc_module_parameter(m, i, NULL)));
    return s;
}
static void snapshot_free(fc_tensor **s, int n) {
    for (int i = 0; i < n; i++) fc_tensor_free(s[i]);
    free(s);
}
static int same_values(const fc_tensor *a, const fc_tensor *b) {
    if (fc_tensor_numel(a) != fc_tensor_numel(b)) return 0;
    return memcmp(fc_tensor_data((fc_tensor *)a), fc_tensor_data((fc_tensor *)b),
                  sizeof(float) * (size_t)fc_tensor_numel(a)) == 0;
}

/* ---- the language model learner ---- */

FCT_TEST(test_lm_learner_trains_with_accuracy_and_perplexity) {
    tmp_dir();
    fc_manual_seed(0);
    fc_learner *learn = fc_language_model_learner(lm_dls(), TINY_AWD, .quiet = getenv("FCT_VERBOSE") == NULL);
    FCT_NOTNULL(learn);
    if (!learn) return;
    FCT_EQ_INT(fc_learner_n_groups(learn), 4); /* 3 LSTM layers, then embedding + decoder */
    FCT_OK(fc_fit_one_cycle(learn, 3, 3e-2));
    FCT_EQ_INT(fc_recorder_n_epochs(learn), 3);
    int nc = fc_recorder_n_cols(learn);
    FCT_EQ_INT(nc, 4);
    FCT_STR(fc_recorder_col_name(learn, 2), "accuracy");
    FCT_STR(fc_recorder_col_name(learn, 3), "perplexity");
    const double *v = fc_recorder_values(learn);
    if (nc == 4) {
        FCT_TRUE(v[2 * nc + 1] < v[0 * nc + 1]);                 /* valid loss falls */
        FCT_TRUE(v[2 * nc + 2] > v[0 * nc + 2]);                 /* accuracy rises   */
        FCT_NEAR(v[2 * nc + 3], exp(v[2 * nc + 1]), 1e-3 * v[2 * nc + 3]); /* perplexity = exp(valid loss) */
        FCT_TRUE(v[2 * nc + 3] < 20); /* from ~30 (uniform over the vocabulary); the floor is 2 */
    }
    fc_learner_free(learn);
}

/* ModelResetter zeroes the kept state before validation, so validating twice gives the same loss;
 * without it the second pass starts from the first one's last state. */
FCT_TEST(test_model_resetter_resets_state_per_phase) {
    tmp_dir();
    fc_manual_seed(0);
    fc_learner *learn = fc_language_model_learner(lm_dls(), TINY_AWD, .quiet = 1);
    FCT_NOTNULL(learn);
    if (!learn) return;
    FCT_NOTNULL(fc_learner_cb(learn, "ModelResetter"));
    FCT_NOTNULL(fc_learner_cb(learn, "RNNRegularizer"));
    FCT_OK(fc_fit(learn, 1, 1e-2));
    double a = 0, b = 0, c = 0;
    FCT_OK(fc_learner_validate(learn, NULL, &a, NULL));
    FCT_OK(fc_learner_validate(learn, NULL, &b, NULL));
    FCT_NEAR(a, b, 1e-6);
    FCT_OK(fc_learner_remove_cb(learn, "ModelResetter"));
    FCT_OK(fc_learner_validate(learn, NULL, &c, NULL));
    FCT_TRUE(fabs(c - b) > 1e-6);
    fc_learner_free(learn);
}

/* AR/TAR only change loss_grad: the logged loss is the plain cross entropy, and turning the
 * regularizer off changes the trained weights. */
FCT_TEST(test_rnn_regularizer_changes_training_only) {
    tmp_dir();
    float w[2];
    for (int k = 0; k < 2; k++) {
        fc_manual_seed(0);
        fc_learner *learn = fc_language_model_learner(lm_dls(), TINY_AWD, .quiet = 1, .alpha = k ? -1 : 0,
                                                      .beta = k ? -1 : 0, .awd.embed_p = -1, .awd.input_p = -1,
                                                      .awd.hidden_p = -1, .awd.weight_p = -1, .awd.output_p = -1);
        FCT_NOTNULL(learn);
        if (!learn) return;
        FCT_TRUE((fc_learner_cb(learn, "RNNRegularizer") != NULL) == (k == 0));
        FCT_OK(fc_fit(learn, 1, 1e-2));
        fc_tensor *p = fc_module_parameter(fc_learner_model(learn), 1, NULL);
        w[k] = p ? fc_tensor_data_f32(p)[0] : 0;
        fc_learner_free(learn);
    }
    FCT_TRUE(w[0] != w[1]);
}

FCT_TEST(test_lm_predict_generates_reproducibly) {
    tmp_dir();
    fc_manual_seed(0);
    fc_learner *learn = fc_language_model_learner(lm_dls(), TINY_AWD, .quiet = 1);
    FCT_NOTNULL(learn);
    if (!learn) return;
    FCT_OK(fc_fit_one_cycle(learn, 1, 1e-2));
    char *p0 = fc_lm_predict(learn, "the cat", 0);
    FCT_STR(p0, "the cat");
    fc_manual_seed(7);
    char *a = fc_lm_predict(learn, "the cat", 12);
    fc_manual_seed(7);
    char *b = fc_lm_predict(learn, "the cat", 12, .temperature = 1);
    fc_manual_seed(8);
    char *c = fc_lm_predict(learn, "the cat", 12, .temperature = 0.5);
    FCT_NOTNULL(a);
    FCT_NOTNULL(c);
    if (a && b && c) {
        FCT_STR(a, b);
        FCT_TRUE(strncmp(a, "the cat ", 8) == 0);
        int words = 1;
        for (const char *s = a; *s; s++) words += *s == ' ';
        /* 12 sampled tokens after the 2 words; xxbos / xxpad samples decode to nothing */
        FCT_TRUE(words > 2 && words <= 14);
        FCT_TRUE(strstr(a, "xxunk") == NULL);
    }
    FCT_NULL(fc_lm_predict(learn, "the", 3, .temperature = -1));
    FCT_ERROR(FC_ERR_ARG, "temperature > 0");
    free(p0);
    free(a);
    free(b);
    free(c);
    fc_learner_free(learn);
}

/* ---- encoder files and the classifier ---- */

/* fastai's RNNRegularizer on a classifier (PoolingLinearClassifier returns the encoder outputs as
 * raw_out and out): loss_grad = loss + alpha * mean(out^2) + beta * mean((out[:, t+1] - out[:, t])^2)
 * over the whole [B, L, E] sequence output (padding included, as fastai), not the pooled features. */
typedef struct {
    int n_checked, n_bad;
    double worst;
} reg_check;

static int check_clas_reg(fc_learner *learn, void *state) {
    reg_check *c = state;
    if (!fc_learner_training(learn)) return FC_CONTINUE;
    fc_tensor *raw = NULL, *out = NULL;
    if (fc_text_model_outputs(fc_learner_model(learn), &raw, &out) != FC_OK || fc_tensor_ndim(out) != 3) {
        fc_error_clear();
        c->n_bad++;
        return FC_CONTINUE;
    }
    int64_t T = fc_tensor_dim(raw, 1);
    fc_tensor *d = fc_sub(fc_narrow(raw, 1, 1, T - 1), fc_narrow(raw, 1, 0, T - 1));
    double ce = fc_tensor_item(fc_cross_entropy(fc_learner_pred(learn), fc_learner_yb(learn, 0)));
    double ar = fc_tensor_item(fc_mean(fc_mul(out, out), FC_ALL_DIMS, 0));
    double tar = fc_tensor_item(fc_mean(fc_mul(d, d), FC_ALL_DIMS, 0));
    double got = fc_tensor_item(fc_learner_loss_grad(learn)), want = ce + 2 * ar + 1 * tar;
    double err = fabs(got - want) / (fabs(want) + 1e-12);
    if (err > c->worst) c->worst = err;
    c->n_checked++;
    if (!(ar > 0 && tar > 0)) c->n_bad++;
    return FC_CONTINUE;
}

/* fastai's SchedCos and combined_cos, written out independently of src/optim. */
static double sched_cos(double a, double b, double pos) { return a + (1 + cos(M_PI * (1 - pos))) * (b - a) / 2; }
static double comb_cos(double pct, double a, double b, double c, double pos) {
    return pos < pct ? sched_cos(a, b, pos / pct) : sched_cos(b, c, (pos - pct) / (1 - pct));
}

/* fastai's TextLearner moms (0.8, 0.7, 0.8): fit_one_cycle's default for both text learners; an
 * explicit .mom_max / .mom_min still wins, each on its own. */
FCT_TEST(test_text_learners_one_cycle_moms_default_to_fastai_text) {
    tmp_dir();
    fc_manual_seed(0);
    fc_learner *lm = fc_language_model_learner(lm_dls(), TINY_AWD, .quiet = 1);
    FCT_NOTNULL(lm);
    if (!lm) return;
    FCT_NEAR(fc_learner_mom_max(lm), 0.8, 0);
    FCT_NEAR(fc_learner_mom_min(lm), 0.7, 0);
    FCT_OK(fc_fit_one_cycle(lm, 1, 1e-2));
    int64_t n = fc_recorder_n_batches(lm);
    const double *moms = fc_recorder_moms(lm);
    FCT_TRUE(n >= 4);
    for (int64_t i = 0; moms && i < n; i++)
        FCT_NEAR(moms[i], comb_cos(0.25, 0.8, 0.7, 0.8, (double)i / (double)n), 1e-12);
    if (moms && n >= 4) { /* 0.8 at the start, 0.7 near pct_start, back towards 0.8 at the end */
        FCT_NEAR(moms[0], 0.8, 1e-12);
        double lo = 1;
        for (int64_t i = 0; i < n; i++) lo = fmin(lo, moms[i]);
        FCT_TRUE(lo < 0.71);
        FCT_TRUE(moms[n - 1] > 0.79);
    }
    FCT_OK(fc_fit_one_cycle(lm, 1, 1e-2, .mom_max = 0.95, .mom_min = 0.85));
    moms = fc_recorder_moms(lm);
    n = fc_recorder_n_batches(lm);
    for (int64_t i = 0; moms && i < n; i++)
        FCT_NEAR(moms[i], comb_cos(0.25, 0.95, 0.85, 0.95, (double)i / (double)n), 1e-12);
    FCT_OK(fc_fit_one_cycle(lm, 1, 1e-2, .mom_min = 0.5));
    moms = fc_recorder_moms(lm);
    n = fc_recorder_n_batches(lm);
    for (int64_t i = 0; moms && i < n; i++)
        FCT_NEAR(moms[i], comb_cos(0.25, 0.8, 0.5, 0.8, (double)i / (double)n), 1e-12);
    fc_learner *clas = fc_text_classifier_learner(clas_dls(fc_text_dls_vocab(fc_learner_dls(lm))), TINY_AWD,
                                                  .quiet = 1);
    FCT_NOTNULL(clas);
    if (clas) {
        FCT_NEAR(fc_learner_mom_max(clas), 0.8, 0);
        FCT_NEAR(fc_learner_mom_min(clas), 0.7, 0);
        FCT_OK(fc_fit_one_cycle(clas, 1, 1e-2, .pct_start = 0.5));
        moms = fc_recorder_moms(clas);
        n = fc_recorder_n_batches(clas);
        FCT_TRUE(n >= 2);
        for (int64_t i = 0; moms && i < n; i++)
            FCT_NEAR(moms[i], comb_cos(0.5, 0.8, 0.7, 0.8, (double)i / (double)n), 1e-12);
    }
    fc_learner_free(clas);
    fc_learner_free(lm);
}

FCT_TEST(test_rnn_regularizer_on_a_classifier_uses_the_sequence_outputs) {
    tmp_dir();
    fc_manual_seed(0);
    fc_learner *lm = fc_language_model_learner(lm_dls(), TINY_AWD, .quiet = 1);
    FCT_NOTNULL(lm);
    if (!lm) return;
    reg_check c = {0};
    fc_callback *cb = fc_callback_new(&(fc_callback_def){.name = "RegCheck", .order = FC_ORDER_DEFAULT + 2,
                                                         .state = &c, .after_loss = check_clas_reg});
    /* dropouts off: fastai's out (dropped) and raw_out are then the same tensor's values */
    fc_learner *clas = fc_text_classifier_learner(clas_dls(fc_text_dls_vocab(fc_learner_dls(lm))), TINY_AWD,
                                                  .quiet = 1, .awd.embed_p = -1, .awd.input_p = -1,
                                                  .awd.hidden_p = -1, .awd.weight_p = -1, .awd.output_p = -1,
                                                  .cbs = FC_CALLBACKS(cb));
    FCT_NOTNULL(clas);
    if (clas) FCT_OK(fc_fit(clas, 1, 1e-3));
    FCT_TRUE(c.n_checked >= 10);
    FCT_EQ_INT(c.n_bad, 0);
    FCT_TRUE(c.worst < 1e-5);
    if (!(c.worst < 1e-5)) printf("loss_grad vs CE + 2 AR + TAR: relative error %.3g\n", c.worst);
    fc_learner_free(clas);
    fc_learner_free(lm);
}

FCT_TEST(test_encoder_roundtrip_into_classifier_and_gradual_unfreezing) {
    tmp_dir();
    fc_manual_seed(0);
    fc_learner *lm = fc_language_model_learner(lm_dls(), TINY_AWD, .quiet = 1);
    FCT_NOTNULL(lm);
    if (!lm) return;
    FCT_OK(fc_fit(lm, 1, 1e-2));
    FCT_OK(fc_learner_save_encoder(lm, "text_learner_data/enc.fce"));
    fc_dataloaders *dls = clas_dls(fc_text_dls_vocab(fc_learner_dls(lm)));
    fc_learner *clas = fc_text_classifier_learner(dls, TINY_AWD, .quiet = getenv("FCT_VERBOSE") == NULL,
                                                  .metrics = FC_METRICS(fc_accuracy()));
    FCT_NOTNULL(clas);
    if (!clas) {
        fc_learner_free(lm);
        return;
    }
    FCT_EQ_INT(fc_learner_n_groups(clas), 5); /* embedding, 3 LSTM layers, head */
    FCT_OK(fc_learner_load_encoder(clas, "text_learner_data/enc.fce"));
    /* the AWD_LSTM's tensors are equal, name by name (LM: "0.<name>", classifier: "0.module.<name>") */
    fc_module *lm_m = fc_learner_model(lm), *cl_m = fc_learner_model(clas);
    int n_checked = 0;
    for (int i = 0; i < fc_module_n_parameters(lm_m); i++) {
        const char *name = NULL;
        fc_tensor *p = fc_module_parameter(lm_m, i, &name);
        if (strncmp(name, "0.", 2) != 0) continue;
        char cname[300];
        snprintf(cname, sizeof cname, "0.module.%s", name + 2);
        fc_tensor *q = fc_module_get(cl_m, cname);
        FCT_NOTNULL(q);
        if (q) FCT_TRUE(same_values(p, q));
        n_checked++;
    }
    FCT_TRUE(n_checked >= 1 + 4 * 3);

    /* load_encoder froze the classifier: only the head trains; freeze_to(-2): the last LSTM too */
    FCT_OK(fc_learner_freeze_to(clas, -2));
    int n = 0;
    fc_tensor **before = snapshot(cl_m, &n);
    FCT_OK(fc_fit_one_cycle(clas, 1, 1e-2));
    for (int i = 0; i < n; i++) {
        const char *name = NULL;
        fc_tensor *p = fc_module_parameter(cl_m, i, &name);
        int trainable = strncmp(name, "0.", 2) != 0 || strstr(name, "rnns.2.") != NULL;
        if (strstr(name, "running_") || strstr(name, "num_batches")) continue;
        fct_check(same_values(p, before[i]) != trainable, __FILE__, __LINE__, "%s %s after freeze_to(-2)", name,
                  trainable ? "did not change" : "changed");
    }
    snapshot_free(before, n);
    FCT_OK(fc_learner_unfreeze(clas));
    FCT_OK(fc_fit_one_cycle(clas, 3, 1e-2));
    double acc = NAN;
    FCT_OK(fc_learner_validate(clas, NULL, NULL, &acc));
    FCT_TRUE(acc > 0.9); /* the classes are told by their words */
    if (!(acc > 0.9)) printf("classifier accuracy %.4f\n", acc);

    /* classification of a raw text through fc_learner_predict */
    fc_prediction pr = {0};
    FCT_OK(fc_learner_predict(clas, "big small red green saw bird tree under", &pr));
    FCT_STR(pr.label, "positive");
    FCT_EQ_INT(pr.index, 1);
    if (pr.probs) {
        const float *q = fc_tensor_data_f32(pr.probs);
        FCT_NEAR(q[0] + q[1], 1, 1e-5);
    }
    fc_prediction_free(&pr);
    fc_learner_free(clas);
    fc_learner_free(lm);
}

FCT_TEST(test_load_encoder_rejects_another_vocabulary_unchanged) {
    tmp_dir();
    fc_manual_seed(0);
    fc_learner *lm = fc_language_model_learner(lm_dls(), TINY_AWD, .quiet = 1);
    FCT_NOTNULL(lm);
    if (!lm) return;
    FCT_OK(fc_learner_save_encoder(lm, "text_learner_data/enc2.fce"));
    /* the classifier builds its own vocabulary from the CSV: other tokens at other ids */
    fc_learner *clas = fc_text_classifier_learner(clas_dls(NULL), TINY_AWD, .quiet = 1);
    FCT_NOTNULL(clas);
    if (clas) {
        int n = 0;
        fc_tensor **before = snapshot(fc_learner_model(clas), &n);
        FCT_TRUE(fc_learner_load_encoder(clas, "text_learner_data/enc2.fce") != FC_OK);
        FCT_ERROR(FC_ERR_ARG, "vocabulary");
        for (int i = 0; i < n; i++) FCT_TRUE(same_values(fc_module_parameter(fc_learner_model(clas), i, NULL), before[i]));
        snapshot_free(before, n);
        /* a truncated file fails too, naming the file */
        unsigned char *bytes = NULL;
        size_t len = fct_read_file("text_learner_data/enc2.fce", &bytes);
        fct_write_file("text_learner_data/enc_cut.fce", bytes, len / 2);
        free(bytes);
        FCT_TRUE(fc_learner_load_encoder(clas, "text_learner_data/enc_cut.fce") != FC_OK);
        FCT_ERROR(FC_ERR_FORMAT, "enc_cut.fce");
        fc_learner_free(clas);
    }
    fc_learner_free(lm);
}

FCT_TEST(test_text_learners_reject_bad_options) {
    tmp_dir();
    FCT_NULL(fc_language_model_learner(lm_dls(), .arch = "qrnn", .quiet = 1));
    FCT_ERROR(FC_ERR_ARG, "\"awd_lstm\"");
    FCT_NULL(fc_language_model_learner(NULL, .quiet = 1));
    FCT_ERROR(FC_ERR_ARG, "NULL dataloaders");
}

/* ---- real data: WikiText-2 (its test split's first 240 lines as train, valid's first 60 as valid;
 * seconds of CPU; bench/lm_wikitext2.c runs the whole files) ---- */

static int copy_lines(const char *src, const char *dst, int n) {
    FILE *f = fopen(src, "r"), *g = fopen(dst, "w");
    int k = 0;
    char line[1 << 16];
    while (f && g && k < n && fgets(line, sizeof line, f)) {
        fputs(line, g);
        k++;
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return k;
}

FCT_TEST(test_lm_wikitext2_perplexity_falls) {
    char data[1100];
    int found = test_data_dir("wikitext2_partial.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return;
    tmp_dir();
    const char *root = fc_untar_data("wikitext2_partial", .data_dir = data, .dest = "text_learner_data", .no_download = 1);
    FCT_NOTNULL(root);
    if (!root) return;
    char src[1200];
    snprintf(src, sizeof src, "%s/test.txt", root);
    FCT_TRUE(copy_lines(src, "text_learner_data/wt2_train.txt", 240) == 240);
    snprintf(src, sizeof src, "%s/valid.txt", root);
    FCT_TRUE(copy_lines(src, "text_learner_data/wt2_valid.txt", 60) == 60);
    fc_manual_seed(0);
    fc_dataloaders *dls = fc_text_lm_dls_from_files("text_learner_data/wt2_train.txt", "text_learner_data/wt2_valid.txt",
                                                    .bs = 16, .seq_len = 36, .n_threads = 1);
    fc_learner *learn = fc_language_model_learner(dls, .awd = {.emb_sz = 32, .n_hid = 64, .n_layers = 2}, .quiet = 1);
    FCT_NOTNULL(learn);
    if (!learn) return;
    FCT_OK(fc_fit_one_cycle(learn, 3, 1e-2));
    int nc = fc_recorder_n_cols(learn);
    const double *v = fc_recorder_values(learn);
    if (fc_recorder_n_epochs(learn) == 3 && nc == 4) {
        printf("wikitext2 (240 + 60 lines) valid perplexity: %.1f %.1f %.1f\n", v[3], v[nc + 3], v[2 * nc + 3]);
        FCT_TRUE(v[nc + 3] < v[3]);
        FCT_TRUE(v[2 * nc + 3] < v[nc + 3]);
    }
    fc_learner_free(learn);
}
