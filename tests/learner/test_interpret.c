/* ClassificationInterpretation on a hand-made example: a linear model that copies three "pixels"
 * of each image as its logits, so predictions, the confusion matrix, most_confused and the per-item
 * losses (-log softmax[target]) are known by hand; the plots are written as PNGs (or a table). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/learner.h"
#include "fct.h"

#define N_ITEMS 8
static const char *const abc[3] = {"a", "b", "c"};
/* logits of item i and its target: predictions 0 1 1 2 1 0 2 2 */
static const float logits[N_ITEMS][3] = {{2, 0, 0}, {0, 3, 0}, {0, 1.5f, 0}, {0, 0, 1},
                                         {0, 2, 0}, {1.2f, 0, 0}, {0, 0, 4}, {0, 0, 0.5f}};
static const int64_t targets[N_ITEMS] = {0, 0, 0, 1, 1, 2, 2, 1};

/* x: images [N, 1, 4, 4] (f32 in [0, 1] after / 4) holding the logits in pixels 0..2, or rows [N, 3]. */
static fc_learner *hand_learner(int as_images) {
    float xs[N_ITEMS * 16] = {0};
    int per = as_images ? 16 : 3;
    for (int i = 0; i < N_ITEMS; i++)
        for (int c = 0; c < 3; c++) xs[i * per + c] = logits[i][c] / 4;
    fc_tensor *x = as_images ? fc_from_data(xs, FC_SHAPE(N_ITEMS, 1, 4, 4)) : fc_from_data(xs, FC_SHAPE(N_ITEMS, 3));
    fc_tensor *y = fc_from_data(targets, FC_SHAPE(N_ITEMS), .dtype = FC_DTYPE_I64);
    fc_dataloaders *dls = fc_tensor_dls(x, y, x, y, .bs = 2); /* valid: batches of 4, in order */
    fc_tensor_free(x);
    fc_tensor_free(y);
    if (dls) dls->vocab = abc, dls->n_vocab = 3;
    fc_module *lin = fc_linear_new(per, 3);
    if (lin) { /* logits = 4 * pixels 0..2 */
        float *w = fc_tensor_data(fc_module_parameter(lin, 0, NULL));
        float *b = fc_tensor_data(fc_module_parameter(lin, 1, NULL));
        memset(w, 0, sizeof(float) * 3 * (size_t)per);
        memset(b, 0, sizeof(float) * 3);
        for (int c = 0; c < 3; c++) w[c * per + c] = 4;
    }
    fc_module *model = as_images ? fc_sequential(fc_flatten_new(), lin) : lin;
    return fc_learner(dls, model, .quiet = 1);
}

static double hand_loss(int i) {
    double m = 0, s = 0;
    for (int c = 0; c < 3; c++) m = fmax(m, logits[i][c]);
    for (int c = 0; c < 3; c++) s += exp(logits[i][c] - m);
    return -(logits[i][targets[i]] - m - log(s));
}

FCT_TEST(test_interp_confusion_matrix_and_losses_by_hand) {
    fc_learner *learn = hand_learner(1);
    if (!FCT_NOTNULL(learn)) return;
    fc_interp *in = fc_interp_from_learner(learn, NULL);
    if (!FCT_NOTNULL(in)) goto done;
    FCT_EQ_INT(fc_interp_n(in), N_ITEMS);
    const int64_t want_pred[N_ITEMS] = {0, 1, 1, 2, 1, 0, 2, 2};
    const int64_t *dec = fc_interp_decoded(in);
    for (int i = 0; i < N_ITEMS; i++) FCT_EQ_INT(dec[i], want_pred[i]);
    for (int i = 0; i < N_ITEMS; i++) FCT_EQ_INT(fc_tensor_get(fc_interp_targs(in), i), targets[i]);
    /* preds are the softmax of the logits */
    const fc_tensor *p = fc_interp_preds(in);
    FCT_EQ_INT(fc_tensor_dim(p, 0), N_ITEMS);
    FCT_EQ_INT(fc_tensor_dim(p, 1), 3);
    for (int i = 0; i < N_ITEMS; i++)
        FCT_NEAR(fc_tensor_get(p, i * 3 + targets[i]), exp(-hand_loss(i)), 1e-6);
    /* cm rows actual a, b, c: [1 2 0], [0 1 2], [1 0 1] */
    int64_t nc = 0;
    const int64_t *cm = fc_interp_confusion_matrix(in, &nc);
    const int64_t want_cm[9] = {1, 2, 0, 0, 1, 2, 1, 0, 1};
    FCT_EQ_INT(nc, 3);
    for (int k = 0; k < 9 && cm; k++) FCT_EQ_INT(cm[k], want_cm[k]);
    /* losses: -log softmax[target] */
    const float *l = fc_interp_losses(in);
    for (int i = 0; i < N_ITEMS; i++) FCT_NEAR(l[i], hand_loss(i), 1e-5);
    FCT_STR(fc_interp_class_name(in, 2), "c");
    FCT_TRUE(fc_interp_class_name(in, 3) == NULL);
done:
    fc_interp_free(in);
    fc_learner_free(learn);
}

FCT_TEST(test_interp_most_confused_order_and_min_val) {
    fc_learner *learn = hand_learner(0);
    fc_interp *in = learn ? fc_interp_from_learner(learn, NULL) : NULL;
    if (!FCT_NOTNULL(in)) goto done;
    fc_confusion mc[8];
    /* a->b 2, b->c 2 (ties by actual class), then c->a 1 */
    FCT_EQ_INT(fc_interp_most_confused(in, 0, mc, 8), 3);
    FCT_STR(mc[0].actual, "a"); FCT_STR(mc[0].predicted, "b"); FCT_EQ_INT(mc[0].count, 2);
    FCT_STR(mc[1].actual, "b"); FCT_STR(mc[1].predicted, "c"); FCT_EQ_INT(mc[1].count, 2);
    FCT_STR(mc[2].actual, "c"); FCT_STR(mc[2].predicted, "a"); FCT_EQ_INT(mc[2].count, 1);
    FCT_EQ_INT(fc_interp_most_confused(in, 2, mc, 8), 2);
    FCT_EQ_INT(fc_interp_most_confused(in, 3, mc, 8), 0);
    FCT_EQ_INT(fc_interp_most_confused(in, 1, mc, 1), 3); /* counts all, writes one */
    FCT_STR(mc[0].actual, "a");
    FCT_EQ_INT(fc_interp_most_confused(in, -1, mc, 1), -1);
    FCT_ERROR(FC_ERR_ARG, "min_val >= 0");
done:
    fc_interp_free(in);
    fc_learner_free(learn);
}

FCT_TEST(test_interp_top_losses_largest_first) {
    fc_learner *learn = hand_learner(0);
    fc_interp *in = learn ? fc_interp_from_learner(learn, NULL) : NULL;
    if (!FCT_NOTNULL(in)) goto done;
    /* the hand ranking: sort indices by hand_loss, descending */
    int order[N_ITEMS];
    for (int i = 0; i < N_ITEMS; i++) order[i] = i;
    for (int i = 1; i < N_ITEMS; i++)
        for (int k = i; k > 0 && hand_loss(order[k]) > hand_loss(order[k - 1]); k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    float losses[N_ITEMS];
    int64_t idx[N_ITEMS];
    FCT_EQ_INT(fc_interp_top_losses(in, 3, losses, idx), 3);
    for (int i = 0; i < 3; i++) {
        FCT_EQ_INT(idx[i], order[i]);
        FCT_NEAR(losses[i], hand_loss(order[i]), 1e-5);
    }
    FCT_EQ_INT(idx[0], 1); /* logits (0, 3, 0) for class a: the worst */
    FCT_EQ_INT(fc_interp_top_losses(in, 0, losses, idx), N_ITEMS); /* 0: every item */
    for (int i = 1; i < N_ITEMS; i++) FCT_TRUE(losses[i - 1] >= losses[i]);
    FCT_EQ_INT(fc_interp_top_losses(in, 100, NULL, idx), N_ITEMS);
done:
    fc_interp_free(in);
    fc_learner_free(learn);
}

/* Width and height from a PNG's IHDR, 0 when the file is not a PNG. */
static int png_size(const char *path, unsigned *w, unsigned *h) {
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    if (got != sizeof b || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0) return 0;
    *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    return 1;
}

FCT_TEST(test_interp_plots_are_pngs) {
    fc_learner *learn = hand_learner(1);
    fc_interp *in = learn ? fc_interp_from_learner(learn, NULL) : NULL;
    if (!FCT_NOTNULL(in)) goto done;
    remove("interp_cm.png");
    remove("interp_top.png");
    unsigned w = 0, h = 0;
    if (FCT_OK(fc_interp_plot_confusion_matrix(in, "interp_cm.png", .normalize = 1)))
        if (FCT_TRUE(png_size("interp_cm.png", &w, &h))) FCT_TRUE(w >= 200 && h >= 200 && w < 4000 && h < 4000);
    /* 4 worst items, 2 columns: a 2 x 2 grid of 128-pixel cells with two title lines */
    if (FCT_OK(fc_interp_plot_top_losses(in, 4, "interp_top.png", .ncols = 2)))
        if (FCT_TRUE(png_size("interp_top.png", &w, &h))) {
            FCT_TRUE(w >= 2 * 128 && w < 2 * 128 + 100);
            FCT_TRUE(h >= 2 * 128 && h < 2 * 200 + 100);
        }
    FCT_EQ_INT(fc_interp_plot_top_losses(in, 0, "interp_top.png"), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "expected k >= 1");
done:
    fc_interp_free(in);
    fc_learner_free(learn);
}

FCT_TEST(test_interp_print_and_table_for_rows) {
    fc_learner *learn = hand_learner(0);
    fc_interp *in = learn ? fc_interp_from_learner(learn, NULL) : NULL;
    if (!FCT_NOTNULL(in)) goto done;
    FILE *f = tmpfile();
    char buf[2048] = {0};
    if (FCT_OK(fc_interp_print_confusion_matrix(in, f))) {
        rewind(f);
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        buf[got] = 0;
        FCT_TRUE(strstr(buf, "actual \\ predicted  a  b  c\n") != NULL);
        FCT_TRUE(strstr(buf, "\na                   1  2  0\n") != NULL);
        FCT_TRUE(strstr(buf, "\nc                   1  0  1\n") != NULL);
    }
    fclose(f);
    /* rows are no images: the top losses become a table with the item, actual, predicted, loss */
    if (FCT_OK(fc_interp_plot_top_losses(in, 2, "interp_top.txt"))) {
        FILE *t = fopen("interp_top.txt", "r");
        size_t got = t ? fread(buf, 1, sizeof buf - 1, t) : 0;
        buf[got] = 0;
        if (t) fclose(t);
        FCT_TRUE(strstr(buf, "actual") && strstr(buf, "predicted") && strstr(buf, "loss"));
        char want[64];
        snprintf(want, sizeof want, "a       b          %.4f", hand_loss(1));
        fct_check(strstr(buf, want) != NULL, __FILE__, __LINE__, "expected '%s' in:\n%s", want, buf);
    }
done:
    fc_interp_free(in);
    fc_learner_free(learn);
}

FCT_TEST(test_interp_rejects_shuffled_loader_and_regression) {
    fc_learner *learn = hand_learner(0);
    if (!FCT_NOTNULL(learn)) return;
    FCT_NULL(fc_interp_from_learner(learn, fc_learner_dls(learn)->train));
    FCT_ERROR(FC_ERR_ARG, "the loader shuffles");
    fc_learner_free(learn);
    float xs[8] = {0}, ys[4] = {1, 2, 3, 4};
    fc_tensor *x = fc_from_data(xs, FC_SHAPE(4, 2)), *y = fc_from_data(ys, FC_SHAPE(4));
    fc_dataloaders *dls = fc_tensor_dls(x, y, x, y, .bs = 2);
    fc_tensor_free(x);
    fc_tensor_free(y);
    learn = fc_learner(dls, fc_linear_new(2, 1), .loss_func = fc_mse_flat(), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_NULL(fc_interp_from_learner(learn, NULL));
    FCT_ERROR(FC_ERR_UNSUPPORTED, "expected single-label classification");
    fc_learner_free(learn);
}
