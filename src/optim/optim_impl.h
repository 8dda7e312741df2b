/* optim internals: the optimizer struct shared by optimizer.c, update.c and state_io.c. */
#ifndef FASTC_OPTIM_IMPL_H
#define FASTC_OPTIM_IMPL_H

#include <stdint.h>

#include "fastc/optim.h"

/* Parameter groups (param_groups.c): group i holds g[i].n parameters (one reference each). */
typedef struct fci_pgroup {
    int n;
    fc_tensor **p;
} fci_pgroup;

struct fc_param_groups {
    int n;
    fci_pgroup *g;
};

typedef enum fci_optim_kind {
    FCI_OPT_SGD = 1,
    FCI_OPT_ADAM = 2,
    FCI_OPT_RMSPROP = 3,
    FCI_OPT_LAMB = 4,
    FCI_OPT_RADAM = 5,
    FCI_OPT_LOOKAHEAD = 6,
} fci_optim_kind;

/* One group's hyper-parameters (double: torch keeps them as Python floats). */
typedef struct fci_hp {
    double lr, mom, sqr_mom, eps, wd;
    int32_t decouple_wd, nesterov, centered;
} fci_hp;

#define FCI_OPT_MAX_BUFS 3
/* Per-parameter state, allocated on the parameter's first step. Buffers start at zero, which is
 * the same as absent for every update here (torch's clone-on-first-step with dampening 0 too). */
typedef struct fci_pstate {
    fc_tensor *p; /* a reference */
    int group;
    int64_t numel;
    int64_t step;
    int no_wd;    /* fastai's do_wd = False: the group's wd is not applied to this parameter */
    float *buf[FCI_OPT_MAX_BUFS];
    fc_device buf_device; /* where buf[] lives: the parameter's device at its first step */
} fci_pstate;

struct fc_optimizer {
    fci_optim_kind kind;
    const char *name;
    int n_groups;
    fci_hp *hp;
    int n_params;
    fci_pstate *ps;
    /* lookahead: buf[0] of ps holds the slow weights */
    fc_optimizer *inner;
    int k;
    double alpha;
    int64_t count;
};

/* Which buffers kind needs under h (bit i: buf[i]). */
unsigned fci_optim_bufs_needed(fci_optim_kind kind, const fci_hp *h);
#if FASTC_CUDA
/* Multi-tensor SGD / Adam launches made so far on CUDA (one per parameter group and weight-decay
 * rule, per 48 tensors; src/optim/optimizer.c): tests check the grouping with it. */
int64_t fci_optim_cuda_mt_launches(void);
#endif
/* One fused update of p (n floats) from g; step already counts this update. */
void fci_sgd_update(float *p, const float *g, float *mom_buf, int64_t n, const fci_hp *h);
void fci_adam_update(float *p, const float *g, float *m, float *v, int64_t n, int64_t step, const fci_hp *h);
void fci_rmsprop_update(float *p, const float *g, float *sq, float *mom_buf, float *gavg, int64_t n,
                        const fci_hp *h);
void fci_lamb_update(float *p, const float *g, float *m, float *v, int64_t n, int64_t step, const fci_hp *h);
void fci_radam_update(float *p, const float *g, float *m, float *v, int64_t n, int64_t step, const fci_hp *h);

#endif
