/* lr_find puts MixedPrecision's f16 loss scaler back as it puts the weights back: the sweep's
 * huge lrs overflow and back the scale off, and its good steps move the growth tracker. */
#include "callbacks/grad_scaler_impl.h"
#include "tiny.h"

typedef struct scale_probe {
    double min_scale, max_scale;
    int64_t n;
} scale_probe;

static int sp_after_batch(fc_learner *learn, void *state) {
    scale_probe *p = state;
    double s = fc_mixed_precision_scale(fc_learner_cb(learn, "MixedPrecision"));
    p->min_scale = p->n ? fmin(p->min_scale, s) : s;
    p->max_scale = p->n ? fmax(p->max_scale, s) : s;
    p->n += fc_learner_training(learn);
    return FC_CONTINUE;
}

FCT_TEST(test_lr_find_restores_the_f16_grad_scaler) {
    fc_learner *learn = tiny_learner(8, .bs = 8);
    scale_probe p = {0};
    FCT_OK(fc_learner_add_cb(learn, fc_mixed_precision(.dtype = FC_DTYPE_F16, .init_scale = 256, .growth_interval = 3)));
    FCT_OK(fc_learner_add_cb(learn, fc_callback_new(&(fc_callback_def){
                                        .name = "scale_probe", .order = 70, .state = &p, .after_batch = sp_after_batch})));
    FCT_OK(fc_fit(learn, 1)); /* 8 good steps: the scale doubled twice, 2 good steps since */
    fci_grad_scaler *sc = fci_mixed_precision_scaler(fc_learner_cb(learn, "MixedPrecision"));
    if (!FCT_NOTNULL(sc)) return;
    fci_grad_scaler before = *sc;
    FCT_NEAR(before.scale, 1024, 0);
    FCT_EQ_INT(before.growth_tracker, 2);
    float w_before[4], w_after[4];
    tiny_weights(learn, w_before);
    p = (scale_probe){0};
    fc_lr_suggestions sug;
    FCT_OK(fc_lr_find(learn, &sug, .num_it = 40, .end_lr = 1e4, .no_stop_div = 1));
    FCT_TRUE(p.n >= 39); /* LRFinder (order 60) cancels the 40th batch before we see it */
    FCT_TRUE(p.min_scale < before.scale && p.max_scale > before.scale); /* both ways during the sweep */
    FCT_NEAR(sc->scale, before.scale, 0);
    FCT_EQ_INT(sc->growth_tracker, before.growth_tracker);
    FCT_EQ_INT(sc->found_inf, before.found_inf);
    FCT_NEAR(fc_mixed_precision_scale(fc_learner_cb(learn, "MixedPrecision")), 1024, 0);
    tiny_weights(learn, w_after);
    for (int i = 0; i < 4; i++) FCT_NEAR(w_after[i], w_before[i], 0);
    fc_learner_free(learn);
}

FCT_TEST(test_mixed_precision_scaler_is_null_for_bf16_and_other_callbacks) {
    fc_callback *bf = fc_mixed_precision(), *f16 = fc_mixed_precision(.dtype = FC_DTYPE_F16), *ga = fc_gradient_accumulation();
    FCT_NULL(fci_mixed_precision_scaler(bf));
    FCT_NULL(fci_mixed_precision_scaler(ga));
    FCT_NULL(fci_mixed_precision_scaler(NULL));
    FCT_TRUE(fci_mixed_precision_scaler(f16) != NULL);
    fc_callback_free(bf);
    fc_callback_free(f16);
    fc_callback_free(ga);
}
