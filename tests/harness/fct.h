/* fct: the fastc test harness. Tests register themselves (FCT_TEST), run inside a scope, and are
 * checked for leaks (allocator bytes back to where they were) and for stray pending errors.
 * Checks print file:line, expected and found, count the failure and carry on. */
#ifndef FCT_H
#define FCT_H
#include <string.h>

#include <math.h>
#include <stdio.h>

#include "fastc/ops.h"

typedef void (*fct_fn)(void);
void fct_register(const char *name, fct_fn fn, const char *file);
#define FCT_TEST(name)                                                                   \
    static void name(void);                                                              \
    __attribute__((constructor)) static void fct_reg_##name(void) {                      \
        fct_register(#name, name, __FILE__);                                             \
    }                                                                                    \
    static void name(void)

int fct_check(int ok, const char *file, int line, const char *fmt, ...) FC_PRINTF(4, 5);

/* Two C strings equal (a NULL got fails). */
#define FCT_STR(got, want)                                                                       \
    do {                                                                                         \
        const char *g_ = (got), *w_ = (want);                                                    \
        fct_check(g_ && !strcmp(g_, w_), __FILE__, __LINE__, "%s: expected '%s', found '%s'", \
                  #got, w_, g_ ? g_ : "(null)");                                                 \
    } while (0)
#define FCT_TRUE(c) fct_check(!!(c), __FILE__, __LINE__, "expected %s", #c)
#define FCT_EQ_INT(a, b)                                                                        \
    do {                                                                                        \
        long long fct_a = (long long)(a), fct_b = (long long)(b);                               \
        fct_check(fct_a == fct_b, __FILE__, __LINE__, "%s == %s: found %lld vs %lld", #a, #b,   \
                  fct_a, fct_b);                                                                \
    } while (0)
#define FCT_NEAR(a, b, tol)                                                                     \
    do {                                                                                        \
        double fct_a = (double)(a), fct_b = (double)(b);                                        \
        fct_check(fabs(fct_a - fct_b) <= (tol), __FILE__, __LINE__,                             \
                  "%s ~ %s (tol %g): found %.9g vs %.9g", #a, #b, (double)(tol), fct_a, fct_b); \
    } while (0)
/* status is FC_OK; otherwise prints the pending message and clears it */
#define FCT_OK(st) fct_ok((st), #st, __FILE__, __LINE__)
int fct_ok(fc_status st, const char *expr, const char *file, int line);
/* a non-NULL result; otherwise prints the pending error */
#define FCT_NOTNULL(p) fct_notnull((p) != NULL, #p, __FILE__, __LINE__)
int fct_notnull(int ok, const char *expr, const char *file, int line);
/* a NULL result (a failure expected); the error is checked by FCT_ERROR */
#define FCT_NULL(p) fct_check((p) == NULL, __FILE__, __LINE__, "expected NULL from %s", #p)
/* the pending error has this code and its message contains fragment; clears it */
#define FCT_ERROR(code, fragment) fct_error((code), (fragment), __FILE__, __LINE__)
int fct_error(fc_status code, const char *fragment, const char *file, int line);
/* all elements of got match want: |g - w| <= atol + rtol * |w| (shapes must match) */
#define FCT_CLOSE(got, want, atol, rtol) fct_close((got), (want), (atol), (rtol), #got, __FILE__, __LINE__)
int fct_close(const fc_tensor *got, const fc_tensor *want, double atol, double rtol,
              const char *expr, const char *file, int line);

/* ---- fixtures written by tests/fixtures/gen_*.py ---- */
typedef struct fct_fixture {
    int n;
    char names[32][48];
    fc_tensor *t[32]; /* owned by the fixture (outside any scope) */
} fct_fixture;
/* Loads tests/fixtures/<name>.bin ($FASTC_FIXTURES overrides the folder); on failure counts a
 * test failure and returns an empty fixture (fct_get then returns NULL). */
/* Whole files for corruption tests: read_file mallocs *out (free it; one spare byte) and returns
 * the bytes read (0 if it cannot open path); write_file writes n bytes (no error if it cannot). */
size_t fct_read_file(const char *path, unsigned char **out);
void fct_write_file(const char *path, const void *p, size_t n);
fct_fixture fct_load(const char *name);
/* The tensor called name, or NULL (and a failure) if the fixture lacks it. */
fc_tensor *fct_get(const fct_fixture *f, const char *name);
void fct_fixture_free(fct_fixture *f);

/* ---- finite-difference gradient check ----
 * f maps inputs to one output. The check compares the analytic gradient of L = sum(y * r) (r a
 * fixed random tensor) for every input that requires grad with central differences
 * (L(x + eps) - L(x - eps)) / 2 eps, element by element. Computed in f32, evaluated in double:
 * the rounding noise is ~ 1e-7 * |L| / eps and the truncation error ~ eps^2 |f'''|, so with
 * eps = 1e-2 (default; inputs of order 1) a tolerance of atol 2e-3 + rtol 1e-2 separates a
 * right gradient from a wrong one by orders of magnitude. Returns the number of mismatches. */
typedef fc_tensor *(*fct_fn_n)(fc_tensor **in, void *ctx);
typedef struct fct_gradcheck_opts {
    int _;
    double eps;  /* 0: 1e-2 */
    double atol; /* 0: 2e-3 */
    double rtol; /* 0: 1e-2 */
} fct_gradcheck_opts;
int fct_gradcheck_(const char *name, fct_fn_n f, void *ctx, int n_in, fc_tensor **in,
                   const fct_gradcheck_opts *o, const char *file, int line);
#define FCT_GRADCHECK(f, ctx, n_in, in, ...) \
    fct_gradcheck_(#f, (f), (ctx), (n_in), (in), &(fct_gradcheck_opts){._ = 0, __VA_ARGS__}, __FILE__, __LINE__)

/* A tensor outside any scope (freed by the caller) with values from a seeded normal. */
fc_tensor *fct_randn(fc_shape s, uint64_t seed);

#endif
