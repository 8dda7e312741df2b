/* Embedding lookup as torch.nn.functional.embedding: weight [V, D] and indices (i64 or i32) of any
 * shape give [..., D]. Backward scatter-adds the output gradient into the rows it came from;
 * rows at padding_idx get none. The node saves the contiguous i64 indices in saved[0] and
 * padding_idx in ip[0]. */
#include <stdio.h>

#include "cpu/embedding.h"
#include "fastc/cuda.h"
#include "ops_impl.h"

static fc_status embedding_bwd(fci_node *n, fc_tensor *gy, fc_tensor **gx) {
    fc_tensor *w = n->in[0], *idx = n->saved[0];
    gx[0] = fc_zeros(fc_tensor_shape(w), .device = w->device);
    if (!gx[0]) return fc_error_code();
#if FASTC_CUDA
    if (FCI_IS_CUDA(w)) { /* deterministic: a sort of the indices, then sums in position order */
        int64_t ni = fc_tensor_numel(idx);
        size_t nb;
        int e = fci_cuda_embedding_bwd_ws(ni, w->shape[0], &nb);
        if (e) return fci_cuda_status("embedding", "cub::DeviceRadixSort::SortPairs (workspace size)", e);
        void *ws = nb ? fci_cuda_alloc(w->device.index, nb) : NULL;
        if (nb && !ws) return fc_error_code();
        e = fci_cuda_embedding_bwd_launch(FCI_STREAM(w), fc_tensor_data(gy), fc_tensor_data(idx),
                                          fc_tensor_data(gx[0]), ni, w->shape[1], w->shape[0], n->ip[0], ws, nb);
        if (ws) fci_cuda_release(w->device.index, ws, nb); /* stream order: after the kernels */
        if (e) return fci_cuda_status("embedding", "cub::DeviceRadixSort::SortPairs", e);
        return fci_cuda_launched("embedding");
    }
#endif
    fci_embedding_bwd_f32(fc_tensor_data(gy), fc_tensor_data(idx), fc_tensor_data(gx[0]),
                          fc_tensor_numel(idx), w->shape[1], n->ip[0]);
    return FC_OK;
}
static const fci_op op_embedding = {"embedding", embedding_bwd};

/* The indices as a contiguous i64 reference outside any scope (release with fci_tensor_unref). */
static fc_tensor *index_i64(fc_tensor *idx) {
    if (idx->dtype == FC_DTYPE_I64 && fc_tensor_is_contiguous(idx)) return fc_tensor_ref(idx);
    fc_tensor *c = fci_tensor_alloc(fc_tensor_shape(idx), FC_DTYPE_I64, idx->device);
    if (!c) return NULL;
    fc_keep(c);
    if (fci_copy_strided(c, idx) != FC_OK) {
        fc_tensor_free(c);
        return NULL;
    }
    return c;
}

/* Fails naming the first index outside [0, V), with its position in idx's shape. */
static int check_range(const fc_tensor *orig, const int64_t *p, int64_t n, int64_t V) {
    for (int64_t i = 0; i < n; i++) {
        if (p[i] >= 0 && p[i] < V) continue;
        char pos[160];
        int len = 0;
        int64_t rem = i, at[FC_MAX_DIMS] = {0};
        for (int d = orig->ndim - 1; d >= 0; d--) {
            at[d] = rem % orig->shape[d];
            rem /= orig->shape[d];
        }
        len += snprintf(pos + len, sizeof pos - (size_t)len, "[");
        for (int d = 0; d < orig->ndim; d++)
            len += snprintf(pos + len, sizeof pos - (size_t)len, "%s%lld", d ? ", " : "",
                            (long long)at[d]);
        snprintf(pos + len, sizeof pos - (size_t)len, "]");
        fc_fail(FC_ERR_ARG, "embedding: index %lld at position %s of idx %s is out of range for "
                            "weight with %lld rows (expected 0 <= index < %lld)",
                (long long)p[i], pos, fci_tshape(orig), (long long)V, (long long)V);
        return 1;
    }
    return 0;
}

fc_tensor *fc_embedding(fc_tensor *weight, fc_tensor *idx, int64_t padding_idx) {
    if (!weight || !idx) return NULL;
    const char *op = "embedding";
    if (fci_check_float32(op, "weight", weight) || fci_check_device(op, weight) ||
        fci_check_index_dtype(op, "idx", idx) || fci_check_same_device(op, weight, idx) ||
        fci_check_ndim(op, "weight [V, D]", weight, 2))
        return NULL;
    int64_t V = weight->shape[0], D = weight->shape[1];
    if (padding_idx < -1 || padding_idx >= V) {
        fc_fail(FC_ERR_ARG, "embedding: expected padding_idx -1 (none) or in [0, %lld), found %lld",
                (long long)V, (long long)padding_idx);
        return NULL;
    }
    if (idx->ndim + 1 > FC_MAX_DIMS) {
        fc_fail(FC_ERR_SHAPE, "embedding: idx %s has too many dims (at most %d)", fci_tshape(idx),
                FC_MAX_DIMS - 1);
        return NULL;
    }
    fc_tensor *ic = index_i64(idx);
    if (!ic) return NULL;
    int64_t n = fc_tensor_numel(ic);
    /* CUDA indices are checked on the host (a copy of n i64): a bad index must fail clearly, not
     * read outside the table */
    fc_tensor *ih = ic->device.type == FC_DEVICE_CPU ? fc_tensor_ref(ic) : fc_keep(fc_tensor_to(ic, FC_CPU));
    if (!ih || check_range(idx, fc_tensor_data(ih), n, V)) {
        fci_tensor_unref(ih); /* our reference only: ic may be idx itself, owned by a scope */
        fci_tensor_unref(ic);
        return NULL;
    }
    fci_tensor_unref(ih);
    fc_tensor *wc = fci_contig_f32_any(op, weight);
    fc_shape s = fc_tensor_shape(idx);
    s.d[s.ndim++] = D;
    fc_tensor *y = wc ? fci_tensor_alloc(s, FC_DTYPE_F32, weight->device) : NULL;
#if FASTC_CUDA
    if (y && FCI_IS_CUDA(weight)) {
        fci_cuda_embedding_fwd_launch(FCI_STREAM(weight), fc_tensor_data(wc), fc_tensor_data(ic),
                                      fc_tensor_data(y), n, D);
        if (fci_cuda_launched(op) != FC_OK) {
            fc_tensor_free(y);
            y = NULL;
        }
    } else
#endif
    if (y) fci_embedding_fwd_f32(fc_tensor_data(wc), fc_tensor_data(ic), fc_tensor_data(y), n, D);
    fci_tensor_unref(wc);
    if (y && fci_grad_needed(1, &weight)) {
        fci_node *nd = fci_record(&op_embedding, y, 1, &weight);
        if (!nd) y = NULL;
        else {
            nd->ip[0] = padding_idx;
            fci_save(nd, 0, ic);
        }
    }
    fci_tensor_unref(ic);
    return y;
}
