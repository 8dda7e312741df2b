/* Image item transforms: fastai 2.7's Resize (crop, pad, squish), RandomResizedCrop, CropPad and
 * RandomCrop. Each works out one geometry per item, a source box resampled to the output
 * (resample_impl.h), and applies it to every value of the item: images bilinear, masks nearest,
 * points and bboxes moved and scaled. fastai's integer arithmetic (int(), //, round()) is kept so
 * the boxes are the ones fastai computes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "../core/json_impl.h"
#include "../data/data_impl.h"
#include "resample_impl.h"

typedef enum tfm_type { T_RESIZE, T_RRC, T_CROP_PAD, T_RANDOM_CROP } tfm_type;

typedef struct vtfm {
    tfm_type type;
    const char *name;
    int64_t h, w;              /* output size */
    fc_resize_method method;   /* Resize */
    fc_pad_mode pad;
    double min_scale, max_scale, ratio_lo, ratio_hi, val_xtra; /* RandomResizedCrop */
    int64_t padding;           /* RandomCrop */
} vtfm;

/* ---- the random draw of an item ----
 * encodes runs once per value of the item (image, then mask, points...), so the draw must come out
 * the same on every call for one item. The generator is counter-based (Philox of seed and offset):
 * we copy ctx->rng and draw from the copy, never advancing ctx->rng, so every value of the item
 * sees the same state and gets the same numbers; the state depends only on (loader seed, epoch,
 * item), so the draw is reproducible on any thread count. The seed is mixed with a constant per
 * transform type so that, e.g., RandomCrop after RandomResizedCrop draws other numbers. */
static fc_rng item_rng(const vtfm *t, const fc_tfm_ctx *ctx) {
    static const uint64_t salt[] = {0x52e5a17c3d1f0b9bull, 0x7a3c9e1b5d2f4863ull,
                                    0x1d6b3f8e2a4c7095ull, 0x6f2e8d4b1c3a5977ull};
    fc_rng g = ctx && ctx->rng ? *ctx->rng : fc_rng_new(ctx ? (uint64_t)ctx->index : 0);
    g.seed ^= salt[t->type];
    return g;
}
static double uniform(fc_rng *g) { return (double)fc_rng_u32(g) * (1.0 / 4294967296.0); } /* [0, 1) */
/* Python's random.randint(lo, hi): both ends included. */
static int64_t randint(fc_rng *g, int64_t lo, int64_t hi) {
    int64_t v = lo + (int64_t)(uniform(g) * (double)(hi - lo + 1));
    return v > hi ? hi : v;
}
static int is_train(const fc_tfm_ctx *ctx) { return ctx && ctx->split == FC_SPLIT_TRAIN; }
static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* The box of an integer crop (tl, size) resampled to (out_h, out_w) whole. */
static fci_resample crop_box(int64_t left, int64_t top, int64_t cw, int64_t ch, int64_t out_h,
                             int64_t out_w, fc_pad_mode pad) {
    return (fci_resample){.x0 = (double)left, .y0 = (double)top, .x1 = (double)(left + cw),
                          .y1 = (double)(top + ch), .full_h = out_h, .full_w = out_w,
                          .out_h = out_h, .out_w = out_w, .pad = pad};
}

/* fastai's Resize.before_call and encodes: the largest crop (or smallest pad) of the target's
 * aspect ratio, at a random place on train (pcts) and centred otherwise. */
static fci_resample plan_resize(const vtfm *t, int64_t H, int64_t W, const fc_tfm_ctx *ctx) {
    if (t->method == FC_RESIZE_SQUISH) return crop_box(0, 0, W, H, t->h, t->w, t->pad);
    double rw = (double)W / (double)t->w, rh = (double)H / (double)t->h;
    double m = t->method == FC_RESIZE_PAD ? (rw > rh ? rw : rh) : (rw < rh ? rw : rh);
    int64_t cw = (int64_t)(m * (double)t->w), ch = (int64_t)(m * (double)t->h);
    if (cw < 1) cw = 1; /* a 1-pixel-wide image to a wide target: fastai's crop would be empty */
    if (ch < 1) ch = 1;
    double px = 0.5, py = 0.5;
    if (is_train(ctx)) {
        fc_rng g = item_rng(t, ctx);
        px = uniform(&g);
        py = uniform(&g);
    }
    /* int() truncates toward zero, also for the negative offsets of a pad */
    int64_t left = (int64_t)(px * (double)(W - cw)), top = (int64_t)(py * (double)(H - ch));
    return crop_box(left, top, cw, ch, t->h, t->w, t->pad);
}

/* fastai's RandomResizedCrop.before_call and encodes. */
static fci_resample plan_rrc(const vtfm *t, int64_t H, int64_t W, const fc_tfm_ctx *ctx) {
    if (!is_train(ctx)) {
        int64_t big = t->h > t->w ? t->h : t->w;
        int64_t xtra = (int64_t)ceil((double)big * t->val_xtra / 8) * 8;
        fci_resample r = crop_box(0, 0, W, H, t->h + xtra, t->w + xtra, t->pad);
        r.out_h = t->h;
        r.out_w = t->w;
        r.off_y = xtra / 2; /* (final - size) // 2 */
        r.off_x = xtra / 2;
        return r;
    }
    fc_rng g = item_rng(t, ctx);
    double area0 = (double)W * (double)H, llo = log(t->ratio_lo), lhi = log(t->ratio_hi);
    for (int attempt = 0; attempt < 10; attempt++) {
        double area = (t->min_scale + (t->max_scale - t->min_scale) * uniform(&g)) * area0;
        double ratio = exp(llo + (lhi - llo) * uniform(&g));
        /* round() is Python's: half to even, which rint does in the default rounding mode */
        int64_t nw = (int64_t)rint(sqrt(area * ratio)), nh = (int64_t)rint(sqrt(area / ratio));
        if (nw <= W && nh <= H && nw >= 1 && nh >= 1) { /* fastai lacks >= 1: an empty crop */
            int64_t left = randint(&g, 0, W - nw), top = randint(&g, 0, H - nh);
            return crop_box(left, top, nw, nh, t->h, t->w, t->pad);
        }
    }
    int64_t cw = W, ch = H;
    if ((double)W / (double)H < t->ratio_lo) ch = (int64_t)((double)W / t->ratio_lo);
    else if ((double)W / (double)H > t->ratio_hi) cw = (int64_t)((double)H * t->ratio_hi);
    if (cw < 1) cw = 1;
    if (ch < 1) ch = 1;
    return crop_box((W - cw) / 2, (H - ch) / 2, cw, ch, t->h, t->w, t->pad);
}

/* fastai's CropPad (centred) and RandomCrop (after padding by t->padding on each side). */
static fci_resample plan_crop(const vtfm *t, int64_t H, int64_t W, const fc_tfm_ctx *ctx) {
    int64_t p = t->padding, wd = W + 2 * p - t->w, hd = H + 2 * p - t->h, left, top;
    if (t->type == T_RANDOM_CROP && is_train(ctx)) {
        fc_rng g = item_rng(t, ctx);
        left = wd < 0 ? randint(&g, wd, -1) : randint(&g, 0, wd);
        top = hd < 0 ? randint(&g, hd, -1) : randint(&g, 0, hd);
    } else {
        left = floor_div(wd, 2);
        top = floor_div(hd, 2);
    }
    return crop_box(left - p, top - p, t->w, t->h, t->h, t->w, t->pad);
}

static fci_resample plan(const vtfm *t, int64_t H, int64_t W, const fc_tfm_ctx *ctx) {
    switch (t->type) {
    case T_RESIZE: return plan_resize(t, H, W, ctx);
    case T_RRC: return plan_rrc(t, H, W, ctx);
    default: return plan_crop(t, H, W, ctx);
    }
}

/* ---- the image size of an item, for its points and bboxes ----
 * Points and bboxes carry no image size, and the geometry depends on it. A tuple is encoded value
 * by value on one thread, the image (an input) before its targets, so the last image or mask size
 * this transform saw on this thread for the same item (index, split and generator state) is the
 * item's. */
typedef struct seen_size {
    const void *state;
    int64_t index;
    fc_split_idx split;
    uint64_t seed, offset;
    int64_t h, w;
} seen_size;
static _Thread_local seen_size g_seen;

static seen_size seen_key(const vtfm *t, const fc_tfm_ctx *ctx) {
    seen_size s = {.state = t};
    if (ctx) {
        s.index = ctx->index;
        s.split = ctx->split;
        if (ctx->rng) {
            s.seed = ctx->rng->seed;
            s.offset = ctx->rng->offset;
        }
    }
    return s;
}
static int same_item(const seen_size *a, const seen_size *b) {
    return a->state == b->state && a->index == b->index && a->split == b->split &&
           a->seed == b->seed && a->offset == b->offset;
}

static fc_status wrong_value(const vtfm *t, const fc_value *v, const char *expected) {
    char buf[160];
    return fc_fail(FC_ERR_SHAPE, "%s: expected %s, found %s", t->name, expected,
                   fc_value_str(v, buf, sizeof buf));
}

/* points [n, 2] or bboxes [n, 4] (f32 or f64 pixels) through r; bboxes are clipped to the output. */
static fc_status move_points(const vtfm *t, fc_value *v, const fci_resample *r, int is_bbox) {
    int k = is_bbox ? 4 : 2;
    fc_tensor *x = v->t;
    fc_dtype dt = fc_tensor_dtype(x);
    if (fc_tensor_ndim(x) != 2 || fc_tensor_dim(x, 1) != k)
        return wrong_value(t, v, is_bbox ? "bboxes [n, 4] (x0, y0, x1, y1)" : "points [n, 2] (x, y)");
    if (!fc_dtype_is_float(dt)) {
        char buf[160];
        return fc_fail(FC_ERR_DTYPE, "%s: expected float %s, found %s", t->name,
                       is_bbox ? "bboxes" : "points", fc_value_str(v, buf, sizeof buf));
    }
    int64_t n = fc_tensor_dim(x, 0);
    fc_tensor *y = fc_keep(fci_tensor_alloc(FC_SHAPE(n, k), FC_DTYPE_F32, FC_CPU));
    float *q = y ? fc_tensor_data_f32(y) : NULL;
    if (!y || fc_tensor_copy_out(x, q, FC_DTYPE_F32) != FC_OK) {
        fc_tensor_free(y);
        return fc_error_code();
    }
    for (int64_t i = 0; i < n * k; i += 2) {
        double px = q[i], py = q[i + 1];
        fci_resample_point(r, &px, &py);
        if (is_bbox) {
            px = px < 0 ? 0 : px > (double)r->out_w ? (double)r->out_w : px;
            py = py < 0 ? 0 : py > (double)r->out_h ? (double)r->out_h : py;
        }
        q[i] = (float)px;
        q[i + 1] = (float)py;
    }
    fc_value_set_tensor(v, NULL, y);
    return FC_OK;
}

static fc_status vtfm_encodes(void *state, fc_value *v, const fc_tfm_ctx *ctx) {
    const vtfm *t = state;
    if (!v->t) return FC_OK;
    fc_tensor *x = v->t, *y = NULL;
    int is_mask = v->kind == fc_kind_mask;
    if (v->kind == fc_kind_image || is_mask) {
        int nd = fc_tensor_ndim(x);
        if (nd != (is_mask ? 2 : 3))
            return wrong_value(t, v, is_mask ? "a mask [H, W]" : "an image [C, H, W]");
        int64_t h = fc_tensor_dim(x, nd - 2), w = fc_tensor_dim(x, nd - 1);
        if (h <= 0 || w <= 0) return wrong_value(t, v, "a non-empty image");
        seen_size key = seen_key(t, ctx);
        key.h = h;
        key.w = w;
        g_seen = key;
        fci_resample r = plan(t, h, w, ctx);
        y = is_mask ? fci_resample_nearest(t->name, x, &r) : fci_resample_image(t->name, x, &r);
        if (!y) return fc_error_code();
        fc_value_set_tensor(v, NULL, y);
        return FC_OK;
    }
    int is_bbox = v->kind == fc_kind_bbox;
    seen_size key = seen_key(t, ctx);
    if (!same_item(&g_seen, &key))
        return fc_fail(FC_ERR_STATE, "%s: %s carry no image size: expected an image or mask value "
                       "before them in the item (item %lld), found none", t->name,
                       is_bbox ? "bboxes" : "points", (long long)key.index);
    fci_resample r = plan(t, g_seen.h, g_seen.w, ctx);
    return move_points(t, v, &r, is_bbox);
}

static const fc_kind *const vtfm_kinds[] = {fc_kind_image, fc_kind_mask, fc_kind_points, fc_kind_bbox, NULL};
/* Export (h-export): the constructor's arguments, resolved (the defaults written out). */
static char *vtfm_to_json(void *state) {
    const vtfm *t = state;
    static const char *const pads[] = {"default", "zeros", "reflection", "border"};
    static const char *const methods[] = {"crop", "pad", "squish"};
    fci_sbuf b = {0};
    fci_sb_printf(&b, "{\"size\":%lld,\"w\":%lld,\"pad_mode\":\"%s\"", (long long)t->h, (long long)t->w, pads[t->pad]);
    if (t->type == T_RESIZE) fci_sb_printf(&b, ",\"method\":\"%s\"", methods[t->method]);
    if (t->type == T_RRC)
        fci_sb_printf(&b, ",\"min_scale\":%.17g,\"max_scale\":%.17g,\"ratio_lo\":%.17g,\"ratio_hi\":%.17g,\"val_xtra\":%.17g",
                      t->min_scale, t->max_scale, t->ratio_lo, t->ratio_hi, t->val_xtra);
    if (t->type == T_RANDOM_CROP || t->type == T_CROP_PAD) fci_sb_printf(&b, ",\"padding\":%lld", (long long)t->padding);
    fci_sb_puts(&b, "}");
    if (b.failed) free(b.p);
    return b.failed ? NULL : b.p;
}

static const fc_transform_def resize_def = {.name = "Resize", .order = 1, .kinds = vtfm_kinds,
                                            .encodes = vtfm_encodes, .free_state = free, .to_json = vtfm_to_json};
static const fc_transform_def rrc_def = {.name = "RandomResizedCrop", .order = 1, .kinds = vtfm_kinds,
                                         .encodes = vtfm_encodes, .free_state = free, .to_json = vtfm_to_json};
static const fc_transform_def crop_pad_def = {.name = "CropPad", .order = 1, .kinds = vtfm_kinds,
                                              .encodes = vtfm_encodes, .free_state = free, .to_json = vtfm_to_json};
static const fc_transform_def random_crop_def = {.name = "RandomCrop", .order = 1, .kinds = vtfm_kinds,
                                                 .encodes = vtfm_encodes, .free_state = free, .to_json = vtfm_to_json};

/* Checks what every constructor takes and returns a new state, or NULL with the error set. */
static vtfm *vtfm_new(tfm_type type, const char *who, int64_t size, int64_t w, fc_pad_mode pad,
                      fc_pad_mode default_pad) {
    if (size <= 0) {
        fc_fail(FC_ERR_ARG, "%s: expected size > 0, found %lld", who, (long long)size);
        return NULL;
    }
    if (w < 0) {
        fc_fail(FC_ERR_ARG, "%s: expected .w > 0 (or 0: size), found %lld", who, (long long)w);
        return NULL;
    }
    if ((int)pad < FC_PAD_DEFAULT || pad > FC_PAD_BORDER) {
        fc_fail(FC_ERR_ARG, "%s: expected .pad_mode FC_PAD_ZEROS, FC_PAD_REFLECTION or FC_PAD_BORDER, "
                "found %d", who, (int)pad);
        return NULL;
    }
    vtfm *t = calloc(1, sizeof *t);
    if (!t) {
        fc_fail(FC_ERR_NOMEM, "%s: out of memory", who);
        return NULL;
    }
    t->type = type;
    t->h = size;
    t->w = w ? w : size;
    t->pad = pad ? pad : default_pad;
    return t;
}

fc_transform *fc_resize_(int64_t size, const fc_resize_opts *o) {
    if ((int)o->method < FC_RESIZE_CROP || o->method > FC_RESIZE_SQUISH) {
        fc_fail(FC_ERR_ARG, "resize: expected .method FC_RESIZE_CROP, FC_RESIZE_PAD or FC_RESIZE_SQUISH, "
                "found %d", (int)o->method);
        return NULL;
    }
    vtfm *t = vtfm_new(T_RESIZE, "resize", size, o->w, o->pad_mode, FC_PAD_REFLECTION);
    if (!t) return NULL;
    t->name = "Resize";
    t->method = o->method;
    return fc_transform_new(&resize_def, t);
}

fc_transform *fc_random_resized_crop_(int64_t size, const fc_random_resized_crop_opts *o) {
    const char *who = "random_resized_crop";
    double lo = o->min_scale ? o->min_scale : 0.08, hi = o->max_scale ? o->max_scale : 1;
    double rlo = o->ratio_lo ? o->ratio_lo : 3.0 / 4, rhi = o->ratio_hi ? o->ratio_hi : 4.0 / 3;
    if (!(lo > 0 && lo <= hi)) {
        fc_fail(FC_ERR_ARG, "%s: expected 0 < .min_scale <= .max_scale, found %g and %g", who, lo, hi);
        return NULL;
    }
    if (!(rlo > 0 && rlo <= rhi)) {
        fc_fail(FC_ERR_ARG, "%s: expected 0 < .ratio_lo <= .ratio_hi, found %g and %g", who, rlo, rhi);
        return NULL;
    }
    vtfm *t = vtfm_new(T_RRC, who, size, o->w, FC_PAD_DEFAULT, FC_PAD_REFLECTION);
    if (!t) return NULL;
    t->name = "RandomResizedCrop";
    t->min_scale = lo;
    t->max_scale = hi;
    t->ratio_lo = rlo;
    t->ratio_hi = rhi;
    t->val_xtra = o->val_xtra == 0 ? 0.14 : o->val_xtra < 0 ? 0 : o->val_xtra;
    return fc_transform_new(&rrc_def, t);
}

static fc_transform *crop_new(tfm_type type, const char *who, int64_t size, const fc_crop_pad_opts *o) {
    if (o->padding < 0) {
        fc_fail(FC_ERR_ARG, "%s: expected .padding >= 0, found %lld", who, (long long)o->padding);
        return NULL;
    }
    vtfm *t = vtfm_new(type, who, size, o->w, o->pad_mode, FC_PAD_ZEROS);
    if (!t) return NULL;
    t->name = type == T_CROP_PAD ? "CropPad" : "RandomCrop";
    t->padding = o->padding;
    return fc_transform_new(type == T_CROP_PAD ? &crop_pad_def : &random_crop_def, t);
}
fc_transform *fc_crop_pad_(int64_t size, const fc_crop_pad_opts *o) {
    return crop_new(T_CROP_PAD, "crop_pad", size, o);
}
fc_transform *fc_random_crop_(int64_t size, const fc_crop_pad_opts *o) {
    return crop_new(T_RANDOM_CROP, "random_crop", size, o);
}
