// Fused SGD and Adam/AdamW updates on the device: one pass over a parameter's flat data, with the
// element arithmetic in the order of src/optim/update.c (torch.optim's single-tensor path) and
// the scalar factors computed on the host in double, so CPU and CUDA steps agree to rounding.
#include <cuda_runtime.h>

#include "kernels.h"

namespace {

int grid_for(int64_t n) {
    int64_t b = (n + 255) / 256;
    return (int)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

__global__ void sgd(float *p, const float *g, float *buf, int64_t n, fci_cuda_sgd s) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
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
}

__global__ void adam(float *p, const float *g, float *m, float *v, int64_t n, fci_cuda_adam a) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
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
}

}  // namespace

extern "C" void fci_cuda_sgd_launch(void *stream, float *p, const float *g, float *buf, int64_t n,
                                    const fci_cuda_sgd *s) {
    if (n > 0) sgd<<<grid_for(n), 256, 0, (cudaStream_t)stream>>>(p, g, buf, n, *s);
}

extern "C" void fci_cuda_adam_launch(void *stream, float *p, const float *g, float *m, float *v, int64_t n,
                                     const fci_cuda_adam *a) {
    if (n > 0) adam<<<grid_for(n), 256, 0, (cudaStream_t)stream>>>(p, g, m, v, n, *a);
}
