/* Pipeline: stable order, kinds and split_idx filters, decode in reverse, setup on the values as
 * they arrive at each transform, tuples and list values, and errors naming the transform. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "fastc/data.h"
#include "fct.h"

/* A transform appending its letter to a text value (encode) and removing it (decode). */
static fc_status append_enc(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    size_t n = strlen(v->text);
    char *t = realloc(v->text, n + 2);
    if (!t) return fc_fail(FC_ERR_NOMEM, "append: oom");
    t[n] = *(char *)s;
    t[n + 1] = '\0';
    v->text = t;
    return FC_OK;
}
static fc_status append_dec(void *s, fc_value *v) {
    size_t n = strlen(v->text);
    if (n == 0 || v->text[n - 1] != *(char *)s)
        return fc_fail(FC_ERR_ARG, "append: expected a text ending in '%c', found '%s'", *(char *)s, v->text);
    v->text[n - 1] = '\0';
    return FC_OK;
}
static const fc_kind *const label_only[] = {fc_kind_label, NULL};
static const fc_kind *const image_only[] = {fc_kind_image, NULL};

/* Defs live in a static pool: a def must outlive its transforms. */
static fc_transform_def pool[64];
static int n_pool;
static fc_transform *L(char c, int order, fc_split_idx split, const fc_kind *const *kinds) {
    fc_transform_def *def = &pool[n_pool++ % 64];
    *def = (fc_transform_def){.name = "letter", .order = order, .split_idx = split, .kinds = kinds,
                              .encodes = append_enc, .decodes = append_dec, .free_state = free};
    char *s = malloc(1);
    *s = c;
    return fc_transform_new(def, s);
}

static fc_value run(fc_pipeline *p, const char *text, fc_split_idx split) {
    fc_value v = fc_value_text(fc_kind_label, text);
    FCT_OK(fc_pipeline_encode(p, &v, &(fc_tfm_ctx){.split = split}));
    return v;
}

FCT_TEST(test_pipeline_sorts_by_order_stably_and_decodes_in_reverse) {
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(L('c', 5, 0, NULL), L('a', 1, 0, NULL), L('d', 5, 0, NULL),
                                             L('b', 1, 0, NULL)));
    if (!FCT_NOTNULL(p)) return;
    FCT_EQ_INT(fc_pipeline_n(p), 4);
    fc_value v = run(p, "", FC_SPLIT_TRAIN);
    FCT_STR(v.text, "abcd"); /* order 1 before 5; equal orders keep the order given */
    FCT_OK(fc_pipeline_decode(p, &v));
    FCT_STR(v.text, "");
    fc_value_free(&v);
    FCT_OK(fc_pipeline_add(p, L('z', 3, 0, NULL)));
    v = run(p, "", FC_SPLIT_TRAIN);
    FCT_STR(v.text, "abzcd");
    fc_value_free(&v);
    fc_pipeline_free(p);
}

FCT_TEST(test_pipeline_skips_other_kinds_and_the_other_split) {
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(L('i', 0, 0, image_only), L('l', 1, 0, label_only),
                                             L('t', 2, FC_SPLIT_TRAIN, NULL), L('v', 3, FC_SPLIT_VALID, NULL)));
    fc_value a = run(p, "", FC_SPLIT_TRAIN), b = run(p, "", FC_SPLIT_VALID);
    FCT_STR(a.text, "lt"); /* a train-only transform ran on train ... */
    FCT_STR(b.text, "lv"); /* ... and left the valid item alone */
    fc_value none = fc_value_text(fc_kind_label, "");
    FCT_OK(fc_pipeline_encode(p, &none, NULL)); /* no ctx: only split-free transforms */
    FCT_STR(none.text, "l");
    fc_value img = fc_value_text(fc_kind_image, "");
    FCT_OK(fc_pipeline_encode(p, &img, &(fc_tfm_ctx){.split = FC_SPLIT_TRAIN}));
    FCT_STR(img.text, "it");
    fc_value_free(&a);
    fc_value_free(&b);
    fc_value_free(&none);
    fc_value_free(&img);
    fc_pipeline_free(p);
}

FCT_TEST(test_pipeline_error_names_the_transform_and_value) {
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(L('a', 0, 0, NULL), fc_categorize(.vocab = (const char *[]){"cat", "dog"}, .n_vocab = 2)));
    fc_value v = fc_value_text(fc_kind_label, "zebra");
    FCT_TRUE(fc_pipeline_encode(p, &v, NULL) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "label 'zebraa' is not in the vocab of 2 (first 'cat', last 'dog') "
                          "(in transform 2 of 2, Categorize, encoding label 'zebraa')");
    fc_value_free(&v);
    fc_value d = fc_value_text(fc_kind_label, "x");
    FCT_TRUE(fc_pipeline_decode(p, &d) != FC_OK); /* 'x' does not end in 'a' */
    FCT_ERROR(FC_ERR_ARG, "decoding label 'x'");
    fc_value_free(&d);
    fc_pipeline_free(p);
}

/* A transform adding 1 to every element, and one whose setup records the sum it saw. */
static fc_status add_one(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    fc_tensor *t = fc_keep(fc_add_scalar(v->t, 1.0));
    if (!t) return fc_error_code();
    fc_value_set_tensor(v, NULL, t);
    return FC_OK;
}
static fc_status sub_one(void *s, fc_value *v) {
    fc_tensor *t = fc_keep(fc_add_scalar(v->t, -1.0));
    if (!t) return fc_error_code();
    fc_value_set_tensor(v, NULL, t);
    return FC_OK;
}
static fc_status record_setup(void *s, const fc_value *values, int64_t n) {
    double *sum = s;
    *sum = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < fc_tensor_numel(values[i].t); k++) *sum += fc_tensor_get(values[i].t, k);
    sum[1] = (double)n;
    return FC_OK;
}
static fc_status nothing(void *s, fc_value *v, const fc_tfm_ctx *ctx) { return FC_OK; }
static const fc_kind *const tensor_only[] = {fc_kind_tensor, NULL};
static const fc_transform_def add_one_def = {.name = "add_one", .order = 0, .kinds = tensor_only,
                                             .encodes = add_one, .decodes = sub_one};
static const fc_transform_def record_def = {.name = "record", .order = 1, .kinds = tensor_only,
                                            .setup = record_setup, .encodes = nothing};

FCT_TEST(test_pipeline_setup_sees_values_as_they_arrive) {
    double seen[2] = {0, 0};
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_transform_new(&record_def, seen), fc_transform_new(&add_one_def, NULL)));
    fc_value vals[3] = {fc_value_tensor(fc_kind_tensor, fc_keep(fc_full(FC_SHAPE(2), 1.0))),
                        fc_value_tensor(fc_kind_tensor, fc_keep(fc_full(FC_SHAPE(2), 2.0))),
                        fc_value_text(fc_kind_label, "not a tensor: record does not act on it")};
    FCT_OK(fc_pipeline_setup(p, vals, 3));
    FCT_NEAR(seen[0], 2 * 2 + 2 * 3, 1e-9); /* (1 + 1) * 2 + (2 + 1) * 2: after add_one */
    FCT_NEAR(seen[1], 2, 0);                 /* only the tensor values */
    FCT_NEAR(fc_tensor_get(vals[0].t, 0), 1.0, 0); /* the caller's values are untouched */
    for (int i = 0; i < 3; i++) fc_value_free(&vals[i]);
    fc_pipeline_free(p);
}

FCT_TEST(test_pipeline_tuples_and_list_values) {
    fc_pipeline *p = fc_pipeline_new(FC_TFMS(fc_transform_new(&add_one_def, NULL)));
    fc_tuple t = {.n = 2, .n_inp = 1};
    t.v[0] = fc_value_tensor(fc_kind_tensor, fc_keep(fc_zeros(FC_SHAPE(3))));
    t.v[1] = (fc_value){.kind = fc_kind_tensor, .n_list = 2, .list = malloc(2 * sizeof(fc_tensor *))};
    t.v[1].list[0] = fc_keep(fc_zeros(FC_SHAPE(1)));
    t.v[1].list[1] = fc_keep(fc_full(FC_SHAPE(4), 5.0));
    FCT_OK(fc_pipeline_encode_tuple(p, &t, NULL));
    FCT_NEAR(fc_tensor_get(t.v[0].t, 2), 1.0, 0);
    FCT_NEAR(fc_tensor_get(t.v[1].list[0], 0), 1.0, 0);
    FCT_NEAR(fc_tensor_get(t.v[1].list[1], 3), 6.0, 0);
    FCT_EQ_INT(fc_tensor_dim(t.v[1].list[1], 0), 4);
    FCT_OK(fc_pipeline_decode_tuple(p, &t));
    FCT_NEAR(fc_tensor_get(t.v[1].list[1], 3), 5.0, 0);
    FCT_NEAR(fc_tensor_get(t.v[0].t, 0), 0.0, 0);
    fc_tuple_free(&t);
    fc_pipeline_free(p);
}

FCT_TEST(test_pipeline_value_str_describes_values) {
    char buf[160];
    fc_value v = fc_value_tensor(fc_kind_image, fc_keep(fc_zeros(FC_SHAPE(3, 4, 5), .dtype = FC_DTYPE_U8)));
    FCT_STR(fc_value_str(&v, buf, sizeof buf), "image u8 [3, 4, 5]");
    fc_value_free(&v);
    v = fc_value_text(fc_kind_label, "cat");
    FCT_STR(fc_value_str(&v, buf, sizeof buf), "label 'cat'");
    fc_value_free(&v);
}
