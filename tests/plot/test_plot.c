/* Plots: every file is a valid PNG read back with cairo, of the expected size, with colour where a
 * line, dot, image or box must be and white background elsewhere; atomic writes; error cases. */
#define _POSIX_C_SOURCE 200809L
#include <cairo.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fastc/plot.h"
#include "fct.h"

#define OUT_DIR "plot_out" /* under the build dir (the tests' working directory) */

static const char *out(const char *name) {
    static char buf[256];
    mkdir(OUT_DIR, 0755);
    snprintf(buf, sizeof buf, OUT_DIR "/%s", name);
    return buf;
}

/* The PNG at path as an image surface, or NULL (and a failure) when it does not read back. */
static cairo_surface_t *load_png(const char *path) {
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        fct_check(0, __FILE__, __LINE__, "'%s' is not a readable PNG: %s", path,
                  cairo_status_to_string(cairo_surface_status(s)));
        cairo_surface_destroy(s);
        return NULL;
    }
    cairo_surface_flush(s);
    return s;
}

static void pixel(cairo_surface_t *s, int x, int y, int rgb[3]) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t p = *(const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s) + 4 * (size_t)x);
    rgb[0] = (p >> 16) & 255, rgb[1] = (p >> 8) & 255, rgb[2] = p & 255;
}

static int near_color(cairo_surface_t *s, int x, int y, int r, int g, int b, int tol) {
    int c[3];
    pixel(s, x, y, c);
    return abs(c[0] - r) <= tol && abs(c[1] - g) <= tol && abs(c[2] - b) <= tol;
}

static int is_white(cairo_surface_t *s, int x, int y) { return near_color(s, x, y, 255, 255, 255, 0); }

/* Pixels in the box [x0, x1) x [y0, y1) within tol of (r, g, b). */
static int count_color(cairo_surface_t *s, int x0, int y0, int x1, int y1, int r, int g, int b, int tol) {
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) n += near_color(s, x, y, r, g, b, tol);
    return n;
}

#define BLUE 31, 119, 180 /* series 0 */

/* Anti-aliased lines blend with white: judge by hue. */
static int blueish(cairo_surface_t *s, int x, int y) {
    int c[3];
    pixel(s, x, y, c);
    return c[2] - c[0] > 60 && c[2] > c[1];
}
static int orangeish(cairo_surface_t *s, int x, int y) {
    int c[3];
    pixel(s, x, y, c);
    return c[0] - c[2] > 60 && c[0] > c[1] && c[1] > c[2];
}
static int count_hue(cairo_surface_t *s, int x0, int x1, int H, int (*hue)(cairo_surface_t *, int, int)) {
    int n = 0;
    for (int x = x0; x < x1; x++)
        for (int y = 0; y < H; y++) n += hue(s, x, y);
    return n;
}
#define ORANGE 255, 127, 14 /* series 1, or the first mark after one series */

FCT_TEST(test_plot_lines_draws_series_with_a_gap_on_white) {
    double y[11], y2[11];
    for (int i = 0; i <= 10; i++) y[i] = 1, y2[i] = 2 + i * 0.1;
    y[5] = NAN; /* a gap between x = 4 and x = 6 */
    fc_plot_series s[2] = {{"flat", NULL, y, 11}, {"rising", NULL, y2, 11}};
    const char *path = out("lines.png");
    if (!FCT_OK(fc_plot_lines(path, s, 2, .title = "two series", .xlabel = "step", .ylabel = "value"))) return;
    cairo_surface_t *img = load_png(path);
    if (!img) return;
    int W = cairo_image_surface_get_width(img), H = cairo_image_surface_get_height(img);
    FCT_EQ_INT(W, 640);
    FCT_EQ_INT(H, 420);
    FCT_TRUE(is_white(img, 1, 1) && is_white(img, W - 2, H - 2) && is_white(img, W - 2, 1));
    /* the flat series: leftmost and rightmost blue columns are x = 0 and x = 10 (below the legend) */
    int xl = W, xr = -1, yrow = -1;
    for (int x = 0; x < W; x++)
        for (int yy = H / 2; yy < H; yy++)
            if (blueish(img, x, yy)) {
                if (x < xl) xl = x, yrow = yy;
                if (x > xr) xr = x;
            }
    if (!FCT_TRUE(xr - xl > 400)) goto done;
    int x2 = xl + (xr - xl) * 2 / 10, x5 = xl + (xr - xl) / 2;
    FCT_TRUE(count_hue(img, x2, x2 + 1, H, blueish) > 0);
    FCT_EQ_INT(count_hue(img, x5 - 3, x5 + 4, H, blueish), 0);
    /* the rising series lies above the flat one and rises to the right */
    int top_left = -1, top_right = -1;
    for (int yy = 0; yy < H && (top_left < 0 || top_right < 0); yy++) {
        if (top_left < 0 && orangeish(img, x2, yy)) top_left = yy;
        if (top_right < 0 && orangeish(img, xl + (xr - xl) * 8 / 10, yy)) top_right = yy;
    }
    FCT_TRUE(top_left > 0 && top_right > 0 && top_right < top_left && top_left < yrow);
done:
    cairo_surface_destroy(img);
}

FCT_TEST(test_plot_lines_log_axis_with_marks) {
    double x[50], y[50];
    for (int i = 0; i < 50; i++) x[i] = pow(10, -7 + 8.0 * i / 49), y[i] = 3 - 2 * exp(-pow(log10(x[i]) + 3, 2));
    y[10] = INFINITY;
    const double mx[] = {1e-3}, my[] = {1};
    fc_plot_series s = {"loss", x, y, 50};
    const char *path = out("lines_log.png");
    if (!FCT_OK(fc_plot_lines(path, &s, 1, .log_x = 1, .xlabel = "Learning Rate", .ylabel = "Loss", .width = 500,
                              .height = 300, .mark_x = mx, .mark_y = my,
                              .mark_labels = (const char *const[]){"valley"}, .n_marks = 1)))
        return;
    cairo_surface_t *img = load_png(path);
    if (!img) return;
    FCT_EQ_INT(cairo_image_surface_get_width(img), 500);
    FCT_EQ_INT(cairo_image_surface_get_height(img), 300);
    FCT_TRUE(count_hue(img, 0, 500, 300, blueish) > 300);
    FCT_TRUE(count_color(img, 0, 0, 500, 300, ORANGE, 10) > 40); /* the mark and its legend dot */
    cairo_surface_destroy(img);
    /* a log axis skips non-positive points; all of them non-positive is an error */
    double neg[3] = {-1, 0, -2};
    fc_plot_series bad = {NULL, NULL, neg, 3};
    FCT_EQ_INT(fc_plot_lines(out("never.png"), &bad, 1, .log_y = 1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "positive on a log axis");
}

FCT_TEST(test_plot_image_grid_cells_overlays_and_titles) {
    /* 4 cells of 16 x 16 at cell_size 32 (scale 2), 2 columns */
    uint8_t red[3 * 16 * 16] = {0};
    memset(red, 255, 16 * 16);
    fc_tensor *im_red = fc_from_data(red, FC_SHAPE(3, 16, 16), .dtype = FC_DTYPE_U8);
    fc_tensor *im_gray = fc_full(FC_SHAPE(1, 16, 16), 0.5);
    fc_tensor *mask = fc_zeros(FC_SHAPE(16, 16), .dtype = FC_DTYPE_I64);
    int64_t *m = fc_tensor_data(mask);
    for (int i = 0; i < 16 * 8; i++) m[i] = 1; /* top half class 1 */
    float pts[2] = {8, 8}, box[4] = {2, 2, 14, 14};
    fc_tensor *points = fc_from_data(pts, FC_SHAPE(1, 2));
    fc_tensor *bboxes = fc_from_data(box, FC_SHAPE(1, 4));
    fc_tensor *black = fc_zeros(FC_SHAPE(1, 16, 16));
    fc_grid_cell cells[4] = {
        {.image = im_red, .title = "red"},
        {.image = im_gray, .mask = mask, .title = "gray\nmasked", .title_color = 2},
        {.image = black, .points = points, .title = "point", .title_color = 1},
        {.image = black, .bboxes = bboxes, .bbox_labels = (const char *const[]){"box"}},
    };
    const char *path = out("grid.png");
    if (!FCT_OK(fc_plot_image_grid(path, cells, 4, .ncols = 2, .cell_size = 32))) return;
    cairo_surface_t *img = load_png(path);
    if (!img) return;
    /* cells 40 wide (32 + 8 padding), 8 + 32 + 2 title lines of 15 + 4 high, 8 pixels border */
    FCT_EQ_INT(cairo_image_surface_get_width(img), 2 * 40 + 8);
    FCT_EQ_INT(cairo_image_surface_get_height(img), 2 * (40 + 34) + 8);
    FCT_TRUE(is_white(img, 2, 2));
    FCT_TRUE(near_color(img, 8 + 16, 8 + 16, 255, 0, 0, 0));      /* cell 0: red */
    FCT_TRUE(near_color(img, 48 + 16, 8 + 24, 128, 128, 128, 1)); /* cell 1 bottom: plain gray */
    FCT_TRUE(!near_color(img, 48 + 16, 8 + 8, 128, 128, 128, 10)); /* cell 1 top: tinted by the mask */
    /* cell 1 tinted with class 1's colour (tab10 blue) at 45%: 0.55 * 128 + 0.45 * (31, 119, 180) */
    FCT_TRUE(near_color(img, 48 + 16, 8 + 8, 84, 124, 151, 3));
    FCT_TRUE(near_color(img, 8 + 16, 82 + 16, 255, 25, 153, 30)); /* cell 2: the point (magenta) */
    FCT_TRUE(near_color(img, 8 + 4, 82 + 4, 0, 0, 0, 0));          /* away from it: black */
    FCT_TRUE(near_color(img, 48 + 4, 82 + 20, BLUE, 10));           /* cell 3: the box's left edge */
    FCT_TRUE(near_color(img, 48 + 16, 82 + 24, 0, 0, 0, 0));        /* inside the box: the image */
    /* titles: dark text under cell 0, red text (two lines) under cell 1, green under cell 2 */
    FCT_TRUE(count_color(img, 8, 42, 40, 56, 26, 26, 26, 80) > 5);
    FCT_TRUE(count_color(img, 48, 42, 80, 56, 217, 0, 0, 60) > 5);
    FCT_TRUE(count_color(img, 48, 57, 80, 72, 217, 0, 0, 60) > 5);
    FCT_TRUE(count_color(img, 8, 116, 40, 130, 0, 140, 0, 60) > 5);
    cairo_surface_destroy(img);
}

FCT_TEST(test_plot_image_grid_scales_large_images_down_keeping_aspect) {
    fc_tensor *wide = fc_ones(FC_SHAPE(3, 100, 300)); /* white 3:1, scaled to 128 x 43 */
    fc_tensor *dark = fc_zeros(FC_SHAPE(1, 300, 100), .dtype = FC_DTYPE_U8); /* black 1:3 */
    fc_grid_cell cells[2] = {{.image = dark}, {.image = wide}};
    const char *path = out("grid_scaled.png");
    if (!FCT_OK(fc_plot_image_grid(path, cells, 2, .title = "scaled"))) return;
    cairo_surface_t *img = load_png(path);
    if (!img) return;
    FCT_EQ_INT(cairo_image_surface_get_width(img), 2 * 136 + 8);
    FCT_EQ_INT(cairo_image_surface_get_height(img), 136 + 8 + 30);
    /* the tall black image: 43 pixels wide centred in a 128 cell starting at (8, 38) */
    FCT_TRUE(near_color(img, 8 + 64, 38 + 64, 0, 0, 0, 0));
    FCT_TRUE(near_color(img, 8 + 64, 38 + 2, 0, 0, 0, 0));
    FCT_TRUE(is_white(img, 8 + 10, 38 + 64));
    FCT_TRUE(count_color(img, 0, 0, 280, 30, 26, 26, 26, 60) > 10); /* the grid title */
    cairo_surface_destroy(img);
}

FCT_TEST(test_plot_confusion_matrix_shades_and_labels) {
    const int64_t counts[9] = {50, 2, 0, 3, 40, 7, 0, 5, 45};
    const char *const labels[3] = {"circle", "square", "triangle"};
    const char *path = out("confusion.png");
    if (!FCT_OK(fc_plot_confusion_matrix(path, counts, 3, labels, .title = "Confusion matrix"))) return;
    cairo_surface_t *img = load_png(path);
    if (!img) return;
    int W = cairo_image_surface_get_width(img), H = cairo_image_surface_get_height(img);
    FCT_TRUE(W > 3 * 72 && H > 3 * 72);
    FCT_TRUE(is_white(img, 1, 1));
    FCT_TRUE(count_color(img, 0, 0, W, H, 8, 48, 107, 3) > 72 * 40);     /* the darkest cell (50) */
    FCT_TRUE(count_color(img, 0, 0, W, H, 247, 250, 255, 2) > 2 * 72 * 60); /* the two zero cells */
    cairo_surface_destroy(img);
    FCT_OK(fc_plot_confusion_matrix(out("confusion_norm.png"), counts, 3, labels, .normalize = 1));
    img = load_png(out("confusion_norm.png"));
    if (img) cairo_surface_destroy(img);
}

static int count_tmp_files(void) {
    DIR *d = opendir(OUT_DIR);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

FCT_TEST(test_plot_write_is_atomic_and_replaces) {
    const char *path = out("replace.png");
    FILE *f = fopen(path, "w");
    if (!FCT_TRUE(f != NULL)) return;
    fputs("not a png", f);
    fclose(f);
    double y[3] = {1, 2, 3};
    fc_plot_series s = {NULL, NULL, y, 3};
    if (!FCT_OK(fc_plot_lines(path, &s, 1))) return;
    unsigned char sig[8] = {0};
    f = fopen(path, "rb");
    if (!FCT_TRUE(f != NULL)) return;
    FCT_EQ_INT(fread(sig, 1, 8, f), 8);
    fclose(f);
    FCT_TRUE(!memcmp(sig, "\x89PNG\r\n\x1a\n", 8));
    FCT_EQ_INT(count_tmp_files(), 0);
}

FCT_TEST(test_plot_errors_name_the_cause) {
    double y[3] = {1, 2, 3};
    fc_plot_series s = {NULL, NULL, y, 3};
    FCT_EQ_INT(fc_plot_lines("/nonexistent-dir-fastc/a.png", &s, 1), FC_ERR_IO);
    FCT_ERROR(FC_ERR_IO, "cannot write '/nonexistent-dir-fastc/a.png'");
    FCT_EQ_INT(count_tmp_files(), 0);
    FCT_EQ_INT(fc_plot_lines(out("e.png"), &s, 0), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "expected n_series >= 1, found 0");
    fc_plot_series nully = {NULL, NULL, NULL, 3}, empty = {NULL, NULL, y, 0};
    FCT_EQ_INT(fc_plot_lines(out("e.png"), &nully, 1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "series[0].y is NULL");
    FCT_EQ_INT(fc_plot_lines(out("e.png"), &empty, 1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "series[0].n must be >= 1, found 0");
    double nan3[3] = {NAN, NAN, NAN};
    fc_plot_series gaps = {NULL, NULL, nan3, 3};
    FCT_EQ_INT(fc_plot_lines(out("e.png"), &gaps, 1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "expected at least one finite point");
    FCT_EQ_INT(fc_plot_lines(out("e.png"), &s, 1, .n_marks = 1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".mark_x or .mark_y is NULL");

    fc_tensor *two_ch = fc_zeros(FC_SHAPE(2, 8, 8)), *flat = fc_zeros(FC_SHAPE(8, 8));
    fc_tensor *ints = fc_zeros(FC_SHAPE(1, 8, 8), .dtype = FC_DTYPE_I64), *ok = fc_zeros(FC_SHAPE(3, 8, 8));
    fc_tensor *mask = fc_zeros(FC_SHAPE(8, 7), .dtype = FC_DTYPE_I64), *pts = fc_zeros(FC_SHAPE(2, 3));
    fc_grid_cell c_mask = {.image = ok, .mask = mask}, c_pts = {.image = ok, .points = pts};
    FCT_EQ_INT(fc_plot_image_grid(out("e.png"), &(fc_grid_cell){.image = two_ch}, 1), FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "cells[0].image: expected [C, H, W] with C 1 or 3, found [2, 8, 8]");
    fc_grid_cell two[2] = {{.image = ok}, {.image = flat}};
    FCT_EQ_INT(fc_plot_image_grid(out("e.png"), two, 2), FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "cells[1].image: expected [C, H, W] with C 1 or 3, found [8, 8]");
    FCT_EQ_INT(fc_plot_image_grid(out("e.png"), &(fc_grid_cell){.image = ints}, 1), FC_ERR_DTYPE);
    FCT_ERROR(FC_ERR_DTYPE, "expected u8 or a float dtype, found i64");
    FCT_EQ_INT(fc_plot_image_grid(out("e.png"), &c_mask, 1), FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "cells[0].mask: expected [8, 8] like the image, found [8, 7]");
    FCT_EQ_INT(fc_plot_image_grid(out("e.png"), &c_pts, 1), FC_ERR_SHAPE);
    FCT_ERROR(FC_ERR_SHAPE, "cells[0].points: expected [n, 2], found [2, 3]");
    FCT_EQ_INT(fc_plot_image_grid(out("e.png"), &(fc_grid_cell){.image = NULL}, 1), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "cells[0].image is NULL");
    FCT_EQ_INT(fc_plot_image_grid(out("e.png"), two, 0), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "expected n >= 1 cells, found 0");

    const int64_t neg[4] = {1, -1, 0, 2};
    const char *const labels[2] = {"a", "b"};
    FCT_EQ_INT(fc_plot_confusion_matrix(out("e.png"), neg, 2, labels), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "counts[1] (actual a, predicted b) is -1");
    FCT_EQ_INT(fc_plot_confusion_matrix(out("e.png"), neg, 0, labels), FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "expected n in 1..200 classes, found 0");
    FILE *f = fopen(out("e.png"), "rb");
    FCT_TRUE(f == NULL); /* nothing was written by a failing call */
    if (f) fclose(f);
}
