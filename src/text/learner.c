/* fastai's language_model_learner and text_classifier_learner: the AWD-LSTM model sized from the
 * data's vocabulary, the rnn callbacks, the AWD-LSTM splitters, the LM's flattened loss and
 * metrics (accuracy and perplexity by default). */
#include <stdlib.h>
#include <string.h>

#include "../nn/nn_impl.h"
#include "tlearn_impl.h"

/* ---- finding the AWD_LSTM in a model ---- */

typedef struct {
    fc_module *found;
    char name[256];
} awd_search;

static void awd_visit(fc_module *m, const char *name, void *ctx) {
    awd_search *s = ctx;
    if (s->found || strcmp(fc_module_type(m), "AWD_LSTM") != 0) return;
    s->found = m;
    snprintf(s->name, sizeof s->name, "%s", name);
}

fc_module *fci_find_awd_lstm(fc_module *model, const char *who, const char **prefix) {
    static _Thread_local char buf[256];
    if (!model) return NULL;
    awd_search s = {0};
    fci_module_walk(model, awd_visit, &s);
    if (!s.found) {
        fc_fail(FC_ERR_ARG, "%s: expected a model holding an AWD_LSTM, found a %s without one", who,
                fc_module_type(model));
        return NULL;
    }
    memcpy(buf, s.name, sizeof buf);
    if (prefix) *prefix = buf;
    return s.found;
}

/* ---- splitters: fastai's awd_lstm_lm_split and awd_lstm_clas_split ----
 * Parameters are sorted by name: "<awd>.rnns.<l>.*" is LSTM layer l (with its hidden dropout, which
 * has none), the rest of the AWD_LSTM is the embedding (with its dropout), everything else is the
 * head (the LM's decoder: its weight is the tied embedding, listed once, so it falls with the
 * embedding; its bias joins it). A tensor listed twice is grouped once. */
enum { GROUP_EMB = -1, GROUP_HEAD = -2 };

static int group_of(const char *name, const char *prefix) {
    size_t lp = strlen(prefix);
    const char *rest = name;
    if (lp) {
        if (strncmp(name, prefix, lp) != 0 || name[lp] != '.') return GROUP_HEAD;
        rest = name + lp + 1;
    }
    if (strncmp(rest, "rnns.", 5) == 0) return atoi(rest + 5);
    return GROUP_EMB;
}

static fc_status awd_split(fc_module *model, fc_param_groups *groups, int clas) {
    const char *who = clas ? "awd_lstm_clas_split" : "awd_lstm_lm_split";
    const char *prefix = NULL;
    if (!fci_find_awd_lstm(model, who, &prefix)) return fc_error_code();
    char pre[256];
    snprintf(pre, sizeof pre, "%s", prefix);
    int n = fc_module_n_parameters(model), n_layers = 0;
    for (int i = 0; i < n; i++) {
        const char *name = NULL;
        fc_module_parameter(model, i, &name);
        int g = group_of(name, pre);
        if (g + 1 > n_layers) n_layers = g + 1;
    }
    /* group order: LM: rnn 0 .. L-1, embedding + head; classifier: embedding, rnn 0 .. L-1, head */
    int n_groups = clas ? n_layers + 2 : n_layers + 1;
    fc_tensor **ps = fci_calloc((size_t)(n ? n : 1), sizeof *ps);
    fc_tensor **seen = fci_calloc((size_t)(n ? n : 1), sizeof *seen);
    fc_status st = ps && seen ? FC_OK : fc_error_code();
    int n_seen = 0;
    for (int k = 0; k < n_groups && st == FC_OK; k++) {
        int np = 0;
        for (int i = 0; i < n; i++) {
            const char *name = NULL;
            fc_tensor *p = fc_module_parameter(model, i, &name);
            int g = group_of(name, pre), slot;
            if (clas) slot = g == GROUP_EMB ? 0 : g == GROUP_HEAD ? n_layers + 1 : g + 1;
            else slot = g >= 0 ? g : n_layers;
            if (slot != k) continue;
            int dup = 0;
            for (int j = 0; j < n_seen && !dup; j++) dup = seen[j] == p;
            if (dup) continue;
            seen[n_seen++] = p;
            ps[np++] = p;
        }
        st = fc_param_groups_add(groups, ps, np);
    }
    fci_free(seen);
    fci_free(ps);
    return st;
}

fc_status fci_awd_lstm_lm_split(fc_module *model, fc_param_groups *groups) { return awd_split(model, groups, 0); }
fc_status fci_awd_lstm_clas_split(fc_module *model, fc_param_groups *groups) { return awd_split(model, groups, 1); }

/* ---- the LM's loss: fastai's CrossEntropyLossFlat(axis=-1) on [B, T, V] logits ---- */

static fc_tensor *lm_ce_forward(const fc_loss_func *lf, fc_tensor *pred, fc_tensor *targ) {
    if (!pred || !targ) return NULL;
    int64_t v = fc_tensor_dim(pred, -1);
    return fc_cross_entropy(fc_reshape(pred, FC_SHAPE(-1, v)), fc_reshape(targ, FC_SHAPE(-1)),
                            .label_smoothing = lf->label_smoothing);
}
static fc_tensor *lm_softmax(const fc_loss_func *lf, fc_tensor *pred) { return fc_softmax(pred, -1); }
static fc_tensor *lm_argmax(const fc_loss_func *lf, fc_tensor *act) { return fc_argmax(act, -1, 0); }

static fc_loss_func lm_loss_func(void) {
    return (fc_loss_func){.name = "cross_entropy_flat", .forward = lm_ce_forward, .activation = lm_softmax,
                          .decodes = lm_argmax};
}

/* ---- LM metrics see [B * T, V] predictions and [B * T] targets (fastai's flatten_check) ---- */

static void flat_reset(void *state) { fc_metric_reset(state); }
static double flat_value(void *state) { return fc_metric_value(state); }
static void flat_free(void *state) { fc_metric_free(state); }
static fc_status flat_acc(void *state, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    if (pred && fc_tensor_ndim(pred) == 3) pred = fc_reshape(pred, FC_SHAPE(-1, fc_tensor_dim(pred, -1)));
    if (targ && fc_tensor_ndim(targ) == 2) targ = fc_reshape(targ, FC_SHAPE(-1));
    if (!pred || !targ) return fc_error_code();
    return fc_metric_accumulate(state, pred, targ, loss, bs);
}

/* Wraps m (taken) so it reads flattened LM batches; keeps its name and direction. */
static fc_metric *lm_flat_metric(fc_metric *m) {
    if (!m) return NULL;
    return fc_metric_new(&(fc_metric_def){.name = fc_metric_name(m), .lower_is_better = fc_metric_lower_is_better(m),
                                          .reset = flat_reset, .accumulate = flat_acc, .value = flat_value,
                                          .free_state = flat_free},
                         m);
}

/* ---- the learners ---- */

static void free_opts_lists(const fc_text_learner_opts *o) {
    for (int i = 0; i < o->metrics.n; i++) fc_metric_free(o->metrics.m[i]);
    for (int i = 0; i < o->cbs.n; i++) fc_callback_free(o->cbs.cb[i]);
}

static fc_status check_arch(const fc_text_learner_opts *o, const char *who) {
    if (o->arch && strcmp(o->arch, "awd_lstm") != 0)
        return fc_fail(FC_ERR_ARG, "%s: expected .arch \"awd_lstm\" (the only one), found \"%s\"", who, o->arch);
    if (o->drop_mult < 0) return fc_fail(FC_ERR_ARG, "%s: .drop_mult must be >= 0, found %g", who, o->drop_mult);
    return FC_OK;
}

/* The learner's callbacks: the user's, then rnn_cbs(alpha, beta) (fastai's TextLearner adds them). */
static fc_callbacks with_rnn_cbs(const fc_text_learner_opts *o, fc_callback **buf) {
    int n = 0;
    for (int i = 0; i < o->cbs.n; i++) buf[n++] = o->cbs.cb[i];
    buf[n++] = fci_model_resetter();
    double alpha = o->alpha == 0 ? 2 : o->alpha, beta = o->beta == 0 ? 1 : o->beta;
    if (alpha > 0 || beta > 0) buf[n++] = fci_rnn_regularizer(alpha, beta);
    return (fc_callbacks){n, buf};
}

static fc_learner *make_learner(fc_dataloaders *dls, fc_module *model, const fc_text_learner_opts *o,
                                fc_loss_func lf, fc_metrics metrics, fc_splitter split) {
    fc_callback **cbs = fci_calloc((size_t)o->cbs.n + 2, sizeof *cbs);
    if (!cbs) {
        for (int i = 0; i < metrics.n; i++) fc_metric_free(metrics.m[i]);
        for (int i = 0; i < o->cbs.n; i++) fc_callback_free(o->cbs.cb[i]);
        fc_module_free(model);
        fc_dataloaders_free(dls);
        return NULL;
    }
    fc_callbacks all = with_rnn_cbs(o, cbs);
    fc_learner *learn = fc_learner(dls, model, .loss_func = o->loss_func.forward ? o->loss_func : lf,
                                   .opt_func = o->opt_func, .lr = o->lr, .wd = o->wd, .no_wd = o->no_wd,
                                   .metrics = metrics, .cbs = all, .splitter = split, .quiet = o->quiet, .log = o->log,
                                   .mom_max = 0.8, .mom_min = 0.7); /* fastai's TextLearner moms (0.8, 0.7, 0.8) */
    fci_free(cbs);
    return learn;
}

/* fastai's awd_lstm_lm_config: the LM's embedding dropout is 0.02 (AWD_LSTM's own default 0.1). */
static fc_awd_lstm_opts lm_awd_opts(const fc_text_learner_opts *o) {
    fc_awd_lstm_opts a = o->awd;
    if (a.embed_p == 0) a.embed_p = 0.02;
    if (a.drop_mult == 0) a.drop_mult = o->drop_mult;
    return a;
}

/* LM weights: an encoder file goes into the AWD_LSTM (checked against the data's vocabulary), any
 * other file must hold the whole language model (fc_module_save's). */
static fc_status load_lm_weights(fc_module *model, const fc_vocab *vocab, const char *path) {
    if (fci_is_encoder_file(path)) {
        fc_module *awd = fci_find_awd_lstm(model, "language_model_learner", NULL);
        return awd ? fci_load_encoder_into(awd, vocab, path, "language_model_learner") : fc_error_code();
    }
    return fc_module_load(model, path);
}

fc_learner *fc_language_model_learner_(fc_dataloaders *dls, const fc_text_learner_opts *o) {
    fc_text_learner_opts z = {0};
    if (!o) o = &z;
    fc_status st = FC_OK;
    const fc_vocab *vocab = NULL;
    if (!dls) st = fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "language_model_learner: NULL dataloaders");
    if (st == FC_OK) st = check_arch(o, "language_model_learner");
    if (st == FC_OK && !(vocab = fc_text_dls_vocab(dls))) st = fc_error_code();
    fc_awd_lstm_opts awd = lm_awd_opts(o);
    fc_module *model = st == FC_OK ? fc_awd_lstm_lm_(fc_vocab_len(vocab), &awd) : NULL;
    if (model && o->pretrained && load_lm_weights(model, vocab, o->pretrained) != FC_OK) {
        fc_module_free(model);
        model = NULL;
    }
    if (!model) {
        free_opts_lists(o);
        fc_dataloaders_free(dls);
        return NULL;
    }
    /* LM metrics read flattened batches; none given: accuracy and perplexity (fastai's LMLearner) */
    int nm = o->metrics.n ? o->metrics.n : 2;
    fc_metric **ms = fci_calloc((size_t)nm, sizeof *ms);
    if (!ms) {
        free_opts_lists(o);
        fc_module_free(model);
        fc_dataloaders_free(dls);
        return NULL;
    }
    for (int i = 0; i < nm; i++) {
        fc_metric *m = o->metrics.n ? o->metrics.m[i] : i == 0 ? fc_accuracy() : fc_perplexity();
        ms[i] = lm_flat_metric(m);
    }
    int64_t vocab_sz = fc_vocab_len(vocab);
    fc_learner *learn = make_learner(dls, model, o, lm_loss_func(), (fc_metrics){nm, ms}, fci_awd_lstm_lm_split);
    fci_free(ms);
    if (learn && fci_text_record_app(learn, vocab_sz, 0, &awd, NULL) != FC_OK) { /* for export */
        fc_learner_free(learn);
        return NULL;
    }
    /* fastai freezes a pretrained LM (only the embedding and decoder train first) */
    if (learn && o->pretrained && fc_learner_freeze(learn) != FC_OK) {
        fc_learner_free(learn);
        return NULL;
    }
    return learn;
}

fc_learner *fc_text_classifier_learner_(fc_dataloaders *dls, const fc_text_learner_opts *o) {
    fc_text_learner_opts z = {0};
    if (!o) o = &z;
    fc_status st = FC_OK;
    const fc_vocab *vocab = NULL;
    if (!dls) st = fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "text_classifier_learner: NULL dataloaders");
    if (st == FC_OK) st = check_arch(o, "text_classifier_learner");
    if (st == FC_OK && !(vocab = fc_text_dls_vocab(dls))) st = fc_error_code();
    if (st == FC_OK && (!dls->vocab || dls->n_vocab < 2))
        st = fc_fail(FC_ERR_ARG, "text_classifier_learner: expected dataloaders with at least 2 label classes, found %lld",
                     (long long)(dls->vocab ? dls->n_vocab : 0));
    fc_module *model = NULL;
    fc_text_classifier_opts co = {.awd = o->awd, .seq_len = o->seq_len, .max_len = o->max_len,
                                  .lin_ftrs = o->lin_ftrs, .ps = o->ps};
    int64_t vocab_sz = 0, n_class = 0;
    if (st == FC_OK) {
        if (co.awd.drop_mult == 0) co.awd.drop_mult = o->drop_mult;
        vocab_sz = fc_vocab_len(vocab);
        n_class = dls->n_vocab;
        model = fc_text_classifier_model_(vocab_sz, n_class, &co);
    }
    if (model && o->pretrained) {
        fc_module *awd = fci_find_awd_lstm(model, "text_classifier_learner", NULL);
        if (!awd || fci_load_encoder_into(awd, vocab, o->pretrained, "text_classifier_learner") != FC_OK) {
            fc_module_free(model);
            model = NULL;
        }
    }
    if (!model) {
        free_opts_lists(o);
        fc_dataloaders_free(dls);
        return NULL;
    }
    fc_learner *learn = make_learner(dls, model, o, fc_cross_entropy_flat(0), o->metrics, fci_awd_lstm_clas_split);
    if (learn && fci_text_record_app(learn, vocab_sz, n_class, &co.awd, &co) != FC_OK) { /* for export */
        fc_learner_free(learn);
        return NULL;
    }
    /* fastai: a classifier on a pretrained encoder starts frozen (only the head trains) */
    if (learn && o->pretrained && fc_learner_freeze(learn) != FC_OK) {
        fc_learner_free(learn);
        return NULL;
    }
    return learn;
}
