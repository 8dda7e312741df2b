/* fastc show-batch vision DIR -o PNG: the first training batch, decoded and drawn with its labels;
 * fastc show-batch tabular|collab|text DATA: its first items decoded, as a table on stdout or in
 * the file -o names (tabular: the columns; collab: user, item, rating; text: the text and its
 * label, or a language model's stream and its shifted target). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: fastc show-batch vision DIR -o PNG [options]\n"
    "       fastc show-batch tabular CSV --y COLUMN [options]   ('fastc show-batch tabular --help')\n"
    "       fastc show-batch collab RATINGS [options]          ('fastc show-batch collab --help')\n"
    "       fastc show-batch text CSV|DIR|TXT [options]        ('fastc show-batch text --help')\n"
    "Draws the first training batch (decoded, titled with the labels) as a PNG grid. Data options\n"
    "as for 'fastc train': --bs --size --train --valid --valid-pct --seed --workers.\n\n"
    "  -o, --output F    the PNG to write (required)\n"
    "  --max-n N         items to draw (default 9)\n"
    "  -h, --help        this help\n";

static const char tabular_help[] =
    "usage: fastc show-batch tabular CSV --y COLUMN [options]\n"
    "Prints the first rows of a training batch decoded (categories as their labels, continuous\n"
    "values de-normalized, the target), built from the same options as 'fastc train tabular'\n"
    "(--y --cat --cont --regression --category --bs --valid-pct --seed).\n\n"
    "  -n, --max-n N     rows to print (default 10)\n"
    "  -o, --output F    write the table to F instead of stdout\n"
    "  -h, --help        this help\n";

static const char collab_help[] =
    "usage: fastc show-batch collab RATINGS [options]\n"
    "Prints the first rows of a training batch decoded: user, item (their ids as in RATINGS) and\n"
    "rating, built from the same options as 'fastc train collab' (--sep --no-header --user --item\n"
    "--rating --bs --valid-pct --seed).\n\n"
    "  -n, --max-n N     rows to print (default 10)\n"
    "  --titles F        add the items' titles from an item table (ml-100k's u.item: '|'-separated,\n"
    "                    id then title)\n"
    "  -o, --output F    write the table to F instead of stdout\n"
    "  -h, --help        this help\n";

static const char text_help[] =
    "usage: fastc show-batch text CSV|DIR|TXT [options]\n"
    "Prints the first items of a training batch decoded: a classifier's texts (cut to 60\n"
    "characters) and labels; with --lm, a language model's input stream and its target (the\n"
    "stream shifted by one token). Built from the same options as 'fastc train text' (--lm\n"
    "--text-col --label-col --valid-col --train --valid --seq-len --min-freq --bs --valid-pct\n"
    "--seed).\n\n"
    "  -n, --max-n N     items to print (default 10)\n"
    "  -o, --output F    write the table to F instead of stdout\n"
    "  -h, --help        this help\n";

enum { S_MAX_N = 1500, S_TITLES }; /* apart from the applications' codes (1200-1400) */

typedef struct show_args {
    long max_n;
    const char *titles;
} show_args;

static int show_option(void *state, int c, char *arg) {
    show_args *a = state;
    if (c == S_TITLES) return a->titles = arg, 1;
    if (c != 'n' && c != S_MAX_N) return 0;
    return cli_int("show-batch", "--max-n", arg, 1, 1024, &a->max_n) ? 1 : -1;
}

/* The first training batch's (user, item, rating) rows, ids decoded, as an aligned table. */
static fc_status collab_table(fc_dataloaders *dls, FILE *f, long max_n, const char *titles_path) {
    int64_t n_users = 0, n_items = 0;
    const char *const *users = fc_collab_users(dls, &n_users), *const *items = fc_collab_items(dls, &n_items);
    if (!users || !items) return fc_error_code();
    char **titles = titles_path ? fc_collab_item_titles(dls, titles_path, '|') : NULL;
    if (titles_path && !titles) return fc_error_code();
    fc_tuple b = {0};
    fc_status st = fc_dataloader_one_batch(dls->train, &b);
    if (st == FC_OK && (b.n < 2 || !b.v[0].t || !b.v[1].t || fc_tensor_ndim(b.v[0].t) != 2))
        st = fc_fail(FC_ERR_INTERNAL, "show-batch: expected collab batches (x [B, 2] codes, y ratings)");
    int64_t n = st == FC_OK ? fc_tensor_dim(b.v[0].t, 0) : 0;
    if (n > max_n) n = max_n;
    int wu = 4, wi = 4;
    for (int64_t r = 0; r < n; r++) {
        int64_t u = (int64_t)fc_tensor_get(b.v[0].t, 2 * r), i = (int64_t)fc_tensor_get(b.v[0].t, 2 * r + 1);
        if (u < 0 || u >= n_users || i < 0 || i >= n_items) {
            st = fc_fail(FC_ERR_INTERNAL, "show-batch: code (%lld, %lld) outside the classes", (long long)u, (long long)i);
            break;
        }
        if ((int)strlen(users[u]) > wu) wu = (int)strlen(users[u]);
        if ((int)strlen(items[i]) > wi) wi = (int)strlen(items[i]);
    }
    if (st == FC_OK) {
        fprintf(f, "%-*s  %-*s  %s%s\n", wu, "user", wi, "item", "rating", titles ? "  title" : "");
        for (int64_t r = 0; r < n; r++) {
            int64_t u = (int64_t)fc_tensor_get(b.v[0].t, 2 * r), i = (int64_t)fc_tensor_get(b.v[0].t, 2 * r + 1);
            if (titles) fprintf(f, "%-*s  %-*s  %-6g  %s\n", wu, users[u], wi, items[i], fc_tensor_get(b.v[1].t, r), titles[i]);
            else fprintf(f, "%-*s  %-*s  %g\n", wu, users[u], wi, items[i], fc_tensor_get(b.v[1].t, r));
        }
    }
    fc_tuple_free(&b);
    if (titles) fc_collab_titles_free(titles, n_items);
    return st;
}

int cli_show_batch_app(int argc, char **argv) {
    static const struct option own[] = {{"titles", required_argument, 0, S_TITLES}, {"max-n", required_argument, 0, S_MAX_N},
                                        {0, 0, 0, 0}};
    const char *app = argv[0];
    show_args a = {.max_n = 10};
    /* --titles is collab's only */
    cli_extra extra = {strcmp(app, "collab") ? own + 1 : own, show_option, &a, "o:qhn:"};
    cli_fit f;
    cli_fit_defaults(&f);
    f.out = NULL; /* -o: the table's file; none: stdout */
    fc_dataloaders *dls = NULL;
    int st = !strcmp(app, "tabular") ? cli_tabular_setup("show-batch", tabular_help, argc, argv, &extra, &f, 0, &dls, NULL)
             : !strcmp(app, "collab") ? cli_collab_setup("show-batch", collab_help, argc, argv, &extra, &f, 0, &dls, NULL)
                                      : cli_text_setup("show-batch", text_help, argc, argv, &extra, &f, 0, &dls, NULL);
    if (st >= 0) return st;
    fc_status s;
    if (!strcmp(app, "text")) { /* fc_show_batch writes a file atomically itself */
        s = fc_show_batch(dls->train, f.out, .max_n = (int)a.max_n, .vocab = dls->vocab, .n_vocab = dls->n_vocab,
                          .out = stdout);
    } else {
        cli_file out;
        s = cli_file_open(&out, f.out);
        if (s == FC_OK)
            s = !strcmp(app, "tabular") ? fc_tabular_show_batch(dls->train, out.f, (int)a.max_n)
                                        : collab_table(dls, out.f, a.max_n, a.titles);
        s = cli_file_close(&out, s);
    }
    fc_dataloaders_free(dls);
    if (s != FC_OK) return cli_fail("show-batch");
    if (f.out && !f.quiet) printf("wrote %s\n", f.out);
    return CLI_OK;
}

int cli_show_batch(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "tabular") || !strcmp(argv[1], "collab") || !strcmp(argv[1], "text")))
        return cli_show_batch_app(argc - 1, argv + 1);
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
