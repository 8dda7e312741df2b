/* Collab export and load_learner: EmbeddingDotBias and EmbeddingNN learners trained one epoch on a
 * generated ratings table are exported, loaded back with no ratings, and predict the same rating
 * (bit for bit) for (user, item) pairs; the users' and items' classes come back in their order.
 * An id outside the training ratings, a truncated or corrupt file and a file of another
 * application fail with clear messages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastc/collab.h"
#include "export_checks.h"
#include "fct.h"

/* 40 users (ids "u100".. : text, so the classes sort as text) x 30 items (numbers), 900 ratings */
static const char *write_ratings(const char *name) {
    fc_rng g = fc_rng_new(21);
    char *text = malloc(900 * 32 + 32), *p = text;
    p += sprintf(p, "uid,movie,stars,ts\n");
    for (int r = 0; r < 900; r++) {
        int u = (int)(fc_rng_u32(&g) % 40), i = (int)(fc_rng_u32(&g) % 30);
        p += sprintf(p, "u%d,%d,%.1f,0\n", 100 + u, 1 + i, 1 + fmod((u * 7 + i * 3) * 0.37, 4.0));
    }
    fct_write_file(name, text, (size_t)(p - text));
    free(text);
    return name;
}

static fc_learner *trained(int use_nn) {
    fc_dataloaders *dls = fc_collab_dls_from_csv(write_ratings("collab_export.csv"), .user = "uid", .item = "movie",
                                                 .rating = "stars", .bs = 32);
    fc_manual_seed(9);
    fc_learner *learn = use_nn ? fc_collab_learner(dls, .use_nn = 1, .layers = FC_INTS(12), .n_factors = 6, .quiet = 1)
                               : fc_collab_learner(dls, .n_factors = 6, .y_range = {0.5, 5.5}, .quiet = 1);
    if (learn && fc_fit_one_cycle(learn, 1, 1e-2) != FC_OK) {
        fc_learner_free(learn);
        return NULL;
    }
    return learn;
}

static void round_trip(int use_nn) {
    const char *out = use_nn ? "collab_nn.fcm" : "collab_dot.fcm";
    fc_learner *learn = trained(use_nn), *loaded = NULL;
    if (!FCT_NOTNULL(learn)) return;
    FCT_STR(fc_learner_app(learn), "collab");
    if (!FCT_OK(fc_learner_export(learn, out))) goto done;
    loaded = fc_load_learner(out);
    if (!FCT_NOTNULL(loaded)) goto done;
    int64_t na, nb;
    const char *const *ua = fc_collab_users(fc_learner_dls(learn), &na), *const *ub = fc_collab_users(fc_learner_dls(loaded), &nb);
    FCT_EQ_INT(nb, na);
    for (int64_t k = 0; ua && ub && k < na && k < nb; k++) FCT_STR(ub[k], ua[k]);
    const char *const *ia = fc_collab_items(fc_learner_dls(learn), &na), *const *ib = fc_collab_items(fc_learner_dls(loaded), &nb);
    FCT_EQ_INT(nb, na);
    for (int64_t k = 0; ia && ib && k < na && k < nb; k++) FCT_STR(ib[k], ia[k]);
    static const char *pairs[][2] = {{"u100", "1"}, {"u139", "30"}, {"u117", "12"}, {"u105", "7"}};
    for (int k = 0; k < 4; k++) {
        fc_prediction pa, pb;
        if (!FCT_OK(fc_collab_predict(learn, pairs[k][0], pairs[k][1], &pa))) continue;
        if (FCT_OK(fc_collab_predict(loaded, pairs[k][0], pairs[k][1], &pb))) {
            FCT_STR(pb.label, pa.label);
            FCT_EQ_INT(pb.index, -1);
            FCT_CLOSE(pb.probs, pa.probs, 0, 0);
            double r = fc_tensor_get(pb.probs, 0);
            FCT_TRUE(use_nn || (r > 0.5 && r < 5.5)); /* the y_range came back */
            fc_prediction_free(&pb);
        }
        fc_prediction_free(&pa);
    }
    /* an id the training ratings did not have */
    fc_prediction p;
    FCT_TRUE(fc_collab_predict(loaded, "u999", "1", &p) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "the user 'u999' was not in the training ratings (40 users)");
    FCT_TRUE(fc_collab_predict(loaded, "u100", "31", &p) == FC_ERR_ARG);
    FCT_ERROR(FC_ERR_ARG, "the item '31'");
done:
    remove(out);
    fc_learner_free(loaded);
    fc_learner_free(learn);
}

FCT_TEST(test_collab_export_dot_bias_round_trip) { round_trip(0); }
FCT_TEST(test_collab_export_embedding_nn_round_trip) { round_trip(1); }

FCT_TEST(test_collab_load_rejects_corrupt_files) {
    fc_learner *learn = trained(0);
    if (!FCT_NOTNULL(learn)) return;
    const char *good = "collab_good.fcm", *bad = "collab_bad.fcm";
    unsigned char *b = NULL;
    size_t n = fct_fcm_export_bytes(learn, good, &b);
    if (!n) goto done;
    FCT_TRUE(fct_fcm_truncations_fail(b, n, bad, 400, 37));
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"n_factors\":6", "\"n_factors\":7", bad)))
        fct_fcm_load_fails(bad, FC_ERR_SHAPE, "expected shape");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"n_factors\":6", "\"n_factors\":60000", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "collab config: the config asks for a model of at least");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"EmbeddingDotBias\"", "\"EmbeddingNN\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "collab config");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"EmbeddingDotBias\"", "\"EmbeddingXX\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "expected 'model'");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"users\":[\"#na#\",", "\"users\":[", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "'users' to start with \"#na#\"");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"item_counts\":[", "\"item_counts\":[1,", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "item_counts");
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"users\":[\"#na#\",", "\"users\":[\"#na#\",\"u0\",", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "the data has 42 users and 31 items; the model's embeddings 41 and 31");
    /* another application's loader on this file (a static link registers what it does not call) */
    FCT_OK(fc_tabular_register());
    if (FCT_TRUE(fct_fcm_patch(b, n, "\"application\":\"collab\"", "\"application\":\"tabular\"", bad)))
        fct_fcm_load_fails(bad, FC_ERR_FORMAT, "tabular config");
done:
    free(b);
    remove(good);
    remove(bad);
    fc_learner_free(learn);
}
