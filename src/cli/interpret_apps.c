/* fastc interpret MODEL DATA for collab and text models. A collab model is a regression: fastai's
 * Interpretation (not ClassificationInterpretation) gives its top losses, here each rating of a
 * ratings file with its user, item, actual and predicted rating and squared error, and the RMSE
 * over the file. A text classifier gets ClassificationInterpretation: the confusion matrix (text and
 * PNG), the most confused classes and the top losses with the decoded text (fastai's
 * plot_top_losses for texts is a table: input, target, predicted, probability, loss). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* ---- shared ---- */

/* order[n] by decreasing loss, ties by index (qsort is not stable). */
static const float *sort_losses;
static int by_loss_desc(const void *a, const void *b) {
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (sort_losses[i] != sort_losses[j]) return sort_losses[i] < sort_losses[j] ? 1 : -1;
    return (i > j) - (i < j);
}

/* s on one line (newlines and tabs as spaces), cut to max characters (UTF-8) with "..." at the end. */
static void one_line(const char *s, char *out, size_t n, int max) {
    size_t k = 0;
    int w = 0;
    for (; s && *s && k + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c & 0xc0) != 0x80 && ++w > max - 3) {
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
        out[k++] = c == '\n' || c == '\t' || c == '\r' ? ' ' : (char)c;
    }
    out[k] = 0;
}

/* The index of name among classes[n], or -1; classes sorted by sorted[n] (indices) for bsearch. */
typedef struct lookup {
    const char *const *classes;
    int64_t *sorted, n;
} lookup;
static const char *const *cmp_classes;
static int by_name(const void *a, const void *b) {
    return strcmp(cmp_classes[*(const int64_t *)a], cmp_classes[*(const int64_t *)b]);
}
static fc_status lookup_new(lookup *l, const char *const *classes, int64_t n) {
    *l = (lookup){classes, malloc((size_t)(n ? n : 1) * sizeof(int64_t)), n};
    if (!l->sorted) return fc_fail(FC_ERR_NOMEM, "interpret: out of memory for %lld classes", (long long)n);
    for (int64_t i = 0; i < n; i++) l->sorted[i] = i;
    cmp_classes = classes;
    qsort(l->sorted, (size_t)n, sizeof *l->sorted, by_name);
    return FC_OK;
}
static int64_t lookup_find(const lookup *l, const char *name) {
    int64_t lo = 0, hi = l->n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        int c = strcmp(l->classes[l->sorted[mid]], name);
        if (!c) return l->sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* ---- --json ---- */

void cli_json_number(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, "%.9g", x);
    else fputs("null", f);
}

fc_status cli_interp_print_json(const fc_interp *in, const char *app, int64_t k, cli_interp_item_fn item,
                                const void *state) {
    int64_t nc = 0, n = fc_interp_n(in);
    const int64_t *cm = fc_interp_confusion_matrix(in, &nc), *dec = fc_interp_decoded(in);
    if (!cm || !dec) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_STATE, "interpret: no predictions");
    int64_t n_conf = fc_interp_most_confused(in, 1, NULL, 0);
    if (n_conf < 0) return fc_error_code();
    if (k > n) k = n;
    fc_confusion *conf = malloc((size_t)(n_conf ? n_conf : 1) * sizeof *conf);
    float *loss = malloc((size_t)(k ? k : 1) * sizeof *loss);
    int64_t *idx = malloc((size_t)(k ? k : 1) * sizeof *idx);
    fc_status st = conf && loss && idx ? FC_OK : fc_fail(FC_ERR_NOMEM, "interpret: out of memory");
    if (st == FC_OK && fc_interp_most_confused(in, 1, conf, n_conf) != n_conf) st = fc_error_code();
    int64_t nt = st == FC_OK && k > 0 ? fc_interp_top_losses(in, k, loss, idx) : 0;
    if (nt < 0) st = fc_error_code();
    if (st == FC_OK) {
        const fc_tensor *preds = fc_interp_preds(in), *targs = fc_interp_targs(in);
        int64_t right = 0;
        for (int64_t c = 0; c < nc; c++) right += cm[c * nc + c];
        printf("{\"application\":");
        cli_json_string(stdout, app);
        printf(",\"items\":%lld,\"accuracy\":", (long long)n);
        cli_json_number(stdout, n ? (double)right / (double)n : NAN);
        printf(",\"classes\":[");
        for (int64_t c = 0; c < nc; c++) {
            if (c) putchar(',');
            cli_json_string(stdout, fc_interp_class_name(in, c));
        }
        printf("],\"confusion_matrix\":[");
        for (int64_t a = 0; a < nc; a++) {
            printf("%s[", a ? "," : "");
            for (int64_t p = 0; p < nc; p++) printf("%s%lld", p ? "," : "", (long long)cm[a * nc + p]);
            putchar(']');
        }
        printf("],\"most_confused\":[");
        for (int64_t i = 0; i < n_conf; i++) {
            printf("%s{\"actual\":", i ? "," : "");
            cli_json_string(stdout, conf[i].actual);
            printf(",\"predicted\":");
            cli_json_string(stdout, conf[i].predicted);
            printf(",\"count\":%lld}", (long long)conf[i].count);
        }
        printf("],\"top_losses\":[");
        for (int64_t i = 0; i < nt; i++) {
            int64_t j = idx[i];
            printf("%s{\"index\":%lld,", i ? "," : "", (long long)j);
            if (item) item(state, j);
            printf("\"actual\":");
            cli_json_string(stdout, fc_interp_class_name(in, (int64_t)fc_tensor_get(targs, j)));
            printf(",\"predicted\":");
            cli_json_string(stdout, fc_interp_class_name(in, dec[j]));
            printf(",\"loss\":");
            cli_json_number(stdout, loss[i]);
            printf(",\"prob\":");
            cli_json_number(stdout, fc_tensor_get(preds, j * nc + dec[j]));
            putchar('}');
        }
        printf("]}\n");
    }
    free(conf);
    free(loss);
    free(idx);
    return st;
}

/* ---- collab: the top losses of a ratings file ---- */

typedef struct ratings {
    int64_t n, n_skipped;
    fc_tensor *x, *y; /* [n, 2] i64 codes, [n] f32 ratings */
    int64_t *row;     /* [n] the line of each rating in the file (1-based) */
} ratings;

static int col_of(const fc_csv *csv, const char *name, int dflt) {
    return name ? fc_csv_col_index(csv, name) : (dflt < fc_csv_n_cols(csv) ? dflt : -1);
}

/* The rated pairs of the file whose user and item the model knows (the rest are counted). */
static fc_status read_ratings(fc_learner *learn, const cli_interp_opts *o, ratings *r) {
    *r = (ratings){0};
    int64_t nu = 0, ni = 0;
    const fc_dataloaders *dls = fc_learner_dls(learn);
    const char *const *users = fc_collab_users(dls, &nu), *const *items = fc_collab_items(dls, &ni);
    if (!users || !items) return fc_error_code();
    fc_csv *csv = fc_read_csv(o->data, .sep = o->sep, .no_header = o->no_header);
    if (!csv) return fc_error_code();
    int ju = col_of(csv, o->user, 0), ji = col_of(csv, o->item, 1), jr = col_of(csv, o->rating, 2);
    fc_status st = FC_OK;
    if (ju < 0 || ji < 0 || jr < 0)
        st = fc_fail(FC_ERR_ARG, "interpret: '%s' has no column '%s' (its first column: '%s'; --user, --item, --rating "
                     "name them, --sep and --no-header read the file as 'fastc train collab' did)", o->data,
                     ju < 0 ? (o->user ? o->user : "0") : ji < 0 ? (o->item ? o->item : "1") : (o->rating ? o->rating : "2"),
                     fc_csv_col_name(csv, 0));
    lookup lu = {0}, li = {0};
    int64_t n = fc_csv_n_rows(csv);
    if (st == FC_OK) st = lookup_new(&lu, users, nu);
    if (st == FC_OK) st = lookup_new(&li, items, ni);
    if (st == FC_OK && (!(r->x = fc_tensor_new(FC_SHAPE(n ? n : 1, 2), FC_DTYPE_I64)) ||
                        !(r->y = fc_tensor_new(FC_SHAPE(n ? n : 1), FC_DTYPE_F32)) ||
                        !(r->row = malloc((size_t)(n ? n : 1) * sizeof *r->row))))
        st = fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_NOMEM, "interpret: out of memory");
    int64_t *x = st == FC_OK ? fc_tensor_data(r->x) : NULL;
    float *y = st == FC_OK ? fc_tensor_data_f32(r->y) : NULL;
    for (int64_t i = 0; st == FC_OK && i < n; i++) {
        const char *cr = fc_csv_cell(csv, i, jr);
        char *e = NULL;
        double v = strtod(cr, &e);
        if (e == cr || *e) {
            st = fc_fail(FC_ERR_FORMAT, "interpret: %s line %lld, column '%s': expected a rating, found '%s'", o->data,
                         (long long)fc_csv_row_line(csv, i), fc_csv_col_name(csv, jr), cr);
            break;
        }
        int64_t u = lookup_find(&lu, fc_csv_cell(csv, i, ju)), it = lookup_find(&li, fc_csv_cell(csv, i, ji));
        if (u <= 0 || it <= 0) { /* unknown, or "#na#" itself: the untrained embedding */
            r->n_skipped++;
            continue;
        }
        x[2 * r->n] = u;
        x[2 * r->n + 1] = it;
        y[r->n] = (float)v;
        r->row[r->n++] = fc_csv_row_line(csv, i);
    }
    if (st == FC_OK && r->n == 0)
        st = fc_fail(FC_ERR_ARG, "interpret: none of the %lld ratings in '%s' has a user and an item the model was "
                     "trained on", (long long)n, o->data);
    free(lu.sorted);
    free(li.sorted);
    fc_csv_free(csv);
    return st;
}

/* The learner's loss on each item alone (fastai's reduction='none'). */
static fc_status item_losses(fc_learner *learn, fc_tensor *preds, fc_tensor *targs, float *out, int64_t n) {
    const fc_loss_func *lf = fc_learner_loss_func(learn);
    fc_status st = FC_OK;
    for (int64_t i0 = 0; i0 < n && st == FC_OK; i0 += 1024) {
        fc_scope *s = fc_scope_begin();
        for (int64_t i = i0; i < n && i < i0 + 1024; i++) {
            fc_tensor *l = lf->forward(lf, fc_narrow(preds, 0, i, 1), fc_narrow(targs, 0, i, 1));
            if (!l) {
                st = fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_INTERNAL, "interpret: no loss");
                break;
            }
            out[i] = (float)fc_tensor_item(l);
        }
        fc_scope_end(s);
    }
    return st;
}

/* --json: {"application":"collab", "ratings", "skipped", "loss_func", "loss" (its mean), "mse",
 * "rmse" (of the predictions whatever the loss), "top_losses": [{user, item, actual, predicted,
 * loss, file, line}]}. */
static void print_collab_json(fc_learner *learn, const ratings *r, const fc_tensor *preds, const float *loss,
                              const int64_t *order, const cli_interp_opts *o) {
    int64_t nu = 0, ni = 0;
    const fc_dataloaders *dls = fc_learner_dls(learn);
    const char *const *users = fc_collab_users(dls, &nu), *const *items = fc_collab_items(dls, &ni);
    double sum = 0, se = 0;
    for (int64_t i = 0; i < r->n; i++) {
        double d = fc_tensor_get(r->y, i) - fc_tensor_get(preds, i);
        sum += loss[i];
        se += d * d;
    }
    printf("{\"application\":\"collab\",\"ratings\":%lld,\"skipped\":%lld,\"loss_func\":", (long long)r->n,
           (long long)r->n_skipped);
    cli_json_string(stdout, fc_learner_loss_func(learn)->name);
    printf(",\"loss\":");
    cli_json_number(stdout, sum / (double)r->n);
    printf(",\"mse\":");
    cli_json_number(stdout, se / (double)r->n);
    printf(",\"rmse\":");
    cli_json_number(stdout, sqrt(se / (double)r->n));
    printf(",\"top_losses\":[");
    const int64_t *x = fc_tensor_data(r->x);
    for (int64_t t = 0; t < o->k && t < r->n; t++) {
        int64_t i = order[t];
        printf("%s{\"user\":", t ? "," : "");
        cli_json_string(stdout, users[x[2 * i]]);
        printf(",\"item\":");
        cli_json_string(stdout, items[x[2 * i + 1]]);
        printf(",\"actual\":");
        cli_json_number(stdout, fc_tensor_get(r->y, i));
        printf(",\"predicted\":");
        cli_json_number(stdout, fc_tensor_get(preds, i));
        printf(",\"loss\":");
        cli_json_number(stdout, loss[i]);
        printf(",\"file\":");
        cli_json_string(stdout, o->data);
        printf(",\"line\":%lld}", (long long)r->row[i]);
    }
    printf("]}\n");
}

static void print_collab(fc_learner *learn, const ratings *r, const fc_tensor *preds, const float *loss,
                         const int64_t *order, const cli_interp_opts *o) {
    if (o->json) {
        print_collab_json(learn, r, preds, loss, order, o);
        return;
    }
    int64_t nu = 0, ni = 0;
    const fc_dataloaders *dls = fc_learner_dls(learn);
    const char *const *users = fc_collab_users(dls, &nu), *const *items = fc_collab_items(dls, &ni);
    double sum = 0;
    for (int64_t i = 0; i < r->n; i++) sum += loss[i];
    printf("%lld ratings: %s %.4f", (long long)r->n, fc_learner_loss_func(learn)->name, sum / (double)r->n);
    if (strstr(fc_learner_loss_func(learn)->name, "mse")) printf(", rmse %.4f", sqrt(sum / (double)r->n));
    printf("\n");
    if (r->n_skipped)
        printf("%lld ratings left out: their user or item was not in the training ratings\n", (long long)r->n_skipped);
    int64_t k = o->k < r->n ? o->k : r->n;
    int wu = 4, wi = 4;
    const int64_t *x = fc_tensor_data(r->x);
    for (int64_t t = 0; t < k; t++) {
        int64_t i = order[t];
        if ((int)strlen(users[x[2 * i]]) > wu) wu = (int)strlen(users[x[2 * i]]);
        if ((int)strlen(items[x[2 * i + 1]]) > wi) wi = (int)strlen(items[x[2 * i + 1]]);
    }
    printf("\ntop losses:\n%-*s  %-*s  %-7s  %-9s  %-8s  %s\n", wu, "user", wi, "item", "actual", "predicted", "loss", "row");
    for (int64_t t = 0; t < k; t++) {
        int64_t i = order[t];
        printf("%-*s  %-*s  %-7g  %-9.4f  %-8.4f  %s:%lld\n", wu, users[x[2 * i]], wi, items[x[2 * i + 1]],
               fc_tensor_get(r->y, i), fc_tensor_get(preds, i), loss[i], o->data, (long long)r->row[i]);
    }
}

int cli_interpret_collab(fc_learner *learn, const cli_interp_opts *o) {
    if (o->plot) {
        fc_learner_free(learn);
        return cli_usage_error("interpret", "a collab model predicts a rating (a regression): there is no confusion "
                               "matrix to plot; its top losses are printed");
    }
    ratings r;
    fc_tensor *preds = NULL, *targs = NULL;
    fc_dataloaders *dls = NULL;
    float *loss = NULL;
    int64_t *order = NULL;
    fc_status st = read_ratings(learn, o, &r);
    if (st == FC_OK) {
        fc_tensor *x = fc_narrow(r.x, 0, 0, r.n), *y = fc_narrow(r.y, 0, 0, r.n);
        dls = fc_tensor_dls(x, y, x, y, .bs = 512, .no_shuffle = 1);
        fc_tensor_free(x);
        fc_tensor_free(y);
    }
    if (st == FC_OK && !dls) st = fc_error_code();
    if (st == FC_OK) st = fc_learner_get_preds(learn, dls->valid, &preds, &targs, NULL);
    if (st == FC_OK && (!(loss = malloc((size_t)r.n * sizeof *loss)) || !(order = malloc((size_t)r.n * sizeof *order))))
        st = fc_fail(FC_ERR_NOMEM, "interpret: out of memory for %lld ratings", (long long)r.n);
    if (st == FC_OK && fc_tensor_numel(preds) != r.n)
        st = fc_fail(FC_ERR_SHAPE, "interpret: expected one rating per pair from the model, found %lld for %lld",
                     (long long)fc_tensor_numel(preds), (long long)r.n);
    if (st == FC_OK) st = item_losses(learn, preds, targs, loss, r.n);
    if (st == FC_OK) {
        for (int64_t i = 0; i < r.n; i++) order[i] = i;
        sort_losses = loss;
        qsort(order, (size_t)r.n, sizeof *order, by_loss_desc);
        print_collab(learn, &r, preds, loss, order, o);
    }
    free(order);
    free(loss);
    fc_tensor_free(preds);
    fc_tensor_free(targs);
    fc_dataloaders_free(dls);
    fc_tensor_free(r.x);
    fc_tensor_free(r.y);
    free(r.row);
    fc_learner_free(learn);
    return st == FC_OK ? CLI_OK : cli_fail("interpret");
}

/* ---- text: a classifier on labelled texts ---- */

typedef struct texts {
    int64_t n, cap;
    char **name;   /* "CSV:ROW" or the file */
    fc_tensor **doc; /* token ids */
    int64_t *y;
} texts;

static void texts_free(texts *t) {
    for (int64_t i = 0; i < t->n; i++) {
        free(t->name[i]);
        fc_tensor_free(t->doc[i]);
    }
    free(t->name);
    free(t->doc);
    free(t->y);
    *t = (texts){0};
}

/* Numericalizes text as the model's loaders do and adds it with its label (a class name). */
static fc_status texts_add(texts *t, fc_learner *learn, const char *name, const char *text, const char *label) {
    const fc_dataloaders *dls = fc_learner_dls(learn);
    int64_t y = -1;
    for (int64_t c = 0; c < dls->n_vocab && y < 0; c++)
        if (!strcmp(dls->vocab[c], label)) y = c;
    if (y < 0)
        return fc_fail(FC_ERR_ARG, "interpret: %s is labelled '%s', which is no class of the model (its classes: %s, %s%s)",
                       name, label, dls->vocab[0], dls->vocab[1], dls->n_vocab > 2 ? ", ..." : "");
    if (t->n == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 64;
        char **nm = realloc(t->name, (size_t)cap * sizeof *nm);
        if (nm) t->name = nm;
        fc_tensor **d = nm ? realloc(t->doc, (size_t)cap * sizeof *d) : NULL;
        if (d) t->doc = d;
        int64_t *yy = d ? realloc(t->y, (size_t)cap * sizeof *yy) : NULL;
        if (yy) t->y = yy;
        if (!yy) return fc_fail(FC_ERR_NOMEM, "interpret: out of memory for %lld texts", (long long)cap);
        t->cap = cap;
    }
    fc_tuple item = {0};
    fc_status st = fc_dataset_item_from_text(fc_dataloader_dataset(dls->valid), text, NULL, &item);
    if (st != FC_OK) return st;
    t->doc[t->n] = item.n >= 1 && item.v[0].t ? fc_tensor_ref(item.v[0].t) : NULL;
    fc_tuple_free(&item);
    if (!t->doc[t->n]) return fc_fail(FC_ERR_INTERNAL, "interpret: no token ids for %s", name);
    if (!(t->name[t->n] = strdup(name))) {
        fc_tensor_free(t->doc[t->n]);
        return fc_fail(FC_ERR_NOMEM, "interpret: out of memory");
    }
    t->y[t->n++] = y;
    return FC_OK;
}

static int is_true(const char *s) {
    return !strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "yes");
}

/* The rows of a CSV (only those marked valid with --valid-col). */
static fc_status texts_from_csv(texts *t, fc_learner *learn, const cli_interp_opts *o) {
    fc_csv *csv = fc_read_csv(o->data);
    if (!csv) return fc_error_code();
    const char *tc = o->text_col ? o->text_col : "text", *lc = o->label_col ? o->label_col : "label";
    int jt = fc_csv_col_index(csv, tc), jl = fc_csv_col_index(csv, lc), jv = o->valid_col ? fc_csv_col_index(csv, o->valid_col) : -1;
    fc_status st = FC_OK;
    if (jt < 0 || jl < 0 || (o->valid_col && jv < 0))
        st = fc_fail(FC_ERR_ARG, "interpret: '%s' has no column '%s' (--text-col, --label-col and --valid-col name "
                     "them)", o->data, jt < 0 ? tc : jl < 0 ? lc : o->valid_col);
    for (int64_t i = 0; st == FC_OK && i < fc_csv_n_rows(csv); i++) {
        if (jv >= 0 && !is_true(fc_csv_cell(csv, i, jv))) continue;
        char name[4200];
        snprintf(name, sizeof name, "%s:%lld", o->data, (long long)fc_csv_row_line(csv, i));
        st = texts_add(t, learn, name, fc_csv_cell(csv, i, jt), fc_csv_cell(csv, i, jl));
    }
    fc_csv_free(csv);
    return st;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    struct stat sb;
    char *s = f && fstat(fileno(f), &sb) == 0 && sb.st_size < (1 << 26) ? malloc((size_t)sb.st_size + 1) : NULL;
    size_t n = s ? fread(s, 1, (size_t)sb.st_size, f) : 0;
    if (f) fclose(f);
    if (!s) fc_fail(FC_ERR_IO, "interpret: cannot read '%s' (or it is over 64 MiB)", path);
    else s[n] = 0;
    return s;
}

/* Every .txt file under the folder, labelled by its parent folder (IMDB's DIR/test/neg/x.txt). */
static fc_status texts_from_folder(texts *t, fc_learner *learn, const cli_interp_opts *o) {
    char path[4096];
    struct stat sb;
    const char *sub[] = {o->valid, "test", "valid"};
    snprintf(path, sizeof path, "%s", o->data);
    for (int i = o->valid ? 0 : 1; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", o->data, sub[i]);
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) break;
        if (i == 0) return fc_fail(FC_ERR_IO, "interpret: '%s' is no folder (--valid names a subfolder of DATA)", path);
        snprintf(path, sizeof path, "%s", o->data);
    }
    fc_items items = {0};
    fc_status st = fc_get_files(path, &items, .extensions = FC_NAMES(".txt"));
    for (int64_t i = 0; st == FC_OK && i < items.n; i++) {
        char *text = read_file(items.text[i]), label[256] = "";
        const char *slash = strrchr(items.text[i], '/'), *p = slash;
        while (p && p > items.text[i] && p[-1] != '/') p--;
        if (p && slash && (size_t)(slash - p) < sizeof label) memcpy(label, p, (size_t)(slash - p)), label[slash - p] = 0;
        st = text ? texts_add(t, learn, items.text[i], text, label) : fc_error_code();
        free(text);
    }
    fc_items_free(&items);
    return st;
}

/* fastai's SortedDL validation order: by decreasing length, ties in order (what the loader will
 * do again: sorting first makes its order ours, so the interpretation's indices are positions). */
static const texts *sort_texts;
static int by_len_desc(const void *a, const void *b) {
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    int64_t li = fc_tensor_numel(sort_texts->doc[i]), lj = fc_tensor_numel(sort_texts->doc[j]);
    if (li != lj) return li < lj ? 1 : -1;
    return (i > j) - (i < j);
}

static fc_status texts_sort(texts *t) {
    int64_t *order = malloc((size_t)t->n * sizeof *order);
    char **name = malloc((size_t)t->n * sizeof *name);
    fc_tensor **doc = malloc((size_t)t->n * sizeof *doc);
    int64_t *y = malloc((size_t)t->n * sizeof *y);
    fc_status st = order && name && doc && y ? FC_OK : fc_fail(FC_ERR_NOMEM, "interpret: out of memory");
    if (st == FC_OK) {
        for (int64_t i = 0; i < t->n; i++) order[i] = i;
        sort_texts = t;
        qsort(order, (size_t)t->n, sizeof *order, by_len_desc);
        for (int64_t i = 0; i < t->n; i++) name[i] = t->name[order[i]], doc[i] = t->doc[order[i]], y[i] = t->y[order[i]];
        memcpy(t->name, name, (size_t)t->n * sizeof *name);
        memcpy(t->doc, doc, (size_t)t->n * sizeof *doc);
        memcpy(t->y, y, (size_t)t->n * sizeof *y);
    }
    free(order);
    free(name);
    free(doc);
    free(y);
    return st;
}

/* A text's members in the JSON top losses: "file" (and "line" for a CSV row, its name being
 * CSV:LINE) and the whole decoded "text". */
typedef struct text_json {
    const texts *t;
    const fc_vocab *vocab;
    int from_csv;
} text_json;
static void text_item_json(const void *state, int64_t j) {
    const text_json *s = state;
    const char *name = s->t->name[j], *colon = s->from_csv ? strrchr(name, ':') : NULL;
    if (colon) {
        char file[4200];
        snprintf(file, sizeof file, "%.*s", (int)(colon - name), name);
        printf("\"file\":");
        cli_json_string(stdout, file);
        printf(",\"line\":%s,", colon + 1);
    } else {
        printf("\"file\":");
        cli_json_string(stdout, name);
        putchar(',');
    }
    char *text = fc_vocab_decode(s->vocab, fc_tensor_data(s->t->doc[j]), fc_tensor_numel(s->t->doc[j]));
    printf("\"text\":");
    cli_json_string(stdout, text ? text : "");
    putchar(',');
    if (!text) fc_error_clear(); /* the text is extra: the rest of the entry stands */
    free(text);
}

static fc_status report_text(fc_learner *learn, fc_interp *in, const texts *t, const cli_interp_opts *o, int from_csv) {
    if (o->json) {
        text_json s = {t, fc_text_dls_vocab(fc_learner_dls(learn)), from_csv};
        fc_status st = o->plot ? fc_interp_plot_confusion_matrix(in, o->plot) : FC_OK;
        return st == FC_OK ? cli_interp_print_json(in, "text", o->k, text_item_json, &s) : st;
    }
    int64_t nc = 0, n = fc_interp_n(in);
    const int64_t *cm = fc_interp_confusion_matrix(in, &nc), *dec = fc_interp_decoded(in);
    int64_t right = 0;
    for (int64_t c = 0; c < nc; c++) right += cm[c * nc + c];
    printf("%lld texts: accuracy %.4f\n\n", (long long)n, n ? (double)right / (double)n : 0.0);
    fc_status st = fc_interp_print_confusion_matrix(in, stdout);
    fc_confusion conf[10];
    int64_t n_conf = st == FC_OK ? fc_interp_most_confused(in, 1, conf, 10) : 0;
    printf("\nmost confused (actual, predicted, count):\n");
    for (int64_t i = 0; i < n_conf && i < 10; i++)
        printf("  %s\t%s\t%lld\n", conf[i].actual, conf[i].predicted, (long long)conf[i].count);
    float *loss = malloc((size_t)o->k * sizeof *loss);
    int64_t *idx = malloc((size_t)o->k * sizeof *idx);
    if (st == FC_OK && (!loss || !idx)) st = fc_fail(FC_ERR_NOMEM, "interpret: out of memory");
    int64_t nt = st == FC_OK ? fc_interp_top_losses(in, o->k, loss, idx) : 0;
    const fc_vocab *v = fc_text_dls_vocab(fc_learner_dls(learn));
    const fc_tensor *preds = fc_interp_preds(in);
    if (st == FC_OK) printf("\ntop losses:\n%-60s  %-10s  %-10s  %-8s  %-11s  %s\n", "text", "actual", "predicted", "loss",
                            "probability", "item");
    for (int64_t i = 0; i < nt; i++) {
        int64_t j = idx[i];
        char *text = fc_vocab_decode(v, fc_tensor_data(t->doc[j]), fc_tensor_numel(t->doc[j])), cut[256];
        one_line(text, cut, sizeof cut, 60);
        int w = 0;
        for (const char *c = cut; *c; c++) w += ((unsigned char)*c & 0xc0) != 0x80;
        printf("%s%*s  %-10s  %-10s  %-8.4f  %-11.4f  %s\n", cut, 60 - w, "", fc_interp_class_name(in, t->y[j]),
               fc_interp_class_name(in, dec[j]), loss[i], fc_tensor_get(preds, j * nc + dec[j]), t->name[j]);
        free(text);
    }
    free(loss);
    free(idx);
    if (st == FC_OK && o->plot) {
        st = fc_interp_plot_confusion_matrix(in, o->plot);
        if (st == FC_OK) printf("\nwrote %s\n", o->plot);
    }
    return st;
}

int cli_interpret_text(fc_learner *learn, const cli_interp_opts *o) {
    if (!fc_learner_dls(learn)->vocab) {
        fc_learner_free(learn);
        return cli_usage_error("interpret", "the model is a language model; interpret needs a text classifier (trained "
                               "by 'fastc train text DATA' without --lm). 'fastc predict MODEL TEXT' continues texts");
    }
    struct stat sb;
    texts t = {0};
    fc_dataloader *dl = NULL;
    fc_interp *in = NULL;
    fc_status st = stat(o->data, &sb) == 0 ? FC_OK : fc_fail(FC_ERR_IO, "interpret: cannot find '%s'", o->data);
    if (st == FC_OK) st = S_ISDIR(sb.st_mode) ? texts_from_folder(&t, learn, o) : texts_from_csv(&t, learn, o);
    if (st == FC_OK && t.n == 0) st = fc_fail(FC_ERR_ARG, "interpret: no labelled text in '%s'", o->data);
    if (st == FC_OK) st = texts_sort(&t);
    if (st == FC_OK && !(dl = fc_sorted_dataloader(t.doc, t.y, t.n, .bs = 64))) st = fc_error_code();
    if (st == FC_OK && !(in = fc_interp_from_learner(learn, dl))) st = fc_error_code();
    if (st == FC_OK) st = report_text(learn, in, &t, o, !S_ISDIR(sb.st_mode));
    fc_interp_free(in);
    fc_dataloader_free(dl);
    texts_free(&t);
    fc_learner_free(learn);
    return st == FC_OK ? CLI_OK : cli_fail("interpret");
}
