/* The demo's CNN trained with a loop written by hand with the low-level API (tensors, autograd,
 * ops, nn modules): what the Learner does for you, one layer down. build/fastc_manual_loop
 * [EPOCHS LR MOMENTUM] prints loss and accuracy per epoch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastc/fastc.h"

enum { IMG = 24, N_TRAIN = 4000, N_VALID = 1000, BATCH = 64 };

/* The model: nn modules with PyTorch's layers, names and default init. */
static fc_module *small_cnn(void) {
    return fc_sequential(fc_conv2d_new(1, 8, 3, .padding = 1), fc_relu_new(), fc_maxpool2d_new(2),
                         fc_conv2d_new(8, 16, 3, .padding = 1), fc_relu_new(), fc_maxpool2d_new(2),
                         fc_flatten_new(), fc_linear_new(16 * 6 * 6, FC_SHAPES_N_CLASSES));
}

/* SGD with momentum, as torch.optim.SGD: v = mom * v + g; p -= lr * v. */
static fc_status sgd_step(fc_tensor **ps, fc_tensor **vs, int n, double lr, double mom) {
    fc_no_grad_begin();
    for (int i = 0; i < n; i++) {
        fc_tensor *g = fc_tensor_grad(ps[i]);
        if (!g) continue;
        float *p = fc_tensor_data(ps[i]), *v = fc_tensor_data(vs[i]);
        const float *d = fc_tensor_data(g);
        for (int64_t k = 0; k < fc_tensor_numel(ps[i]); k++) {
            v[k] = (float)mom * v[k] + d[k];
            p[k] -= (float)lr * v[k];
        }
        fc_tensor_zero_grad(ps[i]);
    }
    fc_no_grad_end();
    return FC_OK;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 8;
    double lr = argc > 2 ? atof(argv[2]) : 0.05;
    double mom = argc > 3 ? atof(argv[3]) : 0.9;
    fc_manual_seed(0);
    fc_tensor *xt, *yt, *xv, *yv;
    fc_status st = fc_shapes_dataset(N_TRAIN, IMG, 1, &xt, &yt);
    if (st == FC_OK) st = fc_shapes_dataset(N_VALID, IMG, 2, &xv, &yv);
    if (st != FC_OK) return fc_report(st);
    printf("fastc demo: a small CNN learns to tell circles, squares, triangles and crosses apart\n");
    printf("data: %d train + %d valid generated %dx%d images, 4 classes; SGD lr %g momentum %g, batch %d\n\n",
           N_TRAIN, N_VALID, IMG, IMG, lr, mom, BATCH);
    fc_module *model = small_cnn();
    if (!model) return fc_report(fc_error_code());
    fc_module_print_summary(model, FC_SHAPE(BATCH, 1, IMG, IMG), stdout);
    printf("\n");
    int n_p = fc_module_n_parameters(model);
    fc_tensor *ps[16], *vs[16];
    for (int i = 0; i < n_p && i < 16; i++) ps[i] = fc_module_parameter(model, i, NULL);
    for (int i = 0; i < n_p; i++) vs[i] = fc_zeros(fc_tensor_shape(ps[i])); /* momentum buffers */
    printf("%5s  %10s  %10s  %8s  %6s\n", "epoch", "train_loss", "valid_loss", "accuracy", "time");
    fc_rng shuffle = fc_rng_new(7);
    int64_t order[N_TRAIN];
    for (int i = 0; i < N_TRAIN; i++) order[i] = i;
    for (int e = 0; e < epochs && st == FC_OK; e++) {
        double t0 = now(), train_loss = 0;
        for (int i = N_TRAIN - 1; i > 0; i--) { /* Fisher-Yates with our seeded generator */
            int j = (int)(fc_rng_u32(&shuffle) % (uint32_t)(i + 1));
            int64_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int n_batches = N_TRAIN / BATCH;
        for (int b = 0; b < n_batches && st == FC_OK; b++) {
            fc_scope *s = fc_scope_begin();
            fc_tensor *idx = fc_from_data(order + b * BATCH, FC_SHAPE(BATCH), .dtype = FC_DTYPE_I64);
            fc_tensor *loss = fc_cross_entropy(fc_module_forward(model, fc_index_select(xt, 0, idx)),
                                               fc_index_select(yt, 0, idx));
            st = fc_backward(loss);
            if (st == FC_OK) st = sgd_step(ps, vs, n_p, lr, mom);
            train_loss += fc_tensor_item(loss);
            fc_scope_end(s);
        }
        /* validation, no gradient */
        fc_scope *s = fc_scope_begin();
        fc_module_eval(model);
        fc_no_grad_begin();
        fc_tensor *logits = fc_module_forward(model, xv);
        double valid_loss = fc_tensor_item(fc_cross_entropy(logits, yv));
        fc_tensor *pred = fc_argmax(logits, 1, 0);
        double acc = fc_tensor_item(fc_mean(fc_to_dtype(fc_eq(fc_to_dtype(pred, FC_DTYPE_F32),
                                                              fc_to_dtype(yv, FC_DTYPE_F32)),
                                                        FC_DTYPE_F32), FC_ALL_DIMS, 0));
        fc_no_grad_end();
        fc_module_train(model, 1);
        fc_scope_end(s);
        if (isnan(acc)) st = fc_error_code();
        else printf("%5d  %10.4f  %10.4f  %8.4f  %5.1fs\n", e, train_loss / n_batches, valid_loss,
                    acc, now() - t0);
    }
    for (int i = 0; i < n_p; i++) fc_tensor_free(vs[i]);
    fc_module_free(model);
    fc_tensor_free(xt);
    fc_tensor_free(yt);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
    return fc_report(st);
}
