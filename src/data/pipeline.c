/* Pipeline: transforms composed in order (fastai's Pipeline). Encoding skips a transform when the
 * value's kind is not in its kinds or its split_idx names the other subset; decoding runs the
 * decodes in reverse; setup feeds each transform the training values as they arrive at it. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_impl.h"
#include "pipeline_impl.h"


struct fc_pipeline {
    int n, cap;
    fc_transform **t;
};

char *fci_strdup_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return s;
}

const char *fc_value_str(const fc_value *v, char *buf, size_t n) {
    const char *kind = v->kind ? v->kind->name : "(no kind)";
    if (v->n_list > 0)
        snprintf(buf, n, "%s list of %lld, first %s %s", kind, (long long)v->n_list,
                 fc_dtype_name(fc_tensor_dtype(v->list[0])), fci_tshape(v->list[0]));
    else if (v->t && fc_tensor_numel(v->t) == 1)
        snprintf(buf, n, "%s %s %s = %g", kind, fc_dtype_name(fc_tensor_dtype(v->t)), fci_tshape(v->t),
                 fc_tensor_get(v->t, 0));
    else if (v->t)
        snprintf(buf, n, "%s %s %s", kind, fc_dtype_name(fc_tensor_dtype(v->t)), fci_tshape(v->t));
    else if (v->text)
        snprintf(buf, n, "%s '%.60s%s'", kind, v->text, strlen(v->text) > 60 ? "..." : "");
    else
        snprintf(buf, n, "%s (empty)", kind);
    return buf;
}

fc_status fci_error_context(fc_status st, const char *fmt, ...) {
    char where[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, sizeof where, fmt, ap);
    va_end(ap);
    fc_status code = fc_error_code() != FC_OK ? fc_error_code() : st;
    char *msg = strdup(fc_error_message());
    fc_error_clear();
    fc_fail(code, "%s (%s)", msg && *msg ? msg : "failed without a message", where);
    free(msg);
    return code;
}

fc_pipeline *fc_pipeline_new(fc_tfms tfms) {
    fc_pipeline *p = calloc(1, sizeof *p);
    if (!p) fc_fail(FC_ERR_NOMEM, "pipeline_new: out of memory");
    for (int i = 0; i < tfms.n; i++) {
        if (!p) {
            fc_transform_free(tfms.t[i]);
            continue;
        }
        if (!tfms.t[i]) { /* an earlier constructor failed; its message stands */
            fc_pipeline_free(p);
            p = NULL;
            continue;
        }
        if (fc_pipeline_add(p, tfms.t[i]) != FC_OK) {
            fc_pipeline_free(p);
            p = NULL;
        }
    }
    return p;
}

void fc_pipeline_free(fc_pipeline *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) fc_transform_free(p->t[i]);
    free(p->t);
    free(p);
}

int fc_pipeline_n(const fc_pipeline *p) { return p ? p->n : 0; }

fc_transform *fc_pipeline_at(const fc_pipeline *p, int i) {
    if (!p || i < 0 || i >= p->n) {
        fc_fail(FC_ERR_ARG, "pipeline_at: expected i in [0, %d), found %d", p ? p->n : 0, i);
        return NULL;
    }
    return p->t[i];
}

fc_status fc_pipeline_add(fc_pipeline *p, fc_transform *tf) {
    if (!p || !tf) {
        fc_transform_free(tf);
        return p ? fc_fail(FC_ERR_ARG, "pipeline_add: transform is NULL") : FC_ERR_ARG;
    }
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 4;
        fc_transform **t = realloc(p->t, (size_t)cap * sizeof *t);
        if (!t) {
            fc_transform_free(tf);
            return fc_fail(FC_ERR_NOMEM, "pipeline_add: out of memory");
        }
        p->t = t;
        p->cap = cap;
    }
    int order = fci_transform_def(tf)->order, at = p->n;
    while (at > 0 && fci_transform_def(p->t[at - 1])->order > order) at--; /* stable */
    memmove(p->t + at + 1, p->t + at, (size_t)(p->n - at) * sizeof *p->t);
    p->t[at] = tf;
    p->n++;
    return FC_OK;
}

static int runs_on(const fc_transform *tf, const fc_value *v, fc_split_idx split) {
    return fci_tfm_applies(tf, v->kind, split);
}

fc_status fc_pipeline_encode(fc_pipeline *p, fc_value *v, const fc_tfm_ctx *ctx) {
    if (!p || !v) return fc_fail(FC_ERR_ARG, "pipeline_encode: pipeline or value is NULL");
    fc_split_idx split = ctx ? ctx->split : FC_SPLIT_BOTH;
    for (int i = 0; i < p->n; i++) {
        const fc_transform_def *def = fci_transform_def(p->t[i]);
        if (!def->encodes || !runs_on(p->t[i], v, split)) continue;
        char before[160];
        fc_value_str(v, before, sizeof before);
        fc_status st = fci_tfm_apply(p->t[i], v, ctx, 0);
        if (st != FC_OK)
            return fci_error_context(st, "in transform %d of %d, %s, encoding %s", i + 1, p->n,
                               fc_transform_name(p->t[i]), before);
    }
    return FC_OK;
}

fc_status fci_pipeline_encode_step(fc_pipeline *p, int i, fc_value *v, const fc_tfm_ctx *ctx, int *ran) {
    *ran = 0;
    if (!p || i < 0 || i >= p->n) return fc_fail(FC_ERR_ARG, "pipeline step %d out of range", i);
    const fc_transform_def *def = fci_transform_def(p->t[i]);
    if (!def->encodes || !runs_on(p->t[i], v, ctx ? ctx->split : FC_SPLIT_BOTH)) return FC_OK;
    *ran = 1;
    return fci_tfm_apply(p->t[i], v, ctx, 0);
}

fc_status fc_pipeline_decode(fc_pipeline *p, fc_value *v) {
    if (!p || !v) return fc_fail(FC_ERR_ARG, "pipeline_decode: pipeline or value is NULL");
    for (int i = p->n - 1; i >= 0; i--) {
        const fc_transform_def *def = fci_transform_def(p->t[i]);
        if (!def->decodes || !fci_transform_acts_on(def, v->kind)) continue;
        char before[160];
        fc_value_str(v, before, sizeof before);
        fc_status st = fci_tfm_apply(p->t[i], v, NULL, 1);
        if (st != FC_OK)
            return fci_error_context(st, "in transform %d of %d, %s, decoding %s", i + 1, p->n,
                               fc_transform_name(p->t[i]), before);
    }
    return FC_OK;
}

fc_status fc_pipeline_encode_tuple(fc_pipeline *p, fc_tuple *t, const fc_tfm_ctx *ctx) {
    if (!t) return fc_fail(FC_ERR_ARG, "pipeline_encode_tuple: tuple is NULL");
    for (int j = 0; j < t->n; j++) {
        fc_status st = fc_pipeline_encode(p, &t->v[j], ctx);
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

fc_status fc_pipeline_decode_tuple(fc_pipeline *p, fc_tuple *t) {
    if (!t) return fc_fail(FC_ERR_ARG, "pipeline_decode_tuple: tuple is NULL");
    for (int j = 0; j < t->n; j++) {
        fc_status st = fc_pipeline_decode(p, &t->v[j]);
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

/* Runs transform i's setup on the values it acts on (shallow copies of the slots). */
static fc_status setup_one(fc_pipeline *p, int i, fc_value *vals, int64_t n, fc_value *sel) {
    const fc_transform_def *def = fci_transform_def(p->t[i]);
    int64_t m = 0;
    for (int64_t k = 0; k < n; k++)
        if (runs_on(p->t[i], &vals[k], FC_SPLIT_TRAIN)) sel[m++] = vals[k];
    fc_status st = def->setup(fci_transform_state(p->t[i]), sel, m);
    if (st != FC_OK)
        return fci_error_context(st, "setting up transform %d of %d, %s, on %lld training values", i + 1,
                           p->n, fc_transform_name(p->t[i]), (long long)m);
    return FC_OK;
}

fc_status fc_pipeline_setup(fc_pipeline *p, const fc_value *values, int64_t n) {
    if (!p || (n > 0 && !values)) return fc_fail(FC_ERR_ARG, "pipeline_setup: pipeline or values NULL");
    int last = -1;
    for (int i = 0; i < p->n; i++)
        if (fci_transform_def(p->t[i])->setup) last = i;
    if (last < 0) return FC_OK;
    fc_value *vals = calloc((size_t)n + 1, sizeof *vals), *sel = calloc((size_t)n + 1, sizeof *sel);
    fc_status st = vals && sel ? FC_OK : fc_fail(FC_ERR_NOMEM, "pipeline_setup: out of memory");
    for (int64_t k = 0; k < n && st == FC_OK; k++) st = fci_value_copy(&values[k], &vals[k]);
    for (int i = 0; i <= last && st == FC_OK; i++) {
        const fc_transform_def *def = fci_transform_def(p->t[i]);
        if (def->setup) st = setup_one(p, i, vals, n, sel);
        if (i == last || !def->encodes) continue;
        for (int64_t k = 0; k < n && st == FC_OK; k++) {
            if (!runs_on(p->t[i], &vals[k], FC_SPLIT_TRAIN)) continue;
            fc_rng rng = fc_rng_new((uint64_t)k);
            fc_tfm_ctx ctx = {.split = FC_SPLIT_TRAIN, .index = k, .rng = &rng};
            char before[160];
            fc_value_str(&vals[k], before, sizeof before);
            st = fci_tfm_apply(p->t[i], &vals[k], &ctx, 0);
            if (st != FC_OK)
                fci_error_context(st, "in transform %d of %d, %s, encoding training value %lld, %s, for setup",
                            i + 1, p->n, fc_transform_name(p->t[i]), (long long)k, before);
        }
    }
    for (int64_t k = 0; vals && k < n; k++) fc_value_free(&vals[k]);
    free(vals);
    free(sel);
    return st;
}

/* ---- proxies: one transform in several pipelines ---- */
typedef struct proxy {
    fc_transform_def def; /* inner's, with our own free_state; lives as long as the proxy */
    fc_transform *inner;
    void *owner;
    void (*unref)(void *);
} proxy;

static fc_status proxy_setup(void *s, const fc_value *values, int64_t n) {
    proxy *p = s;
    return fci_transform_def(p->inner)->setup(fci_transform_state(p->inner), values, n);
}
static fc_status proxy_encodes(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    proxy *p = s;
    return fci_transform_def(p->inner)->encodes(fci_transform_state(p->inner), v, ctx);
}
static fc_status proxy_decodes(void *s, fc_value *v) {
    proxy *p = s;
    return fci_transform_def(p->inner)->decodes(fci_transform_state(p->inner), v);
}
static void proxy_free(void *s) {
    proxy *p = s;
    if (p->unref) p->unref(p->owner);
    free(p);
}

fc_transform *fci_transform_proxy(fc_transform *inner, void *owner, void (*ref)(void *),
                                  void (*unref)(void *)) {
    if (!inner) return NULL;
    proxy *p = calloc(1, sizeof *p);
    if (!p) {
        fc_fail(FC_ERR_NOMEM, "transform proxy: out of memory");
        return NULL;
    }
    const fc_transform_def *d = fci_transform_def(inner);
    p->def = *d;
    p->def.setup = d->setup ? proxy_setup : NULL;
    p->def.encodes = d->encodes ? proxy_encodes : NULL;
    p->def.decodes = d->decodes ? proxy_decodes : NULL;
    p->def.free_state = proxy_free;
    p->inner = inner;
    if (ref) ref(owner);
    p->owner = owner;
    p->unref = unref;
    return fc_transform_new(&p->def, p);
}

const fc_transform *fci_transform_unproxy(const fc_transform *tf) {
    while (tf && fci_transform_def(tf)->free_state == proxy_free)
        tf = ((proxy *)fci_transform_state(tf))->inner;
    return tf;
}
