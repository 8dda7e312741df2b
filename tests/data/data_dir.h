/* The shared real-data folder for the data-layer tests: $FASTC_DATA, else the folder beside the
 * checkout (CI: <clone>/../shared/data) or beside the worktrees folder (../../shared/data). */
#ifndef FASTC_TEST_DATA_DIR_H
#define FASTC_TEST_DATA_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Writes the folder holding 'file' to out and returns 1; else returns 0 and prints why: a test
 * then skips, unless $FASTC_DATA or $CI is set, where absent data is a failure (returns -1). */
static inline int test_data_dir(const char *file, char *out, size_t n) {
    const char *env = getenv("FASTC_DATA"), *ci = getenv("CI");
    char root[900], cand[3][1024], tried[3200] = "";
    snprintf(root, sizeof root, "%s", __FILE__); /* <root>/tests/data/data_dir.h, or
                                                    * <root>/tests/<layer>/../data/data_dir.h */
    char *cut = NULL;
    for (char *p = strstr(root, "/tests/"); p; p = strstr(p + 1, "/tests/")) cut = p;
    if (cut) *cut = '\0';
    int n_cand = 0;
    if (env && *env) snprintf(cand[n_cand++], sizeof cand[0], "%s", env);
    else if (cut) {
        snprintf(cand[n_cand++], sizeof cand[0], "%s/../shared/data", root);
        snprintf(cand[n_cand++], sizeof cand[0], "%s/../../shared/data", root);
    }
    for (int k = 0; k < n_cand; k++) {
        char path[1300];
        struct stat st;
        snprintf(path, sizeof path, "%.1023s/%.200s", cand[k], file);
        if (stat(path, &st) == 0) {
            snprintf(out, n, "%.1023s", cand[k]);
            return 1;
        }
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s", used ? " or " : "", cand[k]);
    }
    if ((env && *env) || (ci && *ci)) {
        printf("FAILED: no %s under %s ($FASTC_DATA%s is set: the data must be there)\n", file, tried,
               ci && *ci ? " or $CI" : "");
        return -1;
    }
    printf("skipped: no %s under %s (set FASTC_DATA)\n", file, tried);
    return 0;
}

#endif
