/* fastc lr-find vision DIR | tabular CSV | collab RATINGS | text DATA: the learning-rate finder's
 * suggestions on the learner 'fastc train' would build, and its plot with -o / --plot. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: fastc lr-find vision DIR [options]\n"
    "       fastc lr-find tabular CSV --y COLUMN [options]   ('fastc lr-find tabular --help')\n"
    "       fastc lr-find collab RATINGS [options]          ('fastc lr-find collab --help')\n"
    "       fastc lr-find text CSV|DIR|TXT [options]        ('fastc lr-find text --help')\n"
    "Runs fastai's learning-rate finder on a new learner (the same data and model options as\n"
    "'fastc train': --arch --widen --pretrained --bs --size --train --valid --valid-pct --seed\n"
    "--workers --fp16 --bf16) and prints the suggested learning rates.\n\n"
    "  -o, --plot F      write the loss-vs-lr plot there (PNG)\n"
    "  --iters N         steps of the sweep (default 100)\n"
    "  --json            print the suggestions as JSON\n"
    "  -h, --help        this help\n";

static const char tabular_help[] =
    "usage: fastc lr-find tabular CSV --y COLUMN [options]\n"
    "Runs fastai's learning-rate finder on a new tabular learner, built from the same options as\n"
    "'fastc train tabular' (--y --cat --cont --regression --category --layers --bs --valid-pct\n"
    "--seed), and prints the suggested learning rates.\n\n"
    "  -o, --plot F      write the loss-vs-lr plot there (PNG)\n"
    "  --iters N         steps of the sweep (default 100)\n"
    "  --json            print the suggestions as JSON\n"
    "  -h, --help        this help\n";

static const char collab_help[] =
    "usage: fastc lr-find collab RATINGS [options]\n"
    "Runs fastai's learning-rate finder on a new collab learner, built from the same options as\n"
    "'fastc train collab' (--sep --no-header --user --item --rating --factors --nn --y-range --wd\n"
    "--bs --valid-pct --seed), and prints the suggested learning rates.\n\n"
    "  -o, --plot F      write the loss-vs-lr plot there (PNG)\n"
    "  --iters N         steps of the sweep (default 100)\n"
    "  --json            print the suggestions as JSON\n"
    "  -h, --help        this help\n";

static const char text_help[] =
    "usage: fastc lr-find text CSV|DIR|TXT [options]\n"
    "Runs fastai's learning-rate finder on a new AWD-LSTM classifier (or, with --lm, language\n"
    "model), built from the same options as 'fastc train text' (--lm --text-col --label-col\n"
    "--valid-col --train --valid --pretrained --emb-sz --n-hid --n-layers --drop-mult --seq-len\n"
    "--min-freq --bs --valid-pct --seed), and prints the suggested learning rates.\n\n"
    "  -o, --plot F      write the loss-vs-lr plot there (PNG)\n"
    "  --iters N         steps of the sweep (default 100)\n"
    "  --json            print the suggestions as JSON\n"
    "  -h, --help        this help\n";

typedef struct lr_args {
    const char *plot;
    long iters;
} lr_args;

enum { L_PLOT = 1700, L_ITERS }; /* codes apart from the applications' (1200 tabular, 1300 collab, 1400 text) */

static int lr_option(void *state, int c, char *arg) {
    lr_args *a = state;
    if (c == L_PLOT) return a->plot = arg, 1;
    if (c == L_ITERS) return cli_int("lr-find", "--iters", arg, 2, 100000, &a->iters) ? 1 : -1;
    return 0;
}

/* x as a JSON number, null when it is not finite (too few points for a suggestion). */
static void json_number(const char *key, double x, const char *sep) {
    if (isfinite(x)) printf("\"%s\":%.6g%s", key, x, sep);
    else printf("\"%s\":null%s", key, sep);
}

static void print_suggestions(const fc_lr_suggestions *s, const char *plot, int json) {
    if (json) {
        printf("{");
        json_number("valley", s->valley, ",");
        json_number("minimum", s->minimum, ",");
        json_number("steep", s->steep, ",");
        printf("\"points\":%d}\n", s->n);
    } else {
        printf("valley %.3g\nminimum %.3g\nsteep %.3g\n%s%s", s->valley, s->minimum, s->steep, plot ? "plot: " : "",
               plot ? plot : "");
        if (plot) printf("\n");
    }
    if (!isfinite(s->valley))
        fprintf(stderr, "fastc lr-find: too few points for suggestions (%d recorded; like fastai, the first tenth and the "
                "last 5 are left out): raise --iters\n", s->n);
}

int cli_lr_find_app(int argc, char **argv) {
    static const struct option own[] = {{"plot", required_argument, 0, L_PLOT}, {"iters", required_argument, 0, L_ITERS},
                                        {0, 0, 0, 0}};
    const char *app = argv[0];
    lr_args a = {.iters = 100};
    cli_extra extra = {own, lr_option, &a, NULL};
    cli_fit f;
    cli_fit_defaults(&f);
    f.out = NULL; /* -o: the plot, as --plot */
    fc_learner *learn = NULL;
    int st = !strcmp(app, "tabular") ? cli_tabular_setup("lr-find", tabular_help, argc, argv, &extra, &f, 1, NULL, &learn)
             : !strcmp(app, "collab") ? cli_collab_setup("lr-find", collab_help, argc, argv, &extra, &f, 1, NULL, &learn)
                                      : cli_text_setup("lr-find", text_help, argc, argv, &extra, &f, 1, NULL, &learn);
    if (st >= 0) return st;
    if (f.out && a.plot && strcmp(f.out, a.plot) != 0) {
        fc_learner_free(learn);
        return cli_usage_error("lr-find", "-o and --plot both name the plot: give one ('%s' or '%s')", f.out, a.plot);
    }
    const char *plot = a.plot ? a.plot : f.out;
    fc_lr_suggestions s = {0};
    if (fc_lr_find(learn, &s, .num_it = (int)a.iters, .plot_path = plot) != FC_OK) {
        fc_learner_free(learn);
        return cli_fail("lr-find");
    }
    print_suggestions(&s, plot, f.json);
    fc_learner_free(learn);
    return CLI_OK;
}

int cli_lr_find(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "tabular") || !strcmp(argv[1], "collab") || !strcmp(argv[1], "text")))
        return cli_lr_find_app(argc - 1, argv + 1);
    cli_vision v;
    cli_vision_defaults(&v);
    const char *plot = NULL;
    long iters = 100;
    struct option opts[32];
    int k = 0;
    for (const struct option *o = cli_vision_long_options(); o->name; o++) opts[k++] = *o;
    opts[k++] = (struct option){"plot", required_argument, 0, 'p'};
    opts[k++] = (struct option){"output", required_argument, 0, 'p'};
    opts[k++] = (struct option){"iters", required_argument, 0, 'i'};
    opts[k++] = (struct option){"json", no_argument, 0, 'j'};
    opts[k++] = (struct option){"help", no_argument, 0, 'h'};
    opts[k] = (struct option){0, 0, 0, 0};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1;) {
        if (c == 'h') return fputs(help, stdout), CLI_OK;
        if (c == 'p' || c == 'o') plot = optarg;
        else if (c == 'i') {
            if (!cli_int("lr-find", "--iters", optarg, 2, 100000, &iters)) return CLI_USAGE;
        } else if (c == 'j') v.json = 1;
        else if (c == '?' || c == ':') return cli_bad_option("lr-find", argv[optind - 1]);
        else if (cli_vision_option("lr-find", &v, c, optarg) < 0) return CLI_USAGE;
    }
    int st = cli_vision_args("lr-find", argc, argv, optind, &v);
    if (st != CLI_OK) return st;
    v.quiet = 1;
    fc_learner *learn = cli_vision_learner(&v, cli_vision_dls(&v));
    fc_lr_suggestions s = {0};
    if (!learn || fc_lr_find(learn, &s, .num_it = (int)iters, .plot_path = plot) != FC_OK) {
        fc_learner_free(learn);
        return cli_fail("lr-find");
    }
    print_suggestions(&s, plot, v.json);
    fc_learner_free(learn);
    return CLI_OK;
}
