/* An AWD-LSTM language model on WikiText-2 with fastc's language_model_learner: the parts
 * present offline (test.txt as the training text, valid.txt as validation; the train split is not
 * in ../shared/data), validation perplexity per epoch, then the encoder saved for ULMFiT
 * (bench/ulmfit_imdb.c starts from it).
 *
 *   build/lm_wikitext2 [EPOCHS] [EMB] [HID] [LAYERS] [LR] [DROP_MULT] [ENCODER_OUT] [BS]
 *       defaults 4, 200, 600, 3, 5e-3, 1, bench_data/wt2_encoder.fce, 64
 * The run recorded in bench/RESULTS.md (h-textreal), from the build folder:
 *   cd build && OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 FASTC_DATA=/work/shared/data \
 *     nohup nice -n 19 ./lm_wikitext2 5 128 384 3 1e-2 0.5 bench_data/wt2_encoder.fce 64 > lm_wt2.log 2>&1 &
 * $FASTC_DATA: the folder holding wikitext2_partial.tar.gz (default ../shared/data). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "fastc/fastc.h"

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 4;
    int64_t emb = argc > 2 ? atoll(argv[2]) : 200, hid = argc > 3 ? atoll(argv[3]) : 600;
    int layers = argc > 4 ? atoi(argv[4]) : 3;
    double lr = argc > 5 ? atof(argv[5]) : 5e-3;
    double drop_mult = argc > 6 ? atof(argv[6]) : 1;
    const char *enc_out = argc > 7 ? argv[7] : "bench_data/wt2_encoder.fce";
    int64_t bs = argc > 8 ? atoll(argv[8]) : 64;
    const char *data = getenv("FASTC_DATA") ? getenv("FASTC_DATA") : "../shared/data";
    mkdir("bench_data", 0777);
    const char *root = fc_untar_data("wikitext2_partial", .data_dir = data, .dest = "bench_data", .no_download = 1);
    check(root != NULL);
    char train[1200], valid[1200];
    snprintf(train, sizeof train, "%s/test.txt", root);
    snprintf(valid, sizeof valid, "%s/valid.txt", root);
    fc_manual_seed(42);
    double t0 = now_ms();
    fc_dataloaders *dls = fc_text_lm_dls_from_files(train, valid, .bs = bs, .seq_len = 72);
    fc_learner *learn = fc_language_model_learner(dls, .awd = {.emb_sz = emb, .n_hid = hid, .n_layers = layers},
                                                  .drop_mult = drop_mult);
    check(learn != NULL);
    printf("WikiText-2 (test.txt as train, valid.txt as valid), vocab %lld, AWD-LSTM emb %lld hidden %lld x %d layers, "
           "drop_mult %g, bs %lld, seq_len 72, fit_one_cycle(%d, %g), %d threads\n",
           (long long)fc_vocab_len(fc_text_dls_vocab(fc_learner_dls(learn))), (long long)emb, (long long)hid, layers,
           drop_mult, (long long)bs, epochs, lr, fc_num_threads());
    fflush(stdout);
    check(fc_fit_one_cycle(learn, epochs, lr) == FC_OK);
    int nc = fc_recorder_n_cols(learn);
    const double *v = fc_recorder_values(learn);
    printf("validation perplexity per epoch:");
    for (int e = 0; e < fc_recorder_n_epochs(learn); e++) printf(" %.1f", v[e * nc + 3]);
    printf("\ntotal %.0f s\n", (now_ms() - t0) / 1e3);
    check(fc_learner_save_encoder(learn, enc_out) == FC_OK);
    printf("encoder saved to %s\n", enc_out);
    fc_manual_seed(1);
    char *gen = fc_lm_predict(learn, "The game", 25, .temperature = 0.75);
    printf("sample: %s\n", gen ? gen : "(failed)");
    free(gen);
    fc_learner_free(learn);
    return 0;
}
