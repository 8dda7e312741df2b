/* show-batch, lr-find and interpret from the shell on ratings and texts, and -o on tables: on
 * ml-100k (u.data: a collab model trained one epoch in well under a second) the decoded batch
 * table holds ratings of u.data, lr-find's JSON parses and its plot is a PNG, interpret's top
 * losses are the squared errors of rows of the file, largest first. On an IMDB_SAMPLE subset (100
 * training and 40 validation reviews, a tiny AWD-LSTM) the same for a text classifier, with its
 * confusion matrix; a language model has nothing to interpret (exit 2). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fct.h"
#include "vision/vision_data.h"

#include "cli_json.h"
#include "cli_run.h"

/* The lines of text after the line that starts with head (at most max, up to an empty line), each
 * split into its whitespace-separated fields: fields[i][j] (at most 48 per line, 64 bytes each). */
typedef struct table {
    int n;
    int n_fields[64];
    char field[64][48][64];
} table;
static int table_after(const char *text, const char *head, int skip, table *t) {
    memset(t, 0, sizeof *t);
    const char *p = strstr(text, head);
    if (!p) return 0;
    for (int s = 0; s <= skip && p; s++) p = strchr(p, '\n'), p = p ? p + 1 : NULL;
    while (p && *p && *p != '\n' && t->n < 64) {
        const char *e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        const char *q = p;
        while (q < e && t->n_fields[t->n] < 48) {
            while (q < e && *q == ' ') q++;
            if (q == e) break;
            const char *w = q;
            while (q < e && *q != ' ') q++;
            size_t len = (size_t)(q - w) < 63 ? (size_t)(q - w) : 63;
            memcpy(t->field[t->n][t->n_fields[t->n]++], w, len);
        }
        t->n++;
        p = *e ? e + 1 : e;
    }
    return t->n;
}
/* Field j counted from the end of row i. */
static const char *from_end(const table *t, int i, int j) { return t->field[i][t->n_fields[i] - 1 - j]; }


/* Line k (1-based) of text into out. */
static int line_of(const char *text, long k, char *out, size_t n) {
    const char *p = text;
    for (long i = 1; i < k && p; i++) p = strchr(p, '\n'), p = p ? p + 1 : NULL;
    if (!p || !*p) return 0;
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len >= n) len = n - 1;
    memcpy(out, p, len);
    out[len] = 0;
    return 1;
}

/* lr-find's JSON line: valley, minimum and steep positive, points as asked (fewer when the loss
 * diverged first). */
static void check_lr_json(int iters) {
    char *out = slurp("cli_out.txt");
    fci_json j;
    if (!FCT_OK(fci_json_parse(out, strlen(out), "test", "lr-find --json", &j))) return;
    double valley = -1, minimum = -1, steep = -1, points = -1;
    FCT_TRUE(fci_json_num(&j, "valley", &valley) && fci_json_num(&j, "minimum", &minimum) &&
             fci_json_num(&j, "steep", &steep) && fci_json_num(&j, "points", &points));
    FCT_TRUE(valley > 1e-8 && valley < 10 && minimum > 0 && steep > 0);
    FCT_TRUE(points >= 2 && points <= iters);
    fci_json_free(&j);
}

FCT_TEST(test_cli_collab_show_batch_lr_find_interpret) {
    const char *dir = vision_dataset("ml-100k");
    if (!dir) return;
    char data[1200], test[1200], titles[1200];
    snprintf(data, sizeof data, "%s/u.data", dir);
    snprintf(test, sizeof test, "%s/u1.test", dir);
    snprintf(titles, sizeof titles, "%s/u.item", dir);
    char *ratings = json_read_all(data);
    if (!FCT_TRUE(ratings != NULL)) return;

    /* show-batch: user, item, rating of 6 training ratings, each a line of u.data */
    FCT_EQ_INT(RUN("show-batch", "collab", data, "--sep", "tab", "--no-header", "-n", "6"), 0);
    table t;
    FCT_EQ_INT(table_after(slurp("cli_out.txt"), "user", 0, &t), 6);
    FCT_TRUE(out_has("user") && out_has("item") && out_has("rating"));
    for (int i = 0; i < t.n; i++) {
        char key[512];
        FCT_EQ_INT(t.n_fields[i], 3);
        snprintf(key, sizeof key, "\n%s\t%s\t%s\t", t.field[i][0], t.field[i][1], t.field[i][2]);
        FCT_TRUE(strstr(ratings, key) != NULL || !strncmp(ratings, key + 1, strlen(key + 1)));
    }
    /* -o: the same table in a file, with the titles of u.item */
    remove("cli_collab_batch.txt");
    FCT_EQ_INT(RUN("show-batch", "collab", data, "--sep", "tab", "--no-header", "-n", "4", "--titles", titles, "-o",
                   "cli_collab_batch.txt"),
               0);
    FCT_TRUE(out_has("wrote cli_collab_batch.txt"));
    char *batch = json_read_all("cli_collab_batch.txt");
    FCT_TRUE(batch && strstr(batch, "title") && table_after(batch, "user", 0, &t) == 4 && strchr(batch, '('));
    free(batch);
    FCT_EQ_INT(RUN("show-batch", "collab", "--sep", "tab"), 2);
    FCT_TRUE(err_has("expected a ratings file after 'collab'") && err_has("fastc show-batch --help"));

    /* lr-find: JSON and the plot through -o */
    remove("cli_collab_lr.png");
    FCT_EQ_INT(RUN("lr-find", "collab", data, "--sep", "tab", "--no-header", "--iters", "30", "--json", "-o",
                   "cli_collab_lr.png"),
               0);
    check_lr_json(30);
    FCT_TRUE(is_png("cli_collab_lr.png"));
    FCT_EQ_INT(RUN("lr-find", "collab", data, "--sep", "tab", "--no-header", "--iters", "20"), 0);
    FCT_TRUE(number_after(slurp("cli_out.txt"), "valley ") > 0 && out_has("steep "));
    FCT_EQ_INT(RUN("lr-find", "collab", data, "--factors", "0"), 2);
    FCT_TRUE(err_has("--factors expects an integer"));

    /* interpret: a model of u.data on the first 1000 ratings of u1.test */
    const char *model = "cli_collab_interp.fcm";
    int rc = RUN("train", "collab", data, "--sep", "tab", "--no-header", "--factors", "20", "--bs", "256", "-o", model, "-q");
    FCT_EQ_INT(rc, 0);
    if (!copy_lines(test, "cli_u1_head.tsv", 2, 1001) || rc != 0) {
        free(ratings);
        return;
    }
    /* copy_lines keeps line 1 (u1.test has no header: it is a rating too) */
    char *sub = json_read_all("cli_u1_head.tsv");
    FCT_EQ_INT(RUN("interpret", model, "cli_u1_head.tsv", "--sep", "tab", "--no-header", "-k", "6"), 0);
    char *out = slurp("cli_out.txt");
    double mse = number_after(out, "mse_flat ");
    printf("  interpret collab: %.0f ratings, MSE %.4f\n", number_after(out, ""), mse);
    FCT_TRUE(!strncmp(out, "1000 ratings: ", 14) && mse > 0.5 && mse < 1.5);
    FCT_NEAR(number_after(out, "rmse "), sqrt(mse), 1e-3);
    FCT_EQ_INT(table_after(out, "top losses:", 1, &t), 6);
    double prev = INFINITY;
    for (int i = 0; i < t.n && sub; i++) {
        FCT_EQ_INT(t.n_fields[i], 6); /* user item actual predicted loss file:line */
        double actual = atof(t.field[i][2]), pred = atof(t.field[i][3]), loss = atof(t.field[i][4]);
        FCT_TRUE(loss <= prev);
        prev = loss;
        FCT_NEAR(loss, (actual - pred) * (actual - pred), 2e-3);
        FCT_TRUE(pred > 0 && pred < 5.5);
        const char *colon = strrchr(t.field[i][5], ':');
        char line[256] = "", want[256];
        FCT_TRUE(colon && line_of(sub, atol(colon + 1), line, sizeof line));
        snprintf(want, sizeof want, "%s\t%s\t%s\t", t.field[i][0], t.field[i][1], t.field[i][2]);
        FCT_TRUE(!strncmp(line, want, strlen(want)));
    }
    FCT_TRUE(prev > 1); /* the worst of 1000 ratings is off by more than one star */
    free(sub);
    /* --json: the same numbers and top losses (in the same order) as one object */
    FCT_EQ_INT(RUN("interpret", model, "cli_u1_head.tsv", "--sep", "tab", "--no-header", "-k", "6", "--json"), 0);
    fci_json j;
    if (json_of_output(&j)) {
        FCT_STR(fci_json_str(&j, "application"), "collab");
        FCT_STR(fci_json_str(&j, "loss_func"), "mse_flat");
        FCT_NEAR(json_num_or(&j, "ratings", 0), 1000, 0);
        FCT_NEAR(json_num_or(&j, "skipped", -1), 0, 0);
        FCT_NEAR(json_num_or(&j, "loss", 0), mse, 6e-5);
        FCT_NEAR(json_num_or(&j, "mse", 0), json_num_or(&j, "loss", 0), 1e-5);
        FCT_NEAR(json_num_or(&j, "rmse", 0), sqrt(json_num_or(&j, "mse", 0)), 1e-7);
        const fci_json *top = fci_json_get(&j, "top_losses");
        if (FCT_TRUE(top && top->type == FCI_JSON_ARRAY && top->n == t.n)) {
            for (int i = 0; i < t.n; i++) { /* t: the text's table above */
                const fci_json *r = &top->items[i];
                char where[1300];
                snprintf(where, sizeof where, "%s:%.0f", fci_json_str(r, "file"), json_num_or(r, "line", 0));
                FCT_STR(fci_json_str(r, "user"), t.field[i][0]);
                FCT_STR(fci_json_str(r, "item"), t.field[i][1]);
                FCT_NEAR(json_num_or(r, "actual", -1), atof(t.field[i][2]), 1e-6);
                FCT_NEAR(json_num_or(r, "predicted", -1), atof(t.field[i][3]), 6e-5);
                FCT_NEAR(json_num_or(r, "loss", -1), atof(t.field[i][4]), 6e-5);
                FCT_STR(where, t.field[i][5]);
            }
        }
        fci_json_free(&j);
    }
    FCT_EQ_INT(RUN("interpret", model, "cli_u1_head.tsv", "--sep", "tab", "--no-header", "--plot", "x.png"), 2);
    FCT_TRUE(err_has("no confusion matrix"));
    FCT_TRUE(access("x.png", F_OK) != 0);
    FCT_EQ_INT(RUN("interpret", model, "cli_u1_head.tsv", "--sep", "tab", "--no-header", "--rating", "stars"), 1);
    FCT_TRUE(err_has("no column 'stars'"));
    remove(model);
    remove("cli_u1_head.tsv");
    remove("cli_collab_lr.png");
    remove("cli_collab_batch.txt");
    free(ratings);
}

/* 100 training and 40 validation reviews of IMDB_SAMPLE (its validation rows are lines 802-1001). */
static int imdb_subset(const char *csv) {
    const char *dir = vision_dataset("imdb_sample");
    if (!dir) return 0;
    char src[1200];
    snprintf(src, sizeof src, "%s/texts.csv", dir);
    return FCT_TRUE(copy_lines_to(src, csv, 2, 102, 0) && copy_lines_to(src, csv, 802, 842, 1));
}

/* The reviews of csv rows [from, to) as DIR/test/<label>/<line>.txt (IMDB's folder layout). */
static int imdb_folder(const char *csv, const char *dir) {
    char *text = json_read_all(csv), line[1 << 15], path[512];
    if (!text) return 0;
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/test", dir);
    mkdir(path, 0777);
    int n = 0;
    for (long k = 102; k < 142 && line_of(text, k, line, sizeof line); k++) {
        char *comma = strchr(line, ','), *end = strrchr(line, ',');
        if (!comma || end == comma) continue;
        *comma = 0;
        *end = 0;
        snprintf(path, sizeof path, "%s/test/%.64s", dir, line);
        mkdir(path, 0777);
        snprintf(path, sizeof path, "%s/test/%.64s/%ld.txt", dir, line, k);
        FILE *f = fopen(path, "w");
        if (!f) break;
        const char *body = comma + 1; /* the quoted review: quotes dropped, "" unescaped */
        for (const char *c = body + (*body == '"'); *c && !(c[0] == '"' && c[1] == 0); c++) {
            fputc(*c, f);
            if (c[0] == '"' && c[1] == '"') c++;
        }
        fclose(f);
        n++;
    }
    free(text);
    return n;
}

/* The top-losses rows of a text classifier: loss largest first, probability in (0, 1], actual the
 * CSV row's label, predicted a class; returns the rows checked. */
static int check_text_top_losses(const char *csv_text, int k) {
    table t;
    int n = table_after(slurp("cli_out.txt"), "top losses:", 1, &t);
    FCT_EQ_INT(n, k);
    double prev = INFINITY;
    for (int i = 0; i < n; i++) {
        const char *actual = from_end(&t, i, 4), *pred = from_end(&t, i, 3), *item = from_end(&t, i, 0);
        double loss = atof(from_end(&t, i, 2)), prob = atof(from_end(&t, i, 1));
        FCT_TRUE(loss <= prev + 1e-6 && loss >= 0);
        prev = loss;
        FCT_TRUE(prob > 0 && prob <= 1);
        FCT_TRUE(!strcmp(pred, "positive") || !strcmp(pred, "negative"));
        /* a wrong prediction's loss is -log(1 - p): above log 2 */
        if (strcmp(actual, pred) != 0) FCT_TRUE(loss > 0.69);
        const char *colon = strrchr(item, ':');
        char line[1 << 15] = "";
        if (csv_text && colon) {
            FCT_TRUE(line_of(csv_text, atol(colon + 1), line, sizeof line));
            FCT_TRUE(!strncmp(line, actual, strlen(actual)) && line[strlen(actual)] == ',');
        } else if (!colon) {
            FCT_TRUE(strstr(item, actual) != NULL); /* DIR/test/<label>/k.txt */
        }
    }
    return n;
}

FCT_TEST(test_cli_text_show_batch_lr_find_interpret) {
    const char *csv = "cli_imdb_sub.csv";
    if (!imdb_subset(csv)) return;
    const char *small[] = {"--emb-sz", "16", "--n-hid", "24", "--n-layers", "2", "--seq-len", "16"};
#define SMALL small[0], small[1], small[2], small[3], small[4], small[5], small[6], small[7]
    /* show-batch: 4 reviews (cut to 60 characters) and their labels */
    FCT_EQ_INT(RUN("show-batch", "text", csv, "--valid-col", "is_valid", "--bs", "8", "-n", "4"), 0);
    table t;
    FCT_EQ_INT(table_after(slurp("cli_out.txt"), "text", 1, &t), 4);
    FCT_TRUE(out_has("label") && out_has("..."));
    for (int i = 0; i < t.n; i++) FCT_TRUE(!strcmp(from_end(&t, i, 0), "positive") || !strcmp(from_end(&t, i, 0), "negative"));
    /* a language model's batch: the stream and its target, to a file */
    remove("cli_text_batch.txt");
    FCT_EQ_INT(RUN("show-batch", "text", csv, "--lm", "--bs", "8", "--seq-len", "16", "-n", "3", "-o", "cli_text_batch.txt"), 0);
    char *batch = json_read_all("cli_text_batch.txt");
    FCT_TRUE(batch && table_after(batch, "text", 1, &t) == 3);
    free(batch);
    FCT_EQ_INT(RUN("show-batch", "text", csv, "--label-col", "sentiment"), 1);
    FCT_TRUE(err_has("sentiment"));

    /* lr-find on the classifier 'train text' would build */
    remove("cli_text_lr.png");
    FCT_EQ_INT(RUN("lr-find", "text", csv, "--valid-col", "is_valid", SMALL, "--bs", "8", "--iters", "8", "--json", "-o",
                   "cli_text_lr.png"),
               0);
    check_lr_json(8);
    FCT_TRUE(is_png("cli_text_lr.png"));
    FCT_EQ_INT(RUN("lr-find", "text", csv, "--valid-col", "is_valid", SMALL, "--bs", "8", "--iters", "3", "--json"), 0);
    FCT_TRUE(out_has("\"valley\":null") && err_has("too few points for suggestions")); /* JSON all the same */
    FCT_EQ_INT(RUN("lr-find", "text"), 2);
    FCT_TRUE(err_has("expected a CSV file or a folder after 'text'"));

    /* interpret a classifier on the 40 validation reviews: as a CSV, then as a folder */
    const char *clas = "cli_imdb_clas.fcm", *lm = "cli_imdb_lm.fcm";
    int rc = RUN("train", "text", csv, "--valid-col", "is_valid", SMALL, "--bs", "16", "-o", clas, "-q");
    FCT_EQ_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", slurp("cli_err.txt"));
        return;
    }
    remove("cli_imdb_cm.png");
    FCT_EQ_INT(RUN("interpret", clas, csv, "--valid-col", "is_valid", "-k", "5", "-o", "cli_imdb_cm.png"), 0);
    char *out = slurp("cli_out.txt");
    FCT_TRUE(!strncmp(out, "40 texts: accuracy ", 19));
    FCT_TRUE(out_has("actual \\ predicted") && out_has("most confused"));
    /* the confusion matrix's rows add up to the 20 positive and 20 negative reviews */
    FCT_EQ_INT(table_after(out, "actual \\ predicted", 0, &t), 2);
    for (int i = 0; i < t.n && t.n_fields[i] == 3; i++) FCT_EQ_INT(atoi(t.field[i][1]) + atoi(t.field[i][2]), 20);
    char *text = json_read_all(csv);
    FCT_EQ_INT(check_text_top_losses(text, 5), 5);
    free(text);
    /* --json: the same accuracy, matrix and top losses (same order, their whole decoded text) */
    text = json_read_all("cli_out.txt");
    table tl;
    int n_tl = text ? table_after(text, "top losses:", 1, &tl) : 0;
    FCT_EQ_INT(RUN("interpret", clas, csv, "--valid-col", "is_valid", "-k", "5", "--json"), 0);
    fci_json j;
    if (text && json_of_output(&j)) {
        FCT_EQ_INT(check_interp_json(&j, "text", 5), 2);
        FCT_NEAR(json_num_or(&j, "items", 0), 40, 0);
        FCT_NEAR(json_num_or(&j, "accuracy", -1), number_after(text, "accuracy "), 6e-5);
        check_cm_agrees(&j, text);
        const fci_json *top = fci_json_get(&j, "top_losses");
        FCT_EQ_INT(n_tl, 5);
        for (int i = 0; top && i < top->n && i < n_tl; i++) {
            const fci_json *r = &top->items[i];
            char where[1300];
            snprintf(where, sizeof where, "%s:%.0f", fci_json_str(r, "file"), json_num_or(r, "line", 0));
            FCT_STR(where, from_end(&tl, i, 0));
            FCT_STR(fci_json_str(r, "actual"), from_end(&tl, i, 4));
            FCT_STR(fci_json_str(r, "predicted"), from_end(&tl, i, 3));
            FCT_NEAR(json_num_or(r, "loss", -1), atof(from_end(&tl, i, 2)), 6e-5);
            FCT_NEAR(json_num_or(r, "prob", -1), atof(from_end(&tl, i, 1)), 6e-5);
            const char *whole = fci_json_str(r, "text");
            FCT_TRUE(whole && !strncmp(whole, tl.field[i][0], strlen(tl.field[i][0])));
        }
        fci_json_free(&j);
    }
    free(text);
    FCT_TRUE(is_png("cli_imdb_cm.png"));
    FCT_EQ_INT(RUN("interpret", clas, csv, "--valid-col", "is_valid", "--label-col", "sentiment"), 1);
    FCT_TRUE(err_has("no column 'sentiment'"));
    FCT_EQ_INT(RUN("interpret", clas, csv, "--top-losses", "x.png"), 2);
    FCT_TRUE(err_has("top losses are printed"));
    int n_files = imdb_folder(csv, "cli_imdb_dir");
    FCT_EQ_INT(n_files, 40);
    if (n_files == 40) {
        FCT_EQ_INT(RUN("interpret", clas, "cli_imdb_dir", "-k", "3"), 0);
        FCT_TRUE(!strncmp(slurp("cli_out.txt"), "40 texts: accuracy ", 19));
        FCT_EQ_INT(check_text_top_losses(NULL, 3), 3);
        FCT_EQ_INT(RUN("interpret", clas, "cli_imdb_dir", "-k", "3", "--json"), 0);
        fci_json jd;
        if (json_of_output(&jd)) { /* files, no lines: each in its actual class's folder */
            FCT_EQ_INT(check_interp_json(&jd, "text", 3), 2);
            const fci_json *top = fci_json_get(&jd, "top_losses");
            for (int64_t i = 0; top && i < top->n; i++) {
                char want[128];
                snprintf(want, sizeof want, "cli_imdb_dir/test/%s/", fci_json_str(&top->items[i], "actual"));
                FCT_TRUE(!fci_json_get(&top->items[i], "line") && strstr(fci_json_str(&top->items[i], "file"), want));
            }
            fci_json_free(&jd);
        }
    }
    /* a language model has no classes to interpret */
    FCT_TRUE(copy_lines(csv, "cli_imdb_lm.csv", 2, 26)); /* 24 reviews are enough to make one */
    rc = RUN("train", "text", "cli_imdb_lm.csv", "--lm", SMALL, "--bs", "16", "-o", lm, "-q");
    FCT_EQ_INT(rc, 0);
    FCT_EQ_INT(RUN("interpret", lm, csv), 2);
    FCT_TRUE(err_has("language model; interpret needs a text classifier"));
#undef SMALL
    remove(clas);
    remove(lm);
    remove(csv);
    remove("cli_imdb_lm.csv");
    remove("cli_imdb_cm.png");
    remove("cli_text_lr.png");
    remove("cli_text_batch.txt");
}

/* -o on tabular show-batch (the table to a file) and lr-find (the plot), and on vision lr-find. */
FCT_TEST(test_cli_output_option_tabular_and_vision) {
    const char *dir = vision_dataset("adult_sample");
    if (!dir) return;
    char src[1200];
    snprintf(src, sizeof src, "%s/adult.csv", dir);
    if (!FCT_TRUE(copy_lines(src, "cli_adult_o.csv", 2, 1002))) return;
    remove("cli_tab_batch.txt");
    FCT_EQ_INT(RUN("show-batch", "tabular", "cli_adult_o.csv", "--y", "salary", "--cat", "workclass,sex", "--cont", "age",
                   "-n", "5", "-o", "cli_tab_batch.txt"),
               0);
    FCT_TRUE(out_has("wrote cli_tab_batch.txt") && !out_has("workclass"));
    char *batch = json_read_all("cli_tab_batch.txt");
    table t;
    FCT_TRUE(batch && strstr(batch, "workclass") && strstr(batch, "salary"));
    if (batch) FCT_EQ_INT(table_after(batch, "workclass", 0, &t), 5);
    free(batch);
    remove("cli_tab_lr.png");
    FCT_EQ_INT(RUN("lr-find", "tabular", "cli_adult_o.csv", "--y", "salary", "--iters", "20", "-o", "cli_tab_lr.png"), 0);
    FCT_TRUE(is_png("cli_tab_lr.png") && out_has("plot: cli_tab_lr.png"));
    FCT_EQ_INT(RUN("lr-find", "tabular", "cli_adult_o.csv", "--y", "salary", "-o", "a.png", "--plot", "b.png"), 2);
    FCT_TRUE(err_has("-o and --plot both name the plot"));
    remove("cli_tab_lr.png");
    remove("cli_tab_batch.txt");
    remove("cli_adult_o.csv");

    const char *tiny = vision_dataset("mnist_tiny");
    if (!tiny) return;
    remove("cli_vision_lr.png");
    FCT_EQ_INT(RUN("lr-find", "vision", tiny, "--arch", "resnet9", "--widen", "0.0625", "--bs", "16", "--iters", "6",
                   "-o", "cli_vision_lr.png"),
               0);
    FCT_TRUE(is_png("cli_vision_lr.png"));
    remove("cli_vision_lr.png");
}
