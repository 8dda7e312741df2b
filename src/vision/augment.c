/* fastai 2.7's aug_transforms as one train-only batch transform: Flip (or Dihedral), Rotate, Zoom
 * and Warp composed into one projective matrix per image, sampled once (affine.c), with Brightness
 * and Contrast (fastai's LightingTfm, in logit space) fused into the same pass. Masks are sampled
 * nearest with their image's draw; points move by the inverse of it. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "affine_impl.h"
#include "vision_impl.h"

typedef struct aug {
    int do_flip, flip_vert, do_rotate, do_zoom, do_warp, do_lighting, nearest;
    double max_rotate, min_zoom, max_zoom, max_warp, max_lighting, p_affine, p_lighting;
    int64_t size;
    fc_pad_mode pad;
} aug;

/* One image's draw: m takes the output's normalized coordinates to the source's. */
typedef struct aug_draw {
    double m[9];
    fci_lighting light;
} aug_draw;

/* ---- the random draws ----------------------------------------------------------------------------
 * The image, its mask and its points are separate values of the batch tuple, each encoded by its
 * own call; they must see the same draw. So the draw never advances ctx->rng: it is a pure
 * function of ctx->rng's state (seed, offset), the image's index in the batch and the image size.
 * Each image owns N_DRAWS counters of a Philox stream keyed by that state, one per random number,
 * so a part's numbers do not depend on which other parts are on. A single image [C, H, W] (how the
 * items of a list value arrive) keys on its size instead of an index: images of different sizes
 * in one list get different draws, and an item's mask (same size) gets its image's. */
enum {
    D_FLIP_P, D_FLIP_K, D_ROT_P, D_ROT, D_ZOOM_P, D_ZOOM, D_ZOOM_CX, D_ZOOM_CY,
    D_WARP_PX, D_WARP_X, D_WARP_PY, D_WARP_Y, D_BRIGHT_P, D_BRIGHT, D_CONTRAST_P, D_CONTRAST,
    N_DRAWS
};

static uint64_t mix64(uint64_t z) { /* splitmix64's finalizer */
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct draw_key {
    uint64_t seed, base;
} draw_key;

/* batch_n: the image's index in a batch, or -1 for a single image keyed by its size h x w. */
static draw_key key_of(const fc_tfm_ctx *ctx, int64_t batch_n, int64_t h, int64_t w) {
    uint64_t seed = mix64(ctx->rng->seed ^ mix64(ctx->rng->offset ^ 0x61756774666d73ull));
    if (batch_n >= 0) return (draw_key){seed, (uint64_t)batch_n * N_DRAWS};
    return (draw_key){mix64(seed ^ ((uint64_t)h << 32 | (uint64_t)w)), 0};
}

static double uni(draw_key k, int slot) { /* [0, 1) */
    fc_rng g = {k.seed, k.base + (uint64_t)slot};
    return fc_rng_uniform(&g);
}
static double uni_in(draw_key k, int slot, double lo, double hi) { return lo + (hi - lo) * uni(k, slot); }

/* fastai's matrices (flip_mat / dihedral_mat, rotate_mat, zoom_mat) multiplied in its order
 * (flip @ rotate @ zoom), its _prepare_mat aspect correction, then _WarpCoord's perspective warp
 * applied to the grid after the affine part: m = warp @ affine. h, w: the source image's size. */
static void make_draw(const aug *a, draw_key k, int64_t h, int64_t w, aug_draw *d) {
    double aff[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, t[9], part[9];
    if (a->do_flip && uni(k, D_FLIP_P) < 0.5) {
        if (!a->flip_vert) {
            double f[9] = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
            memcpy(part, f, sizeof f);
        } else { /* dihedral_mat: one of the 8 symmetries of the square (0 is the identity) */
            static const double xs[8] = {1, -1, 1, -1, -1, 1, 1, -1}, ys[8] = {1, 1, -1, 1, -1, -1, 1, -1},
                                m0[8] = {1, 1, 1, 0, 1, 0, 0, 0};
            int i = (int)(uni(k, D_FLIP_K) * 8);
            double f[9] = {xs[i] * m0[i], xs[i] * (1 - m0[i]), 0, ys[i] * (1 - m0[i]), ys[i] * m0[i], 0,
                           0, 0, 1};
            memcpy(part, f, sizeof f);
        }
        fci_mat3_mul(aff, part, t);
        memcpy(aff, t, sizeof t);
    }
    if (a->do_rotate && uni(k, D_ROT_P) < a->p_affine) {
        double th = uni_in(k, D_ROT, -a->max_rotate, a->max_rotate) * 3.14159265358979323846 / 180.0;
        double r[9] = {cos(th), sin(th), 0, -sin(th), cos(th), 0, 0, 0, 1};
        fci_mat3_mul(aff, r, t);
        memcpy(aff, t, sizeof t);
    }
    if (a->do_zoom) { /* the centre is drawn whether or not the zoom happens, as fastai does */
        double z = uni(k, D_ZOOM_P) < a->p_affine ? uni_in(k, D_ZOOM, a->min_zoom, a->max_zoom) : 1.0;
        double s = 1.0 / z, cx = uni(k, D_ZOOM_CX), cy = uni(k, D_ZOOM_CY);
        double zm[9] = {s, 0, (1 - s) * (2 * cx - 1), 0, s, (1 - s) * (2 * cy - 1), 0, 0, 1};
        fci_mat3_mul(aff, zm, t);
        memcpy(aff, t, sizeof t);
    }
    aff[1] *= (double)h / (double)w; /* _prepare_mat: rotations stay rotations on non-square images */
    aff[3] *= (double)w / (double)h;
    memcpy(d->m, aff, sizeof aff);
    if (a->do_warp) { /* x_t and y_t are masked independently (two _draw_mask calls) */
        double xt = uni(k, D_WARP_PX) < a->p_affine ? uni_in(k, D_WARP_X, -a->max_warp, a->max_warp) : 0;
        double yt = uni(k, D_WARP_PY) < a->p_affine ? uni_in(k, D_WARP_Y, -a->max_warp, a->max_warp) : 0;
        const double orig[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
        const double targ[4][2] = {{-1 - yt, -1 - xt}, {-1 + yt, 1 + xt}, {1 + yt, -1 + xt}, {1 - yt, 1 - xt}};
        double hw[9];
        /* find_coeffs(orig, targ): the grid point at a target corner samples the original corner */
        if ((xt != 0 || yt != 0) && fci_homography(targ, orig, hw)) fci_mat3_mul(hw, aff, d->m);
    }
    d->light = (fci_lighting){.on = 0, .add = 0.0f, .mul = 1.0f};
    if (a->do_lighting) {
        double ml = a->max_lighting;
        double b = uni(k, D_BRIGHT_P) < a->p_lighting ? uni_in(k, D_BRIGHT, 0.5 * (1 - ml), 0.5 * (1 + ml)) : 0.5;
        double c = uni(k, D_CONTRAST_P) < a->p_lighting
                       ? exp(uni_in(k, D_CONTRAST, log(1 - ml), -log(1 - ml)))
                       : 1.0;
        /* both neutral: sigmoid(logit(x)) is x up to fastai's clamp, so the pass is skipped */
        d->light = (fci_lighting){.on = b != 0.5 || c != 1.0, .add = (float)-log(1 / b - 1), .mul = (float)c};
    }
}

/* ---- image sizes for points ---------------------------------------------------------------------
 * Points are pixels, and mapping them needs their image's size, which only the image (or mask)
 * value of the same tuple knows. The DataLoader encodes a tuple's values one after another on one
 * thread with one ctx, so each thread logs the sizes of the images it just transformed under that
 * ctx; the points that follow (a batch, or the items of a list in order) read them back. */
#define LOG_MAX 1024
typedef struct size_log {
    const void *owner;
    uint64_t seed, offset;
    int64_t index;
    int batch, n, next, reading;
    int64_t h[LOG_MAX], w[LOG_MAX];
} size_log;
static _Thread_local size_log tl_log;

static int log_matches(const aug *a, const fc_tfm_ctx *ctx) {
    const size_log *l = &tl_log;
    return l->owner == a && l->seed == ctx->rng->seed && l->offset == ctx->rng->offset &&
           l->index == ctx->index;
}

static void log_size(const aug *a, const fc_tfm_ctx *ctx, int batch, int64_t h, int64_t w) {
    size_log *l = &tl_log;
    if (!log_matches(a, ctx) || l->reading || batch || l->batch) {
        l->owner = a;
        l->seed = ctx->rng->seed;
        l->offset = ctx->rng->offset;
        l->index = ctx->index;
        l->batch = batch;
        l->n = l->next = l->reading = 0;
    }
    if (l->n < LOG_MAX) {
        l->h[l->n] = h;
        l->w[l->n] = w;
        l->n++;
    }
}

static fc_status points_image_size(const aug *a, const fc_tfm_ctx *ctx, int batch, int64_t *h, int64_t *w) {
    size_log *l = &tl_log;
    if (!log_matches(a, ctx) || l->n == 0)
        return fc_fail(FC_ERR_STATE, "aug_transforms: points need their image's size: expected an image "
                       "or mask value before the points in the tuple, found none in this batch");
    if (batch != l->batch)
        return fc_fail(FC_ERR_SHAPE, "aug_transforms: expected %s points to go with the %s images before "
                       "them, found %s", l->batch ? "batched [N, n, 2]" : "single [n, 2]",
                       l->batch ? "batched" : "single", batch ? "a batch" : "a single [n, 2]");
    int i = 0;
    if (!batch) {
        l->reading = 1;
        if (l->next >= l->n)
            return fc_fail(FC_ERR_SHAPE, "aug_transforms: expected one image per points value, found "
                           "points value %d after %d images", l->next + 1, l->n);
        i = l->next++;
    }
    *h = l->h[i];
    *w = l->w[i];
    return FC_OK;
}

/* ---- encodes ---- */

static fc_status check_value(const fc_value *v, fc_dtype want, int rank_single, const char *what) {
    fc_tensor *t = v->t;
    int nd = fc_tensor_ndim(t);
    if (fc_tensor_dtype(t) == want && (nd == rank_single || nd == rank_single + 1)) return FC_OK;
    return fc_fail(fc_tensor_dtype(t) != want ? FC_ERR_DTYPE : FC_ERR_SHAPE,
                   "aug_transforms: expected %s, found %s %s %s", what, v->kind->name,
                   fc_dtype_name(fc_tensor_dtype(t)), fci_tshape(t));
}

/* Images [N, C, H, W] / [C, H, W] f32 and masks [N, H, W] / [H, W] i64: one sampling pass. */
static fc_status encode_raster(const aug *a, fc_value *v, const fc_tfm_ctx *ctx, int is_mask) {
    fc_status st = is_mask ? check_value(v, FC_DTYPE_I64, 2, "a mask i64 [H, W] or a batch [N, H, W]")
                           : check_value(v, FC_DTYPE_F32, 3, "an image f32 [C, H, W] or a batch "
                                         "[N, C, H, W] (IntToFloat, order 10, makes u8 images f32)");
    if (st != FC_OK) return st;
    int nd = fc_tensor_ndim(v->t), batch = nd == (is_mask ? 3 : 4);
    const int64_t *d = fc_tensor_dims(v->t);
    int64_t n = batch ? d[0] : 1, c = is_mask ? 1 : d[nd - 3], h = d[nd - 2], w = d[nd - 1];
    int64_t oh = a->size ? a->size : h, ow = a->size ? a->size : w;
    if (h == 0 || w == 0 || h * w > INT32_MAX) /* the sampler's offsets are int32 */
        return fc_fail(FC_ERR_SHAPE, "aug_transforms: expected images of 1 to 2^31 - 1 pixels, found %s",
                       fci_tshape(v->t));
    log_size(a, ctx, batch, h, w);
    fci_sample_draw *draws = malloc((size_t)n * sizeof *draws);
    if (!draws) return fc_fail(FC_ERR_NOMEM, "aug_transforms: out of memory for %lld draws", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        aug_draw d;
        make_draw(a, key_of(ctx, batch ? i : -1, h, w), h, w, &d);
        for (int k = 0; k < 9; k++) draws[i].m[k] = (float)d.m[k];
        draws[i].light = d.light;
    }
    if (fc_tensor_device(v->t).type != FC_DEVICE_CPU) { /* a batch on a GPU: the CUDA sampler */
        fc_shape s = fc_tensor_shape(v->t);
        s.d[s.ndim - 2] = oh;
        s.d[s.ndim - 1] = ow;
        fc_tensor *y = fc_keep(fci_sample_batch_cuda("aug_transforms", v->t, is_mask, s, n, c, h, w, draws, a->pad,
                                                     a->nearest));
        free(draws);
        if (!y) return fc_error_code();
        fc_value_set_tensor(v, NULL, y);
        return FC_OK;
    }
    fc_tensor *x = fci_vision_contiguous("aug_transforms", v->t), *y = NULL;
    if (x) {
        fc_shape s = fc_tensor_shape(x);
        s.d[s.ndim - 2] = oh;
        s.d[s.ndim - 1] = ow;
        y = fc_keep(fci_tensor_alloc(s, is_mask ? FC_DTYPE_I64 : FC_DTYPE_F32, FC_CPU));
    }
    if (!y) {
        free(draws);
        fc_tensor_free(x);
        return fc_error_code();
    }
    fci_sample_batch(fc_tensor_data(x), fc_tensor_data(y), is_mask, n, c, h, w, oh, ow, draws, a->pad,
                     a->nearest);
    free(draws);
    fc_tensor_free(x);
    fc_value_set_tensor(v, NULL, y);
    return FC_OK;
}

/* Points [N, n, 2] / [n, 2] f32 (x, y) pixels: the inverse of their image's draw, so a point on a
 * feature of the source lands on that feature in the output. Coordinates are pixel edges, as in
 * fastai and the item transforms (resample_impl.h): the image spans [0, w], pixel j's centre is
 * j + 1/2. The sampler works on centres (align_corners=True: centres 0 and w - 1 are -1 and 1), so
 * a point goes to centres (-1/2), through the inverse and back (+1/2): it follows its pixel
 * exactly, where fastai's scaling by 2 / w drifts by up to half a pixel towards the edges. */
static fc_status encode_points(const aug *a, fc_value *v, const fc_tfm_ctx *ctx) {
    fc_status st = check_value(v, FC_DTYPE_F32, 2, "points f32 [n, 2] or a batch [N, n, 2]");
    if (st != FC_OK) return st;
    int nd = fc_tensor_ndim(v->t), batch = nd == 3;
    const int64_t *d = fc_tensor_dims(v->t);
    if (d[nd - 1] != 2)
        return fc_fail(FC_ERR_SHAPE, "aug_transforms: expected points [..., 2] (x, y), found %s",
                       fci_tshape(v->t));
    int64_t n = batch ? d[0] : 1, np = d[nd - 2], h = 0, w = 0;
    if ((st = points_image_size(a, ctx, batch, &h, &w)) != FC_OK) return st;
    int64_t oh = a->size ? a->size : h, ow = a->size ? a->size : w;
    fc_tensor *x = fci_vision_contiguous("aug_transforms", v->t);
    fc_tensor *y = x ? fc_keep(fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, FC_CPU)) : NULL;
    if (!y) {
        fc_tensor_free(x);
        return fc_error_code();
    }
    const float *p = fc_tensor_data_f32(x);
    float *q = fc_tensor_data_f32(y);
    for (int64_t i = 0; i < n; i++) {
        aug_draw dr;
        double inv[9];
        make_draw(a, key_of(ctx, batch ? i : -1, h, w), h, w, &dr);
        if (!fci_mat3_inv(dr.m, inv)) memcpy(inv, dr.m, sizeof inv); /* cannot happen: |det| >= 1/zoom^2 */
        for (int64_t j = 0; j < np; j++) {
            const float *pi = p + (i * np + j) * 2;
            double sx = w > 1 ? (pi[0] - 0.5) * 2.0 / (double)(w - 1) - 1 : 0,
                   sy = h > 1 ? (pi[1] - 0.5) * 2.0 / (double)(h - 1) - 1 : 0;
            double gx = inv[0] * sx + inv[1] * sy + inv[2], gy = inv[3] * sx + inv[4] * sy + inv[5],
                   gz = inv[6] * sx + inv[7] * sy + inv[8];
            float *qi = q + (i * np + j) * 2;
            qi[0] = (float)((gx / gz + 1) / 2 * (double)(ow - 1) + 0.5);
            qi[1] = (float)((gy / gz + 1) / 2 * (double)(oh - 1) + 0.5);
        }
    }
    fc_tensor_free(x);
    fc_value_set_tensor(v, NULL, y);
    return FC_OK;
}

static fc_status aug_encodes(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    const aug *a = s;
    if (!v->t || !ctx || ctx->split != FC_SPLIT_TRAIN) return FC_OK; /* valid batches stay as they are */
    if (!ctx->rng)
        return fc_fail(FC_ERR_ARG, "aug_transforms: expected a ctx with a generator (ctx->rng), found NULL");
    if (v->kind == fc_kind_image) return encode_raster(a, v, ctx, 0);
    if (v->kind == fc_kind_mask) return encode_raster(a, v, ctx, 1);
    if (v->kind == fc_kind_points) return encode_points(a, v, ctx);
    return FC_OK;
}

static const fc_kind *const aug_kinds[] = {fc_kind_image, fc_kind_mask, fc_kind_points, NULL};
static const fc_transform_def aug_def = {
    .name = "aug_transforms", .order = 30, .split_idx = FC_SPLIT_TRAIN, .kinds = aug_kinds,
    .encodes = aug_encodes, .free_state = free,
};

/* Defaults as fastai's aug_transforms(); zero means default and a negative value turns a part off. */
static fc_status resolve(const fc_aug_opts *o, aug *a) {
    double mult = o->mult ? o->mult : 1.0;
    *a = (aug){.do_flip = !o->no_flip, .flip_vert = o->flip_vert, .nearest = o->nearest, .size = o->size};
    a->max_rotate = (o->max_rotate ? o->max_rotate : 10.0) * mult;
    a->min_zoom = o->min_zoom ? o->min_zoom : 1.0;
    a->max_zoom = o->max_zoom ? o->max_zoom : 1.1;
    a->max_lighting = (o->max_lighting ? o->max_lighting : 0.2) * mult;
    a->max_warp = (o->max_warp ? o->max_warp : 0.2) * mult;
    a->p_affine = o->p_affine < 0 ? 0 : o->p_affine ? o->p_affine : 0.75;
    a->p_lighting = o->p_lighting < 0 ? 0 : o->p_lighting ? o->p_lighting : 0.75;
    a->pad = o->pad_mode == FC_PAD_DEFAULT ? FC_PAD_REFLECTION : o->pad_mode;
    a->do_rotate = o->max_rotate >= 0 && a->max_rotate != 0;
    a->do_zoom = o->max_zoom >= 0 && (a->min_zoom < 1 || a->max_zoom > 1);
    a->do_warp = o->max_warp >= 0 && a->max_warp != 0;
    a->do_lighting = o->max_lighting >= 0 && a->max_lighting != 0;
    const char *who = "aug_transforms";
    if (!(mult > 0)) return fc_fail(FC_ERR_ARG, "%s: expected .mult > 0, found %g", who, mult);
    if ((int)o->pad_mode < FC_PAD_DEFAULT || (int)o->pad_mode > FC_PAD_BORDER)
        return fc_fail(FC_ERR_ARG, "%s: expected .pad_mode FC_PAD_*, found %d", who, (int)o->pad_mode);
    if (a->do_zoom && !(a->min_zoom > 0 && a->min_zoom <= a->max_zoom))
        return fc_fail(FC_ERR_ARG, "%s: expected 0 < .min_zoom <= .max_zoom, found %g and %g", who,
                       a->min_zoom, a->max_zoom);
    if (a->do_lighting && !(a->max_lighting < 1))
        return fc_fail(FC_ERR_ARG, "%s: expected .max_lighting * .mult < 1, found %g", who, a->max_lighting);
    if (a->p_affine > 1 || a->p_lighting > 1)
        return fc_fail(FC_ERR_ARG, "%s: expected .p_affine and .p_lighting <= 1, found %g and %g", who,
                       a->p_affine, a->p_lighting);
    if (o->size < 0) return fc_fail(FC_ERR_ARG, "%s: expected .size >= 0 (0: the input's), found %lld", who,
                                    (long long)o->size);
    return FC_OK;
}

fc_transform *fc_aug_transforms_(const fc_aug_opts *o) {
    aug *a = malloc(sizeof *a);
    if (!a) {
        fc_fail(FC_ERR_NOMEM, "aug_transforms: out of memory");
        return NULL;
    }
    if (resolve(o, a) != FC_OK) {
        free(a);
        return NULL;
    }
    return fc_transform_new(&aug_def, a);
}
