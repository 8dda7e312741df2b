/* Image grids (show_batch, show_results): each cell an image scaled to fit with its aspect kept,
 * optional mask / points / bbox overlays, and a one- or two-line title under it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot_impl.h"

#define TITLE_LINE 15 /* pixels per title line */
#define PAD 8

/* A tensor's elements in logical order as f32 (malloc'd), after checking device and rank. */
static float *read_f32(const fc_tensor *t, const char *what, int cell, fc_status *st) {
    if (fc_tensor_device(t).type != FC_DEVICE_CPU) {
        *st = fc_fail(FC_ERR_DEVICE, "plot_image_grid: cells[%d].%s must be on the cpu, found %s", cell, what,
                      fc_device_name(fc_tensor_device(t)));
        return NULL;
    }
    int64_t n = fc_tensor_numel(t);
    float *buf = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!buf) {
        *st = fc_fail(FC_ERR_NOMEM, "plot_image_grid: cannot allocate %lld floats", (long long)n);
        return NULL;
    }
    if ((*st = fc_tensor_copy_out(t, buf, FC_DTYPE_F32)) != FC_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static fc_status check_cell(const fc_grid_cell *c, int i) {
    char s[96];
    const fc_tensor *im = c->image;
    if (!im) return fc_fail(FC_ERR_ARG, "plot_image_grid: cells[%d].image is NULL", i);
    fc_dtype dt = fc_tensor_dtype(im);
    if (fc_tensor_ndim(im) != 3 || (fc_tensor_dim(im, 0) != 1 && fc_tensor_dim(im, 0) != 3) ||
        fc_tensor_dim(im, 1) < 1 || fc_tensor_dim(im, 2) < 1)
        return fc_fail(FC_ERR_SHAPE, "plot_image_grid: cells[%d].image: expected [C, H, W] with C 1 or 3, found %s",
                       i, fc_shape_str(fc_tensor_shape(im), s, sizeof s));
    if (dt != FC_DTYPE_U8 && !fc_dtype_is_float(dt))
        return fc_fail(FC_ERR_DTYPE, "plot_image_grid: cells[%d].image: expected u8 or a float dtype, found %s", i,
                       fc_dtype_name(dt));
    int64_t h = fc_tensor_dim(im, 1), w = fc_tensor_dim(im, 2);
    if (h > 32767 || w > 32767)
        return fc_fail(FC_ERR_SHAPE, "plot_image_grid: cells[%d].image: expected H and W <= 32767, found %s", i,
                       fc_shape_str(fc_tensor_shape(im), s, sizeof s));
    if (c->mask) {
        fc_dtype mt = fc_tensor_dtype(c->mask);
        if (fc_tensor_ndim(c->mask) != 2 || fc_tensor_dim(c->mask, 0) != h || fc_tensor_dim(c->mask, 1) != w)
            return fc_fail(FC_ERR_SHAPE, "plot_image_grid: cells[%d].mask: expected [%lld, %lld] like the image, found %s",
                           i, (long long)h, (long long)w, fc_shape_str(fc_tensor_shape(c->mask), s, sizeof s));
        if (fc_dtype_is_float(mt))
            return fc_fail(FC_ERR_DTYPE, "plot_image_grid: cells[%d].mask: expected integer classes, found %s", i,
                           fc_dtype_name(mt));
    }
    if (c->points && (fc_tensor_ndim(c->points) != 2 || fc_tensor_dim(c->points, 1) != 2))
        return fc_fail(FC_ERR_SHAPE, "plot_image_grid: cells[%d].points: expected [n, 2], found %s", i,
                       fc_shape_str(fc_tensor_shape(c->points), s, sizeof s));
    if (c->bboxes && (fc_tensor_ndim(c->bboxes) != 2 || fc_tensor_dim(c->bboxes, 1) != 4))
        return fc_fail(FC_ERR_SHAPE, "plot_image_grid: cells[%d].bboxes: expected [n, 4], found %s", i,
                       fc_shape_str(fc_tensor_shape(c->bboxes), s, sizeof s));
    return FC_OK;
}

static unsigned char to_byte(float v, int is_u8) {
    if (!is_u8) v *= 255.0f;
    if (!(v > 0)) return 0; /* NaN too */
    return v >= 255 ? 255 : (unsigned char)lrintf(v);
}

/* The image as an opaque RGB24 surface of its own size. */
static cairo_surface_t *image_surface(const fc_tensor *im, int cell, fc_status *st) {
    float *px = read_f32(im, "image", cell, st);
    if (!px) return NULL;
    int c = (int)fc_tensor_dim(im, 0), h = (int)fc_tensor_dim(im, 1), w = (int)fc_tensor_dim(im, 2);
    int is_u8 = fc_tensor_dtype(im) == FC_DTYPE_U8;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        *st = fc_fail(FC_ERR_NOMEM, "plot_image_grid: cannot create a %d x %d image", w, h);
        cairo_surface_destroy(s);
        free(px);
        return NULL;
    }
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    int64_t plane = (int64_t)h * w;
    for (int y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)(data + (size_t)y * stride);
        for (int x = 0; x < w; x++) {
            int64_t k = (int64_t)y * w + x;
            uint32_t r = to_byte(px[k], is_u8);
            uint32_t g = c == 3 ? to_byte(px[plane + k], is_u8) : r, b = c == 3 ? to_byte(px[2 * plane + k], is_u8) : r;
            row[x] = 0xff000000u | r << 16 | g << 8 | b;
        }
    }
    cairo_surface_mark_dirty(s);
    free(px);
    return s;
}

/* Class k > 0 in colour k - 1 of the cycle at 45% opacity (premultiplied); class 0 clear. */
static cairo_surface_t *mask_surface(const fc_tensor *m, int cell, fc_status *st) {
    float *cls = read_f32(m, "mask", cell, st);
    if (!cls) return NULL;
    int h = (int)fc_tensor_dim(m, 0), w = (int)fc_tensor_dim(m, 1);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        *st = fc_fail(FC_ERR_NOMEM, "plot_image_grid: cannot create a %d x %d mask", w, h);
        cairo_surface_destroy(s);
        free(cls);
        return NULL;
    }
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    const double a = 0.45;
    for (int y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)(data + (size_t)y * stride);
        for (int x = 0; x < w; x++) {
            int k = (int)cls[(int64_t)y * w + x];
            if (k <= 0) {
                row[x] = 0;
                continue;
            }
            double rgb[3];
            fci_plot_color(k - 1, rgb);
            row[x] = (uint32_t)lrint(a * 255) << 24 | (uint32_t)lrint(a * rgb[0] * 255) << 16 |
                     (uint32_t)lrint(a * rgb[1] * 255) << 8 | (uint32_t)lrint(a * rgb[2] * 255);
        }
    }
    cairo_surface_mark_dirty(s);
    free(cls);
    return s;
}

/* Paints s scaled by k with its top left at (ox, oy): nearest when enlarging (pixels stay sharp),
 * cairo's GOOD filter (bilinear, box-filtered when shrinking) otherwise. */
static void paint_scaled(cairo_t *cr, cairo_surface_t *s, double ox, double oy, double k, int w, int h) {
    cairo_save(cr);
    cairo_translate(cr, ox, oy);
    cairo_scale(cr, k, k);
    cairo_set_source_surface(cr, s, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), k >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_rectangle(cr, 0, 0, w, h);
    cairo_fill(cr);
    cairo_restore(cr);
}

static fc_status draw_points(cairo_t *cr, const fc_grid_cell *c, int cell, double ox, double oy, double k) {
    fc_status st = FC_OK;
    float *p = read_f32(c->points, "points", cell, &st);
    if (!p) return st;
    for (int64_t i = 0, n = fc_tensor_dim(c->points, 0); i < n; i++) {
        if (!isfinite(p[2 * i]) || !isfinite(p[2 * i + 1])) continue;
        cairo_arc(cr, ox + p[2 * i] * k, oy + p[2 * i + 1] * k, 3, 0, 2 * M_PI);
        cairo_set_source_rgb(cr, 1, 0.1, 0.6);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
    }
    free(p);
    return FC_OK;
}

static fc_status draw_bboxes(cairo_t *cr, const fc_grid_cell *c, int cell, double ox, double oy, double k) {
    fc_status st = FC_OK;
    float *b = read_f32(c->bboxes, "bboxes", cell, &st);
    if (!b) return st;
    fci_plot_font(cr, 10, 1);
    for (int64_t i = 0, n = fc_tensor_dim(c->bboxes, 0); i < n; i++) {
        double x0 = ox + b[4 * i] * k, y0 = oy + b[4 * i + 1] * k;
        double x1 = ox + b[4 * i + 2] * k, y1 = oy + b[4 * i + 3] * k, rgb[3];
        if (!isfinite(x0 + y0 + x1 + y1)) continue;
        fci_plot_color((int)i, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_set_line_width(cr, 2);
        cairo_rectangle(cr, fmin(x0, x1), fmin(y0, y1), fabs(x1 - x0), fabs(y1 - y0));
        cairo_stroke(cr);
        const char *label = c->bbox_labels ? c->bbox_labels[i] : NULL;
        if (!label || !*label) continue;
        double tw = fci_plot_text_width(cr, label), lx = fmin(x0, x1), ly = fmin(y0, y1);
        cairo_rectangle(cr, lx, ly, tw + 4, 13);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        fci_plot_text(cr, label, lx + 2, ly + 6.5, 0, 0.5);
    }
    free(b);
    return FC_OK;
}

/* One title line, shortened with ".." to fit width. */
static void title_line(cairo_t *cr, const char *s, size_t len, double cx, double y, double width) {
    char buf[256];
    if (len > sizeof buf - 3) len = sizeof buf - 3;
    memcpy(buf, s, len);
    buf[len] = 0;
    while (len > 0 && fci_plot_text_width(cr, buf) > width) {
        do len--; while (len > 0 && ((unsigned char)buf[len] & 0xc0) == 0x80); /* whole UTF-8 chars */
        memcpy(buf + len, "..", 3);
    }
    fci_plot_text(cr, buf, cx, y, 0.5, 0);
}

static int n_title_lines(const char *t) {
    if (!t || !*t) return 0;
    const char *nl = strchr(t, '\n');
    return nl && nl[1] ? 2 : 1;
}

static fc_status draw_cell(cairo_t *cr, const fc_grid_cell *c, int i, double x, double y, int size) {
    fc_status st = FC_OK;
    int h = (int)fc_tensor_dim(c->image, 1), w = (int)fc_tensor_dim(c->image, 2);
    double k = fmin((double)size / w, (double)size / h);
    double ox = x + (size - w * k) / 2, oy = y + (size - h * k) / 2;
    cairo_surface_t *s = image_surface(c->image, i, &st);
    if (!s) return st;
    paint_scaled(cr, s, ox, oy, k, w, h);
    cairo_surface_destroy(s);
    if (c->mask) {
        if (!(s = mask_surface(c->mask, i, &st))) return st;
        paint_scaled(cr, s, ox, oy, k, w, h);
        cairo_surface_destroy(s);
    }
    if (c->bboxes && (st = draw_bboxes(cr, c, i, ox, oy, k)) != FC_OK) return st;
    if (c->points && (st = draw_points(cr, c, i, ox, oy, k)) != FC_OK) return st;
    if (!c->title || !*c->title) return FC_OK;
    static const double colors[3][3] = {{0.1, 0.1, 0.1}, {0, 0.55, 0}, {0.85, 0, 0}};
    int ci = c->title_color >= 0 && c->title_color <= 2 ? c->title_color : 0;
    cairo_set_source_rgb(cr, colors[ci][0], colors[ci][1], colors[ci][2]);
    fci_plot_font(cr, 12, 0);
    const char *nl = strchr(c->title, '\n');
    size_t len1 = nl ? (size_t)(nl - c->title) : strlen(c->title);
    title_line(cr, c->title, len1, x + size / 2.0, y + size + 3, size + PAD);
    if (nl && nl[1]) {
        const char *l2 = nl + 1, *nl2 = strchr(l2, '\n');
        title_line(cr, l2, nl2 ? (size_t)(nl2 - l2) : strlen(l2), x + size / 2.0, y + size + 3 + TITLE_LINE, size + PAD);
    }
    return FC_OK;
}

fc_status fc_plot_image_grid_(const char *path, const fc_grid_cell *cells, int n, const fc_grid_opts *o) {
    fc_grid_opts d = {0};
    if (!o) o = &d;
    if (!path || !*path) return fc_fail(FC_ERR_ARG, "plot_image_grid: expected a file path, found %s", path ? "\"\"" : "NULL");
    if (n <= 0) return fc_fail(FC_ERR_ARG, "plot_image_grid: expected n >= 1 cells, found %d", n);
    if (!cells) return fc_fail(FC_ERR_ARG, "plot_image_grid: expected %d cells, found NULL", n);
    int ncols = o->ncols ? o->ncols : (int)ceil(sqrt((double)n)), size = o->cell_size ? o->cell_size : 128;
    if (ncols < 0) return fc_fail(FC_ERR_ARG, "plot_image_grid: .ncols must be >= 0, found %d", o->ncols);
    if (size < 8 || size > 4096) return fc_fail(FC_ERR_ARG, "plot_image_grid: .cell_size must be in 8..4096, found %d", size);
    if (ncols > n) ncols = n;
    int nrows = (n + ncols - 1) / ncols, lines = 0;
    fc_status st;
    for (int i = 0; i < n; i++) {
        if ((st = check_cell(&cells[i], i)) != FC_OK) return st;
        lines = n_title_lines(cells[i].title) > lines ? n_title_lines(cells[i].title) : lines;
    }
    int cw = size + PAD, ch = size + PAD + lines * TITLE_LINE + (lines ? 4 : 0), top = o->title ? 30 : 0;
    int64_t W = (int64_t)ncols * cw + PAD, H = (int64_t)nrows * ch + PAD + top;
    if (W > 32767 || H > 32767)
        return fc_fail(FC_ERR_ARG, "plot_image_grid: the grid would be %lld x %lld pixels, more than 32767; "
                       "use fewer cells or a smaller .cell_size", (long long)W, (long long)H);
    cairo_surface_t *surf;
    cairo_t *cr;
    if ((st = fci_plot_canvas((int)W, (int)H, "plot_image_grid", &surf, &cr)) != FC_OK) return st;
    if (o->title) {
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        fci_plot_font(cr, 15, 1);
        fci_plot_text(cr, o->title, W / 2.0, 8, 0.5, 0);
    }
    for (int i = 0; i < n && st == FC_OK; i++)
        st = draw_cell(cr, &cells[i], i, PAD + (i % ncols) * cw, PAD + top + (i / ncols) * ch, size);
    if (st == FC_OK) st = fci_plot_write_png(surf, path, "plot_image_grid");
    fci_plot_canvas_free(surf, cr);
    return st;
}
