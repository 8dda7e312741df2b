/* TEMPORARY copy of tests/learner/zz_pending_shim.c for test_callbacks (MixedPrecision's Learner
 * tests): delete together with that file when the metrics and plot branches are in main. */
/* TEMPORARY (delete when the metrics and plot branches are merged into main): weak definitions of
 * the fc_metric_* object API and fc_plot_lines_ so that test_learner links before those helpers'
 * code lands. The library's strong definitions replace them once merged. The plot one draws
 * nothing and says so (FC_ERR_UNSUPPORTED); the tests accept that until plot is merged. */
#include <math.h>
#include <stdlib.h>

#include "fastc/learner.h"
#include "fastc/plot.h"

struct fc_metric {
    fc_metric_def def;
    void *state;
};

__attribute__((weak)) fc_metric *fc_metric_new(const fc_metric_def *def, void *state) {
    fc_metric *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->def = *def;
    m->state = state;
    return m;
}
__attribute__((weak)) void fc_metric_free(fc_metric *m) {
    if (!m) return;
    if (m->def.free_state) m->def.free_state(m->state);
    free(m);
}
__attribute__((weak)) const char *fc_metric_name(const fc_metric *m) { return m ? m->def.name : NULL; }
__attribute__((weak)) int fc_metric_lower_is_better(const fc_metric *m) { return m && m->def.lower_is_better; }
__attribute__((weak)) void fc_metric_reset(fc_metric *m) {
    if (m && m->def.reset) m->def.reset(m->state);
}
__attribute__((weak)) fc_status fc_metric_accumulate(fc_metric *m, fc_tensor *pred, fc_tensor *targ, double loss,
                                                     int64_t bs) {
    return m->def.accumulate(m->state, pred, targ, loss, bs);
}
__attribute__((weak)) double fc_metric_value(fc_metric *m) { return m ? m->def.value(m->state) : NAN; }
__attribute__((weak)) fc_status fc_plot_lines_(const char *path, const fc_plot_series *series, int n_series,
                                               const fc_plot_opts *o) {
    return fc_fail(FC_ERR_UNSUPPORTED, "plot_lines: the plot library is not merged yet");
}
