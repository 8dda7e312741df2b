/* Tabular training throughput on ADULT_SAMPLE (fastai's tutorial config): rows/s of
 * fit_one_cycle with the default TabularModel ([200, 100], emb_sz_rule) and Adam. Writes the
 * processed training rows to <out> so bench/torch_tabular.py trains the same model on the same
 * data (run that script: it runs this program first and prints the ratio).
 *   tabular_bench [out.bin] [bs] [epochs] [threads]
 * FASTC_DATA: the shared data folder; FASTC_EXTRACT: where adult_sample is extracted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fastc/tabular.h"

/* Header line "fastc-tabular n w n_cat n_cont n_out card..." then x f32 [n, w], y i64 [n]. */
static void dump(const char *path, fc_tabular *t, fc_dataloader *train, int64_t n_out) {
    fc_dataset *ds = fc_dataloader_dataset(train);
    int64_t n = fc_dataset_len(ds);
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    fc_tuple b = {0};
    check(fc_dataloader_batch_of(train, idx, n, &b) == FC_OK);
    FILE *f = fopen(path, "wb");
    check(f != NULL || fc_fail(FC_ERR_IO, "cannot write %s", path));
    fprintf(f, "fastc-tabular %lld %lld %d %d %lld", (long long)n, (long long)fc_tensor_dim(b.v[0].t, 1),
            fc_tabular_n_cat(t), fc_tabular_n_cont(t), (long long)n_out);
    for (int j = 0; j < fc_tabular_n_cat(t); j++) {
        int64_t c;
        fc_tabular_classes(t, j, &c);
        fprintf(f, " %lld", (long long)c);
    }
    fprintf(f, "\n");
    fwrite(fc_tensor_data(b.v[0].t), sizeof(float), (size_t)fc_tensor_numel(b.v[0].t), f);
    fwrite(fc_tensor_data(b.v[1].t), sizeof(int64_t), (size_t)n, f);
    fclose(f);
    fc_tuple_free(&b);
    free(idx);
}

int main(int argc, char **argv) {
    const char *out = argc > 1 ? argv[1] : "tabular_bench_data.bin";
    int64_t bs = argc > 2 ? atoll(argv[2]) : 64;
    int epochs = argc > 3 ? atoi(argv[3]) : 2;
    int threads = argc > 4 ? atoi(argv[4]) : 2;
    fc_set_num_threads(threads);
    const char *dir = check(fc_untar_data("adult_sample", .no_download = 1) != NULL) ? fc_untar_data("adult_sample") : NULL;
    char csv[1200];
    snprintf(csv, sizeof csv, "%s/adult.csv", dir);
    double t0 = now_ms();
    fc_dataloaders *dls = fc_tabular_dls_from_csv(
        csv, .y = "salary",
        .cat = FC_NAMES("workclass", "education", "marital-status", "occupation", "relationship", "race"),
        .cont = FC_NAMES("age", "fnlwgt", "education-num"), .valid_pct = 0.2, .seed = 42, .bs = bs);
    check(dls != NULL);
    double t_load = now_ms() - t0;
    fc_tabular *t = fc_tabular_of_dls(dls);
    int64_t n_out = 0;
    fc_tabular_y_classes(t, &n_out);
    dump(out, t, dls->train, n_out);
    fc_learner *learn = fc_tabular_learner(dls, .quiet = 1);
    check(learn != NULL);
    /* warm-up: a short fit so the allocator's cache and the kernels' first-call costs are paid */
    fc_manual_seed(1);
    int64_t rows = fc_dataloader_len(dls->train) * bs * epochs;
    t0 = now_ms();
    check(fc_fit_one_cycle(learn, epochs, 1e-2) == FC_OK);
    double ms = now_ms() - t0;
    double acc_loss = fc_learner_valid_loss(learn);
    /* the validation pass is inside fit: time it alone to take it out of the training rate */
    t0 = now_ms();
    double vloss;
    check(fc_learner_validate(learn, NULL, &vloss, NULL) == FC_OK);
    double v_ms = now_ms() - t0;
    double train_ms = ms - epochs * v_ms;
    printf("fastc tabular: load+process %.0f ms; %d epochs bs %lld threads %d: %.0f ms (valid %.0f ms/epoch), "
           "valid loss %.4f\n", t_load, epochs, (long long)bs, threads, ms, v_ms, acc_loss);
    printf("FASTC_ROWS_PER_S %.0f\n", rows / (train_ms / 1e3));
    fc_learner_free(learn);
    return 0;
}
