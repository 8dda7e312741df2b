/* The dataset object, and the in-memory dataset of tensor rows (fastai's TensorDataset case): an
 * item is (x[i], y[i]); a whole batch is gathered row by row in one pass (get_batch). */
#include <string.h>

#include "data_impl.h"

fc_dataset *fc_dataset_new(const fc_dataset_def *def, void *state) {
    fc_dataset *ds = NULL;
    if (!def || !def->len || !def->get)
        fc_fail(FC_ERR_ARG, "dataset_new: def needs len and get");
    else
        ds = fci_calloc(1, sizeof *ds);
    if (!ds) {
        if (def && def->free_state && state) def->free_state(state);
        return NULL;
    }
    ds->def = def;
    ds->state = state;
    return ds;
}

void fc_dataset_free(fc_dataset *ds) {
    if (!ds) return;
    if (ds->def->free_state && ds->state) ds->def->free_state(ds->state);
    fci_free(ds);
}

int64_t fc_dataset_len(const fc_dataset *ds) { return ds ? ds->def->len(ds->state) : 0; }

fc_status fc_dataset_get(fc_dataset *ds, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    if (!ds || !out) return fc_fail(FC_ERR_ARG, "dataset_get: NULL dataset or output");
    int64_t n = ds->def->len(ds->state);
    if (i < 0 || i >= n)
        return fc_fail(FC_ERR_ARG, "dataset_get: %s: index %lld out of range [0, %lld)",
                       ds->def->name ? ds->def->name : "dataset", (long long)i, (long long)n);
    fc_tfm_ctx plain = {.split = FC_SPLIT_BOTH, .index = i};
    *out = (fc_tuple){0};
    fc_status st = ds->def->get(ds->state, i, ctx ? ctx : &plain, out);
    if (st != FC_OK) fc_tuple_free(out);
    return st;
}

fc_status fc_dataset_item_from_text(fc_dataset *ds, const char *text, const fc_tfm_ctx *ctx, fc_tuple *out) {
    if (out) *out = (fc_tuple){0};
    if (!ds || !text || !out) return fc_fail(FC_ERR_ARG, "dataset_item_from_text: NULL dataset, text or output");
    if (!ds->def->item_from_text)
        return fc_fail(FC_ERR_UNSUPPORTED, "dataset_item_from_text: the dataset '%s' cannot make an item from "
                       "text (its def has no item_from_text), so '%s' cannot be loaded",
                       ds->def->name ? ds->def->name : "dataset", text);
    fc_tfm_ctx plain = {.split = FC_SPLIT_BOTH, .index = 0};
    fc_status st = ds->def->item_from_text(ds->state, text, ctx ? ctx : &plain, out);
    if (st != FC_OK) fc_tuple_free(out);
    return st;
}

/* ---- rows of tensors ---- */

typedef struct tensor_ds {
    fc_tensor *part[2];     /* x, y: contiguous, outside any scope */
    const fc_kind *kind[2];
    int64_t n;
} tensor_ds;

static void tensor_ds_free(void *state) {
    tensor_ds *s = state;
    for (int k = 0; k < 2; k++) fci_tensor_unref(s->part[k]); /* refs, maybe of scoped tensors */
    fci_free(s);
}

static int64_t tensor_ds_len(void *state) { return ((tensor_ds *)state)->n; }

fc_tensor *fci_gather_rows(const fc_tensor *t, const int64_t *idx, int64_t n, int as_item) {
    fc_shape s = fc_tensor_shape(t);
    s.d[0] = n;
    if (as_item) {
        for (int d = 1; d < s.ndim; d++) s.d[d - 1] = s.d[d];
        s.ndim--;
    }
    fc_tensor *out = fci_tensor_alloc(s, fc_tensor_dtype(t), FC_CPU);
    if (!out) return NULL;
    int64_t rows = fc_tensor_dim(t, 0);
    size_t row = (size_t)(fc_tensor_numel(t) / (rows ? rows : 1)) * fc_dtype_size(fc_tensor_dtype(t));
    const char *src = fc_tensor_data(t);
    char *dst = fc_tensor_data(out);
    for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * row, src + (size_t)idx[i] * row, row);
    return out;
}

static fc_status gather(tensor_ds *s, const int64_t *idx, int64_t n, int as_item, fc_tuple *out) {
    out->n = 2;
    out->n_inp = 1;
    for (int k = 0; k < 2; k++) {
        fc_tensor *t = fci_gather_rows(s->part[k], idx, n, as_item);
        if (!t) return fc_error_code();
        out->v[k] = fc_value_tensor(s->kind[k], t);
    }
    return FC_OK;
}

static fc_status tensor_ds_get_batch(void *state, const int64_t *idx, int64_t n, fc_tuple *out) {
    return gather(state, idx, n, 0, out);
}

static fc_status tensor_ds_get(void *state, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    return gather(state, &i, 1, 1, out);
}

static const fc_dataset_def tensor_ds_def = {
    .name = "tensor_dataset",
    .len = tensor_ds_len,
    .get = tensor_ds_get,
    .get_batch = tensor_ds_get_batch,
    .free_state = tensor_ds_free,
};

fc_dataset *fc_tensor_dataset(fc_tensor *x, const fc_kind *x_kind, fc_tensor *y, const fc_kind *y_kind) {
    if (!x || !y) return NULL;
    if (fc_tensor_device(x).type != FC_DEVICE_CPU || fc_tensor_device(y).type != FC_DEVICE_CPU) {
        fc_fail(FC_ERR_DEVICE, "tensor_dataset: expected CPU tensors, found x on %s, y on %s",
                fc_device_name(fc_tensor_device(x)), fc_device_name(fc_tensor_device(y)));
        return NULL;
    }
    if (fc_tensor_ndim(x) < 1 || fc_tensor_ndim(y) < 1 || fc_tensor_dim(x, 0) != fc_tensor_dim(y, 0)) {
        fc_fail(FC_ERR_SHAPE, "tensor_dataset: expected x and y with the same first dim, found x %s and y %s",
                fci_tshape(x), fci_tshape(y));
        return NULL;
    }
    tensor_ds *s = fci_calloc(1, sizeof *s);
    if (!s) return NULL;
    fc_scope *outer = fci_scope_suspend(); /* the copies belong to the dataset */
    fc_tensor *src[2] = {x, y};
    const fc_kind *kinds[2] = {x_kind, y_kind};
    for (int k = 0; k < 2; k++) {
        if (fc_tensor_is_contiguous(src[k])) {
            s->part[k] = fc_tensor_ref(src[k]);
        } else {
            fc_tensor *c = fc_contiguous(src[k]);
            s->part[k] = fc_detach(c);
            fc_tensor_free(c);
        }
        s->kind[k] = kinds[k] ? kinds[k] : fc_kind_tensor;
    }
    fci_scope_resume(outer);
    s->n = fc_tensor_dim(x, 0);
    if (!s->part[0] || !s->part[1]) {
        tensor_ds_free(s);
        return NULL;
    }
    return fc_dataset_new(&tensor_ds_def, s);
}
