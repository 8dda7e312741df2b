/* fastc train collab RATINGS and predict with a collab model: CollabDataLoaders.from_csv ->
 * collab_learner (EmbeddingDotBias, or EmbeddingNN with --nn) -> fit_one_cycle -> export; predict
 * the rating of (user, item) pairs given as USER ITEM arguments. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: fastc train collab RATINGS [options]\n"
    "Trains a collaborative-filtering model (fastai's collab_learner) on a ratings table (one row per\n"
    "rating: user, item, rating) and exports it as one file for 'fastc predict MODEL USER ITEM'.\n\n"
    "  --user NAME       the user column (default: the first)\n"
    "  --item NAME       the item column (default: the second)\n"
    "  --rating NAME     the rating column (default: the third)\n"
    "  --sep C           field separator: a character or 'tab' (default ',')\n"
    "  --no-header       the first line is data (columns are then named 0, 1, 2...)\n"
    "  --factors N       embedding size (default 50)\n"
    "  --nn              EmbeddingNN (embeddings + an MLP) instead of EmbeddingDotBias\n"
    "  --y-range LO,HI   ratings range of the output sigmoid (default 0,5.5)\n"
    "  --epochs N        epochs (default 1)\n"
    "  --lr X            learning rate (default 5e-3)\n"
    "  --wd X            weight decay (default 0.1)\n"
    "  --bs N            batch size (default 64)\n"
    "  --valid-pct X     random validation share of the ratings (default 0.2)\n"
    "  --seed N          seed of the split, shuffling and init (default 42)\n"
    "  -o, --output F    the exported model (default model.fcm)\n"
    "  -q, --quiet       no progress table\n"
    "  --json            print the results as JSON (implies --quiet)\n"
    "  -h, --help        this help\n";

enum { C_USER = 1300, C_ITEM, C_RATING, C_SEP, C_NO_HEADER, C_FACTORS, C_NN, C_Y_RANGE };

static int parse_range(const char *arg, fc_y_range *out) {
    char *e = NULL;
    double lo = strtod(arg, &e), hi = 0;
    if (e == arg || *e != ',') return 0;
    const char *h = e + 1;
    hi = strtod(h, &e);
    if (e == h || *e || !(lo < hi)) return 0;
    *out = (fc_y_range){lo, hi};
    return 1;
}

typedef struct collab_args {
    const char *cmd; /* in messages */
    const char *user, *item, *rating;
    char sep;
    int no_header, nn;
    long factors;
    fc_y_range yr;
} collab_args;

static const struct option collab_opts[] = {
    {"user", required_argument, 0, C_USER},       {"item", required_argument, 0, C_ITEM},
    {"rating", required_argument, 0, C_RATING},   {"sep", required_argument, 0, C_SEP},
    {"no-header", no_argument, 0, C_NO_HEADER},   {"factors", required_argument, 0, C_FACTORS},
    {"nn", no_argument, 0, C_NN},                 {"y-range", required_argument, 0, C_Y_RANGE},
    {0, 0, 0, 0},
};

static int collab_option(void *state, int c, char *arg) {
    collab_args *a = state;
    switch (c) {
    case C_USER: a->user = arg; return 1;
    case C_ITEM: a->item = arg; return 1;
    case C_RATING: a->rating = arg; return 1;
    case C_NO_HEADER: a->no_header = 1; return 1;
    case C_NN: a->nn = 1; return 1;
    case C_FACTORS: return cli_int(a->cmd, "--factors", arg, 1, 65536, &a->factors) ? 1 : -1;
    case C_SEP:
        if (!strcmp(arg, "tab") || !strcmp(arg, "\\t")) a->sep = '\t';
        else if (strlen(arg) == 1) a->sep = arg[0];
        else return cli_usage_error(a->cmd, "--sep expects one character or 'tab', found '%s'", arg), -1;
        return 1;
    case C_Y_RANGE:
        if (parse_range(arg, &a->yr)) return 1;
        return cli_usage_error(a->cmd, "--y-range expects LO,HI with LO < HI (e.g. 0,5.5), found '%s'", arg), -1;
    default: return 0;
    }
}

int cli_collab_setup(const char *cmd, const char *help, int argc, char **argv, const cli_extra *extra, cli_fit *f,
                     int want_learner, fc_dataloaders **dls_out, fc_learner **learn_out) {
    collab_args a = {.cmd = cmd, .factors = 50};
    if (!f->wd) f->wd = 0.1; /* fastai's collab tutorial: fit_one_cycle(5, 5e-3, wd=0.1) */
    int st = cli_app_parse(cmd, help, argc, argv, collab_opts, collab_option, &a, extra, f);
    if (st >= 0) return st;
    if (argc - optind != 1)
        return cli_usage_error(cmd, argc - optind < 1 ? "expected a ratings file after 'collab' (e.g. ml-100k/u.data "
                                                        "with --sep tab --no-header)"
                                                      : "expected one ratings file, found also '%s'", argv[optind + 1]);
    fc_manual_seed((uint64_t)f->seed);
    fc_dataloaders *dls = fc_collab_dls_from_csv(argv[optind], .sep = a.sep, .no_header = a.no_header, .user = a.user,
                                                 .item = a.item, .rating = a.rating, .valid_pct = f->valid_pct,
                                                 .seed = (uint64_t)f->seed, .bs = f->bs);
    if (!dls) return cli_fail(cmd);
    if (!want_learner) {
        *dls_out = dls;
        return -1;
    }
    fc_learner *learn = fc_collab_learner(dls, .n_factors = a.factors, .use_nn = a.nn, .y_range = a.yr, .wd = f->wd,
                                          .metrics = FC_METRICS(fc_rmse()), .quiet = f->quiet || f->json);
    if (!learn) return cli_fail(cmd);
    *learn_out = learn;
    return -1;
}

int cli_train_collab(int argc, char **argv) {
    cli_fit f;
    cli_fit_defaults(&f);
    fc_learner *learn = NULL;
    int st = cli_collab_setup("train", help, argc, argv, NULL, &f, 1, NULL, &learn);
    if (st >= 0) return st;
    return cli_fit_export("train", learn, &f, "collab", 5e-3);
}

int cli_predict_collab(fc_learner *learn, int n, char **inputs, int quiet, int json) {
    if (n % 2)
        return cli_usage_error("predict", "a collab model predicts (user, item) pairs: expected USER ITEM arguments, "
                               "found %d (an odd number)", n);
    fc_status st = FC_OK;
    if (json) printf("[");
    for (int i = 0; i + 1 < n && st == FC_OK; i += 2) {
        fc_prediction p;
        st = fc_collab_predict(learn, inputs[i], inputs[i + 1], &p);
        if (st != FC_OK) break;
        if (json) {
            printf("%s\n {\"user\":", i ? "," : "");
            cli_json_string(stdout, inputs[i]);
            printf(",\"item\":");
            cli_json_string(stdout, inputs[i + 1]);
            printf(",\"rating\":%.7g}", fc_tensor_get(p.probs, 0));
        } else if (quiet) {
            printf("%s\n", p.label);
        } else {
            printf("%s\t%s\t%s\n", inputs[i], inputs[i + 1], p.label);
        }
        fc_prediction_free(&p);
    }
    if (json && st == FC_OK) printf("\n]\n");
    return st == FC_OK ? CLI_OK : cli_fail("predict");
}
