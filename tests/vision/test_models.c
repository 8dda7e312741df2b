/* Vision models (src/vision/models/), create_body / create_head and the arch table. Parity: both
 * sides (gen_vision_models.py and formula_fill here) fill the model with the same formula weights,
 * so torchvision's ResNets, Idelbayev's ResNet-20 and the ports of fastai's XResNet, ResNet-9 and
 * create_head are compared output for output without committing their weights; the fixtures also
 * hold the parameter and buffer names and shapes in PyTorch's order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastc/vision.h"
#include "fct.h"

/* gen_vision_models.py's formula(): tensor k of parameters-then-buffers, element j. */
static void formula_fill(fc_module *m) {
    int np = fc_module_n_parameters(m), nb = fc_module_n_buffers(m);
    for (int k = 0; k < np + nb; k++) {
        const char *name;
        fc_tensor *t = k < np ? fc_module_parameter(m, k, &name) : fc_module_buffer(m, k - np, &name);
        if (fc_tensor_dtype(t) != FC_DTYPE_F32) continue;
        float *p = fc_tensor_data_f32(t);
        int64_t n = fc_tensor_numel(t);
        size_t len = strlen(name);
        int is_rv = len >= 11 && !strcmp(name + len - 11, "running_var");
        int is_rm = len >= 12 && !strcmp(name + len - 12, "running_mean");
        int is_w = len >= 6 && !strcmp(name + len - 6, "weight");
        double fan_in = fc_tensor_ndim(t) >= 2 ? (double)(n / fc_tensor_dim(t, 0)) : 1;
        for (int64_t j = 0; j < n; j++) {
            double s = sin(0.37 * (double)j + 1.3 * (double)k);
            double v = is_rv ? 1 + 0.5 * s : is_rm ? 0.1 * s : fc_tensor_ndim(t) >= 2 ? 2 * s / sqrt(fan_in)
                                                                : is_w ? 1 + 0.2 * s : 0.1 * s;
            p[j] = (float)v;
        }
    }
}

/* x[j] = sin(0.71 j + 0.3) + 0.5 cos(0.013 j), in the current scope. */
static fc_tensor *formula_input(const fc_tensor *shape) {
    const int64_t *d = fc_tensor_data(shape);
    fc_shape s = {(int)fc_tensor_numel(shape), {0}};
    for (int i = 0; i < s.ndim; i++) s.d[i] = d[i];
    fc_tensor *x = fc_empty(s);
    float *p = fc_tensor_data_f32(x);
    for (int64_t j = 0, n = fc_shape_numel(s); j < n; j++)
        p[j] = (float)(sin(0.71 * (double)j + 0.3) + 0.5 * cos(0.013 * (double)j));
    return x;
}

/* The names (in order) and shapes of m's parameters then buffers are the fixture's. */
static void check_names(fc_module *m, const fct_fixture *f) {
    fc_tensor *names = fct_get(f, "names"), *shapes = fct_get(f, "shapes");
    if (!names || !shapes) return;
    int np = fc_module_n_parameters(m), nb = fc_module_n_buffers(m);
    FCT_EQ_INT(np + nb, fc_tensor_dim(shapes, 0));
    const char *s = fc_tensor_data(names), *end = s + fc_tensor_numel(names);
    const int64_t *sh = fc_tensor_data(shapes);
    for (int k = 0; k < np + nb && s < end; k++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
        const char *name;
        fc_tensor *t = k < np ? fc_module_parameter(m, k, &name) : fc_module_buffer(m, k - np, &name);
        char want[128];
        snprintf(want, sizeof want, "%.*s", (int)len, s);
        FCT_STR(name, want);
        const int64_t *row = sh + 5 * k;
        int same = fc_tensor_ndim(t) == row[0];
        for (int d = 0; same && d < row[0]; d++) same = fc_tensor_dim(t, d) == row[1 + d];
        fct_check(same, __FILE__, __LINE__, "%s: shape differs from PyTorch's", want);
        s += len + 1;
    }
}

/* Names, parameter count and the eval-mode output on the formula input, to 1e-4 of its scale.
 * m is left in eval mode with the formula weights. */
static void check_parity(fc_module *m, const char *fixture) {
    fct_fixture f = fct_load(fixture);
    FCT_NOTNULL(m);
    fc_tensor *want = fct_get(&f, "y");
    if (m && want) {
        check_names(m, &f);
        FCT_EQ_INT(fc_module_num_params(m), ((int64_t *)fc_tensor_data(fct_get(&f, "n_params")))[0]);
        formula_fill(m);
        fc_module_eval(m);
        fc_tensor *y = fc_module_forward(m, formula_input(fct_get(&f, "x_shape")));
        double scale = 0;
        for (int64_t i = 0, n = fc_tensor_numel(want); i < n; i++)
            scale = fmax(scale, fabs(fc_tensor_data_f32(want)[i]));
        FCT_CLOSE(y, want, 1e-4 * scale, 0);
    }
    fct_fixture_free(&f);
}

/* check_parity on a model of its own. */
static void check_parity_free(fc_module *m, const char *fixture) {
    check_parity(m, fixture);
    fc_module_free(m);
}

static double std_of(const fc_tensor *t) {
    const float *p = fc_tensor_data_f32(t);
    double s2 = 0;
    int64_t n = fc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) s2 += (double)p[i] * p[i];
    return sqrt(s2 / (double)n);
}

static int n_groups_of(fc_module *model, fc_splitter split) {
    fc_param_groups *g = fc_param_groups_new();
    int n = FCT_OK(split(model, g)) ? fc_param_groups_n(g) : -1;
    fc_param_groups_free(g);
    return n;
}

/* One resnet18 (the slow part is drawing its 11.7M initial weights) for init, parity, body, split. */
FCT_TEST(test_resnet18_matches_torchvision_and_cuts) {
    fc_manual_seed(3);
    fc_module *m = fc_resnet18();
    FCT_EQ_INT(fc_module_num_params(m), 11689512);
    /* kaiming_normal_ fan_out: layer4.0.conv2 [512, 512, 3, 3] has std sqrt(2 / (512 * 9)) */
    FCT_NEAR(std_of(fc_module_get(m, "layer4.0.conv2.weight")), sqrt(2.0 / (512 * 9)), 2e-4);
    FCT_NEAR(std_of(fc_module_get(m, "conv1.weight")), sqrt(2.0 / (64 * 49)), 1e-3);
    FCT_NEAR(fc_tensor_get(fc_module_get(m, "layer1.0.bn2.weight"), 0), 1, 0);
    check_parity(m, "vision/resnet18");

    fc_module *body = fc_create_body(m, -2);
    FCT_EQ_INT(fc_module_n_children(body), 8);
    FCT_STR(fc_module_type(body), "Sequential");
    FCT_NOTNULL(fc_module_get(body, "4.0.conv1.weight")); /* layer1 is child 4 */
    fc_tensor *y = fc_module_forward(body, fc_randn(FC_SHAPE(2, 3, 96, 64)));
    FCT_TRUE(y && fc_tensor_ndim(y) == 4 && fc_tensor_dim(y, 0) == 2 && fc_tensor_dim(y, 1) == 512 &&
             fc_tensor_dim(y, 2) == 3 && fc_tensor_dim(y, 3) == 2);
    fc_module_train(body, 1);
    FCT_EQ_INT(fc_body_n_features(body, 3), 512);
    FCT_TRUE(fc_module_is_training(body)); /* restored */
    fc_module *model = fc_sequential(body, fc_create_head(1024, 10));
    FCT_EQ_INT(n_groups_of(model, fc_resnet_split), 3);
    fc_module_free(model);
}

FCT_TEST(test_resnet50_matches_torchvision) {
    fc_module *m = fc_resnet50();
    FCT_EQ_INT(fc_module_num_params(m), 25557032);
    check_parity_free(m, "vision/resnet50");
}

FCT_TEST(test_resnet34_parameter_count_and_names) {
    fc_module *m = fc_resnet34(.n_out = 10);
    FCT_EQ_INT(fc_module_num_params(m), 21797672 - 513 * 990); /* torchvision's with a 10-way fc */
    FCT_NOTNULL(fc_module_get(m, "layer3.5.bn2.running_var"));
    FCT_NOTNULL(fc_module_get(m, "layer4.0.downsample.1.weight"));
    FCT_TRUE(!fc_module_get(m, "layer4.1.downsample.0.weight"));
    fc_module_free(m);
}

FCT_TEST(test_resnet20_cifar_matches_idelbayev) {
    fc_module *m = fc_resnet20_cifar();
    FCT_EQ_INT(fc_module_num_params(m), 269722);
    check_parity_free(m, "vision/resnet20_cifar");
}

FCT_TEST(test_xresnet18_matches_fastai_port) { check_parity_free(fc_xresnet18(), "vision/xresnet18"); }

FCT_TEST(test_xresnet50_widen_matches_fastai_port) {
    check_parity_free(fc_xresnet50(.n_out = 7, .widen = 0.5), "vision/xresnet50_w05");
}

FCT_TEST(test_resnet9_matches_port) { check_parity_free(fc_resnet9(), "vision/resnet9"); }

FCT_TEST(test_create_head_matches_fastai_port) {
    check_parity_free(fc_create_head(1024, 7, .lin_ftrs = (int64_t[]){256, 64}, .n_lin_ftrs = 2), "vision/head");
}

/* ---- init ---- */

FCT_TEST(test_model_inits) {
    fc_manual_seed(3);
    fc_module *x = fc_xresnet18(.widen = 0.25);
    FCT_NEAR(std_of(fc_module_get(x, "4.0.convpath.0.0.weight")), sqrt(2.0 / (64 * 9)), 2e-3); /* fan_in */
    FCT_NEAR(std_of(fc_module_get(x, "4.0.convpath.1.1.weight")), 0, 0);  /* BatchZero */
    FCT_NEAR(std_of(fc_module_get(x, "4.0.convpath.0.1.weight")), 1, 0);
    FCT_NEAR(std_of(fc_module_get(x, "4.0.convpath.0.1.bias")), 0, 0);
    FCT_NEAR(std_of(fc_module_get(x, "11.bias")), 0, 0);
    FCT_NEAR(std_of(fc_module_get(x, "11.weight")), sqrt(2.0 / 128), 2e-3);
    FCT_NOTNULL(fc_module_get(x, "4.0.idpath.0.0.weight")); /* 64 -> 16 channels: a 1x1 ConvLayer */
    FCT_NOTNULL(fc_module_get(x, "5.0.idpath.1.0.weight")); /* pool first, then the 1x1 ConvLayer */
    fc_module *c = fc_resnet20_cifar();
    FCT_NEAR(std_of(fc_module_get(c, "layer3.2.conv2.weight")), sqrt(2.0 / (64 * 9)), 2e-3);
    FCT_NEAR(std_of(fc_module_get(c, "linear.weight")), sqrt(2.0 / 64), 0.02);
    fc_module_free(x);
    fc_module_free(c);
}

/* ---- training mode ---- */

static void check_train_step(fc_module *m, int64_t size, int64_t n_out) {
    fc_manual_seed(5);
    fc_tensor *x = fc_randn(FC_SHAPE(4, 3, size, size));
    fc_tensor *y = fc_randint(0, n_out, FC_SHAPE(4));
    fc_tensor *out = fc_module_forward(m, x);
    FCT_TRUE(out && fc_tensor_dim(out, 0) == 4 && fc_tensor_dim(out, 1) == n_out);
    FCT_OK(fc_backward(fc_cross_entropy(out, y)));
    int n = fc_module_n_parameters(m), with_grad = 0;
    for (int i = 0; i < n; i++) with_grad += fc_tensor_grad(fc_module_parameter(m, i, NULL)) != NULL;
    FCT_EQ_INT(with_grad, n);
    fc_module_free(m);
}

FCT_TEST(test_models_train_forward_backward) {
    fc_module *r = fc_resnet20_cifar();
    check_train_step(r, 32, 10);
    fc_module *x = fc_xresnet18(.widen = 0.25, .n_out = 5, .p = 0.2);
    check_train_step(x, 40, 5);
    fc_module *n = fc_resnet9(.n_out = 3);
    check_train_step(n, 16, 3);
}

FCT_TEST(test_resnet20_bn_updates_in_training) {
    fc_module *m = fc_resnet20_cifar();
    fc_module_forward(m, fc_randn(FC_SHAPE(2, 3, 16, 16)));
    FCT_NEAR(fc_tensor_item(fc_module_get(m, "layer2.0.bn1.num_batches_tracked")), 1, 0);
    FCT_TRUE(fc_tensor_get(fc_module_get(m, "bn1.running_var"), 0) != 1);
    fc_module_free(m);
}

/* ---- create_head, create_body, splitters ---- */

static void check_types(fc_module *m, int n, const char *const *types) {
    FCT_EQ_INT(fc_module_n_children(m), n);
    for (int i = 0; i < n && i < fc_module_n_children(m); i++)
        FCT_STR(fc_module_type(fc_module_child_at(m, i, NULL)), types[i]);
}

FCT_TEST(test_create_head_layers) {
    fc_module *h = fc_create_head(1024, 10);
    static const char *const def[] = {"AdaptiveConcatPool2d", "Flatten", "BatchNorm1d", "Dropout", "Linear",
                                      "ReLU", "BatchNorm1d", "Dropout", "Linear"};
    check_types(h, 9, def);
    static const char *const names[] = {"2.weight", "2.bias", "4.weight", "6.weight", "6.bias", "8.weight"};
    FCT_EQ_INT(fc_module_n_parameters(h), 6);
    for (int i = 0; i < 6; i++) {
        const char *name;
        fc_module_parameter(h, i, &name);
        FCT_STR(name, names[i]);
    }
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(h, "4.weight"), 1), 1024);
    FCT_NEAR(fc_tensor_get(fc_module_get(h, "2.bias"), 0), 1e-3, 1e-9); /* fastai's BatchNorm */
    FCT_NEAR(*(double *)fc_module_state(fc_module_child_at(h, 3, NULL)), 0.25, 0);
    FCT_NEAR(*(double *)fc_module_state(fc_module_child_at(h, 7, NULL)), 0.5, 0);
    fc_tensor *y = fc_module_forward(h, fc_randn(FC_SHAPE(3, 512, 2, 2)));
    FCT_TRUE(y && fc_tensor_dim(y, 0) == 3 && fc_tensor_dim(y, 1) == 10);
    fc_module_free(h);

    h = fc_create_head(64, 4, .no_concat_pool = 1, .ps = -1, .no_first_bn = 1, .bn_final = 1);
    static const char *const plain[] = {"AdaptiveAvgPool2d", "Flatten", "Linear", "ReLU", "BatchNorm1d",
                                        "Linear", "BatchNorm1d"};
    check_types(h, 7, plain);
    FCT_NOTNULL(fc_module_get(h, "2.bias")); /* no BN before it: a bias */
    FCT_TRUE(!fc_module_get(h, "5.bias"));
    fc_module_free(h);

    h = fc_create_head(64, 4, .lin_first = 1);
    static const char *const lf[] = {"AdaptiveConcatPool2d", "Flatten", "Dropout", "Linear", "ReLU",
                                     "BatchNorm1d", "Dropout", "Linear"};
    check_types(h, 8, lf);
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(h, "5.weight"), 0), 512);
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(h, "7.weight"), 1), 512);
    fc_module_free(h);
}

FCT_TEST(test_adaptive_concat_pool_is_max_then_avg) {
    fc_module *m = fc_adaptive_concat_pool2d_new(0);
    fc_tensor *y = fc_module_forward(m, fc_from_data(((float[]){1, 2, 3, 6, -1, -2, -3, -6}), FC_SHAPE(1, 2, 2, 2)));
    FCT_CLOSE(y, fc_from_data(((float[]){6, -1, 3, -3}), FC_SHAPE(1, 4, 1, 1)), 1e-6, 0);
    fc_module_free(m);
}

FCT_TEST(test_create_body_and_n_features) {
    static const struct { const char *arch; int64_t nf; } cases[] = {
        {"xresnet18", 512}, {"xresnet50", 2048}, {"resnet20_cifar", 64}, {"resnet9", 512}};
    for (int i = 0; i < 4; i++) {
        const fc_arch *a = fc_arch_by_name(cases[i].arch);
        fc_module *b = fc_create_body(a->make(&(fc_model_opts){.n_in = 1, .widen = 0.25}), a->cut);
        int64_t nf = fc_body_n_features(b, 1);
        FCT_EQ_INT(nf, !strncmp(cases[i].arch, "xresnet", 7) ? cases[i].nf / 4 : cases[i].nf);
        fc_module_free(b);
    }
}

FCT_TEST(test_create_body_rejects_bad_cut) {
    FCT_NULL(fc_create_body(fc_resnet20_cifar(), 9));
    FCT_ERROR(FC_ERR_ARG, "expected a cut that keeps 1 to 8 of the 8 children of ResNet, found cut 9");
    FCT_NULL(fc_create_body(fc_resnet20_cifar(), -8));
    FCT_ERROR(FC_ERR_ARG, "found cut -8");
}

static int n_groups(const char *arch) {
    const fc_arch *a = fc_arch_by_name(arch);
    fc_module *body = fc_create_body(a->make(&(fc_model_opts){.widen = 0.25}), a->cut);
    int64_t nf = fc_body_n_features(body, 3);
    fc_module *model = fc_sequential(body, fc_create_head(2 * nf, 10));
    int n = n_groups_of(model, a->split);
    fc_module_free(model);
    return n;
}

FCT_TEST(test_splitters) {
    FCT_EQ_INT(n_groups("xresnet34"), 3);
    FCT_EQ_INT(n_groups("resnet20_cifar"), 2);
    FCT_EQ_INT(n_groups("resnet9"), 2);
    fc_param_groups *g = fc_param_groups_new();
    fc_module *lone = fc_sequential(fc_linear_new(2, 2));
    FCT_TRUE(fc_resnet_split(lone, g) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "expected Sequential(body, head)");
    fc_module_free(lone);
    fc_param_groups_free(g);
}

FCT_TEST(test_arch_by_name) {
    const fc_arch *a = fc_arch_by_name("resnet34");
    FCT_TRUE(a && a->cut == -2 && a->split == fc_resnet_split && a->mean == fc_imagenet_mean);
    a = fc_arch_by_name("xresnet50");
    FCT_TRUE(a && a->cut == -4 && a->make == fc_xresnet50_);
    FCT_NULL(fc_arch_by_name("nope"));
    FCT_ERROR(FC_ERR_ARG, "unknown architecture 'nope' (known: resnet18, resnet34, resnet50, xresnet18, "
                          "xresnet34, xresnet50, resnet20_cifar, resnet9)");
}

FCT_TEST(test_model_option_errors) {
    FCT_NULL(fc_xresnet18(.widen = 0.001));
    FCT_ERROR(FC_ERR_ARG, "xresnet18: .widen = 0.001 leaves the first stage with no channels");
    FCT_NULL(fc_resnet18(.n_out = -1));
    FCT_ERROR(FC_ERR_ARG, "resnet18: expected .n_in, .n_out, .widen >= 0");
    FCT_NULL(fc_simple_cnn((int64_t[]){3}, 1));
    FCT_ERROR(FC_ERR_ARG, "simple_cnn: expected at least 2 sizes");
    FCT_NULL(fc_create_head(0, 3));
    FCT_ERROR(FC_ERR_ARG, "create_head: expected nf, n_out > 0");
}

FCT_TEST(test_simple_cnn) {
    fc_module *m = fc_simple_cnn(((int64_t[]){3, 8, 16, 5}), 4, .bn = 1, .strides = (int[]){2, 2, 1});
    FCT_EQ_INT(fc_module_n_children(m), 5);
    static const char *const l0[] = {"Conv2d", "BatchNorm2d", "ReLU"};
    check_types(fc_module_child_at(m, 0, NULL), 3, l0);
    static const char *const l2[] = {"Conv2d"};
    check_types(fc_module_child_at(m, 2, NULL), 1, l2);
    FCT_TRUE(!fc_module_get(m, "0.0.bias"));
    FCT_NOTNULL(fc_module_get(m, "2.0.bias"));
    fc_tensor *y = fc_module_forward(m, fc_randn(FC_SHAPE(2, 3, 16, 16)));
    FCT_TRUE(y && fc_tensor_ndim(y) == 2 && fc_tensor_dim(y, 1) == 5);
    fc_module_free(m);
}

FCT_TEST(test_model_save_and_reload) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/fastc_test_vision_%ld.safetensors", (long)getpid());
    fc_module *a = fc_resnet20_cifar();
    formula_fill(a);
    FCT_OK(fc_module_save(a, path));
    fc_module *b = fc_resnet20_cifar();
    FCT_OK(fc_module_load(b, path));
    fc_module_eval(a);
    fc_module_eval(b);
    fc_tensor *x = fc_randn(FC_SHAPE(2, 3, 32, 32));
    FCT_CLOSE(fc_module_forward(b, x), fc_module_forward(a, x), 0, 0);
    fc_module_free(a);
    fc_module_free(b);
    unlink(path);
}
