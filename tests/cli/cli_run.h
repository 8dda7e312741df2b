/* Running the fastc command from the CLI tests: a child process (posix_spawn) with stdout and
 * stderr in cli_out.txt / cli_err.txt, read back whole. */
#ifndef FASTC_TEST_CLI_RUN_H
#define FASTC_TEST_CLI_RUN_H

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
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

#endif
