/* Batch augmentation: fc_affine_sample against torch's affine_grid + grid_sample (each padding
 * mode, bilinear and nearest, other output sizes), its geometry on known patterns, and
 * aug_transforms: points follow their image, masks keep their labels and their image's draw,
 * valid batches are untouched, lighting in logit space, reproducible draws, list values, errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/vision.h"
#include "fct.h"
#include "vision/affine_impl.h"
#include "vision_data.h"

/* A new f32 tensor outside any scope (values own their tensors), zero-filled. */
static fc_tensor *zeros_kept(fc_shape s, fc_dtype dt) { return fc_keep(fc_tensor_new(s, dt)); }

/* Runs aug (taken) on the tuple's values with a generator seeded by seed. */
static fc_status run_aug(fc_transform *aug, fc_tuple *tup, uint64_t seed, fc_split_idx split) {
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(aug));
    fc_rng rng = fc_rng_new(seed);
    fc_tfm_ctx ctx = {.split = split, .index = 3, .rng = &rng};
    fc_status st = p ? fc_pipeline_encode_tuple(p, tup, &ctx) : fc_error_code();
    fc_pipeline_free(p);
    return st;
}

FCT_TEST(test_affine_sample_matches_torch_for_each_pad_mode_and_size) {
    fct_fixture f = fct_load("vision/affine");
    fc_tensor *x = fct_get(&f, "x"), *theta = fct_get(&f, "theta");
    const char *pads[] = {"zeros", "reflection", "border"};
    const fc_pad_mode modes[] = {FC_PAD_ZEROS, FC_PAD_REFLECTION, FC_PAD_BORDER};
    const int64_t sizes[3][2] = {{5, 7}, {4, 9}, {8, 6}};
    for (int s = 0; x && theta && s < 3; s++)
        for (int p = 0; p < 3; p++)
            for (int nearest = 0; nearest < 2; nearest++) {
                char name[48];
                snprintf(name, sizeof name, "%s_%s_%lldx%lld", pads[p], nearest ? "nearest" : "bilinear",
                         (long long)sizes[s][0], (long long)sizes[s][1]);
                fc_tensor *y = fc_affine_sample(x, fc_tensor_data_f32(theta), sizes[s][0], sizes[s][1],
                                                modes[p], nearest);
                FCT_NOTNULL(y);
                fc_tensor *want = fct_get(&f, name);
                if (y && want) fct_close(y, want, 1e-5, 1e-5, name, __FILE__, __LINE__);
            }
    /* FC_PAD_DEFAULT is reflection; out size 0 is the input's */
    fc_tensor *y = fc_affine_sample(x, fc_tensor_data_f32(theta), 0, 0, FC_PAD_DEFAULT, 0);
    if (y) FCT_CLOSE(y, fct_get(&f, "reflection_bilinear_5x7"), 1e-5, 1e-5);
    fct_fixture_free(&f);
}

/* The projective path against fastai's warp in torch: grid = apply_perspective(affine_grid(theta),
 * find_coeffs(orig, targ)) then grid_sample; here m = homography(targ -> orig) @ theta. */
FCT_TEST(test_sample_with_a_perspective_warp_matches_fastais_warp_in_torch) {
    fct_fixture f = fct_load("vision/affine");
    fc_tensor *x = fct_get(&f, "x"), *theta = fct_get(&f, "theta");
    fc_tensor *xt = fct_get(&f, "warp_xt"), *yt = fct_get(&f, "warp_yt");
    const char *pads[] = {"zeros", "reflection"};
    const fc_pad_mode modes[] = {FC_PAD_ZEROS, FC_PAD_REFLECTION};
    const int64_t sizes[2][2] = {{5, 7}, {8, 6}};
    for (int s = 0; x && theta && xt && yt && s < 2; s++)
        for (int p = 0; p < 2; p++) {
            int64_t oh = sizes[s][0], ow = sizes[s][1];
            fc_tensor *y = fc_tensor_new(FC_SHAPE(3, 2, oh, ow), FC_DTYPE_F32);
            for (int i = 0; i < 3; i++) {
                const float *t = fc_tensor_data_f32(theta) + 6 * i;
                double a = fc_tensor_data_f32(xt)[i], b = fc_tensor_data_f32(yt)[i], hm[9], m[9];
                const double orig[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
                const double targ[4][2] = {{-1 - b, -1 - a}, {-1 + b, 1 + a}, {1 + b, -1 + a}, {1 - b, 1 - a}};
                const double t3[9] = {t[0], t[1], t[2], t[3], t[4], t[5], 0, 0, 1};
                FCT_TRUE(fci_homography(targ, orig, hm));
                fci_mat3_mul(hm, t3, m);
                float mf[9];
                for (int k = 0; k < 9; k++) mf[k] = (float)m[k];
                fci_sample_f32(fc_tensor_data_f32(x) + i * 70, 2, 5, 7, fc_tensor_data_f32(y) + i * 2 * oh * ow,
                               oh, ow, mf, modes[p], 0, NULL, 0, oh);
            }
            char name[48];
            snprintf(name, sizeof name, "warp_%s_%lldx%lld", pads[p], (long long)oh, (long long)ow);
            fc_tensor *want = fct_get(&f, name);
            if (want) fct_close(y, want, 2e-5, 2e-5, name, __FILE__, __LINE__);
        }
    fct_fixture_free(&f);
}

/* in[y][x] = x + 10 y + 100 c on [n, c, h, w] */
static fc_tensor *ramp(int64_t n, int64_t c, int64_t h, int64_t w) {
    fc_tensor *t = zeros_kept(FC_SHAPE(n, c, h, w), FC_DTYPE_F32);
    float *p = fc_tensor_data_f32(t);
    for (int64_t i = 0; i < n * c; i++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) p[(i * h + y) * w + x] = (float)(x + 10 * y + 100 * (i % c));
    return t;
}

FCT_TEST(test_affine_sample_flip_rotation_and_zoom_on_a_known_pattern) {
    fc_tensor *x = ramp(1, 2, 5, 5);
    const float *in = fc_tensor_data_f32(x);
    const float flip[6] = {-1, 0, 0, 0, 1, 0}, rot90[6] = {0, -1, 0, 1, 0, 0};
    for (int nearest = 0; nearest < 2; nearest++) {
        fc_tensor *yf = fc_affine_sample(x, flip, 5, 5, FC_PAD_ZEROS, nearest);
        fc_tensor *yr = fc_affine_sample(x, rot90, 5, 5, FC_PAD_ZEROS, nearest);
        const float *f = fc_tensor_data_f32(yf), *r = fc_tensor_data_f32(yr);
        int bad_f = 0, bad_r = 0;
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 5; j++) {
                    bad_f += f[(c * 5 + i) * 5 + j] != in[(c * 5 + i) * 5 + (4 - j)]; /* mirrored */
                    /* out (x, y) samples (-y, x): out[i][j] = in[j][4 - i], a quarter turn */
                    bad_r += r[(c * 5 + i) * 5 + j] != in[(c * 5 + j) * 5 + (4 - i)];
                }
        FCT_EQ_INT(bad_f, 0);
        FCT_EQ_INT(bad_r, 0);
    }
    /* zoom 2 (theta scale 0.5): the centre half fills the output; bilinear reproduces a ramp */
    fc_tensor *z = ramp(1, 1, 9, 9);
    const float half[6] = {0.5f, 0, 0, 0, 0.5f, 0};
    fc_tensor *yz = fc_affine_sample(z, half, 9, 9, FC_PAD_REFLECTION, 0);
    const float *q = fc_tensor_data_f32(yz);
    double err = 0;
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++) err = fmax(err, fabs(q[i * 9 + j] - ((2 + 0.5 * j) + 10 * (2 + 0.5 * i))));
    FCT_NEAR(err, 0, 1e-4);
    FCT_NEAR(q[0], 2 + 10 * 2, 1e-5); /* the corner shows the pixel (2, 2) of the source */
    fc_tensor_free(x);
    fc_tensor_free(z);
}

FCT_TEST(test_affine_sample_rejects_wrong_dtype_rank_and_arguments) {
    fc_tensor *u = fc_tensor_new(FC_SHAPE(2, 3, 4, 4), FC_DTYPE_U8), *r3 = fc_tensor_new(FC_SHAPE(3, 4, 4), FC_DTYPE_F32);
    const float theta[12] = {1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0};
    FCT_NULL(fc_affine_sample(u, theta, 4, 4, FC_PAD_ZEROS, 0));
    FCT_ERROR(FC_ERR_DTYPE, "affine_sample: expected x f32 [N, C, H, W], found u8 [2, 3, 4, 4]");
    FCT_NULL(fc_affine_sample(r3, theta, 4, 4, FC_PAD_ZEROS, 0));
    FCT_ERROR(FC_ERR_SHAPE, "expected x f32 [N, C, H, W], found f32 [3, 4, 4]");
    fc_tensor *x = fc_tensor_new(FC_SHAPE(2, 3, 4, 4), FC_DTYPE_F32);
    FCT_NULL(fc_affine_sample(x, NULL, 4, 4, FC_PAD_ZEROS, 0));
    FCT_ERROR(FC_ERR_ARG, "expected theta [N][2][3], found NULL");
    FCT_NULL(fc_affine_sample(x, theta, -1, 4, FC_PAD_ZEROS, 0));
    FCT_ERROR(FC_ERR_ARG, "expected out_h, out_w >= 0");
    FCT_NULL(fc_affine_sample(NULL, theta, 4, 4, FC_PAD_ZEROS, 0)); /* an earlier failure passes on */
}

FCT_TEST(test_homography_maps_the_four_corners) {
    const double src[4][2] = {{-1.1, -0.9}, {-0.8, 1.2}, {1.15, -1.05}, {0.9, 0.85}};
    const double dst[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
    double h[9];
    FCT_TRUE(fci_homography(src, dst, h));
    for (int k = 0; k < 4; k++) {
        double x = src[k][0], y = src[k][1], z = h[6] * x + h[7] * y + h[8];
        FCT_NEAR((h[0] * x + h[1] * y + h[2]) / z, dst[k][0], 1e-12);
        FCT_NEAR((h[3] * x + h[4] * y + h[5]) / z, dst[k][1], 1e-12);
    }
    double inv[9], id[9];
    FCT_TRUE(fci_mat3_inv(h, inv));
    fci_mat3_mul(h, inv, id);
    for (int k = 0; k < 9; k++) FCT_NEAR(id[k], k % 4 == 0 ? 1 : 0, 1e-12);
}

/* Images [n, 1, s, s] each with a Gaussian blob (sigma 1.5) centred on pixel (cx, cy) near the
 * centre, and those points [n, 1, 2] in pixel-edge coordinates (the pixel's centre, cx + 1/2). */
static void blobs(int64_t n, int64_t s, uint64_t seed, fc_tensor **img, fc_tensor **pts) {
    *img = zeros_kept(FC_SHAPE(n, 1, s, s), FC_DTYPE_F32);
    *pts = zeros_kept(FC_SHAPE(n, 1, 2), FC_DTYPE_F32);
    float *p = fc_tensor_data_f32(*img), *q = fc_tensor_data_f32(*pts);
    fc_rng g = fc_rng_new(seed);
    for (int64_t i = 0; i < n; i++) {
        double cx = s * (0.35 + 0.3 * fc_rng_uniform(&g)), cy = s * (0.35 + 0.3 * fc_rng_uniform(&g));
        q[2 * i] = (float)(cx + 0.5);
        q[2 * i + 1] = (float)(cy + 0.5);
        for (int64_t y = 0; y < s; y++)
            for (int64_t x = 0; x < s; x++)
                p[(i * s + y) * s + x] = (float)exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * 1.5 * 1.5));
    }
}

/* Where the brightest pixel of image i is, against where its point went: the largest distance
 * over the images whose point stayed inside; *n_in counts them. */
static double blob_error(const fc_tensor *img, const fc_tensor *pts, int *n_in) {
    const int64_t *d = fc_tensor_dims(img);
    int64_t n = d[0], h = d[2], w = d[3];
    const float *p = fc_tensor_data_f32(img), *q = fc_tensor_data_f32(pts);
    double worst = 0;
    *n_in = 0;
    for (int64_t i = 0; i < n; i++) {
        double px = q[2 * i] - 0.5, py = q[2 * i + 1] - 0.5; /* the pixel whose centre it is */
        if (px < 3 || py < 3 || px > w - 4 || py > h - 4) continue;
        int64_t best = 0;
        for (int64_t k = 1; k < h * w; k++)
            if (p[i * h * w + k] > p[i * h * w + best]) best = k;
        double dx = (double)(best % w) - px, dy = (double)(best / w) - py;
        worst = fmax(worst, sqrt(dx * dx + dy * dy));
        (*n_in)++;
    }
    return worst;
}

FCT_TEST(test_aug_points_follow_their_image_for_flip_rotate_zoom_warp) {
    const fc_aug_opts cases[] = {
        {.max_rotate = -1, .max_zoom = -1, .max_warp = -1, .max_lighting = -1},                 /* flip */
        {.no_flip = 1, .max_rotate = 45, .max_zoom = -1, .max_warp = -1, .max_lighting = -1, .p_affine = 1},
        {.no_flip = 1, .max_rotate = -1, .min_zoom = 1.2, .max_zoom = 1.6, .max_warp = -1, .max_lighting = -1,
         .p_affine = 1},
        {.no_flip = 1, .max_rotate = -1, .max_zoom = -1, .max_warp = 0.4, .max_lighting = -1, .p_affine = 1},
        {.flip_vert = 1, .max_rotate = 30, .max_zoom = 1.3, .max_warp = 0.3, .p_affine = 1},      /* all */
        {.max_rotate = 20, .max_zoom = 1.2, .max_warp = 0.2, .p_affine = 1, .size = 24},         /* resized */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        fc_tensor *img, *pts;
        blobs(16, 40, 7 + c, &img, &pts);
        fc_tensor *img0 = fc_tensor_ref(img), *pts0 = fc_tensor_ref(pts);
        fc_tuple tup = {.n = 2, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, img), fc_value_tensor(fc_kind_points, pts)}};
        FCT_OK(run_aug(fc_aug_transforms_(&cases[c]), &tup, 100 + c, FC_SPLIT_TRAIN));
        int n_in;
        double err = blob_error(tup.v[0].t, tup.v[1].t, &n_in);
        if (getenv("FCT_VERBOSE") || err > 1.0 || n_in < 8) printf("  case %zu: %d points inside, worst %.3f px\n", c, n_in, err);
        FCT_TRUE(err <= 1.0);
        FCT_TRUE(n_in >= 8);
        int64_t want = cases[c].size ? cases[c].size : 40;
        FCT_EQ_INT(fc_tensor_dims(tup.v[0].t)[3], want);
        /* and something moved: the points are not all where they were */
        double moved = 0;
        for (int k = 0; k < 32; k++)
            moved = fmax(moved, fabs(fc_tensor_data_f32(tup.v[1].t)[k] - fc_tensor_data_f32(pts0)[k]));
        FCT_TRUE(moved > 0.5);
        fc_tuple_free(&tup);
        fc_tensor_free(img0);
        fc_tensor_free(pts0);
    }
}

FCT_TEST(test_aug_flip_mirrors_about_half_the_images) {
    fc_tensor *x = ramp(16, 2, 5, 9); /* sizes whose linspace steps are exact in float */
    fc_tensor *orig = fc_tensor_ref(x), *pts = zeros_kept(FC_SHAPE(16, 1, 2), FC_DTYPE_F32);
    for (int i = 0; i < 16; i++) {
        fc_tensor_data_f32(pts)[2 * i] = 2.25f;
        fc_tensor_data_f32(pts)[2 * i + 1] = 1.5f;
    }
    fc_tuple tup = {.n = 2, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, x), fc_value_tensor(fc_kind_points, pts)}};
    FCT_OK(run_aug(fc_aug_transforms(.max_rotate = -1, .max_zoom = -1, .max_warp = -1, .max_lighting = -1),
                   &tup, 5, FC_SPLIT_TRAIN));
    const float *q = fc_tensor_data_f32(tup.v[1].t);
    const float *in = fc_tensor_data_f32(orig), *out = fc_tensor_data_f32(tup.v[0].t);
    int n_same = 0, n_mirror = 0;
    for (int i = 0; i < 16; i++) {
        int same = 1, mirror = 1;
        for (int k = 0; k < 90; k++) {
            int row = k / 9, col = k % 9;
            same &= out[i * 90 + k] == in[i * 90 + k];
            mirror &= out[i * 90 + k] == in[i * 90 + row * 9 + (8 - col)];
        }
        n_same += same;
        n_mirror += mirror;
        /* pixel edges: a mirrored point is at w - x (9 - 2.25), y unchanged */
        FCT_NEAR(q[2 * i], mirror ? 6.75 : 2.25, 1e-5);
        FCT_NEAR(q[2 * i + 1], 1.5, 1e-5);
    }
    FCT_EQ_INT(n_same + n_mirror, 16);
    FCT_TRUE(n_same > 0 && n_mirror > 0);
    fc_tuple_free(&tup);
    fc_tensor_free(orig);
}

/* Which of the 8 symmetries of the square (an index, or -1) takes a [c, s, s] image a to b. */
static int symmetry_of(const float *a, const float *b, int c, int s) {
    for (int t = 0; t < 8; t++) {
        int ok = 1;
        for (int ch = 0; ok && ch < c; ch++)
            for (int i = 0; ok && i < s; i++)
                for (int j = 0; ok && j < s; j++) {
                    int u = t & 4 ? j : i, v = t & 4 ? i : j; /* transpose, then mirror rows / columns */
                    u = t & 2 ? s - 1 - u : u;
                    v = t & 1 ? s - 1 - v : v;
                    ok = b[(ch * s + i) * s + j] == a[(ch * s + u) * s + v];
                }
        if (ok) return t;
    }
    return -1;
}

FCT_TEST(test_aug_flip_vert_draws_the_eight_dihedral_symmetries) {
    fc_tensor *x = ramp(64, 2, 9, 9);
    fc_tensor *orig = fc_tensor_ref(x);
    fc_tuple tup = {.n = 1, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, x)}};
    FCT_OK(run_aug(fc_aug_transforms(.flip_vert = 1, .max_rotate = -1, .max_zoom = -1, .max_warp = -1,
                                     .max_lighting = -1),
                   &tup, 61, FC_SPLIT_TRAIN));
    int seen[8] = {0}, n_none = 0;
    for (int i = 0; i < 64; i++) {
        int t = symmetry_of(fc_tensor_data_f32(orig) + i * 162, fc_tensor_data_f32(tup.v[0].t) + i * 162, 2, 9);
        if (t < 0) n_none++;
        else seen[t]++;
    }
    FCT_EQ_INT(n_none, 0);
    int n_kinds = 0;
    for (int t = 0; t < 8; t++) n_kinds += seen[t] > 0;
    FCT_TRUE(n_kinds >= 6);     /* 64 draws: each symmetry is 1/16 likely, the identity 9/16 */
    FCT_TRUE(seen[0] > 20);
    fc_tuple_free(&tup);
    fc_tensor_free(orig);
}

FCT_TEST(test_aug_leaves_a_valid_batch_bit_identical) {
    fc_tensor *x = fct_randn(FC_SHAPE(4, 3, 8, 8), 1);
    fc_tensor *orig = fc_keep(fc_tensor_new(FC_SHAPE(4, 3, 8, 8), FC_DTYPE_F32));
    memcpy(fc_tensor_data(orig), fc_tensor_data(x), 4 * 3 * 8 * 8 * sizeof(float));
    fc_tuple tup = {.n = 1, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, x)}};
    FCT_OK(run_aug(fc_aug_transforms(.p_affine = 1, .p_lighting = 1), &tup, 9, FC_SPLIT_VALID));
    FCT_TRUE(!memcmp(fc_tensor_data(tup.v[0].t), fc_tensor_data(orig), 4 * 3 * 8 * 8 * sizeof(float)));
    fc_tuple_free(&tup);
    fc_tensor_free(orig);
}

static double logit(double v) {
    v = fmin(fmax(v, 1e-7), 1 - 1e-7);
    return -log(1 / v - 1);
}

FCT_TEST(test_aug_lighting_is_affine_in_logit_space_and_stays_in_0_1) {
    fc_tensor *x = fc_keep(fc_rand(FC_SHAPE(32, 3, 8, 8)));
    float *in = fc_tensor_data_f32(x);
    for (int k = 0; k < 32 * 192; k++) in[k] = 0.02f + 0.96f * in[k]; /* inside (0, 1) */
    for (int i = 0; i < 32; i++) { /* two pixels far apart to recover each image's lighting from */
        in[i * 192 + 2] = 0.2f;
        in[i * 192 + 3] = 0.8f;
    }
    in[0] = 0.0f;
    in[1] = 1.0f;
    fc_tensor *orig = fc_tensor_ref(x);
    fc_tuple tup = {.n = 1, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, x)}};
    FCT_OK(run_aug(fc_aug_transforms(.no_flip = 1, .max_rotate = -1, .max_zoom = -1, .max_warp = -1,
                                     .max_lighting = 0.4, .p_lighting = 1),
                   &tup, 11, FC_SPLIT_TRAIN));
    const float *out = fc_tensor_data_f32(tup.v[0].t);
    int in_range = 1, strictly = 1, n_bright_changed = 0, n_contrast_changed = 0;
    double worst = 0;
    for (int i = 0; i < 32; i++) {
        const float *a = in + i * 192, *b = out + i * 192;
        /* logit(y) = (logit(x) + logit(brightness)) * contrast: recover both from two pixels */
        double c = (logit(b[3]) - logit(b[2])) / (logit(a[3]) - logit(a[2]));
        double add = logit(b[2]) / c - logit(a[2]);
        double bright = 1 / (1 + exp(-add));
        n_bright_changed += fabs(bright - 0.5) > 1e-4;
        n_contrast_changed += fabs(c - 1) > 1e-4;
        FCT_TRUE(bright >= 0.5 * 0.6 - 1e-4 && bright <= 0.5 * 1.4 + 1e-4);
        FCT_TRUE(c >= 0.6 - 1e-4 && c <= 1 / 0.6 + 1e-4);
        for (int k = 0; k < 192; k++) {
            in_range &= b[k] >= 0 && b[k] <= 1;
            if (i > 0 || k > 1) strictly &= b[k] > 0 && b[k] < 1;
            worst = fmax(worst, fabs(b[k] - 1 / (1 + exp(-(logit(a[k]) + add) * c))));
        }
    }
    FCT_TRUE(in_range);
    FCT_TRUE(strictly);
    FCT_NEAR(worst, 0, 2e-5);
    FCT_TRUE(n_bright_changed > 16 && n_contrast_changed > 16); /* p_lighting 1: almost every image */
    fc_tuple_free(&tup);
    fc_tensor_free(orig);

    /* brightness 0.5 (logit 0) and contrast 1: the identity, up to fastai's clamp */
    fc_tensor *y = fc_keep(fc_rand(FC_SHAPE(2, 5, 7)));
    fc_tensor *z = fc_keep(fc_tensor_new(FC_SHAPE(2, 5, 7), FC_DTYPE_F32));
    const float id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    fci_lighting neutral = {.on = 1, .add = 0.0f, .mul = 1.0f};
    fci_sample_f32(fc_tensor_data_f32(y), 2, 5, 7, fc_tensor_data_f32(z), 5, 7, id, FC_PAD_REFLECTION, 0,
                   &neutral, 0, 5);
    FCT_CLOSE(z, y, 1e-6, 1e-6);
    fc_tensor_free(y);
    fc_tensor_free(z);
}

FCT_TEST(test_aug_draws_repeat_for_a_seed_and_differ_across_images_and_seeds) {
    fc_tensor *one = ramp(1, 3, 12, 12);
    fc_tensor *x = zeros_kept(FC_SHAPE(8, 3, 12, 12), FC_DTYPE_F32);
    for (int i = 0; i < 8; i++)
        memcpy(fc_tensor_data_f32(x) + i * 432, fc_tensor_data_f32(one), 432 * sizeof(float));
    fc_tensor *r[3];
    const uint64_t seeds[3] = {21, 21, 22};
    for (int k = 0; k < 3; k++) {
        fc_tensor *xk = zeros_kept(FC_SHAPE(8, 3, 12, 12), FC_DTYPE_F32);
        memcpy(fc_tensor_data(xk), fc_tensor_data(x), 8 * 432 * sizeof(float));
        fc_tuple tup = {.n = 1, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, xk)}};
        FCT_OK(run_aug(fc_aug_transforms(.p_affine = 1), &tup, seeds[k], FC_SPLIT_TRAIN));
        r[k] = fc_tensor_ref(tup.v[0].t);
        fc_tuple_free(&tup);
    }
    size_t bytes = 8 * 432 * sizeof(float);
    FCT_TRUE(!memcmp(fc_tensor_data(r[0]), fc_tensor_data(r[1]), bytes)); /* same seed, same batch */
    FCT_TRUE(memcmp(fc_tensor_data(r[0]), fc_tensor_data(r[2]), bytes) != 0);
    int n_differ = 0; /* identical inputs, 8 different draws */
    for (int i = 1; i < 8; i++)
        n_differ += memcmp(fc_tensor_data_f32(r[0]), fc_tensor_data_f32(r[0]) + i * 432, 432 * sizeof(float)) != 0;
    FCT_EQ_INT(n_differ, 7);
    for (int k = 0; k < 3; k++) fc_tensor_free(r[k]);
    fc_tensor_free(x);
    fc_tensor_free(one);
}

/* A label map [n, h, w] of {0, 3, 7} in blocks, and the same as an f32 image [n, 1, h, w]. */
static void labels(int64_t n, int64_t h, int64_t w, fc_tensor **mask, fc_tensor **img) {
    static const int64_t set[3] = {0, 3, 7};
    *mask = zeros_kept(n ? FC_SHAPE(n, h, w) : FC_SHAPE(h, w), FC_DTYPE_I64);
    *img = zeros_kept(n ? FC_SHAPE(n, 1, h, w) : FC_SHAPE(1, h, w), FC_DTYPE_F32);
    int64_t *m = fc_tensor_data(*mask);
    float *p = fc_tensor_data_f32(*img);
    for (int64_t k = 0; k < (n ? n : 1) * h * w; k++) {
        int64_t y = (k / w) % h, x = k % w;
        m[k] = set[(x / 3 + 2 * (y / 4) + k / (h * w)) % 3];
        p[k] = (float)m[k];
    }
}

static int in_label_set(const fc_tensor *t) {
    const int64_t *m = fc_tensor_data(t);
    for (int64_t k = 0; k < fc_tensor_numel(t); k++)
        if (m[k] != 0 && m[k] != 3 && m[k] != 7) return 0;
    return 1;
}

FCT_TEST(test_aug_mask_keeps_its_labels_and_its_images_draw) {
    for (int pad = FC_PAD_ZEROS; pad <= FC_PAD_BORDER; pad++) {
        fc_tensor *mask, *img;
        labels(6, 20, 15, &mask, &img);
        fc_tuple tup = {.n = 2, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, img), fc_value_tensor(fc_kind_mask, mask)}};
        FCT_OK(run_aug(fc_aug_transforms(.flip_vert = 1, .max_rotate = 40, .max_zoom = 1.5, .p_affine = 1,
                                         .max_lighting = -1, .nearest = 1, .pad_mode = (fc_pad_mode)pad, .size = 17),
                       &tup, 31 + pad, FC_SPLIT_TRAIN));
        FCT_TRUE(in_label_set(tup.v[1].t));
        FCT_EQ_INT(fc_tensor_dtype(tup.v[1].t), FC_DTYPE_I64);
        FCT_EQ_INT(fc_tensor_dims(tup.v[1].t)[1], 17);
        /* the image of the labels, sampled nearest, is the mask: the same draw */
        const float *p = fc_tensor_data_f32(tup.v[0].t);
        const int64_t *m = fc_tensor_data(tup.v[1].t);
        int bad = 0;
        for (int64_t k = 0; k < 6 * 17 * 17; k++) bad += (int64_t)p[k] != m[k];
        FCT_EQ_INT(bad, 0);
        fc_tuple_free(&tup);
    }
}

FCT_TEST(test_aug_list_values_of_differently_sized_images) {
    const int64_t hw[3][2] = {{20, 15}, {12, 30}, {16, 16}};
    fc_tensor *imgs[3], *masks[3], *pts[3];
    for (int i = 0; i < 3; i++) {
        labels(0, hw[i][0], hw[i][1], &masks[i], &imgs[i]);
        pts[i] = zeros_kept(FC_SHAPE(1, 2), FC_DTYPE_F32);
        fc_tensor_data_f32(pts[i])[0] = (float)hw[i][1] / 2; /* the centre */
        fc_tensor_data_f32(pts[i])[1] = (float)hw[i][0] / 2;
    }
    fc_tensor *orig[3]; /* the transform frees the items it replaces */
    for (int i = 0; i < 3; i++) orig[i] = fc_tensor_ref(masks[i]);
    fc_tensor **li = malloc(3 * sizeof *li), **lm = malloc(3 * sizeof *lm), **lp = malloc(3 * sizeof *lp);
    memcpy(li, imgs, sizeof imgs);
    memcpy(lm, masks, sizeof masks);
    memcpy(lp, pts, sizeof pts);
    fc_tuple tup = {.n = 3, .n_inp = 1,
                    .v = {{.kind = fc_kind_image, .list = li, .n_list = 3},
                          {.kind = fc_kind_mask, .list = lm, .n_list = 3},
                          {.kind = fc_kind_points, .list = lp, .n_list = 3}}};
    FCT_OK(run_aug(fc_aug_transforms(.p_affine = 1, .max_lighting = -1, .nearest = 1, .max_rotate = 30),
                   &tup, 41, FC_SPLIT_TRAIN));
    int n_changed = 0;
    for (int i = 0; i < 3; i++) {
        fc_tensor *im = tup.v[0].list[i], *ma = tup.v[1].list[i];
        FCT_EQ_INT(fc_tensor_dims(im)[1], hw[i][0]);
        FCT_EQ_INT(fc_tensor_dims(im)[2], hw[i][1]);
        FCT_TRUE(in_label_set(ma));
        const float *p = fc_tensor_data_f32(im);
        const int64_t *m = fc_tensor_data(ma);
        int bad = 0, changed = 0;
        for (int64_t k = 0; k < hw[i][0] * hw[i][1]; k++) {
            bad += (int64_t)p[k] != m[k];
            changed += m[k] != ((const int64_t *)fc_tensor_data(orig[i]))[k];
        }
        FCT_EQ_INT(bad, 0);
        n_changed += changed > 0;
        const float *q = fc_tensor_data_f32(tup.v[2].list[i]);
        FCT_TRUE(isfinite(q[0]) && isfinite(q[1]));
    }
    FCT_EQ_INT(n_changed, 3);
    /* .size resizes every item to size x size */
    FCT_OK(run_aug(fc_aug_transforms(.size = 10), &tup, 42, FC_SPLIT_TRAIN));
    for (int i = 0; i < 3; i++) {
        FCT_EQ_INT(fc_tensor_dims(tup.v[0].list[i])[1], 10);
        FCT_EQ_INT(fc_tensor_dims(tup.v[1].list[i])[1], 10);
    }
    fc_tuple_free(&tup);
    for (int i = 0; i < 3; i++) fc_tensor_free(orig[i]);
}

FCT_TEST(test_aug_points_in_a_list_follow_their_own_image) {
    const int64_t hw[3][2] = {{30, 40}, {44, 28}, {36, 36}};
    fc_tensor **li = malloc(3 * sizeof *li), **lp = malloc(3 * sizeof *lp);
    for (int i = 0; i < 3; i++) { /* a batch of one, viewed as the item [1, h, w] */
        int64_t h = hw[i][0], w = hw[i][1];
        li[i] = zeros_kept(FC_SHAPE(1, h, w), FC_DTYPE_F32);
        lp[i] = zeros_kept(FC_SHAPE(1, 2), FC_DTYPE_F32);
        float *p = fc_tensor_data_f32(li[i]), *q = fc_tensor_data_f32(lp[i]);
        double cx = w * (0.4 + 0.1 * i), cy = h * (0.55 - 0.05 * i);
        q[0] = (float)(cx + 0.5);
        q[1] = (float)(cy + 0.5);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                p[y * w + x] = (float)exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 4.5);
    }
    fc_tuple tup = {.n = 2, .n_inp = 1,
                    .v = {{.kind = fc_kind_image, .list = li, .n_list = 3},
                          {.kind = fc_kind_points, .list = lp, .n_list = 3}}};
    FCT_OK(run_aug(fc_aug_transforms(.p_affine = 1, .max_rotate = 30, .max_zoom = 1.3, .max_lighting = -1, .size = 32),
                   &tup, 51, FC_SPLIT_TRAIN));
    for (int i = 0; i < 3; i++) {
        const int64_t *d = fc_tensor_dims(tup.v[0].list[i]);
        fc_tensor *img = fc_view(tup.v[0].list[i], FC_SHAPE(1, 1, d[1], d[2])); /* in the test's scope */
        fc_tensor *pts = fc_view(tup.v[1].list[i], FC_SHAPE(1, 1, 2));
        int n_in;
        double err = img && pts ? blob_error(img, pts, &n_in) : 99;
        FCT_EQ_INT(d[1], 32);
        FCT_EQ_INT(n_in, 1);
        FCT_TRUE(err <= 1.0);
    }
    fc_tuple_free(&tup);
}

FCT_TEST(test_aug_rejects_wrong_dtype_rank_and_options) {
    fc_tensor *u = fc_keep(fc_tensor_new(FC_SHAPE(2, 3, 4, 4), FC_DTYPE_U8));
    fc_tuple tup = {.n = 1, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, u)}};
    FCT_TRUE(run_aug(fc_aug_transforms(), &tup, 1, FC_SPLIT_TRAIN) != FC_OK);
    FCT_ERROR(FC_ERR_DTYPE, "aug_transforms: expected an image f32 [C, H, W] or a batch [N, C, H, W] "
                            "(IntToFloat, order 10, makes u8 images f32), found image u8 [2, 3, 4, 4]");
    fc_tuple_free(&tup);
    fc_tensor *r5 = fc_keep(fc_tensor_new(FC_SHAPE(1, 2, 3, 4, 4), FC_DTYPE_F32));
    tup = (fc_tuple){.n = 1, .n_inp = 1, .v = {fc_value_tensor(fc_kind_image, r5)}};
    FCT_TRUE(run_aug(fc_aug_transforms(), &tup, 1, FC_SPLIT_TRAIN) != FC_OK);
    FCT_ERROR(FC_ERR_SHAPE, "found image f32 [1, 2, 3, 4, 4]");
    fc_tuple_free(&tup);
    fc_tensor *mf = fc_keep(fc_tensor_new(FC_SHAPE(4, 4), FC_DTYPE_F32));
    tup = (fc_tuple){.n = 1, .n_inp = 1, .v = {fc_value_tensor(fc_kind_mask, mf)}};
    FCT_TRUE(run_aug(fc_aug_transforms(), &tup, 1, FC_SPLIT_TRAIN) != FC_OK);
    FCT_ERROR(FC_ERR_DTYPE, "expected a mask i64 [H, W] or a batch [N, H, W], found mask f32 [4, 4]");
    fc_tuple_free(&tup);
    fc_tensor *p = fc_keep(fc_tensor_new(FC_SHAPE(2, 5, 2), FC_DTYPE_F32));
    tup = (fc_tuple){.n = 1, .n_inp = 1, .v = {fc_value_tensor(fc_kind_points, p)}};
    FCT_TRUE(run_aug(fc_aug_transforms(), &tup, 1, FC_SPLIT_TRAIN) != FC_OK);
    FCT_ERROR(FC_ERR_STATE, "expected an image or mask value before the points in the tuple");
    fc_tuple_free(&tup);
    FCT_NULL(fc_aug_transforms(.min_zoom = 1.3, .max_zoom = 1.2));
    FCT_ERROR(FC_ERR_ARG, "aug_transforms: expected 0 < .min_zoom <= .max_zoom, found 1.3 and 1.2");
    FCT_NULL(fc_aug_transforms(.max_lighting = 0.6, .mult = 2));
    FCT_ERROR(FC_ERR_ARG, "expected .max_lighting * .mult < 1, found 1.2");
    FCT_NULL(fc_aug_transforms(.p_affine = 1.5));
    FCT_ERROR(FC_ERR_ARG, "expected .p_affine and .p_lighting <= 1, found 1.5 and 0.75");
    FCT_NULL(fc_aug_transforms(.size = -2));
    FCT_ERROR(FC_ERR_ARG, "expected .size >= 0");
    fc_transform *a = fc_aug_transforms();
    FCT_STR(fc_transform_name(a), "aug_transforms");
    fc_transform_free(a);
}

/* The first batch of a loader over x (images) and y (categories) with aug_transforms after batching. */
static fc_tensor *first_batch(fc_tensor *x, fc_tensor *y, fc_split_idx split, int n_workers) {
    fc_dataset *ds = fc_tensor_dataset(x, fc_kind_image, y, fc_kind_category);
    fc_dataloader *dl = fc_dataloader_new(ds, .bs = 8, .split = split, .n_workers = n_workers, .seed = 3,
                                          .after_batch = FC_TFMS(fc_aug_transforms(.p_affine = 1)));
    fc_tuple b = {0};
    fc_tensor *out = NULL;
    if (dl && fc_dataloader_one_batch(dl, &b) == FC_OK) out = fc_tensor_ref(b.v[0].t);
    FCT_NOTNULL(out);
    fc_tuple_free(&b);
    fc_dataloader_free(dl);
    return out;
}

FCT_TEST(test_aug_in_a_dataloader_augments_train_batches_only_and_reproducibly) {
    fc_tensor *x = fc_keep(fc_rand(FC_SHAPE(8, 3, 16, 16)));
    fc_tensor *y = fc_keep(fc_tensor_new(FC_SHAPE(8), FC_DTYPE_I64));
    fc_tensor *train = first_batch(x, y, FC_SPLIT_TRAIN, 0), *again = first_batch(x, y, FC_SPLIT_TRAIN, 2);
    fc_tensor *valid = first_batch(x, y, FC_SPLIT_VALID, 0);
    size_t bytes = 8 * 3 * 16 * 16 * sizeof(float);
    if (train && again && valid) {
        FCT_EQ_INT(fc_tensor_dims(train)[3], 16);
        FCT_TRUE(memcmp(fc_tensor_data(train), fc_tensor_data(x), bytes) != 0);
        FCT_TRUE(!memcmp(fc_tensor_data(train), fc_tensor_data(again), bytes)); /* workers or not */
        FCT_TRUE(!memcmp(fc_tensor_data(valid), fc_tensor_data(x), bytes));
    }
    fc_tensor_free(train);
    fc_tensor_free(again);
    fc_tensor_free(valid);
    fc_tensor_free(x);
    fc_tensor_free(y);
}

/* The first train (or valid) batch of mnist_tiny's loaders, with or without aug_transforms. */
static fc_tensor *mnist_batch(const char *path, int aug, int valid) {
    fc_dataloaders *dls = aug ? fc_image_dls_from_folder(path, .bs = 16, .batch_tfms = FC_TFMS(fc_aug_transforms(.size = 32)))
                              : fc_image_dls_from_folder(path, .bs = 16);
    fc_tuple b = {0};
    fc_tensor *t = NULL;
    if (FCT_NOTNULL(dls) && fc_dataloader_one_batch(valid ? dls->valid : dls->train, &b) == FC_OK)
        t = fc_tensor_ref(b.v[0].t);
    FCT_NOTNULL(t);
    fc_tuple_free(&b);
    fc_dataloaders_free(dls);
    return t;
}

FCT_TEST(test_aug_on_mnist_tiny_runs_after_int_to_float_on_train_only) {
    const char *path = vision_dataset("mnist_tiny");
    if (!path) return;
    fc_tensor *aug = mnist_batch(path, 1, 0);
    fc_tensor *plain_v = mnist_batch(path, 0, 1), *aug_v = mnist_batch(path, 1, 1);
    if (aug && plain_v && aug_v) {
        FCT_TRUE(fc_tensor_dtype(aug) == FC_DTYPE_F32);
        const int64_t *d = fc_tensor_dims(aug);
        FCT_TRUE(d[0] == 16 && d[1] == 1 && d[2] == 32 && d[3] == 32); /* .size 32 from 28x28 */
        float lo = 1, hi = 0;
        for (int64_t i = 0; i < fc_tensor_numel(aug); i++) {
            float v = fc_tensor_data_f32(aug)[i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        FCT_TRUE(lo >= 0 && hi <= 1 && hi > 0.5f); /* [0, 1] images, lit in logit space */
        FCT_EQ_INT(fc_tensor_numel(plain_v), fc_tensor_numel(aug_v)); /* valid: untouched */
        FCT_TRUE(!memcmp(fc_tensor_data(plain_v), fc_tensor_data(aug_v), (size_t)fc_tensor_numel(aug_v) * sizeof(float)));
    }
    fc_tensor_free(aug);
    fc_tensor_free(plain_v);
    fc_tensor_free(aug_v);
}
