/* Collab's part of export and inference (h-export): the model config a collab learner records
 * (EmbeddingDotBias or EmbeddingNN, its sizes, layers and y_range), the users' and items' classes
 * (their ids as text, "#na#" first) saved as data, the loaders rebuilt from them with no ratings,
 * and fastai's learn.predict for one (user, item) pair. Registers the application "collab" at
 * start-up and through fc_collab_register. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json_impl.h"
#include "../learner/learner_impl.h"
#include "collab_impl.h"

/* Bounds that keep a corrupt file from asking for an absurd model before the weights are compared. */
#define MAX_IDS (1 << 26)
#define MAX_FACTORS (1 << 16)
#define MAX_LAYERS 64

fc_status fci_collab_record_app(fc_learner *learn, int kind, int64_t n_factors, int64_t n_users, int64_t user_dim,
                                int64_t n_items, int64_t item_dim, fc_ints layers, fc_floats ps, double embed_p,
                                fc_y_range y_range) {
    if (!learn) return fc_error_code();
    fci_sbuf b = {0};
    fci_sb_printf(&b, "{\"model\":\"%s\",\"n_factors\":%lld,\"n_users\":%lld,\"user_dim\":%lld,\"n_items\":%lld,"
                  "\"item_dim\":%lld,\"layers\":[", kind == 2 ? "EmbeddingNN" : "EmbeddingDotBias", (long long)n_factors,
                  (long long)n_users, (long long)user_dim, (long long)n_items, (long long)item_dim);
    for (int i = 0; layers.v && i < layers.n; i++) fci_sb_printf(&b, "%s%lld", i ? "," : "", (long long)layers.v[i]);
    fci_sb_puts(&b, "],\"ps\":[");
    for (int i = 0; ps.v && i < ps.n; i++) {
        if (i) fci_sb_puts(&b, ",");
        fci_sb_json_number(&b, ps.v[i]);
    }
    fci_sb_printf(&b, "],\"embed_p\":%.17g,\"y_range\":[%.17g,%.17g]}", embed_p, y_range.lo, y_range.hi);
    fc_status st = b.failed ? fc_error_code() : fc_learner_set_app(learn, "collab", b.p);
    free(b.p);
    return st;
}

static fc_module *build_model(const char *config) {
    fci_json j;
    if (fci_json_parse(config, strlen(config), "collab config", "config", &j) != FC_OK) return NULL;
    const char *kind = fci_json_str(&j, "model");
    const fci_json *yr = fci_json_get(&j, "y_range");
    int64_t nf = 0, nu = 0, du = 0, ni = 0, di = 0, n_layers = 0, n_ps = 0, *layers = NULL;
    double *ps = NULL, embed_p = 0;
    fc_module *m = NULL;
    int nn = kind && !strcmp(kind, "EmbeddingNN");
    int ok = fci_json_int(&j, "n_factors", 1, MAX_FACTORS, &nf) && fci_json_int(&j, "n_users", 1, MAX_IDS, &nu) &&
             fci_json_int(&j, "n_items", 1, MAX_IDS, &ni) && fci_json_int(&j, "user_dim", 1, MAX_FACTORS, &du) &&
             fci_json_int(&j, "item_dim", 1, MAX_FACTORS, &di) &&
             (layers = fci_json_ints_new(&j, "layers", 1, 1 << 20, -1, MAX_LAYERS, &n_layers)) &&
             (ps = fci_json_reals_new(&j, "ps", -1, MAX_LAYERS, &n_ps)) && fci_json_real(&j, "embed_p", 0, 1, &embed_p);
    if (ok && (!kind || (!nn && strcmp(kind, "EmbeddingDotBias") != 0)))
        ok = !fc_fail(FC_ERR_FORMAT, "expected 'model' to be \"EmbeddingDotBias\" or \"EmbeddingNN\"");
    if (ok && (!yr || yr->type != FCI_JSON_ARRAY || yr->n != 2 || yr->items[0].type != FCI_JSON_NUMBER ||
               yr->items[1].type != FCI_JSON_NUMBER))
        ok = !fc_fail(FC_ERR_FORMAT, "expected 'y_range' to be [lo, hi]");
    if (ok && nn && n_layers < 1) ok = !fc_fail(FC_ERR_FORMAT, "expected EmbeddingNN's 'layers' to hold a size");
    for (int64_t i = 0; ok && i < n_ps; i++)
        if (!(ps[i] >= 0 && ps[i] < 1)) ok = !fc_fail(FC_ERR_FORMAT, "expected 'ps' to hold numbers in [0, 1)");
    if (ok) /* the embeddings */
        ok = fci_export_check_size("collab config", nn ? (double)nu * (double)du + (double)ni * (double)di
                                                      : ((double)nu + (double)ni) * (double)(nf + 1)) == FC_OK;
    if (ok) {
        fc_y_range y = {yr->items[0].num, yr->items[1].num};
        m = nn ? fc_embedding_nn(nu, du, ni, di, .layers = {(int)n_layers, layers}, .ps = {(int)n_ps, n_ps ? ps : NULL},
                                 .embed_p = embed_p, .y_range = y)
               : fc_embedding_dot_bias(nf, nu, ni, y);
    } else if (!strstr(fc_error_message(), "collab config")) {
        fci_error_prefix("collab config: ");
    }
    free(layers);
    free(ps);
    fci_json_free(&j);
    return m;
}

/* ---- the users' and items' classes ---- */

static void put_strs(fci_sbuf *b, const char *key, char *const *s, int64_t n) {
    fci_sb_printf(b, ",\"%s\":[", key);
    for (int64_t i = 0; i < n; i++) {
        if (i) fci_sb_puts(b, ",");
        fci_sb_json_string(b, s[i]);
    }
    fci_sb_puts(b, "]");
}

static char *data_to_json(fc_learner *learn) {
    const fc_dataloaders *dls = fc_learner_dls(learn);
    const fci_collab_info *info = fci_collab_info_of(dls, "export");
    if (!info) return NULL;
    fci_sbuf b = {0};
    fci_sb_printf(&b, "{\"bs\":%lld", (long long)fc_dataloader_bs(dls->valid));
    put_strs(&b, "users", info->users, info->n_users);
    put_strs(&b, "items", info->items, info->n_items);
    fci_sb_puts(&b, ",\"item_counts\":[");
    for (int64_t i = 0; i < info->n_items; i++) fci_sb_printf(&b, "%s%lld", i ? "," : "", (long long)info->item_counts[i]);
    fci_sb_puts(&b, "],\"item_sums\":[");
    for (int64_t i = 0; i < info->n_items; i++) {
        if (i) fci_sb_puts(&b, ",");
        fci_sb_json_number(&b, info->item_sums[i]);
    }
    fci_sb_puts(&b, "]}");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* strs (malloc'd, taken) as fci_calloc'd copies, as fci_collab_info holds them; "#na#" first. */
static char **copy_classes(char **strs, int64_t n, const char *key) {
    char **out = n >= 1 && !strcmp(strs[0], "#na#") ? fci_calloc((size_t)n + 1, sizeof *out) : NULL;
    if (n < 1 || strcmp(strs[0], "#na#") != 0)
        fc_fail(FC_ERR_FORMAT, "expected '%s' to start with \"#na#\"", key);
    for (int64_t i = 0; out && i < n; i++) {
        size_t len = strlen(strs[i]) + 1;
        if (!(out[i] = fci_calloc(len, 1))) {
            for (int64_t k = 0; k < i; k++) fci_free(out[k]);
            fci_free(out);
            out = NULL;
            break;
        }
        memcpy(out[i], strs[i], len);
    }
    fci_json_strs_free(strs, n);
    return out;
}

static fc_dataloaders *data_from_json(const char *json) {
    fci_json j;
    if (fci_json_parse(json, strlen(json), "collab data", "data", &j) != FC_OK) return NULL;
    fci_collab_info *info = fci_calloc(1, sizeof *info);
    int64_t bs = 0, n = 0, nc = 0, ns = 0, *counts = NULL;
    double *sums = NULL;
    char **s = NULL;
    fc_status st = info && fci_json_int(&j, "bs", 1, 1 << 20, &bs) ? FC_OK : fc_error_code();
    if (st == FC_OK && (!(s = fci_json_strs_new(&j, "users", -1, MAX_IDS, &n)) || !(info->users = copy_classes(s, n, "users"))))
        st = fc_error_code();
    if (st == FC_OK) info->n_users = n;
    if (st == FC_OK && (!(s = fci_json_strs_new(&j, "items", -1, MAX_IDS, &n)) || !(info->items = copy_classes(s, n, "items"))))
        st = fc_error_code();
    if (st == FC_OK) info->n_items = n;
    if (st == FC_OK && (!(counts = fci_json_ints_new(&j, "item_counts", 0, INT64_C(1) << 50, n, 0, &nc)) ||
                        !(sums = fci_json_reals_new(&j, "item_sums", n, 0, &ns))))
        st = fc_error_code();
    if (st == FC_OK && (!(info->item_counts = fci_calloc((size_t)n, sizeof *info->item_counts)) ||
                        !(info->item_sums = fci_calloc((size_t)n, sizeof *info->item_sums))))
        st = fc_error_code();
    for (int64_t i = 0; st == FC_OK && i < n; i++) {
        info->item_counts[i] = counts[i];
        info->item_sums[i] = sums[i];
    }
    free(counts);
    free(sums);
    fci_json_free(&j);
    fc_dataloaders *dls = NULL;
    if (st == FC_OK) {
        dls = fci_collab_dls_of_info(info, bs);
    } else if (info) {
        info->refcount = 1;
        fci_collab_info_unref(info);
    }
    if (!dls) fci_error_prefix("collab data: ");
    return dls;
}

/* ---- predict ---- */

static int64_t code_of(char *const *classes, int64_t n, const char *id) {
    for (int64_t i = 1; i < n; i++)
        if (!strcmp(classes[i], id)) return i;
    return 0;
}

fc_status fc_collab_predict(fc_learner *learn, const char *user, const char *item, fc_prediction *out) {
    if (out) *out = (fc_prediction){.index = -1};
    if (!learn || !user || !item || !out)
        return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "collab_predict: NULL argument");
    const fci_collab_info *info = fci_collab_info_of(fc_learner_dls(learn), "collab_predict");
    if (!info) return fc_error_code();
    int64_t u = code_of(info->users, info->n_users, user), i = code_of(info->items, info->n_items, item);
    if (!u || !i)
        return fc_fail(FC_ERR_ARG, "collab_predict: the %s '%s' was not in the training ratings (%lld %ss); its "
                       "embedding is the untrained #na# one, so there is no prediction to make", u ? "item" : "user",
                       u ? item : user, (long long)((u ? info->n_items : info->n_users) - 1), u ? "item" : "user");
    fc_module *model = fc_learner_model(learn);
    const fc_loss_func *lf = fc_learner_loss_func(learn);
    int was_training = fc_module_is_training(model);
    fc_scope *s = fc_scope_begin();
    fc_tensor *x = fc_empty(FC_SHAPE(1, 2), .dtype = FC_DTYPE_I64);
    fc_status st = x ? FC_OK : fc_error_code();
    if (st == FC_OK) {
        ((int64_t *)fc_tensor_data(x))[0] = u;
        ((int64_t *)fc_tensor_data(x))[1] = i;
        fc_module_eval(model);
        fc_no_grad_begin();
        fc_tensor *pred = fc_module_forward(model, x);
        fc_tensor *act = pred && lf->activation ? lf->activation(lf, pred) : pred;
        fc_tensor *flat = act ? fc_contiguous(fc_reshape(act, FC_SHAPE(-1))) : NULL;
        fc_no_grad_end();
        fc_module_train(model, was_training);
        if (flat && fc_tensor_numel(flat) == 1) {
            snprintf(out->label, sizeof out->label, "%g", fc_tensor_get(flat, 0));
            out->probs = fc_keep(fc_clone(flat));
        }
        st = out->probs ? FC_OK : fc_error_code() != FC_OK ? fc_error_code()
                                : fc_fail(FC_ERR_SHAPE, "collab_predict: expected one rating from the model");
    }
    fc_scope_end(s);
    return st;
}

/* The users' and items' classes must number the model's embedding rows. */
static fc_status check(fc_learner *learn) {
    const char *config = fc_learner_app_config(learn);
    const fci_collab_info *info = fci_collab_info_of(fc_learner_dls(learn), "load_learner");
    fci_json j;
    if (!info || fci_json_parse(config, strlen(config), "collab config", "config", &j) != FC_OK) return fc_error_code();
    double nu = 0, ni = 0;
    fci_json_num(&j, "n_users", &nu);
    fci_json_num(&j, "n_items", &ni);
    fci_json_free(&j);
    if ((double)info->n_users != nu || (double)info->n_items != ni)
        return fc_fail(FC_ERR_FORMAT, "the data has %lld users and %lld items; the model's embeddings %g and %g",
                       (long long)info->n_users, (long long)info->n_items, nu, ni);
    return FC_OK;
}

fc_status fc_collab_register(void) {
    return fc_register_app(&(fc_app){.name = "collab", .build_model = build_model, .data_to_json = data_to_json,
                                     .data_from_json = data_from_json, .check = check});
}

__attribute__((constructor)) static void register_at_start(void) {
    if (fc_collab_register() != FC_OK) fc_error_clear();
}
