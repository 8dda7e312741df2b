/* Export and inference (h-export): the inference pipeline of a loader as JSON (the input getter's
 * kind, the inputs' type transforms, the item transforms, the batch transforms that run on the
 * valid subset and the target vocabulary), the dataloaders stand-in rebuilt from it (no training
 * data: items are named when predicting), and fastai's test_dl. */
#include <stdlib.h>
#include <string.h>

#include "../core/json_impl.h"
#include "pipeline_impl.h"

static const fc_kind *const known_kinds[] = {fc_kind_tensor, fc_kind_path, fc_kind_label, fc_kind_image, fc_kind_text,
                                             fc_kind_tokens, fc_kind_tabular, fc_kind_category, NULL};
static const fc_kind *kind_by_name(const char *name) {
    for (int i = 0; name && known_kinds[i]; i++)
        if (!strcmp(known_kinds[i]->name, name)) return known_kinds[i];
    return NULL;
}

/* [{"name": ..., "params": {...}}, ...] for the transforms that run on the valid subset. */
static fc_status tfms_json(fci_sbuf *b, fc_transform *const *tfs, int n) {
    fci_sb_puts(b, "[");
    int first = 1;
    for (int i = 0; i < n; i++) {
        const fc_transform *tf = fci_transform_unproxy(tfs[i]);
        if (fci_transform_def(tf)->split_idx == FC_SPLIT_TRAIN) continue; /* augmentation */
        char *params = fc_transform_to_json(tf);
        if (!params) return fci_error_prefix("export: the inference pipeline: "), fc_error_code();
        fci_sb_puts(b, first ? "{\"name\":" : ",{\"name\":");
        fci_sb_json_string(b, fc_transform_name(tf));
        fci_sb_puts(b, ",\"params\":");
        fci_sb_puts(b, params);
        fci_sb_puts(b, "}");
        free(params);
        first = 0;
    }
    fci_sb_puts(b, "]");
    return b->failed ? fc_error_code() : FC_OK;
}

static fc_status pipeline_json(fci_sbuf *b, fc_pipeline *p) {
    int n = fc_pipeline_n(p);
    fc_transform **t = calloc((size_t)n + 1, sizeof *t);
    if (!t) return fc_fail(FC_ERR_NOMEM, "export: out of memory");
    for (int i = 0; i < n; i++) t[i] = fc_pipeline_at(p, i);
    fc_status st = tfms_json(b, t, n);
    free(t);
    return st;
}

char *fc_dataloaders_pipeline_json(const fc_dataloaders *dls) {
    fc_dataloader *dl = dls ? dls->valid : NULL;
    fc_datasets *d = dl ? fci_dataset_datasets(fc_dataloader_dataset(dl)) : NULL;
    if (!d) {
        if (fc_error_code() == FC_OK)
            fc_fail(FC_ERR_UNSUPPORTED, "export: the valid loader's dataset is not a Datasets subset (a DataBlock or "
                    "*_dls_from_* loader): its application must save its own pipeline (fc_app.data_to_json)");
        return NULL;
    }
    fci_sbuf b = {0};
    fc_status st = FC_OK;
    int n_inp = fci_datasets_n_inp(d);
    fci_sb_printf(&b, "{\"n_inp\":%d,\"inputs\":[", n_inp);
    for (int j = 0; j < n_inp && st == FC_OK; j++) {
        fc_getter *g = fci_datasets_getter(d, j);
        /* the item's own text is what predict is given; other getters read columns of a source */
        fc_value v = {0};
        const fc_kind *kind = fc_kind_path;
        if (g && strcmp(fc_getter_name(g), "item") != 0) {
            st = fc_fail(FC_ERR_UNSUPPORTED, "export: input %d is made by getter '%s'; only the item itself "
                         "(a path, as from a folder) can be exported", j, fc_getter_name(g));
            break;
        }
        if (g) {
            char *one[1] = {"x"};
            fc_items it = {.n = 1, .text = one};
            st = fc_getter_get(g, &it, 0, &v);
            if (st == FC_OK) kind = v.kind;
            fc_value_free(&v);
        }
        if (st == FC_OK && !kind_by_name(kind->name))
            st = fc_fail(FC_ERR_UNSUPPORTED, "export: input %d has kind '%s', which cannot be exported", j, kind->name);
        if (st != FC_OK) break;
        fci_sb_printf(&b, "%s{\"kind\":\"%s\",\"type_tfms\":", j ? "," : "", kind->name);
        fc_pipeline *p = fc_datasets_pipeline(d, j);
        st = p ? pipeline_json(&b, p) : (fci_sb_puts(&b, "[]"), FC_OK);
        fci_sb_puts(&b, "}");
    }
    fci_sb_puts(&b, "],\"item_tfms\":");
    if (st == FC_OK) st = fci_datasets_item_tfms(d) ? pipeline_json(&b, fci_datasets_item_tfms(d)) : (fci_sb_puts(&b, "[]"), FC_OK);
    fci_sb_puts(&b, ",\"batch_tfms\":");
    if (st == FC_OK) {
        int n = fc_dataloader_n_tfms(dl);
        fc_transform **t = calloc((size_t)n + 1, sizeof *t);
        if (!t) st = fc_fail(FC_ERR_NOMEM, "export: out of memory");
        for (int i = 0; t && i < n; i++) t[i] = fc_dataloader_tfm_at(dl, i);
        if (st == FC_OK) st = tfms_json(&b, t, n);
        free(t);
    }
    fci_sb_puts(&b, ",\"vocab\":");
    if (dls->vocab) {
        fci_sb_puts(&b, "[");
        for (int64_t i = 0; i < dls->n_vocab; i++) {
            if (i) fci_sb_puts(&b, ",");
            fci_sb_json_string(&b, dls->vocab[i]);
        }
        fci_sb_puts(&b, "]");
    } else {
        fci_sb_puts(&b, "null");
    }
    fci_sb_printf(&b, ",\"bs\":%lld}", (long long)fc_dataloader_bs(dl));
    if (st == FC_OK && b.failed) st = fc_error_code();
    if (st != FC_OK) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- the stand-in: inputs made from a name through the saved pipelines ---- */

typedef struct infer {
    int n_inp;
    const fc_kind *kinds[FC_MAX_TUPLE];
    fc_pipeline *type_tfms[FC_MAX_TUPLE];
    fc_pipeline *item_tfms;
    char **vocab;
    int64_t n_vocab;
    int refs;
} infer;

static void infer_unref(infer *s) {
    if (!s || --s->refs > 0) return;
    for (int j = 0; j < FC_MAX_TUPLE; j++) fc_pipeline_free(s->type_tfms[j]);
    fc_pipeline_free(s->item_tfms);
    for (int64_t i = 0; i < s->n_vocab; i++) free(s->vocab[i]);
    free(s->vocab);
    free(s);
}
static void infer_free(void *s) { infer_unref(s); }
static int64_t infer_len(void *s) { return 0; }
static fc_status infer_get(void *s, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    return fc_fail(FC_ERR_ARG, "inference data: holds no items (a loaded learner has no training data; use "
                   "fc_dataloader_test_dl to predict on files)");
}
static fc_status infer_item(void *state, const char *text, const fc_tfm_ctx *ctx, fc_tuple *out) {
    infer *s = state;
    fc_tfm_ctx c = ctx ? *ctx : (fc_tfm_ctx){0};
    if (c.split == FC_SPLIT_BOTH) c.split = FC_SPLIT_VALID;
    *out = (fc_tuple){.n = s->n_inp, .n_inp = s->n_inp};
    fc_status st = FC_OK;
    for (int j = 0; j < s->n_inp && st == FC_OK; j++) {
        out->v[j] = fc_value_text(s->kinds[j], text);
        if (!out->v[j].text) st = fc_fail(FC_ERR_NOMEM, "inference data: out of memory");
        else if (s->type_tfms[j]) st = fc_pipeline_encode(s->type_tfms[j], &out->v[j], &c);
    }
    if (st == FC_OK && s->item_tfms) st = fc_pipeline_encode_tuple(s->item_tfms, out, &c);
    if (st != FC_OK) fc_tuple_free(out);
    return st;
}
static fc_status infer_decode(void *state, fc_tuple *item) {
    infer *s = state;
    fc_status st = s->item_tfms ? fc_pipeline_decode_tuple(s->item_tfms, item) : FC_OK;
    for (int j = 0; j < item->n && j < s->n_inp && st == FC_OK; j++)
        if (s->type_tfms[j]) st = fc_pipeline_decode(s->type_tfms[j], &item->v[j]);
    return st;
}
static const fc_dataset_def infer_def = {
    .name = "inference", .len = infer_len, .get = infer_get, .decode = infer_decode, .free_state = infer_free,
    .item_from_text = infer_item,
};

/* A pipeline of the transforms listed in j ([{"name", "params"}]); *out NULL for an empty list. */
static fc_status tfms_from(const fci_json *j, const char *what, fc_tfms *out) {
    *out = (fc_tfms){0};
    if (!j || j->type != FCI_JSON_ARRAY || j->n > 64)
        return fc_fail(FC_ERR_FORMAT, "load_learner: expected '%s' to be an array of at most 64 transforms", what);
    out->t = calloc((size_t)j->n + 1, sizeof *out->t);
    if (!out->t) return fc_fail(FC_ERR_NOMEM, "load_learner: out of memory");
    for (int64_t i = 0; i < j->n; i++) {
        const char *name = fci_json_str(&j->items[i], "name");
        const fci_json *params = fci_json_get(&j->items[i], "params");
        if (!name || !params || params->type != FCI_JSON_OBJECT) {
            fc_fail(FC_ERR_FORMAT, "load_learner: %s[%lld]: expected {\"name\": ..., \"params\": {...}}", what, (long long)i);
            break;
        }
        /* the transform parses its own parameters: hand it their text again */
        fci_sbuf b = {0};
        fc_status st = fci_json_write(&b, params);
        fc_transform *tf = st == FC_OK ? fc_transform_from_json(name, b.p) : NULL;
        free(b.p);
        if (!tf) {
            fci_error_prefix("load_learner: %s[%lld]: ", what, (long long)i);
            break;
        }
        out->t[out->n++] = tf;
    }
    if (out->n != j->n) {
        for (int i = 0; i < out->n; i++) fc_transform_free(out->t[i]);
        free(out->t);
        *out = (fc_tfms){0};
        return fc_error_code();
    }
    return FC_OK;
}

static fc_status pipeline_from(const fci_json *j, const char *what, fc_pipeline **out) {
    fc_tfms t;
    fc_status st = tfms_from(j, what, &t);
    if (st != FC_OK) return st;
    *out = t.n ? fc_pipeline_new(t) : NULL;
    free(t.t);
    return !t.n || *out ? FC_OK : fc_error_code();
}

static fc_status vocab_from(const fci_json *v, infer *s) {
    if (!v || v->type == FCI_JSON_NULL) return FC_OK;
    if (v->type != FCI_JSON_ARRAY) return fc_fail(FC_ERR_FORMAT, "load_learner: expected 'vocab' to be an array of strings or null");
    s->vocab = calloc((size_t)v->n + 1, sizeof *s->vocab);
    if (!s->vocab) return fc_fail(FC_ERR_NOMEM, "load_learner: out of memory");
    for (int64_t i = 0; i < v->n; i++) {
        if (v->items[i].type != FCI_JSON_STRING)
            return fc_fail(FC_ERR_FORMAT, "load_learner: expected 'vocab' to hold strings, found another value at %lld", (long long)i);
        if (!(s->vocab[i] = strdup(v->items[i].str))) return fc_fail(FC_ERR_NOMEM, "load_learner: out of memory");
        s->n_vocab = i + 1;
    }
    return FC_OK;
}

static fc_status infer_from(const fci_json *j, infer *s, fc_tfms *batch) {
    double n_inp = 0;
    const fci_json *inputs = fci_json_get(j, "inputs");
    if (!fci_json_num(j, "n_inp", &n_inp) || n_inp < 1 || n_inp >= FC_MAX_TUPLE || !inputs ||
        inputs->type != FCI_JSON_ARRAY || inputs->n != (int64_t)n_inp)
        return fc_fail(FC_ERR_FORMAT, "load_learner: expected 'n_inp' in [1, %d) and as many 'inputs'", FC_MAX_TUPLE);
    s->n_inp = (int)n_inp;
    for (int k = 0; k < s->n_inp; k++) {
        const char *kind = fci_json_str(&inputs->items[k], "kind");
        if (!(s->kinds[k] = kind_by_name(kind)))
            return fc_fail(FC_ERR_FORMAT, "load_learner: input %d: unknown kind '%s'", k, kind ? kind : "(missing)");
        fc_status st = pipeline_from(fci_json_get(&inputs->items[k], "type_tfms"), "type_tfms", &s->type_tfms[k]);
        if (st != FC_OK) return st;
    }
    fc_status st = pipeline_from(fci_json_get(j, "item_tfms"), "item_tfms", &s->item_tfms);
    if (st == FC_OK) st = tfms_from(fci_json_get(j, "batch_tfms"), "batch_tfms", batch);
    if (st == FC_OK) st = vocab_from(fci_json_get(j, "vocab"), s);
    return st;
}

static fc_dataloader *infer_loader(infer *s, fc_tfms batch, int64_t bs) {
    s->refs++;
    fc_dataset *ds = fc_dataset_new(&infer_def, s);
    return fc_dataloader_new(ds, .bs = bs, .split = FC_SPLIT_VALID, .after_batch = batch);
}

static fc_dataloaders *dataloaders_from_pipeline(const fci_json *j) {
    infer *s = calloc(1, sizeof *s);
    if (!s) {
        fc_fail(FC_ERR_NOMEM, "load_learner: out of memory");
        return NULL;
    }
    s->refs = 1;
    fc_tfms batch = {0};
    fc_status st = j && j->type == FCI_JSON_OBJECT ? infer_from(j, s, &batch)
                                                   : fc_fail(FC_ERR_FORMAT, "load_learner: expected 'data' to be an object");
    double bs = 64;
    fci_json_num(j, "bs", &bs);
    if (!(bs >= 1 && bs <= 1 << 20)) bs = 64;
    fc_dataloaders *dls = NULL;
    if (st == FC_OK) {
        /* the train loader is an empty twin (a learner needs one): the batch transforms are proxies */
        fc_tfms twin = {batch.n, calloc((size_t)batch.n + 1, sizeof(fc_transform *))};
        for (int i = 0; twin.t && i < batch.n; i++) twin.t[i] = fci_transform_proxy(batch.t[i], NULL, NULL, NULL);
        fc_dataloader *valid = infer_loader(s, batch, (int64_t)bs);
        fc_dataloader *train = twin.t ? infer_loader(s, twin, (int64_t)bs) : NULL;
        free(twin.t);
        dls = fc_dataloaders_new(train, valid);
        if (dls) {
            dls->vocab = (const char *const *)s->vocab;
            dls->n_vocab = s->n_vocab;
        }
    } else {
        for (int i = 0; i < batch.n; i++) fc_transform_free(batch.t[i]);
    }
    free(batch.t);
    infer_unref(s);
    return dls;
}

fc_dataloaders *fc_dataloaders_from_pipeline_json(const char *json) {
    fci_json j;
    if (!json) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "dataloaders_from_pipeline_json: NULL text");
        return NULL;
    }
    if (fci_json_parse(json, strlen(json), "dataloaders_from_pipeline_json", "pipeline", &j) != FC_OK) return NULL;
    fc_dataloaders *dls = dataloaders_from_pipeline(&j);
    fci_json_free(&j);
    return dls;
}

/* ---- test_dl: named items through a loader's pipeline ---- */

typedef struct test_ds {
    fc_dataset *src; /* borrowed */
    char **items;
    int64_t *targets; /* NULL: inputs only */
    int64_t n;
} test_ds;

static int64_t test_len(void *s) { return ((test_ds *)s)->n; }
static fc_status test_get(void *state, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    test_ds *s = state;
    if (i < 0 || i >= s->n)
        return fc_fail(FC_ERR_ARG, "test_dl: expected i in [0, %lld), found %lld", (long long)s->n, (long long)i);
    fc_status st = fc_dataset_item_from_text(s->src, s->items[i], ctx, out);
    if (st != FC_OK || !s->targets) return st;
    if (out->n >= FC_MAX_TUPLE) return fc_fail(FC_ERR_ARG, "test_dl: no room for a target after %d values", out->n);
    fc_tensor *y = fc_keep(fc_full((fc_shape){0}, (double)s->targets[i], .dtype = FC_DTYPE_I64));
    if (!y) {
        fc_tuple_free(out);
        return fc_error_code();
    }
    out->v[out->n++] = fc_value_tensor(fc_kind_category, y);
    return FC_OK;
}
/* The source's decode for the inputs; the category target stays an index (named by the vocab). */
static fc_status test_decode(void *state, fc_tuple *item) {
    test_ds *s = state;
    if (!s->src->def->decode) return FC_OK;
    int n = item->n;
    if (s->targets) item->n = item->n_inp;
    fc_status st = s->src->def->decode(s->src->state, item);
    item->n = n;
    return st;
}
static void test_free(void *state) {
    test_ds *s = state;
    for (int64_t i = 0; i < s->n; i++) free(s->items[i]);
    free(s->items);
    free(s->targets);
    free(s);
}
static const fc_dataset_def test_def = {.name = "test_dl", .len = test_len, .get = test_get, .decode = test_decode,
                                        .free_state = test_free};

fc_dataloader *fc_dataloader_test_dl(fc_dataloader *dl, const char *const *items, int64_t n) {
    return fc_dataloader_labelled_dl(dl, items, NULL, n);
}

fc_dataloader *fc_dataloader_labelled_dl(fc_dataloader *dl, const char *const *items, const int64_t *targets, int64_t n) {
    if (!dl || (!items && n > 0) || n < 0) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "test_dl: NULL loader or items");
        return NULL;
    }
    test_ds *s = calloc(1, sizeof *s);
    if (s) s->items = calloc((size_t)n + 1, sizeof *s->items);
    if (!s || !s->items) {
        free(s);
        fc_fail(FC_ERR_NOMEM, "test_dl: out of memory");
        return NULL;
    }
    s->src = fc_dataloader_dataset(dl);
    if (targets) {
        if (!(s->targets = malloc((size_t)(n ? n : 1) * sizeof *s->targets))) {
            test_free(s);
            fc_fail(FC_ERR_NOMEM, "test_dl: out of memory");
            return NULL;
        }
        memcpy(s->targets, targets, (size_t)n * sizeof *targets);
    }
    for (; s->n < n; s->n++)
        if (!(s->items[s->n] = strdup(items[s->n]))) {
            test_free(s);
            fc_fail(FC_ERR_NOMEM, "test_dl: out of memory");
            return NULL;
        }
    int nt = fc_dataloader_n_tfms(dl);
    fc_tfms batch = {0, calloc((size_t)nt + 1, sizeof(fc_transform *))};
    for (int i = 0; batch.t && i < nt; i++) batch.t[batch.n++] = fci_transform_proxy(fc_dataloader_tfm_at(dl, i), NULL, NULL, NULL);
    fc_dataloader *out = fc_dataloader_new(fc_dataset_new(&test_def, s), .bs = fc_dataloader_bs(dl),
                                           .split = fc_dataloader_split(dl) ? fc_dataloader_split(dl) : FC_SPLIT_VALID,
                                           .after_batch = batch);
    free(batch.t);
    return out;
}
