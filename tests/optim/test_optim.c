/* Optimizers vs torch.optim (SGD, Adam, AdamW, RMSprop) and vs re-implementations of fastai's
 * Lamb, RAdam, Lookahead and ranger (tests/fixtures/gen_optim.py): the parameters after every
 * step, with per-group lrs and a parameter without grad at step 1. State save/load, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastc/optim.h"
#include "fct.h"

/* Two parameters outside any scope (the test frees them), copies of p0 and p1. */
typedef struct params2 {
    fc_tensor *p[2];
} params2;

static params2 params_from(const fct_fixture *f) {
    params2 r;
    for (int i = 0; i < 2; i++) {
        fc_tensor *src = fct_get(f, i ? "p1" : "p0");
        r.p[i] = fc_requires_grad(fc_keep(fc_from_data(fc_tensor_data(src), fc_tensor_shape(src))));
    }
    return r;
}

static void params_free(params2 *r) {
    for (int i = 0; i < 2; i++) fc_tensor_free(r->p[i]);
}

static fc_param_groups *one_group(params2 *r) {
    fc_param_groups *g = fc_param_groups_new();
    fc_param_groups_add(g, r->p, 2);
    return g;
}

static fc_param_groups *two_groups(params2 *r) {
    fc_param_groups *g = fc_param_groups_new();
    fc_param_groups_add(g, &r->p[0], 1);
    fc_param_groups_add(g, &r->p[1], 1);
    return g;
}

/* Sets the grads of step s (p1 has none at step 1, as in the generator). */
static void set_grads(const fct_fixture *f, params2 *r, int s) {
    for (int i = 0; i < 2; i++) {
        fc_tensor_zero_grad(r->p[i]);
        if (s == 1 && i == 1) continue;
        fc_tensor *g = fct_get(f, i ? "g1" : "g0");
        int64_t n = fc_tensor_numel(r->p[i]);
        fc_tensor *gs = fc_from_data(fc_tensor_data_f32(g) + s * n, fc_tensor_shape(r->p[i]));
        FCT_OK(fc_tensor_set_grad(r->p[i], gs));
        fc_tensor_free(gs);
    }
}

/* The parameters after step s match the fixture's w0[s], w1[s]. */
static int check_step(const char *name, const fct_fixture *f, params2 *r, int s) {
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        fc_tensor *w = fct_get(f, i ? "w1" : "w0");
        int64_t n = fc_tensor_numel(r->p[i]);
        fc_tensor *ws = fc_from_data(fc_tensor_data_f32(w) + s * n, fc_tensor_shape(r->p[i]));
        if (!fct_close(r->p[i], ws, 1e-6, 2e-6, name, __FILE__, __LINE__)) {
            printf("    (case %s, step %d, param %d)\n", name, s, i);
            bad++;
        }
        fc_tensor_free(ws);
    }
    return bad;
}

typedef fc_optimizer *(*make_fn)(params2 *r);

static fc_optimizer *mk_sgd(params2 *r) { return fc_sgd_new(one_group(r), .lr = 0.1); }
static fc_optimizer *mk_sgd_mom_wd(params2 *r) { return fc_sgd_new(one_group(r), .lr = 0.1, .mom = 0.9, .wd = 0.01); }
static fc_optimizer *mk_sgd_nesterov(params2 *r) {
    return fc_sgd_new(one_group(r), .lr = 0.05, .mom = 0.9, .nesterov = 1, .wd = 0.1);
}
static fc_optimizer *mk_sgd_decoupled(params2 *r) {
    return fc_sgd_new(one_group(r), .lr = 0.1, .mom = 0.9, .wd = 0.1, .decouple_wd = 1);
}
static fc_optimizer *mk_sgd_groups(params2 *r) {
    fc_optimizer *o = fc_sgd_new(two_groups(r), .lr = 0.1, .mom = 0.9);
    FCT_OK(fc_optimizer_set_lr(o, 1, 0.01));
    return o;
}
static fc_optimizer *mk_adam(params2 *r) { return fc_adam_new(one_group(r), .lr = 0.01); }
static fc_optimizer *mk_adam_l2(params2 *r) {
    return fc_adam_new(one_group(r), .lr = 0.01, .mom = 0.8, .sqr_mom = 0.95, .eps = 1e-6, .wd = 0.1);
}
static fc_optimizer *mk_adam_fastai(params2 *r) {
    return fc_adam_new(one_group(r), .lr = 0.01, .sqr_mom = 0.99, .eps = 1e-5, .wd = 0.01, .decouple_wd = 1);
}
static fc_optimizer *mk_adam_big_eps(params2 *r) { return fc_adam_new(one_group(r), .lr = 0.1, .eps = 0.5); }
static fc_optimizer *mk_adamw(params2 *r) { return fc_adamw_new(one_group(r), .lr = 0.01, .wd = 0.1); }
static fc_optimizer *mk_adam_groups(params2 *r) {
    fc_optimizer *o = fc_adam_new(two_groups(r), .lr = 0.01);
    FCT_OK(fc_optimizer_set_lr(o, 1, 0.001));
    return o;
}
static fc_optimizer *mk_rmsprop(params2 *r) { return fc_rmsprop_new(one_group(r), .lr = 0.01); }
static fc_optimizer *mk_rmsprop_mc(params2 *r) {
    return fc_rmsprop_new(one_group(r), .lr = 0.01, .sqr_mom = 0.9, .mom = 0.9, .centered = 1, .wd = 0.01);
}
static fc_optimizer *mk_lamb(params2 *r) { return fc_lamb_new(one_group(r), .lr = 0.01, .wd = 0.1); }
static fc_optimizer *mk_lamb_l2(params2 *r) { return fc_lamb_new(one_group(r), .lr = 0.01, .wd = 0.1, .l2_wd = 1); }
static fc_optimizer *mk_radam(params2 *r) { return fc_radam_new(one_group(r), .lr = 0.01); }
static fc_optimizer *mk_lookahead_adam(params2 *r) { return fc_lookahead_new(fc_adam_new(one_group(r), .lr = 0.01)); }
static fc_optimizer *mk_ranger(params2 *r) { return fc_ranger_new(one_group(r), .lr = 0.01); }

typedef struct opt_case {
    const char *name;
    make_fn make;
    int n_steps;
} opt_case;

static const opt_case cases[] = {
    {"sgd", mk_sgd, 3},
    {"sgd_mom_wd", mk_sgd_mom_wd, 3},
    {"sgd_nesterov", mk_sgd_nesterov, 3},
    {"sgd_decoupled", mk_sgd_decoupled, 3},
    {"sgd_groups", mk_sgd_groups, 3},
    {"adam", mk_adam, 3},
    {"adam_l2", mk_adam_l2, 3},
    {"adam_fastai", mk_adam_fastai, 3},
    {"adamw", mk_adamw, 3},
    {"adam_groups", mk_adam_groups, 3},
    {"rmsprop", mk_rmsprop, 3},
    {"rmsprop_mom_centered", mk_rmsprop_mc, 3},
    {"lamb", mk_lamb, 3},
    {"lamb_l2", mk_lamb_l2, 3},
    {"radam", mk_radam, 8},
    {"lookahead_adam", mk_lookahead_adam, 8},
    {"ranger", mk_ranger, 8},
    {"adam_big_eps", mk_adam_big_eps, 3},
};

static void run_case(const opt_case *c) {
    char path[64];
    snprintf(path, sizeof path, "optim/%s", c->name);
    fct_fixture f = fct_load(path);
    if (f.n == 0) return;
    params2 r = params_from(&f);
    fc_optimizer *o = c->make(&r);
    FCT_NOTNULL(o);
    for (int s = 0; o && s < c->n_steps; s++) {
        set_grads(&f, &r, s);
        FCT_OK(fc_optimizer_step(o));
        if (check_step(c->name, &f, &r, s)) break;
    }
    fc_optimizer_free(o);
    params_free(&r);
    fct_fixture_free(&f);
}

#define CASE_TEST(i, name) \
    FCT_TEST(test_##name##_matches_reference) { run_case(&cases[i]); }
CASE_TEST(0, sgd)
CASE_TEST(1, sgd_momentum_l2_wd)
CASE_TEST(2, sgd_nesterov)
CASE_TEST(3, sgd_decoupled_wd)
CASE_TEST(4, sgd_per_group_lr)
CASE_TEST(5, adam)
CASE_TEST(6, adam_betas_eps_l2_wd)
CASE_TEST(7, adam_fastai_defaults)
CASE_TEST(8, adamw)
CASE_TEST(9, adam_per_group_lr)
CASE_TEST(10, rmsprop)
CASE_TEST(11, rmsprop_momentum_centered)
CASE_TEST(12, lamb)
CASE_TEST(13, lamb_l2_wd)
CASE_TEST(14, radam)
CASE_TEST(15, lookahead_adam)
CASE_TEST(16, ranger)
CASE_TEST(17, adam_large_eps)

FCT_TEST(test_hyper_parameters_per_group) {
    fct_fixture f = fct_load("optim/adam");
    params2 r = params_from(&f);
    fc_optimizer *o = fc_adam_new(two_groups(&r));
    FCT_EQ_INT(fc_optimizer_n_groups(o), 2);
    FCT_EQ_INT(fc_optimizer_n_params(o, 1), 1);
    FCT_NEAR(fc_optimizer_lr(o, 0), 1e-3, 0);
    FCT_NEAR(fc_optimizer_mom(o, 1), 0.9, 0);
    FCT_NEAR(fc_optimizer_sqr_mom(o, 1), 0.999, 0);
    FCT_NEAR(fc_optimizer_eps(o, 1), 1e-8, 0);
    FCT_OK(fc_optimizer_set_mom(o, 1, 0.85));
    FCT_OK(fc_optimizer_set_wd(o, 0, 0.1));
    FCT_NEAR(fc_optimizer_mom(o, 1), 0.85, 0);
    FCT_NEAR(fc_optimizer_mom(o, 0), 0.9, 0);
    FCT_NEAR(fc_optimizer_wd(o, 0), 0.1, 0);
    FCT_EQ_INT(fc_optimizer_set_lr(o, 2, 0.1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "group 2 out of range (the optimizer has 2 groups)");
    FCT_EQ_INT(fc_optimizer_set_mom(o, 0, 1.5), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "optimizer_set_mom: expected a value in [0, 1), found 1.5");
    FCT_TRUE(isnan(fc_optimizer_lr(o, -1)));
    FCT_ERROR(FC_ERR_ARG, "group -1 out of range");
    /* a lookahead reaches its inner optimizer's groups */
    fc_optimizer *la = fc_lookahead_new(o, .k = 3);
    FCT_EQ_INT(fc_optimizer_n_groups(la), 2);
    FCT_OK(fc_optimizer_set_lr(la, 1, 0.5));
    FCT_NEAR(fc_optimizer_lr(la, 1), 0.5, 0);
    fc_optimizer_free(la);
    params_free(&r);
    fct_fixture_free(&f);
}

FCT_TEST(test_params_of_module_and_zero_grad) {
    fc_module *m = fc_sequential(fc_linear_new(4, 3), fc_relu_new(), fc_linear_new(3, 2));
    fc_optimizer *o = fc_sgd_new(fc_params_of(m), .lr = 0.5);
    FCT_EQ_INT(fc_optimizer_n_groups(o), 1);
    FCT_EQ_INT(fc_optimizer_n_params(o, 0), 4);
    fc_tensor *w = fc_module_parameter(m, 0, NULL);
    double w0 = fc_tensor_get(w, 0);
    fc_tensor *ones = fc_ones(FC_SHAPE(3, 4));
    FCT_OK(fc_tensor_set_grad(w, ones));
    FCT_OK(fc_optimizer_step(o));
    FCT_NEAR(fc_tensor_get(w, 0), w0 - 0.5, 1e-6);
    fc_optimizer_zero_grad(o);
    FCT_TRUE(fc_tensor_grad(w) == NULL);
    FCT_OK(fc_optimizer_step(o)); /* no grads: nothing moves */
    FCT_NEAR(fc_tensor_get(w, 0), w0 - 0.5, 1e-6);
    fc_tensor_free(ones);
    fc_optimizer_free(o);
    fc_module_free(m);
}

FCT_TEST(test_optimizer_rejects_bad_arguments) {
    fct_fixture f = fct_load("optim/sgd");
    params2 r = params_from(&f);
    FCT_NULL(fc_sgd_new(one_group(&r), .lr = -1));
    FCT_ERROR(FC_ERR_ARG, "sgd: .lr must be >= 0, found -1");
    FCT_NULL(fc_sgd_new(one_group(&r), .nesterov = 1));
    FCT_ERROR(FC_ERR_ARG, "sgd: .nesterov needs .mom > 0");
    FCT_NULL(fc_adam_new(one_group(&r), .mom = 1));
    FCT_ERROR(FC_ERR_ARG, "adam: .mom must be in [0, 1), found 1");
    FCT_NULL(fc_sgd_new(fc_param_groups_new()));
    FCT_ERROR(FC_ERR_ARG, "sgd: expected at least one parameter group, found none");
    fc_param_groups *g = one_group(&r);
    FCT_EQ_INT(fc_param_groups_add(g, &r.p[1], 1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "parameter 0 of group 1 is already in a group");
    fc_tensor *none[1] = {NULL};
    FCT_EQ_INT(fc_param_groups_add(g, none, 1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "parameter 0 of group 1 is NULL");
    FCT_EQ_INT(fc_param_groups_n(g), 1);
    fc_param_groups_free(g);
    FCT_NULL(fc_lookahead_new(fc_sgd_new(one_group(&r)), .alpha = 2));
    FCT_ERROR(FC_ERR_ARG, "lookahead: expected .k >= 1 and .alpha in (0, 1], found 6 and 2");
    FCT_NULL(fc_sgd_new(NULL));
    FCT_EQ_INT(fc_optimizer_step(NULL), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "optimizer_step: NULL optimizer");
    params_free(&r);
    fct_fixture_free(&f);
}

/* ---- state save / load ---- */

static params2 params_copy(params2 *src) {
    params2 r;
    for (int i = 0; i < 2; i++)
        r.p[i] = fc_requires_grad(fc_keep(fc_from_data(fc_tensor_data(src->p[i]), fc_tensor_shape(src->p[i]))));
    return r;
}

static void tmp_path(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/fastc_test_optim_%d_%s.fcos", (int)getpid(), tag);
}

static fc_status corrupt_copy(const char *from, const char *to, long flip_at, long truncate_to) {
    FILE *f = fopen(from, "rb");
    if (!f) return FC_ERR_IO;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (flip_at >= 0 && (size_t)flip_at < n) buf[flip_at] ^= 0x40;
    if (truncate_to >= 0 && (size_t)truncate_to < n) n = (size_t)truncate_to;
    f = fopen(to, "wb");
    if (!f) return FC_ERR_IO;
    fwrite(buf, 1, n, f);
    fclose(f);
    return FC_OK;
}

FCT_TEST(test_state_save_load_round_trip_and_errors_leave_state_unchanged) {
    fct_fixture f = fct_load("optim/lookahead_adam");
    if (f.n == 0) return;
    char good[128], bad[128], other[128];
    tmp_path(good, sizeof good, "good");
    tmp_path(bad, sizeof bad, "bad");
    tmp_path(other, sizeof other, "other");
    params2 a = params_from(&f);
    fc_optimizer *oa = mk_lookahead_adam(&a);
    for (int s = 0; s < 4; s++) {
        set_grads(&f, &a, s);
        FCT_OK(fc_optimizer_step(oa));
    }
    FCT_OK(fc_optimizer_set_lr(oa, 0, 0.01)); /* hyper-parameters travel too: B starts at another lr */
    FCT_OK(fc_optimizer_state_save(oa, good));

    params2 b = params_copy(&a);
    fc_optimizer *ob = fc_lookahead_new(fc_adam_new(one_group(&b), .lr = 0.5));
    FCT_OK(fc_optimizer_state_load(ob, good));
    FCT_NEAR(fc_optimizer_lr(ob, 0), 0.01, 0);

    /* errors: missing, corrupt, truncated, another kind, other shapes; none may change ob */
    FCT_EQ_INT(fc_optimizer_state_load(ob, "/nonexistent/x.fcos"), FC_ERR_IO);
    FCT_ERROR(FC_ERR_IO, "cannot open '/nonexistent/x.fcos'");
    FCT_OK(corrupt_copy(good, bad, 200, -1));
    FCT_EQ_INT(fc_optimizer_state_load(ob, bad), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "is corrupt (checksum mismatch)");
    FCT_OK(corrupt_copy(good, bad, 0, -1));
    FCT_EQ_INT(fc_optimizer_state_load(ob, bad), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "is not an optimizer state");
    FCT_OK(corrupt_copy(good, bad, -1, 100));
    FCT_EQ_INT(fc_optimizer_state_load(ob, bad), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "checksum mismatch");

    fc_optimizer *sgd = fc_sgd_new(one_group(&a), .mom = 0.9);
    FCT_OK(fc_optimizer_state_save(sgd, other));
    fc_optimizer_free(sgd);
    FCT_EQ_INT(fc_optimizer_state_load(ob, other), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "holds a sgd state, the optimizer is lookahead");

    fc_tensor *q[2] = {fc_keep(fc_zeros(FC_SHAPE(3, 4))), fc_keep(fc_zeros(FC_SHAPE(6)))};
    fc_param_groups *qg = fc_param_groups_new();
    FCT_OK(fc_param_groups_add(qg, q, 2));
    fc_optimizer *oq = fc_lookahead_new(fc_adam_new(qg));
    FCT_OK(fc_optimizer_state_save(oq, other));
    FCT_EQ_INT(fc_optimizer_state_load(ob, other), FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "parameter 1: expected 5 elements, found 6");
    fc_optimizer_free(oq);
    fc_tensor_free(q[0]);
    fc_tensor_free(q[1]);

    /* b continues exactly where a stopped (lookahead's count too: it syncs at step 5) */
    for (int s = 4; s < 8; s++) {
        set_grads(&f, &b, s);
        FCT_OK(fc_optimizer_step(ob));
        if (check_step("lookahead_adam after load", &f, &b, s)) break;
    }
    remove(good);
    remove(bad);
    remove(other);
    fc_optimizer_free(oa);
    fc_optimizer_free(ob);
    params_free(&a);
    params_free(&b);
    fct_fixture_free(&f);
}

FCT_TEST(test_state_load_into_fresh_optimizer_then_step) {
    /* SGD with momentum: the buffer must come back, not restart from the gradient */
    fct_fixture f = fct_load("optim/sgd_mom_wd");
    if (f.n == 0) return;
    char path[128];
    tmp_path(path, sizeof path, "sgd");
    params2 a = params_from(&f);
    fc_optimizer *oa = mk_sgd_mom_wd(&a);
    set_grads(&f, &a, 0);
    FCT_OK(fc_optimizer_step(oa));
    FCT_OK(fc_optimizer_state_save(oa, path));
    params2 b = params_copy(&a);
    fc_optimizer *ob = mk_sgd_mom_wd(&b);
    FCT_OK(fc_optimizer_state_load(ob, path));
    for (int s = 1; s < 3; s++) {
        set_grads(&f, &b, s);
        FCT_OK(fc_optimizer_step(ob));
        check_step("sgd_mom_wd after load", &f, &b, s);
    }
    remove(path);
    fc_optimizer_free(oa);
    fc_optimizer_free(ob);
    params_free(&a);
    params_free(&b);
    fct_fixture_free(&f);
}

/* A parameter past the OpenMP threshold: the parallel update (and Lamb's parallel norms) give the
 * same result as one thread, to float rounding. */
static void big_step(int n_threads, fc_optimizer *(*make)(fc_param_groups *), float *out, int64_t n) {
    fc_set_num_threads(n_threads);
    fc_tensor *p = fc_requires_grad(fc_keep(fc_rand(FC_SHAPE(n))));
    fc_tensor *g = fc_keep(fc_randn(FC_SHAPE(n)));
    fc_param_groups *pg = fc_param_groups_new();
    fc_param_groups_add(pg, &p, 1);
    fc_optimizer *o = make(pg);
    for (int s = 0; s < 3; s++) {
        FCT_OK(fc_tensor_set_grad(p, g));
        FCT_OK(fc_optimizer_step(o));
    }
    memcpy(out, fc_tensor_data(p), (size_t)n * sizeof(float));
    fc_optimizer_free(o);
    fc_tensor_free(p);
    fc_tensor_free(g);
}
static fc_optimizer *big_lamb(fc_param_groups *g) { return fc_lamb_new(g, .lr = 0.01, .wd = 0.1); }
static fc_optimizer *big_rmsprop(fc_param_groups *g) { return fc_rmsprop_new(g, .mom = 0.9, .centered = 1); }

FCT_TEST(test_large_parameter_parallel_update_matches_one_thread) {
    enum { N = 200003 };
    int saved = fc_num_threads();
    fc_optimizer *(*makes[2])(fc_param_groups *) = {big_lamb, big_rmsprop};
    for (int m = 0; m < 2; m++) {
        float *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
        fc_manual_seed(7);
        big_step(1, makes[m], a, N);
        fc_manual_seed(7);
        big_step(2, makes[m], b, N);
        int bad = 0;
        for (int i = 0; i < N; i++) bad += fabsf(a[i] - b[i]) > 1e-6f + 1e-5f * fabsf(a[i]);
        FCT_EQ_INT(bad, 0);
        free(a);
        free(b);
    }
    fc_set_num_threads(saved);
}
