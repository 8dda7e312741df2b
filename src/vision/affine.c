/* Affine / projective resampling: PyTorch's affine_grid + grid_sample (align_corners=True) fused
 * into one pass that computes each output pixel's source coordinate from a 3x3 matrix, without
 * materialising the grid. fc_affine_sample is the public step; aug_transforms (augment.c) calls
 * the per-image kernels with its own matrices, masks and fused lighting. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "affine_impl.h"
#include "vision_impl.h"
#if FASTC_CUDA
#include "../core/cuda_impl.h"
#include "../ops/cuda/kernels.h"
#endif

/* Output pixels handled per tile: taps and weights for 256 pixels (12 KiB) stay in L1 while every
 * channel is read through them. */
#define TILE 256

/* min / max without libm: fminf and fmaxf are calls unless -ffinite-math-only, and block vectorizing */
static inline float minf(float a, float b) { return a < b ? a : b; }
static inline float maxf(float a, float b) { return a > b ? a : b; }

/* torch.linspace(-1, 1, n)[i] as torch computes it (from both ends, halfway split); 0 when n == 1
 * (affine_grid's linspace_from_neg_one). */
static inline float lin(int64_t i, int64_t n) {
    if (n <= 1) return 0.0f;
    float step = 2.0f / (float)(n - 1);
    return i < n / 2 ? -1.0f + step * (float)i : 1.0f - step * (float)(n - 1 - i);
}

/* grid_sampler's reflect_coordinates(v, 0, 2 (size - 1)) then clip_coordinates (align_corners). */
static inline float reflect_clip(float v, int64_t size) {
    float span = (float)(size - 1);
    if (v >= 0.0f && v <= span) return v; /* inside: the common case, without fmodf */
    if (size <= 1 || !isfinite(v)) return 0.0f;
    v = fabsf(v);
    float extra = fmodf(v, span);
    int64_t flips = (int64_t)floorf(v / span);
    v = (flips & 1) ? span - extra : extra;
    return minf(maxf(v, 0.0f), span);
}

static inline float clip(float v, int64_t size) {
    if (v != v) return 0.0f;
    return minf(maxf(v, 0.0f), (float)(size - 1));
}

/* nearbyintf (round half to even, as torch's nearest) for |v| < 2^22 without a libm call: after
 * adding 1.5 * 2^23 no fraction bits are left, so the default rounding mode does it. */
static inline float round_even(float v) {
    return (v + 12582912.0f) - 12582912.0f; /* not folded: C compilers keep float sums unless -ffast-math */
}

/* log2 and exp2 in plain float arithmetic so the lighting loop vectorizes: libm's logf and expf
 * are scalar calls and made lighting 4x the cost of the sampling (bench/RESULTS.md). log2: the
 * atanh series on a mantissa in [sqrt(1/2), sqrt(2)), |error| < 1.1e-6 (float rounding of the
 * exponent sum); exp2: Cephes' exp2f polynomial on [-1/2, 1/2], relative error < 1e-7.
 * Not the ops layer's fci_vexpf / fci_vlogf (src/ops/cpu/vmath.h): those cover the whole float range
 * (NaN, inf, denormals) with selects this bounded input does not need; with them the lighting of a
 * 64x3x224x224 batch took 25.7 ms of one thread's CPU instead of 16.1 (~10 ms more on aug_transforms' 57). */
static inline float fast_log2(float x) { /* x > 0, normal */
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    /* mantissa in [sqrt(1/2), sqrt(2)): halve it (and count one more in the exponent) when its bits
     * are past sqrt(2)'s; integer arithmetic only, so the loop stays branch-free and vectorizes */
    uint32_t mant = b & 0x007fffffu, big = mant > 0x3504f3u;
    int32_t e = (int32_t)((b >> 23) & 0xff) - 127 + (int32_t)big;
    uint32_t mb = mant | (0x3f800000u - (big << 23));
    float m;
    memcpy(&m, &mb, sizeof m);
    float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
    float p = t * (2.0f + t2 * (2.0f / 3 + t2 * (2.0f / 5 + t2 * (2.0f / 7 + t2 * (2.0f / 9)))));
    return p * 1.44269504f + (float)e;
}

/* Clamps on the float's bits: selects between integers are if-converted (and the loop vectorized)
 * where a float select followed by arithmetic is not, under the default -ftrapping-math. */
static inline float clamp_abs(float z, float lim) { /* to [-lim, lim]; NaN to +-lim */
    uint32_t b, l;
    memcpy(&b, &z, sizeof b);
    memcpy(&l, &lim, sizeof l);
    b = (b & 0x7fffffffu) > l ? (b & 0x80000000u) | l : b;
    memcpy(&z, &b, sizeof z);
    return z;
}
static inline float clamp_pos(float v, float lo, float hi) { /* 0 < lo < hi; NaN to hi, negatives to lo */
    int32_t b, l, h;
    memcpy(&b, &v, sizeof b);
    memcpy(&l, &lo, sizeof l);
    memcpy(&h, &hi, sizeof h);
    b = b < l ? l : b; /* positive floats order as their bits; negative ones are negative ints */
    b = b > h ? h : b;
    memcpy(&v, &b, sizeof v);
    return v;
}

static inline float fast_exp2(float z) {
    z = clamp_abs(z, 126.0f);
    int32_t i = (int32_t)(z + 127.5f) - 127; /* round(z): truncation of a positive number */
    float fi = (float)i, x = z - fi;
    float y = 1.535336188319500e-4f;
    y = y * x + 1.339887440266574e-3f;
    y = y * x + 9.618437357674640e-3f;
    y = y * x + 5.550332471162809e-2f;
    y = y * x + 2.402264791363012e-1f;
    y = y * x + 6.931472028550421e-1f;
    y = y * x + 1.0f;
    uint32_t sb = (uint32_t)(i + 127) << 23;
    float scale;
    memcpy(&scale, &sb, sizeof scale);
    return y * scale;
}

/* fastai's lighting: sigmoid((logit(v) + add) * mul) with logit(v) = -ln(1 / v - 1) on v clamped to
 * [1e-7, 1 - 1e-7]; written as 1 / (1 + 2^(mul log2(1 / v - 1) - mul add log2(e))). */
static void light_row(float *y, int n, const fci_lighting *l) {
    const float c = l->mul, b = -l->mul * l->add * 1.44269504f;
    for (int k = 0; k < n; k++) {
        float v = clamp_pos(y[k], 1e-7f, 1.0f - 1e-7f);
        y[k] = 1.0f / (1.0f + fast_exp2(c * fast_log2(1.0f / v - 1.0f) + b));
    }
}

/* Source coordinates of one tile (n output pixels of row by, columns bx[n]) in pixels, after the
 * padding's mapping: clipped (border), reflected (reflection), or bounded to [-2, size + 1]
 * (zeros: anything past one pixel outside reads nothing; bounded so it converts to an integer).
 * Separate loops: arithmetic, then selects only, so each vectorizes under -ftrapping-math. */
static void tile_coords(const float m[9], const float *bx, float by, int n, int64_t h, int64_t w,
                        fc_pad_mode pad, float *ix, float *iy) {
    const float ax = m[1] * by + m[2], ay = m[4] * by + m[5], az = m[7] * by + m[8];
    const float wm = (float)(w - 1), hm = (float)(h - 1);
    if (m[6] == 0.0f && m[7] == 0.0f && m[8] == 1.0f)
        for (int k = 0; k < n; k++) { /* torch's grid_sampler_unnormalize: ((g + 1) / 2) (size - 1) */
            ix[k] = (m[0] * bx[k] + ax + 1.0f) * 0.5f * wm;
            iy[k] = (m[3] * bx[k] + ay + 1.0f) * 0.5f * hm;
        }
    else
        for (int k = 0; k < n; k++) {
            float gz = m[6] * bx[k] + az;
            ix[k] = ((m[0] * bx[k] + ax) / gz + 1.0f) * 0.5f * wm;
            iy[k] = ((m[3] * bx[k] + ay) / gz + 1.0f) * 0.5f * hm;
        }
    if (pad == FC_PAD_REFLECTION) {
        int all_in = 1;
        for (int k = 0; k < n; k++) all_in &= (ix[k] >= 0.0f) & (ix[k] <= wm) & (iy[k] >= 0.0f) & (iy[k] <= hm);
        if (all_in) return;
        for (int k = 0; k < n; k++) {
            ix[k] = reflect_clip(ix[k], w);
            iy[k] = reflect_clip(iy[k], h);
        }
        return;
    }
    const float lo = pad == FC_PAD_BORDER ? 0.0f : -2.0f, extra = pad == FC_PAD_BORDER ? 0.0f : 2.0f;
    for (int k = 0; k < n; k++) { /* maxf first: NaN becomes lo */
        ix[k] = minf(maxf(ix[k], lo), wm + extra);
        iy[k] = minf(maxf(iy[k], lo), hm + extra);
    }
}

/* Taps of one tile: offsets into a plane and weights, 0 for a tap outside the image (possible
 * only under zeros padding), whose offset is then 0 so the read stays in bounds. 1 tap (nearest:
 * round half to even, as torch) or 4 (bilinear). ix, iy >= -2 (tile_coords), so floor is a
 * truncation after adding 2 and needs no libm call. Planes have < 2^31 pixels (checked by callers).
 * An outside tap reads pixel 0 with weight 0, branch-free: a NaN or inf there would leak in (images
 * are finite; torch's vectorized kernel masks the read instead). */
static void tile_taps(const float *ix, const float *iy, int n, int64_t h, int64_t w, int nearest,
                      int32_t off[4][TILE], float wt[4][TILE]) {
    const int32_t wi = (int32_t)w, hi = (int32_t)h;
    if (nearest) {
        for (int k = 0; k < n; k++) {
            int32_t px = (int32_t)round_even(ix[k]), py = (int32_t)round_even(iy[k]);
            int32_t in = (px >= 0) & (px < wi) & (py >= 0) & (py < hi);
            off[0][k] = in ? py * wi + px : 0;
            wt[0][k] = in ? 1.0f : 0.0f;
        }
        return;
    }
    for (int k = 0; k < n; k++) {
        int32_t x0 = (int32_t)(ix[k] + 2.0f) - 2, y0 = (int32_t)(iy[k] + 2.0f) - 2;
        float fx = ix[k] - (float)x0, fy = iy[k] - (float)y0;
        int32_t inx0 = (x0 >= 0) & (x0 < wi), inx1 = (x0 + 1 >= 0) & (x0 + 1 < wi);
        int32_t iny0 = (y0 >= 0) & (y0 < hi), iny1 = (y0 + 1 >= 0) & (y0 + 1 < hi);
        int32_t o = y0 * wi + x0;
        off[0][k] = inx0 & iny0 ? o : 0;
        off[1][k] = inx1 & iny0 ? o + 1 : 0;
        off[2][k] = inx0 & iny1 ? o + wi : 0;
        off[3][k] = inx1 & iny1 ? o + wi + 1 : 0;
        /* times 0 or 1 rather than a select of a product: vectorizes under -ftrapping-math */
        wt[0][k] = (1 - fx) * (1 - fy) * (float)(inx0 & iny0);
        wt[1][k] = fx * (1 - fy) * (float)(inx1 & iny0);
        wt[2][k] = (1 - fx) * fy * (float)(inx0 & iny1);
        wt[3][k] = fx * fy * (float)(inx1 & iny1);
    }
}

/* Output rows [oy0, oy1) go by tiles of TILE columns; a tile's normalized x (bx) are computed once
 * and kept for its rows. */
void fci_sample_f32(const float *x, int64_t c, int64_t h, int64_t w, float *y, int64_t oh,
                    int64_t ow, const float m[9], fc_pad_mode pad, int nearest,
                    const fci_lighting *light, int64_t oy0, int64_t oy1) {
    int32_t off[4][TILE];
    float wt[4][TILE], bx[TILE], ix[TILE], iy[TILE];
    const int64_t plane = h * w, oplane = oh * ow;
    const int lit = light && light->on;
    /* The identity at the same size reads each pixel as it is: (lin(j) + 1) / 2 (w - 1) is not
     * always exactly j in float, and a lighting-only draw should not blur the image. */
    const int same = oh == h && ow == w && m[0] == 1.0f && m[1] == 0.0f && m[2] == 0.0f &&
                     m[3] == 0.0f && m[4] == 1.0f && m[5] == 0.0f && m[6] == 0.0f &&
                     m[7] == 0.0f && m[8] == 1.0f;
    for (int64_t x0 = 0; x0 < ow; x0 += TILE) {
        int n = ow - x0 < TILE ? (int)(ow - x0) : TILE;
        for (int k = 0; k < n; k++) bx[k] = lin(x0 + k, ow);
        for (int64_t oy = oy0; oy < oy1; oy++) {
            float *yrow = y + oy * ow + x0;
            if (!same) {
                tile_coords(m, bx, lin(oy, oh), n, h, w, pad, ix, iy);
                tile_taps(ix, iy, n, h, w, nearest, off, wt);
            }
            if (!same && !nearest)
                /* pixel by pixel, every channel: the taps are loaded once for all C reads (the
                 * reads are scalar gathers, the cost of the loop): 1.2x over channel by channel
                 * at 224x224 (bench_augment) */
                for (int k = 0; k < n; k++) {
                    const int32_t o0 = off[0][k], o1 = off[1][k], o2 = off[2][k], o3 = off[3][k];
                    const float w0 = wt[0][k], w1 = wt[1][k], w2 = wt[2][k], w3 = wt[3][k];
                    for (int64_t ch = 0; ch < c; ch++) {
                        const float *xp = x + ch * plane;
                        yrow[ch * oplane + k] = xp[o0] * w0 + xp[o1] * w1 + xp[o2] * w2 + xp[o3] * w3;
                    }
                }
            for (int64_t ch = 0; ch < c; ch++) {
                const float *xp = x + ch * plane;
                float *yp = yrow + ch * oplane;
                if (same)
                    memcpy(yp, xp + oy * w + x0, (size_t)n * sizeof *yp);
                else if (nearest)
                    for (int k = 0; k < n; k++) yp[k] = xp[off[0][k]] * wt[0][k];
                if (lit) light_row(yp, n, light);
            }
        }
    }
}

void fci_sample_i64(const int64_t *x, int64_t h, int64_t w, int64_t *y, int64_t oh, int64_t ow,
                    const float m[9], fc_pad_mode pad, int64_t oy0, int64_t oy1) {
    int32_t off[4][TILE];
    float wt[4][TILE], bx[TILE], ix[TILE], iy[TILE];
    for (int64_t x0 = 0; x0 < ow; x0 += TILE) {
        int n = ow - x0 < TILE ? (int)(ow - x0) : TILE;
        for (int k = 0; k < n; k++) bx[k] = lin(x0 + k, ow);
        for (int64_t oy = oy0; oy < oy1; oy++) {
            tile_coords(m, bx, lin(oy, oh), n, h, w, pad, ix, iy);
            tile_taps(ix, iy, n, h, w, 1, off, wt);
            int64_t *yp = y + oy * ow + x0;
            for (int k = 0; k < n; k++) yp[k] = wt[0][k] != 0.0f ? x[off[0][k]] : 0;
        }
    }
}

/* ---- 3x3 matrices (double: the matrices are composed and inverted once per image) ---- */

void fci_mat3_mul(const double a[9], const double b[9], double c[9]) {
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            c[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
}

int fci_mat3_inv(const double a[9], double inv[9]) {
    double c00 = a[4] * a[8] - a[5] * a[7], c01 = a[5] * a[6] - a[3] * a[8],
           c02 = a[3] * a[7] - a[4] * a[6];
    double det = a[0] * c00 + a[1] * c01 + a[2] * c02;
    if (!(fabs(det) >= 1e-12)) return 0;
    double r = 1.0 / det;
    inv[0] = c00 * r;
    inv[1] = (a[2] * a[7] - a[1] * a[8]) * r;
    inv[2] = (a[1] * a[5] - a[2] * a[4]) * r;
    inv[3] = c01 * r;
    inv[4] = (a[0] * a[8] - a[2] * a[6]) * r;
    inv[5] = (a[2] * a[3] - a[0] * a[5]) * r;
    inv[6] = c02 * r;
    inv[7] = (a[1] * a[6] - a[0] * a[7]) * r;
    inv[8] = (a[0] * a[4] - a[1] * a[3]) * r;
    return 1;
}

/* fastai's find_coeffs: the 8 unknowns of h from 8 equations (2 per point pair), solved by
 * Gaussian elimination with partial pivoting. */
int fci_homography(const double src[4][2], const double dst[4][2], double h[9]) {
    double a[8][9];
    for (int i = 0; i < 4; i++) {
        double sx = src[i][0], sy = src[i][1], dx = dst[i][0], dy = dst[i][1];
        double r0[9] = {sx, sy, 1, 0, 0, 0, -dx * sx, -dx * sy, dx};
        double r1[9] = {0, 0, 0, sx, sy, 1, -dy * sx, -dy * sy, dy};
        memcpy(a[2 * i], r0, sizeof r0);
        memcpy(a[2 * i + 1], r1, sizeof r1);
    }
    for (int col = 0; col < 8; col++) {
        int piv = col;
        for (int r = col + 1; r < 8; r++)
            if (fabs(a[r][col]) > fabs(a[piv][col])) piv = r;
        if (fabs(a[piv][col]) < 1e-12) return 0;
        if (piv != col)
            for (int j = 0; j < 9; j++) {
                double t = a[col][j];
                a[col][j] = a[piv][j];
                a[piv][j] = t;
            }
        for (int r = 0; r < 8; r++) {
            if (r == col) continue;
            double f = a[r][col] / a[col][col];
            for (int j = col; j < 9; j++) a[r][j] -= f * a[col][j];
        }
    }
    for (int i = 0; i < 8; i++) h[i] = a[i][8] / a[i][i];
    h[8] = 1.0;
    return 1;
}

/* Rows of output per parallel task: enough work per task (32 rows of a 224-wide image is 7k
 * pixels) while a single large image still splits over the threads. */
#define ROWS_PER_TASK 32

void fci_sample_batch(const void *x, void *y, int is_mask, int64_t n, int64_t c, int64_t h, int64_t w,
                      int64_t oh, int64_t ow, const fci_sample_draw *draws, fc_pad_mode pad, int nearest) {
    int64_t nb = (oh + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
#pragma omp parallel for schedule(dynamic) if (n * c * oh * ow > 16384)
    for (int64_t task = 0; task < n * nb; task++) {
        int64_t i = task / nb, r0 = (task % nb) * ROWS_PER_TASK;
        int64_t r1 = r0 + ROWS_PER_TASK < oh ? r0 + ROWS_PER_TASK : oh;
        if (is_mask)
            fci_sample_i64((const int64_t *)x + i * h * w, h, w, (int64_t *)y + i * oh * ow, oh, ow,
                           draws[i].m, pad, r0, r1);
        else
            fci_sample_f32((const float *)x + i * c * h * w, c, h, w, (float *)y + i * c * oh * ow, oh,
                           ow, draws[i].m, pad, nearest, &draws[i].light, r0, r1);
    }
}

/* ---- fc_affine_sample ---- */

fc_tensor *fc_affine_sample(fc_tensor *x, const float *theta, int64_t out_h, int64_t out_w,
                            fc_pad_mode pad_mode, int nearest) {
    if (!x) return NULL;
    if (fc_tensor_dtype(x) != FC_DTYPE_F32 || fc_tensor_ndim(x) != 4) {
        fc_fail(fc_tensor_dtype(x) != FC_DTYPE_F32 ? FC_ERR_DTYPE : FC_ERR_SHAPE,
                "affine_sample: expected x f32 [N, C, H, W], found %s %s",
                fc_dtype_name(fc_tensor_dtype(x)), fci_tshape(x));
        return NULL;
    }
#if FASTC_CUDA
    int on_gpu = fc_tensor_device(x).type == FC_DEVICE_CUDA;
#else
    int on_gpu = 0;
#endif
    if (fc_tensor_device(x).type != FC_DEVICE_CPU && !on_gpu) {
        fc_fail(FC_ERR_DEVICE, "affine_sample: expected a cpu or cuda tensor, found %s %s",
                fc_device_name(fc_tensor_device(x)), fci_tshape(x));
        return NULL;
    }
    if (!theta) {
        fc_fail(FC_ERR_ARG, "affine_sample: expected theta [N][2][3], found NULL");
        return NULL;
    }
    if (out_h < 0 || out_w < 0) {
        fc_fail(FC_ERR_ARG, "affine_sample: expected out_h, out_w >= 0 (0: the input's), found %lld x %lld",
                (long long)out_h, (long long)out_w);
        return NULL;
    }
    if ((int)pad_mode < FC_PAD_DEFAULT || (int)pad_mode > FC_PAD_BORDER) {
        fc_fail(FC_ERR_ARG, "affine_sample: expected a pad_mode FC_PAD_*, found %d", (int)pad_mode);
        return NULL;
    }
    if (pad_mode == FC_PAD_DEFAULT) pad_mode = FC_PAD_REFLECTION;
    const int64_t *d = fc_tensor_dims(x);
    int64_t n = d[0], c = d[1], h = d[2], w = d[3];
    int64_t oh = out_h ? out_h : h, ow = out_w ? out_w : w;
    if (h == 0 || w == 0 || h * w > INT32_MAX) {
        fc_fail(FC_ERR_SHAPE, "affine_sample: expected images of 1 to 2^31 - 1 pixels, found %s",
                fci_tshape(x));
        return NULL;
    }
    fci_sample_draw *draws = malloc((size_t)(n ? n : 1) * sizeof *draws);
    if (!draws) {
        fc_fail(FC_ERR_NOMEM, "affine_sample: out of memory for %lld matrices", (long long)n);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        const float *t = theta + 6 * i;
        draws[i] = (fci_sample_draw){.m = {t[0], t[1], t[2], t[3], t[4], t[5], 0.0f, 0.0f, 1.0f}};
    }
    if (fc_tensor_device(x).type != FC_DEVICE_CPU) {
        fc_tensor *y = fci_sample_batch_cuda("affine_sample", x, 0, FC_SHAPE(n, c, oh, ow), n, c, h, w, draws, pad_mode,
                                             nearest);
        free(draws);
        return y;
    }
    fc_tensor *xc = fci_vision_contiguous("affine_sample", x);
    fc_tensor *y = xc ? fci_tensor_alloc(FC_SHAPE(n, c, oh, ow), FC_DTYPE_F32, FC_CPU) : NULL;
    if (y) fci_sample_batch(fc_tensor_data(xc), fc_tensor_data(y), 0, n, c, h, w, oh, ow, draws, pad_mode, nearest);
    free(draws);
    fci_tensor_unref(xc); /* a reference to x, or the kept copy: never x's scope claim */
    return y;
}

fc_tensor *fci_sample_batch_cuda(const char *who, fc_tensor *x, int is_mask, fc_shape ys, int64_t n, int64_t c,
                                 int64_t h, int64_t w, const fci_sample_draw *draws, fc_pad_mode pad, int nearest) {
#if FASTC_CUDA
    fc_device dev = fc_tensor_device(x);
    fc_tensor *xc = fc_tensor_is_contiguous(x) ? fc_tensor_ref(x)
                                               : fc_keep(fci_tensor_alloc(fc_tensor_shape(x), fc_tensor_dtype(x), dev));
    if (xc && xc != x && fci_copy_strided(xc, x) != FC_OK) {
        fci_tensor_unref(xc);
        return NULL;
    }
    fc_tensor *y = xc ? fci_tensor_alloc(ys, fc_tensor_dtype(x), dev) : NULL;
    /* the draws as 12 floats per image: m[9], lighting on, add, mul (augment.cu) */
    size_t nb = (size_t)(n > 0 ? n : 1) * 12 * sizeof(float);
    float *hd = y ? calloc(1, nb) : NULL;
    float *dd = hd ? fci_cuda_alloc(dev.index, nb) : NULL;
    fc_status st = dd ? FC_OK : fc_error_code() != FC_OK ? fc_error_code()
                                                       : fc_fail(FC_ERR_NOMEM, "%s: out of memory for %lld draws", who,
                                                                 (long long)n);
    if (st == FC_OK) {
        for (int64_t i = 0; i < n; i++) {
            memcpy(hd + 12 * i, draws[i].m, 9 * sizeof(float));
            hd[12 * i + 9] = draws[i].light.on ? 1.0f : 0.0f;
            hd[12 * i + 10] = draws[i].light.add;
            hd[12 * i + 11] = draws[i].light.mul;
        }
        st = fci_cuda_h2d(dev.index, dd, hd, nb); /* staged: hd may go once it returns */
    }
    if (st == FC_OK) {
        fci_cuda_sample_batch_launch(fci_cuda_stream(dev.index), fc_tensor_data(xc), fc_tensor_data(y), is_mask, n, c,
                                     h, w, ys.d[ys.ndim - 2], ys.d[ys.ndim - 1], dd, (int)pad, nearest);
        st = fci_cuda_launched(who);
    }
    if (dd) fci_cuda_release(dev.index, dd, nb); /* reused in stream order, after the kernel */
    free(hd);
    fci_tensor_unref(xc);
    if (st != FC_OK) {
        fc_tensor_free(y);
        return NULL;
    }
    return y;
#else
    (void)is_mask, (void)ys, (void)n, (void)c, (void)h, (void)w, (void)draws, (void)pad, (void)nearest;
    fc_fail(FC_ERR_DEVICE, "%s: expected a cpu tensor, found %s %s", who, fc_device_name(fc_tensor_device(x)),
            fci_tshape(x));
    return NULL;
#endif
}
