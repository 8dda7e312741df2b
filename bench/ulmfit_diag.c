/* Diagnostics for the ULMFiT gap on the IMDB sample (issue 7): why a classifier started from a
 * language-model encoder learns worse than one from random weights.
 *
 *   build/ulmfit_diag lm   EMB HID LAYERS EPOCHS LR OUT.fce     IMDB LM from random weights
 *                                                               (drop_mult 0.3, unfrozen), saves
 *                                                               the encoder
 *   build/ulmfit_diag clas ENC|random EMB HID LAYERS EPOCHS LR DROP_MULT [fu|gradual] [noreg]
 *                                                               classifier, unfrozen,
 *                                                               fit_one_cycle(EPOCHS, LR); "fu":
 *                                                               freeze() then unfreeze() first;
 *                                                               "gradual": ulmfit_imdb's gradual
 *                                                               unfreezing instead
 *   build/ulmfit_diag dump DIR                                  the classifier's numericalized
 *                                                               documents (LM vocabulary) for
 *                                                               bench/torch_ulmfit_check.py
 *   build/ulmfit_diag stats ENC EMB HID LAYERS                  activation statistics of the
 *                                                               classifier's encoder outputs
 *   build/ulmfit_diag grad ENC|random EMB HID LAYERS FILE BATCH        one training batch (dropout off,
 *                                                               loss: cross entropy + AR + TAR)
 *                                                               forward and backward: the batch
 *                                                               and every parameter's gradient
 *   build/ulmfit_diag feats ENC|random EMB HID LAYERS DIR       the pooled features [last, max,
 *                                                               mean] (eval mode) of every
 *                                                               document, in the dump's order
 * The vocabulary is always the IMDB LM's (made from all 1,000 reviews, as bench/ulmfit_imdb.c).
 * $FASTC_DATA: the folder holding imdb_sample.tar.gz (default ../shared/data). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "fastc/fastc.h"

static char csv[1200];

static fc_dataloaders *lm_dls(void) {
    return fc_text_dls_from_csv(csv, .is_lm = 1, .text_col = "text", .valid_pct = 0.1, .bs = 32, .seq_len = 72);
}

static fc_dataloaders *clas_dls(const fc_vocab *vocab) {
    return fc_text_dls_from_csv(csv, .text_col = "text", .label_col = "label", .valid_col = "is_valid", .vocab = vocab,
                                .bs = 16, .seq_len = 72);
}

/* Every document of dl (one epoch) without its padding: n_docs, then (label, len, ids...) as i64. */
static void dump_loader(fc_dataloader *dl, const char *path) {
    FILE *f = fopen(path, "wb");
    check(f != NULL);
    int64_t n = fc_dataloader_n(dl);
    fwrite(&n, 8, 1, f);
    check(fc_dataloader_start(dl, 0) == FC_OK);
    fc_tuple b = {0};
    int64_t done = 0;
    while (check(fc_dataloader_next(dl, &b) >= 0) && b.n) {
        fc_tensor *x = b.v[0].t, *y = b.v[1].t;
        int64_t B = fc_tensor_dim(x, 0), S = fc_tensor_dim(x, 1);
        int64_t *ids = malloc(sizeof(int64_t) * (size_t)(B * S)), *lab = malloc(sizeof(int64_t) * (size_t)B);
        check(fc_tensor_copy_out(x, ids, FC_DTYPE_I64) == FC_OK && fc_tensor_copy_out(y, lab, FC_DTYPE_I64) == FC_OK);
        for (int64_t r = 0; r < B; r++) {
            int64_t len = 0;
            for (int64_t t = 0; t < S; t++) len += ids[r * S + t] != 1;
            fwrite(&lab[r], 8, 1, f);
            fwrite(&len, 8, 1, f);
            for (int64_t t = 0; t < S; t++)
                if (ids[r * S + t] != 1) fwrite(&ids[r * S + t], 8, 1, f);
        }
        done += B;
        free(ids);
        free(lab);
        fc_tuple_free(&b);
    }
    fclose(f);
    printf("%s: %lld documents\n", path, (long long)done);
}

/* Statistics of the encoder outputs (last layer, eval mode) and pooled features on the valid set. */
static void encoder_stats(fc_learner *learn, const char *what) {
    fc_module *m = fc_learner_model(learn);
    fc_module_eval(m);
    fc_dataloader *dl = fc_learner_dls(learn)->valid;
    check(fc_dataloader_start(dl, 0) == FC_OK);
    fc_tuple b = {0};
    double s1 = 0, s2 = 0, sat = 0, cnt = 0;
    int nb = 0;
    fc_no_grad_begin();
    while (nb < 4 && check(fc_dataloader_next(dl, &b) >= 0) && b.n) {
        fc_scope *sc = fc_scope_begin();
        fc_tensor *y = fc_module_forward(m, b.v[0].t);
        fc_tensor *raw = NULL;
        check(y && fc_text_model_outputs(m, &raw, NULL) == FC_OK);
        const float *p = fc_tensor_data(raw);
        for (int64_t i = 0, n = fc_tensor_numel(raw); i < n; i++) {
            s1 += fabs(p[i]), s2 += p[i] * (double)p[i], sat += fabs(p[i]) > 0.9, cnt++;
        }
        fc_scope_end(sc);
        fc_tuple_free(&b);
        nb++;
    }
    fc_no_grad_end();
    fc_dataloader_start(dl, 0);
    printf("%s: encoder output (eval, %d valid batches incl. padding): mean|h| %.4f, rms %.4f, |h|>0.9: %.2f%%\n", what,
           nb, s1 / cnt, sqrt(s2 / cnt), 100 * sat / cnt);
}

/* fastai's masked_concat_pool of every document of dl (eval mode, one epoch in the dump's order):
 * n_docs, dim, then (label, len, 3E floats) per document. */
static void dump_features(fc_learner *learn, fc_dataloader *dl, const char *path) {
    fc_module *m = fc_learner_model(learn);
    fc_module_eval(m);
    FILE *f = fopen(path, "wb");
    check(f != NULL);
    int64_t n = fc_dataloader_n(dl), dim = -1;
    fwrite(&n, 8, 1, f);
    fwrite(&dim, 8, 1, f);
    check(fc_dataloader_start(dl, 0) == FC_OK);
    fc_tuple b = {0};
    fc_no_grad_begin();
    while (check(fc_dataloader_next(dl, &b) >= 0) && b.n) {
        fc_scope *sc = fc_scope_begin();
        fc_tensor *x = b.v[0].t, *raw = NULL;
        check(fc_module_forward(m, x) != NULL && fc_text_model_outputs(m, &raw, NULL) == FC_OK);
        int64_t B = fc_tensor_dim(x, 0), S = fc_tensor_dim(x, 1), L = fc_tensor_dim(raw, 1), E = fc_tensor_dim(raw, 2);
        dim = 3 * E;
        int64_t *ids = malloc(sizeof(int64_t) * (size_t)(B * S)), *lab = malloc(sizeof(int64_t) * (size_t)B);
        float *ft = malloc(sizeof(float) * (size_t)(3 * E));
        check(fc_tensor_copy_out(x, ids, FC_DTYPE_I64) == FC_OK &&
              fc_tensor_copy_out(b.v[1].t, lab, FC_DTYPE_I64) == FC_OK);
        fc_tensor *rc = fc_contiguous(raw);
        const float *o = fc_tensor_data(rc);
        for (int64_t r = 0; r < B; r++) {
            int64_t len = 0, last_pad = 0;
            for (int64_t e = 0; e < E; e++) ft[E + e] = -INFINITY, ft[2 * E + e] = 0;
            for (int64_t t = 0; t < L; t++) {
                int pad = ids[r * S + S - L + t] == 1;
                last_pad += pad && t >= L - 72;
                if (pad) continue;
                len++;
                for (int64_t e = 0; e < E; e++) {
                    float v = o[(r * L + t) * E + e];
                    ft[E + e] = v > ft[E + e] ? v : ft[E + e];
                    ft[2 * E + e] += v;
                }
            }
            for (int64_t e = 0; e < E; e++) ft[2 * E + e] /= (float)len, ft[e] = o[(r * L + L - last_pad - 1) * E + e];
            fwrite(&lab[r], 8, 1, f);
            fwrite(&len, 8, 1, f);
            fwrite(ft, sizeof(float), (size_t)(3 * E), f);
        }
        free(ids);
        free(lab);
        free(ft);
        fc_scope_end(sc);
        fc_tuple_free(&b);
    }
    fc_no_grad_end();
    fseek(f, 8, SEEK_SET);
    fwrite(&dim, 8, 1, f);
    fclose(f);
}

static void put_tensor(FILE *f, const char *name, fc_tensor *t) {
    int64_t nl = (int64_t)strlen(name), nd = fc_tensor_ndim(t), dt = fc_tensor_dtype(t) == FC_DTYPE_I64;
    fwrite(&nl, 8, 1, f);
    fwrite(name, 1, (size_t)nl, f);
    fwrite(&dt, 8, 1, f);
    fwrite(&nd, 8, 1, f);
    fwrite(fc_tensor_dims(t), 8, (size_t)nd, f);
    size_t n = (size_t)fc_tensor_numel(t), es = dt ? 8 : 4;
    void *buf = malloc(n * es);
    check(fc_tensor_copy_out(t, buf, dt ? FC_DTYPE_I64 : FC_DTYPE_F32) == FC_OK);
    fwrite(buf, es, n, f);
    free(buf);
}

/* Batch k of the train loader's epoch 0 through the classifier (train mode, no dropout): x, y, the
 * loss and every gradient, as (name, is_i64, ndim, dims, data) records. */
static void dump_grads(fc_learner *learn, int k, const char *path) {
    fc_module *m = fc_learner_model(learn);
    fc_module_train(m, 1);
    fc_dataloader *dl = fc_learner_dls(learn)->train;
    check(fc_dataloader_start(dl, 0) == FC_OK);
    fc_tuple b = {0};
    for (int i = 0; i <= k; i++) {
        fc_tuple_free(&b);
        check(fc_dataloader_next(dl, &b) == 1);
    }
    fc_scope *sc = fc_scope_begin();
    fc_tensor *x = b.v[0].t, *y = b.v[1].t, *raw = NULL;
    fc_tensor *pred = fc_module_forward(m, x);
    check(pred && fc_text_model_outputs(m, &raw, NULL) == FC_OK);
    int64_t T = fc_tensor_dim(raw, 1);
    fc_tensor *d = fc_sub(fc_narrow(raw, 1, 1, T - 1), fc_narrow(raw, 1, 0, T - 1));
    fc_tensor *loss = fc_add(fc_add(fc_cross_entropy(pred, y), fc_mul_scalar(fc_mean(fc_mul(raw, raw), FC_ALL_DIMS, 0), 2)),
                             fc_mean(fc_mul(d, d), FC_ALL_DIMS, 0));
    check(loss && fc_backward(loss) == FC_OK);
    FILE *f = fopen(path, "wb");
    check(f != NULL);
    put_tensor(f, "x", x);
    put_tensor(f, "y", y);
    put_tensor(f, "loss", loss);
    put_tensor(f, "pred", pred);
    put_tensor(f, "out", raw);
    for (int i = 0, n = fc_module_n_parameters(m); i < n; i++) {
        const char *name = NULL;
        fc_tensor *p = fc_module_parameter(m, i, &name), *g = fc_tensor_grad(p);
        char nm[300];
        snprintf(nm, sizeof nm, "param:%s", name);
        put_tensor(f, nm, p);
        snprintf(nm, sizeof nm, "grad:%s", name);
        if (g) put_tensor(f, nm, g);
    }
    fclose(f);
    printf("batch %d: x [%lld, %lld], loss %.6f; gradients in %s\n", k, (long long)fc_tensor_dim(x, 0),
           (long long)fc_tensor_dim(x, 1), fc_tensor_item(loss), path);
    fc_scope_end(sc);
    fc_tuple_free(&b);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: see the comment at the top of bench/ulmfit_diag.c\n");
        return 2;
    }
    const char *mode = argv[1];
    const char *data = getenv("FASTC_DATA") ? getenv("FASTC_DATA") : "../shared/data";
    mkdir("bench_data", 0777);
    const char *root = fc_untar_data("imdb_sample", .data_dir = data, .dest = "bench_data", .no_download = 1);
    check(root != NULL);
    snprintf(csv, sizeof csv, "%s/texts.csv", root);
    fc_manual_seed(42);
    fc_dataloaders *dl_lm = lm_dls();
    check(dl_lm != NULL);
    double t0 = now_ms();

    if (strcmp(mode, "dump") == 0 && argc == 3) {
        fc_learner *lm = fc_language_model_learner(dl_lm, .quiet = 1);
        check(lm != NULL);
        const fc_vocab *vocab = fc_text_dls_vocab(fc_learner_dls(lm));
        mkdir(argv[2], 0777);
        char p[1024];
        fc_dataloaders *dls = clas_dls(vocab);
        check(dls != NULL);
        snprintf(p, sizeof p, "%s/train.bin", argv[2]);
        dump_loader(dls->train, p);
        snprintf(p, sizeof p, "%s/valid.bin", argv[2]);
        dump_loader(dls->valid, p);
        snprintf(p, sizeof p, "%s/vocab_size.txt", argv[2]);
        FILE *f = fopen(p, "w");
        fprintf(f, "%lld\n", (long long)fc_vocab_len(vocab));
        fclose(f);
        fc_dataloaders_free(dls);
        fc_learner_free(lm);
        return 0;
    }
    if (strcmp(mode, "grad") == 0 && argc == 8) {
        /* every dropout off (a negative p is 0; a tiny drop_mult still drops with the RNG's resolution) */
        fc_awd_lstm_opts awd = {.emb_sz = atoll(argv[3]), .n_hid = atoll(argv[4]), .n_layers = atoi(argv[5]),
                                .embed_p = -1, .input_p = -1, .hidden_p = -1, .weight_p = -1, .output_p = -1};
        fc_learner *lm = fc_language_model_learner(dl_lm, .quiet = 1);
        check(lm != NULL);
        fc_dataloaders *dls = clas_dls(fc_text_dls_vocab(fc_learner_dls(lm)));
        fc_learner *clas = fc_text_classifier_learner(dls, .awd = awd, .ps = FC_FLOATS(0),
                                                      .pretrained = strcmp(argv[2], "random") ? argv[2] : NULL,
                                                      .quiet = 1);
        check(clas != NULL && fc_learner_unfreeze(clas) == FC_OK);
        dump_grads(clas, atoi(argv[7]), argv[6]);
        fc_learner_free(clas);
        fc_learner_free(lm);
        return 0;
    }
    if (strcmp(mode, "feats") == 0 && argc == 7) {
        const char *enc = strcmp(argv[2], "random") == 0 ? NULL : argv[2];
        fc_awd_lstm_opts awd = {.emb_sz = atoll(argv[3]), .n_hid = atoll(argv[4]), .n_layers = atoi(argv[5])};
        fc_learner *lm = fc_language_model_learner(dl_lm, .quiet = 1);
        check(lm != NULL);
        fc_dataloaders *dls = clas_dls(fc_text_dls_vocab(fc_learner_dls(lm)));
        fc_learner *clas = fc_text_classifier_learner(dls, .awd = awd, .pretrained = enc, .quiet = 1);
        check(clas != NULL);
        char p[1024];
        mkdir(argv[6], 0777);
        snprintf(p, sizeof p, "%s/train_feats.bin", argv[6]);
        dump_features(clas, fc_learner_dls(clas)->train, p);
        snprintf(p, sizeof p, "%s/valid_feats.bin", argv[6]);
        dump_features(clas, fc_learner_dls(clas)->valid, p);
        printf("features in %s (%.0f s)\n", argv[6], (now_ms() - t0) / 1e3);
        fc_learner_free(clas);
        fc_learner_free(lm);
        return 0;
    }
    if (strcmp(mode, "lm") == 0 && argc == 8) {
        fc_awd_lstm_opts awd = {.emb_sz = atoll(argv[2]), .n_hid = atoll(argv[3]), .n_layers = atoi(argv[4])};
        fc_learner *lm = fc_language_model_learner(dl_lm, .awd = awd, .drop_mult = 0.3);
        check(lm != NULL);
        check(fc_fit_one_cycle(lm, atoi(argv[5]), atof(argv[6])) == FC_OK);
        check(fc_learner_save_encoder(lm, argv[7]) == FC_OK);
        printf("LM done in %.0f s, encoder in %s\n", (now_ms() - t0) / 1e3, argv[7]);
        fc_learner_free(lm);
        return 0;
    }
    if ((strcmp(mode, "clas") == 0 && argc >= 9) || (strcmp(mode, "stats") == 0 && argc == 6)) {
        int stats_only = strcmp(mode, "stats") == 0;
        const char *enc = strcmp(argv[2], "random") == 0 ? NULL : argv[2];
        fc_awd_lstm_opts awd = {.emb_sz = atoll(argv[3]), .n_hid = atoll(argv[4]), .n_layers = atoi(argv[5])};
        int fu = 0, noreg = 0, gradual = 0;
        for (int i = 9; i < argc; i++)
            fu |= strcmp(argv[i], "fu") == 0, noreg |= strcmp(argv[i], "noreg") == 0, gradual |= strcmp(argv[i], "gradual") == 0;
        double dm = stats_only ? 0.5 : atof(argv[8]);
        fc_learner *lm = fc_language_model_learner(dl_lm, .quiet = 1);
        check(lm != NULL);
        fc_dataloaders *dls = clas_dls(fc_text_dls_vocab(fc_learner_dls(lm)));
        fc_learner *clas = fc_text_classifier_learner(dls, .awd = awd, .drop_mult = dm > 0 ? dm : 1e-9,
                                                      .pretrained = enc, .alpha = noreg ? -1 : 0,
                                                      .beta = noreg ? -1 : 0, .metrics = FC_METRICS(fc_accuracy()));
        check(clas != NULL);
        encoder_stats(clas, enc ? enc : "random");
        if (!stats_only && gradual) { /* bench/ulmfit_imdb.c's schedule (EPOCHS and LR unused) */
            double k = pow(2.6, 4);
            check(fc_learner_freeze(clas) == FC_OK);
            check(fc_fit_one_cycle(clas, 1, 2e-2) == FC_OK);
            check(fc_learner_freeze_to(clas, -2) == FC_OK);
            check(fc_fit_one_cycle(clas, 1, 1e-2, .lr_lo = 1e-2 / k) == FC_OK);
            check(fc_learner_freeze_to(clas, -3) == FC_OK);
            check(fc_fit_one_cycle(clas, 1, 5e-3, .lr_lo = 5e-3 / k) == FC_OK);
            check(fc_learner_unfreeze(clas) == FC_OK);
            check(fc_fit_one_cycle(clas, 2, 1e-3, .lr_lo = 1e-3 / k) == FC_OK);
        } else if (!stats_only) {
            if (fu) check(fc_learner_freeze(clas) == FC_OK);
            check(fc_learner_unfreeze(clas) == FC_OK);
            check(fc_fit_one_cycle(clas, atoi(argv[6]), atof(argv[7])) == FC_OK);
        }
        if (!stats_only) {
            encoder_stats(clas, "after training");
            double tl = NAN, tv[1] = {NAN};
            check(fc_learner_validate(clas, fc_learner_dls(clas)->train, &tl, tv) == FC_OK);
            printf("train set (eval mode): loss %.4f, accuracy %.4f; %.0f s\n", tl, tv[0], (now_ms() - t0) / 1e3);
        }
        fc_learner_free(clas);
        fc_learner_free(lm);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of bench/ulmfit_diag.c\n");
    return 2;
}
