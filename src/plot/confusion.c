/* Confusion matrices (ClassificationInterpretation.plot_confusion_matrix): cells shaded white to
 * blue by count (or by row fraction when normalized) with the value written in each. */
#include <math.h>
#include <stdio.h>

#include "plot_impl.h"

/* matplotlib's "Blues" end points, interpolated linearly. */
static void shade(double t, double rgb[3]) {
    static const double lo[3] = {0.97, 0.98, 1.0}, hi[3] = {0.03, 0.19, 0.42};
    for (int c = 0; c < 3; c++) rgb[c] = lo[c] + t * (hi[c] - lo[c]);
}

static fc_status check_args(const char *path, const int64_t *counts, int n, const char *const *labels) {
    if (!path || !*path)
        return fc_fail(FC_ERR_ARG, "plot_confusion_matrix: expected a file path, found %s", path ? "\"\"" : "NULL");
    if (n <= 0 || n > 200) return fc_fail(FC_ERR_ARG, "plot_confusion_matrix: expected n in 1..200 classes, found %d", n);
    if (!counts) return fc_fail(FC_ERR_ARG, "plot_confusion_matrix: counts is NULL");
    if (!labels) return fc_fail(FC_ERR_ARG, "plot_confusion_matrix: labels is NULL");
    for (int i = 0; i < n; i++)
        if (!labels[i]) return fc_fail(FC_ERR_ARG, "plot_confusion_matrix: labels[%d] is NULL", i);
    for (int64_t i = 0; i < (int64_t)n * n; i++)
        if (counts[i] < 0)
            return fc_fail(FC_ERR_ARG, "plot_confusion_matrix: counts[%lld] (actual %s, predicted %s) is %lld, "
                           "expected >= 0", (long long)i, labels[i / n], labels[i % n], (long long)counts[i]);
    return FC_OK;
}

/* Cell (i, j): the count, or its fraction of row i when normalizing. */
static double cell_value(const int64_t *counts, int n, int normalize, int i, int j) {
    if (!normalize) return (double)counts[(int64_t)i * n + j];
    double row = 0;
    for (int k = 0; k < n; k++) row += (double)counts[(int64_t)i * n + k];
    return row > 0 ? counts[(int64_t)i * n + j] / row : 0;
}

fc_status fc_plot_confusion_matrix_(const char *path, const int64_t *counts, int n, const char *const *labels,
                                    const fc_confusion_opts *o) {
    fc_confusion_opts d = {0};
    if (!o) o = &d;
    fc_status st = check_args(path, counts, n, labels);
    if (st != FC_OK) return st;
    double vmax = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) vmax = fmax(vmax, cell_value(counts, n, o->normalize, i, j));

    /* Measure the labels on a scratch surface to size the margins. */
    cairo_surface_t *surf;
    cairo_t *cr;
    if ((st = fci_plot_canvas(1, 1, "plot_confusion_matrix", &surf, &cr)) != FC_OK) return st;
    fci_plot_font(cr, 12, 0);
    double wl = 0;
    for (int i = 0; i < n; i++) wl = fmax(wl, fci_plot_text_width(cr, labels[i]));
    fci_plot_canvas_free(surf, cr);
    double cell = fmax(24, fmin(72, 520.0 / n));
    int rotate = wl > cell - 4; /* x labels at 45 degrees when they would overlap */
    double left = 34 + wl + 10, top = o->title ? 40 : 14;
    double bottom = 12 + (rotate ? wl * 0.72 + 14 : 18) + 24, right = 20;
    int W = (int)ceil(left + n * cell + right), H = (int)ceil(top + n * cell + bottom);
    if ((st = fci_plot_canvas(W, H, "plot_confusion_matrix", &surf, &cr)) != FC_OK) return st;

    char buf[48];
    fci_plot_font(cr, cell < 36 ? 9 : 12, 0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = cell_value(counts, n, o->normalize, i, j), t = vmax > 0 ? v / vmax : 0, rgb[3];
            double x = left + j * cell, y = top + i * cell;
            shade(t, rgb);
            cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            if (o->normalize) snprintf(buf, sizeof buf, "%.2f", v);
            else snprintf(buf, sizeof buf, "%lld", (long long)counts[(int64_t)i * n + j]);
            double g = t > 0.5 ? 1 : 0.1;
            cairo_set_source_rgb(cr, g, g, g);
            fci_plot_text(cr, buf, x + cell / 2, y + cell / 2, 0.5, 0.5);
        }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, round(left) + 0.5, round(top) + 0.5, round(n * cell), round(n * cell));
    cairo_stroke(cr);

    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    fci_plot_font(cr, 12, 0);
    double yb = top + n * cell + 6;
    for (int i = 0; i < n; i++) {
        fci_plot_text(cr, labels[i], left - 6, top + (i + 0.5) * cell, 1, 0.5);
        double xc = left + (i + 0.5) * cell;
        if (!rotate) {
            fci_plot_text(cr, labels[i], xc, yb, 0.5, 0);
            continue;
        }
        cairo_save(cr);
        cairo_translate(cr, xc + 4, yb);
        cairo_rotate(cr, -M_PI / 4);
        fci_plot_text(cr, labels[i], 0, 0, 1, 0.5);
        cairo_restore(cr);
    }
    fci_plot_font(cr, 13, 1);
    fci_plot_text(cr, "Predicted", left + n * cell / 2, H - 8, 0.5, 1);
    cairo_save(cr);
    cairo_translate(cr, 8, top + n * cell / 2);
    cairo_rotate(cr, -M_PI / 2);
    fci_plot_text(cr, "Actual", 0, 0, 0.5, 0);
    cairo_restore(cr);
    if (o->title) {
        fci_plot_font(cr, 15, 1);
        fci_plot_text(cr, o->title, W / 2.0, 10, 0.5, 0);
    }
    st = fci_plot_write_png(surf, path, "plot_confusion_matrix");
    fci_plot_canvas_free(surf, cr);
    return st;
}
