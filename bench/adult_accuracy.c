/* ADULT_SAMPLE accuracy over several seeds, on a split given from outside: bench/fastai_adult.py
 * writes fastai's own RandomSplitter(0.2, seed=42) validation rows to a file, trains fastai's
 * tabular_learner, and runs this program on the same rows, so the two accuracies are comparable.
 *   adult_accuracy [valid_idx.txt] [n_seeds] [epochs] [lr] [threads]
 * valid_idx.txt: one 0-based data-row index per line (omitted: fastc's own seeded 20% split).
 * Prints "FASTC_ACC seed acc seconds" per seed. FASTC_DATA: the shared data folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fastc/tabular.h"

static int64_t *read_idx(const char *path, int64_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "adult_accuracy: cannot open %s\n", path);
        exit(1);
    }
    int64_t cap = 8192, k = 0;
    int64_t *idx = malloc((size_t)cap * sizeof *idx);
    long long v;
    while (fscanf(f, "%lld", &v) == 1) {
        if (k == cap) idx = realloc(idx, (size_t)(cap *= 2) * sizeof *idx);
        idx[k++] = v;
    }
    fclose(f);
    *n = k;
    return idx;
}

int main(int argc, char **argv) {
    const char *idx_path = argc > 1 && strcmp(argv[1], "-") ? argv[1] : NULL;
    int n_seeds = argc > 2 ? atoi(argv[2]) : 3;
    int epochs = argc > 3 ? atoi(argv[3]) : 3;
    double lr = argc > 4 ? atof(argv[4]) : 1e-2;
    fc_set_num_threads(argc > 5 ? atoi(argv[5]) : 2);
    const char *dir = check(fc_untar_data("adult_sample", .no_download = 1) != NULL) ? fc_untar_data("adult_sample") : NULL;
    char csv[1200];
    snprintf(csv, sizeof csv, "%s/adult.csv", dir);
    int64_t n_idx = 0, *idx = idx_path ? read_idx(idx_path, &n_idx) : NULL;
    for (int s = 0; s < n_seeds; s++) {
        double t0 = now_ms();
        fc_manual_seed((uint64_t)s + 1);
        fc_dataloaders *dls = fc_tabular_dls_from_csv(
            csv, .y = "salary",
            .cat = FC_NAMES("workclass", "education", "marital-status", "occupation", "relationship", "race"),
            .cont = FC_NAMES("age", "fnlwgt", "education-num"), .valid_pct = 0.2, .seed = 42, .valid_idx = idx,
            .n_valid_idx = n_idx, .bs = 64);
        check(dls != NULL);
        fc_learner *learn = fc_tabular_learner(dls, .metrics = FC_METRICS(fc_accuracy()), .quiet = 1);
        check(learn != NULL);
        check(fc_fit_one_cycle(learn, epochs, lr) == FC_OK);
        printf("FASTC_ACC %d %.4f %.2f (valid rows %lld)\n", s + 1, fc_learner_monitor(learn, "accuracy"),
               (now_ms() - t0) / 1e3, (long long)fc_tabular_n_rows(fc_tabular_of_dls(dls), FC_SPLIT_VALID));
        fc_learner_free(learn);
    }
    free(idx);
    return 0;
}
