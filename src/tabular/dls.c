/* Tabular DataLoaders (fastai's TabularDataLoaders): the processed rows served straight from the
 * table's tensors, a batch gathered in one pass (get_batch); decode and show_batch give the rows
 * back as labels and de-normalized numbers; test_dl processes a new CSV with the fitted procs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../data/data_impl.h"
#include "tabular_impl.h"

/* ---- the dataset ---------------------------------------------------------------------------------- */

typedef struct tab_ds {
    fc_tabular *t; /* one reference */
    fc_tensor *x, *y; /* references; y NULL: items are (x) */
} tab_ds;

static void tab_ds_free(void *p) {
    tab_ds *s = p;
    if (!s) return;
    fci_tensor_unref(s->x);
    if (s->y) fci_tensor_unref(s->y);
    fc_tabular_free(s->t);
    free(s);
}

static int64_t tab_ds_len(void *p) { return fc_tensor_dim(((tab_ds *)p)->x, 0); }

static fc_status gather(tab_ds *s, const int64_t *idx, int64_t n, int as_item, fc_tuple *out) {
    out->n = s->y ? 2 : 1;
    out->n_inp = 1;
    fc_tensor *x = fci_gather_rows(s->x, idx, n, as_item);
    if (!x) return fc_error_code();
    out->v[0] = fc_value_tensor(fc_kind_tabular, x);
    if (s->y) {
        fc_tensor *y = fci_gather_rows(s->y, idx, n, as_item);
        if (!y) return fc_error_code();
        out->v[1] = fc_value_tensor(s->t->regression ? fc_kind_tensor : fc_kind_category, y);
    }
    return FC_OK;
}

static fc_status tab_ds_get_batch(void *p, const int64_t *idx, int64_t n, fc_tuple *out) {
    return gather(p, idx, n, 0, out);
}
static fc_status tab_ds_get(void *p, int64_t i, const fc_tfm_ctx *ctx, fc_tuple *out) {
    (void)ctx;
    return gather(p, &i, 1, 1, out);
}

/* A decoded row as text: "name=value" per column, categories by label, numbers de-normalized. */
static fc_status decode_x(const fc_tabular *t, fc_value *v) {
    int w = t->n_cat + t->n_cont;
    size_t cap = 64 * (size_t)w + 16, len = 0;
    char *text = malloc(cap), cell[128];
    if (!text) return fc_fail(FC_ERR_NOMEM, "tabular decode: out of memory");
    text[0] = 0;
    const float *x = fc_tensor_data(v->t);
    for (int k = 0; k < w; k++) {
        fci_tab_cell_str(t, k, x[k], cell, sizeof cell);
        const char *name = k < t->n_cat ? t->cat_names[k] : t->cont_names[k - t->n_cat];
        int need = snprintf(NULL, 0, "%s%s=%s", k ? "; " : "", name, cell);
        if (len + (size_t)need + 1 > cap) {
            char *g = realloc(text, cap = 2 * (len + (size_t)need + 1));
            if (!g) {
                free(text);
                return fc_fail(FC_ERR_NOMEM, "tabular decode: out of memory");
            }
            text = g;
        }
        len += (size_t)snprintf(text + len, cap - len, "%s%s=%s", k ? "; " : "", name, cell);
    }
    fc_value_free(v);
    *v = (fc_value){.kind = fc_kind_text, .text = text};
    return FC_OK;
}

static fc_status tab_ds_decode(void *p, fc_tuple *item) {
    tab_ds *s = p;
    if (item->n < 1 || !item->v[0].t || item->v[0].kind != fc_kind_tabular) return FC_OK;
    fc_status st = decode_x(s->t, &item->v[0]);
    if (st == FC_OK && item->n > 1 && item->v[1].t && !s->t->regression) {
        const char *label = fci_tab_cat_label(s->t, -1, (int64_t)fc_tensor_item(item->v[1].t));
        fc_value_free(&item->v[1]);
        item->v[1] = fc_value_text(fc_kind_label, label);
        if (!item->v[1].text) st = fc_fail(FC_ERR_NOMEM, "tabular decode: out of memory");
    }
    return st;
}

static const fc_dataset_def tab_ds_def = {
    .name = "tabular",
    .len = tab_ds_len,
    .get = tab_ds_get,
    .get_batch = tab_ds_get_batch,
    .decode = tab_ds_decode,
    .free_state = tab_ds_free,
};

static fc_dataset *tab_dataset(fc_tabular *t, fc_tensor *x, fc_tensor *y) {
    tab_ds *s = calloc(1, sizeof *s);
    if (!s) {
        fc_fail(FC_ERR_NOMEM, "tabular: out of memory");
        return NULL;
    }
    s->t = fci_tab_ref(t);
    s->x = fc_tensor_ref(x);
    s->y = y ? fc_tensor_ref(y) : NULL;
    return fc_dataset_new(&tab_ds_def, s);
}

static tab_ds *tab_ds_of(const fc_dataloader *dl) {
    fc_dataset *ds = dl ? fc_dataloader_dataset(dl) : NULL;
    return ds && ds->def == &tab_ds_def ? ds->state : NULL;
}

/* ---- loaders -------------------------------------------------------------------------------------- */

fc_dataloaders *fc_tabular_dataloaders_(fc_tabular *t, const fc_tabular_dls_opts *o) {
    if (!t) return NULL;
    int64_t bs = o->bs ? o->bs : 64;
    if (bs < 0) {
        fc_fail(FC_ERR_ARG, "tabular_dataloaders: expected .bs > 0, found %lld", (long long)bs);
        return NULL;
    }
    uint64_t seed = o->seed ? o->seed : 42;
    fc_dataloader *train = fc_dataloader_new(tab_dataset(t, t->x[0], t->y[0]), .bs = bs, .shuffle = !o->no_shuffle,
                                             .drop_last = !o->keep_last, .seed = seed, .split = FC_SPLIT_TRAIN);
    fc_dataloader *valid = train ? fc_dataloader_new(tab_dataset(t, t->x[1], t->y[1]), .bs = bs, .seed = seed,
                                                     .split = FC_SPLIT_VALID)
                                 : NULL;
    fc_dataloaders *dls = fc_dataloaders_new(train, valid);
    if (dls && !t->regression) {
        dls->vocab = (const char *const *)t->y_vocab.classes;
        dls->n_vocab = t->y_vocab.n;
    }
    return dls;
}

fc_dataloaders *fc_tabular_dls_from_csv_(const char *path, const fc_tabular_csv_dls_opts *o) {
    fc_tabular *t = fc_tabular_from_csv(path, .y = o->y, .cat = o->cat, .cont = o->cont, .max_card = o->max_card,
                                        .y_block = o->y_block, .procs = o->procs, .fill_strategy = o->fill_strategy,
                                        .fill_value = o->fill_value, .no_add_col = o->no_add_col,
                                        .valid_pct = o->valid_pct, .seed = o->seed, .valid_col = o->valid_col,
                                        .valid_idx = o->valid_idx, .n_valid_idx = o->n_valid_idx, .csv = o->csv);
    fc_dataloaders *dls = fc_tabular_dataloaders(t, .bs = o->bs, .no_shuffle = o->no_shuffle,
                                                 .keep_last = o->keep_last, .seed = o->seed);
    fc_tabular_free(t);
    return dls;
}

fc_tabular *fc_tabular_of_dls(const fc_dataloaders *dls) {
    tab_ds *s = dls ? tab_ds_of(dls->train) : NULL;
    if (!s) {
        if (fc_error_code() == FC_OK)
            fc_fail(FC_ERR_ARG, "tabular_of_dls: these dataloaders were not made by tabular_dataloaders");
        return NULL;
    }
    return s->t;
}

/* ---- test_dl -------------------------------------------------------------------------------------- */

/* The csv column of each of t's input columns; fails naming every one that is missing. */
static fc_status input_columns(const fc_tabular *t, const fc_csv *csv, const char *path, int *cat, int *cont) {
    char missing[1024];
    size_t len = 0;
    int n_missing = 0;
    missing[0] = 0;
    for (int k = 0; k < t->n_user_cat + t->n_cont; k++) {
        const char *name = k < t->n_user_cat ? t->cat_names[k] : t->cont_names[k - t->n_user_cat];
        int c = fc_csv_col_index(csv, name);
        if (k < t->n_user_cat) cat[k] = c;
        else cont[k - t->n_user_cat] = c;
        if (c >= 0) continue;
        n_missing++;
        if (len + 8 < sizeof missing) {
            int w = snprintf(missing + len, sizeof missing - len, "%s'%s'", len ? ", " : "", name);
            len = w > 0 && len + (size_t)w < sizeof missing ? len + (size_t)w : sizeof missing;
        }
    }
    if (!n_missing) return FC_OK;
    return fc_fail(FC_ERR_ARG, "tabular_test_dl: %s lacks %d column%s the model needs: %s", path, n_missing,
                   n_missing > 1 ? "s" : "", missing);
}

static fc_status test_rows(fc_tabular *t, const fc_csv *csv, const char *path, const int *cat, const int *cont,
                           int yc, fc_tensor *x, fc_tensor *y) {
    int64_t n = fc_csv_n_rows(csv);
    int w = t->n_cat + t->n_cont;
    const char *cat_text[t->n_user_cat + 1], *cont_text[t->n_cont + 1];
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < t->n_user_cat; j++)
            cat_text[j] = fc_csv_is_missing(csv, i, cat[j]) ? NULL : fc_csv_cell(csv, i, cat[j]);
        for (int j = 0; j < t->n_cont; j++) cont_text[j] = fc_csv_cell(csv, i, cont[j]);
        char where[300];
        snprintf(where, sizeof where, "%s line %lld", path, (long long)fc_csv_row_line(csv, i));
        fc_status st = fci_tab_process_row(t, cat_text, cont_text, fc_tensor_data_f32(x) + (size_t)i * w, where);
        if (st != FC_OK) return st;
        if (!y) continue;
        const char *s = fc_csv_cell(csv, i, yc);
        double v;
        int miss;
        if (t->regression) {
            if (!fci_tab_parse(s, &v, &miss))
                return fc_fail(FC_ERR_FORMAT, "tabular_test_dl: %s, target '%s': expected a number, found '%s'", where,
                               t->y_name, s);
            fc_tensor_data_f32(y)[i] = (float)v;
        } else if ((((int64_t *)fc_tensor_data(y))[i] = fci_tab_code(&t->y_vocab, s, 0)) < 0) {
            return fc_fail(FC_ERR_FORMAT, "tabular_test_dl: %s: target '%s' value '%s' is not among the training "
                           "classes", where, t->y_name, s);
        }
    }
    return FC_OK;
}

fc_dataloader *fc_tabular_test_dl(fc_tabular *t, const char *csv_path, int64_t bs) {
    if (!t || !csv_path) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "tabular_test_dl: %s is NULL", t ? "csv_path" : "t");
        return NULL;
    }
    if (bs < 0) {
        fc_fail(FC_ERR_ARG, "tabular_test_dl: expected bs >= 0, found %lld", (long long)bs);
        return NULL;
    }
    fc_csv *csv = fc_read_csv(csv_path);
    if (!csv) return NULL;
    int64_t n = fc_csv_n_rows(csv);
    int cat[t->n_user_cat + 1], cont[t->n_cont + 1];
    int yc = t->y_name ? fc_csv_col_index(csv, t->y_name) : -1;
    fc_tensor *x = NULL, *y = NULL;
    fc_dataloader *dl = NULL;
    fc_scope *sc = fc_scope_begin();
    fc_status st = input_columns(t, csv, csv_path, cat, cont);
    if (st == FC_OK && n == 0) st = fc_fail(FC_ERR_FORMAT, "tabular_test_dl: %s: no data rows", csv_path);
    if (st == FC_OK) {
        x = fc_empty(FC_SHAPE(n, t->n_cat + t->n_cont));
        if (yc >= 0) y = t->regression ? fc_empty(FC_SHAPE(n, 1)) : fc_empty(FC_SHAPE(n), .dtype = FC_DTYPE_I64);
        st = x && (yc < 0 || y) ? test_rows(t, csv, csv_path, cat, cont, yc, x, y) : fc_error_code();
    }
    if (st == FC_OK) dl = fc_dataloader_new(tab_dataset(t, x, y), .bs = bs ? bs : 64, .split = FC_SPLIT_VALID);
    fc_scope_end(sc);
    fc_csv_free(csv);
    return dl;
}

/* ---- show_batch ----------------------------------------------------------------------------------- */

fc_status fc_tabular_show_batch(fc_dataloader *dl, FILE *f, int max_n) {
    tab_ds *s = tab_ds_of(dl);
    if (!s)
        return fc_error_code() != FC_OK ? fc_error_code()
                                        : fc_fail(FC_ERR_ARG, "tabular_show_batch: not a tabular loader");
    const fc_tabular *t = s->t;
    f = f ? f : stdout;
    fc_tuple b = {0};
    fc_status st = fc_dataloader_one_batch(dl, &b);
    if (st != FC_OK) return st;
    int64_t n = fc_tensor_dim(b.v[0].t, 0);
    if (n > (max_n > 0 ? max_n : 10)) n = max_n > 0 ? max_n : 10;
    int w = t->n_cat + t->n_cont, nc = w + (b.n > 1 ? 1 : 0);
    char(*cells)[64] = calloc((size_t)(n + 1) * nc + 1, sizeof *cells);
    int *width = calloc((size_t)nc + 1, sizeof *width);
    if (!cells || !width) {
        free(cells);
        free(width);
        fc_tuple_free(&b);
        return fc_fail(FC_ERR_NOMEM, "tabular_show_batch: out of memory");
    }
    for (int k = 0; k < nc; k++) {
        const char *h = k < t->n_cat ? t->cat_names[k] : k < w ? t->cont_names[k - t->n_cat] : t->y_name;
        snprintf(cells[k], sizeof cells[k], "%s", h ? h : "y");
    }
    const float *x = fc_tensor_data(b.v[0].t);
    for (int64_t i = 0; i < n; i++) {
        char(*row)[64] = cells + (i + 1) * nc;
        for (int k = 0; k < w; k++) fci_tab_cell_str(t, k, x[i * w + k], row[k], sizeof row[k]);
        if (nc > w) {
            double v = fc_tensor_get(b.v[1].t, i);
            if (t->regression) snprintf(row[w], sizeof row[w], "%.6g", v);
            else snprintf(row[w], sizeof row[w], "%s", fci_tab_cat_label(t, -1, (int64_t)v));
        }
    }
    for (int64_t i = 0; i <= n; i++)
        for (int k = 0; k < nc; k++) {
            int l = (int)strlen(cells[i * nc + k]);
            if (l > width[k]) width[k] = l;
        }
    for (int64_t i = 0; i <= n && st == FC_OK; i++) {
        for (int k = 0; k < nc; k++) /* the last column unpadded: no trailing spaces */
            fprintf(f, "%s%-*s", k ? "  " : "", k + 1 < nc ? width[k] : 0, cells[i * nc + k]);
        if (fprintf(f, "\n") < 0) st = fc_fail(FC_ERR_IO, "tabular_show_batch: cannot write");
    }
    free(cells);
    free(width);
    fc_tuple_free(&b);
    return st;
}
