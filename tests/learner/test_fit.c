/* Fits: one-cycle lr/mom schedules against fastai's formula, discriminative lrs, fine_tune's
 * frozen phase (only the head and norm layers move), the progress table, validate and get_preds,
 * and training to >= 95% accuracy on the generated shapes data. */
#include "learner_test.h"

/* fastai's SchedCos and combined_cos, written out independently of src/optim. */
static double sched_cos(double a, double b, double pos) { return a + (1 + cos(M_PI * (1 - pos))) * (b - a) / 2; }
static double comb_cos(double pct, double a, double b, double c, double pos) {
    return pos < pct ? sched_cos(a, b, pos / pct) : sched_cos(b, c, (pos - pct) / (1 - pct));
}

FCT_TEST(test_fit_one_cycle_records_fastai_lrs_and_moms) {
    /* 40 train rows, bs 8: 5 batches per epoch, 3 epochs = 15 steps */
    fc_learner *learn = fc_learner(lt_dls(40, 16, 8, 1), lt_mlp(), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit_one_cycle(learn, 3, 1e-2));
    FCT_EQ_INT(fc_recorder_n_batches(learn), 15);
    const double *lrs = fc_recorder_lrs(learn), *moms = fc_recorder_moms(learn);
    for (int i = 0; i < 15; i++) {
        double pos = i / 15.0;
        FCT_NEAR(lrs[i], comb_cos(0.25, 1e-2 / 25, 1e-2, 1e-2 / 1e5, pos), 1e-12);
        FCT_NEAR(moms[i], comb_cos(0.25, 0.95, 0.85, 0.95, pos), 1e-12);
    }
    FCT_NEAR(lrs[0], 4e-4, 1e-12); /* lr_max / div at the start */
    /* options: pct_start, div, div_final */
    FCT_OK(fc_fit_one_cycle(learn, 1, 3e-3, .pct_start = 0.5, .div = 10, .div_final = 100));
    lrs = fc_recorder_lrs(learn);
    for (int i = 0; i < 5; i++) FCT_NEAR(lrs[i], comb_cos(0.5, 3e-4, 3e-3, 3e-5, i / 5.0), 1e-12);
    FCT_EQ_INT(fc_recorder_n_epochs(learn), 1);
    FCT_TRUE(fc_recorder_values(learn)[0] > 0 && fc_recorder_values(learn)[1] > 0);
    fc_learner_free(learn);
}

FCT_TEST(test_fit_flat_cos_and_sgdr_schedules) {
    fc_learner *learn = fc_learner(lt_dls(40, 16, 8, 1), lt_mlp(), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit_flat_cos(learn, 2, 1e-2));
    const double *lrs = fc_recorder_lrs(learn);
    for (int i = 0; i < 10; i++) FCT_NEAR(lrs[i], comb_cos(0.75, 1e-2, 1e-2, 1e-7, i / 10.0), 1e-12);
    FCT_OK(fc_fit_sgdr(learn, 2, 1, 1e-2)); /* cycles of 1 and 2 epochs: 15 batches */
    FCT_EQ_INT(fc_recorder_n_batches(learn), 15);
    lrs = fc_recorder_lrs(learn);
    FCT_NEAR(lrs[0], 1e-2, 1e-12);
    FCT_NEAR(lrs[5], 1e-2, 1e-12); /* the second cycle restarts at lr_max */
    FCT_NEAR(lrs[3], sched_cos(1e-2, 0, 3 / 5.0), 1e-12);
    fc_learner_free(learn);
}

/* Two groups: the first linear (+ its batchnorm), and the head. */
static fc_status two_groups(fc_module *m, fc_param_groups *g) {
    fc_module *body[2] = {fc_module_child(m, "0"), fc_module_child(m, "1")};
    fc_tensor *p[4];
    int n = 0;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < fc_module_n_parameters(body[k]); i++) p[n++] = fc_module_parameter(body[k], i, NULL);
    fc_status st = fc_param_groups_add(g, p, n);
    fc_module *head = fc_module_child(m, "3");
    fc_tensor *h[2] = {fc_module_parameter(head, 0, NULL), fc_module_parameter(head, 1, NULL)};
    return st == FC_OK ? fc_param_groups_add(g, h, 2) : st;
}

static fc_module *bn_mlp(void) {
    return fc_sequential(fc_linear_new(4, 8), fc_batchnorm1d_new(8), fc_relu_new(), fc_linear_new(8, 2));
}

FCT_TEST(test_discriminative_lrs_are_geometric) {
    fc_learner *learn = fc_learner(lt_dls(16, 8, 8, 1), bn_mlp(), .splitter = two_groups, .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_EQ_INT(fc_learner_n_groups(learn), 2);
    FCT_OK(fc_fit(learn, 1, .lr = 1e-2, .lr_lo = 1e-4));
    FCT_NEAR(fc_optimizer_lr(fc_learner_opt(learn), 0), 1e-4, 1e-15);
    FCT_NEAR(fc_optimizer_lr(fc_learner_opt(learn), 1), 1e-2, 1e-15);
    FCT_NEAR(fc_learner_lr(learn), 1e-2, 1e-15);
    FCT_OK(fc_learner_set_lr(learn, 1e-3)); /* keeps the ratio */
    FCT_NEAR(fc_optimizer_lr(fc_learner_opt(learn), 0), 1e-5, 1e-15);
    FCT_NEAR(fc_optimizer_wd(fc_learner_opt(learn), 0), 0.01, 1e-15); /* fastai's true wd */
    fc_learner_free(learn);
}

static void frozen_phase(int no_train_bn) {
    fc_learner *learn = fc_learner(lt_dls(32, 8, 8, 2), bn_mlp(), .splitter = two_groups, .quiet = 1,
                                   .no_train_bn = no_train_bn);
    if (!FCT_NOTNULL(learn)) return;
    fc_module *m = fc_learner_model(learn);
    fc_tensor *before[6];
    for (int i = 0; i < 6; i++) before[i] = lt_param_copy(m, i); /* 0.w 0.b 1.w 1.b 3.w 3.b */
    FCT_OK(fc_learner_freeze(learn));
    FCT_OK(fc_fit_one_cycle(learn, 1, 1e-2));
    for (int i = 0; i < 6; i++) {
        int body_linear = i < 2, bn = i == 2 || i == 3;
        int want_same = body_linear || (bn && no_train_bn);
        FCT_TRUE(lt_equal(before[i], fc_module_parameter(m, i, NULL)) == want_same);
    }
    FCT_OK(fc_learner_unfreeze(learn));
    FCT_OK(fc_fit(learn, 1, .lr = 1e-2));
    FCT_TRUE(!lt_equal(before[0], fc_module_parameter(m, 0, NULL)));
    for (int i = 0; i < 6; i++) fc_tensor_free(before[i]);
    fc_learner_free(learn);
}

FCT_TEST(test_freeze_trains_only_the_head_and_batchnorm) { frozen_phase(0); }
FCT_TEST(test_freeze_with_no_train_bn_freezes_batchnorm_too) { frozen_phase(1); }

/* fine_tune: a callback compares the weights at the end of each fit with their start. */
typedef struct ft_watch {
    fc_tensor *start[6];
    int fit, changed[2][6];
    double lr0[2], lr1[2];
} ft_watch;

static int ft_before_fit(fc_learner *learn, void *s) {
    ft_watch *w = s;
    for (int i = 0; i < 6; i++) w->start[i] = lt_param_copy(fc_learner_model(learn), i);
    return FC_CONTINUE;
}
static int ft_after_fit(fc_learner *learn, void *s) {
    ft_watch *w = s;
    for (int i = 0; i < 6; i++) {
        w->changed[w->fit][i] = !lt_equal(w->start[i], fc_module_parameter(fc_learner_model(learn), i, NULL));
        fc_tensor_free(w->start[i]);
    }
    w->fit++;
    return FC_CONTINUE;
}
static int ft_before_step(fc_learner *learn, void *s) {
    ft_watch *w = s;
    if (fc_learner_train_iter(learn) == 0) { /* the first step's lrs: lr_max / div */
        w->lr0[w->fit] = fc_optimizer_lr(fc_learner_opt(learn), 0);
        w->lr1[w->fit] = fc_optimizer_lr(fc_learner_opt(learn), 1);
    }
    return FC_CONTINUE;
}

FCT_TEST(test_fine_tune_frozen_phase_then_unfrozen) {
    ft_watch w = {0};
    fc_learner *learn = fc_learner(lt_dls(32, 8, 8, 2), bn_mlp(), .splitter = two_groups, .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    fc_callback *cb = fc_callback_new(&(fc_callback_def){.name = "watch", .state = &w, .before_fit = ft_before_fit,
                                                         .after_fit = ft_after_fit, .before_step = ft_before_step});
    FCT_OK(fc_fine_tune(learn, 1, .cbs = FC_CALLBACKS(cb)));
    FCT_EQ_INT(w.fit, 2);
    int want0[6] = {0, 0, 1, 1, 1, 1}; /* frozen: body linear fixed; batchnorm and head train */
    for (int i = 0; i < 6; i++) {
        FCT_EQ_INT(w.changed[0][i], want0[i]);
        FCT_EQ_INT(w.changed[1][i], 1);
    }
    /* phase 1: slice(2e-3): body 2e-4, head 2e-3, div 25; phase 2: slice(1e-3 / 100, 1e-3), div 5 */
    FCT_NEAR(w.lr0[0], 2e-4 / 25, 1e-15);
    FCT_NEAR(w.lr1[0], 2e-3 / 25, 1e-15);
    FCT_NEAR(w.lr0[1], 1e-5 / 5, 1e-15);
    FCT_NEAR(w.lr1[1], 1e-3 / 5, 1e-15);
    fc_learner_free(learn);
}

FCT_TEST(test_progress_table_goes_to_the_log) {
    FILE *f = tmpfile();
    fc_learner *learn = fc_learner(lt_dls(16, 8, 8, 1), lt_mlp(), .metrics = FC_METRICS(lt_accuracy()), .log = f);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit(learn, 2));
    rewind(f);
    char text[2048] = {0};
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    FCT_TRUE(strncmp(text, "epoch     train_loss  valid_loss  test_accuracy  time\n", 53) == 0);
    FCT_TRUE(strstr(text, "\n0         ") != NULL && strstr(text, "\n1         ") != NULL);
    FCT_TRUE(strstr(text, "\033") == NULL); /* not a terminal: no live bar */
    char want[64];
    snprintf(want, sizeof want, "%.6f", fc_learner_valid_loss(learn));
    FCT_TRUE(strstr(text, want) != NULL);
    FCT_EQ_INT(fc_recorder_n_cols(learn), 3);
    FCT_TRUE(strcmp(fc_recorder_col_name(learn, 2), "test_accuracy") == 0);
    FCT_NEAR(fc_learner_monitor(learn, "test_accuracy"), fc_recorder_values(learn)[3 + 2], 0);
    FCT_TRUE(isnan(fc_learner_monitor(learn, "nope")));
    FCT_ERROR(FC_ERR_ARG, "found 'nope'");
    fc_learner_free(learn);
    fclose(f);
}

FCT_TEST(test_validate_and_get_preds) {
    fc_learner *learn = fc_learner(lt_dls(64, 20, 8, 4), lt_mlp(), .metrics = FC_METRICS(lt_accuracy()), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit(learn, 2, .lr = 1e-2));
    double loss = 0, acc = 0;
    FCT_OK(fc_learner_validate(learn, NULL, &loss, &acc));
    FCT_NEAR(loss, fc_recorder_values(learn)[3 + 1], 1e-6); /* the same weights as the last epoch */
    FCT_NEAR(acc, fc_recorder_values(learn)[3 + 2], 1e-12);
    fc_tensor *p, *t, *d;
    FCT_OK(fc_learner_get_preds(learn, NULL, &p, &t, &d));
    if (!FCT_NOTNULL(p) || !FCT_NOTNULL(t) || !FCT_NOTNULL(d)) return;
    FCT_EQ_INT(fc_tensor_ndim(p), 2);
    FCT_EQ_INT(fc_tensor_dim(p, 0), 20);
    FCT_EQ_INT(fc_tensor_dim(p, 1), 2);
    FCT_EQ_INT(fc_tensor_numel(t), 20);
    FCT_EQ_INT(fc_tensor_numel(d), 20);
    FCT_EQ_INT(fc_tensor_dtype(d), FC_DTYPE_I64);
    double correct = 0;
    for (int i = 0; i < 20; i++) {
        FCT_NEAR(fc_tensor_get(p, 2 * i) + fc_tensor_get(p, 2 * i + 1), 1, 1e-6); /* softmax */
        correct += fc_tensor_get(d, i) == fc_tensor_get(t, i);
    }
    FCT_NEAR(correct / 20, acc, 1e-12);
    fc_tensor_free(p);
    fc_tensor_free(t);
    fc_tensor_free(d);
    fc_learner_free(learn);
}

FCT_TEST(test_fit_rejects_bad_arguments) {
    fc_learner *learn = fc_learner(lt_dls(16, 8, 8, 1), lt_mlp(), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_EQ_INT(fc_fit(learn, 0), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "fit: n_epoch must be >= 1, found 0");
    FCT_EQ_INT(fc_fit_one_cycle(learn, 2, .start_epoch = 3), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".start_epoch must be in [0, 2], found 3");
    FCT_EQ_INT(fc_fit_one_cycle(learn, 2, .pct_start = 1.5), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".pct_start must be in (0, 1)");
    fc_learner_free(learn);
}

/* A small CNN on 16x16 shapes, 3-line flow: reaches >= 95% validation accuracy. */
FCT_TEST(test_fit_one_cycle_learns_shapes_to_95_percent) {
    fc_manual_seed(0);
    fc_tensor *xt, *yt, *xv, *yv;
    if (!FCT_OK(fc_shapes_dataset(2000, 16, 11, &xt, &yt)) || !FCT_OK(fc_shapes_dataset(400, 16, 12, &xv, &yv))) return;
    fc_module *model = fc_sequential(fc_conv2d_new(1, 16, 3, .padding = 1), fc_batchnorm2d_new(16), fc_relu_new(),
                                     fc_maxpool2d_new(2), fc_conv2d_new(16, 32, 3, .padding = 1),
                                     fc_batchnorm2d_new(32), fc_relu_new(), fc_maxpool2d_new(2), fc_flatten_new(),
                                     fc_linear_new(32 * 4 * 4, FC_SHAPES_N_CLASSES));
    fc_learner *learn = fc_learner(fc_tensor_dls(xt, yt, xv, yv, .bs = 32), model,
                                   .metrics = FC_METRICS(lt_accuracy()), .quiet = 1);
    FCT_OK(fc_fit_one_cycle(learn, 4, 1e-2));
    double acc = fc_learner_monitor(learn, "test_accuracy");
    printf("    shapes 16x16, 4 epochs one-cycle: valid accuracy %.4f, valid loss %.4f\n", acc,
           fc_learner_valid_loss(learn));
    FCT_TRUE(acc >= 0.95);
    fc_learner_free(learn);
    fc_tensor_free(xt);
    fc_tensor_free(yt);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
}
