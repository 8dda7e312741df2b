/* vision_learner's model (fastai's create_vision_model): an architecture cut into a body, a new
 * head sized from the data, pretrained weights adapted to the data's channels. Apart from
 * learner.c because export.c builds the same model when loading: an inference-only program links
 * this file, not vision_learner and its training code. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/core_impl.h"
#include "models_impl.h"
#include "fastc/vision.h"

/* Safetensors files start with their header's length (little-endian u64, then '{'); anything
 * else is handed to the torch loader, which says what it found. */
static fc_status load_weights(fc_module *m, const char *path) {
    unsigned char head[9] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return fc_fail(FC_ERR_IO, "vision_learner: cannot open pretrained weights '%s'", path);
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (got == sizeof head && head[8] == '{') return fc_module_load(m, path);
    /* "module." is what DataParallel adds to every name; absent, nothing is stripped */
    return fc_module_load_torch(m, path, .strip_prefix = "module.");
}

/* fastai's _load_pretrained_weights for a first conv with other input channels: one channel gets
 * the sum over RGB, two get the first two x 1.5, more keep RGB and zeros after. */
static fc_status adapt_first_conv(fc_tensor *dst, const fc_tensor *src) {
    const int64_t *d = fc_tensor_dims(dst), *s = fc_tensor_dims(src);
    int64_t co = d[0], ci = d[1], cs = s[1], k = d[2] * d[3];
    float *w = fc_tensor_data_f32(dst);
    float *ws = fci_calloc((size_t)fc_tensor_numel(src), sizeof *ws);
    if (!ws) return fc_error_code();
    fc_status st = fc_tensor_copy_out(src, ws, FC_DTYPE_F32);
    for (int64_t o = 0; o < co && st == FC_OK; o++)
        for (int64_t c = 0; c < ci; c++)
            for (int64_t j = 0; j < k; j++) {
                float v = 0;
                if (ci == 1)
                    for (int64_t c2 = 0; c2 < cs; c2++) v += ws[(o * cs + c2) * k + j];
                else if (ci == 2) v = 1.5f * ws[(o * cs + c) * k + j];
                else if (c < cs) v = ws[(o * cs + c) * k + j];
                w[(o * ci + c) * k + j] = v;
            }
    fci_free(ws);
    return st;
}

/* Copies every parameter and buffer of src into the same-named one of dst; the first conv may
 * differ in its input channels (adapted). */
static fc_status copy_weights(fc_module *dst, fc_module *src) {
    int adapted = 0;
    for (int pass = 0; pass < 2; pass++) {
        int n = pass ? fc_module_n_buffers(src) : fc_module_n_parameters(src);
        for (int i = 0; i < n; i++) {
            const char *name = NULL;
            fc_tensor *s = pass ? fc_module_buffer(src, i, &name) : fc_module_parameter(src, i, &name);
            fc_tensor *d = fc_module_get(dst, name);
            if (!d) return fc_fail(FC_ERR_STATE, "vision_learner: the model has no tensor '%s'", name);
            fc_shape ds = fc_tensor_shape(d), ss = fc_tensor_shape(s);
            int same = ds.ndim == ss.ndim;
            for (int j = 0; same && j < ds.ndim; j++) same = ds.d[j] == ss.d[j];
            fc_status st;
            if (same) st = fc_tensor_copy_out(s, fc_tensor_data(d), fc_tensor_dtype(d));
            else if (!adapted && ds.ndim == 4 && ss.ndim == 4 && ds.d[0] == ss.d[0] && ds.d[2] == ss.d[2] && ds.d[3] == ss.d[3]) {
                st = adapt_first_conv(d, s);
                adapted = 1;
            } else {
                char a[64], b[64];
                st = fc_fail(FC_ERR_SHAPE, "vision_learner: tensor '%s': expected %s, found %s in the pretrained model", name,
                             fc_shape_str(ds, a, sizeof a), fc_shape_str(ss, b, sizeof b));
            }
            if (st != FC_OK) return st;
        }
    }
    return FC_OK;
}

/* fastai's apply_init(head, kaiming_normal_): linear weights N(0, 2 / fan_in), biases 0; norm
 * layers keep their 1 / 0. */
static fc_status init_head(fc_module *head) {
    for (int i = 0; i < fc_module_n_children(head); i++) {
        fc_module *c = fc_module_child_at(head, i, NULL);
        if (strcmp(fc_module_type(c), "Linear") != 0) continue;
        fc_tensor *w = fc_module_get(c, "weight"), *b = fc_module_get(c, "bias");
        fc_tensor *r = fc_randn(fc_tensor_shape(w));
        if (!r) return fc_error_code();
        float *src = fc_tensor_data_f32(r), *dst = fc_tensor_data_f32(w);
        double std = sqrt(2.0 / (double)fc_tensor_dim(w, 1));
        for (int64_t j = 0; j < fc_tensor_numel(w); j++) dst[j] = (float)(src[j] * std);
        fc_tensor_free(r);
        if (b) memset(fc_tensor_data(b), 0, (size_t)fc_tensor_numel(b) * sizeof(float));
    }
    return FC_OK;
}

fc_module *fci_vision_create_model(const fc_arch *arch, int64_t n_in, int64_t n_out, const fc_vision_learner_opts *o) {
    fc_model_opts mo = o->model;
    mo.n_in = n_in;
    mo.n_out = 0; /* the arch's own classifier is cut off */
    fc_module *model = arch->make(&mo);
    if (!model) return NULL;
    if (o->pretrained) {
        fc_model_opts po = o->model;
        po.n_in = 3, po.n_out = 0; /* the shapes the weights were saved with */
        fc_module *pre = arch->make(&po);
        fc_status st = pre ? load_weights(pre, o->pretrained) : fc_error_code();
        if (st == FC_OK) st = copy_weights(model, pre);
        fc_module_free(pre);
        if (st != FC_OK) {
            fc_module_free(model);
            return NULL;
        }
    }
    fc_module *body = fc_create_body(model, arch->cut);
    if (!body) return NULL;
    int64_t nf = fc_body_n_features(body, n_in);
    if (nf <= 0) {
        fc_module_free(body);
        return NULL;
    }
    fc_module *head = fc_create_head(nf * (o->head.no_concat_pool ? 1 : 2), n_out, .lin_ftrs = o->head.lin_ftrs,
                                     .n_lin_ftrs = o->head.n_lin_ftrs, .ps = o->head.ps,
                                     .no_concat_pool = o->head.no_concat_pool, .no_first_bn = o->head.no_first_bn,
                                     .bn_final = o->head.bn_final, .lin_first = o->head.lin_first);
    if (head && init_head(head) != FC_OK) {
        fc_module_free(head);
        head = NULL;
    }
    return fc_sequential(body, head);
}

/* The model of an exported learner (h-export): the same construction without pretrained weights
 * (the file's weights replace them). */
fc_module *fci_vision_build_model(const fc_arch *arch, int64_t n_in, int64_t n_out, const fc_model_opts *model,
                                  const fc_create_head_opts *head) {
    fc_vision_learner_opts o = {.model = *model, .head = *head};
    return fci_vision_create_model(arch, n_in, n_out, &o);
}
