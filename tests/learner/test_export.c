/* Export and load_learner on real data: a small vision learner trained one epoch on MNIST_TINY is
 * exported, loaded back with no training data, and predicts the same labels and probabilities (to
 * 1e-6) as the in-memory learner, for one file (predict) and for a folder (test_dl + get_preds).
 * Every corruption of the file fails with a message naming it: each truncation length, a wrong
 * magic, a newer version, metadata that does not match the weights, an unknown architecture or
 * transform. */
#define _XOPEN_SOURCE 700
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastc/vision.h"
#include "export_checks.h"
#include "fct.h"
#include "vision/vision_data.h"

static const float gray_mean[1] = {0.13f}, gray_std[1] = {0.31f};

/* mnist_tiny with a non-default Resize, train-only augmentation (left out of the export) and
 * Normalize with given stats; resnet9 at widen w. */
static fc_learner *tiny_learner(const char *path, double widen) {
    fc_dataloaders *dls = fc_image_dls_from_folder(path, .item_tfms = FC_TFMS(fc_resize(24, .method = FC_RESIZE_PAD)),
                                                   .batch_tfms = FC_TFMS(fc_aug_transforms(), fc_normalize(.mean = gray_mean, .std = gray_std, .n_channels = 1)),
                                                   .bs = 64, .n_workers = 1);
    fc_manual_seed(7);
    return fc_vision_learner(dls, "resnet9", .model = {.widen = widen}, .quiet = 1, .lr = 3e-3);
}

static long file_size(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static unsigned char *read_all(const char *p, long *n) {
    *n = file_size(p);
    FILE *f = fopen(p, "rb");
    unsigned char *b = f && *n >= 0 ? malloc((size_t)*n + 1) : NULL;
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) {
        free(b);
        b = NULL;
    }
    if (f) fclose(f);
    return b;
}

static int write_all(const char *p, const unsigned char *b, long n) {
    FILE *f = fopen(p, "wb");
    int ok = f && fwrite(b, 1, (size_t)n, f) == (size_t)n;
    if (f) fclose(f);
    return ok;
}

static void same_prediction(fc_learner *a, fc_learner *b, const char *file) {
    fc_prediction pa, pb;
    if (!FCT_OK(fc_learner_predict(a, file, &pa))) return;
    if (FCT_OK(fc_learner_predict(b, file, &pb))) {
        FCT_STR(pb.label, pa.label);
        FCT_EQ_INT(pb.index, pa.index);
        FCT_CLOSE(pb.probs, pa.probs, 1e-6, 0);
        fc_prediction_free(&pb);
    }
    fc_prediction_free(&pa);
}

FCT_TEST(test_export_load_predict_matches_in_memory_learner) {
    const char *path = vision_dataset("mnist_tiny");
    if (!path) return;
    fc_learner *learn = tiny_learner(path, 0.25), *loaded = NULL;
    fc_dataloader *ta = NULL, *tb = NULL;
    fc_tensor *pa = NULL, *pb = NULL, *da = NULL, *db = NULL;
    fc_items files = {0};
    if (!FCT_NOTNULL(learn)) return;
    FCT_STR(fc_learner_app(learn), "vision");
    if (!FCT_OK(fc_fit_one_cycle(learn, 1, 3e-3))) goto done;
    const char *out = "export_test.fcm";
    if (!FCT_OK(fc_learner_export(learn, out))) goto done;
    loaded = fc_load_learner(out);
    if (!FCT_NOTNULL(loaded)) goto done;
    FCT_STR(fc_learner_app(loaded), "vision");
    const fc_dataloaders *dl = fc_learner_dls(loaded);
    FCT_EQ_INT(dl->n_vocab, 2);
    FCT_STR(dl->vocab[0], "3");
    FCT_STR(dl->vocab[1], "7");
    char f[1200];
    snprintf(f, sizeof f, "%s/valid/3/9120.png", path);
    if (access(f, R_OK) != 0) snprintf(f, sizeof f, "%s/test/1503.png", path);
    same_prediction(learn, loaded, f);
    snprintf(f, sizeof f, "%s/test/1503.png", path);
    same_prediction(learn, loaded, f);
    /* a folder: the unlabelled test images through test_dl and get_preds on both learners */
    snprintf(f, sizeof f, "%s/test", path);
    if (!FCT_OK(fc_get_image_files(f, &files))) goto done;
    ta = fc_dataloader_test_dl(fc_learner_dls(learn)->valid, (const char *const *)files.text, files.n);
    tb = fc_dataloader_test_dl(fc_learner_dls(loaded)->valid, (const char *const *)files.text, files.n);
    if (!FCT_NOTNULL(ta) || !FCT_NOTNULL(tb)) goto done;
    if (!FCT_OK(fc_learner_get_preds(learn, ta, &pa, NULL, &da))) goto done;
    if (!FCT_OK(fc_learner_get_preds(loaded, tb, &pb, NULL, &db))) goto done;
    FCT_EQ_INT(fc_tensor_dim(pa, 0), files.n);
    FCT_CLOSE(pb, pa, 1e-6, 0);
    FCT_CLOSE(db, da, 0, 0);
    /* the metadata says what the file holds */
    char *meta = fc_export_metadata(out);
    if (FCT_NOTNULL(meta)) {
        FCT_TRUE(strstr(meta, "\"arch\":\"resnet9\"") != NULL);
        FCT_TRUE(strstr(meta, "\"name\":\"Resize\"") != NULL);
        FCT_TRUE(strstr(meta, "\"method\":\"pad\"") != NULL);
        FCT_TRUE(strstr(meta, "\"name\":\"Normalize\"") != NULL);
        FCT_TRUE(strstr(meta, "Augment") == NULL && strstr(meta, "aug") == NULL); /* train-only: left out */
        FCT_TRUE(strstr(meta, "\"vocab\":[\"3\",\"7\"]") != NULL);
        free(meta);
    }
    remove(out);
done:
    fc_tensor_free(pa);
    fc_tensor_free(pb);
    fc_tensor_free(da);
    fc_tensor_free(db);
    fc_dataloader_free(ta);
    fc_dataloader_free(tb);
    fc_items_free(&files);
    fc_learner_free(loaded);
    fc_learner_free(learn);
}

/* Where the tensor data of an exported file starts: header, metadata, safetensors header. */
static long weights_data_start(const unsigned char *b, long n) {
    if (n < 24) return -1;
    uint64_t meta = fct_fcm_meta_len(b), st = 0;
    if ((long)(24 + meta + 8) > n) return -1;
    for (int i = 7; i >= 0; i--) st = st << 8 | b[24 + meta + i];
    return (long)(24 + meta + 8 + st);
}

FCT_TEST(test_load_learner_rejects_corrupt_files) {
    const char *path = vision_dataset("mnist_tiny");
    if (!path) return;
    fc_learner *learn = tiny_learner(path, 0.05);
    if (!FCT_NOTNULL(learn)) return;
    const char *good = "export_small.fcm", *bad = "export_bad.fcm";
    long n = 0;
    unsigned char *b = NULL;
    if (!FCT_OK(fc_learner_export(learn, good)) || !FCT_NOTNULL(b = read_all(good, &n))) goto done;
    /* Every truncation fails cleanly, naming the file (cut from the end down: no rewriting): each
     * length up to where the tensor data starts (the parsers' ground), then every 61st byte of the
     * data and its last 16 bytes (there the check is arithmetic on the offsets). */
    long data_at = weights_data_start(b, n);
    FCT_TRUE(data_at > 24 && data_at < n);
    int clean = write_all(bad, b, n);
    for (long len = n - 1; len >= 0 && clean; len--) {
        if (len > data_at && len < n - 16 && (n - len) % 61) continue;
        if (truncate(bad, len) != 0) break;
        fc_learner *l = fc_load_learner(bad);
        clean = !l && fc_error_code() == FC_ERR_FORMAT && strstr(fc_error_message(), bad) != NULL;
        if (!clean) fprintf(stderr, "truncated to %ld of %ld bytes: %s\n", len, n, l ? "loaded" : fc_error_message());
        fc_learner_free(l);
        fc_error_clear();
    }
    FCT_TRUE(clean);
    write_all(bad, (const unsigned char *)"GIF89a not a model at all.......", 32);
    fct_fcm_load_fails(bad, FC_ERR_FORMAT, "is not an exported fastc learner");
    unsigned char *c = malloc((size_t)n);
    if (c) {
        memcpy(c, b, (size_t)n);
        c[8] = 99; /* a newer version */
        write_all(bad, c, n);
        fct_fcm_load_fails(bad, FC_ERR_UNSUPPORTED, "has format version 99");
        free(c);
    }
    /* metadata that does not match the weights: another head size, a BatchNorm more or less */
    if (FCT_TRUE(fct_fcm_patch(b, (size_t)n, "\"n_out\":2", "\"n_out\":3", bad)))
        fct_fcm_load_fails(bad, FC_ERR_SHAPE, "expected shape");
    if (FCT_TRUE(fct_fcm_patch(b, (size_t)n, "\"bn_final\":0", "\"bn_final\":1", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "missing tensor");
    if (FCT_TRUE(fct_fcm_patch(b, (size_t)n, "\"no_first_bn\":0", "\"no_first_bn\":1", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "missing tensor");
    /* an architecture or a transform this program does not have */
    if (FCT_TRUE(fct_fcm_patch(b, (size_t)n, "\"resnet9\"", "\"resnetX\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_ARG, "unknown architecture 'resnetX'");
    if (FCT_TRUE(fct_fcm_patch(b, (size_t)n, "\"Resize\"", "\"Rexize\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_UNSUPPORTED, "unknown transform 'Rexize'");
    if (FCT_TRUE(fct_fcm_patch(b, (size_t)n, "\"vision\"", "\"visiom\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_UNSUPPORTED, "application 'visiom' is not registered");
    if (FCT_TRUE(fct_fcm_patch(b, (size_t)n, "{\"format\"", "[\"format\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "invalid JSON");
    /* weights with a tensor the metadata's model does not have: a final BatchNorm */
    fc_learner *extra = fc_vision_learner(fc_image_dls_from_folder(path, .bs = 64, .n_workers = 1), "resnet9",
                                          .model = {.widen = 0.05}, .head = {.bn_final = 1}, .quiet = 1);
    if (FCT_NOTNULL(extra) && FCT_OK(fc_learner_export(extra, good))) {
        long n2 = 0;
        unsigned char *b2 = read_all(good, &n2);
        if (FCT_NOTNULL(b2) && FCT_TRUE(fct_fcm_patch(b2, (size_t)n2, "\"bn_final\":1", "\"bn_final\":0", bad)))
            fct_fcm_load_fails(bad, FC_ERR_FORMAT, "unexpected tensor '1.9.weight'");
        free(b2);
    }
    fc_learner_free(extra);
    /* a missing file */
    fct_fcm_load_fails("no_such_model.fcm", FC_ERR_IO, "cannot open");
    /* a learner without an application cannot be exported */
done:
    free(b);
    remove(good);
    remove(bad);
    fc_learner_free(learn);
}

FCT_TEST(test_export_needs_an_application) {
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 3)), *y = fc_zeros(FC_SHAPE(4), .dtype = FC_DTYPE_I64);
    fc_learner *learn = fc_learner(fc_tensor_dls(x, y, x, y), fc_linear_new(3, 2), .quiet = 1);
    fc_tensor_free(x);
    fc_tensor_free(y);
    if (!FCT_NOTNULL(learn)) return;
    FCT_TRUE(fc_learner_export(learn, "never.fcm") == FC_ERR_STATE);
    FCT_ERROR(FC_ERR_STATE, "has no application recorded");
    FCT_TRUE(access("never.fcm", F_OK) != 0);
    fc_learner_free(learn);
}
