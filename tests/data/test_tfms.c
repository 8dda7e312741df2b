/* Built-in transforms: encode/decode round trips for Categorize, MultiCategorize, RegressionSetup,
 * Normalize, ToTensor and IntToFloatTensor; vocab from setup; stats from setup vs direct formulas;
 * the errors for unknown labels and integer images. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/data.h"
#include "fct.h"

static fc_pipeline *setup_labels(fc_transform *tf, const char *const *labels, int n) {
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(tf));
    fc_value v[16];
    for (int i = 0; i < n; i++) v[i] = fc_value_text(fc_kind_label, labels[i]);
    FCT_OK(fc_pipeline_setup(p, v, n));
    for (int i = 0; i < n; i++) fc_value_free(&v[i]);
    return p;
}

FCT_TEST(test_categorize_vocab_is_sorted_unique_and_round_trips) {
    const char *labels[] = {"dog", "cat", "dog", "bird", "cat"};
    fc_pipeline *p = setup_labels(fc_categorize(), labels, 5);
    int64_t n;
    const char *const *vocab = fc_categorize_vocab(fc_pipeline_at(p, 0), &n);
    FCT_EQ_INT(n, 3);
    if (n == 3) {
        FCT_STR(vocab[0], "bird");
        FCT_STR(vocab[1], "cat");
        FCT_STR(vocab[2], "dog");
    }
    for (int i = 0; i < 5; i++) {
        fc_value v = fc_value_text(fc_kind_label, labels[i]);
        FCT_OK(fc_pipeline_encode(p, &v, NULL));
        FCT_TRUE(v.kind == fc_kind_category && v.text == NULL);
        FCT_EQ_INT(fc_tensor_ndim(v.t), 0);
        FCT_EQ_INT(fc_tensor_dtype(v.t), FC_DTYPE_I64);
        FCT_STR(vocab[(int64_t)fc_tensor_item(v.t)], labels[i]);
        FCT_OK(fc_pipeline_decode(p, &v));
        FCT_TRUE(v.kind == fc_kind_label);
        FCT_STR(v.text, labels[i]);
        fc_value_free(&v);
    }
    fc_value again[2] = {fc_value_text(fc_kind_label, "cat"), fc_value_text(fc_kind_label, "dog")};
    FCT_OK(fc_pipeline_setup(p, again, 2)); /* new labels: a new vocab */
    FCT_EQ_INT(n, 3);
    vocab = fc_categorize_vocab(fc_pipeline_at(p, 0), &n);
    FCT_EQ_INT(n, 2);
    const char *const *v2 = vocab;
    FCT_OK(fc_pipeline_setup(p, again, 2)); /* the same labels: the same strings stay */
    FCT_TRUE(fc_categorize_vocab(fc_pipeline_at(p, 0), &n) == v2);
    fc_value_free(&again[0]);
    fc_value_free(&again[1]);
    fc_value v = fc_value_text(fc_kind_label, "zebra");
    FCT_TRUE(fc_pipeline_encode(p, &v, NULL) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "Categorize: label 'zebra' is not in the vocab of 2 (first 'cat', last 'dog')");
    fc_value_free(&v);
    fc_pipeline_free(p);
}

FCT_TEST(test_categorize_with_a_given_vocab_keeps_its_order) {
    fc_transform *tf = fc_categorize(.vocab = (const char *[]){"zero", "one", "two"}, .n_vocab = 3);
    const char *labels[] = {"two"};
    fc_pipeline *p = setup_labels(tf, labels, 1); /* setup does not replace a given vocab */
    fc_value v = fc_value_text(fc_kind_label, "one");
    FCT_OK(fc_pipeline_encode(p, &v, NULL));
    FCT_EQ_INT((int64_t)fc_tensor_item(v.t), 1);
    fc_value_free(&v);
    fc_pipeline_free(p);
    FCT_NULL(fc_categorize(.vocab = (const char *[]){"a", "a"}, .n_vocab = 2));
    FCT_ERROR(FC_ERR_ARG, "expected distinct labels in the vocab, found 'a' twice");
    fc_transform *empty = fc_categorize();
    fc_value w = fc_value_text(fc_kind_label, "a");
    FCT_TRUE(fc_pipeline_encode(NULL, &w, NULL) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "pipeline_encode");
    fc_pipeline *q = fc_pipeline_new(FC_TFMS(empty));
    FCT_TRUE(fc_pipeline_encode(q, &w, NULL) != FC_OK);
    FCT_ERROR(FC_ERR_STATE, "the vocab is empty (setup has not run on training labels)");
    fc_value_free(&w);
    fc_pipeline_free(q);
}

FCT_TEST(test_multi_categorize_one_hot_round_trip) {
    const char *labels[] = {"cat;dog", "bird", "", "dog;cat;bird"};
    fc_pipeline *p = setup_labels(fc_multi_categorize(), labels, 4);
    int64_t n;
    const char *const *vocab = fc_categorize_vocab(fc_pipeline_at(p, 0), &n);
    FCT_EQ_INT(n, 3);
    FCT_STR(vocab[0], "bird");
    const char *want[] = {"cat;dog", "bird", "", "bird;cat;dog"}; /* decoded in vocab order */
    const float hot[4][3] = {{0, 1, 1}, {1, 0, 0}, {0, 0, 0}, {1, 1, 1}};
    for (int i = 0; i < 4; i++) {
        fc_value v = fc_value_text(fc_kind_label, labels[i]);
        FCT_OK(fc_pipeline_encode(p, &v, NULL));
        FCT_TRUE(v.kind == fc_kind_multi_category);
        FCT_EQ_INT(fc_tensor_dim(v.t, 0), 3);
        for (int k = 0; k < 3; k++) FCT_NEAR(fc_tensor_get(v.t, k), hot[i][k], 0);
        FCT_OK(fc_pipeline_decode(p, &v));
        FCT_STR(v.text, want[i]);
        fc_value_free(&v);
    }
    fc_pipeline_free(p);
    fc_pipeline *sp = fc_pipeline_new(FC_TFMS(fc_multi_categorize(.delim = ' ', .vocab = (const char *[]){"a", "b"}, .n_vocab = 2)));
    fc_value v = fc_value_text(fc_kind_label, "b  a");
    FCT_OK(fc_pipeline_encode(sp, &v, NULL));
    FCT_NEAR(fc_tensor_get(v.t, 0) + fc_tensor_get(v.t, 1), 2, 0);
    fc_value_free(&v);
    v = fc_value_text(fc_kind_label, "a c");
    FCT_TRUE(fc_pipeline_encode(sp, &v, NULL) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "MultiCategorize: label 'c' is not in the vocab of 2");
    fc_value_free(&v);
    fc_pipeline_free(sp);
}

FCT_TEST(test_regression_setup_parses_numbers_and_decodes) {
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_regression_setup()));
    fc_value v = fc_value_text(fc_kind_label, "2.5");
    FCT_OK(fc_pipeline_encode(p, &v, NULL));
    FCT_EQ_INT(fc_tensor_ndim(v.t), 0);
    FCT_NEAR(fc_tensor_item(v.t), 2.5, 0);
    FCT_OK(fc_pipeline_decode(p, &v));
    FCT_STR(v.text, "2.5");
    fc_value_free(&v);
    v = fc_value_text(fc_kind_label, "1 -2 3e2");
    FCT_OK(fc_pipeline_encode(p, &v, NULL));
    FCT_EQ_INT(fc_tensor_dim(v.t, 0), 3);
    FCT_NEAR(fc_tensor_get(v.t, 2), 300, 0);
    FCT_OK(fc_pipeline_decode(p, &v));
    FCT_STR(v.text, "1 -2 300");
    fc_value_free(&v);
    v = fc_value_text(fc_kind_label, "12 abc");
    FCT_TRUE(fc_pipeline_encode(p, &v, NULL) != FC_OK);
    FCT_ERROR(FC_ERR_FORMAT, "RegressionSetup: expected a number, found '12 abc'");
    fc_value_free(&v);
    fc_pipeline_free(p);
}

/* A seeded image [c, h, w] f32 with per-channel offsets. */
static fc_tensor *image(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
    fc_tensor *t = fct_randn(n ? FC_SHAPE(n, c, h, w) : FC_SHAPE(c, h, w), seed);
    float *p = fc_tensor_data_f32(t);
    int64_t hw = h * w, nn = n ? n : 1;
    for (int64_t a = 0; a < nn; a++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t j = 0; j < hw; j++) p[(a * c + ch) * hw + j] = p[(a * c + ch) * hw + j] * (ch + 1) + 3 * ch;
    return t;
}

FCT_TEST(test_normalize_with_stats_round_trips_images_and_batches) {
    const float mean[] = {0.5f, 1.0f, -2.0f}, std[] = {2.0f, 0.5f, 4.0f};
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_normalize(.mean = mean, .std = std, .n_channels = 3)));
    for (int batched = 0; batched < 2; batched++) {
        fc_tensor *x = image(batched ? 2 : 0, 3, 4, 5, 7);
        fc_value v = fc_value_tensor(fc_kind_image, fc_tensor_ref(x));
        FCT_OK(fc_pipeline_encode(p, &v, NULL));
        int64_t hw = 20;
        for (int64_t k = 0; k < fc_tensor_numel(x); k++) {
            int64_t ch = (k / hw) % 3;
            FCT_NEAR(fc_tensor_get(v.t, k), (fc_tensor_get(x, k) - mean[ch]) / std[ch], 1e-5);
        }
        FCT_OK(fc_pipeline_decode(p, &v));
        FCT_CLOSE(v.t, x, 1e-5, 1e-5);
        fc_value_free(&v);
        fc_tensor_free(x);
    }
    /* labels pass through: Normalize acts on images only */
    fc_value l = fc_value_text(fc_kind_label, "x");
    FCT_OK(fc_pipeline_encode(p, &l, NULL));
    FCT_STR(l.text, "x");
    fc_value_free(&l);
    fc_value u8 = fc_value_tensor(fc_kind_image, fc_keep(fc_zeros(FC_SHAPE(3, 2, 2), .dtype = FC_DTYPE_U8)));
    FCT_TRUE(fc_pipeline_encode(p, &u8, NULL) != FC_OK);
    FCT_ERROR(FC_ERR_DTYPE, "Normalize: expected a float image (add fc_int_to_float(), which runs before it), found image u8 [3, 2, 2]");
    fc_value_free(&u8);
    fc_value two = fc_value_tensor(fc_kind_image, fc_keep(fc_zeros(FC_SHAPE(2, 2, 2))));
    FCT_TRUE(fc_pipeline_encode(p, &two, NULL) != FC_OK);
    FCT_ERROR(FC_ERR_SHAPE, "Normalize: expected 3 channels (the stats'), found [2, 2, 2]");
    fc_value_free(&two);
    fc_pipeline_free(p);
    FCT_NULL(fc_normalize(.mean = mean, .std = (const float[]){1, 0, 1}, .n_channels = 3));
    FCT_ERROR(FC_ERR_ARG, "expected .std > 0, found 0 for channel 1");
}

FCT_TEST(test_normalize_setup_computes_unbiased_channel_stats) {
    fc_tensor *a = image(0, 2, 3, 4, 1), *b = image(0, 2, 3, 4, 2);
    fc_value vals[2] = {fc_value_tensor(fc_kind_image, fc_tensor_ref(a)), fc_value_tensor(fc_kind_image, fc_tensor_ref(b))};
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_normalize()));
    FCT_OK(fc_pipeline_setup(p, vals, 2));
    int c;
    const float *mean = fc_normalize_mean(fc_pipeline_at(p, 0), &c), *sd = fc_normalize_std(fc_pipeline_at(p, 0), &c);
    FCT_EQ_INT(c, 2);
    for (int ch = 0; ch < 2 && mean; ch++) {
        double s = 0, ss = 0;
        int n = 0;
        for (int img = 0; img < 2; img++)
            for (int j = 0; j < 12; j++) {
                double x = fc_tensor_get(img ? b : a, ch * 12 + j);
                s += x;
                n++;
            }
        double m = s / n;
        for (int img = 0; img < 2; img++)
            for (int j = 0; j < 12; j++) {
                double x = fc_tensor_get(img ? b : a, ch * 12 + j);
                ss += (x - m) * (x - m);
            }
        FCT_NEAR(mean[ch], m, 1e-5);
        FCT_NEAR(sd[ch], sqrt(ss / (n - 1)), 1e-5); /* torch.std: unbiased */
    }
    /* a second setup (a DataBlock built again) recomputes the stats in place */
    float m0 = mean[0];
    fc_value other = fc_value_tensor(fc_kind_image, fc_keep(fc_full(FC_SHAPE(2, 2, 2), 7.0)));
    FCT_OK(fc_pipeline_setup(p, &other, 1));
    FCT_TRUE(fc_normalize_mean(fc_pipeline_at(p, 0), &c) == mean);
    FCT_NEAR(mean[0], 7.0, 1e-6);
    FCT_OK(fc_pipeline_setup(p, vals, 2));
    FCT_NEAR(mean[0], m0, 0);
    fc_value_free(&other);
    /* after normalizing, the training values have mean 0 and std 1 per channel */
    FCT_OK(fc_pipeline_encode(p, &vals[0], NULL));
    FCT_OK(fc_pipeline_encode(p, &vals[1], NULL));
    double s0 = 0;
    for (int j = 0; j < 12; j++) s0 += fc_tensor_get(vals[0].t, j) + fc_tensor_get(vals[1].t, j);
    FCT_NEAR(s0 / 24, 0, 1e-5);
    fc_value_free(&vals[0]);
    fc_value_free(&vals[1]);
    fc_tensor_free(a);
    fc_tensor_free(b);
    fc_pipeline_free(p);
}

FCT_TEST(test_to_tensor_and_int_to_float_round_trip) {
    uint8_t px[6] = {0, 1, 127, 128, 254, 255};
    fc_tensor *hw = fc_keep(fc_from_data(px, FC_SHAPE(2, 3), .dtype = FC_DTYPE_U8));
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_int_to_float(), fc_to_tensor())); /* sorted: 5 then 10 */
    fc_value v = fc_value_tensor(fc_kind_image, fc_tensor_ref(hw));
    FCT_OK(fc_pipeline_encode(p, &v, NULL));
    FCT_EQ_INT(fc_tensor_ndim(v.t), 3);
    FCT_EQ_INT(fc_tensor_dim(v.t, 0), 1);
    FCT_EQ_INT(fc_tensor_dtype(v.t), FC_DTYPE_F32);
    for (int k = 0; k < 6; k++) FCT_NEAR(fc_tensor_get(v.t, k), px[k] / 255.0, 1e-7);
    FCT_OK(fc_pipeline_decode(p, &v));
    FCT_EQ_INT(fc_tensor_dtype(v.t), FC_DTYPE_U8);
    for (int k = 0; k < 6; k++) FCT_EQ_INT(fc_tensor_get(v.t, k), px[k]); /* exact */
    fc_value_free(&v);
    fc_pipeline *tt = fc_pipeline_new(FC_TFMS(fc_to_tensor()));
    v = fc_value_tensor(fc_kind_image, fc_tensor_ref(hw));
    FCT_OK(fc_pipeline_encode(tt, &v, NULL));
    FCT_EQ_INT(fc_tensor_dtype(v.t), FC_DTYPE_U8); /* ToTensor keeps u8 */
    FCT_EQ_INT(fc_tensor_dim(v.t, 2), 3);
    fc_value_free(&v);
    v = fc_value_tensor(fc_kind_image, fc_keep(fc_zeros(FC_SHAPE(3))));
    FCT_TRUE(fc_pipeline_encode(tt, &v, NULL) != FC_OK);
    FCT_ERROR(FC_ERR_SHAPE, "ToTensor: expected an image [H, W] or [C, H, W], found image f32 [3]");
    fc_value_free(&v);
    /* decoding clamps out-of-range floats */
    float f[3] = {-0.5f, 0.5f, 1.5f};
    v = fc_value_tensor(fc_kind_image, fc_keep(fc_from_data(f, FC_SHAPE(1, 1, 3))));
    FCT_OK(fc_pipeline_decode(p, &v));
    FCT_EQ_INT(fc_tensor_get(v.t, 0), 0);
    FCT_EQ_INT(fc_tensor_get(v.t, 1), 128);
    FCT_EQ_INT(fc_tensor_get(v.t, 2), 255);
    fc_value_free(&v);
    fc_pipeline_free(tt);
    fc_pipeline_free(p);
    fc_tensor_free(hw);
}
