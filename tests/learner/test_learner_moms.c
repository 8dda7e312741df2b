/* The learner's one-cycle momentums (fastai's Learner moms): a plain or tabular learner keeps
 * (0.95, 0.85, 0.95); .mom_max / .mom_min on the learner and fc_learner_set_moms change what
 * fit_one_cycle and fine_tune use; an explicit fit field wins, each on its own; bad values fail.
 * The text learners' (0.8, 0.7, 0.8) is tested in tests/text/test_text_learner.c. */
#include "fastc/tabular.h"
#include "learner_test.h"

/* fastai's SchedCos and combined_cos, written out independently of src/optim. */
static double sched_cos(double a, double b, double pos) { return a + (1 + cos(M_PI * (1 - pos))) * (b - a) / 2; }
static double comb_cos(double pct, double a, double b, double c, double pos) {
    return pos < pct ? sched_cos(a, b, pos / pct) : sched_cos(b, c, (pos - pct) / (1 - pct));
}

/* The recorded moms of the last fit follow comb_cos(pct, hi, lo, hi); n batches. */
static void check_moms(fc_learner *learn, int64_t n, double pct, double hi, double lo) {
    FCT_EQ_INT(fc_recorder_n_batches(learn), n);
    const double *moms = fc_recorder_moms(learn);
    if (!FCT_NOTNULL(moms)) return;
    for (int64_t i = 0; i < n; i++) FCT_NEAR(moms[i], comb_cos(pct, hi, lo, hi, (double)i / (double)n), 1e-12);
}

/* The momentum of each training batch over several fits (what the scheduler set before it). */
typedef struct mom_log {
    double m[16];
    int n;
} mom_log;
static int log_mom(fc_learner *learn, void *s) {
    mom_log *l = s;
    if (fc_learner_training(learn) && l->n < 16) l->m[l->n++] = fc_learner_mom(learn);
    return FC_CONTINUE;
}

FCT_TEST(test_learner_moms_default_and_overrides) {
    fc_learner *learn = fc_learner(lt_dls(40, 16, 8, 1), lt_mlp(), .quiet = 1); /* 5 batches an epoch */
    if (!FCT_NOTNULL(learn)) return;
    FCT_NEAR(fc_learner_mom_max(learn), 0.95, 0);
    FCT_NEAR(fc_learner_mom_min(learn), 0.85, 0);
    FCT_OK(fc_fit_one_cycle(learn, 2, 1e-2));
    check_moms(learn, 10, 0.25, 0.95, 0.85);
    /* the learner's pair, then each explicit field wins on its own */
    FCT_OK(fc_learner_set_moms(learn, 0.9, 0.6));
    FCT_NEAR(fc_learner_mom_max(learn), 0.9, 0);
    FCT_NEAR(fc_learner_mom_min(learn), 0.6, 0);
    FCT_OK(fc_fit_one_cycle(learn, 1, 1e-2));
    check_moms(learn, 5, 0.25, 0.9, 0.6);
    FCT_OK(fc_fit_one_cycle(learn, 1, 1e-2, .mom_max = 0.99));
    check_moms(learn, 5, 0.25, 0.99, 0.6);
    FCT_OK(fc_fit_one_cycle(learn, 1, 1e-2, .mom_max = 0.97, .mom_min = 0.5));
    check_moms(learn, 5, 0.25, 0.97, 0.5);
    /* fine_tune's unfrozen cycle (pct_start 0.3) uses them too */
    FCT_OK(fc_fine_tune(learn, 1, .no_freeze = 1));
    check_moms(learn, 5, 0.3, 0.9, 0.6);
    /* the plain fit leaves the momentum where the optimizer has it */
    FCT_OK(fc_fit(learn, 1, 1e-3));
    FCT_NEAR(fc_recorder_moms(learn)[0], fc_recorder_moms(learn)[4], 0);
    fc_learner_free(learn);

    learn = fc_learner(lt_dls(40, 16, 8, 1), lt_mlp(), .quiet = 1, .mom_max = 0.92, .mom_min = 0.75);
    if (!FCT_NOTNULL(learn)) return;
    FCT_NEAR(fc_learner_mom_max(learn), 0.92, 0);
    FCT_NEAR(fc_learner_mom_min(learn), 0.75, 0);
    /* fine_tune's frozen cycle (pct_start 0.99) then its unfrozen one (0.3) */
    mom_log ml = {0};
    fc_callback *cb = fc_callback_new(&(fc_callback_def){.name = "mom_log", .state = &ml, .after_batch = log_mom});
    FCT_OK(fc_fine_tune(learn, 1, .cbs = FC_CALLBACKS(cb)));
    FCT_EQ_INT(ml.n, 10);
    for (int i = 0; i < 5; i++) {
        FCT_NEAR(ml.m[i], comb_cos(0.99, 0.92, 0.75, 0.92, i / 5.0), 1e-12);
        FCT_NEAR(ml.m[5 + i], comb_cos(0.3, 0.92, 0.75, 0.92, i / 5.0), 1e-12);
    }
    check_moms(learn, 5, 0.3, 0.92, 0.75);
    fc_learner_free(learn);
}

FCT_TEST(test_learner_moms_reject_bad_values) {
    FCT_NULL(fc_learner(lt_dls(40, 16, 8, 1), lt_mlp(), .quiet = 1, .mom_max = 1));
    FCT_ERROR(FC_ERR_ARG, ".mom_max and .mom_min must be in [0, 1), found 1 and 0");
    fc_error_clear();
    FCT_NULL(fc_learner(lt_dls(40, 16, 8, 1), lt_mlp(), .quiet = 1, .mom_min = -0.5));
    FCT_ERROR(FC_ERR_ARG, "found 0 and -0.5");
    fc_error_clear();
    FCT_NULL(fc_learner(lt_dls(40, 16, 8, 1), lt_mlp(), .quiet = 1, .mom_max = NAN));
    FCT_ERROR(FC_ERR_ARG, "learner: .mom_max");
    fc_error_clear();
    fc_learner *learn = fc_learner(lt_dls(40, 16, 8, 1), lt_mlp(), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_EQ_INT(fc_learner_set_moms(learn, 0, 0.5), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "learner_set_moms: mom_max and mom_min must be in (0, 1), found 0 and 0.5");
    fc_error_clear();
    FCT_EQ_INT(fc_learner_set_moms(learn, 0.9, 1.5), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "found 0.9 and 1.5");
    fc_error_clear();
    FCT_NEAR(fc_learner_mom_max(learn), 0.95, 0); /* unchanged by the failures */
    FCT_NEAR(fc_learner_mom_min(learn), 0.85, 0);
    fc_learner_free(learn);
    FCT_TRUE(isnan(fc_learner_mom_max(NULL)) && isnan(fc_learner_mom_min(NULL)));
    FCT_EQ_INT(fc_learner_set_moms(NULL, 0.9, 0.8), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "learner_set_moms: NULL learner");
    fc_error_clear();
}

/* An application learner other than text keeps fastai's Learner default. */
FCT_TEST(test_tabular_learner_keeps_default_moms) {
    const char *csv = "learner_moms_table.csv";
    FILE *f = fopen(csv, "w");
    if (!FCT_NOTNULL(f)) return;
    fprintf(f, "colour,x,y\n");
    for (int i = 0; i < 64; i++) fprintf(f, "%s,%.3f,%s\n", i % 3 ? "red" : "blue", (i % 17) / 17.0, i % 2 ? "a" : "b");
    fclose(f);
    fc_dataloaders *dls = fc_tabular_dls_from_csv(csv, .y = "y", .cat = FC_NAMES("colour"), .cont = FC_NAMES("x"),
                                                  .bs = 16);
    fc_learner *learn = fc_tabular_learner(dls, .layers = FC_INTS(8), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_NEAR(fc_learner_mom_max(learn), 0.95, 0);
    FCT_NEAR(fc_learner_mom_min(learn), 0.85, 0);
    FCT_OK(fc_fit_one_cycle(learn, 1, 1e-2));
    int64_t n = fc_recorder_n_batches(learn);
    FCT_TRUE(n >= 2);
    check_moms(learn, n, 0.25, 0.95, 0.85);
    fc_learner_free(learn);
    remove(csv);
}
