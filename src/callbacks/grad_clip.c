/* GradientClip (fastai 2.7): before each step, scale the gradients of all the model's parameters
 * so that their total L2 norm is at most max_norm, as torch.nn.utils.clip_grad_norm_ does
 * (coefficient max_norm / (norm + 1e-6), applied only when below 1). Runs after MixedPrecision,
 * which unscales the gradients first. */
#include <math.h>

#include "../core/core_impl.h"
#include "fastc/learner.h"

typedef struct {
    double max_norm;
} grad_clip;

static int gc_before_step(fc_learner *learn, void *state) {
    grad_clip *s = state;
    fc_module *model = fc_learner_model(learn);
    int n = fc_module_n_parameters(model);
    fc_scope *scope = fc_scope_begin();
    double sq = 0;
    fc_status st = FC_OK;
    for (int i = 0; st == FC_OK && i < n; i++) {
        fc_tensor *g = fc_tensor_grad(fc_module_parameter(model, i, NULL));
        fc_tensor *gg = g ? fc_sum(fc_mul(g, g), FC_ALL_DIMS, 0) : NULL;
        if (g && !gg) st = fc_error_code();
        if (gg) sq += fc_tensor_item(gg);
    }
    double norm = sqrt(sq), coef = s->max_norm / (norm + 1e-6);
    /* A non-finite norm is left alone (torch would scale by NaN); TerminateOnNaN deals with it. */
    for (int i = 0; st == FC_OK && isfinite(norm) && coef < 1 && i < n; i++) {
        fc_tensor *g = fc_tensor_grad(fc_module_parameter(model, i, NULL));
        if (g) st = fc_copy_(g, fc_mul_scalar(g, coef));
    }
    fc_scope_end(scope);
    return st == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

fc_callback *fc_gradient_clip_(const fc_grad_clip_opts *o) {
    double max_norm = o->max_norm ? o->max_norm : 1.0;
    if (!(max_norm > 0)) {
        fc_fail(FC_ERR_ARG, "gradient_clip: .max_norm must be > 0, found %g", max_norm);
        return NULL;
    }
    grad_clip *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->max_norm = max_norm;
    return fc_callback_new(&(fc_callback_def){
        .name = "GradientClip", .order = FC_ORDER_MIXED_PRECISION + 1, .state = s, .free_state = fci_free,
        .before_step = gc_before_step,
    });
}
