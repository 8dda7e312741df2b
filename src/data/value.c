/* Values with semantic kinds, tuples, and the transform object: applying a transform to a value
 * only when it acts on the value's kind and subset, item by item for a list value. */
#include <stdlib.h>
#include <string.h>

#include "data_impl.h"

const fc_kind fc_kind_tensor[1] = {{"tensor"}};
const fc_kind fc_kind_path[1] = {{"path"}};
const fc_kind fc_kind_label[1] = {{"label"}};
const fc_kind fc_kind_image[1] = {{"image"}};
const fc_kind fc_kind_mask[1] = {{"mask"}};
const fc_kind fc_kind_points[1] = {{"points"}};
const fc_kind fc_kind_bbox[1] = {{"bbox"}};
const fc_kind fc_kind_category[1] = {{"category"}};
const fc_kind fc_kind_multi_category[1] = {{"multi_category"}};
const fc_kind fc_kind_text[1] = {{"text"}};
const fc_kind fc_kind_tokens[1] = {{"tokens"}};
const fc_kind fc_kind_tabular[1] = {{"tabular"}};

fc_value fc_value_tensor(const fc_kind *kind, fc_tensor *t) {
    return (fc_value){.kind = kind ? kind : fc_kind_tensor, .t = fc_keep(t)};
}

fc_value fc_value_text(const fc_kind *kind, const char *text) {
    fc_value v = {.kind = kind ? kind : fc_kind_text};
    if (!text) return v;
    size_t n = strlen(text) + 1;
    v.text = malloc(n);
    if (!v.text) {
        fc_fail(FC_ERR_NOMEM, "value_text: cannot allocate %zu bytes", n);
        return v;
    }
    memcpy(v.text, text, n);
    return v;
}

void fc_value_free(fc_value *v) {
    if (!v) return;
    fc_tensor_free(v->t);
    free(v->text);
    for (int64_t i = 0; i < v->n_list; i++) fc_tensor_free(v->list[i]);
    free(v->list);
    *v = (fc_value){0};
}

void fc_value_set_tensor(fc_value *v, const fc_kind *kind, fc_tensor *t) {
    if (!v) {
        fc_tensor_free(t);
        return;
    }
    fc_keep(t);
    if (v->t != t) fc_tensor_free(v->t);
    v->t = t;
    if (kind) v->kind = kind;
}

void fc_tuple_free(fc_tuple *tup) {
    if (!tup) return;
    for (int i = 0; i < FC_MAX_TUPLE; i++) fc_value_free(&tup->v[i]);
    tup->n = tup->n_inp = 0;
}

fc_status fci_value_copy(const fc_value *v, fc_value *out) {
    *out = (fc_value){.kind = v->kind};
    if (v->t) out->t = fc_tensor_ref(v->t);
    if (v->text) {
        size_t n = strlen(v->text) + 1;
        if (!(out->text = malloc(n))) {
            fc_value_free(out);
            return fc_fail(FC_ERR_NOMEM, "value copy: out of memory for %zu bytes", n);
        }
        memcpy(out->text, v->text, n);
    }
    if (v->n_list > 0) {
        out->list = calloc((size_t)v->n_list, sizeof *out->list);
        if (!out->list) {
            fc_value_free(out);
            return fc_fail(FC_ERR_NOMEM, "value copy: out of memory for a list of %lld", (long long)v->n_list);
        }
        out->n_list = v->n_list;
        for (int64_t k = 0; k < v->n_list; k++) out->list[k] = fc_tensor_ref(v->list[k]);
    }
    return FC_OK;
}

/* ---- transforms ---- */

fc_transform *fc_transform_new(const fc_transform_def *def, void *state) {
    fc_transform *tf = def ? fci_calloc(1, sizeof *tf) : NULL;
    if (!tf) {
        if (!def) fc_fail(FC_ERR_ARG, "transform_new: def is NULL");
        else if (def->free_state && state) def->free_state(state);
        return NULL;
    }
    tf->def = def;
    tf->state = state;
    return tf;
}

void fc_transform_free(fc_transform *tf) {
    if (!tf) return;
    if (tf->def->free_state && tf->state) tf->def->free_state(tf->state);
    fci_free(tf);
}

const char *fc_transform_name(const fc_transform *tf) {
    return tf && tf->def->name ? tf->def->name : "transform";
}

const fc_transform_def *fci_transform_def(const fc_transform *tf) { return tf->def; }
void *fci_transform_state(const fc_transform *tf) { return tf->state; }

int fci_transform_acts_on(const fc_transform_def *def, const fc_kind *kind) {
    if (!def->kinds) return 1;
    for (const fc_kind *const *k = def->kinds; *k; k++)
        if (*k == kind) return 1;
    return 0;
}

/* fastai's rule: a transform with a split_idx runs only when called for that subset. */
int fci_tfm_applies(const fc_transform *tf, const fc_kind *kind, fc_split_idx split) {
    fc_split_idx only = tf->def->split_idx;
    if (only != FC_SPLIT_BOTH && only != split) return 0;
    return fci_transform_acts_on(tf->def, kind);
}

fc_status fci_tfm_apply(const fc_transform *tf, fc_value *v, const fc_tfm_ctx *ctx, int decode) {
    const fc_transform_def *def = tf->def;
    if (decode ? !def->decodes : !def->encodes) return FC_OK;
    if (v->n_list == 0) return decode ? def->decodes(tf->state, v) : def->encodes(tf->state, v, ctx);
    const fc_kind *kind = v->kind;
    for (int64_t k = 0; k < v->n_list; k++) { /* a list value (variably-sized items): item by item */
        fc_value item = {.kind = v->kind, .t = v->list[k]};
        fc_status st = decode ? def->decodes(tf->state, &item) : def->encodes(tf->state, &item, ctx);
        v->list[k] = item.t; /* the transform may have replaced (and freed) the item's tensor */
        free(item.text);
        if (st != FC_OK) return st;
        kind = item.kind;
    }
    v->kind = kind;
    return FC_OK;
}

fc_status fci_tfm_encode(const fc_transform *tf, fc_value *v, const fc_tfm_ctx *ctx) {
    fc_split_idx split = ctx ? ctx->split : FC_SPLIT_BOTH;
    if (!v->kind || !fci_tfm_applies(tf, v->kind, split)) return FC_OK;
    fc_status st = fci_tfm_apply(tf, v, ctx, 0);
    if (st != FC_OK && fc_error_code() == FC_OK)
        return fc_fail(st, "%s: encodes failed on a %s value without saying why", fc_transform_name(tf),
                       v->kind->name);
    return st;
}

fc_status fci_tfm_decode(const fc_transform *tf, fc_value *v) {
    if (!v->kind || !fci_transform_acts_on(tf->def, v->kind)) return FC_OK;
    fc_status st = fci_tfm_apply(tf, v, NULL, 1);
    if (st != FC_OK && fc_error_code() == FC_OK)
        return fc_fail(st, "%s: decodes failed on a %s value without saying why", fc_transform_name(tf),
                       v->kind->name);
    return st;
}

fc_status fci_tfms_encode_tuple(fc_transform *const *tfs, int n, fc_tuple *tup, const fc_tfm_ctx *ctx) {
    for (int k = 0; k < n; k++)
        for (int i = 0; i < tup->n; i++) {
            fc_status st = fci_tfm_encode(tfs[k], &tup->v[i], ctx);
            if (st != FC_OK) return st;
        }
    return FC_OK;
}

fc_status fci_tfms_decode_tuple(fc_transform *const *tfs, int n, fc_tuple *tup) {
    for (int k = n - 1; k >= 0; k--)
        for (int i = 0; i < tup->n; i++) {
            fc_status st = fci_tfm_decode(tfs[k], &tup->v[i]);
            if (st != FC_OK) return st;
        }
    return FC_OK;
}

void fci_tfms_sort(fc_transform **tfs, int n) {
    for (int i = 1; i < n; i++) { /* insertion sort: stable, and lists are short */
        fc_transform *t = tfs[i];
        int j = i - 1;
        while (j >= 0 && tfs[j]->def->order > t->def->order) {
            tfs[j + 1] = tfs[j];
            j--;
        }
        tfs[j + 1] = t;
    }
}
