/* CIFAR-10 ResNet-9 at GPU speed (issue 9's benchmark), fastc side; bench/torch_cifar10_gpu.py is
 * the same recipe in PyTorch and bench/cifar10_gpu.sh runs both on one machine and prints the ratio.
 *
 * What makes it a GPU recipe (airbench's approach, not the CPU bench's JPEG decoding per epoch):
 * every image is decoded once, before the clock starts, into one normalized f32 tensor; each batch
 * is uploaded from pinned memory while the previous step runs; augmentation is a batch op on the
 * device — horizontal flip and a random translation of up to 4 pixels with zero fill (= pad 4 +
 * random 32 crop) as one nearest-neighbour affine_sample; bf16 autocast by default. Model and
 * optimizer are the CPU bench's: Page's DAWNBench ResNet-9, fastai's Adam (decoupled wd 0.01, none
 * on BatchNorm and biases), one-cycle, cross entropy. The data is the shared cifar10_jpg (JPEG
 * quality 75: accuracies are a few points under lossless CIFAR-10's, see ../shared/data/README.md),
 * so the time to compare is the time to the same accuracy, both sides on the same decoded pixels:
 * --dump writes them for the PyTorch twin, which needs nothing but torch.
 *
 * Usage: cifar10_gpu [--device cuda|cpu] [--epochs N] [--bs N] [--lr X] [--widen W]
 *                    [--amp bf16|f16|none] [--channels-last auto|on|off] [--keep K] [--dump DIR]
 * (--channels-last: cuDNN convolutions in NHWC; auto, the default: for bf16 / f16 only.)
 * (--keep K: only images whose file number % K == 0, for a quick check on a CPU.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fastc/fastc.h"

static const float cifar_mean[3] = {0.4914f, 0.4822f, 0.4465f}, cifar_std[3] = {0.2470f, 0.2435f, 0.2616f};
static const char *const class_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                             "dog", "frog", "horse", "ship", "truck"};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct split {
    int64_t n;
    uint8_t *pixels; /* [n, 3, 32, 32] */
    uint8_t *labels; /* [n] */
} split;

static int class_of(const char *path) {
    for (int c = 0; c < 10; c++) {
        char dir[40];
        snprintf(dir, sizeof dir, "/%s/", class_names[c]);
        if (strstr(path, dir)) return c;
    }
    return -1;
}

/* Decodes cifar10/<folder>/<class>/N.jpg (every keep-th by N) into s. */
static fc_status load_split(const char *root, const char *folder, int keep, split *s) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/%s", root, folder);
    fc_items files = {0};
    fc_status st = fc_get_files(dir, &files, .extensions = FC_NAMES(".jpg"));
    if (st != FC_OK) return st;
    s->pixels = malloc((size_t)(files.n ? files.n : 1) * 3072);
    s->labels = malloc((size_t)(files.n ? files.n : 1));
    s->n = 0;
    if (!s->pixels || !s->labels) {
        fc_items_free(&files);
        return fc_fail(FC_ERR_NOMEM, "cifar10_gpu: out of memory for %lld images", (long long)files.n);
    }
    for (int64_t i = 0; i < files.n && st == FC_OK; i++) {
        const char *base = strrchr(files.text[i], '/');
        if (atoi(base ? base + 1 : files.text[i]) % keep != 0) continue;
        int c = class_of(files.text[i]);
        fc_scope *sc = fc_scope_begin();
        fc_tensor *img = fc_image_read(files.text[i]);
        if (!img) st = fc_error_code();
        else if (c < 0 || fc_tensor_numel(img) != 3072 || fc_tensor_dtype(img) != FC_DTYPE_U8)
            st = fc_fail(FC_ERR_SHAPE, "cifar10_gpu: %s: expected a 32x32 RGB image of a CIFAR-10 class folder, found %s %s",
                         files.text[i], fc_dtype_name(fc_tensor_dtype(img)), c < 0 ? "outside the class folders" : "of another size");
        else {
            memcpy(s->pixels + s->n * 3072, fc_tensor_data(img), 3072);
            s->labels[s->n++] = (uint8_t)c;
        }
        fc_scope_end(sc);
    }
    fc_items_free(&files);
    if (st == FC_OK && s->n == 0) st = fc_fail(FC_ERR_ARG, "cifar10_gpu: no images under %s (keep %d)", dir, keep);
    return st;
}

/* The normalized f32 images and i64 labels of s as host tensors (kept). */
static void to_tensors(const split *s, fc_tensor **x, fc_tensor **y) {
    *x = fc_keep(fc_empty(FC_SHAPE(s->n, 3, 32, 32)));
    *y = fc_keep(fc_empty(FC_SHAPE(s->n), .dtype = FC_DTYPE_I64));
    float *px = fc_tensor_data(*x);
    int64_t *py = fc_tensor_data(*y);
    for (int64_t i = 0; i < s->n; i++) {
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < 1024; j++)
                px[i * 3072 + c * 1024 + j] = (s->pixels[i * 3072 + c * 1024 + j] / 255.0f - cifar_mean[c]) / cifar_std[c];
        py[i] = s->labels[i];
    }
}

/* Writes n bytes to dir/name atomically (temp file, fsync, rename). */
static fc_status write_file(const char *dir, const char *name, const void *data, size_t n) {
    char path[1200], tmp[1220];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fc_fail(FC_ERR_IO, "cifar10_gpu: cannot create %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return fc_fail(FC_ERR_IO, "cifar10_gpu: writing %s: %s", tmp, strerror(e));
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fc_fail(FC_ERR_IO, "cifar10_gpu: finishing %s: %s", path, strerror(e));
    }
    return FC_OK;
}

/* Flip and translate on the device, training batches only: theta = [[f, 0, 2 dx / 31], [0, 1,
 * 2 dy / 31]] in affine_sample's align_corners coordinates is an exact shift by (dx, dy) pixels
 * (nearest sampling lands on pixel centres) with zeros outside, mirrored when f = -1. */
typedef struct flip_translate {
    fc_rng rng;
    float *theta;
    int64_t cap;
} flip_translate;

static int flip_translate_before_batch(fc_learner *learn, void *state) {
    flip_translate *s = state;
    if (!fc_learner_training(learn)) return FC_CONTINUE;
    fc_tuple *b = fc_learner_batch(learn);
    fc_tensor *x = fc_learner_xb(learn, 0);
    int64_t n = x ? fc_tensor_dim(x, 0) : 0;
    if (n > s->cap) {
        float *t = realloc(s->theta, (size_t)n * 6 * sizeof(float));
        if (!t) {
            fc_fail(FC_ERR_NOMEM, "flip_translate: out of memory for %lld matrices", (long long)n);
            return FC_CANCEL_FIT;
        }
        s->theta = t;
        s->cap = n;
    }
    for (int64_t i = 0; i < n; i++) {
        float f = fc_rng_uniform(&s->rng) < 0.5f ? -1.0f : 1.0f;
        float dx = (float)((int)(fc_rng_u32(&s->rng) % 9) - 4), dy = (float)((int)(fc_rng_u32(&s->rng) % 9) - 4);
        float *t = s->theta + 6 * i;
        t[0] = f, t[1] = 0, t[2] = 2.0f * dx / 31.0f, t[3] = 0, t[4] = 1, t[5] = 2.0f * dy / 31.0f;
    }
    fc_tensor *y = n ? fc_affine_sample(x, s->theta, 32, 32, FC_PAD_ZEROS, 1) : NULL;
    if (n && !y) return FC_CANCEL_FIT;
    if (y) {
        fc_tensor_free(b->v[0].t); /* the batch owns its values */
        b->v[0].t = fc_keep(y);
    }
    return FC_CONTINUE;
}

static void flip_translate_free(void *state) {
    flip_translate *s = state;
    free(s->theta);
    free(s);
}

static fc_callback *flip_translate_cb(uint64_t seed) {
    flip_translate *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->rng = fc_rng_new(seed);
    return fc_callback_new(&(fc_callback_def){.name = "FlipTranslate", .run_valid_off = 1, .state = s,
                                              .free_state = flip_translate_free,
                                              .before_batch = flip_translate_before_batch});
}

int main(int argc, char **argv) {
    const char *device = "cuda", *amp = "bf16", *dump = NULL, *channels_last = "auto";
    int epochs = 10, bs = 512, keep = 1;
    double lr = 1e-2, widen = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return fprintf(stderr, "cifar10_gpu: %s needs a value\n", a), 2;
        if (!strcmp(a, "--device")) device = v;
        else if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else if (!strcmp(a, "--bs")) bs = atoi(v);
        else if (!strcmp(a, "--lr")) lr = atof(v);
        else if (!strcmp(a, "--widen")) widen = atof(v);
        else if (!strcmp(a, "--amp")) amp = v;
        else if (!strcmp(a, "--keep")) keep = atoi(v);
        else if (!strcmp(a, "--channels-last")) channels_last = v;
        else if (!strcmp(a, "--dump")) dump = v;
        else return fprintf(stderr, "cifar10_gpu: unknown option %s (see the usage at the top of bench/cifar10_gpu.c)\n", a), 2;
        i++;
    }
    fc_dtype amp_dt = !strcmp(amp, "bf16") ? FC_DTYPE_BF16 : !strcmp(amp, "f16") ? FC_DTYPE_F16 : FC_DTYPE_F32;
    if (amp_dt == FC_DTYPE_F32 && strcmp(amp, "none"))
        return fprintf(stderr, "cifar10_gpu: --amp expects bf16, f16 or none, found %s\n", amp), 2;
    fc_device dev = !strcmp(device, "cuda") ? FC_CUDA : FC_CPU;
    if (strcmp(device, "cuda") && strcmp(device, "cpu"))
        return fprintf(stderr, "cifar10_gpu: --device expects cuda or cpu, found %s\n", device), 2;
    if (dev.type == FC_DEVICE_CUDA && fc_cuda_check(dev) != FC_OK) return fc_report(fc_error_code());
    int cl = !strcmp(channels_last, "on") ? 1 : !strcmp(channels_last, "off") ? 0 : -1;
    if (cl < 0 && strcmp(channels_last, "auto"))
        return fprintf(stderr, "cifar10_gpu: --channels-last expects auto, on or off, found %s\n", channels_last), 2;
    if (fc_cuda_set_conv_channels_last(cl) != FC_OK) return fc_report(fc_error_code());
    if (epochs < 1 || bs < 1 || keep < 1 || !(lr > 0) || !(widen > 0))
        return fprintf(stderr, "cifar10_gpu: expected epochs, bs, keep >= 1 and lr, widen > 0\n"), 2;
    if (dev.type == FC_DEVICE_CPU) fc_set_num_threads(2);
    fc_manual_seed(0);

    const char *path = fc_untar_data("cifar10_jpg", .no_download = 1);
    if (!path) return fc_report(fc_error_code());
    double t_load = now();
    split tr = {0}, te = {0};
    if (load_split(path, "train", keep, &tr) != FC_OK || load_split(path, "test", keep, &te) != FC_OK)
        return fc_report(fc_error_code());
    t_load = now() - t_load;
    if (dump) {
        if (write_file(dump, "train_x.u8", tr.pixels, (size_t)tr.n * 3072) != FC_OK ||
            write_file(dump, "train_y.u8", tr.labels, (size_t)tr.n) != FC_OK ||
            write_file(dump, "test_x.u8", te.pixels, (size_t)te.n * 3072) != FC_OK ||
            write_file(dump, "test_y.u8", te.labels, (size_t)te.n) != FC_OK)
            return fc_report(fc_error_code());
    }
    fc_tensor *xt, *yt, *xv, *yv;
    to_tensors(&tr, &xt, &yt);
    to_tensors(&te, &xv, &yv);
    fc_dataloaders *dls = fc_tensor_dls(xt, yt, xv, yv, .bs = bs, .drop_last = 1, .seed = 1);
    fc_tensor_free(xt), fc_tensor_free(yt), fc_tensor_free(xv), fc_tensor_free(yv);
    fc_module *model = fc_resnet9(.widen = widen);
    if (!dls || !model || fc_module_to(model, dev) != FC_OK) return fc_report(fc_error_code());
    fc_callback *aug = flip_translate_cb(7);
    fc_callback *mp = amp_dt == FC_DTYPE_F32 ? NULL : fc_mixed_precision(.dtype = amp_dt);
    fc_learner *learn = fc_learner(dls, model, .metrics = FC_METRICS(fc_accuracy()),
                                   .cbs = mp ? FC_CALLBACKS(aug, mp) : FC_CALLBACKS(aug));
    if (!learn) return fc_report(fc_error_code());
    printf("fastc: resnet9 widen %g on %s, amp %s, channels-last %s, %lld train / %lld test images (decoded in "
           "%.1f s), bs %d, %d epochs, lr %g\n", widen, fc_device_name(dev), amp, channels_last, (long long)tr.n,
           (long long)te.n, t_load, bs, epochs, lr);
    fflush(stdout);
    double t0 = now();
    fc_status st = fc_fit_one_cycle(learn, epochs, .lr_max = lr);
    if (st == FC_OK && dev.type == FC_DEVICE_CUDA) st = fc_cuda_synchronize(dev);
    double secs = now() - t0;
    if (st != FC_OK) return fc_report(st);
    printf("RESULT fastc test_acc=%.4f train_s=%.2f s_per_epoch=%.2f device=%s amp=%s\n",
           fc_learner_monitor(learn, "accuracy"), secs, secs / epochs, fc_device_name(dev), amp);
    fc_learner_free(learn);
    free(tr.pixels), free(tr.labels), free(te.pixels), free(te.labels);
    return fc_report(fc_error_code());
}
