/* interpret --json in the CLI tests: the output parsed with the library's JSON reader, a
 * classifier's object checked against itself (the confusion matrix adds up to the items, its
 * diagonal to the accuracy, most_confused are its off-diagonal cells, the top losses are the
 * cross-entropy of their probability, largest first) and against the text output of the same run. */
#ifndef FASTC_TEST_CLI_JSON_H
#define FASTC_TEST_CLI_JSON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/json_impl.h"
#include "fct.h"

/* The whole file (malloc'd), NULL when unreadable. */
static inline char *json_read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = s ? fread(s, 1, (size_t)n, f) : 0;
    fclose(f);
    if (s) s[got] = 0;
    return s;
}

/* cli_out.txt parsed into *j (1), or a failed check (0): one line, valid JSON. */
static inline int json_of_output(fci_json *j) {
    char *out = json_read_all("cli_out.txt");
    int ok = FCT_TRUE(out != NULL);
    if (ok) {
        size_t n = strlen(out);
        FCT_TRUE(n > 0 && out[n - 1] == '\n' && strchr(out, '\n') == out + n - 1); /* one line */
        ok = FCT_OK(fci_json_parse(out, n, "test", "interpret --json", j));
    }
    free(out);
    return ok;
}

static inline double json_num_or(const fci_json *j, const char *key, double dflt) {
    double v = dflt;
    return fci_json_num(j, key, &v) ? v : dflt;
}

/* The index of name among the classes (an array of strings), -1 when absent. */
static inline int64_t json_class(const fci_json *classes, const char *name) {
    for (int64_t c = 0; classes && name && c < classes->n; c++)
        if (classes->items[c].type == FCI_JSON_STRING && !strcmp(classes->items[c].str, name)) return c;
    return -1;
}

/* A classifier's object (app, k top losses): returns the number of classes (0 on a failed check). */
static inline int64_t check_interp_json(const fci_json *j, const char *app, int64_t k) {
    const fci_json *classes = fci_json_get(j, "classes"), *cm = fci_json_get(j, "confusion_matrix"),
                   *conf = fci_json_get(j, "most_confused"), *top = fci_json_get(j, "top_losses");
    FCT_STR(fci_json_str(j, "application"), app);
    double items = json_num_or(j, "items", -1), acc = json_num_or(j, "accuracy", -1);
    if (!FCT_TRUE(classes && cm && conf && top && classes->type == FCI_JSON_ARRAY && cm->type == FCI_JSON_ARRAY &&
                  conf->type == FCI_JSON_ARRAY && top->type == FCI_JSON_ARRAY && items > 0))
        return 0;
    int64_t nc = classes->n;
    if (!FCT_TRUE(nc >= 2 && cm->n == nc)) return 0;
    double total = 0, diag = 0;
    for (int64_t a = 0; a < nc; a++) {
        if (!FCT_TRUE(cm->items[a].type == FCI_JSON_ARRAY && cm->items[a].n == nc)) return 0;
        for (int64_t p = 0; p < nc; p++) {
            total += cm->items[a].items[p].num;
            if (a == p) diag += cm->items[a].items[p].num;
        }
    }
    FCT_NEAR(total, items, 0);
    FCT_NEAR(acc, diag / items, 1e-8);
    /* most_confused: every off-diagonal cell of at least 1, largest first, with its count */
    int64_t n_off = 0;
    for (int64_t a = 0; a < nc; a++)
        for (int64_t p = 0; p < nc; p++) n_off += a != p && cm->items[a].items[p].num >= 1;
    FCT_EQ_INT(conf->n, n_off);
    double prev = INFINITY;
    for (int64_t i = 0; i < conf->n; i++) {
        int64_t a = json_class(classes, fci_json_str(&conf->items[i], "actual"));
        int64_t p = json_class(classes, fci_json_str(&conf->items[i], "predicted"));
        double count = json_num_or(&conf->items[i], "count", -1);
        if (!FCT_TRUE(a >= 0 && p >= 0 && a != p)) continue;
        FCT_NEAR(count, cm->items[a].items[p].num, 0);
        FCT_TRUE(count <= prev);
        prev = count;
    }
    /* top losses: k of them, largest first; the loss is -log of the actual class's probability */
    FCT_EQ_INT(top->n, k < items ? k : (int64_t)items);
    prev = INFINITY;
    for (int64_t i = 0; i < top->n; i++) {
        const fci_json *t = &top->items[i];
        int64_t a = json_class(classes, fci_json_str(t, "actual")), p = json_class(classes, fci_json_str(t, "predicted"));
        double loss = json_num_or(t, "loss", -1), prob = json_num_or(t, "prob", -1), index = json_num_or(t, "index", -1);
        FCT_TRUE(a >= 0 && p >= 0 && index >= 0 && index < items);
        FCT_TRUE(loss >= 0 && loss <= prev + 1e-6 && prob >= 1.0 / (double)nc - 1e-6 && prob <= 1);
        prev = loss;
        if (a == p) FCT_NEAR(loss, -log(prob), 1e-4);
        else FCT_TRUE(loss >= -log(1 - prob) - 1e-4);
        FCT_TRUE(fci_json_str(t, "file") != NULL);
    }
    return nc;
}

/* The text output's confusion matrix (the nc lines after "actual \ predicted", counts last) equals
 * the JSON's. */
static inline void check_cm_agrees(const fci_json *j, const char *text) {
    const fci_json *cm = fci_json_get(j, "confusion_matrix");
    const char *p = strstr(text, "actual \\ predicted");
    if (!FCT_TRUE(cm && p)) return;
    for (int64_t a = 0; a < cm->n; a++) {
        p = strchr(p, '\n');
        if (!FCT_TRUE(p != NULL)) return;
        p++;
        const char *e = strchr(p, '\n');
        char line[1024];
        size_t len = e ? (size_t)(e - p) : strlen(p);
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        char *tok[256];
        int nt = 0;
        for (char *s = strtok(line, " \t"); s && nt < 256; s = strtok(NULL, " \t")) tok[nt++] = s;
        if (!FCT_TRUE(nt > cm->n)) return;
        for (int64_t c = 0; c < cm->n; c++) FCT_NEAR(atof(tok[nt - cm->n + c]), cm->items[a].items[c].num, 0);
    }
}

/* Vision and tabular: the text's top losses ("loss\tpredicted\tactual\titem" lines after "top
 * losses (") are the JSON's, in the same order; the item is the file (vision) or CSV:ROW. */
static inline void check_top_losses_agree(const fci_json *j, const char *text) {
    const fci_json *top = fci_json_get(j, "top_losses");
    const char *p = strstr(text, "top losses (");
    if (!FCT_TRUE(top && p)) return;
    for (int64_t i = 0; i < top->n; i++) {
        p = strchr(p, '\n');
        if (!FCT_TRUE(p != NULL)) return;
        p++;
        char pred[256], actual[256], item[1200], want[1300];
        double loss = -1;
        if (!FCT_TRUE(sscanf(p, " %lf\t%255[^\t]\t%255[^\t]\t%1199[^\n]", &loss, pred, actual, item) == 4)) return;
        const fci_json *t = &top->items[i];
        FCT_NEAR(loss, json_num_or(t, "loss", -1), 6e-5);
        FCT_STR(fci_json_str(t, "predicted"), pred);
        FCT_STR(fci_json_str(t, "actual"), actual);
        double row = json_num_or(t, "row", -1);
        if (row >= 0) snprintf(want, sizeof want, "%s:%.0f", fci_json_str(t, "file"), row);
        else snprintf(want, sizeof want, "%s", fci_json_str(t, "file"));
        FCT_STR(item, want);
    }
}

#endif
