/* Inspecting a collab model as fastai's tutorial does: PCA of the item factors (a small symmetric
 * eigen solver on the d x d covariance), item titles from u.item, the most and least liked items by
 * learned bias and the items at both ends of the first principal components. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab_impl.h"

/* ---- PCA ---- */

/* Cyclic Jacobi on the symmetric a[d * d] (destroyed): eigenvalues into ev[d], eigenvectors as the
 * columns of v[d * d]. Converges quadratically; d is the number of factors (tens), so a few sweeps
 * of d^3 work are nothing next to forming the covariance. */
static void jacobi_eigen(double *a, int64_t d, double *ev, double *v) {
    for (int64_t i = 0; i < d * d; i++) v[i] = 0;
    for (int64_t i = 0; i < d; i++) v[i * d + i] = 1;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int64_t p = 0; p < d; p++)
            for (int64_t q = 0; q < d; q++) {
                if (p != q) off += a[p * d + q] * a[p * d + q];
                else diag += a[p * d + q] * a[p * d + q];
            }
        if (off <= 1e-30 * (diag + 1e-300)) break;
        for (int64_t p = 0; p < d - 1; p++)
            for (int64_t q = p + 1; q < d; q++) {
                double apq = a[p * d + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int64_t k = 0; k < d; k++) { /* columns p, q of a */
                    double akp = a[k * d + p], akq = a[k * d + q];
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for (int64_t k = 0; k < d; k++) { /* rows p, q */
                    double apk = a[p * d + k], aqk = a[q * d + k];
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for (int64_t k = 0; k < d; k++) {
                    double vkp = v[k * d + p], vkq = v[k * d + q];
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int64_t i = 0; i < d; i++) ev[i] = a[i * d + i];
}

fc_tensor *fc_pca(fc_tensor *x, int k) {
    if (!x) return NULL;
    if (fc_tensor_ndim(x) != 2 || fc_tensor_dtype(x) != FC_DTYPE_F32 || fc_tensor_device(x).type != FC_DEVICE_CPU) {
        fc_fail(FC_ERR_SHAPE, "pca: expected x [n, d] f32 on the cpu, found %s %s", fci_tshape(x),
                fc_dtype_name(fc_tensor_dtype(x)));
        return NULL;
    }
    int64_t n = fc_tensor_dim(x, 0), d = fc_tensor_dim(x, 1);
    if (k < 1 || k > d || n < 1) {
        fc_fail(FC_ERR_ARG, "pca: expected k in [1, %lld] and n >= 1, found k = %d, n = %lld", (long long)d, k,
                (long long)n);
        return NULL;
    }
    fc_tensor *xc_t = fc_contiguous(x);
    double *xc = fci_calloc((size_t)(n * d), sizeof *xc), *mean = fci_calloc((size_t)d, sizeof *mean);
    double *cov = fci_calloc((size_t)(d * d), sizeof *cov), *v = fci_calloc((size_t)(d * d), sizeof *v);
    double *ev = fci_calloc((size_t)d, sizeof *ev);
    int64_t *order = fci_calloc((size_t)d, sizeof *order);
    fc_tensor *out = NULL;
    if (!xc_t || !xc || !mean || !cov || !v || !ev || !order) goto done;
    const float *src = fc_tensor_data(xc_t);
    for (int64_t i = 0; i < n * d; i++) mean[i % d] += src[i];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n * d; i++) xc[i] = src[i] - mean[i % d];
    for (int64_t i = 0; i < n; i++) /* x^T x: its eigenvectors are the right singular vectors of x */
        for (int64_t p = 0; p < d; p++)
            for (int64_t q = p; q < d; q++) cov[p * d + q] += xc[i * d + p] * xc[i * d + q];
    for (int64_t p = 0; p < d; p++)
        for (int64_t q = 0; q < p; q++) cov[p * d + q] = cov[q * d + p];
    jacobi_eigen(cov, d, ev, v);
    for (int64_t j = 0; j < d; j++) order[j] = j;
    for (int64_t j = 1; j < d; j++) /* by eigenvalue, largest first (insertion sort: d is small) */
        for (int64_t m = j; m > 0 && ev[order[m]] > ev[order[m - 1]]; m--) {
            int64_t t = order[m];
            order[m] = order[m - 1];
            order[m - 1] = t;
        }
    fc_scope *outer = fci_scope_suspend();
    out = fci_tensor_alloc(FC_SHAPE(n, k), FC_DTYPE_F32, FC_CPU);
    fci_scope_resume(outer);
    if (!out) goto done;
    float *dst = fc_tensor_data(out);
    for (int c = 0; c < k; c++) {
        int64_t col = order[c], big = 0; /* sign: the axis's largest component is positive */
        for (int64_t p = 1; p < d; p++)
            if (fabs(v[p * d + col]) > fabs(v[big * d + col])) big = p;
        double sign = v[big * d + col] < 0 ? -1 : 1;
        for (int64_t i = 0; i < n; i++) {
            double acc = 0;
            for (int64_t p = 0; p < d; p++) acc += xc[i * d + p] * v[p * d + col];
            dst[i * k + c] = (float)(sign * acc);
        }
    }
done:
    fc_tensor_free(xc_t);
    fci_free(xc);
    fci_free(mean);
    fci_free(cov);
    fci_free(v);
    fci_free(ev);
    fci_free(order);
    return out;
}

/* ---- titles ---- */

/* ISO-8859-1 bytes s[n] as a new UTF-8 string (fci_calloc'd) */
static char *latin1_to_utf8(const char *s, size_t n) {
    char *out = fci_calloc(2 * n + 1, 1);
    if (!out) return NULL;
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) {
            *o++ = (char)b;
        } else {
            *o++ = (char)(0xC0 | (b >> 6));
            *o++ = (char)(0x80 | (b & 0x3F));
        }
    }
    return out;
}

void fc_collab_titles_free(char **titles, int64_t n) {
    if (!titles) return;
    for (int64_t i = 0; i < n; i++) fci_free(titles[i]);
    fci_free(titles);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = fci_calloc(n, 1);
    if (d) memcpy(d, s, n);
    return d;
}

/* One line of the item table: its id (first field) and title (second), both within the text. */
typedef struct title_line {
    const char *id, *title;
    size_t idlen, tlen;
} title_line;

static int cmp_line(const void *a, const void *b) {
    const title_line *x = a, *y = b;
    size_t n = x->idlen < y->idlen ? x->idlen : y->idlen;
    int c = memcmp(x->id, y->id, n);
    return c ? c : (x->idlen > y->idlen) - (x->idlen < y->idlen);
}

/* The lines of text[len] split on sep into ids and titles (*n of them, fci_calloc'd, sorted by id) */
static title_line *index_lines(const char *text, size_t len, char sep, int64_t *n) {
    int64_t cap = 1;
    for (size_t i = 0; i < len; i++) cap += text[i] == '\n';
    title_line *lines = fci_calloc((size_t)cap, sizeof *lines);
    if (!lines) return NULL;
    *n = 0;
    for (size_t at = 0; at < len;) {
        const char *line = text + at, *nl = memchr(line, '\n', len - at);
        size_t ll = nl ? (size_t)(nl - line) : len - at;
        at += ll + 1;
        while (ll && line[ll - 1] == '\r') ll--;
        const char *s1 = memchr(line, sep, ll);
        if (!s1) continue;
        const char *t = s1 + 1, *s2 = memchr(t, sep, (size_t)(line + ll - t));
        lines[(*n)++] = (title_line){line, t, (size_t)(s1 - line), s2 ? (size_t)(s2 - t) : (size_t)(line + ll - t)};
    }
    qsort(lines, (size_t)*n, sizeof *lines, cmp_line);
    return lines;
}

char **fc_collab_item_titles(const fc_dataloaders *dls, const char *path, char sep) {
    int64_t n_items = 0;
    const char *const *items = fc_collab_items(dls, &n_items);
    if (!items) return NULL;
    if (!path) {
        fc_fail(FC_ERR_ARG, "collab_item_titles: path is NULL");
        return NULL;
    }
    if (!sep) sep = '|';
    FILE *f = fopen(path, "rb");
    if (!f) {
        fc_fail(FC_ERR_IO, "collab_item_titles: cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = size >= 0 ? fci_calloc((size_t)size + 1, 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!text || got != (size_t)size) {
        if (text) fc_fail(FC_ERR_IO, "collab_item_titles: cannot read '%s' (%zu of %ld bytes)", path, got, size);
        fci_free(text);
        return NULL;
    }
    int64_t n_lines = 0;
    title_line *lines = index_lines(text, got, sep, &n_lines);
    char **titles = lines ? fci_calloc((size_t)n_items, sizeof *titles) : NULL;
    for (int64_t c = 0; titles && c < n_items; c++) {
        title_line key = {.id = items[c], .idlen = strlen(items[c])};
        const title_line *hit = c > 0 ? bsearch(&key, lines, (size_t)n_lines, sizeof *lines, cmp_line) : NULL;
        titles[c] = hit ? latin1_to_utf8(hit->title, hit->tlen) : dup_str(items[c]);
        if (!titles[c]) {
            fc_collab_titles_free(titles, c);
            titles = NULL;
        }
    }
    fci_free(lines);
    fci_free(text);
    return titles;
}

/* ---- the tutorial's views ---- */

typedef struct ranked {
    double key;
    int64_t code;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->code > y->code) - (x->code < y->code);
}

static int cmp_count_desc(const void *a, const void *b) { return -cmp_ranked(a, b); }

/* the n first (lowest) or last (highest) of r[m] with their titles */
static void print_end(FILE *f, const char *head, const ranked *r, int64_t m, int top_n, int highest,
                      char *const *titles, const fci_collab_info *info) {
    fprintf(f, "%s\n", head);
    for (int64_t j = 0; j < top_n && j < m; j++) {
        const ranked *e = &r[highest ? m - 1 - j : j];
        int64_t c = e->code;
        fprintf(f, "  %8.4f  %s  (mean rating %.2f of %lld)\n", e->key, titles[c],
                info->item_sums[c] / (double)info->item_counts[c], (long long)info->item_counts[c]);
    }
}

/* The items (codes, no #na#) with the most ratings, most first, into top[*m] */
static ranked *most_rated(const fci_collab_info *info, int64_t among, int64_t *m) {
    ranked *all = fci_calloc((size_t)info->n_items, sizeof *all);
    if (!all) return NULL;
    for (int64_t c = 1; c < info->n_items; c++) all[c - 1] = (ranked){(double)info->item_counts[c], c};
    qsort(all, (size_t)(info->n_items - 1), sizeof *all, cmp_count_desc);
    *m = info->n_items - 1 < among ? info->n_items - 1 : among;
    return all;
}

static fc_status inspect_views(fc_learner *learn, FILE *f, const fc_collab_inspect_opts *o, const fci_collab_info *info,
                               char *const *titles, ranked *top, int64_t m) {
    int top_n = o->top_n ? o->top_n : 15;
    ranked *r = fci_calloc((size_t)m, sizeof *r);
    if (!r) return fc_error_code();
    fc_tensor *bias = fci_collab_model_kind(fc_learner_model(learn)) == 1 ? fc_collab_bias(learn, 1) : NULL;
    fc_tensor *w = fc_collab_weight(learn, 1), *sel = NULL, *pcs = NULL;
    if (bias) {
        const float *b = fc_tensor_data(bias);
        for (int64_t j = 0; j < m; j++) r[j] = (ranked){b[top[j].code], top[j].code};
        qsort(r, (size_t)m, sizeof *r, cmp_ranked);
        fprintf(f, "Item bias among the %lld most-rated items:\n", (long long)m);
        print_end(f, "Lowest bias:", r, m, top_n, 0,
                  titles, info);
        print_end(f, "Highest bias:", r, m, top_n, 1, titles, info);
    }
    if (w) { /* fastai: movie_w.pca(3) over the top items */
        fc_scope *outer = fci_scope_suspend();
        int64_t d = fc_tensor_dim(w, 1);
        sel = fci_tensor_alloc(FC_SHAPE(m, d), FC_DTYPE_F32, FC_CPU);
        fci_scope_resume(outer);
        for (int64_t j = 0; sel && j < m; j++)
            memcpy((float *)fc_tensor_data(sel) + j * d, (const float *)fc_tensor_data(w) + top[j].code * d,
                   (size_t)d * sizeof(float));
        pcs = sel ? fc_pca(sel, d >= 2 ? 2 : 1) : NULL;
    }
    for (int c = 0; pcs && c < fc_tensor_dim(pcs, 1); c++) {
        const float *p = fc_tensor_data(pcs);
        int64_t k = fc_tensor_dim(pcs, 1);
        for (int64_t j = 0; j < m; j++) r[j] = (ranked){p[j * k + c], top[j].code};
        qsort(r, (size_t)m, sizeof *r, cmp_ranked);
        char head[96];
        snprintf(head, sizeof head, "Principal component %d of the item factors, highest:", c + 1);
        print_end(f, head, r, m, top_n, 1, titles, info);
        snprintf(head, sizeof head, "Principal component %d, lowest:", c + 1);
        print_end(f, head, r, m, top_n, 0, titles, info);
    }
    fc_status st = w && pcs ? FC_OK : fc_error_code();
    fc_tensor_free(bias);
    fc_tensor_free(w);
    fc_tensor_free(sel);
    fc_tensor_free(pcs);
    fci_free(r);
    return st;
}

fc_status fc_collab_inspect_(fc_learner *learn, FILE *f, const fc_collab_inspect_opts *o) {
    static const fc_collab_inspect_opts none;
    if (!o) o = &none;
    if (!learn) return fc_error_code() ? fc_error_code() : fc_fail(FC_ERR_ARG, "collab_inspect: learn is NULL");
    if (o->top_n < 0 || o->among < 0)
        return fc_fail(FC_ERR_ARG, "collab_inspect: expected .top_n and .among >= 0, found %d and %lld", o->top_n,
                       (long long)o->among);
    fc_dataloaders *dls = fc_learner_dls(learn);
    const fci_collab_info *info = fci_collab_info_of(dls, "collab_inspect");
    if (!info) return fc_error_code();
    if (!f) f = stdout;
    char **titles = o->titles_path ? fc_collab_item_titles(dls, o->titles_path, o->titles_sep) : NULL;
    if (o->titles_path && !titles) return fc_error_code();
    if (!titles) { /* by id */
        titles = fci_calloc((size_t)info->n_items, sizeof *titles);
        for (int64_t c = 0; titles && c < info->n_items; c++)
            if (!(titles[c] = dup_str(info->items[c]))) {
                fc_collab_titles_free(titles, c);
                titles = NULL;
            }
        if (!titles) return fc_error_code();
    }
    int64_t m = 0;
    ranked *top = most_rated(info, o->among ? o->among : 1000, &m);
    fc_status st = top ? inspect_views(learn, f, o, info, titles, top, m) : fc_error_code();
    fci_free(top);
    fc_collab_titles_free(titles, info->n_items);
    return st;
}
