/* The caching allocator: freed blocks go to a free list per size class and are handed out again,
 * so a training step that repeats the same shapes asks the system for nothing once warm.
 * Size classes: multiples of 64 bytes up to 512, then 8 classes per power of two (at most 12.5%
 * waste). Blocks are 64-byte aligned (AVX-512 loads, cache lines). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core_impl.h"

#define N_CLASSES (64 * 8)

typedef struct free_block {
    struct free_block *next;
} free_block;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static free_block *free_lists[N_CLASSES];
static fc_alloc_stats stats;

/* Rounds nbytes up to its class size; returns the class index. */
static int size_class(size_t nbytes, size_t *rounded) {
    if (nbytes == 0) nbytes = 1;
    if (nbytes <= 512) {
        *rounded = (nbytes + 63) & ~(size_t)63;
        return (int)(*rounded / 64); /* 1..8 */
    }
    int p = 63 - __builtin_clzll((unsigned long long)nbytes); /* 2^p <= nbytes < 2^(p+1) */
    size_t step = (size_t)1 << (p - 3);
    size_t r = (nbytes + step - 1) & ~(step - 1);
    *rounded = r;
    /* r is in (2^p, 2^(p+1)]; sub in 1..8 */
    int sub = (int)((r - ((size_t)1 << p)) / step);
    return 8 + (p - 9) * 8 + sub + 1;
}

/* Blocks of 4 MiB and more start on a 2 MiB boundary and ask for transparent huge pages (Debian's
 * default THP mode is "madvise"): a GEMM streaming a 21 MB packed weight through 4 KiB pages missed
 * the TLB often enough to run ~6% slower (bench/RESULTS.md, LSTM recurrence). Failure to get huge
 * pages is harmless, so madvise's result is ignored. */
#define HUGE_MIN ((size_t)4 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)

static void *system_alloc(size_t rounded) {
    if (rounded < HUGE_MIN) return aligned_alloc(64, rounded);
    size_t size = (rounded + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1); /* aligned_alloc: a multiple */
    void *p = aligned_alloc(HUGE_ALIGN, size);
#ifdef MADV_HUGEPAGE
    if (p) (void)madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

void *fci_alloc(size_t nbytes) {
    size_t rounded;
    int c = size_class(nbytes, &rounded);
    pthread_mutex_lock(&lock);
    stats.n_allocs++;
    free_block *b = (c < N_CLASSES) ? free_lists[c] : NULL;
    if (b) {
        free_lists[c] = b->next;
        stats.n_cache_hits++;
        stats.bytes_cached -= rounded;
    }
    stats.bytes_in_use += rounded;
    if (stats.bytes_in_use > stats.bytes_peak) stats.bytes_peak = stats.bytes_in_use;
    if (!b) stats.n_system_allocs++;
    pthread_mutex_unlock(&lock);
    if (b) return b;
    void *p = system_alloc(rounded);
    if (!p) {
        pthread_mutex_lock(&lock);
        stats.bytes_in_use -= rounded;
        pthread_mutex_unlock(&lock);
        fc_fail(FC_ERR_NOMEM, "out of memory: could not allocate %zu bytes (%.1f MiB in use)",
                rounded, (double)stats.bytes_in_use / (1 << 20));
    }
    return p;
}

void fci_release(void *p, size_t nbytes) {
    if (!p) return;
    size_t rounded;
    int c = size_class(nbytes, &rounded);
    pthread_mutex_lock(&lock);
    stats.bytes_in_use -= rounded;
    if (c < N_CLASSES) {
        free_block *b = p;
        b->next = free_lists[c];
        free_lists[c] = b;
        stats.bytes_cached += rounded;
        p = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(p);
}

void fc_alloc_empty_cache(void) {
    pthread_mutex_lock(&lock);
    for (int c = 0; c < N_CLASSES; c++) {
        while (free_lists[c]) {
            free_block *b = free_lists[c];
            free_lists[c] = b->next;
            free(b);
        }
    }
    stats.bytes_cached = 0;
    pthread_mutex_unlock(&lock);
}

fc_alloc_stats fc_alloc_stats_get(void) {
    pthread_mutex_lock(&lock);
    fc_alloc_stats s = stats;
    pthread_mutex_unlock(&lock);
    return s;
}

/* Small structs (tensor headers, graph nodes) come from the same cache, so that they too cost no
 * system call in steady state; a 64-byte header before the block remembers its size. */
void *fci_calloc(size_t n, size_t size) {
    size_t nbytes = (n ? n : 1) * (size ? size : 1);
    char *p = fci_alloc(nbytes + 64);
    if (!p) return NULL;
    *(size_t *)p = nbytes + 64;
    memset(p + 64, 0, nbytes);
    return p + 64;
}

void fci_free(void *p) {
    if (!p) return;
    char *base = (char *)p - 64;
    fci_release(base, *(size_t *)base);
}

/* Give cached blocks back at exit so leak checkers see a clean heap. */
__attribute__((destructor)) static void alloc_cleanup(void) { fc_alloc_empty_cache(); }
