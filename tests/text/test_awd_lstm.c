/* AWD-LSTM and its language model against a PyTorch port of fastai's (tests/fixtures/
 * gen_text_models.py), the kept hidden state, tied weights, the three dropouts, a gradcheck. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_models_util.h"

#define SMALL .emb_sz = 8, .n_hid = 12, .n_layers = 3

FCT_TEST(test_awd_lstm_lm_matches_pytorch_forward_and_backward) {
    fct_fixture w = fct_load("text/awd_lm_weights"), io = fct_load("text/awd_lm_io");
    fc_module *lm = fc_awd_lstm_lm(50, SMALL, NO_DROPOUT);
    if (!FCT_NOTNULL(lm)) goto done;
    FCT_EQ_INT(fc_module_n_parameters(lm), w.n); /* the tied weight once, as named_parameters */
    FCT_EQ_INT(load_params(lm, &w), w.n);
    fc_tensor *y1 = fc_module_forward(lm, fct_get(&io, "x1"));
    fc_tensor *y2 = fc_module_forward(lm, fct_get(&io, "x2")); /* from the state y1 left */
    FCT_CLOSE(y1, fct_get(&io, "y1"), 1e-5, 1e-4);
    FCT_CLOSE(y2, fct_get(&io, "y2"), 1e-5, 1e-4);
    FCT_OK(fc_backward(fc_add(dot(y1, fct_get(&io, "r1")), dot(y2, fct_get(&io, "r2")))));
    check_grads(lm, &io, 1e-5, 1e-4);
done:
    fc_module_free(lm);
    fct_fixture_free(&w);
    fct_fixture_free(&io);
}

FCT_TEST(test_awd_lstm_names_and_tied_weight_listed_once) {
    fc_module *lm = fc_awd_lstm_lm(50, SMALL);
    const char *want[] = {"0.encoder.weight", "0.rnns.0.weight_hh_l0_raw", "0.rnns.0.module.weight_ih_l0",
                          "0.rnns.0.module.bias_ih_l0", "0.rnns.0.module.bias_hh_l0"};
    for (int i = 0; i < 5; i++) {
        const char *name = NULL;
        fc_module_parameter(lm, i, &name);
        FCT_STR(name, want[i]);
    }
    const char *last = NULL;
    fc_module_parameter(lm, fc_module_n_parameters(lm) - 1, &last);
    FCT_STR(last, "1.decoder.bias");
    fc_tensor *enc = fc_module_get(lm, "0.encoder.weight");
    FCT_TRUE(enc && fc_module_get(lm, "1.decoder.weight") == enc);
    FCT_TRUE(fc_module_get(lm, "0.encoder_dp.emb.weight") == enc);
    /* 50*8 + per layer 4H*(I + H) + 8H ... + decoder bias 50: PyTorch's sum(p.numel()) */
    int64_t n = 50 * 8 + 50;
    int64_t io[3][2] = {{8, 12}, {12, 12}, {12, 8}};
    for (int l = 0; l < 3; l++) n += 4 * io[l][1] * (io[l][0] + io[l][1]) + 8 * io[l][1];
    FCT_EQ_INT(fc_module_num_params(lm), n);
    FCT_STR(fc_module_type(fc_module_child(lm, "0.rnns.1")), "WeightDropout");
    fc_module_free(lm);
}

/* The decoder's use and the encoder's add up in the one .grad: rows of words absent from the
 * input get only the decoder's r^T h, rows of present words get more. */
FCT_TEST(test_awd_lstm_tied_weight_grad_sums_both_uses) {
    fc_manual_seed(5);
    fc_module *lm = fc_awd_lstm_lm(20, .emb_sz = 4, .n_hid = 6, .n_layers = 2, NO_DROPOUT);
    int64_t ids[6] = {2, 3, 4, 2, 5, 6}; /* words 2..6 present */
    fc_tensor *x = fc_from_data(ids, FC_SHAPE(2, 3), .dtype = FC_DTYPE_I64);
    fc_tensor *y = fc_module_forward(lm, x);
    fc_tensor *r = fc_randn(fc_tensor_shape(y)), *raw = NULL, *dropped = NULL;
    FCT_OK(fc_text_model_outputs(lm, &raw, &dropped));
    FCT_OK(fc_backward(dot(y, r)));
    fc_tensor *w = fc_module_get(lm, "0.encoder.weight");
    /* decoder part: dW[v] = sum_{b,t} r[b,t,v] h[b,t] */
    fc_tensor *d_dec = fc_matmul(fc_transpose(fc_reshape(r, FC_SHAPE(6, 20)), 0, 1),
                                 fc_reshape(fc_detach(dropped), FC_SHAPE(6, 4)));
    fc_tensor *g = fc_tensor_grad(w);
    if (FCT_NOTNULL(g) && FCT_NOTNULL(d_dec)) {
        for (int64_t v = 0; v < 20; v++) {
            double diff = 0;
            for (int e = 0; e < 4; e++) diff += fabs(fc_tensor_get(g, v * 4 + e) - fc_tensor_get(d_dec, v * 4 + e));
            if (v >= 2 && v <= 6) FCT_TRUE(diff > 1e-6);
            else FCT_NEAR(diff, 0, 1e-5);
        }
    }
    fc_module_free(lm);
}

FCT_TEST(test_awd_lstm_state_carries_over_and_reset_restores_it) {
    fc_manual_seed(7);
    fc_module *awd = fc_awd_lstm(30, .emb_sz = 5, .n_hid = 7, .n_layers = 2, NO_DROPOUT);
    fc_tensor *x = fc_randint(0, 30, FC_SHAPE(3, 8));
    fc_tensor *x1 = fc_contiguous(fc_narrow(x, 1, 0, 3)), *x2 = fc_contiguous(fc_narrow(x, 1, 3, 5));
    fc_tensor *y1 = fc_module_forward(awd, x1), *y2 = fc_module_forward(awd, x2);
    FCT_EQ_INT(fc_tensor_dim(y2, 2), 5);
    fc_awd_lstm_reset(awd);
    fc_tensor *y = fc_module_forward(awd, x);
    FCT_CLOSE(fc_cat(FC_TENSORS(y1, y2), 1), y, 1e-6, 1e-5);
    fc_awd_lstm_reset(awd);
    FCT_CLOSE(fc_module_forward(awd, x1), y1, 0, 0);
    /* a smaller batch keeps the first rows' state (fastai's _change_hidden) */
    fc_tensor *x2_2 = fc_contiguous(fc_narrow(x2, 0, 0, 2));
    FCT_CLOSE(fc_module_forward(awd, x2_2), fc_narrow(y2, 0, 0, 2), 1e-6, 1e-5);
    /* no gradient reaches the previous batch: backward of the second forward only */
    fc_awd_lstm_reset(awd);
    fc_module_forward(awd, x1);
    fc_tensor *yb = fc_module_forward(awd, x2);
    FCT_OK(fc_backward(fc_sum(yb, FC_ALL_DIMS, 0)));
    fc_module_free(awd);
}

FCT_TEST(test_embedding_dropout_drops_whole_words) {
    fc_manual_seed(11);
    fc_tensor *w = fc_requires_grad(fc_randn(FC_SHAPE(10, 4)));
    fc_tensor *idx = fc_randint(0, 10, FC_SHAPE(8, 6));
    fc_tensor *y = fc_embedding_dropout(w, idx, -1, 0.5, 1);
    const int64_t *id = fc_tensor_data(idx);
    int kept[10], n_kept = 0, n_dropped = 0;
    for (int v = 0; v < 10; v++) kept[v] = -1;
    for (int64_t i = 0; i < 48; i++) {
        int v = (int)id[i];
        double y0 = fc_tensor_get(y, i * 4), w0 = fc_tensor_get(w, v * 4);
        int k = fabs(y0 - 2 * w0) < 1e-6 ? 1 : fabs(y0) < 1e-12 ? 0 : -2;
        FCT_TRUE(k >= 0);
        for (int e = 1; e < 4 && k >= 0; e++) /* the whole row follows */
            FCT_NEAR(fc_tensor_get(y, i * 4 + e), k * 2 * fc_tensor_get(w, v * 4 + e), 1e-6);
        if (kept[v] == -1) kept[v] = k, k ? n_kept++ : n_dropped++;
        else FCT_EQ_INT(kept[v], k); /* the same word, the same decision, everywhere */
    }
    FCT_TRUE(n_kept > 0 && n_dropped > 0);
    FCT_CLOSE(fc_embedding_dropout(w, idx, -1, 0.5, 0), fc_embedding(w, idx, -1), 0, 0);
    fc_tensor_free(w);
}

FCT_TEST(test_locked_dropout_mask_is_constant_over_time) {
    fc_manual_seed(12);
    fc_tensor *x = fc_ones(FC_SHAPE(4, 9, 6)); /* [B, T, H] */
    fc_tensor *y = fc_locked_dropout(x, 1, 0.5, 1);
    int zeros = 0;
    for (int b = 0; b < 4; b++)
        for (int h = 0; h < 6; h++) {
            double v0 = fc_tensor_get(y, (b * 9) * 6 + h);
            FCT_TRUE(v0 == 0 || v0 == 2);
            zeros += v0 == 0;
            for (int t = 1; t < 9; t++) FCT_NEAR(fc_tensor_get(y, (b * 9 + t) * 6 + h), v0, 0);
        }
    FCT_TRUE(zeros > 0 && zeros < 24);
    FCT_CLOSE(fc_locked_dropout(x, 1, 0.5, 0), x, 0, 0);
    FCT_NULL(fc_locked_dropout(x, 3, 0.5, 1));
    FCT_ERROR(FC_ERR_ARG, "locked_dropout: expected time_dim in [-3, 3)");
    FCT_NULL(fc_locked_dropout(x, 1, 1.5, 1));
    FCT_ERROR(FC_ERR_ARG, "expected p in [0, 1], found 1.5");
}

/* DropConnect: a new mask on weight_hh_l0_raw each forward (outputs change), the raw weight itself
 * untouched and still the parameter that learns; eval runs with the raw weight. */
FCT_TEST(test_weight_dropout_changes_outputs_not_the_raw_weight) {
    fc_manual_seed(13);
    fc_module *awd = fc_awd_lstm(30, .emb_sz = 5, .n_hid = 7, .n_layers = 2, .embed_p = -1, .input_p = -1,
                                 .hidden_p = -1, .weight_p = 0.5);
    fc_module *plain = fc_awd_lstm(30, .emb_sz = 5, .n_hid = 7, .n_layers = 2, NO_DROPOUT);
    fc_no_grad_begin();
    for (int i = 0, n = fc_module_n_parameters(awd); i < n; i++) {
        const char *name;
        fc_tensor *p = fc_module_parameter(awd, i, &name);
        FCT_OK(fc_copy_(fc_module_get(plain, name), p));
    }
    fc_no_grad_end();
    fc_tensor *raw = fc_module_get(awd, "rnns.0.weight_hh_l0_raw");
    fc_tensor *before = fc_clone(fc_detach(raw));
    fc_tensor *x = fc_randint(0, 30, FC_SHAPE(2, 6));
    fc_tensor *ya = fc_module_forward(awd, x);
    fc_awd_lstm_reset(awd);
    fc_tensor *yb = fc_module_forward(awd, x);
    double diff = 0;
    for (int64_t i = 0; i < fc_tensor_numel(ya); i++) diff += fabs(fc_tensor_get(ya, i) - fc_tensor_get(yb, i));
    FCT_TRUE(diff > 1e-4);
    FCT_CLOSE(raw, before, 0, 0);
    FCT_OK(fc_backward(fc_sum(yb, FC_ALL_DIMS, 0)));
    FCT_NOTNULL(fc_tensor_grad(raw));
    fc_module_eval(awd);
    fc_awd_lstm_reset(awd);
    FCT_CLOSE(fc_module_forward(awd, x), fc_module_forward(plain, x), 0, 0);
    fc_module_free(awd);
    fc_module_free(plain);
}

FCT_TEST(test_awd_lstm_options_are_checked) {
    FCT_NULL(fc_awd_lstm(0));
    FCT_ERROR(FC_ERR_ARG, "awd_lstm: expected vocab_sz >= 1, found 0");
    FCT_NULL(fc_awd_lstm(10, .drop_mult = 5));
    FCT_ERROR(FC_ERR_ARG, "awd_lstm: expected .input_p * .drop_mult in [0, 1], found 0.25 * 5");
    FCT_NULL(fc_awd_lstm_lm(10, .pad_token = 10));
    FCT_ERROR(FC_ERR_ARG, "expected .pad_token in [0, 10), found 10");
    fc_module *awd = fc_awd_lstm(10, .emb_sz = 2, .n_hid = 3, .n_layers = 1);
    FCT_NULL(fc_module_forward(awd, fc_zeros(FC_SHAPE(3), .dtype = FC_DTYPE_I64)));
    FCT_ERROR(FC_ERR_SHAPE, "AWD_LSTM: expected token ids [B, T], found [3]");
    fc_module *rnns = fc_module_child(awd, "rnns");
    FCT_NULL(fc_module_forward(rnns, fc_zeros(FC_SHAPE(3))));
    FCT_ERROR(FC_ERR_STATE, "ModuleList");
    fc_module_free(awd);
    FCT_OK(fc_text_model_outputs(NULL, NULL, NULL) == FC_ERR_ARG ? FC_OK : FC_ERR_INTERNAL);
    fc_error_clear();
}

/* Central differences through embedding, two weight-dropped LSTMs and the tied decoder. */
typedef struct lm_ctx {
    fc_module *lm;
    fc_tensor *x;
} lm_ctx;
static fc_tensor *run_lm(fc_tensor **in, void *p) {
    lm_ctx *c = p;
    fc_awd_lstm_reset(c->lm);
    return fc_module_forward(c->lm, c->x);
}

FCT_TEST(test_awd_lstm_lm_gradcheck) {
    fc_manual_seed(17);
    fc_module *lm = fc_awd_lstm_lm(7, .emb_sz = 3, .n_hid = 4, .n_layers = 2, NO_DROPOUT);
    for (int i = 0, n = fc_module_n_parameters(lm); i < n; i++) { /* values of order 1 */
        fc_tensor *p = fc_module_parameter(lm, i, NULL);
        float *d = fc_tensor_data(p);
        for (int64_t k = 0; k < fc_tensor_numel(p); k++) d[k] *= 3;
    }
    int64_t ids[6] = {0, 2, 4, 3, 6, 2}; /* no pad (1): its row gets no gradient from the embedding */
    lm_ctx c = {lm, fc_from_data(ids, FC_SHAPE(2, 3), .dtype = FC_DTYPE_I64)};
    fc_tensor *in[4] = {fc_module_get(lm, "0.encoder.weight"), fc_module_get(lm, "0.rnns.0.weight_hh_l0_raw"),
                        fc_module_get(lm, "0.rnns.1.module.weight_ih_l0"), fc_module_get(lm, "1.decoder.bias")};
    FCT_EQ_INT(FCT_GRADCHECK(run_lm, &c, 4, in), 0);
    fc_module_free(lm);
}

/* summary lists the layers that ran; save/load keeps the weights tied (one tensor, saved once) */
FCT_TEST(test_awd_lstm_lm_summary_and_save_load) {
    fc_manual_seed(19);
    fc_module *lm = fc_awd_lstm_lm(16, .emb_sz = 4, .n_hid = 5, .n_layers = 2);
    char *text = fc_module_summary(lm, FC_SHAPE(2, 3), .dtype = FC_DTYPE_I64);
    if (FCT_NOTNULL(text)) {
        FCT_TRUE(strstr(text, "LSTM") && strstr(text, "RNNDropout"));
        FCT_TRUE(strstr(text, "Linear") && strstr(text, "2 x 3 x 16") && strstr(text, "Total params: 476"));
        free(text);
    }
    const char *path = "awd_lm_test.safetensors";
    FCT_OK(fc_module_save(lm, path));
    fc_module *lm2 = fc_awd_lstm_lm(16, .emb_sz = 4, .n_hid = 5, .n_layers = 2);
    FCT_OK(fc_module_load(lm2, path));
    FCT_CLOSE(fc_module_get(lm2, "0.encoder.weight"), fc_module_get(lm, "0.encoder.weight"), 0, 0);
    FCT_TRUE(fc_module_get(lm2, "1.decoder.weight") == fc_module_get(lm2, "0.encoder.weight"));
    fc_module_eval(lm);
    fc_module_eval(lm2);
    fc_awd_lstm_reset(lm);
    fc_tensor *x = fc_randint(0, 16, FC_SHAPE(2, 3));
    FCT_CLOSE(fc_module_forward(lm2, x), fc_module_forward(lm, x), 0, 0);
    remove(path);
    fc_module_free(lm);
    fc_module_free(lm2);
}
