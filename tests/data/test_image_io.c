/* Image files: PNG/JPEG decoding against PIL (gen_images.py) on real MNIST, CIFAR and CamVid images
 * and on the rarer PNG layouts, a write/read round trip, and every broken-file case: truncated,
 * garbage, corrupt, missing. */
#define _XOPEN_SOURCE 700
#include <archive.h>
#include <archive_entry.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/untar_impl.h"
#include "data_dir.h"
#include "fastc/data.h"
#include "fct.h"

static const char *fixture_file(const char *name) { /* tests/fixtures/data/<name> */
    static char path[600];
    const char *dir = getenv("FASTC_FIXTURES");
    if (dir) snprintf(path, sizeof path, "%s/data/%s", dir, name);
    else {
        const char *src = __FILE__, *cut = strstr(src, "data/test_image_io.c");
        snprintf(path, sizeof path, "%.*sfixtures/data/%s", cut ? (int)(cut - src) : 0, src, name);
    }
    return path;
}

static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* The bytes of one archive member (malloc'd), found by streaming through the archive. */
static unsigned char *archive_member(const char *archive, const char *name, size_t *n) {
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    unsigned char *buf = NULL;
    if (archive_read_open_filename(a, archive, 1 << 16) == ARCHIVE_OK) {
        struct archive_entry *e;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
            if (strcmp(archive_entry_pathname(e), name)) continue;
            *n = (size_t)archive_entry_size(e);
            buf = malloc(*n + 1);
            if (buf && archive_read_data(a, buf, *n) != (la_ssize_t)*n) {
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    archive_read_free(a);
    return buf;
}

typedef struct real_images {
    char dir[32];                        /* temp dir under the build dir            */
    char mnist[96], cifar[96], camvid[96]; /* the three files, extracted into it     */
    unsigned char *cifar_bytes, *mnist_bytes;
    size_t n_cifar, n_mnist;
} real_images;

/* Extracts one MNIST png, one CIFAR jpeg and one CamVid png; 0 when the data is absent. */
static int real_images_get(real_images *r) {
    char data[1100], path[1300];
    int found = test_data_dir("cifar10_jpg.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return 0;
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "image_test_XXXXXX");
    if (!FCT_TRUE(mkdtemp(r->dir) != NULL)) return 0;
    snprintf(r->mnist, sizeof r->mnist, "%s/10.png", r->dir);
    snprintf(r->cifar, sizeof r->cifar, "%s/0000.jpg", r->dir);
    snprintf(r->camvid, sizeof r->camvid, "%s/camvid.png", r->dir);
    size_t n_camvid = 0;
    snprintf(path, sizeof path, "%s/mnist_sample.tar.gz", data);
    r->mnist_bytes = archive_member(path, "mnist_sample/train/3/10.png", &r->n_mnist);
    snprintf(path, sizeof path, "%s/cifar10_jpg.tar.gz", data);
    r->cifar_bytes = archive_member(path, "cifar10/test/airplane/0000.jpg", &r->n_cifar);
    snprintf(path, sizeof path, "%s/camvid_tiny.tar.gz", data);
    unsigned char *camvid = archive_member(path, "camvid_tiny/images/0001TP_006750.png", &n_camvid);
    int ok = FCT_TRUE(r->mnist_bytes && r->cifar_bytes && camvid) &&
             FCT_TRUE(write_bytes(r->mnist, r->mnist_bytes, r->n_mnist)) &&
             FCT_TRUE(write_bytes(r->cifar, r->cifar_bytes, r->n_cifar)) &&
             FCT_TRUE(write_bytes(r->camvid, camvid, n_camvid));
    free(camvid);
    return ok;
}

static void real_images_free(real_images *r) {
    free(r->mnist_bytes);
    free(r->cifar_bytes);
    fci_remove_tree(r->dir);
}

static void expect_image(const char *path, const fc_tensor *want, double atol) {
    fc_tensor *img = fc_image_read(path);
    if (!FCT_NOTNULL(img)) return;
    FCT_EQ_INT(fc_tensor_dtype(img), FC_DTYPE_U8);
    FCT_CLOSE(img, want, atol, 0);
    fc_tensor_free(img);
}

FCT_TEST(test_image_read_real_mnist_cifar_camvid_match_pil) {
    real_images r;
    if (!real_images_get(&r)) return;
    fct_fixture f = fct_load("data/images");
    fc_tensor *mnist = fc_image_read(r.mnist);
    if (FCT_NOTNULL(mnist)) {
        FCT_TRUE(fc_tensor_ndim(mnist) == 3 && fc_tensor_dim(mnist, 0) == 1 &&
                 fc_tensor_dim(mnist, 1) == 28 && fc_tensor_dim(mnist, 2) == 28);
        fc_tensor_free(mnist);
    }
    fc_tensor *cifar = fc_image_read(r.cifar);
    if (FCT_NOTNULL(cifar)) {
        FCT_TRUE(fc_tensor_ndim(cifar) == 3 && fc_tensor_dim(cifar, 0) == 3 &&
                 fc_tensor_dim(cifar, 1) == 32 && fc_tensor_dim(cifar, 2) == 32);
        fc_tensor_free(cifar);
    }
    expect_image(r.mnist, fct_get(&f, "mnist"), 0);
    expect_image(r.camvid, fct_get(&f, "camvid"), 0);
    /* PIL decodes with the same libjpeg-turbo (islow IDCT, fancy upsampling): identical. */
    expect_image(r.cifar, fct_get(&f, "cifar"), 0);
    fct_fixture_free(&f);
    real_images_free(&r);
}

FCT_TEST(test_image_read_png_layouts_match_pil) {
    fct_fixture f = fct_load("data/images");
    expect_image(fixture_file("palette.png"), fct_get(&f, "palette"), 0);
    expect_image(fixture_file("gray16.png"), fct_get(&f, "gray16"), 0);
    expect_image(fixture_file("gray_alpha.png"), fct_get(&f, "gray_alpha"), 0);
    expect_image(fixture_file("rgba.png"), fct_get(&f, "rgba"), 0);
    expect_image(fixture_file("gray.jpg"), fct_get(&f, "gray_jpg"), 0);
    fct_fixture_free(&f);
}

/* PIL writes no interlaced PNG: write one with libpng (Adam7) and read it back. */
FCT_TEST(test_image_read_interlaced_png) {
    enum { W = 11, H = 7 };
    unsigned char hwc[H][W][3];
    fc_rng g = fc_rng_new(3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) hwc[y][x][c] = (unsigned char)(fc_rng_u32(&g) & 255);
    char path[] = "image_interlaced_XXXXXX";
    int fd = mkstemp(path);
    if (!FCT_TRUE(fd >= 0)) return;
    FILE *f = fdopen(fd, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_bytep rows[H];
    for (int y = 0; y < H; y++) rows[y] = &hwc[y][0][0];
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_set_interlace_handling(png);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    fc_tensor *img = fc_image_read(path);
    if (FCT_NOTNULL(img)) {
        const unsigned char *p = fc_tensor_data(img);
        int bad = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) bad += p[(c * H + y) * W + x] != hwc[y][x][c];
        FCT_TRUE(fc_tensor_dim(img, 0) == 3 && fc_tensor_dim(img, 1) == H && fc_tensor_dim(img, 2) == W);
        FCT_EQ_INT(bad, 0);
        fc_tensor_free(img);
    }
    remove(path);
}

FCT_TEST(test_image_write_png_round_trip) {
    fc_shape shapes[3] = {FC_SHAPE(3, 17, 23), FC_SHAPE(1, 9, 5), FC_SHAPE(6, 4)};
    for (int k = 0; k < 3; k++) {
        fc_tensor *img = fc_randint(0, 256, shapes[k], .dtype = FC_DTYPE_U8);
        char path[64];
        snprintf(path, sizeof path, "image_rt_%d_%ld.png", k, (long)getpid());
        FCT_OK(fc_image_write_png(img, path));
        fc_tensor *back = fc_image_read(path);
        if (FCT_NOTNULL(back)) {
            int64_t c = shapes[k].ndim == 3 ? shapes[k].d[0] : 1;
            FCT_EQ_INT(fc_tensor_ndim(back), 3);
            FCT_EQ_INT(fc_tensor_dim(back, 0), c);
            FCT_EQ_INT(fc_tensor_numel(back), fc_tensor_numel(img));
            int bad = 0;
            for (int64_t i = 0; i < fc_tensor_numel(img); i++)
                bad += fc_tensor_get(back, i) != fc_tensor_get(img, i);
            FCT_EQ_INT(bad, 0);
            fc_tensor_free(back);
        }
        remove(path);
        fc_tensor_free(img);
    }
    /* no temporary file left behind by the atomic write */
    FCT_TRUE(system("ls image_rt_*.tmp-* >/dev/null 2>&1") != 0);
}

FCT_TEST(test_image_write_png_rejects_bad_tensors) {
    fc_tensor *f = fc_zeros(FC_SHAPE(3, 4, 4));
    FCT_TRUE(fc_image_write_png(f, "x.png") == FC_ERR_DTYPE);
    FCT_ERROR(FC_ERR_DTYPE, "image_write_png: expected a u8 image, found f32");
    fc_tensor *four = fc_zeros(FC_SHAPE(4, 4, 4), .dtype = FC_DTYPE_U8);
    FCT_TRUE(fc_image_write_png(four, "x.png") == FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "expected [C, H, W] with C = 1 or 3 (or [H, W]), found [4, 4, 4]");
    fc_tensor *ok = fc_zeros(FC_SHAPE(1, 4, 4), .dtype = FC_DTYPE_U8);
    FCT_TRUE(fc_image_write_png(ok, "/nonexistent_dir/x.png") == FC_ERR_IO);
    FCT_ERROR(FC_ERR_IO, "image_write_png: cannot create '/nonexistent_dir/x.png.tmp-");
    fc_tensor_free(f);
    fc_tensor_free(four);
    fc_tensor_free(ok);
}

static void expect_format_error(const char *path, const void *bytes, size_t n, const char *what) {
    if (!FCT_TRUE(write_bytes(path, bytes, n))) return;
    FCT_NULL(fc_image_read(path));
    char want[300];
    snprintf(want, sizeof want, "image_read: '%s'%s", path, what);
    FCT_ERROR(FC_ERR_FORMAT, want);
    remove(path);
}

FCT_TEST(test_image_read_broken_files_are_format_errors) {
    real_images r;
    if (!real_images_get(&r)) return;
    char path[64];
    snprintf(path, sizeof path, "%s/broken", r.dir);
    expect_format_error(path, r.cifar_bytes, r.n_cifar / 2, ": corrupt JPEG: Premature end of JPEG file");
    expect_format_error(path, r.cifar_bytes, 200, ": corrupt JPEG:");
    expect_format_error(path, r.mnist_bytes, r.n_mnist / 2, ": corrupt PNG: truncated");
    expect_format_error(path, r.mnist_bytes, r.n_mnist - 12, ": corrupt PNG: truncated"); /* no IEND */
    expect_format_error(path, r.mnist_bytes, 20, ": corrupt PNG: truncated");
    /* a flipped byte inside the pixel data: the chunk's CRC no longer matches */
    unsigned char *flipped = malloc(r.n_mnist);
    memcpy(flipped, r.mnist_bytes, r.n_mnist);
    flipped[r.n_mnist / 2] ^= 0xff;
    expect_format_error(path, flipped, r.n_mnist, ": corrupt PNG: ");
    free(flipped);
    unsigned char garbage[512];
    fc_rng g = fc_rng_new(11);
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (unsigned char)(fc_rng_u32(&g) & 255);
    garbage[0] = 'G';
    expect_format_error(path, garbage, sizeof garbage, " is not a PNG or JPEG (512 bytes, starting 47 ");
    expect_format_error(path, "", 0, " is not a PNG or JPEG (0 bytes, starting with nothing: empty file)");
    memcpy(garbage, "\x89PNG\r\n\x1a\n", 8);
    expect_format_error(path, garbage, sizeof garbage, ": corrupt PNG: ");
    memcpy(garbage, "\xff\xd8\xff", 3);
    expect_format_error(path, garbage, sizeof garbage, ": corrupt JPEG: ");
    real_images_free(&r);
}

FCT_TEST(test_image_read_missing_file_is_io_error) {
    FCT_NULL(fc_image_read("no_such_image.png"));
    FCT_ERROR(FC_ERR_IO, "image_read: cannot open 'no_such_image.png': No such file or directory");
    FCT_NULL(fc_image_read("."));
    FCT_ERROR(FC_ERR_IO, "image_read: cannot read '.': Is a directory");
    FCT_NULL(fc_image_read(NULL));
    FCT_ERROR(FC_ERR_ARG, "image_read: expected a path");
}
