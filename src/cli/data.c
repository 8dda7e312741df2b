/* fastc data list | get NAME: the dataset archives of the data folder and fastai's untar_data. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: fastc data list [--data-dir D]\n"
    "       fastc data get NAME [--data-dir D] [--dest D]\n"
    "'list' prints the dataset archives (NAME.tar.gz / NAME.tgz) in the data folder ($FASTC_DATA,\n"
    "else ~/.fastc/data); 'get' extracts one once (untar_data) and prints the folder's path.\n\n"
    "  --data-dir D      where the archives are (default $FASTC_DATA)\n"
    "  --dest D          where to extract (default $FASTC_EXTRACT, else the data folder)\n"
    "  --no-download     never download a missing archive\n"
    "  -h, --help        this help\n";

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list(const char *dir) {
    char home[4096];
    if (!dir) dir = getenv("FASTC_DATA");
    if (!dir) {
        snprintf(home, sizeof home, "%s/.fastc/data", getenv("HOME") ? getenv("HOME") : ".");
        dir = home;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fastc data: cannot open the data folder '%s' (set FASTC_DATA or pass --data-dir)\n", dir);
        return CLI_FAIL;
    }
    char *names[1024];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 1024;) {
        size_t len = strlen(e->d_name);
        size_t cut = len > 7 && !strcmp(e->d_name + len - 7, ".tar.gz") ? 7 : len > 4 && !strcmp(e->d_name + len - 4, ".tgz") ? 4 : 0;
        if (cut && (names[n] = strndup(e->d_name, len - cut))) n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) {
        printf("%s\n", names[i]);
        free(names[i]);
    }
    return CLI_OK;
}

int cli_data(int argc, char **argv) {
    const char *data_dir = NULL, *dest = NULL;
    int no_download = 0;
    static const struct option opts[] = {{"data-dir", required_argument, 0, 'd'}, {"dest", required_argument, 0, 'o'},
                                         {"no-download", no_argument, 0, 'n'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') return fputs(help, stdout), CLI_OK;
        if (c == 'd') data_dir = optarg;
        else if (c == 'o') dest = optarg;
        else if (c == 'n') no_download = 1;
        else return cli_bad_option("data", argv[optind - 1]);
    }
    int n = argc - optind;
    if (n >= 1 && !strcmp(argv[optind], "list") && n == 1) return list(data_dir);
    if (n >= 1 && !strcmp(argv[optind], "get")) {
        if (n != 2) return cli_usage_error("data", "expected one dataset name after 'get' ('fastc data list' shows them)");
        const char *path = fc_untar_data(argv[optind + 1], .data_dir = data_dir, .dest = dest, .no_download = no_download);
        if (!path) return cli_fail("data");
        printf("%s\n", path);
        return CLI_OK;
    }
    return cli_usage_error("data", "expected 'list' or 'get NAME'");
}
