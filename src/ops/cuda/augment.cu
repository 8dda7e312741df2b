// The vision batch augmentation on the device: src/vision/affine.c's fused pass (affine_grid +
// grid_sample with align_corners=True, reflection / zeros / border padding, bilinear or nearest,
// then fastai's lighting) with one thread per output pixel, all channels. The CPU's formulas and
// edge rules; the lighting uses the device's exp2f / log2f where the CPU has its vectorizable
// polynomials (both within ~1e-6 of the exact value).
#include <cuda_runtime.h>
#include <math.h>

#include "block_reduce.cuh"
#include "launch.cuh"
#include "kernels.h"

namespace {

using fci_cuda::THREADS;
using fci_cuda::grid_for;

enum { PAD_ZEROS = 1, PAD_REFLECTION = 2, PAD_BORDER = 3 }; // fc_pad_mode (include/fastc/vision.h)
const int DRAW_FLOATS = 12;                                   // m[9], light on, add, mul

// torch.linspace(-1, 1, n)[i] as torch computes it (from both ends); 0 when n == 1.
__device__ __forceinline__ float lin(int64_t i, int64_t n) {
    if (n <= 1) return 0.0f;
    float step = 2.0f / (float)(n - 1);
    return i < n / 2 ? -1.0f + step * (float)i : 1.0f - step * (float)(n - 1 - i);
}

// grid_sampler's reflect_coordinates(v, 0, 2 (size - 1)) then clip_coordinates.
__device__ __forceinline__ float reflect_clip(float v, int64_t size) {
    float span = (float)(size - 1);
    if (v >= 0.0f && v <= span) return v;
    if (size <= 1 || !isfinite(v)) return 0.0f;
    v = fabsf(v);
    float extra = fmodf(v, span);
    int64_t flips = (int64_t)floorf(v / span);
    v = (flips & 1) ? span - extra : extra;
    return fminf(fmaxf(v, 0.0f), span);
}

// Source coordinates (pixels) of output pixel (ox, oy) after the padding's mapping, as tile_coords.
__device__ __forceinline__ void coords(const float *m, float bx, float by, int64_t h, int64_t w, int pad, float &ix,
                                       float &iy) {
    const float wm = (float)(w - 1), hm = (float)(h - 1);
    if (m[6] == 0.0f && m[7] == 0.0f && m[8] == 1.0f) {
        ix = (m[0] * bx + (m[1] * by + m[2]) + 1.0f) * 0.5f * wm;
        iy = (m[3] * bx + (m[4] * by + m[5]) + 1.0f) * 0.5f * hm;
    } else {
        float gz = m[6] * bx + (m[7] * by + m[8]);
        ix = ((m[0] * bx + (m[1] * by + m[2])) / gz + 1.0f) * 0.5f * wm;
        iy = ((m[3] * bx + (m[4] * by + m[5])) / gz + 1.0f) * 0.5f * hm;
    }
    if (pad == PAD_REFLECTION) {
        ix = reflect_clip(ix, w);
        iy = reflect_clip(iy, h);
        return;
    }
    const float lo = pad == PAD_BORDER ? 0.0f : -2.0f, extra = pad == PAD_BORDER ? 0.0f : 2.0f;
    // a NaN becomes lo (the CPU's max first: NaN > lo is false)
    ix = ix > lo ? ix : lo;
    iy = iy > lo ? iy : lo;
    ix = ix < wm + extra ? ix : wm + extra;
    iy = iy < hm + extra ? iy : hm + extra;
}

// Up to 4 taps (offset into a plane, weight); a tap outside the image has weight 0 and offset 0.
__device__ __forceinline__ int taps(float ix, float iy, int64_t h, int64_t w, int nearest, int32_t off[4],
                                    float wt[4]) {
    const int32_t wi = (int32_t)w, hi = (int32_t)h;
    if (nearest) {
        int32_t px = (int32_t)rintf(ix), py = (int32_t)rintf(iy); // round half to even, as torch
        int in = px >= 0 && px < wi && py >= 0 && py < hi;
        off[0] = in ? py * wi + px : 0;
        wt[0] = in ? 1.0f : 0.0f;
        return 1;
    }
    int32_t x0 = (int32_t)(ix + 2.0f) - 2, y0 = (int32_t)(iy + 2.0f) - 2; // ix, iy >= -2
    float fx = ix - (float)x0, fy = iy - (float)y0;
    int inx0 = x0 >= 0 && x0 < wi, inx1 = x0 + 1 >= 0 && x0 + 1 < wi;
    int iny0 = y0 >= 0 && y0 < hi, iny1 = y0 + 1 >= 0 && y0 + 1 < hi;
    int32_t o = y0 * wi + x0;
    off[0] = inx0 && iny0 ? o : 0;
    off[1] = inx1 && iny0 ? o + 1 : 0;
    off[2] = inx0 && iny1 ? o + wi : 0;
    off[3] = inx1 && iny1 ? o + wi + 1 : 0;
    wt[0] = (1 - fx) * (1 - fy) * (float)(inx0 && iny0);
    wt[1] = fx * (1 - fy) * (float)(inx1 && iny0);
    wt[2] = (1 - fx) * fy * (float)(inx0 && iny1);
    wt[3] = fx * fy * (float)(inx1 && iny1);
    return 4;
}

// fastai's lighting: sigmoid((logit(v) + add) * mul), v clamped to [1e-7, 1 - 1e-7] (NaN: the top).
__device__ __forceinline__ float light(float v, float add, float mul) {
    v = v <= 1.0f - 1e-7f ? v : 1.0f - 1e-7f; // NaN compares false: the top, as the CPU's bit clamp
    v = v >= 1e-7f ? v : 1e-7f;
    const float b = -mul * add * 1.44269504f;
    float z = fminf(fmaxf(mul * log2f(1.0f / v - 1.0f) + b, -126.0f), 126.0f);
    return 1.0f / (1.0f + exp2f(z));
}

__global__ void sample_f32(const float *x, float *y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                           int64_t ow, const float *draws, int pad, int nearest) {
    const int64_t plane = h * w, oplane = oh * ow, total = n * oplane;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t i = e / oplane, pix = e % oplane, oy = pix / ow, ox = pix % ow;
        const float *d = draws + i * DRAW_FLOATS, *m = d;
        const float *xi = x + i * c * plane;
        float *yi = y + i * c * oplane + pix;
        // the identity at the same size reads each pixel as it is (no blur from float rounding)
        const bool same = oh == h && ow == w && m[0] == 1.0f && m[1] == 0.0f && m[2] == 0.0f && m[3] == 0.0f &&
                          m[4] == 1.0f && m[5] == 0.0f && m[6] == 0.0f && m[7] == 0.0f && m[8] == 1.0f;
        int32_t off[4] = {0, 0, 0, 0};
        float wt[4] = {0, 0, 0, 0};
        int nt = 0;
        if (!same) {
            float ix, iy;
            coords(m, lin(ox, ow), lin(oy, oh), h, w, pad, ix, iy);
            nt = taps(ix, iy, h, w, nearest, off, wt);
        }
        const bool lit = d[9] != 0.0f;
        for (int64_t ch = 0; ch < c; ch++) {
            const float *xp = xi + ch * plane;
            float v;
            if (same) v = xp[pix];
            else if (nt == 1) v = xp[off[0]] * wt[0];
            else v = xp[off[0]] * wt[0] + xp[off[1]] * wt[1] + xp[off[2]] * wt[2] + xp[off[3]] * wt[3];
            yi[ch * oplane] = lit ? light(v, d[10], d[11]) : v;
        }
    }
}

__global__ void sample_i64(const int64_t *x, int64_t *y, int64_t n, int64_t h, int64_t w, int64_t oh, int64_t ow,
                           const float *draws, int pad) {
    const int64_t plane = h * w, oplane = oh * ow, total = n * oplane;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t i = e / oplane, pix = e % oplane, oy = pix / ow, ox = pix % ow;
        float ix, iy, wt[4];
        int32_t off[4];
        coords(draws + i * DRAW_FLOATS, lin(ox, ow), lin(oy, oh), h, w, pad, ix, iy);
        taps(ix, iy, h, w, 1, off, wt);
        y[e] = wt[0] != 0.0f ? x[i * plane + off[0]] : 0; // zeros padding writes label 0
    }
}

}  // namespace

extern "C" void fci_cuda_sample_batch_launch(void *stream, const void *x, void *y, int is_mask, int64_t n, int64_t c,
                                             int64_t h, int64_t w, int64_t oh, int64_t ow, const float *draws, int pad,
                                             int nearest) {
    int64_t total = n * oh * ow;
    if (total <= 0 || h <= 0 || w <= 0) return;
    cudaStream_t s = (cudaStream_t)stream;
    if (is_mask)
        FCI_LAUNCH(grid_for(total), THREADS, 0, s, sample_i64)((const int64_t *)x, (int64_t *)y, n, h, w, oh, ow, draws, pad);
    else
        FCI_LAUNCH(grid_for(total), THREADS, 0, s, sample_f32)((const float *)x, (float *)y, n, c, h, w, oh, ow, draws, pad,
                                                       nearest);
}
