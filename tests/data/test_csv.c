/* The CSV reader: RFC 4180 quoting, line endings, BOM, missing values, separators, typed columns,
 * every malformed case with its message, and the real ADULT sample when it is present. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fastc/data.h"
#include "fct.h"

static fc_csv *parse(const char *text) { return fc_csv_parse(text, strlen(text), "x.csv"); }

FCT_TEST(test_csv_reads_header_and_cells) {
    fc_csv *c = parse("a,b,c\n1,2,3\n4,5,6\n");
    if (!FCT_NOTNULL(c)) return;
    FCT_EQ_INT(fc_csv_n_rows(c), 2);
    FCT_EQ_INT(fc_csv_n_cols(c), 3);
    FCT_STR(fc_csv_col_name(c, 2), "c");
    FCT_TRUE(fc_csv_col_name(c, 3) == NULL);
    FCT_EQ_INT(fc_csv_col_index(c, "b"), 1);
    FCT_EQ_INT(fc_csv_col_index(c, "zz"), -1);
    FCT_STR(fc_csv_cell(c, 1, 2), "6");
    FCT_EQ_INT(fc_csv_row_line(c, 1), 3);
    FCT_NULL(fc_csv_cell(c, 2, 0));
    FCT_ERROR(FC_ERR_ARG, "expected row in [0, 2)");
    fc_csv_free(c);
}

FCT_TEST(test_csv_trailing_newline_is_optional_and_whitespace_kept) {
    fc_csv *c = parse("a,b\n 1, Private \n2,x");
    if (!FCT_NOTNULL(c)) return;
    FCT_EQ_INT(fc_csv_n_rows(c), 2);
    FCT_STR(fc_csv_cell(c, 0, 1), " Private ");
    FCT_STR(fc_csv_cell(c, 0, 0), " 1");
    FCT_STR(fc_csv_cell(c, 1, 1), "x");
    fc_csv_free(c);
}

FCT_TEST(test_csv_quoted_fields_with_separators_and_doubled_quotes) {
    fc_csv *c = parse("name,text\n\"Smith, J\",\"say \"\"hi\"\"\"\n\"\",\"\"\"\"\n");
    if (!FCT_NOTNULL(c)) return;
    FCT_EQ_INT(fc_csv_n_rows(c), 2);
    FCT_STR(fc_csv_cell(c, 0, 0), "Smith, J");
    FCT_STR(fc_csv_cell(c, 0, 1), "say \"hi\"");
    FCT_STR(fc_csv_cell(c, 1, 0), "");
    FCT_TRUE(!fc_csv_is_missing(c, 1, 0)); /* a quoted "" is an empty string, not missing */
    FCT_STR(fc_csv_cell(c, 1, 1), "\"");
    fc_csv_free(c);
}

FCT_TEST(test_csv_embedded_newlines_keep_line_numbers) {
    const char *text = "id,note,v\n1,\"two\nlines\",5\n2,\"three\r\nline\nnote\",6\n3,plain,x\n";
    fc_csv *c = parse(text);
    if (!FCT_NOTNULL(c)) return;
    FCT_EQ_INT(fc_csv_n_rows(c), 3);
    FCT_STR(fc_csv_cell(c, 0, 1), "two\nlines");
    FCT_STR(fc_csv_cell(c, 1, 1), "three\r\nline\nnote");
    FCT_EQ_INT(fc_csv_row_line(c, 0), 2);
    FCT_EQ_INT(fc_csv_row_line(c, 1), 4);
    FCT_EQ_INT(fc_csv_row_line(c, 2), 7);
    float v[3];
    FCT_TRUE(fc_csv_col_f32(c, "v", v, -1) == FC_ERR_FORMAT);
    FCT_ERROR(FC_ERR_FORMAT, "read_csv: x.csv line 7, column 'v': expected a number, found 'x'");
    fc_csv_free(c);
}

FCT_TEST(test_csv_crlf_and_bom) {
    fc_csv *c = parse("\xEF\xBB\xBF" "a,b\r\n1,\"q\r\nr\"\r\n\r\n3,4\r\n");
    if (!FCT_NOTNULL(c)) return;
    FCT_STR(fc_csv_col_name(c, 0), "a"); /* the BOM is not part of the first name */
    FCT_EQ_INT(fc_csv_n_rows(c), 2);     /* the blank line is skipped */
    FCT_STR(fc_csv_cell(c, 0, 1), "q\r\nr");
    FCT_STR(fc_csv_cell(c, 1, 1), "4");
    FCT_EQ_INT(fc_csv_row_line(c, 1), 5);
    fc_csv_free(c);
}

FCT_TEST(test_csv_missing_values) {
    fc_csv *c = parse("a,b,c\n,2,\n1.5,,x\n");
    if (!FCT_NOTNULL(c)) return;
    FCT_TRUE(fc_csv_is_missing(c, 0, 0) && fc_csv_is_missing(c, 0, 2) && fc_csv_is_missing(c, 1, 1));
    FCT_TRUE(!fc_csv_is_missing(c, 0, 1) && !fc_csv_is_missing(c, 1, 2));
    FCT_STR(fc_csv_cell(c, 0, 0), "");
    float a[2], b[2];
    FCT_OK(fc_csv_col_f32(c, "a", a, -7));
    FCT_OK(fc_csv_col_f32(c, "b", b, 0));
    FCT_TRUE(a[0] == -7 && a[1] == 1.5f && b[0] == 2 && b[1] == 0);
    FCT_TRUE(fc_csv_col_f32(c, "nope", a, 0) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "x.csv has no column 'nope'");
    fc_csv_free(c);
}

FCT_TEST(test_csv_tab_separator_without_header) {
    /* MovieLens u.data: user \t item \t rating \t timestamp, no header */
    const char *text = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n";
    fc_csv *c = fc_csv_parse(text, strlen(text), "u.data", .sep = '\t', .no_header = 1);
    if (!FCT_NOTNULL(c)) return;
    FCT_EQ_INT(fc_csv_n_rows(c), 3);
    FCT_EQ_INT(fc_csv_n_cols(c), 4);
    FCT_STR(fc_csv_col_name(c, 3), "3");
    FCT_STR(fc_csv_cell(c, 0, 0), "196");
    FCT_EQ_INT(fc_csv_row_line(c, 0), 1);
    float r[3];
    FCT_OK(fc_csv_col_f32(c, "2", r, 0));
    FCT_TRUE(r[0] == 3 && r[2] == 1);
    fc_csv_free(c);
    c = fc_csv_parse(text, strlen(text), "u.data", .sep = '\t', .no_header = 1, .max_rows = 2);
    if (!FCT_NOTNULL(c)) return;
    FCT_EQ_INT(fc_csv_n_rows(c), 2);
    fc_csv_free(c);
}

FCT_TEST(test_csv_custom_quote_and_unique) {
    const char *text = "k;v\n'a;b';1\nc;2\n'a;b';3\n";
    fc_csv *c = fc_csv_parse(text, strlen(text), "q.csv", .sep = ';', .quote = '\'');
    if (!FCT_NOTNULL(c)) return;
    FCT_STR(fc_csv_cell(c, 0, 0), "a;b");
    const char **vals;
    int64_t n, codes[3];
    FCT_OK(fc_csv_col_unique(c, "k", &vals, &n, codes));
    FCT_EQ_INT(n, 2);
    if (n == 2) FCT_TRUE(!strcmp(vals[0], "a;b") && !strcmp(vals[1], "c"));
    FCT_TRUE(codes[0] == 0 && codes[1] == 1 && codes[2] == 0);
    free(vals);
    fc_csv_free(c);
}

FCT_TEST(test_csv_rejects_ragged_rows) {
    FCT_NULL(parse("a,b,c\n1,2,3\n4,5\n"));
    FCT_ERROR(FC_ERR_FORMAT, "read_csv: x.csv line 3: expected 3 fields (as in the header), found 2");
    FCT_NULL(parse("a,b\n1,\"x\ny\",3\n"));
    FCT_ERROR(FC_ERR_FORMAT, "x.csv line 2: expected 2 fields (as in the header), found 3");
    const char *t = "1\t2\n3\n";
    FCT_NULL(fc_csv_parse(t, strlen(t), "u.data", .sep = '\t', .no_header = 1));
    FCT_ERROR(FC_ERR_FORMAT, "u.data line 2: expected 2 fields (as in line 1), found 1");
}

FCT_TEST(test_csv_rejects_unterminated_quote) {
    FCT_NULL(parse("a,b\n1,2\n3,\"open\n4,5\n"));
    FCT_ERROR(FC_ERR_FORMAT,
              "read_csv: x.csv line 3, column 'b': a quoted field opened here is never closed");
}

FCT_TEST(test_csv_rejects_quote_inside_unquoted_field) {
    FCT_NULL(parse("a,b\n1,2\n3,4 \"in\" 5\n"));
    FCT_ERROR(FC_ERR_FORMAT, "x.csv line 3, column 'b': a quote inside an unquoted field");
    FCT_NULL(parse("a,b\n\"x\"y,2\n"));
    FCT_ERROR(FC_ERR_FORMAT, "x.csv line 2, column 'a': unexpected character after a closing quote: 'y'");
}

FCT_TEST(test_csv_rejects_duplicate_header_names) {
    FCT_NULL(parse("age,name,age\n1,2,3\n"));
    FCT_ERROR(FC_ERR_FORMAT, "x.csv line 1: duplicate column name 'age' (columns 1 and 3)");
}

FCT_TEST(test_csv_rejects_empty_file) {
    FCT_NULL(parse(""));
    FCT_ERROR(FC_ERR_FORMAT, "read_csv: x.csv: the file is empty");
    FCT_NULL(parse("\xEF\xBB\xBF\n\r\n"));
    FCT_ERROR(FC_ERR_FORMAT, "the file is empty");
    fc_csv *c = parse("a,b\n"); /* a header alone is a table with no rows */
    if (FCT_NOTNULL(c)) FCT_EQ_INT(fc_csv_n_rows(c), 0);
    fc_csv_free(c);
}

FCT_TEST(test_csv_rejects_bad_options) {
    FCT_NULL(fc_csv_parse("a\n", 2, "x.csv", .max_rows = -1));
    FCT_ERROR(FC_ERR_ARG, ".max_rows must be >= 0, found -1");
    FCT_NULL(fc_csv_parse("a\n", 2, "x.csv", .sep = '"'));
    FCT_ERROR(FC_ERR_ARG, ".sep must differ");
}

FCT_TEST(test_csv_missing_file_is_io_error) {
    FCT_NULL(fc_read_csv("/nonexistent/dir/adult.csv"));
    FCT_ERROR(FC_ERR_IO, "read_csv: cannot open '/nonexistent/dir/adult.csv': No such file");
}

FCT_TEST(test_csv_reads_a_file) {
    char path[] = "/tmp/fastc_csv_XXXXXX";
    int fd = mkstemp(path);
    if (!FCT_TRUE(fd >= 0)) return;
    FILE *f = fdopen(fd, "wb");
    fputs("x,y\n1,2\n3,abc\n", f);
    fclose(f);
    fc_csv *c = fc_read_csv(path);
    if (FCT_NOTNULL(c)) {
        FCT_EQ_INT(fc_csv_n_rows(c), 2);
        float y[2];
        FCT_TRUE(fc_csv_col_f32(c, "y", y, 0) == FC_ERR_FORMAT);
        char want[200];
        snprintf(want, sizeof want, "read_csv: %s line 3, column 'y': expected a number, found 'abc'",
                 path);
        FCT_ERROR(FC_ERR_FORMAT, want);
    }
    fc_csv_free(c);
    remove(path);
}

/* ---- the real ADULT sample ---- */

/* $FASTC_DATA, else the shared data folder beside the checkout (CI: <clone>/../shared/data) or
 * beside the worktrees folder (<worktrees>/<name>/../../shared/data). */
static int find_adult(char *out, size_t n, char *tried, size_t n_tried) {
    const char *env = getenv("FASTC_DATA");
    char root[900];
    snprintf(root, sizeof root, "%s", __FILE__); /* <root>/tests/data/test_csv.c */
    char *cut = strstr(root, "/tests/data/test_csv.c");
    if (cut) *cut = '\0';
    char cand[3][1024];
    int n_cand = 0;
    if (env && *env) snprintf(cand[n_cand++], sizeof cand[0], "%s", env);
    else if (cut) {
        snprintf(cand[n_cand++], sizeof cand[0], "%s/../shared/data", root);
        snprintf(cand[n_cand++], sizeof cand[0], "%s/../../shared/data", root);
    }
    tried[0] = '\0';
    for (int k = 0; k < n_cand; k++) {
        struct stat st;
        size_t lk = strlen(cand[k]);
        if (lk + sizeof "/adult_sample.tar.gz" > n) continue;
        memcpy(out, cand[k], lk);
        memcpy(out + lk, "/adult_sample.tar.gz", sizeof "/adult_sample.tar.gz");
        if (stat(out, &st) == 0) return 1;
        size_t used = strlen(tried);
        snprintf(tried + used, n_tried - used, "%s%s", used ? " or " : "", cand[k]);
    }
    return 0;
}

FCT_TEST(test_csv_reads_adult_sample) {
    char tgz[1100], tried[3400];
    if (!find_adult(tgz, sizeof tgz, tried, sizeof tried)) {
        printf("skipped: no adult_sample.tar.gz under %s (set FASTC_DATA)\n", tried);
        return;
    }
    char dir[] = "/tmp/fastc_adult_XXXXXX";
    if (!FCT_TRUE(mkdtemp(dir) != NULL)) return;
    char cmd[2600], path[200];
    snprintf(cmd, sizeof cmd, "tar -xzf '%s' -C '%s'", tgz, dir);
    int ok = FCT_TRUE(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/adult_sample/adult.csv", dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fc_csv *c = ok ? fc_read_csv(path) : NULL;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (ok && FCT_NOTNULL(c)) {
        printf("  adult.csv: %lld rows parsed in %.1f ms\n", (long long)fc_csv_n_rows(c),
               1e3 * (double)(t1.tv_sec - t0.tv_sec) + 1e-6 * (double)(t1.tv_nsec - t0.tv_nsec));
        FCT_EQ_INT(fc_csv_n_rows(c), 32561);
        FCT_EQ_INT(fc_csv_n_cols(c), 15);
        static const char *names[15] = {
            "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
            "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
            "hours-per-week", "native-country", "salary"};
        for (int j = 0; j < 15; j++) FCT_STR(fc_csv_col_name(c, j), names[j]);
        FCT_STR(fc_csv_cell(c, 0, 1), " Private");
        int s = fc_csv_col_index(c, "salary"), e = fc_csv_col_index(c, "education-num");
        int64_t lo = 0, hi = 0, miss = 0;
        for (int64_t i = 0; i < fc_csv_n_rows(c); i++) {
            lo += !strcmp(fc_csv_cell(c, i, s), "<50k");
            hi += !strcmp(fc_csv_cell(c, i, s), ">=50k");
            miss += fc_csv_is_missing(c, i, e);
        }
        FCT_EQ_INT(lo, 24720);
        FCT_EQ_INT(hi, 7841);
        FCT_EQ_INT(miss, 487);
        float *age = malloc(32561 * sizeof *age);
        FCT_OK(fc_csv_col_f32(c, "age", age, -1));
        FCT_TRUE(age[0] == 49);
        free(age);
    }
    fc_csv_free(c);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    FCT_TRUE(system(cmd) == 0);
}
