/* fastai's ClassificationInterpretation: one validation pass gathering the activated predictions,
 * the targets and each item's loss (the learner's loss function on that item alone, fastai's
 * reduction='none'), then the confusion matrix, most_confused, top_losses and their plots. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "../data/show_impl.h"
#include "learner_impl.h"

#define NAME_MAX_LEN 64

struct fc_interp {
    fc_learner *learn;   /* borrowed: the vocab and the loader live there */
    fc_dataloader *dl;   /* borrowed */
    int64_t n, n_classes;
    fc_tensor *preds;    /* [N, C] f32 activated, outside any scope */
    fc_tensor *targs;    /* [N] i64 */
    float *losses;       /* [N] */
    int64_t *decoded;    /* [N] argmax of preds */
    int64_t *cm;         /* [C * C] actual * C + predicted */
    const char **names;  /* [C] vocab names or the numbers in name_buf */
    char (*name_buf)[NAME_MAX_LEN];
};

/* ---- gathering (a callback on the validation pass) ---- */

typedef struct gather {
    fc_tensor **preds, **targs;
    float *losses;
    int64_t n_batches, cap, n_items, cap_items;
} gather;

static fc_status grow(gather *g, int64_t bs) {
    if (g->n_batches == g->cap) {
        int64_t cap = g->cap ? 2 * g->cap : 16;
        fc_tensor **p = realloc(g->preds, (size_t)cap * sizeof *p);
        if (p) g->preds = p;
        fc_tensor **t = p ? realloc(g->targs, (size_t)cap * sizeof *t) : NULL;
        if (t) g->targs = t;
        if (!p || !t) return fc_fail(FC_ERR_NOMEM, "interp: out of memory (%lld batches)", (long long)cap);
        g->cap = cap;
    }
    if (g->n_items + bs > g->cap_items) {
        int64_t cap = 2 * (g->n_items + bs);
        float *l = realloc(g->losses, (size_t)cap * sizeof *l);
        if (!l) return fc_fail(FC_ERR_NOMEM, "interp: out of memory (%lld losses)", (long long)cap);
        g->losses = l;
        g->cap_items = cap;
    }
    return FC_OK;
}

/* The loss of each row of pred against its target: lf->forward on a batch of one. */
static fc_status item_losses(const fc_loss_func *lf, fc_tensor *pred, fc_tensor *y, float *out) {
    int64_t bs = fc_tensor_dim(pred, 0);
    for (int64_t i = 0; i < bs; i++) {
        fc_tensor *l = lf->forward(lf, fc_narrow(pred, 0, i, 1), fc_narrow(y, 0, i, 1));
        if (!l) return fc_error_code() != FC_OK ? fc_error_code() : FCI_INTERNAL("loss_func returned NULL");
        out[i] = (float)fc_tensor_item(l);
        fc_tensor_free(l);
        if (fc_error_code() != FC_OK) return fc_error_code();
    }
    return FC_OK;
}

static int gather_after_loss(fc_learner *learn, void *s) {
    gather *g = s;
    fc_tensor *pred = learn->pred, *y = fc_learner_yb(learn, 0);
    if (!pred || !y) {
        fc_fail(FC_ERR_STATE, "interp: expected batches with a target, found %s", pred ? "none" : "no prediction");
        return FC_CANCEL_FIT;
    }
    if (fc_tensor_ndim(pred) != 2 || fc_tensor_ndim(y) != 1 || fc_dtype_is_float(fc_tensor_dtype(y)) ||
        fc_tensor_dim(y, 0) != fc_tensor_dim(pred, 0)) {
        fc_fail(FC_ERR_UNSUPPORTED, "interp: expected single-label classification, predictions [N, C] and integer "
                "targets [N], found predictions %s and targets %s %s", fci_tshape(pred), fci_tshape(y),
                fc_dtype_name(fc_tensor_dtype(y)));
        return FC_CANCEL_FIT;
    }
    int64_t bs = fc_tensor_dim(pred, 0);
    const fc_loss_func *lf = &learn->loss_func;
    if (grow(g, bs) != FC_OK || item_losses(lf, pred, y, g->losses + g->n_items) != FC_OK) return FC_CANCEL_FIT;
    fc_tensor *act = fci_on_host(lf->activation ? lf->activation(lf, pred) : fc_clone(pred));
    if (act && fc_tensor_dtype(act) != FC_DTYPE_F32) act = fc_to_dtype(act, FC_DTYPE_F32);
    /* The batch's target lives outside the scope: a host i64 one is referenced (get_preds' way); a
     * conversion or a host copy of a device one is kept. */
    int same = fc_tensor_dtype(y) == FC_DTYPE_I64 && fc_tensor_device(y).type == FC_DEVICE_CPU;
    fc_tensor *yi = same ? fc_tensor_ref(y) : fci_on_host(fc_to_dtype(y, FC_DTYPE_I64));
    if (!act || !yi) return FC_CANCEL_FIT;
    g->preds[g->n_batches] = fc_keep(act);
    g->targs[g->n_batches] = same ? yi : fc_keep(yi);
    g->n_batches++;
    g->n_items += bs;
    return FC_CONTINUE;
}

static void gather_free(gather *g) {
    for (int64_t i = 0; i < g->n_batches; i++) {
        fc_tensor_free(g->preds[i]);
        fc_tensor_free(g->targs[i]);
    }
    free(g->preds);
    free(g->targs);
    free(g->losses);
}

/* ---- the interpretation object ---- */

void fc_interp_free(fc_interp *in) {
    if (!in) return;
    fc_tensor_free(in->preds);
    fc_tensor_free(in->targs);
    free(in->losses);
    free(in->decoded);
    free(in->cm);
    free(in->names);
    free(in->name_buf);
    fci_free(in);
}

/* Class names: the dataloaders' vocab when it has C names, else the class numbers. */
static fc_status make_names(fc_interp *in) {
    int64_t c = in->n_classes;
    const fc_dataloaders *dls = fc_learner_dls(in->learn);
    in->names = calloc((size_t)c, sizeof *in->names);
    in->name_buf = calloc((size_t)c, sizeof *in->name_buf);
    if (!in->names || !in->name_buf) return fc_fail(FC_ERR_NOMEM, "interp: cannot allocate %lld names", (long long)c);
    int use_vocab = dls && dls->vocab && dls->n_vocab == c;
    for (int64_t i = 0; i < c; i++) {
        snprintf(in->name_buf[i], NAME_MAX_LEN, "%lld", (long long)i);
        in->names[i] = use_vocab && dls->vocab[i] ? dls->vocab[i] : in->name_buf[i];
    }
    return FC_OK;
}

static fc_status build(fc_interp *in, gather *g) {
    fc_tensor *p = fc_cat((fc_tensor_list){(int)g->n_batches, g->preds}, 0);
    fc_tensor *t = fc_cat((fc_tensor_list){(int)g->n_batches, g->targs}, 0);
    fc_tensor *pc = p ? fc_contiguous(p) : NULL, *tc = t ? fc_contiguous(t) : NULL;
    in->preds = pc ? fc_keep(pc) : NULL;
    in->targs = tc ? fc_keep(tc) : NULL;
    fc_tensor_free(p);
    fc_tensor_free(t);
    if (!in->preds || !in->targs) return fc_error_code();
    in->n = fc_tensor_dim(in->preds, 0);
    in->n_classes = fc_tensor_dim(in->preds, 1);
    in->losses = g->losses;
    g->losses = NULL;
    int64_t c = in->n_classes;
    in->decoded = malloc((size_t)(in->n ? in->n : 1) * sizeof *in->decoded);
    in->cm = calloc((size_t)(c > 0 ? c * c : 1), sizeof *in->cm);
    if (!in->decoded || !in->cm) return fc_fail(FC_ERR_NOMEM, "interp: cannot allocate a %lld x %lld matrix",
                                                (long long)c, (long long)c);
    const float *pd = fc_tensor_data(in->preds);
    const int64_t *td = fc_tensor_data(in->targs);
    for (int64_t i = 0; i < in->n; i++) {
        int64_t best = 0; /* argmax, first of equals (torch.argmax) */
        for (int64_t j = 1; j < c; j++)
            if (pd[i * c + j] > pd[i * c + best]) best = j;
        in->decoded[i] = best;
        if (td[i] < 0 || td[i] >= c)
            return fc_fail(FC_ERR_ARG, "interp: item %lld has target %lld, expected a class in [0, %lld)", (long long)i,
                           (long long)td[i], (long long)c);
        in->cm[td[i] * c + best]++;
    }
    return make_names(in);
}

fc_interp *fc_interp_from_learner(fc_learner *learn, fc_dataloader *dl) {
    if (!learn) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "interp_from_learner: learn is NULL");
        return NULL;
    }
    if (!dl) dl = learn->dls ? learn->dls->valid : NULL;
    if (!dl) {
        fc_fail(FC_ERR_ARG, "interp_from_learner: no loader given and the dataloaders have no valid loader");
        return NULL;
    }
    if (fc_dataloader_is_shuffled(dl)) {
        fc_fail(FC_ERR_ARG, "interp_from_learner: the loader shuffles, so item i of the predictions would not be "
                "item i of its dataset; use one in order (the valid loader)");
        return NULL;
    }
    gather g = {0};
    fc_interp *in = fci_calloc(1, sizeof *in);
    fc_callback *cb = in ? fc_callback_new(&(fc_callback_def){.name = "Interpretation", .order = FC_ORDER_RECORDER + 1,
                                                              .after_loss = gather_after_loss, .state = &g})
                         : NULL;
    fc_status st = cb ? fci_run_valid(learn, dl, cb, "interp_from_learner") : fc_error_code();
    if (st == FC_OK && g.n_batches == 0) st = fc_fail(FC_ERR_ARG, "interp_from_learner: the loader gave no batch");
    if (st == FC_OK) {
        in->learn = learn;
        in->dl = dl;
        st = build(in, &g);
    }
    fc_callback_free(cb);
    gather_free(&g);
    if (st != FC_OK) {
        fc_interp_free(in);
        return NULL;
    }
    return in;
}

int64_t fc_interp_n(const fc_interp *in) { return in ? in->n : 0; }
const fc_tensor *fc_interp_preds(const fc_interp *in) { return in ? in->preds : NULL; }
const fc_tensor *fc_interp_targs(const fc_interp *in) { return in ? in->targs : NULL; }
const float *fc_interp_losses(const fc_interp *in) { return in ? in->losses : NULL; }
const int64_t *fc_interp_decoded(const fc_interp *in) { return in ? in->decoded : NULL; }
const char *fc_interp_class_name(const fc_interp *in, int64_t c) {
    return in && c >= 0 && c < in->n_classes ? in->names[c] : NULL;
}

const int64_t *fc_interp_confusion_matrix(const fc_interp *in, int64_t *n_classes) {
    if (n_classes) *n_classes = in ? in->n_classes : 0;
    return in ? in->cm : NULL;
}

/* ---- the matrix as a picture and as text ---- */

fc_status fc_interp_plot_confusion_matrix_(fc_interp *in, const char *path, const fc_interp_plot_opts *o) {
    fc_interp_plot_opts d = {0};
    if (!o) o = &d;
    if (!in || !path)
        return fc_error_code() != FC_OK ? fc_error_code()
                                        : fc_fail(FC_ERR_ARG, "interp_plot_confusion_matrix: NULL %s", in ? "path" : "interp");
    if (in->n_classes > 1000)
        return fc_fail(FC_ERR_ARG, "interp_plot_confusion_matrix: %lld classes are too many to draw (at most 1000)",
                       (long long)in->n_classes);
    return fc_plot_confusion_matrix(path, in->cm, (int)in->n_classes, in->names, .normalize = o->normalize,
                                    .title = o->title ? o->title : "Confusion matrix");
}

static int text_width(const char *s) {
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void pad_left(FILE *f, const char *s, int width) {
    for (int k = text_width(s); k < width; k++) fputc(' ', f);
    fputs(s, f);
}

fc_status fc_interp_print_confusion_matrix(const fc_interp *in, FILE *f) {
    if (!in) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_ARG, "interp_print_confusion_matrix: NULL interp");
    if (!f) f = stdout;
    int64_t c = in->n_classes;
    const char *corner = "actual \\ predicted";
    int w0 = text_width(corner), w = 1;
    char num[32];
    for (int64_t i = 0; i < c; i++) {
        if (text_width(in->names[i]) > w0) w0 = text_width(in->names[i]);
        if (text_width(in->names[i]) > w) w = text_width(in->names[i]);
    }
    for (int64_t i = 0; i < c * c; i++) {
        int k = snprintf(num, sizeof num, "%lld", (long long)in->cm[i]);
        if (k > w) w = k;
    }
    fputs(corner, f);
    for (int k = text_width(corner); k < w0; k++) fputc(' ', f);
    for (int64_t j = 0; j < c; j++) {
        fputs("  ", f);
        pad_left(f, in->names[j], w);
    }
    fputc('\n', f);
    for (int64_t i = 0; i < c; i++) {
        fputs(in->names[i], f);
        for (int k = text_width(in->names[i]); k < w0; k++) fputc(' ', f);
        for (int64_t j = 0; j < c; j++) {
            snprintf(num, sizeof num, "%lld", (long long)in->cm[i * c + j]);
            fputs("  ", f);
            pad_left(f, num, w);
        }
        fputc('\n', f);
    }
    if (fflush(f) != 0 || ferror(f)) return fc_fail(FC_ERR_IO, "interp_print_confusion_matrix: cannot write the matrix");
    return FC_OK;
}

/* ---- most confused and top losses ---- */

int64_t fc_interp_most_confused(const fc_interp *in, int64_t min_val, fc_confusion *out, int64_t max_out) {
    if (!in) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "interp_most_confused: NULL interp");
        return -1;
    }
    if (min_val == 0) min_val = 1;
    if (min_val < 0 || max_out < 0 || (max_out > 0 && !out)) {
        fc_fail(FC_ERR_ARG, "interp_most_confused: expected min_val >= 0 and max_out >= 0 with out, found %lld, %lld%s",
                (long long)min_val, (long long)max_out, out ? "" : " and out NULL");
        return -1;
    }
    int64_t c = in->n_classes, n_found = 0;
    /* Counts descending; among equal counts row-major order (fastai: a stable sort of np.where). */
    int64_t max_count = 0;
    for (int64_t i = 0; i < c * c; i++)
        if (i / c != i % c && in->cm[i] > max_count) max_count = in->cm[i];
    for (int64_t v = max_count; v >= min_val; v--) {
        int64_t next = 0; /* the largest count below v, to skip the empty ones */
        for (int64_t i = 0; i < c * c; i++) {
            if (i / c == i % c) continue;
            if (in->cm[i] == v) {
                if (n_found < max_out) out[n_found] = (fc_confusion){in->names[i / c], in->names[i % c], v};
                n_found++;
            } else if (in->cm[i] < v && in->cm[i] > next) {
                next = in->cm[i];
            }
        }
        v = next + 1;
    }
    return n_found;
}

typedef struct ranked {
    float loss;
    int64_t idx;
} ranked;

static int by_loss_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->loss != y->loss) return x->loss > y->loss ? -1 : 1; /* NaN losses: see fill_ranked */
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Every item by loss, largest first (ties by index); NaN counts as largest, like torch.topk. */
static ranked *sorted_losses(const fc_interp *in) {
    ranked *r = malloc((size_t)(in->n ? in->n : 1) * sizeof *r);
    if (!r) {
        fc_fail(FC_ERR_NOMEM, "interp_top_losses: cannot allocate %lld entries", (long long)in->n);
        return NULL;
    }
    for (int64_t i = 0; i < in->n; i++) r[i] = (ranked){isnan(in->losses[i]) ? INFINITY : in->losses[i], i};
    qsort(r, (size_t)in->n, sizeof *r, by_loss_desc);
    return r;
}

int64_t fc_interp_top_losses(const fc_interp *in, int64_t k, float *losses, int64_t *idx) {
    if (!in) {
        if (fc_error_code() == FC_OK) fc_fail(FC_ERR_ARG, "interp_top_losses: NULL interp");
        return -1;
    }
    if (k < 0) {
        fc_fail(FC_ERR_ARG, "interp_top_losses: expected k >= 0 (0: every item), found %lld", (long long)k);
        return -1;
    }
    if (k == 0 || k > in->n) k = in->n;
    ranked *r = sorted_losses(in);
    if (!r) return -1;
    for (int64_t i = 0; i < k; i++) {
        if (losses) losses[i] = in->losses[r[i].idx];
        if (idx) idx[i] = r[i].idx;
    }
    free(r);
    return k;
}

/* ---- plot_top_losses ---- */

#define TITLE_MAX 200

typedef struct top {
    int n;
    int64_t *idx;
    fc_tuple *items; /* decoded, n of them */
    int64_t n_items;
    char (*title)[TITLE_MAX];
} top;

static void top_free(top *t) {
    for (int64_t i = 0; t->items && i < t->n_items; i++) fc_tuple_free(&t->items[i]);
    free(t->items);
    free(t->idx);
    free(t->title);
}

static double prob_of(const fc_interp *in, int64_t i, int64_t c) {
    return ((const float *)fc_tensor_data(in->preds))[i * in->n_classes + c];
}

static fc_status draw_top_grid(const fc_interp *in, const top *t, const char *path, const fc_interp_plot_opts *o,
                               const fc_show_opts *so) {
    fc_grid_cell *cells = calloc((size_t)t->n, sizeof *cells);
    fci_box_labels *bl = calloc((size_t)t->n, sizeof *bl);
    fc_status st = cells && bl ? FC_OK : fc_fail(FC_ERR_NOMEM, "interp_plot_top_losses: cannot allocate %d cells", t->n);
    for (int i = 0; i < t->n && st == FC_OK; i++) {
        fci_show_cell(&t->items[i], so, &cells[i], &bl[i]);
        if (!cells[i].image) st = fc_fail(FC_ERR_ARG, "interp_plot_top_losses: item %lld has no image value while "
                                          "item %lld has one", (long long)t->idx[i], (long long)t->idx[0]);
        cells[i].title = t->title[i];
        int64_t d = in->decoded[t->idx[i]], a = (int64_t)fc_tensor_get(in->targs, t->idx[i]);
        cells[i].title_color = d == a ? 1 : 2;
    }
    if (st == FC_OK)
        st = fc_plot_image_grid(path, cells, t->n, .ncols = o->ncols,
                                .title = o->title ? o->title : "Prediction/Actual/Loss/Probability");
    free(bl);
    free(cells);
    return st;
}

/* Items without an image: their inputs beside actual, predicted, loss and probability. */
static fc_status write_top_table(const fc_interp *in, const top *t, const char *path, const fc_show_opts *so) {
    int n_in = t->items[0].n_inp, n_cols = n_in + 4;
    if (n_cols > FC_MAX_TUPLE * 2) n_in = FC_MAX_TUPLE * 2 - 4, n_cols = FC_MAX_TUPLE * 2;
    const char *headers[FC_MAX_TUPLE * 2];
    for (int c = 0; c < n_in; c++) headers[c] = t->items[0].v[c].kind ? t->items[0].v[c].kind->name : "input";
    headers[n_in] = "actual", headers[n_in + 1] = "predicted", headers[n_in + 2] = "loss";
    headers[n_in + 3] = "probability";
    char **cells = calloc((size_t)t->n * (size_t)n_cols, sizeof *cells);
    fc_status st = cells ? FC_OK : fc_fail(FC_ERR_NOMEM, "interp_plot_top_losses: cannot allocate a table");
    for (int r = 0; r < t->n && st == FC_OK; r++) {
        int64_t i = t->idx[r], d = in->decoded[i], a = (int64_t)fc_tensor_get(in->targs, i);
        for (int c = 0; c < n_cols && st == FC_OK; c++) {
            char *s = cells[r * n_cols + c] = malloc(TITLE_MAX);
            if (!s) st = fc_fail(FC_ERR_NOMEM, "interp_plot_top_losses: cannot allocate a table cell");
            else if (c < n_in) fc_show_value_str(&t->items[r].v[c], so, s, TITLE_MAX);
            else if (c == n_in) snprintf(s, TITLE_MAX, "%s", in->names[a]);
            else if (c == n_in + 1) snprintf(s, TITLE_MAX, "%s", in->names[d]);
            else if (c == n_in + 2) snprintf(s, TITLE_MAX, "%.4f", in->losses[i]);
            else snprintf(s, TITLE_MAX, "%.4f", prob_of(in, i, d));
        }
    }
    if (st == FC_OK) st = fci_show_table("interp_plot_top_losses", path, so->out, headers, n_cols, cells, t->n);
    for (int i = 0; cells && i < t->n * n_cols; i++) free(cells[i]);
    free(cells);
    return st;
}

fc_status fc_interp_plot_top_losses_(fc_interp *in, int64_t k, const char *path, const fc_interp_plot_opts *o) {
    fc_interp_plot_opts d = {0};
    if (!o) o = &d;
    if (!in || !path)
        return fc_error_code() != FC_OK ? fc_error_code()
                                        : fc_fail(FC_ERR_ARG, "interp_plot_top_losses: NULL %s", in ? "path" : "interp");
    if (k < 1) return fc_fail(FC_ERR_ARG, "interp_plot_top_losses: expected k >= 1, found %lld", (long long)k);
    if (o->ncols < 0) return fc_fail(FC_ERR_ARG, "interp_plot_top_losses: .ncols must be >= 0, found %d", o->ncols);
    if (k > in->n) k = in->n;
    if (k > 1000) return fc_fail(FC_ERR_ARG, "interp_plot_top_losses: k = %lld is too many to draw (at most 1000)", (long long)k);
    const fc_dataloaders *dls = fc_learner_dls(in->learn);
    fc_show_opts so = {.vocab = dls ? dls->vocab : NULL, .n_vocab = dls && dls->vocab ? dls->n_vocab : 0};
    top t = {.n = (int)k};
    t.idx = malloc((size_t)k * sizeof *t.idx);
    t.title = calloc((size_t)k, sizeof *t.title);
    fc_status st = t.idx && t.title ? FC_OK : fc_fail(FC_ERR_NOMEM, "interp_plot_top_losses: cannot allocate %lld items", (long long)k);
    if (st == FC_OK && fc_interp_top_losses(in, k, NULL, t.idx) != k) st = fc_error_code();
    /* The items themselves, decoded as show_batch decodes them (batch, then item pipelines undone). */
    fc_tuple batch = {0};
    if (st == FC_OK) st = fc_dataloader_batch_of(in->dl, t.idx, k, &batch);
    if (st == FC_OK) st = fc_dataloader_decode_batch(in->dl, &batch, &t.items, &t.n_items);
    fc_tuple_free(&batch);
    if (st == FC_OK && t.n_items != k)
        st = fc_fail(FC_ERR_STATE, "interp_plot_top_losses: decoding %lld items gave %lld", (long long)k, (long long)t.n_items);
    for (int i = 0; i < t.n && st == FC_OK; i++) { /* fastai's title: pred/actual / loss / probability */
        int64_t j = t.idx[i], p = in->decoded[j], a = (int64_t)fc_tensor_get(in->targs, j);
        snprintf(t.title[i], TITLE_MAX, "%s/%s\n%.2f / %.2f", in->names[p], in->names[a], in->losses[j], prob_of(in, j, p));
    }
    if (st == FC_OK)
        st = fci_show_find(&t.items[0], fc_kind_image) >= 0 ? draw_top_grid(in, &t, path, o, &so)
                                                             : write_top_table(in, &t, path, &so);
    top_free(&t);
    return st;
}
