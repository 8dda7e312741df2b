/* fastc show-batch vision DIR -o PNG: the first training batch, decoded and drawn with its labels;
 * fastc show-batch tabular CSV --y COLUMN: its first rows decoded, as a table on stdout. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: fastc show-batch vision DIR -o PNG [options]\n"
    "       fastc show-batch tabular CSV --y COLUMN [options]   ('fastc show-batch tabular --help')\n"
    "Draws the first training batch (decoded, titled with the labels) as a PNG grid. Data options\n"
    "as for 'fastc train': --bs --size --train --valid --valid-pct --seed --workers.\n\n"
    "  -o, --output F    the PNG to write (required)\n"
    "  --max-n N         items to draw (default 9)\n"
    "  -h, --help        this help\n";

static const char app_help[] =
    "usage: fastc show-batch tabular CSV --y COLUMN [options]\n"
    "Prints the first rows of a training batch decoded (categories as their labels, continuous\n"
    "values de-normalized, the target), built from the same options as 'fastc train tabular'\n"
    "(--y --cat --cont --regression --category --bs --valid-pct --seed).\n\n"
    "  -n, --max-n N     rows to print (default 10)\n"
    "  -h, --help        this help\n";

enum { S_MAX_N = 1300 };

static int max_n_option(void *state, int c, char *arg) {
    if (c != 'n' && c != S_MAX_N) return 0;
    return cli_int("show-batch", "--max-n", arg, 1, 1024, state) ? 1 : -1;
}

int cli_show_batch_app(int argc, char **argv) {
    static const struct option own[] = {{"max-n", required_argument, 0, S_MAX_N}, {0, 0, 0, 0}};
    long max_n = 10;
    cli_extra extra = {own, max_n_option, &max_n, "o:qhn:"};
    cli_fit f;
    cli_fit_defaults(&f);
    fc_dataloaders *dls = NULL;
    int st = cli_tabular_setup("show-batch", app_help, argc, argv, &extra, &f, 0, &dls, NULL);
    if (st >= 0) return st;
    fc_status s = fc_tabular_show_batch(dls->train, stdout, (int)max_n);
    fc_dataloaders_free(dls);
    return s == FC_OK ? CLI_OK : cli_fail("show-batch");
}

int cli_show_batch(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "tabular")) return cli_show_batch_app(argc - 1, argv + 1);
    cli_vision v;
    cli_vision_defaults(&v);
    const char *out = NULL;
    long max_n = 9;
    struct option opts[32];
    int k = 0;
    for (const struct option *o = cli_vision_long_options(); o->name; o++) opts[k++] = *o;
    opts[k++] = (struct option){"output", required_argument, 0, 'o'};
    opts[k++] = (struct option){"max-n", required_argument, 0, 'n'};
    opts[k++] = (struct option){"help", no_argument, 0, 'h'};
    opts[k] = (struct option){0, 0, 0, 0};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1;) {
        if (c == 'h') return fputs(help, stdout), CLI_OK;
        if (c == 'o') out = optarg;
        else if (c == 'n') {
            if (!cli_int("show-batch", "--max-n", optarg, 1, 1024, &max_n)) return CLI_USAGE;
        } else if (c == '?' || c == ':') return cli_bad_option("show-batch", argv[optind - 1]);
        else if (cli_vision_option("show-batch", &v, c, optarg) < 0) return CLI_USAGE;
    }
    int st = cli_vision_args("show-batch", argc, argv, optind, &v);
    if (st != CLI_OK) return st;
    if (!out) return cli_usage_error("show-batch", "expected the PNG to write: -o FILE.png");
    fc_dataloaders *dls = cli_vision_dls(&v);
    if (!dls || fc_show_batch(dls->train, out, .max_n = (int)max_n, .vocab = dls->vocab, .n_vocab = dls->n_vocab) != FC_OK) {
        fc_dataloaders_free(dls);
        return cli_fail("show-batch");
    }
    printf("wrote %s\n", out);
    fc_dataloaders_free(dls);
    return CLI_OK;
}
