/* Helpers shared by the model files: kaiming init, bias-free convs, running children in order,
 * adaptive max pooling, option defaults. */
#include <math.h>
#include <string.h>

#include "../models_impl.h"

fc_module *fci_model_done(fc_module *m) {
    if (m && fc_error_code() != FC_OK) {
        fc_module_free(m);
        return NULL;
    }
    return m;
}

fc_status fci_kaiming_normal(fc_tensor *w, int fan_out) {
    if (!w) return fc_error_code();
    int nd = fc_tensor_ndim(w);
    if (nd < 2)
        return fc_fail(FC_ERR_INTERNAL, "%s:%d: kaiming_normal: expected a weight of >= 2 dims, found %d",
                       __FILE__, __LINE__, nd);
    int64_t n = fc_tensor_numel(w), fan = fan_out ? n / fc_tensor_dim(w, 1) : n / fc_tensor_dim(w, 0);
    double std = sqrt(2.0 / (double)fan);
    fc_tensor *r = fc_randn(fc_tensor_shape(w));
    if (!r) return fc_error_code();
    const float *src = fc_tensor_data_f32(r);
    float *dst = fc_tensor_data_f32(w);
    for (int64_t i = 0; i < n; i++) dst[i] = (float)(src[i] * std);
    fc_tensor_free(r);
    return FC_OK;
}

fc_module *fci_conv_nobias(int64_t in, int64_t out, int k, int stride) {
    return fc_conv2d_new(in, out, k, .stride = stride, .padding = k / 2, .no_bias = 1);
}

fc_tensor *fci_child_fwd(fc_module *m, const char *name, fc_tensor *x, const fc_tensor *keep) {
    fc_module *c = fc_module_child(m, name);
    if (!c && x) {
        fc_fail(FC_ERR_INTERNAL, "%s:%d: %s has no child '%s'", __FILE__, __LINE__, fc_module_type(m), name);
        if (x != keep) fc_tensor_free(x);
        return NULL;
    }
    fc_tensor *y = fc_module_forward(c, x);
    if (x && x != keep && x != y) fc_tensor_free(x);
    return y;
}

fc_tensor *fci_forward_children(fc_module *m, fc_tensor *x, int flatten_before) {
    fc_tensor *cur = x;
    for (int i = 0, n = fc_module_n_children(m); i < n && cur; i++) {
        if (i == flatten_before) {
            fc_tensor *f = fc_flatten(cur, 1, -1);
            if (cur != x) fc_tensor_free(cur);
            cur = f;
        }
        fc_tensor *next = fc_module_forward(fc_module_child_at(m, i, NULL), cur);
        if (cur != x && cur != next) fc_tensor_free(cur);
        cur = next;
    }
    return cur;
}

static fc_tensor *adaptive_maxpool_fwd(fc_module *m, fc_tensor *x) {
    const int64_t *size = fc_module_state(m);
    return fc_adaptive_max_pool2d(x, *size, *size);
}
static const fc_module_def adaptive_maxpool_def = {.name = "AdaptiveMaxPool2d", .forward = adaptive_maxpool_fwd,
                                                   .free_state = fci_free};

fc_module *fci_adaptive_maxpool2d_new(int64_t size) {
    if (size <= 0) {
        fc_fail(FC_ERR_ARG, "adaptive_maxpool2d_new: expected an output size > 0, found %lld", (long long)size);
        return NULL;
    }
    int64_t *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = size;
    return fc_module_new(&adaptive_maxpool_def, s);
}

fc_status fci_model_opts(const char *fn, const fc_model_opts *o, int64_t default_out, fc_model_opts *out) {
    if (fc_error_code() != FC_OK) return fc_error_code();
    if (o->n_in < 0 || o->n_out < 0 || o->widen < 0 || o->p < 0 || o->p > 1)
        return fc_fail(FC_ERR_ARG, "%s: expected .n_in, .n_out, .widen >= 0 and .p in [0, 1], found %lld, "
                       "%lld, %g, %g", fn, (long long)o->n_in, (long long)o->n_out, o->widen, o->p);
    *out = *o;
    if (!out->n_in) out->n_in = 3;
    if (!out->n_out) out->n_out = default_out;
    if (out->widen == 0) out->widen = 1;
    return FC_OK;
}

fc_status fci_fill_param(fc_tensor *t, double value) {
    if (!t) return fc_error_code();
    fc_no_grad_begin();
    fc_status st = fc_fill_(t, value);
    fc_no_grad_end();
    return st;
}
