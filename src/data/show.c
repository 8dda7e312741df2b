/* show_batch: the first batch of a loader, decoded, drawn as an image grid (with mask, points and
 * bbox overlays, titled by the labels) or written as an aligned text table for text, tokens and
 * tabular data; fc_show_value prints one decoded value. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "show_impl.h"

#define CELL_MAX 60 /* table cells are cut here */

/* ---- values as text ---------------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, len;
    int full;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) FC_PRINTF(2, 3);
static void sb_add(sbuf *b, const char *fmt, ...) {
    if (b->full || b->n == 0) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->len, b->n - b->len, fmt, ap);
    va_end(ap);
    if (k < 0 || b->len + (size_t)k >= b->n) {
        b->full = 1;
        b->len = b->n - 1;
        if (b->n >= 4) memcpy(b->p + b->n - 4, "...", 4); /* say it was cut */
        return;
    }
    b->len += (size_t)k;
}

static const char *vocab_name(const fc_show_opts *o, int64_t idx) {
    return o && o->vocab && idx >= 0 && idx < o->n_vocab && o->vocab[idx] ? o->vocab[idx] : NULL;
}

static void add_index(sbuf *b, const fc_show_opts *o, int64_t idx) {
    const char *name = vocab_name(o, idx);
    if (name) sb_add(b, "%s", name);
    else sb_add(b, "%lld", (long long)idx);
}

static void add_number(sbuf *b, double v) {
    if (v == floor(v) && fabs(v) < 1e15) sb_add(b, "%.0f", v);
    else sb_add(b, "%.4g", v);
}

static void add_tensor(sbuf *b, const fc_value *v, const fc_show_opts *o) {
    const fc_tensor *t = v->t;
    const fc_kind *k = v->kind;
    int64_t n = fc_tensor_numel(t);
    if (fc_tensor_device(t).type != FC_DEVICE_CPU) {
        char s[96];
        sb_add(b, "%s %s %s on %s", k ? k->name : "tensor", fc_shape_str(fc_tensor_shape(t), s, sizeof s),
               fc_dtype_name(fc_tensor_dtype(t)), fc_device_name(fc_tensor_device(t)));
        return;
    }
    /* A plain integer scalar is read as a category index when a vocab is given (fc_tensor_dls
     * leaves its targets as plain tensors). */
    int index_like = k == fc_kind_tensor && o && o->vocab && n == 1 && !fc_dtype_is_float(fc_tensor_dtype(t));
    if ((k == fc_kind_category || index_like) && n == 1) {
        add_index(b, o, (int64_t)fc_tensor_get(t, 0));
    } else if (k == fc_kind_multi_category) {
        int first = 1;
        for (int64_t i = 0; i < n && !b->full; i++) {
            if (!(fc_tensor_get(t, i) > 0.5)) continue;
            if (!first) sb_add(b, ";");
            add_index(b, o, i);
            first = 0;
        }
    } else if (k == fc_kind_category || k == fc_kind_tokens) { /* one index per element */
        for (int64_t i = 0; i < n && !b->full; i++) {
            if (i) sb_add(b, " ");
            add_index(b, o, (int64_t)fc_tensor_get(t, i));
        }
    } else if (n == 1) {
        add_number(b, fc_tensor_get(t, 0));
    } else if (k == fc_kind_tabular || (fc_tensor_ndim(t) == 1 && n <= 8)) {
        for (int64_t i = 0; i < n && !b->full; i++) {
            if (i) sb_add(b, ", ");
            add_number(b, fc_tensor_get(t, i));
        }
    } else {
        char s[96];
        sb_add(b, "%s %s %s", k ? k->name : "tensor", fc_shape_str(fc_tensor_shape(t), s, sizeof s),
               fc_dtype_name(fc_tensor_dtype(t)));
    }
}

char *fc_show_value_str(const fc_value *v, const fc_show_opts *o, char *buf, size_t n) {
    if (!buf || !n) return buf;
    buf[0] = 0;
    if (!v) return buf;
    sbuf b = {buf, n, 0, 0};
    if (v->text) sb_add(&b, "%s", v->text);
    else if (v->t) add_tensor(&b, v, o);
    else if (v->list) sb_add(&b, "%lld %s items", (long long)v->n_list, v->kind ? v->kind->name : "tensor");
    return buf;
}

fc_status fc_show_value(const fc_value *v, FILE *f, const fc_show_opts *o) {
    if (!v) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "show_value: v is NULL");
    char buf[1024];
    if (fprintf(f ? f : stdout, "%s\n", fc_show_value_str(v, o, buf, sizeof buf)) < 0)
        return fc_fail(FC_ERR_IO, "show_value: cannot write: %s", strerror(errno));
    return FC_OK;
}

/* ---- image grids --------------------------------------------------------------------------------- */

int fci_show_find(const fc_tuple *item, const fc_kind *k) {
    for (int i = 0; i < item->n; i++)
        if (item->v[i].kind == k) return i;
    return -1;
}

int fci_show_is_visual(const fc_kind *k) {
    return k == fc_kind_image || k == fc_kind_mask || k == fc_kind_points || k == fc_kind_bbox;
}

static const fc_tensor *find_tensor(const fc_tuple *item, const fc_kind *k) {
    int i = fci_show_find(item, k);
    return i >= 0 ? item->v[i].t : NULL;
}

/* A category value with one index per box labels the boxes (fastai's BBoxLblBlock). */
static void box_labels(const fc_tuple *item, const fc_show_opts *o, fc_grid_cell *cell, fci_box_labels *bl) {
    int64_t nb = fc_tensor_dim(cell->bboxes, 0);
    for (int i = 0; i < item->n; i++) {
        const fc_tensor *t = item->v[i].t;
        if (item->v[i].kind != fc_kind_category || !t || fc_tensor_ndim(t) != 1 || fc_tensor_numel(t) != nb ||
            fc_tensor_device(t).type != FC_DEVICE_CPU || nb > 64)
            continue;
        for (int64_t b = 0; b < nb; b++) {
            int64_t idx = (int64_t)fc_tensor_get(t, b);
            bl->p[b] = vocab_name(o, idx);
            if (!bl->p[b]) {
                snprintf(bl->buf[b], sizeof bl->buf[b], "%lld", (long long)idx);
                bl->p[b] = bl->buf[b];
            }
        }
        cell->bbox_labels = bl->p;
        return;
    }
}

void fci_show_cell(const fc_tuple *item, const fc_show_opts *o, fc_grid_cell *cell, fci_box_labels *bl) {
    memset(cell, 0, sizeof *cell);
    cell->image = find_tensor(item, fc_kind_image);
    if (!cell->image) return;
    cell->mask = find_tensor(item, fc_kind_mask);
    cell->points = find_tensor(item, fc_kind_points);
    cell->bboxes = find_tensor(item, fc_kind_bbox);
    if (cell->bboxes && bl && fc_tensor_ndim(cell->bboxes) == 2) box_labels(item, o, cell, bl);
}

/* The item's labels (every value that is not drawn), one per line, at most two lines. */
static void item_title(const fc_tuple *item, const fc_show_opts *o, char *buf, size_t n) {
    size_t len = 0;
    int lines = 0;
    buf[0] = 0;
    for (int i = 0; i < item->n && lines < 2; i++) {
        const fc_value *v = &item->v[i];
        if (fci_show_is_visual(v->kind) || (!v->t && !v->text)) continue;
        if (v->kind == fc_kind_category && fci_show_find(item, fc_kind_bbox) >= 0 && v->t && fc_tensor_ndim(v->t) == 1) continue;
        if (lines && len + 1 < n) buf[len++] = '\n';
        fc_show_value_str(v, o, buf + len, n - len);
        len = strlen(buf);
        lines++;
    }
}

static fc_status show_images(const fc_tuple *items, int n, const char *path, const fc_show_opts *o) {
    if (!path)
        return fc_fail(FC_ERR_ARG, "show_batch: the items hold images, so path must name the PNG to write, found NULL");
    fc_grid_cell *cells = calloc((size_t)n, sizeof *cells);
    fci_box_labels *bl = calloc((size_t)n, sizeof *bl);
    char(*titles)[160] = calloc((size_t)n, sizeof *titles);
    fc_status st = FC_OK;
    if (!cells || !bl || !titles) {
        st = fc_fail(FC_ERR_NOMEM, "show_batch: cannot allocate %d grid cells", n);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        fci_show_cell(&items[i], o, &cells[i], &bl[i]);
        if (!cells[i].image) {
            st = fc_fail(FC_ERR_ARG, "show_batch: item %d has no image value while item 0 has one", i);
            goto fail;
        }
        item_title(&items[i], o, titles[i], sizeof titles[i]);
        cells[i].title = titles[i];
    }
    st = fc_plot_image_grid(path, cells, n, .ncols = o->ncols);
fail:
    free(titles);
    free(bl);
    free(cells);
    return st;
}

/* ---- text tables ------------------------------------------------------------------------------- */

/* Display width in characters: UTF-8 continuation bytes take none. */
static int text_width(const char *s, int max_bytes) {
    int w = 0;
    for (int i = 0; s[i] && i < max_bytes; i++) w += ((unsigned char)s[i] & 0xc0) != 0x80;
    return w;
}

/* Cell text for one line: newlines and tabs become spaces, cut to CELL_MAX characters with "...". */
static void cell_text(const char *s, char *out, size_t n) {
    size_t j = 0;
    int w = 0;
    for (size_t i = 0; s && s[i] && j + 4 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80 && ++w > CELL_MAX - 3) {
            memcpy(out + j, "...", 3);
            j += 3;
            break;
        }
        out[j++] = c == '\n' || c == '\t' || c == '\r' ? ' ' : (char)c;
    }
    out[j] = 0;
}

static fc_status write_atomic(const char *fn, const char *path, const char *text, size_t len) {
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return fc_fail(FC_ERR_NOMEM, "%s: cannot allocate %zu bytes", fn, n);
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    fc_status st = FC_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = fc_fail(FC_ERR_IO, "%s: cannot write '%s' (temporary '%s'): %s", fn, path, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    if (fwrite(text, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0)
        st = fc_fail(FC_ERR_IO, "%s: cannot write '%s': %s", fn, tmp, strerror(errno));
    if (fclose(f) != 0 && st == FC_OK) st = fc_fail(FC_ERR_IO, "%s: cannot close '%s': %s", fn, tmp, strerror(errno));
    if (st == FC_OK && rename(tmp, path) != 0)
        st = fc_fail(FC_ERR_IO, "%s: cannot rename '%s' to '%s': %s", fn, tmp, path, strerror(errno));
    if (st != FC_OK) remove(tmp);
    free(tmp);
    return st;
}

static void put_cell(FILE *f, const char *s, int width, int last) {
    char buf[CELL_MAX * 4 + 8];
    cell_text(s, buf, sizeof buf);
    fputs(buf, f);
    if (!last)
        for (int k = text_width(buf, (int)sizeof buf); k < width + 2; k++) fputc(' ', f);
}

fc_status fci_show_table(const char *fn, const char *path, FILE *out, const char *const *headers, int n_cols,
                         char *const *cells, int64_t n_rows) {
    int width[FC_MAX_TUPLE * 2] = {0};
    char buf[CELL_MAX * 4 + 8];
    if (n_cols < 1 || n_cols > FC_MAX_TUPLE * 2)
        return fc_fail(FC_ERR_ARG, "%s: expected 1..%d table columns, found %d", fn, FC_MAX_TUPLE * 2, n_cols);
    for (int c = 0; c < n_cols; c++) {
        cell_text(headers[c], buf, sizeof buf);
        width[c] = text_width(buf, (int)sizeof buf);
        for (int64_t r = 0; r < n_rows; r++) {
            cell_text(cells[r * n_cols + c], buf, sizeof buf);
            int w = text_width(buf, (int)sizeof buf);
            if (w > width[c]) width[c] = w;
        }
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = path ? open_memstream(&text, &len) : (out ? out : stdout);
    if (!f) return fc_fail(FC_ERR_NOMEM, "%s: cannot open a memory stream: %s", fn, strerror(errno));
    for (int c = 0; c < n_cols; c++) put_cell(f, headers[c], width[c], c == n_cols - 1);
    fputc('\n', f);
    for (int c = 0; c < n_cols; c++) {
        for (int k = 0; k < width[c]; k++) fputc('-', f);
        if (c < n_cols - 1) fputs("  ", f);
    }
    fputc('\n', f);
    for (int64_t r = 0; r < n_rows; r++) {
        for (int c = 0; c < n_cols; c++) put_cell(f, cells[r * n_cols + c], width[c], c == n_cols - 1);
        fputc('\n', f);
    }
    fc_status st = FC_OK;
    if (!path) {
        if (fflush(f) != 0 || ferror(f)) st = fc_fail(FC_ERR_IO, "%s: cannot write the table: %s", fn, strerror(errno));
        return st;
    }
    if (fclose(f) != 0) st = fc_fail(FC_ERR_NOMEM, "%s: cannot build the table in memory", fn);
    if (st == FC_OK) st = write_atomic(fn, path, text, len);
    free(text);
    return st;
}

static fc_status show_table(const fc_tuple *items, int n, const char *path, const fc_show_opts *o) {
    int nv = items[0].n;
    const char *headers[FC_MAX_TUPLE];
    for (int c = 0; c < nv; c++) headers[c] = items[0].v[c].kind ? items[0].v[c].kind->name : "value";
    char **cells = calloc((size_t)n * (size_t)(nv ? nv : 1), sizeof *cells);
    fc_status st = FC_OK;
    if (!cells) return fc_fail(FC_ERR_NOMEM, "show_batch: cannot allocate a %d x %d table", n, nv);
    for (int r = 0; r < n && st == FC_OK; r++)
        for (int c = 0; c < nv && st == FC_OK; c++) {
            char *s = cells[r * nv + c] = malloc(CELL_MAX * 4 + 8);
            if (!s) st = fc_fail(FC_ERR_NOMEM, "show_batch: cannot allocate a table cell");
            else fc_show_value_str(c < items[r].n ? &items[r].v[c] : NULL, o, s, CELL_MAX * 4 + 8);
        }
    if (st == FC_OK) st = fci_show_table("show_batch", path, o->out, headers, nv, cells, n);
    for (int i = 0; i < n * nv; i++) free(cells[i]);
    free(cells);
    return st;
}

/* ---- show_batch ------------------------------------------------------------------------------- */

fc_status fc_show_batch_(fc_dataloader *dl, const char *path, const fc_show_opts *o) {
    fc_show_opts d = {0};
    if (!o) o = &d;
    if (!dl) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "show_batch: dl is NULL");
    int max_n = o->max_n ? o->max_n : 9;
    if (max_n < 0) return fc_fail(FC_ERR_ARG, "show_batch: .max_n must be >= 0, found %d", o->max_n);
    if (o->ncols < 0) return fc_fail(FC_ERR_ARG, "show_batch: .ncols must be >= 0, found %d", o->ncols);
    if (o->n_vocab < 0 || (o->n_vocab > 0 && !o->vocab))
        return fc_fail(FC_ERR_ARG, "show_batch: .n_vocab is %lld but .vocab is %s", (long long)o->n_vocab,
                       o->vocab ? "set" : "NULL");
    fc_tuple batch = {0}, *items = NULL;
    int64_t n = 0;
    fc_status st = fc_dataloader_one_batch(dl, &batch);
    if (st == FC_OK) st = fc_dataloader_decode_batch(dl, &batch, &items, &n);
    fc_tuple_free(&batch);
    if (st == FC_OK && n <= 0) st = fc_fail(FC_ERR_STATE, "show_batch: the loader's first batch is empty");
    if (st == FC_OK) {
        int k = n < max_n ? (int)n : max_n;
        st = fci_show_find(&items[0], fc_kind_image) >= 0 ? show_images(items, k, path, o)
                                                            : show_table(items, k, path, o);
    }
    for (int64_t i = 0; items && i < n; i++) fc_tuple_free(&items[i]);
    free(items);
    return st;
}
