// The CUDA emulator checks itself: a kernel's threads see CUDA's indices, barriers order shared
// memory, warp exchanges give what the hardware gives, launch shapes the hardware refuses are
// refused, and a kernel that races (a barrier left out) gives a result that changes with the
// schedule (FCE_SEED) — which is what lets the device suite find such bugs on the CPU.
#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>

#include <vector>

#include "ops/cuda/launch.cuh"

static int failures;
#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

__global__ void write_ids(unsigned *out) {
    unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    out[b * blockDim.x * blockDim.y * blockDim.z + t] = b * 100000u + t;
}

// Reverses a block's values through shared memory: correct only with the barrier.
template <bool BARRIER>
__global__ void reverse_block(const int *in, int *out) {
    __shared__ int buf[256];
    buf[threadIdx.x] = in[blockIdx.x * blockDim.x + threadIdx.x];
    if (BARRIER) __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = buf[blockDim.x - 1 - threadIdx.x];
}

__global__ void warp_sums(const float *in, float *out, int *any_neg) {
    float v = in[threadIdx.x];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    out[threadIdx.x] = v;
    int neg = __any_sync(0xffffffffu, in[threadIdx.x] < 0.0f);
    if ((threadIdx.x & 31) == 0) any_neg[threadIdx.x >> 5] = neg;
}

__global__ void by_value(int n, int *out) {
    n += (int)threadIdx.x; // a parameter is each thread's own copy
    out[threadIdx.x] = n;
}

__global__ void add_one(const int *in, int *out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = in[i] + 1;
}

static std::vector<int> run_reverse(bool barrier, unsigned seed_hint) {
    const int n = 4 * 256;
    int *in, *out;
    cudaMalloc((void **)&in, n * sizeof(int));
    cudaMalloc((void **)&out, n * sizeof(int));
    std::vector<int> h(n);
    for (int i = 0; i < n; i++) h[i] = i * 7 + (int)seed_hint * 0;
    cudaMemcpy(in, h.data(), n * sizeof(int), cudaMemcpyHostToDevice);
    if (barrier) FCI_LAUNCH(4, 256, 0, 0, reverse_block<true>)(in, out);
    else FCI_LAUNCH(4, 256, 0, 0, reverse_block<false>)(in, out);
    cudaMemcpy(h.data(), out, n * sizeof(int), cudaMemcpyDeviceToHost);
    cudaFree(in);
    cudaFree(out);
    return h;
}

int main(void) {
    // every (block, thread) once, at CUDA's linear indices, in a 3-d grid of 3-d blocks
    {
        dim3 grid(3, 2, 2), block(4, 2, 3);
        unsigned n = 12 * 24;
        unsigned *d;
        CHECK(cudaMalloc((void **)&d, n * 4) == cudaSuccess);
        FCI_LAUNCH(grid, block, 0, 0, write_ids)(d);
        CHECK(cudaGetLastError() == cudaSuccess);
        std::vector<unsigned> h(n);
        cudaMemcpy(h.data(), d, n * 4, cudaMemcpyDeviceToHost);
        for (unsigned b = 0; b < 12; b++)
            for (unsigned t = 0; t < 24; t++) CHECK(h[b * 24 + t] == b * 100000u + t);
        cudaFree(d);
    }
    // the barrier orders shared memory: exact reversal on every schedule
    {
        std::vector<int> r = run_reverse(true, 0);
        for (int b = 0; b < 4; b++)
            for (int t = 0; t < 256; t++) CHECK(r[b * 256 + t] == (b * 256 + 255 - t) * 7);
    }
    // without it the result depends on the schedule: some thread reads a slot not yet written
    // (the emulator fills fresh device memory and runs threads in a shuffled order)
    {
        int wrong = 0;
        for (int k = 0; k < 4; k++) {
            std::vector<int> r = run_reverse(false, k);
            for (int b = 0; b < 4; b++)
                for (int t = 0; t < 256; t++) wrong += r[b * 256 + t] != (b * 256 + 255 - t) * 7;
        }
        CHECK(wrong > 0);
    }
    // warp exchanges: butterfly sums per warp, any() per warp
    {
        float *in, *out;
        int *neg;
        cudaMalloc((void **)&in, 64 * 4);
        cudaMalloc((void **)&out, 64 * 4);
        cudaMalloc((void **)&neg, 2 * 4);
        float h[64];
        for (int i = 0; i < 64; i++) h[i] = (float)(i + 1) * (i == 40 ? -1.0f : 1.0f);
        cudaMemcpy(in, h, sizeof h, cudaMemcpyHostToDevice);
        FCI_LAUNCH(1, 64, 0, 0, warp_sums)(in, out, neg);
        float o[64];
        int ng[2];
        cudaMemcpy(o, out, sizeof o, cudaMemcpyDeviceToHost);
        cudaMemcpy(ng, neg, sizeof ng, cudaMemcpyDeviceToHost);
        float s0 = 0, s1 = 0;
        for (int i = 0; i < 32; i++) s0 += h[i], s1 += h[32 + i];
        for (int i = 0; i < 32; i++) CHECK(o[i] == s0 && o[32 + i] == s1);
        CHECK(ng[0] == 0 && ng[1] == 1);
        cudaFree(in);
        cudaFree(out);
        cudaFree(neg);
    }
    // parameters are per thread
    {
        int *d, h[8];
        cudaMalloc((void **)&d, sizeof h);
        FCI_LAUNCH(1, 8, 0, 0, by_value)(5, d);
        cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
        for (int i = 0; i < 8; i++) CHECK(h[i] == 5 + i);
        cudaFree(d);
    }
    // launch shapes the hardware refuses: an error for cudaGetLastError, nothing run
    {
        int *d;
        cudaMalloc((void **)&d, 4);
        FCI_LAUNCH(1, 1025, 0, 0, by_value)(0, d);
        CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
        FCI_LAUNCH(dim3(1, 65536), 32, 0, 0, by_value)(0, d);
        CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
        FCI_LAUNCH(0, 32, 0, 0, by_value)(0, d);
        CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
        CHECK(cudaGetLastError() == cudaSuccess); // read once, then cleared
        // a stream that was destroyed
        cudaStream_t s;
        cudaStreamCreate(&s);
        cudaStreamDestroy(s);
        FCI_LAUNCH(1, 1, 0, s, by_value)(0, d);
        CHECK(cudaGetLastError() == cudaErrorInvalidResourceHandle);
        cudaFree(d);
    }
    // copies check which side each pointer is on; fresh device memory reads as 0xff bytes
    {
        float *d, h[4] = {1, 2, 3, 4};
        cudaMalloc((void **)&d, sizeof h);
        unsigned raw;
        cudaMemcpy(&raw, d, 4, cudaMemcpyDeviceToHost);
        CHECK(raw == 0xffffffffu);
        CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyHostToDevice) == cudaErrorInvalidValue); // reversed
        CHECK(cudaGetLastError() == cudaErrorInvalidValue);
        CHECK(cudaMemcpy(d, h, sizeof h + 4, cudaMemcpyHostToDevice) == cudaErrorInvalidValue); // too long
        cudaGetLastError();
        CHECK(cudaMemsetAsync(h, 0, 4, 0) == cudaErrorInvalidValue);
        cudaGetLastError();
        CHECK(cudaFree(h) == cudaErrorInvalidValue);
        cudaGetLastError();
        cudaFree(d);
    }
    // streams run late: a result read without waiting for its stream is stale, as it can be on a
    // GPU; after cudaStreamSynchronize, or through an event another stream waits on, it is there
    {
        const int n = 300;
        int *a, *b, *c, h[n];
        cudaMalloc((void **)&a, sizeof h);
        cudaMalloc((void **)&b, sizeof h);
        cudaMalloc((void **)&c, sizeof h);
        for (int i = 0; i < n; i++) h[i] = i;
        cudaMemcpy(a, h, sizeof h, cudaMemcpyHostToDevice);
        cudaStream_t s1, s2;
        cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking);
        cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking);
        FCI_LAUNCH(2, 256, 0, s1, add_one)(a, b, n);
        cudaMemcpy(h, b, sizeof h, cudaMemcpyDeviceToHost); // no wait for s1: a race
        CHECK(h[5] == -1);                                  // the block's fresh 0xff bytes
        cudaStreamSynchronize(s1);
        cudaMemcpy(h, b, sizeof h, cudaMemcpyDeviceToHost);
        CHECK(h[5] == 6 && h[299] == 300);
        // s2 reads what s1 writes: ordered by an event
        cudaEvent_t e;
        cudaEventCreateWithFlags(&e, cudaEventDisableTiming);
        FCI_LAUNCH(2, 256, 0, s1, add_one)(b, a, n); // a = i + 2
        cudaEventRecord(e, s1);
        CHECK(cudaEventQuery(e) == cudaErrorNotReady); // pending: "not ready" (and now run)
        CHECK(cudaEventQuery(e) == cudaSuccess);
        FCI_LAUNCH(2, 256, 0, s1, add_one)(a, b, n); // b = i + 3, after the event
        cudaEventRecord(e, s1);
        cudaStreamWaitEvent(s2, e, 0);
        FCI_LAUNCH(2, 256, 0, s2, add_one)(b, c, n); // c = i + 4 only if the wait holds
        cudaStreamSynchronize(s2);
        cudaMemcpy(h, c, sizeof h, cudaMemcpyDeviceToHost);
        CHECK(h[0] == 4 && h[299] == 303);
        // a host buffer changed before its asynchronous copy ran: the copy reads the new values
        int src[n];
        for (int i = 0; i < n; i++) src[i] = 7;
        cudaMemcpyAsync(c, src, sizeof src, cudaMemcpyHostToDevice, s1);
        src[0] = 8; // a GPU may or may not have copied it by now; the emulator has not
        cudaStreamSynchronize(s1);
        cudaMemcpy(h, c, sizeof h, cudaMemcpyDeviceToHost);
        CHECK(h[0] == 8);
        cudaEventDestroy(e);
        cudaStreamDestroy(s1);
        cudaStreamDestroy(s2);
        cudaFree(a);
        cudaFree(b);
        cudaFree(c);
    }
    if (failures) {
        fprintf(stderr, "test_emu_scheduler: %d checks failed\n", failures);
        return 1;
    }
    printf("test_emu_scheduler: all checks passed\n");
    return 0;
}
