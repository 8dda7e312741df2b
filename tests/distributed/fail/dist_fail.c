/* A data-parallel fit in which rank 1 fails at training batch 3: `kill` (SIGKILL, a crashed
 * rank) or `hang` (sleeps, a stuck rank). expect_fail.sh runs it under mpirun and checks that
 * the job ends within a bounded time, with a non-zero exit code and a clear message. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fastc/distributed.h"

static int fail_hang;

static int fail_before_batch(fc_learner *learn, void *state) {
    if (fc_distributed_rank() != 1 || !fc_learner_training(learn) || fc_learner_iter(learn) != 3) return FC_CONTINUE;
    fprintf(stderr, "dist_fail: rank 1 %s at batch 3\n", fail_hang ? "hangs" : "kills itself");
    fflush(stderr);
    if (fail_hang) sleep(600);
    else raise(SIGKILL);
    return FC_CONTINUE;
}

int main(int argc, char **argv) {
    if (argc != 2 || (strcmp(argv[1], "kill") && strcmp(argv[1], "hang"))) {
        fprintf(stderr, "usage: mpirun -np 2 dist_fail kill|hang\n");
        return 2;
    }
    fail_hang = !strcmp(argv[1], "hang");
    fc_manual_seed(3);
    fc_tensor *x = fc_keep(fc_randn(FC_SHAPE(4000, 16))), *y = fc_keep(fc_randint(0, 2, FC_SHAPE(4000)));
    fc_learner *learn = fc_learner(fc_tensor_dls(x, y, x, y, .bs = 8),
                                   fc_sequential(fc_linear_new(16, 32), fc_relu_new(), fc_linear_new(32, 2)),
                                   .cbs = FC_CALLBACKS(fc_callback_new(&(fc_callback_def){
                                       .name = "Fail", .before_batch = fail_before_batch})));
    fc_status st = fc_learner_distributed(learn, .timeout_s = 3);
    if (st == FC_OK) st = fc_fit(learn, 1);
    fc_learner_free(learn);
    fc_tensor_free(x);
    fc_tensor_free(y);
    return fc_report(st);
}
