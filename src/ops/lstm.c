/* The LSTM: a fused cell op and a multi-layer torch.nn.LSTM (batch_first=False) with one graph
 * node for the whole network and a hand-written backward through time.
 * Forward per layer: one GEMM for x W_ih^T over all time steps, then per step one GEMM
 * h W_hh^T added into the gates and the fused cell. Backward per layer: per step the fused cell
 * backward and one GEMM dgates W_hh; after the loop, one GEMM each for dW_ih, dW_hh and dx. */
#include <string.h>

#include "cpu/linalg.h"
#include "cpu/lstm.h"
#include "ops_impl.h"

/* ---- the recurrence's kernels on either device: the CPU loops or their CUDA twins ----
 * Each runs only while *st is FC_OK and records the first failure there. */

static int on_cuda(fc_device dev) { return dev.type == FC_DEVICE_CUDA; }

static void gemm_d(fc_status *st, fc_device dev, int ta, int tb, int64_t m, int64_t n, int64_t k,
                   float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                   float beta, float *c, int64_t ldc) {
    if (*st == FC_OK) *st = fci_gemm_dev(dev, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void cell_fwd_d(fc_status *st, fc_device dev, const float *gates, int64_t ldg,
                       const float *c_prev, float *act, float *h, int64_t ldh, float *c, int64_t B,
                       int64_t H) {
    if (*st != FC_OK) return;
#if FASTC_CUDA
    if (on_cuda(dev)) {
        fci_cuda_lstm_cell_fwd_launch(fci_cuda_stream(dev.index), gates, ldg, c_prev, act, h, ldh, c,
                                      B, H);
        *st = fci_cuda_launched("lstm");
        return;
    }
#endif
    fci_lstm_cell_fwd_f32(gates, ldg, c_prev, act, h, ldh, c, B, H);
}

static void cell_bwd_d(fc_status *st, fc_device dev, const float *act, const float *c_prev,
                       const float *c, const float *dh, const float *dc, float *dgates,
                       float *dc_prev, int64_t B, int64_t H) {
    if (*st != FC_OK) return;
#if FASTC_CUDA
    if (on_cuda(dev)) {
        fci_cuda_lstm_cell_bwd_launch(fci_cuda_stream(dev.index), act, c_prev, c, dh, dc, dgates,
                                      dc_prev, B, H);
        *st = fci_cuda_launched("lstm");
        return;
    }
#endif
    fci_lstm_cell_bwd_f32(act, c_prev, c, dh, dc, dgates, dc_prev, B, H);
}

static void rows_fill_d(fc_status *st, fc_device dev, float *y, const float *b0, const float *b1,
                        int64_t rows, int64_t cols) {
    if (*st != FC_OK) return;
#if FASTC_CUDA
    if (on_cuda(dev)) {
        fci_cuda_rows_fill_launch(fci_cuda_stream(dev.index), y, b0, b1, rows, cols);
        *st = fci_cuda_launched("lstm");
        return;
    }
#endif
    fci_rows_fill_f32(y, b0, b1, rows, cols);
}

static void add_d(fc_status *st, fc_device dev, float *dst, const float *src, int64_t n) {
    if (*st != FC_OK) return;
#if FASTC_CUDA
    if (on_cuda(dev)) {
        fci_cuda_add_inplace_launch(fci_cuda_stream(dev.index), dst, src, n);
        *st = fci_cuda_launched("lstm");
        return;
    }
#endif
    fci_add_inplace_f32(dst, src, n);
}

static void col_sum_d(fc_status *st, fc_device dev, const float *g, float *out, int64_t rows,
                      int64_t cols) {
    if (*st != FC_OK) return;
#if FASTC_CUDA
    if (on_cuda(dev)) {
        fci_cuda_sum_axis_launch(fci_cuda_stream(dev.index), g, out, 1, rows, cols);
        *st = fci_cuda_launched("lstm");
        return;
    }
#endif
    fci_col_sum_f32(g, out, rows, cols, 0);
}

static void copy_d(fc_status *st, fc_device dev, float *dst, const float *src, int64_t n) {
    if (*st != FC_OK) return;
#if FASTC_CUDA
    if (on_cuda(dev)) {
        *st = fci_cuda_d2d(dev.index, dst, src, sizeof(float) * (size_t)n);
        return;
    }
#endif
    memcpy(dst, src, sizeof(float) * (size_t)n);
}

/* ---- the fused cell ---- */

/* saved[0]: the output [2, B, H]; saved[1]: the activated gates [B, 4H] */
static fc_status lstm_cell_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *c_prev = n->in[1], *out = n->saved[0], *act = n->saved[1];
    int64_t B = c_prev->shape[0], H = c_prev->shape[1];
    fc_tensor *cp = fci_contig_f32_any("lstm_cell", c_prev);
    fc_tensor *dg = fci_tensor_alloc(FC_SHAPE(B, 4 * H), FC_DTYPE_F32, c_prev->device);
    fc_tensor *dc = fci_node_needs_grad(n, 1)
                        ? fci_tensor_alloc(FC_SHAPE(B, H), FC_DTYPE_F32, c_prev->device)
                        : NULL;
    if (!cp || !dg || (fci_node_needs_grad(n, 1) && !dc)) {
        fci_tensor_unref(cp);
        return fc_error_code();
    }
    const float *g = fc_tensor_data(gy);
    fc_status st = FC_OK;
    cell_bwd_d(&st, c_prev->device, fc_tensor_data(act), fc_tensor_data(cp),
               (const float *)fc_tensor_data(out) + B * H, g, g + B * H, fc_tensor_data(dg),
               dc ? fc_tensor_data(dc) : NULL, B, H);
    fci_tensor_unref(cp);
    if (st != FC_OK) {
        fc_tensor_free(dg);
        fc_tensor_free(dc);
        return st;
    }
    if (fci_node_needs_grad(n, 0)) gx[0] = dg;
    else fc_tensor_free(dg);
    gx[1] = dc;
    return FC_OK;
}
static const fci_op op_lstm_cell = {"lstm_cell", lstm_cell_bwd};

fc_tensor *fc_lstm_cell(fc_tensor *gates, fc_tensor *c_prev) {
    if (!gates || !c_prev) return NULL;
    if (fci_check_float32("lstm_cell", "gates", gates) ||
        fci_check_float32("lstm_cell", "c_prev", c_prev) ||
        fci_check_same_device("lstm_cell", gates, c_prev) || fci_check_device("lstm_cell", gates) ||
        fci_check_ndim("lstm_cell", "gates", gates, 2) ||
        fci_check_ndim("lstm_cell", "c_prev", c_prev, 2))
        return NULL;
    int64_t B = c_prev->shape[0], H = c_prev->shape[1];
    if (gates->shape[0] != B || gates->shape[1] != 4 * H) {
        fc_fail(FC_ERR_SHAPE, "lstm_cell: expected gates of shape [%lld, %lld] (c_prev %s), found %s",
                (long long)B, (long long)(4 * H), fci_tshape(c_prev), fci_tshape(gates));
        return NULL;
    }
    fc_tensor *g = fci_contig_f32_any("lstm_cell", gates), *cp = fci_contig_f32_any("lstm_cell", c_prev);
    fc_tensor *y = fci_tensor_alloc(FC_SHAPE(2, B, H), FC_DTYPE_F32, gates->device);
    fc_tensor *act = fci_tensor_alloc(FC_SHAPE(B, 4 * H), FC_DTYPE_F32, gates->device);
    if (!g || !cp || !y || !act) goto fail;
    float *py = fc_tensor_data(y);
    fc_status st = FC_OK;
    cell_fwd_d(&st, gates->device, fc_tensor_data(g), 4 * H, fc_tensor_data(cp), fc_tensor_data(act),
               py, H, py + B * H, B, H);
    if (st != FC_OK) goto fail;
    fci_tensor_unref(g);
    fci_tensor_unref(cp);
    fc_tensor *in[2] = {gates, c_prev};
    if (fci_grad_needed(2, in)) {
        fci_node *n = fci_record(&op_lstm_cell, y, 2, in);
        if (!n) {
            fc_tensor_free(act);
            return NULL;
        }
        fci_save_output(n, 0, y);
        fci_save(n, 1, act);
    }
    fc_tensor_free(act);
    return y;
fail:
    fci_tensor_unref(g);
    fci_tensor_unref(cp);
    fc_tensor_free(y);
    fc_tensor_free(act);
    return NULL;
}

/* ---- the multi-layer LSTM ---- */

/* What backward needs per layer: activated gates [T, B, 4H], cell states [T, B, H] and, below the
 * last layer, the hidden states [T, B, H] (the last layer's are the output, saved[0]). */
typedef struct lstm_state {
    int n_layers;
    fc_tensor **act, **c, **h;
} lstm_state;

static void lstm_state_free(void *p) {
    lstm_state *s = p;
    if (!s) return;
    for (int l = 0; l < s->n_layers; l++) {
        fci_tensor_unref(s->act[l]);
        fci_tensor_unref(s->c[l]);
        fci_tensor_unref(s->h[l]);
    }
    fci_free(s->act);
    fci_free(s->c);
    fci_free(s->h);
    fci_free(s);
}

static lstm_state *lstm_state_new(int L) {
    lstm_state *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n_layers = L;
    s->act = fci_calloc((size_t)L, sizeof *s->act);
    s->c = fci_calloc((size_t)L, sizeof *s->c);
    s->h = fci_calloc((size_t)L, sizeof *s->h);
    if (!s->act || !s->c || !s->h) {
        lstm_state_free(s);
        return NULL;
    }
    return s;
}

/* Node inputs: x, h0, c0, then w_ih[L], w_hh[L], b_ih[L], b_hh[L] (NULLs allowed). */
enum { IN_X, IN_H0, IN_C0, IN_W };
#define W_IH(l) (IN_W + (l))
#define W_HH(l) (IN_W + L + (l))
#define B_IH(l) (IN_W + 2 * L + (l))
#define B_HH(l) (IN_W + 3 * L + (l))

static const float *f32(const fc_tensor *t) { return t ? fc_tensor_data(t) : NULL; }

/* Room for one layer's W_hh packed for the CPU recurrence (4H^2 floats, 21 MB at H = 1152). If it
 * cannot be had the recurrence still runs, through OpenBLAS at every step, so the failure is not
 * reported. */
static size_t pack_bytes(int64_t H) { return (size_t)fci_lstm_pack_floats(H) * sizeof(float); }
static float *pack_workspace(int64_t H) {
    float *p = fci_alloc(pack_bytes(H));
    if (!p) fc_error_clear();
    return p;
}

/* Runs layer l over T steps: gates from x_l [T*B, I] in one GEMM, then the recurrence. */
static fc_status layer_forward(fc_device dev, const float *x, int64_t T, int64_t B, int64_t I,
                               int64_t H, const float *w_ih, const float *w_hh, const float *b_ih,
                               const float *b_hh, const float *h0, const float *c0, float *act,
                               float *c, float *h) {
    int64_t G = 4 * H, TB = T * B;
    fc_status st = FC_OK;
    const float *b0 = b_ih ? b_ih : b_hh, *b1 = b_ih ? b_hh : NULL;
    if (b0) rows_fill_d(&st, dev, act, b0, b1, TB, G);
    gemm_d(&st, dev, 0, 1, TB, G, I, 1.0f, x, I, w_ih, I, b0 ? 1.0f : 0.0f, act, G);
    if (!on_cuda(dev)) { /* the CPU's fused recurrence */
        if (st == FC_OK) {
            float *w_pack = pack_workspace(H);
            fci_lstm_recur_fwd_f32(T, B, H, w_hh, h0, c0, act, c, h, w_pack);
            fci_release(w_pack, pack_bytes(H));
        }
        return st;
    }
    for (int64_t t = 0; t < T; t++) {
        const float *hp = t ? h + (t - 1) * B * H : h0, *cp = t ? c + (t - 1) * B * H : c0;
        float *at = act + t * B * G;
        if (hp) gemm_d(&st, dev, 0, 1, B, G, H, 1.0f, hp, H, w_hh, H, 1.0f, at, G);
        cell_fwd_d(&st, dev, at, G, cp, at, h + t * B * H, H, c + t * B * H, B, H);
    }
    return st;
}

typedef struct lstm_dims {
    int L;
    int64_t T, B, I, H;
    fc_device dev;
} lstm_dims;

/* Backward through one layer. dy [T, B, H] is the gradient of its outputs (read only); dh, dc
 * [B, H] hold the gradients of h_n, c_n on entry and of h0, c0 on exit (dh only when need_dh0).
 * dg [T, B, 4H] is workspace that ends holding the pre-activation gate gradients. */
static fc_status layer_backward(const lstm_dims *d, const float *dy, const float *act,
                                const float *c, const float *c0, const float *w_hh, float *dh,
                                float *dc, float *dg, int need_dh0) {
    int64_t B = d->B, H = d->H, G = 4 * H;
    fc_status st = FC_OK;
    if (!on_cuda(d->dev)) { /* the CPU's fused recurrence */
        float *w_pack = pack_workspace(H);
        fci_lstm_recur_bwd_f32(d->T, B, H, dy, act, c, c0, w_hh, dh, dc, dg, need_dh0, w_pack);
        fci_release(w_pack, pack_bytes(H));
        return st;
    }
    for (int64_t t = d->T - 1; t >= 0; t--) {
        add_d(&st, d->dev, dh, dy + t * B * H, B * H);
        /* dc_prev may alias dc: the kernel reads each element before writing it */
        cell_bwd_d(&st, d->dev, act + t * B * G, t ? c + (t - 1) * B * H : c0, c + t * B * H, dh,
                   dc, dg + t * B * G, dc, B, H);
        if (t > 0 || need_dh0)
            gemm_d(&st, d->dev, 0, 0, B, H, G, 1.0f, dg + t * B * G, G, w_hh, H, 0.0f, dh, H);
    }
    return st;
}

/* Weight gradients of layer l from its gate gradients dg [T*B, 4H]. */
static fc_status layer_weight_grads(fci_node *n, const lstm_dims *d, int l, const float *dg,
                                    const float *x_l, int64_t I_l, const float *h_l,
                                    const float *h0, fc_tensor **gx) {
    int L = d->L;
    int64_t B = d->B, H = d->H, G = 4 * H, TB = d->T * B;
    fc_device dev = n->in[IN_X]->device;
    fc_status st = FC_OK;
    if (fci_node_needs_grad(n, W_HH(l))) { /* sum_t dg[t]^T h[t-1] */
        fc_tensor *g = gx[W_HH(l)] = fci_tensor_alloc(FC_SHAPE(G, H), FC_DTYPE_F32, dev);
        if (!g) return fc_error_code();
        if (TB - B > 0)
            gemm_d(&st, dev, 1, 0, G, H, TB - B, 1.0f, dg + B * G, G, h_l, H, 0.0f, fc_tensor_data(g), H);
        else if (st == FC_OK) /* one step: only h0 contributes */
            st = fc_fill_(g, 0.0);
        if (h0) gemm_d(&st, dev, 1, 0, G, H, B, 1.0f, dg, G, h0 + l * B * H, H, 1.0f, fc_tensor_data(g), H);
    }
    if (fci_node_needs_grad(n, W_IH(l))) {
        fc_tensor *g = gx[W_IH(l)] = fci_tensor_alloc(FC_SHAPE(G, I_l), FC_DTYPE_F32, dev);
        if (!g) return fc_error_code();
        gemm_d(&st, dev, 1, 0, G, I_l, TB, 1.0f, dg, G, x_l, I_l, 0.0f, fc_tensor_data(g), I_l);
    }
    fc_tensor *summed = NULL;
    for (int k = 0; k < 2; k++) { /* both biases get the summed gate gradients: summed once */
        int i = k ? B_HH(l) : B_IH(l);
        if (!fci_node_needs_grad(n, i)) continue;
        fc_tensor *g = gx[i] = fci_tensor_alloc(FC_SHAPE(G), FC_DTYPE_F32, dev);
        if (!g) return fc_error_code();
        if (summed && st == FC_OK)
            st = fci_copy_strided(g, summed);
        else
            col_sum_d(&st, dev, dg, fc_tensor_data(g), TB, G);
        summed = g;
    }
    return st;
}

/* gy: [T + 2L, B, H] = gradients of (y, h_n, c_n), the layout of the node's output. */
static fc_status lstm_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    lstm_state *s = n->aux;
    fc_tensor *x = n->in[IN_X];
    int L = s->n_layers;
    lstm_dims d = {L, x->shape[0], x->shape[1], x->shape[2], n->in[W_HH(0)]->shape[1], x->device};
    int64_t T = d.T, B = d.B, H = d.H, BH = B * H, G = 4 * H;
    fc_device dev = x->device;
    const float *gp = fc_tensor_data(gy), *dy = gp;
    fc_tensor *xc = fci_contig_f32_any("lstm", x), *h0c = NULL, *c0c = NULL, *dyl = NULL;
    fc_tensor *dh = fci_tensor_alloc(FC_SHAPE(B, H), FC_DTYPE_F32, dev);
    fc_tensor *dc = fci_tensor_alloc(FC_SHAPE(B, H), FC_DTYPE_F32, dev);
    fc_tensor *dg = fci_tensor_alloc(FC_SHAPE(T, B, G), FC_DTYPE_F32, dev);
    fc_status st = xc && dh && dc && dg ? FC_OK : fc_error_code();
    if (st == FC_OK && n->in[IN_H0] && !(h0c = fci_contig_f32_any("lstm", n->in[IN_H0]))) st = fc_error_code();
    if (st == FC_OK && n->in[IN_C0] && !(c0c = fci_contig_f32_any("lstm", n->in[IN_C0]))) st = fc_error_code();
    for (int i = IN_H0; st == FC_OK && i <= IN_C0; i++)
        if (fci_node_needs_grad(n, i) &&
            !(gx[i] = fci_tensor_alloc(FC_SHAPE(L, B, H), FC_DTYPE_F32, dev)))
            st = fc_error_code();
    for (int l = L - 1; l >= 0 && st == FC_OK; l--) {
        fc_tensor *w_ih = fci_contig_f32_any("lstm", n->in[W_IH(l)]);
        fc_tensor *w_hh = fci_contig_f32_any("lstm", n->in[W_HH(l)]);
        if (!w_ih || !w_hh) {
            st = fc_error_code();
        } else {
            copy_d(&st, dev, fc_tensor_data(dh), gp + (T + l) * BH, BH);
            copy_d(&st, dev, fc_tensor_data(dc), gp + (T + L + l) * BH, BH);
            const float *c0 = c0c ? f32(c0c) + l * BH : NULL;
            if (st == FC_OK)
                st = layer_backward(&d, dy, f32(s->act[l]), f32(s->c[l]), c0, f32(w_hh),
                                    fc_tensor_data(dh), fc_tensor_data(dc), fc_tensor_data(dg),
                                    gx[IN_H0] != NULL);
            if (gx[IN_H0]) copy_d(&st, dev, fc_tensor_data_f32(gx[IN_H0]) + l * BH, f32(dh), BH);
            if (gx[IN_C0]) copy_d(&st, dev, fc_tensor_data_f32(gx[IN_C0]) + l * BH, f32(dc), BH);
            int64_t I_l = l ? H : d.I;
            const float *x_l = l ? f32(s->h[l - 1]) : f32(xc);
            const float *h_l = l == L - 1 ? f32(n->saved[0]) : f32(s->h[l]);
            if (st == FC_OK) st = layer_weight_grads(n, &d, l, f32(dg), x_l, I_l, h_l, f32(h0c), gx);
            if (st == FC_OK && (l > 0 || fci_node_needs_grad(n, IN_X))) { /* dx_l = dg W_ih */
                fc_tensor *dx = fci_tensor_alloc(FC_SHAPE(T, B, I_l), FC_DTYPE_F32, dev);
                if (!dx) {
                    st = fc_error_code();
                } else {
                    gemm_d(&st, dev, 0, 0, T * B, I_l, G, 1.0f, f32(dg), G, f32(w_ih), I_l, 0.0f,
                           fc_tensor_data(dx), I_l);
                    fc_tensor_free(dyl);
                    dyl = NULL;
                    if (l) dyl = dx, dy = f32(dx);
                    else gx[IN_X] = dx;
                }
            }
        }
        fci_tensor_unref(w_ih);
        fci_tensor_unref(w_hh);
    }
    fc_tensor_free(dyl);
    fc_tensor_free(dg);
    fc_tensor_free(dc);
    fc_tensor_free(dh);
    fci_tensor_unref(c0c);
    fci_tensor_unref(h0c);
    fci_tensor_unref(xc);
    return st;
}
static const fci_op op_lstm = {"lstm", lstm_bwd};

static int check_param(const char *what, int l, fc_tensor *t, int64_t d0, int64_t d1, int nd) {
    if (!t) {
        if (!fc_error_code()) fc_fail(FC_ERR_ARG, "lstm: expected %s[%d], found NULL", what, l);
        return 1;
    }
    if (fci_check_float32("lstm", what, t)) return 1;
    if (t->ndim == nd && t->shape[0] == d0 && (nd == 1 || t->shape[1] == d1)) return 0;
    if (nd == 1)
        fc_fail(FC_ERR_SHAPE, "lstm: expected %s[%d] of shape [%lld], found %s", what, l,
                (long long)d0, fci_tshape(t));
    else
        fc_fail(FC_ERR_SHAPE, "lstm: expected %s[%d] of shape [%lld, %lld], found %s", what, l,
                (long long)d0, (long long)d1, fci_tshape(t));
    return 1;
}

static int lstm_check(fc_tensor *x, const fc_lstm_weights *w, fc_tensor *h0, fc_tensor *c0) {
    if (fci_check_float32("lstm", "x", x) || fci_check_device("lstm", x) ||
        fci_check_ndim("lstm", "x", x, 3))
        return 1;
    if (!w || w->n_layers < 1 || !w->w_ih || !w->w_hh) {
        fc_fail(FC_ERR_ARG, "lstm: expected weights for at least one layer, found %d",
                w ? w->n_layers : 0);
        return 1;
    }
    if (x->shape[0] < 1) {
        fc_fail(FC_ERR_SHAPE, "lstm: expected at least one time step, found x %s", fci_tshape(x));
        return 1;
    }
    if (!w->w_hh[0]) return check_param("w_hh", 0, NULL, 0, 0, 2);
    int64_t H = w->w_hh[0]->ndim == 2 ? w->w_hh[0]->shape[1] : 0, B = x->shape[1];
    for (int l = 0; l < w->n_layers; l++) {
        if (check_param("w_ih", l, w->w_ih[l], 4 * H, l ? H : x->shape[2], 2) ||
            check_param("w_hh", l, w->w_hh[l], 4 * H, H, 2) ||
            (w->b_ih && w->b_ih[l] && check_param("b_ih", l, w->b_ih[l], 4 * H, 0, 1)) ||
            (w->b_hh && w->b_hh[l] && check_param("b_hh", l, w->b_hh[l], 4 * H, 0, 1)))
            return 1;
    }
    fc_tensor *st[2] = {h0, c0};
    for (int k = 0; k < 2; k++) {
        fc_tensor *t = st[k];
        if (!t) continue;
        if (fci_check_float32("lstm", k ? "c0" : "h0", t) || fci_check_same_device("lstm", x, t)) return 1;
        if (t->ndim != 3 || t->shape[0] != w->n_layers || t->shape[1] != B || t->shape[2] != H) {
            fc_fail(FC_ERR_SHAPE, "lstm: expected %s of shape [%d, %lld, %lld] (layers, batch, "
                                  "hidden), found %s", k ? "c0" : "h0", w->n_layers, (long long)B,
                    (long long)H, fci_tshape(t));
            return 1;
        }
    }
    return 0;
}

/* Runs every layer into out [T + 2L, B, H] = (y, h_n, c_n); fills s with what backward needs. */
static int lstm_run(fc_tensor *x, const fc_lstm_weights *w, fc_tensor *h0, fc_tensor *c0,
                    fc_tensor *out, lstm_state *s) {
    int L = w->n_layers;
    int64_t T = x->shape[0], B = x->shape[1], H = w->w_hh[0]->shape[1], BH = B * H;
    fc_tensor *xc = fci_contig_f32_any("lstm", x);
    fc_tensor *h0c = h0 ? fci_contig_f32_any("lstm", h0) : NULL, *c0c = c0 ? fci_contig_f32_any("lstm", c0) : NULL;
    int err = !xc || (h0 && !h0c) || (c0 && !c0c);
    float *py = fc_tensor_data(out);
    for (int l = 0; l < L && !err; l++) {
        s->act[l] = fc_keep(fci_tensor_alloc(FC_SHAPE(T, B, 4 * H), FC_DTYPE_F32, x->device));
        s->c[l] = fc_keep(fci_tensor_alloc(FC_SHAPE(T, B, H), FC_DTYPE_F32, x->device));
        if (l < L - 1) s->h[l] = fc_keep(fci_tensor_alloc(FC_SHAPE(T, B, H), FC_DTYPE_F32, x->device));
        fc_tensor *wi = fci_contig_f32_any("lstm", w->w_ih[l]), *wh = fci_contig_f32_any("lstm", w->w_hh[l]);
        fc_tensor *bi = w->b_ih && w->b_ih[l] ? fci_contig_f32_any("lstm", w->b_ih[l]) : NULL;
        fc_tensor *bh = w->b_hh && w->b_hh[l] ? fci_contig_f32_any("lstm", w->b_hh[l]) : NULL;
        err = !s->act[l] || !s->c[l] || (l < L - 1 && !s->h[l]) || !wi || !wh ||
              (w->b_ih && w->b_ih[l] && !bi) || (w->b_hh && w->b_hh[l] && !bh);
        if (!err) {
            float *h = l < L - 1 ? fc_tensor_data(s->h[l]) : py, *c = fc_tensor_data(s->c[l]);
            fc_status st = layer_forward(x->device, l ? f32(s->h[l - 1]) : f32(xc), T, B,
                                         l ? H : x->shape[2], H, f32(wi), f32(wh), f32(bi), f32(bh),
                                         h0c ? f32(h0c) + l * BH : NULL,
                                         c0c ? f32(c0c) + l * BH : NULL, fc_tensor_data(s->act[l]), c, h);
            copy_d(&st, x->device, py + (T + l) * BH, h + (T - 1) * BH, BH);
            copy_d(&st, x->device, py + (T + L + l) * BH, c + (T - 1) * BH, BH);
            err = st != FC_OK;
        }
        fci_tensor_unref(bh);
        fci_tensor_unref(bi);
        fci_tensor_unref(wh);
        fci_tensor_unref(wi);
    }
    fci_tensor_unref(c0c);
    fci_tensor_unref(h0c);
    fci_tensor_unref(xc);
    return err;
}

/* Records one node for the whole network; out holds (y, h_n, c_n) stacked on dim 0. On failure
 * out is freed (as fci_record does). */
static int lstm_record(fc_tensor *x, const fc_lstm_weights *w, fc_tensor *h0, fc_tensor *c0,
                       fc_tensor *out, lstm_state **s) {
    int L = w->n_layers, n_in = IN_W + 4 * L;
    fc_tensor **in = fci_calloc((size_t)n_in, sizeof *in);
    if (!in) {
        fc_tensor_free(out);
        return 1;
    }
    in[IN_X] = x, in[IN_H0] = h0, in[IN_C0] = c0;
    for (int l = 0; l < L; l++) {
        in[W_IH(l)] = w->w_ih[l];
        in[W_HH(l)] = w->w_hh[l];
        in[B_IH(l)] = w->b_ih ? w->b_ih[l] : NULL;
        in[B_HH(l)] = w->b_hh ? w->b_hh[l] : NULL;
    }
    int err = 0;
    if (fci_grad_needed(n_in, in)) {
        fci_node *n = fci_record(&op_lstm, out, n_in, in);
        if (!n) {
            err = 1;
        } else {
            fci_save_output(n, 0, out);
            n->aux = *s;
            n->aux_free = lstm_state_free;
            *s = NULL;
        }
    }
    fci_free(in);
    return err;
}

fc_tensor *fc_lstm(fc_tensor *x, const fc_lstm_weights *w, fc_tensor *h0, fc_tensor *c0,
                   fc_tensor **h_n, fc_tensor **c_n) {
    if (h_n) *h_n = NULL;
    if (c_n) *c_n = NULL;
    if (!x || lstm_check(x, w, h0, c0)) return NULL;
    int L = w->n_layers;
    int64_t T = x->shape[0], B = x->shape[1], H = w->w_hh[0]->shape[1];
    lstm_state *s = lstm_state_new(L);
    fc_tensor *out = s ? fci_tensor_alloc(FC_SHAPE(T + 2 * L, B, H), FC_DTYPE_F32, x->device) : NULL;
    if (!out || lstm_run(x, w, h0, c0, out, s)) {
        lstm_state_free(s);
        fc_tensor_free(out);
        return NULL;
    }
    if (lstm_record(x, w, h0, c0, out, &s)) {
        lstm_state_free(s);
        return NULL;
    }
    lstm_state_free(s); /* NULL when the node took it */
    fc_tensor *y = fc_narrow(out, 0, 0, T);
    if (y && h_n) *h_n = fc_narrow(out, 0, T, L);
    if (y && c_n) *c_n = fc_narrow(out, 0, T + L, L);
    fc_tensor_free(out);
    if (y && ((h_n && !*h_n) || (c_n && !*c_n))) {
        fc_tensor_free(y);
        return NULL;
    }
    return y;
}
