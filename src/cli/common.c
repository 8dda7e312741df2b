/* Helpers shared by the subcommands: messages and exit codes, number parsing, the vision options
 * that build image dataloaders and a learner. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fastc %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'fastc %s --help' for its usage.\n", cmd);
    return CLI_USAGE;
}

int cli_bad_option(const char *cmd, const char *arg) {
    if (arg && arg[0] == '-' && strchr(arg, '=') == NULL)
        return cli_usage_error(cmd, "unknown option '%s' (or it needs a value)", arg);
    return cli_usage_error(cmd, "cannot use option '%s'", arg ? arg : "");
}

int cli_fail(const char *cmd) {
    const char *m = fc_error_message();
    fprintf(stderr, "fastc %s: %s\n", cmd, m && m[0] ? m : "failed");
    fc_error_clear();
    return CLI_FAIL;
}

int cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *e = NULL;
    errno = 0;
    long v = s ? strtol(s, &e, 10) : 0;
    if (!s || !*s || *e || errno || v < lo || v > hi) {
        cli_usage_error(cmd, "%s expects an integer in [%ld, %ld], found '%s'", opt, lo, hi, s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

int cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out) {
    char *e = NULL;
    errno = 0;
    double v = s ? strtod(s, &e) : 0;
    if (!s || !*s || *e || errno || !(v >= lo && v <= hi)) {
        cli_usage_error(cmd, "%s expects a number in [%g, %g], found '%s'", opt, lo, hi, s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* ---- vision options ---- */

enum { O_ARCH = 1000, O_EPOCHS, O_LR, O_BS, O_SIZE, O_VALID, O_VALID_PCT, O_TRAIN, O_SEED, O_FP16, O_BF16,
       O_WIDEN, O_PRETRAINED, O_WORKERS };
static const struct option vision_opts[] = {
    {"arch", required_argument, 0, O_ARCH},         {"epochs", required_argument, 0, O_EPOCHS},
    {"lr", required_argument, 0, O_LR},             {"bs", required_argument, 0, O_BS},
    {"size", required_argument, 0, O_SIZE},         {"valid", required_argument, 0, O_VALID},
    {"valid-pct", required_argument, 0, O_VALID_PCT}, {"train", required_argument, 0, O_TRAIN},
    {"seed", required_argument, 0, O_SEED},         {"fp16", no_argument, 0, O_FP16},
    {"bf16", no_argument, 0, O_BF16},               {"widen", required_argument, 0, O_WIDEN},
    {"pretrained", required_argument, 0, O_PRETRAINED}, {"workers", required_argument, 0, O_WORKERS},
    {0, 0, 0, 0},
};
const struct option *cli_vision_long_options(void) { return vision_opts; }

void cli_vision_defaults(cli_vision *v) {
    *v = (cli_vision){.arch = "resnet18", .epochs = 1, .bs = 64, .seed = 42};
}

int cli_vision_option(const char *cmd, cli_vision *v, int c, const char *arg) {
    switch (c) {
    case O_ARCH: v->arch = arg; return 1;
    case O_EPOCHS: return cli_int(cmd, "--epochs", arg, 1, 100000, &v->epochs) ? 1 : -1;
    case O_LR: return cli_double(cmd, "--lr", arg, 1e-12, 100, &v->lr) ? 1 : -1;
    case O_BS: return cli_int(cmd, "--bs", arg, 1, 1 << 20, &v->bs) ? 1 : -1;
    case O_SIZE: return cli_int(cmd, "--size", arg, 1, 1 << 14, &v->size) ? 1 : -1;
    case O_VALID: v->valid = arg; return 1;
    case O_VALID_PCT: return cli_double(cmd, "--valid-pct", arg, 1e-6, 0.999, &v->valid_pct) ? 1 : -1;
    case O_TRAIN: v->train = arg; return 1;
    case O_SEED: return cli_int(cmd, "--seed", arg, 0, 0x7fffffff, &v->seed) ? 1 : -1;
    case O_FP16: v->fp16 = 1; return 1;
    case O_BF16: v->bf16 = 1; return 1;
    case O_WIDEN: return cli_double(cmd, "--widen", arg, 0.01, 8, &v->widen) ? 1 : -1;
    case O_PRETRAINED: v->pretrained = arg; return 1;
    case O_WORKERS: return cli_int(cmd, "--workers", arg, 0, 256, &v->workers) ? 1 : -1;
    default: return 0;
    }
}

int cli_vision_args(const char *cmd, int argc, char **argv, int first, cli_vision *v) {
    int n = argc - first;
    if (n < 1) return cli_usage_error(cmd, "expected an application and a data folder, e.g. 'fastc %s vision DIR'", cmd);
    if (strcmp(argv[first], "vision") != 0) /* the other applications were dispatched before */
        return cli_usage_error(cmd, "expected an application (vision, tabular, collab or text), found '%s'", argv[first]);
    if (n < 2) return cli_usage_error(cmd, "expected a data folder after 'vision' (a folder with train/ and valid/ "
                                      "subfolders of class folders, as from 'fastc data get mnist_sample')");
    if (n > 2) return cli_usage_error(cmd, "expected one data folder, found also '%s'", argv[first + 2]);
    if (v->fp16 && v->bf16) return cli_usage_error(cmd, "--fp16 and --bf16 exclude each other");
    v->dir = argv[first + 1];
    return CLI_OK;
}

fc_dataloaders *cli_vision_dls(const cli_vision *v) {
    fc_tfms item = v->size ? FC_TFMS(fc_resize(v->size)) : (fc_tfms){0};
    return fc_image_dls_from_folder(v->dir, .train = v->train, .valid = v->valid, .valid_pct = v->valid_pct,
                                    .item_tfms = item, .bs = v->bs, .seed = (uint64_t)v->seed,
                                    .n_workers = (int)v->workers);
}

fc_learner *cli_vision_learner(const cli_vision *v, fc_dataloaders *dls) {
    fc_manual_seed((uint64_t)v->seed);
    fc_callbacks cbs = {0};
    fc_callback *mp = NULL;
    if (v->fp16 || v->bf16) {
        mp = fc_mixed_precision(.dtype = v->fp16 ? FC_DTYPE_F16 : FC_DTYPE_BF16);
        cbs = (fc_callbacks){1, &mp};
    }
    return fc_vision_learner(dls, v->arch, .pretrained = v->pretrained, .model = {.widen = v->widen},
                             .metrics = FC_METRICS(fc_error_rate(), fc_accuracy()), .cbs = cbs, .lr = v->lr,
                             .quiet = v->quiet || v->json);
}

int cli_quiet_json_options(const char *cmd, const char *help, int argc, char **argv, int *quiet, int *json) {
    static const struct option opts[] = {{"quiet", no_argument, 0, 'q'}, {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "qh", opts, NULL)) != -1;) {
        if (c == 'h') return fputs(help, stdout), CLI_OK;
        if (c == 'q') *quiet = 1;
        else if (c == 'j') *json = 1;
        else return cli_bad_option(cmd, argv[optind - 1]);
    }
    return -1;
}

/* ---- the options every "train APP" shares ---- */

enum { F_EPOCHS = 1100, F_LR, F_BS, F_VALID_PCT, F_SEED, F_WD };
static const struct option fit_opts[] = {
    {"epochs", required_argument, 0, F_EPOCHS}, {"lr", required_argument, 0, F_LR},
    {"bs", required_argument, 0, F_BS},         {"valid-pct", required_argument, 0, F_VALID_PCT},
    {"seed", required_argument, 0, F_SEED},     {"wd", required_argument, 0, F_WD},
    {"output", required_argument, 0, 'o'},      {"quiet", no_argument, 0, 'q'},
    {"json", no_argument, 0, 'j'},              {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

void cli_fit_defaults(cli_fit *f) { *f = (cli_fit){.out = "model.fcm", .epochs = 1, .bs = 64, .seed = 42}; }

int cli_fit_option(const char *cmd, cli_fit *f, int c, const char *arg) {
    switch (c) {
    case F_EPOCHS: return cli_int(cmd, "--epochs", arg, 1, 100000, &f->epochs) ? 1 : -1;
    case F_LR: return cli_double(cmd, "--lr", arg, 1e-12, 100, &f->lr) ? 1 : -1;
    case F_BS: return cli_int(cmd, "--bs", arg, 1, 1 << 20, &f->bs) ? 1 : -1;
    case F_VALID_PCT: return cli_double(cmd, "--valid-pct", arg, 1e-6, 0.999, &f->valid_pct) ? 1 : -1;
    case F_SEED: return cli_int(cmd, "--seed", arg, 0, 0x7fffffff, &f->seed) ? 1 : -1;
    case F_WD: return cli_double(cmd, "--wd", arg, 0, 10, &f->wd) ? 1 : -1;
    case 'o': f->out = arg; return 1;
    case 'q': f->quiet = 1; return 1;
    case 'j': f->json = 1; return 1;
    default: return 0;
    }
}

int cli_fit_parse(const char *cmd, const char *help, int argc, char **argv, const struct option *own,
                  cli_app_option_fn app_option, void *state, cli_fit *f) {
    return cli_fit_parse_short(cmd, help, "o:qh", argc, argv, own, app_option, state, f);
}

int cli_fit_parse_short(const char *cmd, const char *help, const char *shorts, int argc, char **argv,
                        const struct option *own, cli_app_option_fn app_option, void *state, cli_fit *f) {
    struct option opts[64];
    int k = 0;
    for (const struct option *o = own; o->name && k < 48; o++) opts[k++] = *o;
    for (const struct option *o = fit_opts; o->name; o++) opts[k++] = *o;
    opts[k] = (struct option){0, 0, 0, 0};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, shorts, opts, NULL)) != -1;) {
        if (c == 'h') return fputs(help, stdout), CLI_OK;
        if (c == '?' || c == ':') return cli_bad_option(cmd, argv[optind - 1]);
        int r = cli_fit_option(cmd, f, c, optarg);
        if (r == 0) r = app_option(state, c, optarg);
        if (r < 0) return CLI_USAGE;
    }
    return -1;
}

int cli_names(const char *cmd, const char *opt, char *arg, const char **buf, int max, fc_names *out) {
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == max) {
            cli_usage_error(cmd, "%s takes at most %d names", opt, max);
            return 0;
        }
        buf[n++] = tok;
    }
    if (!n) {
        cli_usage_error(cmd, "%s expects comma-separated column names, found '%s'", opt, arg);
        return 0;
    }
    *out = (fc_names){n, buf};
    return 1;
}

void cli_print_fit_json(fc_learner *learn, const char *out, const char *app, const char *arch) {
    int ne = fc_recorder_n_epochs(learn), nc = fc_recorder_n_cols(learn);
    const double *vals = fc_recorder_values(learn);
    printf("{\"model\":");
    cli_json_string(stdout, out);
    if (app) {
        printf(",\"application\":");
        cli_json_string(stdout, app);
    }
    if (arch) {
        printf(",\"arch\":");
        cli_json_string(stdout, arch);
    }
    printf(",\"epochs\":%d", ne);
    for (int c = 0; c < nc && ne > 0; c++) {
        printf(",");
        cli_json_string(stdout, fc_recorder_col_name(learn, c));
        double x = vals[(ne - 1) * nc + c];
        if (x == x) printf(":%.6g", x);
        else printf(":null");
    }
    const fc_dataloaders *dls = fc_learner_dls(learn);
    printf(",\"vocab\":[");
    for (int64_t i = 0; dls->vocab && i < dls->n_vocab; i++) {
        if (i) printf(",");
        cli_json_string(stdout, dls->vocab[i]);
    }
    printf("]}\n");
}

int cli_fit_export(const char *cmd, fc_learner *learn, const cli_fit *f, const char *app, double lr) {
    if (!learn) return cli_fail(cmd);
    fc_status s = fc_fit_one_cycle(learn, (int)f->epochs, f->lr > 0 ? f->lr : lr, .wd = f->wd);
    if (s == FC_OK) s = fc_learner_export(learn, f->out);
    if (s != FC_OK) {
        fc_learner_free(learn);
        return cli_fail(cmd);
    }
    if (f->json) cli_print_fit_json(learn, f->out, app, NULL);
    else if (!f->quiet) printf("exported %s\n", f->out);
    fc_learner_free(learn);
    return CLI_OK;
}

/* ---- an application's options chained with a subcommand's ---- */

typedef struct app_chain {
    cli_app_option_fn app, extra;
    void *app_state, *extra_state;
} app_chain;

static int chain_option(void *state, int c, char *arg) {
    app_chain *ch = state;
    int r = ch->app(ch->app_state, c, arg);
    return r == 0 && ch->extra ? ch->extra(ch->extra_state, c, arg) : r;
}

int cli_app_parse(const char *cmd, const char *help, int argc, char **argv, const struct option *own,
                  cli_app_option_fn app_option, void *state, const cli_extra *extra, cli_fit *f) {
    struct option opts[48];
    int k = 0;
    for (const struct option *o = own; o->name && k < 40; o++) opts[k++] = *o;
    for (const struct option *o = extra ? extra->opts : NULL; o && o->name && k < 47; o++) opts[k++] = *o;
    opts[k] = (struct option){0, 0, 0, 0};
    app_chain ch = {app_option, extra ? extra->option : NULL, state, extra ? extra->state : NULL};
    return cli_fit_parse_short(cmd, help, extra && extra->shorts ? extra->shorts : "o:qh", argc, argv, opts,
                               chain_option, &ch, f);
}

/* ---- text files written atomically ---- */

fc_status cli_file_open(cli_file *o, const char *path) {
    *o = (cli_file){.f = stdout, .path = path};
    if (!path) return FC_OK;
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp%ld", path, (long)getpid());
    if (!(o->f = fopen(o->tmp, "w")))
        return fc_fail(FC_ERR_IO, "cannot write '%s': %s", o->tmp, strerror(errno));
    return FC_OK;
}

fc_status cli_file_close(cli_file *o, fc_status st) {
    if (!o->path || !o->f) return st;
    int bad = fflush(o->f) != 0 || fsync(fileno(o->f)) != 0;
    bad |= fclose(o->f) != 0;
    o->f = NULL;
    if (st == FC_OK && bad) st = fc_fail(FC_ERR_IO, "cannot write '%s': %s", o->tmp, strerror(errno));
    if (st == FC_OK && rename(o->tmp, o->path) != 0)
        st = fc_fail(FC_ERR_IO, "cannot rename '%s' to '%s': %s", o->tmp, o->path, strerror(errno));
    if (st != FC_OK) remove(o->tmp);
    return st;
}
