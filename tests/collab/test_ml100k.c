/* MovieLens 100k (u.data, 20% random valid split): fastai's collab tutorial, fit_one_cycle(5, 5e-3,
 * wd=0.1). EmbeddingDotBias with 50 factors must reach valid MSE <= 0.83 (fastai: ~0.82); EmbeddingNN
 * (emb_sz_rule sizes, layers [50]) <= 0.90. Each fit takes seconds of CPU (minutes on a loaded machine). */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "data/data_dir.h"
#include "fastc/collab.h"
#include "fct.h"

static const char *ml100k(void) {
    char data[1100];
    int found = test_data_dir("ml-100k.tar.gz", data, sizeof data);
    FCT_TRUE(found >= 0);
    if (found <= 0) return NULL;
    mkdir("collab_data", 0777);
    const char *path = fc_untar_data("ml-100k", .data_dir = data, .dest = "collab_data", .no_download = 1);
    FCT_NOTNULL(path);
    return path;
}

static fc_dataloaders *ml100k_dls(const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/u.data", dir);
    return fc_collab_dls_from_csv(path, .sep = '\t', .no_header = 1, .bs = 64);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

FCT_TEST(test_ml100k_embedding_dot_bias_reaches_fastai_mse) {
    const char *dir = ml100k();
    if (!dir) return;
    char items[1200];
    snprintf(items, sizeof items, "%s/u.item", dir);
    fc_manual_seed(42);
    fc_dataloaders *dls = ml100k_dls(dir);
    if (!FCT_NOTNULL(dls)) return;
    int64_t n_users, n_items;
    fc_collab_users(dls, &n_users);
    fc_collab_items(dls, &n_items);
    FCT_EQ_INT(n_users, 944); /* every user is in the training rows, plus #na# */
    FCT_TRUE(n_items > 1600 && n_items <= 1683);
    FCT_EQ_INT(fc_dataloader_n(dls->valid), 20000);
    fc_learner *learn = fc_collab_learner(dls, .n_factors = 50, .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    double t0 = now();
    FCT_OK(fc_fit_one_cycle(learn, 5, 5e-3, .wd = 0.1));
    double mse = fc_learner_valid_loss(learn);
    printf("  ml-100k EmbeddingDotBias(50): valid MSE %.4f in %.1f s\n", mse, now() - t0);
    FCT_TRUE(mse <= 0.83);
    FILE *f = fopen("collab_ml100k_inspect.txt", "w");
    FCT_OK(fc_collab_inspect(learn, f, .titles_path = items));
    if (f) fclose(f);
    fc_learner_free(learn);
}

FCT_TEST(test_ml100k_embedding_nn) {
    const char *dir = ml100k();
    if (!dir) return;
    fc_manual_seed(42);
    fc_learner *learn = fc_collab_learner(ml100k_dls(dir), .use_nn = 1, .n_factors = 50, .quiet = 1);
    if (!FCT_NOTNULL(learn)) return;
    double t0 = now();
    FCT_OK(fc_fit_one_cycle(learn, 5, 5e-3, .wd = 0.1));
    double mse = fc_learner_valid_loss(learn);
    printf("  ml-100k EmbeddingNN (emb 74 + 102, layers [50]): valid MSE %.4f in %.1f s\n", mse, now() - t0);
    FCT_TRUE(mse <= 0.90);
    fc_learner_free(learn);
}
