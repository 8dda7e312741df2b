/* Resampling for the image item transforms (src/vision/resize.c): a source box, which may reach
 * outside the image, resampled to an output grid. Images bilinear with antialiasing when shrinking
 * (PIL's BILINEAR and torch's interpolate(antialias=True)), masks nearest (PIL's NEAREST). */
#ifndef FASTC_RESAMPLE_IMPL_H
#define FASTC_RESAMPLE_IMPL_H

#include "fastc/vision.h"

/* Coordinates are pixel edges: an image of w x h pixels spans [0, w] x [0, h], pixel (i, j) is the
 * square [i, i + 1] x [j, j + 1] (fastai's and PIL's convention for points and boxes). */
typedef struct fci_resample {
    double x0, y0, x1, y1;  /* the source box (x1 > x0, y1 > y0); outside the image: pad      */
    int64_t full_h, full_w; /* the box is resampled to a full_h x full_w grid ...             */
    int64_t off_y, off_x;   /* ... of which rows [off_y, off_y + out_h) and columns           */
    int64_t out_h, out_w;   /*     [off_x, off_x + out_w) are made                            */
    fc_pad_mode pad;        /* ZEROS, REFLECTION (mirrored, edge not repeated: torchvision's
                             * "reflect") or BORDER (edge repeated); DEFAULT reads as ZEROS   */
} fci_resample;

/* img: u8 or f32 [C, H, W] on the cpu (any strides) -> a new [C, out_h, out_w] tensor of the same
 * dtype outside any scope (you free it). The box is seen as an image of its own (fastai's crop,
 * pad, then resize): filters stop at its edges. u8 follows PIL's fixed-point arithmetic
 * (horizontal pass first, rounded to u8 between the passes); f32 is computed in float like torch.
 * NULL on failure, the message starting with who. */
fc_tensor *fci_resample_image(const char *who, fc_tensor *img, const fci_resample *r);

/* mask: [H, W] of any dtype -> a new [out_h, out_w] tensor sampled nearest (pixel centres, as
 * PIL's NEAREST); outside the image pad applies, zeros giving 0. */
fc_tensor *fci_resample_nearest(const char *who, fc_tensor *mask, const fci_resample *r);

/* Moves a point in source pixel coordinates to output pixel coordinates. */
static inline void fci_resample_point(const fci_resample *r, double *x, double *y) {
    *x = (*x - r->x0) * (double)r->full_w / (r->x1 - r->x0) - (double)r->off_x;
    *y = (*y - r->y0) * (double)r->full_h / (r->y1 - r->y0) - (double)r->off_y;
}

#endif
