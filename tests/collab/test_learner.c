/* collab_learner on a synthetic table made from known factors: it learns them (valid MSE far below
 * the ratings' variance), bias and weight read back, titles from an ISO-8859-1 item table, inspect. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/collab.h"
#include "fct.h"

/* 60 users x 50 items, 2400 ratings from rank-2 factors and biases, rounded to a tenth */
static const char *write_synthetic(const char *name) {
    fc_rng g = fc_rng_new(11);
    double uf[60][2], ifac[50][2], ub[60], ib[50];
    for (int u = 0; u < 60; u++) uf[u][0] = fc_rng_normal(&g), uf[u][1] = fc_rng_normal(&g), ub[u] = 0.5 * fc_rng_normal(&g);
    for (int i = 0; i < 50; i++) ifac[i][0] = fc_rng_normal(&g), ifac[i][1] = fc_rng_normal(&g), ib[i] = 0.5 * fc_rng_normal(&g);
    char *text = malloc(2400 * 32 + 32), *p = text;
    p += sprintf(p, "user,item,rating\n");
    for (int r = 0; r < 2400; r++) {
        int u = (int)(fc_rng_u32(&g) % 60), i = (int)(fc_rng_u32(&g) % 50);
        double v = 2.75 + 0.6 * (uf[u][0] * ifac[i][0] + uf[u][1] * ifac[i][1]) + ub[u] + ib[i];
        v = fmin(5.0, fmax(0.5, v));
        p += sprintf(p, "%d,%d,%.1f\n", 100 + u, 1 + i, v);
    }
    fct_write_file(name, text, (size_t)(p - text));
    free(text);
    return name;
}

static double valid_mse(fc_learner *learn) { return fc_learner_valid_loss(learn); }

FCT_TEST(test_collab_learner_learns_synthetic_factors) {
    fc_manual_seed(5);
    fc_dataloaders *dls = fc_collab_dls_from_csv(write_synthetic("collab_synth.csv"), .bs = 32);
    fc_learner *learn = fc_collab_learner(dls, .n_factors = 8, .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit_one_cycle(learn, 8, 2e-2, .wd = 0.01));
    double mse = valid_mse(learn);
    printf("  synthetic EmbeddingDotBias valid MSE %.4f\n", mse);
    FCT_TRUE(mse < 0.25); /* the ratings' variance is ~1.3 */
    fc_tensor *b = fc_collab_bias(learn, 1), *w = fc_collab_weight(learn, 0);
    int64_t n_items, n_users;
    fc_collab_items(fc_learner_dls(learn), &n_items);
    fc_collab_users(fc_learner_dls(learn), &n_users);
    if (FCT_NOTNULL(b) && FCT_NOTNULL(w)) {
        FCT_EQ_INT(fc_tensor_ndim(b), 1);
        FCT_EQ_INT(fc_tensor_dim(b, 0), n_items);
        FCT_EQ_INT(fc_tensor_dim(w, 0), n_users);
        FCT_EQ_INT(fc_tensor_dim(w, 1), 8);
    }
    fc_tensor_free(b);
    fc_tensor_free(w);
    fc_learner_free(learn);
}

FCT_TEST(test_collab_learner_y_range_bounds_predictions) {
    fc_dataloaders *dls = fc_collab_dls_from_csv(write_synthetic("collab_synth2.csv"), .bs = 64);
    fc_learner *learn = fc_collab_learner(dls, .n_factors = 4, .y_range = {1, 2}, .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    fc_tuple b;
    FCT_OK(fc_dataloader_one_batch(fc_learner_dls(learn)->valid, &b));
    fc_tensor *pred = fc_module_forward(fc_learner_model(learn), b.v[0].t);
    if (FCT_NOTNULL(pred)) {
        FCT_EQ_INT(fc_tensor_ndim(pred), 1);
        for (int64_t i = 0; i < fc_tensor_numel(pred); i++) /* tiny init: sigmoid(~0) -> the middle */
            FCT_NEAR(fc_tensor_get(pred, i), 1.5, 0.01);
    }
    fc_tuple_free(&b);
    fc_learner_free(learn);
}

FCT_TEST(test_collab_learner_rejects_other_loaders) {
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 2), .dtype = FC_DTYPE_I64), *y = fc_zeros(FC_SHAPE(4, 1));
    FCT_NULL(fc_collab_learner(fc_tensor_dls(x, y, x, y)));
    FCT_ERROR(FC_ERR_ARG, "collab_learner: expected dataloaders made by collab_dls_from_csv");
    fc_error_clear();
    fc_tensor_free(x);
    fc_tensor_free(y);
}

FCT_TEST(test_collab_item_titles_and_inspect) {
    const char *data = "user,item,rating\n1,10,4\n2,10,5\n1,20,1\n3,20,2\n2,30,3\n3,30,3\n1,40,5\n2,40,4\n"
                       "3,10,5\n4,20,1\n4,10,4\n4,30,2\n";
    fct_write_file("collab_tiny.csv", data, strlen(data));
    /* ISO-8859-1: 0xE9 is e-acute; item 40 has no line */
    const char items[] = "10|Am\xe9lie (2001)|01-Jan-2001|x\n20|Heat (1995)|01-Jan-1995\r\n30|Up (2009)|x\n";
    fct_write_file("collab_tiny.item", items, strlen(items));
    fc_dataloaders *dls = fc_collab_dls_from_csv("collab_tiny.csv", .bs = 4, .valid_pct = 0.1);
    if (!FCT_NOTNULL(dls)) return;
    int64_t n;
    const char *const *ids = fc_collab_items(dls, &n);
    char **titles = fc_collab_item_titles(dls, "collab_tiny.item", 0);
    if (FCT_NOTNULL(titles)) {
        for (int64_t c = 1; c < n; c++) {
            const char *want = !strcmp(ids[c], "10") ? "Am\xc3\xa9lie (2001)" : !strcmp(ids[c], "20") ? "Heat (1995)"
                               : !strcmp(ids[c], "30") ? "Up (2009)" : ids[c];
            FCT_STR(titles[c], want);
        }
        fc_collab_titles_free(titles, n);
    }
    FCT_NULL(fc_collab_item_titles(dls, "collab_no_such.item", '|'));
    FCT_ERROR(FC_ERR_IO, "collab_no_such.item");
    fc_error_clear();

    fc_learner *learn = fc_collab_learner(dls, .n_factors = 3, .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_fit(learn, 2, 1e-2));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    FCT_OK(fc_collab_inspect(learn, f, .titles_path = "collab_tiny.item", .top_n = 2));
    fclose(f);
    if (FCT_NOTNULL(buf)) {
        FCT_TRUE(strstr(buf, "Lowest bias") != NULL);
        FCT_TRUE(strstr(buf, "Principal component 2") != NULL);
        FCT_TRUE(strstr(buf, "Heat (1995)") != NULL || strstr(buf, "Am\xc3\xa9lie") != NULL);
    }
    free(buf);
    fc_learner_free(learn);
}

FCT_TEST(test_collab_learner_embedding_nn_learns_synthetic_factors) {
    fc_manual_seed(6);
    fc_dataloaders *dls = fc_collab_dls_from_csv(write_synthetic("collab_synth3.csv"), .bs = 32);
    fc_learner *learn = fc_collab_learner(dls, .use_nn = 1, .n_factors = 16, .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    int64_t n_users;
    fc_collab_users(fc_learner_dls(learn), &n_users);
    FCT_EQ_INT(fc_tensor_dim(fc_module_get(fc_learner_model(learn), "embeds.0.weight"), 1), fc_emb_sz_rule(n_users));
    FCT_OK(fc_fit_one_cycle(learn, 8, 1e-2, .wd = 0.01));
    double mse = valid_mse(learn);
    printf("  synthetic EmbeddingNN valid MSE %.4f\n", mse);
    FCT_TRUE(mse < 0.6); /* the ratings' variance is ~1.3 */
    fc_tensor *w = fc_collab_weight(learn, 1);
    FCT_NOTNULL(w);
    fc_tensor_free(w);
    FCT_NULL(fc_collab_bias(learn, 1));
    FCT_ERROR(FC_ERR_ARG, "collab_bias: expected an EmbeddingDotBias model, found TabularModel");
    fc_error_clear();
    FILE *f = fopen("collab_synth_nn_inspect.txt", "w");
    FCT_OK(fc_collab_inspect(learn, f, .top_n = 3)); /* no bias view; the PCA views */
    if (f) fclose(f);
    fc_learner_free(learn);
}
