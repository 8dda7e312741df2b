/* The caching device allocator: cudaMalloc is slow and synchronizes the device, so freed blocks go
 * to a free list per (device, size class) and are handed out again. All of fastc's device work is
 * queued on one stream per device, so a block freed by the host can be given to the next tensor
 * at once: the work that used it runs before any work that reuses it (stream order).
 * Size classes: multiples of 512 bytes up to 4 KiB, then 8 classes per power of two (at most
 * 12.5% waste), as the CPU allocator. The bookkeeping (block records) lives on the host. */
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_impl.h"

#define MAX_DEVICES 16
#define N_CLASSES (64 * 8)

typedef struct block {
    void *ptr;
    struct block *next;
} block;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static block *free_lists[MAX_DEVICES][N_CLASSES];
static block *spare_records; /* recycled records: no malloc in steady state either */
static fc_cuda_memory_stats stats;
static uint64_t cached_of[MAX_DEVICES]; /* bytes in the free lists, per device */

/* Rounds nbytes up to its class size; returns the class index (>= N_CLASSES: not cached). */
static int size_class(size_t nbytes, size_t *rounded) {
    if (nbytes <= 4096) {
        *rounded = nbytes ? (nbytes + 511) & ~(size_t)511 : 512;
        return (int)(*rounded / 512); /* 1..8 */
    }
    int p = 63 - __builtin_clzll((unsigned long long)nbytes);
    size_t step = (size_t)1 << (p - 3);
    size_t r = (nbytes + step - 1) & ~(step - 1);
    *rounded = r;
    int sub = (int)((r - ((size_t)1 << p)) / step);
    return 8 + (p - 12) * 8 + sub + 1;
}

#ifdef FASTC_CUDA_EMU
/* Under the CUDA emulator only (FASTC_CUDA=EMU, tests/cuda_emu: "device" memory is host memory, so
 * the host may look at it): a block is handed out filled with 0xff bytes (NaN, -1), so a kernel
 * that reads what nothing wrote shows it, and the bytes between the request and its size class
 * hold a canary that must be intact when the block comes back: a kernel that wrote past the end
 * of its tensor is named instead of corrupting a neighbour in silence. Both run on the device's
 * stream, in its order (the emulator runs streams late: the block's last users run first). */
#include <string.h>
#define CANARY 0xa5
typedef struct emu_block {
    unsigned char *p;
    size_t nbytes, rounded;
} emu_block;
static void emu_fill(void *arg) {
    emu_block *b = arg;
    memset(b->p, 0xff, b->nbytes);
    memset(b->p + b->nbytes, CANARY, b->rounded - b->nbytes);
    free(b);
}
static void emu_check(void *arg) {
    emu_block *b = arg;
    for (size_t i = b->nbytes; i < b->rounded; i++)
        if (b->p[i] != CANARY)
            fce_fatal("cuda_alloc: byte %zu of a %zu-byte block (class %zu bytes) was written past its end "
                      "(a kernel or copy overran its tensor)", i, b->nbytes, b->rounded);
    free(b);
}
static void emu_on_stream(int device, void (*fn)(void *), void *p, size_t nbytes, size_t rounded) {
    emu_block *b = malloc(sizeof *b);
    if (!b) return;
    *b = (emu_block){p, nbytes, rounded};
    cudaStream_t s = fci_cuda_stream(device);
    if (s) fce_defer_host(s, fn, b);
    else fn(b);
}
#endif

static char *mib(double bytes, char *buf) {
    snprintf(buf, 32, "%.1f MiB", bytes / (1 << 20));
    return buf;
}

/* Frees the cached blocks of one device (lock held; the device current). */
static void drop_cached(int device) {
    for (int c = 0; c < N_CLASSES; c++)
        while (free_lists[device][c]) {
            block *b = free_lists[device][c];
            free_lists[device][c] = b->next;
            cudaFree(b->ptr);
            b->next = spare_records;
            spare_records = b;
        }
    stats.bytes_cached -= cached_of[device];
    cached_of[device] = 0;
}

void *fci_cuda_alloc(int device, size_t nbytes) {
    size_t rounded;
    int c = size_class(nbytes, &rounded);
    pthread_mutex_lock(&lock);
    stats.n_allocs++;
    block *b = c < N_CLASSES ? free_lists[device][c] : NULL;
    void *p = NULL;
    if (b) {
        free_lists[device][c] = b->next;
        p = b->ptr;
        b->next = spare_records;
        spare_records = b;
        stats.n_cache_hits++;
        stats.bytes_cached -= rounded;
        cached_of[device] -= rounded;
    } else {
        cudaError_t e = cudaMalloc(&p, rounded);
        if (e == cudaErrorMemoryAllocation) { /* give the cache back and try once more */
            cudaGetLastError();
            drop_cached(device);
            e = cudaMalloc(&p, rounded);
        }
        if (e != cudaSuccess) {
            cudaGetLastError();
            size_t free_b = 0, total_b = 0;
            cudaMemGetInfo(&free_b, &total_b);
            cudaGetLastError();
            char a[32], u[32], k[32], f[32], t[32];
            fc_fail(FC_ERR_NOMEM,
                    "cuda: out of memory on cuda:%d: could not allocate %zu bytes (%s); fastc has "
                    "%s in use by live tensors and %s cached; the device has %s free of %s (%s)",
                    device, rounded, mib((double)rounded, a), mib((double)stats.bytes_in_use, u),
                    mib((double)stats.bytes_cached, k), mib((double)free_b, f),
                    mib((double)total_b, t), cudaGetErrorString(e));
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        stats.n_device_allocs++;
    }
    stats.bytes_in_use += rounded;
    if (stats.bytes_in_use > stats.bytes_peak) stats.bytes_peak = stats.bytes_in_use;
    pthread_mutex_unlock(&lock);
#ifdef FASTC_CUDA_EMU
    emu_on_stream(device, emu_fill, p, nbytes, rounded);
#endif
    return p;
}

void fci_cuda_release(int device, void *p, size_t nbytes) {
    if (!p) return;
    size_t rounded;
    int c = size_class(nbytes, &rounded);
#ifdef FASTC_CUDA_EMU
    emu_on_stream(device, emu_check, p, nbytes, rounded);
#endif
    pthread_mutex_lock(&lock);
    stats.bytes_in_use -= rounded;
    block *b = spare_records;
    if (b) spare_records = b->next;
    else b = malloc(sizeof *b);
    if (c < N_CLASSES && b) {
        b->ptr = p;
        b->next = free_lists[device][c];
        free_lists[device][c] = b;
        stats.bytes_cached += rounded;
        cached_of[device] += rounded;
    } else {
        free(b);
        cudaFree(p); /* beyond the largest class (> 2^75 bytes) or no record: not cached */
    }
    pthread_mutex_unlock(&lock);
}

void fci_cuda_alloc_empty(void) {
    pthread_mutex_lock(&lock);
    for (int d = 0; d < MAX_DEVICES; d++) {
        if (!cached_of[d]) continue;
        cudaSetDevice(d);
        drop_cached(d);
    }
    while (spare_records) {
        block *b = spare_records;
        spare_records = b->next;
        free(b);
    }
    pthread_mutex_unlock(&lock);
}

fc_cuda_memory_stats fci_cuda_alloc_stats(void) {
    pthread_mutex_lock(&lock);
    fc_cuda_memory_stats s = stats;
    pthread_mutex_unlock(&lock);
    return s;
}
