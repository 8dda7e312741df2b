/* Items, getters, splitters and the DataBlock over temporary folder trees and CSV files: get_files,
 * labellers, splitter sizes/overlap/seeds, DataLoaders from folders and from a CSV, the summary
 * pointing at the failing step, and bad items (error by default, skipped with .skip_bad_items). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <math.h>
#include <unistd.h>

#include "fastc/data.h"
#include "fct.h"

#define FCT_HAS(text, frag)                                                                        \
    fct_check((text) && strstr((text), (frag)) != NULL, __FILE__, __LINE__,                      \
              "expected '%s' in:\n%s", (frag), (text) ? (text) : "(null)")

/* ---- a temporary tree ---- */
static char root[64];

static void put(const char *rel, const char *content) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *s = strchr(path + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(path, 0755);
        *s = '/';
    }
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(content, f);
    fclose(f);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) { return remove(p); }
static void tree_begin(void) {
    strcpy(root, "/tmp/fastc_pipe_XXXXXX");
    if (!mkdtemp(root)) fct_check(0, __FILE__, __LINE__, "mkdtemp failed");
}
static void tree_end(void) { nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static const char *in_root(const char *rel, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", root, rel);
    return buf;
}

/* train/{a,b} 3 files each, valid/{a,b} 1 each; each holds 3 numbers. A hidden file and a .md. */
static void numbers_tree(void) {
    const char *files[] = {"train/a/1.txt", "train/a/2.txt", "train/a/3.txt", "train/b/4.txt",
                           "train/b/5.txt", "train/b/6.txt", "valid/a/7.txt", "valid/b/8.txt"};
    for (int i = 0; i < 8; i++) {
        char c[64];
        snprintf(c, sizeof c, "%d %d %d\n", i, 10 * i, files[i][6] == 'a' || files[i][6] == 'a' ? 1 : 2);
        put(files[i], c);
    }
    put("train/a/.hidden.txt", "9 9 9");
    put("train/README.md", "not an item");
}

FCT_TEST(test_get_files_extensions_recursion_folders_and_errors) {
    tree_begin();
    numbers_tree();
    char buf[256];
    fc_items it;
    FCT_OK(fc_get_files(root, &it, .extensions = FC_NAMES(".TXT")));
    FCT_EQ_INT(it.n, 8); /* case-insensitive, hidden skipped, .md not matched */
    FCT_STR(it.text[0], in_root("train/a/1.txt", buf, sizeof buf)); /* sorted */
    FCT_STR(it.text[7], in_root("valid/b/8.txt", buf, sizeof buf));
    fc_items_free(&it);
    FCT_OK(fc_get_files(root, &it));
    FCT_EQ_INT(it.n, 9);
    fc_items_free(&it);
    FCT_OK(fc_get_files(root, &it, .folders = FC_NAMES("valid"), .extensions = FC_NAMES("txt")));
    FCT_EQ_INT(it.n, 2);
    fc_items_free(&it);
    FCT_OK(fc_get_files(in_root("train", buf, sizeof buf), &it, .no_recurse = 1));
    FCT_EQ_INT(it.n, 1); /* only README.md sits directly in train */
    fc_items_free(&it);
    FCT_TRUE(fc_get_files(in_root("nope", buf, sizeof buf), &it) != FC_OK);
    FCT_ERROR(FC_ERR_IO, "No such file or directory");
    FCT_TRUE(fc_get_image_files(root, &it) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "found no files with extensions .png, .jpg, .jpeg");
    FCT_EQ_INT(it.n, 0);
    tree_end();
}

/* ---- getters ---- */
static fc_items paths(const char *const *p, int n) {
    fc_items it = {.n = n, .text = calloc((size_t)n, sizeof(char *))};
    for (int i = 0; i < n; i++) it.text[i] = strdup(p[i]);
    return it;
}

FCT_TEST(test_labellers_parent_regex_and_errors_naming_the_item) {
    const char *p[] = {"data/train/cat/cat_12.jpg", "dog_3.jpg", "x/Abyssinian_101.jpg"};
    fc_items it = paths(p, 3);
    fc_getter *parent = fc_parent_label(), *re = fc_regex_labeller("([^/]+)_[0-9]+\\.jpg$"),
              *whole = fc_regex_labeller("[a-z]+/(cat)", .match = 1);
    fc_value v;
    FCT_OK(fc_getter_get(parent, &it, 0, &v));
    FCT_TRUE(v.kind == fc_kind_label);
    FCT_STR(v.text, "cat");
    fc_value_free(&v);
    FCT_TRUE(fc_getter_get(parent, &it, 1, &v) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "parent_label: expected a path inside a folder, found 'dog_3.jpg' (parent_label on item 1)");
    FCT_OK(fc_getter_get(re, &it, 2, &v));
    FCT_STR(v.text, "Abyssinian");
    fc_value_free(&v);
    FCT_TRUE(fc_getter_get(whole, &it, 0, &v) != FC_OK); /* .match: the whole path must match */
    FCT_ERROR(FC_ERR_ARG, "does not match the whole of 'data/train/cat/cat_12.jpg'");
    FCT_NULL(fc_regex_labeller("(unclosed"));
    FCT_ERROR(FC_ERR_ARG, "regex_labeller: cannot compile '(unclosed'");
    fc_getter_free(parent);
    fc_getter_free(re);
    fc_getter_free(whole);
    fc_items_free(&it);
}

static fc_status upper_first(void *ctx, const fc_items *items, int64_t i, fc_value *out) {
    const char *s = items->text[i];
    if (!s[0]) return fc_fail(FC_ERR_ARG, "upper_first: expected a non-empty name, found ''");
    char b[2] = {(char)(s[0] - 32), 0};
    *out = fc_value_text(fc_kind_label, b);
    return FC_OK;
}

FCT_TEST(test_user_getter_and_col_reader) {
    const char *p[] = {"abc", ""};
    fc_items it = paths(p, 2);
    fc_getter *g = fc_getter_new("upper_first", upper_first, NULL, NULL);
    fc_value v;
    FCT_OK(fc_getter_get(g, &it, 0, &v));
    FCT_STR(v.text, "A");
    fc_value_free(&v);
    FCT_TRUE(fc_getter_get(g, &it, 1, &v) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "(upper_first on item 1 '')");
    fc_getter *col = fc_col_reader("label");
    FCT_TRUE(fc_getter_get(col, &it, 0, &v) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "ColReader: expected items from a CSV (column 'label'), found files");
    fc_items_free(&it);
    tree_begin();
    put("d/labels.csv", "name,label\nimg/1.txt,cat\nimg/2.txt,dog\n");
    char buf[256];
    FCT_OK(fc_items_from_csv(in_root("d/labels.csv", buf, sizeof buf), &it));
    FCT_EQ_INT(it.n, 2);
    FCT_HAS(it.text[1], "labels.csv line 3");
    FCT_OK(fc_getter_get(col, &it, 1, &v));
    FCT_STR(v.text, "dog");
    fc_value_free(&v);
    fc_getter *path = fc_col_reader("name", .kind = fc_kind_path, .suff = ".bak");
    FCT_OK(fc_getter_get(path, &it, 0, &v));
    FCT_TRUE(v.kind == fc_kind_path);
    FCT_STR(v.text, in_root("d/img/1.txt.bak", buf, sizeof buf)); /* relative to the CSV's folder */
    fc_value_free(&v);
    fc_getter *bad = fc_col_reader("lable");
    FCT_TRUE(fc_getter_get(bad, &it, 0, &v) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "expected a column 'lable', found columns name, label");
    fc_getter_free(bad);
    fc_getter_free(path);
    fc_getter_free(col);
    fc_getter_free(g);
    fc_items_free(&it);
    tree_end();
}

/* ---- splitters ---- */
static int check_partition(const fc_splits *s, int64_t n, int all) {
    char *seen = calloc((size_t)n, 1);
    int ok = 1;
    for (int64_t k = 0; k < s->n_train; k++) ok &= !seen[s->train[k]]++;
    for (int64_t k = 0; k < s->n_valid; k++) ok &= !seen[s->valid[k]]++;
    if (all) ok &= s->n_train + s->n_valid == n;
    free(seen);
    return ok;
}

static fc_items numbered(int n) {
    fc_items it = {.n = n, .text = calloc((size_t)n, sizeof(char *))};
    for (int i = 0; i < n; i++) {
        char b[64];
        snprintf(b, sizeof b, "%s/item_%d.txt", i % 3 == 0 ? "x" : "y", i);
        it.text[i] = strdup(b);
    }
    return it;
}

FCT_TEST(test_random_splitter_sizes_overlap_and_seed) {
    fc_items it = numbered(101);
    fc_data_splitter *a = fc_random_splitter(0.2, 7), *b = fc_random_splitter(0.2, 7), *c = fc_random_splitter(0.2, 8);
    fc_splits sa, sb, sc;
    FCT_OK(fc_data_splitter_split(a, &it, &sa));
    FCT_OK(fc_data_splitter_split(b, &it, &sb));
    FCT_OK(fc_data_splitter_split(c, &it, &sc));
    FCT_EQ_INT(sa.n_valid, 20); /* int(0.2 * 101) */
    FCT_EQ_INT(sa.n_train, 81);
    FCT_TRUE(check_partition(&sa, 101, 1));
    FCT_TRUE(!memcmp(sa.valid, sb.valid, 20 * sizeof(int64_t))); /* same seed, same split */
    FCT_TRUE(memcmp(sa.valid, sc.valid, 20 * sizeof(int64_t)) != 0);
    fc_splits_free(&sa);
    fc_splits_free(&sb);
    fc_splits_free(&sc);
    fc_data_splitter_free(a);
    fc_data_splitter_free(b);
    fc_data_splitter_free(c);
    FCT_NULL(fc_random_splitter(1.5, 0));
    FCT_ERROR(FC_ERR_ARG, "expected valid_pct in [0, 1), found 1.5");
    fc_items_free(&it);
}

static int third_is_valid(void *ctx, const fc_items *items, int64_t i) { return i % 3 == 0; }

FCT_TEST(test_index_func_grandparent_and_train_test_splitters) {
    fc_items it = numbered(30);
    fc_splits s;
    fc_data_splitter *ix = fc_index_splitter((const int64_t[]){4, 2, 29}, 3);
    FCT_OK(fc_data_splitter_split(ix, &it, &s));
    FCT_EQ_INT(s.n_valid, 3);
    FCT_EQ_INT(s.valid[0], 4);
    FCT_EQ_INT(s.n_train, 27);
    FCT_TRUE(check_partition(&s, 30, 1));
    fc_splits_free(&s);
    fc_data_splitter_free(ix);
    ix = fc_index_splitter((const int64_t[]){30}, 1);
    FCT_TRUE(fc_data_splitter_split(ix, &it, &s) != FC_OK);
    FCT_ERROR(FC_ERR_ARG, "IndexSplitter: expected indices in [0, 30), found 30");
    fc_data_splitter_free(ix);

    fc_data_splitter *fs = fc_func_splitter(third_is_valid, NULL);
    FCT_OK(fc_data_splitter_split(fs, &it, &s));
    FCT_EQ_INT(s.n_valid, 10);
    FCT_TRUE(check_partition(&s, 30, 1));
    fc_splits_free(&s);
    fc_data_splitter_free(fs);

    fc_data_splitter *tt = fc_train_test_splitter(0.25, .seed = 3);
    FCT_OK(fc_data_splitter_split(tt, &it, &s));
    FCT_EQ_INT(s.n_valid, 8); /* ceil(0.25 * 30) as sklearn */
    FCT_TRUE(check_partition(&s, 30, 1));
    fc_splits_free(&s);
    fc_data_splitter_free(tt);
    /* stratified by parent folder: x has 10 items, y 20; each keeps its share */
    tt = fc_train_test_splitter(0.3, .seed = 3, .stratify = fc_parent_label());
    FCT_OK(fc_data_splitter_split(tt, &it, &s));
    int nx = 0;
    for (int64_t k = 0; k < s.n_valid; k++) nx += it.text[s.valid[k]][0] == 'x';
    FCT_EQ_INT(nx, 3);
    FCT_EQ_INT(s.n_valid - nx, 6);
    FCT_TRUE(check_partition(&s, 30, 1));
    fc_splits_free(&s);
    fc_data_splitter_free(tt);
    fc_items_free(&it);

    const char *p[] = {"r/train/a/1", "r/valid/a/2", "r/test/a/3", "r/train/b/4"};
    it = paths(p, 4);
    fc_data_splitter *gp = fc_grandparent_splitter(NULL, NULL);
    FCT_OK(fc_data_splitter_split(gp, &it, &s));
    FCT_EQ_INT(s.n_train, 2);
    FCT_EQ_INT(s.n_valid, 1);
    FCT_EQ_INT(s.valid[0], 1);
    FCT_TRUE(check_partition(&s, 4, 0)); /* test/ is in neither */
    fc_splits_free(&s);
    fc_data_splitter_free(gp);
    gp = fc_grandparent_splitter("train", "test");
    FCT_OK(fc_data_splitter_split(gp, &it, &s));
    FCT_EQ_INT(s.valid[0], 2);
    fc_splits_free(&s);
    fc_data_splitter_free(gp);
    fc_items_free(&it);
}

/* ---- DataBlock ---- */
/* get_x: the numbers in the file, f32 [3]; fails naming what it found otherwise. */
static fc_status read_numbers(void *ctx, const fc_items *items, int64_t i, fc_value *out) {
    FILE *f = fopen(items->text[i], "r");
    if (!f) return fc_fail(FC_ERR_IO, "read_numbers: cannot open '%s'", items->text[i]);
    float x[8];
    int n = 0;
    while (n < 8 && fscanf(f, "%f", &x[n]) == 1) n++;
    fclose(f);
    if (n == 0) return fc_fail(FC_ERR_FORMAT, "read_numbers: expected numbers, found none");
    *out = fc_value_tensor(fc_kind_tensor, fc_keep(fc_from_data(x, FC_SHAPE(n))));
    return FC_OK;
}

static fc_datablock *numbers_block(int skip) {
    return fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(), fc_category_block()),
                            .extensions = FC_NAMES(".txt"),
                            .get_x = fc_getter_new("read_numbers", read_numbers, NULL, NULL),
                            .get_y = fc_parent_label(), .splitter = fc_grandparent_splitter(NULL, NULL),
                            .skip_bad_items = skip);
}

FCT_TEST(test_datablock_dataloaders_from_a_folder_tree) {
    tree_begin();
    numbers_tree();
    fc_datablock *db = numbers_block(0);
    fc_dataloaders *dls = fc_datablock_dataloaders(db, root, .bs = 2, .seed = 1);
    if (!FCT_NOTNULL(dls)) goto done;
    FCT_EQ_INT(fc_dataloader_n(dls->train), 6);
    FCT_EQ_INT(fc_dataloader_n(dls->valid), 2);
    FCT_EQ_INT(fc_dataloader_bs(dls->valid), 4); /* valid: 2 * bs */
    FCT_EQ_INT(dls->n_vocab, 2);
    if (dls->n_vocab == 2) {
        FCT_STR(dls->vocab[0], "a");
        FCT_STR(dls->vocab[1], "b");
    }
    FCT_OK(fc_dataloader_start(dls->train, 0));
    fc_tuple b;
    int n_batches = 0;
    while (fc_dataloader_next(dls->train, &b) == 1) {
        FCT_EQ_INT(b.n, 2);
        FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 0), 2);
        FCT_EQ_INT(fc_tensor_dim(b.v[0].t, 1), 3);
        FCT_TRUE(b.v[1].kind == fc_kind_category);
        for (int k = 0; k < 2; k++) /* the third number says the class: 1 for a, 2 for b */
            FCT_EQ_INT(fc_tensor_get(b.v[0].t, k * 3 + 2) - 1, fc_tensor_get(b.v[1].t, k));
        fc_tuple_free(&b);
        n_batches++;
    }
    FCT_EQ_INT(n_batches, 3);
    FCT_OK(fc_dataloader_one_batch(dls->valid, &b)); /* in order: valid/a/7 then valid/b/8 */
    FCT_NEAR(fc_tensor_get(b.v[0].t, 0), 6, 0);
    FCT_NEAR(fc_tensor_get(b.v[0].t, 3), 7, 0);
    fc_tuple *items;
    int64_t n;
    FCT_OK(fc_dataloader_decode_batch(dls->valid, &b, &items, &n));
    FCT_EQ_INT(n, 2);
    if (n == 2) {
        FCT_STR(items[0].v[1].text, "a"); /* decoded back to the label */
        FCT_STR(items[1].v[1].text, "b");
        for (int64_t k = 0; k < n; k++) fc_tuple_free(&items[k]);
    }
    free(items);
    fc_tuple_free(&b);
    fc_dataloaders_free(dls);
done:
    fc_datablock_free(db);
    tree_end();
}

/* Reads the summary written to a temporary file. */
static char *summary_text(fc_datablock *db, const char *source, fc_status *st) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *st = fc_datablock_summary(db, source, f);
    fclose(f);
    return buf;
}

FCT_TEST(test_datablock_summary_walks_every_step) {
    tree_begin();
    numbers_tree();
    const float mean[] = {0}, std[] = {1};
    fc_datablock *db = fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(), fc_category_block()),
                                        .extensions = FC_NAMES(".txt"),
                                        .get_x = fc_getter_new("read_numbers", read_numbers, NULL, NULL),
                                        .get_y = fc_parent_label(),
                                        .splitter = fc_grandparent_splitter(NULL, NULL),
                                        .batch_tfms = FC_TFMS(fc_normalize(.mean = mean, .std = std, .n_channels = 1)));
    fc_status st;
    char *s = summary_text(db, root, &st);
    FCT_OK(st);
    FCT_HAS(s, "1. Collecting items with get_files: 8 items");
    FCT_HAS(s, "2. Splitting with GrandparentSplitter: 6 train, 2 valid");
    FCT_HAS(s, "value 1 Categorize vocab (2): a b");
    FCT_HAS(s, "      read_numbers                 -> tensor f32 [3]");
    FCT_HAS(s, "      parent_label                 -> label 'a'");
    FCT_HAS(s, "      Categorize         order 1   -> category i64 [] = 0");
    FCT_HAS(s, "Categorize         order 1   -> category i64 [] = 0");
    FCT_HAS(s, "value 0: tensor f32 [4, 3]");
    FCT_HAS(s, "Normalize          order 99  -> skipped: tensor (acts on image)");
    FCT_HAS(s, "All steps passed.");
    free(s);
    fc_datablock_free(db);
    tree_end();
}

FCT_TEST(test_datablock_summary_points_at_the_failing_step) {
    tree_begin();
    numbers_tree();
    put("train/a/1.txt", "not numbers");
    fc_datablock *db = numbers_block(0);
    fc_status st;
    char *s = summary_text(db, root, &st);
    FCT_EQ_INT(st, FC_ERR_FORMAT);
    char buf[256];
    FCT_HAS(s, "read_numbers                 -> FAILED");
    FCT_HAS(s, "FAILED at step: value 0 (TransformBlock), get_x");
    FCT_HAS(s, "read_numbers: expected numbers, found none (read_numbers on item 0");
    FCT_HAS(s, in_root("train/a/1.txt", buf, sizeof buf));
    free(s);
    fc_error_clear();

    /* a transform that cannot take the value: Categorize given a vocab without 'b' */
    put("train/a/1.txt", "0 0 1");
    fc_datablock *db2 = fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(),
                                                              fc_category_block(.vocab = (const char *[]){"b"}, .n_vocab = 1)),
                                         .extensions = FC_NAMES(".txt"),
                                         .get_x = fc_getter_new("read_numbers", read_numbers, NULL, NULL),
                                         .get_y = fc_parent_label(), .splitter = fc_grandparent_splitter(NULL, NULL));
    s = summary_text(db2, root, &st);
    FCT_EQ_INT(st, FC_ERR_ARG);
    FCT_HAS(s, "Categorize         order 1   -> FAILED on label 'a'");
    FCT_HAS(s, "FAILED at step: value 1 (CategoryBlock) type transforms, transform Categorize (expected input of kind label)");
    FCT_HAS(s, "error: Categorize: label 'a' is not in the vocab of 1");
    free(s);
    fc_error_clear();

    /* items that do not stack: one file with 4 numbers */
    put("train/a/2.txt", "1 2 3 4");
    s = summary_text(db, root, &st);
    FCT_HAS(s, "value 0: tensor list of 4, first f32 [3]");
    FCT_HAS(s, "note: the items' value 0 differ in shape");
    FCT_HAS(s, "2.txt': tensor f32 [4]");
    free(s);
    fc_error_clear();

    /* an empty folder names the extensions looked for */
    s = summary_text(db, in_root("train/b/none", buf, sizeof buf), &st);
    FCT_EQ_INT(st, FC_ERR_IO);
    FCT_HAS(s, "FAILED at step: collecting items");
    free(s);
    fc_error_clear();
    mkdir(in_root("empty", buf, sizeof buf), 0755);
    s = summary_text(db, buf, &st);
    FCT_HAS(s, "found no files with extensions .txt under");
    free(s);
    fc_error_clear();
    fc_datablock_free(db2);
    fc_datablock_free(db);
    tree_end();
}

FCT_TEST(test_datablock_bad_items_fail_by_default_and_skip_on_request) {
    tree_begin();
    numbers_tree();
    put("train/b/5.txt", "oops");
    fc_datablock *db = numbers_block(0);
    char buf[256];
    fc_dataloaders *bad = fc_datablock_dataloaders(db, root, .bs = 2);
    if (FCT_NOTNULL(bad)) { /* the labels set up fine; loading the bad item fails, naming it */
        fc_tuple b;
        int r = 1;
        FCT_OK(fc_dataloader_start(bad->train, 0));
        while ((r = fc_dataloader_next(bad->train, &b)) == 1) fc_tuple_free(&b);
        FCT_EQ_INT(r, FC_ERR_FORMAT);
        FCT_ERROR(FC_ERR_FORMAT, in_root("train/b/5.txt", buf, sizeof buf));
    }
    fc_dataloaders_free(bad);
    fc_datablock_free(db);
    /* a labeller failing on one item: the error names the labeller and the item */
    db = fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(), fc_category_block()),
                          .extensions = FC_NAMES(".txt"), .get_x = fc_getter_new("read_numbers", read_numbers, NULL, NULL),
                          .get_y = fc_regex_labeller("/([a-z]+)/[1-57]\\.txt$"), .splitter = fc_grandparent_splitter(NULL, NULL));
    FCT_NULL(fc_datablock_dataloaders(db, root, .bs = 2));
    FCT_ERROR(FC_ERR_ARG, "/train/b/6.txt' (RegexLabeller on item 5) (reading value 1 of train item 5 for setup)");
    fc_datablock_free(db);
    db = numbers_block(1);
    fflush(stderr); /* a warning on stderr names the item */
    fc_dataloaders *dls = fc_datablock_dataloaders(db, root, .bs = 2);
    if (FCT_NOTNULL(dls)) FCT_EQ_INT(fc_dataloader_n(dls->train), 5);
    fc_dataloaders_free(dls);
    fc_datablock_free(db);
    tree_end();
}

FCT_TEST(test_datablock_from_a_csv_with_col_splitter) {
    tree_begin();
    put("d/x/1.txt", "1 2 3");
    put("d/x/2.txt", "4 5 6");
    put("d/x/3.txt", "7 8 9");
    put("d/x/4.txt", "1 1 1");
    put("d/labels.csv", "name,label,score,is_valid\nx/1.txt,cat,0.5,False\nx/2.txt,dog,1.5,False\n"
                        "x/3.txt,cat,2.5,True\nx/4.txt,dog cat,3.5,0\n");
    fc_datablock *db = fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(), fc_multi_category_block(.delim = ' '),
                                                            fc_regression_block()),
                                        .get_x = fc_getter_new("read_numbers", read_numbers, NULL, NULL),
                                        .get_y = fc_col_reader("label"), .splitter = fc_col_splitter(NULL));
    char buf[256];
    fc_datasets *d = fc_datablock_datasets(db, in_root("d/labels.csv", buf, sizeof buf));
    if (FCT_NOTNULL(d)) { /* get_x reads the item, here a CSV row, not a file: loading says so */
        fc_tuple t;
        FCT_TRUE(fc_datasets_get(d, FC_SPLIT_TRAIN, 0, &t) != FC_OK);
        FCT_ERROR(FC_ERR_IO, "read_numbers: cannot open");
    }
    fc_datasets_free(d);
    fc_datablock_free(db);

    /* get_x as a wrapped ColReader path: read_numbers on the path column */
    db = fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(.kind = fc_kind_path), fc_multi_category_block(.delim = ' ')),
                          .get_x = fc_col_reader("name", .kind = fc_kind_path), .get_y = fc_col_reader("label"),
                          .splitter = fc_col_splitter(NULL));
    d = fc_datablock_datasets(db, in_root("d/labels.csv", buf, sizeof buf));
    if (FCT_NOTNULL(d)) {
        FCT_EQ_INT(fc_datasets_n_train(d), 3);
        FCT_EQ_INT(fc_datasets_n_valid(d), 1);
        fc_tuple t;
        FCT_OK(fc_datasets_get(d, FC_SPLIT_TRAIN, 2, &t));
        FCT_STR(t.v[0].text, in_root("d/x/4.txt", buf, sizeof buf));
        FCT_TRUE(t.v[1].kind == fc_kind_multi_category);
        FCT_NEAR(fc_tensor_get(t.v[1].t, 0) + fc_tensor_get(t.v[1].t, 1), 2, 0); /* cat and dog */
        fc_tuple_free(&t);
        FCT_HAS(fc_datasets_item_name(d, FC_SPLIT_VALID, 0), "labels.csv line 4");
    }
    fc_datasets_free(d);
    fc_datablock_free(db);

    /* the regression target from the score column, and a bad valid column */
    db = fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(.kind = fc_kind_path), fc_regression_block()),
                          .get_x = fc_col_reader("name", .kind = fc_kind_path), .get_y = fc_col_reader("score"),
                          .splitter = fc_col_splitter(NULL));
    d = fc_datablock_datasets(db, in_root("d/labels.csv", buf, sizeof buf));
    if (FCT_NOTNULL(d)) {
        fc_tuple t;
        FCT_OK(fc_datasets_get(d, FC_SPLIT_VALID, 0, &t));
        FCT_NEAR(fc_tensor_item(t.v[1].t), 2.5, 0);
        fc_tuple_free(&t);
    }
    fc_datasets_free(d);
    fc_datablock_free(db);
    db = fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(), fc_category_block()),
                          .get_y = fc_col_reader("label"), .splitter = fc_col_splitter("score"));
    FCT_NULL(fc_datablock_datasets(db, in_root("d/labels.csv", buf, sizeof buf)));
    FCT_ERROR(FC_ERR_FORMAT, "ColSplitter: ");
    fc_datablock_free(db);
    tree_end();
}

/* An item transform adding 100 on the training set only (fastai's split_idx = 0). */
static fc_status add_100(void *s, fc_value *v, const fc_tfm_ctx *ctx) {
    fc_value_set_tensor(v, NULL, fc_keep(fc_add_scalar(v->t, 100.0)));
    return v->t ? FC_OK : fc_error_code();
}
static const fc_kind *const tensor_kind[] = {fc_kind_tensor, NULL};
static const fc_transform_def add_100_def = {.name = "add_100", .order = 0, .split_idx = FC_SPLIT_TRAIN,
                                             .kinds = tensor_kind, .encodes = add_100};

FCT_TEST(test_datablock_train_only_item_tfm_and_workers) {
    tree_begin();
    numbers_tree();
    fc_datablock *db = fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(), fc_category_block()),
                                        .extensions = FC_NAMES(".txt"),
                                        .get_x = fc_getter_new("read_numbers", read_numbers, NULL, NULL),
                                        .get_y = fc_parent_label(), .splitter = fc_grandparent_splitter(NULL, NULL),
                                        .item_tfms = FC_TFMS(fc_transform_new(&add_100_def, NULL)));
    fc_dataloaders *a = fc_datablock_dataloaders(db, root, .bs = 3, .seed = 5);
    fc_dataloaders *b = fc_datablock_dataloaders(db, root, .bs = 3, .seed = 5, .n_workers = 2);
    if (FCT_NOTNULL(a) && FCT_NOTNULL(b)) {
        fc_tuple ba, bb;
        FCT_OK(fc_dataloader_one_batch(a->train, &ba));
        FCT_OK(fc_dataloader_one_batch(b->train, &bb));
        FCT_CLOSE(bb.v[0].t, ba.v[0].t, 0, 0); /* threads give the same batch */
        for (int k = 0; k < 3; k++) FCT_TRUE(fc_tensor_get(ba.v[0].t, 3 * k + 2) > 100); /* train: +100 */
        fc_tuple_free(&ba);
        fc_tuple_free(&bb);
        FCT_OK(fc_dataloader_one_batch(a->valid, &ba));
        FCT_NEAR(fc_tensor_get(ba.v[0].t, 0), 6, 0); /* valid: unchanged */
        FCT_NEAR(fc_tensor_get(ba.v[0].t, 2), 1, 0);
        fc_tuple_free(&ba);
    }
    fc_dataloaders_free(a);
    fc_dataloaders_free(b);
    fc_datablock_free(db);
    tree_end();
}

FCT_TEST(test_datablock_new_reports_a_failed_constructor) {
    FCT_NULL(fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(), fc_category_block()),
                              .get_y = fc_regex_labeller("([a-z"))); /* not "use the default getter" */
    FCT_ERROR(FC_ERR_ARG, "regex_labeller: cannot compile '([a-z'");
    FCT_NULL(fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block(), fc_category_block(.vocab = (const char *[]){"a", "a"}, .n_vocab = 2))));
    FCT_ERROR(FC_ERR_ARG, "found 'a' twice");
    FCT_NULL(fc_datablock_new(.blocks = FC_BLOCKS(fc_transform_block()), .n_inp = 2));
    FCT_ERROR(FC_ERR_ARG, "datablock_new: expected .n_inp in [1, 1], found 2");
}

/* get_x: 4 numbers in 0..255 as a u8 image [2, 2] (ToTensor adds the channel). */
static fc_status read_tiny_image(void *ctx, const fc_items *items, int64_t i, fc_value *out) {
    FILE *f = fopen(items->text[i], "r");
    if (!f) return fc_fail(FC_ERR_IO, "read_tiny_image: cannot open '%s'", items->text[i]);
    uint8_t px[4];
    int n = 0, x;
    while (n < 4 && fscanf(f, "%d", &x) == 1) px[n++] = (uint8_t)x;
    fclose(f);
    if (n != 4) return fc_fail(FC_ERR_FORMAT, "read_tiny_image: expected 4 pixels, found %d", n);
    *out = fc_value_tensor(fc_kind_image, fc_keep(fc_from_data(px, FC_SHAPE(2, 2), .dtype = FC_DTYPE_U8)));
    return FC_OK;
}

FCT_TEST(test_datablock_image_kind_with_batch_normalize_from_one_batch) {
    tree_begin();
    int px[6][4];
    for (int i = 0; i < 6; i++) {
        char rel[64], c[64];
        for (int k = 0; k < 4; k++) px[i][k] = (37 * i + 61 * k) % 256;
        snprintf(rel, sizeof rel, "%s/%c/%d.txt", i < 4 ? "train" : "valid", i % 2 ? 'b' : 'a', i);
        snprintf(c, sizeof c, "%d %d %d %d", px[i][0], px[i][1], px[i][2], px[i][3]);
        put(rel, c);
    }
    fc_transform *norm = fc_normalize();
    fc_datablock *db = fc_datablock_new(
        .blocks = FC_BLOCKS(fc_transform_block(.kind = fc_kind_image, .type_tfms = FC_TFMS(fc_to_tensor()),
                                               .batch_tfms = FC_TFMS(norm, fc_int_to_float())),
                            fc_category_block()),
        .get_x = fc_getter_new("read_tiny_image", read_tiny_image, NULL, NULL), .get_y = fc_parent_label(),
        .splitter = fc_grandparent_splitter(NULL, NULL));
    fc_dataloaders *dls = fc_datablock_dataloaders(db, root, .bs = 4);
    if (FCT_NOTNULL(dls)) {
        /* Normalize's setup saw the first training batch (all 4 train items), after IntToFloat */
        double s = 0, ss = 0;
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 4; k++) s += px[i][k] / 255.0;
        double m = s / 16;
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 4; k++) ss += (px[i][k] / 255.0 - m) * (px[i][k] / 255.0 - m);
        int c;
        const float *mean = fc_normalize_mean(norm, &c), *sd = fc_normalize_std(norm, &c);
        FCT_EQ_INT(c, 1);
        if (mean) {
            FCT_NEAR(mean[0], m, 1e-6);
            FCT_NEAR(sd[0], sqrt(ss / 15), 1e-6);
        }
        fc_tuple b;
        FCT_OK(fc_dataloader_one_batch(dls->valid, &b));
        FCT_EQ_INT(fc_tensor_dtype(b.v[0].t), FC_DTYPE_F32);
        FCT_EQ_INT(fc_tensor_ndim(b.v[0].t), 4);
        if (mean) FCT_NEAR(fc_tensor_get(b.v[0].t, 1), (px[4][1] / 255.0 - m) / sd[0], 1e-5);
        fc_tuple *items;
        int64_t n;
        FCT_OK(fc_dataloader_decode_batch(dls->valid, &b, &items, &n));
        FCT_EQ_INT(n, 2);
        for (int64_t i = 0; i < n; i++) { /* back to the u8 pixels and the label */
            FCT_EQ_INT(fc_tensor_dtype(items[i].v[0].t), FC_DTYPE_U8);
            for (int k = 0; k < 4; k++) FCT_EQ_INT(fc_tensor_get(items[i].v[0].t, k), px[4 + i][k]);
            FCT_STR(items[i].v[1].text, i ? "b" : "a");
            fc_tuple_free(&items[i]);
        }
        free(items);
        fc_tuple_free(&b);
    }
    fc_status st;
    char *s = summary_text(db, root, &st);
    FCT_OK(st);
    FCT_HAS(s, "ToTensor           order 5   -> image u8 [1, 2, 2]");
    FCT_HAS(s, "IntToFloatTensor   order 10  -> image f32 [4, 1, 2, 2]");
    FCT_HAS(s, "Normalize          order 99  -> image f32 [4, 1, 2, 2]");
    free(s);
    fc_dataloaders_free(dls);
    fc_datablock_free(db);
    tree_end();
}
