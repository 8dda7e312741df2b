/* MixedPrecision in a Learner: where the autocast region starts and ends among the events, that
 * bf16 training still learns, and f16's loss scaling: overflowing steps are skipped (weights
 * untouched), the scale follows torch's rule, the logged loss is unscaled. */
#include <string.h>

#include "fastc/learner.h"
#include "fct.h"

/* Two classes of 4-feature points, class = (x0 + x1 > 0); 256 train, 128 valid rows, bs 16. */
static fc_learner *tiny_learner(fc_callback *mp, fc_callback *probe) {
    fc_tensor *x[2], *y[2];
    int64_t n[2] = {256, 128};
    fc_rng g = fc_rng_new(5);
    for (int k = 0; k < 2; k++) {
        x[k] = fc_keep(fc_zeros(FC_SHAPE(n[k], 4)));
        y[k] = fc_keep(fc_zeros(FC_SHAPE(n[k]), .dtype = FC_DTYPE_I64));
        float *px = fc_tensor_data(x[k]);
        int64_t *py = fc_tensor_data(y[k]);
        for (int64_t i = 0; i < n[k]; i++) {
            for (int j = 0; j < 4; j++) px[i * 4 + j] = fc_rng_normal(&g);
            py[i] = px[i * 4] + px[i * 4 + 1] > 0;
        }
    }
    fc_dataloaders *dls = fc_tensor_dls(x[0], y[0], x[1], y[1], .bs = 16, .seed = 3);
    for (int k = 0; k < 2; k++) {
        fc_tensor_free(x[k]);
        fc_tensor_free(y[k]);
    }
    fc_manual_seed(11);
    fc_module *model = fc_sequential(fc_linear_new(4, 16), fc_relu_new(), fc_linear_new(16, 2));
    return fc_learner(dls, model, .quiet = 1, .lr = 1e-2, .opt_func = fc_opt_sgd,
                      .cbs = probe ? FC_CALLBACKS(mp, probe) : FC_CALLBACKS(mp));
}

/* ---- a probe after MixedPrecision (order 20) recording what it sees ---- */
typedef struct probe {
    int n_batch, n_bad_region, n_steps, n_skipped;
    fc_dtype at_before_batch, at_after_loss;
    double max_logged_loss;
    fc_tensor *w_before; /* first weight before the step, to check skipped steps change nothing */
    int n_skip_changed;
} probe;

static int pr_before_batch(fc_learner *l, void *st) {
    probe *p = st;
    p->at_before_batch = fc_autocast_dtype();
    p->n_batch++;
    (void)l;
    return FC_CONTINUE;
}
static int pr_after_loss(fc_learner *l, void *st) {
    probe *p = st;
    p->at_after_loss = fc_autocast_dtype();
    if (p->at_after_loss != FC_DTYPE_F32) p->n_bad_region++;
    if (fc_learner_training(l) && fc_learner_loss(l) > p->max_logged_loss)
        p->max_logged_loss = fc_learner_loss(l);
    return FC_CONTINUE;
}
static int pr_before_backward(fc_learner *l, void *st) {
    probe *p = st;
    fc_tensor_free(p->w_before);
    p->w_before = fc_keep(fc_clone(fc_module_parameter(fc_learner_model(l), 0, NULL)));
    return FC_CONTINUE;
}
static int pr_after_cancel_step(fc_learner *l, void *st) {
    probe *p = st;
    p->n_skipped++;
    fc_tensor *w = fc_module_parameter(fc_learner_model(l), 0, NULL);
    if (memcmp(fc_tensor_data(w), fc_tensor_data(p->w_before), 4 * (size_t)fc_tensor_numel(w)))
        p->n_skip_changed++;
    return FC_CONTINUE;
}
static int pr_after_step(fc_learner *l, void *st) {
    (void)l;
    ((probe *)st)->n_steps++;
    return FC_CONTINUE;
}
static void pr_free(void *st) {
    probe *p = st;
    fc_tensor_free(p->w_before);
}
static fc_callback *probe_cb(probe *p) {
    return fc_callback_new(&(fc_callback_def){
        .name = "probe", .order = FC_ORDER_MIXED_PRECISION + 10, .state = p, .free_state = pr_free,
        .before_batch = pr_before_batch, .after_loss = pr_after_loss,
        .before_backward = pr_before_backward, .after_cancel_step = pr_after_cancel_step,
        .after_step = pr_after_step,
    });
}

FCT_TEST(test_mixed_precision_bf16_runs_the_forward_in_autocast_and_learns) {
    probe p = {0};
    fc_learner *learn = tiny_learner(fc_mixed_precision(), probe_cb(&p));
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit(learn, 3));
    FCT_EQ_INT(p.at_before_batch, FC_DTYPE_BF16); /* the region is open for the forward ... */
    FCT_EQ_INT(p.n_bad_region, 0);                /* ... and closed before every loss        */
    FCT_EQ_INT(fc_autocast_dtype(), FC_DTYPE_F32); /* and nothing left open after the fit     */
    FCT_EQ_INT(p.n_skipped, 0);
    FCT_NEAR(fc_mixed_precision_scale(fc_learner_cb(learn, "MixedPrecision")), 1.0, 0);
    FCT_TRUE(fc_learner_valid_loss(learn) < 0.45); /* ln 2 = 0.69 at chance */
    fc_learner_free(learn);
}

FCT_TEST(test_mixed_precision_f16_skips_overflowing_steps_and_backs_off) {
    probe p = {0};
    /* 2^24: loss gradients near 1 overflow f16 (65504) until the scale has halved ~9 times */
    fc_learner *learn = tiny_learner(fc_mixed_precision(.dtype = FC_DTYPE_F16, .init_scale = 0x1p24,
                                                        .growth_interval = 4),
                                     probe_cb(&p));
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit(learn, 2));
    FCT_EQ_INT(p.at_before_batch, FC_DTYPE_F16);
    FCT_EQ_INT(p.n_bad_region, 0);
    FCT_TRUE(p.n_skipped >= 3 && p.n_skipped < p.n_steps);
    FCT_EQ_INT(p.n_skip_changed, 0);           /* a skipped step leaves the weights alone */
    FCT_TRUE(p.max_logged_loss < 10);           /* the logged loss is not the scaled one   */
    /* torch's rule, replayed from the counts: every skip halves, every 4 good steps in a row
     * double; with skips only at the start, the final scale follows from the two counts. */
    double scale = fc_mixed_precision_scale(fc_learner_cb(learn, "MixedPrecision"));
    int good = p.n_steps - p.n_skipped;
    FCT_NEAR(scale, ldexp(1.0, 24 - p.n_skipped + good / 4), 0);
    FCT_TRUE(fc_learner_valid_loss(learn) < 0.6);
    fc_learner_free(learn);
}

FCT_TEST(test_mixed_precision_rejects_integer_dtypes_and_negative_options) {
    FCT_NULL(fc_mixed_precision(.dtype = FC_DTYPE_I64));
    FCT_ERROR(FC_ERR_DTYPE, "mixed_precision: .dtype must be bf16 or f16, found i64");
    FCT_NULL(fc_mixed_precision(.init_scale = -1));
    FCT_ERROR(FC_ERR_ARG, ".init_scale and .growth_interval must be >= 0");
}

/* ---- with GradientAccumulation: gradients summed over two backwards are unscaled once ---- */
static int grab_before_step(fc_learner *l, void *st) {
    fc_tensor **g = st;
    if (!*g) *g = fc_keep(fc_clone(fc_tensor_grad(fc_module_parameter(fc_learner_model(l), 0, NULL))));
    return FC_CONTINUE;
}
static void grab_free(void *st) {
    fc_tensor **g = st;
    fc_tensor_free(*g);
    *g = NULL;
}

/* The first step's gradient with loss scale s (s = 1: nothing to unscale), 2 batches of 16 per step. */
static fc_tensor *first_step_grad(double scale) {
    fc_tensor *g = NULL;
    fc_learner *learn = tiny_learner(fc_mixed_precision(.dtype = FC_DTYPE_F16, .init_scale = scale),
                                     fc_callback_new(&(fc_callback_def){
                                         .name = "grab", .order = FC_ORDER_MIXED_PRECISION + 10,
                                         .state = &g, .before_step = grab_before_step}));
    if (!learn || fc_learner_add_cb(learn, fc_gradient_accumulation(.n_acc = 32)) != FC_OK ||
        fc_fit(learn, 1) != FC_OK) {
        FCT_OK(fc_error_code());
        grab_free(&g);
    }
    fc_learner_free(learn);
    return g;
}

FCT_TEST(test_mixed_precision_f16_with_gradient_accumulation_unscales_once) {
    fc_tensor *g1 = first_step_grad(1), *g1024 = first_step_grad(1024);
    if (FCT_NOTNULL(g1) && FCT_NOTNULL(g1024)) {
        /* powers of two scale exactly; only f16 subnormals (under 6e-5) round differently */
        FCT_CLOSE(g1024, g1, 1e-6, 1e-3);
        FCT_TRUE(fc_tensor_item(fc_sum(fc_abs(g1), FC_ALL_DIMS, 0)) > 1e-3); /* not all zero */
    }
    grab_free(&g1);
    grab_free(&g1024);
}
