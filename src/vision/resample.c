/* Separable resampling of a source box (possibly reaching outside the image) to an output grid:
 * bilinear with a triangle filter widened by the scale factor when shrinking, which is PIL's
 * BILINEAR resize and torch.nn.functional.interpolate(mode="bilinear", antialias=True,
 * align_corners=False) (torch ported PIL's algorithm); nearest for masks. The weights of every
 * output column and row are computed once, then one horizontal and one vertical pass run over
 * raw pointers. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "resample_impl.h"
#include "vision_impl.h"

/* PIL's fixed point for 8-bit images: 22 fractional bits leave room for 255 * sum(weights). */
#define PRECISION_BITS (32 - 8 - 2)

/* The index in [0, n) that virtual index j reads under pad, or -1 for a zero. */
static int64_t pad_index(int64_t j, int64_t n, fc_pad_mode pad) {
    if (j >= 0 && j < n) return j;
    if (pad == FC_PAD_BORDER) return j < 0 ? 0 : n - 1;
    if (pad == FC_PAD_REFLECTION) {
        if (n == 1) return 0;
        int64_t period = 2 * (n - 1);
        j %= period;
        if (j < 0) j += period;
        return j < n ? j : period - j;
    }
    return -1;
}

/* The filter taps of one axis: output o reads n[o] source indices idx[o * ksize + k] (a zero pad
 * tap reads index 0 with weight 0) with weights w[...] (f32 pass) or wi[...] (u8 pass). */
typedef struct axis {
    int ksize;
    int *n;
    int64_t *idx;
    float *w;
    int32_t *wi;
} axis;

static void axis_free(axis *a) {
    free(a->n);
    free(a->idx);
    free(a->w);
    free(a->wi);
}

/* PIL's precompute_coeffs over the virtual image [lo, hi) of the box (filters stop at its edges,
 * as after fastai's crop and pad), for outputs off .. off + out - 1 of a grid of full. */
static fc_status axis_build(const char *who, double lo, double hi, int64_t full, int64_t off,
                            int64_t out, int64_t len, fc_pad_mode pad, axis *a) {
    double scale = (hi - lo) / (double)full, fs = scale > 1 ? scale : 1, support = fs, ss = 1 / fs;
    int64_t vlo = (int64_t)floor(lo), vhi = (int64_t)ceil(hi);
    a->ksize = (int)ceil(support) * 2 + 1;
    size_t m = (size_t)out * (size_t)a->ksize;
    a->n = malloc((size_t)out * sizeof *a->n);
    a->idx = malloc(m * sizeof *a->idx);
    a->w = malloc(m * sizeof *a->w);
    a->wi = malloc(m * sizeof *a->wi);
    if (!a->n || !a->idx || !a->w || !a->wi)
        return fc_fail(FC_ERR_NOMEM, "%s: out of memory for %zu resampling weights", who, m);
    double *pre = malloc((size_t)a->ksize * sizeof *pre);
    if (!pre) return fc_fail(FC_ERR_NOMEM, "%s: out of memory", who);
    for (int64_t o = 0; o < out; o++) {
        double center = lo + ((double)(off + o) + 0.5) * scale;
        int64_t j0 = (int64_t)floor(center - support + 0.5), j1 = (int64_t)floor(center + support + 0.5);
        if (j0 < vlo) j0 = vlo;
        if (j1 > vhi) j1 = vhi;
        if (j1 - j0 > a->ksize) j1 = j0 + a->ksize;
        int n = j1 > j0 ? (int)(j1 - j0) : 0;
        double total = 0;
        for (int k = 0; k < n; k++) {
            double x = fabs(((double)(j0 + k) - center + 0.5) * ss);
            pre[k] = x < 1 ? 1 - x : 0;
            total += pre[k];
        }
        int64_t *idx = a->idx + o * a->ksize;
        float *w = a->w + o * a->ksize;
        int32_t *wi = a->wi + o * a->ksize;
        for (int k = 0; k < n; k++) {
            double p = total != 0 ? pre[k] / total : 0;
            idx[k] = pad_index(j0 + k, len, pad);
            if (idx[k] < 0) { /* a zero: it still counted in the normalisation, as a padded pixel */
                idx[k] = 0;
                p = 0;
            }
            w[k] = (float)p;
            /* PIL's normalize_coeffs_8bpc */
            wi[k] = (int32_t)(p < 0 ? -0.5 + p * (1 << PRECISION_BITS) : 0.5 + p * (1 << PRECISION_BITS));
        }
        a->n[o] = n;
    }
    free(pre);
    return FC_OK;
}

static inline uint8_t clip8(int32_t v) {
    if (v >= (1 << PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

/* The two passes, written once for both pixel types. src: [c, h, w]; tmp: [c, nr, out_w] rows
 * r0 .. r0 + nr - 1 after the horizontal pass; dst: [c, out_h, out_w]; acc: [out_w], one output
 * row's sums. u8 follows PIL: int32 sums of the fixed-point weights wi, started at one half and
 * clipped to u8 (clip8); f32 sums the float weights w from 0, as torch computes in the dtype. */
#define RESAMPLE_PASSES(name, T, S, WEIGHTS, START, STORE)                                          \
    static void name(const T *src, int64_t c, int64_t h, int64_t w, const axis *ax, const axis *ay, \
                     int64_t out_h, int64_t out_w, int64_t r0, int64_t nr, T *tmp, S *acc, T *dst) { \
        for (int64_t ch = 0; ch < c; ch++)                                                          \
            for (int64_t r = 0; r < nr; r++) {                                                      \
                const T *s = src + (ch * h + r0 + r) * w;                                           \
                T *t = tmp + (ch * nr + r) * out_w;                                                 \
                for (int64_t o = 0; o < out_w; o++) {                                               \
                    const int64_t *idx = ax->idx + o * ax->ksize;                                   \
                    const S *wk = ax->WEIGHTS + o * ax->ksize;                                      \
                    S sum = START;                                                                  \
                    for (int k = 0; k < ax->n[o]; k++) sum += (S)s[idx[k]] * wk[k];                 \
                    t[o] = STORE(sum);                                                              \
                }                                                                                   \
            }                                                                                       \
        for (int64_t ch = 0; ch < c; ch++)                                                          \
            for (int64_t o = 0; o < out_h; o++) {                                                   \
                const int64_t *idx = ay->idx + o * ay->ksize;                                       \
                const S *wk = ay->WEIGHTS + o * ay->ksize;                                          \
                for (int64_t x = 0; x < out_w; x++) acc[x] = START;                                 \
                for (int k = 0; k < ay->n[o]; k++) {                                                \
                    const T *t = tmp + (ch * nr + idx[k] - r0) * out_w;                             \
                    S wv = wk[k];                                                                   \
                    for (int64_t x = 0; x < out_w; x++) acc[x] += (S)t[x] * wv;                     \
                }                                                                                   \
                T *d = dst + (ch * out_h + o) * out_w;                                              \
                for (int64_t x = 0; x < out_w; x++) d[x] = STORE(acc[x]);                           \
            }                                                                                       \
    }

static inline float store_f32(float v) { return v; }
RESAMPLE_PASSES(resample_u8, uint8_t, int32_t, wi, 1 << (PRECISION_BITS - 1), clip8)
RESAMPLE_PASSES(resample_f32, float, float, w, 0.0f, store_f32)

static fc_status check_spec(const char *who, const fci_resample *r) {
    if (!(r->x1 > r->x0) || !(r->y1 > r->y0) || r->full_h <= 0 || r->full_w <= 0 || r->out_h <= 0 ||
        r->out_w <= 0 || r->off_y < 0 || r->off_x < 0 || r->off_y + r->out_h > r->full_h ||
        r->off_x + r->out_w > r->full_w || !isfinite(r->x0 + r->x1 + r->y0 + r->y1))
        return fc_fail(FC_ERR_INTERNAL, "%s: bad resampling box (%g, %g, %g, %g) to %lld x %lld at "
                       "(%lld, %lld) of %lld x %lld (%s:%d)", who, r->x0, r->y0, r->x1, r->y1,
                       (long long)r->out_h, (long long)r->out_w, (long long)r->off_y,
                       (long long)r->off_x, (long long)r->full_h, (long long)r->full_w, __FILE__, __LINE__);
    return FC_OK;
}

fc_tensor *fci_resample_image(const char *who, fc_tensor *img, const fci_resample *r) {
    if (!img) return NULL;
    fc_dtype dt = fc_tensor_dtype(img);
    if (fc_tensor_ndim(img) != 3 || (dt != FC_DTYPE_U8 && dt != FC_DTYPE_F32)) {
        fc_fail(fc_tensor_ndim(img) != 3 ? FC_ERR_SHAPE : FC_ERR_DTYPE,
                "%s: expected an image u8 or f32 [C, H, W], found %s %s", who, fc_dtype_name(dt),
                fci_tshape(img));
        return NULL;
    }
    if (check_spec(who, r) != FC_OK) return NULL;
    const int64_t *d = fc_tensor_dims(img);
    int64_t c = d[0], h = d[1], w = d[2];
    if (h == 0 || w == 0) {
        fc_fail(FC_ERR_SHAPE, "%s: expected a non-empty image, found %s", who, fci_tshape(img));
        return NULL;
    }
    fc_tensor *xc = fci_vision_contiguous(who, img), *y = NULL;
    axis ax = {0}, ay = {0};
    void *tmp = NULL, *acc = NULL;
    if (!xc) goto done;
    if (axis_build(who, r->x0, r->x1, r->full_w, r->off_x, r->out_w, w, r->pad, &ax) != FC_OK ||
        axis_build(who, r->y0, r->y1, r->full_h, r->off_y, r->out_h, h, r->pad, &ay) != FC_OK)
        goto done;
    /* the source rows the vertical taps read: only those go through the horizontal pass */
    int64_t r0 = h, r1 = -1;
    for (int64_t o = 0; o < r->out_h; o++)
        for (int k = 0; k < ay.n[o]; k++) {
            int64_t j = ay.idx[o * ay.ksize + k];
            if (j < r0) r0 = j;
            if (j > r1) r1 = j;
        }
    int64_t nr = r1 >= r0 ? r1 - r0 + 1 : 0;
    if (nr == 0) r0 = 0;
    size_t esz = fc_dtype_size(dt);
    tmp = malloc((size_t)(c * (nr ? nr : 1) * r->out_w) * esz);
    _Static_assert(sizeof(int32_t) == sizeof(float), "acc holds int32 (u8) or float (f32) sums");
    acc = malloc((size_t)r->out_w * sizeof(float));
    if (!tmp || !acc) {
        fc_fail(FC_ERR_NOMEM, "%s: out of memory for a %lld x %lld x %lld image", who, (long long)c,
                (long long)nr, (long long)r->out_w);
        goto done;
    }
    y = fc_keep(fci_tensor_alloc(FC_SHAPE(c, r->out_h, r->out_w), dt, FC_CPU));
    if (!y) goto done;
    if (dt == FC_DTYPE_U8)
        resample_u8(fc_tensor_data(xc), c, h, w, &ax, &ay, r->out_h, r->out_w, r0, nr, tmp, acc,
                    fc_tensor_data(y));
    else
        resample_f32(fc_tensor_data_f32(xc), c, h, w, &ax, &ay, r->out_h, r->out_w, r0, nr, tmp, acc,
                     fc_tensor_data_f32(y));
done:
    free(acc);
    free(tmp);
    axis_free(&ay);
    axis_free(&ax);
    fc_tensor_free(xc);
    return y;
}

/* Source index (or -1: a zero) of each output along one axis: the pixel whose square holds the
 * output pixel's centre, as PIL's NEAREST (floor of box0 + (o + 0.5) * scale), kept in the box. */
static void axis_nearest(double lo, double hi, int64_t full, int64_t off, int64_t out, int64_t len,
                         fc_pad_mode pad, int64_t *idx) {
    double scale = (hi - lo) / (double)full;
    int64_t vlo = (int64_t)floor(lo), vhi = (int64_t)ceil(hi);
    for (int64_t o = 0; o < out; o++) {
        int64_t j = (int64_t)floor(lo + ((double)(off + o) + 0.5) * scale);
        if (j < vlo) j = vlo;
        if (j > vhi - 1) j = vhi - 1;
        idx[o] = pad_index(j, len, pad);
    }
}

fc_tensor *fci_resample_nearest(const char *who, fc_tensor *mask, const fci_resample *r) {
    if (!mask) return NULL;
    if (fc_tensor_ndim(mask) != 2) {
        fc_fail(FC_ERR_SHAPE, "%s: expected a mask [H, W], found %s %s", who,
                fc_dtype_name(fc_tensor_dtype(mask)), fci_tshape(mask));
        return NULL;
    }
    if (check_spec(who, r) != FC_OK) return NULL;
    int64_t h = fc_tensor_dim(mask, 0), w = fc_tensor_dim(mask, 1);
    if (h == 0 || w == 0) {
        fc_fail(FC_ERR_SHAPE, "%s: expected a non-empty mask, found %s", who, fci_tshape(mask));
        return NULL;
    }
    fc_tensor *xc = fci_vision_contiguous(who, mask), *y = NULL;
    int64_t *ix = malloc((size_t)(r->out_w + r->out_h) * sizeof *ix);
    if (!ix) fc_fail(FC_ERR_NOMEM, "%s: out of memory", who);
    if (ix && xc) y = fc_keep(fci_tensor_alloc(FC_SHAPE(r->out_h, r->out_w), fc_tensor_dtype(mask), FC_CPU));
    if (y) {
        int64_t *iy = ix + r->out_w;
        axis_nearest(r->x0, r->x1, r->full_w, r->off_x, r->out_w, w, r->pad, ix);
        axis_nearest(r->y0, r->y1, r->full_h, r->off_y, r->out_h, h, r->pad, iy);
        size_t esz = fc_dtype_size(fc_tensor_dtype(mask));
        const char *src = fc_tensor_data(xc);
        char *dst = fc_tensor_data(y);
        for (int64_t o = 0; o < r->out_h; o++)
            for (int64_t x = 0; x < r->out_w; x++, dst += esz) {
                if (iy[o] < 0 || ix[x] < 0) memset(dst, 0, esz);
                else memcpy(dst, src + (size_t)(iy[o] * w + ix[x]) * esz, esz);
            }
    }
    free(ix);
    fc_tensor_free(xc);
    return y;
}
