/* fastc core: tensors, dtypes, devices, scopes, the caching allocator, the RNG and errors.
 * Everything here is below autograd: views made with these functions carry no gradient history;
 * the differentiable versions (fc_reshape, fc_permute, ...) live in ops.h. */
#ifndef FASTC_CORE_H
#define FASTC_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FC_API __attribute__((visibility("default")))
#define FC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FC_API
#define FC_PRINTF(f, a)
#endif

/* ---- errors ------------------------------------------------------------------------------- */

typedef enum fc_status {
    FC_OK = 0,
    FC_ERR_ARG = -1,         /* an argument out of its range                            */
    FC_ERR_SHAPE = -2,       /* shapes that do not fit                                  */
    FC_ERR_DTYPE = -3,       /* a dtype the operation does not take                     */
    FC_ERR_DEVICE = -4,      /* a device without a kernel, or tensors on two devices    */
    FC_ERR_NOMEM = -5,       /* out of memory (the message says how much was asked)     */
    FC_ERR_IO = -6,          /* a file could not be opened, read or written             */
    FC_ERR_FORMAT = -7,      /* a file or string that does not parse                    */
    FC_ERR_STATE = -8,       /* a call at the wrong time (backward through a released graph) */
    FC_ERR_UNSUPPORTED = -9, /* valid, but not implemented for this case                */
    FC_ERR_INTERNAL = -10,   /* a broken invariant inside fastc: a bug, please report   */
} fc_status;

/* Record an error unless one is already pending (the first failure wins); returns code. */
FC_API fc_status fc_fail(fc_status code, const char *fmt, ...) FC_PRINTF(2, 3);
/* The pending error's message ("" when none) and code (FC_OK when none); thread-local. */
FC_API const char *fc_error_message(void);
FC_API fc_status fc_error_code(void);
FC_API void fc_error_clear(void);
/* Prints the pending error (if any) to stderr; returns 0 for FC_OK, 1 otherwise: `return fc_report(st);` */
FC_API int fc_report(fc_status st);
FC_API const char *fc_status_name(fc_status st);

/* ---- dtypes and devices --------------------------------------------------------------------- */

typedef enum fc_dtype {
    FC_DTYPE_F32 = 0,
    FC_DTYPE_BF16,
    FC_DTYPE_F16,
    FC_DTYPE_I32,
    FC_DTYPE_I64,
    FC_DTYPE_U8,
    FC_DTYPE_BOOL,
    FC_DTYPE_COUNT
} fc_dtype;

FC_API size_t fc_dtype_size(fc_dtype dt);
FC_API const char *fc_dtype_name(fc_dtype dt);
FC_API int fc_dtype_is_float(fc_dtype dt);

typedef enum fc_device_type { FC_DEVICE_CPU = 0, FC_DEVICE_CUDA = 1 } fc_device_type;
typedef struct fc_device {
    fc_device_type type;
    int index;
} fc_device;
#define FC_CPU ((fc_device){FC_DEVICE_CPU, 0})
#define FC_CUDA ((fc_device){FC_DEVICE_CUDA, 0})
FC_API const char *fc_device_name(fc_device d); /* "cpu", "cuda:0" */

/* ---- shapes --------------------------------------------------------------------------------- */

#define FC_MAX_DIMS 8
typedef struct fc_shape {
    int ndim;
    int64_t d[FC_MAX_DIMS];
} fc_shape;

#define FCI_NARGS64(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
/* FC_SHAPE(2, 3) is a 2x3 shape; FC_SCALAR_SHAPE has no dims (one element). */
#define FC_SHAPE(...) ((fc_shape){FCI_NARGS64(__VA_ARGS__), {__VA_ARGS__}})
#define FC_SCALAR_SHAPE ((fc_shape){0, {0}})
/* A list of dims for permute and friends: FC_DIMS(0, 2, 1). Same struct, read as indices. */
#define FC_DIMS(...) FC_SHAPE(__VA_ARGS__)

FC_API int64_t fc_shape_numel(fc_shape s);
/* Writes "[2, 3, 4]" into buf (always terminated); returns buf. */
FC_API char *fc_shape_str(fc_shape s, char *buf, size_t n);

/* ---- tensors -------------------------------------------------------------------------------- */

typedef struct fc_tensor fc_tensor;

typedef struct fc_tensor_opts {
    int _;
    fc_dtype dtype;    /* 0: f32 */
    fc_device device;  /* zero: cpu */
    int requires_grad; /* 1: a leaf that collects .grad */
} fc_tensor_opts;

/* Creation. Each returns a new tensor (owned by the current scope if one is open, else by you)
 * or NULL with the error set. */
FC_API fc_tensor *fc_tensor_new(fc_shape shape, fc_dtype dtype); /* zero-filled */
FC_API fc_tensor *fc_empty_(fc_shape shape, const fc_tensor_opts *o); /* uninitialized */
FC_API fc_tensor *fc_zeros_(fc_shape shape, const fc_tensor_opts *o);
FC_API fc_tensor *fc_ones_(fc_shape shape, const fc_tensor_opts *o);
FC_API fc_tensor *fc_full_(fc_shape shape, double value, const fc_tensor_opts *o);
FC_API fc_tensor *fc_arange_(double start, double end, double step, const fc_tensor_opts *o);
FC_API fc_tensor *fc_scalar_(double value, const fc_tensor_opts *o); /* 0-dim */
/* Copies n = numel(shape) elements of dtype o->dtype from data. */
FC_API fc_tensor *fc_from_data_(const void *data, fc_shape shape, const fc_tensor_opts *o);
#define fc_empty(shape, ...) fc_empty_((shape), &(fc_tensor_opts){._ = 0, __VA_ARGS__})
#define fc_zeros(shape, ...) fc_zeros_((shape), &(fc_tensor_opts){._ = 0, __VA_ARGS__})
#define fc_ones(shape, ...) fc_ones_((shape), &(fc_tensor_opts){._ = 0, __VA_ARGS__})
#define fc_full(shape, value, ...) fc_full_((shape), (value), &(fc_tensor_opts){._ = 0, __VA_ARGS__})
#define fc_arange(start, end, step, ...) \
    fc_arange_((start), (end), (step), &(fc_tensor_opts){._ = 0, __VA_ARGS__})
#define fc_scalar(value, ...) fc_scalar_((value), &(fc_tensor_opts){._ = 0, __VA_ARGS__})
#define fc_from_data(data, shape, ...) \
    fc_from_data_((data), (shape), &(fc_tensor_opts){._ = 0, __VA_ARGS__})

/* Random tensors from the global counter-based generator (Philox 4x32-10): the same seed gives
 * the same numbers on every machine and thread count. */
FC_API void fc_manual_seed(uint64_t seed);
FC_API fc_tensor *fc_rand_(fc_shape shape, const fc_tensor_opts *o);  /* U[0, 1) */
FC_API fc_tensor *fc_randn_(fc_shape shape, const fc_tensor_opts *o); /* N(0, 1) */
/* integers uniform in [low, high); dtype default i64 */
FC_API fc_tensor *fc_randint_(int64_t low, int64_t high, fc_shape shape, const fc_tensor_opts *o);
#define fc_rand(shape, ...) fc_rand_((shape), &(fc_tensor_opts){._ = 0, __VA_ARGS__})
#define fc_randn(shape, ...) fc_randn_((shape), &(fc_tensor_opts){._ = 0, __VA_ARGS__})
#define fc_randint(low, high, shape, ...) \
    fc_randint_((low), (high), (shape), &(fc_tensor_opts){._ = 0, __VA_ARGS__})
/* A generator of your own (e.g. a DataLoader's shuffle): draws 'n' u32 or uniform floats. */
typedef struct fc_rng {
    uint64_t seed;
    uint64_t offset; /* counter: advanced by every draw */
} fc_rng;
FC_API fc_rng fc_rng_new(uint64_t seed);
FC_API uint32_t fc_rng_u32(fc_rng *g);
FC_API float fc_rng_uniform(fc_rng *g); /* [0, 1) */
FC_API float fc_rng_normal(fc_rng *g);
/* Reserves n counters from the global generator and returns the base of the reserved range;
 * kernels (dropout, rand) compute element i from (seed, base + i) so threads never race. */
FC_API uint64_t fc_rng_reserve(uint64_t n, uint64_t *seed);
/* Philox 4x32-10 of (seed, counter): four independent uint32. */
FC_API void fc_philox(uint64_t seed, uint64_t counter, uint32_t out[4]);

/* Ownership: see STYLE.md. _ref adds an owner; _free drops one (NULL is fine). A tensor made while
 * a scope is open belongs to that scope: fc_scope_end releases it unless fc_keep moved it out;
 * fc_tensor_free on it releases it early. */
FC_API fc_tensor *fc_tensor_ref(fc_tensor *t);
FC_API void fc_tensor_free(fc_tensor *t);

/* Metadata (borrowed; valid as long as t). Negative dims count from the end. */
FC_API int fc_tensor_ndim(const fc_tensor *t);
FC_API const int64_t *fc_tensor_dims(const fc_tensor *t);
FC_API const int64_t *fc_tensor_strides(const fc_tensor *t); /* in elements */
FC_API int64_t fc_tensor_dim(const fc_tensor *t, int dim);
FC_API fc_shape fc_tensor_shape(const fc_tensor *t);
FC_API int64_t fc_tensor_numel(const fc_tensor *t);
FC_API fc_dtype fc_tensor_dtype(const fc_tensor *t);
FC_API fc_device fc_tensor_device(const fc_tensor *t);
FC_API int fc_tensor_is_contiguous(const fc_tensor *t);
/* Pointer to element [0, ..., 0] (CPU tensors); the layout follows fc_tensor_strides. */
FC_API void *fc_tensor_data(const fc_tensor *t);
#define fc_tensor_data_f32(t) ((float *)fc_tensor_data(t))
/* The value of a one-element tensor as double (any dtype); NAN with the error set otherwise. */
FC_API double fc_tensor_item(const fc_tensor *t);
/* Copies all elements in logical (row-major) order into buf, converted to dtype. */
FC_API fc_status fc_tensor_copy_out(const fc_tensor *t, void *buf, fc_dtype dtype);
/* Element at a flat logical index, as double (tests and printing; slow). */
FC_API double fc_tensor_get(const fc_tensor *t, int64_t flat_index);
/* Prints shape, dtype and (up to 'max' leading) values to stderr. */
FC_API void fc_tensor_print(const fc_tensor *t, const char *name, int max);

/* ---- scopes: everything a step creates goes at once --------------------------------------------- */

typedef struct fc_scope fc_scope;
FC_API fc_scope *fc_scope_begin(void);
/* Releases every tensor made in s and not kept, and the graph recorded in it. Scopes nest; end the
 * innermost first. */
FC_API void fc_scope_end(fc_scope *s);
/* Moves t out of its scope: you free it. Returns t. */
FC_API fc_tensor *fc_keep(fc_tensor *t);

/* ---- the caching allocator ------------------------------------------------------------------- */

typedef struct fc_alloc_stats {
    uint64_t n_system_allocs; /* calls that went to the system (malloc/aligned_alloc)   */
    uint64_t n_allocs;        /* all allocations served                                 */
    uint64_t n_cache_hits;    /* allocations served from the cache                      */
    uint64_t bytes_in_use;    /* held by live storages                                  */
    uint64_t bytes_cached;    /* free blocks kept for reuse                             */
    uint64_t bytes_peak;      /* largest bytes_in_use seen                              */
} fc_alloc_stats;
FC_API fc_alloc_stats fc_alloc_stats_get(void);
/* Returns every cached block to the system. */
FC_API void fc_alloc_empty_cache(void);

/* ---- threads ------------------------------------------------------------------------------- */

/* One OpenMP runtime for our loops, OpenBLAS and oneDNN. n <= 0: all cores. */
FC_API void fc_set_num_threads(int n);
FC_API int fc_num_threads(void);

/* bf16 / f16 <-> f32 (round to nearest even). */
FC_API uint16_t fc_f32_to_bf16(float f);
FC_API float fc_bf16_to_f32(uint16_t h);
FC_API uint16_t fc_f32_to_f16(float f);
FC_API float fc_f16_to_f32(uint16_t h);

/* ==== Gamma and Beta draws (src/core/rng.c: h-mixup) ==========================================
 * From a generator of your own: Gamma(shape, 1) by Marsaglia-Tsang (shape < 1 with their
 * U^(1/shape) boost) and Beta(a, b) = X / (X + Y) of two Gamma draws (computed in log space, so
 * tiny a, b give values at 0 or 1 instead of 0/0). NAN and FC_ERR_ARG for a NULL generator or a
 * parameter that is not finite and > 0. */
FC_API double fc_rng_gamma(fc_rng *g, double shape);
FC_API double fc_rng_beta(fc_rng *g, double a, double b);

#ifdef __cplusplus
}
#endif
#endif
