/* The MPI backend of the communication table (comm_impl.h). Collectives are started
 * non-blocking and polled with a deadline, so a peer that died or hangs ends the job with a
 * message instead of a hang: MPI_Abort takes every rank down and mpirun exits non-zero. With one
 * thread per rank, MPI moves bytes only inside MPI calls; progress() (MPI_Testsome) is what the
 * gradient hooks call during backward to keep started allreduces moving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/core_impl.h"
#include "comm_impl.h"

double fci_comm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#ifndef FASTC_HAVE_MPI

fci_comm *fci_comm_mpi_new(void) {
    fc_fail(FC_ERR_UNSUPPORTED, "distributed: fastc was built without MPI (install openmpi-bin and "
                                "libopenmpi-dev, then rebuild: cmake -DFASTC_MPI=ON)");
    return NULL;
}

#else

#include <mpi.h>

typedef struct mpi_impl {
    MPI_Request *req;
    int n_req, cap_req;
} mpi_impl;

static int we_initialized;

static void finalize_at_exit(void) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}

static mpi_impl *impl_of(fci_comm *c) { return c->impl; }

static void mpi_abort(fci_comm *c, int code, const char *msg) {
    fprintf(stderr, "fastc distributed: rank %d of %d: %s\n", c->rank, c->size, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code); /* not reached: MPI_Abort ends the process */
}

/* A free request slot (grows the table). */
static int new_req(fci_comm *c) {
    mpi_impl *m = impl_of(c);
    for (int i = 0; i < m->n_req; i++)
        if (m->req[i] == MPI_REQUEST_NULL) return i;
    if (m->n_req == m->cap_req) {
        int cap = m->cap_req ? 2 * m->cap_req : 64;
        MPI_Request *r = realloc(m->req, (size_t)cap * sizeof *r);
        if (!r) return -1;
        m->req = r;
        m->cap_req = cap;
    }
    m->req[m->n_req] = MPI_REQUEST_NULL;
    return m->n_req++;
}

static fc_status mpi_check(int rc, const char *what) {
    if (rc == MPI_SUCCESS) return FC_OK;
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, s, &n);
    return fc_fail(FC_ERR_IO, "distributed: %s failed: %s", what, s);
}

static fc_status mpi_iallreduce(fci_comm *c, float *buf, int64_t n, int *req) {
    int i = new_req(c);
    if (i < 0) return fc_fail(FC_ERR_NOMEM, "distributed: out of memory for MPI requests");
    if (n > 0x7fffffff) return fc_fail(FC_ERR_ARG, "distributed: allreduce of %lld floats is too large for one MPI call", (long long)n);
    *req = i;
    return mpi_check(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &impl_of(c)->req[i]),
                     "MPI_Iallreduce");
}

static int mpi_progress(fci_comm *c) {
    mpi_impl *m = impl_of(c);
    if (!m->n_req) return 0;
    int outcount = 0, idx[64];
    int n = m->n_req < 64 ? m->n_req : 64; /* progress is per-library: testing some drives all */
    MPI_Testsome(n, m->req, &outcount, idx, MPI_STATUSES_IGNORE);
    int left = 0;
    for (int i = 0; i < m->n_req; i++) left += m->req[i] != MPI_REQUEST_NULL;
    return left;
}

/* Polls req until it completes or the deadline passes (then aborts the job). Spins briefly, then
 * sleeps in growing steps up to 1 ms so a waiting rank leaves the core to the one still computing
 * (2 ranks on 2 shared cores). */
static fc_status poll_wait(fci_comm *c, MPI_Request *r, double deadline, const char *what) {
    int flag = 0;
    long sleep_ns = 0;
    for (int spins = 0;; spins++) {
        int rc = MPI_Test(r, &flag, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_check(rc, what);
        if (flag) return FC_OK;
        if (spins < 200) continue;
        if (fci_comm_now() > deadline) {
            char msg[512];
            snprintf(msg, sizeof msg, "timed out waiting for %s: another rank died, hangs or is far slower; "
                                      "aborting the job (raise .timeout_s if it is only slow)", what);
            c->ops->abort(c, 3, msg);
        }
        sleep_ns = sleep_ns ? (sleep_ns * 2 > 1000000 ? 1000000 : sleep_ns * 2) : 2000;
        nanosleep(&(struct timespec){0, sleep_ns}, NULL);
    }
}

static fc_status mpi_wait(fci_comm *c, int req, double deadline, const char *what) {
    mpi_impl *m = impl_of(c);
    if (req < 0 || req >= m->n_req) return FCI_INTERNAL("distributed: no request %d", req);
    return poll_wait(c, &m->req[req], deadline, what);
}

static fc_status mpi_broadcast(fci_comm *c, void *buf, size_t bytes, int root, double deadline, const char *what) {
    for (size_t off = 0; off < bytes;) { /* MPI counts are int */
        int n = bytes - off > (1u << 30) ? (1 << 30) : (int)(bytes - off);
        MPI_Request r;
        fc_status st = mpi_check(MPI_Ibcast((char *)buf + off, n, MPI_BYTE, root, MPI_COMM_WORLD, &r), what);
        if (st == FC_OK) st = poll_wait(c, &r, deadline, what);
        if (st != FC_OK) return st;
        off += (size_t)n;
    }
    return FC_OK;
}

static fc_status mpi_allreduce_f64(fci_comm *c, double *buf, int64_t n, double deadline, const char *what) {
    MPI_Request r;
    fc_status st = mpi_check(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &r), what);
    return st == FC_OK ? poll_wait(c, &r, deadline, what) : st;
}

static fc_status mpi_allgather(fci_comm *c, const void *in, size_t bytes, void *out, double deadline, const char *what) {
    if (bytes > 0x7fffffff) return fc_fail(FC_ERR_ARG, "distributed: %s: %zu bytes is too large for one MPI call", what, bytes);
    MPI_Request r;
    fc_status st = mpi_check(MPI_Iallgather(in, (int)bytes, MPI_BYTE, out, (int)bytes, MPI_BYTE, MPI_COMM_WORLD, &r), what);
    return st == FC_OK ? poll_wait(c, &r, deadline, what) : st;
}

static fc_status mpi_barrier(fci_comm *c, double deadline, const char *what) {
    MPI_Request r;
    fc_status st = mpi_check(MPI_Ibarrier(MPI_COMM_WORLD, &r), what);
    return st == FC_OK ? poll_wait(c, &r, deadline, what) : st;
}

static void mpi_free(fci_comm *c) {
    if (!c) return;
    mpi_impl *m = c->impl;
    if (m) free(m->req);
    free(m);
    free(c);
}

static const fci_comm_ops mpi_ops = {
    .name = "mpi", .iallreduce_sum_f32 = mpi_iallreduce, .progress = mpi_progress, .wait = mpi_wait,
    .broadcast = mpi_broadcast, .allreduce_sum_f64 = mpi_allreduce_f64, .allgather = mpi_allgather,
    .barrier = mpi_barrier, .abort = mpi_abort, .free = mpi_free,
};

fci_comm *fci_comm_mpi_new(void) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (fin) {
        fc_fail(FC_ERR_STATE, "distributed: MPI was already finalized in this process");
        return NULL;
    }
    if (!init) {
        int provided = 0; /* only the training thread calls MPI (data workers never do) */
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
            fc_fail(FC_ERR_IO, "distributed: MPI_Init_thread failed (run the program under mpirun)");
            return NULL;
        }
        if (!we_initialized) atexit(finalize_at_exit);
        we_initialized = 1;
    }
    fci_comm *c = calloc(1, sizeof *c);
    mpi_impl *m = calloc(1, sizeof *m);
    if (!c || !m) {
        free(c);
        free(m);
        fc_fail(FC_ERR_NOMEM, "distributed: out of memory");
        return NULL;
    }
    c->ops = &mpi_ops;
    c->impl = m;
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    return c;
}

#endif
