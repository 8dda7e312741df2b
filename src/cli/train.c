/* fastc train vision DIR: image folders -> vision_learner -> fit_one_cycle (fine_tune with
 * --pretrained) -> export. "train tabular", "collab" and "text" live in tabular.c, collab.c, text.c. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: fastc train vision DIR [options]\n"
    "       fastc train tabular CSV --y COLUMN [options]   ('fastc train tabular --help')\n"
    "       fastc train collab RATINGS [options]           ('fastc train collab --help')\n"
    "       fastc train text CSV|DIR [options]             ('fastc train text --help')\n"
    "Trains a classifier on the images under DIR (DIR/train and DIR/valid, one folder per class, or\n"
    "a random split with --valid-pct) and exports it as one file for 'fastc predict'.\n\n"
    "  --arch NAME       resnet18 (default), resnet34, resnet50, xresnet18/34/50, resnet9, resnet20_cifar\n"
    "  --widen X         channel multiplier of xresnet / resnet9 (0.25: small and fast)\n"
    "  --pretrained F    start from these weights (fine_tune); default: random init, fit_one_cycle\n"
    "  --epochs N        epochs (default 1)\n"
    "  --lr X            learning rate (default 1e-3; 2e-3 base lr with --pretrained)\n"
    "  --bs N            batch size (default 64)\n"
    "  --size N          resize every image to N x N (default: keep; images must then agree)\n"
    "  --train NAME      training subfolder (default train)\n"
    "  --valid NAME      validation subfolder (default valid)\n"
    "  --valid-pct X     random validation split of all images instead of the folders\n"
    "  --seed N          seed of the split, shuffling and init (default 42)\n"
    "  --workers N       data loading threads (default: fastc's thread count)\n"
    "  --fp16 | --bf16   mixed precision\n"
    "  -o, --output F    the exported model (default model.fcm)\n"
    "  -q, --quiet       no progress table\n"
    "  --json            print the results as JSON (implies --quiet)\n"
    "  -h, --help        this help\n";

int cli_train(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "tabular")) return cli_train_tabular(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "collab")) return cli_train_collab(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "text")) return cli_train_text(argc - 1, argv + 1);
    cli_vision v;
    cli_vision_defaults(&v);
    const char *out = "model.fcm";
    struct option opts[32];
    int k = 0;
    for (const struct option *o = cli_vision_long_options(); o->name; o++) opts[k++] = *o;
    opts[k++] = (struct option){"output", required_argument, 0, 'o'};
    opts[k++] = (struct option){"quiet", no_argument, 0, 'q'};
    opts[k++] = (struct option){"json", no_argument, 0, 'j'};
    opts[k++] = (struct option){"help", no_argument, 0, 'h'};
    opts[k] = (struct option){0, 0, 0, 0};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1;) {
        if (c == 'h') return fputs(help, stdout), CLI_OK;
        if (c == 'o') out = optarg;
        else if (c == 'q') v.quiet = 1;
        else if (c == 'j') v.json = 1;
        else if (c == '?' || c == ':') return cli_bad_option("train", argv[optind - 1]);
        else {
            int r = cli_vision_option("train", &v, c, optarg);
            if (r < 0) return CLI_USAGE;
        }
    }
    int st = cli_vision_args("train", argc, argv, optind, &v);
    if (st != CLI_OK) return st;
    fc_learner *learn = cli_vision_learner(&v, cli_vision_dls(&v));
    if (!learn) return cli_fail("train");
    fc_status s = v.pretrained ? fc_fine_tune(learn, (int)v.epochs, .base_lr = v.lr)
                               : fc_fit_one_cycle(learn, (int)v.epochs, v.lr > 0 ? v.lr : 1e-3);
    if (s == FC_OK) s = fc_learner_export(learn, out);
    if (s != FC_OK) {
        fc_learner_free(learn);
        return cli_fail("train");
    }
    if (v.json) cli_print_fit_json(learn, out, NULL, v.arch);
    else if (!v.quiet) printf("exported %s\n", out);
    fc_learner_free(learn);
    return CLI_OK;
}
