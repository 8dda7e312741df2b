/* safetensors weights: PyTorch interchange (gen_nn.py), save/load round trip, corrupt files. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastc/nn.h"
#include "fct.h"

/* tests/fixtures/nn/<name>.safetensors ($FASTC_FIXTURES overrides the folder, as for fct_load;
 * otherwise it is found beside this source file). */
static char fixture_path[512];
static const char *st_path(const char *name) {
    const char *dir = getenv("FASTC_FIXTURES");
    if (dir) {
        snprintf(fixture_path, sizeof fixture_path, "%s/nn/%s.safetensors", dir, name);
    } else {
        const char *src = __FILE__, *cut = strstr(src, "nn/test_safetensors.c");
        snprintf(fixture_path, sizeof fixture_path, "%.*sfixtures/nn/%s.safetensors",
                 cut ? (int)(cut - src) : 0, src, name);
    }
    return fixture_path;
}

static char tmp_buf[256];
static const char *tmp_path(const char *name) {
    snprintf(tmp_buf, sizeof tmp_buf, "/tmp/fastc_test_nn_%ld_%s.safetensors", (long)getpid(), name);
    return tmp_buf;
}

/* The same model as gen_nn.py's seq_cnn. */
static fc_module *seq_cnn(int64_t hidden) {
    return fc_sequential(fc_conv2d_new(3, 4, 3, .padding = 1), fc_batchnorm2d_new(4), fc_relu_new(),
                         fc_maxpool2d_new(2),
                         fc_conv2d_new(4, 6, 3, .stride = 2, .padding = 1, .groups = 2, .no_bias = 1),
                         fc_adaptive_avgpool2d_new(2, 2), fc_flatten_new(), fc_linear_new(24, hidden),
                         fc_relu_new(), fc_linear_new(hidden, 3));
}

FCT_TEST(test_load_pytorch_cnn_matches_outputs) {
    fct_fixture f = fct_load("nn/seq_cnn");
    fc_module *m = seq_cnn(8);
    FCT_OK(fc_module_load(m, st_path("seq_cnn")));
    fc_module_eval(m);
    FCT_CLOSE(fc_module_forward(m, fct_get(&f, "x")), fct_get(&f, "y_eval"), 1e-5, 1e-4);
    fc_module_train(m, 1);
    fc_tensor *y = fc_module_forward(m, fct_get(&f, "x"));
    FCT_CLOSE(y, fct_get(&f, "y_train"), 1e-5, 1e-4);
    FCT_OK(fc_backward_with(y, fct_get(&f, "dy")));
    static const char *const names[] = {"0.weight", "1.weight", "4.weight", "9.bias"};
    for (int i = 0; i < 4; i++) {
        char key[32];
        snprintf(key, sizeof key, "d%s", names[i]);
        FCT_CLOSE(fc_tensor_grad(fc_module_get(m, names[i])), fct_get(&f, key), 1e-5, 1e-4);
    }
    FCT_CLOSE(fc_module_get(m, "1.running_mean"), fct_get(&f, "rm"), 1e-6, 1e-5);
    FCT_CLOSE(fc_module_get(m, "1.running_var"), fct_get(&f, "rv"), 1e-6, 1e-5);
    FCT_NEAR(fc_tensor_item(fc_module_get(m, "1.num_batches_tracked")), 1, 0);
    fc_module_free(m);
    fct_fixture_free(&f);
}

FCT_TEST(test_load_pytorch_embedding_layernorm) {
    fct_fixture f = fct_load("nn/seq_text");
    fc_module *m = fc_sequential(fc_embedding_new(10, 6, .padding_idx = 0, .has_padding_idx = 1),
                                 fc_layernorm_new(FC_SHAPE(6)), fc_linear_new(6, 2));
    FCT_OK(fc_module_load(m, st_path("seq_text")));
    FCT_CLOSE(fc_module_forward(m, fct_get(&f, "x")), fct_get(&f, "y"), 1e-5, 1e-4);
    fc_module_free(m);
    fct_fixture_free(&f);
}

FCT_TEST(test_load_pytorch_lstm) {
    fct_fixture f = fct_load("nn/lstm");
    fc_module *m = fc_lstm_new(5, 6, .n_layers = 2);
    FCT_OK(fc_module_load(m, st_path("lstm")));
    FCT_CLOSE(fc_module_forward(m, fct_get(&f, "x")), fct_get(&f, "y"), 1e-5, 1e-4);
    fc_module_free(m);
    fct_fixture_free(&f);
}

/* Copies of every parameter and buffer (outside any scope), to check that a failed load left them. */
typedef struct snapshot {
    int n;
    fc_tensor *t[64];
} snapshot;

static snapshot take(fc_module *m) {
    snapshot s = {.n = fc_module_n_parameters(m) + fc_module_n_buffers(m)};
    int np = fc_module_n_parameters(m);
    for (int i = 0; i < s.n && i < 64; i++)
        s.t[i] = fc_keep(fc_clone(i < np ? fc_module_parameter(m, i, NULL) : fc_module_buffer(m, i - np, NULL)));
    return s;
}

static void check_same(fc_module *m, snapshot *s) {
    int np = fc_module_n_parameters(m);
    for (int i = 0; i < s->n; i++) {
        fc_tensor *t = i < np ? fc_module_parameter(m, i, NULL) : fc_module_buffer(m, i - np, NULL);
        FCT_CLOSE(t, s->t[i], 0, 0);
        fc_tensor_free(s->t[i]);
    }
}

FCT_TEST(test_save_load_round_trip) {
    fc_manual_seed(11);
    fc_module *a = seq_cnn(8);
    fc_tensor *x = fc_randn(FC_SHAPE(2, 3, 8, 8));
    fc_module_forward(a, x); /* running stats and num_batches_tracked move away from their init */
    fc_manual_seed(12);
    fc_module *b = seq_cnn(8);
    const char *path = tmp_path("round_trip");
    FCT_OK(fc_module_save(a, path));
    FCT_OK(fc_module_load(b, path));
    snapshot sa = take(a);
    check_same(b, &sa);
    fc_module_eval(a);
    fc_module_eval(b);
    FCT_CLOSE(fc_module_forward(b, x), fc_module_forward(a, x), 0, 0);
    /* the header starts with its length and is 8-byte aligned; no temporary file is left */
    FILE *f = fopen(path, "rb");
    unsigned char len[8] = {0};
    FCT_TRUE(f && fread(len, 1, 8, f) == 8);
    if (f) fclose(f);
    FCT_EQ_INT(len[0] % 8, 0);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FCT_TRUE(access(tmp, F_OK) != 0);
    remove(path);
    fc_module_free(a);
    fc_module_free(b);
}


/* A load of path into a fresh seq_cnn fails with code and fragment, and changes nothing. */
static void check_bad_load(const char *path, int64_t hidden, fc_status code, const char *fragment) {
    fc_module *m = seq_cnn(hidden);
    snapshot s = take(m);
    FCT_TRUE(fc_module_load(m, path) == code);
    FCT_ERROR(code, fragment);
    check_same(m, &s);
    fc_module_free(m);
}

FCT_TEST(test_load_rejects_bad_files_and_leaves_weights) {
    unsigned char *good = NULL;
    size_t n = fct_read_file(st_path("seq_cnn"), &good);
    FCT_TRUE(n > 100);
    if (n <= 100) return free(good);
    const char *path = tmp_path("bad");
    check_bad_load("/nonexistent/x.safetensors", 8, FC_ERR_IO,
                   "load: cannot open '/nonexistent/x.safetensors': No such file");
    fct_write_file(path, good, n - 20); /* truncated data */
    check_bad_load(path, 8, FC_ERR_FORMAT, "is truncated: tensor '9.weight' ends at byte 1848 of the data, found 1840");
    fct_write_file(path, good, 5);
    check_bad_load(path, 8, FC_ERR_FORMAT, "is truncated: 5 bytes, expected at least 8");
    fct_write_file(path, good, 100); /* header cut short */
    check_bad_load(path, 8, FC_ERR_FORMAT, "header length");
    char *bad = malloc(n);
    memcpy(bad, good, n);
    char *dtype = strstr(bad + 8, "\"F32\"");
    memcpy(dtype, "\"F16\"", 5);
    fct_write_file(path, bad, n);
    check_bad_load(path, 8, FC_ERR_FORMAT, "tensor '0.weight': expected dtype F32, found F16");
    memcpy(bad, good, n);
    bad[8] = '[';
    fct_write_file(path, bad, n);
    check_bad_load(path, 8, FC_ERR_FORMAT, "header is not valid safetensors JSON at byte 0: expected '{'");
    memcpy(bad, good, n);
    char *key = strstr(bad + 8, "\"9.bias\"");
    memcpy(key, "\"9.bxas\"", 8);
    fct_write_file(path, bad, n);
    check_bad_load(path, 8, FC_ERR_FORMAT, "missing tensor '9.bias' (expected F32 [3])");
    /* a shape mismatch late in the file: the earlier tensors were read but not applied */
    check_bad_load(st_path("seq_cnn"), 9, FC_ERR_SHAPE,
                   "tensor '7.weight': expected shape [9, 24], found [8, 24]");
    /* a file with a tensor the module lacks */
    fc_module *small = seq_cnn(8);
    FCT_OK(fc_sequential_add(small, fc_linear_new(3, 1)));
    FCT_OK(fc_module_save(small, path));
    fc_module_free(small);
    check_bad_load(path, 8, FC_ERR_FORMAT, "unexpected tensor '10.weight' (F32 [1, 3])");
    remove(path);
    free(bad);
    free(good);
}
