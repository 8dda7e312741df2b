/* The procs, fitted on the training rows (fastai's Categorify, FillMissing, Normalize), and the
 * processing of one row of raw text with them (the table, test_dl and predict all use it). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tabular_impl.h"

int fci_tab_parse(const char *text, double *v, int *missing) {
    *missing = 0;
    if (text) while (isspace((unsigned char)*text)) text++;
    if (!text || !*text || !strcmp(text, "nan") || !strcmp(text, "NaN") || !strcmp(text, "NA") ||
        !strcmp(text, "NAN")) {
        *missing = 1;
        *v = NAN;
        return 1;
    }
    char *end;
    *v = strtod(text, &end);
    if (end == text) return 0;
    while (isspace((unsigned char)*end)) end++;
    return *end == 0 && isfinite(*v);
}

/* ---- vocabularies ------------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sort key of a class: its number when every class is one. */
typedef struct vkey {
    const char *s;
    double num;
} vkey;
static int cmp_num(const void *a, const void *b) {
    const vkey *x = a, *y = b;
    if (x->num != y->num) return x->num < y->num ? -1 : 1;
    return strcmp(x->s, y->s);
}

static const char *const *lookup_base; /* qsort has no context: set around the one call below */
static int cmp_lookup(const void *a, const void *b) {
    return strcmp(lookup_base[*(const int64_t *)a], lookup_base[*(const int64_t *)b]);
}

void fci_tab_vocab_free(fci_tab_vocab *v) {
    if (!v) return;
    for (int64_t i = 0; v->classes && i < v->n; i++) free(v->classes[i]);
    free(v->classes);
    free(v->lookup);
    *v = (fci_tab_vocab){0};
}

fc_status fci_tab_vocab_build(fci_tab_vocab *v, const char *const *texts, int64_t n, int has_na) {
    *v = (fci_tab_vocab){0};
    const char **u = malloc(((size_t)n + 1) * sizeof *u);
    vkey *k = malloc(((size_t)n + 1) * sizeof *k);
    int64_t m = 0, nu = 0;
    if (!u || !k) goto nomem;
    for (int64_t i = 0; i < n; i++)
        if (texts[i]) u[m++] = texts[i];
    qsort(u, (size_t)m, sizeof *u, cmp_str);
    int all_num = 1;
    for (int64_t i = 0; i < m; i++) {
        if (nu && !strcmp(u[i], k[nu - 1].s)) continue;
        int miss;
        k[nu].s = u[i];
        if (!fci_tab_parse(u[i], &k[nu].num, &miss) || miss) all_num = 0;
        nu++;
    }
    if (all_num) qsort(k, (size_t)nu, sizeof *k, cmp_num);
    int64_t off = has_na ? 1 : 0;
    v->n = nu + off;
    v->classes = calloc((size_t)v->n + 1, sizeof *v->classes);
    v->lookup = malloc(((size_t)v->n + 1) * sizeof *v->lookup);
    if (!v->classes || !v->lookup) goto nomem;
    if (has_na && !(v->classes[0] = strdup("#na#"))) goto nomem;
    for (int64_t i = 0; i < nu; i++) {
        if (!(v->classes[i + off] = strdup(k[i].s))) goto nomem;
        v->lookup[i] = i + off;
    }
    lookup_base = (const char *const *)v->classes;
    qsort(v->lookup, (size_t)nu, sizeof *v->lookup, cmp_lookup);
    free(u);
    free(k);
    return FC_OK;
nomem:
    free(u);
    free(k);
    fci_tab_vocab_free(v);
    return fc_fail(FC_ERR_NOMEM, "tabular: out of memory for a vocabulary of %lld values", (long long)n);
}

int64_t fci_tab_code(const fci_tab_vocab *v, const char *text, int has_na) {
    if (!text) return has_na ? 0 : -1;
    int64_t off = has_na ? 1 : 0, lo = 0, hi = v->n - off;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        int c = strcmp(text, v->classes[v->lookup[mid]]);
        if (c == 0) return v->lookup[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return has_na ? 0 : -1;
}

const char *fci_tab_cat_label(const fc_tabular *t, int j, int64_t c) {
    const fci_tab_vocab *v = j < 0 ? &t->y_vocab : &t->vocab[j];
    return c >= 0 && c < v->n ? v->classes[c] : "?";
}

/* ---- one row ------------------------------------------------------------------------------------ */

fc_status fci_tab_process_row(const fc_tabular *t, const char *const *cat_text, const char *const *cont_text,
                              float *out, const char *where) {
    for (int j = 0; j < t->n_user_cat; j++) {
        const char *s = cat_text[j];
        out[j] = (float)fci_tab_code(&t->vocab[j], s && *s ? s : NULL, 1);
    }
    for (int k = 0; k < t->n_cont; k++) {
        double v;
        int miss;
        if (!fci_tab_parse(cont_text[k], &v, &miss))
            return fc_fail(FC_ERR_FORMAT, "tabular: %s, column '%s': expected a number, found '%s'", where,
                           t->cont_names[k], cont_text[k]);
        if (miss && (t->procs & FC_PROC_FILL_MISSING)) v = t->fill[k];
        if (t->cont_na_col[k] >= 0) {
            int j = t->cont_na_col[k];
            out[j] = (float)fci_tab_code(&t->vocab[j], miss ? "True" : "False", 1);
        }
        out[t->n_cat + k] = (float)((v - t->mean[k]) / t->std[k]);
    }
    return FC_OK;
}

void fci_tab_cell_str(const fc_tabular *t, int k, float x, char *buf, size_t n) {
    if (k < t->n_cat) {
        snprintf(buf, n, "%s", fci_tab_cat_label(t, k, (int64_t)x));
        return;
    }
    int c = k - t->n_cat;
    double v = (double)x * t->std[c] + t->mean[c];
    if (isnan(v)) snprintf(buf, n, "nan");
    else if (fabs(v - nearbyint(v)) < 1e-4 * fmax(1, fabs(v))) snprintf(buf, n, "%.1f", nearbyint(v));
    else snprintf(buf, n, "%.6g", v);
}

/* ---- fitting ------------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* pandas' median (the mean of the two middle values for an even count) or mode (the most common
 * value, the smallest on ties) of vals[n] (sorted in place); NAN when n == 0. */
double fci_tab_fill_of(double *vals, int64_t n, fc_fill_strategy how) {
    if (n == 0) return NAN;
    qsort(vals, (size_t)n, sizeof *vals, cmp_double);
    if (how == FC_FILL_MEDIAN) return n % 2 ? vals[n / 2] : (vals[n / 2 - 1] + vals[n / 2]) / 2;
    double best = vals[0];
    int64_t best_n = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && vals[j] == vals[i]) j++;
        if (j - i > best_n) {
            best_n = j - i;
            best = vals[i];
        }
        i = j;
    }
    return best;
}
