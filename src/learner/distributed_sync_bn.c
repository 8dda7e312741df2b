/* SyncBatchNorm for data-parallel training (PyTorch's nn.SyncBatchNorm): in training the batch
 * statistics are those of all ranks' items together, so 2 ranks with batch B compute what one
 * process computes with batch 2B. Composed from differentiable ops around one differentiable
 * allreduce (the sum of x over ranks; its backward is the sum of the incoming gradients over
 * ranks, since every rank's output depends on every rank's input): per channel the sums of x and
 * x^2 are reduced, mean = S1 / N, var = S2 / N - mean^2 (biased, for normalizing), and the running
 * stats move with the unbiased var as torch does. Evaluation runs the ordinary batch norm on the
 * running stats. fci_dist_sync_bn swaps the forward of the model's BatchNorm1d/2d modules in
 * place; their type name, state, parameters and buffers stay, so freezing, weight decay
 * exemptions, saving and export see plain BatchNorm. */
#include <string.h>

#include "../autograd/autograd_impl.h"
#include "../nn/nn_impl.h"
#include "comm_impl.h"
#include "fastc/ops.h"
#include "learner_impl.h"

static fci_comm *sbn_comm;
static double sbn_timeout_s = 300;

/* y = x summed over the ranks (a new contiguous f32 tensor), in place on a private copy. */
static fc_tensor *allreduce_copy(fc_tensor *x, const char *what) {
    fc_no_grad_begin();
    fc_tensor *y = fc_clone(x);
    fc_no_grad_end();
    if (!y) return NULL;
    int req = -1;
    fc_status st = sbn_comm->ops->iallreduce_sum_f32(sbn_comm, fc_tensor_data_f32(y), fc_tensor_numel(y), &req);
    if (st == FC_OK) st = sbn_comm->ops->wait(sbn_comm, req, fci_comm_now() + sbn_timeout_s, what);
    if (st != FC_OK) {
        fc_tensor_free(y);
        return NULL;
    }
    return y;
}

static fc_status allreduce_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    gx[0] = allreduce_copy(gy, "the SyncBatchNorm gradient allreduce (backward)");
    return gx[0] ? FC_OK : fc_error_code();
}

static const fci_op op_allreduce = {.name = "allreduce_sum", .backward = allreduce_bwd};

static fc_tensor *allreduce_sum(fc_tensor *x) {
    if (!x) return NULL;
    if (fc_tensor_dtype(x) != FC_DTYPE_F32) {
        fc_fail(FC_ERR_UNSUPPORTED, "SyncBatchNorm: expected f32 statistics, found %s", fc_dtype_name(fc_tensor_dtype(x)));
        return NULL;
    }
    fc_tensor *y = allreduce_copy(x, "the SyncBatchNorm statistics allreduce (forward)");
    if (y && fci_grad_needed(1, &x) && !fci_record(&op_allreduce, y, 1, &x)) return NULL;
    return y;
}

static fc_tensor *pm(fc_module *m, const char *name) { return fc_module_get(m, name); }

/* x [N, C] or [N, C, L] (1d), [N, C, H, W] (2d). */
static fc_tensor *sync_bn_fwd(fc_module *m, fc_tensor *x) {
    /* BatchNorm's state (src/nn/layers.c) starts with its resolved fc_batchnorm_new_opts */
    const fc_batchnorm_new_opts *o = fc_module_state(m);
    if (!x) return NULL;
    int nd = fc_tensor_ndim(x);
    fc_tensor *w = pm(m, "weight"), *b = pm(m, "bias"), *rm = pm(m, "running_mean"), *rv = pm(m, "running_var");
    if (!fc_module_is_training(m) || !sbn_comm || nd < 2)
        return fc_batch_norm(x, rm, rv, w, b, fc_module_is_training(m), o->momentum, o->eps);
    int64_t c = fc_tensor_dim(x, 1);
    fc_shape dims = {0}, cshape = {nd, {0}};
    for (int i = 0; i < nd; i++) {
        if (i != 1) dims.d[dims.ndim++] = i;
        cshape.d[i] = i == 1 ? c : 1;
    }
    double count = (double)(fc_tensor_numel(x) / c);
    fc_status st = sbn_comm->ops->allreduce_sum_f64(sbn_comm, &count, 1, fci_comm_now() + sbn_timeout_s,
                                                    "the SyncBatchNorm item count allreduce");
    if (st != FC_OK) return NULL;
    fc_tensor *s1 = allreduce_sum(fc_sum(x, dims, 1)), *s2 = allreduce_sum(fc_sum(fc_mul(x, x), dims, 1));
    fc_tensor *mean = fc_mul_scalar(s1, 1.0 / count);
    fc_tensor *var = fc_sub(fc_mul_scalar(s2, 1.0 / count), fc_mul(mean, mean));
    fc_tensor *y = fc_mul(fc_sub(x, mean), fc_rsqrt(fc_add_scalar(var, o->eps)));
    if (w && b) y = fc_add(fc_mul(y, fc_view(w, cshape)), fc_view(b, cshape));
    if (!y) return NULL;
    /* running stats, as torch: unbiased var, momentum weighting; tensor ops (no grad) so that
     * stats on a CUDA device are updated there */
    double mom = o->momentum, unbias = count > 1 ? count / (count - 1) : 1;
    fc_tensor *nbt = pm(m, "num_batches_tracked");
    fc_no_grad_begin();
    fc_tensor *m1 = fc_reshape(mean, FC_SHAPE(c)), *v1 = fc_reshape(var, FC_SHAPE(c));
    st = fc_copy_(rm, fc_add(fc_mul_scalar(rm, 1 - mom), fc_mul_scalar(m1, mom)));
    if (st == FC_OK) st = fc_copy_(rv, fc_add(fc_mul_scalar(rv, 1 - mom), fc_mul_scalar(v1, mom * unbias)));
    if (st == FC_OK && fc_tensor_device(nbt).type == FC_DEVICE_CPU)
        (*(int64_t *)fc_tensor_data(nbt))++;
    else if (st == FC_OK) /* on the device without a host sync, as BatchNorm (src/nn/layers.c) */
        st = fc_copy_(nbt, fc_add_scalar(fc_to_dtype(nbt, FC_DTYPE_F32), 1.0));
    fc_no_grad_end();
    if (st != FC_OK) return NULL;
    return y;
}

static const fc_module_def sync_bn1d_def = {.name = "BatchNorm1d", .forward = sync_bn_fwd, .free_state = fci_free};
static const fc_module_def sync_bn2d_def = {.name = "BatchNorm2d", .forward = sync_bn_fwd, .free_state = fci_free};

static void swap_bn(fc_module *m, const char *name, void *ctx) {
    int *n = ctx;
    const char *t = fc_module_type(m);
    if (!t || fc_module_definition(m) == &sync_bn1d_def || fc_module_definition(m) == &sync_bn2d_def) return;
    if (!strcmp(t, "BatchNorm1d")) fci_module_set_def(m, &sync_bn1d_def);
    else if (!strcmp(t, "BatchNorm2d")) fci_module_set_def(m, &sync_bn2d_def);
    else return;
    (*n)++;
}

int fci_dist_sync_bn(fc_module *model, fci_comm *comm, double timeout_s) {
    sbn_comm = comm;
    sbn_timeout_s = timeout_s;
    int n = 0;
    fci_module_walk(model, swap_bn, &n);
    return n;
}
