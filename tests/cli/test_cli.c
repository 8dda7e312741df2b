/* The fastc command end to end, run as a child process (posix_spawn): usage errors exit 2 with a
 * message pointing to --help, runtime failures exit 1 naming the file, every subcommand has --help,
 * and on MNIST_SAMPLE: train one epoch of a small resnet9, predict a file, interpret, info. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fct.h"
#include "vision/vision_data.h"

#include "cli_json.h"
#include "cli_run.h"

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
    FCT_EQ_INT(RUN("lr-find", "text"), 2);
    FCT_TRUE(err_has("expected a CSV file or a folder after 'text'"));
    FCT_EQ_INT(RUN("show-batch", "collab"), 2);
    FCT_TRUE(err_has("expected a ratings file after 'collab'"));
    FCT_EQ_INT(RUN("show-batch", "text", "x", "--max-n", "0"), 2);
    FCT_TRUE(err_has("--max-n expects an integer in [1, 1024]"));
    FCT_EQ_INT(RUN("lr-find", "collab", "x", "--iters", "1"), 2);
    FCT_TRUE(err_has("--iters expects an integer"));
    FCT_EQ_INT(RUN("show-batch", "tabular", "x", "--titles", "u.item"), 2); /* collab's option only */
    FCT_TRUE(err_has("unknown option '--titles'"));
    FCT_EQ_INT(RUN("interpret", "m.fcm"), 2);
    FCT_TRUE(err_has("expected a model file and its labelled data"));
    FCT_EQ_INT(RUN("interpret", "m.fcm", "u.data", "--sep", "ab"), 2);
    FCT_TRUE(err_has("--sep expects one character or 'tab'"));
    FCT_EQ_INT(RUN("train", "text", "x", "--n-layers", "0"), 2);
    FCT_TRUE(err_has("--n-layers expects an integer in [1, 16]"));
    FCT_EQ_INT(RUN("train", "tabular", "x"), 2);
    FCT_TRUE(err_has("expected --y COLUMN"));
    FCT_EQ_INT(RUN("train", "tabular", "x", "--y", "a", "--layers", "10,x"), 2);
    FCT_TRUE(err_has("--layers expects an integer"));
    FCT_EQ_INT(RUN("train", "collab", "x", "--y-range", "5,1"), 2);
    FCT_TRUE(err_has("--y-range expects LO,HI"));
    FCT_EQ_INT(RUN("train", "collab"), 2);
    FCT_TRUE(err_has("expected a ratings file"));
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
    FCT_EQ_INT(RUN("train", "tabular", "--help"), 0);
    FCT_TRUE(out_has("usage: fastc train tabular CSV --y COLUMN"));
    FCT_EQ_INT(RUN("train", "collab", "--help"), 0);
    FCT_TRUE(out_has("usage: fastc train collab RATINGS"));
    FCT_EQ_INT(RUN("train", "text", "--help"), 0);
    FCT_TRUE(out_has("usage: fastc train text DATA"));
    const char *apps[] = {"tabular", "collab", "text"};
    for (int i = 0; i < 3; i++) {
        char want[64];
        FCT_EQ_INT(RUN("lr-find", apps[i], "--help"), 0);
        snprintf(want, sizeof want, "usage: fastc lr-find %s", apps[i]);
        FCT_TRUE(out_has(want) && out_has("-o, --plot F"));
        FCT_EQ_INT(RUN("show-batch", apps[i], "--help"), 0);
        snprintf(want, sizeof want, "usage: fastc show-batch %s", apps[i]);
        FCT_TRUE(out_has(want) && out_has("-o, --output F"));
    }
    FCT_EQ_INT(RUN("interpret", "--help"), 0);
    FCT_TRUE(out_has("collab") && out_has("no confusion matrix") && out_has("--json") && out_has("most_confused"));
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
    /* --json: the same interpretation as one object (the plot still written), agreeing with the text */
    char *text = json_read_all("cli_out.txt");
    remove("cli_cm_json.png");
    FCT_EQ_INT(RUN("interpret", "cli_mnist.fcm", path, "-k", "3", "--json", "-o", "cli_cm_json.png"), 0);
    fci_json j;
    if (text && json_of_output(&j)) {
        FCT_EQ_INT(check_interp_json(&j, "vision", 3), 2);
        FCT_TRUE(out_has("\"classes\":[\"3\",\"7\"]"));
        check_cm_agrees(&j, text);
        check_top_losses_agree(&j, text);
        const fci_json *top = fci_json_get(&j, "top_losses");
        for (int64_t i = 0; top && i < top->n; i++) { /* each file is in its actual class's folder */
            char want[64];
            snprintf(want, sizeof want, "/valid/%s/", fci_json_str(&top->items[i], "actual"));
            FCT_TRUE(strstr(fci_json_str(&top->items[i], "file"), want) != NULL);
        }
        fci_json_free(&j);
    }
    free(text);
    FCT_TRUE(is_png("cli_cm_json.png"));
    remove("cli_cm_json.png");
    FILE *png = fopen("cli_cm.png", "rb");
    FCT_TRUE(png != NULL);
    if (png) fclose(png);
    FCT_EQ_INT(RUN("info", "cli_mnist.fcm", "--json"), 0);
    FCT_TRUE(out_has("\"application\":\"vision\"") && out_has("\"parameters\":"));
    remove("cli_mnist.fcm");
    remove("cli_cm.png");
}
