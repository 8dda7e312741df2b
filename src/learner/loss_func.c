/* fastai's flattened losses: CrossEntropyLossFlat (optionally label-smoothed), BCEWithLogitsLossFlat,
 * MSELossFlat, L1LossFlat, each with the activation and decodes fastai gives it. */
#include "../core/core_impl.h"
#include "fastc/learner.h"

/* [N, C, d...] -> [N * d..., C] (the class axis last, then flattened), as fastai's axis=1. */
static fc_tensor *class_last_2d(fc_tensor *pred) {
    int nd = fc_tensor_ndim(pred);
    if (nd <= 2) return pred;
    fc_shape dims = {nd, {0}};
    dims.d[0] = 0;
    for (int i = 2; i < nd; i++) dims.d[i - 1] = i;
    dims.d[nd - 1] = 1;
    return fc_reshape(fc_permute(pred, dims), FC_SHAPE(-1, fc_tensor_dim(pred, 1)));
}

static fc_tensor *float_flat(fc_tensor *t) {
    if (!t) return NULL;
    fc_tensor *f = fc_tensor_dtype(t) == FC_DTYPE_F32 ? t : fc_to_dtype(t, FC_DTYPE_F32);
    return fc_reshape(f, FC_SHAPE(-1));
}

static fc_tensor *ce_forward(const fc_loss_func *lf, fc_tensor *pred, fc_tensor *targ) {
    if (!pred || !targ) return NULL;
    if (fc_tensor_ndim(pred) < 2) {
        fc_fail(FC_ERR_SHAPE, "cross_entropy_flat: expected pred [N, C, ...], found %s", fci_tshape(pred));
        return NULL;
    }
    return fc_cross_entropy(class_last_2d(pred), fc_reshape(targ, FC_SHAPE(-1)), .label_smoothing = lf->label_smoothing);
}
static fc_tensor *softmax_act(const fc_loss_func *lf, fc_tensor *pred) { return fc_softmax(pred, 1); }
static fc_tensor *argmax_dec(const fc_loss_func *lf, fc_tensor *act) { return fc_argmax(act, 1, 0); }

fc_loss_func fc_cross_entropy_flat(double label_smoothing) {
    return (fc_loss_func){.name = label_smoothing > 0 ? "label_smoothing_cross_entropy_flat" : "cross_entropy_flat",
                          .forward = ce_forward, .activation = softmax_act, .decodes = argmax_dec,
                          .label_smoothing = label_smoothing};
}

static fc_tensor *bce_forward(const fc_loss_func *lf, fc_tensor *pred, fc_tensor *targ) {
    return fc_bce_with_logits(fc_reshape(pred, FC_SHAPE(-1)), float_flat(targ));
}
static fc_tensor *sigmoid_act(const fc_loss_func *lf, fc_tensor *pred) { return fc_sigmoid(pred); }
static fc_tensor *thresh_dec(const fc_loss_func *lf, fc_tensor *act) {
    return fc_gt(act, fc_scalar(lf->thresh > 0 ? lf->thresh : 0.5));
}

fc_loss_func fc_bce_with_logits_flat(double thresh) {
    return (fc_loss_func){.name = "bce_with_logits_flat", .forward = bce_forward, .activation = sigmoid_act,
                          .decodes = thresh_dec, .thresh = thresh};
}

static fc_tensor *mse_forward(const fc_loss_func *lf, fc_tensor *pred, fc_tensor *targ) {
    return fc_mse_loss(fc_reshape(pred, FC_SHAPE(-1)), float_flat(targ));
}
static fc_tensor *l1_forward(const fc_loss_func *lf, fc_tensor *pred, fc_tensor *targ) {
    return fc_l1_loss(fc_reshape(pred, FC_SHAPE(-1)), float_flat(targ));
}

fc_loss_func fc_mse_flat(void) { return (fc_loss_func){.name = "mse_flat", .forward = mse_forward}; }
fc_loss_func fc_l1_flat(void) { return (fc_loss_func){.name = "l1_flat", .forward = l1_forward}; }
