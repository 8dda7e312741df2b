/* Losses against PyTorch (each reduction, class weights, ignore_index, label smoothing, [N, C, d]
 * logits, broadcasting, non-contiguous inputs), gradchecks and error messages. */
#include <string.h>

#include "fct.h"

static fct_fixture load(const char *name) {
    char path[64];
    snprintf(path, sizeof path, "ops/%s", name);
    return fct_load(path);
}

static int has(const fct_fixture *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->names[i], name)) return 1;
    return 0;
}

/* class losses: x0 logits (transposed when 't'), t target, optional w; ignore index 2 or 1 */
static void check_class(const char *name, int is_ce, fc_reduction red, int64_t ignore,
                        double smoothing, int transposed) {
    fct_fixture fx = load(name);
    fc_tensor *x = fc_requires_grad(fct_get(&fx, "x0"));
    if (!x) return fct_fixture_free(&fx);
    fc_tensor *w = has(&fx, "w") ? fct_get(&fx, "w") : NULL, *t = fct_get(&fx, "t");
    fc_tensor *xi = transposed ? fc_transpose(x, 0, 1) : x, *y;
    if (is_ce)
        y = fc_cross_entropy(xi, t, .reduction = red, .weight = w, .ignore_index = ignore,
                             .has_ignore_index = ignore >= 0, .label_smoothing = smoothing);
    else
        y = fc_nll_loss(xi, t, .reduction = red, .weight = w, .ignore_index = ignore,
                        .has_ignore_index = ignore >= 0);
    if (!FCT_NOTNULL(y)) return fct_fixture_free(&fx);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(x), fct_get(&fx, "dx0"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_cross_entropy_matches_pytorch) {
    const char *plain[3] = {"ce_mean", "ce_sum", "ce_none"};
    const char *full[3] = {"ce_full_mean", "ce_full_sum", "ce_full_none"};
    for (int r = 0; r < 3; r++) {
        check_class(plain[r], 1, (fc_reduction)r, -1, 0, 0);
        check_class(full[r], 1, (fc_reduction)r, 2, 0.1, 0);
    }
    check_class("ce_smooth", 1, FC_REDUCTION_MEAN, -1, 0.2, 0);
    check_class("ce_weight", 1, FC_REDUCTION_MEAN, -1, 0, 0);
    check_class("ce_t", 1, FC_REDUCTION_MEAN, 2, 0, 1);
    check_class("ce_nd", 1, FC_REDUCTION_MEAN, 1, 0.15, 0);
    check_class("ce_nd_none", 1, FC_REDUCTION_NONE, -1, 0, 0);
}

FCT_TEST(test_nll_loss_matches_pytorch) {
    check_class("nll_mean", 0, FC_REDUCTION_MEAN, 2, 0, 0);
    check_class("nll_none", 0, FC_REDUCTION_NONE, -1, 0, 0);
}

typedef fc_tensor *(*pair_loss)(fc_tensor *, fc_tensor *, const fc_loss_opts *);

static void check_pair(const char *name, pair_loss f, fc_loss_opts o, int transposed) {
    fct_fixture fx = load(name);
    fc_tensor *a = fc_requires_grad(fct_get(&fx, "x0")), *b = fc_requires_grad(fct_get(&fx, "x1"));
    if (!a || !b) return fct_fixture_free(&fx);
    if (has(&fx, "w")) o.weight = fct_get(&fx, "w");
    if (has(&fx, "pw")) o.pos_weight = fct_get(&fx, "pw");
    fc_tensor *y = f(transposed ? fc_transpose(a, 0, 1) : a, b, &o);
    FCT_CLOSE(y, fct_get(&fx, "y"), 1e-6, 1e-5);
    FCT_OK(fc_backward_with(y, fct_get(&fx, "dy")));
    FCT_CLOSE(fc_tensor_grad(a), fct_get(&fx, "dx0"), 1e-6, 1e-5);
    FCT_CLOSE(fc_tensor_grad(b), fct_get(&fx, "dx1"), 1e-6, 1e-5);
    fct_fixture_free(&fx);
}

FCT_TEST(test_regression_losses_match_pytorch) {
    const char *kinds[3] = {"mse", "l1", "smooth_l1"};
    pair_loss fns[3] = {fc_mse_loss_, fc_l1_loss_, fc_smooth_l1_loss_};
    const char *reds[3] = {"mean", "sum", "none"};
    for (int k = 0; k < 3; k++) {
        char name[64];
        for (int r = 0; r < 3; r++) {
            snprintf(name, sizeof name, "%s_%s", kinds[k], reds[r]);
            check_pair(name, fns[k], (fc_loss_opts){.reduction = (fc_reduction)r}, 0);
        }
        snprintf(name, sizeof name, "%s_bcast", kinds[k]);
        check_pair(name, fns[k], (fc_loss_opts){0}, 1);
    }
    check_pair("smooth_l1_beta", fc_smooth_l1_loss_, (fc_loss_opts){.beta = 0.5}, 0);
}

FCT_TEST(test_bce_with_logits_matches_pytorch) {
    check_pair("bce_mean", fc_bce_with_logits_, (fc_loss_opts){.reduction = FC_REDUCTION_MEAN}, 0);
    check_pair("bce_sum", fc_bce_with_logits_, (fc_loss_opts){.reduction = FC_REDUCTION_SUM}, 0);
    check_pair("bce_none", fc_bce_with_logits_, (fc_loss_opts){.reduction = FC_REDUCTION_NONE}, 0);
    check_pair("bce_plain", fc_bce_with_logits_, (fc_loss_opts){0}, 1);
}

FCT_TEST(test_cross_entropy_all_ignored_mean_is_nan) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 3));
    fc_tensor *t = fc_from_data(((int64_t[]){-100, -100}), FC_SHAPE(2), .dtype = FC_DTYPE_I64);
    FCT_TRUE(isnan(fc_tensor_item(fc_cross_entropy(x, t, .ignore_index = -100, .has_ignore_index = 1))));
}

FCT_TEST(test_cross_entropy_accepts_i32_targets) {
    fc_tensor *x = fc_zeros(FC_SHAPE(2, 4));
    fc_tensor *t = fc_from_data(((int32_t[]){1, 3}), FC_SHAPE(2), .dtype = FC_DTYPE_I32);
    FCT_NEAR(fc_tensor_item(fc_cross_entropy(x, t)), log(4.0), 1e-6);
}

/* ctx selects the loss; in[0] logits/input, in[1] the regression target */
static fc_tensor *loss_gc(fc_tensor **in, void *ctx) {
    static const int64_t tv[4] = {0, 2, 1, 2};
    fc_tensor *t = fc_from_data(tv, FC_SHAPE(4), .dtype = FC_DTYPE_I64);
    fc_tensor *w = fc_from_data(((float[]){0.5f, 2.0f, 1.5f}), FC_SHAPE(3));
    switch ((int)(intptr_t)ctx) {
    case 0: return fc_cross_entropy(in[0], t, .weight = w, .label_smoothing = 0.1, .ignore_index = 1,
                                     .has_ignore_index = 1);
    case 1: return fc_cross_entropy(in[0], t, .reduction = FC_REDUCTION_NONE);
    case 2: return fc_nll_loss(in[0], t, .weight = w, .reduction = FC_REDUCTION_SUM);
    case 3: return fc_mse_loss(in[0], in[1]);
    case 4: return fc_smooth_l1_loss(in[0], in[1], .beta = 3.0);
    case 5: return fc_l1_loss(in[0], in[1], .reduction = FC_REDUCTION_SUM);
    default: return fc_bce_with_logits(in[0], in[1], .pos_weight = w, .reduction = FC_REDUCTION_NONE);
    }
}

FCT_TEST(test_loss_gradcheck) {
    for (int k = 0; k < 7; k++) {
        fc_tensor *in[2] = {fc_requires_grad(fct_randn(FC_SHAPE(4, 3), 40 + (uint64_t)k)),
                            fc_requires_grad(fct_randn(FC_SHAPE(4, 3), 50 + (uint64_t)k))};
        if (k == 5) { /* keep |x - y| away from the kink at 0 */
            float *p = fc_tensor_data(in[1]);
            for (int i = 0; i < 12; i++) p[i] = ((float *)fc_tensor_data(in[0]))[i] + (i % 2 ? 0.5f : -0.5f);
        }
        FCT_EQ_INT(FCT_GRADCHECK(loss_gc, (void *)(intptr_t)k, k < 3 ? 1 : 2, in), 0);
        fc_tensor_free(in[0]);
        fc_tensor_free(in[1]);
    }
}

FCT_TEST(test_loss_errors) {
    fc_tensor *x = fc_zeros(FC_SHAPE(3, 4));
    fc_tensor *t = fc_from_data(((int64_t[]){0, 7, 2}), FC_SHAPE(3), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_cross_entropy(x, t));
    FCT_ERROR(FC_ERR_ARG, "cross_entropy: target at position 1 is 7, expected a class index in [0, 4)");
    fc_tensor *tn = fc_from_data(((int64_t[]){0, -1, -5}), FC_SHAPE(3), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_nll_loss(x, tn, .ignore_index = -1, .has_ignore_index = 1));
    FCT_ERROR(FC_ERR_ARG, "nll_loss: target at position 2 is -5, expected a class index in [0, 4) or ignore_index -1");
    FCT_NULL(fc_cross_entropy(x, fc_zeros(FC_SHAPE(4), .dtype = FC_DTYPE_I64)));
    FCT_ERROR(FC_ERR_SHAPE, "cross_entropy: expected target of shape [3] for input [3, 4], found [4]");
    FCT_NULL(fc_cross_entropy(x, fc_zeros(FC_SHAPE(3))));
    FCT_ERROR(FC_ERR_DTYPE, "cross_entropy: expected target of dtype i64 or i32, found f32");
    FCT_NULL(fc_cross_entropy(x, t, .weight = fc_ones(FC_SHAPE(3))));
    FCT_ERROR(FC_ERR_SHAPE, "expected weight of shape [4] (one per class), found [3]");
    FCT_NULL(fc_cross_entropy(x, t, .label_smoothing = 1.5));
    FCT_ERROR(FC_ERR_ARG, ".label_smoothing must be in [0, 1], found 1.5");
    FCT_NULL(fc_mse_loss(x, fc_zeros(FC_SHAPE(2, 4))));
    FCT_ERROR(FC_ERR_SHAPE, "mse_loss: shapes [3, 4] and [2, 4] do not broadcast");
    FCT_NULL(fc_l1_loss(x, x, .reduction = (fc_reduction)7));
    FCT_ERROR(FC_ERR_ARG, "l1_loss: .reduction must be mean, sum or none, found 7");
    FCT_NULL(fc_bce_with_logits(x, x, .pos_weight = fc_ones(FC_SHAPE(5))));
    FCT_ERROR(FC_ERR_SHAPE, "bce_with_logits");
    FCT_NULL(fc_smooth_l1_loss(x, x, .beta = -1));
    FCT_ERROR(FC_ERR_ARG, "smooth_l1_loss: .beta must be >= 0, found -1");
    FCT_NULL(fc_cross_entropy(NULL, t));
    FCT_NULL(fc_mse_loss(x, NULL));
}
