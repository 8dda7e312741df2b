/* MixedPrecision (fastai 2.7's callback): forward passes run under autocast, the loss in f32; in
 * f16 mode a GradScaler scales the loss before backward, unscales the gradients before the step,
 * skips the step when they overflowed and adapts the scale. bf16 has f32's range, so it needs no
 * scaling (fastai and torch enable the scaler for fp16 only).
 * On a CUDA device the same callback runs unchanged: autocast rounds the GEMM inputs there
 * (src/ops/cuda/amp.cu) and the GEMMs run on 16-bit tensor cores with f32 accumulation
 * (src/ops/cuda/gemm.c); the scaler's inf/nan check and unscale are one kernel per gradient and
 * the found-inf flag is read back once per step (grad_scaler.c). */
#include <string.h>

#include "../core/core_impl.h"
#include "fastc/learner.h"
#include "grad_scaler_impl.h"

typedef struct mixed_precision {
    fc_dtype dtype;
    int in_region; /* our autocast region is open (a batch between before_batch and after_pred) */
    fci_grad_scaler scaler;
    int use_scaler;
} mixed_precision;

static void leave(mixed_precision *s) {
    if (s->in_region && fc_autocast_end() == FC_OK) s->in_region = 0;
}

static int mp_before_batch(fc_learner *learn, void *state) {
    (void)learn;
    mixed_precision *s = state;
    if (s->in_region) return FC_CONTINUE; /* a cancelled batch left it open: reuse it */
    if (fc_autocast_begin(s->dtype) != FC_OK) return FC_CANCEL_FIT;
    s->in_region = 1;
    return FC_CONTINUE;
}

/* The prediction is f32 already (our GEMMs write f32): fastai's to_float has nothing to do. The
 * region ends here so that the loss (and anything after_pred callbacks compute) is f32. */
static int mp_leave(fc_learner *learn, void *state) {
    (void)learn;
    leave(state);
    return FC_CONTINUE;
}

static int mp_before_backward(fc_learner *learn, void *state) {
    mixed_precision *s = state;
    if (!s->use_scaler) return FC_CONTINUE;
    fc_tensor *scaled = fci_grad_scaler_scale(&s->scaler, fc_learner_loss_grad(learn));
    if (!scaled) return FC_CANCEL_FIT;
    fc_learner_set_loss_grad(learn, scaled);
    return FC_CONTINUE;
}

/* GradScaler.unscale_ + step + update, all at before_step: once per real step, so gradients that
 * GradientAccumulation (order 6, cancels before us) sums over several backwards are unscaled once,
 * and GradientClip (order 11, after us) clips the true gradients. The scale moves whether or not the
 * step runs; an overflowed step is cancelled (fastai raises CancelStepException) and the learner
 * zeroes the gradients as usual. */
static int mp_before_step(fc_learner *learn, void *state) {
    mixed_precision *s = state;
    if (!s->use_scaler) return FC_CONTINUE;
    fc_module *model = fc_learner_model(learn);
    int n = fc_module_n_parameters(model);
    fc_tensor **grads = fci_calloc((size_t)(n > 0 ? n : 1), sizeof *grads);
    if (!grads) return FC_CANCEL_FIT;
    for (int i = 0; i < n; i++) grads[i] = fc_tensor_grad(fc_module_parameter(model, i, NULL));
    fc_status st = fci_grad_scaler_unscale(&s->scaler, grads, n);
    fci_free(grads);
    if (st != FC_OK) return FC_CANCEL_FIT;
    int skip = s->scaler.found_inf;
    fci_grad_scaler_update(&s->scaler);
    return skip ? FC_CANCEL_STEP : FC_CONTINUE;
}

fc_callback *fc_mixed_precision_(const fc_mixed_precision_opts *o) {
    fc_dtype dt = o->dtype == FC_DTYPE_F32 ? FC_DTYPE_BF16 : o->dtype;
    if (dt != FC_DTYPE_BF16 && dt != FC_DTYPE_F16) {
        fc_fail(FC_ERR_DTYPE, "mixed_precision: .dtype must be bf16 or f16, found %s",
                fc_dtype_name(o->dtype));
        return NULL;
    }
    if (o->init_scale < 0 || o->growth_interval < 0) {
        fc_fail(FC_ERR_ARG, "mixed_precision: .init_scale and .growth_interval must be >= 0 "
                "(0: 65536 and 2000), found %g and %d", o->init_scale, o->growth_interval);
        return NULL;
    }
    mixed_precision *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = (mixed_precision){.dtype = dt, .use_scaler = dt == FC_DTYPE_F16,
                           .scaler = fci_grad_scaler_new(o->init_scale, o->growth_interval)};
    return fc_callback_new(&(fc_callback_def){
        .name = "MixedPrecision", .order = FC_ORDER_MIXED_PRECISION, .state = s, .free_state = fci_free,
        .before_batch = mp_before_batch, .after_pred = mp_leave, .after_loss = mp_leave,
        .after_cancel_batch = mp_leave, .after_batch = mp_leave, .after_cancel_fit = mp_leave,
        .after_fit = mp_leave, .before_backward = mp_before_backward, .before_step = mp_before_step,
    });
}

double fc_mixed_precision_scale(const fc_callback *cb) {
    if (!cb || strcmp(fc_callback_name(cb), "MixedPrecision") != 0) return 1.0;
    const mixed_precision *s = fc_callback_state(cb);
    return s && s->use_scaler ? s->scaler.scale : 1.0;
}

fci_grad_scaler *fci_mixed_precision_scaler(fc_callback *cb) {
    if (!cb || strcmp(fc_callback_name(cb), "MixedPrecision") != 0) return NULL;
    mixed_precision *s = fc_callback_state(cb);
    return s && s->use_scaler ? &s->scaler : NULL;
}
