/* The CUDA emulator's cub::DeviceRadixSort::SortPairs: a stable sort of (key, value) pairs by the
 * key bits [begin_bit, end_bit), with CUB's two-call protocol (a NULL d_temp_storage asks for the
 * scratch size; the second call must pass at least that much, or it fails as CUB would). */
#ifndef FCE_CUB_DEVICE_RADIX_SORT_CUH
#define FCE_CUB_DEVICE_RADIX_SORT_CUH

#include <cuda_runtime.h>

#include <algorithm>
#include <stdint.h>

namespace cub {
struct DeviceRadixSort {
    template <class K, class V, class N>
    static cudaError_t SortPairs(void *d_temp_storage, size_t &temp_storage_bytes, const K *keys_in, K *keys_out,
                                 const V *values_in, V *values_out, N num_items, int begin_bit = 0,
                                 int end_bit = (int)sizeof(K) * 8, cudaStream_t stream = 0) {
        size_t need = (size_t)num_items * sizeof(int64_t) + 256;
        if (!d_temp_storage) {
            temp_storage_bytes = need;
            return cudaSuccess;
        }
        if (temp_storage_bytes < need || begin_bit < 0 || end_bit > (int)sizeof(K) * 8 || begin_bit >= end_bit ||
            !fce_is_device(d_temp_storage, need) || !fce_is_device(keys_in, num_items * sizeof(K)) ||
            !fce_is_device(keys_out, num_items * sizeof(K)) || !fce_is_device(values_in, num_items * sizeof(V)) ||
            !fce_is_device(values_out, num_items * sizeof(V)))
            return cudaErrorInvalidValue;
        fce_stream_drain(stream); // sorted at the call, after the stream's earlier work
        int64_t *order = (int64_t *)d_temp_storage;
        uint64_t bits = (uint64_t)(end_bit - begin_bit) >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << (end_bit - begin_bit)) - 1);
        auto key = [&](int64_t i) { return ((uint64_t)keys_in[i] >> begin_bit) & bits; };
        for (int64_t i = 0; i < (int64_t)num_items; i++) order[i] = i;
        std::stable_sort(order, order + num_items, [&](int64_t a, int64_t b) { return key(a) < key(b); });
        for (int64_t i = 0; i < (int64_t)num_items; i++) {
            keys_out[i] = keys_in[order[i]];
            values_out[i] = values_in[order[i]];
        }
        return cudaSuccess;
    }
};
} // namespace cub

#endif
