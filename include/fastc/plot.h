/* fastc plot: PNG line plots, image grids and confusion matrices drawn with cairo. It uses only
 * core, so every layer above (data's show_batch, the learner's plot_loss and lr_find) can draw.
 * Every file is written atomically (temporary, fsync, rename). */
#ifndef FASTC_PLOT_H
#define FASTC_PLOT_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One line: n points (x[i], y[i]); non-finite points are skipped (a gap). */
typedef struct fc_plot_series {
    const char *label; /* legend; NULL: none */
    const double *x;   /* NULL: 0, 1, 2, ... */
    const double *y;
    int64_t n;
} fc_plot_series;

typedef struct fc_plot_opts {
    int _;
    const char *title, *xlabel, *ylabel;
    int log_x, log_y;   /* 1: logarithmic axis                                   */
    int width, height;  /* 0: 640 x 420                                          */
    /* Marked points (lr_find's suggestions): n_marks dots with labels in the legend. */
    const double *mark_x, *mark_y;
    const char *const *mark_labels;
    int n_marks;
} fc_plot_opts;
FC_API fc_status fc_plot_lines_(const char *path, const fc_plot_series *series, int n_series,
                                const fc_plot_opts *o);
#define fc_plot_lines(path, series, n, ...) \
    fc_plot_lines_((path), (series), (n), &(fc_plot_opts){._ = 0, __VA_ARGS__})

/* One cell of an image grid. image: [C, H, W] (C 1 or 3), u8 0..255 or float 0..1 (clamped);
 * optional overlays in image pixels: mask [H, W] integer classes (drawn translucent, 0 clear),
 * points [n, 2] (x, y), bboxes [n, 4] (x0, y0, x1, y1) with optional bbox_labels[n]. */
typedef struct fc_grid_cell {
    const fc_tensor *image;
    const fc_tensor *mask;
    const fc_tensor *points;
    const fc_tensor *bboxes;
    const char *const *bbox_labels;
    const char *title;   /* under the image; may hold "\n" for two lines */
    int title_color;     /* 0 black, 1 green (right), 2 red (wrong) */
} fc_grid_cell;
typedef struct fc_grid_opts {
    int _;
    int ncols;      /* 0: ceil(sqrt(n)) */
    int cell_size;  /* 0: 128 pixels; images are scaled to fit, aspect kept */
    const char *title;
} fc_grid_opts;
FC_API fc_status fc_plot_image_grid_(const char *path, const fc_grid_cell *cells, int n,
                                     const fc_grid_opts *o);
#define fc_plot_image_grid(path, cells, n, ...) \
    fc_plot_image_grid_((path), (cells), (n), &(fc_grid_opts){._ = 0, __VA_ARGS__})

/* counts[i * n + j]: items of actual class i predicted as j; labels[n]. Cells shaded by count
 * (normalize: by row) with the numbers written in. */
typedef struct fc_confusion_opts {
    int _;
    int normalize;
    const char *title;
} fc_confusion_opts;
FC_API fc_status fc_plot_confusion_matrix_(const char *path, const int64_t *counts, int n,
                                           const char *const *labels, const fc_confusion_opts *o);
#define fc_plot_confusion_matrix(path, counts, n, labels, ...) \
    fc_plot_confusion_matrix_((path), (counts), (n), (labels), &(fc_confusion_opts){._ = 0, __VA_ARGS__})

#ifdef __cplusplus
}
#endif
#endif
