/* AWD-LSTM's dropouts (Merity et al.; fastai's EmbeddingDropout and RNNDropout), composed from
 * fc_dropout of a ones tensor (the mask, scaled by 1 / (1 - p)) and a broadcast multiply, so their
 * backward is that of fc_mul and fc_embedding. Weight dropout (DropConnect) needs no op of its own:
 * it is fc_dropout of the raw weight, drawn once per forward (src/text/awd_lstm.c). */
#include "text_impl.h"

static int check_p(const char *fn, double p) {
    if (p >= 0 && p <= 1) return 0;
    fc_fail(FC_ERR_ARG, "%s: expected p in [0, 1], found %g", fn, p);
    return 1;
}

/* A [shape] mask of Bernoulli(1 - p) / (1 - p), without history (fastai's dropout_mask). */
static fc_tensor *dropout_mask(fc_shape shape, double p) {
    fc_tensor *ones = fc_ones(shape);
    fc_tensor *mask = fc_dropout(ones, p, 1);
    fc_tensor_free(ones);
    return mask;
}

fc_tensor *fc_embedding_dropout(fc_tensor *weight, fc_tensor *idx, int64_t padding_idx, double p,
                                int training) {
    if (!weight || !idx || check_p("embedding_dropout", p)) return NULL;
    fc_tensor *y = fc_embedding(weight, idx, padding_idx);
    if (!y || !training || p == 0) return y;
    /* embedding(idx, W * m) == embedding(idx, W) * m[idx]: gathering the mask costs B*T, not V*D */
    fc_tensor *mask = dropout_mask(FC_SHAPE(fc_tensor_dim(weight, 0), 1), p);
    fc_tensor *m_idx = fc_embedding(mask, idx, -1);
    fc_tensor *out = m_idx ? fc_mul(y, m_idx) : NULL;
    fc_tensor_free(m_idx);
    fc_tensor_free(mask);
    fc_tensor_free(y);
    return out;
}

fc_tensor *fc_locked_dropout(fc_tensor *x, int time_dim, double p, int training) {
    if (!x || check_p("locked_dropout", p)) return NULL;
    int nd = fc_tensor_ndim(x);
    if (nd < 2 || time_dim < -nd || time_dim >= nd) {
        fc_fail(FC_ERR_ARG, "locked_dropout: expected time_dim in [%d, %d) for x of %d dims, found %d",
                -nd, nd, nd, time_dim);
        return NULL;
    }
    if (!training || p == 0) return fc_expand(x, fc_tensor_shape(x)); /* as fc_dropout: a view */
    fc_shape s = fc_tensor_shape(x);
    s.d[time_dim < 0 ? time_dim + nd : time_dim] = 1;
    fc_tensor *mask = dropout_mask(s, p);
    fc_tensor *y = mask ? fc_mul(x, mask) : NULL;
    fc_tensor_free(mask);
    return y;
}
