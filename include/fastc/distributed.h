/* fastc distributed: data-parallel training on several processes (fastai's distrib_ctx /
 * DistributedTrainer, PyTorch's DistributedDataParallel), one process ("rank") per core group or
 * machine, started by `mpirun -np N prog`. Each rank runs the same program on the same data:
 *   - every epoch, each rank sees a disjoint shard of the training set (the same shuffled order on
 *     every rank, padded by repeating its start so that every rank makes the same number of steps);
 *   - after backward the gradients are averaged over the ranks by bucketed non-blocking allreduce,
 *     each bucket started as soon as its gradients are final, so communication overlaps backward;
 *   - the parameters (and buffers) are broadcast from rank 0 when a fit starts;
 *   - validation is sharded too, and predictions and targets are gathered so the loss and every
 *     metric cover the whole validation set exactly once (padding dropped), the same on all ranks;
 *   - only rank 0 prints the progress table and writes files (checkpoints, export, CSV logs).
 * Batch size and learning rate, as fastai: the loaders' bs is per rank, so one step sees
 * bs * world items; the lr is not changed (scale it yourself, e.g. linearly with world).
 * A rank that dies ends the job (mpirun exits non-zero); a rank that hangs makes the others abort
 * the job after .timeout_s seconds with a message naming the rank and the step.
 * Communication goes through one small internal table (src/learner/comm_impl.h) with an MPI
 * implementation; NCCL for CUDA tensors fits behind the same table. Built without MPI, every call
 * here fails with FC_ERR_UNSUPPORTED ("built without MPI"). */
#ifndef FASTC_DISTRIBUTED_H
#define FASTC_DISTRIBUTED_H

#include "learner.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the communication backend (MPI_Init when nobody did; MPI_Finalize then runs at exit).
 * Calling it is optional: fc_learner_distributed does it. FC_ERR_UNSUPPORTED without MPI. */
FC_API fc_status fc_distributed_init(void);
/* This process's rank and the number of ranks (0 and 1 before init or without MPI). */
FC_API int fc_distributed_rank(void);
FC_API int fc_distributed_size(void);
/* 1 when fastc was built with MPI. */
FC_API int fc_distributed_available(void);

/* BatchNorm in training: local batch statistics (each rank's own items, DDP's default) with the
 * running stats made equal on all ranks before each validation and at the end of a fit, or
 * synchronized batch statistics (PyTorch's SyncBatchNorm: all ranks' items, two more small
 * allreduces per BatchNorm layer in forward and in backward). */
typedef enum fc_dist_bn {
    FC_DIST_BN_BROADCAST = 0, /* local; rank 0's running stats copied to all (broadcast_buffers)  */
    FC_DIST_BN_AVERAGE = 1,   /* local; the running stats averaged over the ranks                 */
    FC_DIST_BN_SYNC = 2,      /* synchronized: world ranks with batch B compute what one process
                               * computes with batch world * B (BatchNorm1d/2d of the model)      */
} fc_dist_bn;

typedef struct fc_distributed_opts {
    int _;
    double bucket_mb;   /* 0: 4 MB gradient buckets (in reverse parameter order)           */
    double timeout_s;   /* 0: 300 s; a collective waiting longer aborts the job             */
    fc_dist_bn bn;      /* BatchNorm statistics (default: local, running stats from rank 0) */
    int no_overlap;     /* 1: start every bucket after backward instead of during it       */
    /* (h-cudainfra) NULL or "auto": NCCL when the model is on a CUDA device, else MPI; "mpi";
     * "nccl" (FC_ERR_UNSUPPORTED in a build without NCCL). */
    const char *backend;
} fc_distributed_opts;
/* Makes learn data-parallel over all ranks of the job: shards its train and valid loaders and adds
 * the callback "Distributed". Fails with FC_ERR_UNSUPPORTED when built without MPI. With one rank
 * it is a no-op (the loaders stay whole). */
FC_API fc_status fc_learner_distributed_(fc_learner *learn, const fc_distributed_opts *o);
#define fc_learner_distributed(learn, ...) \
    fc_learner_distributed_((learn), &(fc_distributed_opts){._ = 0, __VA_ARGS__})

/* Counters of the Distributed callback since it was added (for benchmarks). */
typedef struct fc_distributed_stats {
    int64_t steps;          /* optimizer steps whose gradients were averaged                 */
    int n_buckets;
    int64_t bytes_per_step; /* gradient bytes each rank reduces per step                      */
    double hook_s;          /* in backward: copying gradients into buckets, starting allreduces */
    double wait_s;          /* after backward: waiting for the allreduces, copying back      */
    int64_t buckets_started_in_backward; /* buckets started before backward returned        */
    int64_t buckets_done_early; /* buckets already complete when backward returned (overlap) */
} fc_distributed_stats;
FC_API fc_status fc_learner_distributed_stats(const fc_learner *learn, fc_distributed_stats *out);

/* ---- added by h-cudainfra (issue 9) ---- */
/* The device this rank should train on: cuda:(local rank % devices) when a CUDA device is there
 * (and makes it the current device), else the CPU. The local rank comes from the launcher
 * (OMPI_COMM_WORLD_LOCAL_RANK, ...) or MPI_Comm_split_type. Move the model there before
 * fc_learner_distributed: fc_module_to(model, fc_distributed_device()). Never fails. */
FC_API fc_device fc_distributed_device(void);
/* 1 when fastc was built with NCCL (data-parallel training of models on CUDA devices). */
FC_API int fc_distributed_nccl_available(void);

#ifdef __cplusplus
}
#endif
#endif
