/* The CUDA kernels of the second pass (issue 9) against the CPU ops on the same random inputs,
 * forward and backward: comparisons and where, pow / maximum / minimum, index_select / gather /
 * scatter_add, cat / stack / pad / flip, var / std, group norm, nll / mse / l1 / smooth_l1 /
 * bce_with_logits, the RMSProp / LAMB / RAdam / Lookahead steps, optimizer state files of device
 * state, and the batch sampler (affine_sample). Without a device every test prints SKIPPED with
 * the reason (scripts/gpu-check.sh fails on a skip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastc/cuda.h"
#include "fastc/data.h"
#include "fastc/nn.h"
#include "fastc/optim.h"
#include "fastc/vision.h"
#include "cuda_test.h"
#include "fct.h"


/* ---- f on both devices from the same inputs; outputs and input gradients compared ---- */

#define MAX_IN 4
typedef fc_tensor *(*op_fn)(fc_tensor **in, const void *arg);

/* in[i] are CPU tensors; float ones become leaves that require grad on each device. */
static void parity_(const char *what, op_fn f, const void *arg, fc_tensor **in, int n_in, double atol, double rtol,
                    int line) {
    fc_tensor *c[MAX_IN], *g[MAX_IN];
    for (int i = 0; i < n_in; i++) {
        c[i] = fc_clone(in[i]);
        if (fc_tensor_dtype(c[i]) == FC_DTYPE_F32) fc_requires_grad(c[i]);
        g[i] = dev(c[i]);
    }
    fc_tensor *yc = f(c, arg), *yg = f(g, arg);
    if (!fct_check(yc && yg, __FILE__, line, "%s: %s on %s: %s", what, "forward", yc ? "cuda" : "cpu",
                   fc_error_message())) {
        fc_error_clear();
        return;
    }
    fct_close(host(yg), yc, atol, rtol, what, __FILE__, line);
    if (fc_tensor_dtype(yc) != FC_DTYPE_F32 || !fc_tensor_requires_grad(yc)) return;
    fc_tensor *dy = fc_randn(fc_tensor_shape(yc));
    FCT_OK(fc_backward_with(yc, dy));
    FCT_OK(fc_backward_with(yg, dev(dy)));
    for (int i = 0; i < n_in; i++) {
        if (fc_tensor_dtype(c[i]) != FC_DTYPE_F32) continue;
        if (!fc_tensor_grad(c[i])) { /* an input the result does not depend on: no grad either side */
            fct_check(!fc_tensor_grad(g[i]), __FILE__, line, "%s: input %d has a grad on the device only", what, i);
            continue;
        }
        char msg[96];
        snprintf(msg, sizeof msg, "%s: grad of input %d", what, i);
        fct_close(host(fc_tensor_grad(g[i])), fc_tensor_grad(c[i]), atol, rtol, msg, __FILE__, line);
    }
}
#define PARITY(what, f, arg, atol, rtol, ...)                                                        \
    parity_((what), (f), (arg), (fc_tensor *[]){__VA_ARGS__},                                        \
            (int)(sizeof((fc_tensor *[]){__VA_ARGS__}) / sizeof(fc_tensor *)), (atol), (rtol), __LINE__)

/* ---- comparisons, where, pow / maximum / minimum ---- */

static fc_tensor *f_where(fc_tensor **in, const void *a) { (void)a; return fc_where(fc_gt(in[0], in[1]), in[0], in[1]); }
static fc_tensor *f_where_t(fc_tensor **in, const void *a) {
    (void)a;
    return fc_where(fc_lt(in[0], fc_transpose(in[1], 0, 1)), fc_transpose(in[1], 0, 1), in[2]);
}
static fc_tensor *f_pow(fc_tensor **in, const void *a) { (void)a; return fc_pow(fc_abs(in[0]), in[1]); }
static fc_tensor *f_max(fc_tensor **in, const void *a) { (void)a; return fc_maximum(in[0], in[1]); }
static fc_tensor *f_min(fc_tensor **in, const void *a) { (void)a; return fc_minimum(in[0], in[1]); }
typedef fc_tensor *(*cmp_fn)(fc_tensor *, fc_tensor *);
static fc_tensor *f_cmp(fc_tensor **in, const void *a) { return (*(const cmp_fn *)a)(in[0], in[1]); }

FCT_TEST(test_compare_and_where_match_the_cpu_on_cuda) {
    NEED_GPU();
    fc_tensor *b = fc_randn(FC_SHAPE(7));
    fc_tensor *a = fc_cat(FC_TENSORS(fc_unsqueeze(b, 0), fc_randn(FC_SHAPE(4, 7))), 0); /* row 0 ties with b */
    cmp_fn cmps[6] = {fc_eq, fc_ne, fc_lt, fc_le, fc_gt, fc_ge};
    for (int k = 0; k < 6; k++) PARITY("compare f32", f_cmp, &cmps[k], 0, 0, a, b);
    fc_tensor *ia = fc_randint(0, 4, FC_SHAPE(3, 4)), *ib = fc_randint(0, 4, FC_SHAPE(3, 1));
    for (int k = 0; k < 6; k++) PARITY("compare i64", f_cmp, &cmps[k], 0, 0, ia, ib);
    fc_tensor *i32a = fc_to_dtype(ia, FC_DTYPE_I32), *i32b = fc_to_dtype(ib, FC_DTYPE_I32);
    PARITY("compare i32", f_cmp, &cmps[2], 0, 0, i32a, i32b);
    PARITY("compare u8", f_cmp, &cmps[0], 0, 0, fc_to_dtype(ia, FC_DTYPE_U8), fc_to_dtype(ib, FC_DTYPE_U8));
    PARITY("where", f_where, NULL, 0, 0, a, b);
    PARITY("where transposed", f_where_t, NULL, 0, 0, fc_randn(FC_SHAPE(4, 6)), fc_randn(FC_SHAPE(6, 4)), fc_randn(FC_SHAPE(4, 1)));
    PARITY("pow", f_pow, NULL, 1e-5, 1e-5, fc_randn(FC_SHAPE(4, 6)), fc_randn(FC_SHAPE(6)));
    PARITY("maximum", f_max, NULL, 0, 0, a, b);
    PARITY("minimum", f_min, NULL, 0, 0, a, fc_transpose(fc_randn(FC_SHAPE(7, 5)), 0, 1));
}

/* ---- indexing ---- */

typedef struct idx_arg {
    int dim;
    fc_tensor *index;
} idx_arg;
static fc_tensor *f_index_select(fc_tensor **in, const void *a) {
    const idx_arg *p = a;
    fc_tensor *i = fc_tensor_device(in[0]).type == FC_DEVICE_CPU ? p->index : dev(p->index);
    return fc_index_select(in[0], p->dim, i);
}
static fc_tensor *f_gather(fc_tensor **in, const void *a) {
    const idx_arg *p = a;
    fc_tensor *i = fc_tensor_device(in[0]).type == FC_DEVICE_CPU ? p->index : dev(p->index);
    return fc_gather(in[0], p->dim, i);
}
static fc_tensor *f_scatter_add(fc_tensor **in, const void *a) {
    const idx_arg *p = a;
    fc_tensor *i = fc_tensor_device(in[0]).type == FC_DEVICE_CPU ? p->index : dev(p->index);
    return fc_scatter_add(in[0], p->dim, i, in[1]);
}

FCT_TEST(test_indexing_matches_the_cpu_on_cuda) {
    NEED_GPU();
    fc_tensor *x = fc_randn(FC_SHAPE(4, 6, 5));
    idx_arg rep = {1, fc_from_data(((int64_t[]){5, 0, 5, 2, 5}), FC_SHAPE(5), .dtype = FC_DTYPE_I64)};
    PARITY("index_select dim 1 (repeats)", f_index_select, &rep, 0, 0, x);
    idx_arg first = {0, fc_to_dtype(fc_from_data(((int64_t[]){3, 3, 1}), FC_SHAPE(3), .dtype = FC_DTYPE_I64),
                                     FC_DTYPE_I32)};
    PARITY("index_select dim 0 (i32 index)", f_index_select, &first, 0, 0, fc_transpose(x, 0, 1));
    idx_arg last = {-1, fc_from_data(((int64_t[]){4, 0}), FC_SHAPE(2), .dtype = FC_DTYPE_I64)};
    PARITY("index_select of i64 data", f_index_select, &last, 0, 0, fc_randint(0, 100, FC_SHAPE(3, 5)));
    for (int d = 0; d < 3; d++) {
        int64_t sh[3] = {3, 4, 5};
        idx_arg g = {d, fc_randint(0, (double)fc_tensor_dims(x)[d], FC_SHAPE(sh[0], sh[1], sh[2]))};
        PARITY("gather", f_gather, &g, 0, 0, x);
        /* scatter_add: repeated destinations accumulate in the CPU's order, bit for bit */
        PARITY("scatter_add", f_scatter_add, &g, 0, 0, x, fc_randn(FC_SHAPE(3, 4, 6)));
    }
    fc_tensor *bad = dev(fc_from_data(((int64_t[]){1, 9}), FC_SHAPE(2), .dtype = FC_DTYPE_I64));
    FCT_NULL(fc_index_select(dev(x), 0, bad));
    FCT_ERROR(FC_ERR_ARG, "index_select: index 9 at position [1] is out of range for dim 0 of size 4");
}

/* ---- joins, pad, flip ---- */

static fc_tensor *f_cat(fc_tensor **in, const void *a) { return fc_cat(FC_TENSORS(in[0], in[1], in[2]), *(const int *)a); }
static fc_tensor *f_stack(fc_tensor **in, const void *a) { return fc_stack(FC_TENSORS(in[0], in[1]), *(const int *)a); }
static fc_tensor *f_pad(fc_tensor **in, const void *a) { return fc_pad(in[0], *(const fc_shape *)a, 0.5); }
static fc_tensor *f_flip(fc_tensor **in, const void *a) { return fc_flip(in[0], *(const fc_shape *)a); }

FCT_TEST(test_cat_stack_pad_flip_match_the_cpu_on_cuda) {
    NEED_GPU();
    int d1 = 1, d0 = 0, dl = -1;
    PARITY("cat dim 1", f_cat, &d1, 0, 0, fc_randn(FC_SHAPE(3, 2, 4)), fc_randn(FC_SHAPE(3, 5, 4)),
           fc_transpose(fc_randn(FC_SHAPE(3, 4, 1)), 1, 2));
    PARITY("cat dim 0", f_cat, &d0, 0, 0, fc_randn(FC_SHAPE(1, 3)), fc_randn(FC_SHAPE(4, 3)), fc_randn(FC_SHAPE(2, 3)));
    PARITY("stack last", f_stack, &dl, 0, 0, fc_randn(FC_SHAPE(3, 4)), fc_randn(FC_SHAPE(3, 4)));
    fc_shape grow = FC_SHAPE(1, 2, 0, 3), crop = FC_SHAPE(-1, 2, 1, -2);
    PARITY("pad", f_pad, &grow, 0, 0, fc_randn(FC_SHAPE(2, 4, 5)));
    PARITY("pad and crop", f_pad, &crop, 0, 0, fc_transpose(fc_randn(FC_SHAPE(5, 6)), 0, 1));
    fc_shape hw = FC_SHAPE(-1, -2), one = FC_SHAPE(0);
    PARITY("flip h w", f_flip, &hw, 0, 0, fc_randn(FC_SHAPE(2, 3, 4, 5)));
    PARITY("flip strided", f_flip, &one, 0, 0, fc_transpose(fc_randn(FC_SHAPE(4, 3)), 0, 1));
}

/* ---- var / std, group norm ---- */

typedef struct var_arg {
    fc_shape dims;
    int correction, keepdim, is_std;
} var_arg;
static fc_tensor *f_var(fc_tensor **in, const void *a) {
    const var_arg *p = a;
    return p->is_std ? fc_std(in[0], p->dims, p->correction, p->keepdim) : fc_var(in[0], p->dims, p->correction, p->keepdim);
}
typedef struct gn_arg {
    int groups, affine;
} gn_arg;
static fc_tensor *f_gn(fc_tensor **in, const void *a) {
    const gn_arg *p = a;
    return fc_group_norm(in[0], p->groups, p->affine ? in[1] : NULL, p->affine ? in[2] : NULL, 1e-5);
}

FCT_TEST(test_var_std_and_group_norm_match_the_cpu_on_cuda) {
    NEED_GPU();
    fc_tensor *x = fc_add_scalar(fc_randn(FC_SHAPE(6, 300, 4)), 3.0); /* a mean far from 0 */
    var_arg cases[] = {{FC_DIMS(1), 1, 0, 0}, {FC_DIMS(-1), 0, 1, 1}, {FC_ALL_DIMS, 1, 0, 1},
                       {FC_DIMS(0, 2), 1, 1, 0}, {FC_DIMS(1), 2, 0, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) PARITY("var/std", f_var, &cases[k], 1e-5, 1e-5, x);
    gn_arg g2 = {2, 1}, g1 = {1, 0}, g6 = {6, 1};
    PARITY("group_norm 2 groups", f_gn, &g2, 2e-5, 2e-5, fc_randn(FC_SHAPE(3, 6, 5, 4)), fc_randn(FC_SHAPE(6)),
           fc_randn(FC_SHAPE(6)));
    PARITY("group_norm 1 group, no affine", f_gn, &g1, 2e-5, 2e-5, fc_randn(FC_SHAPE(2, 6, 7)));
    PARITY("group_norm per channel, strided", f_gn, &g6, 2e-5, 2e-5, fc_transpose(fc_randn(FC_SHAPE(6, 4, 9)), 0, 1),
           fc_randn(FC_SHAPE(6)), fc_randn(FC_SHAPE(6)));
}

/* ---- losses ---- */

typedef struct loss_arg {
    int kind; /* 0 nll, 1 mse, 2 l1, 3 smooth_l1, 4 bce */
    fc_loss_opts o;
    fc_tensor *target, *weight, *pos_weight; /* CPU; moved to the input's device */
} loss_arg;
static fc_tensor *on(fc_tensor *t, const fc_tensor *like) {
    return !t || fc_tensor_device(like).type == FC_DEVICE_CPU ? t : dev(t);
}
static fc_tensor *f_loss(fc_tensor **in, const void *a) {
    const loss_arg *p = a;
    fc_loss_opts o = p->o;
    o.weight = on(p->weight, in[0]);
    o.pos_weight = on(p->pos_weight, in[0]);
    switch (p->kind) {
    case 0: return fc_nll_loss_(fc_log_softmax(in[0], 1), on(p->target, in[0]), &o);
    case 1: return fc_mse_loss_(in[0], in[1], &o);
    case 2: return fc_l1_loss_(in[0], in[1], &o);
    case 3: return fc_smooth_l1_loss_(in[0], in[1], &o);
    default: return fc_bce_with_logits_(in[0], in[1], &o);
    }
}

FCT_TEST(test_losses_match_the_cpu_on_cuda) {
    NEED_GPU();
    fc_tensor *t = fc_cat(FC_TENSORS(fc_randint(0, 5, FC_SHAPE(7, 3)), fc_full(FC_SHAPE(1, 3), 2, .dtype = FC_DTYPE_I64)),
                          0); /* class 2 at least thrice: ignored in the ignore_index cases */
    fc_tensor *cw = fc_rand(FC_SHAPE(5));
    for (int r = 0; r < 3; r++) {
        loss_arg plain = {0, {.reduction = (fc_reduction)r}, t, NULL, NULL};
        loss_arg full = {0, {.reduction = (fc_reduction)r, .ignore_index = 2, .has_ignore_index = 1}, t, cw, NULL};
        PARITY("nll", f_loss, &plain, 1e-6, 1e-5, fc_randn(FC_SHAPE(8, 5, 3)));
        PARITY("nll weighted, ignore", f_loss, &full, 1e-6, 1e-5, fc_randn(FC_SHAPE(8, 5, 3)));
        for (int k = 1; k <= 3; k++) {
            loss_arg pw = {k, {.reduction = (fc_reduction)r, .beta = k == 3 ? 0.5 : 0}, NULL, NULL, NULL};
            PARITY("regression loss", f_loss, &pw, 1e-6, 1e-5, fc_randn(FC_SHAPE(7, 9)), fc_randn(FC_SHAPE(7, 9)));
            PARITY("regression loss, broadcast", f_loss, &pw, 1e-6, 1e-5, fc_randn(FC_SHAPE(7, 9)), fc_randn(FC_SHAPE(9)));
        }
        loss_arg bce = {4, {.reduction = (fc_reduction)r}, NULL, NULL, NULL};
        loss_arg bce_w = {4, {.reduction = (fc_reduction)r}, NULL, fc_rand(FC_SHAPE(6)), fc_add_scalar(fc_rand(FC_SHAPE(6)), 0.5)};
        fc_tensor *logits = fc_mul_scalar(fc_randn(FC_SHAPE(5, 6)), 8.0); /* large |x|: the stable forms */
        PARITY("bce_with_logits", f_loss, &bce, 1e-6, 1e-5, logits, fc_rand(FC_SHAPE(5, 6)));
        PARITY("bce_with_logits weight, pos_weight", f_loss, &bce_w, 1e-6, 1e-5, logits, fc_rand(FC_SHAPE(5, 6)));
    }
    /* a mean over many elements: the device sums in double as the CPU */
    loss_arg mse = {1, {0}, NULL, NULL, NULL};
    PARITY("mse over 10^6", f_loss, &mse, 1e-6, 1e-5, fc_randn(FC_SHAPE(1000, 1000)), fc_randn(FC_SHAPE(1000, 1000)));
}

/* ---- optimizers ---- */

typedef fc_optimizer *(*opt_new)(fc_param_groups *g);
static fc_optimizer *o_rmsprop(fc_param_groups *g) { return fc_rmsprop_new(g, .lr = 1e-2, .wd = 1e-2); }
static fc_optimizer *o_rmsprop_mom(fc_param_groups *g) {
    return fc_rmsprop_new(g, .lr = 1e-2, .mom = 0.9, .centered = 1, .wd = 1e-2, .decouple_wd = 1);
}
static fc_optimizer *o_lamb(fc_param_groups *g) { return fc_lamb_new(g, .lr = 1e-2, .wd = 1e-2); }
static fc_optimizer *o_lamb_l2(fc_param_groups *g) { return fc_lamb_new(g, .lr = 1e-2, .wd = 1e-2, .l2_wd = 1); }
static fc_optimizer *o_radam(fc_param_groups *g) { return fc_radam_new(g, .lr = 1e-2, .wd = 1e-2); }
static fc_optimizer *o_ranger(fc_param_groups *g) { return fc_ranger_new(g, .lr = 1e-2); }
static fc_optimizer *o_lookahead_adam(fc_param_groups *g) {
    return fc_lookahead_new(fc_adam_new(g, .lr = 1e-2), .k = 2, .alpha = 0.5);
}

/* An optimizer over two parameters (one of them empty-gradient-free, so every path runs). */
typedef struct opt_run {
    fc_tensor *p[2];
    fc_optimizer *o;
} opt_run;

static opt_run opt_make(opt_new make, fc_tensor *const *init, int on_gpu) {
    opt_run r;
    for (int i = 0; i < 2; i++) { /* leaves: copies of init's data, whatever init's history */
        fc_tensor *d = fc_detach(init[i]);
        r.p[i] = fc_keep(on_gpu ? fc_tensor_to(d, TEST_DEVICE) : fc_clone(d));
        fc_requires_grad(r.p[i]);
    }
    fc_param_groups *g = fc_param_groups_new();
    FCT_OK(fc_param_groups_add(g, r.p, 2));
    r.o = make(g);
    FCT_NOTNULL(r.o);
    return r;
}

/* loss = sum(p0 * g0) + sum(p1^2 * g1): gradients that change with p */
static void opt_steps(opt_run *r, fc_tensor *const *gr, int n) {
    for (int s = 0; s < n; s++) {
        fc_scope *sc = fc_scope_begin();
        int gpu = fc_tensor_device(r->p[0]).type == FC_DEVICE_CUDA;
        fc_tensor *g0 = gpu ? dev(gr[0]) : gr[0], *g1 = gpu ? dev(gr[1]) : gr[1];
        fc_tensor *loss = fc_add(fc_sum(fc_mul(r->p[0], g0), FC_ALL_DIMS, 0),
                                 fc_sum(fc_mul(fc_mul(r->p[1], r->p[1]), g1), FC_ALL_DIMS, 0));
        FCT_OK(fc_backward(loss));
        FCT_OK(fc_optimizer_step(r->o));
        fc_optimizer_zero_grad(r->o);
        fc_scope_end(sc);
    }
}

static void opt_free(opt_run *r) {
    fc_optimizer_free(r->o);
    fc_tensor_free(r->p[0]);
    fc_tensor_free(r->p[1]);
}

static void optim_parity(const char *name, opt_new make, int n_steps) {
    fc_tensor *init[2] = {fc_randn(FC_SHAPE(33, 7)), fc_randn(FC_SHAPE(300))};
    fc_tensor *gr[2] = {fc_randn(FC_SHAPE(33, 7)), fc_randn(FC_SHAPE(300))};
    opt_run c = opt_make(make, init, 0), g = opt_make(make, init, 1);
    if (c.o && g.o) {
        opt_steps(&c, gr, n_steps);
        opt_steps(&g, gr, n_steps);
        for (int i = 0; i < 2; i++) {
            char msg[64];
            snprintf(msg, sizeof msg, "%s: parameter %d", name, i);
            fct_close(host(g.p[i]), c.p[i], 1e-5, 1e-4, msg, __FILE__, __LINE__);
        }
    }
    opt_free(&c);
    opt_free(&g);
}

FCT_TEST(test_rmsprop_lamb_radam_lookahead_match_the_cpu_on_cuda) {
    NEED_GPU();
    optim_parity("rmsprop", o_rmsprop, 4);
    optim_parity("rmsprop momentum centered", o_rmsprop_mom, 4);
    optim_parity("lamb", o_lamb, 4);
    optim_parity("lamb l2", o_lamb_l2, 4);
    optim_parity("radam (through rectification)", o_radam, 9);
    optim_parity("ranger", o_ranger, 9);
    optim_parity("lookahead(adam)", o_lookahead_adam, 5);
}

/* Device state saved, loaded into a fresh device optimizer and into a CPU one: the next steps
 * agree with an uninterrupted run. */
FCT_TEST(test_device_optimizer_state_round_trips_through_a_file) {
    NEED_GPU();
    char path[64];
    snprintf(path, sizeof path, "cuda_optim_state_%d.fcos", (int)getpid());
    opt_new makes[2] = {o_rmsprop_mom, o_ranger};
    for (int k = 0; k < 2; k++) {
        fc_tensor *init[2] = {fc_randn(FC_SHAPE(33, 7)), fc_randn(FC_SHAPE(300))};
        fc_tensor *gr[2] = {fc_randn(FC_SHAPE(33, 7)), fc_randn(FC_SHAPE(300))};
        opt_run a = opt_make(makes[k], init, 1);
        opt_steps(&a, gr, 7);
        FCT_OK(fc_optimizer_state_save(a.o, path));
        fc_tensor *mid[2] = {fc_keep(host(a.p[0])), fc_keep(host(a.p[1]))};
        opt_run b = opt_make(makes[k], mid, 1), c = opt_make(makes[k], mid, 0);
        FCT_OK(fc_optimizer_state_load(b.o, path));
        FCT_OK(fc_optimizer_state_load(c.o, path));
        opt_steps(&a, gr, 3);
        opt_steps(&b, gr, 3);
        opt_steps(&c, gr, 3);
        for (int i = 0; i < 2; i++) {
            FCT_CLOSE(host(b.p[i]), host(a.p[i]), 0, 0); /* the same kernels from the same state */
            FCT_CLOSE(c.p[i], host(a.p[i]), 1e-5, 1e-4);
        }
        opt_free(&a);
        opt_free(&b);
        opt_free(&c);
        fc_tensor_free(mid[0]);
        fc_tensor_free(mid[1]);
    }
    remove(path);
}

/* ---- the batch sampler ---- */

FCT_TEST(test_affine_sample_matches_the_cpu_on_cuda) {
    NEED_GPU();
    fc_tensor *x = fc_rand(FC_SHAPE(3, 3, 17, 23));
    /* identity, a rotation with zoom and shift, a flip */
    const float theta[18] = {1, 0, 0, 0, 1, 0, 0.8f, -0.5f, 0.1f, 0.45f, 0.9f, -0.2f, -1, 0, 0, 0, 1, 0};
    fc_pad_mode pads[3] = {FC_PAD_REFLECTION, FC_PAD_ZEROS, FC_PAD_BORDER};
    for (int p = 0; p < 3; p++)
        for (int nearest = 0; nearest < 2; nearest++) {
            int64_t oh = nearest ? 0 : 12, ow = nearest ? 0 : 31;
            fc_tensor *want = fc_affine_sample(x, theta, oh, ow, pads[p], nearest);
            fc_tensor *got = fc_affine_sample(dev(x), theta, oh, ow, pads[p], nearest);
            FCT_CLOSE(host(got), want, 1e-5, 1e-5);
        }
    /* a strided device input is sampled as its contiguous copy */
    fc_tensor *xt = fc_transpose(fc_rand(FC_SHAPE(3, 3, 23, 17)), 2, 3);
    FCT_CLOSE(host(fc_affine_sample(dev(xt), theta, 0, 0, FC_PAD_REFLECTION, 0)),
              fc_affine_sample(xt, theta, 0, 0, FC_PAD_REFLECTION, 0), 1e-5, 1e-5);
}

/* aug_transforms on a device batch (image and mask): the host draws the same matrices and
 * lighting from the same seed, the device samples and lights them. */
static void aug_on(int on_gpu, fc_tensor *x, fc_tensor *m, fc_tensor **xo, fc_tensor **mo) {
    fc_tuple tup = {.n = 2, .n_inp = 1,
                    .v = {fc_value_tensor(fc_kind_image, fc_keep(on_gpu ? dev(x) : fc_clone(x))),
                          fc_value_tensor(fc_kind_mask, fc_keep(on_gpu ? dev(m) : fc_clone(m)))}};
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_aug_transforms(.p_affine = 1, .p_lighting = 1, .max_rotate = 30,
                                                               .size = 12)));
    fc_rng rng = fc_rng_new(17);
    fc_tfm_ctx ctx = {.split = FC_SPLIT_TRAIN, .index = 3, .rng = &rng};
    FCT_OK(fc_pipeline_encode_tuple(p, &tup, &ctx));
    fc_pipeline_free(p);
    *xo = host(tup.v[0].t);
    *mo = host(tup.v[1].t);
    fc_tuple_free(&tup);
}

FCT_TEST(test_aug_transforms_match_the_cpu_on_cuda) {
    NEED_GPU();
    fc_tensor *x = fc_rand(FC_SHAPE(4, 3, 16, 20)), *m = fc_randint(0, 5, FC_SHAPE(4, 16, 20));
    fc_tensor *xc, *mc, *xg, *mg;
    aug_on(0, x, m, &xc, &mc);
    aug_on(1, x, m, &xg, &mg);
    FCT_CLOSE(xg, xc, 1e-5, 1e-5); /* lighting: the device's log2f / exp2f against the CPU's polynomials */
    FCT_CLOSE(mg, mc, 0, 0);
}

/* ---- autocast's rounding (bf16 / f16 values in f32) ---- */

/* Autocast on the device (forward and the 16-bit backward) is tested against the CPU's result of
 * the same rounded computation in test_cuda_16bit.c: with 16-bit backward products a plain parity
 * at f32 tolerance no longer holds (dy is rounded on the device, as torch's autocast does). */

/* ---- a BatchNorm module training on the device: statistics and its batch counter ---- */

FCT_TEST(test_batchnorm_module_trains_on_cuda) {
    NEED_GPU();
    fc_module *m = fc_batchnorm2d_new(3);
    FCT_OK(fc_module_to(m, TEST_DEVICE));
    fc_module_train(m, 1);
    fc_tensor *x = fc_randn(FC_SHAPE(4, 3, 5, 5));
    for (int s = 0; s < 3; s++) FCT_NOTNULL(fc_module_forward(m, dev(x)));
    for (int i = 0; i < fc_module_n_buffers(m); i++) {
        const char *name = NULL;
        fc_tensor *b = fc_module_buffer(m, i, &name);
        if (!FCT_NOTNULL(b)) break;
        if (!strcmp(name, "num_batches_tracked")) FCT_NEAR(fc_tensor_item(b), 3, 0);
        if (!strcmp(name, "running_mean")) /* (1 - 0.9^3) of the batch mean */
            FCT_CLOSE(host(b), fc_mul_scalar(fc_mean(x, FC_DIMS(0, 2, 3), 0), 1 - 0.729), 1e-6, 1e-5);
    }
    fc_module_free(m);
}

FCT_TEST(test_zz_report_ops_skips) {
    if (n_skipped)
        printf("  [cuda ops] %d device test(s) SKIPPED: no CUDA device on this machine; these are NOT passes\n",
               n_skipped);
}
