/* Schedules vs fastai's formulas (tests/fixtures/gen_optim.py) and a few values by hand. */
#include "fastc/optim.h"
#include "fct.h"

static void check_row(const fct_fixture *f, const char *name, double (*fn)(double)) {
    fc_tensor *pos = fct_get(f, "pos"), *want = fct_get(f, name);
    if (!pos || !want) return;
    for (int64_t i = 0; i < fc_tensor_numel(pos); i++) {
        double p = fc_tensor_get(pos, i), w = fc_tensor_get(want, i), g = fn(p);
        fct_check(fabs(g - w) <= 1e-9 + 1e-6 * fabs(w), __FILE__, __LINE__, "%s(%g): expected %.9g, found %.9g",
                  name, p, w, g);
    }
}

static double s_cos(double p) { return fc_sched_cos(2.0, 0.5, p); }
static double s_lin(double p) { return fc_sched_lin(2.0, 0.5, p); }
static double s_exp(double p) { return fc_sched_exp(1e-4, 1e-1, p); }
static double s_comb(double p) { return fc_combined_cos(0.3, 1.0, 2.0, 0.5, p); }
static double s_oc_lr(double p) { return fc_one_cycle_lr(1e-2, p); }
static double s_oc_mom(double p) { return fc_one_cycle_mom(p); }
static double s_flat(double p) { return fc_flat_cos_lr(0.1, 0, p); }
static double s_sgdr(double p) { return fc_sgdr_lr(0.1, 3, 1, 2, p); }

FCT_TEST(test_schedules_match_fastai_formulas) {
    fct_fixture f = fct_load("optim/schedules");
    check_row(&f, "cos", s_cos);
    check_row(&f, "lin", s_lin);
    check_row(&f, "exp", s_exp);
    check_row(&f, "combined_cos", s_comb);
    check_row(&f, "one_cycle_lr", s_oc_lr);
    check_row(&f, "one_cycle_mom", s_oc_mom);
    check_row(&f, "flat_cos", s_flat);
    check_row(&f, "sgdr", s_sgdr);
    fct_fixture_free(&f);
}

FCT_TEST(test_schedule_values_by_hand) {
    FCT_NEAR(fc_sched_no(3, 5, 0.7), 3, 0);
    FCT_NEAR(fc_sched_cos(1, 0, 0.5), 0.5, 1e-15);
    FCT_NEAR(fc_sched_lin(1, 3, 0.25), 1.5, 1e-15);
    FCT_NEAR(fc_sched_exp(1, 100, 0.5), 10, 1e-12);
    /* one cycle: lr_max / 25 -> lr_max at 25% -> lr_max / 1e5; momentum 0.95 -> 0.85 -> 0.95 */
    FCT_NEAR(fc_one_cycle_lr(1e-2, 0), 4e-4, 1e-15);
    FCT_NEAR(fc_one_cycle_lr(1e-2, 0.25), 1e-2, 1e-15);
    FCT_NEAR(fc_one_cycle_lr(1e-2, 1), 1e-7, 1e-15);
    FCT_NEAR(fc_one_cycle_lr(1e-2, 0.5, .pct_start = 0.5, .div = 10), 1e-2, 1e-15);
    FCT_NEAR(fc_one_cycle_mom(0), 0.95, 1e-15);
    FCT_NEAR(fc_one_cycle_mom(0.25), 0.85, 1e-15);
    FCT_NEAR(fc_one_cycle_mom(1), 0.95, 1e-15);
    /* flat_cos: flat at lr until 75%, halfway down at 87.5%, 0 at the end */
    FCT_NEAR(fc_flat_cos_lr(0.1, 0, 0.5), 0.1, 1e-15);
    FCT_NEAR(fc_flat_cos_lr(0.1, 0, 0.875), 0.05, 1e-12);
    FCT_NEAR(fc_flat_cos_lr(0.1, 0, 1), 0, 1e-15);
    /* sgdr 3 cycles of 1, 2, 4 epochs: restarts at 1/7 and 3/7 */
    FCT_EQ_INT(fc_sgdr_n_epoch(3, 1, 2), 7);
    FCT_EQ_INT(fc_sgdr_n_epoch(3, 2, 1), 6);
    FCT_NEAR(fc_sgdr_lr(0.1, 3, 1, 2, 1.0 / 7), 0.1, 1e-12);
    FCT_NEAR(fc_sgdr_lr(0.1, 3, 1, 2, 3.0 / 7), 0.1, 1e-12);
    FCT_NEAR(fc_sgdr_lr(0.1, 3, 1, 2, 5.0 / 7), 0.05, 1e-12);
    FCT_NEAR(fc_sgdr_lr(0.1, 3, 2, 1, 1.0 / 3), 0.1, 1e-12);
    FCT_NEAR(fc_sgdr_lr(0.1, 3, 2, 1, 0.5), 0.05, 1e-12);
}
