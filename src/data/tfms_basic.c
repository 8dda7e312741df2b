/* Built-in transforms: Categorize, MultiCategorize (with one-hot), RegressionSetup, Normalize,
 * ToTensor, IntToFloatTensor — fastai 2.7's semantics, encode and decode. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json_impl.h"
#include "../core/core_impl.h"
#include "pipeline_impl.h"

static char *no_params_json(void *s);

/* A new tensor outside any scope (values own theirs). */
static fc_tensor *new_tensor(fc_shape s, fc_dtype dt) { return fc_keep(fci_tensor_alloc(s, dt, FC_CPU)); }

/* t itself (one more reference) when contiguous on the CPU, else a contiguous copy. */
static fc_tensor *cpu_contiguous(const char *who, fc_tensor *t) {
    if (fc_tensor_device(t).type != FC_DEVICE_CPU) {
        fc_fail(FC_ERR_DEVICE, "%s: expected a cpu tensor, found %s %s", who,
                fc_device_name(fc_tensor_device(t)), fci_tshape(t));
        return NULL;
    }
    if (fc_tensor_is_contiguous(t)) return fc_tensor_ref(t);
    fc_tensor *c = new_tensor(fc_tensor_shape(t), fc_tensor_dtype(t));
    if (c && fci_copy_strided(c, t) != FC_OK) {
        fc_tensor_free(c);
        return NULL;
    }
    return c;
}

/* ---- Categorize and MultiCategorize ---- */
typedef struct categorize {
    char **vocab;
    int64_t n;
    int64_t *sorted; /* vocab indices in strcmp order, for lookups */
    int fixed;       /* vocab given by the user: setup keeps it */
    int multi;
    char delim;
} categorize;

static void vocab_clear(categorize *c) {
    for (int64_t i = 0; i < c->n; i++) free(c->vocab[i]);
    free(c->vocab);
    free(c->sorted);
    c->vocab = NULL;
    c->sorted = NULL;
    c->n = 0;
}

static void categorize_free(void *s) {
    categorize *c = s;
    if (!c) return;
    vocab_clear(c);
    free(c);
}

typedef struct {
    const char *s;
    int64_t i;
} str_idx;
static int cmp_str_idx(const void *a, const void *b) {
    return strcmp(((const str_idx *)a)->s, ((const str_idx *)b)->s);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Builds c->sorted; fails on a label given twice. Called only from constructors and setup. */
static fc_status index_vocab(categorize *c, const char *who) {
    c->sorted = malloc(((size_t)c->n + 1) * sizeof *c->sorted);
    str_idx *tmp = malloc(((size_t)c->n + 1) * sizeof *tmp);
    if (!c->sorted || !tmp) {
        free(tmp);
        return fc_fail(FC_ERR_NOMEM, "%s: out of memory", who);
    }
    for (int64_t i = 0; i < c->n; i++) tmp[i] = (str_idx){c->vocab[i], i};
    qsort(tmp, (size_t)c->n, sizeof *tmp, cmp_str_idx);
    for (int64_t i = 0; i < c->n; i++) c->sorted[i] = tmp[i].i;
    free(tmp);
    for (int64_t i = 1; i < c->n; i++)
        if (!strcmp(c->vocab[c->sorted[i]], c->vocab[c->sorted[i - 1]]))
            return fc_fail(FC_ERR_ARG, "%s: expected distinct labels in the vocab, found '%s' twice",
                           who, c->vocab[c->sorted[i]]);
    return FC_OK;
}

static int64_t vocab_find(const categorize *c, const char *label, size_t len) {
    int64_t lo = 0, hi = c->n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        const char *m = c->vocab[c->sorted[mid]];
        int r = strncmp(m, label, len);
        if (r == 0 && m[len] != '\0') r = 1;
        if (r == 0) return c->sorted[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

static fc_status vocab_set(categorize *c, const char *const *vocab, int64_t n, const char *who) {
    vocab_clear(c);
    c->vocab = calloc((size_t)n + 1, sizeof *c->vocab);
    if (!c->vocab) return fc_fail(FC_ERR_NOMEM, "%s: out of memory", who);
    for (int64_t i = 0; i < n; i++) {
        if (!vocab[i]) return fc_fail(FC_ERR_ARG, "%s: vocab[%lld] is NULL", who, (long long)i);
        if (!(c->vocab[i] = strdup(vocab[i]))) return fc_fail(FC_ERR_NOMEM, "%s: out of memory", who);
        c->n = i + 1;
    }
    return index_vocab(c, who);
}

/* The next label of text at *p (a multi-category text splits at delim, skipping empty pieces);
 * 0 at the end. Start with *p = text. */
static int next_label(const categorize *c, const char **p, const char **start, size_t *len) {
    if (!*p) return 0;
    if (!c->multi) {
        *start = *p;
        *len = strlen(*p);
        *p = NULL;
        return 1;
    }
    while (**p) {
        const char *b = *p, *e = strchr(b, c->delim);
        if (!e) e = b + strlen(b);
        *p = *e ? e + 1 : e;
        if (e > b) {
            *start = b;
            *len = (size_t)(e - b);
            return 1;
        }
    }
    return 0;
}

static fc_status categorize_setup(void *s, const fc_value *values, int64_t n) {
    categorize *c = s;
    const char *who = c->multi ? "MultiCategorize" : "Categorize";
    if (c->fixed) return FC_OK;
    int64_t cap = 0, m = 0;
    char **all = NULL;
    fc_status st = FC_OK;
    for (int64_t i = 0; i < n && st == FC_OK; i++) {
        if (!values[i].text) {
            char buf[160];
            st = fc_fail(FC_ERR_ARG, "%s: setup expected label text, found %s", who,
                         fc_value_str(&values[i], buf, sizeof buf));
            break;
        }
        const char *it = values[i].text, *p;
        size_t len;
        while (st == FC_OK && next_label(c, &it, &p, &len)) {
            if (m == cap) {
                cap = cap ? 2 * cap : 64;
                char **a = realloc(all, (size_t)cap * sizeof *a);
                if (!a) {
                    st = fc_fail(FC_ERR_NOMEM, "%s: out of memory", who);
                    break;
                }
                all = a;
            }
            if (!(all[m] = strndup(p, len))) {
                st = fc_fail(FC_ERR_NOMEM, "%s: out of memory", who);
                break;
            }
            m++;
        }
    }
    if (st == FC_OK) {
        /* fastai's CategoryMap: the sorted unique values */
        qsort(all, (size_t)m, sizeof *all, cmp_str);
        int64_t u = 0;
        for (int64_t i = 0; i < m; i++) {
            if (u > 0 && !strcmp(all[i], all[u - 1])) free(all[i]);
            else all[u++] = all[i];
        }
        int same = u == c->n;
        for (int64_t i = 0; same && i < u; i++) same = !strcmp(all[i], c->vocab[i]);
        if (same) { /* keep the strings loaders built earlier may still point to */
            m = u;
        } else {
            vocab_clear(c);
            c->vocab = all;
            c->n = u;
            all = NULL;
            m = 0;
            st = index_vocab(c, who);
        }
    }
    for (int64_t i = 0; i < m; i++) free(all[i]);
    free(all);
    return st;
}

static fc_status unknown_label(const categorize *c, const char *label, size_t len) {
    const char *who = c->multi ? "MultiCategorize" : "Categorize";
    if (c->n == 0)
        return fc_fail(FC_ERR_STATE, "%s: the vocab is empty (setup has not run on training labels), "
                       "found label '%.*s'", who, (int)len, label);
    return fc_fail(FC_ERR_ARG, "%s: label '%.*s' is not in the vocab of %lld (first '%s', last '%s')",
                   who, (int)len, label, (long long)c->n, c->vocab[0], c->vocab[c->n - 1]);
}

static fc_status categorize_encodes(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    categorize *c = s;
    if (v->kind != fc_kind_label || !v->text) return FC_OK;
    fc_tensor *t;
    if (!c->multi) {
        int64_t k = vocab_find(c, v->text, strlen(v->text));
        if (k < 0) return unknown_label(c, v->text, strlen(v->text));
        if (!(t = new_tensor(FC_SCALAR_SHAPE, FC_DTYPE_I64))) return fc_error_code();
        *(int64_t *)fc_tensor_data(t) = k;
        fc_value_set_tensor(v, fc_kind_category, t);
    } else {
        if (!(t = new_tensor(FC_SHAPE(c->n), FC_DTYPE_F32))) return fc_error_code();
        float *y = fc_tensor_data_f32(t);
        memset(y, 0, (size_t)c->n * sizeof *y);
        const char *it = v->text, *p;
        size_t len;
        while (next_label(c, &it, &p, &len)) {
            int64_t k = vocab_find(c, p, len);
            if (k < 0) {
                fc_tensor_free(t);
                return unknown_label(c, p, len);
            }
            y[k] = 1.0f;
        }
        fc_value_set_tensor(v, fc_kind_multi_category, t);
    }
    free(v->text);
    v->text = NULL;
    return FC_OK;
}

static fc_status categorize_decodes(void *s, fc_value *v) {
    categorize *c = s;
    char buf[160];
    if (!v->t) return FC_OK;
    if (!c->multi && v->kind == fc_kind_category) {
        if (fc_tensor_numel(v->t) != 1)
            return fc_fail(FC_ERR_SHAPE, "Categorize: decode expected one index, found %s",
                           fc_value_str(v, buf, sizeof buf));
        double k = fc_tensor_get(v->t, 0);
        if (!(k >= 0 && k < (double)c->n))
            return fc_fail(FC_ERR_ARG, "Categorize: decode expected an index in [0, %lld), found %g",
                           (long long)c->n, k);
        char *text = strdup(c->vocab[(int64_t)k]);
        if (!text) return fc_fail(FC_ERR_NOMEM, "Categorize: out of memory");
        fc_tensor_free(v->t);
        *v = (fc_value){.kind = fc_kind_label, .text = text};
    } else if (c->multi && v->kind == fc_kind_multi_category) {
        if (fc_tensor_numel(v->t) != c->n)
            return fc_fail(FC_ERR_SHAPE, "MultiCategorize: decode expected %lld scores, found %s",
                           (long long)c->n, fc_value_str(v, buf, sizeof buf));
        size_t len = 1;
        for (int64_t k = 0; k < c->n; k++) len += strlen(c->vocab[k]) + 1;
        char *text = calloc(len, 1), *w = text;
        if (!text) return fc_fail(FC_ERR_NOMEM, "MultiCategorize: out of memory");
        for (int64_t k = 0; k < c->n; k++) {
            if (!(fc_tensor_get(v->t, k) > 0.5)) continue;
            if (w != text) *w++ = c->delim;
            w = stpcpy(w, c->vocab[k]);
        }
        fc_tensor_free(v->t);
        *v = (fc_value){.kind = fc_kind_label, .text = text};
    }
    return FC_OK;
}

/* Export (h-export): the vocabulary, and the delimiter of a MultiCategorize. */
static char *categorize_to_json(void *s) {
    categorize *c = s;
    if (c->n == 0) {
        fc_fail(FC_ERR_STATE, "%s: cannot export a vocabulary that was never set up", c->multi ? "MultiCategorize" : "Categorize");
        return NULL;
    }
    fci_sbuf b = {0};
    fci_sb_puts(&b, "{\"vocab\":[");
    for (int64_t i = 0; i < c->n; i++) {
        if (i) fci_sb_puts(&b, ",");
        fci_sb_json_string(&b, c->vocab[i]);
    }
    fci_sb_puts(&b, "]");
    if (c->multi) fci_sb_printf(&b, ",\"delim\":\"%s%c\"", c->delim == '"' || c->delim == '\\' ? "\\" : "", c->delim);
    fci_sb_puts(&b, "}");
    if (b.failed) free(b.p);
    return b.failed ? NULL : b.p;
}

static const fc_kind *const label_kinds[] = {fc_kind_label, fc_kind_category, NULL};
static const fc_kind *const multi_kinds[] = {fc_kind_label, fc_kind_multi_category, NULL};
static const fc_transform_def categorize_def = {
    .name = "Categorize", .order = 1, .kinds = label_kinds, .setup = categorize_setup,
    .encodes = categorize_encodes, .decodes = categorize_decodes, .free_state = categorize_free,
    .to_json = categorize_to_json,
};
static const fc_transform_def multi_categorize_def = {
    .name = "MultiCategorize", .order = 1, .kinds = multi_kinds, .setup = categorize_setup,
    .encodes = categorize_encodes, .decodes = categorize_decodes, .free_state = categorize_free,
    .to_json = categorize_to_json,
};

static fc_transform *categorize_make(const fc_transform_def *def, int multi, char delim,
                                     const char *const *vocab, int64_t n_vocab) {
    categorize *c = calloc(1, sizeof *c);
    if (!c) {
        fc_fail(FC_ERR_NOMEM, "%s: out of memory", def->name);
        return NULL;
    }
    c->multi = multi;
    c->delim = delim;
    if (vocab || n_vocab) {
        c->fixed = 1;
        if (!vocab || n_vocab <= 0) {
            fc_fail(FC_ERR_ARG, "%s: expected .vocab with .n_vocab > 0, found %s and %lld", def->name,
                    vocab ? "a vocab" : "NULL", (long long)n_vocab);
            categorize_free(c);
            return NULL;
        }
        if (vocab_set(c, vocab, n_vocab, def->name) != FC_OK) {
            categorize_free(c);
            return NULL;
        }
    }
    return fc_transform_new(def, c);
}

fc_transform *fc_categorize_(const fc_categorize_opts *o) {
    return categorize_make(&categorize_def, 0, 0, o->vocab, o->n_vocab);
}

fc_transform *fc_multi_categorize_(const fc_multi_categorize_opts *o) {
    return categorize_make(&multi_categorize_def, 1, o->delim ? o->delim : ';', o->vocab, o->n_vocab);
}

int fci_is_categorize(const fc_transform *tf) {
    tf = tf ? fci_transform_unproxy(tf) : NULL;
    return tf && fci_transform_def(tf)->encodes == categorize_encodes;
}

const char *const *fc_categorize_vocab(const fc_transform *tf, int64_t *n) {
    *n = 0;
    tf = tf ? fci_transform_unproxy(tf) : NULL;
    const fc_transform_def *d = tf ? fci_transform_def(tf) : NULL;
    if (!d || (d->encodes != categorize_encodes)) {
        fc_fail(FC_ERR_ARG, "categorize_vocab: expected a Categorize or MultiCategorize, found %s",
                tf ? fc_transform_name(tf) : "NULL");
        return NULL;
    }
    categorize *c = fci_transform_state(tf);
    *n = c->n;
    return (const char *const *)c->vocab;
}

/* ---- RegressionSetup ---- */
static fc_status regression_encodes(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    if (v->kind != fc_kind_label || !v->text) return FC_OK;
    float x[64];
    int n = 0;
    const char *p = v->text;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ';' || *p == ',') p++;
        if (!*p) break;
        char *end;
        double d = strtod(p, &end);
        if (end == p)
            return fc_fail(FC_ERR_FORMAT, "RegressionSetup: expected a number, found '%s'", v->text);
        if (n == 64)
            return fc_fail(FC_ERR_ARG, "RegressionSetup: expected at most 64 numbers, found more in '%.40s...'",
                           v->text);
        x[n++] = (float)d;
        p = end;
    }
    if (n == 0) return fc_fail(FC_ERR_FORMAT, "RegressionSetup: expected a number, found an empty label");
    fc_tensor *t = n == 1 ? new_tensor(FC_SCALAR_SHAPE, FC_DTYPE_F32) : new_tensor(FC_SHAPE(n), FC_DTYPE_F32);
    if (!t) return fc_error_code();
    memcpy(fc_tensor_data(t), x, (size_t)n * sizeof *x);
    free(v->text);
    v->text = NULL;
    fc_value_set_tensor(v, fc_kind_tensor, t);
    return FC_OK;
}

static fc_status regression_decodes(void *s, fc_value *v) {
    if (v->kind != fc_kind_tensor || !v->t || v->text) return FC_OK;
    int64_t n = fc_tensor_numel(v->t);
    char *text = calloc((size_t)n * 24 + 1, 1), *w = text;
    if (!text) return fc_fail(FC_ERR_NOMEM, "RegressionSetup: out of memory");
    for (int64_t k = 0; k < n; k++) w += sprintf(w, k ? " %g" : "%g", fc_tensor_get(v->t, k));
    fc_tensor_free(v->t);
    *v = (fc_value){.kind = fc_kind_label, .text = text};
    return FC_OK;
}

static const fc_kind *const regression_kinds[] = {fc_kind_label, fc_kind_tensor, NULL};
static const fc_transform_def regression_def = {
    .name = "RegressionSetup", .order = 1, .kinds = regression_kinds,
    .encodes = regression_encodes, .decodes = regression_decodes, .to_json = no_params_json,
};
fc_transform *fc_regression_setup(void) { return fc_transform_new(&regression_def, NULL); }

/* ---- Normalize ---- */
typedef struct normalize {
    float *mean, *std;
    int c;
    int fixed; /* stats given by the user: setup keeps them */
} normalize;

static void normalize_free(void *s) {
    normalize *n = s;
    if (!n) return;
    free(n->mean);
    free(n->std);
    free(n);
}

/* The channel axis of an image [C, H, W] or a batch [N, C, H, W]: the count of leading images,
 * of channels, and of pixels per channel. */
static fc_status image_geometry(const char *who, const fc_tensor *t, int64_t *n_img, int64_t *c,
                                int64_t *hw) {
    int nd = fc_tensor_ndim(t);
    if (nd != 3 && nd != 4)
        return fc_fail(FC_ERR_SHAPE, "%s: expected an image [C, H, W] or a batch [N, C, H, W], found %s",
                       who, fci_tshape(t));
    const int64_t *d = fc_tensor_dims(t);
    *n_img = nd == 4 ? d[0] : 1;
    *c = d[nd - 3];
    *hw = d[nd - 2] * d[nd - 1];
    return FC_OK;
}

static fc_status need_f32(const char *who, const fc_value *v) {
    if (fc_tensor_dtype(v->t) == FC_DTYPE_F32) return FC_OK;
    char buf[160];
    return fc_fail(FC_ERR_DTYPE, "%s: expected a float image (add fc_int_to_float(), which runs "
                   "before it), found %s", who, fc_value_str(v, buf, sizeof buf));
}

static fc_status normalize_setup(void *s, const fc_value *values, int64_t n) {
    normalize *st = s;
    if (st->fixed) return FC_OK;
    double *sum = NULL, *sq = NULL;
    int64_t c = -1, count = 0;
    fc_status rc = FC_OK;
    for (int64_t i = 0; i < n && rc == FC_OK; i++) {
        const fc_value *v = &values[i];
        for (int64_t k = 0; k < (v->n_list ? v->n_list : 1) && rc == FC_OK; k++) {
            fc_value one = {.kind = v->kind, .t = v->n_list ? v->list[k] : v->t};
            if (!one.t) continue;
            int64_t ni = 0, ci = 0, hw = 0;
            if ((rc = image_geometry("Normalize", one.t, &ni, &ci, &hw)) != FC_OK) break;
            if ((rc = need_f32("Normalize", &one)) != FC_OK) break;
            if (c < 0) {
                c = ci;
                sum = calloc((size_t)c, sizeof *sum);
                sq = calloc((size_t)c, sizeof *sq);
                if (!sum || !sq) rc = fc_fail(FC_ERR_NOMEM, "Normalize: out of memory");
            } else if (ci != c) {
                rc = fc_fail(FC_ERR_SHAPE, "Normalize: setup expected %lld channels in every image, "
                             "found %s", (long long)c, fci_tshape(one.t));
            }
            fc_tensor *x = rc == FC_OK ? cpu_contiguous("Normalize", one.t) : NULL;
            if (rc == FC_OK && !x) rc = fc_error_code();
            if (rc != FC_OK) break;
            const float *p = fc_tensor_data_f32(x);
            /* Accumulate in double: image sums over a dataset reach 1e9 pixels. */
            for (int64_t a = 0; a < ni; a++)
                for (int64_t ch = 0; ch < c; ch++, p += hw)
                    for (int64_t j = 0; j < hw; j++) {
                        sum[ch] += p[j];
                        sq[ch] += (double)p[j] * p[j];
                    }
            count += ni * hw;
            fc_tensor_free(x);
        }
    }
    if (rc == FC_OK && count < 2)
        rc = fc_fail(FC_ERR_ARG, "Normalize: setup expected training images with 2 or more pixels "
                     "per channel to compute mean and std, found %lld", (long long)count);
    if (rc == FC_OK && st->c != (int)c) { /* same channels: overwrite in place, keeping pointers */
        free(st->mean);
        free(st->std);
        st->mean = malloc((size_t)c * sizeof *st->mean);
        st->std = malloc((size_t)c * sizeof *st->std);
        if (!st->mean || !st->std) rc = fc_fail(FC_ERR_NOMEM, "Normalize: out of memory");
    }
    if (rc == FC_OK) {
        for (int64_t ch = 0; rc == FC_OK && ch < c; ch++) {
            double m = sum[ch] / (double)count;
            double var = (sq[ch] - sum[ch] * m) / (double)(count - 1); /* unbiased, as torch.std */
            st->mean[ch] = (float)m;
            st->std[ch] = (float)sqrt(var > 0 ? var : 0);
        }
        st->c = (int)c;
    }
    if (rc != FC_OK) {
        free(st->mean);
        free(st->std);
        st->mean = st->std = NULL;
        st->c = 0;
    }
    free(sum);
    free(sq);
    return rc;
}

static fc_status normalize_apply(normalize *st, fc_value *v, int decode) {
    const char *who = "Normalize";
    if (!v->t) return FC_OK;
    if (!st->mean) return fc_fail(FC_ERR_STATE, "Normalize: no stats (give .mean/.std or run setup)");
    int64_t ni = 0, c = 0, hw = 0;
    fc_status rc = image_geometry(who, v->t, &ni, &c, &hw);
    if (rc == FC_OK) rc = need_f32(who, v);
    if (rc != FC_OK) return rc;
    if (c != st->c && st->c != 1)
        return fc_fail(FC_ERR_SHAPE, "Normalize: expected %d channels (the stats'), found %s", st->c,
                       fci_tshape(v->t));
    fc_tensor *x = cpu_contiguous(who, v->t), *y = x ? new_tensor(fc_tensor_shape(v->t), FC_DTYPE_F32) : NULL;
    if (!y) {
        fc_tensor_free(x);
        return fc_error_code();
    }
    const float *p = fc_tensor_data_f32(x);
    float *q = fc_tensor_data_f32(y);
    for (int64_t a = 0; a < ni; a++)
        for (int64_t ch = 0; ch < c; ch++, p += hw, q += hw) {
            float m = st->mean[st->c == 1 ? 0 : ch], sd = st->std[st->c == 1 ? 0 : ch];
            if (decode)
                for (int64_t j = 0; j < hw; j++) q[j] = p[j] * sd + m;
            else
                for (int64_t j = 0; j < hw; j++) q[j] = (p[j] - m) / sd;
        }
    fc_tensor_free(x);
    fc_value_set_tensor(v, NULL, y);
    return FC_OK;
}
static fc_status normalize_encodes(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    return normalize_apply(s, v, 0);
}
static fc_status normalize_decodes(void *s, fc_value *v) { return normalize_apply(s, v, 1); }

/* Export (h-export): the statistics, written so that they read back to the same floats. */
static char *normalize_to_json(void *s) {
    normalize *n = s;
    if (!n->mean || n->c <= 0) {
        fc_fail(FC_ERR_STATE, "Normalize: cannot export statistics that were never set up");
        return NULL;
    }
    fci_sbuf b = {0};
    for (int k = 0; k < 2; k++) {
        fci_sb_puts(&b, k ? "],\"std\":[" : "{\"mean\":[");
        for (int ch = 0; ch < n->c; ch++) fci_sb_printf(&b, "%s%.9g", ch ? "," : "", (double)(k ? n->std : n->mean)[ch]);
    }
    fci_sb_puts(&b, "]}");
    if (b.failed) free(b.p);
    return b.failed ? NULL : b.p;
}

static const fc_kind *const image_kinds[] = {fc_kind_image, NULL};
static const fc_transform_def normalize_def = {
    .name = "Normalize", .order = 99, .kinds = image_kinds, .setup = normalize_setup,
    .encodes = normalize_encodes, .decodes = normalize_decodes, .free_state = normalize_free,
    .to_json = normalize_to_json,
};

fc_transform *fc_normalize_(const fc_normalize_opts *o) {
    normalize *st = calloc(1, sizeof *st);
    if (!st) {
        fc_fail(FC_ERR_NOMEM, "normalize: out of memory");
        return NULL;
    }
    if (o->mean || o->std || o->n_channels) {
        if (!o->mean || !o->std || o->n_channels <= 0) {
            fc_fail(FC_ERR_ARG, "normalize: expected .mean, .std and .n_channels > 0 together, found "
                    "mean %s, std %s, n_channels %d", o->mean ? "given" : "NULL",
                    o->std ? "given" : "NULL", o->n_channels);
            normalize_free(st);
            return NULL;
        }
        for (int ch = 0; ch < o->n_channels; ch++)
            if (!(o->std[ch] > 0)) {
                fc_fail(FC_ERR_ARG, "normalize: expected .std > 0, found %g for channel %d",
                        (double)o->std[ch], ch);
                normalize_free(st);
                return NULL;
            }
        st->c = o->n_channels;
        st->fixed = 1;
        st->mean = malloc((size_t)st->c * sizeof *st->mean);
        st->std = malloc((size_t)st->c * sizeof *st->std);
        if (!st->mean || !st->std) {
            fc_fail(FC_ERR_NOMEM, "normalize: out of memory");
            normalize_free(st);
            return NULL;
        }
        memcpy(st->mean, o->mean, (size_t)st->c * sizeof *st->mean);
        memcpy(st->std, o->std, (size_t)st->c * sizeof *st->std);
    }
    return fc_transform_new(&normalize_def, st);
}

static normalize *normalize_state(const fc_transform *tf, const char *who) {
    tf = tf ? fci_transform_unproxy(tf) : NULL;
    if (!tf || fci_transform_def(tf) != &normalize_def) {
        fc_fail(FC_ERR_ARG, "%s: expected a Normalize, found %s", who, tf ? fc_transform_name(tf) : "NULL");
        return NULL;
    }
    return fci_transform_state(tf);
}
const float *fc_normalize_mean(const fc_transform *tf, int *n_channels) {
    normalize *st = normalize_state(tf, "normalize_mean");
    *n_channels = st ? st->c : 0;
    return st ? st->mean : NULL;
}
const float *fc_normalize_std(const fc_transform *tf, int *n_channels) {
    normalize *st = normalize_state(tf, "normalize_std");
    *n_channels = st ? st->c : 0;
    return st ? st->std : NULL;
}

/* ---- ToTensor and IntToFloatTensor ---- */
static fc_status to_tensor_encodes(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    if (!v->t) return FC_OK;
    int nd = fc_tensor_ndim(v->t);
    if (nd != 2 && nd != 3) {
        char buf[160];
        return fc_fail(FC_ERR_SHAPE, "ToTensor: expected an image [H, W] or [C, H, W], found %s",
                       fc_value_str(v, buf, sizeof buf));
    }
    fc_tensor *x = cpu_contiguous("ToTensor", v->t);
    if (!x) return fc_error_code();
    if (nd == 2) {
        const int64_t *d = fc_tensor_dims(x);
        int64_t shape[3] = {1, d[0], d[1]}, stride[3];
        fci_contiguous_strides(3, shape, stride);
        fc_tensor *y = fc_keep(fci_tensor_view(x, 3, shape, stride, 0));
        fc_tensor_free(x);
        if (!y) return fc_error_code();
        x = y;
    }
    fc_value_set_tensor(v, NULL, x);
    return FC_OK;
}
/* Transforms without parameters export as {}. */
static char *no_params_json(void *s) {
    char *p = strdup("{}");
    if (!p) fc_fail(FC_ERR_NOMEM, "to_json: out of memory");
    return p;
}
static const fc_transform_def to_tensor_def = {
    .name = "ToTensor", .order = 5, .kinds = image_kinds, .encodes = to_tensor_encodes,
    .to_json = no_params_json,
};
fc_transform *fc_to_tensor(void) { return fc_transform_new(&to_tensor_def, NULL); }

static fc_status int_to_float_encodes(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    if (!v->t || fc_tensor_dtype(v->t) != FC_DTYPE_U8) return FC_OK;
    fc_tensor *x = cpu_contiguous("IntToFloatTensor", v->t);
    fc_tensor *y = x ? new_tensor(fc_tensor_shape(x), FC_DTYPE_F32) : NULL;
    if (!y) {
        fc_tensor_free(x);
        return fc_error_code();
    }
    const uint8_t *p = fc_tensor_data(x);
    float *q = fc_tensor_data_f32(y);
    for (int64_t i = 0, n = fc_tensor_numel(x); i < n; i++) q[i] = (float)p[i] / 255.0f;
    fc_tensor_free(x);
    fc_value_set_tensor(v, NULL, y);
    return FC_OK;
}
static fc_status int_to_float_decodes(void *s, fc_value *v) {
    if (!v->t || fc_tensor_dtype(v->t) != FC_DTYPE_F32) return FC_OK;
    fc_tensor *x = cpu_contiguous("IntToFloatTensor", v->t);
    fc_tensor *y = x ? new_tensor(fc_tensor_shape(x), FC_DTYPE_U8) : NULL;
    if (!y) {
        fc_tensor_free(x);
        return fc_error_code();
    }
    const float *p = fc_tensor_data_f32(x);
    uint8_t *q = fc_tensor_data(y);
    /* fastai clamps to [0, 1] then truncates; we round so that encode then decode is exact. */
    for (int64_t i = 0, n = fc_tensor_numel(x); i < n; i++) {
        float f = p[i] != p[i] ? 0.0f : p[i] < 0 ? 0.0f : p[i] > 1 ? 1.0f : p[i];
        q[i] = (uint8_t)lrintf(f * 255.0f);
    }
    fc_tensor_free(x);
    fc_value_set_tensor(v, NULL, y);
    return FC_OK;
}
static const fc_transform_def int_to_float_def = {
    .name = "IntToFloatTensor", .order = 10, .kinds = image_kinds,
    .encodes = int_to_float_encodes, .decodes = int_to_float_decodes, .to_json = no_params_json,
};
fc_transform *fc_int_to_float(void) { return fc_transform_new(&int_to_float_def, NULL); }
