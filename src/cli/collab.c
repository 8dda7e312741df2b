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

int cli_train_collab(int argc, char **argv) {
    cli_fit f;
    cli_fit_defaults(&f);
    f.wd = 0.1; /* fastai's collab tutorial: fit_one_cycle(5, 5e-3, wd=0.1) */
    const char *user = NULL, *item = NULL, *rating = NULL;
    char sep = 0;
    int no_header = 0, nn = 0;
    long factors = 50;
    fc_y_range yr = {0, 0};
    struct option opts[32] = {
        {"user", required_argument, 0, C_USER},       {"item", required_argument, 0, C_ITEM},
        {"rating", required_argument, 0, C_RATING},   {"sep", required_argument, 0, C_SEP},
        {"no-header", no_argument, 0, C_NO_HEADER},   {"factors", required_argument, 0, C_FACTORS},
        {"nn", no_argument, 0, C_NN},                 {"y-range", required_argument, 0, C_Y_RANGE},
    };
    int k = 8;
    for (const struct option *o = cli_fit_long_options(); o->name; o++) opts[k++] = *o;
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1;) {
        if (c == 'h') return fputs(help, stdout), CLI_OK;
        if (c == '?' || c == ':') return cli_bad_option("train", argv[optind - 1]);
        int r = cli_fit_option("train", &f, c, optarg);
        if (r < 0) return CLI_USAGE;
        if (r > 0) continue;
        if (c == C_USER) user = optarg;
        else if (c == C_ITEM) item = optarg;
        else if (c == C_RATING) rating = optarg;
        else if (c == C_NO_HEADER) no_header = 1;
        else if (c == C_NN) nn = 1;
        else if (c == C_FACTORS && !cli_int("train", "--factors", optarg, 1, 65536, &factors)) return CLI_USAGE;
        else if (c == C_SEP) {
            if (!strcmp(optarg, "tab") || !strcmp(optarg, "\\t")) sep = '\t';
            else if (strlen(optarg) == 1) sep = optarg[0];
            else return cli_usage_error("train", "--sep expects one character or 'tab', found '%s'", optarg);
        } else if (c == C_Y_RANGE && !parse_range(optarg, &yr)) {
            return cli_usage_error("train", "--y-range expects LO,HI with LO < HI (e.g. 0,5.5), found '%s'", optarg);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("train", argc - optind < 1 ? "expected a ratings file after 'collab'"
                                                           : "expected one ratings file, found also '%s'", argv[optind + 1]);
    fc_manual_seed((uint64_t)f.seed);
    fc_dataloaders *dls = fc_collab_dls_from_csv(argv[optind], .sep = sep, .no_header = no_header, .user = user,
                                                 .item = item, .rating = rating, .valid_pct = f.valid_pct,
                                                 .seed = (uint64_t)f.seed, .bs = f.bs);
    fc_learner *learn = dls ? fc_collab_learner(dls, .n_factors = factors, .use_nn = nn, .y_range = yr,
                                                .metrics = FC_METRICS(fc_rmse()), .quiet = f.quiet || f.json)
                            : NULL;
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
