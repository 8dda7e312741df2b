/* The loop's events: the full order for 1 epoch x 2 batches with validation, every cancel path
 * (what runs after it and what is skipped), and errors raised in a callback. */
#include "learner_test.h"

typedef struct ev_log {
    char buf[8192];
    fc_event cancel_at;
    int cancel_code, cancel_iter, cancel_epoch, fail;
} ev_log;

static int ev_handler(fc_learner *learn, void *state, fc_event e) {
    ev_log *l = state;
    if (e != FC_EVENT_AFTER_CREATE || l->buf[0] == 0) {
        strncat(l->buf, fc_event_name(e), sizeof l->buf - strlen(l->buf) - 2);
        strcat(l->buf, " ");
    }
    if (e == l->cancel_at && (l->cancel_iter < 0 || fc_learner_iter(learn) == l->cancel_iter) &&
        (l->cancel_epoch < 0 || fc_learner_epoch(learn) == l->cancel_epoch)) {
        if (l->fail) fc_fail(FC_ERR_ARG, "boom at iter %lld", (long long)fc_learner_iter(learn));
        return l->cancel_code;
    }
    return FC_CONTINUE;
}

#define EV(name, E) \
    static int ev_##name(fc_learner *learn, void *s) { return ev_handler(learn, s, E); }
EV(after_create, FC_EVENT_AFTER_CREATE)
EV(before_fit, FC_EVENT_BEFORE_FIT)
EV(before_epoch, FC_EVENT_BEFORE_EPOCH)
EV(before_train, FC_EVENT_BEFORE_TRAIN)
EV(before_batch, FC_EVENT_BEFORE_BATCH)
EV(after_pred, FC_EVENT_AFTER_PRED)
EV(after_loss, FC_EVENT_AFTER_LOSS)
EV(before_backward, FC_EVENT_BEFORE_BACKWARD)
EV(after_cancel_backward, FC_EVENT_AFTER_CANCEL_BACKWARD)
EV(after_backward, FC_EVENT_AFTER_BACKWARD)
EV(before_step, FC_EVENT_BEFORE_STEP)
EV(after_cancel_step, FC_EVENT_AFTER_CANCEL_STEP)
EV(after_step, FC_EVENT_AFTER_STEP)
EV(after_cancel_batch, FC_EVENT_AFTER_CANCEL_BATCH)
EV(after_batch, FC_EVENT_AFTER_BATCH)
EV(after_cancel_train, FC_EVENT_AFTER_CANCEL_TRAIN)
EV(after_train, FC_EVENT_AFTER_TRAIN)
EV(before_validate, FC_EVENT_BEFORE_VALIDATE)
EV(after_cancel_validate, FC_EVENT_AFTER_CANCEL_VALIDATE)
EV(after_validate, FC_EVENT_AFTER_VALIDATE)
EV(after_cancel_epoch, FC_EVENT_AFTER_CANCEL_EPOCH)
EV(after_epoch, FC_EVENT_AFTER_EPOCH)
EV(after_cancel_fit, FC_EVENT_AFTER_CANCEL_FIT)
EV(after_fit, FC_EVENT_AFTER_FIT)

static fc_callback *ev_cb(ev_log *l) {
    return fc_callback_new(&(fc_callback_def){
        .name = "EventLog", .state = l, .after_create = ev_after_create, .before_fit = ev_before_fit,
        .before_epoch = ev_before_epoch, .before_train = ev_before_train, .before_batch = ev_before_batch,
        .after_pred = ev_after_pred, .after_loss = ev_after_loss, .before_backward = ev_before_backward,
        .after_cancel_backward = ev_after_cancel_backward, .after_backward = ev_after_backward,
        .before_step = ev_before_step, .after_cancel_step = ev_after_cancel_step, .after_step = ev_after_step,
        .after_cancel_batch = ev_after_cancel_batch, .after_batch = ev_after_batch,
        .after_cancel_train = ev_after_cancel_train, .after_train = ev_after_train,
        .before_validate = ev_before_validate, .after_cancel_validate = ev_after_cancel_validate,
        .after_validate = ev_after_validate, .after_cancel_epoch = ev_after_cancel_epoch,
        .after_epoch = ev_after_epoch, .after_cancel_fit = ev_after_cancel_fit, .after_fit = ev_after_fit});
}

#define TRAIN_BATCH "before_batch after_pred after_loss before_backward after_backward before_step after_step after_batch "
#define VALID_BATCH "before_batch after_pred after_loss after_batch "

/* 8 train rows in batches of 4 (2 batches), 4 valid rows (1 batch of 8). */
static fc_learner *small_learner(ev_log *l) {
    return fc_learner(lt_dls(8, 4, 4, 3), lt_mlp(), .cbs = FC_CALLBACKS(ev_cb(l)), .quiet = 1);
}

FCT_TEST(test_events_full_order_one_epoch_two_batches) {
    ev_log l = {.cancel_at = FC_EVENT_COUNT};
    fc_learner *learn = small_learner(&l);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit(learn, 1));
    const char *want = "after_create before_fit before_epoch before_train " TRAIN_BATCH TRAIN_BATCH
                       "after_train before_validate " VALID_BATCH "after_validate after_epoch after_fit ";
    if (!FCT_TRUE(strcmp(l.buf, want) == 0)) fprintf(stderr, "got:  %s\nwant: %s\n", l.buf, want);
    fc_learner_free(learn);
}

/* Runs a 1-epoch fit (or n_epoch) cancelling with code at event e (iteration iter, -1: any) and
 * returns whether the event log equals want; params_same: whether the weights must be unchanged. */
static void check_cancel(fc_event e, int code, int iter, int n_epoch, const char *want, int params_same) {
    ev_log l = {.cancel_at = e, .cancel_code = code, .cancel_iter = iter, .cancel_epoch = -1};
    fc_learner *learn = small_learner(&l);
    if (!FCT_NOTNULL(learn)) return;
    fc_tensor *w0 = lt_param_copy(fc_learner_model(learn), 0);
    FCT_OK(fc_fit(learn, n_epoch, .lr = 0.1));
    if (!FCT_TRUE(strcmp(l.buf, want) == 0))
        fprintf(stderr, "cancel %s at %s\ngot:  %s\nwant: %s\n", fc_event_name(e), fc_event_name(e), l.buf, want);
    fc_tensor *w1 = fc_module_parameter(fc_learner_model(learn), 0, NULL);
    FCT_TRUE(lt_equal(w0, w1) == params_same);
    fc_tensor_free(w0);
    fc_learner_free(learn);
}

FCT_TEST(test_cancel_batch_skips_loss_backward_step) {
    const char *b = "before_batch after_pred after_cancel_batch after_batch ";
    char want[2048];
    snprintf(want, sizeof want, "after_create before_fit before_epoch before_train %s%safter_train before_validate "
             "%safter_validate after_epoch after_fit ", b, b, b);
    check_cancel(FC_EVENT_AFTER_PRED, FC_CANCEL_BATCH, -1, 1, want, 1);
}

FCT_TEST(test_cancel_backward_skips_backward_then_steps) {
    const char *b = "before_batch after_pred after_loss before_backward after_cancel_backward after_backward "
                    "before_step after_step after_batch ";
    char want[2048];
    snprintf(want, sizeof want, "after_create before_fit before_epoch before_train %s%safter_train before_validate "
             VALID_BATCH "after_validate after_epoch after_fit ", b, b);
    check_cancel(FC_EVENT_BEFORE_BACKWARD, FC_CANCEL_BACKWARD, -1, 1, want, 1); /* no grads: no update */
}

FCT_TEST(test_cancel_step_skips_the_update) {
    const char *b = "before_batch after_pred after_loss before_backward after_backward before_step "
                    "after_cancel_step after_step after_batch ";
    char want[2048];
    snprintf(want, sizeof want, "after_create before_fit before_epoch before_train %s%safter_train before_validate "
             VALID_BATCH "after_validate after_epoch after_fit ", b, b);
    check_cancel(FC_EVENT_BEFORE_STEP, FC_CANCEL_STEP, -1, 1, want, 1);
}

FCT_TEST(test_cancel_train_skips_the_rest_of_training_not_validation) {
    check_cancel(FC_EVENT_BEFORE_BATCH, FC_CANCEL_TRAIN, 1, 1,
                 "after_create before_fit before_epoch before_train " TRAIN_BATCH
                 "before_batch after_cancel_train after_train before_validate " VALID_BATCH
                 "after_validate after_epoch after_fit ", 0);
}

FCT_TEST(test_cancel_validate) {
    check_cancel(FC_EVENT_BEFORE_VALIDATE, FC_CANCEL_VALIDATE, -1, 1,
                 "after_create before_fit before_epoch before_train " TRAIN_BATCH TRAIN_BATCH
                 "after_train before_validate after_cancel_validate after_validate after_epoch after_fit ", 0);
}

FCT_TEST(test_cancel_epoch_goes_on_with_the_next_epoch) {
    const char *ep = "before_epoch before_train " TRAIN_BATCH TRAIN_BATCH "after_train after_cancel_epoch after_epoch ";
    char want[4096];
    snprintf(want, sizeof want, "after_create before_fit %s%safter_fit ", ep, ep);
    check_cancel(FC_EVENT_AFTER_TRAIN, FC_CANCEL_EPOCH, -1, 2, want, 0);
}

FCT_TEST(test_cancel_fit_from_a_batch_skips_everything_after_it) {
    check_cancel(FC_EVENT_AFTER_STEP, FC_CANCEL_FIT, 0, 2,
                 "after_create before_fit before_epoch before_train before_batch after_pred after_loss "
                 "before_backward after_backward before_step after_step after_cancel_fit after_fit ", 0);
}

FCT_TEST(test_callback_error_stops_the_fit_and_names_callback_and_event) {
    ev_log l = {.cancel_at = FC_EVENT_AFTER_LOSS, .cancel_iter = 1, .cancel_epoch = -1, .fail = 1};
    fc_learner *learn = small_learner(&l);
    if (!FCT_NOTNULL(learn)) return;
    FCT_EQ_INT(fc_fit(learn, 2), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "in callback EventLog, event after_loss: boom at iter 1");
    /* nothing after the failure: no after_fit */
    FCT_TRUE(strstr(l.buf, "after_fit") == NULL);
    FCT_TRUE(strstr(l.buf, TRAIN_BATCH "before_batch after_pred after_loss ") != NULL);
    /* the learner is usable again */
    l.cancel_at = FC_EVENT_COUNT;
    FCT_OK(fc_fit(learn, 1));
    fc_learner_free(learn);
}

FCT_TEST(test_callbacks_run_by_order_and_run_valid_off) {
    ev_log a = {.cancel_at = FC_EVENT_COUNT}, b = {.cancel_at = FC_EVENT_COUNT};
    fc_callback *ca = fc_callback_new(&(fc_callback_def){.name = "late", .order = 5, .state = &a,
                                                         .after_pred = ev_after_pred});
    fc_callback *cb = fc_callback_new(&(fc_callback_def){.name = "train_only", .order = -5, .run_valid_off = 1,
                                                         .state = &b, .after_pred = ev_after_pred,
                                                         .before_validate = ev_before_validate});
    fc_learner *learn = fc_learner(lt_dls(8, 4, 4, 3), lt_mlp(), .cbs = FC_CALLBACKS(ca, cb), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit(learn, 1));
    FCT_TRUE(strcmp(a.buf, "after_pred after_pred after_pred ") == 0); /* 2 train + 1 valid */
    FCT_TRUE(strcmp(b.buf, "after_pred after_pred before_validate ") == 0); /* outer events still run */
    /* duplicate names are refused; lookup and removal by name */
    FCT_EQ_INT(fc_learner_add_cb(learn, fc_callback_new(&(fc_callback_def){.name = "late"})), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "already there");
    FCT_TRUE(fc_learner_cb(learn, "Recorder") != NULL);
    FCT_OK(fc_learner_remove_cb(learn, "late"));
    FCT_NULL(fc_learner_cb(learn, "late"));
    fc_learner_free(learn);
}
