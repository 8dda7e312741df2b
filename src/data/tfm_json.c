/* Transforms saved by name and parameters (h-export): each def's to_json writes its parameters, and
 * a registry of from_json constructors by name rebuilds it when an exported learner is loaded. */
#include <stdlib.h>
#include <string.h>

#include "../core/json_impl.h"
#include "pipeline_impl.h"

char *fc_transform_to_json(const fc_transform *tf) {
    if (!tf) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "transform_to_json: NULL transform");
        return NULL;
    }
    tf = fci_transform_unproxy(tf); /* a proxy's def is a copy; its state is not the inner one's */
    const fc_transform_def *d = fci_transform_def(tf);
    if (!d->to_json) {
        fc_fail(FC_ERR_UNSUPPORTED, "transform_to_json: transform '%s' cannot be saved (its def has no to_json)",
                d->name ? d->name : "(unnamed)");
        return NULL;
    }
    return d->to_json(fci_transform_state(tf));
}

/* ---- the data layer's own transforms ---- */

static fc_status parse(const char *who, const char *json, fci_json *out) {
    if (!json) return fc_fail(FC_ERR_ARG, "%s: NULL parameters", who);
    fc_status st = fci_json_parse(json, strlen(json), who, "parameters", out);
    if (st == FC_OK && out->type != FCI_JSON_OBJECT) {
        fci_json_free(out);
        st = fc_fail(FC_ERR_FORMAT, "%s: expected the parameters to be a JSON object", who);
    }
    return st;
}

/* The strings of array key (borrowed from j) into a new array (free() it). */
static const char **strings(const char *who, const fci_json *j, const char *key, int64_t *n) {
    const fci_json *a = fci_json_get(j, key);
    if (!a || a->type != FCI_JSON_ARRAY || a->n == 0) {
        fc_fail(FC_ERR_FORMAT, "%s: expected '%s' to be a non-empty array of strings", who, key);
        return NULL;
    }
    const char **v = calloc((size_t)a->n, sizeof *v);
    if (!v) {
        fc_fail(FC_ERR_NOMEM, "%s: out of memory", who);
        return NULL;
    }
    for (int64_t i = 0; i < a->n; i++) {
        if (a->items[i].type != FCI_JSON_STRING) {
            free(v);
            fc_fail(FC_ERR_FORMAT, "%s: expected '%s' to hold strings, found another value at %lld", who, key, (long long)i);
            return NULL;
        }
        v[i] = a->items[i].str;
    }
    *n = a->n;
    return v;
}

static fc_transform *categorize_from(const char *json, int multi) {
    const char *who = multi ? "MultiCategorize" : "Categorize";
    fci_json j;
    if (parse(who, json, &j) != FC_OK) return NULL;
    int64_t n = 0;
    const char **vocab = strings(who, &j, "vocab", &n);
    const char *delim = fci_json_str(&j, "delim");
    fc_transform *tf = NULL;
    if (vocab && multi) tf = fc_multi_categorize(.vocab = vocab, .n_vocab = n, .delim = delim && delim[0] ? delim[0] : ';');
    else if (vocab) tf = fc_categorize(.vocab = vocab, .n_vocab = n);
    free(vocab);
    fci_json_free(&j);
    return tf;
}
static fc_transform *categorize_from_json(const char *json) { return categorize_from(json, 0); }
static fc_transform *multi_categorize_from_json(const char *json) { return categorize_from(json, 1); }

static fc_transform *normalize_from_json(const char *json) {
    fci_json j;
    if (parse("Normalize", json, &j) != FC_OK) return NULL;
    const fci_json *m = fci_json_get(&j, "mean"), *s = fci_json_get(&j, "std");
    fc_transform *tf = NULL;
    if (!m || !s || m->type != FCI_JSON_ARRAY || s->type != FCI_JSON_ARRAY || m->n != s->n || m->n < 1 || m->n > 64) {
        fc_fail(FC_ERR_FORMAT, "Normalize: expected 'mean' and 'std' arrays of the same length (1 to 64 channels)");
    } else {
        float mean[64], std[64];
        int ok = 1;
        for (int64_t c = 0; c < m->n; c++) {
            ok &= m->items[c].type == FCI_JSON_NUMBER && s->items[c].type == FCI_JSON_NUMBER;
            mean[c] = (float)m->items[c].num;
            std[c] = (float)s->items[c].num;
        }
        if (!ok) fc_fail(FC_ERR_FORMAT, "Normalize: expected numbers in 'mean' and 'std'");
        else tf = fc_normalize(.mean = mean, .std = std, .n_channels = (int)m->n);
    }
    fci_json_free(&j);
    return tf;
}

static fc_transform *no_params(const char *who, const char *json, fc_transform *(*make)(void)) {
    fci_json j;
    if (parse(who, json, &j) != FC_OK) return NULL;
    fci_json_free(&j);
    return make();
}
static fc_transform *int_to_float_from_json(const char *json) { return no_params("IntToFloatTensor", json, fc_int_to_float); }
static fc_transform *to_tensor_from_json(const char *json) { return no_params("ToTensor", json, fc_to_tensor); }
static fc_transform *image_reader_from_json(const char *json) { return no_params("ImageReader", json, fc_image_reader); }
static fc_transform *regression_from_json(const char *json) { return no_params("RegressionSetup", json, fc_regression_setup); }

/* ---- the registry ---- */

typedef struct entry {
    char name[64];
    fc_transform_from_json_fn from_json;
} entry;

#define MAX_REGISTERED 128
static entry registry[MAX_REGISTERED] = {
    {"ImageReader", image_reader_from_json},
    {"Categorize", categorize_from_json},
    {"MultiCategorize", multi_categorize_from_json},
    {"RegressionSetup", regression_from_json},
    {"Normalize", normalize_from_json},
    {"IntToFloatTensor", int_to_float_from_json},
    {"ToTensor", to_tensor_from_json},
};
static int n_registry = 7;

fc_status fc_transform_register(const char *name, fc_transform_from_json_fn from_json) {
    if (!name || !from_json || !name[0] || strlen(name) >= sizeof registry[0].name)
        return fc_fail(FC_ERR_ARG, "transform_register: expected a name of 1 to 63 characters and a from_json function");
    for (int i = 0; i < n_registry; i++)
        if (!strcmp(registry[i].name, name)) {
            registry[i].from_json = from_json;
            return FC_OK;
        }
    if (n_registry == MAX_REGISTERED)
        return fc_fail(FC_ERR_ARG, "transform_register: the registry is full (%d transforms)", MAX_REGISTERED);
    snprintf(registry[n_registry].name, sizeof registry[0].name, "%s", name);
    registry[n_registry++].from_json = from_json;
    return FC_OK;
}

fc_transform *fc_transform_from_json(const char *name, const char *json) {
    for (int i = 0; name && i < n_registry; i++)
        if (!strcmp(registry[i].name, name)) {
            fc_transform *tf = registry[i].from_json(json);
            if (!tf) fci_error_prefix("transform '%s': ", name);
            return tf;
        }
    char known[1024];
    size_t len = 0;
    known[0] = 0;
    for (int i = 0; i < n_registry && len < sizeof known; i++)
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", registry[i].name);
    fc_fail(FC_ERR_UNSUPPORTED, "transform_from_json: unknown transform '%s' (known in this program: %s)",
            name ? name : "(null)", known);
    return NULL;
}
