/* Line plots (plot_loss, lr_find, metrics over epochs): axes with 1-2-5 ticks or decade ticks on
 * log axes, labels, title, legend, several series, marked points. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot_impl.h"

#define MAX_TICKS 64

typedef struct axis {
    int log;
    double lo, hi; /* limits in axis units: the value, or log10 of it */
    double ticks[MAX_TICKS]; /* major ticks in axis units */
    int n_ticks;
    double minor[MAX_TICKS * 4]; /* log axes: 2..9 x 10^k, unlabelled */
    int n_minor;
    int decimals; /* linear labels: digits after the point; -1: %g */
} axis;

static int usable(double v, int log_axis) { return isfinite(v) && (!log_axis || v > 0); }
static double to_axis(double v, int log_axis) { return log_axis ? log10(v) : v; }

/* The 1-2-5 step nearest above x / 1.5: about 5-8 ticks over the range. */
static double nice_step(double x) {
    double e = floor(log10(x)), f = x / pow(10, e);
    double m = f <= 1.5 ? 1 : f <= 3.5 ? 2 : f <= 7.5 ? 5 : 10;
    return m * pow(10, e);
}

static void axis_linear(axis *a, double dmin, double dmax) {
    if (dmax - dmin <= 1e-12 * fmax(fabs(dmin), fabs(dmax))) {
        double h = dmin != 0 ? fabs(dmin) * 0.1 : 1;
        dmin -= h;
        dmax += h;
    }
    double span = dmax - dmin;
    a->lo = dmin - 0.05 * span;
    a->hi = dmax + 0.05 * span;
    double step = nice_step((a->hi - a->lo) / 6);
    a->n_ticks = 0;
    for (double k = ceil(a->lo / step - 1e-9); k * step <= a->hi + 1e-9 * step && a->n_ticks < MAX_TICKS; k++) {
        double v = k * step;
        a->ticks[a->n_ticks++] = fabs(v) < 1e-9 * step ? 0 : v;
    }
    double big = fmax(fabs(a->lo), fabs(a->hi));
    int e = (int)floor(log10(step) + 1e-9);
    a->decimals = (big >= 1e6 || step < 1e-5) ? -1 : (e < 0 ? -e : 0);
}

/* Decade ticks; the limits widen to whole decades when fewer than two decades fall inside. */
static void axis_log(axis *a, double dmin, double dmax) {
    double l0 = log10(dmin), l1 = log10(dmax);
    if (l1 - l0 < 1e-12) {
        l0 -= 0.5;
        l1 += 0.5;
    }
    double pad = 0.05 * (l1 - l0);
    l0 -= pad;
    l1 += pad;
    if (floor(l1) - ceil(l0) < 1) {
        l0 = floor(l0);
        l1 = ceil(l1);
        if (l1 - l0 < 1) l1 = l0 + 1;
    }
    a->lo = l0;
    a->hi = l1;
    int d0 = (int)ceil(l0 - 1e-9), d1 = (int)floor(l1 + 1e-9);
    int every = (d1 - d0) / 10 + 1;
    a->n_ticks = a->n_minor = 0;
    for (int d = d0; d <= d1 && a->n_ticks < MAX_TICKS; d += every) a->ticks[a->n_ticks++] = d;
    if (every == 1)
        for (int d = (int)floor(l0); d <= d1; d++)
            for (int m = 2; m <= 9 && a->n_minor < MAX_TICKS * 4; m++) {
                double v = d + log10(m);
                if (v > l0 && v < l1) a->minor[a->n_minor++] = v;
            }
    a->decimals = -1;
}

static void tick_label(const axis *a, double t, char *buf, size_t n) {
    if (a->log) snprintf(buf, n, "%.0e", pow(10, t));
    else if (a->decimals < 0) snprintf(buf, n, "%g", t);
    else snprintf(buf, n, "%.*f", a->decimals, t);
}

/* Range over every usable point of every series and the marks; FC_ERR_ARG when none is usable. */
static fc_status data_range(const fc_plot_series *s, int n_series, const fc_plot_opts *o, axis *ax, axis *ay) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < n_series; i++)
        for (int64_t j = 0; j < s[i].n; j++) {
            double x = s[i].x ? s[i].x[j] : (double)j, y = s[i].y[j];
            if (!usable(x, ax->log) || !usable(y, ay->log)) continue;
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
    for (int k = 0; k < o->n_marks; k++) {
        double x = o->mark_x[k], y = o->mark_y[k];
        if (!usable(x, ax->log) || !usable(y, ay->log)) continue;
        x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
    }
    if (!(x0 <= x1))
        return fc_fail(FC_ERR_ARG, "plot_lines: expected at least one finite point%s, found none",
                       ax->log || ay->log ? " (positive on a log axis)" : "");
    if (ax->log) axis_log(ax, x0, x1); else axis_linear(ax, x0, x1);
    if (ay->log) axis_log(ay, y0, y1); else axis_linear(ay, y0, y1);
    return FC_OK;
}

typedef struct frame {
    double l, t, w, h; /* plot area in pixels */
    const axis *ax, *ay;
} frame;

static double px_x(const frame *f, double v) { return f->l + (v - f->ax->lo) / (f->ax->hi - f->ax->lo) * f->w; }
static double px_y(const frame *f, double v) { return f->t + (1 - (v - f->ay->lo) / (f->ay->hi - f->ay->lo)) * f->h; }

static void draw_axes(cairo_t *cr, const frame *f) {
    char buf[64];
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    for (int i = 0; i < f->ax->n_ticks; i++) {
        double x = round(px_x(f, f->ax->ticks[i])) + 0.5;
        cairo_move_to(cr, x, f->t);
        cairo_line_to(cr, x, f->t + f->h);
    }
    for (int i = 0; i < f->ay->n_ticks; i++) {
        double y = round(px_y(f, f->ay->ticks[i])) + 0.5;
        cairo_move_to(cr, f->l, y);
        cairo_line_to(cr, f->l + f->w, y);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_rectangle(cr, round(f->l) + 0.5, round(f->t) + 0.5, round(f->w), round(f->h));
    double b = round(f->t) + round(f->h) + 0.5, l = round(f->l) + 0.5;
    for (int i = 0; i < f->ax->n_ticks; i++) {
        double x = round(px_x(f, f->ax->ticks[i])) + 0.5;
        cairo_move_to(cr, x, b);
        cairo_line_to(cr, x, b + 5);
    }
    for (int i = 0; i < f->ay->n_ticks; i++) {
        double y = round(px_y(f, f->ay->ticks[i])) + 0.5;
        cairo_move_to(cr, l, y);
        cairo_line_to(cr, l - 5, y);
    }
    for (int i = 0; i < f->ax->n_minor; i++) {
        double x = round(px_x(f, f->ax->minor[i])) + 0.5;
        cairo_move_to(cr, x, b);
        cairo_line_to(cr, x, b + 3);
    }
    for (int i = 0; i < f->ay->n_minor; i++) {
        double y = round(px_y(f, f->ay->minor[i])) + 0.5;
        cairo_move_to(cr, l, y);
        cairo_line_to(cr, l - 3, y);
    }
    cairo_stroke(cr);
    fci_plot_font(cr, 11, 0);
    for (int i = 0; i < f->ax->n_ticks; i++) {
        tick_label(f->ax, f->ax->ticks[i], buf, sizeof buf);
        fci_plot_text(cr, buf, px_x(f, f->ax->ticks[i]), b + 7, 0.5, 0);
    }
    for (int i = 0; i < f->ay->n_ticks; i++) {
        tick_label(f->ay, f->ay->ticks[i], buf, sizeof buf);
        fci_plot_text(cr, buf, l - 8, px_y(f, f->ay->ticks[i]), 1, 0.5);
    }
}

static int point_at(const fc_plot_series *s, int64_t j, const frame *f, double *px, double *py) {
    double x = s->x ? s->x[j] : (double)j, y = s->y[j];
    if (!usable(x, f->ax->log) || !usable(y, f->ay->log)) return 0;
    *px = px_x(f, to_axis(x, f->ax->log));
    *py = px_y(f, to_axis(y, f->ay->log));
    return 1;
}

/* Runs of usable points are joined; a point alone between gaps is drawn as a dot. */
static void draw_series(cairo_t *cr, const frame *f, const fc_plot_series *s, int color) {
    double rgb[3], x, y, xp = 0, yp = 0;
    fci_plot_color(color, rgb);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, 1.8);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    int run = 0;
    for (int64_t j = 0; j <= s->n; j++) {
        int ok = j < s->n && point_at(s, j, f, &x, &y);
        if (ok && run) cairo_line_to(cr, x, y);
        else if (ok) cairo_move_to(cr, x, y);
        if (!ok && run == 1) cairo_arc(cr, xp, yp, 1.8, 0, 2 * M_PI);
        if (!ok && run) cairo_stroke(cr);
        run = ok ? run + 1 : 0;
        xp = x, yp = y;
    }
    cairo_new_path(cr);
}

static void draw_mark(cairo_t *cr, double x, double y, int color) {
    double rgb[3];
    fci_plot_color(color, rgb);
    cairo_arc(cr, x, y, 5, 0, 2 * M_PI);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
}

/* The corner of the plot area (upper right first) whose legend box covers the fewest points. */
static void legend_corner(const frame *f, const fc_plot_series *s, int n_series, double bw, double bh, double *bx,
                          double *by) {
    int64_t best = -1;
    for (int c = 0; c < 4; c++) {
        double x0 = c % 2 ? f->l + 8 : f->l + f->w - bw - 8, y0 = c < 2 ? f->t + 8 : f->t + f->h - bh - 8;
        int64_t hits = 0;
        for (int i = 0; i < n_series; i++)
            for (int64_t j = 0; j < s[i].n; j++) {
                double x, y;
                if (point_at(&s[i], j, f, &x, &y) && x >= x0 - 4 && x <= x0 + bw + 4 && y >= y0 - 4 && y <= y0 + bh + 4)
                    hits++;
            }
        if (best < 0 || hits < best) best = hits, *bx = x0, *by = y0;
        if (!hits) return;
    }
}

/* Inside the plot area: a line sample per labelled series, a dot per labelled mark. */
static void draw_legend(cairo_t *cr, const frame *f, const fc_plot_series *s, int n_series, const fc_plot_opts *o) {
    fci_plot_font(cr, 11, 0);
    double wmax = 0, rgb[3];
    int n = 0;
    for (int i = 0; i < n_series; i++)
        if (s[i].label) wmax = fmax(wmax, fci_plot_text_width(cr, s[i].label)), n++;
    for (int k = 0; k < o->n_marks && o->mark_labels; k++)
        if (o->mark_labels[k]) wmax = fmax(wmax, fci_plot_text_width(cr, o->mark_labels[k])), n++;
    if (!n) return;
    double row = 17, bw = wmax + 44, bh = n * row + 8, bx = 0, by = 0;
    legend_corner(f, s, n_series, bw, bh, &bx, &by);
    cairo_rectangle(cr, round(bx) + 0.5, round(by) + 0.5, round(bw), round(bh));
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    double y = by + 4 + row / 2;
    for (int i = 0; i < n_series; i++) {
        if (!s[i].label) continue;
        fci_plot_color(i, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, bx + 8, y);
        cairo_line_to(cr, bx + 30, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        fci_plot_text(cr, s[i].label, bx + 36, y, 0, 0.5);
        y += row;
    }
    for (int k = 0; k < o->n_marks && o->mark_labels; k++) {
        if (!o->mark_labels[k]) continue;
        draw_mark(cr, bx + 19, y, n_series + k);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        fci_plot_text(cr, o->mark_labels[k], bx + 36, y, 0, 0.5);
        y += row;
    }
}

static fc_status check_args(const char *path, const fc_plot_series *s, int n_series, const fc_plot_opts *o,
                            int width, int height) {
    if (!path || !*path) return fc_fail(FC_ERR_ARG, "plot_lines: expected a file path, found %s", path ? "\"\"" : "NULL");
    if (n_series <= 0) return fc_fail(FC_ERR_ARG, "plot_lines: expected n_series >= 1, found %d", n_series);
    if (!s) return fc_fail(FC_ERR_ARG, "plot_lines: expected %d series, found NULL", n_series);
    for (int i = 0; i < n_series; i++) {
        if (s[i].n <= 0)
            return fc_fail(FC_ERR_ARG, "plot_lines: series[%d].n must be >= 1, found %lld", i, (long long)s[i].n);
        if (!s[i].y) return fc_fail(FC_ERR_ARG, "plot_lines: series[%d].y is NULL", i);
    }
    if (o->n_marks < 0) return fc_fail(FC_ERR_ARG, "plot_lines: .n_marks must be >= 0, found %d", o->n_marks);
    if (o->n_marks > 0 && (!o->mark_x || !o->mark_y))
        return fc_fail(FC_ERR_ARG, "plot_lines: .n_marks is %d but .mark_x or .mark_y is NULL", o->n_marks);
    if (width < 160 || width > 16384 || height < 120 || height > 16384)
        return fc_fail(FC_ERR_ARG, "plot_lines: expected .width in 160..16384 and .height in 120..16384, found %d x %d",
                       width, height);
    return FC_OK;
}

fc_status fc_plot_lines_(const char *path, const fc_plot_series *series, int n_series, const fc_plot_opts *o) {
    fc_plot_opts d = {0};
    if (!o) o = &d;
    int width = o->width ? o->width : 640, height = o->height ? o->height : 420;
    fc_status st = check_args(path, series, n_series, o, width, height);
    if (st != FC_OK) return st;
    axis ax = {.log = o->log_x}, ay = {.log = o->log_y};
    if ((st = data_range(series, n_series, o, &ax, &ay)) != FC_OK) return st;

    cairo_surface_t *surf;
    cairo_t *cr;
    if ((st = fci_plot_canvas(width, height, "plot_lines", &surf, &cr)) != FC_OK) return st;
    char buf[64];
    double wlab = 0;
    fci_plot_font(cr, 11, 0);
    for (int i = 0; i < ay.n_ticks; i++) {
        tick_label(&ay, ay.ticks[i], buf, sizeof buf);
        wlab = fmax(wlab, fci_plot_text_width(cr, buf));
    }
    double left = 16 + wlab + (o->ylabel ? 22 : 0), bottom = 30 + (o->xlabel ? 22 : 0);
    double top = o->title ? 38 : 16, right = 24;
    frame f = {left, top, width - left - right, height - top - bottom, &ax, &ay};
    draw_axes(cr, &f);

    cairo_save(cr);
    cairo_rectangle(cr, f.l, f.t, f.w, f.h);
    cairo_clip(cr);
    for (int i = 0; i < n_series; i++) draw_series(cr, &f, &series[i], i);
    for (int k = 0; k < o->n_marks; k++) {
        fc_plot_series m = {NULL, &o->mark_x[k], &o->mark_y[k], 1};
        double x, y;
        if (point_at(&m, 0, &f, &x, &y)) draw_mark(cr, x, y, n_series + k);
    }
    cairo_restore(cr);
    draw_legend(cr, &f, series, n_series, o);

    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    fci_plot_font(cr, 13, 0);
    if (o->xlabel) fci_plot_text(cr, o->xlabel, f.l + f.w / 2, height - 6, 0.5, 1);
    if (o->ylabel) {
        cairo_save(cr);
        cairo_translate(cr, 6, f.t + f.h / 2);
        cairo_rotate(cr, -M_PI / 2);
        fci_plot_text(cr, o->ylabel, 0, 0, 0.5, 0);
        cairo_restore(cr);
    }
    fci_plot_font(cr, 15, 1);
    if (o->title) fci_plot_text(cr, o->title, f.l + f.w / 2, 10, 0.5, 0);
    st = fci_plot_write_png(surf, path, "plot_lines");
    fci_plot_canvas_free(surf, cr);
    return st;
}
