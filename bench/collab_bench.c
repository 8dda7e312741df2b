/* Collab training throughput, fastc vs PyTorch on the same work: ml-100k (u.data, 20% random valid
 * split), EmbeddingDotBias(50) and EmbeddingNN (emb_sz_rule sizes, layers [50]), batch 64, MSE,
 * fastai's Adam with wd 0.1, one-cycle at 5e-3, 2 threads. Times the training phase of the second
 * epoch (the first warms up), then runs bench/torch_collab.py on the very same rows (written to
 * collab_bench_rows.bin) and prints both and the ratio.
 * Run from the build folder: ./collab_bench [--fastc-only]   ($FASTC_DATA holds ml-100k.tar.gz) */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "fastc/collab.h"

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

typedef struct timer {
    double t0, c0, train_ms, cpu_ms;
    int64_t rows;
} timer;

static int before_train(fc_learner *learn, void *s) {
    (void)learn;
    ((timer *)s)->t0 = now_ms();
    ((timer *)s)->c0 = cpu_ms();
    return FC_CONTINUE;
}

static int after_train(fc_learner *learn, void *s) {
    timer *t = s;
    t->train_ms = now_ms() - t->t0; /* the last epoch's */
    t->cpu_ms = cpu_ms() - t->c0;
    t->rows = fc_learner_n_iter(learn) * 64;
    return FC_CONTINUE;
}

/* rows of a loader's dataset appended to f: x [n, 2] i64 then y [n] f32 */
static void write_rows(FILE *f, fc_dataloader *dl) {
    fc_dataset *ds = fc_dataloader_dataset(dl);
    int64_t n = fc_dataset_len(ds);
    float *y = malloc((size_t)n * sizeof *y);
    for (int64_t i = 0; i < n; i++) {
        fc_tuple it;
        check(fc_dataset_get(ds, i, NULL, &it) == FC_OK);
        fwrite(fc_tensor_data(it.v[0].t), sizeof(int64_t), 2, f);
        y[i] = (float)fc_tensor_item(it.v[1].t);
        fc_tuple_free(&it);
    }
    fwrite(y, sizeof *y, (size_t)n, f);
    free(y);
}

static double run(const char *path, int use_nn) {
    fc_manual_seed(0);
    fc_dataloaders *dls = fc_collab_dls_from_csv(path, .sep = '\t', .no_header = 1, .bs = 64);
    timer *t = calloc(1, sizeof *t);
    fc_callback *cb = fc_callback_new(&(fc_callback_def){.name = "timer", .state = t, .free_state = free,
                                                        .before_train = before_train, .after_train = after_train});
    fc_learner *learn = fc_collab_learner(dls, .n_factors = 50, .use_nn = use_nn, .quiet = 1, .cbs = FC_CALLBACKS(cb));
    check(learn != NULL);
    check(fc_fit_one_cycle(learn, 2, 5e-3, .wd = 0.1) == FC_OK);
    double rows_s = (double)t->rows / (t->train_ms * 1e-3);
    printf("BENCH name=fastc_collab_%s rows_per_s=%.0f epoch_s=%.3f cpu_s=%.3f valid_mse=%.4f\n",
           use_nn ? "nn" : "dot_bias", rows_s, t->train_ms * 1e-3, t->cpu_ms * 1e-3, fc_learner_valid_loss(learn));
    fflush(stdout);
    fc_learner_free(learn);
    return rows_s;
}

int main(int argc, char **argv) {
    int torch_too = !(argc > 1 && !strcmp(argv[1], "--fastc-only"));
    fc_set_num_threads(2);
    mkdir("collab_data", 0777);
    const char *dir = fc_untar_data("ml-100k", .dest = "collab_data", .no_download = 1);
    check(dir != NULL);
    char path[1024];
    snprintf(path, sizeof path, "%s/u.data", dir);

    fc_dataloaders *dls = fc_collab_dls_from_csv(path, .sep = '\t', .no_header = 1, .bs = 64);
    check(dls != NULL);
    int64_t hdr[4];
    fc_collab_users(dls, &hdr[0]);
    fc_collab_items(dls, &hdr[1]);
    hdr[2] = fc_dataloader_n(dls->train);
    hdr[3] = fc_dataloader_n(dls->valid);
    FILE *f = fopen("collab_bench_rows.bin", "wb");
    fwrite(hdr, sizeof hdr, 1, f);
    write_rows(f, dls->train);
    write_rows(f, dls->valid);
    fclose(f);
    fc_dataloaders_free(dls);

    double ours[2] = {run(path, 0), run(path, 1)}, theirs[2] = {0, 0};
    char here[1024], cmd[2200], line[512];
    snprintf(here, sizeof here, "%s", __FILE__);
    char *slash = strrchr(here, '/');
    if (slash) *slash = '\0';
    const char *torch_py = getenv("TORCH_PY"); /* the Python whose PyTorch to compare with */
    snprintf(cmd, sizeof cmd, "%s %s/torch_collab.py collab_bench_rows.bin", torch_py ? torch_py : "/usr/bin/python3",
             slash ? here : "bench");
    FILE *py = torch_too ? popen(cmd, "r") : NULL;
    while (py && fgets(line, sizeof line, py)) {
        fputs(line, stdout);
        double r;
        char *at = strstr(line, "rows_per_s=");
        if (!at || sscanf(at, "rows_per_s=%lf", &r) != 1) continue;
        theirs[strstr(line, "collab_nn") ? 1 : 0] = r;
    }
    if (py) pclose(py);
    if (torch_too)
        printf("RATIO dot_bias fastc/torch = %.2fx   nn fastc/torch = %.2fx\n", ours[0] / theirs[0], ours[1] / theirs[1]);
    return 0;
}
