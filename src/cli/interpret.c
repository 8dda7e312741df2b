/* fastc interpret MODEL DIR: an exported classifier on labelled images (DIR/<class>/..., or
 * DIR/valid/<class>/... when DIR has a valid folder): the confusion matrix, the most confused pairs
 * and the top losses, as text and, with --plot / --top-losses, as PNGs. fastc interpret MODEL CSV: the
 * same for an exported tabular classifier on the rows of a CSV with the target column. Collab and
 * text models: interpret_apps.c. --json: one JSON object instead of the text (cli_interp_print_json). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char help[] =
    "usage: fastc interpret MODEL DATA [options]\n"
    "Runs an exported model on labelled DATA and shows where it goes wrong. By the model:\n"
    "  vision   DATA is a folder of labelled images (DATA/valid if it exists; each image labelled by\n"
    "           its parent folder, a class of the model): the confusion matrix, the most confused\n"
    "           classes and the top losses\n"
    "  tabular  a classifier; DATA a CSV with the model's columns and its target: the same, the top\n"
    "           losses naming rows as CSV:ROW (1-based data rows)\n"
    "  collab   DATA a ratings file read as 'fastc train collab' did (--sep --no-header --user --item\n"
    "           --rating): the MSE / RMSE and the top losses (user, item, actual, predicted, loss).\n"
    "           A rating model is a regression: no confusion matrix (--plot is an error)\n"
    "  text     a classifier; DATA a CSV with text and label columns (only the --valid-col rows when\n"
    "           given) or a folder of class folders of .txt files (DATA/test or DATA/valid when there):\n"
    "           the accuracy, confusion matrix, most confused classes and the top losses (the decoded\n"
    "           text cut to 60 characters, actual, predicted, loss, probability). A language model\n"
    "           has nothing to interpret (exit 2)\n\n"
    "  -o, --plot F      also write the confusion matrix as a PNG (classifiers)\n"
    "  --top-losses F    also write the top losses as a PNG grid (vision)\n"
    "  -k N              top losses to show (default 9)\n"
    "  --json            print one JSON object instead (implies quiet; the PNGs are still written).\n"
    "                    Classifiers: {application, items, accuracy, classes, confusion_matrix (a row\n"
    "                    per actual class), most_confused [{actual, predicted, count}], top_losses\n"
    "                    [{index, file (tabular: and row; text: line for a CSV, and text), actual,\n"
    "                    predicted, loss, prob}]}; collab: {ratings, skipped, loss_func, loss, mse,\n"
    "                    rmse, top_losses [{user, item, actual, predicted, loss, file, line}]}\n"
    "  --valid NAME      vision, text folders: the labelled subfolder to use\n"
    "  --sep C --no-header --user NAME --item NAME --rating NAME   collab: the ratings file's layout\n"
    "  --text-col NAME --label-col NAME --valid-col NAME           text: the CSV's columns\n"
    "  -h, --help        this help\n";

/* Each file's parent folder as an index into the vocab; an unknown class fails naming the file. */
static fc_status labels_of(const fc_items *items, const fc_dataloaders *dls, int64_t *y) {
    if (!dls->vocab) return fc_fail(FC_ERR_UNSUPPORTED, "interpret: the model has no class vocabulary");
    for (int64_t i = 0; i < items->n; i++) {
        char *copy = strdup(items->text[i]);
        if (!copy) return fc_fail(FC_ERR_NOMEM, "interpret: out of memory");
        const char *parent = basename(dirname(copy));
        y[i] = -1;
        for (int64_t c = 0; c < dls->n_vocab && y[i] < 0; c++)
            if (!strcmp(dls->vocab[c], parent)) y[i] = c;
        fc_status st = y[i] < 0 ? fc_fail(FC_ERR_ARG, "interpret: '%s' is in folder '%s', which is no class of the model "
                                          "(its classes: %s%s)", items->text[i], parent, dls->vocab[0],
                                          dls->n_vocab > 1 ? ", ..." : "")
                                : FC_OK;
        free(copy);
        if (st != FC_OK) return st;
    }
    return FC_OK;
}

/* The members naming a top loss in --json: an image's "file"; a CSV's "file" and "row" (1-based
 * data rows, as the text's CSV:ROW). */
typedef struct item_json {
    const fc_items *items;
    const char *csv;
} item_json;
static void item_members(const void *state, int64_t i) {
    const item_json *s = state;
    printf("\"file\":");
    cli_json_string(stdout, s->items ? s->items->text[i] : s->csv);
    if (!s->items) printf(",\"row\":%lld", (long long)i + 1);
    putchar(',');
}

/* items: the image files; NULL: rows of csv. json: cli_interp_print_json instead of the text. */
static fc_status report(fc_interp *in, const fc_items *items, const char *csv, long k, const char *plot, const char *top,
                        int json) {
    if (json) {
        item_json s = {items, csv};
        fc_status st = plot ? fc_interp_plot_confusion_matrix(in, plot) : FC_OK;
        if (st == FC_OK && top) st = fc_interp_plot_top_losses(in, k, top);
        return st == FC_OK ? cli_interp_print_json(in, items ? "vision" : "tabular", k, item_members, &s) : st;
    }
    fc_status st = fc_interp_print_confusion_matrix(in, stdout);
    fc_confusion conf[10];
    int64_t nc = st == FC_OK ? fc_interp_most_confused(in, 1, conf, 10) : 0;
    printf("\nmost confused (actual, predicted, count):\n");
    for (int64_t i = 0; i < nc && i < 10; i++) printf("  %s\t%s\t%lld\n", conf[i].actual, conf[i].predicted, (long long)conf[i].count);
    float *loss = malloc((size_t)k * sizeof *loss);
    int64_t *idx = malloc((size_t)k * sizeof *idx);
    if (!loss || !idx) st = fc_fail(FC_ERR_NOMEM, "interpret: out of memory");
    int64_t nt = st == FC_OK ? fc_interp_top_losses(in, k, loss, idx) : 0;
    const int64_t *dec = fc_interp_decoded(in);
    if (st == FC_OK) printf("\ntop losses (loss, predicted, actual, item):\n");
    for (int64_t i = 0; i < nt; i++) {
        printf("  %.4f\t%s\t%s\t", loss[i], fc_interp_class_name(in, dec[idx[i]]),
               fc_interp_class_name(in, (int64_t)fc_tensor_get(fc_interp_targs(in), idx[i])));
        if (items) printf("%s\n", items->text[idx[i]]);
        else printf("%s:%lld\n", csv, (long long)idx[i] + 1);
    }
    free(loss);
    free(idx);
    if (st == FC_OK && plot) st = fc_interp_plot_confusion_matrix(in, plot);
    if (st == FC_OK && top) st = fc_interp_plot_top_losses(in, k, top);
    return st;
}

/* A tabular classifier on the labelled rows of csv. */
static int interpret_tabular(fc_learner *learn, const char *csv, long k, const char *plot, const char *top, int json) {
    if (top) {
        fc_learner_free(learn);
        return cli_usage_error("interpret", "--top-losses draws images; a tabular model's top losses are printed");
    }
    fc_tabular *t = fc_tabular_of_dls(fc_learner_dls(learn));
    fc_dataloader *dl = NULL;
    fc_interp *in = NULL;
    fc_tuple b = {0};
    fc_status st = t ? FC_OK : fc_error_code();
    if (st == FC_OK && fc_tabular_is_regression(t))
        st = fc_fail(FC_ERR_UNSUPPORTED, "interpret: the model is a regression (no classes to confuse); it needs a "
                     "tabular classifier");
    if (st == FC_OK && !(dl = fc_tabular_test_dl(t, csv, 256))) st = fc_error_code();
    if (st == FC_OK) st = fc_dataloader_one_batch(dl, &b);
    if (st == FC_OK && b.n < 2)
        st = fc_fail(FC_ERR_ARG, "interpret: '%s' lacks the model's target column; it needs labelled rows", csv);
    fc_tuple_free(&b);
    if (st == FC_OK && !(in = fc_interp_from_learner(learn, dl))) st = fc_error_code();
    if (st == FC_OK) st = report(in, NULL, csv, k, plot, NULL, json);
    fc_interp_free(in);
    fc_dataloader_free(dl);
    fc_learner_free(learn);
    return st == FC_OK ? CLI_OK : cli_fail("interpret");
}

enum { I_SEP = 1600, I_NO_HEADER, I_USER, I_ITEM, I_RATING, I_TEXT_COL, I_LABEL_COL, I_VALID_COL, I_JSON };

int cli_interpret(int argc, char **argv) {
    const char *top = NULL;
    cli_interp_opts io = {.k = 9};
    static const struct option opts[] = {
        {"valid", required_argument, 0, 'v'},         {"plot", required_argument, 0, 'p'},
        {"output", required_argument, 0, 'p'},        {"top-losses", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},                {"sep", required_argument, 0, I_SEP},
        {"no-header", no_argument, 0, I_NO_HEADER},   {"user", required_argument, 0, I_USER},
        {"item", required_argument, 0, I_ITEM},       {"rating", required_argument, 0, I_RATING},
        {"text-col", required_argument, 0, I_TEXT_COL}, {"label-col", required_argument, 0, I_LABEL_COL},
        {"valid-col", required_argument, 0, I_VALID_COL}, {"json", no_argument, 0, I_JSON}, {0, 0, 0, 0}};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "k:o:h", opts, NULL)) != -1;) {
        switch (c) {
        case 'h': return fputs(help, stdout), CLI_OK;
        case 'v': io.valid = optarg; break;
        case 'p': case 'o': io.plot = optarg; break;
        case 't': top = optarg; break;
        case 'k':
            if (!cli_int("interpret", "-k", optarg, 1, 1000, &io.k)) return CLI_USAGE;
            break;
        case I_SEP:
            if (!strcmp(optarg, "tab") || !strcmp(optarg, "\\t")) io.sep = '\t';
            else if (strlen(optarg) == 1) io.sep = optarg[0];
            else return cli_usage_error("interpret", "--sep expects one character or 'tab', found '%s'", optarg);
            break;
        case I_NO_HEADER: io.no_header = 1; break;
        case I_USER: io.user = optarg; break;
        case I_ITEM: io.item = optarg; break;
        case I_RATING: io.rating = optarg; break;
        case I_TEXT_COL: io.text_col = optarg; break;
        case I_LABEL_COL: io.label_col = optarg; break;
        case I_VALID_COL: io.valid_col = optarg; break;
        case I_JSON: io.json = 1; break;
        default: return cli_bad_option("interpret", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("interpret", "expected a model file and its labelled data (images, a CSV, a ratings file "
                               "or texts), found %d arguments", argc - optind);
    const char *model = argv[optind], *dir = argv[optind + 1];
    const char *valid = io.valid, *plot = io.plot;
    long k = io.k;
    io.data = dir;
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, valid ? valid : "valid");
    if (!valid && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))) snprintf(path, sizeof path, "%s", dir);
    fc_items items = {0};
    int64_t *y = NULL;
    fc_dataloader *dl = NULL;
    fc_interp *in = NULL;
    fc_learner *learn = fc_load_learner(model);
    const char *app = learn ? fc_learner_app(learn) : NULL;
    if (app && !strcmp(app, "tabular")) return interpret_tabular(learn, dir, k, plot, top, io.json);
    if (app && (!strcmp(app, "collab") || !strcmp(app, "text")) && top) {
        fc_learner_free(learn);
        return cli_usage_error("interpret", "--top-losses draws images; a %s model's top losses are printed", app);
    }
    if (app && !strcmp(app, "collab")) return cli_interpret_collab(learn, &io);
    if (app && !strcmp(app, "text")) return cli_interpret_text(learn, &io);
    fc_status st = learn ? fc_get_image_files(path, &items) : fc_error_code();
    if (st == FC_OK && !(y = malloc((size_t)items.n * sizeof *y))) st = fc_fail(FC_ERR_NOMEM, "interpret: out of memory");
    if (st == FC_OK) st = labels_of(&items, fc_learner_dls(learn), y);
    if (st == FC_OK && !(dl = fc_dataloader_labelled_dl(fc_learner_dls(learn)->valid, (const char *const *)items.text, y, items.n)))
        st = fc_error_code();
    if (st == FC_OK && !(in = fc_interp_from_learner(learn, dl))) st = fc_error_code();
    if (st == FC_OK) st = report(in, &items, NULL, k, plot, top, io.json);
    fc_interp_free(in);
    fc_dataloader_free(dl);
    free(y);
    fc_items_free(&items);
    fc_learner_free(learn);
    return st == FC_OK ? CLI_OK : cli_fail("interpret");
}
