/* Running the fastc command from the CLI tests: a child process (posix_spawn) with stdout and
 * stderr in cli_out.txt / cli_err.txt, read back whole. */
#ifndef FASTC_TEST_CLI_RUN_H
#define FASTC_TEST_CLI_RUN_H

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

/* Runs fastc with args (NULL-terminated), stdout and stderr into out.txt / err.txt; its exit code. */
static inline int run(const char *const *args) {
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

static inline char *slurp(const char *path) {
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    return buf;
}
static inline int out_has(const char *s) { return strstr(slurp("cli_out.txt"), s) != NULL; }
static inline int err_has(const char *s) { return strstr(slurp("cli_err.txt"), s) != NULL; }

#define RUN(...) run((const char *const[]){__VA_ARGS__, NULL})

/* Lines [from, to) of src (1-based; line 1 is the header, always copied) appended to dst (append
 * 0: dst is created anew, header first; 1: appended, header skipped). 1 when src had them. */
static inline int copy_lines_to(const char *src, const char *dst, long from, long to, int append) {
    FILE *in = fopen(src, "r"), *out = fopen(dst, append ? "a" : "w");
    char line[1 << 15];
    long k = 0;
    while (in && out && fgets(line, sizeof line, in)) {
        k++;
        if ((k == 1 && !append) || (k >= from && k < to)) fputs(line, out);
        if (k >= to) break;
    }
    if (in) fclose(in);
    if (out) fclose(out);
    return in && out && k >= to - 1;
}
static inline int copy_lines(const char *src, const char *dst, long from, long to) {
    return copy_lines_to(src, dst, from, to, 0);
}

/* The number after key in text ("accuracy 0.81..."), or -1. */
static inline double number_after(const char *text, const char *key) {
    const char *p = strstr(text, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

/* 1 when path starts with the PNG signature and an IHDR chunk of a non-empty image. */
static inline int is_png(const char *path) {
    unsigned char b[24] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    unsigned w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    unsigned h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    return n == sizeof b && !memcmp(b, "\x89PNG\r\n\x1a\n", 8) && !memcmp(b + 12, "IHDR", 4) && w > 0 && h > 0;
}

#endif
