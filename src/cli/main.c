/* fastc: train, inspect and use models from the shell (the library's three-line API behind
 * subcommands). `fastc --help` lists them; each has its own --help. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    cli_cmd_fn fn;
    const char *what;
} cmds[] = {
    {"train", cli_train, "train a model (vision, tabular, collab, text) on a dataset and export it"},
    {"lr-find", cli_lr_find, "run the learning-rate finder and print its suggestions"},
    {"show-batch", cli_show_batch, "draw a batch of training data as a PNG"},
    {"predict", cli_predict, "predict images, table rows, (user, item) ratings or texts with an exported model"},
    {"interpret", cli_interpret, "confusion matrix and top losses of a model on labelled data"},
    {"info", cli_info, "what an exported model holds: metadata, layers, parameter count"},
    {"data", cli_data, "list and extract the datasets (untar_data)"},
};
#define N_CMDS ((int)(sizeof cmds / sizeof cmds[0]))

static void usage(FILE *f) {
    fprintf(f, "usage: fastc <command> [options]\n\ncommands:\n");
    for (int i = 0; i < N_CMDS; i++) fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].what);
    fprintf(f, "\n'fastc <command> --help' shows a command's options; 'man fastc' has examples.\n");
}

int main(int argc, char **argv) {
    /* a static link keeps an application's registration only when asked: predict and info load
     * models of every application */
    if (fc_vision_register() != FC_OK || fc_tabular_register() != FC_OK || fc_collab_register() != FC_OK ||
        fc_text_register() != FC_OK)
        return cli_fail("start");
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("fastc %s\n", FASTC_CLI_VERSION);
        return CLI_OK;
    }
    for (int i = 0; i < N_CMDS; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "fastc: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
