/* The processed table: column roles, splits, each proc's values on a hand-made CSV (checked
 * exactly), the loaders, show_batch, test_dl and bad inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/tabular.h"
#include "fct.h"

static const char *write_csv(const char *name, const char *text) {
    fct_write_file(name, text, strlen(text));
    return name;
}

/* rows 0-3 train, row 4 valid */
static const char *SMALL = "a,b,c,y\n"
                           "x,1.5,10,no\n"
                           "y,,20,yes\n"
                           "x,3.5,,no\n"
                           "z,2.0,40,yes\n"
                           ",4.0,50,no\n";

static fc_tabular *small_table(void) {
    const char *p = write_csv("tab_small.csv", SMALL);
    return fc_tabular_from_csv(p, .y = "y", .cat = FC_NAMES("a"), .cont = FC_NAMES("b", "c"),
                               .valid_idx = (const int64_t[]){4}, .n_valid_idx = 1);
}

static float xval(const fc_tabular *t, fc_tensor *x, int64_t i, int k) {
    return (float)fc_tensor_get(x, i * (fc_tabular_n_cat(t) + fc_tabular_n_cont(t)) + k);
}

FCT_TEST(test_procs_values_on_a_small_table) {
    fc_tabular *t = small_table();
    FCT_NOTNULL(t);
    if (!t) return;
    FCT_EQ_INT(fc_tabular_n_rows(t, FC_SPLIT_TRAIN), 4);
    FCT_EQ_INT(fc_tabular_n_rows(t, FC_SPLIT_VALID), 1);
    /* FillMissing added b_na and c_na after the user's categorical columns, in cont order */
    FCT_EQ_INT(fc_tabular_n_cat(t), 3);
    FCT_STR(fc_tabular_cat_name(t, 0), "a");
    FCT_STR(fc_tabular_cat_name(t, 1), "b_na");
    FCT_STR(fc_tabular_cat_name(t, 2), "c_na");
    FCT_EQ_INT(fc_tabular_n_cont(t), 2);
    /* Categorify: #na# then the training values sorted */
    int64_t n;
    const char *const *cl = fc_tabular_classes(t, 0, &n);
    FCT_EQ_INT(n, 4);
    if (n == 4) {
        FCT_STR(cl[0], "#na#");
        FCT_STR(cl[1], "x");
        FCT_STR(cl[2], "y");
        FCT_STR(cl[3], "z");
    }
    cl = fc_tabular_classes(t, 1, &n);
    FCT_EQ_INT(n, 3);
    if (n == 3) {
        FCT_STR(cl[1], "False");
        FCT_STR(cl[2], "True");
    }
    /* FillMissing: the training median; Normalize: mean and std(ddof=0) of the filled values + 1e-7 */
    FCT_NEAR(fc_tabular_fill_value(t, 0), 2.0, 0);
    FCT_NEAR(fc_tabular_fill_value(t, 1), 20.0, 0);
    FCT_NEAR(fc_tabular_cont_mean(t, 0), 2.25, 1e-12);
    FCT_NEAR(fc_tabular_cont_std(t, 0), 0.75 + 1e-7, 1e-12);
    FCT_NEAR(fc_tabular_cont_mean(t, 1), 22.5, 1e-12);
    FCT_NEAR(fc_tabular_cont_std(t, 1), sqrt(118.75) + 1e-7, 1e-12);
    FCT_TRUE(!fc_tabular_is_regression(t));
    const char *const *yc = fc_tabular_y_classes(t, &n);
    FCT_EQ_INT(n, 2);
    if (n == 2) {
        FCT_STR(yc[0], "no");
        FCT_STR(yc[1], "yes");
    }
    /* the processed rows, through an in-order loader */
    fc_dataloaders *dls = fc_tabular_dataloaders(t, .bs = 4, .no_shuffle = 1);
    FCT_NOTNULL(dls);
    fc_tabular_free(t); /* the loaders keep it */
    t = fc_tabular_of_dls(dls);
    fc_tuple b = {0};
    FCT_OK(fc_dataloader_one_batch(dls->train, &b));
    /* random splitting is off (valid_idx), so train rows are 0..3 in order */
    fc_tensor *x = b.v[0].t;
    FCT_EQ_INT(fc_tensor_dim(x, 0), 4);
    FCT_EQ_INT(fc_tensor_dim(x, 1), 5);
    /* row 1: y, missing b, 20 */
    FCT_NEAR(xval(t, x, 1, 0), 2, 0);
    FCT_NEAR(xval(t, x, 1, 1), 2, 0); /* b_na True */
    FCT_NEAR(xval(t, x, 1, 2), 1, 0); /* c_na False */
    FCT_NEAR(xval(t, x, 1, 3), (2.0 - 2.25) / (0.75 + 1e-7), 1e-6);
    FCT_NEAR(xval(t, x, 1, 4), (20 - 22.5) / (sqrt(118.75) + 1e-7), 1e-6);
    /* row 2: missing c filled with 20 */
    FCT_NEAR(xval(t, x, 2, 2), 2, 0);
    FCT_NEAR(xval(t, x, 2, 4), (20 - 22.5) / (sqrt(118.75) + 1e-7), 1e-6);
    FCT_NEAR(fc_tensor_get(b.v[1].t, 1), 1, 0); /* "yes" */
    fc_tuple_free(&b);
    FCT_OK(fc_dataloader_one_batch(dls->valid, &b));
    x = b.v[0].t;
    FCT_EQ_INT(fc_tensor_dim(x, 0), 1);
    FCT_NEAR(xval(t, x, 0, 0), 0, 0); /* missing category: #na# */
    FCT_NEAR(xval(t, x, 0, 3), (4.0 - 2.25) / (0.75 + 1e-7), 1e-6);
    fc_tuple_free(&b);
    fc_dataloaders_free(dls);
}

FCT_TEST(test_fill_strategies_and_no_add_col) {
    const char *p = write_csv("tab_fill.csv", "b,y\n1,a\n1,b\n5,a\n,b\n7,a\n");
    fc_tabular *t = fc_tabular_from_csv(p, .y = "y", .cont = FC_NAMES("b"), .valid_pct = -1,
                                        .fill_strategy = FC_FILL_MODE, .no_add_col = 1);
    FCT_NOTNULL(t);
    if (t) {
        FCT_NEAR(fc_tabular_fill_value(t, 0), 1, 0);
        FCT_EQ_INT(fc_tabular_n_cat(t), 0);
        FCT_EQ_INT(fc_tabular_n_rows(t, FC_SPLIT_TRAIN), 5);
        /* filled values 1, 1, 5, 1, 7: mean 3, std(ddof=0) sqrt(6.4) */
        FCT_NEAR(fc_tabular_cont_mean(t, 0), 3, 1e-12);
        FCT_NEAR(fc_tabular_cont_std(t, 0), sqrt(6.4) + 1e-7, 1e-12);
    }
    fc_tabular_free(t);
    t = fc_tabular_from_csv(p, .y = "y", .cont = FC_NAMES("b"), .valid_pct = -1, .fill_strategy = FC_FILL_CONSTANT,
                            .fill_value = -3, .procs = FC_PROC_FILL_MISSING);
    FCT_NOTNULL(t);
    if (t) {
        FCT_NEAR(fc_tabular_fill_value(t, 0), -3, 0);
        FCT_NEAR(fc_tabular_cont_mean(t, 0), 0, 0); /* no Normalize */
        FCT_NEAR(fc_tabular_cont_std(t, 0), 1, 0);
        FCT_EQ_INT(fc_tabular_n_cat(t), 1); /* b_na */
    }
    fc_tabular_free(t);
    /* median of an even count: the mean of the middle two (pandas) */
    p = write_csv("tab_fill2.csv", "b,y\n1,a\n4,b\n,a\n10,b\n2,a\n");
    t = fc_tabular_from_csv(p, .y = "y", .cont = FC_NAMES("b"), .valid_pct = -1);
    FCT_NOTNULL(t);
    if (t) FCT_NEAR(fc_tabular_fill_value(t, 0), 3, 0);
    fc_tabular_free(t);
}

FCT_TEST(test_cont_cat_split_and_y_block) {
    const char *p = write_csv("tab_split.csv", "s,f,i,big,y\n"
                                               "u,1.5,1,100,0.5\nv,2,2,200,1.5\nu,3,3,300,2\nw,4,1,400,3.25\n");
    fc_tabular *t = fc_tabular_from_csv(p, .y = "y", .valid_pct = -1, .max_card = 3);
    FCT_NOTNULL(t);
    if (t) {
        /* s strings: cat; f floats: cont; i 3 distinct ints <= max_card: cat; big 4 > 3: cont */
        FCT_EQ_INT(fc_tabular_n_cat(t), 2);
        FCT_STR(fc_tabular_cat_name(t, 0), "s");
        FCT_STR(fc_tabular_cat_name(t, 1), "i");
        FCT_EQ_INT(fc_tabular_n_cont(t), 2);
        FCT_STR(fc_tabular_cont_name(t, 0), "f");
        FCT_STR(fc_tabular_cont_name(t, 1), "big");
        FCT_TRUE(fc_tabular_is_regression(t)); /* floats */
        int64_t n;
        const char *const *cl = fc_tabular_classes(t, 1, &n);
        FCT_EQ_INT(n, 4);
        if (n == 4) FCT_STR(cl[3], "3"); /* numbers sorted as numbers */
    }
    fc_tabular_free(t);
    t = fc_tabular_from_csv(p, .y = "i", .cont = FC_NAMES("f"), .valid_pct = -1);
    FCT_NOTNULL(t);
    if (t) FCT_TRUE(!fc_tabular_is_regression(t)); /* a few integers: category */
    fc_tabular_free(t);
    t = fc_tabular_from_csv(p, .y = "i", .cont = FC_NAMES("f"), .valid_pct = -1, .y_block = FC_Y_REGRESSION);
    FCT_NOTNULL(t);
    if (t) FCT_TRUE(fc_tabular_is_regression(t));
    fc_tabular_free(t);
}

FCT_TEST(test_splits_random_col_index) {
    char text[2048] = "v,k,y\n";
    for (int i = 0; i < 50; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%d,%s,%c\n", i, i % 5 == 0 ? "True" : "False",
                 i % 2 ? 'a' : 'b');
    const char *p = write_csv("tab_rows.csv", text);
    fc_tabular *t = fc_tabular_from_csv(p, .y = "y", .cont = FC_NAMES("v"), .valid_pct = 0.2, .seed = 7);
    FCT_NOTNULL(t);
    fc_tabular *t2 = fc_tabular_from_csv(p, .y = "y", .cont = FC_NAMES("v"), .valid_pct = 0.2, .seed = 7);
    fc_tabular *t3 = fc_tabular_from_csv(p, .y = "y", .cont = FC_NAMES("v"), .valid_pct = 0.2, .seed = 8);
    if (t && t2 && t3) {
        FCT_EQ_INT(fc_tabular_n_rows(t, FC_SPLIT_VALID), 10);
        FCT_EQ_INT(fc_tabular_n_rows(t, FC_SPLIT_TRAIN), 40);
        /* same seed, same split (same training mean); another seed, another split */
        FCT_NEAR(fc_tabular_cont_mean(t, 0), fc_tabular_cont_mean(t2, 0), 0);
        FCT_TRUE(fc_tabular_cont_mean(t, 0) != fc_tabular_cont_mean(t3, 0));
    }
    fc_tabular_free(t);
    fc_tabular_free(t2);
    fc_tabular_free(t3);
    t = fc_tabular_from_csv(p, .y = "y", .cont = FC_NAMES("v"), .valid_col = "k");
    FCT_NOTNULL(t);
    if (t) {
        FCT_EQ_INT(fc_tabular_n_rows(t, FC_SPLIT_VALID), 10);
        /* training rows: v not a multiple of 5: mean of those 40 */
        double s = 0;
        for (int i = 0; i < 50; i++) s += i % 5 ? i : 0;
        FCT_NEAR(fc_tabular_cont_mean(t, 0), s / 40, 1e-9);
    }
    fc_tabular_free(t);
    t = fc_tabular_from_csv(p, .y = "y", .cont = FC_NAMES("v"), .valid_idx = (const int64_t[]){0, 49},
                            .n_valid_idx = 2);
    FCT_NOTNULL(t);
    if (t) {
        FCT_EQ_INT(fc_tabular_n_rows(t, FC_SPLIT_VALID), 2);
        FCT_NEAR(fc_tabular_cont_mean(t, 0), 24.5, 1e-9); /* 1..48 */
    }
    fc_tabular_free(t);
    FCT_NULL(fc_tabular_from_csv(p, .y = "y", .cont = FC_NAMES("v"), .valid_idx = (const int64_t[]){50},
                                 .n_valid_idx = 1));
    FCT_ERROR(FC_ERR_ARG, ".valid_idx[0] = 50 is outside the 50 rows");
}

static char *read_text(FILE *f) {
    long n = ftell(f);
    rewind(f);
    char *s = calloc((size_t)n + 1, 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
    return s;
}

FCT_TEST(test_show_batch_decodes_labels_and_numbers) {
    fc_tabular *t = small_table();
    fc_dataloaders *dls = fc_tabular_dataloaders(t, .bs = 4, .no_shuffle = 1);
    fc_tabular_free(t);
    FCT_NOTNULL(dls);
    if (!dls) return;
    FILE *f = tmpfile();
    FCT_OK(fc_tabular_show_batch(dls->train, f, 0));
    char *s = read_text(f);
    fclose(f);
    if (s) {
        /* header, then row 0 "x  False  False  1.5  10.0  no" */
        FCT_TRUE(strstr(s, "a ") == s);
        FCT_TRUE(strstr(s, "b_na") && strstr(s, "c_na") && strstr(s, " y\n"));
        FCT_TRUE(strstr(s, "x  False  False  1.5  10.0  no") != NULL);
        FCT_TRUE(strstr(s, "y  True   False  2.0  20.0  yes") != NULL);
        if (!strstr(s, "x  False  False  1.5  10.0  no")) fprintf(stderr, "%s", s);
    }
    free(s);
    /* the dataset's decode, as fc_show_batch uses it */
    fc_tuple b = {0}, *items = NULL;
    int64_t n = 0;
    FCT_OK(fc_dataloader_one_batch(dls->train, &b));
    FCT_OK(fc_dataloader_decode_batch(dls->train, &b, &items, &n));
    FCT_EQ_INT(n, 4);
    if (n == 4) {
        FCT_STR(items[3].v[0].text, "a=z; b_na=False; c_na=False; b=2.0; c=40.0");
        FCT_STR(items[3].v[1].text, "yes");
    }
    for (int64_t i = 0; i < n; i++) fc_tuple_free(&items[i]);
    free(items);
    fc_tuple_free(&b);
    fc_dataloaders_free(dls);
}

FCT_TEST(test_loaders_shuffle_and_drop_last) {
    char text[4096] = "v,y\n";
    for (int i = 0; i < 100; i++) snprintf(text + strlen(text), sizeof text - strlen(text), "%d,%c\n", i, i % 2 ? 'a' : 'b');
    const char *p = write_csv("tab_dl.csv", text);
    fc_dataloaders *dls = fc_tabular_dls_from_csv(p, .y = "y", .cont = FC_NAMES("v"), .bs = 16);
    FCT_NOTNULL(dls);
    if (!dls) return;
    FCT_EQ_INT(fc_dataloader_n(dls->train), 80);
    FCT_EQ_INT(fc_dataloader_len(dls->train), 5);  /* 80 / 16, last dropped (none here) */
    FCT_EQ_INT(fc_dataloader_len(dls->valid), 2);  /* 20 in batches of 16, last kept */
    FCT_NOTNULL(fc_tabular_of_dls(dls));
    FCT_EQ_INT(dls->n_vocab, 2);
    fc_dataloaders_free(dls);
    dls = fc_tabular_dls_from_csv(p, .y = "y", .cont = FC_NAMES("v"), .bs = 30);
    if (dls) FCT_EQ_INT(fc_dataloader_len(dls->train), 2); /* 80 = 2 * 30 + 20 dropped */
    fc_dataloaders_free(dls);
    fc_dataloaders *other = fc_tensor_dls(fc_zeros(FC_SHAPE(4, 2)), fc_zeros(FC_SHAPE(4)), fc_zeros(FC_SHAPE(4, 2)),
                                          fc_zeros(FC_SHAPE(4)));
    FCT_NULL(fc_tabular_of_dls(other));
    FCT_ERROR(FC_ERR_ARG, "not made by tabular_dataloaders");
    fc_dataloaders_free(other);
}

FCT_TEST(test_test_dl_unseen_categories_and_missing_values) {
    fc_tabular *t = small_table();
    FCT_NOTNULL(t);
    if (!t) return;
    const char *p = write_csv("tab_test.csv", "c,b,a\n30,,w\n10,3.0,z\n");
    fc_dataloader *dl = fc_tabular_test_dl(t, p, 0);
    FCT_NOTNULL(dl);
    if (dl) {
        fc_tuple b = {0};
        FCT_OK(fc_dataloader_one_batch(dl, &b));
        FCT_EQ_INT(b.n, 1); /* no target column: inputs only */
        fc_tensor *x = b.v[0].t;
        FCT_NEAR(xval(t, x, 0, 0), 0, 0);  /* unseen 'w': #na# */
        FCT_NEAR(xval(t, x, 0, 1), 2, 0);  /* b_na True */
        FCT_NEAR(xval(t, x, 0, 3), (2.0 - 2.25) / (0.75 + 1e-7), 1e-6); /* filled with the training median */
        FCT_NEAR(xval(t, x, 1, 0), 3, 0);  /* z */
        FCT_NEAR(xval(t, x, 1, 4), (10 - 22.5) / (sqrt(118.75) + 1e-7), 1e-6);
        fc_tuple_free(&b);
    }
    fc_dataloader_free(dl);
    p = write_csv("tab_test2.csv", "a,y\nx,no\n");
    FCT_NULL(fc_tabular_test_dl(t, p, 0));
    FCT_ERROR(FC_ERR_ARG, "tab_test2.csv lacks 2 columns the model needs: 'b', 'c'");
    p = write_csv("tab_test3.csv", "a,b,c\nx,abc,1\n");
    FCT_NULL(fc_tabular_test_dl(t, p, 0));
    FCT_ERROR(FC_ERR_FORMAT, "tab_test3.csv line 2, column 'b': expected a number, found 'abc'");
    fc_tabular_free(t);
}

FCT_TEST(test_bad_inputs_fail_cleanly) {
    const char *p = write_csv("tab_ragged.csv", "a,b,y\nx,1,n\nz,2\n");
    FCT_NULL(fc_tabular_from_csv(p, .y = "y", .cat = FC_NAMES("a"), .cont = FC_NAMES("b")));
    FCT_ERROR(FC_ERR_FORMAT, "line 3: expected 3 fields");
    p = write_csv("tab_unknown.csv", "a,b,y\nx,1,n\nz,2,m\n");
    FCT_NULL(fc_tabular_from_csv(p, .y = "y", .cat = FC_NAMES("a"), .cont = FC_NAMES("bb")));
    FCT_ERROR(FC_ERR_ARG, "unknown continuous column 'bb' (the columns are 'a', 'b', 'y')");
    FCT_NULL(fc_tabular_from_csv(p, .y = "salary", .cat = FC_NAMES("a")));
    FCT_ERROR(FC_ERR_ARG, "unknown target column 'salary'");
    p = write_csv("tab_nonnum.csv", "a,b,y\nx,1,n\nz,oops,m\n");
    FCT_NULL(fc_tabular_from_csv(p, .y = "y", .cat = FC_NAMES("a"), .cont = FC_NAMES("b")));
    FCT_ERROR(FC_ERR_FORMAT, "tab_nonnum.csv line 3, column 'b': expected a number, found 'oops'");
    p = write_csv("tab_empty.csv", "");
    FCT_NULL(fc_tabular_from_csv(p, .y = "y"));
    FCT_ERROR(FC_ERR_FORMAT, "empty");
    p = write_csv("tab_header.csv", "a,b,y\n");
    FCT_NULL(fc_tabular_from_csv(p, .y = "y"));
    FCT_ERROR(FC_ERR_FORMAT, "tab_header.csv: empty file (a header but no data rows)");
    p = write_csv("tab_notarget.csv", "a,b,y\nx,1,n\nz,2,\n");
    FCT_NULL(fc_tabular_from_csv(p, .y = "y", .cat = FC_NAMES("a"), .valid_pct = -1));
    FCT_ERROR(FC_ERR_FORMAT, "line 3: the target 'y' is missing");
    FCT_NULL(fc_tabular_from_csv("no_such_file.csv", .y = "y"));
    FCT_ERROR(FC_ERR_IO, "no_such_file.csv");
    FCT_NULL(fc_tabular_dataloaders(NULL));
    FCT_NULL(fc_tabular_learner(NULL));
}
