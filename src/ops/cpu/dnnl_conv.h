/* 2-D convolution and transposed convolution on oneDNN, NCHW f32 in and out. Primitives (and the
 * reorders between our plain layout and the one oneDNN picks) are built once per shape and cached. */
#ifndef FASTC_DNNL_CONV_H
#define FASTC_DNNL_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/core_impl.h"

/* Everything a primitive depends on (all int64 so the struct compares with memcmp). x [n, c, h, w],
 * y [n, o, oh, ow]; weights [o, c/groups, kh, kw] (conv) or [c, o/groups, kh, kw] (transposed). */
typedef struct fci_conv_desc {
    int64_t transposed, n, c, h, w, o, kh, kw, oh, ow;
    int64_t sh, sw, ph, pw, dh, dw, groups, has_bias;
} fci_conv_desc;

typedef enum fci_conv_pass {
    FCI_CONV_FWD,         /* y = conv(x, w) + b                                  */
    FCI_CONV_BWD_DATA,    /* x = dL/dx from y = dL/dy and w                       */
    FCI_CONV_BWD_WEIGHTS, /* w = dL/dw and b = dL/db (if has_bias) from x and y = dL/dy */
    FCI_CONV_N_PASSES
} fci_conv_pass;

/* Bytes of workspace the pass needs (layout conversions); builds and caches the primitive. */
fc_status fci_dnnl_conv_ws_bytes(const char *op, const fci_conv_desc *d, fci_conv_pass pass,
                                 size_t *bytes);
/* Runs the pass on contiguous NCHW buffers (see fci_conv_pass for which are read and written);
 * ws holds fci_dnnl_conv_ws_bytes bytes, 64-byte aligned. */
fc_status fci_dnnl_conv(const char *op, const fci_conv_desc *d, fci_conv_pass pass, float *x,
                        float *w, float *b, float *y, void *ws);
/* Drops every cached primitive. */
void fci_dnnl_conv_cache_clear(void);

#endif
