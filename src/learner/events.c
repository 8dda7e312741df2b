/* Events and callbacks: names, construction, the sorted lists and the dispatch of one event
 * (fastai's Learner.__call__ / Callback.__call__). */
#include <stddef.h>
#include <string.h>

#include "../core/core_impl.h"
#include "learner_impl.h"

static const char *const event_names[FC_EVENT_COUNT] = {
    "after_create", "before_fit", "before_epoch", "before_train", "before_batch", "after_pred",
    "after_loss", "before_backward", "after_cancel_backward", "after_backward", "before_step",
    "after_cancel_step", "after_step", "after_cancel_batch", "after_batch", "after_cancel_train",
    "after_train", "before_validate", "after_cancel_validate", "after_validate",
    "after_cancel_epoch", "after_epoch", "after_cancel_fit", "after_fit",
};

const char *fc_event_name(fc_event e) {
    return (int)e >= 0 && e < FC_EVENT_COUNT ? event_names[e] : "unknown_event";
}

/* fastai's _inner_loop: only these events honour run_train / run_valid. */
static int inner_loop(fc_event e) {
    return e >= FC_EVENT_BEFORE_BATCH && e <= FC_EVENT_AFTER_BATCH;
}

fc_callback *fc_callback_new(const fc_callback_def *def) {
    if (!def) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "callback_new: NULL def");
        return NULL;
    }
    fc_callback *cb = fci_calloc(1, sizeof *cb);
    const char *name = def->name ? def->name : "callback";
    char *nm = fci_calloc(strlen(name) + 1, 1);
    if (!cb || !nm) {
        if (def->free_state) def->free_state(def->state);
        fci_free(cb);
        fci_free(nm);
        return NULL;
    }
    memcpy(nm, name, strlen(name) + 1);
    cb->def = *def;
    cb->name = nm;
    cb->def.name = nm;
    const fc_cb_fn fns[FC_EVENT_COUNT] = {
        def->after_create, def->before_fit, def->before_epoch, def->before_train,
        def->before_batch, def->after_pred, def->after_loss, def->before_backward,
        def->after_cancel_backward, def->after_backward, def->before_step, def->after_cancel_step,
        def->after_step, def->after_cancel_batch, def->after_batch, def->after_cancel_train,
        def->after_train, def->before_validate, def->after_cancel_validate, def->after_validate,
        def->after_cancel_epoch, def->after_epoch, def->after_cancel_fit, def->after_fit,
    };
    memcpy(cb->fn, fns, sizeof fns);
    return cb;
}

void fc_callback_free(fc_callback *cb) {
    if (!cb) return;
    if (cb->def.free_state) cb->def.free_state(cb->def.state);
    fci_free(cb->name);
    fci_free(cb);
}

const char *fc_callback_name(const fc_callback *cb) { return cb ? cb->name : NULL; }
void *fc_callback_state(const fc_callback *cb) { return cb ? cb->def.state : NULL; }

fc_status fci_cb_list_insert(fc_callback ***list, int *n, fc_callback *cb) {
    fc_callback **nl = fci_calloc((size_t)*n + 1, sizeof *nl);
    if (!nl) return fc_error_code();
    int at = *n;
    while (at > 0 && (*list)[at - 1]->def.order > cb->def.order) at--; /* after equal orders */
    if (at) memcpy(nl, *list, (size_t)at * sizeof *nl);
    nl[at] = cb;
    if (*n - at) memcpy(nl + at + 1, *list + at, (size_t)(*n - at) * sizeof *nl);
    fci_free(*list);
    *list = nl;
    (*n)++;
    return FC_OK;
}

int fci_learner_event(fc_learner *learn, fc_event e) {
    for (int i = 0; i < learn->n_run; i++) {
        fc_callback *cb = learn->run[i];
        fc_cb_fn fn = cb->fn[e];
        if (!fn) continue;
        if (inner_loop(e) && (learn->training ? cb->def.run_train_off : cb->def.run_valid_off)) continue;
        int r = fn(learn, cb->def.state);
        if (fc_error_code() != FC_OK)
            return fci_error_prefix("in callback %s, event %s: ", cb->name, event_names[e]);
        if (r < FC_CONTINUE || r > FC_CANCEL_FIT)
            return fc_fail(FC_ERR_ARG, "in callback %s, event %s: expected FC_CONTINUE or a cancel code, found %d",
                           cb->name, event_names[e], r);
        if (r != FC_CONTINUE) return r; /* a cancel stops the event, as fastai's exception does */
    }
    return FC_CONTINUE;
}
