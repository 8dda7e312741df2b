/* The CUDA infrastructure of issue 9 (h-cudainfra): plan caches of cuBLASLt / cuDNN, the pinned
 * ring of device batches, the NCCL backend's set-up errors, mixed precision on the device.
 * Host-side logic (cache keys, LRU eviction, the ring's reuse and growth, the "no device" and
 * "no NCCL" errors, local ranks) runs everywhere; the device tests print SKIPPED without a GPU
 * (scripts/gpu-check.sh runs them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cuda_impl.h"
#include "fastc/cuda.h"
#include "fastc/distributed.h"
#include "fastc/learner.h"
#include "fastc/nn.h"
#include "cuda_test.h"
#include "fct.h"
#include "learner/comm_impl.h"
#include "ops/cuda/cuda_ops.h"


/* ---- the plan cache ---- */

static int n_plans_freed;
static void count_free(void *p) {
    n_plans_freed++;
    free(p);
}
static void *plan(int v) {
    int *p = malloc(sizeof *p);
    *p = v;
    return p;
}

FCT_TEST(test_plan_cache_hits_misses_and_lru_eviction) {
    static fci_plan_cache c = {.free_plan = count_free}; /* 64 slots: too big for the stack frame budget */
    n_plans_freed = 0;
    int64_t key[3] = {1, 2, 3};
    FCT_NULL(fci_plan_cache_get(&c, key, sizeof key));
    FCT_OK(fci_plan_cache_put(&c, key, sizeof key, plan(7)));
    int *p = fci_plan_cache_get(&c, key, sizeof key);
    FCT_TRUE(p && *p == 7);
    FCT_EQ_INT(c.hits, 1);
    FCT_EQ_INT(c.misses, 1);
    /* the same bytes under another length are another key */
    FCT_NULL(fci_plan_cache_get(&c, key, 2 * sizeof *key));
    /* fill to capacity; key {1,2,3} is then touched so that {100} (the oldest) is evicted */
    for (int64_t i = 0; i < FCI_PLAN_CACHE_CAP - 1; i++) {
        int64_t k = 100 + i;
        FCT_OK(fci_plan_cache_put(&c, &k, sizeof k, plan((int)k)));
    }
    FCT_EQ_INT(c.n, FCI_PLAN_CACHE_CAP);
    FCT_NOTNULL(fci_plan_cache_get(&c, key, sizeof key));
    int64_t extra = 999;
    FCT_OK(fci_plan_cache_put(&c, &extra, sizeof extra, plan(999)));
    FCT_EQ_INT(c.evictions, 1);
    FCT_EQ_INT(n_plans_freed, 1);
    FCT_EQ_INT(c.n, FCI_PLAN_CACHE_CAP);
    int64_t oldest = 100, second = 101;
    FCT_NULL(fci_plan_cache_get(&c, &oldest, sizeof oldest));
    FCT_NOTNULL(fci_plan_cache_get(&c, &second, sizeof second));
    FCT_NOTNULL(fci_plan_cache_get(&c, key, sizeof key));
    p = fci_plan_cache_get(&c, &extra, sizeof extra);
    FCT_TRUE(p && *p == 999);
    /* a key longer than the slots is refused, and its plan freed */
    unsigned char big[FCI_PLAN_KEY_MAX + 1] = {0};
    FCT_EQ_INT(fci_plan_cache_put(&c, big, sizeof big, plan(1)), FC_ERR_INTERNAL);
    FCT_ERROR(FC_ERR_INTERNAL, "plan cache: a key of 193 bytes");
    FCT_EQ_INT(n_plans_freed, 2);
    fci_plan_cache_clear(&c);
    FCT_EQ_INT(n_plans_freed, 1 + 1 + FCI_PLAN_CACHE_CAP);
    FCT_EQ_INT(c.n, 0);
    FCT_NULL(fci_plan_cache_get(&c, key, sizeof key));
}

FCT_TEST(test_gemm_key_names_what_the_plan_depends_on) {
    static float buf[4096] __attribute__((aligned(256)));
    fci_cuda_gemm_args g = {.m = 8, .n = 16, .k = 32, .alpha = 1, .a = buf, .b = buf + 512, .c = buf + 1024,
                            .lda = 32, .ldb = 16, .ldc = 16, .batch = 1, .stride_a = 77,
                            .ab_dtype = FC_DTYPE_F32, .c_dtype = FC_DTYPE_F32};
    fci_cuda_gemm_key_t k1, k2;
    fci_cuda_gemm_key(0, &g, 0, &k1);
    fci_cuda_gemm_key(0, &g, 0, &k2);
    FCT_TRUE(!memcmp(&k1, &k2, sizeof k1));
    FCT_EQ_INT(k1.stride_a, 0); /* one matrix: its batch stride means nothing */
    FCT_EQ_INT(k1.align_a, 256);
    FCT_EQ_INT(k1.align_b, 256); /* 512 floats = 2048 bytes: capped at 256 */
    /* alpha and beta are arguments of the call, not of the plan */
    g.alpha = 2, g.beta = 1;
    fci_cuda_gemm_key(0, &g, 0, &k2);
    FCT_TRUE(!memcmp(&k1, &k2, sizeof k1));
    /* each of these makes another plan */
    struct {
        const char *what;
        fci_cuda_gemm_args g;
        int device, tf32;
    } v[] = {{"m", g, 0, 0}, {"device", g, 1, 0}, {"tf32", g, 0, 1}, {"trans_b", g, 0, 0},
             {"offset 1 float", g, 0, 0}, {"dtype", g, 0, 0}, {"batch", g, 0, 0}};
    v[0].g.m = 9;
    v[3].g.trans_b = 1;
    v[4].g.a = buf + 1;
    v[5].g.ab_dtype = FC_DTYPE_BF16;
    v[6].g.batch = 4;
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        fci_cuda_gemm_key(v[i].device, &v[i].g, v[i].tf32, &k2);
        if (memcmp(&k1, &k2, sizeof k1) == 0) printf("  a change of %s kept the same key\n", v[i].what);
        FCT_TRUE(memcmp(&k1, &k2, sizeof k1) != 0);
    }
    fci_cuda_gemm_key(0, &v[4].g, 0, &k2);
    FCT_EQ_INT(k2.align_a, 4);
    /* TF32 applies to f32 operands only: a bf16 GEMM ignores the switch */
    fci_cuda_gemm_key(0, &v[5].g, 0, &k1);
    fci_cuda_gemm_key(0, &v[5].g, 1, &k2);
    FCT_TRUE(!memcmp(&k1, &k2, sizeof k1));
}

FCT_TEST(test_conv_key_shares_plans_with_and_without_bias) {
    fci_conv_desc d = {.n = 2, .c = 3, .h = 8, .w = 8, .o = 4, .kh = 3, .kw = 3, .oh = 6, .ow = 6,
                       .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1, .has_bias = 1};
    fci_cuda_conv_key_t k1, k2;
    fci_cuda_conv_key(0, &d, 0, FC_DTYPE_F32, 0, &k1);
    d.has_bias = 0;
    fci_cuda_conv_key(0, &d, 0, FC_DTYPE_F32, 0, &k2);
    FCT_TRUE(!memcmp(&k1, &k2, sizeof k1));
    fci_cuda_conv_key(0, &d, 1, FC_DTYPE_F32, 0, &k2);
    FCT_TRUE(memcmp(&k1, &k2, sizeof k1) != 0);
    d.ph = 1;
    fci_cuda_conv_key(0, &d, 0, FC_DTYPE_F32, 0, &k2);
    FCT_TRUE(memcmp(&k1, &k2, sizeof k1) != 0);
}

/* ---- the pinned ring, with fake host memory and events ---- */

static int n_alloc, n_release, n_wait;
static void *fake_alloc(size_t n) {
    n_alloc++;
    return malloc(n);
}
static void fake_release(void *p) {
    n_release++;
    free(p);
}
static fc_status fake_wait(void *ev) {
    (void)ev;
    n_wait++;
    return FC_OK;
}

FCT_TEST(test_pinned_ring_reuses_slots_in_order_and_grows) {
    n_alloc = n_release = n_wait = 0;
    fci_pinned_hooks hooks = {fake_alloc, fake_release, fake_wait};
    fci_pinned_ring r;
    FCT_EQ_INT(fci_pinned_ring_init(&r, 0, 1, &hooks), FC_ERR_INTERNAL);
    FCT_ERROR(FC_ERR_INTERNAL, "pinned ring: 1 slots");
    FCT_OK(fci_pinned_ring_init(&r, 0, 3, &hooks));
    fci_pinned_slot *s[6];
    for (int i = 0; i < 3; i++) {
        s[i] = fci_pinned_ring_acquire(&r, 1000);
        FCT_NOTNULL(s[i]);
        FCT_EQ_INT(s[i]->size, 1 << 20); /* rounded up to 1 MiB */
        s[i]->pending = 1;               /* as fci_pinned_commit marks a slot whose copy is queued */
    }
    FCT_TRUE(s[0] != s[1] && s[1] != s[2] && s[0] != s[2]);
    FCT_EQ_INT(n_alloc, 3);
    FCT_EQ_INT(n_wait, 0);
    /* the fourth batch gets the first slot back, after waiting for its copy; no new memory */
    void *first = s[0]->p;
    s[3] = fci_pinned_ring_acquire(&r, 5000);
    FCT_TRUE(s[3] == s[0] && s[3]->p == first);
    FCT_EQ_INT(n_wait, 1);
    FCT_EQ_INT(s[3]->pending, 0);
    FCT_EQ_INT(n_alloc, 3);
    /* a larger batch: the slot grows (old buffer released after its copy was waited for) */
    s[4] = fci_pinned_ring_acquire(&r, (3u << 20) + 1);
    FCT_TRUE(s[4] == s[1]);
    FCT_EQ_INT(s[4]->size, 4 << 20);
    FCT_EQ_INT(n_wait, 2);
    FCT_EQ_INT(n_alloc, 4);
    FCT_EQ_INT(n_release, 1);
    FCT_EQ_INT(r.n_allocs, 4);
    FCT_EQ_INT(r.n_waits, 2);
    /* freeing waits for what is still in flight (slot 2) and releases every buffer */
    fci_pinned_ring_free(&r);
    FCT_EQ_INT(n_wait, 3);
    FCT_EQ_INT(n_release, 4);
}

/* ---- errors without a device, without NCCL ---- */

FCT_TEST(test_nccl_backend_errors_say_why) {
    FCT_NULL(fci_comm_nccl_new(NULL, 0));
    if (!fc_distributed_nccl_available())
        FCT_ERROR(FC_ERR_UNSUPPORTED, "fastc was built without NCCL");
    else if (!fc_cuda_is_available())
        FCT_ERROR(FC_ERR_DEVICE, "distributed: CUDA requested but no CUDA device was found");
    else
        FCT_ERROR(FC_ERR_ARG, "the NCCL backend needs the MPI backend");
}

FCT_TEST(test_local_rank_from_the_launcher) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_RANK",
                                       "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"};
    char *saved[5];
    for (int i = 0; i < 5; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(vars[i]);
    }
    FCT_EQ_INT(fci_local_rank_from_env(), -1);
    FCT_EQ_INT(fci_comm_local_rank(NULL), 0);
    setenv("SLURM_LOCALID", "2", 1);
    FCT_EQ_INT(fci_local_rank_from_env(), 2);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", "3", 1); /* Open MPI's wins */
    FCT_EQ_INT(fci_local_rank_from_env(), 3);
    FCT_EQ_INT(fci_comm_local_rank(NULL), 3);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", "x1", 1); /* not a number: the next one */
    FCT_EQ_INT(fci_local_rank_from_env(), 2);
    for (int i = 0; i < 5; i++) {
        if (saved[i]) setenv(vars[i], saved[i], 1);
        else unsetenv(vars[i]);
        free(saved[i]);
    }
    fc_device d = fc_distributed_device();
    if (!fc_cuda_is_available()) FCT_EQ_INT(d.type, FC_DEVICE_CPU);
    else FCT_EQ_INT(d.type, FC_DEVICE_CUDA);
    FCT_EQ_INT(fc_error_code(), FC_OK);
}

/* ---- on a device ---- */

FCT_TEST(test_gemm_plans_are_cached_in_steady_state) {
    NEED_GPU();
    fci_cuda_gemm_cache_clear();
    fc_tensor *a = fc_randn(FC_SHAPE(64, 32)), *b = fc_randn(FC_SHAPE(32, 48));
    fc_tensor *want = fc_matmul(a, b);
    fc_tensor *da = fc_tensor_to(a, FC_CUDA), *db = fc_tensor_to(b, FC_CUDA);
    FCT_CLOSE(host(fc_matmul(da, db)), want, 1e-4, 1e-4);
    fci_plan_cache_stats s1 = fci_cuda_gemm_cache_stats();
    FCT_TRUE(s1.misses >= 1 && s1.n >= 1);
    for (int i = 0; i < 5; i++) FCT_CLOSE(host(fc_matmul(da, db)), want, 1e-4, 1e-4);
    fci_plan_cache_stats s2 = fci_cuda_gemm_cache_stats();
    FCT_EQ_INT(s2.misses, s1.misses); /* no descriptor made, no heuristic run */
    FCT_TRUE(s2.hits >= s1.hits + 5);
    /* an operand at an odd offset (4-byte aligned): its own plan, and the right answer */
    fc_tensor *big = fc_randn(FC_SHAPE(64 * 32 + 1));
    fc_tensor *a1 = fc_reshape(fc_narrow(big, 0, 1, 64 * 32), FC_SHAPE(64, 32));
    fc_tensor *d1 = fc_reshape(fc_narrow(fc_tensor_to(big, FC_CUDA), 0, 1, 64 * 32), FC_SHAPE(64, 32));
    FCT_CLOSE(host(fc_matmul(d1, db)), fc_matmul(a1, b), 1e-4, 1e-4);
    FCT_TRUE(fci_cuda_gemm_cache_stats().misses > s2.misses);
}

FCT_TEST(test_conv_plans_are_cached_in_steady_state) {
    NEED_GPU();
    fci_cuda_conv_cache_clear();
    fc_tensor *x = fc_randn(FC_SHAPE(2, 3, 9, 9)), *w = fc_randn(FC_SHAPE(4, 3, 3, 3)), *b = fc_randn(FC_SHAPE(4));
    fc_tensor *want = fc_conv2d(x, w, b, .padding = {1, 1});
    fc_tensor *dx = fc_tensor_to(x, FC_CUDA), *dw = fc_tensor_to(w, FC_CUDA), *db = fc_tensor_to(b, FC_CUDA);
    FCT_CLOSE(host(fc_conv2d(dx, dw, db, .padding = {1, 1})), want, 1e-4, 1e-4);
    fci_plan_cache_stats s1 = fci_cuda_conv_cache_stats();
    FCT_CLOSE(host(fc_conv2d(dx, dw, NULL, .padding = {1, 1})), fc_conv2d(x, w, NULL, .padding = {1, 1}), 1e-4, 1e-4);
    fci_plan_cache_stats s2 = fci_cuda_conv_cache_stats();
    FCT_EQ_INT(s2.misses, s1.misses); /* the bias does not make another plan */
    FCT_TRUE(s2.hits > s1.hits);
}

FCT_TEST(test_autocast_gemm_on_cuda_matches_the_cpu) {
    NEED_GPU();
    fc_dtype dts[2] = {FC_DTYPE_BF16, FC_DTYPE_F16};
    for (int i = 0; i < 2; i++) {
        fc_tensor *a = fc_randn(FC_SHAPE(3, 40, 24)), *b = fc_randn(FC_SHAPE(24, 16));
        FCT_OK(fc_autocast_begin(dts[i]));
        fc_tensor *want = fc_matmul(a, b); /* the CPU: rounded inputs, f32 GEMM */
        fc_tensor *got = host(fc_matmul(fc_tensor_to(a, FC_CUDA), fc_tensor_to(b, FC_CUDA)));
        FCT_OK(fc_autocast_end());
        FCT_CLOSE(got, want, 1e-4, 1e-4); /* exact products, f32 sums: only the order differs */
        /* and it differs from the f32 product as rounding to 16 bits does */
        fc_tensor *diff = fc_abs(fc_sub(got, fc_matmul(a, b)));
        FCT_TRUE(fc_tensor_item(fc_max(fc_reshape(diff, FC_SHAPE(-1)), 0, 0)) > 1e-5);
    }
}

FCT_TEST(test_unscale_kernel_flags_inf_and_nan) {
    NEED_GPU();
    {
        fc_tensor *g = fc_tensor_to(fc_full(FC_SHAPE(1000), 8.0f), FC_CUDA);
        int32_t *flag = fci_cuda_alloc(0, sizeof *flag), host_flag = 7;
        FCT_OK(fci_cuda_memset0(0, flag, sizeof *flag));
        FCT_OK(fci_cuda_unscale(0, fc_tensor_data(g), 1000, 0.25f, flag));
        FCT_OK(fci_cuda_d2h(0, &host_flag, flag, sizeof host_flag));
        FCT_EQ_INT(host_flag, 0);
        FCT_CLOSE(host(g), fc_full(FC_SHAPE(1000), 2.0f), 0, 0);
        float bad[2] = {INFINITY, NAN};
        for (int k = 0; k < 2; k++) {
            FCT_OK(fci_cuda_memset0(0, flag, sizeof *flag));
            FCT_OK(fci_cuda_h2d(0, (float *)fc_tensor_data(g) + 777, &bad[k], sizeof(float)));
            FCT_OK(fci_cuda_unscale(0, fc_tensor_data(g), 1000, 1.0f, flag));
            FCT_OK(fci_cuda_d2h(0, &host_flag, flag, sizeof host_flag));
            FCT_EQ_INT(host_flag, 1);
            FCT_OK(fci_cuda_h2d(0, (float *)fc_tensor_data(g) + 777, &(float){2.0f}, sizeof(float)));
        }
        fci_cuda_release(0, flag, sizeof *flag);
        fc_tensor_free(g);
    }
    /* the scale kernel (the NCCL allreduce's mean: the summed gradient times 1 / world size) */
    fc_tensor *x = fc_randn(FC_SHAPE(1234)), *xd = fc_tensor_to(x, FC_CUDA);
    FCT_OK(fci_cuda_scale(0, fc_tensor_data(xd), 1234, 0.25f));
    FCT_CLOSE(host(xd), fc_mul_scalar(x, 0.25), 0, 0);
}

/* Two classes of 4-feature points; one epoch of SGD with MixedPrecision on the CPU and on CUDA. */
static void fit_mp(fc_device dev, fc_dtype dt, double init_scale, double *valid_loss, double *scale) {
    fc_manual_seed(3);
    fc_tensor *x = fc_keep(fc_randn(FC_SHAPE(128, 4))), *y = fc_keep(fc_zeros(FC_SHAPE(128), .dtype = FC_DTYPE_I64));
    float *px = fc_tensor_data(x);
    int64_t *py = fc_tensor_data(y);
    for (int64_t i = 0; i < 128; i++) py[i] = px[i * 4] + px[i * 4 + 1] > 0;
    fc_dataloaders *dls = fc_tensor_dls(x, y, x, y, .bs = 16, .seed = 3);
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_module *model = fc_sequential(fc_linear_new(4, 16), fc_relu_new(), fc_linear_new(16, 2));
    FCT_OK(fc_module_to(model, dev));
    fc_callback *mp = fc_mixed_precision(.dtype = dt, .init_scale = init_scale);
    fc_learner *learn = fc_learner(dls, model, .quiet = 1, .lr = 1e-2, .opt_func = fc_opt_sgd, .cbs = FC_CALLBACKS(mp));
    FCT_OK(fc_fit(learn, 2));
    *valid_loss = fc_learner_valid_loss(learn);
    *scale = fc_mixed_precision_scale(fc_learner_cb(learn, "MixedPrecision"));
    FCT_EQ_INT(fc_dataloader_device(fc_learner_dls(learn)->train).type, dev.type); /* the learner moved the batches */
    fc_learner_free(learn);
}

FCT_TEST(test_mixed_precision_on_cuda_matches_the_cpu) {
    NEED_GPU();
    fc_dtype dts[2] = {FC_DTYPE_BF16, FC_DTYPE_F16};
    for (int i = 0; i < 2; i++) {
        /* f16 from a scale of 2^40: the first steps overflow, are skipped and back off, on both */
        double init = dts[i] == FC_DTYPE_F16 ? 1099511627776.0 : 0;
        double lc, sc, lg, sg;
        fit_mp(FC_CPU, dts[i], init, &lc, &sc);
        fit_mp(FC_CUDA, dts[i], init, &lg, &sg);
        FCT_NEAR(lg, lc, 2e-3);
        FCT_NEAR(sg, sc, 0);
        if (dts[i] == FC_DTYPE_F16) FCT_TRUE(sg < init);
    }
}

FCT_TEST(test_device_batches_match_host_batches) {
    NEED_GPU();
    fc_tensor *x = fc_randn(FC_SHAPE(50, 3, 4)), *y = fc_randint(0, 5, FC_SHAPE(50));
    fc_dataloader *h = fc_dataloader_new(fc_tensor_dataset(x, NULL, y, NULL), .bs = 8, .shuffle = 1);
    fc_dataloader *d = fc_dataloader_new(fc_tensor_dataset(x, NULL, y, NULL), .bs = 8, .shuffle = 1,
                                         .n_workers = 2, .device = FC_CUDA);
    FCT_EQ_INT(fc_dataloader_device(d).type, FC_DEVICE_CUDA);
    uint64_t allocs_epoch1 = 0;
    for (int epoch = 0; epoch < 3; epoch++) {
        FCT_OK(fc_dataloader_start(h, epoch));
        FCT_OK(fc_dataloader_start(d, epoch));
        int n = 0;
        for (;;) {
            fc_tuple bh, bd;
            int rh = fc_dataloader_next(h, &bh), rd = fc_dataloader_next(d, &bd);
            FCT_EQ_INT(rd, rh);
            if (rh != 1) break;
            n++;
            for (int k = 0; k < 2; k++) {
                FCT_EQ_INT(fc_tensor_device(bd.v[k].t).type, FC_DEVICE_CUDA);
                FCT_CLOSE(host(bd.v[k].t), bh.v[k].t, 0, 0);
            }
            fc_tuple_free(&bh);
            fc_tuple_free(&bd);
        }
        FCT_EQ_INT(n, 7);
        if (epoch == 1) allocs_epoch1 = fc_cuda_memory_stats_get().n_device_allocs;
    }
    FCT_EQ_INT(fc_cuda_memory_stats_get().n_device_allocs, allocs_epoch1); /* steady state */
    fc_tuple ob; /* one_batch stays on the host (show_batch reads it there) */
    FCT_OK(fc_dataloader_one_batch(d, &ob));
    FCT_EQ_INT(fc_tensor_device(ob.v[0].t).type, FC_DEVICE_CPU);
    fc_tuple_free(&ob);
    fc_dataloader_free(h);
    fc_dataloader_free(d);
    fc_tensor_free(x);
    fc_tensor_free(y);
}

/* get_preds, interp and predict on a learner whose model and batches live on the device hand
 * back host tensors (their consumers read host memory), equal to the same learner's on the CPU. */
typedef struct host_outputs {
    fc_tensor *preds, *targs;
    int64_t cm[4];
    float loss0;
} host_outputs;

static void outputs_on(fc_device dev, host_outputs *o) {
    fc_manual_seed(5);
    fc_tensor *x = fc_keep(fc_randn(FC_SHAPE(96, 4))), *y = fc_keep(fc_zeros(FC_SHAPE(96), .dtype = FC_DTYPE_I64));
    float *px = fc_tensor_data(x);
    int64_t *py = fc_tensor_data(y);
    for (int64_t i = 0; i < 96; i++) py[i] = px[i * 4] - px[i * 4 + 2] > 0;
    fc_dataloaders *dls = fc_tensor_dls(x, y, x, y, .bs = 16, .seed = 5);
    fc_tensor_free(x);
    fc_tensor_free(y);
    fc_module *model = fc_sequential(fc_linear_new(4, 8), fc_relu_new(), fc_linear_new(8, 2));
    FCT_OK(fc_module_to(model, dev));
    fc_learner *learn = fc_learner(dls, model, .quiet = 1, .lr = 1e-2, .opt_func = fc_opt_sgd);
    FCT_OK(fc_fit(learn, 1));
    FCT_OK(fc_learner_get_preds(learn, NULL, &o->preds, &o->targs, NULL));
    FCT_EQ_INT(fc_tensor_device(o->preds).type, FC_DEVICE_CPU);
    FCT_EQ_INT(fc_tensor_device(o->targs).type, FC_DEVICE_CPU);
    fc_interp *in = fc_interp_from_learner(learn, NULL);
    FCT_TRUE(in != NULL);
    int64_t nc = 0;
    const int64_t *cm = in ? fc_interp_confusion_matrix(in, &nc) : NULL;
    FCT_EQ_INT(nc, 2);
    for (int k = 0; cm && k < 4; k++) o->cm[k] = cm[k];
    o->loss0 = in ? fc_interp_losses(in)[0] : NAN;
    FCT_EQ_INT(in ? (int)fc_tensor_device(fc_interp_preds(in)).type : -1, FC_DEVICE_CPU);
    fc_interp_free(in);
    fc_learner_free(learn);
}

FCT_TEST(test_get_preds_and_interp_on_cuda_return_host_tensors) {
    NEED_GPU();
    host_outputs c = {0}, g = {0};
    outputs_on(FC_CPU, &c);
    outputs_on(FC_CUDA, &g);
    if (c.preds && g.preds) FCT_CLOSE(g.preds, c.preds, 1e-4, 1e-4);
    if (c.targs && g.targs) FCT_CLOSE(g.targs, c.targs, 0, 0);
    for (int k = 0; k < 4; k++) FCT_EQ_INT(g.cm[k], c.cm[k]);
    FCT_NEAR(g.loss0, c.loss0, 1e-4);
    fc_tensor_free(c.preds), fc_tensor_free(c.targs), fc_tensor_free(g.preds), fc_tensor_free(g.targs);
}

FCT_TEST(test_zz_infra_report_skips) {
    if (n_skipped)
        printf("  [cuda infra] %d device test(s) SKIPPED: no CUDA device on this machine; these are NOT passes\n",
               n_skipped);
}
