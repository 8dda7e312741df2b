/* Hyper-parameter schedules, as fastai's callback/schedule.py: pure functions of pos in [0, 1]. */
#include <math.h>

#include "fastc/optim.h"

double fc_sched_no(double start, double end, double pos) { return (void)end, (void)pos, start; }
double fc_sched_lin(double start, double end, double pos) { return start + pos * (end - start); }
double fc_sched_cos(double start, double end, double pos) {
    return start + (1 + cos(M_PI * (1 - pos))) * (end - start) / 2;
}
double fc_sched_exp(double start, double end, double pos) { return start * pow(end / start, pos); }

/* fastai's combine_scheds for cosine pieces: piece idx covers [cum[idx], cum[idx + 1]); pos >= 1
 * is the last piece at its end. */
static double combine_cos(int n, const double *pcts, const double *starts, const double *ends, double pos) {
    if (pos >= 1) return fc_sched_cos(starts[n - 1], ends[n - 1], 1.0);
    double lo = 0;
    for (int i = 0; i < n; i++) {
        double hi = lo + pcts[i];
        if (pos < hi || i == n - 1) return fc_sched_cos(starts[i], ends[i], (pos - lo) / (hi - lo));
        lo = hi;
    }
    return NAN;
}

double fc_combined_cos(double pct, double start, double middle, double end, double pos) {
    double pcts[2] = {pct, 1 - pct}, s[2] = {start, middle}, e[2] = {middle, end};
    if (pct <= 0) return fc_sched_cos(middle, end, pos);
    return combine_cos(2, pcts, s, e, pos);
}

static fc_one_cycle_sched_opts resolve(const fc_one_cycle_sched_opts *o) {
    fc_one_cycle_sched_opts r = o ? *o : (fc_one_cycle_sched_opts){0};
    if (r.div == 0) r.div = 25;
    if (r.div_final == 0) r.div_final = 1e5;
    if (r.pct_start == 0) r.pct_start = 0.25;
    if (r.mom_max == 0) r.mom_max = 0.95;
    if (r.mom_min == 0) r.mom_min = 0.85;
    return r;
}

double fc_one_cycle_lr_(double lr_max, double pos, const fc_one_cycle_sched_opts *o) {
    fc_one_cycle_sched_opts r = resolve(o);
    return fc_combined_cos(r.pct_start, lr_max / r.div, lr_max, lr_max / r.div_final, pos);
}

double fc_one_cycle_mom_(double pos, const fc_one_cycle_sched_opts *o) {
    fc_one_cycle_sched_opts r = resolve(o);
    return fc_combined_cos(r.pct_start, r.mom_max, r.mom_min, r.mom_max, pos);
}

double fc_flat_cos_lr(double lr, double pct_start, double pos) {
    return fc_combined_cos(pct_start > 0 ? pct_start : 0.75, lr, lr, 0, pos);
}

/* fastai: n_epoch = cycle_len * (cycle_mult**n_cycles - 1) // (cycle_mult - 1); with cycle_mult 1
 * (where fastai divides by zero) the n_cycles equal cycles it means. */
int fc_sgdr_n_epoch(int n_cycles, int cycle_len, int cycle_mult) {
    if (n_cycles < 1 || cycle_len < 1 || cycle_mult < 1) return 0;
    if (cycle_mult == 1) return n_cycles * cycle_len;
    long long p = 1;
    for (int i = 0; i < n_cycles; i++) p *= cycle_mult;
    return (int)(cycle_len * (p - 1) / (cycle_mult - 1));
}

double fc_sgdr_lr(double lr_max, int n_cycles, int cycle_len, int cycle_mult, double pos) {
    int n_epoch = fc_sgdr_n_epoch(n_cycles, cycle_len, cycle_mult);
    if (n_epoch == 0 || n_cycles > 64) return NAN;
    double pcts[64], s[64], e[64], len = cycle_len;
    for (int i = 0; i < n_cycles; i++, len *= cycle_mult) {
        pcts[i] = len / n_epoch;
        s[i] = lr_max;
        e[i] = 0;
    }
    return combine_cos(n_cycles, pcts, s, e, pos);
}
