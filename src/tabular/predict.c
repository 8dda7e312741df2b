/* fastai's learn.predict(row) for tabular data: the row's raw text through the table's fitted procs,
 * a batch of one, the model in eval mode without gradients, the loss function's activation and
 * decodes, the class named by the target's vocabulary. */
#include <string.h>

#include "tabular_impl.h"

/* values[k] of the column called name, or fail naming it. */
static fc_status value_of(const char *name, const char *const *names, const char *const *values, int n,
                          const char **out) {
    for (int k = 0; k < n; k++)
        if (names[k] && !strcmp(names[k], name)) {
            *out = values[k] && *values[k] ? values[k] : NULL;
            return FC_OK;
        }
    return fc_fail(FC_ERR_ARG, "tabular_predict: the row has no column '%s' (give it, with NULL or \"\" when "
                   "missing)", name);
}

static fc_status run(fc_learner *learn, const fc_tabular *t, fc_tensor *x, fc_prediction *out) {
    const fc_loss_func *lf = fc_learner_loss_func(learn);
    fc_tensor *pred = fc_module_forward(fc_learner_model(learn), x);
    fc_tensor *act = pred && lf->activation ? lf->activation(lf, pred) : pred;
    fc_tensor *dec = act && lf->decodes ? lf->decodes(lf, act) : act;
    if (!dec) return fc_error_code();
    fc_tensor *probs = fc_contiguous(fc_reshape(act, FC_SHAPE(-1)));
    if (!probs) return fc_error_code();
    if (t->regression || fc_dtype_is_float(fc_tensor_dtype(dec))) {
        snprintf(out->label, sizeof out->label, "%g", fc_tensor_get(dec, 0));
    } else {
        out->index = (int64_t)fc_tensor_get(dec, 0);
        snprintf(out->label, sizeof out->label, "%s", fci_tab_cat_label(t, -1, out->index));
    }
    out->probs = fc_keep(fc_clone(probs));
    return out->probs ? FC_OK : fc_error_code();
}

fc_status fc_tabular_predict(fc_learner *learn, const char *const *names, const char *const *values, int n,
                             fc_prediction *out) {
    if (out) *out = (fc_prediction){.index = -1};
    if (!learn || !out || (n > 0 && (!names || !values)) || n < 0)
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "tabular_predict: NULL argument");
    fc_tabular *t = fc_tabular_of_dls(fc_learner_dls(learn));
    if (!t) return fc_error_code();
    const char *cat_text[t->n_user_cat + 1], *cont_text[t->n_cont + 1];
    fc_status st = FC_OK;
    for (int j = 0; j < t->n_user_cat && st == FC_OK; j++) st = value_of(t->cat_names[j], names, values, n, &cat_text[j]);
    for (int j = 0; j < t->n_cont && st == FC_OK; j++) st = value_of(t->cont_names[j], names, values, n, &cont_text[j]);
    if (st != FC_OK) return st;
    fc_module *model = fc_learner_model(learn);
    int was_training = fc_module_is_training(model);
    fc_scope *s = fc_scope_begin();
    fc_tensor *x = fc_empty(FC_SHAPE(1, t->n_cat + t->n_cont));
    st = x ? fci_tab_process_row(t, cat_text, cont_text, fc_tensor_data_f32(x), "predict") : fc_error_code();
    if (st == FC_OK) {
        fc_module_eval(model);
        fc_no_grad_begin();
        st = run(learn, t, x, out);
        fc_no_grad_end();
        fc_module_train(model, was_training);
    }
    fc_scope_end(s);
    if (st != FC_OK) {
        fc_prediction_free(out);
        *out = (fc_prediction){.index = -1};
    }
    return st;
}
