/* CollabDataLoaders from CSV: categorify on the training rows, the seeded split, batches, the
 * accessors, and every bad input with its message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/collab.h"
#include "fct.h"

static const char *write_text(const char *name, const char *text) {
    fct_write_file(name, text, strlen(text));
    return name;
}

/* n rows of user u in 1..n_users (ids 10 u), item i in 1..n_items (ids 7 i): rating = u + i / 1000,
 * so a batch row can be checked against its codes */
static const char *write_ratings(const char *name, int n, int n_users, int n_items, char sep, int header) {
    size_t cap = 64 + (size_t)n * 40;
    char *text = malloc(cap), *p = text;
    if (header) p += sprintf(p, "userId%citemId%crating%cts\n", sep, sep, sep);
    for (int r = 0; r < n; r++) {
        int u = 1 + (r * 7) % n_users, i = 1 + (r * 13 + r / n_users) % n_items;
        p += sprintf(p, "%d%c%d%c%.3f%c%d\n", 10 * u, sep, 7 * i, sep, u + i / 1000.0, sep, 880000000 + r);
    }
    fct_write_file(name, text, (size_t)(p - text));
    free(text);
    return name;
}

/* every row of every batch of dl decodes to its rating; returns the rows seen */
static int64_t check_loader(fc_dataloaders *dls, fc_dataloader *dl, int valid) {
    int64_t n_users, n_items, seen = 0;
    const char *const *users = fc_collab_users(dls, &n_users), *const *items = fc_collab_items(dls, &n_items);
    fc_tuple b;
    FCT_OK(fc_dataloader_start(dl, 0));
    while (fc_dataloader_next(dl, &b) == 1) {
        fc_tensor *x = b.v[0].t, *y = b.v[1].t;
        FCT_EQ_INT(fc_tensor_dtype(x), FC_DTYPE_I64);
        FCT_EQ_INT(fc_tensor_dim(x, 1), 2);
        FCT_EQ_INT(fc_tensor_dim(y, 1), 1);
        const int64_t *c = fc_tensor_data(x);
        const float *r = fc_tensor_data(y);
        for (int64_t j = 0; j < fc_tensor_dim(x, 0); j++, seen++) {
            FCT_TRUE(c[2 * j] >= 0 && c[2 * j] < n_users && c[2 * j + 1] >= 0 && c[2 * j + 1] < n_items);
            if (!valid) FCT_TRUE(c[2 * j] > 0 && c[2 * j + 1] > 0); /* every training id has a class */
            if (c[2 * j] == 0 || c[2 * j + 1] == 0) continue;
            double u = atof(users[c[2 * j]]) / 10, i = atof(items[c[2 * j + 1]]) / 7;
            FCT_NEAR(r[j], u + i / 1000, 1e-4);
        }
        fc_tuple_free(&b);
    }
    return seen;
}

FCT_TEST(test_collab_dls_categorify_split_and_batches) {
    const char *path = write_ratings("collab_small.csv", 500, 23, 31, ',', 1);
    fc_dataloaders *dls = fc_collab_dls_from_csv(path, .bs = 16);
    if (!FCT_NOTNULL(dls)) return;
    FCT_EQ_INT(fc_dataloader_n(dls->train), 400);
    FCT_EQ_INT(fc_dataloader_n(dls->valid), 100);
    FCT_EQ_INT(fc_dataloader_len(dls->train), 25); /* 400 / 16, the last partial batch dropped */
    int64_t n_users, n_items;
    const char *const *users = fc_collab_users(dls, &n_users);
    const char *const *items = fc_collab_items(dls, &n_items);
    FCT_EQ_INT(n_users, 24);
    FCT_STR(users[0], "#na#");
    for (int64_t k = 1; k < n_users; k++) FCT_EQ_INT(atoi(users[k]), 10 * k); /* numeric order: 10, 20, ..., 230 */
    FCT_STR(items[0], "#na#");
    for (int64_t k = 2; k < n_items; k++) FCT_TRUE(atoi(items[k]) > atoi(items[k - 1]));
    const int64_t *counts = fc_collab_item_counts(dls);
    int64_t total = 0;
    for (int64_t k = 0; k < n_items; k++) total += counts[k];
    FCT_EQ_INT(total, 500);
    FCT_EQ_INT(check_loader(dls, dls->train, 0), 400);
    FCT_EQ_INT(check_loader(dls, dls->valid, 1), 100);
    fc_dataloaders_free(dls);
}

FCT_TEST(test_collab_dls_split_is_seeded) {
    const char *path = write_ratings("collab_seed.csv", 300, 11, 13, ',', 1);
    fc_dataloaders *a = fc_collab_dls_from_csv(path, .bs = 300), *b = fc_collab_dls_from_csv(path, .bs = 300),
                   *c = fc_collab_dls_from_csv(path, .bs = 300, .seed = 7);
    if (!FCT_NOTNULL(a) || !FCT_NOTNULL(b) || !FCT_NOTNULL(c)) return;
    fc_tuple ta, tb, tc;
    FCT_OK(fc_dataloader_one_batch(a->valid, &ta));
    FCT_OK(fc_dataloader_one_batch(b->valid, &tb));
    FCT_OK(fc_dataloader_one_batch(c->valid, &tc));
    FCT_CLOSE(ta.v[1].t, tb.v[1].t, 0, 0);
    FCT_TRUE(memcmp(fc_tensor_data(ta.v[1].t), fc_tensor_data(tc.v[1].t), 60 * sizeof(float)) != 0);
    fc_tuple_free(&ta);
    fc_tuple_free(&tb);
    fc_tuple_free(&tc);
    fc_dataloaders_free(a);
    fc_dataloaders_free(b);
    fc_dataloaders_free(c);
}

FCT_TEST(test_collab_dls_tab_separated_without_header) {
    const char *path = write_ratings("collab_tab.data", 200, 9, 17, '\t', 0);
    fc_dataloaders *dls = fc_collab_dls_from_csv(path, .sep = '\t', .no_header = 1, .valid_pct = 0.25, .bs = 8);
    if (!FCT_NOTNULL(dls)) return;
    FCT_EQ_INT(fc_dataloader_n(dls->valid), 50);
    FCT_EQ_INT(check_loader(dls, dls->valid, 1), 50);
    fc_dataloaders_free(dls);
}

FCT_TEST(test_collab_dls_text_ids_sort_as_text_and_unseen_map_to_na) {
    /* "carol" rates only once: with the split seeded, check whichever subset it lands in */
    const char *path = write_text("collab_names.csv", "user,movie,stars\nbob,Up,4\nalice,Heat,5\nbob,Heat,3\n"
                                                      "alice,Up,2\ndave,Up,1\nbob,Alien,5\nalice,Alien,4\n"
                                                      "dave,Heat,2\ncarol,Brazil,3\ndave,Alien,1\n");
    fc_dataloaders *dls = fc_collab_dls_from_csv(path, .user = "user", .item = "movie", .rating = "stars", .bs = 4);
    if (!FCT_NOTNULL(dls)) return;
    int64_t n_users;
    const char *const *users = fc_collab_users(dls, &n_users);
    for (int64_t k = 2; k < n_users; k++) FCT_TRUE(strcmp(users[k - 1], users[k]) < 0);
    FCT_STR(users[0], "#na#");
    int carol_in_train = 0;
    for (int64_t k = 0; k < n_users; k++) carol_in_train |= !strcmp(users[k], "carol");
    int64_t n_items;
    fc_collab_items(dls, &n_items);
    FCT_EQ_INT(fc_collab_item_counts(dls)[0], carol_in_train ? 0 : 1); /* Brazil unseen: #na# */
    fc_dataloaders_free(dls);
}

FCT_TEST(test_collab_dls_rejects_bad_inputs) {
    FCT_NULL(fc_collab_dls_from_csv(write_text("collab_empty.csv", "")));
    FCT_ERROR(FC_ERR_FORMAT, "empty");
    fc_error_clear();
    FCT_NULL(fc_collab_dls_from_csv(write_text("collab_cols.csv", "user,item,rating\n1,2,3\n2,1,4\n"), .rating = "score"));
    FCT_ERROR(FC_ERR_ARG, "collab_cols.csv has no rating column 'score' (its columns: 'user', 'item', 'rating')");
    fc_error_clear();
    FCT_NULL(fc_collab_dls_from_csv(write_text("collab_two.csv", "user,item\n1,2\n2,1\n")));
    FCT_ERROR(FC_ERR_ARG, "expected a rating column at position 2, found 2 columns");
    fc_error_clear();
    FCT_NULL(fc_collab_dls_from_csv(write_text("collab_nan.csv", "user,item,rating\n1,2,3\n2,1,four\n3,3,1\n")));
    FCT_ERROR(FC_ERR_FORMAT, "collab_nan.csv line 3, column 'rating': expected a number (the rating), found 'four'");
    fc_error_clear();
    FCT_NULL(fc_collab_dls_from_csv(write_text("collab_ragged.csv", "user,item,rating\n1,2,3\n2,1\n")));
    FCT_ERROR(FC_ERR_FORMAT, "line 3");
    fc_error_clear();
    FCT_NULL(fc_collab_dls_from_csv("collab_no_such_file.csv"));
    FCT_ERROR(FC_ERR_IO, "collab_no_such_file.csv");
    fc_error_clear();
    FCT_NULL(fc_collab_dls_from_csv(write_text("collab_pct.csv", "u,i,r\n1,2,3\n2,1,4\n"), .valid_pct = 1.5));
    FCT_ERROR(FC_ERR_ARG, ".valid_pct in (0, 1)");
    fc_error_clear();
}

FCT_TEST(test_collab_accessors_reject_other_loaders) {
    fc_tensor *x = fc_zeros(FC_SHAPE(4, 2)), *y = fc_zeros(FC_SHAPE(4, 1));
    fc_dataloaders *dls = fc_tensor_dls(x, y, x, y);
    int64_t n = 5;
    FCT_NULL(fc_collab_users(dls, &n));
    FCT_ERROR(FC_ERR_ARG, "collab_users: expected dataloaders made by collab_dls_from_csv, found tensor_dataset");
    FCT_EQ_INT(n, 0);
    fc_error_clear();
    FCT_NULL(fc_collab_item_counts(dls));
    fc_error_clear();
    fc_dataloaders_free(dls);
    fc_tensor_free(x);
    fc_tensor_free(y);
}
