// Fused SGD and Adam/AdamW updates on the device: one pass over a parameter's flat data, with the
// element arithmetic in the order of src/optim/update.c (torch.optim's single-tensor path) and
// the scalar factors computed on the host in double, so CPU and CUDA steps agree to rounding.
#include <cuda_runtime.h>
#include <math.h>

#include "kernels.h"
#include "launch.cuh"

namespace {

int grid_for(int64_t n) {
    int64_t b = (n + 255) / 256;
    return (int)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

// The element updates of the multi-tensor kernels below (update.c's formulas, the same floats).
__device__ __forceinline__ void sgd_elem(float *p, const float *g, float *buf, int64_t i, const fci_cuda_sgd &s) {
    float pi = p[i];
    if (s.decay != 1.0f) pi *= s.decay;
    float d = g[i];
    if (s.wd != 0.f) d = d + s.wd * pi;
    if (buf) {
        float b = buf[i] * s.mom + d;
        buf[i] = b;
        d = s.nesterov ? d + s.mom * b : b;
    }
    p[i] = pi + s.nlr * d;
}

__device__ __forceinline__ void adam_elem(float *p, const float *g, float *m, float *v, int64_t i,
                                          const fci_cuda_adam &a) {
    float pi = p[i];
    if (a.decay != 1.0f) pi *= a.decay;
    float gi = g[i];
    if (a.wd != 0.f) gi = gi + a.wd * pi;
    float mi = m[i] * a.b1 + a.c1 * gi;
    float vi = v[i] * a.b2 + a.c2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    float denom = sqrtf(vi) / a.bc2s + a.eps;
    p[i] = pi + a.nstep * (mi / denom);
}

// Multi-tensor: block b works on tensor k where block0[k] <= b < block0[k + 1], striding over it
// with that tensor's blocks. The table is the kernel's parameter block (no upload).
__device__ __forceinline__ int mt_tensor(const fci_cuda_mt &t, int b) {
    int k = 0;
    while (k + 1 < t.n && b >= t.block0[k + 1]) k++;
    return k;
}

__global__ void sgd_mt(fci_cuda_mt t, fci_cuda_sgd s) {
    int k = mt_tensor(t, blockIdx.x);
    int64_t nb = t.block0[k + 1] - t.block0[k];
    for (int64_t i = (blockIdx.x - t.block0[k]) * (int64_t)blockDim.x + threadIdx.x; i < t.numel[k];
         i += nb * blockDim.x)
        sgd_elem(t.p[k], t.g[k], t.b0[k], i, s);
}

__global__ void adam_mt(fci_cuda_mt t, fci_cuda_adam a) {
    int k = mt_tensor(t, blockIdx.x);
    int64_t nb = t.block0[k + 1] - t.block0[k];
    for (int64_t i = (blockIdx.x - t.block0[k]) * (int64_t)blockDim.x + threadIdx.x; i < t.numel[k];
         i += nb * blockDim.x)
        adam_elem(t.p[k], t.g[k], t.b0[k], t.b1[k], i, a);
}

// torch.optim.RMSprop as fci_rmsprop_update (buf: momentum, gavg: centered; either NULL).
__global__ void rmsprop(float *p, const float *g, float *sq, float *buf, float *gavg, int64_t n, fci_cuda_rmsprop r) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float pi = p[i];
        if (r.decay != 1.0f) pi *= r.decay;
        float gi = g[i];
        if (r.wd != 0.f) gi = gi + r.wd * pi;
        float s = sq[i] * r.a + r.ca * (gi * gi);
        sq[i] = s;
        float avg;
        if (gavg) {
            float ga = gavg[i] * r.a + r.ca * gi;
            gavg[i] = ga;
            avg = sqrtf(s + -1.f * (ga * ga)) + r.eps;
        } else {
            avg = sqrtf(s) + r.eps;
        }
        if (buf) {
            float b = buf[i] * r.mom + gi / avg;
            buf[i] = b;
            p[i] = pi + r.nlr * b;
        } else {
            p[i] = pi + r.nlr * (gi / avg);
        }
    }
}

// fastai's average_grad (dampened) and average_sqr_grad on the decayed p; returns p.
__device__ __forceinline__ float moments(float *p, const float *g, float *m, float *v, int64_t i,
                                         const fci_cuda_moments &k) {
    float pi = p[i];
    if (k.decay != 1.0f) pi *= k.decay;
    float gi = g[i];
    if (k.wd != 0.f) gi = gi + k.wd * pi;
    m[i] = m[i] * k.b1 + k.c1 * gi;
    v[i] = v[i] * k.b2 + k.c2 * (gi * gi);
    return pi;
}

__global__ void radam(float *p, const float *g, float *m, float *v, int64_t n, fci_cuda_moments k, float f,
                      int rectified) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float pi = moments(p, g, m, v, i, k);
        p[i] = rectified ? pi + f * (m[i] / (sqrtf(v[i] / k.d2) + k.eps)) : pi + f * m[i];
    }
}

// The block's sums of a and b in double (THREADS threads), in a fixed order.
__device__ void block_sum2(double &a, double &b) {
    __shared__ double sa[256], sb[256];
    sa[threadIdx.x] = a, sb[threadIdx.x] = b;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h) sa[threadIdx.x] += sa[threadIdx.x + h], sb[threadIdx.x] += sb[threadIdx.x + h];
        __syncthreads();
    }
    a = sa[0], b = sb[0];
    __syncthreads();
}

// LAMB pass 1 (exactly FCI_CUDA_LAMB_BLOCKS blocks): decay, moments, and per-block partial sums of
// p^2 and u^2 into part[2 b], part[2 b + 1].
__global__ void lamb_moments(float *p, const float *g, float *m, float *v, int64_t n, fci_cuda_moments k,
                             double *part) {
    double sp = 0, su = 0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float pi = moments(p, g, m, v, i, k);
        p[i] = pi;
        float u = (m[i] / k.d1) / (sqrtf(v[i] / k.d2) + k.eps);
        sp += (double)pi * pi;
        su += (double)u * u;
    }
    block_sum2(sp, su);
    if (threadIdx.x == 0) part[2 * blockIdx.x] = sp, part[2 * blockIdx.x + 1] = su;
}

// LAMB pass 2: every block sums the partials in the same order, then p -= lr q u.
__global__ void lamb_step(float *p, const float *m, const float *v, int64_t n, fci_cuda_moments k, double neg_lr,
                          const double *part) {
    double sp = 0, su = 0;
    for (int b = threadIdx.x; b < FCI_CUDA_LAMB_BLOCKS; b += blockDim.x) sp += part[2 * b], su += part[2 * b + 1];
    block_sum2(sp, su);
    double r1 = sqrt(sp / (double)n), r2 = sqrt(su / (double)n);
    double q = (r1 == 0 || r2 == 0) ? 1.0 : fmin(r1 / r2, 10.0);
    const float nlq = (float)(neg_lr * q);
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float u = (m[i] / k.d1) / (sqrtf(v[i] / k.d2) + k.eps);
        p[i] = p[i] + nlq * u;
    }
}

__global__ void lookahead(float *slow, float *fast, int64_t n, float alpha) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float s = slow[i] + alpha * (fast[i] - slow[i]);
        slow[i] = s;
        fast[i] = s;
    }
}

}  // namespace

extern "C" int fci_cuda_mt_blocks(int64_t n) {
    int64_t b = (n + 1023) / 1024; // >= 4 elements a thread: the launch is one per group, not per tensor
    return (int)(b < 1 ? 1 : b > 1024 ? 1024 : b);
}

extern "C" void fci_cuda_sgd_mt_launch(void *stream, const fci_cuda_mt *t, const fci_cuda_sgd *s) {
    if (t->n > 0 && t->block0[t->n] > 0) FCI_LAUNCH(t->block0[t->n], 256, 0, (cudaStream_t)stream, sgd_mt)(*t, *s);
}

extern "C" void fci_cuda_adam_mt_launch(void *stream, const fci_cuda_mt *t, const fci_cuda_adam *a) {
    if (t->n > 0 && t->block0[t->n] > 0) FCI_LAUNCH(t->block0[t->n], 256, 0, (cudaStream_t)stream, adam_mt)(*t, *a);
}

extern "C" void fci_cuda_rmsprop_launch(void *stream, float *p, const float *g, float *sq, float *buf, float *gavg,
                                        int64_t n, const fci_cuda_rmsprop *r) {
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, rmsprop)(p, g, sq, buf, gavg, n, *r);
}

extern "C" void fci_cuda_radam_launch(void *stream, float *p, const float *g, float *m, float *v, int64_t n,
                                      const fci_cuda_moments *k, float f, int rectified) {
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, radam)(p, g, m, v, n, *k, f, rectified);
}

extern "C" void fci_cuda_lamb_launch(void *stream, float *p, const float *g, float *m, float *v, int64_t n,
                                     const fci_cuda_moments *k, double neg_lr, double *part) {
    if (n <= 0) return;
    cudaStream_t s = (cudaStream_t)stream;
    FCI_LAUNCH(FCI_CUDA_LAMB_BLOCKS, 256, 0, s, lamb_moments)(p, g, m, v, n, *k, part);
    FCI_LAUNCH(FCI_CUDA_LAMB_BLOCKS, 256, 0, s, lamb_step)(p, m, v, n, *k, neg_lr, part);
}

extern "C" void fci_cuda_lookahead_launch(void *stream, float *slow, float *fast, int64_t n, float alpha) {
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, lookahead)(slow, fast, n, alpha);
}
