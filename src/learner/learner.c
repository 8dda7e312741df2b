/* The learner: construction, callbacks and the state accessors callbacks read and write. What only
 * training needs (fastai's default callbacks, the optimizer, the public constructor) is in
 * learner_train.c, so that an inference-only program does not link it. */
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "../core/core_impl.h"
#include "learner_impl.h"

static void free_list(fc_callbacks cbs) {
    for (int i = 0; i < cbs.n; i++) fc_callback_free(cbs.cb[i]);
}

static void free_metrics(fc_metrics m) {
    for (int i = 0; i < m.n; i++) fc_metric_free(m.m[i]);
}

fc_status (*fci_learner_defaults_hook)(fc_learner *learn);
void (*fci_learner_opt_free_hook)(fc_optimizer *opt);
int (*fci_dist_rank_hook)(void);

fc_learner *fci_learner_new(fc_dataloaders *dls, fc_module *model, const fc_learner_opts *o) {
    fc_learner *learn = NULL;
    if (!dls || !model || !o) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "learner: NULL dataloaders, model or opts");
        goto fail;
    }
    if (o->lr < 0 || o->wd < 0 || !isfinite(o->lr) || !isfinite(o->wd)) {
        fc_fail(FC_ERR_ARG, "learner: .lr and .wd must be >= 0, found %g and %g", o->lr, o->wd);
        goto fail;
    }
    if (!(o->mom_max >= 0 && o->mom_max < 1 && o->mom_min >= 0 && o->mom_min < 1)) {
        fc_fail(FC_ERR_ARG, "learner: .mom_max and .mom_min must be in [0, 1), found %g and %g", o->mom_max, o->mom_min);
        goto fail;
    }
    if (!dls->train) {
        fc_fail(FC_ERR_ARG, "learner: the dataloaders have no train loader");
        goto fail;
    }
    learn = fci_calloc(1, sizeof *learn);
    if (!learn) goto fail;
    learn->dls = dls;
    learn->model = model;
    dls = NULL;
    model = NULL;
    learn->loss_func = o->loss_func.forward ? o->loss_func : fc_cross_entropy_flat(0);
    learn->opt_func = o->opt_func; /* NULL: fc_opt_adam, when the optimizer is made */
    learn->lr = o->lr > 0 ? o->lr : 1e-3;
    learn->wd = o->wd > 0 ? o->wd : 0.01;
    learn->mom_max = o->mom_max > 0 ? o->mom_max : 0.95;
    learn->mom_min = o->mom_min > 0 ? o->mom_min : 0.85;
    learn->no_wd = o->no_wd;
    learn->no_train_bn = o->no_train_bn;
    learn->wd_bn_bias = o->wd_bn_bias;
    learn->quiet = o->quiet;
    learn->log = o->log ? o->log : stdout;
    learn->splitter = o->splitter;
    learn->n_groups = 1; /* a splitter's count: learner_train.c */
    learn->n_epoch = 1;
    learn->saved_epoch = -1;
    learn->train_loss = learn->valid_loss = learn->smooth_loss = learn->loss = NAN;
    if (o->metrics.n > 0) {
        learn->metrics = fci_calloc((size_t)o->metrics.n, sizeof *learn->metrics);
        learn->metric_values = fci_calloc((size_t)o->metrics.n, sizeof(double));
        if (!learn->metrics || !learn->metric_values) goto fail;
        for (int i = 0; i < o->metrics.n; i++) {
            learn->metrics[i] = o->metrics.m[i];
            learn->metric_values[i] = NAN;
            if (!learn->metrics[i] && fc_error_code() == FC_OK)
                fc_fail(FC_ERR_ARG, "learner: metric %d is NULL", i);
        }
        learn->n_metrics = o->metrics.n;
        if (fc_error_code() != FC_OK) goto fail_taken;
    }
    /* fastai's default callbacks and the splitter's group count (learner_train.c) */
    if (fci_learner_defaults_hook && fci_learner_defaults_hook(learn) != FC_OK) goto fail_taken_cbs;
    for (int i = 0; i < o->cbs.n; i++) {
        fc_callback *cb = o->cbs.cb[i];
        fc_status st = cb ? fc_learner_add_cb(learn, cb) : fc_fail(FC_ERR_ARG, "learner: callback %d is NULL", i);
        if (st != FC_OK) { /* add_cb freed cb */
            for (int j = i + 1; j < o->cbs.n; j++) fc_callback_free(o->cbs.cb[j]);
            goto fail_learn;
        }
    }
    learn->run = learn->cbs;
    learn->n_run = learn->n_cbs;
    int r = fci_learner_event(learn, FC_EVENT_AFTER_CREATE);
    learn->run = NULL;
    learn->n_run = 0;
    if (r < 0) goto fail_learn;
    return learn;

fail:
    free_metrics(o ? o->metrics : (fc_metrics){0});
fail_taken:
    free_list(o ? o->cbs : (fc_callbacks){0});
    if (learn) {
        fc_dataloaders_free(learn->dls);
        fc_module_free(learn->model);
        for (int i = 0; i < learn->n_metrics; i++) fc_metric_free(learn->metrics[i]);
        fci_free(learn->metrics);
        fci_free(learn->metric_values);
        for (int i = 0; i < learn->n_cbs; i++) fc_callback_free(learn->cbs[i]);
        fci_free(learn->cbs);
        fci_free(learn);
    }
    fc_dataloaders_free(dls);
    fc_module_free(model);
    return NULL;
fail_taken_cbs:
    free_list(o->cbs);
fail_learn:
    fc_learner_free(learn);
    return NULL;
}

void fc_learner_free(fc_learner *learn) {
    if (!learn) return;
    for (int i = 0; i < learn->n_cbs; i++) fc_callback_free(learn->cbs[i]);
    fci_free(learn->cbs);
    for (int i = 0; i < learn->n_metrics; i++) fc_metric_free(learn->metrics[i]);
    fci_free(learn->metrics);
    fci_free(learn->metric_values);
    if (learn->opt && fci_learner_opt_free_hook) fci_learner_opt_free_hook(learn->opt);
    fc_module_free(learn->model);
    fc_dataloaders_free(learn->dls);
    free(learn->app);
    free(learn->app_config);
    fci_free(learn);
}

fc_status fc_learner_add_cb(fc_learner *learn, fc_callback *cb) {
    if (!learn || !cb) {
        fc_callback_free(cb);
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "learner_add_cb: NULL learner or callback");
    }
    if (fc_learner_cb(learn, cb->name)) {
        fc_status st = fc_fail(FC_ERR_ARG, "learner_add_cb: a callback named '%s' is already there", cb->name);
        fc_callback_free(cb);
        return st;
    }
    if (learn->in_fit) {
        fc_callback_free(cb);
        return fc_fail(FC_ERR_STATE, "learner_add_cb: cannot add '%s' during a fit", cb->name);
    }
    fc_status st = fci_cb_list_insert(&learn->cbs, &learn->n_cbs, cb);
    if (st != FC_OK) fc_callback_free(cb);
    return st;
}

fc_callback *fc_learner_cb(const fc_learner *learn, const char *name) {
    if (!learn || !name) return NULL;
    for (int i = 0; i < learn->n_cbs; i++)
        if (strcmp(learn->cbs[i]->name, name) == 0) return learn->cbs[i];
    for (int i = 0; i < learn->n_run; i++) /* the running fit's own callbacks */
        if (strcmp(learn->run[i]->name, name) == 0) return learn->run[i];
    return NULL;
}

fc_status fc_learner_remove_cb(fc_learner *learn, const char *name) {
    if (!learn || !name) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "learner_remove_cb: NULL");
    if (learn->in_fit) return fc_fail(FC_ERR_STATE, "learner_remove_cb: cannot remove '%s' during a fit", name);
    for (int i = 0; i < learn->n_cbs; i++) {
        if (strcmp(learn->cbs[i]->name, name) != 0) continue;
        fc_callback_free(learn->cbs[i]);
        memmove(learn->cbs + i, learn->cbs + i + 1, (size_t)(learn->n_cbs - i - 1) * sizeof *learn->cbs);
        learn->n_cbs--;
        return FC_OK;
    }
    return fc_fail(FC_ERR_ARG, "learner_remove_cb: no callback named '%s'", name);
}

void fci_lr_range(int n, double lr_lo, double lr, int slice_stop_only, double *out) {
    for (int i = 0; i < n; i++) {
        if (lr_lo > 0 && n > 1) /* fastai's even_mults: geometric from lr_lo to lr */
            out[i] = lr_lo * pow(lr / lr_lo, (double)i / (n - 1));
        else if (slice_stop_only && i < n - 1)
            out[i] = lr / 10;
        else
            out[i] = lr;
    }
}

/* ---- state accessors ---- */

fc_module *fc_learner_model(const fc_learner *l) { return l ? l->model : NULL; }
fc_dataloaders *fc_learner_dls(const fc_learner *l) { return l ? l->dls : NULL; }
fc_optimizer *fc_learner_opt(const fc_learner *l) { return l ? l->opt : NULL; }
const fc_loss_func *fc_learner_loss_func(const fc_learner *l) { return l ? &l->loss_func : NULL; }
int fc_learner_training(const fc_learner *l) { return l ? l->training : 0; }
int fc_learner_epoch(const fc_learner *l) { return l ? l->epoch : 0; }
int fc_learner_n_epoch(const fc_learner *l) { return l ? l->n_epoch : 0; }
int64_t fc_learner_iter(const fc_learner *l) { return l ? l->iter : 0; }
int64_t fc_learner_n_iter(const fc_learner *l) { return l ? l->n_iter : 0; }
int64_t fc_learner_train_iter(const fc_learner *l) { return l ? l->train_iter : 0; }
double fc_learner_pct_train(const fc_learner *l) { return l ? l->pct_train : 0; }
fc_tuple *fc_learner_batch(fc_learner *l) { return l && l->has_batch ? &l->batch : NULL; }

fc_tensor *fc_learner_xb(const fc_learner *l, int i) {
    if (!l || !l->has_batch || i < 0 || i >= l->batch.n_inp) return NULL;
    return l->batch.v[i].t;
}

fc_tensor *fc_learner_yb(const fc_learner *l, int i) {
    if (!l || !l->has_batch || i < 0 || l->batch.n_inp + i >= l->batch.n) return NULL;
    return l->batch.v[l->batch.n_inp + i].t;
}

int64_t fc_learner_bs(const fc_learner *l) {
    if (!l || !l->has_batch || l->batch.n == 0) return 0;
    const fc_value *v = &l->batch.v[l->batch.n > l->batch.n_inp ? l->batch.n_inp : 0];
    if (v->t) return fc_tensor_ndim(v->t) > 0 ? fc_tensor_dim(v->t, 0) : 1;
    return v->n_list;
}

fc_tensor *fc_learner_pred(const fc_learner *l) { return l ? l->pred : NULL; }
void fc_learner_set_pred(fc_learner *l, fc_tensor *pred) {
    if (l) l->pred = pred;
}
fc_tensor *fc_learner_loss_grad(const fc_learner *l) { return l ? l->loss_grad : NULL; }
void fc_learner_set_loss_grad(fc_learner *l, fc_tensor *g) {
    if (l) l->loss_grad = g;
}
double fc_learner_loss(const fc_learner *l) { return l ? l->loss : NAN; }
void fc_learner_set_loss(fc_learner *l, double loss) {
    if (l) l->loss = loss;
}
double fc_learner_smooth_loss(const fc_learner *l) { return l ? l->smooth_loss : NAN; }
double fc_learner_train_loss(const fc_learner *l) { return l ? l->train_loss : NAN; }
double fc_learner_valid_loss(const fc_learner *l) { return l ? l->valid_loss : NAN; }
int fc_learner_n_metrics(const fc_learner *l) { return l ? l->n_metrics : 0; }
fc_metric *fc_learner_metric(const fc_learner *l, int i) {
    return l && i >= 0 && i < l->n_metrics ? l->metrics[i] : NULL;
}

double fc_learner_monitor(const fc_learner *l, const char *name) {
    if (!l || !name) {
        fc_fail(FC_ERR_ARG, "learner_monitor: NULL learner or name");
        return NAN;
    }
    if (strcmp(name, "valid_loss") == 0) return l->valid_loss;
    if (strcmp(name, "train_loss") == 0) return l->train_loss;
    for (int i = 0; i < l->n_metrics; i++)
        if (strcmp(fc_metric_name(l->metrics[i]), name) == 0) return l->metric_values[i];
    fc_fail(FC_ERR_ARG, "learner_monitor: expected 'train_loss', 'valid_loss' or a metric's name, found '%s'", name);
    return NAN;
}

double fc_learner_mom_max(const fc_learner *l) { return l ? l->mom_max : NAN; }
double fc_learner_mom_min(const fc_learner *l) { return l ? l->mom_min : NAN; }

fc_status fc_learner_set_moms(fc_learner *l, double mom_max, double mom_min) {
    if (!l) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "learner_set_moms: NULL learner");
    if (!(mom_max > 0 && mom_max < 1 && mom_min > 0 && mom_min < 1))
        return fc_fail(FC_ERR_ARG, "learner_set_moms: mom_max and mom_min must be in (0, 1), found %g and %g", mom_max,
                       mom_min);
    l->mom_max = mom_max;
    l->mom_min = mom_min;
    return FC_OK;
}

int fc_learner_saved_epoch(const fc_learner *l) { return l ? l->saved_epoch : -1; }

fc_status fc_learner_set_dls(fc_learner *learn, fc_dataloaders *dls) {
    if (!learn || !dls) {
        fc_dataloaders_free(dls);
        return fc_error_code() != FC_OK ? fc_error_code()
                                        : fc_fail(FC_ERR_ARG, "learner_set_dls: NULL %s", learn ? "dataloaders" : "learner");
    }
    if (learn->in_fit) {
        fc_dataloaders_free(dls);
        return fc_fail(FC_ERR_STATE, "learner_set_dls: cannot replace the data during a fit");
    }
    fc_dataloaders_free(learn->dls);
    learn->dls = dls;
    return FC_OK;
}
