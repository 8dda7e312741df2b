// Reductions and softmax over [outer, red, inner]. Rows (inner == 1) get a block each, reduced
// through warp shuffles; columns (inner > 1) get a thread each, so neighbouring threads read
// neighbouring addresses.
#include <cuda_runtime.h>
#include <math.h>

#include "block_reduce.cuh"
#include "launch.cuh"
#include "kernels.h"

namespace {

using fci_cuda::THREADS;
using fci_cuda::block_reduce;
using fci_cuda::grid_for;
using fci_cuda::rows_grid;

__global__ void sum_rows(const float *x, float *out, int64_t rows, int64_t red) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *p = x + r * red;
        float s = 0.0f;
        for (int64_t k = threadIdx.x; k < red; k += blockDim.x) s += p[k];
        s = block_reduce<false>(s);
        if (threadIdx.x == 0) out[r] = s;
    }
}

__global__ void sum_cols(const float *x, float *out, int64_t outer, int64_t red, int64_t inner) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < outer * inner;
         j += (int64_t)gridDim.x * blockDim.x) {
        int64_t o = j / inner, i = j % inner;
        const float *p = x + o * red * inner + i;
        float s = 0.0f;
        for (int64_t k = 0; k < red; k++) s += p[k * inner];
        out[j] = s;
    }
}

__global__ void lse_rows(const float *x, float *out, int64_t rows, int64_t red) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *p = x + r * red;
        float m = -INFINITY;
        for (int64_t k = threadIdx.x; k < red; k += blockDim.x) m = fmaxf(m, p[k]);
        m = block_reduce<true>(m);
        float s = 0.0f;
        if (isfinite(m))
            for (int64_t k = threadIdx.x; k < red; k += blockDim.x) s += expf(p[k] - m);
        s = block_reduce<false>(s);
        if (threadIdx.x == 0) out[r] = isfinite(m) ? m + logf(s) : m;
    }
}

__global__ void lse_cols(const float *x, float *out, int64_t outer, int64_t red, int64_t inner) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < outer * inner;
         j += (int64_t)gridDim.x * blockDim.x) {
        int64_t o = j / inner, i = j % inner;
        const float *p = x + o * red * inner + i;
        float m = -INFINITY, s = 0.0f;
        for (int64_t k = 0; k < red; k++) m = fmaxf(m, p[k * inner]);
        if (isfinite(m))
            for (int64_t k = 0; k < red; k++) s += expf(p[k * inner] - m);
        out[j] = isfinite(m) ? m + logf(s) : m;
    }
}

// One thread per output: the first extreme (or the first NaN), as the CPU kernel.
__global__ void argext(const float *x, float *val, int64_t *idx, int64_t outer, int64_t red,
                       int64_t inner, float sign) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < outer * inner;
         j += (int64_t)gridDim.x * blockDim.x) {
        int64_t o = j / inner, i = j % inner;
        const float *p = x + o * red * inner + i;
        float best = p[0];
        int64_t b = 0;
        for (int64_t k = 1; k < red && best == best; k++) {
            float v = p[k * inner];
            if (v != v || sign * v > sign * best) best = v, b = k;
        }
        if (val) val[j] = best;
        idx[j] = b;
    }
}

__global__ void scatter_axis(const float *gy, const int64_t *idx, float *gx, int64_t outer,
                             int64_t red, int64_t inner) {
    int64_t n = outer * red * inner;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t i = e % inner, k = (e / inner) % red, o = e / (inner * red);
        int64_t j = o * inner + i;
        gx[e] = idx[j] == k ? gy[j] : 0.0f;
    }
}

__global__ void softmax_rows(const float *x, float *y, int64_t rows, int64_t red, int is_log) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *p = x + r * red;
        float *q = y + r * red;
        float m = -INFINITY;
        for (int64_t k = threadIdx.x; k < red; k += blockDim.x) m = fmaxf(m, p[k]);
        m = block_reduce<true>(m);
        float s = 0.0f;
        for (int64_t k = threadIdx.x; k < red; k += blockDim.x) s += expf(p[k] - m);
        s = block_reduce<false>(s);
        float ls = logf(s), inv = 1.0f / s;
        for (int64_t k = threadIdx.x; k < red; k += blockDim.x)
            q[k] = is_log ? p[k] - m - ls : expf(p[k] - m) * inv;
    }
}

__global__ void softmax_cols(const float *x, float *y, int64_t outer, int64_t red, int64_t inner, int is_log) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < outer * inner;
         j += (int64_t)gridDim.x * blockDim.x) {
        int64_t o = j / inner, i = j % inner;
        const float *p = x + o * red * inner + i;
        float *q = y + o * red * inner + i;
        float m = -INFINITY, s = 0.0f;
        for (int64_t k = 0; k < red; k++) m = fmaxf(m, p[k * inner]);
        for (int64_t k = 0; k < red; k++) s += expf(p[k * inner] - m);
        float ls = logf(s), inv = 1.0f / s;
        for (int64_t k = 0; k < red; k++)
            q[k * inner] = is_log ? p[k * inner] - m - ls : expf(p[k * inner] - m) * inv;
    }
}

// softmax: gx = y (gy - sum(gy y)); log_softmax: gx = gy - exp(y) sum(gy)
__global__ void softmax_bwd_rows(const float *y, const float *gy, float *gx, int64_t rows, int64_t red, int is_log) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *yr = y + r * red, *gr = gy + r * red;
        float *xr = gx + r * red;
        float s = 0.0f;
        for (int64_t k = threadIdx.x; k < red; k += blockDim.x) s += is_log ? gr[k] : gr[k] * yr[k];
        s = block_reduce<false>(s);
        for (int64_t k = threadIdx.x; k < red; k += blockDim.x)
            xr[k] = is_log ? gr[k] - expf(yr[k]) * s : yr[k] * (gr[k] - s);
    }
}

__global__ void softmax_bwd_cols(const float *y, const float *gy, float *gx, int64_t outer, int64_t red,
                                 int64_t inner, int is_log) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < outer * inner;
         j += (int64_t)gridDim.x * blockDim.x) {
        int64_t o = j / inner, i = j % inner, off = o * red * inner + i;
        float s = 0.0f;
        for (int64_t k = 0; k < red; k++) {
            int64_t e = off + k * inner;
            s += is_log ? gy[e] : gy[e] * y[e];
        }
        for (int64_t k = 0; k < red; k++) {
            int64_t e = off + k * inner;
            gx[e] = is_log ? gy[e] - expf(y[e]) * s : y[e] * (gy[e] - s);
        }
    }
}

// ---- var / std as fci_var_axis_f32: mean, then the sum of squared deviations, both in double ----

// The block's sum in double, in every thread (THREADS threads); fixed order: deterministic.
__device__ double block_sum_d(double v) {
    __shared__ double part[THREADS];
    part[threadIdx.x] = v;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h) part[threadIdx.x] += part[threadIdx.x + h];
        __syncthreads();
    }
    double r = part[0];
    __syncthreads();
    return r;
}

__global__ void var_rows(const float *x, float *mean, float *var, int64_t rows, int64_t red, double denom,
                         int take_sqrt) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *p = x + r * red;
        double s = 0;
        for (int64_t k = threadIdx.x; k < red; k += blockDim.x) s += p[k];
        s = block_sum_d(s) / (double)red;
        double q = 0;
        for (int64_t k = threadIdx.x; k < red; k += blockDim.x) {
            double d = p[k] - s;
            q += d * d;
        }
        q = block_sum_d(q);
        if (threadIdx.x == 0) {
            double v = q / denom;
            mean[r] = (float)s;
            var[r] = (float)(take_sqrt ? sqrt(v) : v);
        }
    }
}

__global__ void var_cols(const float *x, float *mean, float *var, int64_t outer, int64_t red, int64_t inner,
                         double denom, int take_sqrt) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < outer * inner;
         j += (int64_t)gridDim.x * blockDim.x) {
        int64_t o = j / inner, i = j % inner;
        const float *p = x + o * red * inner + i;
        double s = 0, q = 0;
        for (int64_t k = 0; k < red; k++) s += p[k * inner];
        s /= (double)red;
        for (int64_t k = 0; k < red; k++) {
            double d = p[k * inner] - s;
            q += d * d;
        }
        double v = q / denom;
        mean[j] = (float)s;
        var[j] = (float)(take_sqrt ? sqrt(v) : v);
    }
}

}  // namespace

extern "C" void fci_cuda_sum_axis_launch(void *stream, const float *x, float *out, int64_t outer,
                                         int64_t red, int64_t inner) {
    cudaStream_t s = (cudaStream_t)stream;
    if (outer * inner == 0) return;
    if (red == 0) {
        cudaMemsetAsync(out, 0, sizeof(float) * (size_t)(outer * inner), s);
        return;
    }
    if (inner == 1) FCI_LAUNCH(rows_grid(outer), THREADS, 0, s, sum_rows)(x, out, outer, red);
    else FCI_LAUNCH(grid_for(outer * inner), THREADS, 0, s, sum_cols)(x, out, outer, red, inner);
}

extern "C" void fci_cuda_logsumexp_axis_launch(void *stream, const float *x, float *out, int64_t outer,
                                               int64_t red, int64_t inner) {
    cudaStream_t s = (cudaStream_t)stream;
    if (outer * inner == 0) return;
    if (inner == 1) FCI_LAUNCH(rows_grid(outer), THREADS, 0, s, lse_rows)(x, out, outer, red);
    else FCI_LAUNCH(grid_for(outer * inner), THREADS, 0, s, lse_cols)(x, out, outer, red, inner);
}

extern "C" void fci_cuda_argext_axis_launch(void *stream, const float *x, float *val, int64_t *idx,
                                            int64_t outer, int64_t red, int64_t inner, int is_max) {
    if (outer * inner == 0) return;
    FCI_LAUNCH(grid_for(outer * inner), THREADS, 0, (cudaStream_t)stream, argext)(x, val, idx, outer, red, inner,
                                                                         is_max ? 1.0f : -1.0f);
}

extern "C" void fci_cuda_scatter_axis_launch(void *stream, const float *gy, const int64_t *idx, float *gx,
                                             int64_t outer, int64_t red, int64_t inner) {
    int64_t n = outer * red * inner;
    if (n > 0) FCI_LAUNCH(grid_for(n), THREADS, 0, (cudaStream_t)stream, scatter_axis)(gy, idx, gx, outer, red, inner);
}

extern "C" void fci_cuda_softmax_fwd_launch(void *stream, const float *x, float *y, int64_t outer,
                                            int64_t red, int64_t inner, int is_log) {
    cudaStream_t s = (cudaStream_t)stream;
    if (outer * red * inner == 0) return;
    if (inner == 1) FCI_LAUNCH(rows_grid(outer), THREADS, 0, s, softmax_rows)(x, y, outer, red, is_log);
    else FCI_LAUNCH(grid_for(outer * inner), THREADS, 0, s, softmax_cols)(x, y, outer, red, inner, is_log);
}

extern "C" void fci_cuda_softmax_bwd_launch(void *stream, const float *y, const float *gy, float *gx,
                                            int64_t outer, int64_t red, int64_t inner, int is_log) {
    cudaStream_t s = (cudaStream_t)stream;
    if (outer * red * inner == 0) return;
    if (inner == 1) FCI_LAUNCH(rows_grid(outer), THREADS, 0, s, softmax_bwd_rows)(y, gy, gx, outer, red, is_log);
    else FCI_LAUNCH(grid_for(outer * inner), THREADS, 0, s, softmax_bwd_cols)(y, gy, gx, outer, red, inner, is_log);
}

extern "C" void fci_cuda_var_axis_launch(void *stream, const float *x, float *mean, float *var, int64_t outer,
                                         int64_t red, int64_t inner, double denom, int take_sqrt) {
    cudaStream_t s = (cudaStream_t)stream;
    if (outer * inner <= 0) return;
    if (inner == 1)
        FCI_LAUNCH(rows_grid(outer), THREADS, 0, s, var_rows)(x, mean, var, outer, red, denom, take_sqrt);
    else
        FCI_LAUNCH(grid_for(outer * inner), THREADS, 0, s, var_cols)(x, mean, var, outer, red, inner, denom, take_sqrt);
}
