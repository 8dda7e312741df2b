/* fc_module_summary: fastai's learn.summary() — one line per leaf module call with its dotted
 * name, type, output shape and parameter count, then the totals. */
#include <stdarg.h>
#include <string.h>

#include "nn_impl.h"

typedef struct mod_name {
    fc_module *m;
    char *name;
    int training;
} mod_name;

typedef struct summary {
    mod_name *mods;
    int n_mods, cap_mods;
    char *out; /* the text, grown as lines are added */
    size_t n_out, cap_out;
    int failed;
} summary;

static void put(summary *s, const char *fmt, ...) FC_PRINTF(2, 3);
static void put(summary *s, const char *fmt, ...) {
    if (s->failed) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (len >= (int)sizeof line) len = sizeof line - 1;
    if (s->n_out + (size_t)len + 1 > s->cap_out) {
        size_t cap = s->cap_out ? 2 * s->cap_out : 4096;
        while (cap < s->n_out + (size_t)len + 1) cap *= 2;
        char *p = realloc(s->out, cap);
        if (!p) {
            s->failed = 1;
            fc_fail(FC_ERR_NOMEM, "summary: out of memory (%zu bytes)", cap);
            return;
        }
        s->out = p;
        s->cap_out = cap;
    }
    memcpy(s->out + s->n_out, line, (size_t)len + 1);
    s->n_out += (size_t)len;
}

static void collect(fc_module *m, const char *name, void *ctx) {
    summary *s = ctx;
    if (s->failed) return;
    if (s->n_mods == s->cap_mods) {
        int cap = s->cap_mods ? 2 * s->cap_mods : 32;
        mod_name *p = realloc(s->mods, (size_t)cap * sizeof *p);
        if (!p) {
            s->failed = 1;
            fc_fail(FC_ERR_NOMEM, "summary: out of memory listing modules");
            return;
        }
        s->mods = p;
        s->cap_mods = cap;
    }
    char *dup = malloc(strlen(name) + 1);
    if (!dup) {
        s->failed = 1;
        fc_fail(FC_ERR_NOMEM, "summary: out of memory listing modules");
        return;
    }
    strcpy(dup, name);
    s->mods[s->n_mods++] = (mod_name){m, dup, fc_module_is_training(m)};
}

/* "2 x 16 x 14 x 14", as fastai writes shapes. */
static const char *shape_text(const fc_tensor *t, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (int d = 0; d < fc_tensor_ndim(t) && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? " x " : "", (long long)fc_tensor_dim(t, d));
    return buf;
}

/* "1,234,567" */
static const char *with_commas(int64_t v, char *buf) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v), k = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0 && digits[i - 1] != '-') buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = 0;
    return buf;
}

static void on_forward(fc_module *m, fc_tensor *y, void *ctx) {
    summary *s = ctx;
    if (fc_module_n_children(m) > 0) return;
    const char *name = "";
    for (int i = 0; i < s->n_mods; i++)
        if (s->mods[i].m == m) {
            name = s->mods[i].name;
            break;
        }
    char shape[128], count[32];
    put(s, "%-24s %-20s %-22s %12s\n", *name ? name : "(root)", fc_module_type(m),
        shape_text(y, shape, sizeof shape), with_commas(fc_module_num_params(m), count));
}

static const char rule[] =
    "==================================================================================\n";

static void totals(summary *s, fc_module *m) {
    int64_t total = 0, trainable = 0;
    for (int i = 0, n = fc_module_n_parameters(m); i < n; i++) {
        fc_tensor *t = fc_module_parameter(m, i, NULL);
        total += fc_tensor_numel(t);
        if (fc_tensor_requires_grad(t)) trainable += fc_tensor_numel(t);
    }
    char a[32], b[32], c[32];
    put(s, "%sTotal params: %s\nTrainable params: %s\nNon-trainable params: %s\n", rule,
        with_commas(total, a), with_commas(trainable, b), with_commas(total - trainable, c));
}

char *fc_module_summary_(fc_module *m, fc_shape input_shape, const fc_summary_opts *o) {
    if (!m) return NULL;
    if (input_shape.ndim < 0 || input_shape.ndim > FC_MAX_DIMS) {
        fc_fail(FC_ERR_ARG, "summary: expected an input shape of 0 to %d dims, found %d", FC_MAX_DIMS,
                input_shape.ndim);
        return NULL;
    }
    summary s = {0};
    fci_module_walk(m, collect, &s);
    char shape[128] = "";
    for (int d = 0, k = 0; d < input_shape.ndim; d++)
        k += snprintf(shape + k, sizeof shape - (size_t)k, "%s%lld", d ? " x " : "", (long long)input_shape.d[d]);
    put(&s, "%s (Input shape: %s)\n%s%-24s %-20s %-22s %12s\n%s", fc_module_type(m), shape, rule, "Layer",
        "Type", "Output Shape", "Param #", rule);

    /* Eval mode so that batchnorm statistics do not move; each module's flag is restored after. */
    fc_module_eval(m);
    fc_scope *scope = fc_scope_begin();
    fc_no_grad_begin();
    fci_set_forward_hook(on_forward, &s);
    int ran = fc_module_forward(m, fc_zeros(input_shape, .dtype = o->dtype)) != NULL;
    fci_set_forward_hook(NULL, NULL);
    fc_no_grad_end();
    fc_scope_end(scope);
    for (int i = 0; i < s.n_mods; i++) {
        fci_module_set_training(s.mods[i].m, s.mods[i].training);
        free(s.mods[i].name);
    }
    free(s.mods);
    if (!ran) s.failed = 1;
    if (!s.failed) totals(&s, m);
    if (s.failed) {
        free(s.out);
        return NULL;
    }
    return s.out;
}

fc_status fc_module_print_summary_(fc_module *m, fc_shape input_shape, FILE *f, const fc_summary_opts *o) {
    char *text = fc_module_summary_(m, input_shape, o);
    if (!text) return fc_error_code() != FC_OK ? fc_error_code() : FC_ERR_ARG;
    int ok = fputs(text, f ? f : stdout) >= 0;
    free(text);
    return ok ? FC_OK : fc_fail(FC_ERR_IO, "summary: cannot write the summary");
}
