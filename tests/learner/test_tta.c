/* learn.tta: the training-split transforms run on the valid items for n passes (pass i drawing as
 * epoch i), averaged and blended with the plain predictions by torch.lerp(aug, plain, beta). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learner_test.h"

/* Train-only batch transforms on the x values (kind image): x * 2 (deterministic) or x + N(0, 1)
 * drawn from the batch's generator (an augmentation). */
static const fc_kind *const x_kinds[] = {fc_kind_image, NULL};
static fc_status scale_encodes(void *state, fc_value *v, const fc_tfm_ctx *ctx) {
    fc_tensor *t = fc_clone(v->t); /* no temporaries: loaders run transforms outside any scope */
    if (!t) return fc_error_code();
    float *p = fc_tensor_data(t);
    for (int64_t i = 0; i < fc_tensor_numel(t); i++) p[i] *= 2;
    fc_value_set_tensor(v, NULL, t);
    return FC_OK;
}
static fc_status noise_encodes(void *state, fc_value *v, const fc_tfm_ctx *ctx) {
    fc_tensor *t = fc_clone(v->t);
    if (!t) return fc_error_code();
    float *p = fc_tensor_data(t);
    for (int64_t i = 0; i < fc_tensor_numel(t); i++) p[i] += fc_rng_normal(ctx->rng);
    fc_value_set_tensor(v, NULL, t);
    return FC_OK;
}
static const fc_transform_def scale_def = {.name = "scale2", .split_idx = FC_SPLIT_TRAIN, .kinds = x_kinds,
                                           .encodes = scale_encodes};
static const fc_transform_def noise_def = {.name = "noise", .split_idx = FC_SPLIT_TRAIN, .kinds = x_kinds,
                                           .encodes = noise_encodes};

static void make_data(int64_t n, fc_tensor **x, fc_tensor **y) {
    fc_dataloaders *src = lt_dls(4, n, 8, 3); /* its valid rows (valid bs 16 >= n) */
    fc_tuple b = {0};
    *x = *y = NULL;
    if (src && fc_dataloader_one_batch(src->valid, &b) == FC_OK) {
        *x = fc_tensor_ref(b.v[0].t);
        *y = fc_tensor_ref(b.v[1].t);
    }
    fc_tuple_free(&b);
    fc_dataloaders_free(src);
}

/* A learner whose loaders serve x (kind image) with batch transform def (NULL: none), valid bs 4. */
static fc_learner *tta_learner(fc_tensor *x, fc_tensor *y, const fc_transform_def *def) {
    fc_dataloader *dl[2];
    for (int k = 0; k < 2; k++) {
        fc_transform *t = def ? fc_transform_new(def, NULL) : NULL;
        dl[k] = fc_dataloader_new(fc_tensor_dataset(x, fc_kind_image, y, NULL), .bs = 4, .shuffle = k == 0,
                                  .split = k == 0 ? FC_SPLIT_TRAIN : FC_SPLIT_VALID,
                                  .after_batch = t ? FC_TFMS(t) : (fc_tfms){0});
    }
    fc_manual_seed(7);
    return fc_learner(fc_dataloaders_new(dl[0], dl[1]), lt_mlp(), .quiet = 1);
}

static float lerp_ref(float a, float b, double w) { /* torch.lerp's two forms */
    return w < 0.5 ? (float)(a + w * (b - a)) : (float)(b - (b - a) * (1 - w));
}

FCT_TEST(test_tta_without_augmentation_equals_plain_preds) {
    fc_tensor *x, *y;
    make_data(10, &x, &y);
    fc_learner *learn = x ? tta_learner(x, y, NULL) : NULL;
    fc_tensor *plain = NULL, *p = NULL, *t = NULL;
    if (!FCT_NOTNULL(learn)) goto done;
    if (!FCT_OK(fc_learner_get_preds(learn, NULL, &plain, NULL, NULL))) goto done;
    if (FCT_OK(fc_tta(learn, &p, &t, .n = 3))) {
        FCT_EQ_INT(fc_tensor_ndim(p), 2);
        FCT_EQ_INT(fc_tensor_dim(p, 0), 10);
        FCT_EQ_INT(fc_tensor_dim(p, 1), 2);
        FCT_TRUE(lt_equal(p, plain)); /* mean of identical passes, lerped with itself: exact */
        FCT_EQ_INT(fc_tensor_numel(t), 10);
        for (int i = 0; i < 10; i++) FCT_EQ_INT(fc_tensor_get(t, i), fc_tensor_get(y, i));
    }
done:
    fc_tensor_free(p), fc_tensor_free(t), fc_tensor_free(plain);
    fc_learner_free(learn);
    fc_tensor_free(x), fc_tensor_free(y);
}

/* A deterministic train transform (x * 2): every pass predicts 2x, so tta = lerp(preds(2x), plain, beta). */
FCT_TEST(test_tta_runs_train_transforms_and_lerps_with_beta) {
    fc_tensor *x, *y, *x2 = NULL;
    make_data(10, &x, &y);
    fc_learner *learn = x ? tta_learner(x, y, &scale_def) : NULL;
    fc_learner *ref = NULL;
    fc_tensor *plain = NULL, *doubled = NULL, *p = NULL;
    if (!FCT_NOTNULL(learn)) goto done;
    x2 = fc_keep(fc_mul(x, fc_scalar(2.0)));
    ref = tta_learner(x2, y, NULL); /* the same weights (same seed) on 2x without transforms */
    if (!FCT_NOTNULL(ref)) goto done;
    FCT_OK(fc_learner_get_preds(learn, NULL, &plain, NULL, NULL)); /* valid: no x2 */
    FCT_OK(fc_learner_get_preds(ref, NULL, &doubled, NULL, NULL));
    if (!plain || !doubled) goto done;
    FCT_TRUE(!lt_equal(plain, doubled));
    const double betas[3] = {0.25, 0.7, 1.0};
    for (int b = 0; b < 3; b++) {
        if (!FCT_OK(fc_tta(learn, &p, NULL, .n = 2, .beta = betas[b]))) continue;
        const float *pp = fc_tensor_data(p), *pl = fc_tensor_data(plain), *pd = fc_tensor_data(doubled);
        for (int64_t i = 0; i < fc_tensor_numel(p); i++) FCT_NEAR(pp[i], lerp_ref(pd[i], pl[i], betas[b]), 1e-7);
        if (betas[b] == 1.0) FCT_TRUE(lt_equal(p, plain)); /* beta = 1: the plain predictions exactly */
        fc_tensor_free(p);
        p = NULL;
    }
    /* negative beta: 0, the augmented predictions alone */
    if (FCT_OK(fc_tta(learn, &p, NULL, .beta = -1))) FCT_CLOSE(p, doubled, 1e-7, 0);
    /* the loader's split is back: get_preds is plain again */
    fc_tensor *again = NULL;
    if (FCT_OK(fc_learner_get_preds(learn, NULL, &again, NULL, NULL))) FCT_TRUE(lt_equal(again, plain));
    fc_tensor_free(again);
done:
    fc_tensor_free(p), fc_tensor_free(plain), fc_tensor_free(doubled), fc_tensor_free(x2);
    fc_learner_free(ref);
    fc_learner_free(learn);
    fc_tensor_free(x), fc_tensor_free(y);
}

FCT_TEST(test_tta_augmentation_changes_preds_reproducibly) {
    fc_tensor *x, *y;
    make_data(10, &x, &y);
    fc_learner *learn = x ? tta_learner(x, y, &noise_def) : NULL;
    fc_tensor *plain = NULL, *p1 = NULL, *p2 = NULL, *aug0 = NULL, *m = NULL, *one = NULL;
    if (!FCT_NOTNULL(learn)) goto done;
    FCT_OK(fc_learner_get_preds(learn, NULL, &plain, NULL, NULL));
    FCT_OK(fc_tta(learn, &p1, NULL));
    FCT_OK(fc_tta(learn, &p2, NULL));
    if (!plain || !p1 || !p2) goto done;
    FCT_TRUE(!lt_equal(p1, plain));
    FCT_TRUE(lt_equal(p1, p2)); /* pass i draws as epoch i: the same every time */
    /* pass 0 by hand: the train split at epoch 0 (a fresh learner's epoch) */
    fc_dataloader *dl = fc_learner_dls(learn)->valid;
    FCT_EQ_INT(fc_dataloader_set_split(dl, FC_SPLIT_TRAIN), FC_SPLIT_VALID);
    FCT_OK(fc_learner_get_preds(learn, NULL, &aug0, NULL, NULL));
    FCT_EQ_INT(fc_dataloader_set_split(dl, FC_SPLIT_VALID), FC_SPLIT_TRAIN);
    if (!aug0) goto done;
    FCT_TRUE(!lt_equal(aug0, plain));
    FCT_OK(fc_tta(learn, &one, NULL, .n = 1, .beta = 0.5));
    FCT_OK(fc_tta(learn, &m, NULL, .n = 1, .use_max = 1));
    if (!one || !m) goto done;
    const float *a = fc_tensor_data(aug0), *pl = fc_tensor_data(plain), *po = fc_tensor_data(one), *pm = fc_tensor_data(m);
    for (int64_t i = 0; i < fc_tensor_numel(plain); i++) {
        FCT_NEAR(po[i], lerp_ref(a[i], pl[i], 0.5), 1e-7);
        FCT_NEAR(pm[i], fmaxf(a[i], pl[i]), 0);
    }
done:
    fc_tensor_free(plain), fc_tensor_free(p1), fc_tensor_free(p2), fc_tensor_free(aug0), fc_tensor_free(m);
    fc_tensor_free(one);
    fc_learner_free(learn);
    fc_tensor_free(x), fc_tensor_free(y);
}

FCT_TEST(test_tta_rejects_bad_options) {
    fc_learner *learn = fc_learner(lt_dls(8, 8, 4, 1), lt_mlp(), .quiet = 1);
    fc_tensor *p = NULL;
    if (!FCT_NOTNULL(learn)) return;
    FCT_EQ_INT(fc_tta(learn, &p, NULL, .n = -1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".n must be >= 0");
    FCT_EQ_INT(fc_tta(learn, &p, NULL, .beta = 1.5), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".beta must be in [0, 1]");
    FCT_EQ_INT(fc_tta(learn, &p, NULL, .dl = fc_learner_dls(learn)->train), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".dl shuffles");
    FCT_TRUE(p == NULL);
    fc_learner_free(learn);
}

/* ---- the split reaches the item pipelines of a Datasets subset ---- */

static fc_status row_getter(void *ctx, const fc_items *items, int64_t i, fc_value *out) {
    float v = (float)atof(items->text[i]);
    *out = fc_value_tensor(fc_kind_image, fc_from_data(&v, FC_SHAPE(1)));
    return out->t ? FC_OK : fc_error_code();
}
static fc_status add10_encodes(void *state, fc_value *v, const fc_tfm_ctx *ctx) {
    fc_tensor *t = fc_clone(v->t);
    if (!t) return fc_error_code();
    ((float *)fc_tensor_data(t))[0] += 10;
    fc_value_set_tensor(v, NULL, t);
    return FC_OK;
}
static const fc_transform_def add10_def = {.name = "add10", .split_idx = FC_SPLIT_TRAIN, .kinds = x_kinds,
                                           .encodes = add10_encodes};

FCT_TEST(test_set_split_reaches_item_transforms_of_a_subset) {
    fc_items items = {.n = 4, .text = calloc(4, sizeof(char *))};
    const char *names[4] = {"1", "2", "3", "4"};
    for (int i = 0; items.text && i < 4; i++) items.text[i] = strdup(names[i]);
    const int64_t valid_idx[2] = {1, 3};
    fc_datasets *d = fc_datasets_new(&items, .n = 1, .getters = {fc_getter_new("row", row_getter, NULL, NULL)},
                                     .item_tfms = FC_TFMS(fc_transform_new(&add10_def, NULL)),
                                     .splitter = fc_index_splitter(valid_idx, 2));
    fc_dataloader *dl = d ? fc_dataloader_new(fc_datasets_subset(d, FC_SPLIT_VALID), .bs = 2, .split = FC_SPLIT_VALID) : NULL;
    fc_datasets_free(d);
    if (!FCT_NOTNULL(dl)) return;
    fc_tuple b = {0};
    if (FCT_OK(fc_dataloader_one_batch(dl, &b))) {
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 0), 2);
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 1), 4);
    }
    fc_tuple_free(&b);
    FCT_EQ_INT(fc_dataloader_set_split(dl, FC_SPLIT_TRAIN), FC_SPLIT_VALID);
    FCT_EQ_INT(fc_dataloader_split(dl), FC_SPLIT_TRAIN);
    if (FCT_OK(fc_dataloader_one_batch(dl, &b))) { /* the valid items, with the train transform */
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 0), 12);
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 1), 14);
    }
    fc_tuple_free(&b);
    const int64_t pick[2] = {1, 0};
    if (FCT_OK(fc_dataloader_batch_of(dl, pick, 2, &b))) {
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 0), 14);
        FCT_EQ_INT(fc_tensor_get(b.v[0].t, 1), 12);
    }
    fc_tuple_free(&b);
    const int64_t bad = 2;
    FCT_EQ_INT(fc_dataloader_batch_of(dl, &bad, 1, &b), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "idx[0] = 2 is outside [0, 2)");
    fc_dataloader_free(dl);
}
