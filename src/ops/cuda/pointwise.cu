// Element-wise f32 kernels: broadcasting binary arithmetic and the pointwise functions of one
// tensor with their fused backward. Formulas and edge branches as src/ops/cpu/activation.c and
// unary.c (PyTorch's), so CPU and CUDA gradients agree at the boundaries.
#include <cuda_runtime.h>
#include <math.h>

#include "kernels.h"
#include "launch.cuh"

namespace {

const float SQRT1_2 = 0.70710678118654752440f, SQRT2PI_INV = 0.39894228040143267794f;
const float GELU_BETA = 0.79788456080286535588f, GELU_KAPPA = 0.044715f;

int grid_for(int64_t n) {
    int64_t b = (n + 255) / 256;
    return (int)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

// The CPU rows of src/ops/cpu/arith.c and compare.c (x = a, y = b there).
template <int OP>
__device__ __forceinline__ float binop(float a, float b) {
    switch (OP) {
    case FCI_CUDA_ADD: return a + b;
    case FCI_CUDA_SUB: return a - b;
    case FCI_CUDA_MUL: return a * b;
    case FCI_CUDA_DIV: return a / b;
    case FCI_CUDA_BPOW: return powf(a, b);
    case FCI_CUDA_MAXIMUM: return (a > b || a != a) ? a : b; // NaN in either wins, as torch.maximum
    case FCI_CUDA_MINIMUM: return (a < b || a != a) ? a : b;
    case FCI_CUDA_POW_DA: return b == 0.0f ? 0.0f : b * powf(a, b - 1.0f);
    case FCI_CUDA_POW_DB: return (a == 0.0f && b >= 0.0f) ? 0.0f : powf(a, b) * logf(a);
    default: return a > b ? 1.0f : (a == b ? 0.5f : 0.0f); // FCI_CUDA_MAX_SHARE
    }
}

// Both inputs contiguous at the output's shape, or a one-element operand (stride 0): one pass.
template <int OP>
__global__ void binary_flat(float *out, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = binop<OP>(a[i * sa], b[i * sb]);
}

template <int OP>
__global__ void binary_strided(float *out, const float *a, const float *b, int64_t n, fci_cuda_geom g) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i, oa = 0, ob = 0;
        for (int d = g.ndim - 1; d >= 0; d--) {
            int64_t k = r % g.shape[d];
            r /= g.shape[d];
            oa += k * g.stride[1][d];
            ob += k * g.stride[2][d];
        }
        out[i] = binop<OP>(a[oa], b[ob]);
    }
}

template <int OP>
void binary(cudaStream_t s, float *out, const float *a, const float *b, int64_t n, const fci_cuda_geom *g) {
    // flat when every input stride is the contiguous one or all zero
    int flat[2] = {1, 1};
    int zero[2] = {1, 1};
    int64_t c = 1;
    for (int d = g->ndim - 1; d >= 0; d--) {
        for (int k = 0; k < 2; k++) {
            if (g->shape[d] != 1 && g->stride[k + 1][d] != c) flat[k] = 0;
            if (g->shape[d] != 1 && g->stride[k + 1][d] != 0) zero[k] = 0;
        }
        c *= g->shape[d];
    }
    if ((flat[0] || zero[0]) && (flat[1] || zero[1]))
        FCI_LAUNCH(grid_for(n), 256, 0, s, binary_flat<OP>)(out, a, flat[0] ? 1 : 0, b, flat[1] ? 1 : 0, n);
    else
        FCI_LAUNCH(grid_for(n), 256, 0, s, binary_strided<OP>)(out, a, b, n, *g);
}

__device__ __forceinline__ float fwd(int op, float v, float p0, float p1) {
    switch (op) {
    case FCI_CUDA_NEG: return -v;
    case FCI_CUDA_EXP: return expf(v);
    case FCI_CUDA_LOG: return logf(v);
    case FCI_CUDA_SQRT: return sqrtf(v);
    case FCI_CUDA_RSQRT: return 1.0f / sqrtf(v);
    case FCI_CUDA_ABS: return fabsf(v);
    case FCI_CUDA_CLAMP: {
        float lo = v < p0 ? p0 : v;
        return lo > p1 ? p1 : lo;
    }
    case FCI_CUDA_POW:
        return p0 == 2.0f ? v * v : p0 == 3.0f ? v * v * v : p0 == 1.0f ? v : p0 == 0.5f ? sqrtf(v)
             : p0 == -1.0f ? 1.0f / v : p0 == 0.0f ? 1.0f : powf(v, p0);
    case FCI_CUDA_RELU: return v > 0.0f ? v : 0.0f;
    case FCI_CUDA_LEAKY_RELU: return v > 0.0f ? v : v * p0;
    case FCI_CUDA_GELU: return 0.5f * v * (1.0f + erff(v * SQRT1_2));
    case FCI_CUDA_GELU_TANH: return 0.5f * v * (1.0f + tanhf(GELU_BETA * (v + GELU_KAPPA * v * v * v)));
    case FCI_CUDA_SILU: return v / (1.0f + expf(-v));
    case FCI_CUDA_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case FCI_CUDA_TANH: return tanhf(v);
    case FCI_CUDA_SOFTPLUS: return v * p0 > p1 ? v : log1pf(expf(v * p0)) / p0;
    case FCI_CUDA_HARDSWISH: return v * fminf(fmaxf(v + 3.0f, 0.0f), 6.0f) / 6.0f;
    default: return __int_as_float(0x7fc00000);
    }
}

// g * f'(v); r = f(v)
__device__ __forceinline__ float bwd(int op, float v, float r, float g, float p0, float p1) {
    switch (op) {
    case FCI_CUDA_NEG: return -g;
    case FCI_CUDA_EXP: return g * r;
    case FCI_CUDA_LOG: return g / v;
    case FCI_CUDA_SQRT: return g / (2.0f * r);
    case FCI_CUDA_RSQRT: return -0.5f * g * r * r * r;
    case FCI_CUDA_ABS: return v > 0.0f ? g : (v < 0.0f ? -g : 0.0f);
    case FCI_CUDA_CLAMP: return (v >= p0 && v <= p1) ? g : 0.0f;
    case FCI_CUDA_POW:
        return p0 == 0.0f ? 0.0f : p0 == 2.0f ? 2.0f * v * g : p0 == 1.0f ? g : g * p0 * powf(v, p0 - 1.0f);
    case FCI_CUDA_RELU: return r > 0.0f ? g : 0.0f;
    case FCI_CUDA_LEAKY_RELU: return v > 0.0f ? g : g * p0;
    case FCI_CUDA_GELU:
        return g * (0.5f * (1.0f + erff(v * SQRT1_2)) + v * SQRT2PI_INV * expf(-0.5f * v * v));
    case FCI_CUDA_GELU_TANH: {
        float t = tanhf(GELU_BETA * (v + GELU_KAPPA * v * v * v));
        return g * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_BETA * (1.0f + 3.0f * GELU_KAPPA * v * v));
    }
    case FCI_CUDA_SILU: {
        float s = 1.0f / (1.0f + expf(-v));
        return g * s * (1.0f + v * (1.0f - s));
    }
    case FCI_CUDA_SIGMOID: return g * r * (1.0f - r);
    case FCI_CUDA_TANH: return g * (1.0f - r * r);
    case FCI_CUDA_SOFTPLUS: return v * p0 > p1 ? g : g * (1.0f - 1.0f / (1.0f + expf(v * p0)));
    case FCI_CUDA_HARDSWISH: return v < -3.0f ? 0.0f : (v <= 3.0f ? g * (v / 3.0f + 0.5f) : g);
    default: return __int_as_float(0x7fc00000);
    }
}

// The op is a template argument so each kernel is one straight-line function (no switch per
// element); four elements per thread through float4 when the pointers allow.
template <int OP>
__global__ void unary_fwd(const float *x, float *y, int64_t n, float p0, float p1) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x, i0 = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if ((((uintptr_t)x | (uintptr_t)y) & 15) == 0) {
        int64_t n4 = n / 4;
        for (int64_t i = i0; i < n4; i += stride) {
            float4 v = reinterpret_cast<const float4 *>(x)[i];
            reinterpret_cast<float4 *>(y)[i] =
                make_float4(fwd(OP, v.x, p0, p1), fwd(OP, v.y, p0, p1), fwd(OP, v.z, p0, p1), fwd(OP, v.w, p0, p1));
        }
        for (int64_t i = n4 * 4 + i0; i < n; i += stride) y[i] = fwd(OP, x[i], p0, p1);
        return;
    }
    for (int64_t i = i0; i < n; i += stride) y[i] = fwd(OP, x[i], p0, p1);
}

template <int OP>
__global__ void unary_bwd(const float *x, const float *y, const float *gy, float *gx, int64_t n, float p0, float p1) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        gx[i] = bwd(OP, x ? x[i] : 0.0f, y ? y[i] : 0.0f, gy[i], p0, p1);
}

template <int OP>
void unary_launch(cudaStream_t s, const float *x, const float *y, const float *gy, float *gx, float *out,
                  int64_t n, fci_cuda_params p, int backward) {
    int blocks = backward ? grid_for(n) : grid_for((n + 3) / 4);
    if (backward) FCI_LAUNCH(blocks, 256, 0, s, unary_bwd<OP>)(x, y, gy, gx, n, p.p[0], p.p[1]);
    else FCI_LAUNCH(blocks, 256, 0, s, unary_fwd<OP>)(x, out, n, p.p[0], p.p[1]);
}

typedef void (*unary_fn)(cudaStream_t, const float *, const float *, const float *, float *, float *,
                         int64_t, fci_cuda_params, int);
const unary_fn unary_table[FCI_CUDA_N_UNARY] = {
    unary_launch<0>, unary_launch<1>, unary_launch<2>, unary_launch<3>, unary_launch<4>, unary_launch<5>,
    unary_launch<6>, unary_launch<7>, unary_launch<8>, unary_launch<9>, unary_launch<10>, unary_launch<11>,
    unary_launch<12>, unary_launch<13>, unary_launch<14>, unary_launch<15>, unary_launch<16>,
};
static_assert(FCI_CUDA_N_UNARY == 17, "unary_table lists every op");

}  // namespace

extern "C" void fci_cuda_binary_launch(void *stream, int op, float *out, const float *a, const float *b,
                                       int64_t n, const fci_cuda_geom *g) {
    if (n <= 0) return;
    cudaStream_t s = (cudaStream_t)stream;
    switch (op) {
    case FCI_CUDA_ADD: binary<FCI_CUDA_ADD>(s, out, a, b, n, g); break;
    case FCI_CUDA_SUB: binary<FCI_CUDA_SUB>(s, out, a, b, n, g); break;
    case FCI_CUDA_MUL: binary<FCI_CUDA_MUL>(s, out, a, b, n, g); break;
    case FCI_CUDA_DIV: binary<FCI_CUDA_DIV>(s, out, a, b, n, g); break;
    case FCI_CUDA_BPOW: binary<FCI_CUDA_BPOW>(s, out, a, b, n, g); break;
    case FCI_CUDA_MAXIMUM: binary<FCI_CUDA_MAXIMUM>(s, out, a, b, n, g); break;
    case FCI_CUDA_MINIMUM: binary<FCI_CUDA_MINIMUM>(s, out, a, b, n, g); break;
    case FCI_CUDA_POW_DA: binary<FCI_CUDA_POW_DA>(s, out, a, b, n, g); break;
    case FCI_CUDA_POW_DB: binary<FCI_CUDA_POW_DB>(s, out, a, b, n, g); break;
    default: binary<FCI_CUDA_MAX_SHARE>(s, out, a, b, n, g); break;
    }
}

namespace {

// Element offsets of flat output index i in the inputs of g (stride[k], k < n_in).
__device__ __forceinline__ void geom_offsets(const fci_cuda_geom &g, int64_t i, int n_in, int64_t *off) {
    off[0] = off[1] = off[2] = 0;
    for (int d = g.ndim - 1; d >= 0; d--) {
        int64_t k = i % g.shape[d];
        i /= g.shape[d];
        for (int j = 0; j < n_in; j++) off[j] += k * g.stride[j][d];
    }
}

// Comparisons as C's operators (a NaN compares unequal to everything, as the CPU rows).
template <typename T>
__global__ void compare_k(int op, uint8_t *out, const T *a, const T *b, int64_t n, fci_cuda_geom g) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t off[3];
        geom_offsets(g, i, 3, off);
        T x = a[off[1]], y = b[off[2]];
        bool r;
        switch (op) {
        case 0: r = x == y; break; // FCI_CMP_EQ, NE, LT, LE, GT, GE (src/ops/cpu/compare.h)
        case 1: r = x != y; break;
        case 2: r = x < y; break;
        case 3: r = x <= y; break;
        case 4: r = x > y; break;
        default: r = x >= y; break;
        }
        out[i] = r;
    }
}

__global__ void where_k(float *out, const uint8_t *cond, const float *a, const float *b, int64_t n,
                        fci_cuda_geom g) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t off[3];
        geom_offsets(g, i, 3, off);
        out[i] = cond[off[0]] ? a[off[1]] : b[off[2]];
    }
}

}  // namespace

extern "C" void fci_cuda_compare_launch(void *stream, int op, int dtype, uint8_t *out, const void *a,
                                        const void *b, int64_t n, const fci_cuda_geom *g) {
    if (n <= 0) return;
    cudaStream_t s = (cudaStream_t)stream;
    switch (dtype) { // fc_dtype: F32 0, BF16 1, F16 2, I32 3, I64 4, U8 5, BOOL 6 (copy.cu)
    case 0: FCI_LAUNCH(grid_for(n), 256, 0, s, compare_k<float>)(op, out, (const float *)a, (const float *)b, n, *g); break;
    case 3: FCI_LAUNCH(grid_for(n), 256, 0, s, compare_k<int32_t>)(op, out, (const int32_t *)a, (const int32_t *)b, n, *g); break;
    case 4: FCI_LAUNCH(grid_for(n), 256, 0, s, compare_k<int64_t>)(op, out, (const int64_t *)a, (const int64_t *)b, n, *g); break;
    default: FCI_LAUNCH(grid_for(n), 256, 0, s, compare_k<uint8_t>)(op, out, (const uint8_t *)a, (const uint8_t *)b, n, *g); break;
    }
}

extern "C" void fci_cuda_where_launch(void *stream, float *out, const uint8_t *cond, const float *a,
                                      const float *b, int64_t n, const fci_cuda_geom *g) {
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, where_k)(out, cond, a, b, n, *g);
}

extern "C" void fci_cuda_unary_fwd_launch(void *stream, int op, const float *x, float *y, int64_t n,
                                          fci_cuda_params p) {
    if (n > 0 && op >= 0 && op < FCI_CUDA_N_UNARY)
        unary_table[op]((cudaStream_t)stream, x, NULL, NULL, NULL, y, n, p, 0);
}

extern "C" void fci_cuda_unary_bwd_launch(void *stream, int op, const float *x, const float *y,
                                          const float *gy, float *gx, int64_t n, fci_cuda_params p) {
    if (n > 0 && op >= 0 && op < FCI_CUDA_N_UNARY)
        unary_table[op]((cudaStream_t)stream, x, y, gy, gx, NULL, n, p, 1);
}
