/* The communication backend of data-parallel training (never installed): one small table of
 * functions, so the learner's Distributed callback does not know whether MPI (comm_mpi.c) or
 * NCCL for CUDA tensors (comm_nccl.c: buffers given to iallreduce_sum_f32 and broadcast are then
 * device memory; the host collectives go through MPI) carries the bytes. A backend implements every entry; requests are
 * small integers owned by the backend. Every wait takes a deadline (seconds on the monotonic
 * clock): a peer that died or hangs makes the wait abort the whole job with a message naming this
 * rank and what it waited for, instead of hanging forever. */
#ifndef FASTC_COMM_IMPL_H
#define FASTC_COMM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fastc/nn.h"

typedef struct fci_comm fci_comm;
typedef struct fci_comm_ops {
    const char *name; /* "mpi" or "nccl" */
    /* Starts an in-place sum of buf[n] f32 over all ranks; *req names it. */
    fc_status (*iallreduce_sum_f32)(fci_comm *c, float *buf, int64_t n, int *req);
    /* Drives progress of the started requests (one-thread MPI progresses only inside calls);
     * returns how many of them are still in flight. */
    int (*progress)(fci_comm *c);
    /* Waits for request req until deadline; on timeout aborts the job (never returns then). */
    fc_status (*wait)(fci_comm *c, int req, double deadline, const char *what);
    /* Blocking collectives with a deadline (started non-blocking, polled): */
    fc_status (*broadcast)(fci_comm *c, void *buf, size_t bytes, int root, double deadline, const char *what);
    fc_status (*allreduce_sum_f64)(fci_comm *c, double *buf, int64_t n, double deadline, const char *what);
    /* out holds size * bytes: rank r's bytes at out + r * bytes. */
    fc_status (*allgather)(fci_comm *c, const void *in, size_t bytes, void *out, double deadline, const char *what);
    fc_status (*barrier)(fci_comm *c, double deadline, const char *what);
    /* Ends the whole job (every rank) with exit code code after printing msg. */
    void (*abort)(fci_comm *c, int code, const char *msg);
    void (*free)(fci_comm *c);
} fci_comm_ops;

struct fci_comm {
    const fci_comm_ops *ops;
    int rank, size;
    void *impl;
};

/* The MPI backend (MPI_Init_thread FUNNELED on first use, MPI_Finalize at exit when this library
 * initialized MPI); NULL with FC_ERR_UNSUPPORTED when fastc was built without MPI. */
fci_comm *fci_comm_mpi_new(void);
/* The NCCL backend for a model on CUDA device 'device' over mpi's ranks (mpi borrowed: it carries
 * the unique id and the host collectives, and must outlive the result). Every rank of mpi must
 * call it. NULL with FC_ERR_UNSUPPORTED "built without NCCL" in a build without NCCL (or CUDA),
 * FC_ERR_DEVICE when the device cannot be used. */
fci_comm *fci_comm_nccl_new(fci_comm *mpi, int device);
/* This rank's index among the ranks of its node: the launcher's environment
 * (OMPI_COMM_WORLD_LOCAL_RANK, MV2_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, SLURM_LOCALID,
 * LOCAL_RANK), else MPI_Comm_split_type over shared memory (c may be NULL: then 0). */
int fci_comm_local_rank(fci_comm *c);
/* The environment's local rank, or -1 when none of those variables holds one. */
int fci_local_rank_from_env(void);
/* Turns the model's BatchNorm1d/2d into SyncBatchNorm over comm's ranks (distributed_sync_bn.c);
 * returns how many. */
int fci_dist_sync_bn(fc_module *model, fci_comm *comm, double timeout_s);
/* Seconds on the monotonic clock. */
double fci_comm_now(void);

#endif
