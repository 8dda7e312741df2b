/* Internals shared by the plot files (never installed): atomic PNG output, text and colours. */
#ifndef FASTC_PLOT_IMPL_H
#define FASTC_PLOT_IMPL_H

#include <cairo.h>

#include "fastc/plot.h"

/* Writes s as a PNG to path via path.tmp.<pid>, fsync and rename; fn names the caller in errors
 * (FC_ERR_IO naming the path). Does not take s. */
fc_status fci_plot_write_png(cairo_surface_t *s, const char *path, const char *fn);

/* A new white ARGB32 surface and its context, or FC_ERR_NOMEM naming fn; *cr is NULL on failure. */
fc_status fci_plot_canvas(int width, int height, const char *fn, cairo_surface_t **s, cairo_t **cr);
void fci_plot_canvas_free(cairo_surface_t *s, cairo_t *cr);

/* Text with the toy API in "sans": (x, y) is the anchor; ax, ay in [0, 1] say where the anchor sits
 * in the text's box (0, 0: top left; 0.5, 0.5: centre; 1, 1: bottom right). */
void fci_plot_font(cairo_t *cr, double size, int bold);
double fci_plot_text_width(cairo_t *cr, const char *s);
void fci_plot_text(cairo_t *cr, const char *s, double x, double y, double ax, double ay);

/* Colour i of a 10-colour cycle (matplotlib's tab10), each channel in [0, 1]. */
void fci_plot_color(int i, double rgb[3]);

#endif
