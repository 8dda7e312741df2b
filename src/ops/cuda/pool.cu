// 2-D pooling over contiguous NCHW f32 planes: the loops of src/ops/cpu/pool.c with one thread
// per output element (the same window, the same first-max / NaN-wins rule, the same divisors);
// backward is a gather: one thread per input element sums, in the CPU's order (outputs in raster
// order, starting from 0), the gradients of the windows that hold it (max: that chose it), so
// overlapping windows give the CPU's sums bit for bit on every run (atomics would add in
// whatever order the threads arrive).
#include <cuda_runtime.h>
#include <math.h>

#include "kernels.h"
#include "launch.cuh"

namespace {

int grid_for(int64_t n) {
    int64_t b = (n + 255) / 256;
    return (int)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

__device__ __forceinline__ int64_t ad_start(int64_t i, int64_t out, int64_t in) { return i * in / out; }
__device__ __forceinline__ int64_t ad_end(int64_t i, int64_t out, int64_t in) { return ((i + 1) * in + out - 1) / out; }

// The window of output (oh, ow): [h0, h1) x [w0, w1) stepping by the dilation (1 for adaptive).
__device__ __forceinline__ void window(const fci_pool2d_geom &g, int adaptive, int64_t oh, int64_t ow, int64_t &h0,
                                       int64_t &h1, int64_t &w0, int64_t &w1) {
    if (adaptive) {
        h0 = ad_start(oh, g.oh, g.h), h1 = ad_end(oh, g.oh, g.h);
        w0 = ad_start(ow, g.ow, g.w), w1 = ad_end(ow, g.ow, g.w);
        return;
    }
    h0 = oh * g.sh - g.ph, h1 = min(h0 + (g.kh - 1) * g.dh + 1, g.h);
    while (h0 < 0) h0 += g.dh;
    w0 = ow * g.sw - g.pw, w1 = min(w0 + (g.kw - 1) * g.dw + 1, g.w);
    while (w0 < 0) w0 += g.dw;
}

__global__ void max_pool(const float *x, float *y, int32_t *idx, fci_pool2d_geom g, int adaptive) {
    int64_t n = g.planes * g.oh * g.ow;
    int64_t dh = adaptive ? 1 : g.dh, dw = adaptive ? 1 : g.dw;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t ow = e % g.ow, oh = (e / g.ow) % g.oh, p = e / (g.ow * g.oh);
        int64_t h0, h1, w0, w1;
        window(g, adaptive, oh, ow, h0, h1, w0, w1);
        const float *xp = x + p * g.h * g.w;
        int64_t best = adaptive || (h0 < h1 && w0 < w1) ? h0 * g.w + w0 : -1;
        float m = -INFINITY;
        for (int64_t h = h0; h < h1; h += dh)
            for (int64_t w = w0; w < w1; w += dw) {
                float v = xp[h * g.w + w];
                if (v > m || isnan(v)) m = v, best = h * g.w + w;
            }
        y[e] = m;
        if (idx) idx[e] = (int32_t)best;
    }
}

// The outputs [lo, hi] along one dim whose windows may hold input i (a superset: the callers check
// the window or the argmax): windows start at o * stride - pad and span (k - 1) * dil + 1.
__device__ __forceinline__ void outputs_of(int64_t i, int64_t out, int64_t in, int64_t k, int64_t stride, int64_t pad,
                                           int64_t dil, int adaptive, int64_t &lo, int64_t &hi) {
    if (adaptive) {
        lo = i * out / in, hi = min((i + 1) * out / in, out - 1);
        return;
    }
    int64_t num = i + pad - (k - 1) * dil;
    lo = num <= 0 ? 0 : (num + stride - 1) / stride;
    hi = min((i + pad) / stride, out - 1);
}

__global__ void max_pool_bwd(const float *gy, const int32_t *idx, float *gx, fci_pool2d_geom g, int adaptive) {
    int64_t n = g.planes * g.h * g.w;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t w = e % g.w, h = (e / g.w) % g.h, p = e / (g.w * g.h), hl, hh, wl, wh;
        outputs_of(h, g.oh, g.h, g.kh, g.sh, g.ph, g.dh, adaptive, hl, hh);
        outputs_of(w, g.ow, g.w, g.kw, g.sw, g.pw, g.dw, adaptive, wl, wh);
        const float *gp = gy + p * g.oh * g.ow;
        const int32_t *ip = idx + p * g.oh * g.ow;
        int32_t k = (int32_t)(h * g.w + w);
        float s = 0.0f;
        for (int64_t oh = hl; oh <= hh; oh++)
            for (int64_t ow = wl; ow <= wh; ow++)
                if (ip[oh * g.ow + ow] == k) s += gp[oh * g.ow + ow];
        gx[e] = s;
    }
}

// avg_pool2d's clipped window and divisor (count_include_pad), or the adaptive window's size.
__device__ __forceinline__ float avg_window(const fci_pool2d_geom &g, int adaptive, int64_t oh, int64_t ow,
                                            int64_t &h0, int64_t &h1, int64_t &w0, int64_t &w1) {
    if (adaptive) {
        window(g, 1, oh, ow, h0, h1, w0, w1);
        return 1.0f / (float)((h1 - h0) * (w1 - w0));
    }
    int64_t hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
    int64_t he = min(hs + g.kh, g.h + g.ph), we = min(ws + g.kw, g.w + g.pw);
    int64_t pool_size = (he - hs) * (we - ws);
    h0 = max(hs, (int64_t)0), w0 = max(ws, (int64_t)0), h1 = min(he, g.h), w1 = min(we, g.w);
    int64_t cnt = g.count_include_pad ? pool_size : (h1 - h0) * (w1 - w0);
    return cnt > 0 ? 1.0f / (float)cnt : 0.0f;
}

__global__ void avg_pool(const float *x, float *y, fci_pool2d_geom g, int adaptive) {
    int64_t n = g.planes * g.oh * g.ow;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t ow = e % g.ow, oh = (e / g.ow) % g.oh, p = e / (g.ow * g.oh);
        int64_t h0, h1, w0, w1;
        float scale = avg_window(g, adaptive, oh, ow, h0, h1, w0, w1);
        const float *xp = x + p * g.h * g.w;
        float s = 0.0f;
        for (int64_t h = h0; h < h1; h++)
            for (int64_t w = w0; w < w1; w++) s += xp[h * g.w + w];
        // the CPU divides by the count for adaptive windows and multiplies by 1/count otherwise
        y[e] = adaptive ? s / (float)((h1 - h0) * (w1 - w0)) : (h0 < h1 && w0 < w1 ? s * scale : 0.0f);
    }
}

__global__ void avg_pool_bwd(const float *gy, float *gx, fci_pool2d_geom g, int adaptive) {
    int64_t n = g.planes * g.h * g.w;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t w = e % g.w, h = (e / g.w) % g.h, p = e / (g.w * g.h), hl, hh, wl, wh;
        outputs_of(h, g.oh, g.h, g.kh, g.sh, g.ph, 1, adaptive, hl, hh);
        outputs_of(w, g.ow, g.w, g.kw, g.sw, g.pw, 1, adaptive, wl, wh);
        const float *gp = gy + p * g.oh * g.ow;
        float s = 0.0f;
        for (int64_t oh = hl; oh <= hh; oh++)
            for (int64_t ow = wl; ow <= wh; ow++) {
                int64_t h0, h1, w0, w1;
                float scale = avg_window(g, adaptive, oh, ow, h0, h1, w0, w1);
                if (h < h0 || h >= h1 || w < w0 || w >= w1) continue;
                // __fmul_rn: the product rounded on its own, as the CPU's v, never fused into the sum
                s += adaptive ? gp[oh * g.ow + ow] / (float)((h1 - h0) * (w1 - w0)) : __fmul_rn(gp[oh * g.ow + ow], scale);
            }
        gx[e] = s;
    }
}

}  // namespace

extern "C" void fci_cuda_max_pool_launch(void *stream, const float *x, float *y, int32_t *idx,
                                         const fci_pool2d_geom *g, int adaptive) {
    int64_t n = g->planes * g->oh * g->ow;
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, max_pool)(x, y, idx, *g, adaptive);
}

extern "C" void fci_cuda_avg_pool_launch(void *stream, const float *x, float *y, const fci_pool2d_geom *g,
                                         int adaptive) {
    int64_t n = g->planes * g->oh * g->ow;
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, avg_pool)(x, y, *g, adaptive);
}

extern "C" void fci_cuda_pool_bwd_launch(void *stream, const float *gy, const int32_t *idx, float *gx,
                                         const fci_pool2d_geom *g, int is_max, int adaptive) {
    cudaStream_t s = (cudaStream_t)stream;
    int64_t n = g->planes * g->h * g->w; /* one thread per input element: every one is written */
    if (n <= 0) return;
    if (g->planes * g->oh * g->ow <= 0) {
        cudaMemsetAsync(gx, 0, sizeof(float) * (size_t)n, s);
        return;
    }
    if (is_max) FCI_LAUNCH(grid_for(n), 256, 0, s, max_pool_bwd)(gy, idx, gx, *g, adaptive);
    else FCI_LAUNCH(grid_for(n), 256, 0, s, avg_pool_bwd)(gy, gx, *g, adaptive);
}
