/* fastc train text DATA and predict with a text model: TextDataLoaders (a CSV, a folder of class
 * folders, or with --lm plain text files) -> text_classifier_learner or language_model_learner
 * (AWD-LSTM) -> fit_one_cycle -> export; predict classifies texts (an argument, or a file's
 * contents) or, for a language model, continues them. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char help[] =
    "usage: fastc train text DATA [options]\n"
    "Trains an AWD-LSTM text classifier (fastai's text_classifier_learner) on DATA, a CSV with a text\n"
    "and a label column or a folder of class folders of .txt files; with --lm, a language model on\n"
    "DATA as plain text (one document per line) or the same CSV / folder. Exports one file for\n"
    "'fastc predict MODEL TEXT...'. Without --pretrained the model starts from random weights.\n\n"
    "  --lm              train a language model instead of a classifier\n"
    "  --text-col NAME   CSV: the text column (default text)\n"
    "  --label-col NAME  CSV: the label column (default label)\n"
    "  --valid-col NAME  CSV: rows where it is true are the validation set (default: --valid-pct)\n"
    "  --train NAME      folder: the training subfolder (default train)\n"
    "  --valid NAME      folder: the validation subfolder (default test; '' for --valid-pct)\n"
    "  --pretrained F    start from these weights: an encoder file (classifier) or a language model\n"
    "  --emb-sz N        embedding size (default 400)\n"
    "  --n-hid N         LSTM hidden size (default 1152)\n"
    "  --n-layers N      LSTM layers (default 3)\n"
    "  --drop-mult X     multiplies every dropout (default 1)\n"
    "  --seq-len N       tokens per chunk (default 72)\n"
    "  --min-freq N      a token's minimum count to enter the vocabulary (default 3)\n"
    "  --epochs N        epochs (default 1)\n"
    "  --lr X            learning rate (default 2e-2 for a classifier, 1e-2 for a language model)\n"
    "  --wd X            weight decay (default the optimizer's)\n"
    "  --bs N            batch size (default 64)\n"
    "  --valid-pct X     random validation share (default 0.2; 0.1 for a language model)\n"
    "  --seed N          seed of the split, shuffling and init (default 42)\n"
    "  -o, --output F    the exported model (default model.fcm)\n"
    "  -q, --quiet       no progress table\n"
    "  --json            print the results as JSON (implies --quiet)\n"
    "  -h, --help        this help\n";

enum { X_LM = 1400, X_TEXT_COL, X_LABEL_COL, X_VALID_COL, X_TRAIN, X_VALID, X_PRETRAINED, X_EMB, X_HID, X_LAYERS,
       X_DROP, X_SEQ, X_MIN_FREQ };

typedef struct text_args {
    const char *cmd; /* in messages */
    int lm;
    const char *text_col, *label_col, *valid_col, *train, *valid, *pretrained;
    long emb, hid, layers, seq, min_freq;
    double drop;
} text_args;

static const struct option text_opts[] = {
    {"lm", no_argument, 0, X_LM},                      {"text-col", required_argument, 0, X_TEXT_COL},
    {"label-col", required_argument, 0, X_LABEL_COL},  {"valid-col", required_argument, 0, X_VALID_COL},
    {"train", required_argument, 0, X_TRAIN},          {"valid", required_argument, 0, X_VALID},
    {"pretrained", required_argument, 0, X_PRETRAINED}, {"emb-sz", required_argument, 0, X_EMB},
    {"n-hid", required_argument, 0, X_HID},            {"n-layers", required_argument, 0, X_LAYERS},
    {"drop-mult", required_argument, 0, X_DROP},       {"seq-len", required_argument, 0, X_SEQ},
    {"min-freq", required_argument, 0, X_MIN_FREQ},    {0, 0, 0, 0},
};

static int text_option(void *state, int c, char *arg) {
    text_args *a = state;
    switch (c) {
    case X_LM: a->lm = 1; return 1;
    case X_TEXT_COL: a->text_col = arg; return 1;
    case X_LABEL_COL: a->label_col = arg; return 1;
    case X_VALID_COL: a->valid_col = arg; return 1;
    case X_TRAIN: a->train = arg; return 1;
    case X_VALID: a->valid = arg; return 1;
    case X_PRETRAINED: a->pretrained = arg; return 1;
    case X_EMB: return cli_int(a->cmd, "--emb-sz", arg, 1, 65536, &a->emb) ? 1 : -1;
    case X_HID: return cli_int(a->cmd, "--n-hid", arg, 1, 65536, &a->hid) ? 1 : -1;
    case X_LAYERS: return cli_int(a->cmd, "--n-layers", arg, 1, 16, &a->layers) ? 1 : -1;
    case X_SEQ: return cli_int(a->cmd, "--seq-len", arg, 1, 1 << 16, &a->seq) ? 1 : -1;
    case X_MIN_FREQ: return cli_int(a->cmd, "--min-freq", arg, 1, 1 << 30, &a->min_freq) ? 1 : -1;
    case X_DROP: return cli_double(a->cmd, "--drop-mult", arg, 0, 10, &a->drop) ? 1 : -1;
    default: return 0;
    }
}

/* The loaders of DATA: a folder, a CSV, or (--lm) plain text lines. */
static fc_dataloaders *text_dls(const char *data, const text_args *a, const cli_fit *f) {
    struct stat sb;
    if (stat(data, &sb) != 0) {
        fc_fail(FC_ERR_IO, "%s: cannot find '%s'", a->cmd, data);
        return NULL;
    }
    const char *dot = strrchr(data, '.');
    int csv = dot && !strcmp(dot, ".csv");
    fc_text_dls_opts o = {.is_lm = a->lm, .text_col = a->text_col, .label_col = a->label_col, .valid_col = a->valid_col,
                          .train = a->train, .valid = a->valid, .valid_pct = f->valid_pct, .seed = (uint64_t)f->seed,
                          .bs = f->bs, .seq_len = a->seq, .min_freq = a->min_freq};
    if (S_ISDIR(sb.st_mode)) return fc_text_dls_from_folder_(data, &o);
    if (csv) return fc_text_dls_from_csv_(data, &o);
    if (a->lm) return fc_text_lm_dls_from_files_(data, NULL, &o);
    fc_fail(FC_ERR_ARG, "%s: '%s' is neither a folder nor a .csv file (plain text needs --lm)", a->cmd, data);
    return NULL;
}

int cli_text_setup(const char *cmd, const char *help, int argc, char **argv, const cli_extra *extra, cli_fit *f,
                   int want_learner, fc_dataloaders **dls_out, fc_learner **learn_out) {
    text_args a = {.cmd = cmd};
    int st = cli_app_parse(cmd, help, argc, argv, text_opts, text_option, &a, extra, f);
    if (st >= 0) return st;
    if (argc - optind != 1)
        return cli_usage_error(cmd, argc - optind < 1 ? "expected a CSV file or a folder after 'text' (e.g. "
                                                        "imdb_sample/texts.csv)"
                                                      : "expected one CSV file or folder, found also '%s'", argv[optind + 1]);
    fc_manual_seed((uint64_t)f->seed);
    fc_dataloaders *dls = text_dls(argv[optind], &a, f);
    if (!dls) return cli_fail(cmd);
    if (!want_learner) {
        *dls_out = dls;
        return -1;
    }
    fc_awd_lstm_opts awd = {.emb_sz = a.emb, .n_hid = a.hid, .n_layers = (int)a.layers};
    int quiet = f->quiet || f->json;
    fc_learner *learn = a.lm ? fc_language_model_learner(dls, .awd = awd, .drop_mult = a.drop, .pretrained = a.pretrained,
                                                         .quiet = quiet)
                             : fc_text_classifier_learner(dls, .awd = awd, .drop_mult = a.drop, .pretrained = a.pretrained,
                                                          .metrics = FC_METRICS(fc_accuracy()), .quiet = quiet);
    if (!learn) return cli_fail(cmd);
    *learn_out = learn;
    return -1;
}

int cli_train_text(int argc, char **argv) {
    cli_fit f;
    cli_fit_defaults(&f);
    fc_learner *learn = NULL;
    int st = cli_text_setup("train", help, argc, argv, NULL, &f, 1, NULL, &learn);
    if (st >= 0) return st;
    int lm = !fc_learner_dls(learn)->vocab;
    return cli_fit_export("train", learn, &f, "text", lm ? 1e-2 : 2e-2);
}

/* ---- predict ---- */

/* A file's contents (an IMDB review), else the argument itself. New; NULL with the error set. */
static char *text_of(const char *in) {
    struct stat sb;
    if (stat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        char *t = strdup(in);
        if (!t) fc_fail(FC_ERR_NOMEM, "predict: out of memory");
        return t;
    }
    FILE *fp = fopen(in, "rb");
    char *t = fp && sb.st_size < (1 << 26) ? malloc((size_t)sb.st_size + 1) : NULL;
    size_t n = t ? fread(t, 1, (size_t)sb.st_size, fp) : 0;
    if (fp) fclose(fp);
    if (!t) {
        fc_fail(FC_ERR_IO, "predict: cannot read '%s' (or it is over 64 MiB)", in);
        return NULL;
    }
    t[n] = 0;
    return t;
}

int cli_predict_text(fc_learner *learn, int n, char **inputs, int quiet, int json, int n_words, double temperature) {
    const fc_dataloaders *dls = fc_learner_dls(learn);
    int lm = !dls->vocab; /* a classifier has label classes, a language model none */
    fc_status st = FC_OK;
    if (json) printf("[");
    for (int i = 0; i < n && st == FC_OK; i++) {
        char *text = text_of(inputs[i]);
        if (!text) {
            st = fc_error_code();
            break;
        }
        if (lm) {
            char *gen = fc_lm_predict(learn, text, n_words, .temperature = temperature);
            st = gen ? FC_OK : fc_error_code();
            if (gen && json) {
                printf("%s\n {\"item\":", i ? "," : "");
                cli_json_string(stdout, inputs[i]);
                printf(",\"text\":");
                cli_json_string(stdout, gen);
                printf("}");
            } else if (gen) {
                printf("%s\n", gen);
            }
            free(gen);
        } else {
            fc_prediction p;
            st = fc_learner_predict(learn, text, &p);
            if (st == FC_OK) {
                int64_t c = fc_tensor_numel(p.probs);
                if (json) {
                    printf("%s\n {\"item\":", i ? "," : "");
                    cli_json_string(stdout, inputs[i]);
                    printf(",\"label\":");
                    cli_json_string(stdout, p.label);
                    printf(",\"index\":%lld,\"probs\":[", (long long)p.index);
                    for (int64_t j = 0; j < c; j++) printf("%s%.7g", j ? "," : "", fc_tensor_get(p.probs, j));
                    printf("]}");
                } else if (quiet) {
                    printf("%s\n", p.label);
                } else {
                    printf("%.60s\t%s\t%.4f\n", inputs[i], p.label,
                           p.index >= 0 && p.index < c ? fc_tensor_get(p.probs, p.index) : 0.0);
                }
                fc_prediction_free(&p);
            }
        }
        free(text);
    }
    if (json && st == FC_OK) printf("\n]\n");
    return st == FC_OK ? CLI_OK : cli_fail("predict");
}
