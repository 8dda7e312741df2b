/* Internals shared by the vision layer's transforms (resample.c, affine.c, augment.c). */
#ifndef FASTC_VISION_IMPL_H
#define FASTC_VISION_IMPL_H

#include "fastc/vision.h"

/* A contiguous cpu tensor with t's values, for kernels that read raw pointers: t itself (one more
 * reference) when it is one, else a new copy outside any scope; either way the caller frees it.
 * NULL when t is NULL, not on the cpu (the message starting with who) or the copy fails. */
fc_tensor *fci_vision_contiguous(const char *who, fc_tensor *t);

#endif
