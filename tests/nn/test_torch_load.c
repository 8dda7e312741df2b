/* torch.save checkpoints (src/nn/torch_load.c, src/nn/pickle.c): legacy and zip files written by
 * PyTorch 1.13 (gen_torch_load.py) against the values torch.load read from them, the real
 * pretrained ResNet-20 of the shared data folder, and corrupt or truncated copies. */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tests/data/data_dir.h" /* a path holding /tests/data/, as data_dir.h expects */
#include "fastc/nn.h"
#include "fct.h"

static char fixture_path[512];
static const char *pt_path(const char *name) {
    const char *dir = getenv("FASTC_FIXTURES");
    if (dir) {
        snprintf(fixture_path, sizeof fixture_path, "%s/nn/%s.pt", dir, name);
    } else {
        const char *src = __FILE__, *cut = strstr(src, "nn/test_torch_load.c");
        snprintf(fixture_path, sizeof fixture_path, "%.*sfixtures/nn/%s.pt", cut ? (int)(cut - src) : 0, src, name);
    }
    return fixture_path;
}

/* Scratch files go to the working directory (the build dir under ctest). */
static char tmp_buf[256];
static const char *tmp_path(const char *name) {
    snprintf(tmp_buf, sizeof tmp_buf, "torch_load_%ld_%s.pt", (long)getpid(), name);
    return tmp_buf;
}


/* The module of gen_torch_load.py's small(). */
static fc_module *small_cnn(int64_t n_out) {
    return fc_sequential(fc_conv2d_new(3, 4, 3, .padding = 1), fc_batchnorm2d_new(4), fc_relu_new(),
                         fc_adaptive_avgpool2d_new(1, 1), fc_flatten_new(), fc_linear_new(4, n_out));
}

static fc_tensor *no_forward(fc_module *m, fc_tensor *x) {
    fc_fail(FC_ERR_UNSUPPORTED, "container: a bag of named layers for loading, without a forward");
    return NULL;
}
static const fc_module_def container_def = {.name = "Container", .forward = no_forward};

static fc_module *two_linear(void) { return fc_sequential(fc_linear_new(3, 5), fc_linear_new(3, 5)); }

/* Every parameter and buffer of m but those whose name starts with skip (if not NULL) equals the
 * fixture's <prefix><name> (as f32), exactly. */
static void check_some(fc_module *m, const fct_fixture *f, const char *prefix, const char *skip) {
    int np = fc_module_n_parameters(m), n = np + fc_module_n_buffers(m);
    for (int i = 0; i < n; i++) {
        const char *name;
        fc_tensor *t = i < np ? fc_module_parameter(m, i, &name) : fc_module_buffer(m, i - np, &name);
        char key[64];
        if (skip && !strncmp(name, skip, strlen(skip))) continue;
        snprintf(key, sizeof key, "%s%s", prefix, name);
        fc_tensor *want = fct_get(f, key);
        if (!want) continue;
        int64_t k = fc_tensor_numel(t);
        FCT_EQ_INT(k, fc_tensor_numel(want));
        int64_t bad = -1;
        for (int64_t j = 0; j < k && j < fc_tensor_numel(want) && bad < 0; j++)
            if (fc_tensor_get(t, j) != fc_tensor_get(want, j)) bad = j;
        if (bad >= 0) FCT_NEAR(fc_tensor_get(t, bad), fc_tensor_get(want, bad), 0);
    }
}

static void check_all(fc_module *m, const fct_fixture *f, const char *prefix) { check_some(m, f, prefix, NULL); }

/* Copies of every parameter and buffer, to check that a failed load left them. */
typedef struct snapshot {
    int n;
    fc_tensor *t[128];
} snapshot;

static snapshot take(fc_module *m) {
    int np = fc_module_n_parameters(m);
    snapshot s = {.n = np + fc_module_n_buffers(m)};
    for (int i = 0; i < s.n && i < 128; i++)
        s.t[i] = fc_keep(fc_clone(i < np ? fc_module_parameter(m, i, NULL) : fc_module_buffer(m, i - np, NULL)));
    return s;
}

static void check_same(fc_module *m, snapshot *s) {
    int np = fc_module_n_parameters(m);
    for (int i = 0; i < s->n && i < 128; i++) {
        fc_tensor *t = i < np ? fc_module_parameter(m, i, NULL) : fc_module_buffer(m, i - np, NULL);
        FCT_CLOSE(t, s->t[i], 0, 0);
        fc_tensor_free(s->t[i]);
    }
}

static void check_small(const char *file, const fc_torch_load_opts *o) {
    fct_fixture f = fct_load("nn/torch_load");
    fc_module *m = small_cnn(3);
    int n_loaded = -1;
    fc_torch_load_opts opts = *o;
    opts.n_loaded = &n_loaded;
    FCT_OK(fc_module_load_torch_(m, pt_path(file), &opts));
    FCT_EQ_INT(n_loaded, 9);
    check_all(m, &f, "small.");
    FCT_NEAR(fc_tensor_item(fc_module_get(m, "1.num_batches_tracked")), 3, 0);
    fc_module_eval(m);
    FCT_CLOSE(fc_module_forward(m, fct_get(&f, "x")), fct_get(&f, "y"), 1e-6, 1e-5);
    fc_module_free(m);
    fct_fixture_free(&f);
}

FCT_TEST(test_load_torch_legacy_and_zip_state_dicts) {
    check_small("torch_small_legacy", &(fc_torch_load_opts){0});
    check_small("torch_small_zip", &(fc_torch_load_opts){0});
    check_small("torch_small_zip64", &(fc_torch_load_opts){0}); /* zip64 records, as for files > 4 GiB */
    check_small("torch_small_dict", &(fc_torch_load_opts){0});            /* {'state_dict': .., 'epoch': 3} */
    check_small("torch_small_key", &(fc_torch_load_opts){.key = "model"}); /* {'model': .., 'epoch': 3}      */
    check_small("torch_small_prefix", &(fc_torch_load_opts){.strip_prefix = "module."}); /* folder != archive */
}

FCT_TEST(test_load_torch_strided_and_converted_tensors) {
    fct_fixture f = fct_load("nn/torch_load");
    static const char *const files[] = {"torch_strided_legacy", "torch_strided_zip", "torch_dtypes_zip",
                                        "torch_dtypes_legacy"};
    for (int k = 0; k < 4; k++) {
        fc_module *m = two_linear();
        int n_loaded = 0;
        FCT_OK(fc_module_load_torch(m, pt_path(files[k]), .n_loaded = &n_loaded));
        FCT_EQ_INT(n_loaded, 4);
        check_all(m, &f, k < 2 ? "strided." : "dtypes.");
        fc_module_free(m);
    }
    fct_fixture_free(&f);
}

/* Float tensors convert into f16 and bf16 parameters too (torch's module.half() then load). */
FCT_TEST(test_load_torch_into_half_and_bfloat16_parameters) {
    fct_fixture f = fct_load("nn/torch_load");
    fc_module *m = fc_module_new(&container_def, NULL);
    static const char *const children[] = {"0", "1"}, *const params[] = {"weight", "bias"};
    for (int c = 0; c < 2; c++) {
        fc_module *lin = fc_module_new(&container_def, NULL);
        for (int p = 0; p < 2; p++)
            fc_module_add_parameter(lin, params[p], fc_keep(fc_zeros(p ? FC_SHAPE(5) : FC_SHAPE(5, 3),
                                                                     .dtype = c ? FC_DTYPE_BF16 : FC_DTYPE_F16)));
        fc_module_add_child(m, children[c], lin);
    }
    int n_loaded = 0;
    FCT_OK(fc_module_load_torch(m, pt_path("torch_dtypes_zip"), .n_loaded = &n_loaded));
    FCT_EQ_INT(n_loaded, 4);
    static const char *const names[] = {"0.weight", "0.bias", "1.weight", "1.bias"};
    for (int i = 0; i < 4; i++) {
        char key[32];
        snprintf(key, sizeof key, "dtypes.%s", names[i]);
        fc_tensor *got = fc_module_get(m, names[i]), *want = fct_get(&f, key);
        for (int64_t j = 0; want && j < fc_tensor_numel(want); j++) { /* one rounding: half an ulp */
            double w = fc_tensor_get(want, j), tol = fabs(w) * (i < 2 ? 0x1p-11 : 0x1p-8) + 1e-7;
            if (fabs(fc_tensor_get(got, j) - w) > tol) {
                FCT_NEAR(fc_tensor_get(got, j), w, tol);
                break;
            }
        }
    }
    fc_module_free(m);
    fct_fixture_free(&f);
}

/* ---- the real pretrained ResNet-20 (legacy format, 'module.' prefix, no num_batches_tracked) ---- */


static fc_module *block(int64_t in, int64_t out) {
    fc_module *b = fc_module_new(&container_def, NULL);
    fc_module_add_child(b, "conv1", fc_conv2d_new(in, out, 3, .padding = 1, .no_bias = 1));
    fc_module_add_child(b, "bn1", fc_batchnorm2d_new(out));
    fc_module_add_child(b, "conv2", fc_conv2d_new(out, out, 3, .padding = 1, .no_bias = 1));
    fc_module_add_child(b, "bn2", fc_batchnorm2d_new(out));
    return b;
}

static fc_module *resnet20_shapes(void) {
    fc_module *m = fc_module_new(&container_def, NULL);
    fc_module_add_child(m, "conv1", fc_conv2d_new(3, 16, 3, .padding = 1, .no_bias = 1));
    fc_module_add_child(m, "bn1", fc_batchnorm2d_new(16));
    static const char *const stages[] = {"layer1", "layer2", "layer3"};
    for (int s = 0, in = 16; s < 3; s++) {
        int out = 16 << s;
        fc_module *stage = fc_sequential(block(in, out), block(out, out), block(out, out));
        fc_module_add_child(m, stages[s], stage);
        in = out;
    }
    fc_module_add_child(m, "linear", fc_linear_new(64, 10));
    return m;
}

FCT_TEST(test_load_torch_pretrained_resnet20) {
    char dir[1024], path[1200];
    int have = test_data_dir("pretrained/resnet20_cifar10.th", dir, sizeof dir);
    FCT_TRUE(have >= 0);
    if (have <= 0) return;
    snprintf(path, sizeof path, "%s/pretrained/resnet20_cifar10.th", dir);
    fct_fixture f = fct_load("nn/resnet20_sums");
    fc_module *m = resnet20_shapes();
    FCT_EQ_INT(fc_module_num_params(m), 269722); /* the README's count */
    snapshot before = take(m);
    /* without the prefix nothing matches: strict fails on the first name and changes nothing */
    FCT_TRUE(fc_module_load_torch(m, path) == FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "resnet20_cifar10.th': missing tensor 'conv1.weight' (expected f32 [16, 3, 3, 3])");
    int n_loaded = -1;
    FCT_OK(fc_module_load_torch(m, path, .non_strict = 1, .n_loaded = &n_loaded));
    FCT_EQ_INT(n_loaded, 0);
    check_same(m, &before);

    FCT_OK(fc_module_load_torch(m, path, .strip_prefix = "module.", .n_loaded = &n_loaded));
    FCT_EQ_INT(n_loaded, 97); /* the 19 num_batches_tracked are missing, as in PyTorch: tolerated */
    fc_tensor *sums = fct_get(&f, "sums"), *abs_sums = fct_get(&f, "abs_sums");
    fc_tensor *heads = fct_get(&f, "heads"), *tails = fct_get(&f, "tails");
    /* the file's order (and the generator's): each conv's weight, then its batchnorm's tensors */
    static const char *const bn_fields[] = {"weight", "bias", "running_mean", "running_var"};
    char names[97][48];
    int n = 0;
    snprintf(names[n++], 48, "conv1.weight");
    for (int b = 0; b < 4; b++) snprintf(names[n++], 48, "bn1.%s", bn_fields[b]);
    for (int s = 1; s <= 3; s++)
        for (int blk = 0; blk < 3; blk++)
            for (int c = 1; c <= 2; c++) {
                snprintf(names[n++], 48, "layer%d.%d.conv%d.weight", s, blk, c);
                for (int b = 0; b < 4; b++) snprintf(names[n++], 48, "layer%d.%d.bn%d.%s", s, blk, c, bn_fields[b]);
            }
    snprintf(names[n++], 48, "linear.weight");
    snprintf(names[n++], 48, "linear.bias");
    FCT_EQ_INT(n, 97);
    for (int i = 0; sums && heads && tails && abs_sums && i < n; i++) {
        fc_tensor *t = fc_module_get(m, names[i]);
        if (!FCT_NOTNULL(t)) continue;
        int64_t k = fc_tensor_numel(t);
        float *buf = malloc((size_t)k * sizeof *buf);
        FCT_OK(fc_tensor_copy_out(t, buf, FC_DTYPE_F32));
        double sum = 0, asum = 0;
        for (int64_t j = 0; j < k; j++) sum += buf[j], asum += fabs(buf[j]);
        /* the reference was summed in f64 by torch and stored as f32 */
        FCT_NEAR(sum, fc_tensor_get(sums, i), 1e-5 * fc_tensor_get(abs_sums, i) + 1e-6);
        FCT_NEAR(asum, fc_tensor_get(abs_sums, i), 1e-6 * asum + 1e-6);
        for (int j = 0; j < 4; j++) FCT_NEAR(buf[j], fc_tensor_get(heads, i * 4 + j), 0);
        for (int j = 0; j < 3; j++) FCT_NEAR(buf[k - 3 + j], fc_tensor_get(tails, i * 3 + j), 0);
        free(buf);
    }
    /* the batchnorm counters were not in the file and kept their value */
    FCT_NEAR(fc_tensor_item(fc_module_get(m, "layer3.2.bn2.num_batches_tracked")), 0, 0);
    /* the saved dict's other entry: asking for it by .key is an error naming what was found */
    snapshot loaded = take(m);
    FCT_TRUE(fc_module_load_torch(m, path, .key = "best_prec1") == FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "expected a state dict (a dict of tensors) under key best_prec1, found a float");
    FCT_TRUE(fc_module_load_torch(m, path, .key = "model") == FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT,
              ".key 'model': the saved object has no such entry (found keys 'best_prec1', 'state_dict')");
    check_same(m, &loaded);
    fc_module_free(m);
    fct_fixture_free(&f);
}

/* ---- errors: each names the file and what was expected and found, and leaves the module ---- */

/* A load of path into a fresh small_cnn(n_out) with opts fails with code and fragment, and
 * changes nothing. */
static void check_bad(const char *path, int64_t n_out, const fc_torch_load_opts *o, fc_status code,
                      const char *fragment) {
    fc_module *m = small_cnn(n_out);
    snapshot s = take(m);
    fc_status st = fc_module_load_torch_(m, path, o);
    if (!FCT_TRUE(st == code)) printf("  got %s: %s\n", fc_status_name(st), fc_error_message());
    FCT_ERROR(code, fragment);
    check_same(m, &s);
    fc_module_free(m);
}

static const fc_torch_load_opts strict = {0};

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

/* zip's CRC-32, bit by bit (the reference for the loader's table-driven one). */
static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

FCT_TEST(test_load_torch_rejects_mismatched_modules) {
    const char *zip = pt_path("torch_small_zip");
    check_bad(zip, 2, &strict, FC_ERR_SHAPE,
              "torch_small_zip.pt': tensor '5.weight': expected shape [2, 4], found [3, 4]");
    /* non-strict: the mismatched head is skipped, the rest loaded */
    fct_fixture f = fct_load("nn/torch_load");
    fc_module *m = small_cnn(2);
    int n_loaded = 0;
    FCT_OK(fc_module_load_torch(m, zip, .non_strict = 1, .n_loaded = &n_loaded));
    FCT_EQ_INT(n_loaded, 7);
    check_some(m, &f, "small.", "5.");
    fc_module_free(m);
    fct_fixture_free(&f);
    /* a module with one more layer: missing tensor; with one layer less: unexpected tensor */
    m = small_cnn(3);
    FCT_OK(fc_sequential_add(m, fc_linear_new(3, 3)));
    snapshot s = take(m);
    FCT_TRUE(fc_module_load_torch(m, zip) == FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "torch_small_zip.pt': missing tensor '6.weight' (expected f32 [3, 3])");
    check_same(m, &s);
    FCT_OK(fc_module_load_torch(m, zip, .non_strict = 1, .n_loaded = &n_loaded));
    FCT_EQ_INT(n_loaded, 9);
    fc_module_free(m);
    m = fc_sequential(fc_conv2d_new(3, 4, 3, .padding = 1), fc_batchnorm2d_new(4));
    s = take(m);
    FCT_TRUE(fc_module_load_torch(m, pt_path("torch_small_legacy")) == FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "torch_small_legacy.pt': unexpected tensor '5.weight' ([3, 4]): the module has no");
    check_same(m, &s);
    FCT_OK(fc_module_load_torch(m, pt_path("torch_small_legacy"), .non_strict = 1, .n_loaded = &n_loaded));
    FCT_EQ_INT(n_loaded, 7);
    fc_module_free(m);
    /* an int64 counter in the file where the module has a float buffer */
    m = fc_module_new(&container_def, NULL);
    fc_module *bn = fc_module_new(&container_def, NULL);
    fc_module_add_buffer(bn, "num_batches_tracked", fc_keep(fc_zeros(FC_SCALAR_SHAPE)));
    fc_module_add_child(m, "1", bn);
    FCT_TRUE(fc_module_load_torch(m, zip) == FC_ERR_DTYPE);
    FCT_ERROR(FC_ERR_DTYPE, "tensor '1.num_batches_tracked': expected f32, found a LongStorage of []");
    FCT_OK(fc_module_load_torch(m, zip, .non_strict = 1, .n_loaded = &n_loaded));
    FCT_EQ_INT(n_loaded, 0);
    fc_module_free(m);
    /* the prefix is not stripped unless asked */
    check_bad(pt_path("torch_small_prefix"), 3, &strict, FC_ERR_FORMAT, "missing tensor '0.weight'");
}

FCT_TEST(test_load_torch_rejects_corrupt_files) {
    unsigned char *leg = NULL, *zip = NULL, *bad = NULL;
    size_t n_leg = fct_read_file(pt_path("torch_small_legacy"), &leg), n_zip = fct_read_file(pt_path("torch_small_zip"), &zip);
    FCT_TRUE(n_leg > 1000 && n_zip > 1000);
    if (n_leg <= 1000 || n_zip <= 1000) goto done;
    const char *path = tmp_path("bad");
    check_bad("/nonexistent/x.pt", 3, &strict, FC_ERR_IO, "load_torch: cannot open '/nonexistent/x.pt': No such file");
    fct_write_file(path, "hello world", 11);
    check_bad(path, 3, &strict, FC_ERR_FORMAT, "is not a torch.save file: expected a zip archive ('PK') or a pickle");
    /* legacy: cut in the last storage, in the storage counts, in the object's pickle */
    fct_write_file(path, leg, n_leg - 5);
    check_bad(path, 3, &strict, FC_ERR_FORMAT, "of tensor '5.bias' (3 elements of torch.FloatStorage) needs bytes");
    fct_write_file(path, leg, 300);
    check_bad(path, 3, &strict, FC_ERR_FORMAT, "truncated: needs");
    /* an opcode the reader does not know, at a known place: GLOBAL collections.OrderedDict -> 'Z' */
    bad = malloc(n_leg > n_zip ? n_leg : n_zip);
    memcpy(bad, leg, n_leg);
    uint8_t *g = memmem(bad, n_leg, "ccollections\nOrderedDict\n", 25);
    FCT_NOTNULL(g);
    if (!g) goto done;
    *g = 'Z';
    fct_write_file(path, bad, n_leg);
    char frag[160];
    snprintf(frag, sizeof frag, "torch_load_%ld_bad.pt' byte %ld, opcode 0x5a: unsupported opcode 'Z'", (long)getpid(),
             (long)(g - bad));
    check_bad(path, 3, &strict, FC_ERR_FORMAT, frag);
    /* zip: the same in data.pkl (messages count from its start), a cut-off archive, a lost entry */
    memcpy(bad, zip, n_zip);
    g = memmem(bad, n_zip, "ccollections\nOrderedDict\n", 25);
    FCT_NOTNULL(g);
    if (!g) goto done;
    *g = 'Z';
    fct_write_file(path, bad, n_zip);
    check_bad(path, 3, &strict, FC_ERR_FORMAT, "is corrupt: zip entry 'archive/data.pkl' has CRC-32 692e5a8d, its "
              "directory says 4d82f81e");
    uint8_t *cd = memmem(bad, n_zip, "PK\1\2", 4); /* the first directory record: archive/data.pkl */
    FCT_TRUE(cd && !memcmp(cd + 46, "archive/data.pkl", 16));
    if (!cd) goto done;
    size_t local = rd32(cd + 42), data = local + 30 + rd16(bad + local + 26) + rd16(bad + local + 28);
    uint32_t crc = crc32_of(bad + data, rd32(cd + 24));
    memcpy(cd + 16, &crc, 4); /* a consistent archive with a bad opcode: the pickle reader reports it */
    fct_write_file(path, bad, n_zip);
    check_bad(path, 3, &strict, FC_ERR_FORMAT, "(archive/data.pkl) byte 2, opcode 0x5a: unsupported opcode 'Z'");
    fct_write_file(path, zip, n_zip - 30);
    check_bad(path, 3, &strict, FC_ERR_FORMAT, "is truncated or not a zip archive: no end of central directory");
    memcpy(bad, zip, n_zip);
    for (size_t i = 0; i + 14 <= n_zip; i++) /* every name "archive/data/8" (local and central) -> ".../9" */
        if (!memcmp(bad + i, "archive/data/8", 14)) bad[i + 13] = '9';
    fct_write_file(path, bad, n_zip);
    check_bad(path, 3, &strict, FC_ERR_FORMAT,
              "storage '8' of tensor '5.bias' has no entry 'archive/data/8' in the archive");
    check_bad(pt_path("torch_unknown_global"), 3, &strict, FC_ERR_FORMAT,
              "unsupported global 'argparse.Namespace': only tensors, OrderedDict and plain Python values");
    remove(path);
done:
    free(bad);
    free(leg);
    free(zip);
}

/* Every prefix of a file and many one-byte changes: the reader never crashes or reads out of
 * bounds (run under FASTC_SANITIZE), and a failure leaves the module unchanged. */
FCT_TEST(test_load_torch_survives_truncation_and_bit_flips) {
    static const char *const files[] = {"torch_small_legacy", "torch_small_zip"};
    const char *path = tmp_path("fuzz");
    for (int k = 0; k < 2; k++) {
        unsigned char *good = NULL;
        size_t n = fct_read_file(pt_path(files[k]), &good);
        FCT_TRUE(n > 1000);
        fc_module *m = small_cnn(3);
        snapshot s = take(m);
        int n_fail = 0, n_tried = 0, n_ok = 0;
        for (size_t len = 0; len < n; len += 1 + len / 64, n_tried++) {
            fct_write_file(path, good, len);
            if (fc_module_load_torch(m, path) != FC_OK) n_fail++;
            fc_error_clear();
        }
        FCT_EQ_INT(n_fail, n_tried); /* every strict prefix fails */
        check_same(m, &s);
        fc_rng g = fc_rng_new(7 + (uint64_t)k);
        for (int trial = 0; trial < 400; trial++) {
            size_t at = fc_rng_u32(&g) % n;
            uint8_t old = good[at];
            good[at] = (uint8_t)(old ^ (1u << (fc_rng_u32(&g) % 8)));
            fct_write_file(path, good, n);
            fc_module *mm = small_cnn(3);
            snapshot ss = take(mm);
            if (fc_module_load_torch(mm, path) != FC_OK) {
                fc_error_clear();
                check_same(mm, &ss);
            } else {
                n_ok++;
                for (int i = 0; i < ss.n; i++) fc_tensor_free(ss.t[i]);
            }
            fc_module_free(mm);
            good[at] = old;
        }
        FCT_TRUE(n_ok > 0); /* flips in the tensor data load, as they should */
        fc_module_free(m);
        free(good);
    }
    remove(path);
}
