/* Autocast (torch.autocast) on CPUs without 16-bit GEMM kernels. Inside a region, matmul, bmm,
 * linear, conv2d and conv_transpose2d round every f32 input to the region's dtype and run the f32
 * kernels: the products of 8-bit (bf16) or 11-bit (f16) significands are exact in f32 and the sums
 * accumulate in f32, which is what a bf16 GEMM with f32 accumulation computes. The output stays
 * f32, where torch returns bf16/f16: our kernels write f32, and rounding the output would only
 * lose precision without saving time or memory here. Its gradient, though, is rounded on the way
 * back (fci_autocast_backward), as torch's arrives in bf16/f16: that is where an f16 gradient
 * overflows, which MixedPrecision's loss scaler must see on the CPU as on CUDA. Everything else (reductions, softmax, norms,
 * losses, pointwise ops) stays f32, as torch's autocast lists them.
 *
 * oneDNN 2.6 has no bf16/f16 convolution or matmul without AVX512-BF16/AMX (creating one returns
 * dnnl_unimplemented on AVX2: bench/RESULTS.md), and OpenBLAS 0.3.21 as packaged has no sbgemm, so
 * on this CPU autocast is a precision feature (train as a bf16 machine would) that costs a rounding
 * pass per input, not a speed-up. */
#include "autocast_impl.h"

#include "cpu/round.h"
#include "ops_impl.h"
#if FASTC_CUDA
#include "../core/cuda_impl.h"
#endif

enum { MAX_DEPTH = 32 };

static _Thread_local fc_dtype g_stack[MAX_DEPTH];
static _Thread_local int g_depth;
static _Thread_local int g_suspended; /* > 0 while a rounded op runs the f32 op underneath */

fc_status fc_autocast_begin(fc_dtype dtype) {
    if (dtype != FC_DTYPE_BF16 && dtype != FC_DTYPE_F16 && dtype != FC_DTYPE_F32)
        return fc_fail(FC_ERR_DTYPE, "autocast_begin: expected bf16, f16 or f32 (a region without "
                                     "autocast), found %s", fc_dtype_name(dtype));
    if (g_depth == MAX_DEPTH)
        return fc_fail(FC_ERR_STATE, "autocast_begin: regions nest at most %d deep (is an "
                                     "fc_autocast_end missing?)", MAX_DEPTH);
    g_stack[g_depth++] = dtype;
    return FC_OK;
}

fc_status fc_autocast_end(void) {
    if (g_depth == 0)
        return fc_fail(FC_ERR_STATE, "autocast_end: no autocast region is open on this thread");
    g_depth--;
    return FC_OK;
}

fc_dtype fc_autocast_dtype(void) { return g_depth ? g_stack[g_depth - 1] : FC_DTYPE_F32; }

int fci_autocast_on(void) { return g_depth && !g_suspended && g_stack[g_depth - 1] != FC_DTYPE_F32; }

/* -1: no backward of a recorded op is running; else the fc_dtype its forward multiplied in. */
static _Thread_local int g_backward = -1;

fc_dtype fci_autocast_compute_dtype(void) {
    if (g_backward >= 0) return (fc_dtype)g_backward;
    return g_depth && g_suspended ? g_stack[g_depth - 1] : FC_DTYPE_F32;
}

int fci_autocast_backward_begin(fc_dtype dt) {
    int prev = g_backward;
    g_backward = (int)dt;
    return prev;
}

void fci_autocast_backward_end(int prev) { g_backward = prev; }

/* ---- the rounding op: y = x rounded to bf16/f16, dy rounded the same way on the way back ---- */

static fc_tensor *round_values(fc_tensor *x, fc_dtype dt) {
    fc_tensor *xc = fci_contig_f32_any("autocast", x);
    if (!xc) return NULL;
    fc_tensor *y = fci_tensor_alloc(fc_tensor_shape(x), FC_DTYPE_F32, x->device);
#if FASTC_CUDA
    if (y && x->device.type == FC_DEVICE_CUDA) { /* on the device (cuda_impl.h, src/ops/cuda/amp.cu) */
        if (fci_cuda_round_f32(x->device.index, fc_tensor_data(xc), fc_tensor_data(y), fc_tensor_numel(x), dt) != FC_OK)
            fci_tensor_unref(y), y = NULL;
        fci_tensor_unref(xc);
        return y;
    }
#endif
    if (y) {
        const float *px = fc_tensor_data(xc);
        float *py = fc_tensor_data(y);
        if (dt == FC_DTYPE_BF16) fci_round_bf16_f32(px, py, fc_tensor_numel(x));
        else fci_round_f16_f32(px, py, fc_tensor_numel(x));
    }
    fci_tensor_unref(xc);
    return y;
}

fc_status fci_autocast_backward(fci_node *n, fc_tensor *gy, fc_tensor **gx,
                                fc_status (*grads)(fci_node *n, fc_tensor *gy, fc_tensor **gx)) {
    fc_dtype dt = (fc_dtype)n->ip[0];
    fc_tensor *g = gy;
    if (dt == FC_DTYPE_BF16 || dt == FC_DTYPE_F16) {
        g = round_values(gy, dt); /* the gradient of a 16-bit output is 16-bit (and f16 can overflow) */
        if (!g) return fc_error_code();
    }
    int prev = fci_autocast_backward_begin(dt);
    fc_status st = grads(n, g, gx);
    fci_autocast_backward_end(prev);
    if (g != gy) fci_tensor_unref(g);
    return st;
}

/* torch's cast backward casts the gradient to the input's dtype; the gradient that reaches the cast
 * was computed in bf16/f16 there. Rounding it here keeps that (and f16's range, which is what the
 * loss scaler of MixedPrecision guards against). */
static fc_status round_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    gx[0] = round_values(gy, (fc_dtype)n->ip[0]);
    return gx[0] ? FC_OK : fc_error_code();
}
static const fci_op op_round = {"autocast_round", round_bwd};

fc_tensor *fci_autocast_round(fc_tensor *x, fc_dtype dt) {
    if (!x) return NULL;
    if (dt != FC_DTYPE_BF16 && dt != FC_DTYPE_F16) {
        fc_fail(FC_ERR_DTYPE, "autocast: can round to bf16 or f16, found %s", fc_dtype_name(dt));
        return NULL;
    }
    fc_tensor *y = round_values(x, dt);
    if (y && fci_grad_needed(1, &x)) {
        fci_node *n = fci_record(&op_round, y, 1, &x);
        if (!n) return NULL;
        n->ip[0] = dt;
    }
    return y;
}

/* ---- the ops on rounded inputs ---- */

/* Rounds each f32 CPU or CUDA input (NULL and other dtypes or devices pass unchanged, so the op reports
 * them in its own words); r[i] is the rounded tensor or in[i]. 0 when fine. */
static int round_inputs(int n, fc_tensor *const *in, fc_tensor **r) {
    fc_dtype dt = fc_autocast_dtype();
    for (int i = 0; i < n; i++) {
        fc_tensor *t = in[i];
        int ok = t && t->dtype == FC_DTYPE_F32 &&
                 (t->device.type == FC_DEVICE_CPU || t->device.type == FC_DEVICE_CUDA);
        r[i] = ok ? fci_autocast_round(t, dt) : t;
        if (ok && !r[i]) {
            while (i--)
                if (r[i] != in[i]) fc_tensor_free(r[i]);
            return 1;
        }
    }
    g_suspended++;
    return 0;
}

static void release_inputs(int n, fc_tensor *const *in, fc_tensor **r) {
    g_suspended--;
    for (int i = 0; i < n; i++)
        if (r[i] != in[i]) fc_tensor_free(r[i]); /* the op's graph node holds its own reference */
}

fc_tensor *fci_autocast_matmul(fc_tensor *a, fc_tensor *b) {
    fc_tensor *in[2] = {a, b}, *r[2];
    if (round_inputs(2, in, r)) return NULL;
    fc_tensor *y = fc_matmul(r[0], r[1]);
    release_inputs(2, in, r);
    return y;
}

fc_tensor *fci_autocast_bmm(fc_tensor *a, fc_tensor *b) {
    fc_tensor *in[2] = {a, b}, *r[2];
    if (round_inputs(2, in, r)) return NULL;
    fc_tensor *y = fc_bmm(r[0], r[1]);
    release_inputs(2, in, r);
    return y;
}

/* The bias is rounded too: torch's autocast casts every floating argument of linear and conv. */
fc_tensor *fci_autocast_linear(fc_tensor *x, fc_tensor *w, fc_tensor *bias) {
    fc_tensor *in[3] = {x, w, bias}, *r[3];
    if (round_inputs(3, in, r)) return NULL;
    fc_tensor *y = fc_linear(r[0], r[1], r[2]);
    release_inputs(3, in, r);
    return y;
}

fc_tensor *fci_autocast_conv2d(fc_tensor *x, fc_tensor *w, fc_tensor *bias, const fc_conv2d_opts *o) {
    fc_tensor *in[3] = {x, w, bias}, *r[3];
    if (round_inputs(3, in, r)) return NULL;
    fc_tensor *y = fc_conv2d_(r[0], r[1], r[2], o);
    release_inputs(3, in, r);
    return y;
}

fc_tensor *fci_autocast_conv_transpose2d(fc_tensor *x, fc_tensor *w, fc_tensor *bias,
                                         const fc_conv2d_opts *o) {
    fc_tensor *in[3] = {x, w, bias}, *r[3];
    if (round_inputs(3, in, r)) return NULL;
    fc_tensor *y = fc_conv_transpose2d_(r[0], r[1], r[2], o);
    release_inputs(3, in, r);
    return y;
}
