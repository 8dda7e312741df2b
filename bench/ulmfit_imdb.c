/* ULMFiT on the IMDB sample (fastai's text tutorial recipe, scaled to a small AWD-LSTM; the
 * WikiText-103 weights are not available offline, so the general-domain model is our own
 * WikiText-2 one from bench/lm_wikitext2.c):
 *   1. language model on all 1,000 reviews (valid_pct 0.1, drop_mult 0.3), starting from the
 *      WikiText-2 encoder mapped onto IMDB's vocabulary (fastai's match_embeds:
 *      fc_learner_load_encoder_matched; frozen): fit_one_cycle(1, 2e-2); unfreeze;
 *      fit_one_cycle(LM_EPOCHS, 2e-3); save_encoder.
 *      ENCODER "none": no pretraining, the LM from random weights, unfrozen:
 *      fit_one_cycle(1 + LM_EPOCHS, 1e-2) (the same number of epochs).
 *      ENCODER "nolm": no language model at all (the classifier from random weights, unfrozen,
 *      fit_one_cycle(5, 5e-3)).
 *   2. classifier (drop_mult 0.5) on the LM's vocabulary and encoder, gradual unfreezing:
 *      fit_one_cycle(1, 2e-2); freeze_to(-2); fit_one_cycle(1, slice(1e-2/2.6^4, 1e-2));
 *      freeze_to(-3); fit_one_cycle(1, slice(5e-3/2.6^4, 5e-3)); unfreeze;
 *      fit_one_cycle(2, slice(1e-3/2.6^4, 1e-3)).
 *
 *   build/ulmfit_imdb [ENCODER|none|nolm] [LM_EPOCHS] [EMB] [HID] [LAYERS] [BS_CLAS] [BS_LM]
 *       defaults bench_data/wt2_encoder.fce, 2, 128, 384, 3, 16, 32 (EMB/HID/LAYERS must be the encoder's)
 * The runs recorded in bench/RESULTS.md (h-textreal), from the build folder, after
 * bench/lm_wikitext2.c wrote bench_data/wt2_encoder.fce:
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 FASTC_DATA=/work/shared/data \
 *     nohup nice -n 19 ./ulmfit_imdb bench_data/wt2_encoder.fce 4 128 384 3 16 32 > ulmfit_wt2.log 2>&1 &
 *   ... ./ulmfit_imdb none 4 128 384 3 16 32 > ulmfit_none.log 2>&1 &      (no pretraining)
 *   ... ./ulmfit_imdb nolm 4 128 384 3 16 32 > ulmfit_nolm.log 2>&1 &      (no language model)
 * $FASTC_DATA: the folder holding imdb_sample.tar.gz (default ../shared/data). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "fastc/fastc.h"

static double recorder_last(fc_learner *learn, int col) {
    int ne = fc_recorder_n_epochs(learn), nc = fc_recorder_n_cols(learn);
    return ne > 0 && col < nc ? fc_recorder_values(learn)[(ne - 1) * nc + col] : NAN;
}

int main(int argc, char **argv) {
    const char *enc = argc > 1 ? argv[1] : "bench_data/wt2_encoder.fce";
    int lm_epochs = argc > 2 ? atoi(argv[2]) : 2;
    int64_t emb = argc > 3 ? atoll(argv[3]) : 128, hid = argc > 4 ? atoll(argv[4]) : 384;
    int layers = argc > 5 ? atoi(argv[5]) : 3;
    int64_t bs_clas = argc > 6 ? atoll(argv[6]) : 16, bs_lm = argc > 7 ? atoll(argv[7]) : 32;
    int no_pre = strcmp(enc, "none") == 0, no_lm = strcmp(enc, "nolm") == 0;
    const char *data = getenv("FASTC_DATA") ? getenv("FASTC_DATA") : "../shared/data";
    mkdir("bench_data", 0777);
    const char *root = fc_untar_data("imdb_sample", .data_dir = data, .dest = "bench_data", .no_download = 1);
    check(root != NULL);
    char csv[1200], enc_out[256];
    snprintf(csv, sizeof csv, "%s/texts.csv", root);
    snprintf(enc_out, sizeof enc_out, "bench_data/imdb_encoder_%s.fce", no_pre ? "scratch" : "wt2");
    fc_awd_lstm_opts awd = {.emb_sz = emb, .n_hid = hid, .n_layers = layers};
    printf("ULMFiT on imdb_sample: %s; AWD-LSTM emb %lld, hidden %lld, %d layers; LM bs %lld, classifier bs %lld; "
           "%d threads\n",
           no_lm ? "no language model" : no_pre ? "no pretraining (LM from random weights)" : enc, (long long)emb,
           (long long)hid, layers, (long long)bs_lm, (long long)bs_clas, fc_num_threads());
    fflush(stdout);
    double t0 = now_ms();
    fc_manual_seed(42);

    /* 1. the language model on every review (fastai: TextBlock(is_lm=True), valid_pct 0.1) */
    fc_dataloaders *dls_lm = fc_text_dls_from_csv(csv, .is_lm = 1, .text_col = "text", .valid_pct = 0.1, .bs = bs_lm,
                                                  .seq_len = 72);
    fc_learner *lm = fc_language_model_learner(dls_lm, .awd = awd, .drop_mult = 0.3);
    check(lm != NULL);
    const fc_vocab *vocab = fc_text_dls_vocab(fc_learner_dls(lm));
    printf("LM vocabulary: %lld tokens\n", (long long)fc_vocab_len(vocab));
    double lm_ppl = NAN, lm_acc = NAN;
    if (!no_lm) {
        if (no_pre) {
            check(fc_fit_one_cycle(lm, 1 + lm_epochs, 1e-2) == FC_OK);
        } else {
            int64_t found = 0;
            check(fc_learner_load_encoder_matched(lm, enc, &found) == FC_OK); /* frozen */
            printf("pretrained encoder %s: %lld of %lld IMDB tokens found in its vocabulary, the rest get its mean "
                   "embedding\n",
                   enc, (long long)found, (long long)fc_vocab_len(vocab));
            double vl = NAN, vm[2] = {NAN, NAN};
            check(fc_learner_validate(lm, NULL, &vl, vm) == FC_OK);
            printf("before fine-tuning: valid loss %.4f, accuracy %.4f, perplexity %.1f\n", vl, vm[0], vm[1]);
            fflush(stdout);
            check(fc_fit_one_cycle(lm, 1, 2e-2) == FC_OK);
            check(fc_learner_unfreeze(lm) == FC_OK);
            check(fc_fit_one_cycle(lm, lm_epochs, 2e-3) == FC_OK);
        }
        lm_ppl = recorder_last(lm, 3), lm_acc = recorder_last(lm, 2);
        check(fc_learner_save_encoder(lm, enc_out) == FC_OK);
        fc_manual_seed(1);
        char *gen = fc_lm_predict(lm, "I liked this movie because", 30, .temperature = 0.75);
        printf("LM sample: %s\n", gen ? gen : "(failed)");
        free(gen);
    }
    double t_lm = now_ms();
    printf("LM done in %.0f s\n", (t_lm - t0) / 1e3);
    fflush(stdout);

    /* 2. the classifier on the LM's vocabulary, with gradual unfreezing */
    fc_dataloaders *dls = fc_text_dls_from_csv(csv, .text_col = "text", .label_col = "label", .valid_col = "is_valid",
                                               .vocab = vocab, .bs = bs_clas, .seq_len = 72);
    fc_learner *clas = fc_text_classifier_learner(dls, .awd = awd, .drop_mult = 0.5, .pretrained = no_lm ? NULL : enc_out,
                                                  .metrics = FC_METRICS(fc_accuracy()));
    check(clas != NULL);
    double k = pow(2.6, 4);
    if (no_lm) {
        check(fc_fit_one_cycle(clas, 5, 5e-3) == FC_OK);
    } else {
        check(fc_fit_one_cycle(clas, 1, 2e-2) == FC_OK);
        check(fc_learner_freeze_to(clas, -2) == FC_OK);
        check(fc_fit_one_cycle(clas, 1, 1e-2, .lr_lo = 1e-2 / k) == FC_OK);
        check(fc_learner_freeze_to(clas, -3) == FC_OK);
        check(fc_fit_one_cycle(clas, 1, 5e-3, .lr_lo = 5e-3 / k) == FC_OK);
        check(fc_learner_unfreeze(clas) == FC_OK);
        check(fc_fit_one_cycle(clas, 2, 1e-3, .lr_lo = 1e-3 / k) == FC_OK);
    }
    double acc = recorder_last(clas, 2);
    fc_prediction pr = {0};
    check(fc_learner_predict(clas, "This was a wonderful film, I loved every minute of it.", &pr) == FC_OK);
    printf("predict('This was a wonderful film...'): %s\n", pr.label);
    fc_prediction_free(&pr);
    double t1 = now_ms();
    if (!no_lm) printf("\nLM: valid accuracy %.4f, perplexity %.1f, %.0f s\n", lm_acc, lm_ppl, (t_lm - t0) / 1e3);
    printf("classifier: valid accuracy %.4f after 5 epochs, %.0f s; total %.0f s\n", acc, (t1 - t_lm) / 1e3,
           (t1 - t0) / 1e3);
    fc_learner_free(clas);
    fc_learner_free(lm);
    return 0;
}
