/* fastai's learn.export / load_learner: one file holding the model's config, the inference data
 * pipeline, the loss and the weights (layout in learner.h), and the registry of applications that
 * rebuild models from their configs. Loading checks every byte it uses and fails with a message
 * naming the file; it never trusts a length or a shape it has not checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/json_impl.h"
#include "../nn/nn_impl.h"
#include "learner_impl.h"

#ifndef FASTC_VERSION_STRING
#define FASTC_VERSION_STRING "unknown"
#endif

static const char magic[8] = {'F', 'A', 'S', 'T', 'C', 'L', 'R', 'N'};
#define HEADER_BYTES 24
#define MAX_META (64u << 20)

/* ---- the application registry ---- */

#define MAX_APPS 16
static fc_app apps[MAX_APPS];
static int n_apps;

fc_status fc_register_app(const fc_app *app) {
    if (!app || !app->name || !app->name[0] || !app->build_model)
        return fc_fail(FC_ERR_ARG, "register_app: expected an app with a name and build_model");
    for (int i = 0; i < n_apps; i++)
        if (!strcmp(apps[i].name, app->name)) {
            apps[i] = *app;
            return FC_OK;
        }
    if (n_apps == MAX_APPS) return fc_fail(FC_ERR_ARG, "register_app: the registry is full (%d apps)", MAX_APPS);
    apps[n_apps++] = *app;
    return FC_OK;
}

const fc_app *fc_app_by_name(const char *name) {
    for (int i = 0; name && i < n_apps; i++)
        if (!strcmp(apps[i].name, name)) return &apps[i];
    char known[256] = "none";
    size_t len = 0;
    for (int i = 0; i < n_apps && len < sizeof known; i++)
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", apps[i].name);
    fc_fail(FC_ERR_UNSUPPORTED, "application '%s' is not registered in this program (registered: %s); a program "
            "linked statically registers each application first (fc_vision_register, fc_tabular_register, "
            "fc_collab_register, fc_text_register)", name ? name : "(null)", known);
    return NULL;
}

static char *dup_str(const char *s) {
    char *p = s ? strdup(s) : NULL;
    if (s && !p) fc_fail(FC_ERR_NOMEM, "out of memory");
    return p;
}

fc_status fc_learner_set_app(fc_learner *learn, const char *app, const char *config_json) {
    if (!learn || !app || !config_json)
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "learner_set_app: NULL argument");
    char *a = dup_str(app), *c = dup_str(config_json);
    if (!a || !c) {
        free(a);
        free(c);
        return fc_error_code();
    }
    free(learn->app);
    free(learn->app_config);
    learn->app = a;
    learn->app_config = c;
    return FC_OK;
}
const char *fc_learner_app(const fc_learner *learn) { return learn ? learn->app : NULL; }
const char *fc_learner_app_config(const fc_learner *learn) { return learn ? learn->app_config : NULL; }

/* ---- losses by name (the built-in ones: a user's own loss cannot be rebuilt) ---- */

static fc_status loss_json(const fc_loss_func *lf, fci_sbuf *b) {
    static const char *const known[] = {"cross_entropy_flat", "label_smoothing_cross_entropy_flat",
                                        "bce_with_logits_flat", "mse_flat", "l1_flat", NULL};
    int ok = 0;
    for (int i = 0; lf->name && known[i]; i++) ok |= !strcmp(lf->name, known[i]);
    if (!ok)
        return fc_fail(FC_ERR_UNSUPPORTED, "export: the loss '%s' cannot be exported (known: cross_entropy_flat, "
                       "bce_with_logits_flat, mse_flat, l1_flat)", lf->name ? lf->name : "(unnamed)");
    fci_sb_puts(b, "{\"name\":");
    fci_sb_json_string(b, lf->name);
    fci_sb_printf(b, ",\"label_smoothing\":%.17g,\"thresh\":%.17g}", lf->label_smoothing, lf->thresh);
    return FC_OK;
}

static fc_status loss_from(const char *path, const fci_json *j, fc_loss_func *out) {
    const char *name = fci_json_str(j, "name");
    double ls = 0, th = 0;
    fci_json_num(j, "label_smoothing", &ls);
    fci_json_num(j, "thresh", &th);
    if (!name) return fc_fail(FC_ERR_FORMAT, "load_learner: '%s': expected 'loss' with a name", path);
    if (!strcmp(name, "cross_entropy_flat") || !strcmp(name, "label_smoothing_cross_entropy_flat"))
        *out = fc_cross_entropy_flat(ls > 0 && ls < 1 ? ls : 0);
    else if (!strcmp(name, "bce_with_logits_flat")) *out = fc_bce_with_logits_flat(th > 0 && th < 1 ? th : 0.5);
    else if (!strcmp(name, "mse_flat")) *out = fc_mse_flat();
    else if (!strcmp(name, "l1_flat")) *out = fc_l1_flat();
    else return fc_fail(FC_ERR_UNSUPPORTED, "load_learner: '%s': unknown loss '%s'", path, name);
    return FC_OK;
}

/* ---- export ---- */

static char *metadata(fc_learner *learn) {
    const fc_app *app = fc_app_by_name(learn->app);
    if (!app) return NULL;
    char *data = app->data_to_json ? app->data_to_json(learn) : fc_dataloaders_pipeline_json(learn->dls);
    if (!data) return NULL;
    fci_sbuf b = {0};
    fci_sb_puts(&b, "{\"format\":\"fastc.learner\",\"fastc_version\":");
    fci_sb_json_string(&b, FASTC_VERSION_STRING);
    fci_sb_puts(&b, ",\"application\":");
    fci_sb_json_string(&b, learn->app);
    fci_sb_puts(&b, ",\"config\":");
    fci_sb_puts(&b, learn->app_config);
    fci_sb_puts(&b, ",\"loss\":");
    fc_status st = loss_json(&learn->loss_func, &b);
    fci_sb_puts(&b, ",\"data\":");
    fci_sb_puts(&b, data);
    fci_sb_puts(&b, "}");
    free(data);
    if (st == FC_OK && b.failed) st = fc_error_code();
    if (st != FC_OK) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

fc_status fc_learner_export(fc_learner *learn, const char *path) {
    if (!learn || !path) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "export: NULL learner or path");
    if (learn->in_fit) return fc_fail(FC_ERR_STATE, "export: cannot export during a fit");
    if (fci_dist_rank() > 0) return FC_OK; /* data-parallel: only rank 0 writes (h-mpi) */
    if (!learn->app)
        return fc_fail(FC_ERR_STATE, "export: the learner has no application recorded (make it with a *_learner "
                       "constructor such as fc_vision_learner, or call fc_learner_set_app)");
    char *meta = metadata(learn);
    if (!meta) return fci_error_prefix("export: '%s': ", path), fc_error_code();
    size_t n = strlen(meta), tlen = strlen(path) + 32;
    unsigned char head[HEADER_BYTES] = {0};
    memcpy(head, magic, 8);
    head[8] = FC_EXPORT_VERSION;
    put_u64(head + 16, n);
    char *tmp = malloc(tlen);
    FILE *f = NULL;
    fc_status st = tmp ? FC_OK : fc_fail(FC_ERR_NOMEM, "export: out of memory");
    if (st == FC_OK) {
        snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
        if (!(f = fopen(tmp, "wb"))) st = fc_fail(FC_ERR_IO, "export: cannot create '%s': %s", tmp, strerror(errno));
    }
    if (st == FC_OK && (fwrite(head, 1, sizeof head, f) != sizeof head || fwrite(meta, 1, n, f) != n))
        st = fc_fail(FC_ERR_IO, "export: cannot write '%s': %s", tmp, strerror(errno));
    if (st == FC_OK) st = fci_module_write(learn->model, f, tmp); /* flushes and fsyncs */
    if (f && fclose(f) != 0 && st == FC_OK) st = fc_fail(FC_ERR_IO, "export: cannot close '%s': %s", tmp, strerror(errno));
    if (st == FC_OK && rename(tmp, path) != 0)
        st = fc_fail(FC_ERR_IO, "export: cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st != FC_OK && f) remove(tmp);
    free(tmp);
    free(meta);
    return st;
}

/* ---- load ---- */

/* Checks the fixed header and reads the metadata text (new, terminated) and where the weights start. */
static fc_status read_meta(const char *path, char **meta, uint64_t *weights_at) {
    *meta = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fc_fail(FC_ERR_IO, "load_learner: cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    unsigned char head[HEADER_BYTES];
    fc_status st = FC_OK;
    uint64_t size = fstat(fileno(f), &sb) == 0 ? (uint64_t)sb.st_size : 0;
    size_t got = fread(head, 1, sizeof head, f);
    if (got < 8 ? memcmp(head, magic, got) != 0 || got == 0 : memcmp(head, magic, 8) != 0)
        st = fc_fail(FC_ERR_FORMAT, "load_learner: '%s' is not an exported fastc learner (expected it to start "
                     "with \"FASTCLRN\"; export one with fc_learner_export or `fastc train`)", path);
    else if (got < sizeof head)
        st = fc_fail(FC_ERR_FORMAT, "load_learner: '%s' is truncated: %llu bytes, expected at least %d (the header)",
                     path, (unsigned long long)size, HEADER_BYTES);
    uint32_t version = 0;
    uint64_t n = 0;
    for (int i = 3; i >= 0 && st == FC_OK; i--) version = version << 8 | head[8 + i];
    for (int i = 7; i >= 0 && st == FC_OK; i--) n = n << 8 | head[16 + i];
    if (st == FC_OK && (version == 0 || version > FC_EXPORT_VERSION))
        st = fc_fail(FC_ERR_UNSUPPORTED, "load_learner: '%s' has format version %u; this fastc (%s) reads version 1 "
                     "to %d: update fastc or export the learner again", path, version, FASTC_VERSION_STRING, FC_EXPORT_VERSION);
    if (st == FC_OK && (n > MAX_META || n > size - HEADER_BYTES))
        st = fc_fail(FC_ERR_FORMAT, "load_learner: '%s' is truncated or corrupt: its metadata is %llu bytes long, "
                     "found %llu bytes after the header", path, (unsigned long long)n, (unsigned long long)(size - HEADER_BYTES));
    char *m = st == FC_OK ? malloc(n + 1) : NULL;
    if (st == FC_OK && !m) st = fc_fail(FC_ERR_NOMEM, "load_learner: out of memory (%llu bytes)", (unsigned long long)n);
    if (st == FC_OK && fread(m, 1, n, f) != n)
        st = fc_fail(FC_ERR_FORMAT, "load_learner: '%s' is truncated: cannot read its %llu bytes of metadata", path,
                     (unsigned long long)n);
    fclose(f);
    if (st != FC_OK) {
        free(m);
        return st;
    }
    m[n] = 0;
    if (strlen(m) != n) {
        free(m);
        return fc_fail(FC_ERR_FORMAT, "load_learner: '%s': the metadata holds a NUL byte", path);
    }
    *meta = m;
    *weights_at = HEADER_BYTES + n;
    return FC_OK;
}

char *fc_export_metadata(const char *path) {
    if (!path) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "export_metadata: NULL path");
        return NULL;
    }
    char *meta;
    uint64_t at;
    return read_meta(path, &meta, &at) == FC_OK ? meta : NULL;
}

/* The text of member key (an object) of j, written again for the one who parses it. */
static char *member_text(const char *path, const fci_json *j, const char *key) {
    const fci_json *v = fci_json_get(j, key);
    if (!v || v->type != FCI_JSON_OBJECT) {
        fc_fail(FC_ERR_FORMAT, "load_learner: '%s': expected the metadata to hold an object '%s'", path, key);
        return NULL;
    }
    fci_sbuf b = {0};
    if (fci_json_write(&b, v) != FC_OK) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* The bytes of weights the file being loaded holds, while its application builds the model. */
static _Thread_local uint64_t weight_budget = UINT64_MAX;
uint64_t fci_export_weight_budget(void) { return weight_budget; }

fc_status fci_export_check_size(const char *who, double n_floats) {
    if (n_floats * 4 <= (double)weight_budget) return FC_OK;
    return fc_fail(FC_ERR_FORMAT, "%s: the config asks for a model of at least %.0f parameters, the file holds %llu "
                   "bytes of weights", who, n_floats, (unsigned long long)weight_budget);
}

static fc_learner *build(const char *path, const fci_json *j, uint64_t weights_at) {
    const char *format = fci_json_str(j, "format"), *app_name = fci_json_str(j, "application");
    if (!format || strcmp(format, "fastc.learner") != 0 || !app_name) {
        fc_fail(FC_ERR_FORMAT, "load_learner: '%s': expected metadata with \"format\": \"fastc.learner\" and an "
                "\"application\"", path);
        return NULL;
    }
    const fc_app *app = fc_app_by_name(app_name);
    fc_loss_func lf = {0};
    char *config = app ? member_text(path, j, "config") : NULL;
    char *data = config ? member_text(path, j, "data") : NULL;
    fc_status st = data ? loss_from(path, fci_json_get(j, "loss"), &lf) : fc_error_code();
    if (st == FC_OK) st = fci_safetensors_check(path, weights_at); /* before building a model for it */
    struct stat sb;
    weight_budget = stat(path, &sb) == 0 && (uint64_t)sb.st_size > weights_at ? (uint64_t)sb.st_size - weights_at : 0;
    fc_module *model = st == FC_OK ? app->build_model(config) : NULL;
    weight_budget = UINT64_MAX;
    if (st == FC_OK && !model) st = fci_error_prefix("model config: "), fc_error_code();
    if (st == FC_OK) st = fci_module_load_at(model, path, weights_at);
    fc_dataloaders *dls = NULL;
    if (st == FC_OK) {
        dls = app->data_from_json ? app->data_from_json(data) : fc_dataloaders_from_pipeline_json(data);
        if (!dls) st = fc_error_code();
    }
    fc_learner *learn = NULL;
    if (st == FC_OK) {
        /* not fc_learner: an inference-only program links no training code (learner_train.c) */
        learn = fci_learner_new(dls, model, &(fc_learner_opts){.loss_func = lf, .quiet = 1});
        model = NULL;
        dls = NULL;
        if (learn && (fc_learner_set_app(learn, app_name, config) != FC_OK || (app->check && app->check(learn) != FC_OK))) {
            fci_error_prefix("%s: ", app_name);
            fc_learner_free(learn);
            learn = NULL;
        }
        if (learn) fc_module_eval(learn->model);
    }
    fc_module_free(model);
    fc_dataloaders_free(dls);
    free(config);
    free(data);
    return learn;
}

fc_learner *fc_load_learner(const char *path) {
    if (!path) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "load_learner: NULL path");
        return NULL;
    }
    char *meta = NULL;
    uint64_t weights_at = 0;
    if (read_meta(path, &meta, &weights_at) != FC_OK) return NULL;
    fci_json j;
    fc_learner *learn = NULL;
    if (fci_json_parse(meta, strlen(meta), "load_learner", path, &j) == FC_OK) {
        learn = build(path, &j, weights_at);
        fci_json_free(&j);
    }
    free(meta);
    if (!learn && !strstr(fc_error_message(), path)) fci_error_prefix("load_learner: '%s': ", path);
    return learn;
}
