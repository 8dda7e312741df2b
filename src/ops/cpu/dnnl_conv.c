/* Convolution and transposed convolution on oneDNN. oneDNN picks its own (blocked) layouts
 * (format_tag any), which is where its speed comes from; we keep NCHW tensors and convert at the
 * edges with cached reorder primitives, into a workspace the caller provides. Primitive creation
 * costs ~0.1-1 ms, so a small LRU cache keyed by fci_conv_desc keeps one plan per shape. */
#include "dnnl_conv.h"

#include <pthread.h>
#include <string.h>

#include "dnnl_util.h"

enum { MAX_ARGS = 4, CACHE_SIZE = 64 };

typedef struct pass_plan {
    dnnl_primitive_t prim; /* NULL until built */
    int n_args;
    int arg[MAX_ARGS];     /* DNNL_ARG_* */
    int slot[MAX_ARGS];    /* which buffer: 0 x, 1 w, 2 b, 3 y */
    int is_out[MAX_ARGS];
    dnnl_memory_desc_t user_md[MAX_ARGS], prim_md[MAX_ARGS];
    dnnl_primitive_t reorder[MAX_ARGS]; /* NULL when the layouts already agree */
    size_t offset[MAX_ARGS];
    size_t ws_bytes;
} pass_plan;

typedef struct plan {
    fci_conv_desc key;
    uint64_t last_used; /* 0: empty entry */
    dnnl_primitive_desc_t fwd_pd; /* the hint the backward passes need */
    pass_plan pass[FCI_CONV_N_PASSES];
} plan;

static plan g_cache[CACHE_SIZE];
static uint64_t g_tick;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void plan_destroy(plan *p) {
    for (int k = 0; k < FCI_CONV_N_PASSES; k++) {
        pass_plan *pp = &p->pass[k];
        if (pp->prim) dnnl_primitive_destroy(pp->prim);
        for (int i = 0; i < pp->n_args; i++)
            if (pp->reorder[i]) dnnl_primitive_destroy(pp->reorder[i]);
    }
    if (p->fwd_pd) dnnl_primitive_desc_destroy(p->fwd_pd);
    memset(p, 0, sizeof *p);
}

/* Plain (user) memory descriptors: x, w, b, y. */
static void user_mds(const fci_conv_desc *d, dnnl_memory_desc_t md[4], int any) {
    dnnl_dims_t xd = {d->n, d->c, d->h, d->w}, yd = {d->n, d->o, d->oh, d->ow}, bd = {d->o};
    dnnl_format_tag_t act = any ? dnnl_format_tag_any : dnnl_nchw;
    dnnl_memory_desc_init_by_tag(&md[0], 4, xd, dnnl_f32, act);
    dnnl_memory_desc_init_by_tag(&md[3], 4, yd, dnnl_f32, act);
    dnnl_memory_desc_init_by_tag(&md[2], 1, bd, dnnl_f32, dnnl_a);
    /* oneDNN's weights are (g,) out, in, kh, kw for both kinds; PyTorch stores a transposed
     * conv's weights in-major ([c, o/g, kh, kw]), which the io tags describe. */
    int64_t g = d->groups;
    if (g == 1) {
        dnnl_dims_t wd = {d->o, d->c, d->kh, d->kw};
        dnnl_memory_desc_init_by_tag(&md[1], 4, wd, dnnl_f32,
                                     any ? dnnl_format_tag_any : d->transposed ? dnnl_iohw : dnnl_oihw);
    } else {
        dnnl_dims_t wd = {g, d->o / g, d->c / g, d->kh, d->kw};
        dnnl_memory_desc_init_by_tag(&md[1], 5, wd, dnnl_f32,
                                     any ? dnnl_format_tag_any : d->transposed ? dnnl_giohw : dnnl_goihw);
    }
}

static dnnl_status_t init_desc(const fci_conv_desc *d, fci_conv_pass pass, dnnl_convolution_desc_t *cd) {
    dnnl_memory_desc_t md[4];
    user_mds(d, md, 1);
    dnnl_memory_desc_t *bias = d->has_bias ? &md[2] : NULL;
    dnnl_dims_t strides = {d->sh, d->sw}, dil = {d->dh - 1, d->dw - 1}, pl = {d->ph, d->pw};
    /* oneDNN wants the exact right padding: what PyTorch's floor division leaves unused. */
    int64_t rh = (d->kh - 1) * d->dh + 1, rw = (d->kw - 1) * d->dw + 1;
    dnnl_dims_t pr;
    if (d->transposed) {
        pr[0] = (d->h - 1) * d->sh + rh - d->oh - d->ph;
        pr[1] = (d->w - 1) * d->sw + rw - d->ow - d->pw;
        switch (pass) {
        case FCI_CONV_FWD:
            return dnnl_dilated_deconvolution_forward_desc_init(cd, dnnl_forward_training,
                dnnl_deconvolution_direct, &md[0], &md[1], bias, &md[3], strides, dil, pl, pr);
        case FCI_CONV_BWD_DATA:
            return dnnl_dilated_deconvolution_backward_data_desc_init(cd, dnnl_deconvolution_direct,
                &md[0], &md[1], &md[3], strides, dil, pl, pr);
        default:
            return dnnl_dilated_deconvolution_backward_weights_desc_init(cd, dnnl_deconvolution_direct,
                &md[0], &md[1], bias, &md[3], strides, dil, pl, pr);
        }
    }
    pr[0] = (d->oh - 1) * d->sh + rh - d->h - d->ph;
    pr[1] = (d->ow - 1) * d->sw + rw - d->w - d->pw;
    switch (pass) {
    case FCI_CONV_FWD:
        return dnnl_dilated_convolution_forward_desc_init(cd, dnnl_forward_training,
            dnnl_convolution_auto, &md[0], &md[1], bias, &md[3], strides, dil, pl, pr);
    case FCI_CONV_BWD_DATA:
        return dnnl_dilated_convolution_backward_data_desc_init(cd, dnnl_convolution_auto,
            &md[0], &md[1], &md[3], strides, dil, pl, pr);
    default:
        return dnnl_dilated_convolution_backward_weights_desc_init(cd, dnnl_convolution_auto,
            &md[0], &md[1], bias, &md[3], strides, dil, pl, pr);
    }
}

static fc_status make_pd(const char *op, const fci_conv_desc *d, fci_conv_pass pass,
                         const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd) {
    dnnl_engine_t eng = fci_dnnl_engine();
    if (!eng) return fc_error_code();
    dnnl_convolution_desc_t cd;
    fc_status st = fci_dnnl_check(init_desc(d, pass, &cd), op, "convolution descriptor");
    if (st) return st;
    return fci_dnnl_check(dnnl_primitive_desc_create(pd, &cd, NULL, eng, hint), op,
                          "convolution primitive descriptor");
}

static fc_status build_pass(const char *op, plan *p, fci_conv_pass pass) {
    const fci_conv_desc *d = &p->key;
    fc_status st = FC_OK;
    if (!p->fwd_pd && (st = make_pd(op, d, FCI_CONV_FWD, NULL, &p->fwd_pd))) return st;
    dnnl_primitive_desc_t pd = p->fwd_pd;
    if (pass != FCI_CONV_FWD && (st = make_pd(op, d, pass, p->fwd_pd, &pd))) return st;

    static const int args[FCI_CONV_N_PASSES][4][3] = {/* {DNNL arg, slot, is_out} */
        {{DNNL_ARG_SRC, 0, 0}, {DNNL_ARG_WEIGHTS, 1, 0}, {DNNL_ARG_BIAS, 2, 0}, {DNNL_ARG_DST, 3, 1}},
        {{DNNL_ARG_DIFF_DST, 3, 0}, {DNNL_ARG_WEIGHTS, 1, 0}, {DNNL_ARG_DIFF_SRC, 0, 1}, {0, -1, 0}},
        {{DNNL_ARG_SRC, 0, 0}, {DNNL_ARG_DIFF_DST, 3, 0}, {DNNL_ARG_DIFF_WEIGHTS, 1, 1},
         {DNNL_ARG_DIFF_BIAS, 2, 1}}};
    dnnl_memory_desc_t umd[4];
    user_mds(d, umd, 0);
    pass_plan *pp = &p->pass[pass];
    memset(pp, 0, sizeof *pp);
    dnnl_engine_t eng = fci_dnnl_engine();
    for (int i = 0; i < 4 && st == FC_OK; i++) {
        int slot = args[pass][i][1];
        if (slot < 0 || (slot == 2 && !d->has_bias)) continue;
        int k = pp->n_args++;
        pp->arg[k] = args[pass][i][0];
        pp->slot[k] = slot;
        pp->is_out[k] = args[pass][i][2];
        pp->user_md[k] = umd[slot];
        pp->prim_md[k] = *dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, pp->arg[k]);
        if (dnnl_memory_desc_equal(&pp->user_md[k], &pp->prim_md[k])) continue;
        const dnnl_memory_desc_t *from = pp->is_out[k] ? &pp->prim_md[k] : &pp->user_md[k];
        const dnnl_memory_desc_t *to = pp->is_out[k] ? &pp->user_md[k] : &pp->prim_md[k];
        dnnl_primitive_desc_t rpd;
        st = fci_dnnl_check(dnnl_reorder_primitive_desc_create(&rpd, from, eng, to, eng, NULL), op,
                            "reorder descriptor");
        if (st) break;
        st = fci_dnnl_check(dnnl_primitive_create(&pp->reorder[k], rpd), op, "reorder");
        dnnl_primitive_desc_destroy(rpd);
        pp->offset[k] = pp->ws_bytes;
        pp->ws_bytes += (dnnl_memory_desc_get_size(&pp->prim_md[k]) + 63) & ~(size_t)63;
    }
    if (st == FC_OK)
        st = fci_dnnl_check(dnnl_primitive_create(&pp->prim, pd), op, "convolution primitive");
    if (pd != p->fwd_pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

/* The cached plan for d with the pass built (caller holds g_lock); NULL with the error set. */
static plan *lookup(const char *op, const fci_conv_desc *d, fci_conv_pass pass) {
    plan *p = NULL, *oldest = &g_cache[0];
    for (int i = 0; i < CACHE_SIZE && !p; i++) {
        if (g_cache[i].last_used && !memcmp(&g_cache[i].key, d, sizeof *d)) p = &g_cache[i];
        else if (g_cache[i].last_used < oldest->last_used) oldest = &g_cache[i];
    }
    if (!p) {
        p = oldest;
        if (p->last_used) plan_destroy(p);
        p->key = *d;
    }
    p->last_used = ++g_tick;
    if (!p->pass[pass].prim && build_pass(op, p, pass) != FC_OK) {
        plan_destroy(p);
        return NULL;
    }
    return p;
}

fc_status fci_dnnl_conv_ws_bytes(const char *op, const fci_conv_desc *d, fci_conv_pass pass,
                                 size_t *bytes) {
    pthread_mutex_lock(&g_lock);
    plan *p = lookup(op, d, pass);
    *bytes = p ? p->pass[pass].ws_bytes : 0;
    pthread_mutex_unlock(&g_lock);
    return p ? FC_OK : fc_error_code();
}

static fc_status run_pass(const char *op, pass_plan *pp, float *buf[4], char *ws) {
    dnnl_engine_t eng = fci_dnnl_engine();
    dnnl_stream_t s = fci_dnnl_stream();
    if (!eng || !s) return fc_error_code();
    dnnl_memory_t user[MAX_ARGS] = {0}, prim[MAX_ARGS] = {0};
    dnnl_exec_arg_t ea[MAX_ARGS];
    fc_status st = FC_OK;
    for (int i = 0; i < pp->n_args && !st; i++) {
        st = fci_dnnl_check(dnnl_memory_create(&user[i], &pp->user_md[i], eng, buf[pp->slot[i]]),
                            op, "memory");
        if (!st && pp->reorder[i])
            st = fci_dnnl_check(dnnl_memory_create(&prim[i], &pp->prim_md[i], eng, ws + pp->offset[i]),
                                op, "memory");
        ea[i] = (dnnl_exec_arg_t){pp->arg[i], prim[i] ? prim[i] : user[i]};
    }
    for (int i = 0; i < pp->n_args && !st; i++) {
        if (!pp->reorder[i] || pp->is_out[i]) continue;
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, user[i]}, {DNNL_ARG_TO, prim[i]}};
        st = fci_dnnl_check(dnnl_primitive_execute(pp->reorder[i], s, 2, r), op, "reorder");
    }
    if (!st) st = fci_dnnl_check(dnnl_primitive_execute(pp->prim, s, pp->n_args, ea), op, "execute");
    for (int i = 0; i < pp->n_args && !st; i++) {
        if (!pp->reorder[i] || !pp->is_out[i]) continue;
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, prim[i]}, {DNNL_ARG_TO, user[i]}};
        st = fci_dnnl_check(dnnl_primitive_execute(pp->reorder[i], s, 2, r), op, "reorder");
    }
    if (!st) st = fci_dnnl_check(dnnl_stream_wait(s), op, "stream wait");
    for (int i = 0; i < pp->n_args; i++) {
        if (user[i]) dnnl_memory_destroy(user[i]);
        if (prim[i]) dnnl_memory_destroy(prim[i]);
    }
    return st;
}

fc_status fci_dnnl_conv(const char *op, const fci_conv_desc *d, fci_conv_pass pass, float *x,
                        float *w, float *b, float *y, void *ws) {
    /* One lock around lookup and execution: a concurrent caller must not evict a running plan. */
    pthread_mutex_lock(&g_lock);
    plan *p = lookup(op, d, pass);
    float *buf[4] = {x, w, b, y};
    fc_status st = p ? run_pass(op, &p->pass[pass], buf, ws) : fc_error_code();
    pthread_mutex_unlock(&g_lock);
    return st;
}

void fci_dnnl_conv_cache_clear(void) {
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < CACHE_SIZE; i++)
        if (g_cache[i].last_used) plan_destroy(&g_cache[i]);
    pthread_mutex_unlock(&g_lock);
}
