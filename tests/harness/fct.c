/* The fct harness: registration, checks, fixtures, gradcheck and main. */
#include "fct.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_entry {
    const char *name, *file;
    fct_fn fn;
} test_entry;

static test_entry tests[4096];
static int n_tests;
static int failures_in_test;

void fct_register(const char *name, fct_fn fn, const char *file) {
    if (n_tests < 4096) tests[n_tests++] = (test_entry){name, file, fn};
}

int fct_check(int ok, const char *file, int line, const char *fmt, ...) {
    if (ok) return 1;
    failures_in_test++;
    fprintf(stderr, "  FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

int fct_ok(fc_status st, const char *expr, const char *file, int line) {
    if (st == FC_OK) return 1;
    fct_check(0, file, line, "%s returned %s: %s", expr, fc_status_name(st), fc_error_message());
    fc_error_clear();
    return 0;
}

int fct_notnull(int ok, const char *expr, const char *file, int line) {
    if (ok) return 1;
    fct_check(0, file, line, "%s returned NULL: %s", expr, fc_error_message());
    fc_error_clear();
    return 0;
}

int fct_error(fc_status code, const char *fragment, const char *file, int line) {
    fc_status got = fc_error_code();
    const char *msg = fc_error_message();
    int ok = fct_check(got == code && strstr(msg, fragment) != NULL, file, line,
                       "expected error %s containing '%s', found %s: '%s'", fc_status_name(code),
                       fragment, fc_status_name(got), msg);
    fc_error_clear();
    return ok;
}

int fct_close(const fc_tensor *got, const fc_tensor *want, double atol, double rtol,
              const char *expr, const char *file, int line) {
    if (!got || !want) {
        int ok = fct_check(0, file, line, "%s: %s is NULL (%s)", expr, got ? "expected" : "result",
                           fc_error_message());
        fc_error_clear();
        return ok;
    }
    int nd = fc_tensor_ndim(got);
    int64_t n = fc_tensor_numel(got);
    if (nd != fc_tensor_ndim(want) ||
        memcmp(fc_tensor_dims(got), fc_tensor_dims(want), sizeof(int64_t) * (size_t)nd)) {
        char a[160], b[160];
        return fct_check(0, file, line, "%s: shape %s, expected %s", expr,
                         fc_shape_str(fc_tensor_shape(got), a, sizeof a),
                         fc_shape_str(fc_tensor_shape(want), b, sizeof b));
    }
    int64_t bad = 0, first = -1;
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = fc_tensor_get(got, i), w = fc_tensor_get(want, i);
        double err = fabs(g - w), lim = atol + rtol * fabs(w);
        int nan_ok = isnan(g) && isnan(w);
        if (!nan_ok && !(err <= lim)) {
            if (first < 0) first = i;
            bad++;
            if (err - lim > worst) worst = err - lim;
        }
    }
    if (!bad) return 1;
    return fct_check(0, file, line,
                     "%s: %lld of %lld elements differ (atol %g, rtol %g); first at %lld: got "
                     "%.9g, expected %.9g", expr, (long long)bad, (long long)n, atol, rtol,
                     (long long)first, fc_tensor_get(got, first), fc_tensor_get(want, first));
}

/* ---- fixtures ---- */

static int read_exact(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n; }

fct_fixture fct_load(const char *name) {
    fct_fixture fx;
    memset(&fx, 0, sizeof fx);
    const char *dir = getenv("FASTC_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.bin", dir ? dir : FCT_FIXTURES_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fct_check(0, __FILE__, __LINE__, "fixture '%s' not found (run tests/fixtures/gen_*.py)", path);
        return fx;
    }
    char magic[4];
    uint32_t version, n;
    if (!read_exact(f, magic, 4) || memcmp(magic, "FCTF", 4) || !read_exact(f, &version, 4) ||
        version != 1 || !read_exact(f, &n, 4) || n > 32) {
        fct_check(0, __FILE__, __LINE__, "fixture '%s': bad header", path);
        fclose(f);
        return fx;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint16_t len;
        uint8_t dt, nd;
        fc_shape s = {0, {0}};
        if (!read_exact(f, &len, 2) || len >= 48 || !read_exact(f, fx.names[k], len) ||
            !read_exact(f, &dt, 1) || !read_exact(f, &nd, 1) || nd > FC_MAX_DIMS ||
            !read_exact(f, s.d, 8u * nd)) {
            fct_check(0, __FILE__, __LINE__, "fixture '%s': truncated tensor header %u", path, k);
            break;
        }
        fx.names[k][len] = 0;
        s.ndim = nd;
        fc_tensor *t = fc_keep(fc_empty(s, .dtype = (fc_dtype)dt));
        if (!t || !read_exact(f, fc_tensor_data(t), (size_t)fc_tensor_numel(t) * fc_dtype_size((fc_dtype)dt))) {
            fct_check(0, __FILE__, __LINE__, "fixture '%s': truncated data of '%s'", path, fx.names[k]);
            fc_tensor_free(t);
            break;
        }
        fx.t[fx.n++] = t;
    }
    fclose(f);
    return fx;
}

fc_tensor *fct_get(const fct_fixture *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->names[i], name)) return f->t[i];
    fct_check(0, __FILE__, __LINE__, "fixture has no tensor '%s'", name);
    return NULL;
}

void fct_fixture_free(fct_fixture *f) {
    for (int i = 0; i < f->n; i++) fc_tensor_free(f->t[i]);
    f->n = 0;
}

fc_tensor *fct_randn(fc_shape s, uint64_t seed) {
    fc_tensor *t = fc_keep(fc_empty(s));
    if (!t) return NULL;
    fc_rng g = fc_rng_new(seed);
    float *p = fc_tensor_data(t);
    for (int64_t i = 0; i < fc_tensor_numel(t); i++) p[i] = fc_rng_normal(&g);
    return t;
}

/* ---- gradcheck ---- */

static double weighted_sum(const fc_tensor *y, const float *r) {
    double s = 0;
    int64_t n = fc_tensor_numel(y);
    for (int64_t i = 0; i < n; i++) s += fc_tensor_get(y, i) * (double)r[i];
    return s;
}

int fct_gradcheck_(const char *name, fct_fn_n f, void *ctx, int n_in, fc_tensor **in,
                   const fct_gradcheck_opts *o, const char *file, int line) {
    double eps = o->eps ? o->eps : 1e-2, atol = o->atol ? o->atol : 2e-3, rtol = o->rtol ? o->rtol : 1e-2;
    int bad = 0;
    fc_scope *s = fc_scope_begin();
    fc_tensor *y = f(in, ctx);
    if (!fct_notnull(y != NULL, name, file, line)) {
        fc_scope_end(s);
        return 1;
    }
    int64_t ny = fc_tensor_numel(y);
    float *r = malloc(sizeof(float) * (size_t)(ny ? ny : 1));
    fc_rng g = fc_rng_new(1234);
    for (int64_t i = 0; i < ny; i++) r[i] = fc_rng_uniform(&g) * 2 - 1;
    for (int i = 0; i < n_in; i++) fc_tensor_zero_grad(in[i]);
    fc_tensor *rt = fc_from_data(r, fc_tensor_shape(y));
    if (!fct_ok(fc_backward_with(y, rt), name, file, line)) bad++;
    fc_scope_end(s);
    fc_no_grad_begin();
    for (int i = 0; i < n_in && !bad; i++) {
        if (!fc_tensor_requires_grad(in[i])) continue;
        fc_tensor *ga = fc_tensor_grad(in[i]);
        if (!fct_check(ga != NULL, file, line, "%s: input %d got no gradient", name, i)) {
            bad++;
            continue;
        }
        float *x = fc_tensor_data(in[i]); /* inputs are contiguous leaves */
        int64_t nx = fc_tensor_numel(in[i]);
        int reported = 0;
        for (int64_t k = 0; k < nx; k++) {
            float x0 = x[k];
            fc_scope *s2 = fc_scope_begin();
            x[k] = x0 + (float)eps;
            double lp = weighted_sum(f(in, ctx), r);
            x[k] = x0 - (float)eps;
            double lm = weighted_sum(f(in, ctx), r);
            x[k] = x0;
            fc_scope_end(s2);
            double num = (lp - lm) / (2 * eps), ana = fc_tensor_get(ga, k);
            if (!(fabs(num - ana) <= atol + rtol * fabs(num))) {
                bad++;
                if (reported++ < 3)
                    fct_check(0, file, line, "%s: d/d input %d [%lld]: analytic %.6g, numeric %.6g",
                              name, i, (long long)k, ana, num);
            }
        }
    }
    fc_no_grad_end();
    for (int i = 0; i < n_in; i++) fc_tensor_zero_grad(in[i]);
    free(r);
    return bad;
}

/* ---- main ---- */

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    fc_set_num_threads(0);
    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter) && !strstr(tests[i].file, filter)) continue;
        failures_in_test = 0;
        uint64_t before = fc_alloc_stats_get().bytes_in_use;
        fc_scope *s = fc_scope_begin();
        tests[i].fn();
        fc_scope_end(s);
        if (fc_error_code() != FC_OK) {
            fct_check(0, tests[i].file, 0, "test ended with an unexpected pending error: %s",
                      fc_error_message());
            fc_error_clear();
        }
        uint64_t after = fc_alloc_stats_get().bytes_in_use;
        if (after != before)
            fct_check(0, tests[i].file, 0, "leak: %lld bytes still in use after the test",
                      (long long)(after - before));
        if (failures_in_test) {
            failed++;
            fprintf(stderr, "FAILED %s (%s)\n", tests[i].name, tests[i].file);
        } else {
            passed++;
            printf("ok %s\n", tests[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

size_t fct_read_file(const char *path, unsigned char **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = *out ? fread(*out, 1, (size_t)n, f) : 0;
    fclose(f);
    return got;
}

void fct_write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(p, 1, n, f);
    fclose(f);
}
