/* fastc info MODEL: what an exported learner holds: its metadata (fastc version, application and
 * model config, loss, inference pipeline, classes), its layers and its parameter count. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"

static const char help[] =
    "usage: fastc info MODEL [options]\n"
    "Prints what an exported model holds: fastc's version, the application and model config, the\n"
    "loss, the inference pipeline, the classes, the layers and the parameter count.\n\n"
    "  -q, --quiet       only the parameter count\n"
    "  --json            {\"metadata\": ..., \"parameters\": N, \"tensors\": N}\n"
    "  -h, --help        this help\n";

static void layers(fc_module *m, const char *prefix, int depth) {
    for (int i = 0; i < fc_module_n_children(m); i++) {
        const char *name = NULL;
        fc_module *c = fc_module_child_at(m, i, &name);
        int64_t n = 0;
        for (int p = 0; p < fc_module_n_parameters(c); p++) n += fc_tensor_numel(fc_module_parameter(c, p, NULL));
        printf("  %*s%s%s%s  %s  (%lld parameters)\n", 2 * depth, "", prefix, prefix[0] ? "." : "", name,
               fc_module_type(c), (long long)n);
        if (depth < 1) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s%s%s", prefix, prefix[0] ? "." : "", name);
            layers(c, sub, depth + 1);
        }
    }
}

int cli_info(int argc, char **argv) {
    int quiet = 0, json = 0;
    int rc = cli_quiet_json_options("info", help, argc, argv, &quiet, &json);
    if (rc >= 0) return rc;
    if (argc - optind != 1) return cli_usage_error("info", "expected one model file (from 'fastc train -o model.fcm')");
    const char *path = argv[optind];
    char *meta = fc_export_metadata(path);
    fc_learner *learn = meta ? fc_load_learner(path) : NULL;
    if (!learn) {
        free(meta);
        return cli_fail("info");
    }
    fc_module *m = fc_learner_model(learn);
    int64_t n_params = 0;
    int n_tensors = fc_module_n_parameters(m) + fc_module_n_buffers(m);
    for (int p = 0; p < fc_module_n_parameters(m); p++) n_params += fc_tensor_numel(fc_module_parameter(m, p, NULL));
    if (json) {
        printf("{\"metadata\":%s,\"parameters\":%lld,\"tensors\":%d}\n", meta, (long long)n_params, n_tensors);
    } else if (quiet) {
        printf("%lld\n", (long long)n_params);
    } else {
        printf("%s\n\nmetadata: %s\n\nlayers:\n", path, meta);
        layers(m, "", 0);
        printf("\nparameters: %lld (%d tensors with the buffers)\n", (long long)n_params, n_tensors);
    }
    free(meta);
    fc_learner_free(learn);
    return CLI_OK;
}
