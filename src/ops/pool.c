/* max_pool2d, avg_pool2d and the adaptive pools (NCHW, as torch.nn.functional). The max pools save
 * the argmax (i32, per plane) for backward; the geometry rides in the node's aux. */
#include <string.h>

#include "cpu/pool.h"
#include "ops_impl.h"

typedef enum { POOL_MAX, POOL_AVG, POOL_ADAPTIVE_MAX, POOL_ADAPTIVE_AVG } pool_kind;

typedef struct pool_saved {
    pool_kind kind;
    fci_pool2d_geom g;
} pool_saved;

static fc_status pool_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    const pool_saved *s = n->aux;
    fc_tensor *x = n->in[0];
    gx[0] = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
    if (!gx[0]) return fc_error_code();
    float *g = fc_tensor_data(gx[0]);
    const float *dy = fc_tensor_data(gy);
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        int is_max = s->kind == POOL_MAX || s->kind == POOL_ADAPTIVE_MAX;
        fci_cuda_pool_bwd_launch(FCI_STREAM(x), dy, is_max ? fc_tensor_data(n->saved[0]) : NULL, g, &s->g,
                                 is_max, s->kind == POOL_ADAPTIVE_MAX || s->kind == POOL_ADAPTIVE_AVG);
        return fci_cuda_launched(n->op->name);
    }
#endif
    switch (s->kind) {
    case POOL_MAX:
    case POOL_ADAPTIVE_MAX: fci_max_pool2d_bwd_f32(dy, fc_tensor_data(n->saved[0]), g, &s->g); break;
    case POOL_AVG: fci_avg_pool2d_bwd_f32(dy, g, &s->g); break;
    case POOL_ADAPTIVE_AVG: fci_adaptive_avg_pool2d_bwd_f32(dy, g, &s->g); break;
    }
    return FC_OK;
}

static const fci_op op_max_pool2d = {"max_pool2d", pool_bwd}, op_avg_pool2d = {"avg_pool2d", pool_bwd},
                    op_adaptive_max_pool2d = {"adaptive_max_pool2d", pool_bwd},
                    op_adaptive_avg_pool2d = {"adaptive_avg_pool2d", pool_bwd};

/* Runs the forward on a contiguous copy of x and records the node. */
static fc_tensor *pool(const fci_op *op, pool_kind kind, fc_tensor *x, fci_pool2d_geom g) {
    if ((kind == POOL_MAX || kind == POOL_ADAPTIVE_MAX) && g.h * g.w > INT32_MAX) {
        fc_fail(FC_ERR_UNSUPPORTED, "%s: planes of more than 2^31 elements (input %s)", op->name,
                fci_tshape(x));
        return NULL;
    }
    fc_tensor *xc = fci_contig_f32_any(op->name, x);
    if (!xc) return NULL;
    fc_tensor *y = fci_tensor_alloc(FC_SHAPE(x->shape[0], x->shape[1], g.oh, g.ow), FC_DTYPE_F32, x->device);
    int grad = fci_grad_needed(1, &x);
    fc_tensor *idx = NULL;
    if (y && grad && (kind == POOL_MAX || kind == POOL_ADAPTIVE_MAX))
        idx = fci_tensor_alloc(fc_tensor_shape(y), FC_DTYPE_I32, x->device);
    if (!y || (grad && (kind == POOL_MAX || kind == POOL_ADAPTIVE_MAX) && !idx)) {
        fci_tensor_unref(xc);
        fc_tensor_free(y);
        return NULL;
    }
    const float *xp = fc_tensor_data(xc);
    float *yp = fc_tensor_data(y);
    int32_t *ip = idx ? fc_tensor_data(idx) : NULL;
#if FASTC_CUDA
    if (FCI_IS_CUDA(x)) {
        int adaptive = kind == POOL_ADAPTIVE_MAX || kind == POOL_ADAPTIVE_AVG;
        if (kind == POOL_MAX || kind == POOL_ADAPTIVE_MAX)
            fci_cuda_max_pool_launch(FCI_STREAM(x), xp, yp, ip, &g, adaptive);
        else
            fci_cuda_avg_pool_launch(FCI_STREAM(x), xp, yp, &g, adaptive);
        if (fci_cuda_launched(op->name) != FC_OK) {
            fci_tensor_unref(xc);
            fc_tensor_free(idx);
            fc_tensor_free(y);
            return NULL;
        }
    } else
#endif
    switch (kind) {
    case POOL_MAX: fci_max_pool2d_f32(xp, yp, ip, &g); break;
    case POOL_AVG: fci_avg_pool2d_f32(xp, yp, &g); break;
    case POOL_ADAPTIVE_MAX: fci_adaptive_max_pool2d_f32(xp, yp, ip, &g); break;
    case POOL_ADAPTIVE_AVG: fci_adaptive_avg_pool2d_f32(xp, yp, &g); break;
    }
    fci_tensor_unref(xc);
    if (grad) {
        fci_node *n = fci_record(op, y, 1, &x);
        pool_saved *s = n ? fci_calloc(1, sizeof *s) : NULL;
        if (!s) {
            fc_tensor_free(idx);
            return NULL;
        }
        *s = (pool_saved){kind, g};
        n->aux = s;
        n->aux_free = fci_free;
        fci_save(n, 0, idx);
        fc_tensor_free(idx); /* the node holds its own reference */
    }
    return y;
}

static int check_input(const char *op, const fc_tensor *x) {
    if (fci_check_float32(op, "input", x) || fci_check_device(op, x) ||
        fci_check_ndim(op, "input [N, C, H, W]", x, 4))
        return 1;
    if (x->shape[2] < 1 || x->shape[3] < 1) {
        fc_fail(FC_ERR_SHAPE, "%s: expected a non-empty input plane, found input %s", op, fci_tshape(x));
        return 1;
    }
    return 0;
}

/* PyTorch's pooling_output_shape: with ceil_mode the last window must start inside the input or
 * its left padding. */
static int64_t out_size(int64_t in, int64_t k, int64_t p, int64_t s, int64_t d, int ceil_mode) {
    int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
    int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
    if (ceil_mode && (out - 1) * s >= in + p) out--;
    return out;
}

static fc_tensor *window_pool(const fci_op *op, pool_kind kind, fc_tensor *x, int kh, int kw,
                              const fc_pool2d_opts *o) {
    if (!x) return NULL;
    const char *name = op->name;
    if (check_input(name, x)) return NULL;
    int k[2] = {kh, kw}, s[2], p[2], d[2];
    for (int i = 0; i < 2; i++) {
        s[i] = o->stride[i] ? o->stride[i] : k[i];
        d[i] = o->dilation[i] ? o->dilation[i] : 1;
        p[i] = o->padding[i];
    }
    if (kind == POOL_AVG && (o->dilation[0] > 1 || o->dilation[1] > 1)) {
        fc_fail(FC_ERR_ARG, "%s: dilation is for max_pool2d only, found dilation [%d, %d]", name,
                o->dilation[0], o->dilation[1]);
        return NULL;
    }
    if (k[0] < 1 || k[1] < 1 || s[0] < 1 || s[1] < 1 || d[0] < 1 || d[1] < 1 || p[0] < 0 || p[1] < 0) {
        fc_fail(FC_ERR_ARG, "%s: expected kernel, stride, dilation >= 1 and padding >= 0, found kernel "
                "[%d, %d], stride [%d, %d], dilation [%d, %d], padding [%d, %d]", name, k[0], k[1],
                s[0], s[1], d[0], d[1], p[0], p[1]);
        return NULL;
    }
    if (p[0] > k[0] / 2 || p[1] > k[1] / 2) {
        fc_fail(FC_ERR_ARG, "%s: expected padding at most half the kernel size, found padding [%d, %d] "
                "for kernel [%d, %d]", name, p[0], p[1], k[0], k[1]);
        return NULL;
    }
    fci_pool2d_geom g = {.planes = x->shape[0] * x->shape[1], .h = x->shape[2], .w = x->shape[3],
                         .kh = k[0], .kw = k[1], .sh = s[0], .sw = s[1], .ph = p[0], .pw = p[1],
                         .dh = d[0], .dw = d[1], .count_include_pad = !o->no_count_include_pad};
    g.oh = out_size(g.h, k[0], p[0], s[0], d[0], o->ceil_mode);
    g.ow = out_size(g.w, k[1], p[1], s[1], d[1], o->ceil_mode);
    if (g.oh < 1 || g.ow < 1) {
        fc_fail(FC_ERR_SHAPE, "%s: kernel [%d, %d] (dilation [%d, %d]) is larger than the padded input "
                "(input %s, padding [%d, %d]): output would be %lldx%lld", name, k[0], k[1], d[0],
                d[1], fci_tshape(x), p[0], p[1], (long long)g.oh, (long long)g.ow);
        return NULL;
    }
    return pool(op, kind, x, g);
}

fc_tensor *fc_max_pool2d_(fc_tensor *x, int kh, int kw, const fc_pool2d_opts *o) {
    return window_pool(&op_max_pool2d, POOL_MAX, x, kh, kw, o);
}

fc_tensor *fc_avg_pool2d_(fc_tensor *x, int kh, int kw, const fc_pool2d_opts *o) {
    return window_pool(&op_avg_pool2d, POOL_AVG, x, kh, kw, o);
}

static fc_tensor *adaptive(const fci_op *op, pool_kind kind, fc_tensor *x, int64_t oh, int64_t ow) {
    if (!x || check_input(op->name, x)) return NULL;
    if (oh < 1 || ow < 1) {
        fc_fail(FC_ERR_ARG, "%s: expected an output size >= 1, found %lldx%lld", op->name,
                (long long)oh, (long long)ow);
        return NULL;
    }
    fci_pool2d_geom g = {.planes = x->shape[0] * x->shape[1], .h = x->shape[2], .w = x->shape[3],
                         .oh = oh, .ow = ow};
    return pool(op, kind, x, g);
}

fc_tensor *fc_adaptive_avg_pool2d(fc_tensor *x, int64_t out_h, int64_t out_w) {
    return adaptive(&op_adaptive_avg_pool2d, POOL_ADAPTIVE_AVG, x, out_h, out_w);
}

fc_tensor *fc_adaptive_max_pool2d(fc_tensor *x, int64_t out_h, int64_t out_w) {
    return adaptive(&op_adaptive_max_pool2d, POOL_ADAPTIVE_MAX, x, out_h, out_w);
}
