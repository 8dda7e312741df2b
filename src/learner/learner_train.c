/* What only a learner that trains needs, apart from the loop (fit.c): fastai's default callbacks
 * (TrainEval, Recorder, ProgressBar), the optimizer made on first use (NULL opt_func: fastai's
 * Adam) and its accessors, and the public constructor. fc_load_learner builds its learner with
 * fci_learner_new (learner.c), so a program that only loads and predicts never reaches this file
 * and links no optimizer or training callback (bench/RESULTS.md, fastc_predict_min.map). Every
 * program that trains does reach it (fit, lr_find, freeze, checkpoints, validate and get_preds all
 * make or read the optimizer): its start-up hook then gives every learner, a loaded one too, the
 * default callbacks at construction, as before the split. */
#include <math.h>

#include "../core/core_impl.h"
#include "learner_impl.h"

static fc_status count_groups(fc_learner *learn) {
    if (!learn->splitter) {
        learn->n_groups = 1;
        return FC_OK;
    }
    fc_param_groups *g = fc_param_groups_new();
    if (!g) return fc_error_code();
    fc_status st = learn->splitter(learn->model, g);
    if (st == FC_OK && fc_error_code() != FC_OK) st = fc_error_code();
    int n = fc_param_groups_n(g);
    fc_param_groups_free(g);
    if (st != FC_OK) return fci_error_prefix("learner: the splitter failed: ");
    if (n < 1) return fc_fail(FC_ERR_ARG, "learner: the splitter made no parameter group");
    learn->n_groups = n;
    return FC_OK;
}

/* What a new learner gets before the user's callbacks: fastai's defaults, and its group count. */
static fc_status add_defaults(fc_learner *learn) {
    fc_callback *defaults[3] = {fci_train_eval_new(), fci_recorder_new(), fci_progress_new()};
    for (int i = 0; i < 3; i++) {
        if (defaults[i] && fci_cb_list_insert(&learn->cbs, &learn->n_cbs, defaults[i]) == FC_OK) continue;
        for (int j = i; j < 3; j++) fc_callback_free(defaults[j]);
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_NOMEM, "learner: the default callbacks");
    }
    return count_groups(learn);
}

__attribute__((constructor)) static void install_hooks(void) {
    fci_learner_defaults_hook = add_defaults;
    fci_learner_opt_free_hook = fc_optimizer_free;
}

fc_learner *fc_learner_new_(fc_dataloaders *dls, fc_module *model, const fc_learner_opts *o) {
    return fci_learner_new(dls, model, o);
}

/* ---- the optimizer ---- */

fc_status fci_learner_ensure_opt(fc_learner *learn) {
    if (learn->opt) return FC_OK;
    fc_param_groups *g;
    if (learn->splitter) {
        g = fc_param_groups_new();
        if (!g) return fc_error_code();
        fc_status st = learn->splitter(learn->model, g);
        if (st == FC_OK && fc_error_code() != FC_OK) st = fc_error_code();
        if (st != FC_OK) {
            fc_param_groups_free(g);
            return fci_error_prefix("learner: the splitter failed: ");
        }
    } else {
        g = fc_params_of(learn->model);
        if (!g) return fc_error_code();
    }
    fc_optimizer *opt = (learn->opt_func ? learn->opt_func : fc_opt_adam)(g);
    if (!opt) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "learner: opt_func returned NULL");
    learn->opt = opt;
    learn->n_groups = fc_optimizer_n_groups(opt);
    fc_status st = fci_learner_set_lrs(learn, NULL, learn->lr);
    for (int i = 0; i < learn->n_groups && st == FC_OK; i++)
        st = fc_optimizer_set_wd(opt, i, learn->no_wd ? 0 : learn->wd);
    if (st == FC_OK) st = fci_learner_apply_wd_bn_bias(learn);
    if (st == FC_OK) st = fci_learner_apply_freeze(learn);
    if (st != FC_OK) {
        fc_optimizer_free(opt);
        learn->opt = NULL;
    }
    return st;
}

fc_status fci_learner_set_lrs(fc_learner *learn, const double *lrs, double lr) {
    fc_status st = FC_OK;
    for (int i = 0; i < learn->n_groups && st == FC_OK; i++)
        st = fc_optimizer_set_lr(learn->opt, i, lrs ? lrs[i] : lr);
    return st;
}

/* ---- the optimizer's accessors ---- */

double fc_learner_lr(const fc_learner *l) {
    if (!l) return NAN;
    return l->opt ? fc_optimizer_lr(l->opt, l->n_groups - 1) : l->lr;
}

double fc_learner_mom(const fc_learner *l) {
    return l && l->opt ? fc_optimizer_mom(l->opt, l->n_groups - 1) : NAN;
}

fc_status fc_learner_set_lr(fc_learner *l, double lr) {
    if (!l) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "learner_set_lr: NULL learner");
    if (!(lr > 0) || !isfinite(lr)) return fc_fail(FC_ERR_ARG, "learner_set_lr: lr must be > 0, found %g", lr);
    if (!l->opt) {
        l->lr = lr;
        return FC_OK;
    }
    double last = fc_optimizer_lr(l->opt, l->n_groups - 1);
    fc_status st = FC_OK;
    for (int i = 0; i < l->n_groups && st == FC_OK; i++) {
        double gi = fc_optimizer_lr(l->opt, i);
        st = fc_optimizer_set_lr(l->opt, i, last > 0 ? gi * lr / last : lr);
    }
    return st;
}
