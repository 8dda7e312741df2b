/* Tabular's part of export and inference (h-export): the TabularModel config a tabular learner
 * records (cardinalities, embedding sizes, continuous inputs, outputs, layers and their options),
 * the fitted procs saved as data (Categorify's classes, FillMissing's values and "<col>_na"
 * columns, Normalize's means and stds, the column names, the target's block and classes), and the
 * table rebuilt from them with no rows, so fc_tabular_predict and fc_tabular_test_dl run on a
 * loaded learner exactly as on the one that was trained. Registers the application "tabular" at
 * start-up and through fc_tabular_register. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json_impl.h"
#include "../learner/learner_impl.h"
#include "tabular_impl.h"

/* Bounds that keep a corrupt file from asking for absurd allocations before the weights are
 * compared with the model (columns, classes per column, hidden layers and their widths). */
#define MAX_COLS 4096
#define MAX_CLASSES (1 << 24)
#define MAX_LAYERS 64
#define MAX_WIDTH (1 << 20)

static void put_ints(fci_sbuf *b, const char *key, const int64_t *v, int64_t n) {
    fci_sb_printf(b, ",\"%s\":[", key);
    for (int64_t i = 0; i < n; i++) fci_sb_printf(b, "%s%lld", i ? "," : "", (long long)v[i]);
    fci_sb_puts(b, "]");
}
static void put_reals(fci_sbuf *b, const char *key, const double *v, int64_t n) {
    fci_sb_printf(b, ",\"%s\":[", key);
    for (int64_t i = 0; i < n; i++) {
        if (i) fci_sb_puts(b, ",");
        fci_sb_json_number(b, v[i]);
    }
    fci_sb_puts(b, "]");
}
static void put_strs(fci_sbuf *b, const char *key, char *const *s, int64_t n) {
    fci_sb_printf(b, ",\"%s\":[", key);
    for (int64_t i = 0; i < n; i++) {
        if (i) fci_sb_puts(b, ",");
        fci_sb_json_string(b, s[i]);
    }
    fci_sb_puts(b, "]");
}

/* ---- the model config ---- */

fc_status fci_tabular_record_app(fc_learner *learn, const int64_t *card, const int64_t *dim, int n_cat,
                                 int64_t n_cont, int64_t n_out, const fc_tabular_learner_opts *o) {
    if (!learn) return fc_error_code();
    fci_sbuf b = {0};
    fci_sb_printf(&b, "{\"n_cont\":%lld,\"n_out\":%lld", (long long)n_cont, (long long)n_out);
    put_ints(&b, "card", card, n_cat);
    put_ints(&b, "dim", dim, n_cat);
    put_ints(&b, "layers", o->layers.v, o->layers.v ? o->layers.n : 0);
    fci_sb_puts(&b, ",\"ps\":[");
    for (int i = 0; o->ps.v && i < o->ps.n; i++) {
        if (i) fci_sb_puts(&b, ",");
        fci_sb_json_number(&b, o->ps.v[i]);
    }
    fci_sb_printf(&b, "],\"embed_p\":%.17g,\"y_range\":[%.17g,%.17g],\"no_bn\":%d,\"bn_final\":%d,\"no_bn_cont\":%d}",
                  o->embed_p, o->y_range.lo, o->y_range.hi, o->no_bn, o->bn_final, o->no_bn_cont);
    fc_status st = b.failed ? fc_error_code() : fc_learner_set_app(learn, "tabular", b.p);
    free(b.p);
    return st;
}

static fc_module *build_model(const char *config) {
    fci_json j;
    if (fci_json_parse(config, strlen(config), "tabular config", "config", &j) != FC_OK) return NULL;
    fc_module *m = NULL;
    int64_t n_cont = 0, n_out = 0, n_cat = 0, n_dim = 0, n_layers = 0, n_ps = 0, flags[3] = {0};
    int64_t *card = NULL, *dim = NULL, *layers = NULL;
    double *ps = NULL, embed_p = 0;
    const fci_json *yr = fci_json_get(&j, "y_range");
    int ok = fci_json_int(&j, "n_cont", 0, MAX_COLS, &n_cont) && fci_json_int(&j, "n_out", 1, MAX_CLASSES, &n_out) &&
             (card = fci_json_ints_new(&j, "card", 1, MAX_CLASSES, -1, MAX_COLS, &n_cat)) &&
             (dim = fci_json_ints_new(&j, "dim", 1, MAX_WIDTH, n_cat, 0, &n_dim)) &&
             (layers = fci_json_ints_new(&j, "layers", 1, MAX_WIDTH, -1, MAX_LAYERS, &n_layers)) &&
             (ps = fci_json_reals_new(&j, "ps", -1, MAX_LAYERS, &n_ps)) &&
             fci_json_real(&j, "embed_p", 0, 1, &embed_p) && fci_json_int(&j, "no_bn", 0, 1, &flags[0]) &&
             fci_json_int(&j, "bn_final", 0, 1, &flags[1]) && fci_json_int(&j, "no_bn_cont", 0, 1, &flags[2]);
    if (ok && (!yr || yr->type != FCI_JSON_ARRAY || yr->n != 2 || yr->items[0].type != FCI_JSON_NUMBER ||
               yr->items[1].type != FCI_JSON_NUMBER))
        ok = !fc_fail(FC_ERR_FORMAT, "expected 'y_range' to be [lo, hi]");
    if (ok && n_cat + n_cont == 0) ok = !fc_fail(FC_ERR_FORMAT, "expected at least one input column");
    if (ok) { /* the embeddings and the linear layers' weights (default layers: 200, 100) */
        double n = 0, width = (double)n_cont;
        for (int64_t i = 0; i < n_cat; i++) n += (double)card[i] * (double)dim[i], width += (double)dim[i];
        for (int64_t i = 0; i < (n_layers ? n_layers : 2); i++) {
            double w = n_layers ? (double)layers[i] : i ? 100 : 200;
            n += width * w;
            width = w;
        }
        ok = fci_export_check_size("tabular config", n + width * (double)n_out) == FC_OK;
    }
    for (int64_t i = 0; ok && i < n_ps; i++)
        if (!(ps[i] >= 0 && ps[i] < 1)) ok = !fc_fail(FC_ERR_FORMAT, "expected 'ps' to hold numbers in [0, 1)");
    if (ok)
        m = fc_tabular_model(card, dim, (int)n_cat, n_cont, n_out, .layers = {(int)n_layers, n_layers ? layers : NULL},
                             .ps = {(int)n_ps, n_ps ? ps : NULL}, .embed_p = embed_p,
                             .y_range = {yr->items[0].num, yr->items[1].num}, .no_bn = (int)flags[0],
                             .bn_final = (int)flags[1], .no_bn_cont = (int)flags[2]);
    if (!ok && !strstr(fc_error_message(), "tabular config")) fci_error_prefix("tabular config: ");
    free(card);
    free(dim);
    free(layers);
    free(ps);
    fci_json_free(&j);
    return m;
}

/* ---- the fitted procs ---- */

static void put_vocab(fci_sbuf *b, const fci_tab_vocab *v) {
    fci_sb_puts(b, "[");
    for (int64_t i = 0; i < v->n; i++) {
        if (i) fci_sb_puts(b, ",");
        fci_sb_json_string(b, v->classes[i]);
    }
    fci_sb_puts(b, "]");
}

static char *data_to_json(fc_learner *learn) {
    const fc_dataloaders *dls = fc_learner_dls(learn);
    fc_tabular *t = fc_tabular_of_dls(dls);
    if (!t) return NULL;
    fci_sbuf b = {0};
    int64_t na_of[MAX_COLS], na_col[MAX_COLS];
    if (t->n_cat > MAX_COLS || t->n_cont > MAX_COLS) {
        fc_fail(FC_ERR_UNSUPPORTED, "export: a table of more than %d columns", MAX_COLS);
        return NULL;
    }
    for (int j = 0; j < t->n_cat; j++) na_of[j] = t->na_of[j];
    for (int k = 0; k < t->n_cont; k++) na_col[k] = t->cont_na_col[k];
    fci_sb_printf(&b, "{\"bs\":%lld,\"procs\":%d,\"n_user_cat\":%d,\"regression\":%d,\"y_name\":",
                  (long long)fc_dataloader_bs(dls->valid), t->procs, t->n_user_cat, t->regression);
    if (t->y_name) fci_sb_json_string(&b, t->y_name);
    else fci_sb_puts(&b, "null");
    put_strs(&b, "cat_names", t->cat_names, t->n_cat);
    put_strs(&b, "cont_names", t->cont_names, t->n_cont);
    put_ints(&b, "na_of", na_of, t->n_cat);
    put_ints(&b, "cont_na_col", na_col, t->n_cont);
    put_reals(&b, "mean", t->mean, t->n_cont);
    put_reals(&b, "std", t->std, t->n_cont);
    put_reals(&b, "fill", t->fill, t->n_cont);
    fci_sb_puts(&b, ",\"classes\":[");
    for (int j = 0; j < t->n_cat; j++) {
        if (j) fci_sb_puts(&b, ",");
        put_vocab(&b, &t->vocab[j]);
    }
    fci_sb_puts(&b, "],\"y_classes\":");
    put_vocab(&b, &t->y_vocab);
    fci_sb_puts(&b, "}");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

typedef struct skey {
    const char *s;
    int64_t code;
} skey;
static int cmp_skey(const void *a, const void *b) { return strcmp(((const skey *)a)->s, ((const skey *)b)->s); }

/* A vocabulary holding classes in their saved order (taken) and its lookup (codes from off on,
 * sorted by text, as fci_tab_code searches it). */
static fc_status vocab_from(fci_tab_vocab *v, char **classes, int64_t n, int has_na) {
    int64_t off = has_na ? 1 : 0;
    *v = (fci_tab_vocab){.classes = classes, .n = n};
    if (has_na && (n < 1 || strcmp(classes[0], "#na#") != 0))
        return fc_fail(FC_ERR_FORMAT, "expected every column's classes to start with \"#na#\"");
    skey *k = malloc(((size_t)n + 1) * sizeof *k);
    v->lookup = malloc(((size_t)n + 1) * sizeof *v->lookup);
    if (!k || !v->lookup) {
        free(k);
        return fc_fail(FC_ERR_NOMEM, "out of memory for %lld classes", (long long)n);
    }
    for (int64_t i = off; i < n; i++) k[i - off] = (skey){classes[i], i};
    qsort(k, (size_t)(n - off), sizeof *k, cmp_skey);
    for (int64_t i = 0; i < n - off; i++) v->lookup[i] = k[i].code;
    free(k);
    return FC_OK;
}

/* The table's fields from the saved procs; every index checked against the counts. */
static fc_status table_from(const fci_json *j, fc_tabular *t, int64_t *bs) {
    int64_t n_cat = 0, n_cont = 0, n = 0, user = 0, procs = 0, reg = 0, *na_of = NULL, *na_col = NULL;
    const fci_json *cls = fci_json_get(j, "classes"), *yn = fci_json_get(j, "y_name");
    fc_status st = FC_OK;
    if (!fci_json_int(j, "bs", 1, 1 << 20, bs) || !fci_json_int(j, "procs", 0, FC_PROCS_ALL, &procs) ||
        !fci_json_int(j, "regression", 0, 1, &reg) ||
        !(t->cat_names = fci_json_strs_new(j, "cat_names", -1, MAX_COLS, &n_cat)))
        return fc_error_code();
    t->n_cat = (int)n_cat; /* set at once: fc_tabular_free frees what the counts say */
    if (!(t->cont_names = fci_json_strs_new(j, "cont_names", -1, MAX_COLS, &n_cont))) return fc_error_code();
    t->n_cont = (int)n_cont;
    if (!fci_json_int(j, "n_user_cat", 0, n_cat, &user)) return fc_error_code();
    t->n_user_cat = (int)user, t->procs = (int)procs, t->regression = (int)reg;
    if (!(na_of = fci_json_ints_new(j, "na_of", -1, n_cont - 1, n_cat, 0, &n)) ||
        !(na_col = fci_json_ints_new(j, "cont_na_col", -1, n_cat - 1, n_cont, 0, &n)) ||
        !(t->mean = fci_json_reals_new(j, "mean", n_cont, 0, &n)) || !(t->std = fci_json_reals_new(j, "std", n_cont, 0, &n)) ||
        !(t->fill = fci_json_reals_new(j, "fill", n_cont, 0, &n)))
        st = fc_error_code();
    t->na_of = calloc((size_t)n_cat + 1, sizeof *t->na_of);
    t->cont_na_col = calloc((size_t)n_cont + 1, sizeof *t->cont_na_col);
    t->vocab = calloc((size_t)n_cat + 1, sizeof *t->vocab);
    if (st == FC_OK && (!t->na_of || !t->cont_na_col || !t->vocab)) st = fc_fail(FC_ERR_NOMEM, "out of memory");
    for (int64_t c = 0; st == FC_OK && c < n_cat; c++) t->na_of[c] = (int)na_of[c];
    for (int64_t k = 0; st == FC_OK && k < n_cont; k++) {
        t->cont_na_col[k] = (int)na_col[k];
        if (na_col[k] >= 0 && (na_col[k] < user || na_of[na_col[k]] != k))
            st = fc_fail(FC_ERR_FORMAT, "expected 'cont_na_col' and 'na_of' to agree (column %lld)", (long long)k);
        else if (!(t->std[k] > 0) || !isfinite(t->mean[k]))
            st = fc_fail(FC_ERR_FORMAT, "expected a finite mean and a positive std for column %lld", (long long)k);
    }
    if (st == FC_OK && (!cls || cls->type != FCI_JSON_ARRAY || cls->n != n_cat))
        st = fc_fail(FC_ERR_FORMAT, "expected 'classes' to hold one array per categorical column (%lld)", (long long)n_cat);
    for (int64_t c = 0; st == FC_OK && c < n_cat; c++) {
        fci_json col = {.type = FCI_JSON_OBJECT, .keys = (char *[]){"c"}, .items = &cls->items[c], .n = 1};
        char **v = fci_json_strs_new(&col, "c", -1, MAX_CLASSES, &n);
        st = v ? vocab_from(&t->vocab[c], v, n, 1) : fc_error_code();
        if (!v) break;
    }
    if (st == FC_OK && yn && yn->type != FCI_JSON_NULL && !(t->y_name = yn->str ? strdup(yn->str) : NULL))
        st = fc_fail(FC_ERR_FORMAT, "expected 'y_name' to be a string or null");
    if (st == FC_OK) {
        char **v = fci_json_strs_new(j, "y_classes", -1, MAX_CLASSES, &n);
        st = v ? vocab_from(&t->y_vocab, v, n, 0) : fc_error_code();
        if (st == FC_OK && !reg && n < 1) st = fc_fail(FC_ERR_FORMAT, "expected the target's classes");
    }
    free(na_of);
    free(na_col);
    return st;
}

static fc_dataloaders *data_from_json(const char *json) {
    fci_json j;
    if (fci_json_parse(json, strlen(json), "tabular data", "data", &j) != FC_OK) return NULL;
    fc_tabular *t = calloc(1, sizeof *t);
    int64_t bs = 64;
    fc_status st = t ? FC_OK : fc_fail(FC_ERR_NOMEM, "out of memory");
    if (st == FC_OK) {
        t->refs = 1;
        st = table_from(&j, t, &bs);
    }
    if (st == FC_OK && !(t->name = strdup("(exported)"))) st = fc_fail(FC_ERR_NOMEM, "out of memory");
    for (int k = 0; k < 2 && st == FC_OK; k++) { /* no rows: a stand-in that keeps only the procs */
        t->x[k] = fc_keep(fc_empty(FC_SHAPE(0, t->n_cat + t->n_cont)));
        t->y[k] = t->regression ? fc_keep(fc_empty(FC_SHAPE(0, 1))) : fc_keep(fc_empty(FC_SHAPE(0), .dtype = FC_DTYPE_I64));
        if (!t->x[k] || !t->y[k]) st = fc_error_code();
    }
    fci_json_free(&j);
    fc_dataloaders *dls = st == FC_OK ? fc_tabular_dataloaders(t, .bs = bs, .no_shuffle = 1) : NULL;
    if (!dls) fci_error_prefix("tabular data: ");
    fc_tabular_free(t);
    return dls;
}

/* The procs must make the inputs the model was built for: one category column per embedding of
 * its cardinality, the continuous columns, the target's classes. */
static fc_status check(fc_learner *learn) {
    const char *config = fc_learner_app_config(learn);
    const fc_tabular *t = fc_tabular_of_dls(fc_learner_dls(learn));
    fci_json j;
    if (!t || fci_json_parse(config, strlen(config), "tabular config", "config", &j) != FC_OK) return fc_error_code();
    int64_t n_card = 0, n_cont = 0, n_out = 0, *card = fci_json_ints_new(&j, "card", 1, MAX_CLASSES, -1, MAX_COLS, &n_card);
    fc_status st = card && fci_json_int(&j, "n_cont", 0, MAX_COLS, &n_cont) && fci_json_int(&j, "n_out", 1, MAX_CLASSES, &n_out)
                       ? FC_OK : fc_error_code();
    if (st == FC_OK && (n_card != t->n_cat || n_cont != t->n_cont || (!t->regression && n_out != t->y_vocab.n)))
        st = fc_fail(FC_ERR_FORMAT, "the procs make %d category and %d continuous columns and %lld classes; the model "
                     "takes %lld, %lld and gives %lld outputs", t->n_cat, t->n_cont, (long long)t->y_vocab.n,
                     (long long)n_card, (long long)n_cont, (long long)n_out);
    for (int c = 0; st == FC_OK && c < t->n_cat; c++)
        if (card[c] != t->vocab[c].n)
            st = fc_fail(FC_ERR_FORMAT, "column '%s' has %lld classes; the model's embedding has %lld rows",
                         t->cat_names[c], (long long)t->vocab[c].n, (long long)card[c]);
    free(card);
    fci_json_free(&j);
    return st;
}

fc_status fc_tabular_register(void) {
    return fc_register_app(&(fc_app){.name = "tabular", .build_model = build_model, .data_to_json = data_to_json,
                                     .data_from_json = data_from_json, .check = check});
}

__attribute__((constructor)) static void register_at_start(void) {
    if (fc_tabular_register() != FC_OK) fc_error_clear();
}
