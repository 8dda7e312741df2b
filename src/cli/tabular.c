/* fastc train tabular CSV and predict with a tabular model: TabularDataLoaders.from_csv ->
 * tabular_learner -> fit_one_cycle -> export; predict one row given as name=value arguments or
 * every row of CSV files (test_dl + get_preds), with the accuracy (or RMSE) when the file has the
 * target column. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char help[] =
    "usage: fastc train tabular CSV --y COLUMN [options]\n"
    "Trains a tabular model (fastai's tabular_learner) to predict COLUMN from the other columns of\n"
    "CSV and exports it as one file for 'fastc predict'. Categorical and continuous columns are\n"
    "inferred (integers with few values and text are categorical) unless --cat / --cont name them.\n\n"
    "  --y COLUMN        the target column (required)\n"
    "  --cat A,B,...     categorical columns\n"
    "  --cont C,D,...    continuous columns\n"
    "  --regression      the target is a number (default: inferred from its values)\n"
    "  --category        the target is a class\n"
    "  --layers N,N,...  hidden layer sizes (default 200,100)\n"
    "  --epochs N        epochs (default 1)\n"
    "  --lr X            learning rate (default 1e-2)\n"
    "  --wd X            weight decay (default the optimizer's)\n"
    "  --bs N            batch size (default 64)\n"
    "  --valid-pct X     random validation share of the rows (default 0.2)\n"
    "  --seed N          seed of the split, shuffling and init (default 42)\n"
    "  -o, --output F    the exported model (default model.fcm)\n"
    "  -q, --quiet       no progress table\n"
    "  --json            print the results as JSON (implies --quiet)\n"
    "  -h, --help        this help\n";

enum { T_Y = 1200, T_CAT, T_CONT, T_REGRESSION, T_CATEGORY, T_LAYERS };
#define MAX_COLS 256

typedef struct tabular_args {
    const char *y, *cat_buf[MAX_COLS], *cont_buf[MAX_COLS];
    fc_names cat, cont;
    int64_t layer_buf[16];
    fc_ints layers;
    fc_y_block block;
} tabular_args;

static const struct option tabular_opts[] = {
    {"y", required_argument, 0, T_Y},         {"cat", required_argument, 0, T_CAT},
    {"cont", required_argument, 0, T_CONT},   {"regression", no_argument, 0, T_REGRESSION},
    {"category", no_argument, 0, T_CATEGORY}, {"layers", required_argument, 0, T_LAYERS},
    {0, 0, 0, 0},
};

static int tabular_option(void *state, int c, char *arg) {
    tabular_args *a = state;
    switch (c) {
    case T_Y: a->y = arg; return 1;
    case T_CAT: return cli_names("train", "--cat", arg, a->cat_buf, MAX_COLS, &a->cat) ? 1 : -1;
    case T_CONT: return cli_names("train", "--cont", arg, a->cont_buf, MAX_COLS, &a->cont) ? 1 : -1;
    case T_REGRESSION: a->block = FC_Y_REGRESSION; return 1;
    case T_CATEGORY: a->block = FC_Y_CATEGORY; return 1;
    case T_LAYERS: {
        const char *names[16];
        fc_names l;
        if (!cli_names("train", "--layers", arg, names, 16, &l)) return -1;
        for (int i = 0; i < l.n; i++) {
            long v;
            if (!cli_int("train", "--layers", l.s[i], 1, 1 << 16, &v)) return -1;
            a->layer_buf[i] = v;
        }
        a->layers = (fc_ints){l.n, a->layer_buf};
        return 1;
    }
    default: return 0;
    }
}

int cli_tabular_setup(const char *cmd, const char *help, int argc, char **argv, const cli_extra *extra, cli_fit *f,
                      int want_learner, fc_dataloaders **dls_out, fc_learner **learn_out) {
    tabular_args args = {.block = FC_Y_AUTO};
    int st = cli_app_parse(cmd, help, argc, argv, tabular_opts, tabular_option, &args, extra, f);
    if (st >= 0) return st;
    const tabular_args *a = &args;
    if (argc - optind != 1)
        return cli_usage_error(cmd, argc - optind < 1 ? "expected a CSV file after 'tabular'"
                                                      : "expected one CSV file, found also '%s'", argv[optind + 1]);
    if (!a->y) return cli_usage_error(cmd, "expected --y COLUMN, the column to predict (e.g. --y salary for adult.csv)");
    fc_manual_seed((uint64_t)f->seed);
    fc_dataloaders *dls = fc_tabular_dls_from_csv(argv[optind], .y = a->y, .cat = a->cat, .cont = a->cont,
                                                  .y_block = a->block, .valid_pct = f->valid_pct,
                                                  .seed = (uint64_t)f->seed, .bs = f->bs);
    fc_tabular *t = dls ? fc_tabular_of_dls(dls) : NULL;
    if (!t) {
        fc_dataloaders_free(dls);
        return cli_fail(cmd);
    }
    if (!want_learner) {
        *dls_out = dls;
        return -1;
    }
    int reg = fc_tabular_is_regression(t);
    fc_learner *learn = fc_tabular_learner(dls, .layers = a->layers, .quiet = f->quiet || f->json,
                                           .metrics = reg ? FC_METRICS(fc_rmse()) : FC_METRICS(fc_accuracy()));
    if (!learn) return cli_fail(cmd);
    *learn_out = learn;
    return -1;
}

int cli_train_tabular(int argc, char **argv) {
    cli_fit f;
    cli_fit_defaults(&f);
    fc_learner *learn = NULL;
    int st = cli_tabular_setup("train", help, argc, argv, NULL, &f, 1, NULL, &learn);
    if (st >= 0) return st;
    return cli_fit_export("train", learn, &f, "tabular", 1e-2);
}

/* ---- predict ---- */

static int is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static void print_probs(const fc_tensor *probs, int64_t row, int64_t c) {
    printf(",\"probs\":[");
    for (int64_t j = 0; j < c; j++) printf("%s%.7g", j ? "," : "", fc_tensor_get(probs, row * c + j));
    printf("]}");
}

/* One row given as name=value arguments. */
static fc_status predict_row(fc_learner *learn, int n, char **inputs, int quiet, int json) {
    const char *names[256], *values[256];
    if (n > 256) return fc_fail(FC_ERR_ARG, "predict: at most 256 name=value pairs, found %d", n);
    for (int i = 0; i < n; i++) {
        char *eq = strchr(inputs[i], '=');
        if (!eq || eq == inputs[i])
            return fc_fail(FC_ERR_ARG, "predict: expected name=value (a column of the row) or a CSV file, found '%s'",
                           inputs[i]);
        *eq = 0;
        names[i] = inputs[i];
        values[i] = eq + 1;
    }
    fc_prediction p;
    fc_status st = fc_tabular_predict(learn, names, values, n, &p);
    if (st != FC_OK) return st;
    int64_t c = fc_tensor_numel(p.probs);
    if (json) {
        printf("[\n {\"item\":\"row\",\"label\":");
        cli_json_string(stdout, p.label);
        printf(",\"index\":%lld", (long long)p.index);
        print_probs(p.probs, 0, c);
        printf("\n]\n");
    } else if (quiet || p.index < 0) {
        printf("%s\n", p.label);
    } else {
        printf("%s\t%.4f\n", p.label, p.index < c ? fc_tensor_get(p.probs, p.index) : 0.0);
    }
    fc_prediction_free(&p);
    return FC_OK;
}

/* Every row of csv; the accuracy (or RMSE) over the rows when the file has the target. */
static fc_status predict_csv(fc_learner *learn, const char *csv, int quiet, int json, int *first) {
    fc_tabular *t = fc_tabular_of_dls(fc_learner_dls(learn));
    fc_dataloader *dl = t ? fc_tabular_test_dl(t, csv, 256) : NULL;
    fc_tensor *probs = NULL, *targs = NULL, *dec = NULL;
    fc_tuple b = {0};
    fc_status st = dl ? fc_dataloader_one_batch(dl, &b) : fc_error_code();
    int has_y = b.n > 1, reg = t ? fc_tabular_is_regression(t) : 0;
    fc_tuple_free(&b);
    if (st == FC_OK) st = fc_learner_get_preds(learn, dl, &probs, has_y ? &targs : NULL, &dec);
    int64_t n = st == FC_OK ? fc_tensor_dim(probs, 0) : 0, c = st == FC_OK ? fc_tensor_numel(probs) / (n ? n : 1) : 0;
    const fc_dataloaders *dls = fc_learner_dls(learn);
    double hits = 0, sq = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fc_tensor_get(dec, i);
        char label[64];
        int64_t idx = reg ? -1 : (int64_t)d;
        if (reg) snprintf(label, sizeof label, "%g", d);
        else snprintf(label, sizeof label, "%s", idx >= 0 && idx < dls->n_vocab ? dls->vocab[idx] : "?");
        if (has_y) {
            double y = fc_tensor_get(targs, i);
            hits += !reg && (int64_t)y == idx;
            sq += reg ? (d - y) * (d - y) : 0;
        }
        char item[1100];
        snprintf(item, sizeof item, "%s:%lld", csv, (long long)i + 1); /* the file and its data row */
        if (json) {
            printf("%s\n {\"item\":", *first ? "" : ",");
            cli_json_string(stdout, item);
            printf(",\"label\":");
            cli_json_string(stdout, label);
            printf(",\"index\":%lld", (long long)idx);
            print_probs(probs, i, c);
            *first = 0;
        } else if (quiet) {
            printf("%s\n", label);
        } else if (reg) {
            printf("%s\t%s\n", item, label);
        } else {
            printf("%s\t%s\t%.4f\n", item, label, fc_tensor_get(probs, i * c + idx));
        }
    }
    if (st == FC_OK && has_y && !quiet && !json && n > 0) {
        if (reg) printf("# rmse %.6g over %lld rows of %s\n", sqrt(sq / (double)n), (long long)n, csv);
        else printf("# accuracy %.4f over %lld rows of %s\n", hits / (double)n, (long long)n, csv);
    }
    fc_tensor_free(probs);
    fc_tensor_free(targs);
    fc_tensor_free(dec);
    fc_dataloader_free(dl);
    return st;
}

int cli_predict_tabular(fc_learner *learn, int n, char **inputs, int quiet, int json) {
    int rows = 0;
    for (int i = 0; i < n; i++) rows += strchr(inputs[i], '=') && !is_file(inputs[i]);
    if (rows && rows != n)
        return fc_fail(FC_ERR_ARG, "predict: give either one row as name=value arguments or CSV files, not both"),
               cli_fail("predict");
    fc_status st = FC_OK;
    if (rows) {
        st = predict_row(learn, n, inputs, quiet, json);
    } else {
        int first = 1;
        if (json) printf("[");
        for (int i = 0; i < n && st == FC_OK; i++) st = predict_csv(learn, inputs[i], quiet, json, &first);
        if (json && st == FC_OK) printf("\n]\n");
    }
    return st == FC_OK ? CLI_OK : cli_fail("predict");
}
