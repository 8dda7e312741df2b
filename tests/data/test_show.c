/* show_batch and fc_show_value: a PNG grid of the shapes images titled with their class names, a
 * text table for non-image kinds (to a FILE and atomically to a path), value formatting by kind,
 * and the errors. */
#define _POSIX_C_SOURCE 200809L
#include <cairo.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fastc/data.h"
#include "fct.h"

static const char *const shape_names[4] = {"circle", "square", "triangle", "cross"};

static const char *out(const char *name) {
    static char buf[256];
    mkdir("show_out", 0755);
    snprintf(buf, sizeof buf, "show_out/%s", name);
    return buf;
}

static int dark(cairo_surface_t *s, int x, int y) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t p = *(const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s) + 4 * (size_t)x);
    return ((p >> 16) & 255) < 128 && ((p >> 8) & 255) < 128 && (p & 255) < 128;
}

static int gray_at(cairo_surface_t *s, int x, int y) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t p = *(const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s) + 4 * (size_t)x);
    return (p >> 8) & 255;
}

FCT_TEST(test_show_batch_draws_shapes_grid_with_class_titles) {
    fc_tensor *x, *y;
    if (!FCT_OK(fc_shapes_dataset(16, 28, 7, &x, &y))) return;
    fc_dataloader *dl = fc_dataloader_new(fc_tensor_dataset(x, fc_kind_image, y, fc_kind_category), .bs = 8);
    if (!FCT_NOTNULL(dl)) goto done;
    const char *path = out("shapes_batch.png");
    if (!FCT_OK(fc_show_batch(dl, path, .max_n = 6, .ncols = 3, .vocab = shape_names, .n_vocab = 4))) goto done;
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    if (!FCT_TRUE(cairo_surface_status(img) == CAIRO_STATUS_SUCCESS)) goto png;
    cairo_surface_flush(img);
    /* 3 columns of 128 + 8, 2 rows of 128 + 8 + one title line (15 + 4), 8 pixels border */
    FCT_EQ_INT(cairo_image_surface_get_width(img), 3 * 136 + 8);
    FCT_EQ_INT(cairo_image_surface_get_height(img), 2 * (136 + 19) + 8);
    /* item 0 is x[0] (no shuffle), scaled 128 / 28 with nearest pixels: cell pixel 64 is image pixel 14 */
    FCT_NEAR(gray_at(img, 8 + 64, 8 + 64), 255 * fc_tensor_get(x, 14 * 28 + 14), 1.01);
    FCT_NEAR(gray_at(img, 8 + 10, 8 + 120), 255 * fc_tensor_get(x, 26 * 28 + 2), 1.01);
    /* every cell has dark title text under its image and white between the cells */
    for (int i = 0; i < 6; i++) {
        int x0 = 8 + (i % 3) * 136, y0 = 8 + (i / 3) * 155 + 128 + 2, n = 0;
        for (int yy = y0; yy < y0 + 15; yy++)
            for (int xx = x0; xx < x0 + 128; xx++) n += dark(img, xx, yy);
        FCT_TRUE(n > 20);
    }
png:
    cairo_surface_destroy(img);
done:
    fc_dataloader_free(dl);
    fc_tensor_free(x);
    fc_tensor_free(y);
}

FCT_TEST(test_show_batch_tensor_dls_vocab_names_plain_targets) {
    fc_tensor *x, *y, *xv, *yv;
    if (!FCT_OK(fc_shapes_dataset(8, 16, 3, &x, &y))) return;
    if (!FCT_OK(fc_shapes_dataset(8, 16, 4, &xv, &yv))) return;
    fc_dataloaders *dls = fc_tensor_dls(x, y, xv, yv, .bs = 4);
    if (FCT_NOTNULL(dls))
        FCT_OK(fc_show_batch(dls->valid, out("dls_batch.png"), .vocab = shape_names, .n_vocab = 4));
    fc_dataloaders_free(dls);
    fc_tensor_free(x), fc_tensor_free(y), fc_tensor_free(xv), fc_tensor_free(yv);
}

/* rows [i, i / 4, 100 i] (tabular) with category i % 3 */
static fc_dataloader *tabular_loader(void) {
    float xs[30];
    int64_t ys[10];
    for (int i = 0; i < 10; i++) xs[3 * i] = (float)i, xs[3 * i + 1] = i / 4.0f, xs[3 * i + 2] = 100.0f * i, ys[i] = i % 3;
    fc_tensor *x = fc_from_data(xs, FC_SHAPE(10, 3)), *y = fc_from_data(ys, FC_SHAPE(10), .dtype = FC_DTYPE_I64);
    return fc_dataloader_new(fc_tensor_dataset(x, fc_kind_tabular, y, fc_kind_category), .bs = 5);
}

static char *read_all(FILE *f) {
    static char buf[4096];
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    return buf;
}

FCT_TEST(test_show_batch_writes_text_table_for_tabular_rows) {
    fc_dataloader *dl = tabular_loader();
    if (!FCT_NOTNULL(dl)) return;
    const char *const vocab[3] = {"low", "mid", "high"};
    FILE *f = tmpfile();
    if (!FCT_OK(fc_show_batch(dl, NULL, .max_n = 4, .out = f, .vocab = vocab, .n_vocab = 3))) goto done;
    char *t = read_all(f);
    FCT_STR(t, "tabular       category\n"
               "------------  --------\n"
               "0, 0, 0       low\n"
               "1, 0.25, 100  mid\n"
               "2, 0.5, 200   high\n"
               "3, 0.75, 300  low\n");
    /* the same table atomically to a file, replacing what was there */
    const char *path = out("tabular.txt");
    FILE *g = fopen(path, "w");
    if (g) fputs("old content that is longer than the table ... ... ... ... ... ... ... ... ... ... ... ...", g), fclose(g);
    if (FCT_OK(fc_show_batch(dl, path, .max_n = 4, .vocab = vocab, .n_vocab = 3))) {
        char want[4096];
        strcpy(want, t);
        g = fopen(path, "r");
        if (FCT_TRUE(g != NULL)) {
            FCT_STR(read_all(g), want);
            fclose(g);
        }
    }
done:
    fclose(f);
    fc_dataloader_free(dl);
}

FCT_TEST(test_show_value_formats_by_kind) {
    char buf[128];
    const char *const vocab[3] = {"cat", "dog", "bird"};
    fc_show_opts o = {.vocab = vocab, .n_vocab = 3};
    fc_value cat = fc_value_tensor(fc_kind_category, fc_keep(fc_scalar(1, .dtype = FC_DTYPE_I64)));
    FCT_STR(fc_show_value_str(&cat, &o, buf, sizeof buf), "dog");
    FCT_STR(fc_show_value_str(&cat, NULL, buf, sizeof buf), "1");
    float oh[3] = {1, 0, 1};
    fc_value multi = fc_value_tensor(fc_kind_multi_category, fc_keep(fc_from_data(oh, FC_SHAPE(3))));
    FCT_STR(fc_show_value_str(&multi, &o, buf, sizeof buf), "cat;bird");
    fc_value reg = fc_value_tensor(fc_kind_tensor, fc_keep(fc_scalar(3.25)));
    FCT_STR(fc_show_value_str(&reg, &o, buf, sizeof buf), "3.25");
    fc_value img = fc_value_tensor(fc_kind_image, fc_keep(fc_zeros(FC_SHAPE(1, 28, 28))));
    FCT_STR(fc_show_value_str(&img, &o, buf, sizeof buf), "image [1, 28, 28] f32");
    int64_t ids[4] = {2, 0, 1, 7};
    fc_value tok = fc_value_tensor(fc_kind_tokens, fc_keep(fc_from_data(ids, FC_SHAPE(4), .dtype = FC_DTYPE_I64)));
    FCT_STR(fc_show_value_str(&tok, &o, buf, sizeof buf), "bird cat dog 7");
    FCT_STR(fc_show_value_str(&tok, &o, buf, 10), "bird c..."); /* cut, and says so */
    fc_value txt = fc_value_text(fc_kind_text, "a short review");
    FCT_STR(fc_show_value_str(&txt, &o, buf, sizeof buf), "a short review");
    FILE *f = tmpfile();
    FCT_OK(fc_show_value(&cat, f, &o));
    FCT_STR(read_all(f), "dog\n");
    fclose(f);
    fc_value_free(&cat), fc_value_free(&multi), fc_value_free(&reg), fc_value_free(&img), fc_value_free(&tok);
    fc_value_free(&txt);
}

FCT_TEST(test_show_batch_errors) {
    fc_tensor *x, *y;
    if (!FCT_OK(fc_shapes_dataset(4, 12, 1, &x, &y))) return;
    fc_dataloader *dl = fc_dataloader_new(fc_tensor_dataset(x, fc_kind_image, y, fc_kind_category), .bs = 4);
    FCT_EQ_INT(fc_show_batch(dl, NULL), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "path must name the PNG to write, found NULL");
    FCT_EQ_INT(fc_show_batch(dl, "x.png", .max_n = -1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".max_n must be >= 0, found -1");
    FCT_EQ_INT(fc_show_batch(dl, "/nonexistent-dir-fastc/b.png"), FC_ERR_IO);
    FCT_ERROR(FC_ERR_IO, "'/nonexistent-dir-fastc/b.png'");
    FCT_EQ_INT(fc_show_batch(NULL, "x.png"), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "dl is NULL");
    fc_dataloader_free(dl);
    fc_tensor_free(x);
    fc_tensor_free(y);
}
