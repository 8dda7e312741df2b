/* fastc optim: optimizers over parameter groups (torch.optim / fastai semantics), their state
 * on disk, and the hyper-parameter schedules of fastai's fit_one_cycle, fit_flat_cos, fit_sgdr. */
#ifndef FASTC_OPTIM_H
#define FASTC_OPTIM_H

#include "autograd.h"
#include "core.h"
#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- parameter groups ---- */

/* A list of groups of parameters (each group gets its own lr, mom, wd...: discriminative lrs). */
typedef struct fc_param_groups fc_param_groups;
FC_API fc_param_groups *fc_param_groups_new(void);
/* Appends a group of n parameters (references taken; the caller keeps its own). Parameters must be
 * f32 CPU leaves; fails on NULL entries or a parameter already in another group. */
FC_API fc_status fc_param_groups_add(fc_param_groups *g, fc_tensor *const *params, int n);
/* One group with all parameters of m (fastai's `params(m)`); NULL on failure. */
FC_API fc_param_groups *fc_params_of(fc_module *m);
FC_API int fc_param_groups_n(const fc_param_groups *g);
FC_API void fc_param_groups_free(fc_param_groups *g);

/* ---- optimizers ----
 * Every constructor takes groups (even on failure) and returns a new optimizer or NULL. Unset
 * (zero) fields take the default written beside them; to ask for a real zero where the default
 * is not zero, use the no_* field. Hyper-parameters are copied into every group. */
typedef struct fc_optimizer fc_optimizer;

/* torch.optim.SGD (dampening 0). wd is L2 (added to the gradient), or fastai's true weight decay
 * (p *= 1 - lr * wd before the step) with .decouple_wd = 1. */
typedef struct fc_sgd_opts {
    int _;
    double lr;       /* 0: 1e-3                                     */
    double mom;      /* 0: no momentum                               */
    int nesterov;    /* 1: Nesterov momentum (needs mom > 0)         */
    double wd;       /* 0: none                                      */
    int decouple_wd; /* 1: decoupled (fastai), 0: L2 (torch)         */
} fc_sgd_opts;
#define fc_sgd_new(groups, ...) fc_sgd_new_((groups), &(fc_sgd_opts){._ = 0, __VA_ARGS__})
FC_API fc_optimizer *fc_sgd_new_(fc_param_groups *groups, const fc_sgd_opts *o);

/* torch.optim.Adam (bias-corrected). "mom" is beta1 and "sqr_mom" beta2, as fastai names them.
 * fastai's Adam is .decouple_wd = 1, .wd = 0.01, .sqr_mom = 0.99, .eps = 1e-5. */
typedef struct fc_adam_opts {
    int _;
    double lr;       /* 0: 1e-3                                                    */
    double mom;      /* 0: 0.9 (beta1)                                             */
    double sqr_mom;  /* 0: 0.999 (beta2)                                           */
    double eps;      /* 0: 1e-8                                                    */
    double wd;       /* 0: none for Adam, 0.01 for AdamW                           */
    int no_wd;       /* 1: no weight decay (AdamW's default 0.01 off)              */
    int decouple_wd; /* 1: decoupled wd (AdamW; always on for fc_adamw_new)        */
} fc_adam_opts;
#define fc_adam_new(groups, ...) fc_adam_new_((groups), &(fc_adam_opts){._ = 0, __VA_ARGS__})
FC_API fc_optimizer *fc_adam_new_(fc_param_groups *groups, const fc_adam_opts *o);
/* torch.optim.AdamW: Adam with decoupled weight decay, wd 0.01 by default. */
#define fc_adamw_new(groups, ...) fc_adamw_new_((groups), &(fc_adam_opts){._ = 0, __VA_ARGS__})
FC_API fc_optimizer *fc_adamw_new_(fc_param_groups *groups, const fc_adam_opts *o);

/* torch.optim.RMSprop: square average with alpha ("sqr_mom"), optional momentum and centering. */
typedef struct fc_rmsprop_opts {
    int _;
    double lr;       /* 0: 1e-2                          */
    double sqr_mom;  /* 0: 0.99 (torch's alpha)          */
    double eps;      /* 0: 1e-8                          */
    double mom;      /* 0: no momentum                   */
    double wd;       /* 0: none                          */
    int decouple_wd; /* 1: decoupled, 0: L2 (torch)      */
    int centered;    /* 1: divide by the centered variance */
} fc_rmsprop_opts;
#define fc_rmsprop_new(groups, ...) fc_rmsprop_new_((groups), &(fc_rmsprop_opts){._ = 0, __VA_ARGS__})
FC_API fc_optimizer *fc_rmsprop_new_(fc_param_groups *groups, const fc_rmsprop_opts *o);

/* fastai's Lamb and RAdam (their defaults). Lamb: Adam's debiased step u, scaled per parameter
 * by the trust ratio q = min(||p|| / ||u||, 10) (1 when either norm is 0). RAdam: rectified Adam,
 * plain debiased momentum while the variance is not yet tractable (r <= 5). */
typedef struct fc_lamb_opts {
    int _;
    double lr;      /* 0: 1e-3                                        */
    double mom;     /* 0: 0.9                                         */
    double sqr_mom; /* 0: 0.99                                        */
    double eps;     /* 0: 1e-5 (Lamb, RAdam), 1e-6 (ranger)           */
    double wd;      /* 0: none (Lamb, RAdam), 0.01 (ranger)           */
    int no_wd;      /* 1: no weight decay                             */
    int l2_wd;      /* 1: wd as L2 on the gradient (default: decoupled, as fastai) */
} fc_lamb_opts;
#define fc_lamb_new(groups, ...) fc_lamb_new_((groups), &(fc_lamb_opts){._ = 0, __VA_ARGS__})
FC_API fc_optimizer *fc_lamb_new_(fc_param_groups *groups, const fc_lamb_opts *o);
#define fc_radam_new(groups, ...) fc_radam_new_((groups), &(fc_lamb_opts){._ = 0, __VA_ARGS__})
FC_API fc_optimizer *fc_radam_new_(fc_param_groups *groups, const fc_lamb_opts *o);

/* fastai's Lookahead: every k steps of inner, slow += alpha * (fast - slow) and fast = slow.
 * Takes inner (even on failure). Hyper-parameter accessors reach the inner optimizer. */
typedef struct fc_lookahead_opts {
    int _;
    int k;        /* 0: 6   */
    double alpha; /* 0: 0.5 */
} fc_lookahead_opts;
#define fc_lookahead_new(inner, ...) fc_lookahead_new_((inner), &(fc_lookahead_opts){._ = 0, __VA_ARGS__})
FC_API fc_optimizer *fc_lookahead_new_(fc_optimizer *inner, const fc_lookahead_opts *o);
/* fastai's ranger: Lookahead(RAdam(mom 0.95, sqr_mom 0.99, eps 1e-6, wd 0.01 decoupled)). */
#define fc_ranger_new(groups, ...) fc_ranger_new_((groups), &(fc_lamb_opts){._ = 0, __VA_ARGS__})
FC_API fc_optimizer *fc_ranger_new_(fc_param_groups *groups, const fc_lamb_opts *o);

/* One update of every parameter that has a .grad (others are skipped, their state untouched). */
FC_API fc_status fc_optimizer_step(fc_optimizer *opt);
/* Drops the .grad of every parameter. */
FC_API void fc_optimizer_zero_grad(fc_optimizer *opt);
FC_API void fc_optimizer_free(fc_optimizer *opt);
/* "sgd", "adam", "adamw", "rmsprop", "lamb", "radam", "lookahead". */
FC_API const char *fc_optimizer_name(const fc_optimizer *opt);

/* Per-group hyper-parameters. Getters return NAN (and set an error) for a bad group; setters fail
 * with FC_ERR_ARG. "mom" is momentum for SGD/RMSprop and beta1 for Adam-likes; "sqr_mom" is beta2
 * (RMSprop's alpha). */
FC_API int fc_optimizer_n_groups(const fc_optimizer *opt);
FC_API int fc_optimizer_n_params(const fc_optimizer *opt, int group);
FC_API double fc_optimizer_lr(const fc_optimizer *opt, int group);
FC_API double fc_optimizer_mom(const fc_optimizer *opt, int group);
FC_API double fc_optimizer_sqr_mom(const fc_optimizer *opt, int group);
FC_API double fc_optimizer_wd(const fc_optimizer *opt, int group);
FC_API double fc_optimizer_eps(const fc_optimizer *opt, int group);
FC_API fc_status fc_optimizer_set_lr(fc_optimizer *opt, int group, double lr);
FC_API fc_status fc_optimizer_set_mom(fc_optimizer *opt, int group, double mom);
FC_API fc_status fc_optimizer_set_sqr_mom(fc_optimizer *opt, int group, double sqr_mom);
FC_API fc_status fc_optimizer_set_wd(fc_optimizer *opt, int group, double wd);
FC_API fc_status fc_optimizer_set_eps(fc_optimizer *opt, int group, double eps);

/* Writes the optimizer's state (hyper-parameters, step counts, buffers) to path atomically (a
 * temporary file, fsync, rename). Load checks the kind, group and parameter counts and every
 * buffer size, and on any error leaves the optimizer as it was. */
FC_API fc_status fc_optimizer_state_save(const fc_optimizer *opt, const char *path);
FC_API fc_status fc_optimizer_state_load(fc_optimizer *opt, const char *path);

/* ---- schedules (fastai's; pos in [0, 1]) ---- */
FC_API double fc_sched_no(double start, double end, double pos);  /* start            */
FC_API double fc_sched_lin(double start, double end, double pos); /* linear           */
FC_API double fc_sched_cos(double start, double end, double pos); /* half cosine      */
FC_API double fc_sched_exp(double start, double end, double pos); /* start*(end/start)^pos */
/* Cosine start -> middle over the first pct, then cosine middle -> end. */
FC_API double fc_combined_cos(double pct, double start, double middle, double end, double pos);

typedef struct fc_one_cycle_sched_opts {
    int _;
    double div;       /* 0: 25    (lr starts at lr_max / div)        */
    double div_final; /* 0: 1e5   (lr ends at lr_max / div_final)    */
    double pct_start; /* 0: 0.25                                     */
    double mom_max;   /* 0: 0.95  (momentum at the start and the end) */
    double mom_min;   /* 0: 0.85  (momentum at pct_start)            */
} fc_one_cycle_sched_opts;
/* fit_one_cycle's lr and momentum at pos. */
#define fc_one_cycle_lr(lr_max, pos, ...) \
    fc_one_cycle_lr_((lr_max), (pos), &(fc_one_cycle_sched_opts){._ = 0, __VA_ARGS__})
#define fc_one_cycle_mom(pos, ...) fc_one_cycle_mom_((pos), &(fc_one_cycle_sched_opts){._ = 0, __VA_ARGS__})
FC_API double fc_one_cycle_lr_(double lr_max, double pos, const fc_one_cycle_sched_opts *o);
FC_API double fc_one_cycle_mom_(double pos, const fc_one_cycle_sched_opts *o);
/* fit_flat_cos: lr flat until pct_start (<= 0: 0.75), then cosine to 0. */
FC_API double fc_flat_cos_lr(double lr, double pct_start, double pos);
/* fit_sgdr: n_cycles cosine cycles lr_max -> 0, the first cycle_len epochs long, each next
 * cycle_mult times longer; pos over the whole fit. fc_sgdr_n_epoch gives the fit's length. */
FC_API double fc_sgdr_lr(double lr_max, int n_cycles, int cycle_len, int cycle_mult, double pos);
FC_API int fc_sgdr_n_epoch(int n_cycles, int cycle_len, int cycle_mult);

/* ==== per-parameter weight decay (src/optim/optimizer.c: h-mixup) ===============================
 * fastai's per-parameter do_wd state: 0 exempts parameter p from weight decay (decoupled or L2)
 * whatever its group's wd; 1, the default, applies it. The Learner sets 0 on biases and
 * normalization layers' parameters unless .wd_bn_bias (fastai's wd_bn_bias=False). Not part of
 * the saved optimizer state (the Learner sets it again). FC_ERR_ARG when p is not one of opt's
 * parameters (the getter then returns -1). */
FC_API fc_status fc_optimizer_set_param_do_wd(fc_optimizer *opt, const fc_tensor *p, int do_wd);
FC_API int fc_optimizer_param_do_wd(const fc_optimizer *opt, const fc_tensor *p);

#ifdef __cplusplus
}
#endif
#endif
