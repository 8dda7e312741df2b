/* show_results (fastai's Learner.show_results): the first batch of a loader with the model's
 * decoded predictions beside the targets, as an image grid (titles green when right, red when
 * wrong) or a text table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../data/show_impl.h"
#include "fastc/learner.h"

#define TEXT_MAX 160

/* Row i of t [N, ...] as a value of kind k (a view; free with fc_value_free). */
static fc_value row_value(fc_tensor *t, int64_t i, const fc_kind *k) {
    return fc_value_tensor(k, fc_select(t, 0, i));
}

static int rows_equal(const fc_tensor *a, const fc_tensor *b, int64_t i) {
    int64_t na = fc_tensor_numel(a) / fc_tensor_dim(a, 0), nb = fc_tensor_numel(b) / fc_tensor_dim(b, 0);
    if (na != nb) return 0;
    for (int64_t j = 0; j < na; j++)
        if (fc_tensor_get(a, i * na + j) != fc_tensor_get(b, i * nb + j)) return 0;
    return 1;
}

/* Right or wrong has a meaning for class targets only; a regression title stays black. */
static int judged(const fc_kind *k, const fc_tensor *targs) {
    return k == fc_kind_category || k == fc_kind_multi_category ||
           (k == fc_kind_tensor && !fc_dtype_is_float(fc_tensor_dtype(targs)));
}

typedef struct results {
    fc_tuple *items;
    int n;             /* items shown */
    int ti;            /* index of the target value in an item */
    char (*target)[TEXT_MAX], (*pred)[TEXT_MAX];
    int *color;        /* fc_grid_cell.title_color */
} results;

static fc_status describe(results *r, fc_tensor *targs, fc_tensor *dec, const fc_tuple *batch,
                          const fc_show_opts *so) {
    const fc_kind *tk = r->ti < r->items[0].n ? r->items[0].v[r->ti].kind : fc_kind_tensor;
    const fc_tensor *bt = r->ti < batch->n ? batch->v[r->ti].t : NULL;
    for (int i = 0; i < r->n; i++) {
        /* The batch's encoded targets must be get_preds' first rows, or the titles would lie. */
        if (bt && fc_tensor_numel(bt) / fc_tensor_dim(bt, 0) == fc_tensor_numel(targs) / fc_tensor_dim(targs, 0) &&
            !rows_equal(bt, targs, i))
            return fc_fail(FC_ERR_STATE, "show_results: item %d of the first batch is not row %d of get_preds' "
                           "targets; is the loader shuffled?", i, i);
        r->target[i][0] = 0;
        if (r->ti < r->items[i].n) fc_show_value_str(&r->items[i].v[r->ti], so, r->target[i], TEXT_MAX);
        fc_value p = row_value(dec, i, tk == fc_kind_label ? fc_kind_category : tk);
        if (!p.t) return fc_error_code();
        fc_show_value_str(&p, so, r->pred[i], TEXT_MAX);
        fc_value_free(&p);
        r->color[i] = judged(tk, targs) || tk == fc_kind_label ? (rows_equal(dec, targs, i) ? 1 : 2) : 0;
    }
    return FC_OK;
}

static fc_status draw_grid(const results *r, const char *path, const fc_show_opts *so) {
    if (!path)
        return fc_fail(FC_ERR_ARG, "show_results: the items hold images, so path must name the PNG to write, found NULL");
    fc_grid_cell *cells = calloc((size_t)r->n, sizeof *cells);
    fci_box_labels *bl = calloc((size_t)r->n, sizeof *bl);
    char(*titles)[2 * TEXT_MAX + 2] = calloc((size_t)r->n, sizeof *titles);
    fc_status st = FC_OK;
    if (!cells || !bl || !titles) st = fc_fail(FC_ERR_NOMEM, "show_results: cannot allocate %d grid cells", r->n);
    for (int i = 0; i < r->n && st == FC_OK; i++) {
        fci_show_cell(&r->items[i], so, &cells[i], &bl[i]);
        snprintf(titles[i], sizeof titles[i], "%s\n%s", r->target[i], r->pred[i]);
        cells[i].title = titles[i];
        cells[i].title_color = r->color[i];
    }
    if (st == FC_OK) st = fc_plot_image_grid(path, cells, r->n, .ncols = so->ncols);
    free(titles);
    free(bl);
    free(cells);
    return st;
}

static fc_status write_table(const results *r, const char *path, const fc_show_opts *so) {
    int n_in = r->ti, n_cols = n_in + 2;
    const char *headers[FC_MAX_TUPLE + 2];
    for (int c = 0; c < n_in; c++) headers[c] = r->items[0].v[c].kind ? r->items[0].v[c].kind->name : "input";
    headers[n_in] = "target";
    headers[n_in + 1] = "prediction";
    char **cells = calloc((size_t)r->n * n_cols, sizeof *cells);
    fc_status st = cells ? FC_OK : fc_fail(FC_ERR_NOMEM, "show_results: cannot allocate a table");
    for (int i = 0; i < r->n && st == FC_OK; i++)
        for (int c = 0; c < n_cols && st == FC_OK; c++) {
            char *s = cells[i * n_cols + c] = malloc(TEXT_MAX);
            if (!s) st = fc_fail(FC_ERR_NOMEM, "show_results: cannot allocate a table cell");
            else if (c < n_in) fc_show_value_str(&r->items[i].v[c], so, s, TEXT_MAX);
            else snprintf(s, TEXT_MAX, "%s", c == n_in ? r->target[i] : r->pred[i]);
        }
    if (st == FC_OK) st = fci_show_table("show_results", path, so->out, headers, n_cols, cells, r->n);
    for (int i = 0; cells && i < r->n * n_cols; i++) free(cells[i]);
    free(cells);
    return st;
}

fc_status fc_show_results_(fc_learner *learn, const char *path, const fc_show_results_opts *o) {
    fc_show_results_opts d = {0};
    if (!o) o = &d;
    if (!learn) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "show_results: learn is NULL");
    int max_n = o->max_n ? o->max_n : 9;
    if (max_n < 0) return fc_fail(FC_ERR_ARG, "show_results: .max_n must be >= 0, found %d", o->max_n);
    if (o->ncols < 0) return fc_fail(FC_ERR_ARG, "show_results: .ncols must be >= 0, found %d", o->ncols);
    fc_dataloaders *dls = fc_learner_dls(learn);
    fc_dataloader *dl = o->dl ? o->dl : dls ? dls->valid : NULL;
    if (!dl) return fc_fail(FC_ERR_ARG, "show_results: the learner has no valid loader and .dl is NULL");
    fc_show_opts so = {.ncols = o->ncols, .out = o->out, .vocab = dls ? dls->vocab : NULL,
                       .n_vocab = dls && dls->vocab ? dls->n_vocab : 0};

    fc_tensor *targs = NULL, *dec = NULL;
    fc_tuple batch = {0};
    results r = {0};
    int64_t n_items = 0;
    fc_status st = fc_learner_get_preds(learn, dl, NULL, &targs, &dec);
    if (st == FC_OK) st = fc_dataloader_one_batch(dl, &batch);
    if (st == FC_OK) st = fc_dataloader_decode_batch(dl, &batch, &r.items, &n_items);
    if (st == FC_OK && (n_items <= 0 || batch.n_inp >= batch.n))
        st = fc_fail(FC_ERR_STATE, "show_results: expected a first batch with inputs and a target, found %lld items "
                     "of %d values (%d inputs)", (long long)n_items, batch.n, batch.n_inp);
    if (st == FC_OK && (!targs || !dec || fc_tensor_ndim(dec) < 1 || fc_tensor_ndim(targs) < 1))
        st = fc_fail(FC_ERR_STATE, "show_results: get_preds gave no decoded predictions and targets");
    if (st != FC_OK) goto fail;
    r.ti = batch.n_inp;
    r.n = (int)(n_items < max_n ? n_items : max_n);
    if (fc_tensor_dim(dec, 0) < r.n) r.n = (int)fc_tensor_dim(dec, 0);
    r.target = calloc((size_t)r.n, sizeof *r.target);
    r.pred = calloc((size_t)r.n, sizeof *r.pred);
    r.color = calloc((size_t)r.n, sizeof *r.color);
    if (!r.target || !r.pred || !r.color) {
        st = fc_fail(FC_ERR_NOMEM, "show_results: cannot allocate %d titles", r.n);
        goto fail;
    }
    st = describe(&r, targs, dec, &batch, &so);
    if (st == FC_OK)
        st = fci_show_find(&r.items[0], fc_kind_image) >= 0 ? draw_grid(&r, path, &so) : write_table(&r, path, &so);
fail:
    free(r.color);
    free(r.pred);
    free(r.target);
    for (int64_t i = 0; r.items && i < n_items; i++) fc_tuple_free(&r.items[i]);
    free(r.items);
    fc_tuple_free(&batch);
    fc_tensor_free(targs);
    fc_tensor_free(dec);
    return st;
}
