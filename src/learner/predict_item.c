/* fastai's learn.predict(item): one source item (an image path) through the valid loader's getters,
 * item pipelines and batch transforms as a batch of one (dls.test_dl([item])), the model in eval
 * mode without gradients, the loss function's activation and decodes; the decoded prediction is
 * named through the dataloaders' vocab as show_results names it. */
#include <stdio.h>
#include <string.h>

#include "../core/core_impl.h"
#include "learner_impl.h"

void fc_prediction_free(fc_prediction *p) {
    if (!p) return;
    fc_tensor_free(p->probs);
    p->probs = NULL;
}

/* Row 0 of the decoded batch as a label: a class index by its vocab name, a multi-label row as the
 * names present ("a;b"), anything else as its numbers. */
static fc_status describe(const fc_learner *learn, fc_tensor *dec, fc_prediction *out) {
    const fc_dataloaders *dls = learn->dls;
    fc_show_opts so = {.vocab = dls ? dls->vocab : NULL, .n_vocab = dls && dls->vocab ? dls->n_vocab : 0};
    fc_tensor *row = fc_tensor_ndim(dec) >= 1 ? fc_select(dec, 0, 0) : fc_tensor_ref(dec);
    if (!row) return fc_error_code();
    int64_t k = fc_tensor_numel(row);
    const fc_kind *kind = fc_kind_tensor;
    if (k == 1 && !fc_dtype_is_float(fc_tensor_dtype(row))) {
        out->index = (int64_t)fc_tensor_get(row, 0);
        kind = fc_kind_category;
    } else if (so.vocab && k == so.n_vocab && !fc_dtype_is_float(fc_tensor_dtype(row))) {
        kind = fc_kind_multi_category; /* a thresholded multi-label row */
    }
    fc_value v = fc_value_tensor(kind, row);
    fc_show_value_str(&v, &so, out->label, sizeof out->label);
    fc_value_free(&v);
    return FC_OK;
}

static fc_status run_model(fc_learner *learn, fc_tensor *x, fc_prediction *out) {
    const fc_loss_func *lf = &learn->loss_func;
    fc_tensor *pred = fc_module_forward(learn->model, x);
    fc_tensor *act = pred && lf->activation ? lf->activation(lf, pred) : pred;
    fc_tensor *dec = act && lf->decodes ? lf->decodes(lf, act) : act;
    if (!dec) return fc_error_code() != FC_OK ? fc_error_code() : FCI_INTERNAL("predict: the model gave nothing");
    /* The answer is read and returned on the host, whatever device the model runs on. */
    fc_tensor *act_h = fci_on_host(act);
    dec = dec == act ? act_h : fci_on_host(dec);
    act = act_h;
    if (!act || !dec) return fc_error_code();
    if (fc_tensor_ndim(act) < 1 || fc_tensor_dim(act, 0) != 1)
        return fc_fail(FC_ERR_SHAPE, "predict: expected the model's output for a batch of one [1, ...], found %s",
                       fci_tshape(act));
    fc_tensor *probs = fc_contiguous(fc_select(act, 0, 0));
    if (probs && fc_tensor_dtype(probs) != FC_DTYPE_F32) probs = fc_to_dtype(probs, FC_DTYPE_F32);
    if (!probs) return fc_error_code();
    fc_status st = describe(learn, dec, out);
    if (st == FC_OK) out->probs = fc_keep(fc_clone(probs)); /* its own storage, outside the scope */
    return st == FC_OK && !out->probs ? fc_error_code() : st;
}

fc_status fc_learner_predict(fc_learner *learn, const char *item, fc_prediction *out) {
    if (out) *out = (fc_prediction){.index = -1};
    if (!learn || !item || !out)
        return fc_error_code() != FC_OK ? fc_error_code()
                                        : fc_fail(FC_ERR_ARG, "predict: NULL %s", !learn ? "learner" : !item ? "item" : "out");
    if (learn->in_fit) return fc_fail(FC_ERR_STATE, "predict: cannot run during a fit");
    fc_dataloader *dl = learn->dls ? learn->dls->valid : NULL;
    if (!dl) return fc_fail(FC_ERR_ARG, "predict: the dataloaders have no valid loader");
    fc_tuple batch = {0};
    fc_status st = fc_dataloader_batch_from_text(dl, item, &batch);
    if (st != FC_OK) {
        fci_error_prefix("predict: item '%s': ", item);
        return st;
    }
    if (batch.n_inp != 1 || !batch.v[0].t) {
        st = fc_fail(FC_ERR_UNSUPPORTED, "predict: expected an item with one tensor input, found %d inputs%s", batch.n_inp,
                     batch.n_inp >= 1 && !batch.v[0].t ? " (a list value)" : "");
        fc_tuple_free(&batch);
        return st;
    }
    int was_training = fc_module_is_training(learn->model);
    fc_module_eval(learn->model);
    fc_scope *s = fc_scope_begin();
    fc_no_grad_begin();
    st = s ? run_model(learn, batch.v[0].t, out) : fc_error_code();
    fc_no_grad_end();
    fc_scope_end(s);
    fc_module_train(learn->model, was_training);
    fc_tuple_free(&batch);
    if (st != FC_OK) {
        fc_prediction_free(out);
        *out = (fc_prediction){.index = -1};
    }
    return st;
}
