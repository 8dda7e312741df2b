/* learner internals shared by src/learner and src/callbacks (never installed). */
#ifndef FASTC_LEARNER_IMPL_H
#define FASTC_LEARNER_IMPL_H

#include <stdint.h>

#include "fastc/cuda.h"
#include "fastc/learner.h"

struct fc_callback {
    fc_callback_def def;
    char *name;                    /* copied from def */
    fc_cb_fn fn[FC_EVENT_COUNT];   /* def's handlers indexed by event */
};

/* The hyper-parameter schedule of one fit (fastai's ParamScheduler), run as the internal
 * callback "ParamScheduler" before each training batch. */
typedef enum fci_sched_kind {
    FCI_SCHED_ONE_CYCLE = 1,
    FCI_SCHED_FLAT_COS,
    FCI_SCHED_SGDR,
    FCI_SCHED_EXP, /* lr_find: start * (end / start)^(train_iter / num_it) */
} fci_sched_kind;
typedef struct fci_sched {
    fci_sched_kind kind;
    int n_groups;
    double *lr;      /* per group: lr_max (one cycle, sgdr), lr (flat cos), start (exp) */
    double *lr_end;  /* exp: per group end */
    double div, div_final, pct_start, mom_max, mom_min;
    int n_cycles, cycle_len, cycle_mult;
    int64_t num_it;  /* exp */
} fci_sched;

struct fc_learner {
    fc_dataloaders *dls;
    fc_module *model;
    fc_loss_func loss_func;
    fc_opt_func opt_func;
    double lr, wd;
    double mom_max, mom_min; /* fit_one_cycle's when its opts give 0 (fastai's Learner.moms) */
    int no_wd, no_train_bn, quiet, wd_bn_bias;
    FILE *log;
    fc_splitter splitter;
    fc_metric **metrics;
    int n_metrics;
    fc_callback **cbs; /* the learner's callbacks, sorted by order (stable) */
    int n_cbs;
    fc_callback **run; /* the callbacks of the running fit: cbs + the fit's own, sorted */
    int n_run;

    fc_optimizer *opt;
    int n_groups;   /* what the splitter makes */
    int frozen_idx; /* groups [0, frozen_idx) are frozen */

    /* the loop's state (fastai's Learner attributes) */
    int in_fit;
    int training;
    int no_logging; /* lr_find, validate, get_preds: no progress table, no recorded epochs */
    int epoch, n_epoch, epochs_done, saved_epoch;
    int64_t iter, n_iter, train_iter;
    double pct_train;
    fc_dataloader *dl;
    fc_tuple batch;
    int has_batch;
    fc_tensor *pred, *loss_grad;
    double loss, smooth_loss, train_loss, valid_loss;
    double *metric_values; /* n_metrics, the last validation's */
    char *app, *app_config; /* export (h-export): fc_learner_set_app's copies */
};

/* Runs event e on the running callbacks: FC_CONTINUE, a cancel code, or a negative status (the
 * callback failed; its message is prefixed with its name and the event). */
int fci_learner_event(fc_learner *learn, fc_event e);
/* Creates the optimizer if there is none (splitter, opt_func, lr, wd, freezing). */
fc_status fci_learner_ensure_opt(fc_learner *learn);
/* Sets lr on every group: lrs[n_groups] when given, else lr (one value). */
fc_status fci_learner_set_lrs(fc_learner *learn, const double *lrs, double lr);
/* Writes group lrs for fastai's slice(lr_lo, lr) (lr_lo > 0: geometric) or slice(lr) when
 * slice_stop_only (all but the last group lr / 10), else lr everywhere. */
void fci_lr_range(int n_groups, double lr_lo, double lr, int slice_stop_only, double *out);
/* A fit with an optional schedule (copied) and the fit's extra callbacks (taken). */
fc_status fci_fit(fc_learner *learn, int n_epoch, int start_epoch, double wd, int no_wd,
                  const fci_sched *sched, fc_callbacks cbs);
/* The validation phase over dl with the running callbacks (no grad): a cancel code or status. */
int fci_do_validate(fc_learner *learn, fc_dataloader *dl);
/* The validation phase alone over dl (NULL: valid) with the learner's callbacks and extra (may be
 * NULL; borrowed), no logging; fn names the caller in messages (validate, get_preds, interp). */
fc_status fci_run_valid(fc_learner *learn, fc_dataloader *dl, fc_callback *extra, const char *fn);
/* t itself on the host; a host copy (in the current scope) of a tensor on a device. get_preds,
 * interp and predict hand the host their outputs, as fastai's get_preds does (to_detach(cpu=True)):
 * device memory does not grow with the loader, and their consumers read host memory. */
static inline fc_tensor *fci_on_host(fc_tensor *t) {
    return t && fc_tensor_device(t).type != FC_DEVICE_CPU ? fc_tensor_to(t, FC_CPU) : t;
}
/* Applies frozen_idx to the parameters' requires_grad (BatchNorm/LayerNorm stay trainable unless
 * no_train_bn). */
fc_status fci_learner_apply_freeze(fc_learner *learn);
/* fastai's wd_bn_bias=False: biases and normalization layers' parameters (BatchNorm*,
 * InstanceNorm*, LayerNorm, GroupNorm) get do_wd 0 in the optimizer unless learn->wd_bn_bias. */
fc_status fci_learner_apply_wd_bn_bias(fc_learner *learn);
/* The optimizer's parameters and their groups (the innermost optimizer of a Lookahead). */
int fci_opt_n_params(const fc_optimizer *opt);
fc_tensor *fci_opt_param(const fc_optimizer *opt, int i, int *group);

/* In-memory snapshots (checkpoint.c): weights, optimizer state, epoch and (optionally) the global
 * RNG, as the bytes of a checkpoint file. apply validates everything before changing anything. */
fc_status fci_learner_snapshot(fc_learner *learn, unsigned char **data, size_t *n);
fc_status fci_learner_restore(fc_learner *learn, const unsigned char *data, size_t n,
                              const char *name, int restore_rng);

/* Built-in callbacks (src/callbacks). */
fc_callback *fci_train_eval_new(void);
fc_callback *fci_recorder_new(void);
fc_callback *fci_progress_new(void);
fc_callback *fci_param_scheduler_new(const fci_sched *s); /* copies s */

/* Data-parallel (distributed.c, h-mpi): this process's rank, 0 when not distributed; only rank 0
 * writes files (checkpoints, export, CSV logs). fc_distributed_init installs the hook, so a
 * program that never starts the distributed backend does not link it (NULL: rank 0). */
extern int (*fci_dist_rank_hook)(void);
static inline int fci_dist_rank(void) { return fci_dist_rank_hook ? fci_dist_rank_hook() : 0; }

/* ---- what only a learner that trains links (learner_train.c) ----
 * The inference-only program (examples/predict_min.c: fc_load_learner + predict) links neither the
 * optimizers nor the training callbacks. learner_train.c holds the public constructor, the default
 * optimizer (NULL opt_func: fc_opt_adam, resolved in fci_learner_ensure_opt) and the optimizer
 * accessors; every training entry point reaches it (fit, lr_find, freeze, checkpoints, validate and
 * get_preds through fit.c), and at start-up it installs these hooks:
 *   defaults: adds fastai's default callbacks (TrainEval, Recorder, ProgressBar) to a new learner,
 *             before the user's, and counts the splitter's groups; NULL (nothing of training
 *             linked): a learner without them (fc_load_learner's never has a splitter);
 *   opt_free: frees learn->opt (only learner_train.c makes one). */
extern fc_status (*fci_learner_defaults_hook)(fc_learner *learn);
extern void (*fci_learner_opt_free_hook)(fc_optimizer *opt);
/* The constructor behind fc_learner_new_ and fc_load_learner: o->opt_func is kept as given (NULL
 * stays NULL), the default callbacks come from the hook. */
fc_learner *fci_learner_new(fc_dataloaders *dls, fc_module *model, const fc_learner_opts *o);

/* Sorted insertion into a callback list (stable by order). */
fc_status fci_cb_list_insert(fc_callback ***list, int *n, fc_callback *cb);

/* ---- export (h-export: export.c) ----
 * While fc_load_learner has an application build a model: the bytes of weights the file holds
 * (UINT64_MAX otherwise); check_size fails (FC_ERR_FORMAT, naming who) when a config asks for more
 * than n_floats f32 parameters can fit, before anything that large is allocated. */
uint64_t fci_export_weight_budget(void);
fc_status fci_export_check_size(const char *who, double n_floats);

#endif
