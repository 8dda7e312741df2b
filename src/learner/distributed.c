/* Data-parallel training (fastai's DistributedTrainer, PyTorch's DistributedDataParallel) as the
 * callback "Distributed": sharded loaders (fc_dataloader_set_shard), parameters broadcast from
 * rank 0 at before_fit, gradients averaged after backward by bucketed non-blocking allreduce
 * started from the autograd grad-ready hook (so communication overlaps the rest of backward),
 * validation predictions and targets gathered so the loss and metrics cover the whole set once,
 * batch and epoch train losses averaged over the ranks, BatchNorm running stats broadcast or averaged, and a barrier
 * before each epoch and at the end of the fit so rank 0's files (written in after_epoch) are
 * complete before any rank reads them (SaveModel loads the best weights in its after_fit). The bytes move
 * through the comm table (comm_impl.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "comm_impl.h"
#include "fastc/autograd.h"
#include "fastc/cuda.h"
#include "fastc/distributed.h"
#include "fastc/ops.h"
#include "learner_impl.h"
#if FASTC_CUDA
#include "../core/cuda_impl.h"
#endif

static fci_comm *g_comm; /* the process's backend, made once (an MPI job has one world) */
static fci_comm *g_nccl; /* NCCL over g_comm's ranks, made when a model on CUDA first asks */

fc_status fc_distributed_init(void) {
    if (g_comm) return FC_OK;
    g_comm = fci_comm_mpi_new();
    if (g_comm) fci_dist_rank_hook = fc_distributed_rank; /* only rank 0 writes files */
    return g_comm ? FC_OK : fc_error_code();
}

int fc_distributed_rank(void) { return g_comm ? g_comm->rank : 0; }
int fc_distributed_size(void) { return g_comm ? g_comm->size : 1; }

int fc_distributed_nccl_available(void) {
#if defined(FASTC_HAVE_NCCL) && defined(FASTC_HAVE_MPI)
    return 1;
#else
    return 0;
#endif
}

fc_device fc_distributed_device(void) {
    int n = fc_cuda_device_count();
    if (n <= 0) return FC_CPU;
    fc_device d = {FC_DEVICE_CUDA, fci_comm_local_rank(g_comm) % n};
    if (fc_cuda_check(d) != FC_OK) {
        fc_error_clear();
        return FC_CPU;
    }
#if FASTC_CUDA
    if (fci_cuda_ensure("distributed_device", d) != FC_OK) { /* cudaSetDevice(local rank) */
        fc_error_clear();
        return FC_CPU;
    }
#endif
    return d;
}

int fc_distributed_available(void) {
#ifdef FASTC_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

/* ---- state ---- */

typedef struct dparam {
    fc_tensor *p;
    int bucket;
    int64_t off, n; /* floats in the bucket's buffer */
    int ready;
} dparam;

typedef struct bucket {
    float *buf; /* host memory, or device memory on dev when the model is on CUDA (NCCL) */
    int64_t n;
    int n_params, n_ready, started, req;
} bucket;

typedef struct dist {
    fci_comm *comm;
    fc_distributed_opts o;
    fc_learner *learn;
    dparam *ps;
    int n_ps, cursor;
    bucket *bk;
    int n_bk;
    fc_device dev; /* the model's device: CUDA buckets and NCCL, or the CPU and MPI */
    fc_distributed_stats stats;
} dist;

static double deadline(const dist *d) { return fci_comm_now() + d->o.timeout_s; }

static void free_buckets(dist *d) {
    for (int i = 0; i < d->n_bk; i++) {
#if FASTC_CUDA
        if (d->dev.type == FC_DEVICE_CUDA) {
            fci_cuda_release(d->dev.index, d->bk[i].buf, (size_t)d->bk[i].n * sizeof(float));
            continue;
        }
#endif
        free(d->bk[i].buf);
    }
    free(d->bk);
    free(d->ps);
    d->bk = NULL;
    d->ps = NULL;
    d->n_bk = d->n_ps = 0;
}

static void dist_free(void *p) {
    dist *d = p;
    if (!d) return;
    fc_set_grad_ready_hook(NULL, NULL);
    free_buckets(d);
    fci_free(d);
}

/* The trainable f32 parameters in reverse optimizer order (about the order backward finishes
 * them), cut into buckets of about bucket_mb. */
static fc_status build_buckets(dist *d, fc_learner *learn) {
    free_buckets(d);
    int n = fci_opt_n_params(learn->opt);
    d->ps = calloc((size_t)(n ? n : 1), sizeof *d->ps);
    d->bk = calloc((size_t)(n ? n : 1), sizeof *d->bk);
    if (!d->ps || !d->bk) return fc_fail(FC_ERR_NOMEM, "distributed: out of memory for %d parameters", n);
    int64_t cap = (int64_t)(d->o.bucket_mb * 1024 * 1024 / sizeof(float));
    if (cap < 1) cap = 1;
    for (int i = n - 1; i >= 0; i--) {
        fc_tensor *p = fci_opt_param(learn->opt, i, NULL);
        if (!fc_tensor_requires_grad(p)) continue; /* frozen: no gradient to average */
        fc_device pd = fc_tensor_device(p);
        if (fc_tensor_dtype(p) != FC_DTYPE_F32 || pd.type != d->dev.type || pd.index != d->dev.index)
            return fc_fail(FC_ERR_UNSUPPORTED, "distributed: parameter %d is %s on %s; the %s backend averages f32 "
                                               "parameters on %s only", i, fc_dtype_name(fc_tensor_dtype(p)),
                           fc_device_name(pd), d->comm->ops->name, fc_device_name(d->dev));
        bucket *b = d->n_bk ? &d->bk[d->n_bk - 1] : NULL;
        if (!b || b->n >= cap) b = &d->bk[d->n_bk++];
        dparam *q = &d->ps[d->n_ps++];
        *q = (dparam){.p = p, .bucket = (int)(b - d->bk), .off = b->n, .n = fc_tensor_numel(p)};
        b->n += q->n;
        b->n_params++;
    }
    for (int i = 0; i < d->n_bk; i++) {
#if FASTC_CUDA
        if (d->dev.type == FC_DEVICE_CUDA) {
            if (!(d->bk[i].buf = fci_cuda_alloc(d->dev.index, (size_t)d->bk[i].n * sizeof(float)))) return fc_error_code();
            continue;
        }
#endif
        if (!(d->bk[i].buf = malloc((size_t)d->bk[i].n * sizeof(float))))
            return fc_fail(FC_ERR_NOMEM, "distributed: out of memory for a bucket of %lld floats", (long long)d->bk[i].n);
    }
    d->stats.n_buckets = d->n_bk;
    d->stats.bytes_per_step = 0;
    for (int i = 0; i < d->n_bk; i++) d->stats.bytes_per_step += d->bk[i].n * (int64_t)sizeof(float);
    return FC_OK;
}

/* The tensor's bytes (contiguous; on the CPU, or on the model's CUDA device with NCCL, which
 * broadcasts device memory) for a broadcast. */
static fc_status bcast_tensor(dist *d, fc_tensor *t, const char *what) {
    fc_device td = fc_tensor_device(t);
    if (!fc_tensor_is_contiguous(t) || (td.type != FC_DEVICE_CPU && strcmp(d->comm->ops->name, "nccl") != 0))
        return fc_fail(FC_ERR_UNSUPPORTED, "distributed: %s is not a contiguous CPU tensor (found %s)", what,
                       fc_device_name(td));
    size_t bytes = (size_t)fc_tensor_numel(t) * fc_dtype_size(fc_tensor_dtype(t));
    return d->comm->ops->broadcast(d->comm, fc_tensor_data(t), bytes, 0, deadline(d), what);
}

/* Every parameter and buffer of the model from rank 0 (DDP's start). */
static fc_status broadcast_model(dist *d, fc_module *m) {
    fc_status st = FC_OK;
    for (int i = 0; i < fc_module_n_parameters(m) && st == FC_OK; i++)
        st = bcast_tensor(d, fc_module_parameter(m, i, NULL), "the broadcast of the parameters from rank 0");
    for (int i = 0; i < fc_module_n_buffers(m) && st == FC_OK; i++)
        st = bcast_tensor(d, fc_module_buffer(m, i, NULL), "the broadcast of the buffers from rank 0");
    return st;
}

/* BatchNorm's running stats (float buffers) averaged, or every buffer from rank 0. */
static fc_status sync_buffers(dist *d, fc_module *m) {
    fc_status st = FC_OK;
    for (int i = 0; i < fc_module_n_buffers(m) && st == FC_OK; i++) {
        fc_tensor *b = fc_module_buffer(m, i, NULL);
        if (d->o.bn != FC_DIST_BN_AVERAGE || fc_tensor_dtype(b) != FC_DTYPE_F32) {
            st = bcast_tensor(d, b, "the broadcast of the buffers (BatchNorm running stats) from rank 0");
            continue;
        }
        int64_t n = fc_tensor_numel(b);
        double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
        fc_tensor *h = fc_empty(fc_tensor_shape(b)); /* a host copy: b may be on a CUDA device */
        if (!v || !h) {
            free(v);
            fc_tensor_free(h);
            return fc_error_code() ? fc_error_code()
                                   : fc_fail(FC_ERR_NOMEM, "distributed: out of memory for %lld buffer values", (long long)n);
        }
        float *x = fc_tensor_data_f32(h);
        st = fc_tensor_copy_out(b, x, FC_DTYPE_F32);
        for (int64_t j = 0; st == FC_OK && j < n; j++) v[j] = x[j];
        if (st == FC_OK)
            st = d->comm->ops->allreduce_sum_f64(d->comm, v, n, deadline(d), "the average of the BatchNorm running stats");
        for (int64_t j = 0; st == FC_OK && j < n; j++) x[j] = (float)(v[j] / d->comm->size);
        if (st == FC_OK) st = fc_copy_(b, h);
        fc_tensor_free(h);
        free(v);
    }
    return st;
}

/* ---- gradients ---- */

static fc_status start_bucket(dist *d, int i) {
    bucket *b = &d->bk[i];
    b->started = 1;
    return d->comm->ops->iallreduce_sum_f32(d->comm, b->buf, b->n, &b->req);
}

#if FASTC_CUDA
/* fill_param on the device: a device-to-device copy on the compute stream (NCCL's stream waits
 * for it before the bucket's allreduce). */
static fc_status fill_param_cuda(int dev, dparam *q, float *dst) {
    fc_tensor *g = fc_tensor_grad(q->p);
    if (!g) return fci_cuda_memset0(dev, dst, (size_t)q->n * sizeof *dst);
    if (fc_tensor_dtype(g) != FC_DTYPE_F32 || !fc_tensor_is_contiguous(g) || fc_tensor_device(g).index != dev)
        return fc_fail(FC_ERR_UNSUPPORTED, "distributed: expected a contiguous f32 gradient on cuda:%d, found %s on %s",
                       dev, fc_dtype_name(fc_tensor_dtype(g)), fc_device_name(fc_tensor_device(g)));
    return fci_cuda_d2d(dev, dst, fc_tensor_data(g), (size_t)q->n * sizeof *dst);
}
#endif

static fc_status fill_param(const dist *d, dparam *q, float *dst) {
#if FASTC_CUDA
    if (d->dev.type == FC_DEVICE_CUDA) return fill_param_cuda(d->dev.index, q, dst);
#else
    (void)d;
#endif
    fc_tensor *g = fc_tensor_grad(q->p);
    if (!g) {
        memset(dst, 0, (size_t)q->n * sizeof *dst); /* unused this step on this rank */
        return FC_OK;
    }
    return fc_tensor_copy_out(g, dst, FC_DTYPE_F32);
}

/* The autograd hook: the leaf's gradient is final for this backward. */
static void on_grad_ready(fc_tensor *leaf, void *ctx) {
    dist *d = ctx;
    double t0 = fci_comm_now();
    int k = -1;
    for (int j = 0; j < d->n_ps && k < 0; j++) { /* backward finishes them about in our order */
        int i = (d->cursor + j) % d->n_ps;
        if (d->ps[i].p == leaf) k = i;
    }
    if (k < 0 || d->ps[k].ready) return; /* not an averaged parameter */
    dparam *q = &d->ps[k];
    d->cursor = (k + 1) % d->n_ps;
    bucket *b = &d->bk[q->bucket];
    if (fill_param(d, q, b->buf + q->off) != FC_OK) return; /* the error stands; after_backward reports it */
    q->ready = 1;
    if (++b->n_ready == b->n_params && !d->o.no_overlap) {
        if (start_bucket(d, q->bucket) != FC_OK) return;
        d->stats.buckets_started_in_backward++;
    }
    d->comm->ops->progress(d->comm);
    d->stats.hook_s += fci_comm_now() - t0;
}

static int dist_before_backward(fc_learner *learn, void *state) {
    dist *d = state;
    for (int i = 0; i < d->n_bk; i++) d->bk[i].n_ready = d->bk[i].started = 0;
    for (int i = 0; i < d->n_ps; i++) d->ps[i].ready = 0;
    d->cursor = 0;
    fc_set_grad_ready_hook(on_grad_ready, d);
    return FC_CONTINUE;
}

#if FASTC_CUDA
/* unpack_bucket on the device: the bucket scaled in place, then copied into each .grad. */
static fc_status unpack_bucket_cuda(dist *d, int i) {
    bucket *b = &d->bk[i];
    int dev = d->dev.index;
    fc_status st = fci_cuda_scale(dev, b->buf, b->n, 1.0f / (float)d->comm->size);
    for (int j = 0; j < d->n_ps && st == FC_OK; j++) {
        dparam *q = &d->ps[j];
        if (q->bucket != i) continue;
        fc_tensor *g = fc_tensor_grad(q->p);
        int reuse = g && fc_tensor_is_contiguous(g) && fc_tensor_dtype(g) == FC_DTYPE_F32;
        fc_tensor *t = reuse ? g : fc_empty(fc_tensor_shape(q->p), .device = d->dev);
        if (!t) return fc_error_code();
        st = fci_cuda_d2d(dev, fc_tensor_data(t), b->buf + q->off, (size_t)q->n * sizeof(float));
        if (!reuse) {
            if (st == FC_OK) st = fc_tensor_set_grad(q->p, t);
            fc_tensor_free(t);
        }
    }
    return st;
}
#endif

/* Copies the summed bucket back into the parameters' .grad divided by the world size. */
static fc_status unpack_bucket(dist *d, int i) {
#if FASTC_CUDA
    if (d->dev.type == FC_DEVICE_CUDA) return unpack_bucket_cuda(d, i);
#endif
    bucket *b = &d->bk[i];
    float inv = 1.0f / (float)d->comm->size;
    for (int j = 0; j < d->n_ps; j++) {
        dparam *q = &d->ps[j];
        if (q->bucket != i) continue;
        float *src = b->buf + q->off;
        for (int64_t e = 0; e < q->n; e++) src[e] *= inv;
        fc_tensor *g = fc_tensor_grad(q->p);
        if (g && fc_tensor_is_contiguous(g) && fc_tensor_dtype(g) == FC_DTYPE_F32) {
            memcpy(fc_tensor_data(g), src, (size_t)q->n * sizeof *src);
            continue;
        }
        fc_tensor *t = fc_empty(fc_tensor_shape(q->p));
        if (!t) return fc_error_code();
        memcpy(fc_tensor_data(t), src, (size_t)q->n * sizeof *src);
        fc_status st = fc_tensor_set_grad(q->p, t);
        fc_tensor_free(t);
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

static int dist_after_backward(fc_learner *learn, void *state) {
    dist *d = state;
    fc_set_grad_ready_hook(NULL, NULL);
    if (fc_error_code() != FC_OK) return FC_CANCEL_FIT; /* a hook failed */
    double t0 = fci_comm_now();
    int started = 0;
    for (int i = 0; i < d->n_bk; i++) started += d->bk[i].started;
    d->stats.buckets_done_early += started - d->comm->ops->progress(d->comm);
    fc_status st = FC_OK;
    /* Buckets not started in backward (parameters it did not reach, or no_overlap), in index
     * order: the same on every rank. */
    for (int i = 0; i < d->n_bk && st == FC_OK; i++) {
        bucket *b = &d->bk[i];
        if (b->started) continue;
        for (int j = 0; j < d->n_ps && st == FC_OK; j++)
            if (d->ps[j].bucket == i && !d->ps[j].ready) st = fill_param(d, &d->ps[j], b->buf + d->ps[j].off);
        if (st == FC_OK) st = start_bucket(d, i);
    }
    char what[160];
    for (int i = 0; i < d->n_bk && st == FC_OK; i++) {
        snprintf(what, sizeof what, "the gradient allreduce (bucket %d of %d) of epoch %d, batch %lld", i + 1, d->n_bk,
                 learn->epoch, (long long)learn->iter);
        st = d->comm->ops->wait(d->comm, d->bk[i].req, deadline(d), what);
        if (st == FC_OK) st = unpack_bucket(d, i);
    }
    /* The batch loss averaged over the ranks (that of one process with batch world * bs), before the
     * Recorder smooths it: every decision taken on it (lr_find's stop and suggestions,
     * TerminateOnNaN) is then the same on every rank, instead of one rank stopping while the others
     * wait in the next allreduce. 8 bytes, after the gradients' wait. */
    if (st == FC_OK) {
        double v = learn->loss;
        snprintf(what, sizeof what, "the average of the batch loss of epoch %d, batch %lld", learn->epoch,
                 (long long)learn->iter);
        st = d->comm->ops->allreduce_sum_f64(d->comm, &v, 1, deadline(d), what);
        if (st == FC_OK) learn->loss = v / d->comm->size;
    }
    d->stats.wait_s += fci_comm_now() - t0;
    d->stats.steps++;
    return st == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

static int dist_after_cancel_backward(fc_learner *learn, void *state) {
    fc_set_grad_ready_hook(NULL, NULL);
    return FC_CONTINUE;
}

/* ---- fit, epochs, validation ---- */

static int dist_before_fit(fc_learner *learn, void *state) {
    dist *d = state;
    if (fc_learner_cb(learn, "GradientAccumulation")) {
        fc_fail(FC_ERR_UNSUPPORTED, "distributed: GradientAccumulation is not supported with data-parallel training "
                                    "(each backward would average; raise the per-rank bs or the world size instead)");
        return FC_CANCEL_FIT;
    }
    fc_status st = build_buckets(d, learn);
    if (st == FC_OK) st = broadcast_model(d, learn->model);
    return st == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

/* The epoch's train loss (the Recorder's, set in its after_train): each rank's mean over the same
 * number of items, averaged, before the Recorder stores the row and the progress table prints it.
 * (The batch losses it sums are averaged already, so this changes nothing unless a callback set
 * learn->loss after the Distributed callback; it keeps the row the same on every rank regardless.) */
static int dist_after_epoch(fc_learner *learn, void *state) {
    dist *d = state;
    double v = learn->train_loss;
    fc_status st = d->comm->ops->allreduce_sum_f64(d->comm, &v, 1, deadline(d), "the average of the train loss");
    if (st != FC_OK) return FC_CANCEL_FIT;
    learn->train_loss = v / d->comm->size;
    return FC_CONTINUE;
}

static int dist_before_validate(fc_learner *learn, void *state) {
    return sync_buffers(state, learn->model) == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

/* Gathers t's rows (batch b of a sharded loader, m rows on every rank) from all ranks, in the
 * unsharded loader's order (global position (b * bs + j) * world + r), dropping the padding
 * (positions >= n). A new tensor in the current scope, or outside it when keep. */
static fc_tensor *gather_rows(dist *d, fc_tensor *t, int64_t b, int64_t bs, int64_t n, int keep, const char *what) {
    int w = d->comm->size;
    fc_dtype dt = fc_tensor_dtype(t) == FC_DTYPE_BF16 || fc_tensor_dtype(t) == FC_DTYPE_F16 ? FC_DTYPE_F32 : fc_tensor_dtype(t);
    int64_t m = fc_tensor_ndim(t) ? fc_tensor_dim(t, 0) : 1, numel = fc_tensor_numel(t);
    size_t row = (size_t)(m ? numel / m : 0) * fc_dtype_size(dt), bytes = row * (size_t)m;
    char *in = malloc(bytes + 1), *all = malloc(bytes * (size_t)w + 1);
    fc_status st = in && all ? FC_OK : fc_fail(FC_ERR_NOMEM, "distributed: out of memory gathering %zu bytes", bytes * w);
    if (st == FC_OK) st = fc_tensor_copy_out(t, in, dt);
    if (st == FC_OK) st = d->comm->ops->allgather(d->comm, in, bytes, all, deadline(d), what);
    fc_tensor *out = NULL;
    if (st == FC_OK) {
        int64_t keep_n = 0;
        for (int64_t j = 0; j < m; j++)
            for (int r = 0; r < w; r++) keep_n += (b * bs + j) * w + r < n;
        fc_shape s = fc_tensor_shape(t);
        if (s.ndim == 0) s = (fc_shape){1, {1}};
        s.d[0] = keep_n;
        out = fc_empty(s, .dtype = dt);
        if (out && keep) fc_keep(out);
        char *o = out ? fc_tensor_data(out) : NULL;
        for (int64_t j = 0; o && j < m; j++)
            for (int r = 0; r < w; r++)
                if ((b * bs + j) * w + r < n) {
                    memcpy(o, all + (size_t)r * bytes + (size_t)j * row, row);
                    o += row;
                }
    }
    free(in);
    free(all);
    return out;
}

/* Validation on a sharded loader: every rank gets the predictions and targets of the whole
 * (unsharded) batch, so the loss the learner computes next and every metric see each item once. */
static int dist_after_pred(fc_learner *learn, void *state) {
    dist *d = state;
    int rank, w = fc_dataloader_shard(learn->dl, &rank);
    if (learn->training || w <= 1) return FC_CONTINUE;
    int64_t bs = fc_dataloader_bs(learn->dl), n = fc_dataloader_n(learn->dl);
    char what[160];
    snprintf(what, sizeof what, "the gather of validation predictions (epoch %d, batch %lld)", learn->epoch,
             (long long)learn->iter);
    fc_tensor *pred = gather_rows(d, learn->pred, learn->iter, bs, n, 0, what);
    if (!pred) return FC_CANCEL_FIT;
    learn->pred = pred;
    for (int i = learn->batch.n_inp; i < learn->batch.n; i++) {
        fc_tensor *y = learn->batch.v[i].t;
        if (!y) continue;
        snprintf(what, sizeof what, "the gather of validation targets (epoch %d, batch %lld)", learn->epoch,
                 (long long)learn->iter);
        fc_tensor *g = gather_rows(d, y, learn->iter, bs, n, 1, what); /* owned by the batch tuple */
        if (!g) return FC_CANCEL_FIT;
        fc_tensor_free(y);
        learn->batch.v[i].t = g;
    }
    return FC_CONTINUE;
}

/* Rank 0 has finished the previous epoch's after_epoch (SaveModel, CSVLogger write there): no
 * rank goes on before those files are complete. */
static int dist_before_epoch(fc_learner *learn, void *state) {
    dist *d = state;
    char what[96];
    snprintf(what, sizeof what, "the barrier before epoch %d", learn->epoch);
    return d->comm->ops->barrier(d->comm, deadline(d), what) == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

static int dist_after_fit(fc_learner *learn, void *state) {
    dist *d = state;
    fc_set_grad_ready_hook(NULL, NULL);
    fc_status st = sync_buffers(d, learn->model); /* every rank ends with the same model */
    if (st == FC_OK) st = d->comm->ops->barrier(d->comm, deadline(d), "the barrier at the end of the fit");
    return st == FC_OK ? FC_CONTINUE : FC_CANCEL_FIT;
}

/* ---- the public calls ---- */

fc_status fc_learner_distributed_(fc_learner *learn, const fc_distributed_opts *o) {
    if (!learn) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "learner_distributed: NULL learner");
    if (o->bucket_mb < 0 || o->timeout_s < 0)
        return fc_fail(FC_ERR_ARG, "learner_distributed: .bucket_mb and .timeout_s must be >= 0, found %g and %g",
                       o->bucket_mb, o->timeout_s);
    if (o->bn != FC_DIST_BN_BROADCAST && o->bn != FC_DIST_BN_AVERAGE && o->bn != FC_DIST_BN_SYNC)
        return fc_fail(FC_ERR_ARG, "learner_distributed: .bn must be FC_DIST_BN_BROADCAST, _AVERAGE or _SYNC, found %d",
                       (int)o->bn);
    if (learn->in_fit) return fc_fail(FC_ERR_STATE, "learner_distributed: not during a fit");
    const char *backend = o->backend && strcmp(o->backend, "auto") != 0 ? o->backend : NULL;
    if (backend && strcmp(backend, "mpi") != 0 && strcmp(backend, "nccl") != 0)
        return fc_fail(FC_ERR_ARG, "learner_distributed: .backend must be \"auto\", \"mpi\" or \"nccl\", found \"%s\"",
                       backend);
    fc_device mdev = fc_module_n_parameters(learn->model) ? fc_tensor_device(fc_module_parameter(learn->model, 0, NULL))
                                                          : FC_CPU;
    int want_nccl = backend ? strcmp(backend, "nccl") == 0 : mdev.type == FC_DEVICE_CUDA;
    if (want_nccl && !fc_distributed_nccl_available()) /* before MPI starts: the reason, at once */
        return fci_comm_nccl_new(NULL, mdev.index) ? FCI_INTERNAL("distributed: NCCL") : fc_error_code();
    if (want_nccl && mdev.type != FC_DEVICE_CUDA)
        return fc_fail(FC_ERR_ARG, "learner_distributed: .backend = \"nccl\" needs the model on a CUDA device, found "
                                   "its parameters on %s (fc_module_to(model, fc_distributed_device()))",
                       fc_device_name(mdev));
    fc_status st = fc_distributed_init();
    if (st != FC_OK) return st;
    if (g_comm->size == 1) return FC_OK;
    if (want_nccl) {
        int n_dev = fc_cuda_device_count(), local = fci_comm_local_rank(g_comm);
        if (n_dev > 1 && mdev.index != local % n_dev)
            return fc_fail(FC_ERR_DEVICE, "learner_distributed: rank %d (local rank %d) has its model on %s; with %d "
                                          "devices on the node it should use cuda:%d "
                                          "(fc_module_to(model, fc_distributed_device()))",
                           g_comm->rank, local, fc_device_name(mdev), n_dev, local % n_dev);
        if (!g_nccl && !(g_nccl = fci_comm_nccl_new(g_comm, mdev.index))) return fc_error_code();
    }
    dist *d = fci_calloc(1, sizeof *d);
    if (!d) return fc_error_code();
    d->comm = want_nccl ? g_nccl : g_comm;
    d->dev = want_nccl ? mdev : FC_CPU;
    d->learn = learn;
    d->o = *o;
    if (d->o.bucket_mb == 0) d->o.bucket_mb = 4;
    if (d->o.timeout_s == 0) d->o.timeout_s = 300;
    fc_callback *cb = fc_callback_new(&(fc_callback_def){
        .name = "Distributed", .order = -5, .state = d, .free_state = dist_free,
        .before_fit = dist_before_fit, .before_backward = dist_before_backward,
        .after_backward = dist_after_backward, .after_cancel_backward = dist_after_cancel_backward,
        .after_pred = dist_after_pred, .before_validate = dist_before_validate, .before_epoch = dist_before_epoch,
        .after_epoch = dist_after_epoch, .after_fit = dist_after_fit,
    });
    if (!cb) return fc_error_code();
    st = fc_dataloader_set_shard(learn->dls->train, g_comm->rank, g_comm->size);
    if (st == FC_OK && learn->dls->valid) st = fc_dataloader_set_shard(learn->dls->valid, g_comm->rank, g_comm->size);
    if (st == FC_OK) st = fc_learner_add_cb(learn, cb);
    else fc_callback_free(cb);
    if (st == FC_OK) st = broadcast_model(d, learn->model); /* as DDP's constructor: validate or predict
                                                             * before any fit sees rank 0's model */
    if (st == FC_OK && g_comm->rank != 0) learn->quiet = 1; /* only rank 0 prints */
    if (st == FC_OK && d->o.bn == FC_DIST_BN_SYNC) fci_dist_sync_bn(learn->model, d->comm, d->o.timeout_s);
    return st;
}

fc_status fc_learner_distributed_stats(const fc_learner *learn, fc_distributed_stats *out) {
    if (!learn || !out) return fc_fail(FC_ERR_ARG, "learner_distributed_stats: NULL argument");
    const dist *d = fc_callback_state(fc_learner_cb(learn, "Distributed"));
    if (!d) return fc_fail(FC_ERR_STATE, "learner_distributed_stats: the learner is not distributed (no callback "
                                         "'Distributed': one rank, or fc_learner_distributed was not called)");
    *out = d->stats;
    return FC_OK;
}
