/* Atomic PNG output: cairo writes to path.tmp.<pid>, which is flushed, fsynced and renamed over
 * path, so a reader never sees half a file and a crash leaves the old one in place. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot_impl.h"

typedef struct png_sink {
    FILE *f;
    int err; /* errno of the first failed write */
} png_sink;

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int len) {
    png_sink *k = closure;
    if (fwrite(data, 1, len, k->f) != len) {
        if (!k->err) k->err = errno ? errno : EIO;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

fc_status fci_plot_write_png(cairo_surface_t *s, const char *path, const char *fn) {
    if (!path || !*path) return fc_fail(FC_ERR_ARG, "%s: expected a file path, found %s", fn, path ? "\"\"" : "NULL");
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return fc_fail(FC_ERR_INTERNAL, "%s: drawing for '%s' failed: %s", fn, path,
                       cairo_status_to_string(cairo_surface_status(s)));
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return fc_fail(FC_ERR_NOMEM, "%s: cannot allocate %zu bytes", fn, n);
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    fc_status st = FC_OK;
    png_sink k = {fopen(tmp, "wb"), 0};
    if (!k.f) {
        st = fc_fail(FC_ERR_IO, "%s: cannot write '%s' (temporary '%s'): %s", fn, path, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    cairo_status_t cs = cairo_surface_write_to_png_stream(s, sink_write, &k);
    if (cs != CAIRO_STATUS_SUCCESS)
        st = fc_fail(FC_ERR_IO, "%s: cannot write '%s': %s", fn, tmp,
                     k.err ? strerror(k.err) : cairo_status_to_string(cs));
    if (st == FC_OK && (fflush(k.f) != 0 || fsync(fileno(k.f)) != 0))
        st = fc_fail(FC_ERR_IO, "%s: cannot flush '%s': %s", fn, tmp, strerror(errno));
    if (fclose(k.f) != 0 && st == FC_OK)
        st = fc_fail(FC_ERR_IO, "%s: cannot close '%s': %s", fn, tmp, strerror(errno));
    if (st == FC_OK && rename(tmp, path) != 0)
        st = fc_fail(FC_ERR_IO, "%s: cannot rename '%s' to '%s': %s", fn, tmp, path, strerror(errno));
    if (st != FC_OK) remove(tmp);
    free(tmp);
    return st;
}

fc_status fci_plot_canvas(int width, int height, const char *fn, cairo_surface_t **s, cairo_t **cr) {
    *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    *cr = cairo_create(*s);
    if (cairo_status(*cr) != CAIRO_STATUS_SUCCESS) {
        fc_status st = fc_fail(FC_ERR_NOMEM, "%s: cannot create a %d x %d image: %s", fn, width, height,
                               cairo_status_to_string(cairo_status(*cr)));
        fci_plot_canvas_free(*s, *cr);
        *s = NULL;
        *cr = NULL;
        return st;
    }
    cairo_set_source_rgb(*cr, 1, 1, 1);
    cairo_paint(*cr);
    return FC_OK;
}

void fci_plot_canvas_free(cairo_surface_t *s, cairo_t *cr) {
    if (cr) cairo_destroy(cr);
    if (s) cairo_surface_destroy(s);
}

void fci_plot_font(cairo_t *cr, double size, int bold) {
    cairo_select_font_face(cr, "sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double fci_plot_text_width(cairo_t *cr, const char *s) {
    cairo_text_extents_t te;
    cairo_text_extents(cr, s ? s : "", &te);
    return te.x_advance;
}

/* The box is the advance width by the font's ascent + descent, so labels of one row line up
 * whatever letters they hold. */
void fci_plot_text(cairo_t *cr, const char *s, double x, double y, double ax, double ay) {
    if (!s || !*s) return;
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double w = fci_plot_text_width(cr, s), h = fe.ascent + fe.descent;
    cairo_move_to(cr, x - ax * w, y - ay * h + fe.ascent);
    cairo_show_text(cr, s);
    cairo_new_path(cr);
}

void fci_plot_color(int i, double rgb[3]) {
    static const unsigned char tab10[10][3] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},   {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
    };
    i = ((i % 10) + 10) % 10;
    for (int c = 0; c < 3; c++) rgb[c] = tab10[i][c] / 255.0;
}
