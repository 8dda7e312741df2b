/* fastc learner: the training loop of fastai's Learner, extended by callbacks; losses, metrics,
 * fit / fit_one_cycle / fit_flat_cos / fit_sgdr / fine_tune, lr_find, layer groups and freezing,
 * checkpoints. The names, defaults and event order are fastai 2.7's. */
#ifndef FASTC_LEARNER_H
#define FASTC_LEARNER_H

#include <stdio.h>

#include "data.h"
#include "nn.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fc_learner fc_learner;

/* ---- losses ------------------------------------------------------------------------------------
 * A loss function with fastai's extras: the activation that turns raw predictions into what a user
 * reads (softmax, sigmoid) and decodes (argmax, threshold). Passed by value; zero fields default. */
typedef struct fc_loss_func {
    const char *name;
    fc_tensor *(*forward)(const struct fc_loss_func *lf, fc_tensor *pred, fc_tensor *targ);
    fc_tensor *(*activation)(const struct fc_loss_func *lf, fc_tensor *pred); /* NULL: identity */
    fc_tensor *(*decodes)(const struct fc_loss_func *lf, fc_tensor *act);     /* NULL: identity */
    double label_smoothing; /* cross entropy */
    double thresh;          /* bce decodes: 0 means 0.5 */
    void *ctx;              /* for a user's own loss */
} fc_loss_func;
/* CrossEntropyLossFlat (pred [N, C] or [N, C, ...], targ i64; softmax; argmax), optionally with
 * label smoothing (fastai's LabelSmoothingCrossEntropyFlat). */
FC_API fc_loss_func fc_cross_entropy_flat(double label_smoothing);
FC_API fc_loss_func fc_bce_with_logits_flat(double thresh); /* multi-label; sigmoid; > thresh */
FC_API fc_loss_func fc_mse_flat(void);
FC_API fc_loss_func fc_l1_flat(void);

/* ---- metrics -------------------------------------------------------------------------------------
 * Computed over the whole validation set (accumulate every batch, then value), never as a mean of
 * batch means. pred is the model's raw output, targ the target batch, loss the batch's mean loss,
 * bs its size. */
typedef struct fc_metric_def {
    const char *name;    /* column name in the progress table: "accuracy", "error_rate" */
    int lower_is_better; /* for trackers (EarlyStopping, SaveModel, ReduceLROnPlateau)   */
    void (*reset)(void *state);
    fc_status (*accumulate)(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs);
    double (*value)(void *state); /* NAN when nothing was accumulated */
    void (*free_state)(void *state);
} fc_metric_def;
typedef struct fc_metric fc_metric;
FC_API fc_metric *fc_metric_new(const fc_metric_def *def, void *state); /* takes state */
FC_API void fc_metric_free(fc_metric *m);
FC_API const char *fc_metric_name(const fc_metric *m);
FC_API int fc_metric_lower_is_better(const fc_metric *m);
FC_API void fc_metric_reset(fc_metric *m);
/* Fails with FC_ERR_SHAPE naming the metric and both shapes when pred and targ do not fit. */
FC_API fc_status fc_metric_accumulate(fc_metric *m, fc_tensor *pred, fc_tensor *targ, double loss,
                                      int64_t bs);
FC_API double fc_metric_value(fc_metric *m);

/* Built-in metrics (fastai's names). Classification takes pred [N, C] (any activation: argmax is
 * the same) and targ i64 [N]; multi-label pred [N, C] logits and targ [N, C] in {0, 1}; regression
 * pred and targ of the same numel. */
FC_API fc_metric *fc_accuracy(void);
FC_API fc_metric *fc_error_rate(void);
FC_API fc_metric *fc_top_k_accuracy(int k); /* 0: 5 */
typedef struct fc_accuracy_multi_opts {
    int _;
    double thresh;  /* 0: 0.5                                     */
    int no_sigmoid; /* 1: pred are probabilities already          */
} fc_accuracy_multi_opts;
FC_API fc_metric *fc_accuracy_multi_(const fc_accuracy_multi_opts *o);
#define fc_accuracy_multi(...) fc_accuracy_multi_(&(fc_accuracy_multi_opts){._ = 0, __VA_ARGS__})
typedef enum fc_average { FC_AVERAGE_BINARY = 0, FC_AVERAGE_MACRO = 1 } fc_average;
typedef struct fc_prf_opts {
    int _;
    fc_average average; /* binary (default, class pos_label) or macro over classes */
    int pos_label;      /* 0: class 1 is positive (sklearn's pos_label=1) */
    int has_pos_label;  /* 1: use pos_label as given (so that 0 can be chosen) */
} fc_prf_opts;
FC_API fc_metric *fc_precision_(const fc_prf_opts *o);
FC_API fc_metric *fc_recall_(const fc_prf_opts *o);
FC_API fc_metric *fc_f1_score_(const fc_prf_opts *o);
#define fc_precision(...) fc_precision_(&(fc_prf_opts){._ = 0, __VA_ARGS__})
#define fc_recall(...) fc_recall_(&(fc_prf_opts){._ = 0, __VA_ARGS__})
#define fc_f1_score(...) fc_f1_score_(&(fc_prf_opts){._ = 0, __VA_ARGS__})
FC_API fc_metric *fc_roc_auc_binary(void); /* pred [N, 2] (softmax of col 1) or [N] logits */
FC_API fc_metric *fc_mse(void);
FC_API fc_metric *fc_rmse(void);
FC_API fc_metric *fc_mae(void);
FC_API fc_metric *fc_r2_score(void);
FC_API fc_metric *fc_exp_rmspe(void); /* pred and targ are logs (Rossmann) */
FC_API fc_metric *fc_perplexity(void); /* exp of the mean loss over the set */

/* Lists, taken by what receives them: FC_METRICS(fc_accuracy(), fc_top_k_accuracy(3)). */
typedef struct fc_metrics {
    int n;
    fc_metric **m;
} fc_metrics;
#define FC_METRICS(...) \
    ((fc_metrics){(int)(sizeof((fc_metric *[]){__VA_ARGS__}) / sizeof(fc_metric *)), (fc_metric *[]){__VA_ARGS__}})

/* ---- events and callbacks ------------------------------------------------------------------------ */
typedef enum fc_event {
    FC_EVENT_AFTER_CREATE = 0,
    FC_EVENT_BEFORE_FIT,
    FC_EVENT_BEFORE_EPOCH,
    FC_EVENT_BEFORE_TRAIN,
    FC_EVENT_BEFORE_BATCH,
    FC_EVENT_AFTER_PRED,
    FC_EVENT_AFTER_LOSS,
    FC_EVENT_BEFORE_BACKWARD,
    FC_EVENT_AFTER_CANCEL_BACKWARD,
    FC_EVENT_AFTER_BACKWARD,
    FC_EVENT_BEFORE_STEP,
    FC_EVENT_AFTER_CANCEL_STEP,
    FC_EVENT_AFTER_STEP,
    FC_EVENT_AFTER_CANCEL_BATCH,
    FC_EVENT_AFTER_BATCH,
    FC_EVENT_AFTER_CANCEL_TRAIN,
    FC_EVENT_AFTER_TRAIN,
    FC_EVENT_BEFORE_VALIDATE,
    FC_EVENT_AFTER_CANCEL_VALIDATE,
    FC_EVENT_AFTER_VALIDATE,
    FC_EVENT_AFTER_CANCEL_EPOCH,
    FC_EVENT_AFTER_EPOCH,
    FC_EVENT_AFTER_CANCEL_FIT,
    FC_EVENT_AFTER_FIT,
    FC_EVENT_COUNT
} fc_event;
FC_API const char *fc_event_name(fc_event e); /* "after_loss" */

/* What a handler returns: go on, or cancel a phase (fastai's Cancel*Exception). To fail, call
 * fc_fail and return any value: the learner stops the fit and prefixes the message with
 * "in callback <name>, event <event>: ". */
enum {
    FC_CONTINUE = 0,
    FC_CANCEL_BACKWARD,
    FC_CANCEL_STEP,
    FC_CANCEL_BATCH,
    FC_CANCEL_TRAIN,
    FC_CANCEL_VALIDATE,
    FC_CANCEL_EPOCH,
    FC_CANCEL_FIT,
};
typedef int (*fc_cb_fn)(fc_learner *learn, void *state);

/* Orders of the built-in callbacks (lower runs first), as in fastai. */
enum {
    FC_ORDER_TRAIN_EVAL = -10,
    FC_ORDER_DEFAULT = 0,
    FC_ORDER_GRAD_ACCUM = 6,
    FC_ORDER_MIXED_PRECISION = 10,
    FC_ORDER_RECORDER = 50,
    FC_ORDER_TRACKER = 60, /* EarlyStopping, SaveModel, ReduceLROnPlateau, after the Recorder */
    FC_ORDER_PROGRESS = 70,
};

typedef struct fc_callback_def {
    const char *name;
    int order;
    int run_valid_off; /* 1: not called during validation (fastai's run_valid=False) */
    int run_train_off; /* 1: not called during training (run_train=False)           */
    void *state;
    void (*free_state)(void *state);
    fc_cb_fn after_create, before_fit, before_epoch, before_train, before_batch, after_pred,
        after_loss, before_backward, after_cancel_backward, after_backward, before_step,
        after_cancel_step, after_step, after_cancel_batch, after_batch, after_cancel_train,
        after_train, before_validate, after_cancel_validate, after_validate, after_cancel_epoch,
        after_epoch, after_cancel_fit, after_fit;
} fc_callback_def;
typedef struct fc_callback fc_callback;
/* A new callback from def (copied) owning def->state (taken, even on failure). */
FC_API fc_callback *fc_callback_new(const fc_callback_def *def);
FC_API void fc_callback_free(fc_callback *cb);
FC_API const char *fc_callback_name(const fc_callback *cb);
FC_API void *fc_callback_state(const fc_callback *cb);
typedef struct fc_callbacks {
    int n;
    fc_callback **cb;
} fc_callbacks;
#define FC_CALLBACKS(...) \
    ((fc_callbacks){(int)(sizeof((fc_callback *[]){__VA_ARGS__}) / sizeof(fc_callback *)), (fc_callback *[]){__VA_ARGS__}})

/* ---- the learner ------------------------------------------------------------------------------------ */

/* Makes the optimizer for the learner's parameter groups (taken). */
typedef fc_optimizer *(*fc_opt_func)(fc_param_groups *groups);
FC_API fc_optimizer *fc_opt_adam(fc_param_groups *g);   /* fastai Adam: .9/.99, eps 1e-5, true wd */
FC_API fc_optimizer *fc_opt_sgd(fc_param_groups *g);    /* fastai SGD: mom 0.9 (one-cycle moves it) */
FC_API fc_optimizer *fc_opt_rmsprop(fc_param_groups *g);
FC_API fc_optimizer *fc_opt_lamb(fc_param_groups *g);
FC_API fc_optimizer *fc_opt_ranger(fc_param_groups *g);
/* Splits a model into layer groups (body, head, ...) for discriminative lrs and freezing; writes
 * each group with fc_param_groups_add. NULL splitter: one group. */
typedef fc_status (*fc_splitter)(fc_module *model, fc_param_groups *groups);

typedef struct fc_learner_opts {
    int _;
    fc_loss_func loss_func; /* zero: fc_cross_entropy_flat(0)                               */
    fc_opt_func opt_func;   /* NULL: fc_opt_adam                                            */
    double lr;              /* 0: 1e-3 (fastai's defaults.lr)                               */
    double wd;              /* 0: 0.01 (true weight decay with Adam)                        */
    int no_wd;              /* 1: no weight decay                                            */
    int no_train_bn;        /* 1: frozen groups' BatchNorm parameters freeze too            */
    fc_metrics metrics;     /* taken                                                         */
    fc_callbacks cbs;       /* taken; added after the defaults (TrainEval, Recorder, Progress) */
    fc_splitter splitter;
    int quiet;              /* 1: no progress table or bar                                   */
    FILE *log;              /* where the progress table goes; NULL: stdout                   */
    int wd_bn_bias;         /* 1: weight decay on biases and normalization layers too (fastai's
                             * wd_bn_bias; default: they get none) (h-mixup)                 */
    double mom_max, mom_min; /* the learner's one-cycle momentums (fastai's Learner moms), used by
                              * fit_one_cycle and fine_tune when their .mom_max / .mom_min are 0;
                              * 0: 0.95 and 0.85 (the text learners set 0.8 and 0.7) (h-moms) */
} fc_learner_opts;
/* A learner training model (taken) on dls (taken), both even on failure. NULL on failure. */
FC_API fc_learner *fc_learner_new_(fc_dataloaders *dls, fc_module *model, const fc_learner_opts *o);
#define fc_learner(dls, model, ...) fc_learner_new_((dls), (model), &(fc_learner_opts){._ = 0, __VA_ARGS__})
FC_API void fc_learner_free(fc_learner *learn);
/* Adds a callback (taken) for all later fits; fails if one with the same name is there. */
FC_API fc_status fc_learner_add_cb(fc_learner *learn, fc_callback *cb);
/* The callback of that name (borrowed) or NULL; removing frees it. */
FC_API fc_callback *fc_learner_cb(const fc_learner *learn, const char *name);
FC_API fc_status fc_learner_remove_cb(fc_learner *learn, const char *name);

/* ---- learner state, read and written by callbacks (borrowed pointers, valid during the event) ---- */
FC_API fc_module *fc_learner_model(const fc_learner *learn);
FC_API fc_dataloaders *fc_learner_dls(const fc_learner *learn);
FC_API fc_optimizer *fc_learner_opt(const fc_learner *learn); /* NULL before the first fit */
FC_API const fc_loss_func *fc_learner_loss_func(const fc_learner *learn);
FC_API int fc_learner_training(const fc_learner *learn);  /* 1 in the training phase */
FC_API int fc_learner_epoch(const fc_learner *learn);
FC_API int fc_learner_n_epoch(const fc_learner *learn);
FC_API int64_t fc_learner_iter(const fc_learner *learn);      /* batch index within the phase */
FC_API int64_t fc_learner_n_iter(const fc_learner *learn);    /* batches in the phase         */
FC_API int64_t fc_learner_train_iter(const fc_learner *learn); /* training batches so far in the fit */
FC_API double fc_learner_pct_train(const fc_learner *learn);  /* [0, 1) through the fit       */
FC_API fc_tuple *fc_learner_batch(fc_learner *learn);        /* xb = v[0..n_inp), yb = the rest */
FC_API fc_tensor *fc_learner_xb(const fc_learner *learn, int i);
FC_API fc_tensor *fc_learner_yb(const fc_learner *learn, int i);
FC_API int64_t fc_learner_bs(const fc_learner *learn); /* items in the current batch (fastai find_bs) */
FC_API fc_tensor *fc_learner_pred(const fc_learner *learn);
FC_API void fc_learner_set_pred(fc_learner *learn, fc_tensor *pred); /* in the batch's scope */
/* loss_grad is what backward runs from; loss is its value for logging (fastai's two names). */
FC_API fc_tensor *fc_learner_loss_grad(const fc_learner *learn);
FC_API void fc_learner_set_loss_grad(fc_learner *learn, fc_tensor *loss_grad);
FC_API double fc_learner_loss(const fc_learner *learn);
FC_API void fc_learner_set_loss(fc_learner *learn, double loss);
FC_API double fc_learner_smooth_loss(const fc_learner *learn); /* fastai's beta 0.98 */
/* After an epoch's validation: the mean train and valid loss and the metrics' values. */
FC_API double fc_learner_train_loss(const fc_learner *learn);
FC_API double fc_learner_valid_loss(const fc_learner *learn);
FC_API int fc_learner_n_metrics(const fc_learner *learn);
FC_API fc_metric *fc_learner_metric(const fc_learner *learn, int i);
/* The value of "valid_loss", "train_loss" or a metric by name; NAN and FC_ERR_ARG if unknown. */
FC_API double fc_learner_monitor(const fc_learner *learn, const char *name);
/* Hyper-parameters of the optimizer's last group (what the progress bar shows) and setters for
 * every group (keeping the ratios of discriminative lrs). */
FC_API double fc_learner_lr(const fc_learner *learn);
FC_API double fc_learner_mom(const fc_learner *learn);
FC_API fc_status fc_learner_set_lr(fc_learner *learn, double lr);

/* ---- training ------------------------------------------------------------------------------------
 * Every fit creates the optimizer on first use (or after fc_learner_freeze/unfreeze changes the
 * groups) and runs: before_fit, per epoch (train, validate), after_fit. Returns FC_OK when the fit
 * ran or was cancelled by a callback (not an error), the error otherwise. Discriminative lrs:
 * .lr_lo > 0 spreads lrs geometrically from lr_lo (first group) to the lr (last group), fastai's
 * slice(lr_lo, lr). */
typedef struct fc_fit_opts {
    int _;
    double lr;        /* 0: the learner's lr */
    double lr_lo;
    double wd;        /* 0: the learner's wd */
    int no_wd;
    int start_epoch;  /* resume: skip the epochs before it (schedules continue where they were) */
    fc_callbacks cbs; /* for this fit only (taken) */
} fc_fit_opts;
FC_API fc_status fc_fit_(fc_learner *learn, int n_epoch, const fc_fit_opts *o);
#define fc_fit(learn, n_epoch, ...) fc_fit_((learn), (n_epoch), &(fc_fit_opts){._ = 0, __VA_ARGS__})

typedef struct fc_fit_one_cycle_opts {
    int _;
    double lr_max;    /* 0: the learner's lr                                   */
    double lr_lo;
    double div;       /* 0: 25                                                 */
    double div_final; /* 0: 1e5                                                */
    double pct_start; /* 0: 0.25                                               */
    double mom_max;   /* 0: the learner's (fc_learner_mom_max: 0.95, text 0.8) */
    double mom_min;   /* 0: the learner's (fc_learner_mom_min: 0.85, text 0.7) */
    double wd;
    int no_wd;
    int start_epoch;
    fc_callbacks cbs;
} fc_fit_one_cycle_opts;
FC_API fc_status fc_fit_one_cycle_(fc_learner *learn, int n_epoch, const fc_fit_one_cycle_opts *o);
#define fc_fit_one_cycle(learn, n_epoch, ...) \
    fc_fit_one_cycle_((learn), (n_epoch), &(fc_fit_one_cycle_opts){._ = 0, __VA_ARGS__})

typedef struct fc_fit_flat_cos_opts {
    int _;
    double lr;
    double lr_lo;
    double div_final; /* 0: 1e5  */
    double pct_start; /* 0: 0.75 */
    double wd;
    int no_wd;
    int start_epoch;
    fc_callbacks cbs;
} fc_fit_flat_cos_opts;
FC_API fc_status fc_fit_flat_cos_(fc_learner *learn, int n_epoch, const fc_fit_flat_cos_opts *o);
#define fc_fit_flat_cos(learn, n_epoch, ...) \
    fc_fit_flat_cos_((learn), (n_epoch), &(fc_fit_flat_cos_opts){._ = 0, __VA_ARGS__})

typedef struct fc_fit_sgdr_opts {
    int _;
    double lr_max;
    double lr_lo;
    int cycle_mult; /* 0: 2 */
    double wd;
    int no_wd;
    fc_callbacks cbs;
} fc_fit_sgdr_opts;
FC_API fc_status fc_fit_sgdr_(fc_learner *learn, int n_cycles, int cycle_len, const fc_fit_sgdr_opts *o);
#define fc_fit_sgdr(learn, n_cycles, cycle_len, ...) \
    fc_fit_sgdr_((learn), (n_cycles), (cycle_len), &(fc_fit_sgdr_opts){._ = 0, __VA_ARGS__})

/* fastai's fine_tune: freeze; fit_one_cycle(freeze_epochs, base_lr, pct_start 0.99); base_lr /= 2;
 * unfreeze; fit_one_cycle(epochs, lr_lo = base_lr/lr_mult, lr_max = base_lr, pct_start, div). Both
 * cycles use the learner's momentums (fc_learner_mom_max / fc_learner_mom_min). */
typedef struct fc_fine_tune_opts {
    int _;
    double base_lr;    /* 0: 2e-3 */
    int freeze_epochs; /* 0: 1 (use no_freeze for none) */
    int no_freeze;
    double lr_mult;    /* 0: 100  */
    double pct_start;  /* 0: 0.3  */
    double div;        /* 0: 5    */
    double wd;
    int no_wd;
    fc_callbacks cbs;
} fc_fine_tune_opts;
FC_API fc_status fc_fine_tune_(fc_learner *learn, int epochs, const fc_fine_tune_opts *o);
#define fc_fine_tune(learn, epochs, ...) \
    fc_fine_tune_((learn), (epochs), &(fc_fine_tune_opts){._ = 0, __VA_ARGS__})

/* Layer groups: freeze trains only the last group (BatchNorm parameters stay trainable unless
 * .no_train_bn); freeze_to(n) freezes the first n groups (negative counts from the end). */
FC_API fc_status fc_learner_freeze(fc_learner *learn);
FC_API fc_status fc_learner_freeze_to(fc_learner *learn, int n);
FC_API fc_status fc_learner_unfreeze(fc_learner *learn);
FC_API int fc_learner_n_groups(const fc_learner *learn);

/* Validation loss and metrics over dl (NULL: the valid loader) without training; writes the loss
 * to *loss and metric i's value to values[i] (values may be NULL). */
FC_API fc_status fc_learner_validate(fc_learner *learn, fc_dataloader *dl, double *loss, double *values);
/* Predictions over dl (NULL: valid) in order: activated predictions [N, ...], targets and, if
 * asked, decoded predictions; new tensors outside any scope (you free them; pointers may be NULL). */
FC_API fc_status fc_learner_get_preds(fc_learner *learn, fc_dataloader *dl, fc_tensor **preds,
                                      fc_tensor **targs, fc_tensor **decoded);

/* ---- lr_find ---- */
typedef struct fc_lr_find_opts {
    int _;
    double start_lr;      /* 0: 1e-7 */
    double end_lr;        /* 0: 10   */
    int num_it;           /* 0: 100  */
    int no_stop_div;      /* 1: do not stop when the loss exceeds 4x the minimum */
    const char *plot_path; /* non-NULL: the loss vs lr plot is written there (PNG) */
} fc_lr_find_opts;
typedef struct fc_lr_suggestions {
    double valley, minimum, steep; /* fastai's SuggestionMethod.Valley, Minimum (min / 10), Steep */
    int n;                         /* points recorded */
} fc_lr_suggestions;
/* Exponential sweep from start_lr to end_lr on training batches, smoothed loss; the weights, the
 * optimizer state and MixedPrecision's f16 loss scaler (scale, growth tracker) are restored
 * afterwards. */
FC_API fc_status fc_lr_find_(fc_learner *learn, fc_lr_suggestions *out, const fc_lr_find_opts *o);
#define fc_lr_find(learn, out, ...) fc_lr_find_((learn), (out), &(fc_lr_find_opts){._ = 0, __VA_ARGS__})

/* ---- the recorder (the callback named "Recorder", always present) ---- */
FC_API int64_t fc_recorder_n_batches(const fc_learner *learn);  /* training batches of the last fit */
FC_API const double *fc_recorder_losses(const fc_learner *learn); /* smoothed, per batch */
FC_API const double *fc_recorder_lrs(const fc_learner *learn);
FC_API const double *fc_recorder_moms(const fc_learner *learn);
/* Per epoch: values[epoch * n_cols + col], cols: train_loss, valid_loss, the metrics. */
FC_API int fc_recorder_n_epochs(const fc_learner *learn);
FC_API int fc_recorder_n_cols(const fc_learner *learn);
FC_API const char *fc_recorder_col_name(const fc_learner *learn, int col);
FC_API const double *fc_recorder_values(const fc_learner *learn);
/* Training (per batch) and validation (per epoch) losses as a PNG. */
FC_API fc_status fc_recorder_plot_loss(const fc_learner *learn, const char *path);

/* ---- checkpoints ----
 * One file (atomic write): model weights, optimizer state, epoch, the RNG state; loading checks
 * everything first and leaves the learner unchanged on a truncated, corrupt or mismatched file. */
FC_API fc_status fc_learner_save(fc_learner *learn, const char *path);
FC_API fc_status fc_learner_load(fc_learner *learn, const char *path);
FC_API int fc_learner_saved_epoch(const fc_learner *learn); /* epochs done in the loaded file */

/* ---- callbacks shipped with fastc (each takes its options; names as in fastai) ---- */
typedef struct fc_grad_accum_opts { int _; int64_t n_acc; /* 0: 32 */ } fc_grad_accum_opts;
FC_API fc_callback *fc_gradient_accumulation_(const fc_grad_accum_opts *o);
#define fc_gradient_accumulation(...) fc_gradient_accumulation_(&(fc_grad_accum_opts){._ = 0, __VA_ARGS__})

typedef struct fc_grad_clip_opts { int _; double max_norm; /* 0: 1 */ } fc_grad_clip_opts;
FC_API fc_callback *fc_gradient_clip_(const fc_grad_clip_opts *o);
#define fc_gradient_clip(...) fc_gradient_clip_(&(fc_grad_clip_opts){._ = 0, __VA_ARGS__})

typedef struct fc_tracker_opts {
    int _;
    const char *monitor; /* NULL: "valid_loss" */
    double min_delta;
    int patience;        /* 0: 1 (EarlyStopping), 0: 1 (ReduceLROnPlateau) */
    double factor;       /* ReduceLROnPlateau: 0: 10 (lr /= factor) */
    double min_lr;       /* ReduceLROnPlateau */
    const char *fname;   /* SaveModel: NULL: "model.fcm" */
    int every_epoch;     /* SaveModel: 1: save every epoch */
    int at_end_load_off; /* SaveModel: 1: do not load the best weights after the fit */
} fc_tracker_opts;
FC_API fc_callback *fc_early_stopping_(const fc_tracker_opts *o);
FC_API fc_callback *fc_save_model_(const fc_tracker_opts *o);
FC_API fc_callback *fc_reduce_lr_on_plateau_(const fc_tracker_opts *o);
#define fc_early_stopping(...) fc_early_stopping_(&(fc_tracker_opts){._ = 0, __VA_ARGS__})
#define fc_save_model(...) fc_save_model_(&(fc_tracker_opts){._ = 0, __VA_ARGS__})
#define fc_reduce_lr_on_plateau(...) fc_reduce_lr_on_plateau_(&(fc_tracker_opts){._ = 0, __VA_ARGS__})

FC_API fc_callback *fc_terminate_on_nan(void);
typedef struct fc_csv_logger_opts { int _; const char *fname; /* NULL: "history.csv" */ int append; } fc_csv_logger_opts;
FC_API fc_callback *fc_csv_logger_(const fc_csv_logger_opts *o);
#define fc_csv_logger(...) fc_csv_logger_(&(fc_csv_logger_opts){._ = 0, __VA_ARGS__})

typedef struct fc_mixed_precision_opts {
    int _;
    fc_dtype dtype;        /* 0 (f32) means bf16; or FC_DTYPE_F16 (dynamic loss scaling)   */
    double init_scale;     /* f16: 0: 65536                                                 */
    int growth_interval;   /* f16: 0: 2000 steps without overflow double the scale           */
} fc_mixed_precision_opts;
FC_API fc_callback *fc_mixed_precision_(const fc_mixed_precision_opts *o);
#define fc_mixed_precision(...) fc_mixed_precision_(&(fc_mixed_precision_opts){._ = 0, __VA_ARGS__})

/* ---- show_results (src/learner/show_results.c) (section added by h-plot) ---- */
typedef struct fc_show_results_opts {
    int _;
    int max_n;         /* 0: 9 items                                              */
    int ncols;         /* image grids; 0: ceil(sqrt(n))                           */
    fc_dataloader *dl; /* NULL: the valid loader; it must not shuffle             */
    FILE *out;         /* non-image items with a NULL path are printed here; NULL: stdout */
} fc_show_results_opts;
/* The first batch of dl with the model's decoded predictions (fc_learner_get_preds) beside the
 * targets: images as a PNG grid at path titled "target\nprediction", green when right and red when
 * wrong (category and multi-category targets); other kinds as a text table with target and
 * prediction columns, to path or .out. Names come from the dataloaders' vocab. */
FC_API fc_status fc_show_results_(fc_learner *learn, const char *path, const fc_show_results_opts *o);
#define fc_show_results(learn, path, ...) \
    fc_show_results_((learn), (path), &(fc_show_results_opts){._ = 0, __VA_ARGS__})

/* ---- added by the mixed precision work (h-amp) ---- */
/* The loss scale of a MixedPrecision callback (f16: GradScaler.get_scale(); 1 for bf16 or a cb
 * that is not MixedPrecision's). Autocast itself is fc_autocast_begin/end in ops.h. */
FC_API double fc_mixed_precision_scale(const fc_callback *cb);


/* ==== interpretation, TTA and predict (src/learner/interpret.c, tta.c, predict_item.c: h-vinterp) ===
 * fastai's ClassificationInterpretation: predictions, targets and per-item losses of a loader
 * (the learner's loss function on each item: fastai's reduction='none'). */
typedef struct fc_interp fc_interp;
/* Runs the model over dl (NULL: the valid loader; it must not shuffle). NULL on failure. */
FC_API fc_interp *fc_interp_from_learner(fc_learner *learn, fc_dataloader *dl);
FC_API void fc_interp_free(fc_interp *in);
FC_API int64_t fc_interp_n(const fc_interp *in);           /* items                        */
FC_API const fc_tensor *fc_interp_preds(const fc_interp *in);  /* activated [N, C] (borrowed) */
FC_API const fc_tensor *fc_interp_targs(const fc_interp *in);  /* [N] i64 (borrowed)          */
FC_API const float *fc_interp_losses(const fc_interp *in);     /* [N]                         */
/* Confusion matrix cm[actual * n + predicted] (borrowed) over the n classes (*n_classes). */
FC_API const int64_t *fc_interp_confusion_matrix(const fc_interp *in, int64_t *n_classes);
typedef struct fc_interp_plot_opts {
    int _;
    int normalize;      /* confusion matrix: rows divided by their totals                    */
    const char *title;  /* NULL: "Confusion matrix"                                          */
    int ncols;          /* top losses grid; 0: ceil(sqrt(k))                                 */
} fc_interp_plot_opts;
/* The matrix as a PNG (class names from the dataloaders' vocab) and as aligned text. */
FC_API fc_status fc_interp_plot_confusion_matrix_(fc_interp *in, const char *path, const fc_interp_plot_opts *o);
#define fc_interp_plot_confusion_matrix(in, path, ...) \
    fc_interp_plot_confusion_matrix_((in), (path), &(fc_interp_plot_opts){._ = 0, __VA_ARGS__})
FC_API fc_status fc_interp_print_confusion_matrix(const fc_interp *in, FILE *f);
typedef struct fc_confusion {
    const char *actual, *predicted; /* vocab names (borrowed) */
    int64_t count;
} fc_confusion;
/* fastai's most_confused(min_val): off-diagonal cells with count >= min_val (0: 1), largest first
 * (ties by actual then predicted class); writes up to max_out and returns how many there are. */
FC_API int64_t fc_interp_most_confused(const fc_interp *in, int64_t min_val, fc_confusion *out, int64_t max_out);
/* The k largest losses (largest first) and their item indices; returns how many were written. */
FC_API int64_t fc_interp_top_losses(const fc_interp *in, int64_t k, float *losses, int64_t *idx);
/* fastai's plot_top_losses: the k worst items as a PNG grid titled "pred/actual/loss/probability". */
FC_API fc_status fc_interp_plot_top_losses_(fc_interp *in, int64_t k, const char *path, const fc_interp_plot_opts *o);
#define fc_interp_plot_top_losses(in, k, path, ...) \
    fc_interp_plot_top_losses_((in), (k), (path), &(fc_interp_plot_opts){._ = 0, __VA_ARGS__})

typedef struct fc_tta_opts {
    int _;
    fc_dataloader *dl; /* NULL: the valid loader                                            */
    int n;             /* 0: 4 augmented passes                                              */
    double beta;       /* 0: 0.25 — result = lerp(mean of augmented, plain, beta); negative: 0 */
    int use_max;       /* 1: element-wise max of the augmented and plain predictions         */
} fc_tta_opts;
/* fastai's learn.tta: predictions of dl with its training-time transforms (pass i seeded as epoch
 * i), averaged, blended with the plain predictions. New tensors outside any scope (you free them;
 * targs may be NULL). */
FC_API fc_status fc_tta_(fc_learner *learn, fc_tensor **preds, fc_tensor **targs, const fc_tta_opts *o);
#define fc_tta(learn, preds, targs, ...) fc_tta_((learn), (preds), (targs), &(fc_tta_opts){._ = 0, __VA_ARGS__})

typedef struct fc_prediction {
    char label[256];    /* the decoded prediction ("7", "cat;dog", "2.5")                    */
    int64_t index;      /* the class index (single-label), else -1                           */
    fc_tensor *probs;   /* activated output [C] (outside any scope; free with fc_prediction_free) */
} fc_prediction;
FC_API void fc_prediction_free(fc_prediction *p);
/* fastai's learn.predict(item): item is what the data's source would name (an image path) and goes
 * through the valid loader's getters and transforms, one batch of one, the model in eval mode. */
FC_API fc_status fc_learner_predict(fc_learner *learn, const char *item, fc_prediction *out);
/* -- added by h-vinterp: an fc_interp borrows its learner and loader (free it before them); the
 * decoded predictions (argmax of the activated ones, [N], borrowed) and class c's name (the vocab's
 * when it names every class, else the number; borrowed; NULL out of range). */
FC_API const int64_t *fc_interp_decoded(const fc_interp *in);
FC_API const char *fc_interp_class_name(const fc_interp *in, int64_t c);

/* ==== MixUp and CutMix (src/callbacks/mixup.c: h-mixup) ============================================
 * Training batches only: mix each input with a shuffled partner of the same batch and the loss as
 * lerp(loss(pred, y_partner), loss(pred, y), lam); validation is untouched. fastai's semantics:
 * MixUp draws lam ~ Beta(alpha, alpha) per item and keeps max(lam, 1 - lam); CutMix draws one lam
 * ~ Beta(alpha, alpha) per batch, pastes a box of area (1 - lam) of the partner and sets lam to the
 * box's exact share. */
typedef struct fc_mixup_opts { int _; double alpha; /* 0: 0.4 (MixUp), 1 (CutMix) */ } fc_mixup_opts;
FC_API fc_callback *fc_mixup_(const fc_mixup_opts *o);
FC_API fc_callback *fc_cutmix_(const fc_mixup_opts *o);
#define fc_mixup(...) fc_mixup_(&(fc_mixup_opts){._ = 0, __VA_ARGS__})
#define fc_cutmix(...) fc_cutmix_(&(fc_mixup_opts){._ = 0, __VA_ARGS__})

/* ==== replacing the data (main) ==== */
/* Gives the learner new dataloaders (taken; the old ones are freed): progressive resizing between
 * fits without rebuilding the learner (fastai's learn.dls = ...). Not during a fit. */
FC_API fc_status fc_learner_set_dls(fc_learner *learn, fc_dataloaders *dls);

/* ==== shared by the applications' models (main) ==== */
/* An output range for fastai's SigmoidRange (y_range): sigmoid(x) * (hi - lo) + lo. */
typedef struct fc_y_range {
    double lo, hi; /* lo == hi (the zero value): no range */
} fc_y_range;

/* ==== export and inference (h-export) ===============================================================
 * (src/learner/export.c) An exported learner is ONE file: the 8 bytes "FASTCLRN", the format
 * version (u32 little-endian), 4 zero bytes, the metadata's length n (u64 little-endian), n bytes of
 * JSON metadata (fastc's version, the application and the config it needs to rebuild the model,
 * the inference data pipeline, the loss), then the weights in safetensors layout to the end. */
#define FC_EXPORT_VERSION 1
/* An application that can rebuild its learners from exported files (fastai's load_learner needs the
 * Python classes; here each application registers how to rebuild from its own config). */
typedef struct fc_app {
    const char *name; /* "vision"; what fc_learner_set_app records */
    /* The model (fresh weights) from the config JSON text the application recorded. */
    fc_module *(*build_model)(const char *config_json);
    /* Optional, for data that is not a Datasets subset (tabular procs, a text vocabulary): the
     * inference pipeline as JSON and the dataloaders stand-in rebuilt from it. NULL: the generic
     * fc_dataloaders_pipeline_json / fc_dataloaders_from_pipeline_json. */
    char *(*data_to_json)(fc_learner *learn);
    fc_dataloaders *(*data_from_json)(const char *json);
    /* Optional: checks a loaded learner's data against its config (vocabulary and class counts
     * against the embedding and output sizes), so a file whose parts disagree fails at load. */
    fc_status (*check)(fc_learner *learn);
} fc_app;
/* Registers app (copied; its name must stay valid) or replaces the one of the same name. Register at
 * start-up, before threads. "vision" registers itself (fc_vision_register in vision.h). */
FC_API fc_status fc_register_app(const fc_app *app);
/* The registered application of that name (borrowed), or NULL with FC_ERR_UNSUPPORTED. */
FC_API const fc_app *fc_app_by_name(const char *name);
/* Records what export saves to rebuild the model: the application's name and its config (a JSON
 * object text; both copied). The *_learner constructors call it. */
FC_API fc_status fc_learner_set_app(fc_learner *learn, const char *app, const char *config_json);
FC_API const char *fc_learner_app(const fc_learner *learn);        /* NULL when none was set */
FC_API const char *fc_learner_app_config(const fc_learner *learn); /* NULL when none was set */
/* fastai's learn.export(path): weights, model config, inference pipeline and loss in one file,
 * written atomically (temporary file, fsync, rename). Fails (FC_ERR_STATE / FC_ERR_UNSUPPORTED,
 * nothing written) for a learner without an application, a loss without a name that load knows, or
 * a pipeline that cannot be saved. */
FC_API fc_status fc_learner_export(fc_learner *learn, const char *path);
/* fastai's load_learner(path): a new learner (eval mode) whose dataloaders are a stand-in holding
 * only the inference pipeline, ready for fc_learner_predict(learn, "img.png", ...) and for
 * fc_learner_get_preds over fc_dataloader_test_dl(fc_learner_dls(learn)->valid, files, n). NULL
 * with an error naming the file: FC_ERR_IO (cannot open), FC_ERR_FORMAT (wrong magic, truncated,
 * bad metadata, weights that do not match the model: a missing or extra tensor, a wrong shape),
 * FC_ERR_UNSUPPORTED (a newer version, an application, architecture or transform this program does
 * not have). */
FC_API fc_learner *fc_load_learner(const char *path);
/* The metadata of an exported file as a new JSON text (free() it), checked as fc_load_learner checks
 * the header (magic, version, length); the weights are not read. For `fastc info`. */
FC_API char *fc_export_metadata(const char *path);

/* ==== the learner's one-cycle momentums (src/learner/learner.c: h-moms) =============================
 * fastai's Learner(moms=(0.95, 0.85, 0.95)): fit_one_cycle and fine_tune cycle the momentum (Adam's
 * beta1) from mom_max down to mom_min at pct_start and back, taking the learner's pair when their own
 * .mom_max / .mom_min are 0 (an explicit field wins, each on its own). Every learner starts with
 * fc_learner_opts' .mom_max / .mom_min (0: 0.95 and 0.85) except fc_language_model_learner and
 * fc_text_classifier_learner, which start with fastai's TextLearner moms (0.8, 0.7, 0.8). The
 * setter changes them for later fits (FC_ERR_ARG unless both are in (0, 1)); fc_fit,
 * fc_fit_flat_cos and fc_fit_sgdr leave the momentum alone. A learner from fc_load_learner has the
 * defaults (0.95, 0.85). */
FC_API double fc_learner_mom_max(const fc_learner *learn); /* NAN for NULL */
FC_API double fc_learner_mom_min(const fc_learner *learn);
FC_API fc_status fc_learner_set_moms(fc_learner *learn, double mom_max, double mom_min);

#ifdef __cplusplus
}
#endif
#endif
