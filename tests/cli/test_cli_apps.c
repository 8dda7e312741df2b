/* The fastc command on tables, ratings and texts, end to end as child processes: on ADULT_SAMPLE,
 * train a tabular model one epoch (on its first 6000 rows, to stay fast), predict a row given as
 * name=value arguments and a held-out CSV (its accuracy printed, its JSON parsed), info; bad inputs
 * fail with a message naming the column and leave no model file. On ml-100k, train a collab model
 * one epoch and predict (user, item) ratings. On generated texts, a tiny AWD-LSTM classifier and
 * language model (IMDB_SAMPLE takes minutes on a loaded 2-core machine: bench/RESULTS.md). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fct.h"
#include "vision/vision_data.h"

#include "cli_json.h"
#include "cli_run.h"

FCT_TEST(test_cli_adult_sample_train_predict_info) {
    const char *dir = vision_dataset("adult_sample");
    if (!dir) return;
    char src[1200];
    snprintf(src, sizeof src, "%s/adult.csv", dir);
    if (!FCT_TRUE(copy_lines(src, "cli_adult_train.csv", 2, 6002) && copy_lines(src, "cli_adult_test.csv", 30001, 30301)))
        return;
    const char *model = "cli_adult.fcm";
    remove(model);
    int rc = RUN("train", "tabular", "cli_adult_train.csv", "--y", "salary", "--cat",
                 "workclass,education,marital-status,occupation,relationship,race,sex", "--cont",
                 "age,fnlwgt,education-num,hours-per-week", "--epochs", "1", "--lr", "1e-2", "-o", model, "--json");
    FCT_EQ_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", slurp("cli_err.txt"));
        return;
    }
    /* the JSON line parses and holds the valid accuracy; 0.76 is what always saying "<50k" gets on
     * adult (24% earn more), one epoch on 6000 rows reaches ~0.82 */
    char *out = slurp("cli_out.txt");
    fci_json j;
    if (FCT_OK(fci_json_parse(out, strlen(out), "test", "train --json", &j))) {
        double acc = -1;
        FCT_TRUE(fci_json_num(&j, "accuracy", &acc));
        printf("  train tabular: valid accuracy %.4f\n", acc);
        FCT_TRUE(acc > 0.78);
        FCT_STR(fci_json_str(&j, "application"), "tabular");
        fci_json_free(&j);
    }
    /* one row as name=value: the first of adult.csv (an Assoc-acdm wife, 40 hours) */
    rc = RUN("predict", model, "age=49", "workclass= Private", "fnlwgt=101320", "education= Assoc-acdm",
             "education-num=12.0", "marital-status= Married-civ-spouse", "occupation=", "relationship= Wife",
             "race= White", "sex= Female", "hours-per-week=40", "native-country= United-States");
    FCT_EQ_INT(rc, 0);
    out = slurp("cli_out.txt");
    FCT_TRUE(!strncmp(out, "<50k\t", 5) || !strncmp(out, ">=50k\t", 6));
    /* a held-out CSV: every row and the accuracy over them */
    FCT_EQ_INT(RUN("predict", model, "cli_adult_test.csv"), 0);
    double acc = number_after(slurp("cli_out.txt"), "# accuracy ");
    printf("  predict on 300 held-out rows: accuracy %.4f\n", acc);
    FCT_TRUE(acc > 0.75);
    FCT_TRUE(out_has("cli_adult_test.csv:300\t"));
    FCT_EQ_INT(RUN("predict", model, "cli_adult_test.csv", "--json"), 0);
    out = slurp("cli_out.txt");
    if (FCT_OK(fci_json_parse(out, strlen(out), "test", "predict --json", &j))) {
        FCT_TRUE(j.type == FCI_JSON_ARRAY && j.n == 300);
        if (j.n > 0) FCT_TRUE(fci_json_str(&j.items[0], "label") != NULL);
        fci_json_free(&j);
    }
    FCT_EQ_INT(RUN("info", model, "--json"), 0);
    FCT_TRUE(out_has("\"application\":\"tabular\"") && out_has("\"y_name\":\"salary\""));
    /* interpret: the confusion matrix of the model on the held-out rows, their top losses named */
    FCT_EQ_INT(RUN("interpret", model, "cli_adult_test.csv", "-k", "3"), 0);
    FCT_TRUE(out_has("actual \\ predicted") && out_has("<50k") && out_has(">=50k"));
    FCT_TRUE(out_has("top losses") && out_has("cli_adult_test.csv:"));
    FCT_EQ_INT(RUN("interpret", model, "cli_adult_test.csv", "--top-losses", "x.png"), 2);
    /* --json, on a copy named with a quote and a backslash (JSON-escaped): the text's numbers */
    const char *odd = "cli_adult \"q\\\".csv";
    FCT_TRUE(copy_lines("cli_adult_test.csv", odd, 2, 302));
    FCT_EQ_INT(RUN("interpret", model, odd, "-k", "4"), 0);
    char *text = json_read_all("cli_out.txt");
    FCT_EQ_INT(RUN("interpret", model, odd, "-k", "4", "--json"), 0);
    if (text && json_of_output(&j)) {
        FCT_EQ_INT(check_interp_json(&j, "tabular", 4), 2);
        FCT_NEAR(json_num_or(&j, "items", 0), 300, 0);
        check_cm_agrees(&j, text);
        check_top_losses_agree(&j, text);
        const fci_json *top = fci_json_get(&j, "top_losses");
        for (int64_t i = 0; top && i < top->n; i++) {
            FCT_STR(fci_json_str(&top->items[i], "file"), odd);
            FCT_NEAR(json_num_or(&top->items[i], "row", 0), json_num_or(&top->items[i], "index", 0) + 1, 0);
        }
        fci_json_free(&j);
    }
    free(text);
    remove(odd);
    /* show-batch: the decoded table, its column names and category labels */
    FCT_EQ_INT(RUN("show-batch", "tabular", "cli_adult_test.csv", "--y", "salary", "--cat", "workclass,sex", "--cont",
                   "age", "-n", "5"),
               0);
    FCT_TRUE(out_has("workclass") && out_has("sex") && out_has("age") && out_has("salary"));
    FCT_TRUE(out_has("Male") || out_has("Female"));
    FCT_EQ_INT(RUN("show-batch", "tabular", "cli_adult_test.csv"), 2);
    FCT_TRUE(err_has("--y COLUMN"));
    /* lr-find: the suggestions and the plot */
    remove("cli_adult_lr.png");
    FCT_EQ_INT(RUN("lr-find", "tabular", "cli_adult_train.csv", "--y", "salary", "--iters", "40", "--plot",
                   "cli_adult_lr.png"),
               0);
    FCT_TRUE(number_after(slurp("cli_out.txt"), "valley ") > 0);
    FCT_TRUE(access("cli_adult_lr.png", F_OK) == 0);
    FCT_EQ_INT(RUN("lr-find", "tabular", "cli_adult_train.csv", "--y", "salary", "--iters", "1"), 2);
    remove("cli_adult_lr.png");
    /* bad inputs: an unknown column (training: no model file left; predict: named), a bad number */
    remove("cli_adult_bad.fcm");
    FCT_EQ_INT(RUN("train", "tabular", "cli_adult_train.csv", "--y", "salary", "--cat", "workclass,nosuchcol", "-o",
                   "cli_adult_bad.fcm"),
               1);
    FCT_TRUE(err_has("nosuchcol"));
    FCT_TRUE(access("cli_adult_bad.fcm", F_OK) != 0);
    FCT_EQ_INT(RUN("train", "tabular", "cli_adult_train.csv", "--y", "wage", "-o", "cli_adult_bad.fcm"), 1);
    FCT_TRUE(err_has("wage"));
    FCT_TRUE(access("cli_adult_bad.fcm", F_OK) != 0);
    FCT_EQ_INT(RUN("predict", model, "age=49", "workclass= Private"), 1);
    FCT_TRUE(err_has("the row has no column 'education'"));
    FCT_EQ_INT(RUN("predict", model, "age=old", "workclass= Private", "fnlwgt=1", "education=", "education-num=1",
                   "marital-status=", "occupation=", "relationship=", "race=", "sex=", "hours-per-week=1"),
               1);
    FCT_TRUE(err_has("column 'age': expected a number, found 'old'"));
    fct_write_file("cli_adult_cols.csv", "age,sex\n30, Male\n", 17); /* without most of the model's columns */
    FCT_EQ_INT(RUN("predict", model, "cli_adult_cols.csv"), 1);
    FCT_TRUE(err_has("lacks") && err_has("'workclass'"));
    FCT_EQ_INT(RUN("predict", model, "cli_adult_test.csv", "age=3"), 1);
    FCT_TRUE(err_has("not both"));
    remove(model);
    remove("cli_adult_train.csv");
    remove("cli_adult_test.csv");
    remove("cli_adult_cols.csv");
}

FCT_TEST(test_cli_ml100k_collab_train_predict) {
    const char *dir = vision_dataset("ml-100k");
    if (!dir) return;
    char src[1200];
    snprintf(src, sizeof src, "%s/u.data", dir);
    const char *model = "cli_ml100k.fcm";
    int rc = RUN("train", "collab", src, "--sep", "tab", "--no-header", "--factors", "20", "--epochs", "1", "--bs", "256",
                 "-o", model, "--json");
    FCT_EQ_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", slurp("cli_err.txt"));
        return;
    }
    char *out = slurp("cli_out.txt");
    fci_json j;
    if (FCT_OK(fci_json_parse(out, strlen(out), "test", "train --json", &j))) {
        double loss = -1;
        FCT_TRUE(fci_json_num(&j, "valid_loss", &loss));
        printf("  train collab: valid MSE %.4f after one epoch\n", loss);
        FCT_TRUE(loss > 0 && loss < 1.1); /* the ratings' variance is 1.27; the mean rating alone gets that */
        fci_json_free(&j);
    }
    /* user 196 rated item 242 (u.data's first line) */
    FCT_EQ_INT(RUN("predict", model, "196", "242", "186", "302", "--json"), 0);
    out = slurp("cli_out.txt");
    if (FCT_OK(fci_json_parse(out, strlen(out), "test", "predict --json", &j))) {
        FCT_TRUE(j.type == FCI_JSON_ARRAY && j.n == 2);
        double r = -1;
        if (j.n == 2) FCT_TRUE(fci_json_num(&j.items[0], "rating", &r));
        FCT_TRUE(r > 0 && r < 5.5);
        fci_json_free(&j);
    }
    FCT_EQ_INT(RUN("predict", model, "196"), 2);
    FCT_TRUE(err_has("expected USER ITEM arguments"));
    FCT_EQ_INT(RUN("predict", model, "99999", "242"), 1);
    FCT_TRUE(err_has("the user '99999' was not in the training ratings"));
    FCT_EQ_INT(RUN("train", "collab", src, "--sep", "tab", "--no-header", "--user", "uid", "-o", "cli_ml_bad.fcm"), 1);
    FCT_TRUE(err_has("'uid'"));
    FCT_TRUE(access("cli_ml_bad.fcm", F_OK) != 0);
    remove(model);
}

/* Two classes of short texts told apart by their words (rows 0..39 valid). */
static void write_texts(const char *path) {
    static const char *const words[] = {"the", "cat", "dog", "sat", "on", "a", "mat", "ran", "to", "house",
                                        "big", "small", "red", "green", "saw", "bird", "tree", "under", "and", "then"};
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "text,label,is_valid\n");
    fc_rng r = fc_rng_new(5);
    for (int i = 0; i < 200; i++) {
        int pos = i % 2, len = 6 + (int)(fc_rng_u32(&r) % 8);
        fprintf(f, "\"");
        for (int k = 0; k < len; k++) fprintf(f, "%s%s", k ? " " : "", words[(int)(fc_rng_u32(&r) % 10) + (pos ? 10 : 0)]);
        fprintf(f, "\",%s,%s\n", pos ? "positive" : "negative", i < 40 ? "True" : "False");
    }
    fclose(f);
}

FCT_TEST(test_cli_text_classifier_and_language_model) {
    write_texts("cli_texts.csv");
    const char *clas = "cli_text_clas.fcm", *lm = "cli_text_lm.fcm";
    int rc = RUN("train", "text", "cli_texts.csv", "--valid-col", "is_valid", "--emb-sz", "16", "--n-hid", "24",
                 "--n-layers", "2", "--seq-len", "16", "--bs", "16", "--epochs", "2", "-o", clas, "--json");
    FCT_EQ_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", slurp("cli_err.txt"));
        return;
    }
    char *out = slurp("cli_out.txt");
    fci_json j;
    if (FCT_OK(fci_json_parse(out, strlen(out), "test", "train --json", &j))) {
        double acc = -1;
        FCT_TRUE(fci_json_num(&j, "accuracy", &acc) && acc >= 0 && acc <= 1);
        FCT_STR(fci_json_str(&j, "application"), "text");
        fci_json_free(&j);
    }
    FCT_EQ_INT(RUN("predict", clas, "the cat sat on a mat", "red bird under the green tree", "--json"), 0);
    out = slurp("cli_out.txt");
    if (FCT_OK(fci_json_parse(out, strlen(out), "test", "predict --json", &j))) {
        FCT_TRUE(j.type == FCI_JSON_ARRAY && j.n == 2);
        for (int64_t i = 0; i < j.n; i++) {
            const char *label = fci_json_str(&j.items[i], "label");
            FCT_TRUE(label && (!strcmp(label, "positive") || !strcmp(label, "negative")));
            const fci_json *p = fci_json_get(&j.items[i], "probs");
            FCT_TRUE(p && p->n == 2 && fabs(p->items[0].num + p->items[1].num - 1) < 1e-5);
        }
        fci_json_free(&j);
    }
    FCT_EQ_INT(RUN("predict", clas, "cli_texts.csv", "-q"), 0); /* a file: its contents are the text */
    FCT_TRUE(out_has("positive\n") || out_has("negative\n"));
    /* a language model on the same texts continues a prompt */
    rc = RUN("train", "text", "cli_texts.csv", "--lm", "--emb-sz", "16", "--n-hid", "24", "--n-layers", "2", "--seq-len",
             "8", "--bs", "8", "-o", lm, "-q");
    FCT_EQ_INT(rc, 0);
    FCT_EQ_INT(RUN("predict", lm, "the cat", "--n-words", "6", "--json"), 0);
    out = slurp("cli_out.txt");
    if (FCT_OK(fci_json_parse(out, strlen(out), "test", "predict --json", &j))) {
        const char *t = j.n == 1 ? fci_json_str(&j.items[0], "text") : NULL;
        FCT_TRUE(t && strlen(t) > strlen("the cat") + 6); /* six more words */
        fci_json_free(&j);
    }
    FCT_EQ_INT(RUN("info", lm), 0);
    FCT_TRUE(out_has("\"model\":\"language_model\"") && out_has("AWD_LSTM"));
    FCT_EQ_INT(RUN("train", "text", "cli_texts.csv", "--label-col", "sentiment", "-o", "cli_text_bad.fcm"), 1);
    FCT_TRUE(err_has("sentiment"));
    FCT_TRUE(access("cli_text_bad.fcm", F_OK) != 0);
    remove(clas);
    remove(lm);
    remove("cli_texts.csv");
}
