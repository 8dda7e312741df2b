/* Data-parallel training on MNIST_SAMPLE (3 vs 7) over every rank of an MPI job:
 *   mpirun -np 2 build/fastc_train_distributed [EPOCHS [LR]]
 *   mpirun --hostfile hosts -np 4 build/fastc_train_distributed      (several machines)
 * Each rank runs this same program on the same data (FASTC_DATA / the extracted folder on every
 * machine); the batch size below is per rank, so one step sees 64 * ranks images, and the lr is
 * scaled linearly with the ranks by hand, as fastai leaves it to the user. Only rank 0 prints and
 * writes model.fcm. Without mpirun (or built without MPI) it trains on one process. */
#include <stdio.h>
#include <stdlib.h>

#include "fastc/fastc.h"

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 1;
    double lr = argc > 2 ? atof(argv[2]) : 5e-3;
    int ranks = fc_distributed_available() && fc_distributed_init() == FC_OK ? fc_distributed_size() : 1;
    fc_error_clear(); /* without MPI: one process */
    fc_manual_seed(0); /* the same initial model everywhere (and rank 0's is broadcast anyway) */
    fc_dataloaders *dls = fc_image_dls_from_folder(fc_untar_data("mnist_sample"), .bs = 64);
    static const int64_t actns[] = {1, 16, 32, 64, 2};
    fc_learner *learn = fc_learner(dls, fc_simple_cnn(actns, 5, .bn = 1), .metrics = FC_METRICS(fc_accuracy()));
    fc_status st = ranks > 1 ? fc_learner_distributed(learn) : learn ? FC_OK : fc_error_code();
    if (st == FC_OK && fc_distributed_rank() == 0)
        printf("%d rank(s), per-rank batch 64 (global %d), lr %g\n", ranks, 64 * ranks, lr * ranks);
    if (st == FC_OK) st = fc_fit_one_cycle(learn, epochs, lr * ranks);
    if (st == FC_OK) st = fc_learner_save(learn, "model.fcm"); /* rank 0 writes; the others return FC_OK */
    fc_learner_free(learn);
    return fc_report(st);
}
