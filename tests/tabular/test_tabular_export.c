/* Tabular export and load_learner: a learner trained one epoch on a generated table (categories,
 * missing values, a category or a float target) is exported and loaded back with no training
 * data; its procs are the same (classes, fill values, means, stds) and it predicts the same rows,
 * one at a time and through test_dl, bit for bit. Corrupt and truncated files, and a file of
 * another application, fail with messages naming the file. */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastc/collab.h"
#include "export_checks.h"
#include "fct.h"

/* 240 rows: colour (3 values and some missing), size (an integer with 4 values: categorical),
 * x and w continuous (w sometimes missing), y = "hi" when x + colour bonus > 0.5. */
static const char *make_csv(const char *name, int regression) {
    static const char *colours[] = {"red", "green", "blue", ""};
    FILE *f = fopen(name, "w");
    if (!f) return NULL;
    fprintf(f, "colour,size,x,w,y\n");
    uint64_t s = 12345;
    for (int i = 0; i < 240; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int c = (int)((s >> 33) % 4), size = (int)((s >> 40) % 4);
        double x = (double)((s >> 20) % 1000) / 1000.0, w = (double)((s >> 10) % 97) / 10.0;
        double score = x + (c == 0 ? 0.3 : 0) - (size == 2 ? 0.2 : 0);
        char wbuf[32] = "";
        if (i % 7) snprintf(wbuf, sizeof wbuf, "%.1f", w);
        if (regression) fprintf(f, "%s,%d,%.3f,%s,%.4f\n", colours[c], size, x, wbuf, 2 * score + 0.1 * w);
        else fprintf(f, "%s,%d,%.3f,%s,%s\n", colours[c], size, x, wbuf, score > 0.5 ? "hi" : "lo");
    }
    fclose(f);
    return name;
}

static fc_learner *trained(const char *csv, int regression) {
    fc_dataloaders *dls = fc_tabular_dls_from_csv(csv, .y = "y", .cat = FC_NAMES("colour", "size"),
                                                  .cont = FC_NAMES("x", "w"), .bs = 32);
    fc_manual_seed(3);
    fc_learner *learn = regression ? fc_tabular_learner(dls, .layers = FC_INTS(16, 8), .ps = FC_FLOATS(0.1, 0.1),
                                                        .y_range = {-1, 4}, .quiet = 1)
                                   : fc_tabular_learner(dls, .layers = FC_INTS(20), .embed_p = 0.05, .quiet = 1);
    if (learn && fc_fit_one_cycle(learn, 1, 1e-2) != FC_OK) {
        fc_learner_free(learn);
        return NULL;
    }
    return learn;
}

static const char *names[] = {"colour", "size", "x", "w", "ignored"};
static const char *rows[][5] = {
    {"red", "1", "0.25", "3.5", "zz"},
    {"purple", "2", "0.9", "", NULL}, /* a colour never seen: #na#; w missing: the training median */
    {"", "7", "-3", "100", "x"},      /* out of the training range */
    {"blue", "0", "0.5", "nan", ""},
};

static void same_predictions(fc_learner *a, fc_learner *b) {
    for (int r = 0; r < 4; r++) {
        fc_prediction pa, pb;
        if (!FCT_OK(fc_tabular_predict(a, names, rows[r], 5, &pa))) continue;
        if (FCT_OK(fc_tabular_predict(b, names, rows[r], 5, &pb))) {
            FCT_STR(pb.label, pa.label);
            FCT_EQ_INT(pb.index, pa.index);
            FCT_CLOSE(pb.probs, pa.probs, 0, 0); /* the same floats: same procs, same weights, same ops */
            fc_prediction_free(&pb);
        }
        fc_prediction_free(&pa);
    }
}

static void same_test_preds(fc_learner *a, fc_learner *b, const char *csv) {
    fc_dataloader *ta = fc_tabular_test_dl(fc_tabular_of_dls(fc_learner_dls(a)), csv, 50);
    fc_dataloader *tb = fc_tabular_test_dl(fc_tabular_of_dls(fc_learner_dls(b)), csv, 50);
    fc_tensor *pa = NULL, *pb = NULL;
    if (FCT_NOTNULL(ta) && FCT_NOTNULL(tb) && FCT_OK(fc_learner_get_preds(a, ta, &pa, NULL, NULL)) &&
        FCT_OK(fc_learner_get_preds(b, tb, &pb, NULL, NULL))) {
        FCT_EQ_INT(fc_tensor_dim(pa, 0), 240);
        FCT_CLOSE(pb, pa, 0, 0);
    }
    fc_tensor_free(pa);
    fc_tensor_free(pb);
    fc_dataloader_free(ta);
    fc_dataloader_free(tb);
}

static void same_procs(const fc_tabular *a, const fc_tabular *b) {
    FCT_EQ_INT(fc_tabular_n_cat(b), fc_tabular_n_cat(a));
    FCT_EQ_INT(fc_tabular_n_cont(b), fc_tabular_n_cont(a));
    FCT_EQ_INT(fc_tabular_is_regression(b), fc_tabular_is_regression(a));
    for (int j = 0; j < fc_tabular_n_cat(a) && j < fc_tabular_n_cat(b); j++) {
        FCT_STR(fc_tabular_cat_name(b, j), fc_tabular_cat_name(a, j));
        int64_t na, nb;
        const char *const *ca = fc_tabular_classes(a, j, &na), *const *cb = fc_tabular_classes(b, j, &nb);
        FCT_EQ_INT(nb, na);
        for (int64_t k = 0; k < na && k < nb; k++) FCT_STR(cb[k], ca[k]);
    }
    for (int j = 0; j < fc_tabular_n_cont(a) && j < fc_tabular_n_cont(b); j++) {
        FCT_STR(fc_tabular_cont_name(b, j), fc_tabular_cont_name(a, j));
        FCT_TRUE(fc_tabular_cont_mean(b, j) == fc_tabular_cont_mean(a, j));
        FCT_TRUE(fc_tabular_cont_std(b, j) == fc_tabular_cont_std(a, j));
        FCT_TRUE(fc_tabular_fill_value(b, j) == fc_tabular_fill_value(a, j));
    }
    int64_t na, nb;
    const char *const *ya = fc_tabular_y_classes(a, &na), *const *yb = fc_tabular_y_classes(b, &nb);
    FCT_EQ_INT(nb, na);
    for (int64_t k = 0; k < na && k < nb; k++) FCT_STR(yb[k], ya[k]);
}

static void round_trip(int regression) {
    const char *csv = make_csv(regression ? "tab_export_reg.csv" : "tab_export_cls.csv", regression);
    const char *out = regression ? "tab_export_reg.fcm" : "tab_export_cls.fcm";
    if (!FCT_NOTNULL(csv)) return;
    fc_learner *learn = trained(csv, regression), *loaded = NULL;
    if (!FCT_NOTNULL(learn)) return;
    FCT_STR(fc_learner_app(learn), "tabular");
    if (!FCT_OK(fc_learner_export(learn, out))) goto done;
    loaded = fc_load_learner(out);
    if (!FCT_NOTNULL(loaded)) goto done;
    FCT_STR(fc_learner_app(loaded), "tabular");
    same_procs(fc_tabular_of_dls(fc_learner_dls(learn)), fc_tabular_of_dls(fc_learner_dls(loaded)));
    same_predictions(learn, loaded);
    same_test_preds(learn, loaded, csv);
    const fc_dataloaders *dl = fc_learner_dls(loaded);
    if (!regression) {
        FCT_EQ_INT(dl->n_vocab, 2);
        if (dl->n_vocab == 2) FCT_STR(dl->vocab[0], "hi");
    }
    /* a loaded learner exports again to the same metadata */
    char *m1 = fc_export_metadata(out);
    if (FCT_OK(fc_learner_export(loaded, "tab_export_again.fcm"))) {
        char *m2 = fc_export_metadata("tab_export_again.fcm");
        if (FCT_NOTNULL(m1) && FCT_NOTNULL(m2)) FCT_STR(m2, m1);
        free(m2);
    }
    free(m1);
    remove("tab_export_again.fcm");
done:
    remove(out);
    fc_learner_free(loaded);
    fc_learner_free(learn);
}

FCT_TEST(test_tabular_export_load_predict_matches_category_target) { round_trip(0); }
FCT_TEST(test_tabular_export_load_predict_matches_regression_target) { round_trip(1); }

/* ---- corrupt files ---- */

FCT_TEST(test_tabular_load_rejects_corrupt_files) {
    const char *csv = make_csv("tab_export_bad.csv", 0);
    fc_learner *learn = csv ? trained(csv, 0) : NULL;
    if (!FCT_NOTNULL(learn)) return;
    const char *good = "tab_good.fcm", *bad = "tab_bad.fcm";
    unsigned char *b = NULL;
    size_t n = fct_fcm_export_bytes(learn, good, &b);
    if (!n) goto done;
    /* every truncation up to the end of the metadata and the safetensors header, then every 53rd */
    FCT_TRUE(fct_fcm_truncations_fail(b, n, bad, 600, 53));
    /* the procs and the config disagreeing with each other or with the weights */
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"dim\":[", "\"dim\":[9,", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "expected 'dim' to be an array of 3");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"n_out\":2", "\"n_out\":3", bad)))
        fct_fcm_load_fails(bad, FC_ERR_SHAPE, "expected shape");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"layers\":[20]", "\"layers\":[21]", bad)))
        fct_fcm_load_fails(bad, FC_ERR_SHAPE, "expected shape");
    /* a config asking for a model larger than the weights the file holds fails before allocating it */
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"layers\":[20]", "\"layers\":[1000000,1000000]", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "tabular config: the config asks for a model of at least");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"mean\":[", "\"mean\":[1,", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "tabular data: expected 'mean'");
    if (FCT_TRUE(fct_fcm_patch(b, n, "[\"#na#\"", "[\"#nb#\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "start with \"#na#\"");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"cont_na_col\":[", "\"cont_na_col\":[0,", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "cont_na_col");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"std\":[", "\"std\":[-1,", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "'std'");
    /* a class more in a column, or in the target, than the model was built for */
    if (FCT_TRUE(fct_fcm_patch(b, n, "[\"#na#\",\"blue\"", "[\"#na#\",\"aqua\",\"blue\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "column 'colour' has 5 classes; the model's embedding has 4 rows");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"y_classes\":[", "\"y_classes\":[\"ah\",", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "and 3 classes; the model takes");
    /* a file of another application: the collab loader rejects the tabular config (a static link
     * registers the applications it does not call) */
    FCT_OK(fc_collab_register());
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"application\":\"tabular\"", "\"application\":\"collab\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "collab config");
    /* and a tabular learner's functions refuse a learner of another application */
    fc_prediction p;
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 3)), *y = fc_zeros(FC_SHAPE(4), .dtype = FC_DTYPE_I64);
    fc_learner *other = fc_learner(fc_tensor_dls(x, y, x, y), fc_linear_new(3, 2), .quiet = 1);
    fc_tensor_free(x);
    fc_tensor_free(y);
    FCT_TRUE(fc_tabular_predict(other, names, rows[0], 5, &p) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "not made by tabular_dataloaders");
    fc_learner_free(other);
done:
    free(b);
    remove(good);
    remove(bad);
    fc_learner_free(learn);
}
