/* Item transforms (src/vision/resize.c, resample.c): resampling against torch's
 * interpolate(antialias=True) and PIL's BILINEAR / NEAREST, fastai's Resize / RandomResizedCrop
 * chains against fastai's own steps done with PIL (tests/fixtures/gen_vision_resize.py), pad and
 * crop geometry at known pixels, one geometry for every value of an item (image, mask, points,
 * bboxes), the random draws' bounds and reproducibility, errors, and a DataBlock on MNIST_TINY. */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/untar_impl.h"
#include "fastc/vision.h"
#include "fct.h"
#include "vision/vision_data.h"

/* ---- helpers ---- */

/* The generator a DataLoader hands item `index` (any fixed seed will do). */
static fc_rng item_rng(int64_t index) { return (fc_rng){0x5eed, (uint64_t)index << 16}; }

/* Encodes the item t with tf (borrowed: a pipeline of a proxy would hide it, so the caller keeps
 * a pipeline of one transform). */
static fc_status run_item(fc_pipeline *p, fc_tuple *t, fc_split_idx split, int64_t index) {
    fc_rng rng = item_rng(index);
    fc_tfm_ctx ctx = {.split = split, .index = index, .rng = &rng};
    return fc_pipeline_encode_tuple(p, t, &ctx);
}

/* tf (taken) on one value x (borrowed) of kind; the result (a new reference) or NULL. */
static fc_tensor *apply1(fc_transform *tf, const fc_kind *kind, fc_tensor *x, fc_split_idx split,
                         int64_t index) {
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(tf));
    if (!p || !x) {
        fc_pipeline_free(p);
        return NULL;
    }
    fc_tuple t = {.n = 1, .n_inp = 1, .v = {fc_value_tensor(kind, fc_tensor_ref(x))}};
    fc_tensor *y = run_item(p, &t, split, index) == FC_OK ? fc_tensor_ref(t.v[0].t) : NULL;
    fc_tuple_free(&t);
    fc_pipeline_free(p);
    return y;
}

/* Largest |a - b| (shapes must match) and the number of elements differing by more than tol. */
static double max_diff(const fc_tensor *a, const fc_tensor *b, double tol, int64_t *n_over) {
    *n_over = 0;
    if (!a || !b) return INFINITY;
    char sa[64], sb[64];
    fc_shape_str(fc_tensor_shape(a), sa, sizeof sa);
    fc_shape_str(fc_tensor_shape(b), sb, sizeof sb);
    if (!fct_check(!strcmp(sa, sb), __FILE__, __LINE__, "shapes: expected %s, found %s", sb, sa))
        return INFINITY;
    double m = 0;
    for (int64_t i = 0; i < fc_tensor_numel(a); i++) {
        double d = fabs(fc_tensor_get(a, i) - fc_tensor_get(b, i));
        if (d > m) m = d;
        if (d > tol) (*n_over)++;
    }
    return m;
}

static fc_tensor *f32_image(int64_t c, int64_t h, int64_t w, float (*fn)(int64_t, int64_t, int64_t)) {
    fc_tensor *t = fc_keep(fc_empty(FC_SHAPE(c, h, w)));
    float *p = fc_tensor_data_f32(t);
    for (int64_t k = 0; k < c; k++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) *p++ = fn(k, y, x);
    return t;
}
static float col_index(int64_t c, int64_t y, int64_t x) { return (float)x; }
static float row_col(int64_t c, int64_t y, int64_t x) { return (float)(10 * y + x + 1); }
static float zero(int64_t c, int64_t y, int64_t x) { return 0; }

/* ---- resampling against torch and PIL ---- */

FCT_TEST(test_resize_squish_f32_matches_torch_interpolate_antialias) {
    fct_fixture f = fct_load("vision/resize");
    fc_tensor *src = fct_get(&f, "f_src");
    struct { const char *name; int64_t h, w; } cases[] = {
        {"f_down", 8, 11}, {"f_up", 29, 40}, {"f_mix", 12, 31}, {"f_shrink3", 5, 7}};
    for (int i = 0; i < 4; i++) {
        fc_tensor *y = apply1(fc_resize(cases[i].h, .w = cases[i].w, .method = FC_RESIZE_SQUISH),
                              fc_kind_image, src, FC_SPLIT_VALID, 0);
        int64_t n_over;
        double m = max_diff(y, fct_get(&f, cases[i].name), 1e-5, &n_over);
        printf("  squish f32 to %s: max |fastc - torch| = %.2g\n", cases[i].name, m);
        FCT_TRUE(m <= 1e-5);
        fc_tensor_free(y);
    }
    fct_fixture_free(&f);
}

FCT_TEST(test_resize_squish_u8_matches_pil_bilinear) {
    fct_fixture f = fct_load("vision/resize");
    struct { const char *src, *want; int64_t h, w; } cases[] = {
        {"u_src", "u_down", 13, 17}, {"u_src", "u_up", 50, 41}, {"ug_src", "ug_mix", 9, 40}};
    for (int i = 0; i < 3; i++) {
        fc_tensor *y = apply1(fc_resize(cases[i].h, .w = cases[i].w, .method = FC_RESIZE_SQUISH),
                              fc_kind_image, fct_get(&f, cases[i].src), FC_SPLIT_VALID, 0);
        if (!FCT_NOTNULL(y)) continue;
        FCT_EQ_INT(fc_tensor_dtype(y), FC_DTYPE_U8); /* u8 stays u8 */
        int64_t n_over;
        double m = max_diff(y, fct_get(&f, cases[i].want), 0, &n_over);
        printf("  squish u8 to %s: max |fastc - PIL| = %g grey levels, %lld of %lld pixels differ\n",
               cases[i].want, m, (long long)n_over, (long long)fc_tensor_numel(y));
        FCT_TRUE(m <= 1);
        FCT_TRUE(n_over * 100 <= fc_tensor_numel(y)); /* at most 1% off by one */
        fc_tensor_free(y);
    }
    fct_fixture_free(&f);
}

FCT_TEST(test_resize_mask_is_nearest_like_pil_and_keeps_labels) {
    fct_fixture f = fct_load("vision/resize");
    struct { const char *want; int64_t h, w; } cases[] = {{"m_down", 5, 7}, {"m_up", 26, 30}};
    for (int i = 0; i < 2; i++) {
        fc_tensor *y = apply1(fc_resize(cases[i].h, .w = cases[i].w, .method = FC_RESIZE_SQUISH),
                              fc_kind_mask, fct_get(&f, "m_src"), FC_SPLIT_VALID, 0);
        if (!FCT_NOTNULL(y)) continue;
        FCT_EQ_INT(fc_tensor_dtype(y), FC_DTYPE_I64);
        FCT_CLOSE(y, fct_get(&f, cases[i].want), 0, 0);
        fc_tensor_free(y);
    }
    /* a shrinking random crop with reflection padding: still only labels 0..4 */
    fc_tensor *y = apply1(fc_random_resized_crop(9), fc_kind_mask, fct_get(&f, "m_src"), FC_SPLIT_TRAIN, 3);
    if (FCT_NOTNULL(y)) {
        int ok = 1;
        for (int64_t i = 0; i < fc_tensor_numel(y); i++) {
            double v = fc_tensor_get(y, i);
            ok &= v == floor(v) && v >= 0 && v <= 4;
        }
        FCT_TRUE(ok);
        fc_tensor_free(y);
    }
    fct_fixture_free(&f);
}

/* fastai's Resize and RandomResizedCrop on the valid set, done step by step with PIL. */
FCT_TEST(test_resize_and_rrc_valid_match_fastai_with_pil) {
    fct_fixture f = fct_load("vision/resize");
    fc_tensor *img = fct_get(&f, "img"); /* u8 [3, 30, 40] */
    struct { const char *want; fc_transform *tf; fc_tensor *src; } cases[] = {
        {"resize_pad_reflection", fc_resize(24, .method = FC_RESIZE_PAD), img},
        {"resize_pad_zeros", fc_resize(24, .method = FC_RESIZE_PAD, .pad_mode = FC_PAD_ZEROS), img},
        {"resize_crop", fc_resize(20, .w = 16), img},
        {"resize_squish", fc_resize(20, .w = 12, .method = FC_RESIZE_SQUISH), img},
        {"rrc_valid", fc_random_resized_crop(16), img},
        {"resize_pad_wide", fc_resize(10, .w = 30, .method = FC_RESIZE_PAD), fct_get(&f, "img_t")},
    };
    for (int i = 0; i < 6; i++) {
        fc_tensor *y = apply1(cases[i].tf, fc_kind_image, cases[i].src, FC_SPLIT_VALID, 0);
        int64_t n_over;
        double m = max_diff(y, fct_get(&f, cases[i].want), 0, &n_over);
        printf("  %s: max |fastc - fastai/PIL| = %g grey levels, %lld pixels differ\n", cases[i].want,
               m, (long long)n_over);
        FCT_TRUE(m <= 1);
        FCT_TRUE(n_over * 100 <= (y ? fc_tensor_numel(y) : 0));
        fc_tensor_free(y);
    }
    fct_fixture_free(&f);
}

/* ---- geometry at known pixels ---- */

FCT_TEST(test_resize_pad_reflection_zeros_border_at_known_pixels) {
    /* [1, 4, 6] to 6 x 6 with method pad: no scaling, one row padded above and below (fastai's
     * tl = int(0.5 * (4 - 6)) = -1) */
    fc_tensor *x = f32_image(1, 4, 6, row_col);
    fc_pad_mode modes[] = {FC_PAD_REFLECTION, FC_PAD_ZEROS, FC_PAD_BORDER};
    int top_src[] = {1, -1, 0}, bottom_src[] = {2, -1, 3}; /* source row of output rows 0 and 5 */
    for (int m = 0; m < 3; m++) {
        fc_tensor *y = apply1(fc_resize(6, .method = FC_RESIZE_PAD, .pad_mode = modes[m]), fc_kind_image,
                              x, FC_SPLIT_VALID, 0);
        if (!FCT_NOTNULL(y)) continue;
        FCT_EQ_INT(fc_tensor_dim(y, 1), 6);
        FCT_EQ_INT(fc_tensor_dim(y, 2), 6);
        for (int c = 0; c < 6; c++) {
            FCT_NEAR(fc_tensor_get(y, 0 * 6 + c), top_src[m] < 0 ? 0 : 10 * top_src[m] + c + 1, 1e-6);
            FCT_NEAR(fc_tensor_get(y, 5 * 6 + c), bottom_src[m] < 0 ? 0 : 10 * bottom_src[m] + c + 1, 1e-6);
            for (int r = 1; r < 5; r++) FCT_NEAR(fc_tensor_get(y, r * 6 + c), 10 * (r - 1) + c + 1, 1e-6);
        }
        fc_tensor_free(y);
    }
    fc_tensor_free(x);
}

FCT_TEST(test_resize_crop_is_centred_on_valid_and_random_reproducible_on_train) {
    fc_tensor *x = f32_image(1, 10, 20, col_index); /* to 10 x 10: a 10 x 10 crop at x in [0, 10] */
    fc_tensor *y = apply1(fc_resize(10), fc_kind_image, x, FC_SPLIT_VALID, 0);
    if (FCT_NOTNULL(y)) {
        for (int i = 0; i < 10; i++) FCT_NEAR(fc_tensor_get(y, 3 * 10 + i), 5 + i, 1e-6);
        fc_tensor_free(y);
    }
    int seen[11] = {0}, n_distinct = 0;
    fc_transform *tf = fc_resize(10);
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(tf));
    for (int64_t item = 0; item < 20; item++) {
        double off[2] = {-1, -1};
        for (int again = 0; again < 2; again++) {
            fc_rng rng = item_rng(item);
            fc_tfm_ctx ctx = {.split = FC_SPLIT_TRAIN, .index = item, .rng = &rng};
            fc_value v = fc_value_tensor(fc_kind_image, fc_tensor_ref(x));
            if (!FCT_OK(fc_pipeline_encode(p, &v, &ctx))) break;
            FCT_TRUE(rng.seed == item_rng(item).seed && rng.offset == item_rng(item).offset);
            off[again] = fc_tensor_get(v.t, 0);
            for (int i = 0; i < 10; i++) FCT_NEAR(fc_tensor_get(v.t, 9 * 10 + i), off[again] + i, 1e-6);
            fc_value_free(&v);
        }
        FCT_TRUE(off[0] == off[1] && off[0] >= 0 && off[0] <= 10); /* same item, same crop */
        if (off[0] >= 0 && off[0] <= 10 && !seen[(int)off[0]]++) n_distinct++;
    }
    FCT_TRUE(n_distinct >= 4);
    fc_pipeline_free(p);
    fc_tensor_free(x);
}

/* An image and a mask of one item get the same random crop; so do points (checked on the
 * transforms that do not scale; the next test covers scaling). */
FCT_TEST(test_item_values_share_one_random_geometry) {
    fc_tensor *x = f32_image(1, 12, 20, row_col);
    fc_tensor *m = fc_keep(fc_empty(FC_SHAPE(12, 20), .dtype = FC_DTYPE_I64));
    int64_t *mp = fc_tensor_data(m);
    for (int64_t i = 0; i < 12 * 20; i++) mp[i] = 10 * (i / 20) + i % 20 + 1;
    fc_transform *tfs[] = {fc_resize(12, .w = 14), fc_random_crop(8, .padding = 3),
                           fc_random_resized_crop(9, .min_scale = 0.3), fc_crop_pad(14, .w = 25)};
    for (int k = 0; k < 4; k++) {
        fc_pipeline *p = fc_pipeline_new(FC_TFMS(tfs[k]));
        for (int64_t item = 0; item < 8; item++) {
            float pt[2] = {7.5f, 4.5f}; /* the centre of pixel (7, 4), value 48 */
            fc_tuple t = {.n = 3, .n_inp = 1,
                          .v = {fc_value_tensor(fc_kind_image, fc_tensor_ref(x)),
                                fc_value_tensor(fc_kind_mask, fc_tensor_ref(m)),
                                fc_value_tensor(fc_kind_points, fc_keep(fc_from_data(pt, FC_SHAPE(1, 2))))}};
            if (FCT_OK(run_item(p, &t, FC_SPLIT_TRAIN, item))) {
                fc_tensor *yi = t.v[0].t, *ym = t.v[1].t;
                int64_t oh = fc_tensor_dim(yi, 1), ow = fc_tensor_dim(yi, 2);
                FCT_EQ_INT(fc_tensor_dim(ym, 0), oh);
                FCT_EQ_INT(fc_tensor_dim(ym, 1), ow);
                if (k != 2) { /* no scaling: the mask's labels are the image's values */
                    int same = 1;
                    for (int64_t i = 0; i < oh * ow; i++) same &= fc_tensor_get(yi, i) == fc_tensor_get(ym, i);
                    FCT_TRUE(same);
                }
                double px = fc_tensor_get(t.v[2].t, 0), py = fc_tensor_get(t.v[2].t, 1);
                if (k != 2 && px > 0 && py > 0 && px < ow && py < oh) {
                    int64_t ix = (int64_t)px, iy = (int64_t)py;
                    FCT_EQ_INT(fc_tensor_get(ym, iy * ow + ix), 48);
                }
            }
            fc_tuple_free(&t);
        }
        fc_pipeline_free(p);
    }
    fc_tensor_free(m);
    fc_tensor_free(x);
}

/* A bright pixel and a point (and a bbox) on it land together, whatever the transform. */
FCT_TEST(test_points_and_bboxes_follow_the_image) {
    fc_tensor *x = f32_image(1, 40, 50, zero);
    fc_tensor_data_f32(x)[12 * 50 + 31] = 1; /* pixel (x 31, y 12) */
    fc_transform *tfs[] = {fc_resize(24, .method = FC_RESIZE_SQUISH), fc_resize(30, .w = 20),
                           fc_resize(32, .method = FC_RESIZE_PAD, .pad_mode = FC_PAD_ZEROS),
                           fc_random_resized_crop(24), fc_random_crop(36, .padding = 4),
                           fc_crop_pad(30, .w = 60), fc_resize(64, .w = 80, .method = FC_RESIZE_SQUISH)};
    int n_checked = 0;
    for (int k = 0; k < 7; k++) {
        fc_pipeline *p = fc_pipeline_new(FC_TFMS(tfs[k]));
        for (int64_t item = 0; item < 12; item++) {
            float pt[2] = {31.5f, 12.5f}, bb[4] = {31, 12, 32, 13};
            fc_tuple t = {.n = 3, .n_inp = 1,
                          .v = {fc_value_tensor(fc_kind_image, fc_tensor_ref(x)),
                                fc_value_tensor(fc_kind_points, fc_keep(fc_from_data(pt, FC_SHAPE(1, 2)))),
                                fc_value_tensor(fc_kind_bbox, fc_keep(fc_from_data(bb, FC_SHAPE(1, 4))))}};
            if (FCT_OK(run_item(p, &t, item % 3 ? FC_SPLIT_TRAIN : FC_SPLIT_VALID, item))) {
                fc_tensor *y = t.v[0].t;
                int64_t oh = fc_tensor_dim(y, 1), ow = fc_tensor_dim(y, 2), best = 0;
                for (int64_t i = 1; i < oh * ow; i++)
                    if (fc_tensor_get(y, i) > fc_tensor_get(y, best)) best = i;
                double ax = (double)(best % ow) + 0.5, ay = (double)(best / ow) + 0.5;
                double px = fc_tensor_get(t.v[1].t, 0), py = fc_tensor_get(t.v[1].t, 1);
                double b[4];
                for (int j = 0; j < 4; j++) b[j] = fc_tensor_get(t.v[2].t, j);
                FCT_TRUE(b[0] >= 0 && b[1] >= 0 && b[2] <= ow && b[3] <= oh); /* clipped */
                if (px > 1 && py > 1 && px < ow - 1 && py < oh - 1) {
                    n_checked++;
                    if (!fct_check(fabs(ax - px) <= 1 && fabs(ay - py) <= 1, __FILE__, __LINE__,
                                   "transform %d item %lld: point (%.2f, %.2f), bright pixel centre "
                                   "(%.1f, %.1f)", k, (long long)item, px, py, ax, ay))
                        continue;
                    FCT_TRUE(b[0] - 1 <= ax && ax <= b[2] + 1 && b[1] - 1 <= ay && ay <= b[3] + 1);
                    FCT_NEAR((b[0] + b[2]) / 2, px, 1e-4); /* the box's centre is the point */
                    FCT_NEAR((b[1] + b[3]) / 2, py, 1e-4);
                }
            }
            fc_tuple_free(&t);
        }
        fc_pipeline_free(p);
    }
    FCT_TRUE(n_checked >= 60);
    fc_tensor_free(x);
}

/* ---- RandomResizedCrop ---- */

FCT_TEST(test_rrc_valid_is_squish_then_centre_crop) {
    fct_fixture f = fct_load("vision/resize");
    fc_tensor *src = fct_get(&f, "f_src"); /* [3, 17, 23] */
    /* size 12: xtra = ceil(12 * 0.14 / 8) * 8 = 8, so squish to 20 and centre-crop 12 */
    fc_tensor *y = apply1(fc_random_resized_crop(12), fc_kind_image, src, FC_SPLIT_VALID, 0);
    fc_tensor *sq = apply1(fc_resize(20, .method = FC_RESIZE_SQUISH), fc_kind_image, src, FC_SPLIT_VALID, 0);
    fc_tensor *want = apply1(fc_crop_pad(12), fc_kind_image, sq, FC_SPLIT_VALID, 0);
    if (FCT_NOTNULL(y) && FCT_NOTNULL(want)) {
        FCT_EQ_INT(fc_tensor_dim(y, 1), 12);
        FCT_EQ_INT(fc_tensor_dim(y, 2), 12);
        FCT_CLOSE(y, want, 1e-7, 0);
    }
    fc_tensor_free(y);
    fc_tensor_free(sq);
    fc_tensor_free(want);
    /* val_xtra negative: no extra, the whole image squished to size */
    y = apply1(fc_random_resized_crop(12, .w = 10, .val_xtra = -1), fc_kind_image, src, FC_SPLIT_VALID, 0);
    want = apply1(fc_resize(12, .w = 10, .method = FC_RESIZE_SQUISH), fc_kind_image, src, FC_SPLIT_VALID, 0);
    if (FCT_NOTNULL(y)) FCT_CLOSE(y, want, 1e-7, 0);
    fc_tensor_free(y);
    fc_tensor_free(want);
    fct_fixture_free(&f);
}

/* The crop box of an item, read back from two points at the image's corners. */
static int rrc_box(fc_pipeline *p, fc_tensor *img, int64_t item, int64_t out, double box[4]) {
    int64_t h = fc_tensor_dim(img, 1), w = fc_tensor_dim(img, 2);
    float pt[4] = {0, 0, (float)w, (float)h};
    fc_tuple t = {.n = 2, .n_inp = 1,
                  .v = {fc_value_tensor(fc_kind_image, fc_tensor_ref(img)),
                        fc_value_tensor(fc_kind_points, fc_keep(fc_from_data(pt, FC_SHAPE(2, 2))))}};
    int ok = FCT_OK(run_item(p, &t, FC_SPLIT_TRAIN, item));
    if (ok) {
        double q[4];
        for (int j = 0; j < 4; j++) q[j] = fc_tensor_get(t.v[1].t, j);
        double cw = (double)out * (double)w / (q[2] - q[0]), ch = (double)out * (double)h / (q[3] - q[1]);
        box[0] = -q[0] * cw / (double)out;
        box[1] = -q[1] * ch / (double)out;
        box[2] = box[0] + cw;
        box[3] = box[1] + ch;
    }
    fc_tuple_free(&t);
    return ok;
}

FCT_TEST(test_rrc_train_draws_stay_within_scale_and_ratio) {
    fc_tensor *img = fc_keep(fc_zeros(FC_SHAPE(1, 100, 200), .dtype = FC_DTYPE_U8));
    struct { double lo, hi, rlo, rhi; } b[] = {{0.08, 1, 3.0 / 4, 4.0 / 3}, {0.3, 0.5, 0.5, 0.8}};
    for (int k = 0; k < 2; k++) {
        fc_transform *tf = k == 0 ? fc_random_resized_crop(32)
                                  : fc_random_resized_crop(32, .min_scale = 0.3, .max_scale = 0.5,
                                                           .ratio_lo = 0.5, .ratio_hi = 0.8);
        fc_pipeline *p = fc_pipeline_new(FC_TFMS(tf));
        double min_area = 2, max_area = 0;
        int n_bad = 0;
        for (int64_t item = 0; item < 60; item++) {
            double box[4];
            if (!rrc_box(p, img, item, 32, box)) break;
            double cw = box[2] - box[0], ch = box[3] - box[1];
            /* integer boxes inside the image */
            n_bad += fabs(cw - rint(cw)) > 1e-3 || fabs(box[0] - rint(box[0])) > 1e-3 || box[0] < -1e-3 ||
                     box[1] < -1e-3 || box[2] > 200 + 1e-3 || box[3] > 100 + 1e-3;
            /* sides are rounded from sqrt(area * ratio): allow half a pixel on each */
            double tol = 0.5 / cw + 0.5 / ch + 1e-6, area = cw * ch / 20000, ratio = cw / ch;
            n_bad += area < b[k].lo * (1 - 2 * tol) || area > b[k].hi * (1 + 2 * tol) ||
                     ratio < b[k].rlo * (1 - 2 * tol) || ratio > b[k].rhi * (1 + 2 * tol);
            if (area < min_area) min_area = area;
            if (area > max_area) max_area = area;
        }
        printf("  rrc scale [%g, %g] ratio [%g, %g]: areas drawn %.3f .. %.3f\n", b[k].lo, b[k].hi,
               b[k].rlo, b[k].rhi, min_area, max_area);
        FCT_EQ_INT(n_bad, 0);
        FCT_TRUE(max_area - min_area > (b[k].hi - b[k].lo) / 3); /* the draws spread */
        fc_pipeline_free(p);
    }
    fc_tensor_free(img);
}

FCT_TEST(test_rrc_train_falls_back_to_a_centre_crop_of_the_ratio_bound) {
    /* scale 1 of a 200 x 100 image never fits with a ratio in [3/4, 4/3] (the height would pass
     * 100): after 10 tries fastai takes the centre crop (int(100 * 4/3), 100) = (133, 100) */
    fc_tensor *img = fc_keep(fc_zeros(FC_SHAPE(1, 100, 200), .dtype = FC_DTYPE_U8));
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_random_resized_crop(32, .min_scale = 1)));
    for (int64_t item = 0; item < 3; item++) {
        double box[4];
        if (!rrc_box(p, img, item, 32, box)) break;
        FCT_NEAR(box[0], 33, 1e-3);
        FCT_NEAR(box[1], 0, 1e-3);
        FCT_NEAR(box[2], 166, 1e-3);
        FCT_NEAR(box[3], 100, 1e-3);
    }
    fc_pipeline_free(p);
    fc_tensor_free(img);
}

/* ---- CropPad and RandomCrop ---- */

FCT_TEST(test_crop_pad_centres_and_pads_with_zeros) {
    fc_tensor *x = f32_image(1, 6, 6, row_col);
    fc_tensor *y = apply1(fc_crop_pad(4), fc_kind_image, x, FC_SPLIT_TRAIN, 0);
    if (FCT_NOTNULL(y)) { /* rows and columns 1..4 */
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++) FCT_NEAR(fc_tensor_get(y, r * 4 + c), 10 * (r + 1) + c + 2, 1e-6);
        fc_tensor_free(y);
    }
    y = apply1(fc_crop_pad(3, .w = 9), fc_kind_image, x, FC_SPLIT_VALID, 0);
    if (FCT_NOTNULL(y)) { /* rows (6 - 3) // 2 = 1..3; columns (6 - 9) // 2 = -2: two zero columns */
        FCT_EQ_INT(fc_tensor_dim(y, 1), 3);
        FCT_EQ_INT(fc_tensor_dim(y, 2), 9);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 9; c++)
                FCT_NEAR(fc_tensor_get(y, r * 9 + c), c < 2 || c > 7 ? 0 : 10 * (r + 1) + (c - 2) + 1, 1e-6);
        fc_tensor_free(y);
    }
    y = apply1(fc_crop_pad(8, .pad_mode = FC_PAD_BORDER), fc_kind_image, x, FC_SPLIT_VALID, 0);
    if (FCT_NOTNULL(y)) { /* tl = (6 - 8) // 2 = -1: the edge repeated once around */
        FCT_NEAR(fc_tensor_get(y, 0), 1, 1e-6);
        FCT_NEAR(fc_tensor_get(y, 63), 56, 1e-6);
        FCT_NEAR(fc_tensor_get(y, 1 * 8 + 1), 1, 1e-6);
        fc_tensor_free(y);
    }
    fc_tensor_free(x);
}

FCT_TEST(test_random_crop_pads_then_crops_randomly_on_train_only) {
    fc_tensor *x = f32_image(1, 6, 6, row_col);
    /* valid: pad 2 then centre crop 6 = the image itself */
    fc_tensor *y = apply1(fc_random_crop(6, .padding = 2), fc_kind_image, x, FC_SPLIT_VALID, 0);
    if (FCT_NOTNULL(y)) FCT_CLOSE(y, x, 0, 0);
    fc_tensor_free(y);
    int seen[25] = {0}, n_distinct = 0;
    for (int64_t item = 0; item < 40; item++) {
        y = apply1(fc_random_crop(6, .padding = 2), fc_kind_image, x, FC_SPLIT_TRAIN, item);
        if (!FCT_NOTNULL(y)) break;
        /* find the shift (dy, dx) in [-2, 2]: out[r][c] = x[r + dy][c + dx], zeros outside */
        int found = -1;
        for (int s = 0; s < 25 && found < 0; s++) {
            int dy = s / 5 - 2, dx = s % 5 - 2, ok = 1;
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 6; c++) {
                    int sr = r + dy, sc = c + dx;
                    double want = sr < 0 || sc < 0 || sr > 5 || sc > 5 ? 0 : 10 * sr + sc + 1;
                    ok &= fc_tensor_get(y, r * 6 + c) == want;
                }
            if (ok) found = s;
        }
        FCT_TRUE(found >= 0);
        if (found >= 0 && !seen[found]++) n_distinct++;
        fc_tensor_free(y);
    }
    FCT_TRUE(n_distinct >= 10);
    fc_tensor_free(x);
}

/* ---- errors ---- */

FCT_TEST(test_item_transforms_reject_bad_arguments) {
    FCT_NULL(fc_resize(0));
    FCT_ERROR(FC_ERR_ARG, "resize: expected size > 0, found 0");
    FCT_NULL(fc_resize(8, .w = -2));
    FCT_ERROR(FC_ERR_ARG, "resize: expected .w > 0 (or 0: size), found -2");
    FCT_NULL(fc_random_resized_crop(-3));
    FCT_ERROR(FC_ERR_ARG, "random_resized_crop: expected size > 0, found -3");
    FCT_NULL(fc_random_resized_crop(8, .min_scale = 0.9, .max_scale = 0.5));
    FCT_ERROR(FC_ERR_ARG, "random_resized_crop: expected 0 < .min_scale <= .max_scale, found 0.9 and 0.5");
    FCT_NULL(fc_random_resized_crop(8, .ratio_lo = 2, .ratio_hi = 1));
    FCT_ERROR(FC_ERR_ARG, "expected 0 < .ratio_lo <= .ratio_hi, found 2 and 1");
    FCT_NULL(fc_crop_pad(0));
    FCT_ERROR(FC_ERR_ARG, "crop_pad: expected size > 0, found 0");
    FCT_NULL(fc_random_crop(32, .padding = -4));
    FCT_ERROR(FC_ERR_ARG, "random_crop: expected .padding >= 0, found -4");
    FCT_NULL(fc_resize(8, .method = (fc_resize_method)7));
    FCT_ERROR(FC_ERR_ARG, "resize: expected .method FC_RESIZE_CROP, FC_RESIZE_PAD or FC_RESIZE_SQUISH, found 7");
}

FCT_TEST(test_item_transforms_reject_values_of_the_wrong_shape) {
    fc_tensor *img2 = fc_keep(fc_zeros(FC_SHAPE(5, 6), .dtype = FC_DTYPE_U8));
    FCT_NULL(apply1(fc_resize(4), fc_kind_image, img2, FC_SPLIT_VALID, 0));
    FCT_ERROR(FC_ERR_SHAPE, "Resize: expected an image [C, H, W], found image u8 [5, 6]");
    fc_tensor *mask3 = fc_keep(fc_zeros(FC_SHAPE(1, 5, 6), .dtype = FC_DTYPE_I64));
    FCT_NULL(apply1(fc_random_resized_crop(4), fc_kind_mask, mask3, FC_SPLIT_VALID, 0));
    FCT_ERROR(FC_ERR_SHAPE, "RandomResizedCrop: expected a mask [H, W], found mask i64 [1, 5, 6]");
    fc_tensor *f16 = fc_keep(fc_zeros(FC_SHAPE(1, 5, 6), .dtype = FC_DTYPE_F16));
    FCT_NULL(apply1(fc_crop_pad(4), fc_kind_image, f16, FC_SPLIT_VALID, 0));
    FCT_ERROR(FC_ERR_DTYPE, "CropPad: expected an image u8 or f32 [C, H, W], found f16 [1, 5, 6]");
    /* points without an image before them in the item */
    fc_tensor *pts = fc_keep(fc_zeros(FC_SHAPE(3, 2)));
    FCT_NULL(apply1(fc_resize(4), fc_kind_points, pts, FC_SPLIT_VALID, 77));
    FCT_ERROR(FC_ERR_STATE, "Resize: points carry no image size: expected an image or mask value "
                            "before them in the item (item 77), found none");
    /* points of the wrong width */
    fc_tensor *img = fc_keep(fc_zeros(FC_SHAPE(1, 5, 6), .dtype = FC_DTYPE_U8));
    fc_tensor *bad = fc_keep(fc_zeros(FC_SHAPE(3, 3)));
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_resize(4)));
    fc_tuple t = {.n = 2, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, fc_tensor_ref(img)),
                                            fc_value_tensor(fc_kind_points, fc_tensor_ref(bad))}};
    FCT_TRUE(run_item(p, &t, FC_SPLIT_TRAIN, 0) != FC_OK);
    FCT_ERROR(FC_ERR_SHAPE, "Resize: expected points [n, 2] (x, y), found points f32 [3, 3]");
    fc_tuple_free(&t);
    fc_pipeline_free(p);
    fc_tensor *list[] = {img2, mask3, f16, pts, img, bad};
    for (int i = 0; i < 6; i++) fc_tensor_free(list[i]);
}

/* ---- real data: MNIST_TINY through a DataBlock ---- */

static void check_batch(fc_dataloader *dl, int64_t bs, int64_t size) {
    fc_tuple b;
    if (!FCT_OK(fc_dataloader_one_batch(dl, &b))) return;
    fc_tensor *x = b.v[0].t;
    FCT_TRUE(b.v[0].kind == fc_kind_image && x != NULL);
    if (x) {
        FCT_EQ_INT(fc_tensor_ndim(x), 4);
        FCT_EQ_INT(fc_tensor_dim(x, 0), bs);
        FCT_EQ_INT(fc_tensor_dim(x, 1), 1);
        FCT_EQ_INT(fc_tensor_dim(x, 2), size);
        FCT_EQ_INT(fc_tensor_dim(x, 3), size);
        FCT_EQ_INT(fc_tensor_dtype(x), FC_DTYPE_F32);
        double mx = 0;
        for (int64_t i = 0; i < fc_tensor_numel(x); i++) mx = fmax(mx, fc_tensor_get(x, i));
        FCT_TRUE(mx > 0.5 && mx <= 1.0);
    }
    FCT_EQ_INT(fc_tensor_dim(b.v[1].t, 0), bs);
    /* the same first batch again: the same random crops */
    fc_tuple b2;
    if (FCT_OK(fc_dataloader_one_batch(dl, &b2))) {
        FCT_CLOSE(b2.v[0].t, x, 0, 0);
        fc_tuple_free(&b2);
    }
    fc_tuple_free(&b);
}

FCT_TEST(test_mnist_tiny_datablock_with_item_transforms) {
    const char *path = vision_dataset("mnist_tiny"); /* extracted once into the build dir */
    if (!path) return;
    for (int k = 0; k < 2 && FCT_NOTNULL(path); k++) {
        fc_datablock *db = fc_datablock_new(
            .blocks = FC_BLOCKS(fc_image_block(), fc_category_block()), .extensions = FC_NAMES(".png"),
            .get_y = fc_parent_label(), .splitter = fc_grandparent_splitter("train", "valid"),
            .item_tfms = k == 0 ? FC_TFMS(fc_random_resized_crop(20, .min_scale = 0.35))
                                : FC_TFMS(fc_resize(32, .method = FC_RESIZE_PAD, .pad_mode = FC_PAD_ZEROS)));
        fc_dataloaders *dls = db ? fc_datablock_dataloaders(db, path, .bs = 16, .n_workers = 2) : NULL;
        if (FCT_NOTNULL(dls)) {
            check_batch(dls->train, 16, k == 0 ? 20 : 32);
            check_batch(dls->valid, 32, k == 0 ? 20 : 32);
            fc_dataloaders_free(dls);
        }
        fc_datablock_free(db);
    }
}

/* ---- more geometry: strided input, bbox clipping, a crop larger than the padded image ---- */

FCT_TEST(test_resize_reads_strided_images) {
    fct_fixture f = fct_load("vision/resize");
    fc_tensor *img = fct_get(&f, "img"); /* u8 [3, 30, 40] */
    /* the same pixels stored [H, W, C], seen as [C, H, W] through a permuted view */
    fc_tensor *hwc = img ? fc_keep(fc_empty(FC_SHAPE(30, 40, 3), .dtype = FC_DTYPE_U8)) : NULL;
    if (FCT_NOTNULL(hwc)) {
        uint8_t *q = fc_tensor_data(hwc);
        for (int64_t y = 0; y < 30; y++)
            for (int64_t x = 0; x < 40; x++)
                for (int64_t c = 0; c < 3; c++) q[(y * 40 + x) * 3 + c] = (uint8_t)fc_tensor_get(img, (c * 30 + y) * 40 + x);
        fc_tensor *view = fc_keep(fc_permute(hwc, FC_DIMS(2, 0, 1))); /* values take kept tensors */
        FCT_TRUE(view && !fc_tensor_is_contiguous(view));
        fc_tensor *y = apply1(fc_resize(24, .method = FC_RESIZE_PAD), fc_kind_image, view, FC_SPLIT_VALID, 0);
        fc_tensor *sel = fc_keep(fc_select(view, 0, 1)), *sel2 = fc_keep(fc_select(img, 0, 1));
        fc_tensor *m = apply1(fc_resize(24, .method = FC_RESIZE_PAD), fc_kind_mask, sel, FC_SPLIT_VALID, 0);
        if (FCT_NOTNULL(y)) FCT_CLOSE(y, fct_get(&f, "resize_pad_reflection"), 0, 0);
        fc_tensor *m2 = apply1(fc_resize(24, .method = FC_RESIZE_PAD), fc_kind_mask, sel2, FC_SPLIT_VALID, 0);
        if (FCT_NOTNULL(m) && FCT_NOTNULL(m2)) FCT_CLOSE(m, m2, 0, 0);
        fc_tensor_free(y);
        fc_tensor_free(m);
        fc_tensor_free(m2);
        fc_tensor_free(sel);
        fc_tensor_free(sel2);
        fc_tensor_free(view);
        fc_tensor_free(hwc);
    }
    fct_fixture_free(&f);
}

FCT_TEST(test_bboxes_are_clipped_points_are_not) {
    fc_tensor *x = f32_image(1, 6, 6, row_col);
    float pt[2] = {0, 0}, bb[8] = {0, 0, 3, 3, 4.5f, 2, 6, 6};
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_crop_pad(4))); /* a crop at (1, 1) */
    fc_tuple t = {.n = 3, .n_inp = 1,
                  .v = {fc_value_tensor(fc_kind_image, fc_tensor_ref(x)),
                        fc_value_tensor(fc_kind_points, fc_keep(fc_from_data(pt, FC_SHAPE(1, 2)))),
                        fc_value_tensor(fc_kind_bbox, fc_keep(fc_from_data(bb, FC_SHAPE(2, 4))))}};
    if (FCT_OK(run_item(p, &t, FC_SPLIT_VALID, 0))) {
        FCT_NEAR(fc_tensor_get(t.v[1].t, 0), -1, 1e-6);
        FCT_NEAR(fc_tensor_get(t.v[1].t, 1), -1, 1e-6);
        float want[8] = {0, 0, 2, 2, 3.5f, 1, 4, 4};
        for (int j = 0; j < 8; j++) FCT_NEAR(fc_tensor_get(t.v[2].t, j), want[j], 1e-6);
    }
    fc_tuple_free(&t);
    fc_pipeline_free(p);
    fc_tensor_free(x);
}

FCT_TEST(test_random_crop_larger_than_the_padded_image_pads_at_random) {
    fc_tensor *x = f32_image(1, 6, 6, row_col);
    double src_sum = 0;
    for (int64_t i = 0; i < 36; i++) src_sum += fc_tensor_get(x, i);
    int seen[4] = {0}, n_distinct = 0;
    for (int64_t item = 0; item < 24; item++) {
        /* padded to 8 x 8, cropped to 10 x 10: fastai's randint(-2, -1) on each side */
        fc_tensor *y = apply1(fc_random_crop(10, .padding = 1), fc_kind_image, x, FC_SPLIT_TRAIN, item);
        if (!FCT_NOTNULL(y)) break;
        double sum = 0;
        int64_t first = -1;
        for (int64_t i = 0; i < 100; i++) {
            sum += fc_tensor_get(y, i);
            if (first < 0 && fc_tensor_get(y, i) == 1) first = i;
        }
        FCT_NEAR(sum, src_sum, 1e-3); /* the whole image is inside, zeros around */
        int64_t r = first / 10, c = first % 10;
        FCT_TRUE(r >= 2 && r <= 3 && c >= 2 && c <= 3);
        if (r >= 2 && r <= 3 && c >= 2 && c <= 3 && !seen[(r - 2) * 2 + c - 2]++) n_distinct++;
        fc_tensor_free(y);
    }
    FCT_TRUE(n_distinct >= 3);
    fc_tensor_free(x);
}
