/* fastc data: datasets and loaders. For now: the generated "shapes" dataset the demo and the
 * training tests use, so that nothing outside the repo is needed. */
#ifndef FASTC_DATA_H
#define FASTC_DATA_H

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FC_SHAPES_N_CLASSES 4
/* Class names in label order: "circle", "square", "triangle", "cross". */
FC_API const char *fc_shapes_class_name(int label);

/* n grayscale images [n, 1, size, size] (f32 in [0, 1]) of a randomly placed and sized shape with
 * noise, and labels [n] (i64, balanced: label = i % 4). Same seed, same data on every machine.
 * Writes new tensors (outside any scope: you free them) to *x and *y. size must be 12..128. */
FC_API fc_status fc_shapes_dataset(int64_t n, int size, uint64_t seed, fc_tensor **x, fc_tensor **y);

#ifdef __cplusplus
}
#endif
#endif
