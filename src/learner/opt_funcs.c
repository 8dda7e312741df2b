/* fastai's optimizer functions with fastai's defaults (the learner then sets lr and wd per group). */
#include "fastc/learner.h"

/* fastai Adam: betas (0.9, 0.99), eps 1e-5, true (decoupled) weight decay 0.01. */
fc_optimizer *fc_opt_adam(fc_param_groups *g) {
    return fc_adam_new(g, .mom = 0.9, .sqr_mom = 0.99, .eps = 1e-5, .wd = 0.01, .decouple_wd = 1);
}
/* fastai SGD with momentum 0.9 (fit_one_cycle schedules it), decoupled weight decay. */
fc_optimizer *fc_opt_sgd(fc_param_groups *g) { return fc_sgd_new(g, .mom = 0.9, .decouple_wd = 1); }
/* fastai RMSProp: sqr_mom 0.99, eps 1e-8, no momentum, decoupled weight decay. */
fc_optimizer *fc_opt_rmsprop(fc_param_groups *g) { return fc_rmsprop_new(g, .sqr_mom = 0.99, .decouple_wd = 1); }
fc_optimizer *fc_opt_lamb(fc_param_groups *g) { return fc_lamb_new(g); }
fc_optimizer *fc_opt_ranger(fc_param_groups *g) { return fc_ranger_new(g); }
