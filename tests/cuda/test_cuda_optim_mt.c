/* SGD and Adam on CUDA update a parameter group's tensors in one launch (per weight-decay rule and
 * step count, per 48 tensors; src/optim/optimizer.c cuda_grouped_step): the same parameters as the
 * CPU's per-tensor updates, step after step, with two groups of different lrs, tensors exempt from
 * weight decay, a group of more than 48 tensors, an empty tensor and a tensor without a gradient
 * in some steps (so its step count falls behind the others'). */
#include <stdio.h>

#include "cuda_test.h"
#include "fastc/optim.h"
#include "optim/optim_impl.h"

#define N_A 53 /* group 0: more than one launch's 48 */
#define N_B 5  /* group 1 */
#define N_P (N_A + N_B)

typedef struct mt_run {
    fc_tensor *p[N_P];
    fc_optimizer *o;
} mt_run;

static int64_t numel_of(int i) { return i == 7 ? 0 : 1 + (i * 37) % 300; } /* one empty tensor */

static void mt_make(mt_run *r, fc_tensor *const *init, fc_device d, int adam) {
    fc_param_groups *g = fc_param_groups_new();
    for (int i = 0; i < N_P; i++) {
        r->p[i] = fc_keep(fc_tensor_to(init[i], d));
        fc_requires_grad(r->p[i]);
    }
    FCT_OK(fc_param_groups_add(g, r->p, N_A));
    FCT_OK(fc_param_groups_add(g, r->p + N_A, N_B));
    r->o = adam ? fc_adam_new(g, .lr = 1e-2, .wd = 1e-2) : fc_sgd_new(g, .lr = 1e-2, .mom = 0.9, .wd = 1e-2);
    if (!FCT_NOTNULL(r->o)) return;
    FCT_OK(fc_optimizer_set_lr(r->o, 1, 3e-3));
    for (int i = 0; i < N_P; i += 3) FCT_OK(fc_optimizer_set_param_do_wd(r->o, r->p[i], 0)); /* BN / bias style */
}

/* loss = sum_i sum(p_i^2 * c_i): gradients that change with p; tensor 4 gets no gradient in odd steps */
static void mt_steps(mt_run *r, fc_tensor *const *coef, int n_steps) {
    for (int s = 0; s < n_steps; s++) {
        fc_scope *sc = fc_scope_begin();
        fc_device d = fc_tensor_device(r->p[0]);
        fc_tensor *loss = NULL;
        for (int i = 0; i < N_P; i++) {
            if (i == 4 && s % 2) continue;
            fc_tensor *c = fc_tensor_to(coef[i], d);
            fc_tensor *t = fc_sum(fc_mul(fc_mul(r->p[i], r->p[i]), c), FC_ALL_DIMS, 0);
            loss = loss ? fc_add(loss, t) : t;
        }
        FCT_OK(fc_backward(loss));
        FCT_OK(fc_optimizer_step(r->o));
        fc_optimizer_zero_grad(r->o);
        fc_scope_end(sc);
    }
}

static void mt_free(mt_run *r) {
    fc_optimizer_free(r->o);
    for (int i = 0; i < N_P; i++) fc_tensor_free(r->p[i]);
}

static void mt_parity(int adam) {
    fc_manual_seed(11);
    fc_tensor *init[N_P], *coef[N_P];
    for (int i = 0; i < N_P; i++) {
        init[i] = fc_randn(FC_SHAPE(numel_of(i)));
        coef[i] = fc_randn(FC_SHAPE(numel_of(i)));
    }
    mt_run c = {0}, g = {0};
    mt_make(&c, init, FC_CPU, adam);
    mt_make(&g, init, TEST_DEVICE, adam);
    if (!c.o || !g.o) return;
#if !defined(FCT_CUDA_DRYRUN)
    int64_t l0 = fci_optim_cuda_mt_launches();
#endif
    mt_steps(&c, coef, 4);
    mt_steps(&g, coef, 4);
#if !defined(FCT_CUDA_DRYRUN)
    /* a step: group 0 decayed (34 tensors with a gradient, the empty one aside: 1 launch) and
     * exempt (18: 1), group 1 decayed (3: 1) and exempt (2: 1). Tensor 4 (group 0, decayed) has no
     * gradient in steps 1 and 3, so in step 2 its step count is one behind the others': its own
     * launch then (Adam's bias corrections differ) */
    int64_t launches = fci_optim_cuda_mt_launches() - l0;
    FCT_EQ_INT(launches, 4 + 4 + 5 + 4);
#endif
    for (int i = 0; i < N_P; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "%s: parameter %d", adam ? "adam" : "sgd", i);
        fct_close(host(g.p[i]), c.p[i], 1e-6, 1e-5, msg, __FILE__, __LINE__);
    }
    mt_free(&c);
    mt_free(&g);
}

FCT_TEST(test_sgd_and_adam_update_a_group_in_one_launch_as_the_cpu) {
    NEED_GPU();
    mt_parity(0);
    mt_parity(1);
}

FCT_TEST(test_zz_optim_mt_report_skips) {
    if (n_skipped)
        printf("  [cuda optim] %d device test(s) SKIPPED: no CUDA device on this machine; these are NOT passes\n",
               n_skipped);
}
