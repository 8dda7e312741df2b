/* Internals of the nn layer shared by its files (never installed). */
#ifndef FASTC_NN_IMPL_H
#define FASTC_NN_IMPL_H

#include "../core/core_impl.h"
#include "fastc/nn.h"

/* Called after every fc_module_forward with the module and its output (the summary's recorder).
 * Thread-local; NULL turns it off. */
typedef void (*fci_forward_hook)(fc_module *m, fc_tensor *y, void *ctx);
void fci_set_forward_hook(fci_forward_hook hook, void *ctx);

/* New f32 tensors outside any scope: U(-bound, bound), N(0, 1), or filled with value. */
fc_tensor *fci_nn_uniform(fc_shape shape, double bound);
fc_tensor *fci_nn_normal(fc_shape shape);
fc_tensor *fci_nn_full(fc_shape shape, double value);

/* Sets m's own training flag (not its children's). */
void fci_module_set_training(fc_module *m, int on);

char *fci_strdup(const char *s);

/* Pre-order walk: calls fn for m and each descendant with its dotted name ("" for m). */
typedef void (*fci_module_visit)(fc_module *m, const char *name, void *ctx);
void fci_module_walk(fc_module *m, fci_module_visit fn, void *ctx);

/* Replaces m's definition, keeping its state, parameters, buffers and children (h-mpi: the
 * distributed learner turns BatchNorm into SyncBatchNorm with the same type name and state). */
void fci_module_set_def(fc_module *m, const fc_module_def *def);

/* Safetensors inside a larger file (h-export): writes m's weights at f's position (header, data,
 * then fflush + fsync; tmp names the file in messages); loads m from the blob starting at byte
 * base of path and running to its end, with fc_module_load's checks (messages name path). */
#include <stdio.h>
fc_status fci_module_write(fc_module *m, FILE *f, const char *tmp);
fc_status fci_module_load_at(fc_module *m, const char *path, uint64_t base);
/* Checks the blob at base of path without a module: a valid header and every tensor's data inside
 * the file (cheap: a truncated file fails before a model is built for it). */
fc_status fci_safetensors_check(const char *path, uint64_t base);

#endif
