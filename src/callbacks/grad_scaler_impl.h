/* Dynamic loss scaling as torch.cuda.amp.GradScaler (PyTorch 1.13): the state and the three steps
 * MixedPrecision runs around backward and the optimizer step, kept apart from the Learner so that
 * they can be tested on their own. */
#ifndef FASTC_GRAD_SCALER_IMPL_H
#define FASTC_GRAD_SCALER_IMPL_H

#include "fastc/ops.h"

typedef struct fci_grad_scaler {
    float scale;           /* torch keeps the scale in an f32 tensor; so do we               */
    float growth_factor;   /* 2                                                               */
    float backoff_factor;  /* 0.5                                                             */
    int growth_interval;   /* good steps in a row before the scale grows                      */
    int growth_tracker;    /* good steps in a row so far                                      */
    int found_inf;         /* the last unscale met an inf or nan: skip the optimizer step     */
} fci_grad_scaler;

/* torch's defaults for zero arguments: init_scale 65536, growth_interval 2000. */
fci_grad_scaler fci_grad_scaler_new(double init_scale, int growth_interval);
/* loss * scale (differentiable), what backward runs from: GradScaler.scale(loss). */
fc_tensor *fci_grad_scaler_scale(const fci_grad_scaler *s, fc_tensor *loss);
/* Multiplies each gradient (f32, contiguous, updated in place; NULL entries skipped) by 1/scale
 * computed as torch does (in double, then rounded to f32) and sets found_inf when any value is
 * inf or nan: GradScaler.unscale_. */
fc_status fci_grad_scaler_unscale(fci_grad_scaler *s, fc_tensor *const *grads, int n);
/* After the step (taken or skipped): backoff on found_inf, else growth after growth_interval good
 * steps; a grown scale that would overflow f32 is not taken (torch's _amp_update_scale_). */
void fci_grad_scaler_update(fci_grad_scaler *s);

/* The GradScaler of a MixedPrecision callback (borrowed; NULL for any other callback or bf16,
 * which has none): lr_find saves it before its sweep and puts it back after, as the weights. */
struct fc_callback;
fci_grad_scaler *fci_mixed_precision_scaler(struct fc_callback *cb);

#endif
