/* TabularModel: emb_sz_rule, parity with a PyTorch port of fastai's TabularModel (forward in train
 * and eval mode, running statistics, parameter gradients) and a finite-difference gradcheck. */
#include <string.h>

#include "fastc/tabular.h"
#include "fct.h"

FCT_TEST(test_emb_sz_rule_matches_fastai) {
    /* min(600, round(1.6 * n ** 0.56)) computed in Python */
    FCT_EQ_INT(fc_emb_sz_rule(2), 2);
    FCT_EQ_INT(fc_emb_sz_rule(3), 3);
    FCT_EQ_INT(fc_emb_sz_rule(10), 6);
    FCT_EQ_INT(fc_emb_sz_rule(17), 8);
    FCT_EQ_INT(fc_emb_sz_rule(100), 21);
    FCT_EQ_INT(fc_emb_sz_rule(1000000), 600);
}

/* Copies every tensor of f whose name is a parameter of m into it. */
static int load_params(fc_module *m, const fct_fixture *f) {
    int n = 0;
    for (int i = 0; i < fc_module_n_parameters(m); i++) {
        const char *name;
        fc_tensor *p = fc_module_parameter(m, i, &name);
        fc_tensor *src = fct_get(f, name);
        if (!src) continue;
        fc_no_grad_begin();
        FCT_OK(fc_copy_(p, src));
        fc_no_grad_end();
        n++;
    }
    return n;
}

static void parity(const char *name, const int64_t *card, int n_cat, int64_t n_cont, int64_t out_sz,
                   fc_module *m) {
    char path[64];
    snprintf(path, sizeof path, "tabular/%s_params", name);
    fct_fixture fp = fct_load(path);
    snprintf(path, sizeof path, "tabular/%s_io", name);
    fct_fixture fio = fct_load(path);
    (void)card;
    (void)n_cat;
    (void)n_cont;
    (void)out_sz;
    FCT_NOTNULL(m);
    if (!m || fp.n == 0 || fio.n == 0) goto done;
    FCT_EQ_INT(load_params(m, &fp), fc_module_n_parameters(m));
    fc_module_train(m, 1);
    fc_tensor *y = fc_module_forward(m, fct_get(&fio, "x"));
    FCT_CLOSE(y, fct_get(&fio, "y_train"), 1e-5, 1e-4);
    FCT_OK(fc_backward_with(y, fct_get(&fio, "dy")));
    for (int i = 0; i < fc_module_n_parameters(m); i++) {
        const char *pname;
        fc_tensor *p = fc_module_parameter(m, i, &pname);
        char g[64];
        snprintf(g, sizeof g, "g.%s", pname);
        FCT_CLOSE(fc_tensor_grad(p), fct_get(&fio, g), 1e-5, 1e-4);
    }
    for (int i = 0; i < fc_module_n_buffers(m); i++) {
        const char *bname;
        fc_tensor *b = fc_module_buffer(m, i, &bname);
        if (strstr(bname, "num_batches")) continue;
        FCT_CLOSE(b, fct_get(&fp, bname), 1e-5, 1e-4);
    }
    fc_module_eval(m);
    fc_tensor *ye = fc_module_forward(m, fct_get(&fio, "x"));
    FCT_CLOSE(ye, fct_get(&fio, "y_eval"), 1e-5, 1e-4);
done:
    fc_module_free(m);
    fct_fixture_free(&fp);
    fct_fixture_free(&fio);
}

FCT_TEST(test_tabular_model_matches_pytorch) {
    int64_t card[] = {5, 4, 3}, dim[3];
    for (int i = 0; i < 3; i++) dim[i] = fc_emb_sz_rule(card[i]);
    fc_module *m = fc_tabular_model(card, dim, 3, 3, 2, .layers = FC_INTS(8, 6));
    parity("model_a", card, 3, 3, 2, m);
}

FCT_TEST(test_tabular_model_y_range_bn_final_matches_pytorch) {
    int64_t card[] = {7, 3}, dim[2];
    for (int i = 0; i < 2; i++) dim[i] = fc_emb_sz_rule(card[i]);
    fc_module *m = fc_tabular_model(card, dim, 2, 2, 1, .layers = FC_INTS(5), .y_range = {-1.0, 4.0},
                                    .bn_final = 1, .no_bn_cont = 1);
    parity("model_b", card, 2, 2, 1, m);
}

FCT_TEST(test_tabular_model_names_and_init_as_fastai) {
    int64_t card[] = {10, 3}, dim[] = {6, 3};
    fc_module *m = fc_tabular_model(card, dim, 2, 4, 3);
    FCT_NOTNULL(m);
    if (!m) return;
    const char *want[] = {"embeds.0.weight", "embeds.1.weight", "bn_cont.weight", "bn_cont.bias",
                          "layers.0.0.weight", "layers.0.2.weight", "layers.0.2.bias",
                          "layers.1.0.weight", "layers.1.2.weight", "layers.1.2.bias",
                          "layers.2.0.weight", "layers.2.0.bias"};
    FCT_EQ_INT(fc_module_n_parameters(m), 12);
    for (int i = 0; i < 12 && i < fc_module_n_parameters(m); i++) {
        const char *name;
        fc_module_parameter(m, i, &name);
        FCT_STR(name, want[i]);
    }
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(m, "layers.0.0.weight"), 1), 6 + 3 + 4);
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(m, "layers.0.0.weight"), 0), 200);
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(m, "layers.1.0.weight"), 0), 100);
    FCT_NEAR(fc_tensor_get(fc_module_get(m, "layers.0.2.bias"), 0), 1e-3, 1e-9);
    FCT_NEAR(fc_tensor_get(fc_module_get(m, "bn_cont.bias"), 0), 0, 0);
    /* embeddings ~ 0.01 * N(0, 1) clipped at 2 sigma */
    fc_tensor *w = fc_module_get(m, "embeds.0.weight");
    double ss = 0, mx = 0;
    for (int64_t i = 0; i < fc_tensor_numel(w); i++) {
        double v = fc_tensor_get(w, i);
        ss += v * v;
        if (fabs(v) > mx) mx = fabs(v);
    }
    FCT_TRUE(mx <= 0.02 + 1e-7);
    FCT_TRUE(sqrt(ss / 60) > 0.003 && sqrt(ss / 60) < 0.02);
    fc_module_free(m);
}

FCT_TEST(test_tabular_model_rejects_bad_codes_and_shapes) {
    int64_t card[] = {3}, dim[] = {2};
    fc_module *m = fc_tabular_model(card, dim, 1, 1, 2, .layers = FC_INTS(4));
    FCT_NOTNULL(m);
    float bad[] = {3, 0.5f, 1, 0.2f};
    fc_tensor *x = fc_from_data(bad, FC_SHAPE(2, 2));
    FCT_NULL(fc_module_forward(m, x));
    FCT_ERROR(FC_ERR_ARG, "expected category codes in [0, 3) in column 0, found 3");
    fc_tensor *x3 = fc_zeros(FC_SHAPE(2, 3));
    FCT_NULL(fc_module_forward(m, x3));
    FCT_ERROR(FC_ERR_SHAPE, "expected x [B, 2] f32");
    fc_tensor *xi = fc_zeros(FC_SHAPE(2, 2), .dtype = FC_DTYPE_I64);
    FCT_NULL(fc_module_forward(m, xi)); /* i64 only without continuous columns */
    FCT_ERROR(FC_ERR_SHAPE, "found [2, 2] i64");
    FCT_NULL(fc_tabular_model(card, dim, 1, 1, 0));
    FCT_ERROR(FC_ERR_ARG, "out_sz > 0");
    fc_module_free(m);
}

/* Gradcheck through the whole model (embeddings, BN in training mode, linears, SigmoidRange) with
 * respect to every parameter: the model reads its own parameters, perturbed in place. */
typedef struct gc_ctx {
    fc_module *m;
    fc_tensor *x;
} gc_ctx;
static fc_tensor *model_fn(fc_tensor **in, void *ctx) {
    (void)in;
    gc_ctx *c = ctx;
    return fc_module_forward(c->m, c->x);
}

FCT_TEST(test_tabular_model_gradcheck) {
    int64_t card[] = {4, 3}, dim[] = {2, 2};
    fc_module *m = fc_tabular_model(card, dim, 2, 2, 2, .layers = FC_INTS(5), .y_range = {0, 3});
    FCT_NOTNULL(m);
    if (!m) return;
    /* larger embeddings so their gradients are not lost in the noise */
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "embeds.%d.weight", i);
        fc_tensor *w = fc_module_get(m, name);
        float *p = fc_tensor_data(w);
        for (int64_t k = 0; k < fc_tensor_numel(w); k++) p[k] = (float)((k * 37 % 11) - 5) * 0.2f;
    }
    float xs[] = {0, 1, 0.5f, -1, 1, 2, -0.3f, 0.8f, 3, 0, 1.5f, 0.1f, 2, 1, -2, 0.4f, 1, 0, 0.9f, -0.7f};
    fc_tensor *x = fc_from_data(xs, FC_SHAPE(5, 4));
    int n = fc_module_n_parameters(m);
    fc_tensor *in[16];
    for (int i = 0; i < n; i++) in[i] = fc_module_parameter(m, i, NULL);
    gc_ctx ctx = {m, x};
    /* train mode BN: the running stats change each call but do not enter the output */
    FCT_EQ_INT(FCT_GRADCHECK(model_fn, &ctx, n, in, .eps = 1e-2), 0);
    fc_module_free(m);
}

/* Without continuous columns (collab's EmbeddingNN) i64 codes give what their f32 copy gives. */
FCT_TEST(test_tabular_model_takes_i64_codes_without_conts) {
    int64_t card[] = {5, 7}, dim[] = {3, 4};
    fc_module *m = fc_tabular_model(card, dim, 2, 0, 1, .layers = FC_INTS(6), .y_range = {0, 5.5});
    FCT_NOTNULL(m);
    if (!m) return;
    fc_module_eval(m);
    int64_t ci[] = {0, 6, 4, 2, 1, 3};
    float cf[] = {0, 6, 4, 2, 1, 3};
    fc_tensor *yi = fc_module_forward(m, fc_from_data(ci, FC_SHAPE(3, 2), .dtype = FC_DTYPE_I64));
    fc_tensor *yf = fc_module_forward(m, fc_from_data(cf, FC_SHAPE(3, 2)));
    FCT_CLOSE(yi, yf, 0, 0);
    FCT_EQ_INT(fc_tensor_dim(yi, 1), 1);
    fc_module_free(m);
}
