/* fastai's tabular_learner: embedding sizes from the data (emb_sz_rule), TabularModel, the loss
 * from the target (CrossEntropyLossFlat or MSELossFlat), one layer group. */
#include <stdlib.h>

#include "tabular_impl.h"

fc_learner *fc_tabular_learner_(fc_dataloaders *dls, const fc_tabular_learner_opts *o) {
    fc_tabular *t = dls ? fc_tabular_of_dls(dls) : NULL;
    if (!t) {
        fc_dataloaders_free(dls);
        return NULL;
    }
    int n_cat = t->n_cat;
    int64_t *card = calloc((size_t)n_cat + 1, sizeof *card), *dim = calloc((size_t)n_cat + 1, sizeof *dim);
    if (!card || !dim) {
        free(card);
        free(dim);
        fc_dataloaders_free(dls);
        fc_fail(FC_ERR_NOMEM, "tabular_learner: out of memory");
        return NULL;
    }
    for (int j = 0; j < n_cat; j++) {
        card[j] = t->vocab[j].n;
        dim[j] = fc_emb_sz_rule(card[j]);
    }
    int64_t n_out = o->n_out ? o->n_out : t->regression ? 1 : t->y_vocab.n;
    fc_module *model = fc_tabular_model(card, dim, n_cat, t->n_cont, n_out, .layers = o->layers, .ps = o->ps,
                                        .embed_p = o->embed_p, .y_range = o->y_range, .no_bn = o->no_bn,
                                        .bn_final = o->bn_final, .no_bn_cont = o->no_bn_cont);
    if (!model) {
        free(card);
        free(dim);
        fc_dataloaders_free(dls);
        return NULL;
    }
    int64_t n_cont = t->n_cont;
    fc_loss_func lf = o->loss_func.forward ? o->loss_func : t->regression ? fc_mse_flat() : fc_cross_entropy_flat(0);
    fc_learner *learn = fc_learner(dls, model, .loss_func = lf, .opt_func = o->opt_func, .lr = o->lr, .wd = o->wd,
                                   .no_wd = o->no_wd, .metrics = o->metrics, .cbs = o->cbs, .quiet = o->quiet,
                                   .log = o->log);
    if (learn && fci_tabular_record_app(learn, card, dim, n_cat, n_cont, n_out, o) != FC_OK) { /* for export */
        fc_learner_free(learn);
        learn = NULL;
    }
    free(card);
    free(dim);
    return learn;
}
