/* MixUp and CutMix (fastai 2.7's semantics) and the Gamma/Beta draws under them: the moments of
 * the draws; the mixed batch rebuilt by hand from the recorded partner permutation, lam and box;
 * the mixed loss computed by hand (MSE and cross entropy, item by item); validation untouched;
 * and short fits that still learn. */
#include "callbacks/mixup_impl.h"
#include "tiny.h"

/* ---- Gamma and Beta ---- */

static void moments(double (*draw)(fc_rng *, double, double), double a, double b, int n, double *mean, double *var) {
    fc_rng g = fc_rng_new(1234);
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double v = draw(&g, a, b);
        s += v;
        s2 += v * v;
    }
    *mean = s / n;
    *var = s2 / n - *mean * *mean;
}
static double gamma_draw(fc_rng *g, double k, double unused) { return fc_rng_gamma(g, k); }

FCT_TEST(test_rng_beta_mean_and_variance) {
    const double ab[][2] = {{0.2, 0.2}, {0.4, 0.4}, {1, 1}, {2.5, 2.5}, {2, 5}, {0.5, 3}};
    for (int k = 0; k < 6; k++) {
        double a = ab[k][0], b = ab[k][1], mean, var;
        moments(fc_rng_beta, a, b, 200000, &mean, &var);
        double want_mean = a / (a + b), want_var = a * b / ((a + b) * (a + b) * (a + b + 1));
        FCT_NEAR(mean, want_mean, 0.005);
        FCT_NEAR(var, want_var, 0.03 * want_var);
    }
}

FCT_TEST(test_rng_gamma_mean_and_variance) {
    const double shapes[] = {0.3, 1, 4.5};
    for (int k = 0; k < 3; k++) {
        double mean, var, s = shapes[k];
        moments(gamma_draw, s, 0, 200000, &mean, &var);
        FCT_NEAR(mean, s, 0.01 * s + 0.005); /* Gamma(k, 1): mean k, variance k */
        FCT_NEAR(var, s, 0.03 * s);
    }
    /* tiny shapes: draws underflow, Beta still gives values in [0, 1] split about evenly */
    fc_rng g = fc_rng_new(7);
    int lo = 0, hi = 0;
    for (int i = 0; i < 1000; i++) {
        double v = fc_rng_beta(&g, 1e-3, 1e-3);
        FCT_TRUE(v >= 0 && v <= 1);
        lo += v < 0.01;
        hi += v > 0.99;
    }
    FCT_TRUE(lo + hi >= 980 && lo > 400 && hi > 400);
}

FCT_TEST(test_rng_beta_rejects_bad_parameters) {
    fc_rng g = fc_rng_new(1);
    FCT_TRUE(isnan(fc_rng_beta(&g, 0, 1)));
    FCT_ERROR(FC_ERR_ARG, "rng_beta: expected a generator and a, b > 0, found one, 0 and 1");
    FCT_TRUE(isnan(fc_rng_gamma(&g, -2)));
    FCT_ERROR(FC_ERR_ARG, "rng_gamma: expected a generator and shape > 0");
    FCT_TRUE(isnan(fc_rng_gamma(NULL, 1)));
    FCT_ERROR(FC_ERR_ARG, "found NULL");
}

/* ---- probes around the mixing callback ---- */

typedef struct mixprobe {
    const char *cb_name;     /* "MixUp" or "CutMix" */
    float x[4096];           /* the input before mixing (order -5) */
    int64_t numel;
    int64_t n_train, n_valid;       /* batches seen after mixing */
    int64_t n_valid_changed;        /* validation batches whose input changed */
    int64_t n_nonempty_box;
    double max_x_err;        /* |mixed - expected| */
    double max_lam_err;      /* CutMix: |lam - (1 - area / (H W))| */
    double max_loss_err;     /* |loss - hand-computed| / max(1, loss) */
    double sum_one_minus_lam;
    int64_t n_items;
    int n_classes;           /* 0: MSE regression, else cross entropy over this many classes */
    int bad_perm, bad_lam;
} mixprobe;

static fci_mixup *mix_state(fc_learner *learn, const mixprobe *p) {
    return fc_callback_state(fc_learner_cb(learn, p->cb_name));
}

static int pre_before_batch(fc_learner *learn, void *state) {
    mixprobe *p = state;
    fc_tensor *x = fc_learner_xb(learn, 0);
    p->numel = fc_tensor_numel(x);
    if (p->numel <= 4096) fc_tensor_copy_out(x, p->x, FC_DTYPE_F32);
    return FC_CONTINUE;
}

static int post_before_batch(fc_learner *learn, void *state) {
    mixprobe *p = state;
    fci_mixup *s = mix_state(learn, p);
    fc_tensor *x = fc_learner_xb(learn, 0);
    int64_t n = fc_tensor_numel(x), bs = fc_tensor_dim(x, 0), per = n / bs;
    float mixed[4096];
    if (n > 4096 || n != p->numel) return FC_CONTINUE;
    fc_tensor_copy_out(x, mixed, FC_DTYPE_F32);
    if (!fc_learner_training(learn)) {
        p->n_valid++;
        p->n_valid_changed += s->active || memcmp(mixed, p->x, (size_t)n * sizeof(float)) != 0;
        return FC_CONTINUE;
    }
    p->n_train++;
    if (!s->active || s->bs != bs) {
        p->bad_perm = 1;
        return FC_CONTINUE;
    }
    int seen[256] = {0};
    for (int64_t i = 0; i < bs; i++) {
        if (s->perm[i] < 0 || s->perm[i] >= bs || seen[s->perm[i]]++) p->bad_perm = 1;
        if (!(s->lam[i] >= 0.5 && s->lam[i] <= 1) && !s->cutmix) p->bad_lam = 1;
        p->sum_one_minus_lam += 1 - s->lam[i];
        p->n_items++;
    }
    if (p->bad_perm) return FC_CONTINUE;
    int64_t H = 0, W = 0;
    if (s->cutmix) {
        int nd = fc_tensor_ndim(x);
        H = fc_tensor_dim(x, nd - 2);
        W = fc_tensor_dim(x, nd - 1);
        const int64_t *b = s->box;
        if (b[0] < 0 || b[1] < 0 || b[2] > W || b[3] > H || b[0] > b[2] || b[1] > b[3]) p->bad_lam = 1;
        double area = (double)((b[2] - b[0]) * (b[3] - b[1]));
        p->max_lam_err = fmax(p->max_lam_err, fabs(s->lam[0] - (1 - area / (double)(H * W))));
        p->n_nonempty_box += area > 0;
    }
    for (int64_t i = 0; i < bs; i++)
        for (int64_t j = 0; j < per; j++) {
            double own = p->x[i * per + j], other = p->x[s->perm[i] * per + j], want;
            if (s->cutmix) {
                int64_t yy = (j / W) % H, xx = j % W;
                int in = xx >= s->box[0] && xx < s->box[2] && yy >= s->box[1] && yy < s->box[3];
                want = in ? other : own; /* exact */
            } else {
                want = s->lam[i] * own + (1 - s->lam[i]) * other;
            }
            p->max_x_err = fmax(p->max_x_err, fabs(mixed[i * per + j] - want));
        }
    return FC_CONTINUE;
}

/* The per-item loss of row i of pred against target row t of y, in double. */
static double item_loss(const mixprobe *p, fc_tensor *pred, fc_tensor *y, int64_t i, int64_t t) {
    if (!p->n_classes) {
        double d = fc_tensor_get(pred, i) - fc_tensor_get(y, t);
        return d * d;
    }
    int C = p->n_classes;
    double mx = -INFINITY, se = 0;
    for (int c = 0; c < C; c++) mx = fmax(mx, fc_tensor_get(pred, i * C + c));
    for (int c = 0; c < C; c++) se += exp(fc_tensor_get(pred, i * C + c) - mx);
    return mx + log(se) - fc_tensor_get(pred, i * C + (int64_t)fc_tensor_get(y, t));
}

static int post_after_loss(fc_learner *learn, void *state) {
    mixprobe *p = state;
    fci_mixup *s = mix_state(learn, p);
    if (!fc_learner_training(learn) || !s->active) return FC_CONTINUE;
    fc_tensor *pred = fc_learner_pred(learn), *y = fc_learner_yb(learn, 0);
    double want = 0;
    for (int64_t i = 0; i < s->bs; i++) {
        double own = item_loss(p, pred, y, i, i), other = item_loss(p, pred, y, i, s->perm[i]);
        want += s->lam[i] * own + (1 - s->lam[i]) * other;
    }
    want /= (double)s->bs;
    double got = fc_learner_loss(learn), got_grad = fc_tensor_item(fc_learner_loss_grad(learn));
    double scale = fmax(1, fabs(want));
    p->max_loss_err = fmax(p->max_loss_err, fmax(fabs(got - want), fabs(got_grad - want)) / scale);
    return FC_CONTINUE;
}

static fc_status add_probes(fc_learner *learn, fc_callback *mix, mixprobe *p) {
    fc_status st = fc_learner_add_cb(learn, mix);
    if (st == FC_OK)
        st = fc_learner_add_cb(learn, fc_callback_new(&(fc_callback_def){
                                          .name = "pre", .order = -5, .state = p, .before_batch = pre_before_batch}));
    if (st == FC_OK)
        st = fc_learner_add_cb(learn, fc_callback_new(&(fc_callback_def){.name = "post", .order = 5, .state = p,
                                                                         .before_batch = post_before_batch,
                                                                         .after_loss = post_after_loss}));
    return st;
}

/* Classification on x [n, shape...]: y = argmax(flatten(x) W) over 3 classes; model flatten +
 * linear; cross entropy; plain SGD. */
static fc_learner *class_learner_lf(uint64_t seed, fc_shape item, int64_t bs, double lr, fc_loss_func lf) {
    int64_t n = 64, nv = 32, f = fc_shape_numel(item);
    fc_shape xs = item;
    for (int i = xs.ndim; i > 0; i--) xs.d[i] = xs.d[i - 1];
    xs.d[0] = n + nv;
    xs.ndim++;
    fc_tensor *x = fct_randn(xs, seed), *w = fct_randn(FC_SHAPE(f, 3), seed + 1);
    fc_tensor *y = fc_keep(fc_argmax(fc_matmul(fc_reshape(x, FC_SHAPE(n + nv, f)), w), 1, 0));
    fc_dataloaders *dls = fc_tensor_dls(fc_narrow(x, 0, 0, n), fc_narrow(y, 0, 0, n), fc_narrow(x, 0, n, nv),
                                        fc_narrow(y, 0, n, nv), .bs = bs, .no_shuffle = 1);
    fc_manual_seed(seed);
    fc_module *model = fc_sequential(fc_flatten_new(), fc_linear_new(f, 3));
    fc_tensor_free(x);
    fc_tensor_free(w);
    fc_tensor_free(y);
    return fc_learner(dls, model, .loss_func = lf, .opt_func = tiny_sgd, .lr = lr, .no_wd = 1, .quiet = 1);
}
static fc_learner *class_learner(uint64_t seed, fc_shape item, int64_t bs, double lr) {
    return class_learner_lf(seed, item, bs, lr, fc_cross_entropy_flat(0));
}
/* A user's loss (the same cross entropy behind another function): MixUp takes the generic path. */
static fc_tensor *user_ce(const fc_loss_func *lf, fc_tensor *pred, fc_tensor *targ) { return fc_cross_entropy(pred, targ); }

/* ---- MixUp ---- */

FCT_TEST(test_mixup_mixes_inputs_and_losses_as_fastai_regression) {
    fc_learner *learn = tiny_learner(21, .bs = 8);
    mixprobe p = {.cb_name = "MixUp"};
    FCT_OK(add_probes(learn, fc_mixup(), &p));
    FCT_OK(fc_fit(learn, 2));
    FCT_EQ_INT(p.n_train, 16); /* 64 items, bs 8, 2 epochs: every training batch mixed and checked */
    FCT_EQ_INT(p.n_valid, 2);  /* one validation batch (bs 16) per epoch ... */
    FCT_EQ_INT(p.n_valid_changed, 0); /* ... left as it was */
    FCT_TRUE(!p.bad_perm && !p.bad_lam);
    FCT_TRUE(p.max_x_err < 1e-5);
    FCT_TRUE(p.max_loss_err < 1e-5);
    /* alpha 0.4: E[1 - max(lam, 1 - lam)] = 0.5 - E|lam - 1/2| ~ 0.14; 128 items */
    double m = p.sum_one_minus_lam / (double)p.n_items;
    FCT_TRUE(m > 0.07 && m < 0.22);
    fci_mixup *s = fc_callback_state(fc_learner_cb(learn, "MixUp"));
    FCT_EQ_INT(s->n_mixed, 16);
    fc_learner_free(learn);
}

FCT_TEST(test_mixup_loss_is_the_lerp_of_cross_entropies_per_item) {
    fc_learner *learn = class_learner(5, FC_SHAPE(4), 16, 0.1);
    mixprobe p = {.cb_name = "MixUp", .n_classes = 3};
    FCT_OK(add_probes(learn, fc_mixup(.alpha = 1), &p));
    FCT_OK(fc_fit(learn, 1));
    FCT_EQ_INT(p.n_train, 4);
    FCT_TRUE(!p.bad_perm && !p.bad_lam);
    FCT_TRUE(p.max_x_err < 1e-5);
    FCT_TRUE(p.max_loss_err < 1e-5);
    fc_learner_free(learn);
}

FCT_TEST(test_mixup_loss_per_item_slices_for_a_users_loss) {
    fc_learner *learn = class_learner_lf(5, FC_SHAPE(4), 16, 0.1, (fc_loss_func){.name = "user_ce", .forward = user_ce});
    mixprobe p = {.cb_name = "MixUp", .n_classes = 3};
    FCT_OK(add_probes(learn, fc_mixup(.alpha = 1), &p));
    FCT_OK(fc_fit(learn, 1));
    FCT_EQ_INT(p.n_train, 4);
    FCT_TRUE(p.max_loss_err < 1e-5);
    fc_learner_free(learn);
}

FCT_TEST(test_mixup_tiny_alpha_leaves_the_batch_almost_unchanged) {
    /* Beta(1e-4, 1e-4) puts lam at 0 or 1: max(lam, 1 - lam) is 1 for nearly every item */
    fc_learner *learn = tiny_learner(3, .bs = 8);
    mixprobe p = {.cb_name = "MixUp"};
    FCT_OK(add_probes(learn, fc_mixup(.alpha = 1e-4), &p));
    FCT_OK(fc_fit(learn, 1));
    FCT_EQ_INT(p.n_train, 8);
    FCT_TRUE(p.sum_one_minus_lam / (double)p.n_items < 1e-3);
    FCT_TRUE(p.max_x_err < 1e-5);
    fc_learner_free(learn);
}

FCT_TEST(test_mixup_leaves_validation_untouched) {
    /* the same weights validate to the same loss with and without MixUp */
    fc_learner *plain = tiny_learner(9), *mixed = tiny_learner(9);
    FCT_OK(fc_learner_add_cb(mixed, fc_mixup()));
    double lp, lm;
    FCT_OK(fc_learner_validate(plain, NULL, &lp, NULL));
    FCT_OK(fc_learner_validate(mixed, NULL, &lm, NULL));
    FCT_NEAR(lm, lp, 0);
    fc_learner_free(plain);
    fc_learner_free(mixed);
}

FCT_TEST(test_mixup_fit_still_learns) {
    fc_learner *learn = tiny_learner(13, .bs = 8, .lr = 0.05);
    FCT_OK(fc_learner_add_cb(learn, fc_mixup()));
    double before;
    FCT_OK(fc_learner_validate(learn, NULL, &before, NULL));
    FCT_OK(fc_fit(learn, 8));
    double after = fc_learner_valid_loss(learn);
    FCT_TRUE(after < 0.2 * before);
    fc_learner_free(learn);
    /* classification: accuracy of the argmax-of-a-linear-map labels goes up */
    learn = class_learner(17, FC_SHAPE(4), 16, 0.5);
    FCT_OK(fc_learner_add_cb(learn, fc_mixup()));
    FCT_OK(fc_learner_validate(learn, NULL, &before, NULL));
    FCT_OK(fc_fit(learn, 10));
    FCT_TRUE(fc_learner_valid_loss(learn) < 0.7 * before);
    fc_learner_free(learn);
}

FCT_TEST(test_mixup_rejects_bad_alpha) {
    FCT_NULL(fc_mixup(.alpha = -1));
    FCT_ERROR(FC_ERR_ARG, "mixup: .alpha must be > 0, found -1");
    FCT_NULL(fc_cutmix(.alpha = NAN));
    FCT_ERROR(FC_ERR_ARG, "cutmix: .alpha must be > 0");
}

/* ---- CutMix ---- */

FCT_TEST(test_cutmix_pastes_a_box_whose_area_matches_lam) {
    /* images [2, 6, 5] (H 6, W 5), 4 batches of 16 per epoch */
    fc_learner *learn = class_learner(31, FC_SHAPE(2, 6, 5), 16, 0.1);
    mixprobe p = {.cb_name = "CutMix", .n_classes = 3};
    FCT_OK(add_probes(learn, fc_cutmix(), &p));
    FCT_OK(fc_fit(learn, 5));
    FCT_EQ_INT(p.n_train, 20);
    FCT_EQ_INT(p.n_valid_changed, 0);
    FCT_TRUE(!p.bad_perm && !p.bad_lam);
    FCT_EQ_INT(p.max_x_err, 0);        /* a copy of the partner's pixels, nothing else */
    FCT_TRUE(p.max_lam_err < 1e-12);
    FCT_TRUE(p.n_nonempty_box >= 10);  /* alpha 1: lam ~ U(0, 1), most boxes are not empty */
    FCT_TRUE(p.max_loss_err < 1e-5);
    fc_learner_free(learn);
}

FCT_TEST(test_cutmix_fit_still_learns) {
    fc_learner *learn = class_learner(41, FC_SHAPE(1, 4, 4), 16, 0.5);
    FCT_OK(fc_learner_add_cb(learn, fc_cutmix()));
    double before;
    FCT_OK(fc_learner_validate(learn, NULL, &before, NULL));
    FCT_OK(fc_fit(learn, 10));
    FCT_TRUE(fc_learner_valid_loss(learn) < 0.7 * before);
    fc_learner_free(learn);
}

FCT_TEST(test_cutmix_rejects_inputs_without_height_and_width) {
    fc_learner *learn = tiny_learner(2); /* x [bs, 3] */
    FCT_OK(fc_learner_add_cb(learn, fc_cutmix()));
    FCT_TRUE(fc_fit(learn, 1) == FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "in callback CutMix, event before_batch: cutmix: expected a float input [N, ..., H, W], found f32 [8, 3]");
    fc_learner_free(learn);
}
