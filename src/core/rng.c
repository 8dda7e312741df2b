/* Counter-based random numbers (Philox 4x32-10, Salmon et al., SC'11): element i of a draw is a
 * pure function of (seed, counter base + i), so results do not depend on threads or batch order.
 * The global generator hands out counter ranges; fc_rng is a private generator (e.g. shuffling). */
#include <math.h>
#include <pthread.h>

#include "core_impl.h"
#include "cuda_impl.h"

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
    oo.device = FC_CPU; /* drawn on the host (the same numbers on every device), then moved */
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
    return fci_move_or_free(t, o->device);
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
    return fci_move_or_free(t, o->device);
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
    return fci_move_or_free(t, o->device);
}

/* ---- Gamma and Beta draws (fc_rng_gamma / fc_rng_beta: h-mixup) ---------------------------------
 * Double precision from one Philox call per pair of 53-bit uniforms. Marsaglia & Tsang (2000), "A
 * simple method for generating gamma variables", for shape >= 1; shape < 1 uses their boost
 * Gamma(a) = Gamma(a + 1) * U^(1/a), kept in log space so that tiny shapes (whose draws underflow a
 * double) still give a usable Beta: Beta(a, b) = 1 / (1 + exp(log Y - log X)). */

static double u53(uint32_t hi, uint32_t lo) { /* (0, 1): never 0 or 1, so log() is finite */
    return ((double)((((uint64_t)hi << 32) | lo) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double rng_normal_d(fc_rng *g) {
    uint32_t r[4];
    fc_philox(g->seed, g->offset++, r);
    return sqrt(-2.0 * log(u53(r[0], r[1]))) * cos(6.283185307179586 * u53(r[2], r[3]));
}

static double rng_uniform_d(fc_rng *g) {
    uint32_t r[4];
    fc_philox(g->seed, g->offset++, r);
    return u53(r[0], r[1]);
}

/* log of a Gamma(shape, 1) draw, shape > 0. */
static double log_gamma_draw(fc_rng *g, double shape) {
    if (shape < 1) return log_gamma_draw(g, shape + 1) + log(rng_uniform_d(g)) / shape;
    const double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rng_normal_d(g), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = rng_uniform_d(g), x2 = x * x;
        if (u < 1 - 0.0331 * x2 * x2 || log(u) < 0.5 * x2 + d * (1 - v + log(v))) return log(d) + log(v);
    }
}

double fc_rng_gamma(fc_rng *g, double shape) {
    if (!g || !(shape > 0) || !isfinite(shape)) {
        fc_fail(FC_ERR_ARG, "rng_gamma: expected a generator and shape > 0, found %s and %g", g ? "one" : "NULL",
                shape);
        return NAN;
    }
    return exp(log_gamma_draw(g, shape));
}

double fc_rng_beta(fc_rng *g, double a, double b) {
    if (!g || !(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b)) {
        fc_fail(FC_ERR_ARG, "rng_beta: expected a generator and a, b > 0, found %s, %g and %g", g ? "one" : "NULL", a,
                b);
        return NAN;
    }
    double lx = log_gamma_draw(g, a), ly = log_gamma_draw(g, b);
    return 1.0 / (1.0 + exp(ly - lx));
}
