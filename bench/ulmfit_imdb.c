/* ULMFiT on the IMDB sample (fastai's text tutorial, without the WikiText-103 weights, which are
 * not available offline): a language model trained on all 1,000 reviews, its encoder saved, then
 * the classifier on it with gradual unfreezing and discriminative lrs (lr / 2.6^4 to lr):
 *   fit_one_cycle(1, 2e-2); freeze_to(-2); fit_one_cycle(1, slice(1e-2/2.6^4, 1e-2));
 *   freeze_to(-3); fit_one_cycle(1, slice(5e-3/2.6^4, 5e-3)); unfreeze;
 *   fit_one_cycle(2, slice(1e-3/2.6^4, 1e-3))
 *
 *   build/ulmfit_imdb [LM_EPOCHS] [EMB] [HID] [LAYERS]     (defaults 4, 200, 600, 3)
 * $FASTC_DATA: the folder holding imdb_sample.tar.gz (default ../shared/data). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "fastc/fastc.h"

static double recorder_last(fc_learner *learn, int col) {
    int ne = fc_recorder_n_epochs(learn), nc = fc_recorder_n_cols(learn);
    return ne > 0 && col < nc ? fc_recorder_values(learn)[(ne - 1) * nc + col] : NAN;
}

int main(int argc, char **argv) {
    int lm_epochs = argc > 1 ? atoi(argv[1]) : 4;
    int64_t emb = argc > 2 ? atoll(argv[2]) : 200, hid = argc > 3 ? atoll(argv[3]) : 600;
    int layers = argc > 4 ? atoi(argv[4]) : 3;
    const char *data = getenv("FASTC_DATA") ? getenv("FASTC_DATA") : "../shared/data";
    mkdir("bench_data", 0777);
    const char *root = fc_untar_data("imdb_sample", .data_dir = data, .dest = "bench_data", .no_download = 1);
    check(root != NULL);
    char csv[1200];
    snprintf(csv, sizeof csv, "%s/texts.csv", root);
    fc_awd_lstm_opts awd = {.emb_sz = emb, .n_hid = hid, .n_layers = layers};
    printf("ULMFiT on imdb_sample, from scratch (no WikiText-103 weights): AWD-LSTM emb %lld, hidden %lld, %d layers, %d threads\n",
           (long long)emb, (long long)hid, layers, fc_num_threads());
    double t0 = now_ms();
    fc_manual_seed(42);

    /* 1. the language model on every review (fastai: TextBlock(is_lm=True), valid_pct 0.1) */
    fc_dataloaders *dls_lm = fc_text_dls_from_csv(csv, .is_lm = 1, .text_col = "text", .valid_pct = 0.1, .bs = 64, .seq_len = 72);
    fc_learner *lm = fc_language_model_learner(dls_lm, .awd = awd, .drop_mult = 0.3);
    check(lm != NULL);
    printf("vocabulary: %lld tokens\n", (long long)fc_vocab_len(fc_text_dls_vocab(fc_learner_dls(lm))));
    check(fc_fit_one_cycle(lm, lm_epochs, 1e-2) == FC_OK);
    double lm_ppl = recorder_last(lm, 3), lm_acc = recorder_last(lm, 2);
    check(fc_learner_save_encoder(lm, "bench_data/imdb_encoder.fce") == FC_OK);
    fc_manual_seed(1);
    char *gen = fc_lm_predict(lm, "I liked this movie because", 30, .temperature = 0.75);
    printf("LM sample: %s\n", gen ? gen : "(failed)");
    free(gen);
    double t_lm = now_ms();

    /* 2. the classifier on the LM's vocabulary, with gradual unfreezing */
    fc_dataloaders *dls = fc_text_dls_from_csv(csv, .text_col = "text", .label_col = "label", .valid_col = "is_valid",
                                               .vocab = fc_text_dls_vocab(fc_learner_dls(lm)), .bs = 64, .seq_len = 72);
    fc_learner *clas = fc_text_classifier_learner(dls, .awd = awd, .drop_mult = 0.5, .pretrained = "bench_data/imdb_encoder.fce",
                                                  .metrics = FC_METRICS(fc_accuracy()));
    check(clas != NULL);
    double k = pow(2.6, 4);
    check(fc_fit_one_cycle(clas, 1, 2e-2) == FC_OK);
    check(fc_learner_freeze_to(clas, -2) == FC_OK);
    check(fc_fit_one_cycle(clas, 1, 1e-2, .lr_lo = 1e-2 / k) == FC_OK);
    check(fc_learner_freeze_to(clas, -3) == FC_OK);
    check(fc_fit_one_cycle(clas, 1, 5e-3, .lr_lo = 5e-3 / k) == FC_OK);
    check(fc_learner_unfreeze(clas) == FC_OK);
    check(fc_fit_one_cycle(clas, 2, 1e-3, .lr_lo = 1e-3 / k) == FC_OK);
    double acc = recorder_last(clas, 2);
    fc_prediction pr = {0};
    check(fc_learner_predict(clas, "This was a wonderful film, I loved every minute of it.", &pr) == FC_OK);
    printf("predict('This was a wonderful film...'): %s\n", pr.label);
    fc_prediction_free(&pr);
    double t1 = now_ms();
    printf("\nLM: %d epochs, valid accuracy %.4f, perplexity %.1f, %.0f s\n", lm_epochs, lm_acc, lm_ppl, (t_lm - t0) / 1e3);
    printf("classifier: valid accuracy %.4f after gradual unfreezing (5 epochs), %.0f s; total %.0f s\n", acc,
           (t1 - t_lm) / 1e3, (t1 - t0) / 1e3);
    fc_learner_free(clas);
    fc_learner_free(lm);
    return 0;
}
