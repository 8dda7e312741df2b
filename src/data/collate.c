/* Collation: items -> a batch (stack equal shapes; keep a list when shapes differ), and back:
 * a batch -> items (row i of every stacked value, item i of every list). */
#include <stdlib.h>
#include <string.h>

#include "data_impl.h"

/* A contiguous tensor with t's values (a new reference to t itself when it already is one). */
static fc_tensor *contiguous_ref(fc_tensor *t) {
    if (fc_tensor_is_contiguous(t)) return fc_tensor_ref(t);
    fc_tensor *c = fci_tensor_alloc(fc_tensor_shape(t), fc_tensor_dtype(t), FC_CPU);
    if (c && fci_copy_strided(c, t) != FC_OK) {
        fc_tensor_free(c);
        return NULL;
    }
    return c;
}

static int same_shape(const fc_tensor *a, const fc_tensor *b) {
    if (fc_tensor_ndim(a) != fc_tensor_ndim(b)) return 0;
    for (int d = 0; d < fc_tensor_ndim(a); d++)
        if (fc_tensor_dim(a, d) != fc_tensor_dim(b, d)) return 0;
    return 1;
}

static fc_status stack(const fc_tuple *items, int64_t n, int j, fc_value *out) {
    const fc_tensor *first = items[0].v[j].t;
    fc_shape s = fc_tensor_shape(first);
    if (s.ndim == FC_MAX_DIMS)
        return fc_fail(FC_ERR_SHAPE, "collate: value %d has %d dims; a batch would need %d", j, s.ndim,
                       s.ndim + 1);
    memmove(s.d + 1, s.d, sizeof(int64_t) * (size_t)s.ndim);
    s.d[0] = n;
    s.ndim++;
    fc_tensor *b = fci_tensor_alloc(s, fc_tensor_dtype(first), FC_CPU);
    if (!b) return fc_error_code();
    size_t row = (size_t)fc_tensor_numel(first) * fc_dtype_size(fc_tensor_dtype(first));
    for (int64_t i = 0; i < n; i++) {
        fc_tensor *c = contiguous_ref(items[i].v[j].t);
        if (!c) {
            fc_tensor_free(b);
            return fc_error_code();
        }
        memcpy((char *)fc_tensor_data(b) + (size_t)i * row, fc_tensor_data(c), row);
        fc_tensor_free(c);
    }
    *out = fc_value_tensor(items[0].v[j].kind, b);
    return FC_OK;
}

static fc_status listed(const fc_tuple *items, int64_t n, int j, fc_value *out) {
    fc_tensor **list = malloc((size_t)n * sizeof *list);
    if (!list) return fc_fail(FC_ERR_NOMEM, "collate: cannot allocate a list of %lld", (long long)n);
    for (int64_t i = 0; i < n; i++) list[i] = fc_tensor_ref(items[i].v[j].t);
    *out = (fc_value){.kind = items[0].v[j].kind, .list = list, .n_list = n};
    return FC_OK;
}

fc_status fc_collate(const fc_tuple *items, int64_t n, fc_tuple *batch) {
    if (!items || !batch || n <= 0)
        return fc_fail(FC_ERR_ARG, "collate: expected n >= 1 items, found %lld", (long long)n);
    *batch = (fc_tuple){.n = items[0].n, .n_inp = items[0].n_inp};
    for (int j = 0; j < items[0].n; j++) {
        int equal = 1;
        for (int64_t i = 0; i < n; i++) {
            const fc_value *v = &items[i].v[j];
            if (items[i].n != items[0].n)
                return fc_fail(FC_ERR_SHAPE, "collate: item 0 has %d values, item %lld has %d",
                               items[0].n, (long long)i, items[i].n);
            if (!v->t) {
                fc_tuple_free(batch);
                return fc_fail(FC_ERR_ARG,
                               "collate: value %d of item %lld is %s%s%s%s, not a tensor; add a transform "
                               "that makes it one (Categorize for labels, an image reader for paths)",
                               j, (long long)i, v->kind ? v->kind->name : "empty", v->text ? " '" : "",
                               v->text ? v->text : "", v->text ? "'" : "");
            }
            if (fc_tensor_dtype(v->t) != fc_tensor_dtype(items[0].v[j].t)) {
                fc_tuple_free(batch);
                return fc_fail(FC_ERR_DTYPE, "collate: value %d is %s in item 0 but %s in item %lld", j,
                               fc_dtype_name(fc_tensor_dtype(items[0].v[j].t)),
                               fc_dtype_name(fc_tensor_dtype(v->t)), (long long)i);
            }
            if (!same_shape(v->t, items[0].v[j].t)) equal = 0;
        }
        fc_status st = equal ? stack(items, n, j, &batch->v[j]) : listed(items, n, j, &batch->v[j]);
        if (st != FC_OK) {
            fc_tuple_free(batch);
            return st;
        }
    }
    return FC_OK;
}

/* Row i of a stacked tensor as a new contiguous tensor. */
static fc_tensor *row_of(fc_tensor *t, int64_t i) {
    fc_tensor *c = contiguous_ref(t);
    if (!c) return NULL;
    fc_shape s = fc_tensor_shape(c);
    for (int d = 1; d < s.ndim; d++) s.d[d - 1] = s.d[d];
    s.ndim--;
    fc_tensor *r = fci_tensor_alloc(s, fc_tensor_dtype(c), FC_CPU);
    if (r) {
        size_t row = (size_t)fc_shape_numel(s) * fc_dtype_size(fc_tensor_dtype(c));
        memcpy(fc_tensor_data(r), (char *)fc_tensor_data(c) + (size_t)i * row, row);
    }
    fc_tensor_free(c);
    return r;
}

int64_t fci_batch_size(const fc_tuple *batch) {
    for (int j = 0; j < batch->n; j++) {
        if (batch->v[j].n_list) return batch->v[j].n_list;
        if (batch->v[j].t && fc_tensor_ndim(batch->v[j].t) > 0) return fc_tensor_dim(batch->v[j].t, 0);
    }
    return 0;
}

fc_status fci_uncollate(const fc_tuple *batch, fc_tuple **items, int64_t *n) {
    int64_t bs = fci_batch_size(batch);
    *items = NULL;
    *n = 0;
    if (bs <= 0) return fc_fail(FC_ERR_ARG, "decode_batch: the batch has no batch dimension");
    fc_tuple *out = calloc((size_t)bs, sizeof *out);
    if (!out) return fc_fail(FC_ERR_NOMEM, "decode_batch: cannot allocate %lld items", (long long)bs);
    for (int64_t i = 0; i < bs; i++) {
        out[i].n = batch->n;
        out[i].n_inp = batch->n_inp;
        for (int j = 0; j < batch->n; j++) {
            const fc_value *v = &batch->v[j];
            fc_tensor *t = v->n_list ? (i < v->n_list ? fc_tensor_ref(v->list[i]) : NULL)
                                     : (v->t ? row_of(v->t, i) : NULL);
            if (!t) {
                for (int64_t k = 0; k <= i; k++) fc_tuple_free(&out[k]);
                free(out);
                if (fc_error_code() != FC_OK) return fc_error_code();
                return fc_fail(FC_ERR_SHAPE, "decode_batch: value %d has no item %lld", j, (long long)i);
            }
            out[i].v[j] = fc_value_tensor(v->kind, t);
        }
    }
    *items = out;
    *n = bs;
    return FC_OK;
}
