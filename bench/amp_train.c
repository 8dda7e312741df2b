/* Mixed precision on this CPU: trains the demo CNN (examples/demo.c: shapes dataset, SGD) with f32,
 * bf16 autocast, and f16 autocast with torch's dynamic loss scaling, from the same init and batch
 * order; prints per-epoch time and valid accuracy. Not named bench_* so bench/run.sh skips it (no
 * PyTorch twin: torch's CPU autocast would run its own bf16 kernels, not comparable).
 * Then times single steps (forward + backward of one batch of 64) of each mode interleaved, 300
 * rounds, and prints the medians: on a shared 2-core VM this is steadier than epoch times.
 * Usage: amp_train [epochs=8] [modes=f32,bf16,f16]
 *        amp_train learner [epochs=5]: the same through the Learner, fit_one_cycle(epochs, 1e-2)
 *        (Adam) as `make demo`, without and with fc_mixed_precision() (bf16) and (.dtype = f16). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "callbacks/grad_scaler_impl.h"
#include "ops/autocast_impl.h"
#include "fastc/fastc.h"

enum { IMG = 24, N_TRAIN = 4000, N_VALID = 1000, BATCH = 64 };

static fc_module *small_cnn(void) {
    return fc_sequential(fc_conv2d_new(1, 8, 3, .padding = 1), fc_relu_new(), fc_maxpool2d_new(2),
                         fc_conv2d_new(8, 16, 3, .padding = 1), fc_relu_new(), fc_maxpool2d_new(2),
                         fc_flatten_new(), fc_linear_new(16 * 6 * 6, FC_SHAPES_N_CLASSES));
}

static void sgd_step(fc_tensor **ps, fc_tensor **vs, int n, double lr, double mom) {
    for (int i = 0; i < n; i++) {
        fc_tensor *g = fc_tensor_grad(ps[i]);
        if (!g) continue;
        float *p = fc_tensor_data(ps[i]), *v = fc_tensor_data(vs[i]);
        const float *d = fc_tensor_data(g);
        for (int64_t k = 0; k < fc_tensor_numel(ps[i]); k++) {
            v[k] = (float)mom * v[k] + d[k];
            p[k] -= (float)lr * v[k];
        }
    }
}

static void zero_grads(fc_tensor **ps, int n) {
    for (int i = 0; i < n; i++) fc_tensor_zero_grad(ps[i]);
}

static void train(const char *mode, int epochs, fc_tensor *xt, fc_tensor *yt, fc_tensor *xv,
                  fc_tensor *yv) {
    fc_dtype dt = !strcmp(mode, "bf16") ? FC_DTYPE_BF16 : !strcmp(mode, "f16") ? FC_DTYPE_F16
                                                                               : FC_DTYPE_F32;
    fc_manual_seed(0);
    fc_module *model = small_cnn();
    check(model != NULL);
    int n_p = fc_module_n_parameters(model);
    fc_tensor *ps[16], *vs[16];
    for (int i = 0; i < n_p; i++) {
        ps[i] = fc_module_parameter(model, i, NULL);
        vs[i] = fc_zeros(fc_tensor_shape(ps[i]));
    }
    fci_grad_scaler scaler = fci_grad_scaler_new(0, 0);
    int n_skipped = 0;
    fc_rng shuffle = fc_rng_new(7);
    int64_t order[N_TRAIN];
    for (int i = 0; i < N_TRAIN; i++) order[i] = i;
    double total_ms = 0, best_ms = 1e30, acc = NAN;
    for (int e = 0; e < epochs; e++) {
        double t0 = now_ms(), train_loss = 0;
        for (int i = N_TRAIN - 1; i > 0; i--) {
            int j = (int)(fc_rng_u32(&shuffle) % (uint32_t)(i + 1));
            int64_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int n_batches = N_TRAIN / BATCH;
        for (int b = 0; b < n_batches; b++) {
            fc_scope *s = fc_scope_begin();
            fc_tensor *idx = fc_from_data(order + b * BATCH, FC_SHAPE(BATCH), .dtype = FC_DTYPE_I64);
            /* MixedPrecision's events by hand: before_batch .. after_pred in autocast */
            if (dt != FC_DTYPE_F32) check(fc_autocast_begin(dt) == FC_OK);
            fc_tensor *pred = fc_module_forward(model, fc_index_select(xt, 0, idx));
            if (dt != FC_DTYPE_F32) check(fc_autocast_end() == FC_OK);
            fc_tensor *loss = fc_cross_entropy(pred, fc_index_select(yt, 0, idx));
            int skip = 0;
            if (dt == FC_DTYPE_F16) {
                check(fc_backward(fci_grad_scaler_scale(&scaler, loss)) == FC_OK);
                fc_tensor *gs[16];
                for (int i = 0; i < n_p; i++) gs[i] = fc_tensor_grad(ps[i]);
                check(fci_grad_scaler_unscale(&scaler, gs, n_p) == FC_OK);
                skip = scaler.found_inf;
                fci_grad_scaler_update(&scaler);
            } else {
                check(fc_backward(loss) == FC_OK);
            }
            if (!skip) sgd_step(ps, vs, n_p, 0.05, 0.9);
            n_skipped += skip;
            zero_grads(ps, n_p);
            train_loss += fc_tensor_item(loss);
            fc_scope_end(s);
        }
        double ms = now_ms() - t0;
        total_ms += ms;
        if (ms < best_ms) best_ms = ms;
        fc_scope *s = fc_scope_begin();
        fc_module_eval(model);
        fc_no_grad_begin();
        if (dt != FC_DTYPE_F32) check(fc_autocast_begin(dt) == FC_OK);
        fc_tensor *logits = fc_module_forward(model, xv);
        if (dt != FC_DTYPE_F32) check(fc_autocast_end() == FC_OK);
        double valid_loss = fc_tensor_item(fc_cross_entropy(logits, yv));
        fc_tensor *pred = fc_argmax(logits, 1, 0);
        acc = fc_tensor_item(fc_mean(fc_to_dtype(fc_eq(pred, yv), FC_DTYPE_F32), FC_ALL_DIMS, 0));
        fc_no_grad_end();
        fc_module_train(model, 1);
        fc_scope_end(s);
        printf("%-5s epoch %d  train_loss %.4f  valid_loss %.4f  accuracy %.4f  %.0f ms\n", mode, e,
               train_loss / n_batches, valid_loss, acc, ms);
    }
    printf("SUMMARY %-5s epochs %d  final_accuracy %.4f  mean_epoch_ms %.0f  best_epoch_ms %.0f"
           "  skipped_steps %d  final_scale %g\n", mode, epochs, acc, total_ms / epochs, best_ms,
           n_skipped, dt == FC_DTYPE_F16 ? (double)scaler.scale : 1.0);
    for (int i = 0; i < n_p; i++) fc_tensor_free(vs[i]);
    fc_module_free(model);
}

/* Median ms of forward + backward of one batch per mode, the modes interleaved round by round. */
static void step_bench(fc_tensor *xt, fc_tensor *yt) {
    enum { ROUNDS = 300 };
    static const fc_dtype dts[3] = {FC_DTYPE_F32, FC_DTYPE_BF16, FC_DTYPE_F16};
    static const char *names[3] = {"f32", "bf16", "f16"};
    static double ms[3][ROUNDS];
    fc_manual_seed(0);
    fc_module *model = small_cnn();
    check(model != NULL);
    int n_p = fc_module_n_parameters(model);
    fc_tensor *ps[16];
    for (int i = 0; i < n_p; i++) ps[i] = fc_module_parameter(model, i, NULL);
    fc_tensor *x = fc_keep(fc_narrow(xt, 0, 0, BATCH)), *y = fc_keep(fc_narrow(yt, 0, 0, BATCH));
    for (int r = -10; r < ROUNDS; r++) { /* 10 warm-up rounds */
        for (int m = 0; m < 3; m++) {
            double t0 = now_ms();
            fc_scope *s = fc_scope_begin();
            if (m) check(fc_autocast_begin(dts[m]) == FC_OK);
            fc_tensor *pred = fc_module_forward(model, x);
            if (m) check(fc_autocast_end() == FC_OK);
            check(fc_backward(fc_cross_entropy(pred, y)) == FC_OK);
            fc_scope_end(s);
            zero_grads(ps, n_p);
            if (r >= 0) ms[m][r] = now_ms() - t0;
        }
    }
    for (int m = 0; m < 3; m++) {
        qsort(ms[m], ROUNDS, sizeof(double), cmp);
        printf("STEP %-5s median %.3f ms  p10 %.3f ms  (forward + backward, batch %d, %d rounds)\n",
               names[m], ms[m][ROUNDS / 2], ms[m][ROUNDS / 10], BATCH, ROUNDS);
    }
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_module_free(model);
}

/* The same for one larger layer, conv3x3 64->64 on [32, 64, 32, 32] (a ResNet stage), where the
 * GEMM work per rounded element is 9 * 64 * 2 flops; and the rounding kernel alone. */
static void layer_bench(void) {
    enum { ROUNDS = 15 };
    static const fc_dtype dts[3] = {FC_DTYPE_F32, FC_DTYPE_BF16, FC_DTYPE_F16};
    static const char *names[3] = {"f32", "bf16", "f16"};
    static double ms[3][ROUNDS];
    fc_manual_seed(0);
    fc_tensor *x = fc_keep(fc_randn(FC_SHAPE(32, 64, 32, 32)));
    fc_tensor *w = fc_keep(fc_requires_grad(fc_mul_scalar(fc_randn(FC_SHAPE(64, 64, 3, 3)), 0.05)));
    fc_tensor_set_requires_grad(x, 1);
    for (int r = -2; r < ROUNDS; r++) {
        for (int m = 0; m < 3; m++) {
            double t0 = now_ms();
            fc_scope *s = fc_scope_begin();
            if (m) check(fc_autocast_begin(dts[m]) == FC_OK);
            fc_tensor *y = fc_conv2d(x, w, NULL, .padding = {1, 1});
            if (m) check(fc_autocast_end() == FC_OK);
            check(fc_backward(fc_sum(y, FC_ALL_DIMS, 0)) == FC_OK);
            fc_scope_end(s);
            fc_tensor_zero_grad(x);
            fc_tensor_zero_grad(w);
            if (r >= 0) ms[m][r] = now_ms() - t0;
        }
    }
    for (int m = 0; m < 3; m++) {
        qsort(ms[m], ROUNDS, sizeof(double), cmp);
        printf("LAYER %-5s conv3x3 64->64 [32,64,32,32] fwd+bwd median %.1f ms  min %.1f ms\n",
               names[m], ms[m][ROUNDS / 2], ms[m][0]);
    }
    int64_t n = fc_tensor_numel(x);
    fc_tensor *rx = NULL;
    double best = 1e30;
    for (int r = 0; r < 20; r++) {
        double t0 = now_ms();
        fc_no_grad_begin();
        rx = fci_autocast_round(x, FC_DTYPE_BF16);
        fc_no_grad_end();
        double t = now_ms() - t0;
        fc_tensor_free(rx);
        if (t < best) best = t;
    }
    printf("ROUND bf16 %lld floats: %.2f ms (%.1f GB/s read+write)\n", (long long)n, best,
           8.0 * (double)n / best * 1e-6);
    fc_tensor_free(x);
    fc_tensor_free(w);
}

/* fastc_demo's training with and without MixedPrecision; f32 first, then bf16, then f16. */
static void learner_bench(int epochs, fc_tensor *xt, fc_tensor *yt, fc_tensor *xv, fc_tensor *yv) {
    static const char *names[3] = {"f32", "bf16", "f16"};
    for (int m = 0; m < 3; m++) {
        fc_manual_seed(0);
        fc_dataloaders *dls = fc_tensor_dls(xt, yt, xv, yv, .bs = BATCH);
        fc_callback *mp = m == 0 ? NULL
                          : fc_mixed_precision(.dtype = m == 1 ? FC_DTYPE_BF16 : FC_DTYPE_F16);
        fc_learner *learn = fc_learner(dls, small_cnn(), .quiet = 1,
                                       .metrics = FC_METRICS(fc_accuracy()));
        check(learn != NULL);
        if (mp) check(fc_learner_add_cb(learn, mp) == FC_OK);
        double t0 = now_ms();
        check(fc_fit_one_cycle(learn, epochs, 1e-2) == FC_OK);
        double ms = now_ms() - t0, loss, acc;
        check(fc_learner_validate(learn, NULL, &loss, &acc) == FC_OK);
        printf("LEARNER %-5s fit_one_cycle(%d, 1e-2): valid_loss %.4f  accuracy %.4f  %.0f ms/epoch"
               " (train + valid)  loss_scale %g\n", names[m], epochs, loss, acc, ms / epochs,
               fc_mixed_precision_scale(fc_learner_cb(learn, "MixedPrecision")));
        fc_learner_free(learn);
    }
}

int main(int argc, char **argv) {
    int use_learner = argc > 1 && !strcmp(argv[1], "learner");
    int epochs = argc > 1 + use_learner ? atoi(argv[1 + use_learner]) : use_learner ? 5 : 8;
    const char *modes = argc > 2 ? argv[2] : "f32,bf16,f16";
    fc_tensor *xt, *yt, *xv, *yv;
    check(fc_shapes_dataset(N_TRAIN, IMG, 1, &xt, &yt) == FC_OK);
    check(fc_shapes_dataset(N_VALID, IMG, 2, &xv, &yv) == FC_OK);
    if (use_learner) {
        learner_bench(epochs, xt, yt, xv, yv);
        modes = "";
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s", modes);
    for (char *m = strtok(buf, ","); m; m = strtok(NULL, ",")) train(m, epochs, xt, yt, xv, yv);
    if (!use_learner) {
        step_bench(xt, yt);
        layer_bench();
    }
    fc_tensor_free(xt);
    fc_tensor_free(yt);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
    return 0;
}
