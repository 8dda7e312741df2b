/* TextDataLoaders (fastai 2.7's from_csv / from_folder with TextBlock, and language-model loaders
 * from plain text files): read the documents, tokenize them in parallel, build the vocabulary on
 * the training documents (or copy the one given), numericalize, then LMDataLoader (is_lm) or
 * SortedDL loaders. The datasets share an fci_text_info so batches decode back to text
 * (fc_show_batch) and a raw text becomes an input (fc_learner_predict). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_impl.h"
#include "text_impl.h"

/* ---- the info hooks ---- */

static void info_free(fci_text_info *info) {
    fc_vocab_free(info->vocab);
    for (int64_t i = 0; i < info->n_classes; i++) free(info->classes[i]);
    free(info->classes);
    fci_free(info);
}

/* Token values become text (fastai's decode for show_batch), categories their label. */
static fc_status info_decode(const fci_text_info *info, fc_tuple *item) {
    for (int j = 0; j < item->n; j++) {
        fc_value *v = &item->v[j];
        if (!v->t) continue;
        if (v->kind == fc_kind_tokens) {
            int64_t n = fc_tensor_numel(v->t);
            int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
            if (!ids) return fc_fail(FC_ERR_NOMEM, "text decode: out of memory for %lld tokens", (long long)n);
            fc_status st = fc_tensor_copy_out(v->t, ids, FC_DTYPE_I64);
            char *text = st == FC_OK ? fc_vocab_decode(info->vocab, ids, n) : NULL;
            free(ids);
            if (!text) return fc_error_code() != FC_OK ? fc_error_code() : fc_fail(FC_ERR_NOMEM, "text decode: out of memory");
            fc_value_free(v);
            *v = fc_value_text(fc_kind_text, text);
            free(text);
            if (!v->text) return fc_error_code();
        } else if (v->kind == fc_kind_category && info->n_classes && fc_tensor_numel(v->t) == 1) {
            int64_t c = (int64_t)fc_tensor_get(v->t, 0);
            if (c < 0 || c >= info->n_classes)
                return fc_fail(FC_ERR_ARG, "text decode: category %lld outside the %lld classes", (long long)c,
                               (long long)info->n_classes);
            fc_value_free(v);
            *v = fc_value_text(fc_kind_label, info->classes[c]);
            if (!v->text) return fc_error_code();
        }
    }
    return FC_OK;
}

static fc_tensor *info_numericalize(const fci_text_info *info, const char *text) {
    fc_tokens toks = {0};
    if (fc_tokenize_(text, &toks, &info->tok) != FC_OK) return NULL;
    fc_tensor *t = fc_vocab_numericalize(info->vocab, &toks);
    fc_tokens_free(&toks);
    return t;
}

/* A new info holding vocab (taken) and classes (copied). */
static fci_text_info *info_new(fc_vocab *vocab, const char *const *classes, int64_t n_classes, const fc_text_dls_opts *o) {
    fci_text_info *info = vocab ? fci_calloc(1, sizeof *info) : NULL;
    if (!info) {
        fc_vocab_free(vocab);
        return NULL;
    }
    *info = (fci_text_info){.refs = 1, .vocab = vocab, .tok = {.n_threads = o->n_threads},
                            .decode = info_decode, .numericalize = info_numericalize, .free = info_free};
    if (n_classes) {
        info->classes = calloc((size_t)n_classes, sizeof *info->classes);
        if (!info->classes) goto oom;
        for (int64_t i = 0; i < n_classes; i++) {
            info->classes[i] = strdup(classes[i]);
            if (!info->classes[i]) goto oom;
            info->n_classes = i + 1;
        }
    }
    return info;
oom:
    fc_fail(FC_ERR_NOMEM, "text_dls: out of memory for %lld classes", (long long)n_classes);
    info_free(info);
    return NULL;
}

/* ---- documents in memory ---- */

/* n texts (malloc'd each) with a split and, for a classifier, label texts. */
typedef struct raw_docs {
    int64_t n, cap;
    char **text;
    char **label;    /* NULL for a language model */
    int *is_valid;
} raw_docs;

static void raw_free(raw_docs *r) {
    for (int64_t i = 0; i < r->n; i++) {
        free(r->text[i]);
        if (r->label) free(r->label[i]);
    }
    free(r->text);
    free(r->label);
    free(r->is_valid);
    *r = (raw_docs){0};
}

/* Appends text (taken) with label (copied, may be NULL). */
static fc_status raw_add(raw_docs *r, char *text, const char *label, int is_valid) {
    if (!text) return fc_fail(FC_ERR_NOMEM, "text_dls: out of memory");
    if (r->n == r->cap) {
        int64_t cap = r->cap ? 2 * r->cap : 256;
        char **t = realloc(r->text, (size_t)cap * sizeof *t);
        if (t) r->text = t;
        char **l = realloc(r->label, (size_t)cap * sizeof *l);
        if (l) r->label = l;
        int *v = realloc(r->is_valid, (size_t)cap * sizeof *v);
        if (v) r->is_valid = v;
        if (!t || !l || !v) {
            free(text);
            return fc_fail(FC_ERR_NOMEM, "text_dls: out of memory for %lld documents", (long long)cap);
        }
        r->cap = cap;
    }
    r->label[r->n] = label ? strdup(label) : NULL;
    r->text[r->n] = text;
    r->is_valid[r->n++] = is_valid;
    if (label && !r->label[r->n - 1]) return fc_fail(FC_ERR_NOMEM, "text_dls: out of memory");
    return FC_OK;
}

/* Marks a random int(valid_pct * n) of the documents valid (fastai's RandomSplitter). */
static fc_status random_valid(raw_docs *r, double valid_pct, uint64_t seed) {
    fc_data_splitter *sp = fc_random_splitter(valid_pct, seed);
    fc_items items = {.n = r->n};
    fc_splits s = {0};
    fc_status st = sp ? fc_data_splitter_split(sp, &items, &s) : fc_error_code();
    fc_data_splitter_free(sp);
    if (st != FC_OK) return st;
    for (int64_t i = 0; i < r->n; i++) r->is_valid[i] = 0;
    for (int64_t i = 0; i < s.n_valid; i++) r->is_valid[s.valid[i]] = 1;
    fc_splits_free(&s);
    return FC_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static fc_text_dls_opts resolve(const fc_text_dls_opts *o) {
    fc_text_dls_opts r = o ? *o : (fc_text_dls_opts){0};
    if (!r.text_col) r.text_col = "text";
    if (!r.label_col) r.label_col = "label";
    if (!r.train) r.train = "train";
    if (!r.valid) r.valid = "test";
    if (r.valid_pct == 0) r.valid_pct = r.is_lm ? 0.1 : 0.2;
    if (!r.seed) r.seed = 42;
    if (!r.bs) r.bs = 64;
    if (!r.seq_len) r.seq_len = 72;
    return r;
}

static fc_status check_opts(const char *fn, const fc_text_dls_opts *o) {
    if (o->bs < 0 || o->seq_len < 0 || o->min_freq < 0 || o->max_vocab < 0 || o->n_threads < 0)
        return fc_fail(FC_ERR_ARG, "%s: expected .bs, .seq_len, .min_freq, .max_vocab, .n_threads >= 0, found %lld, %lld, %lld, %lld, %d",
                       fn, (long long)o->bs, (long long)o->seq_len, (long long)o->min_freq, (long long)o->max_vocab, o->n_threads);
    if (!(o->valid_pct >= 0 && o->valid_pct < 1))
        return fc_fail(FC_ERR_ARG, "%s: expected .valid_pct in [0, 1), found %g", fn, o->valid_pct);
    return FC_OK;
}

/* Tokenize, vocabulary, numericalize, loaders. Frees nothing of r. */
static fc_dataloaders *build(const char *fn, raw_docs *r, const fc_text_dls_opts *o) {
    int64_t n = r->n, n_valid = 0;
    for (int64_t i = 0; i < n; i++) n_valid += r->is_valid[i];
    if (n - n_valid < 1 || n_valid < 1) {
        fc_fail(FC_ERR_ARG, "%s: expected training and validation documents, found %lld and %lld", fn, (long long)(n - n_valid),
                (long long)n_valid);
        return NULL;
    }
    fc_tokens *toks = calloc((size_t)n, sizeof *toks), *train_toks = calloc((size_t)n, sizeof *train_toks);
    fc_tensor **ids = calloc((size_t)n, sizeof *ids), **tr = calloc((size_t)n, sizeof *tr), **va = calloc((size_t)n, sizeof *va);
    int64_t *tr_lab = calloc((size_t)n, sizeof *tr_lab), *va_lab = calloc((size_t)n, sizeof *va_lab);
    const char **classes = NULL;
    int64_t n_classes = 0;
    fc_dataloaders *dls = NULL;
    fci_text_info *info = NULL;
    fc_scope *outer = fci_scope_suspend();
    if (!toks || !train_toks || !ids || !tr || !va || !tr_lab || !va_lab) {
        fc_fail(FC_ERR_NOMEM, "%s: out of memory for %lld documents", fn, (long long)n);
        goto done;
    }
    if (fc_tokenize_docs((const char *const *)r->text, n, toks, .n_threads = o->n_threads) != FC_OK) goto done;
    int64_t n_tr = 0, n_va = 0;
    for (int64_t i = 0; i < n; i++)
        if (!r->is_valid[i]) train_toks[n_tr++] = toks[i];
    fc_vocab *vocab;
    if (o->vocab) {
        int64_t nv = fc_vocab_len(o->vocab);
        const char **tv = malloc((size_t)(nv ? nv : 1) * sizeof *tv);
        if (!tv) {
            fc_fail(FC_ERR_NOMEM, "%s: out of memory", fn);
            goto done;
        }
        for (int64_t i = 0; i < nv; i++) tv[i] = fc_vocab_token(o->vocab, i);
        vocab = fc_vocab_new(tv, nv);
        free(tv);
    } else {
        vocab = fc_vocab_from_tokens(train_toks, n_tr, .min_freq = o->min_freq, .max_vocab = o->max_vocab);
    }
    if (!r->label || o->is_lm) {
        info = info_new(vocab, NULL, 0, o);
    } else { /* Categorize: the sorted distinct training labels */
        classes = malloc((size_t)n * sizeof *classes);
        if (!classes) {
            fc_vocab_free(vocab);
            fc_fail(FC_ERR_NOMEM, "%s: out of memory", fn);
            goto done;
        }
        for (int64_t i = 0; i < n; i++)
            if (!r->is_valid[i]) classes[n_classes++] = r->label[i];
        qsort(classes, (size_t)n_classes, sizeof *classes, cmp_str);
        int64_t u = 0;
        for (int64_t i = 0; i < n_classes; i++)
            if (!u || strcmp(classes[u - 1], classes[i])) classes[u++] = classes[i];
        n_classes = u;
        info = info_new(vocab, classes, n_classes, o);
    }
    if (!info) goto done;
    int64_t k_tr = 0;
    for (int64_t i = 0; i < n; i++) {
        ids[i] = fc_vocab_numericalize(info->vocab, &toks[i]);
        if (!ids[i]) goto done;
        int64_t code = 0;
        if (info->n_classes) {
            const char *const *hit = bsearch(&r->label[i], info->classes, (size_t)info->n_classes, sizeof *info->classes, cmp_str);
            if (!hit) {
                fc_fail(FC_ERR_ARG, "%s: the label '%s' of validation document %lld is not among the training labels", fn, r->label[i],
                        (long long)i);
                goto done;
            }
            code = hit - (const char *const *)info->classes;
        }
        if (r->is_valid[i]) {
            va_lab[n_va] = code;
            va[n_va++] = ids[i];
        } else {
            tr_lab[k_tr] = code;
            tr[k_tr++] = ids[i];
        }
    }
    fc_dataloader *train, *valid;
    if (o->is_lm) {
        train = fci_lm_dataloader(tr, n_tr, &(fc_lm_dl_opts){.bs = o->bs, .seq_len = o->seq_len, .shuffle = 1, .seed = o->seed},
                                  fci_text_info_ref(info));
        valid = fci_lm_dataloader(va, n_va, &(fc_lm_dl_opts){.bs = o->bs, .seq_len = o->seq_len, .seed = o->seed},
                                  fci_text_info_ref(info));
    } else {
        train = fci_sorted_dataloader(tr, tr_lab, n_tr, &(fc_sorted_dl_opts){.bs = o->bs, .seq_len = o->seq_len, .shuffle = 1, .seed = o->seed},
                                      fci_text_info_ref(info));
        valid = fci_sorted_dataloader(va, va_lab, n_va, &(fc_sorted_dl_opts){.bs = o->bs, .seq_len = o->seq_len, .seed = o->seed},
                                      fci_text_info_ref(info));
    }
    dls = fc_dataloaders_new(train, valid);
    if (dls && info->n_classes) {
        dls->vocab = (const char *const *)info->classes; /* lives as long as the datasets */
        dls->n_vocab = info->n_classes;
    }
done:
    fci_scope_resume(outer);
    fci_text_info_free(info);
    for (int64_t i = 0; toks && i < n; i++) fc_tokens_free(&toks[i]);
    for (int64_t i = 0; ids && i < n; i++) fc_tensor_free(ids[i]);
    free(toks);
    free(train_toks);
    free(ids);
    free(tr);
    free(va);
    free(tr_lab);
    free(va_lab);
    free(classes);
    return dls;
}

/* ---- from_csv ---- */

static int is_true(const char *s) {
    return !strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "yes");
}

fc_dataloaders *fc_text_dls_from_csv_(const char *path, const fc_text_dls_opts *opts) {
    fc_text_dls_opts o = resolve(opts);
    if (!path) {
        fc_fail(FC_ERR_ARG, "text_dls_from_csv: path is NULL");
        return NULL;
    }
    if (check_opts("text_dls_from_csv", &o) != FC_OK) return NULL;
    fc_csv *csv = fc_read_csv(path);
    if (!csv) return NULL;
    raw_docs r = {0};
    fc_dataloaders *dls = NULL;
    int jt = fc_csv_col_index(csv, o.text_col), jl = o.is_lm ? -1 : fc_csv_col_index(csv, o.label_col);
    int jv = o.valid_col ? fc_csv_col_index(csv, o.valid_col) : -1;
    const char *missing = jt < 0 ? o.text_col : (!o.is_lm && jl < 0) ? o.label_col : (o.valid_col && jv < 0) ? o.valid_col : NULL;
    if (missing) {
        fc_fail(FC_ERR_ARG, "text_dls_from_csv: %s has no column '%s'", path, missing);
        goto done;
    }
    for (int64_t i = 0; i < fc_csv_n_rows(csv); i++) {
        const char *lab = jl >= 0 ? fc_csv_cell(csv, i, jl) : "";
        if (raw_add(&r, strdup(fc_csv_cell(csv, i, jt)), lab, jv >= 0 && is_true(fc_csv_cell(csv, i, jv))) != FC_OK) goto done;
    }
    if (!r.n) {
        fc_fail(FC_ERR_ARG, "text_dls_from_csv: %s has no rows", path);
        goto done;
    }
    if (jv < 0 && random_valid(&r, o.valid_pct, o.seed) != FC_OK) goto done;
    if (o.is_lm) { /* labels ignored */
        for (int64_t i = 0; i < r.n; i++) free(r.label[i]);
        free(r.label);
        r.label = NULL;
    }
    dls = build("text_dls_from_csv", &r, &o);
done:
    raw_free(&r);
    fc_csv_free(csv);
    return dls;
}

/* ---- from_folder ---- */

/* A whole file as a string (malloc'd), or NULL with FC_ERR_IO naming it. */
static char *read_text_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fc_fail(FC_ERR_IO, "text_dls: cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        char *g = realloc(buf, cap * 2);
        if (!g) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = g;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        fc_fail(buf ? FC_ERR_IO : FC_ERR_NOMEM, "text_dls: cannot read '%s'", path);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

/* The name of path's parent folder into out. */
static void parent_name(const char *path, char *out, size_t n) {
    const char *end = strrchr(path, '/');
    const char *start = end;
    while (start && start > path && start[-1] != '/') start--;
    if (!end || !start) {
        snprintf(out, n, "%s", "");
        return;
    }
    snprintf(out, n, "%.*s", (int)(end - start), start);
}

/* Every .txt file under root (restricted to .folders) as a document labelled by its folder. */
static fc_status add_folder(raw_docs *r, const char *root, const fc_text_dls_opts *o, int is_valid) {
    fc_items items = {0};
    fc_status st = fc_get_files(root, &items, .extensions = FC_NAMES(".txt"), .folders = o->folders);
    for (int64_t i = 0; st == FC_OK && i < items.n; i++) {
        char label[512];
        parent_name(items.text[i], label, sizeof label);
        st = raw_add(r, read_text_file(items.text[i], NULL), label, is_valid);
    }
    fc_items_free(&items);
    return st;
}

fc_dataloaders *fc_text_dls_from_folder_(const char *path, const fc_text_dls_opts *opts) {
    fc_text_dls_opts o = resolve(opts);
    if (!path) {
        fc_fail(FC_ERR_ARG, "text_dls_from_folder: path is NULL");
        return NULL;
    }
    if (check_opts("text_dls_from_folder", &o) != FC_OK) return NULL;
    raw_docs r = {0};
    fc_dataloaders *dls = NULL;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", path, o.train);
    if (add_folder(&r, dir, &o, 0) != FC_OK) goto done;
    if (*o.valid) {
        snprintf(dir, sizeof dir, "%s/%s", path, o.valid);
        if (add_folder(&r, dir, &o, 1) != FC_OK) goto done;
    } else if (random_valid(&r, o.valid_pct, o.seed) != FC_OK) {
        goto done;
    }
    if (o.is_lm) {
        for (int64_t i = 0; i < r.n; i++) free(r.label[i]);
        free(r.label);
        r.label = NULL;
    }
    dls = build("text_dls_from_folder", &r, &o);
done:
    raw_free(&r);
    return dls;
}

/* ---- language-model loaders from plain text files ---- */

/* WikiText's article title: " = Title = " (one '=' on each side). */
static int is_title(const char *line, size_t n) {
    return n >= 4 && !strncmp(line, " = ", 3) && strncmp(line, " = = ", 5) != 0;
}

/* The documents of one file: articles (WikiText) or else non-empty lines. */
static fc_status add_lines(raw_docs *r, const char *path, int is_valid) {
    size_t len;
    char *buf = read_text_file(path, &len);
    if (!buf) return fc_error_code();
    int articles = 0;
    for (char *p = buf; p < buf + len;) {
        char *e = memchr(p, '\n', (size_t)(buf + len - p));
        size_t n = e ? (size_t)(e - p) : (size_t)(buf + len - p);
        if (is_title(p, n)) {
            articles = 1;
            break;
        }
        p += n + 1;
    }
    fc_status st = FC_OK;
    char *doc = NULL;
    size_t doc_n = 0;
    for (char *p = buf; p < buf + len && st == FC_OK;) {
        char *e = memchr(p, '\n', (size_t)(buf + len - p));
        size_t n = e ? (size_t)(e - p) : (size_t)(buf + len - p);
        size_t k = 0;
        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r')) k++;
        int blank = k == n;
        if (articles) {
            if (is_title(p, n) && doc) {
                st = raw_add(r, doc, NULL, is_valid);
                doc = NULL;
                doc_n = 0;
            }
            if (!blank) { /* the article's lines joined by spaces */
                char *g = realloc(doc, doc_n + n + 2);
                if (!g) {
                    st = fc_fail(FC_ERR_NOMEM, "text_lm_dls_from_files: out of memory reading '%s'", path);
                    break;
                }
                doc = g;
                if (doc_n) doc[doc_n++] = ' ';
                memcpy(doc + doc_n, p, n);
                doc_n += n;
                doc[doc_n] = 0;
            }
        } else if (!blank) {
            char *line = malloc(n + 1);
            if (line) {
                memcpy(line, p, n);
                line[n] = 0;
            }
            st = raw_add(r, line, NULL, is_valid);
        }
        p += n + 1;
    }
    if (st == FC_OK && doc) st = raw_add(r, doc, NULL, is_valid);
    else free(doc);
    free(buf);
    return st;
}

fc_dataloaders *fc_text_lm_dls_from_files_(const char *train_path, const char *valid_path, const fc_text_dls_opts *opts) {
    fc_text_dls_opts o = resolve(opts);
    o.is_lm = 1;
    if (!opts || opts->valid_pct == 0) o.valid_pct = 0.1;
    if (!train_path) {
        fc_fail(FC_ERR_ARG, "text_lm_dls_from_files: train_path is NULL");
        return NULL;
    }
    if (check_opts("text_lm_dls_from_files", &o) != FC_OK) return NULL;
    raw_docs r = {0};
    fc_dataloaders *dls = NULL;
    if (add_lines(&r, train_path, 0) != FC_OK) goto done;
    if (valid_path) {
        if (add_lines(&r, valid_path, 1) != FC_OK) goto done;
    } else { /* the last valid_pct of the documents, in order */
        int64_t cut = r.n - (int64_t)(o.valid_pct * (double)r.n);
        for (int64_t i = cut; i < r.n; i++) r.is_valid[i] = 1;
    }
    free(r.label);
    r.label = NULL;
    dls = build("text_lm_dls_from_files", &r, &o);
done:
    raw_free(&r);
    return dls;
}

const fc_vocab *fc_text_dls_vocab(const fc_dataloaders *dls) {
    fci_text_info *info = dls ? fci_text_dataset_info(fc_dataloader_dataset(dls->train)) : NULL;
    if (!info) {
        fc_fail(FC_ERR_ARG, "text_dls_vocab: %s", dls ? "these dataloaders were not made by fc_text_*dls*" : "NULL dataloaders");
        return NULL;
    }
    return info->vocab;
}

/* ---- the stand-in of a loaded learner (h-export) ---- */

fci_text_info *fci_text_info_new(fc_vocab *vocab, const char *const *classes, int64_t n_classes,
                                 const fc_tokenize_opts *tok) {
    fc_text_dls_opts o = {.n_threads = tok ? tok->n_threads : 0};
    fci_text_info *info = info_new(vocab, classes, n_classes, &o);
    if (info && tok) info->tok = *tok;
    return info;
}
