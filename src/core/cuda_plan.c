/* The plan cache of the CUDA backend (cuda_impl.h): a fixed table of FCI_PLAN_CACHE_CAP entries
 * searched by a linear scan of the hashes (kept apart from the keys), then by whole key. A training step uses a few dozen GEMM and
 * convolution shapes, so a lookup is a scan of a few cache lines, far below the cost of the
 * cublasLt / cuDNN descriptor calls and algorithm queries it saves (each a few microseconds, the
 * queries tens). Plain C: the tests run it without a GPU. */
#include <string.h>

#include "cuda_impl.h"

/* A multiply-xorshift hash over the key's 8-byte words (then its tail bytes): the keys are
 * structs of int64, so this is one multiply per field. */
static uint64_t key_hash(const void *key, size_t n) {
    const unsigned char *p = key;
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x94D049BB133111EBULL;
    return h ^ (h >> 29);
}

void *fci_plan_cache_get(fci_plan_cache *c, const void *key, size_t key_len) {
    uint64_t h = key_hash(key, key_len);
    for (int i = 0; i < FCI_PLAN_CACHE_CAP; i++) {
        if (c->hash[i] != h || !c->used[i]) continue;
        fci_plan_slot *s = &c->slot[i];
        if (s->key_len == key_len && !memcmp(s->key, key, key_len)) {
            c->used[i] = ++c->clock;
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
    int k = 0;
    for (int i = 0; i < FCI_PLAN_CACHE_CAP; i++) { /* an empty slot, else the least recently used */
        if (!c->used[i]) {
            k = i;
            break;
        }
        if (c->used[i] < c->used[k]) k = i;
    }
    fci_plan_slot *pick = &c->slot[k];
    if (c->used[k]) {
        if (c->free_plan && pick->plan) c->free_plan(pick->plan);
        c->evictions++;
        c->n--;
    }
    c->hash[k] = key_hash(key, key_len);
    pick->key_len = key_len;
    memcpy(pick->key, key, key_len);
    pick->plan = plan;
    c->used[k] = ++c->clock;
    c->n++;
    return FC_OK;
}

void fci_plan_cache_clear(fci_plan_cache *c) {
    for (int i = 0; i < FCI_PLAN_CACHE_CAP; i++) {
        fci_plan_slot *s = &c->slot[i];
        if (c->used[i] && c->free_plan && s->plan) c->free_plan(s->plan);
        *s = (fci_plan_slot){0};
        c->used[i] = c->hash[i] = 0;
    }
    c->n = 0;
}
