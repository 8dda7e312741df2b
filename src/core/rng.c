/* Counter-based random numbers (Philox 4x32-10, Salmon et al., SC'11): element i of a draw is a
 * pure function of (seed, counter base + i), so results do not depend on threads or batch order.
 * The global generator hands out counter ranges; fc_rng is a private generator (e.g. shuffling). */
#include <math.h>
#include <pthread.h>

#include "core_impl.h"

static uint64_t global_seed = 0x5eed;
static uint64_t global_offset = 0;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void fc_philox(uint64_t seed, uint64_t counter, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void fc_manual_seed(uint64_t seed) {
    pthread_mutex_lock(&lock);
    global_seed = seed;
    global_offset = 0;
    pthread_mutex_unlock(&lock);
}

void fci_rng_get_state(uint64_t *seed, uint64_t *offset) {
    pthread_mutex_lock(&lock);
    *seed = global_seed;
    *offset = global_offset;
    pthread_mutex_unlock(&lock);
}

void fci_rng_set_state(uint64_t seed, uint64_t offset) {
    pthread_mutex_lock(&lock);
    global_seed = seed;
    global_offset = offset;
    pthread_mutex_unlock(&lock);
}

uint64_t fc_rng_reserve(uint64_t n, uint64_t *seed) {
    pthread_mutex_lock(&lock);
    uint64_t base = global_offset;
    global_offset += n;
    *seed = global_seed;
    pthread_mutex_unlock(&lock);
    return base;
}

fc_rng fc_rng_new(uint64_t seed) { return (fc_rng){.seed = seed, .offset = 0}; }

uint32_t fc_rng_u32(fc_rng *g) {
    uint32_t r[4];
    fc_philox(g->seed, g->offset++, r);
    return r[0];
}

float fc_rng_uniform(fc_rng *g) { return (float)(fc_rng_u32(g) >> 8) * (1.0f / 16777216.0f); }

float fc_rng_normal(fc_rng *g) {
    uint32_t r[4];
    fc_philox(g->seed, g->offset++, r);
    double u1 = ((r[0] >> 8) + 1.0) / 16777217.0, u2 = (r[1] >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---- random tensors: element i depends only on (seed, base + i) ---- */

static fc_tensor *random_tensor(const char *op, fc_shape shape, const fc_tensor_opts *o,
                                fc_dtype want_default) {
    fc_tensor_opts oo = *o;
    if (oo.dtype == FC_DTYPE_F32 && want_default != FC_DTYPE_F32) oo.dtype = want_default;
    if (want_default == FC_DTYPE_F32 && !fc_dtype_is_float(oo.dtype)) {
        fc_fail(FC_ERR_DTYPE, "%s: expected a float dtype, found %s", op, fc_dtype_name(oo.dtype));
        return NULL;
    }
    oo.requires_grad = 0;
    fc_tensor *t = fc_empty_(shape, &oo);
    if (t && o->requires_grad) t->requires_grad = 1;
    return t;
}

static inline float u24(uint32_t r) { return (float)(r >> 8) * (1.0f / 16777216.0f); }

fc_tensor *fc_rand_(fc_shape shape, const fc_tensor_opts *o) {
    fc_tensor *t = random_tensor("rand", shape, o, FC_DTYPE_F32);
    if (!t) return NULL;
    int64_t n = fc_tensor_numel(t);
    uint64_t seed, base = fc_rng_reserve((uint64_t)(n + 3) / 4, &seed);
    char *p = fc_tensor_data(t);
    size_t es = fc_dtype_size(t->dtype);
#pragma omp parallel for if (n > 65536)
    for (int64_t q = 0; q < (n + 3) / 4; q++) {
        uint32_t r[4];
        fc_philox(seed, base + (uint64_t)q, r);
        for (int k = 0; k < 4 && q * 4 + k < n; k++)
            fci_store_from_double(p + (size_t)(q * 4 + k) * es, t->dtype, u24(r[k]));
    }
    return t;
}

fc_tensor *fc_randn_(fc_shape shape, const fc_tensor_opts *o) {
    fc_tensor *t = random_tensor("randn", shape, o, FC_DTYPE_F32);
    if (!t) return NULL;
    int64_t n = fc_tensor_numel(t);
    uint64_t seed, base = fc_rng_reserve((uint64_t)(n + 1) / 2, &seed);
    char *p = fc_tensor_data(t);
    size_t es = fc_dtype_size(t->dtype);
#pragma omp parallel for if (n > 65536)
    for (int64_t q = 0; q < (n + 1) / 2; q++) { /* Box-Muller: two normals per counter */
        uint32_t r[4];
        fc_philox(seed, base + (uint64_t)q, r);
        double u1 = ((r[0] >> 8) + 1.0) / 16777217.0, u2 = (r[1] >> 8) / 16777216.0;
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        fci_store_from_double(p + (size_t)(2 * q) * es, t->dtype, rad * cos(th));
        if (2 * q + 1 < n) fci_store_from_double(p + (size_t)(2 * q + 1) * es, t->dtype, rad * sin(th));
    }
    return t;
}

fc_tensor *fc_randint_(int64_t low, int64_t high, fc_shape shape, const fc_tensor_opts *o) {
    if (high <= low) {
        fc_fail(FC_ERR_ARG, "randint: expected low < high, found low %lld, high %lld",
                (long long)low, (long long)high);
        return NULL;
    }
    fc_tensor *t = random_tensor("randint", shape, o, FC_DTYPE_I64);
    if (!t) return NULL;
    int64_t n = fc_tensor_numel(t);
    uint64_t seed, base = fc_rng_reserve((uint64_t)n, &seed), range = (uint64_t)(high - low);
    char *p = fc_tensor_data(t);
    size_t es = fc_dtype_size(t->dtype);
    for (int64_t i = 0; i < n; i++) {
        uint32_t r[4];
        fc_philox(seed, base + (uint64_t)i, r);
        uint64_t v = (((uint64_t)r[0] << 32) | r[1]) % range; /* bias < 2^-32 for our ranges */
        fci_store_from_double(p + (size_t)i * es, t->dtype, (double)(low + (int64_t)v));
    }
    return t;
}
