/* The ULMFiT classifier (fastai's get_text_classifier: SentenceEncoder + PoolingLinearClassifier)
 * against the PyTorch port in tests/fixtures/gen_text_models.py, its names, masked pooling. */
#include <math.h>
#include <stdio.h>

#include "text_models_util.h"


static fc_module *small_classifier(void) {
    /* ps: PyTorch's fixture has p = 0 everywhere; a zero entry of .ps is a zero p (no Dropout) */
    fc_module *m = fc_text_classifier_model(50, 3, .awd = {.emb_sz = 8, .n_hid = 12, .n_layers = 3, NO_DROPOUT},
                                            .seq_len = 4, .max_len = 8, .lin_ftrs = FC_INTS(6), .ps = FC_FLOATS(0));
    return m;
}

FCT_TEST(test_text_classifier_matches_pytorch_forward_and_backward) {
    fct_fixture w = fct_load("text/clas_weights"), io = fct_load("text/clas_io");
    fc_module *m = small_classifier();
    if (!FCT_NOTNULL(m)) goto done;
    FCT_EQ_INT(fc_module_n_parameters(m), w.n);
    FCT_EQ_INT(load_params(m, &w), w.n);
    fc_tensor *y = fc_module_forward(m, fct_get(&io, "x"));
    FCT_CLOSE(y, fct_get(&io, "y"), 1e-5, 1e-4);
    FCT_OK(fc_backward(dot(y, fct_get(&io, "r"))));
    /* BatchNorm in training mode over 3 rows scales float rounding up: 1e-4, not 1e-5 */
    check_grads(m, &io, 1e-4, 1e-3);
    fc_tensor *raw = NULL, *dropped = NULL;
    FCT_OK(fc_text_model_outputs(m, &raw, &dropped));
    FCT_TRUE(raw && raw == dropped && fc_tensor_dim(raw, 1) == 6); /* the chunks within the last max_len */
done:
    fc_module_free(m);
    fct_fixture_free(&w);
    fct_fixture_free(&io);
}

FCT_TEST(test_text_classifier_names_as_fastai) {
    fc_module *m = fc_text_classifier_model(50, 3, .awd = {.emb_sz = 8, .n_hid = 12, .n_layers = 2});
    const char *first = NULL, *last = NULL;
    int n = fc_module_n_parameters(m);
    fc_module_parameter(m, 0, &first);
    fc_module_parameter(m, n - 1, &last);
    FCT_STR(first, "0.module.encoder.weight");
    FCT_STR(last, "1.layers.1.2.weight"); /* BatchNorm1d, Dropout, Linear(bias=False) */
    FCT_NOTNULL(fc_module_get(m, "1.layers.0.0.running_mean"));
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(m, "1.layers.0.2.weight"), 1), 24); /* 3 * emb_sz */
    FCT_NULL(fc_module_get(m, "1.layers.0.2.bias"));
    FCT_NEAR(fc_tensor_get(fc_module_get(m, "1.layers.0.0.bias"), 0), 1e-3, 1e-9);
    FCT_STR(fc_module_type(fc_module_child(m, "1.layers.0.1")), "Dropout");
    fc_module_free(m);
    fc_module *r = fc_text_classifier_model(50, 1, .y_range = {0, 5});
    FCT_STR(fc_module_type(fc_module_child(r, "1.layers.2")), "SigmoidRange");
    fc_module_free(r);
}

/* One document alone, and in a batch behind a longer one (padded as fastai's pad_input_chunk:
 * whole chunks in front, the rest after): the same logits in eval. */
FCT_TEST(test_text_classifier_padding_does_not_change_pooled_features) {
    fc_manual_seed(21);
    fc_module *m = fc_text_classifier_model(40, 4, .awd = {.emb_sz = 6, .n_hid = 9, .n_layers = 2},
                                            .seq_len = 3, .max_len = 30);
    fc_module_eval(m);
    int64_t doc[5] = {2, 9, 14, 3, 30}, longer[11] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    fc_tensor *alone = fc_module_forward(m, fc_from_data(doc, FC_SHAPE(1, 5), .dtype = FC_DTYPE_I64));
    /* 11 - 5 = 6 pads: 2 whole chunks of 3 in front, none after; and a 12-long batch: 2 after */
    int64_t b1[2][11], b2[2][12];
    for (int t = 0; t < 11; t++) b1[0][t] = longer[t], b1[1][t] = t < 6 ? 1 : doc[t - 6];
    for (int t = 0; t < 12; t++) {
        b2[0][t] = t < 11 ? longer[t] : 4;
        b2[1][t] = t < 6 ? 1 : t < 11 ? doc[t - 6] : 1; /* 7 pads: 6 in front, 1 after */
    }
    fc_tensor *y1 = fc_module_forward(m, fc_from_data(b1, FC_SHAPE(2, 11), .dtype = FC_DTYPE_I64));
    fc_tensor *y2 = fc_module_forward(m, fc_from_data(b2, FC_SHAPE(2, 12), .dtype = FC_DTYPE_I64));
    FCT_CLOSE(fc_narrow(y1, 0, 1, 1), alone, 1e-5, 1e-5);
    FCT_CLOSE(fc_narrow(y2, 0, 1, 1), alone, 1e-5, 1e-5);
    /* and a document padded after only (the batch's longest is its own length + 2) */
    int64_t b3[2][7];
    for (int t = 0; t < 7; t++) b3[0][t] = t + 2, b3[1][t] = t < 5 ? doc[t] : 1;
    fc_tensor *y3 = fc_module_forward(m, fc_from_data(b3, FC_SHAPE(2, 7), .dtype = FC_DTYPE_I64));
    FCT_CLOSE(fc_narrow(y3, 0, 1, 1), alone, 1e-5, 1e-5);
    fc_module_free(m);
}

/* fastai issue 3379: pad_input_chunk puts the remainder of the padding after the text, so in the
 * last chunk a longer row may have ended while a shorter one still has text. fastai's real_bs
 * (rows whose first token of the chunk is not a pad) ran the ended row and dropped the other's
 * last tokens (zeros in its outputs and its `last` feature); every row keeps its logits alone. */
FCT_TEST(test_text_classifier_rows_ending_in_the_last_chunk_keep_their_text) {
    fc_manual_seed(5);
    fc_module *m = fc_text_classifier_model(40, 3, .awd = {.emb_sz = 6, .n_hid = 9, .n_layers = 2},
                                            .seq_len = 3, .max_len = 30);
    fc_module_eval(m);
    /* S = 8, chunks [0, 3) [3, 6) [6, 8): row 1 (6 tokens) ends at 5, then 2 pads; row 2 (5
     * tokens) has one chunk of pads in front and text up to 7 */
    int64_t x[3][8] = {{2, 3, 4, 5, 6, 7, 8, 9}, {10, 11, 12, 13, 14, 15, 1, 1}, {1, 1, 1, 16, 17, 18, 19, 20}};
    fc_tensor *y = fc_module_forward(m, fc_from_data(x, FC_SHAPE(3, 8), .dtype = FC_DTYPE_I64));
    fc_tensor *y1 = fc_module_forward(m, fc_from_data(&x[1][0], FC_SHAPE(1, 6), .dtype = FC_DTYPE_I64));
    fc_tensor *y2 = fc_module_forward(m, fc_from_data(&x[2][3], FC_SHAPE(1, 5), .dtype = FC_DTYPE_I64));
    FCT_CLOSE(fc_narrow(y, 0, 1, 1), y1, 1e-5, 1e-5);
    FCT_CLOSE(fc_narrow(y, 0, 2, 1), y2, 1e-5, 1e-5);
    fc_module_free(m);
}

FCT_TEST(test_text_classifier_options_are_checked) {
    FCT_NULL(fc_text_classifier_model(50, 0));
    FCT_ERROR(FC_ERR_ARG, "expected vocab_sz and n_class >= 1, found 50 and 0");
    FCT_NULL(fc_text_classifier_model(50, 2, .lin_ftrs = FC_INTS(10, 5), .ps = FC_FLOATS(0.1)));
    FCT_ERROR(FC_ERR_ARG, "expected 2 values in .ps (one per .lin_ftrs), found 1");
    fc_module *m = fc_text_classifier_model(50, 2, .awd = {.emb_sz = 4, .n_hid = 5, .n_layers = 1});
    FCT_NULL(fc_module_forward(m, fc_zeros(FC_SHAPE(2, 3))));
    FCT_ERROR(FC_ERR_SHAPE, "text_classifier: expected token ids [B, T] (i64), found f32 [2, 3]");
    FCT_NULL(fc_module_forward(fc_module_child(m, "1"), fc_zeros(FC_SHAPE(2, 3))));
    FCT_ERROR(FC_ERR_STATE, "PoolingLinearClassifier: needs the encoder's mask");
    fc_module_free(m);
}
