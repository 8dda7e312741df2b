/* Internals of show (src/data/show.c) shared with the learner's show_results (never installed). */
#ifndef FASTC_SHOW_IMPL_H
#define FASTC_SHOW_IMPL_H

#include <stdio.h>

#include "fastc/data.h"
#include "fastc/plot.h"

/* The index of the first value of kind k in item, or -1. */
int fci_show_find(const fc_tuple *item, const fc_kind *k);
/* 1 for kinds drawn on or as an image (image, mask, points, bbox). */
int fci_show_is_visual(const fc_kind *k);

/* Fills cell's image and overlays from item (borrowed from it). Box labels, when a category
 * value holds one index per box, are written into labels[n_labels] (strings borrowed from vocab,
 * or numbers in buf[n_labels][24]); a NULL image means the item has none. */
typedef struct fci_box_labels {
    const char *p[64];
    char buf[64][24];
} fci_box_labels;
void fci_show_cell(const fc_tuple *item, const fc_show_opts *o, fc_grid_cell *cell, fci_box_labels *bl);

/* Rows of cells[r * n_cols + c] under headers[n_cols], columns padded to their widest cell (cut at
 * 60 characters with "..."), to path (atomically) when non-NULL, else to out (NULL: stdout). */
fc_status fci_show_table(const char *fn, const char *path, FILE *out, const char *const *headers, int n_cols,
                         char *const *cells, int64_t n_rows);

#endif
