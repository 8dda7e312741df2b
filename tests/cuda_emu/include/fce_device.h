/* The CUDA emulator's device side (C++; included by cuda_runtime.h in .cu files only).
 *
 * A kernel is an ordinary C++ function: __global__ and __device__ vanish, __shared__ becomes a
 * static (one block runs at a time, and all its threads see the same object), and threadIdx,
 * blockIdx, blockDim and gridDim are globals that the scheduler sets before it switches to a
 * thread. FCI_LAUNCH (src/ops/cuda/launch.cuh) calls fce::launch, which runs the grid at once:
 * blocks one after another in a shuffled order, each block's threads as fibers in a shuffled
 * order, switching only where CUDA threads can wait for each other (barriers, warp exchanges).
 * A kernel that depends on an order CUDA does not promise gives different results from run to run
 * (FCE_SEED picks the order), which is how the emulator finds races. */
#ifndef FCE_DEVICE_H
#define FCE_DEVICE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __shared__ static
#define __launch_bounds__(...)

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) float4 {
    float x, y, z, w;
};
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

namespace fce {
extern uint3 thread_idx, block_idx;
extern dim3 block_dim, grid_dim;

/* the scheduler's entry points (runtime.cpp) */
void syncthreads();
enum { WARP_SHFL_XOR, WARP_ANY, WARP_ALL };
uint64_t warp_op(int op, unsigned mask, uint64_t v, int arg, int width);
void run_kernel(const char *name, dim3 grid, dim3 block, size_t smem, cudaStream_t s,
                std::function<void()> thread_body);

/* kernel<<<grid, block, smem, stream>>>(args...): the arguments are converted to the kernel's
 * parameter types once, as a launch does, and each thread gets its own copy of them. */
template <class... P>
struct launcher {
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    void (*kernel)(P...);
    const char *name;
    void operator()(P... a) const { /* converted as a call converts (NULL included) */
        auto args = std::make_shared<std::tuple<typename std::decay<P>::type...>>(a...);
        auto k = kernel;
        /* the grid runs when the stream gets to it; each call copies into the by-value parameters */
        run_kernel(name, grid, block, smem, stream, [args, k]() { std::apply(k, *args); });
    }
};

template <class... P>
launcher<P...> launch(dim3 grid, dim3 block, size_t smem, cudaStream_t s, void (*kernel)(P...), const char *name) {
    return launcher<P...>{grid, block, smem, s, kernel, name};
}

template <class T>
uint64_t bits_of(T v) {
    static_assert(sizeof(T) <= 8, "warp exchange of more than 8 bytes");
    uint64_t u = 0;
    memcpy(&u, &v, sizeof v);
    return u;
}
template <class T>
T of_bits(uint64_t u) {
    T v;
    memcpy(&v, &u, sizeof v);
    return v;
}
} // namespace fce

#define threadIdx (fce::thread_idx)
#define blockIdx (fce::block_idx)
#define blockDim (fce::block_dim)
#define gridDim (fce::grid_dim)
#define warpSize 32

static inline void __syncthreads() { fce::syncthreads(); }
template <class T>
static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    return fce::of_bits<T>(fce::warp_op(fce::WARP_SHFL_XOR, mask, fce::bits_of(v), lane_mask, width));
}
static inline int __any_sync(unsigned mask, int pred) {
    return (int)fce::warp_op(fce::WARP_ANY, mask, pred != 0, 0, 32);
}
static inline int __all_sync(unsigned mask, int pred) {
    return (int)fce::warp_op(fce::WARP_ALL, mask, pred != 0, 0, 32);
}
/* Threads switch only at barriers and warp exchanges, so a read-modify-write is atomic here. */
template <class T>
static inline T atomicExch(T *p, T v) {
    T old = *p;
    *p = v;
    return old;
}
template <class T>
static inline T atomicAdd(T *p, T v) {
    T old = *p;
    *p = old + v;
    return old;
}

static inline float __int_as_float(int i) { return fce::of_bits<float>((uint32_t)i); }
static inline int __float_as_int(float f) { return (int)(uint32_t)fce::bits_of(f); }
static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }
/* _rn: one rounding, never contracted into an FMA (volatile keeps the product apart) */
static inline float __fmul_rn(float a, float b) {
    volatile float p = a * b;
    return p;
}
static inline float __fadd_rn(float a, float b) {
    volatile float s = a + b;
    return s;
}
/* CUDA's min / max of two numbers: the usual arithmetic conversions, fminf / fmaxf for floats */
template <class A, class B>
static inline typename std::common_type<A, B>::type min(A a, B b) {
    typedef typename std::common_type<A, B>::type T;
    return std::is_floating_point<T>::value ? (T)fmin((double)a, (double)b) : ((T)b < (T)a ? (T)b : (T)a);
}
template <class A, class B>
static inline typename std::common_type<A, B>::type max(A a, B b) {
    typedef typename std::common_type<A, B>::type T;
    return std::is_floating_point<T>::value ? (T)fmax((double)a, (double)b) : ((T)b > (T)a ? (T)b : (T)a);
}
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

#endif
