/* DataBlock (fastai's DataBlock): blocks give each value's kind and transforms; get_items, get_x/
 * get_y and a splitter make Datasets; dataloaders() adds the loaders; summary() walks one sample
 * through every step and names the one that fails. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline_impl.h"

typedef struct tfm_list {
    int n;
    fc_transform **t;
} tfm_list;

typedef struct owned_names {
    int n;
    char **s;
} owned_names;

struct fc_datablock {
    atomic_int refcount;
    int n, n_inp;
    char *block_name[FC_MAX_TUPLE];
    const fc_kind *kind[FC_MAX_TUPLE];
    tfm_list type[FC_MAX_TUPLE], item, batch;
    fc_get_items_fn get_items;
    void *get_items_ctx;
    owned_names extensions, folders;
    int no_recurse, skip_bad_items;
    fc_getter *get_x, *get_y;
    fc_data_splitter *splitter;
};

/* ---- blocks ---- */
fc_block fc_transform_block_(const fc_transform_block_opts *o) {
    return (fc_block){.name = "TransformBlock", .kind = o->kind ? o->kind : fc_kind_tensor,
                      .type_tfms = o->type_tfms, .item_tfms = o->item_tfms, .batch_tfms = o->batch_tfms};
}

/* A built-in block around one type transform; the zero block (no name) when it failed. */
static fc_block one_tfm_block(const char *name, fc_transform *tf) {
    if (!tf) return (fc_block){0};
    return (fc_block){.name = name, .kind = fc_kind_label, .type_tfm = tf};
}
fc_block fc_category_block_(const fc_categorize_opts *o) {
    return one_tfm_block("CategoryBlock", fc_categorize_(o));
}
fc_block fc_multi_category_block_(const fc_multi_categorize_opts *o) {
    return one_tfm_block("MultiCategoryBlock", fc_multi_categorize_(o));
}
fc_block fc_regression_block(void) { return one_tfm_block("RegressionBlock", fc_regression_setup()); }

/* ---- the DataBlock ---- */
static void list_free(tfm_list *l) {
    for (int i = 0; i < l->n; i++) fc_transform_free(l->t[i]);
    free(l->t);
    *l = (tfm_list){0};
}

static void names_free(owned_names *n) {
    for (int i = 0; i < n->n; i++) free(n->s[i]);
    free(n->s);
    *n = (owned_names){0};
}

static void db_unref(void *p) {
    fc_datablock *db = p;
    if (!db || atomic_fetch_sub(&db->refcount, 1) != 1) return;
    for (int j = 0; j < FC_MAX_TUPLE; j++) {
        free(db->block_name[j]);
        list_free(&db->type[j]);
    }
    list_free(&db->item);
    list_free(&db->batch);
    names_free(&db->extensions);
    names_free(&db->folders);
    fc_getter_free(db->get_x);
    fc_getter_free(db->get_y);
    fc_data_splitter_free(db->splitter);
    free(db);
}
static void db_ref(void *p) { atomic_fetch_add(&((fc_datablock *)p)->refcount, 1); }

void fc_datablock_free(fc_datablock *db) { db_unref(db); }

/* Appends tfms (taken) to l; a NULL transform (a failed constructor) fails with its error. */
static fc_status list_take(tfm_list *l, fc_tfms tfms, fc_status st) {
    if (tfms.n <= 0) return st;
    fc_transform **t = st == FC_OK ? realloc(l->t, (size_t)(l->n + tfms.n) * sizeof *t) : NULL;
    if (st == FC_OK && !t) st = fc_fail(FC_ERR_NOMEM, "datablock: out of memory");
    if (t) l->t = t;
    for (int i = 0; i < tfms.n; i++) {
        if (st == FC_OK && !tfms.t[i]) st = fc_error_code() ? fc_error_code() : fc_fail(FC_ERR_ARG, "datablock: a transform is NULL");
        if (st == FC_OK) l->t[l->n++] = tfms.t[i];
        else fc_transform_free(tfms.t[i]);
    }
    return st;
}

static fc_status names_copy(owned_names *dst, fc_names src, fc_status st) {
    if (st != FC_OK || src.n <= 0) return st;
    dst->s = calloc((size_t)src.n, sizeof *dst->s);
    if (!dst->s) return fc_fail(FC_ERR_NOMEM, "datablock: out of memory");
    for (int i = 0; i < src.n; i++) {
        if (!(dst->s[i] = strdup(src.s[i] ? src.s[i] : ""))) return fc_fail(FC_ERR_NOMEM, "datablock: out of memory");
        dst->n = i + 1;
    }
    return FC_OK;
}

fc_datablock *fc_datablock_new_(const fc_datablock_opts *o) {
    fc_datablock *db = calloc(1, sizeof *db);
    fc_status st = db ? FC_OK : fc_fail(FC_ERR_NOMEM, "datablock_new: out of memory");
    if (db) atomic_init(&db->refcount, 1);
    if (st == FC_OK && (o->blocks.n < 1 || o->blocks.n > FC_MAX_TUPLE))
        st = fc_fail(FC_ERR_ARG, "datablock_new: expected 1..%d .blocks, found %d", FC_MAX_TUPLE, o->blocks.n);
    int n_inp = o->n_inp ? o->n_inp : 1;
    if (st == FC_OK && (n_inp < 1 || n_inp > o->blocks.n))
        st = fc_fail(FC_ERR_ARG, "datablock_new: expected .n_inp in [1, %d], found %d", o->blocks.n, n_inp);
    if (db) {
        db->n = o->blocks.n > 0 && o->blocks.n <= FC_MAX_TUPLE ? o->blocks.n : 0;
        db->n_inp = n_inp;
        db->get_items = o->get_items;
        db->get_items_ctx = o->get_items_ctx;
        db->no_recurse = o->no_recurse;
        db->skip_bad_items = o->skip_bad_items;
        db->get_x = o->get_x;
        db->get_y = o->get_y;
        db->splitter = o->splitter;
    }
    /* Take every transform of every block, then the DataBlock's own (item, batch), even on failure. */
    for (int j = 0; j < o->blocks.n; j++) {
        const fc_block *b = &o->blocks.b[j];
        if (st == FC_OK && j < FC_MAX_TUPLE) {
            db->kind[j] = b->kind ? b->kind : fc_kind_tensor;
            if (!(db->block_name[j] = strdup(b->name ? b->name : "TransformBlock")))
                st = fc_fail(FC_ERR_NOMEM, "datablock_new: out of memory");
        }
        tfm_list *type = db && j < FC_MAX_TUPLE ? &db->type[j] : &(tfm_list){0};
        if (st == FC_OK && !b->name)
            st = fc_error_code() ? fc_error_code()
                                 : fc_fail(FC_ERR_ARG, "datablock_new: block %d has no name (an empty block)", j);
        if (b->type_tfm)
            st = list_take(type, (fc_tfms){1, (fc_transform **)&b->type_tfm}, db ? st : FC_ERR_NOMEM);
        st = list_take(type, b->type_tfms, db ? st : FC_ERR_NOMEM);
        st = list_take(db ? &db->item : &(tfm_list){0}, b->item_tfms, db ? st : FC_ERR_NOMEM);
        st = list_take(db ? &db->batch : &(tfm_list){0}, b->batch_tfms, db ? st : FC_ERR_NOMEM);
    }
    st = list_take(db ? &db->item : &(tfm_list){0}, o->item_tfms, db ? st : FC_ERR_NOMEM);
    st = list_take(db ? &db->batch : &(tfm_list){0}, o->batch_tfms, db ? st : FC_ERR_NOMEM);
    if (db) {
        st = names_copy(&db->extensions, o->extensions, st);
        st = names_copy(&db->folders, o->folders, st);
    } else {
        fc_getter_free(o->get_x);
        fc_getter_free(o->get_y);
        fc_data_splitter_free(o->splitter);
    }
    /* A NULL getter or splitter means "the default" unless its constructor just failed: then the
     * pending error is the root cause, and going on with the default would hide it. */
    if (st == FC_OK && (!o->get_x || !o->get_y || !o->splitter) && fc_error_code() != FC_OK)
        st = fc_error_code();
    if (st == FC_OK && !db->splitter && !(db->splitter = fc_random_splitter(0.2, 42))) st = fc_error_code();
    if (st != FC_OK) {
        db_unref(db);
        return NULL;
    }
    return db;
}

/* ---- from source to Datasets ---- */
static int is_csv_file(const char *source) {
    size_t n = strlen(source);
    struct stat sb;
    return n > 4 && !strcmp(source + n - 4, ".csv") && stat(source, &sb) == 0 && S_ISREG(sb.st_mode);
}

static fc_status collect(fc_datablock *db, const char *source, fc_items *items, const char **how) {
    *items = (fc_items){0};
    *how = "get_items";
    if (!source) return fc_fail(FC_ERR_ARG, "datablock: source is NULL");
    if (db->get_items) {
        *how = "get_items";
        return db->get_items(db->get_items_ctx, source, items);
    }
    if (is_csv_file(source)) {
        *how = "the rows of a CSV";
        return fc_items_from_csv(source, items);
    }
    *how = "get_files";
    return fc_get_files(source, items, .no_recurse = db->no_recurse,
                        .extensions = (fc_names){db->extensions.n, (const char *const *)db->extensions.s},
                        .folders = (fc_names){db->folders.n, (const char *const *)db->folders.s});
}

static fc_transform *proxy(fc_datablock *db, fc_transform *tf) {
    return fci_transform_proxy(tf, db, db_ref, db_unref);
}

/* Proxies of l's transforms (new); NULL entries mean failure. Array freed by the caller. */
static fc_transform **proxies(fc_datablock *db, const tfm_list *l) {
    fc_transform **t = calloc((size_t)l->n + 1, sizeof *t);
    if (!t) {
        fc_fail(FC_ERR_NOMEM, "datablock: out of memory");
        return NULL;
    }
    for (int i = 0; i < l->n; i++) t[i] = proxy(db, l->t[i]);
    return t;
}

static fc_datasets *build(fc_datablock *db, fc_items *items) {
    fc_datasets_opts o = {.n = db->n, .n_inp = db->n_inp, .skip_bad_items = db->skip_bad_items};
    fc_transform **item = proxies(db, &db->item);
    fc_status st = item ? FC_OK : fc_error_code();
    o.item_tfms = (fc_tfms){item ? db->item.n : 0, item};
    for (int j = 0; j < db->n; j++) {
        fc_getter *g = j < db->n_inp ? db->get_x : db->get_y;
        o.getters[j] = g ? fci_getter_ref(g) : fc_item_getter(db->kind[j]);
        fc_transform **t = proxies(db, &db->type[j]);
        o.tfms[j] = t ? fc_pipeline_new((fc_tfms){db->type[j].n, t}) : NULL;
        free(t);
        if (st == FC_OK && (!o.getters[j] || !o.tfms[j])) st = fc_error_code() ? fc_error_code() : FC_ERR_NOMEM;
    }
    o.splitter = fci_data_splitter_ref(db->splitter);
    if (st != FC_OK) { /* datasets_new still takes everything; make it fail on purpose */
        o.n = 0;
    }
    fc_datasets *d = fc_datasets_new_(items, &o);
    free(item);
    return d;
}

fc_datasets *fc_datablock_datasets(fc_datablock *db, const char *source) {
    if (!db) return NULL;
    fc_items items;
    const char *how;
    if (collect(db, source, &items, &how) != FC_OK) {
        fci_error_context(fc_error_code(), "collecting items from '%s' with %s", source, how);
        return NULL;
    }
    return build(db, &items);
}

/* ---- DataLoaders ---- */
/* fastai's Normalize.setups sees one training batch: run the setup of the batch transforms that
 * have one on the first batch of an in-order train loader without batch transforms. */
static fc_status setup_batch_tfms(fc_datablock *db, fc_datasets *d, int64_t bs) {
    int need = 0;
    for (int i = 0; i < db->batch.n; i++) need |= fci_transform_def(db->batch.t[i])->setup != NULL;
    if (!need) return FC_OK;
    fc_dataloader *dl = fc_dataloader_new(fc_datasets_subset(d, FC_SPLIT_TRAIN), .bs = bs,
                                          .split = FC_SPLIT_TRAIN);
    fc_tuple batch = {0};
    fc_status st = dl ? fc_dataloader_one_batch(dl, &batch) : fc_error_code();
    fc_transform **t = st == FC_OK ? proxies(db, &db->batch) : NULL;
    fc_pipeline *p = t ? fc_pipeline_new((fc_tfms){db->batch.n, t}) : NULL;
    if (st == FC_OK && !p) st = fc_error_code();
    if (st == FC_OK) st = fc_pipeline_setup(p, batch.v, batch.n);
    if (st != FC_OK) fci_error_context(st, "setting up the batch transforms on one training batch");
    fc_pipeline_free(p);
    free(t);
    fc_tuple_free(&batch);
    fc_dataloader_free(dl);
    return st;
}

/* Batch transforms for one loader: new proxies, stably sorted by order (the loader runs them as
 * given). *arr is the array to free after the loader is made. */
static fc_tfms batch_tfms(fc_datablock *db, fc_transform ***arr) {
    fc_transform **t = proxies(db, &db->batch);
    *arr = t;
    if (!t) return (fc_tfms){0};
    for (int i = 1; i < db->batch.n; i++)
        for (int k = i; k > 0 && t[k] && t[k - 1] &&
                        fci_transform_def(t[k - 1])->order > fci_transform_def(t[k])->order; k--) {
            fc_transform *x = t[k];
            t[k] = t[k - 1];
            t[k - 1] = x;
        }
    return (fc_tfms){db->batch.n, t};
}

/* The vocabulary of the first target whose pipeline has a Categorize. */
static void find_vocab(fc_datasets *d, int n, int n_inp, fc_dataloaders *dls) {
    for (int j = n_inp; j < n; j++) {
        fc_pipeline *p = fc_datasets_pipeline(d, j);
        for (int i = 0; i < fc_pipeline_n(p); i++)
            if (fci_is_categorize(fc_pipeline_at(p, i))) {
                dls->vocab = fc_categorize_vocab(fc_pipeline_at(p, i), &dls->n_vocab);
                return;
            }
    }
}

fc_dataloaders *fc_datablock_dataloaders_(fc_datablock *db, const char *source,
                                          const fc_datablock_dls_opts *o) {
    int64_t bs = o->bs ? o->bs : 64;
    uint64_t seed = o->seed ? o->seed : 42;
    if (!db) return NULL;
    if (bs < 1 || o->n_workers < 0) {
        fc_fail(FC_ERR_ARG, "datablock_dataloaders: expected .bs >= 1 and .n_workers >= 0, found %lld and %d",
                (long long)bs, o->n_workers);
        return NULL;
    }
    fc_datasets *d = fc_datablock_datasets(db, source);
    if (!d || setup_batch_tfms(db, d, bs) != FC_OK) {
        fc_datasets_free(d);
        return NULL;
    }
    fc_transform **ta, **va;
    fc_tfms tb = batch_tfms(db, &ta), vb = batch_tfms(db, &va);
    if (db->batch.n > 0 && (!ta || !va)) {
        for (int i = 0; i < tb.n; i++) fc_transform_free(tb.t[i]);
        for (int i = 0; i < vb.n; i++) fc_transform_free(vb.t[i]);
        free(ta);
        free(va);
        fc_datasets_free(d);
        return NULL;
    }
    fc_dataloader *train = fc_dataloader_new(fc_datasets_subset(d, FC_SPLIT_TRAIN), .bs = bs, .shuffle = 1,
                                             .drop_last = o->drop_last, .seed = seed,
                                             .n_workers = o->n_workers, .split = FC_SPLIT_TRAIN,
                                             .after_batch = tb);
    fc_dataloader *valid = fc_dataloader_new(fc_datasets_subset(d, FC_SPLIT_VALID), .bs = 2 * bs,
                                             .seed = seed, .n_workers = o->n_workers,
                                             .split = FC_SPLIT_VALID, .after_batch = vb);
    free(ta);
    free(va);
    fc_dataloaders *dls = train && valid ? fc_dataloaders_new(train, valid) : NULL;
    if (!dls) {
        fc_dataloader_free(train);
        fc_dataloader_free(valid);
    } else {
        find_vocab(d, db->n, db->n_inp, dls);
    }
    fc_datasets_free(d);
    return dls;
}

/* ---- summary: one sample through every step ---- */
static fc_status failed(FILE *f, const char *step, const char *item) {
    fc_status st = fc_error_code() != FC_OK ? fc_error_code() : FC_ERR_INTERNAL;
    fprintf(f, "\nFAILED at step: %s\n", step);
    if (item) fprintf(f, "  item: '%s'\n", item);
    fprintf(f, "  error: %s\n", fc_error_message()[0] ? fc_error_message() : "(no message)");
    return st;
}

static void print_kinds(FILE *f, const fc_transform_def *def) {
    if (!def->kinds) return;
    fprintf(f, " (acts on");
    for (const fc_kind *const *k = def->kinds; *k; k++) fprintf(f, "%s %s", k == def->kinds ? "" : ",", (*k)->name);
    fprintf(f, ")");
}

/* Runs transform i of p on v, printing the result; a failure is reported as the step. */
static fc_status step(FILE *f, fc_pipeline *p, int i, fc_value *v, const fc_tfm_ctx *ctx,
                      const char *what, const char *item) {
    fc_transform *tf = fc_pipeline_at(p, i);
    const fc_transform_def *def = fci_transform_def(tf);
    char before[160], after[160], name[256];
    fc_value_str(v, before, sizeof before);
    int ran;
    fc_status st = fci_pipeline_encode_step(p, i, v, ctx, &ran);
    fprintf(f, "      %-18s order %-3d ", fc_transform_name(tf), def->order);
    if (st != FC_OK) {
        fprintf(f, "-> FAILED on %s\n", before);
        snprintf(name, sizeof name, "%s, transform %s (expected input%s%s)", what, fc_transform_name(tf),
                 def->kinds ? " of kind " : " it accepts", def->kinds ? def->kinds[0]->name : "");
        return failed(f, name, item);
    }
    if (!ran) {
        fprintf(f, "-> skipped: ");
        if (!fci_transform_acts_on(def, v->kind)) {
            fprintf(f, "%s", v->kind ? v->kind->name : "(no kind)");
            print_kinds(f, def);
        } else {
            fprintf(f, "%s only", def->split_idx == FC_SPLIT_TRAIN ? "train" : "valid");
        }
        fprintf(f, "\n");
        return FC_OK;
    }
    fprintf(f, "-> %s\n", fc_value_str(v, after, sizeof after));
    return FC_OK;
}

static fc_status summary_sample(FILE *f, fc_datablock *db, fc_datasets *d, fc_tuple *tup) {
    const fc_items *items = fci_datasets_items(d);
    int64_t src = fci_datasets_source_index(d, FC_SPLIT_TRAIN, 0);
    const char *name = items->text[src];
    fc_rng rng = fc_rng_new(0);
    fc_tfm_ctx ctx = {.split = FC_SPLIT_TRAIN, .index = 0, .rng = &rng};
    fprintf(f, "4. One sample: train item 0, '%s'\n", name);
    *tup = (fc_tuple){.n = db->n, .n_inp = db->n_inp};
    for (int j = 0; j < db->n; j++) {
        const char *role = j < db->n_inp ? "get_x" : "get_y";
        fc_getter *g = j < db->n_inp ? db->get_x : db->get_y;
        fc_getter *own = g ? NULL : fc_item_getter(db->kind[j]);
        char buf[160], what[128];
        fc_status st = fc_getter_get(g ? g : own, items, src, &tup->v[j]);
        fprintf(f, "   value %d (%s, %s)\n      %-18s           ", j, db->block_name[j],
                j < db->n_inp ? "input" : "target", g ? fc_getter_name(g) : "(the item)");
        fc_getter_free(own);
        snprintf(what, sizeof what, "value %d (%s), %s", j, db->block_name[j], role);
        if (st != FC_OK) {
            fprintf(f, "-> FAILED\n");
            return failed(f, what, name);
        }
        fprintf(f, "-> %s\n", fc_value_str(&tup->v[j], buf, sizeof buf));
        fc_pipeline *p = fc_datasets_pipeline(d, j);
        snprintf(what, sizeof what, "value %d (%s) type transforms", j, db->block_name[j]);
        for (int i = 0; i < fc_pipeline_n(p); i++)
            if ((st = step(f, p, i, &tup->v[j], &ctx, what, name)) != FC_OK) return st;
    }
    fc_pipeline *it = fci_datasets_item_tfms(d);
    if (fc_pipeline_n(it) > 0) fprintf(f, "   item transforms\n");
    for (int i = 0; i < fc_pipeline_n(it); i++)
        for (int j = 0; j < tup->n; j++) {
            char what[64];
            snprintf(what, sizeof what, "item transforms, value %d", j);
            fc_status st = step(f, it, i, &tup->v[j], &ctx, what, name);
            if (st != FC_OK) return st;
        }
    return FC_OK;
}

static fc_status summary_batch(FILE *f, fc_datablock *db, fc_datasets *d) {
    int64_t n = fc_datasets_n_train(d) < 4 ? fc_datasets_n_train(d) : 4;
    fc_tuple items[4] = {{0}}, batch = {0};
    char buf[160];
    fc_status st = FC_OK;
    fprintf(f, "5. Collating %lld train items into a batch\n", (long long)n);
    for (int64_t k = 0; k < n && st == FC_OK; k++) {
        st = fc_datasets_get(d, FC_SPLIT_TRAIN, k, &items[k]);
        if (st != FC_OK) st = failed(f, "loading the items of the first batch", fc_datasets_item_name(d, FC_SPLIT_TRAIN, k));
    }
    if (st == FC_OK && (st = fc_collate(items, n, &batch)) != FC_OK) {
        fprintf(f, "   the items were:\n");
        for (int64_t k = 0; k < n; k++)
            for (int j = 0; j < items[k].n; j++)
                fprintf(f, "      item %lld value %d: %s\n", (long long)k, j, fc_value_str(&items[k].v[j], buf, sizeof buf));
        st = failed(f, "collating (fc_collate: values of one kind must have equal shapes to stack)", NULL);
    }
    for (int j = 0; st == FC_OK && j < batch.n; j++) {
        fprintf(f, "   value %d: %s\n", j, fc_value_str(&batch.v[j], buf, sizeof buf));
        if (batch.v[j].n_list == 0) continue;
        /* fc_collate lists values of unequal shapes (fastai's detection case); say so */
        fprintf(f, "      note: the items' value %d differ in shape, so the batch holds a list, not "
                   "one stacked tensor:\n", j);
        for (int64_t k = 0; k < n; k++)
            fprintf(f, "         item %lld '%s': %s\n", (long long)k, fc_datasets_item_name(d, FC_SPLIT_TRAIN, k),
                    fc_value_str(&items[k].v[j], buf, sizeof buf));
    }
    for (int64_t k = 0; k < n; k++) fc_tuple_free(&items[k]);
    if (st == FC_OK) {
        fprintf(f, "6. Batch transforms (%d)\n", db->batch.n);
        if (db->batch.n > 0) st = setup_batch_tfms(db, d, n);
        if (st != FC_OK) st = failed(f, "setting up the batch transforms", NULL);
    }
    fc_transform **t = NULL;
    fc_tfms tf = st == FC_OK ? batch_tfms(db, &t) : (fc_tfms){0};
    fc_pipeline *p = st == FC_OK && tf.n ? fc_pipeline_new(tf) : NULL; /* takes the proxies */
    fc_rng rng = fc_rng_new(0);
    fc_tfm_ctx ctx = {.split = FC_SPLIT_TRAIN, .rng = &rng};
    for (int i = 0; p && i < fc_pipeline_n(p) && st == FC_OK; i++)
        for (int j = 0; j < batch.n && st == FC_OK; j++) st = step(f, p, i, &batch.v[j], &ctx, "batch transforms", NULL);
    fc_pipeline_free(p);
    free(t);
    fc_tuple_free(&batch);
    return st;
}

fc_status fc_datablock_summary(fc_datablock *db, const char *source, FILE *f) {
    if (!db || !f) return fc_fail(FC_ERR_ARG, "datablock_summary: datablock or file is NULL");
    fprintf(f, "DataBlock summary for '%s'\n", source ? source : "(null)");
    fprintf(f, "   blocks:");
    for (int j = 0; j < db->n; j++) fprintf(f, " %s%s", db->block_name[j], j < db->n_inp ? " (input)" : "");
    fprintf(f, "\n1. Collecting items");
    fc_items items;
    const char *how;
    fc_status st = collect(db, source, &items, &how);
    fprintf(f, " with %s: ", how);
    if (st != FC_OK) return failed(f, "collecting items", source);
    fprintf(f, "%lld items, first '%s'\n", (long long)items.n, items.text[0]);
    fc_splits sp;
    fprintf(f, "2. Splitting with %s: ", fc_data_splitter_name(db->splitter));
    if ((st = fc_data_splitter_split(db->splitter, &items, &sp)) != FC_OK) {
        fc_items_free(&items);
        return failed(f, "splitting", NULL);
    }
    fprintf(f, "%lld train, %lld valid\n", (long long)sp.n_train, (long long)sp.n_valid);
    fc_splits_free(&sp);
    fprintf(f, "3. Setting up the transforms on the training items\n");
    fc_datasets *d = build(db, &items);
    if (!d) return failed(f, "setting up the transforms (Datasets)", NULL);
    for (int j = 0; j < db->n; j++) {
        fc_pipeline *p = fc_datasets_pipeline(d, j);
        for (int i = 0; i < fc_pipeline_n(p); i++) {
            int64_t nv;
            if (!fci_is_categorize(fc_pipeline_at(p, i))) continue;
            const char *const *v = fc_categorize_vocab(fc_pipeline_at(p, i), &nv);
            fprintf(f, "   value %d %s vocab (%lld):", j, fc_transform_name(fc_pipeline_at(p, i)), (long long)nv);
            for (int64_t k = 0; k < nv && k < 10; k++) fprintf(f, " %s", v[k]);
            fprintf(f, "%s\n", nv > 10 ? " ..." : "");
        }
    }
    fc_tuple tup = {0};
    st = summary_sample(f, db, d, &tup);
    fc_tuple_free(&tup);
    if (st == FC_OK) st = summary_batch(f, db, d);
    if (st == FC_OK) fprintf(f, "All steps passed.\n");
    fc_datasets_free(d);
    return st;
}
