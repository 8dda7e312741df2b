/* Data-parallel training, run by ctest as `mpirun -np 2 test_distributed` (one thread per rank).
 * Every rank runs every test in the same order (the collectives match); each rank also builds the
 * single-process reference itself (one learner, no fc_learner_distributed, batch 2B), so the
 * comparisons need no files. Also runs with -np 1 (the distributed learner is then plain). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fastc/distributed.h"
#include "fastc/vision.h"
#include "fct.h"
#include "vision/vision_data.h"

#define N_TRAIN 64
#define N_VALID 37 /* odd: the valid shards are padded, and the padding must not count */
#define B 8        /* per-rank batch; the reference uses world * B */

static fc_tensor *xt, *yt, *xv, *yv;

static void make_data(void) {
    fc_manual_seed(7);
    xt = fc_keep(fc_randn(FC_SHAPE(N_TRAIN, 8)));
    yt = fc_keep(fc_randint(0, 3, FC_SHAPE(N_TRAIN)));
    xv = fc_keep(fc_randn(FC_SHAPE(N_VALID, 8)));
    yv = fc_keep(fc_randint(0, 3, FC_SHAPE(N_VALID)));
}

static void free_data(void) {
    fc_tensor_free(xt);
    fc_tensor_free(yt);
    fc_tensor_free(xv);
    fc_tensor_free(yv);
}

/* No BatchNorm and no dropout: the 2-rank step must be the same function as the 1-rank one. */
static fc_module *mlp(void) {
    fc_manual_seed(11);
    return fc_sequential(fc_linear_new(8, 16), fc_relu_new(), fc_linear_new(16, 3));
}

static fc_learner *make_learner(int64_t bs, int distributed) {
    fc_learner *learn = fc_learner(fc_tensor_dls(xt, yt, xv, yv, .bs = bs, .seed = 5), mlp(),
                                   .opt_func = fc_opt_sgd, .metrics = FC_METRICS(fc_accuracy()), .quiet = 1);
    if (learn && distributed) FCT_OK(fc_learner_distributed(learn, .timeout_s = 60, .bucket_mb = 0.0002));
    return learn;
}

FCT_TEST(test_distributed_sampler_shards_like_one_big_batch) {
    /* Pure loader test (no communication): rank r of 2 takes padded positions r, r + 2, ...; batch b
     * of both ranks together is batch b of the unsharded loader with twice the batch size. */
    fc_tensor *x = fc_arange(0, 11, 1), *y = fc_arange(0, 11, 1);
    fc_dataloader *whole = fc_dataloader_new(fc_tensor_dataset(x, fc_kind_tensor, y, NULL), .bs = 4, .shuffle = 1, .seed = 3);
    fc_dataloader *part[2];
    for (int r = 0; r < 2; r++) {
        part[r] = fc_dataloader_new(fc_tensor_dataset(x, fc_kind_tensor, y, NULL), .bs = 2, .shuffle = 1, .seed = 3);
        FCT_OK(fc_dataloader_set_shard(part[r], r, 2));
        FCT_EQ_INT(fc_dataloader_n_epoch_items(part[r]), 6);
        FCT_EQ_INT(fc_dataloader_len(part[r]), 3);
        FCT_OK(fc_dataloader_start(part[r], 1));
    }
    FCT_OK(fc_dataloader_start(whole, 1));
    int seen[11] = {0};
    for (int b = 0; b < 3; b++) {
        fc_tuple w = {0}, p0 = {0}, p1 = {0};
        FCT_EQ_INT(fc_dataloader_next(whole, &w), 1);
        FCT_EQ_INT(fc_dataloader_next(part[0], &p0), 1);
        FCT_EQ_INT(fc_dataloader_next(part[1], &p1), 1);
        const float *wv = fc_tensor_data_f32(w.v[0].t), *a = fc_tensor_data_f32(p0.v[0].t), *c = fc_tensor_data_f32(p1.v[0].t);
        int64_t nw = fc_tensor_numel(w.v[0].t);
        for (int64_t j = 0; j < fc_tensor_numel(p0.v[0].t); j++) {
            if (2 * j < nw) FCT_NEAR(a[j], wv[2 * j], 0);     /* padded positions wrap to the start */
            if (2 * j + 1 < nw) FCT_NEAR(c[j], wv[2 * j + 1], 0);
            seen[(int)a[j]]++;
            seen[(int)c[j]]++;
        }
        fc_tuple_free(&w);
        fc_tuple_free(&p0);
        fc_tuple_free(&p1);
    }
    int all = 1;
    for (int i = 0; i < 11; i++) all &= seen[i] >= 1;
    FCT_TRUE(all); /* every item once, one of them twice (the padding) */
    FCT_OK(fc_dataloader_set_shard(part[0], 0, 1)); /* world 1: whole again */
    FCT_EQ_INT(fc_dataloader_len(part[0]), 6);
    FCT_TRUE(fc_dataloader_set_shard(part[0], 2, 2) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "expected 0 <= rank < world, found rank 2, world 2");
    fc_dataloader_free(whole);
    fc_dataloader_free(part[0]);
    fc_dataloader_free(part[1]);
    fc_tensor_free(x);
    fc_tensor_free(y);
}

/* K = 4 steps (64 items, B per rank, world ranks) vs 64 / (world B) steps of one process. The
 * weights agree to float rounding: each averaged gradient sums the same 2B per-item terms in a
 * different order (two B-sums then their mean, vs one 2B-sum), a relative difference of a few
 * float epsilons (6e-8) per element per step; over 4 SGD steps at lr 0.1 that stays below 1e-6, so
 * atol 1e-5 with rtol 1e-4 has a margin of 10 while a wrong shard or a missing average (a factor
 * 2 on the gradient, or another rank's items) moves weights by 1e-2. */
FCT_TEST(test_distributed_weights_equal_one_process_with_world_times_batch) {
    make_data();
    FCT_OK(fc_distributed_init());
    int world = fc_distributed_size(); /* -np 1: the reference is the same run */
    fc_learner *ref = make_learner(world * B, 0);
    fc_learner *dist = make_learner(B, 1);
    if (!FCT_NOTNULL(ref) || !FCT_NOTNULL(dist)) goto done;
    FCT_OK(fc_fit(ref, 1, 0.1));
    FCT_OK(fc_fit(dist, 1, 0.1));
    fc_module *a = fc_learner_model(ref), *b = fc_learner_model(dist);
    FCT_EQ_INT(fc_module_n_parameters(a), 4);
    for (int i = 0; i < fc_module_n_parameters(a); i++)
        FCT_CLOSE(fc_module_parameter(b, i, NULL), fc_module_parameter(a, i, NULL), 1e-5, 1e-4);
    /* the weights moved: the comparison is not between two untouched initializations */
    fc_module *init = mlp();
    double moved = 0;
    const float *w0 = fc_tensor_data_f32(fc_module_parameter(init, 0, NULL)), *w1 = fc_tensor_data_f32(fc_module_parameter(b, 0, NULL));
    for (int64_t j = 0; j < 128; j++) moved = fmax(moved, fabs(w0[j] - w1[j]));
    FCT_TRUE(moved > 1e-3);
    fc_module_free(init);
    if (fc_distributed_size() > 1) {
        fc_distributed_stats s;
        FCT_OK(fc_learner_distributed_stats(dist, &s));
        FCT_EQ_INT(s.steps, N_TRAIN / (world * B));
        FCT_EQ_INT(s.bytes_per_step, (8 * 16 + 16 + 16 * 3 + 3) * 4);
        FCT_TRUE(s.n_buckets >= 2); /* 0.0002 MB (52-float) buckets: several, to exercise the bucketing */
        FCT_EQ_INT(s.buckets_started_in_backward, s.steps * s.n_buckets); /* all from the hook */
    }
    /* valid loss and accuracy over the whole validation set (37 items, padding dropped) */
    FCT_NEAR(fc_learner_valid_loss(dist), fc_learner_valid_loss(ref), 1e-5);
    FCT_NEAR(fc_learner_monitor(dist, "accuracy"), fc_learner_monitor(ref, "accuracy"), 1e-9);
    FCT_NEAR(fc_learner_train_loss(dist), fc_learner_train_loss(ref), 1e-5);
done:
    fc_learner_free(ref);
    fc_learner_free(dist);
    free_data();
}

/* Same weights (seeded, and broadcast from rank 0): every rank's validation and predictions are
 * those of one process over all 37 items, in the same order. */
FCT_TEST(test_distributed_validation_covers_the_whole_set) {
    make_data();
    FCT_OK(fc_distributed_init());
    fc_learner *ref = make_learner(fc_distributed_size() * B, 0), *dist = make_learner(B, 1);
    if (!FCT_NOTNULL(ref) || !FCT_NOTNULL(dist)) goto done;
    double lr_ = 0, ld = 0, vr[1] = {0}, vd[1] = {0};
    FCT_OK(fc_learner_validate(ref, NULL, &lr_, vr));
    FCT_OK(fc_learner_validate(dist, NULL, &ld, vd));
    FCT_NEAR(ld, lr_, 1e-6); /* one loss per item either way; the batch means are re-weighted */
    FCT_NEAR(vd[0], vr[0], 1e-12); /* accuracy: the same counts */
    fc_tensor *pr = NULL, *tr = NULL, *pd = NULL, *td = NULL;
    FCT_OK(fc_learner_get_preds(ref, NULL, &pr, &tr, NULL));
    FCT_OK(fc_learner_get_preds(dist, NULL, &pd, &td, NULL));
    if (pr && pd) {
        FCT_EQ_INT(fc_tensor_dim(pd, 0), N_VALID);
        FCT_CLOSE(pd, pr, 1e-6, 1e-5);
        FCT_CLOSE(td, tr, 0, 0);
    }
    fc_tensor_free(pr);
    fc_tensor_free(tr);
    fc_tensor_free(pd);
    fc_tensor_free(td);
done:
    fc_learner_free(ref);
    fc_learner_free(dist);
    free_data();
}

/* With SyncBatchNorm the equivalence holds for a model with BatchNorm too: the batch statistics
 * are those of world * B items, like the reference's; the running stats agree as well (unbiased
 * var with the global count). Same tolerance argument as above (the statistics add one more
 * reordered sum per channel). */
FCT_TEST(test_distributed_sync_bn_equals_one_process_with_world_times_batch) {
    make_data();
    FCT_OK(fc_distributed_init());
    int world = fc_distributed_size(); /* -np 1: the reference is the same run */
    fc_learner *l[2];
    for (int k = 0; k < 2; k++) {
        fc_manual_seed(11);
        fc_module *m = fc_sequential(fc_linear_new(8, 16), fc_batchnorm1d_new(16), fc_relu_new(), fc_linear_new(16, 3));
        l[k] = fc_learner(fc_tensor_dls(xt, yt, xv, yv, .bs = k ? B : world * B, .seed = 5), m, .opt_func = fc_opt_sgd,
                          .quiet = 1);
        if (k && l[k]) FCT_OK(fc_learner_distributed(l[k], .timeout_s = 60, .bn = FC_DIST_BN_SYNC));
    }
    if (!FCT_NOTNULL(l[0]) || !FCT_NOTNULL(l[1])) goto done;
    FCT_OK(fc_fit(l[0], 2, 0.1));
    FCT_OK(fc_fit(l[1], 2, 0.1));
    fc_module *a = fc_learner_model(l[0]), *b = fc_learner_model(l[1]);
    FCT_STR(fc_module_type(fc_module_child(b, "1")), "BatchNorm1d"); /* still named so: freezing, wd */
    for (int i = 0; i < fc_module_n_parameters(a); i++)
        FCT_CLOSE(fc_module_parameter(b, i, NULL), fc_module_parameter(a, i, NULL), 1e-5, 1e-4);
    for (int i = 0; i < 2; i++) /* running_mean, running_var */
        FCT_CLOSE(fc_module_buffer(b, i, NULL), fc_module_buffer(a, i, NULL), 1e-5, 1e-4);
    FCT_NEAR(fc_learner_valid_loss(l[1]), fc_learner_valid_loss(l[0]), 1e-5);
done:
    fc_learner_free(l[0]);
    fc_learner_free(l[1]);
    free_data();
}

/* lr_find under data-parallel training: each step's loss is averaged over the ranks before the
 * Recorder smooths it, so every rank records the curve of one process with batch world * B, stops
 * at the same batch and suggests the same lrs. With rank-local losses a rank whose own loss passed
 * 4x its minimum stopped while the others waited in the next gradient allreduce, and the ranks'
 * suggestions differed (so would the lr each then trained with). The sweep's top lrs (to 10, SGD)
 * make the loss diverge: the stop is exercised. */
FCT_TEST(test_distributed_lr_find_equals_one_process_with_world_times_batch) {
    make_data();
    FCT_OK(fc_distributed_init());
    int world = fc_distributed_size();
    fc_learner *ref = make_learner(world * B, 0), *dist = make_learner(B, 1);
    if (!FCT_NOTNULL(ref) || !FCT_NOTNULL(dist)) goto done;
    fc_lr_suggestions sr = {0}, sd = {0};
    FCT_OK(fc_lr_find(ref, &sr, .num_it = 60, .start_lr = 1e-4, .end_lr = 1e3));
    FCT_OK(fc_lr_find(dist, &sd, .num_it = 60, .start_lr = 1e-4, .end_lr = 1e3));
    FCT_TRUE(sr.n > 10 && sr.n < 60); /* stopped by the divergence, not by num_it */
    FCT_EQ_INT(sd.n, sr.n);
    int64_t n = fc_recorder_n_batches(ref);
    FCT_EQ_INT(fc_recorder_n_batches(dist), n);
    const double *lr_ = fc_recorder_losses(ref), *ld = fc_recorder_losses(dist);
    double worst = 0;
    for (int64_t i = 0; i < n && i < fc_recorder_n_batches(dist); i++)
        worst = fmax(worst, fabs(ld[i] - lr_[i]) / fmax(1.0, fabs(lr_[i])));
    FCT_TRUE(worst < 1e-4);
    FCT_NEAR(sd.valley, sr.valley, 1e-6 * sr.valley);
    FCT_NEAR(sd.steep, sr.steep, 1e-6 * sr.steep);
    FCT_NEAR(sd.minimum, sr.minimum, 1e-6 * sr.minimum);
done:
    fc_learner_free(ref);
    fc_learner_free(dist);
    free_data();
}

/* Two groups for fine_tune: the first linear, and the head. */
static fc_status body_head(fc_module *m, fc_param_groups *g) {
    fc_module *body = fc_module_child(m, "0"), *head = fc_module_child(m, "2");
    fc_tensor *p[2] = {fc_module_parameter(body, 0, NULL), fc_module_parameter(body, 1, NULL)};
    fc_tensor *h[2] = {fc_module_parameter(head, 0, NULL), fc_module_parameter(head, 1, NULL)};
    fc_status st = fc_param_groups_add(g, p, 2);
    return st == FC_OK ? fc_param_groups_add(g, h, 2) : st;
}

/* fine_tune (freeze, one-cycle, unfreeze, one-cycle with discriminative lrs) under data-parallel
 * training ends with the weights of one process with batch world * B: the frozen phase trains
 * only the head on every rank, and the second phase's groups keep their lrs. */
FCT_TEST(test_distributed_fine_tune_equals_one_process_with_world_times_batch) {
    make_data();
    FCT_OK(fc_distributed_init());
    int world = fc_distributed_size();
    fc_learner *l[2];
    for (int k = 0; k < 2; k++) {
        l[k] = fc_learner(fc_tensor_dls(xt, yt, xv, yv, .bs = k ? B : world * B, .seed = 5), mlp(),
                          .opt_func = fc_opt_sgd, .splitter = body_head, .quiet = 1);
        if (k && l[k]) FCT_OK(fc_learner_distributed(l[k], .timeout_s = 60));
    }
    if (!FCT_NOTNULL(l[0]) || !FCT_NOTNULL(l[1])) goto done;
    fc_module *init = mlp();
    FCT_OK(fc_fine_tune(l[0], 2, .base_lr = 0.2, .freeze_epochs = 1));
    FCT_OK(fc_fine_tune(l[1], 2, .base_lr = 0.2, .freeze_epochs = 1));
    fc_module *a = fc_learner_model(l[0]), *b = fc_learner_model(l[1]);
    for (int i = 0; i < fc_module_n_parameters(a); i++)
        FCT_CLOSE(fc_module_parameter(b, i, NULL), fc_module_parameter(a, i, NULL), 1e-5, 1e-4);
    /* both phases moved the body: the unfrozen phase ran (the frozen one cannot move it) */
    const float *w0 = fc_tensor_data_f32(fc_module_parameter(init, 0, NULL));
    const float *w1 = fc_tensor_data_f32(fc_module_parameter(b, 0, NULL));
    double moved = 0;
    for (int64_t j = 0; j < 128; j++) moved = fmax(moved, fabs(w0[j] - w1[j]));
    FCT_TRUE(moved > 1e-4);
    FCT_EQ_INT(fc_recorder_n_epochs(l[1]), 2); /* the last fit's rows: the unfrozen phase */
    FCT_NEAR(fc_learner_valid_loss(l[1]), fc_learner_valid_loss(l[0]), 1e-5);
    FCT_NEAR(fc_learner_train_loss(l[1]), fc_learner_train_loss(l[0]), 1e-5);
    fc_module_free(init);
done:
    fc_learner_free(l[0]);
    fc_learner_free(l[1]);
    free_data();
}

FCT_TEST(test_distributed_rejects_bad_options) {
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 2)), *y = fc_zeros(FC_SHAPE(4), .dtype = FC_DTYPE_I64);
    fc_learner *learn = fc_learner(fc_tensor_dls(x, y, x, y), fc_linear_new(2, 2), .quiet = 1);
    FCT_TRUE(fc_learner_distributed(learn, .timeout_s = -1) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "must be >= 0, found 0 and -1");
    FCT_TRUE(fc_learner_distributed(learn, .bn = (fc_dist_bn)7) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, ".bn must be");
    fc_learner_free(learn);
    fc_tensor_free(x);
    fc_tensor_free(y);
}

/* MNIST_SAMPLE (3 vs 7) on all ranks, each a shard: a small CNN converges in one epoch. */
FCT_TEST(test_distributed_mnist_sample_converges) {
    const char *path = vision_dataset("mnist_sample");
    if (!path) return;
    fc_dataloaders *dls = fc_image_dls_from_folder(path, .bs = 64, .n_workers = 1);
    static const int64_t actns[] = {1, 16, 32, 64, 2};
    fc_manual_seed(1);
    fc_learner *learn = fc_learner(dls, fc_simple_cnn(actns, 5, .bn = 1), .metrics = FC_METRICS(fc_accuracy()),
                                   .log = stderr);
    if (!FCT_NOTNULL(learn)) return;
    FCT_OK(fc_learner_distributed(learn, .timeout_s = 120));
    FCT_OK(fc_fit_one_cycle(learn, 1, 1e-2));
    double acc = fc_learner_monitor(learn, "accuracy");
    if (fc_distributed_rank() == 0)
        fprintf(stderr, "mnist_sample on %d ranks: accuracy %.4f after 1 epoch\n", fc_distributed_size(), acc);
    fct_check(acc >= 0.95, __FILE__, __LINE__, "expected accuracy >= 0.95 after one epoch, found %.4f", acc);
    fc_learner_free(learn);
}
