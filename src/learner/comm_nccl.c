/* The NCCL backend of the communication table (comm_impl.h) for models on CUDA devices: the
 * gradient buckets live in device memory and are summed by ncclAllReduce on a stream of NCCL's
 * own, so communication overlaps the backward still running on the compute stream; parameters and
 * buffers on the device are broadcast by ncclBroadcast. Everything on the host (the NCCL unique
 * id, the train loss, gathered predictions, barriers) goes through the MPI backend this one is
 * built on: MPI starts the job and keeps the deadlines, NCCL moves the device bytes.
 *
 * Ordering: before each collective an event recorded on the compute stream is waited for by the
 * NCCL stream (the bucket was filled there); each request is an event recorded after its
 * collective, polled with the deadline and then waited for by the compute stream, which unpacks
 * the bucket. A peer that hangs makes the wait abort the job (ncclCommAbort, then MPI_Abort) as
 * the MPI backend does; an asynchronous NCCL error (a peer died mid-collective) is reported. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/core_impl.h"
#include "comm_impl.h"
#include "fastc/cuda.h"

/* The local rank from the environment of the usual launchers (Open MPI, MVAPICH, Slurm,
 * torchrun-style), or -1. */
int fci_local_rank_from_env(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_RANK",
                                       "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v) continue;
        char *end;
        long r = strtol(v, &end, 10);
        if (*end == '\0' && r >= 0 && r < 1 << 20) return (int)r;
    }
    return -1;
}

#ifdef FASTC_HAVE_MPI
#include <mpi.h>
#endif

int fci_comm_local_rank(fci_comm *c) {
    int r = fci_local_rank_from_env();
    if (r >= 0 || !c) return r >= 0 ? r : 0;
#ifdef FASTC_HAVE_MPI
    if (strcmp(c->ops->name, "mpi") == 0 || strcmp(c->ops->name, "nccl") == 0) {
        MPI_Comm node; /* the ranks sharing this node's memory */
        int local = 0;
        if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
            MPI_Comm_rank(node, &local);
            MPI_Comm_free(&node);
        }
        return local;
    }
#endif
    return 0;
}

#ifndef FASTC_HAVE_NCCL

fci_comm *fci_comm_nccl_new(fci_comm *mpi, int device) {
    (void)mpi;
#ifdef FASTC_HAVE_MPI
    const char *has_mpi = "yes";
#else
    const char *has_mpi = "no";
#endif
    fc_fail(FC_ERR_UNSUPPORTED, "distributed: NCCL was asked for (a model on cuda:%d, or .backend = \"nccl\") but "
                                "fastc was built without NCCL: it needs the CUDA toolkit, NCCL ('apt-get install "
                                "libnccl-dev') and MPI at configure time (this build: CUDA %s, MPI %s)",
            device, fc_cuda_is_built() ? "yes" : "no", has_mpi);
    return NULL;
}

#else

#include <cuda_runtime.h>
#include <nccl.h>
#include <stdio.h>

#include "../core/cuda_impl.h"

typedef struct nccl_req {
    cudaEvent_t done;
    int used;
} nccl_req;

typedef struct nccl_impl {
    fci_comm *mpi; /* borrowed: the host collectives and the unique id */
    ncclComm_t comm;
    int device;
    cudaStream_t stream; /* NCCL's own: its collectives overlap the compute stream */
    cudaEvent_t ready;   /* recorded on the compute stream before each collective */
    nccl_req *req;
    int n_req, cap_req;
} nccl_impl;

static nccl_impl *impl_of(fci_comm *c) { return c->impl; }

static fc_status nccl_check(ncclResult_t r, const char *what) {
    if (r == ncclSuccess) return FC_OK;
    return fc_fail(FC_ERR_IO, "distributed: %s failed: %s (%s)", what, ncclGetErrorString(r), ncclGetLastError(NULL));
}

static fc_status cuda_check(cudaError_t e, const char *what) { return fci_cuda_status("distributed", what, e); }

static void nccl_abort(fci_comm *c, int code, const char *msg) {
    nccl_impl *m = impl_of(c);
    if (m->comm) ncclCommAbort(m->comm); /* frees the GPU from collectives that will never end */
    m->comm = NULL;
    m->mpi->ops->abort(m->mpi, code, msg);
}

/* A free request slot (grows the table); -1 on OOM. */
static int new_req(nccl_impl *m) {
    for (int i = 0; i < m->n_req; i++)
        if (!m->req[i].used) return i;
    if (m->n_req == m->cap_req) {
        int cap = m->cap_req ? 2 * m->cap_req : 16;
        nccl_req *r = realloc(m->req, (size_t)cap * sizeof *r);
        if (!r) return -1;
        m->req = r;
        m->cap_req = cap;
    }
    m->req[m->n_req] = (nccl_req){0};
    if (cudaEventCreateWithFlags(&m->req[m->n_req].done, cudaEventDisableTiming) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return m->n_req++;
}

/* The NCCL stream waits for the work queued so far on the compute stream. */
static fc_status after_compute(nccl_impl *m) {
    cudaError_t e = cudaEventRecord(m->ready, (cudaStream_t)fci_cuda_stream(m->device));
    if (e == cudaSuccess) e = cudaStreamWaitEvent(m->stream, m->ready, 0);
    return cuda_check(e, "ordering NCCL after the compute stream");
}

static fc_status nccl_iallreduce(fci_comm *c, float *buf, int64_t n, int *req) {
    nccl_impl *m = impl_of(c);
    int i = new_req(m);
    if (i < 0) return fc_fail(FC_ERR_NOMEM, "distributed: out of memory (or events) for NCCL requests");
    fc_status st = after_compute(m);
    if (st == FC_OK)
        st = nccl_check(ncclAllReduce(buf, buf, (size_t)n, ncclFloat32, ncclSum, m->comm, m->stream), "ncclAllReduce");
    if (st == FC_OK) st = cuda_check(cudaEventRecord(m->req[i].done, m->stream), "cudaEventRecord");
    if (st != FC_OK) return st;
    m->req[i].used = 1;
    *req = i;
    return FC_OK;
}

static int nccl_progress(fci_comm *c) {
    nccl_impl *m = impl_of(c);
    int left = 0;
    for (int i = 0; i < m->n_req; i++) left += m->req[i].used && cudaEventQuery(m->req[i].done) != cudaSuccess;
    cudaGetLastError(); /* cudaErrorNotReady is not an error */
    return left;
}

/* Polls ev until done or the deadline (then aborts the job); an asynchronous NCCL error fails. The
 * compute stream then waits for ev, so the caller may use the result there at once. */
static fc_status poll_event(fci_comm *c, cudaEvent_t ev, double deadline, const char *what) {
    nccl_impl *m = impl_of(c);
    long sleep_ns = 0;
    for (int spins = 0;; spins++) {
        cudaError_t e = cudaEventQuery(ev);
        if (e == cudaSuccess) break;
        if (e != cudaErrorNotReady) return cuda_check(e, what);
        cudaGetLastError();
        ncclResult_t async = ncclSuccess;
        if (ncclCommGetAsyncError(m->comm, &async) == ncclSuccess && async != ncclSuccess && async != ncclInProgress)
            return nccl_check(async, what);
        if (spins < 200) continue;
        if (fci_comm_now() > deadline) {
            char msg[512];
            snprintf(msg, sizeof msg, "timed out waiting for %s (NCCL): another rank died, hangs or is far slower; "
                                      "aborting the job (raise .timeout_s if it is only slow)", what);
            nccl_abort(c, 3, msg);
        }
        sleep_ns = sleep_ns ? (sleep_ns * 2 > 1000000 ? 1000000 : sleep_ns * 2) : 2000;
        nanosleep(&(struct timespec){0, sleep_ns}, NULL);
    }
    return cuda_check(cudaStreamWaitEvent((cudaStream_t)fci_cuda_stream(m->device), ev, 0), "cudaStreamWaitEvent");
}

static fc_status nccl_wait(fci_comm *c, int req, double deadline, const char *what) {
    nccl_impl *m = impl_of(c);
    if (req < 0 || req >= m->n_req || !m->req[req].used) return FCI_INTERNAL("distributed: no NCCL request %d", req);
    fc_status st = poll_event(c, m->req[req].done, deadline, what);
    m->req[req].used = 0;
    return st;
}

static int is_device_ptr(const void *p) {
    struct cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        cudaGetLastError(); /* older runtimes: a plain host pointer is an error */
        return 0;
    }
    return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}

/* Device memory by ncclBroadcast on the NCCL stream, host memory by MPI. */
static fc_status nccl_broadcast(fci_comm *c, void *buf, size_t bytes, int root, double deadline, const char *what) {
    nccl_impl *m = impl_of(c);
    if (!bytes) return FC_OK;
    if (!is_device_ptr(buf)) return m->mpi->ops->broadcast(m->mpi, buf, bytes, root, deadline, what);
    int i = new_req(m);
    if (i < 0) return fc_fail(FC_ERR_NOMEM, "distributed: out of memory (or events) for NCCL requests");
    fc_status st = after_compute(m);
    if (st == FC_OK) st = nccl_check(ncclBroadcast(buf, buf, bytes, ncclUint8, root, m->comm, m->stream), what);
    if (st == FC_OK) st = cuda_check(cudaEventRecord(m->req[i].done, m->stream), "cudaEventRecord");
    if (st == FC_OK) st = poll_event(c, m->req[i].done, deadline, what);
    return st;
}

static fc_status nccl_allreduce_f64(fci_comm *c, double *buf, int64_t n, double deadline, const char *what) {
    fci_comm *mpi = impl_of(c)->mpi;
    return mpi->ops->allreduce_sum_f64(mpi, buf, n, deadline, what);
}

static fc_status nccl_allgather(fci_comm *c, const void *in, size_t bytes, void *out, double deadline, const char *what) {
    fci_comm *mpi = impl_of(c)->mpi;
    return mpi->ops->allgather(mpi, in, bytes, out, deadline, what);
}

static fc_status nccl_barrier(fci_comm *c, double deadline, const char *what) {
    fci_comm *mpi = impl_of(c)->mpi;
    return mpi->ops->barrier(mpi, deadline, what);
}

static void impl_free(nccl_impl *m) {
    if (!m) return;
    if (m->stream) cudaStreamSynchronize(m->stream);
    if (m->comm) ncclCommDestroy(m->comm);
    for (int i = 0; i < m->n_req; i++) cudaEventDestroy(m->req[i].done);
    free(m->req);
    if (m->ready) cudaEventDestroy(m->ready);
    if (m->stream) cudaStreamDestroy(m->stream);
    free(m);
}

static void nccl_free(fci_comm *c) {
    if (!c) return;
    impl_free(c->impl);
    free(c);
}

static const fci_comm_ops nccl_ops = {
    .name = "nccl", .iallreduce_sum_f32 = nccl_iallreduce, .progress = nccl_progress, .wait = nccl_wait,
    .broadcast = nccl_broadcast, .allreduce_sum_f64 = nccl_allreduce_f64, .allgather = nccl_allgather,
    .barrier = nccl_barrier, .abort = nccl_abort, .free = nccl_free,
};

/* Every rank learns whether every rank got this far (so none enters the blocking
 * ncclCommInitRank alone); FC_OK when all did. */
static fc_status all_ranks_ok(fci_comm *mpi, int ok, double deadline, const char *what) {
    double bad = ok ? 0 : 1;
    fc_status st = mpi->ops->allreduce_sum_f64(mpi, &bad, 1, deadline, what);
    if (st != FC_OK || bad == 0) return st;
    if (ok) /* another rank failed: its own message names the cause */
        return fc_fail(FC_ERR_DEVICE, "distributed: %g other rank(s) could not set up NCCL (%s); see their messages",
                       bad, what);
    return fc_error_code();
}

fci_comm *fci_comm_nccl_new(fci_comm *mpi, int device) {
    if (!mpi) { /* no device check without peers to tell: fail at once */
        fci_cuda_ensure("distributed", (fc_device){FC_DEVICE_CUDA, device});
        if (fc_error_code() == FC_OK)
            fc_fail(FC_ERR_ARG, "distributed: the NCCL backend needs the MPI backend (call fc_distributed_init first)");
        return NULL;
    }
    /* a rank that fails below still takes part in the two collectives, so its peers learn it
     * instead of waiting for the deadline */
    double deadline = fci_comm_now() + 300;
    fci_comm *c = calloc(1, sizeof *c);
    nccl_impl *m = calloc(1, sizeof *m);
    int ok = fci_cuda_ensure("distributed", (fc_device){FC_DEVICE_CUDA, device}) == FC_OK;
    if (ok && !(c && m)) ok = 0, fc_fail(FC_ERR_NOMEM, "distributed: out of memory");
    if (ok) {
        *m = (nccl_impl){.mpi = mpi, .device = device};
        ok = cuda_check(cudaStreamCreateWithFlags(&m->stream, cudaStreamNonBlocking), "cudaStreamCreate") == FC_OK &&
             cuda_check(cudaEventCreateWithFlags(&m->ready, cudaEventDisableTiming), "cudaEventCreate") == FC_OK;
    }
    struct {
        int32_t ok;
        ncclUniqueId id;
    } root = {0};
    if (mpi->rank == 0) /* a failure on rank 0 travels with the id */
        root.ok = ok && nccl_check(ncclGetUniqueId(&root.id), "ncclGetUniqueId") == FC_OK;
    fc_status st = mpi->ops->broadcast(mpi, &root, sizeof root, 0, deadline, "the NCCL unique id from rank 0");
    if (st == FC_OK) { /* every rank takes part, so none waits alone */
        if (!root.ok && mpi->rank != 0) fc_fail(FC_ERR_DEVICE, "distributed: rank 0 could not set up NCCL; see its message");
        st = all_ranks_ok(mpi, ok && root.ok, deadline, "NCCL setup before ncclCommInitRank");
    }
    if (st == FC_OK)
        st = nccl_check(ncclCommInitRank(&m->comm, mpi->size, root.id, mpi->rank), "ncclCommInitRank");
    if (st != FC_OK) {
        if (m) m->comm = NULL;
        impl_free(m);
        free(c);
        return NULL;
    }
    c->ops = &nccl_ops;
    c->impl = m;
    c->rank = mpi->rank;
    c->size = mpi->size;
    return c;
}

#endif
