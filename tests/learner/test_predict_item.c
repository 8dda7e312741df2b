/* learn.predict on real data: MNIST_TINY (3s and 7s) through a DataBlock of image files
 * (ImageBlock, CategoryBlock, parent_label, GrandparentSplitter), a linear model trained one epoch;
 * predicting one image file gives what get_preds gives for that item, and a missing file fails
 * naming it. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/untar_impl.h"
#include "fastc/learner.h"
#include "fct.h"
#include "vision/vision_data.h"

static fc_datablock *mnist_block(void) {
    return fc_datablock_new(.blocks = FC_BLOCKS(fc_image_block(), fc_category_block()), .extensions = FC_NAMES(".png"),
                            .get_y = fc_parent_label(), .splitter = fc_grandparent_splitter("train", "valid"));
}

static int copy_file(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    int ok = in && out;
    for (int c; ok && (c = fgetc(in)) != EOF;) fputc(c, out);
    if (in) fclose(in);
    if (out) fclose(out);
    return ok;
}

static void check_item(fc_learner *learn, const char *file, const fc_tensor *preds, int64_t row) {
    const fc_dataloaders *dls = fc_learner_dls(learn);
    fc_prediction p;
    if (!FCT_OK(fc_learner_predict(learn, file, &p))) return;
    int64_t c = fc_tensor_dim(preds, 1), best = 0;
    FCT_EQ_INT(fc_tensor_numel(p.probs), c);
    double sum = 0;
    for (int64_t j = 0; j < c; j++) {
        sum += fc_tensor_get(p.probs, j);
        FCT_NEAR(fc_tensor_get(p.probs, j), fc_tensor_get(preds, row * c + j), 1e-6);
        if (fc_tensor_get(preds, row * c + j) > fc_tensor_get(preds, row * c + best)) best = j;
    }
    FCT_NEAR(sum, 1.0, 1e-5);
    FCT_EQ_INT(p.index, best);
    FCT_STR(p.label, dls->vocab[best]);
    fc_prediction_free(&p);
}

FCT_TEST(test_predict_image_file_matches_get_preds) {
    const char *path = vision_dataset("mnist_tiny"); /* extracted once into the build dir */
    if (!path) return;
    fc_datablock *db = mnist_block();
    fc_datasets *d = path && db ? fc_datablock_datasets(db, path) : NULL;
    fc_dataloaders *dls = d ? fc_datablock_dataloaders(db, path, .bs = 64) : NULL;
    fc_learner *learn = NULL;
    fc_tensor *preds = NULL;
    if (!FCT_NOTNULL(dls)) goto done;
    FCT_EQ_INT(dls->n_vocab, 2);
    fc_manual_seed(3);
    learn = fc_learner(dls, fc_sequential(fc_flatten_new(), fc_linear_new(28 * 28, 2)), .quiet = 1, .lr = 1e-2);
    if (!FCT_NOTNULL(learn)) goto done;
    FCT_OK(fc_fit(learn, 1));
    if (!FCT_OK(fc_learner_get_preds(learn, NULL, &preds, NULL, NULL))) goto done;
    int64_t n_valid = fc_datasets_n_valid(d);
    FCT_EQ_INT(fc_tensor_dim(preds, 0), n_valid);
    /* items of the valid set, a 3 and a 7, by their paths */
    const int64_t rows[3] = {0, n_valid / 2, n_valid - 1};
    for (int k = 0; k < 3; k++) check_item(learn, fc_datasets_item_name(d, FC_SPLIT_VALID, rows[k]), preds, rows[k]);
    /* a file that is no item of the source: the same image copied outside the dataset folder */
    char copy[64];
    snprintf(copy, sizeof copy, "vision_data/predict_copy.png"); /* outside the dataset folder */
    if (FCT_TRUE(copy_file(fc_datasets_item_name(d, FC_SPLIT_VALID, rows[2]), copy))) check_item(learn, copy, preds, rows[2]);
    /* and one of its unlabelled test images: a label of the vocab all the same */
    char test_img[1200];
    snprintf(test_img, sizeof test_img, "%s/test/1503.png", path);
    fc_prediction p;
    if (FCT_OK(fc_learner_predict(learn, test_img, &p))) {
        FCT_TRUE(p.index == 0 || p.index == 1);
        FCT_TRUE(!strcmp(p.label, "3") || !strcmp(p.label, "7"));
        fc_prediction_free(&p);
    }
    /* a missing file fails naming it */
    char missing[1200];
    snprintf(missing, sizeof missing, "%s/valid/3/nonexistent.png", path);
    FCT_EQ_INT(fc_learner_predict(learn, missing, &p), FC_ERR_IO);
    char want[2600];
    snprintf(want, sizeof want, "predict: item '%s': image_read: cannot open '%s'", missing, missing);
    FCT_ERROR(FC_ERR_IO, want);
    FCT_TRUE(p.probs == NULL && p.index == -1);
    fprintf(stderr, "  predict: 3 valid items and a copy agree with get_preds\n");
    /* interpretation on the same images: the top losses drawn from the decoded files */
    fc_interp *in = fc_interp_from_learner(learn, NULL);
    if (FCT_NOTNULL(in)) {
        FCT_EQ_INT(fc_interp_n(in), n_valid);
        int64_t nc = 0, total = 0, right = 0;
        const int64_t *cm = fc_interp_confusion_matrix(in, &nc);
        for (int64_t k = 0; k < nc * nc; k++) total += cm[k], right += k / nc == k % nc ? cm[k] : 0;
        FCT_EQ_INT(total, n_valid);
        fprintf(stderr, "  interp: %lld of %lld valid images right after one epoch\n", (long long)right, (long long)total);
        char png[64];
        snprintf(png, sizeof png, "vision_data/predict_top.png");
        if (FCT_OK(fc_interp_plot_top_losses(in, 6, png, .ncols = 3))) {
            FILE *f = fopen(png, "rb");
            unsigned char b[24] = {0};
            FCT_TRUE(f && fread(b, 1, sizeof b, f) == sizeof b && !memcmp(b, "\x89PNG\r\n\x1a\n", 8));
            if (f) fclose(f);
            unsigned w = (unsigned)b[18] << 8 | b[19], h = (unsigned)b[22] << 8 | b[23];
            FCT_TRUE(w >= 3 * 128 && w < 3 * 128 + 100 && h >= 2 * 128 && h < 2 * 200 + 100);
        }
        fc_interp_free(in);
    }
    /* TTA without training-only transforms: the plain predictions */
    fc_tensor *tta = NULL;
    if (FCT_OK(fc_tta(learn, &tta, NULL, .n = 2))) FCT_CLOSE(tta, preds, 0, 0);
    fc_tensor_free(tta);
done:
    fc_tensor_free(preds);
    fc_learner_free(learn);
    fc_datasets_free(d);
    fc_datablock_free(db);
    remove("vision_data/predict_copy.png");
    remove("vision_data/predict_top.png");
}

FCT_TEST(test_predict_needs_a_dataset_that_reads_text) {
    float xs[8] = {0};
    int64_t ys[4] = {0, 1, 0, 1};
    fc_tensor *x = fc_from_data(xs, FC_SHAPE(4, 2)), *y = fc_from_data(ys, FC_SHAPE(4), .dtype = FC_DTYPE_I64);
    fc_dataloaders *dls = fc_tensor_dls(x, y, x, y, .bs = 2);
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_learner *learn = fc_learner(dls, fc_linear_new(2, 2), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    fc_prediction p;
    FCT_EQ_INT(fc_learner_predict(learn, "row 3", &p), FC_ERR_UNSUPPORTED);
    FCT_ERROR(FC_ERR_UNSUPPORTED, "cannot make an item from text");
    fc_learner_free(learn);
}
