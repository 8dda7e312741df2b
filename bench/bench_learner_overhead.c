/* The learner's loop overhead: the same tiny MLP on the same DataLoader trained one epoch (train +
 * validation with an accuracy metric) by a bare loop and by fc_fit (Recorder, ProgressBar to
 * /dev/null, the metric). Reports the median epoch time of each and the per-batch overhead. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "fastc/fastc.h"

enum { N_TRAIN = 4096, N_VALID = 1024, N_IN = 256, BS = 64, REPS = 15 };

typedef struct acc {
    double right, total;
} acc;
static void acc_reset(void *s) { *(acc *)s = (acc){0, 0}; }
static fc_status acc_add(void *s, fc_tensor *pred, fc_tensor *targ, double loss, int64_t bs) {
    acc *a = s;
    fc_tensor *am = fc_argmax(pred, 1, 0);
    if (!am) return fc_error_code();
    const int64_t *p = fc_tensor_data(am), *t = fc_tensor_data(targ);
    for (int64_t i = 0; i < bs; i++) a->right += p[i] == t[i];
    a->total += (double)bs;
    return FC_OK;
}
static double acc_value(void *s) {
    acc *a = s;
    return a->total > 0 ? a->right / a->total : NAN;
}
static const fc_metric_def acc_def = {.name = "accuracy", .reset = acc_reset, .accumulate = acc_add,
                                      .value = acc_value, .free_state = free};

static fc_module *tiny_mlp(void) {
    return fc_sequential(fc_linear_new(N_IN, 64), fc_relu_new(), fc_linear_new(64, 4));
}

static fc_dataloaders *make_dls(void) {
    fc_tensor *xt = fc_randn(FC_SHAPE(N_TRAIN, N_IN)), *yt = fc_randint(0, 4, FC_SHAPE(N_TRAIN));
    fc_tensor *xv = fc_randn(FC_SHAPE(N_VALID, N_IN)), *yv = fc_randint(0, 4, FC_SHAPE(N_VALID));
    fc_dataloaders *dls = fc_tensor_dls(xt, yt, xv, yv, .bs = BS);
    fc_tensor_free(xt);
    fc_tensor_free(yt);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
    return dls;
}

/* One epoch by hand: what fc_fit does, without events. */
static void bare_epoch(fc_dataloaders *dls, fc_module *m, fc_optimizer *opt, int epoch) {
    fc_module_train(m, 1);
    fc_tuple b;
    check(fc_dataloader_start(dls->train, epoch) == FC_OK);
    while (fc_dataloader_next(dls->train, &b) == 1) {
        fc_scope *s = fc_scope_begin();
        fc_tensor *loss = fc_cross_entropy(fc_module_forward(m, b.v[0].t), b.v[1].t);
        check(loss != NULL);
        volatile double v = fc_tensor_item(loss);
        (void)v;
        check(fc_backward(loss) == FC_OK && fc_optimizer_step(opt) == FC_OK);
        fc_optimizer_zero_grad(opt);
        fc_scope_end(s);
        fc_tuple_free(&b);
    }
    fc_module_eval(m);
    fc_no_grad_begin();
    acc a = {0, 0};
    check(fc_dataloader_start(dls->valid, epoch) == FC_OK);
    while (fc_dataloader_next(dls->valid, &b) == 1) {
        fc_scope *s = fc_scope_begin();
        fc_tensor *pred = fc_module_forward(m, b.v[0].t);
        fc_tensor *loss = fc_cross_entropy(pred, b.v[1].t);
        check(loss != NULL);
        acc_add(&a, pred, b.v[1].t, fc_tensor_item(loss), fc_tensor_dim(b.v[1].t, 0));
        fc_scope_end(s);
        fc_tuple_free(&b);
    }
    fc_no_grad_end();
}

int main(void) {
    fc_manual_seed(0);
    fc_dataloaders *dls_bare = make_dls();
    fc_module *m_bare = tiny_mlp();
    fc_optimizer *opt = fc_opt_adam(fc_params_of(m_bare));
    FILE *devnull = fopen("/dev/null", "w");
    fc_manual_seed(0);
    fc_learner *learn = fc_learner(make_dls(), tiny_mlp(), .metrics = FC_METRICS(fc_metric_new(&acc_def, calloc(1, sizeof(acc)))),
                                   .log = devnull);
    check(learn != NULL && opt != NULL);
    int64_t n_batches = fc_dataloader_len(dls_bare->train) + fc_dataloader_len(dls_bare->valid);
    double tb[REPS], tl[REPS];
    bare_epoch(dls_bare, m_bare, opt, 0); /* warm up both */
    check(fc_fit(learn, 1) == FC_OK);
    for (int r = 0; r < REPS; r++) { /* interleaved, so machine noise hits both alike */
        double t0 = now_ms();
        bare_epoch(dls_bare, m_bare, opt, r + 1);
        tb[r] = now_ms() - t0;
        t0 = now_ms();
        check(fc_fit(learn, 1) == FC_OK);
        tl[r] = now_ms() - t0;
    }
    qsort(tb, REPS, sizeof(double), cmp);
    qsort(tl, REPS, sizeof(double), cmp);
    double b = tb[REPS / 2], l = tl[REPS / 2];
    printf("learner overhead: tiny MLP %d-64-4, bs %d, %lld batches/epoch (train + valid), %d threads\n", N_IN, BS,
           (long long)n_batches, fc_num_threads());
    printf("  bare loop   %8.2f ms/epoch  %7.1f us/batch\n", b, b * 1e3 / (double)n_batches);
    printf("  fc_fit      %8.2f ms/epoch  %7.1f us/batch\n", l, l * 1e3 / (double)n_batches);
    printf("  overhead    %+7.2f%%  (%+.1f us/batch)\n", 100 * (l - b) / b, (l - b) * 1e3 / (double)n_batches);
    fc_learner_free(learn);
    fc_optimizer_free(opt);
    fc_module_free(m_bare);
    fc_dataloaders_free(dls_bare);
    fclose(devnull);
    return 0;
}
