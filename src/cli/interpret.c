/* fastc interpret MODEL DIR: an exported classifier on labelled images (DIR/<class>/..., or
 * DIR/valid/<class>/... when DIR has a valid folder): the confusion matrix, the most confused pairs
 * and the top losses, as text and, with --plot / --top-losses, as PNGs. fastc interpret MODEL CSV: the
 * same for an exported tabular classifier on the rows of a CSV with the target column. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char help[] =
    "usage: fastc interpret MODEL DIR|CSV [options]\n"
    "Runs the model on the labelled images under DIR (DIR/valid if it exists; each image labelled\n"
    "by its parent folder, which must name a class of the model) and prints the confusion matrix,\n"
    "the most confused classes and the top losses. For a tabular classifier DATA is a CSV file with\n"
    "the model's columns and its target (the top losses name rows as CSV:ROW, 1-based data rows).\n\n"
    "  --valid NAME      the labelled subfolder to use (default: valid when it exists, else DIR)\n"
    "  --plot F          also write the confusion matrix as a PNG\n"
    "  --top-losses F    also write the top losses as a PNG grid\n"
    "  -k N              top losses to show (default 9)\n"
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

/* items: the image files; NULL: rows of csv. */
static fc_status report(fc_interp *in, const fc_items *items, const char *csv, long k, const char *plot, const char *top) {
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
static int interpret_tabular(fc_learner *learn, const char *csv, long k, const char *plot, const char *top) {
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
    if (st == FC_OK) st = report(in, NULL, csv, k, plot, NULL);
    fc_interp_free(in);
    fc_dataloader_free(dl);
    fc_learner_free(learn);
    return st == FC_OK ? CLI_OK : cli_fail("interpret");
}

int cli_interpret(int argc, char **argv) {
    const char *valid = NULL, *plot = NULL, *top = NULL;
    long k = 9;
    static const struct option opts[] = {{"valid", required_argument, 0, 'v'}, {"plot", required_argument, 0, 'p'},
                                         {"top-losses", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1;) {
        if (c == 'h') return fputs(help, stdout), CLI_OK;
        if (c == 'v') valid = optarg;
        else if (c == 'p') plot = optarg;
        else if (c == 't') top = optarg;
        else if (c == 'k') {
            if (!cli_int("interpret", "-k", optarg, 1, 1000, &k)) return CLI_USAGE;
        } else return cli_bad_option("interpret", argv[optind - 1]);
    }
    if (argc - optind != 2)
        return cli_usage_error("interpret", "expected a model file and a folder of labelled images, found %d arguments", argc - optind);
    const char *model = argv[optind], *dir = argv[optind + 1];
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, valid ? valid : "valid");
    if (!valid && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))) snprintf(path, sizeof path, "%s", dir);
    fc_items items = {0};
    int64_t *y = NULL;
    fc_dataloader *dl = NULL;
    fc_interp *in = NULL;
    fc_learner *learn = fc_load_learner(model);
    if (learn && fc_learner_app(learn) && !strcmp(fc_learner_app(learn), "tabular"))
        return interpret_tabular(learn, dir, k, plot, top);
    if (learn && fc_learner_app(learn) && (!strcmp(fc_learner_app(learn), "collab") || !strcmp(fc_learner_app(learn), "text"))) {
        int rc = cli_usage_error("interpret", "'interpret' on a %s model is not there yet (vision and tabular are)",
                                 fc_learner_app(learn));
        fc_learner_free(learn);
        return rc;
    }
    fc_status st = learn ? fc_get_image_files(path, &items) : fc_error_code();
    if (st == FC_OK && !(y = malloc((size_t)items.n * sizeof *y))) st = fc_fail(FC_ERR_NOMEM, "interpret: out of memory");
    if (st == FC_OK) st = labels_of(&items, fc_learner_dls(learn), y);
    if (st == FC_OK && !(dl = fc_dataloader_labelled_dl(fc_learner_dls(learn)->valid, (const char *const *)items.text, y, items.n)))
        st = fc_error_code();
    if (st == FC_OK && !(in = fc_interp_from_learner(learn, dl))) st = fc_error_code();
    if (st == FC_OK) st = report(in, &items, NULL, k, plot, top);
    fc_interp_free(in);
    fc_dataloader_free(dl);
    free(y);
    fc_items_free(&items);
    fc_learner_free(learn);
    return st == FC_OK ? CLI_OK : cli_fail("interpret");
}
