/* show_results: a learner on the shapes images shows the first valid batch with target and decoded
 * prediction titles, green exactly where get_preds' decoded prediction equals the target, red
 * elsewhere; a tabular learner gets a text table. */
#define _POSIX_C_SOURCE 200809L
#include <cairo.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fastc/learner.h"
#include "fct.h"

static const char *const shape_names[4] = {"circle", "square", "triangle", "cross"};

static int pixel_is(cairo_surface_t *s, int x, int y, int want_green) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t p = *(const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s) + 4 * (size_t)x);
    int r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
    return want_green ? g > 90 && r < 100 && b < 100 : r > 150 && g < 100 && b < 100;
}

static fc_learner *shapes_learner(int64_t n, int size) {
    fc_tensor *x, *y, *xv, *yv;
    if (fc_shapes_dataset(n, size, 11, &x, &y) != FC_OK) return NULL;
    if (fc_shapes_dataset(n, size, 12, &xv, &yv) != FC_OK) return NULL;
    fc_dataloaders *dls = fc_tensor_dls(x, y, xv, yv, .bs = 8);
    fc_tensor_free(x), fc_tensor_free(y), fc_tensor_free(xv), fc_tensor_free(yv);
    if (dls) dls->vocab = shape_names, dls->n_vocab = 4;
    fc_manual_seed(5);
    fc_module *model = fc_sequential(fc_flatten_new(), fc_linear_new(size * size, 4));
    return fc_learner(dls, model, .quiet = 1);
}

FCT_TEST(test_show_results_titles_green_when_right_red_when_wrong) {
    fc_learner *learn = shapes_learner(24, 16);
    if (!FCT_NOTNULL(learn)) return;
    mkdir("show_out", 0755);
    const char *path = "show_out/results.png";
    fc_tensor *targs = NULL, *dec = NULL;
    if (!FCT_OK(fc_show_results(learn, path, .max_n = 9, .ncols = 3))) goto done;
    if (!FCT_OK(fc_learner_get_preds(learn, NULL, NULL, &targs, &dec))) goto done;
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    if (!FCT_TRUE(cairo_surface_status(img) == CAIRO_STATUS_SUCCESS)) goto png;
    cairo_surface_flush(img);
    /* 3 x 3 cells of 128 + 8, two title lines (2 * 15 + 4) */
    FCT_EQ_INT(cairo_image_surface_get_width(img), 3 * 136 + 8);
    FCT_EQ_INT(cairo_image_surface_get_height(img), 3 * (136 + 34) + 8);
    int n_right = 0;
    for (int i = 0; i < 9; i++) {
        int right = fc_tensor_get(dec, i) == fc_tensor_get(targs, i), n_green = 0, n_red = 0;
        n_right += right;
        int x0 = 8 + (i % 3) * 136, y0 = 8 + (i / 3) * 170 + 130;
        for (int yy = y0; yy < y0 + 32; yy++)
            for (int xx = x0; xx < x0 + 128; xx++) n_green += pixel_is(img, xx, yy, 1), n_red += pixel_is(img, xx, yy, 0);
        fct_check(right ? n_green > 20 && n_red == 0 : n_red > 20 && n_green == 0, __FILE__, __LINE__,
                  "cell %d (%s): %d green and %d red title pixels", i, right ? "right" : "wrong", n_green, n_red);
    }
    fprintf(stderr, "  show_results: %d of 9 right (untrained model)\n", n_right);
png:
    cairo_surface_destroy(img);
done:
    fc_tensor_free(targs);
    fc_tensor_free(dec);
    fc_learner_free(learn);
}

FCT_TEST(test_show_results_text_table_for_tabular_rows) {
    float xs[40];
    int64_t ys[20];
    for (int i = 0; i < 20; i++) xs[2 * i] = (float)(i % 2), xs[2 * i + 1] = 1, ys[i] = i % 2;
    fc_tensor *x = fc_from_data(xs, FC_SHAPE(20, 2)), *y = fc_from_data(ys, FC_SHAPE(20), .dtype = FC_DTYPE_I64);
    fc_dataloaders *dls = fc_tensor_dls(x, y, x, y, .bs = 4);
    const char *const vocab[2] = {"even", "odd"};
    if (dls) dls->vocab = vocab, dls->n_vocab = 2;
    fc_learner *learn = fc_learner(dls, fc_linear_new(2, 2), .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FILE *f = tmpfile();
    if (FCT_OK(fc_show_results(learn, NULL, .max_n = 3, .out = f))) {
        char buf[1024] = {0};
        rewind(f);
        FCT_TRUE(fread(buf, 1, sizeof buf - 1, f) > 0);
        FCT_TRUE(!strncmp(buf, "tensor  target  prediction\n------  ------  ----------\n0, 1    even    ", 70));
        FCT_TRUE(strstr(buf, "\n1, 1    odd     ") != NULL);
    }
    fclose(f);
    fc_learner_free(learn);
}
