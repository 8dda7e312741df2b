/* The plan cache of the CUDA backend (cuda_impl.h): a fixed table of FCI_PLAN_CACHE_CAP entries
 * searched linearly by hash, then by whole key. A training step uses a few dozen GEMM and
 * convolution shapes, so a lookup is a scan of a few cache lines, far below the cost of the
 * cublasLt / cuDNN descriptor calls and algorithm queries it saves (each a few microseconds, the
 * queries tens). Plain C: the tests run it without a GPU. */
#include <string.h>

#include "cuda_impl.h"

/* FNV-1a over the key bytes. */
static uint64_t key_hash(const void *key, size_t n) {
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

void *fci_plan_cache_get(fci_plan_cache *c, const void *key, size_t key_len) {
    uint64_t h = key_hash(key, key_len);
    for (int i = 0; i < FCI_PLAN_CACHE_CAP; i++) {
        fci_plan_slot *s = &c->slot[i];
        if (s->used && s->hash == h && s->key_len == key_len && !memcmp(s->key, key, key_len)) {
            s->used = ++c->clock;
            c->hits++;
            return s->plan;
        }
    }
    c->misses++;
    return NULL;
}

fc_status fci_plan_cache_put(fci_plan_cache *c, const void *key, size_t key_len, void *plan) {
    if (key_len > FCI_PLAN_KEY_MAX) {
        if (c->free_plan && plan) c->free_plan(plan);
        return FCI_INTERNAL("plan cache: a key of %zu bytes (at most %d)", key_len, FCI_PLAN_KEY_MAX);
    }
    fci_plan_slot *pick = &c->slot[0];
    for (int i = 0; i < FCI_PLAN_CACHE_CAP; i++) { /* an empty slot, else the least recently used */
        fci_plan_slot *s = &c->slot[i];
        if (!s->used) {
            pick = s;
            break;
        }
        if (s->used < pick->used) pick = s;
    }
    if (pick->used) {
        if (c->free_plan && pick->plan) c->free_plan(pick->plan);
        c->evictions++;
        c->n--;
    }
    pick->hash = key_hash(key, key_len);
    pick->key_len = key_len;
    memcpy(pick->key, key, key_len);
    pick->plan = plan;
    pick->used = ++c->clock;
    c->n++;
    return FC_OK;
}

void fci_plan_cache_clear(fci_plan_cache *c) {
    for (int i = 0; i < FCI_PLAN_CACHE_CAP; i++) {
        fci_plan_slot *s = &c->slot[i];
        if (s->used && c->free_plan && s->plan) c->free_plan(s->plan);
        *s = (fci_plan_slot){0};
    }
    c->n = 0;
}
