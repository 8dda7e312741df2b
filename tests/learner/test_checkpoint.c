/* Checkpoints: round trip, truncated / corrupt / mismatched files leave the learner unchanged,
 * resuming with start_epoch equals an uninterrupted fit (dropout + shuffle), the non-strict
 * weights load, and lr_find putting weights and optimizer state back. */
#include <stdlib.h>
#include <unistd.h>

#include "learner_test.h"

static unsigned char *file_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc((size_t)len + 1);
    *n = fread(d, 1, (size_t)len, f);
    fclose(f);
    return d;
}

static void write_bytes(const char *path, const unsigned char *d, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(d, 1, n, f);
    fclose(f);
}

/* Whether the learner's full state (its own checkpoint bytes) equals the file at path. */
static int state_equals(fc_learner *learn, const char *path) {
    if (fc_learner_save(learn, "ck_state.fcl") != FC_OK) return 0;
    size_t na = 0, nb = 0;
    unsigned char *a = file_bytes("ck_state.fcl", &na), *b = file_bytes(path, &nb);
    int same = a && b && na == nb && memcmp(a, b, na) == 0;
    free(a);
    free(b);
    remove("ck_state.fcl");
    return same;
}

FCT_TEST(test_checkpoint_round_trip) {
    fc_learner *a = fc_learner(lt_dls(32, 8, 8, 1), lt_mlp(), .quiet = 1);
    if (!FCT_NOTNULL(a)) return;
    FCT_OK(fc_fit(a, 2, .lr = 1e-2));
    FCT_OK(fc_learner_save(a, "ck_a.fcl"));
    fc_manual_seed(77);
    fc_learner *b = fc_learner(lt_dls(32, 8, 8, 1), lt_mlp(), .quiet = 1);
    FCT_EQ_INT(fc_learner_saved_epoch(b), -1);
    FCT_OK(fc_learner_load(b, "ck_a.fcl"));
    FCT_EQ_INT(fc_learner_saved_epoch(b), 2);
    for (int i = 0; i < 4; i++)
        FCT_TRUE(lt_equal(fc_module_parameter(fc_learner_model(a), i, NULL), fc_module_parameter(fc_learner_model(b), i, NULL)));
    FCT_TRUE(state_equals(b, "ck_a.fcl")); /* weights, Adam state, epoch and RNG all came back */
    fc_learner_free(a);
    fc_learner_free(b);
    remove("ck_a.fcl");
}

FCT_TEST(test_checkpoint_bad_files_leave_the_learner_unchanged) {
    fc_learner *a = fc_learner(lt_dls(32, 8, 8, 1), lt_mlp(), .quiet = 1);
    if (!FCT_NOTNULL(a)) return;
    FCT_OK(fc_fit(a, 1, .lr = 1e-2));
    FCT_OK(fc_learner_save(a, "ck_good.fcl"));
    fc_learner *b = fc_learner(lt_dls(32, 8, 8, 1), lt_mlp(), .quiet = 1);
    FCT_OK(fc_fit(b, 1, .lr = 1e-3));
    FCT_OK(fc_learner_save(b, "ck_b.fcl"));
    size_t n = 0;
    unsigned char *d = file_bytes("ck_good.fcl", &n);

    write_bytes("ck_bad.fcl", d, n / 2);
    FCT_EQ_INT(fc_learner_load(b, "ck_bad.fcl"), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "'ck_bad.fcl' is truncated");
    FCT_TRUE(state_equals(b, "ck_b.fcl"));

    d[n / 2] ^= 0x5a;
    write_bytes("ck_bad.fcl", d, n);
    FCT_EQ_INT(fc_learner_load(b, "ck_bad.fcl"), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "'ck_bad.fcl' is corrupt (checksum mismatch)");
    FCT_TRUE(state_equals(b, "ck_b.fcl"));
    d[n / 2] ^= 0x5a;

    write_bytes("ck_bad.fcl", (const unsigned char *)"hello", 5);
    FCT_EQ_INT(fc_learner_load(b, "ck_bad.fcl"), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "not a fastc checkpoint");
    FCT_EQ_INT(fc_learner_load(b, "no_such_file.fcl"), FC_ERR_IO);
    FCT_ERROR(FC_ERR_IO, "cannot open 'no_such_file.fcl'");

    /* another architecture: the weights do not fit */
    fc_learner *c = fc_learner(lt_dls(32, 8, 8, 1), fc_sequential(fc_linear_new(4, 16), fc_relu_new(), fc_linear_new(16, 2)),
                               .quiet = 1);
    FCT_OK(fc_fit(c, 1));
    FCT_OK(fc_learner_save(c, "ck_c.fcl"));
    FCT_EQ_INT(fc_learner_load(c, "ck_good.fcl"), FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "tensor '0.weight': expected shape [16, 4], found [8, 4]");
    FCT_TRUE(state_equals(c, "ck_c.fcl"));

    /* same weights, another optimizer: the weights load, the optimizer state does not, and the
     * weights are put back */
    fc_learner *s = fc_learner(lt_dls(32, 8, 8, 1), lt_mlp(), .opt_func = fc_opt_sgd, .quiet = 1);
    FCT_OK(fc_fit(s, 1));
    FCT_OK(fc_learner_save(s, "ck_s.fcl"));
    FCT_EQ_INT(fc_learner_load(s, "ck_good.fcl"), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "holds a adam state, the optimizer is sgd");
    FCT_TRUE(state_equals(s, "ck_s.fcl"));

    free(d);
    fc_learner_free(a);
    fc_learner_free(b);
    fc_learner_free(c);
    fc_learner_free(s);
    remove("ck_good.fcl");
    remove("ck_bad.fcl");
    remove("ck_b.fcl");
    remove("ck_c.fcl");
    remove("ck_s.fcl");
}

/* Resume: fit_one_cycle(4) == fit_one_cycle(4) stopped after 2 epochs, saved, loaded into a new
 * learner, fit_one_cycle(4, .start_epoch = 2). Dropout draws from the global RNG, the loader
 * shuffles from (seed, epoch). */
static fc_module *dropout_mlp(void) {
    return fc_sequential(fc_linear_new(4, 16), fc_relu_new(), fc_dropout_new(0.3), fc_linear_new(16, 2));
}
static int stop_after_epoch_1(fc_learner *learn, void *s) {
    return fc_learner_epoch(learn) == 1 ? FC_CANCEL_FIT : FC_CONTINUE;
}

FCT_TEST(test_resume_with_start_epoch_equals_an_uninterrupted_fit) {
    fc_manual_seed(5);
    fc_learner *a = fc_learner(lt_dls(48, 16, 8, 9), dropout_mlp(), .quiet = 1);
    if (!FCT_NOTNULL(a)) return;
    FCT_OK(fc_fit_one_cycle(a, 4, 1e-2));

    fc_manual_seed(5);
    fc_learner *b = fc_learner(lt_dls(48, 16, 8, 9), dropout_mlp(), .quiet = 1);
    fc_callback *stop = fc_callback_new(&(fc_callback_def){.name = "stop", .after_epoch = stop_after_epoch_1});
    FCT_OK(fc_fit_one_cycle(b, 4, 1e-2, .cbs = FC_CALLBACKS(stop)));
    FCT_OK(fc_learner_save(b, "ck_resume.fcl"));
    fc_learner_free(b);

    fc_manual_seed(5);
    fc_learner *c = fc_learner(lt_dls(48, 16, 8, 9), dropout_mlp(), .quiet = 1);
    FCT_OK(fc_learner_load(c, "ck_resume.fcl"));
    FCT_EQ_INT(fc_learner_saved_epoch(c), 2);
    FCT_OK(fc_fit_one_cycle(c, 4, 1e-2, .start_epoch = fc_learner_saved_epoch(c)));
    FCT_EQ_INT(fc_recorder_n_epochs(c), 2);
    for (int i = 0; i < fc_module_n_parameters(fc_learner_model(a)); i++)
        FCT_TRUE(lt_equal(fc_module_parameter(fc_learner_model(a), i, NULL), fc_module_parameter(fc_learner_model(c), i, NULL)));
    FCT_NEAR(fc_learner_valid_loss(a), fc_learner_valid_loss(c), 0);
    fc_learner_free(a);
    fc_learner_free(c);
    remove("ck_resume.fcl");
}

FCT_TEST(test_module_load_matching_skips_a_new_head) {
    fc_module *a = fc_sequential(fc_linear_new(4, 8), fc_relu_new(), fc_linear_new(8, 2));
    fc_module *b = fc_sequential(fc_linear_new(4, 8), fc_relu_new(), fc_linear_new(8, 3));
    FCT_OK(fc_module_save(a, "ck_body.safetensors"));
    fc_tensor *head = lt_param_copy(b, 2);
    int n = -1;
    FCT_OK(fc_module_load_matching(b, "ck_body.safetensors", &n));
    FCT_EQ_INT(n, 2);
    FCT_TRUE(lt_equal(fc_module_parameter(a, 0, NULL), fc_module_parameter(b, 0, NULL)));
    FCT_TRUE(lt_equal(fc_module_parameter(a, 1, NULL), fc_module_parameter(b, 1, NULL)));
    FCT_TRUE(lt_equal(head, fc_module_parameter(b, 2, NULL)));
    /* a truncated file fails and changes nothing */
    size_t len = 0;
    unsigned char *d = file_bytes("ck_body.safetensors", &len);
    write_bytes("ck_trunc.safetensors", d, len - 20);
    fc_module *c = fc_sequential(fc_linear_new(4, 8), fc_relu_new(), fc_linear_new(8, 3));
    fc_tensor *w0 = lt_param_copy(c, 0);
    FCT_EQ_INT(fc_module_load_matching(c, "ck_trunc.safetensors", &n), FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "truncated");
    FCT_TRUE(lt_equal(w0, fc_module_parameter(c, 0, NULL)));
    free(d);
    fc_tensor_free(head);
    fc_tensor_free(w0);
    fc_module_free(a);
    fc_module_free(b);
    fc_module_free(c);
    remove("ck_body.safetensors");
    remove("ck_trunc.safetensors");
}

FCT_TEST(test_lr_find_restores_state_and_suggests) {
    fc_learner *learn = fc_learner(lt_dls(256, 32, 16, 6), lt_mlp(), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit(learn, 1, .lr = 1e-3)); /* a non-trivial optimizer state */
    FCT_OK(fc_learner_save(learn, "ck_before.fcl"));
    fc_lr_suggestions s;
    FCT_OK(fc_lr_find(learn, &s, .plot_path = "lr_find.png"));
    FCT_TRUE(access("lr_find.png", F_OK) == 0);
    FCT_TRUE(state_equals(learn, "ck_before.fcl")); /* weights, optimizer state, RNG */
    FCT_TRUE(s.n > 20 && s.n <= 100);
    const double *lrs = fc_recorder_lrs(learn);
    FCT_NEAR(lrs[0], 1e-7, 1e-20);
    FCT_NEAR(lrs[1], 1e-7 * pow(1e8, 0.01), 1e-18); /* exponential: pos = train_iter / num_it */
    printf("    lr_find: %d points, valley %.3g, minimum %.3g, steep %.3g\n", s.n, s.valley, s.minimum, s.steep);
    FCT_TRUE(s.valley > 1e-6 && s.valley < 10);
    FCT_TRUE(s.minimum > 1e-8 && s.minimum < 1);
    FCT_TRUE(s.steep > 1e-7 && s.steep < 10);
    /* the stop rule: the last smoothed loss is > 4x the minimum or all 100 iterations ran */
    const double *l = fc_recorder_losses(learn);
    double mn = INFINITY;
    for (int i = 0; i < s.n; i++) mn = fmin(mn, l[i]);
    FCT_TRUE(s.n == 100 || l[s.n - 1] > 4 * mn);
    fc_learner_free(learn);
    remove("ck_before.fcl");
    remove("lr_find.png");
}
