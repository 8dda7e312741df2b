/* The fastc command end to end, run as a child process (posix_spawn): usage errors exit 2 with a
 * message pointing to --help, runtime failures exit 1 naming the file, every subcommand has --help,
 * and on MNIST_SAMPLE: train one epoch of a small resnet9, predict a file, interpret, info. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fct.h"
#include "vision/vision_data.h"

extern char **environ;

/* Runs fastc with args (NULL-terminated), stdout and stderr into out.txt / err.txt; its exit code. */
static int run(const char *const *args) {
    const char *argv[32] = {FASTC_BIN};
    int n = 1;
    for (; args[n - 1] && n < 31; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "cli_out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, "cli_err.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, FASTC_BIN, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path) {
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    return buf;
}
static int out_has(const char *s) { return strstr(slurp("cli_out.txt"), s) != NULL; }
static int err_has(const char *s) { return strstr(slurp("cli_err.txt"), s) != NULL; }

#define RUN(...) run((const char *const[]){__VA_ARGS__, NULL})

FCT_TEST(test_cli_usage_errors_exit_2) {
    FCT_EQ_INT(run((const char *const[]){NULL}), 2);
    FCT_TRUE(err_has("usage: fastc <command>"));
    FCT_EQ_INT(RUN("nope"), 2);
    FCT_TRUE(err_has("unknown command 'nope'"));
    FCT_EQ_INT(RUN("train"), 2);
    FCT_TRUE(err_has("expected an application and a data folder") && err_has("fastc train --help"));
    FCT_EQ_INT(RUN("train", "vision", "x", "--bogus"), 2);
    FCT_TRUE(err_has("unknown option '--bogus'"));
    FCT_EQ_INT(RUN("train", "vision", "x", "--epochs", "zero"), 2);
    FCT_TRUE(err_has("--epochs expects an integer"));
    FCT_EQ_INT(RUN("train", "tabular", "x"), 2);
    FCT_TRUE(err_has("only 'vision' is"));
    FCT_EQ_INT(RUN("predict", "m.fcm"), 2);
    FCT_TRUE(err_has("expected at least one input"));
    FCT_EQ_INT(RUN("info", "a", "b"), 2);
    FCT_EQ_INT(RUN("show-batch", "vision", "x"), 2);
    FCT_TRUE(err_has("-o FILE.png"));
    FCT_EQ_INT(RUN("data", "fetch"), 2);
}

FCT_TEST(test_cli_help_on_every_subcommand) {
    const char *cmds[] = {"train", "lr-find", "show-batch", "predict", "interpret", "info", "data"};
    for (int i = 0; i < 7; i++) {
        FCT_EQ_INT(RUN(cmds[i], "--help"), 0);
        FCT_TRUE(out_has("usage: fastc"));
    }
    FCT_EQ_INT(RUN("--help"), 0);
}

FCT_TEST(test_cli_runtime_failures_exit_1) {
    FCT_EQ_INT(RUN("info", "no_such_model.fcm"), 1);
    FCT_TRUE(err_has("cannot open 'no_such_model.fcm'"));
    FILE *f = fopen("cli_bad.fcm", "wb");
    if (f) {
        fputs("FASTCLRN", f);
        fclose(f);
    }
    FCT_EQ_INT(RUN("predict", "cli_bad.fcm", "x.png"), 1);
    FCT_TRUE(err_has("'cli_bad.fcm' is truncated"));
    FCT_EQ_INT(RUN("train", "vision", "no_such_dir"), 1);
    FCT_TRUE(err_has("no_such_dir"));
    remove("cli_bad.fcm");
}

FCT_TEST(test_cli_train_predict_interpret_mnist_sample) {
    const char *path = vision_dataset("mnist_sample");
    if (!path) return;
    int rc = RUN("train", "vision", path, "--arch", "resnet9", "--widen", "0.125", "--epochs", "1", "--lr", "3e-3", "--bs",
                 "128", "-o", "cli_mnist.fcm", "--json");
    FCT_EQ_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", slurp("cli_err.txt"));
        return;
    }
    FCT_TRUE(out_has("\"model\":\"cli_mnist.fcm\"") && out_has("\"vocab\":[\"3\",\"7\"]"));
    char img[1200];
    snprintf(img, sizeof img, "%s/valid/7/60000.png", path);
    FCT_EQ_INT(RUN("predict", "cli_mnist.fcm", img, "--quiet"), 0);
    FCT_STR(slurp("cli_out.txt"), "7\n"); /* a trained model gets this clear 7 right */
    FCT_EQ_INT(RUN("predict", "cli_mnist.fcm", img, "--json"), 0);
    FCT_TRUE(out_has("\"label\":\"7\"") && out_has("\"probs\":["));
    FCT_EQ_INT(RUN("interpret", "cli_mnist.fcm", path, "--plot", "cli_cm.png", "-k", "3"), 0);
    FCT_TRUE(out_has("most confused") && out_has("top losses"));
    FILE *png = fopen("cli_cm.png", "rb");
    FCT_TRUE(png != NULL);
    if (png) fclose(png);
    FCT_EQ_INT(RUN("info", "cli_mnist.fcm", "--json"), 0);
    FCT_TRUE(out_has("\"application\":\"vision\"") && out_has("\"parameters\":"));
    remove("cli_mnist.fcm");
    remove("cli_cm.png");
}
