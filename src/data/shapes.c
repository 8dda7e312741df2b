/* The generated "shapes" dataset: circles, squares, triangles and crosses drawn at random places and
 * sizes with anti-aliased-ish edges, random brightness and Gaussian noise. It needs no files, so
 * `make demo` and the training tests run anywhere. Each image i is drawn from its own counter-based
 * generator (seed, i), so any subset is reproducible. */
#include <math.h>

#include "../core/core_impl.h"
#include "fastc/data.h"

static const char *class_names[FC_SHAPES_N_CLASSES] = {"circle", "square", "triangle", "cross"};

const char *fc_shapes_class_name(int label) {
    return label >= 0 && label < FC_SHAPES_N_CLASSES ? class_names[label] : "?";
}

/* Signed "inside" measure for pixel (px, py) relative to a shape at (cx, cy) with radius r:
 * > 0 inside, < 0 outside, in pixels. */
static float inside(int label, float px, float py, float cx, float cy, float r) {
    float dx = px - cx, dy = py - cy;
    switch (label) {
    case 0: return r - sqrtf(dx * dx + dy * dy);
    case 1: return r * 0.85f - fmaxf(fabsf(dx), fabsf(dy));
    case 2: { /* upward triangle: below two slanted edges, above the base */
        float base = cy + r * 0.7f, top = cy - r;
        float half = (py - top) / (base - top) * r; /* half-width at this row */
        float in_y = fminf(py - top, base - py);
        return fminf(in_y, half - fabsf(dx));
    }
    default: { /* cross: union of two bars */
        float w = r * 0.3f;
        float h = fminf(w - fabsf(dy), r - fabsf(dx)), v = fminf(w - fabsf(dx), r - fabsf(dy));
        return fmaxf(h, v);
    }
    }
}

fc_status fc_shapes_dataset(int64_t n, int size, uint64_t seed, fc_tensor **x, fc_tensor **y) {
    if (!x || !y) return fc_fail(FC_ERR_ARG, "shapes_dataset: x and y must not be NULL");
    *x = *y = NULL;
    if (n <= 0 || size < 12 || size > 128)
        return fc_fail(FC_ERR_ARG, "shapes_dataset: expected n > 0 and size in 12..128, found n %lld, "
                                   "size %d", (long long)n, size);
    fc_tensor *xs = fc_keep(fc_empty(FC_SHAPE(n, 1, size, size)));
    fc_tensor *ys = fc_keep(fc_empty(FC_SHAPE(n), .dtype = FC_DTYPE_I64));
    if (!xs || !ys) {
        fc_tensor_free(xs);
        fc_tensor_free(ys);
        return fc_error_code();
    }
    float *px = fc_tensor_data(xs);
    int64_t *py = fc_tensor_data(ys);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        fc_rng g = fc_rng_new(seed * 0x9E3779B97F4A7C15ull + (uint64_t)i);
        int label = (int)(i % FC_SHAPES_N_CLASSES);
        float r = size * (0.18f + 0.17f * fc_rng_uniform(&g));
        float cx = r + (size - 2 * r) * fc_rng_uniform(&g);
        float cy = r + (size - 2 * r) * fc_rng_uniform(&g);
        float fg = 0.6f + 0.4f * fc_rng_uniform(&g), bg = 0.25f * fc_rng_uniform(&g);
        float *img = px + i * size * size;
        for (int v = 0; v < size; v++)
            for (int u = 0; u < size; u++) {
                float d = inside(label, u + 0.5f, v + 0.5f, cx, cy, r);
                float a = fminf(fmaxf(d + 0.5f, 0.0f), 1.0f); /* one-pixel soft edge */
                float val = bg + (fg - bg) * a + 0.08f * fc_rng_normal(&g);
                img[v * size + u] = fminf(fmaxf(val, 0.0f), 1.0f);
            }
        py[i] = label;
    }
    *x = xs;
    *y = ys;
    return FC_OK;
}
