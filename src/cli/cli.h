/* The fastc command: shared helpers of the subcommands (one file each). Exit codes: 0 ok,
 * 1 runtime failure (the library's message), 2 usage (what was expected and what to do next). */
#ifndef FASTC_CLI_H
#define FASTC_CLI_H

#include <stdio.h>

#include "fastc/fastc.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* One subcommand: argv[0] is its name ("train"). */
typedef int (*cli_cmd_fn)(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_lr_find(int argc, char **argv);
int cli_show_batch(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_interpret(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_data(int argc, char **argv);

/* Prints "fastc <cmd>: <message>" and the way to the help to stderr; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) FC_PRINTF(2, 3);
/* The usage error for an unknown option or one missing its value (getopt's '?'). */
int cli_bad_option(const char *cmd, const char *arg);
/* Prints the pending library error as "fastc <cmd>: <message>"; returns CLI_FAIL. */
int cli_fail(const char *cmd);
/* Numbers from option values; a bad one is a usage error (returns 0 and prints it). */
int cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
/* Parses the options of a command taking only -q/--quiet, --json and -h/--help (predict, info):
 * returns -1 to go on (optind at the first operand), else the exit code (help printed: CLI_OK;
 * a bad option: CLI_USAGE). */
int cli_quiet_json_options(const char *cmd, const char *help, int argc, char **argv, int *quiet, int *json);
/* s as a JSON string literal to f. */
void cli_json_string(FILE *f, const char *s);

/* The options that build vision data and a learner (train, lr-find, show-batch). */
typedef struct cli_vision {
    const char *dir, *arch, *train, *valid, *pretrained;
    double valid_pct, lr, widen;
    long epochs, bs, size, seed, workers;
    int fp16, bf16, quiet, json;
} cli_vision;
/* Defaults: arch resnet18, epochs 1, lr 0 (the learner's), bs 64, size 0 (no resize), seed 42. */
void cli_vision_defaults(cli_vision *v);
/* Parses one vision option (getopt_long's code c with optarg); 1 when it was one, 0 when not, -1
 * on a bad value (the usage error is printed). */
int cli_vision_option(const char *cmd, cli_vision *v, int c, const char *arg);
/* The getopt_long entries of those options (codes from 1000), terminated by a zero entry. */
struct option;
const struct option *cli_vision_long_options(void);
/* "train vision DIR": checks the application word and takes DIR; CLI_OK or CLI_USAGE. */
int cli_vision_args(const char *cmd, int argc, char **argv, int first, cli_vision *v);
/* The dataloaders of v (image folders) and a vision learner on them (NULL with the error set). */
fc_dataloaders *cli_vision_dls(const cli_vision *v);
fc_learner *cli_vision_learner(const cli_vision *v, fc_dataloaders *dls);

/* ---- tabular, collab and text (src/cli/tabular.c, collab.c, text.c) ---- */
/* "fastc train APP ...": argv[0] is the application word. */
int cli_train_tabular(int argc, char **argv);
int cli_train_collab(int argc, char **argv);
int cli_train_text(int argc, char **argv);
/* "fastc predict MODEL INPUT..." on a loaded learner of that application; inputs[n]. */
int cli_predict_tabular(fc_learner *learn, int n, char **inputs, int quiet, int json);
int cli_predict_collab(fc_learner *learn, int n, char **inputs, int quiet, int json);
/* A classifier: each input's class (a file: its contents); a language model: the input continued
 * by n_words sampled at temperature. */
int cli_predict_text(fc_learner *learn, int n, char **inputs, int quiet, int json, int n_words, double temperature);

/* The options every "train APP" shares (epochs, lr, bs, valid-pct, seed, output, quiet, json). */
typedef struct cli_fit {
    const char *out;
    double lr, valid_pct, wd;
    long epochs, bs, seed;
    int quiet, json;
} cli_fit;
/* Defaults: epochs 1, lr 0 (the application's), bs 64, valid-pct 0 (the application's), seed 42,
 * out model.fcm. */
void cli_fit_defaults(cli_fit *f);
/* Parses one of those options (getopt_long codes from 1100; -o, -q, -h) as cli_vision_option does
 * (1, 0 not one, -1 bad value). */
int cli_fit_option(const char *cmd, cli_fit *f, int c, const char *arg);
/* An application's own option (getopt_long's code c with optarg, which it may split in place) into
 * state: 1 taken, 0 not one, -1 a bad value (the usage error printed). */
typedef int (*cli_app_option_fn)(void *state, int c, char *arg);
/* Parses the options of "train APP": the app's own (own, terminated by a zero entry; at most 48)
 * through app_option, and the shared fit options into f. Returns -1 to go on (optind at the first
 * operand), else the exit code (help printed: CLI_OK; a bad option or value: CLI_USAGE). */
int cli_fit_parse(const char *cmd, const char *help, int argc, char **argv, const struct option *own,
                  cli_app_option_fn app_option, void *state, cli_fit *f);
/* Comma-separated names into out (arg is split in place; at most max). 0 on a usage error. */
int cli_names(const char *cmd, const char *opt, char *arg, const char **buf, int max, fc_names *out);
/* The last epoch's recorder values, the model, app and arch (each left out when NULL) as one JSON
 * object line to stdout. */
void cli_print_fit_json(fc_learner *learn, const char *out, const char *app, const char *arch);
/* fit_one_cycle (lr: the default when --lr is not given), export, then "exported F" or the JSON;
 * frees learn; the exit code. A failure leaves no output file (export writes atomically). */
int cli_fit_export(const char *cmd, fc_learner *learn, const cli_fit *f, const char *app, double lr);

/* ---- lr-find, show-batch and interpret on tabular / collab / text ---- */
/* cli_fit_parse with the getopt short options shorts ("o:qh" plus the caller's). */
int cli_fit_parse_short(const char *cmd, const char *help, const char *shorts, int argc, char **argv,
                        const struct option *own, cli_app_option_fn app_option, void *state, cli_fit *f);
/* A subcommand's own options on top of an application's: getopt_long entries (zero-terminated),
 * their handler (as cli_app_option_fn) and the short option string (NULL: "o:qh"). */
typedef struct cli_extra {
    const struct option *opts;
    cli_app_option_fn option;
    void *state;
    const char *shorts;
} cli_extra;
/* "APP DATA [options]" (argv[0] the application word) as 'fastc train APP' parses it, plus extra:
 * builds the dataloaders into *dls (want_learner 0) or the learner on them into *learn (it owns
 * them). Returns -1 to go on, else the exit code (help printed with help: CLI_OK; usage: CLI_USAGE;
 * the library failing: CLI_FAIL, its message printed as "fastc cmd: ..."). */
int cli_tabular_setup(const char *cmd, const char *help, int argc, char **argv, const cli_extra *extra, cli_fit *f,
                      int want_learner, fc_dataloaders **dls, fc_learner **learn);
/* The same for collab (collab.c: "collab RATINGS") and text (text.c: "text CSV|DIR|TXT"). */
int cli_collab_setup(const char *cmd, const char *help, int argc, char **argv, const cli_extra *extra, cli_fit *f,
                     int want_learner, fc_dataloaders **dls, fc_learner **learn);
int cli_text_setup(const char *cmd, const char *help, int argc, char **argv, const cli_extra *extra, cli_fit *f,
                   int want_learner, fc_dataloaders **dls, fc_learner **learn);
/* cli_fit_parse_short over an application's options (own, app_option, state; zero-terminated) and
 * a subcommand's extra ones, tried in that order. Returns as cli_fit_parse. */
int cli_app_parse(const char *cmd, const char *help, int argc, char **argv, const struct option *own,
                  cli_app_option_fn app_option, void *state, const cli_extra *extra, cli_fit *f);
/* "fastc lr-find APP" and "fastc show-batch APP" for tabular, collab and text (argv[0] the
 * application word; lr_find.c, show_batch.c). */
int cli_lr_find_app(int argc, char **argv);
int cli_show_batch_app(int argc, char **argv);
/* "fastc interpret MODEL DATA" on a loaded collab or text model (interpret_apps.c); takes learn. */
typedef struct cli_interp_opts {
    const char *data, *plot, *valid;
    long k;
    /* collab: the ratings file's layout */
    const char *user, *item, *rating;
    char sep;
    int no_header;
    /* text: a CSV's columns */
    const char *text_col, *label_col, *valid_col;
    int json; /* --json: one JSON object on stdout instead of the text (the PNGs still written) */
} cli_interp_opts;
int cli_interpret_collab(fc_learner *learn, const cli_interp_opts *o);
int cli_interpret_text(fc_learner *learn, const cli_interp_opts *o);
/* interpret --json for a classifier (vision, tabular, text): item writes the members naming item i
 * of a top loss (each followed by a comma: "file":"x.png",). */
typedef void (*cli_interp_item_fn)(const void *state, int64_t i);
/* One JSON object line on stdout: {"application", "items", "accuracy", "classes": [...],
 * "confusion_matrix": [[...] one row per actual class], "most_confused": [{actual, predicted,
 * count}] (every off-diagonal cell >= 1, largest first), "top_losses": [{index, <item's members>,
 * actual, predicted, loss, prob}] (k, largest first; prob: the predicted class's)}. Nothing is
 * printed on failure. */
fc_status cli_interp_print_json(const fc_interp *in, const char *app, int64_t k, cli_interp_item_fn item,
                                const void *state);
/* x as a JSON number (%.9g), null when it is not finite. */
void cli_json_number(FILE *f, double x);

/* ---- writing a text file atomically (tmp + fsync + rename) ---- */
typedef struct cli_file {
    FILE *f;
    char tmp[4200];
    const char *path;
} cli_file;
/* path NULL: f is stdout. On failure the error is set (FC_ERR_IO naming the path). */
fc_status cli_file_open(cli_file *o, const char *path);
/* Flushes, syncs and renames into place (st != FC_OK: removes the temporary); returns st or the
 * first failure. */
fc_status cli_file_close(cli_file *o, fc_status st);

#endif
