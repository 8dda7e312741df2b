/* fastc predict MODEL INPUT...: an exported learner on image files (a folder: every image in it),
 * batched through test_dl and get_preds; prints each item's label and its probability. Tabular and
 * collab models go to tabular.c and collab.c. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char help[] =
    "usage: fastc predict MODEL INPUT... [options]\n"
    "Predicts each INPUT with the model that 'fastc train' exported, and prints\n"
    "'INPUT<TAB>label<TAB>probability' per item. INPUT is, by the model's application:\n"
    "  vision   an image file, or a folder: every image in it\n"
    "  tabular  a CSV file (every row; its accuracy too when it has the target column), or one row\n"
    "           as name=value arguments: age=49 'workclass= Private' ...\n"
    "  collab   USER ITEM pairs (ids as in the ratings file); prints the predicted rating\n"
    "  text     texts (a file: its contents); a language model continues each one\n\n"
    "  --n-words N       language model: words to generate (default 20)\n"
    "  --temperature X   language model: sampling temperature (default 1)\n"
    "  -q, --quiet       print only the labels\n"
    "  --json            print a JSON array of {item, label, index, probs} (collab: {user, item,\n"
    "                    rating}; a language model: {item, text})\n"
    "  -h, --help        this help\n";

/* Every input as files: folders expand to their images (sorted). */
static fc_status collect(int n, char **in, char ***files, int64_t *n_files) {
    int64_t cap = 16, k = 0;
    char **f = malloc((size_t)cap * sizeof *f);
    fc_status st = f ? FC_OK : fc_fail(FC_ERR_NOMEM, "predict: out of memory");
    for (int i = 0; i < n && st == FC_OK; i++) {
        struct stat sb;
        fc_items items = {0};
        char *one[1] = {in[i]};
        if (stat(in[i], &sb) != 0) {
            st = fc_fail(FC_ERR_IO, "predict: cannot find '%s'", in[i]);
            break;
        }
        if (S_ISDIR(sb.st_mode)) st = fc_get_image_files(in[i], &items);
        else items = (fc_items){.n = 1, .text = one};
        for (int64_t j = 0; j < items.n && st == FC_OK; j++) {
            if (k == cap) {
                char **g = realloc(f, (size_t)(cap *= 2) * sizeof *g);
                if (!g) {
                    st = fc_fail(FC_ERR_NOMEM, "predict: out of memory");
                    break;
                }
                f = g;
            }
            if (!(f[k] = strdup(items.text[j]))) st = fc_fail(FC_ERR_NOMEM, "predict: out of memory");
            else k++;
        }
        if (S_ISDIR(sb.st_mode)) fc_items_free(&items);
    }
    *files = f;
    *n_files = k;
    return st;
}

static void print_item(const char *file, const fc_tensor *probs, int64_t row, int64_t idx, const fc_dataloaders *dls,
                       int quiet, int json, int first) {
    int64_t c = fc_tensor_dim(probs, 1);
    const char *label = idx >= 0 && dls->vocab && idx < dls->n_vocab ? dls->vocab[idx] : NULL;
    char num[32];
    if (!label) snprintf(num, sizeof num, "%lld", (long long)idx), label = num;
    if (json) {
        printf("%s\n {\"item\":", first ? "" : ",");
        cli_json_string(stdout, file);
        printf(",\"label\":");
        cli_json_string(stdout, label);
        printf(",\"index\":%lld,\"probs\":[", (long long)idx);
        for (int64_t j = 0; j < c; j++) printf("%s%.7g", j ? "," : "", fc_tensor_get(probs, row * c + j));
        printf("]}");
    } else if (quiet) {
        printf("%s\n", label);
    } else {
        printf("%s\t%s\t%.4f\n", file, label, idx >= 0 && idx < c ? fc_tensor_get(probs, row * c + idx) : 0.0);
    }
}

int cli_predict(int argc, char **argv) {
    int quiet = 0, json = 0, rc = CLI_OK;
    long n_words = 20;
    double temperature = 1;
    enum { P_WORDS = 1500, P_TEMP };
    static const struct option opts[] = {{"quiet", no_argument, 0, 'q'}, {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'}, {"n-words", required_argument, 0, P_WORDS},
                                         {"temperature", required_argument, 0, P_TEMP}, {0, 0, 0, 0}};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "qh", opts, NULL)) != -1;) {
        if (c == 'h') return fputs(help, stdout), CLI_OK;
        if (c == 'q') quiet = 1;
        else if (c == 'j') json = 1;
        else if (c == P_WORDS && !cli_int("predict", "--n-words", optarg, 0, 100000, &n_words)) return CLI_USAGE;
        else if (c == P_TEMP && !cli_double("predict", "--temperature", optarg, 1e-6, 100, &temperature)) return CLI_USAGE;
        else if (c != P_WORDS && c != P_TEMP) return cli_bad_option("predict", argv[optind - 1]);
    }
    if (argc - optind < 1) return cli_usage_error("predict", "expected a model file (from 'fastc train -o model.fcm') and inputs");
    if (argc - optind < 2) return cli_usage_error("predict", "expected at least one input after the model (images, a CSV file or a row, USER ITEM pairs, texts)");
    char **files = NULL;
    int64_t n = 0;
    fc_learner *learn = fc_load_learner(argv[optind]);
    const char *app = learn && fc_learner_app(learn) ? fc_learner_app(learn) : "";
    if (!strcmp(app, "tabular") || !strcmp(app, "collab") || !strcmp(app, "text")) {
        int n_in = argc - optind - 1;
        char **in = argv + optind + 1;
        rc = !strcmp(app, "tabular") ? cli_predict_tabular(learn, n_in, in, quiet, json)
             : !strcmp(app, "collab") ? cli_predict_collab(learn, n_in, in, quiet, json)
                                      : cli_predict_text(learn, n_in, in, quiet, json, (int)n_words, temperature);
        fc_learner_free(learn);
        return rc;
    }
    fc_dataloader *dl = NULL;
    fc_tensor *probs = NULL, *dec = NULL;
    fc_status st = learn ? collect(argc - optind - 1, argv + optind + 1, &files, &n) : fc_error_code();
    if (st == FC_OK && n == 0) st = fc_fail(FC_ERR_ARG, "predict: no images in the inputs");
    if (st == FC_OK && !(dl = fc_dataloader_test_dl(fc_learner_dls(learn)->valid, (const char *const *)files, n)))
        st = fc_error_code();
    if (st == FC_OK) st = fc_learner_get_preds(learn, dl, &probs, NULL, &dec);
    if (st == FC_OK && (fc_tensor_ndim(probs) != 2 || fc_tensor_ndim(dec) != 1))
        st = fc_fail(FC_ERR_UNSUPPORTED, "predict: expected a classifier (probabilities [N, C]), found another output");
    if (st == FC_OK) {
        if (json) printf("[");
        for (int64_t i = 0; i < n; i++)
            print_item(files[i], probs, i, (int64_t)fc_tensor_get(dec, i), fc_learner_dls(learn), quiet, json, i == 0);
        if (json) printf("\n]\n");
    }
    fc_tensor_free(probs);
    fc_tensor_free(dec);
    fc_dataloader_free(dl);
    for (int64_t i = 0; i < n; i++) free(files[i]);
    free(files);
    fc_learner_free(learn);
    return st == FC_OK ? CLI_OK : cli_fail("predict");
}
