/* A WASI command for aot's component tests (tests/component/test_wasi_command.py):
 * compiled for wasm32-wasi (preview 1) and turned into a component with the
 * preview-1 command adapter by build.sh.
 *
 * It uses what a typical command does through the adapter: its arguments, an
 * environment variable, stdout and stderr, the wall and monotonic clocks, random bytes
 * and exit.  What it prints is deterministic (the clock and random values are checked,
 * not printed), so that its output can be compared across runtimes.
 *
 * Some arguments ask for more:
 *   @PATH     print the file's contents        ls:DIR   list the directory, sorted
 *   >PATH     write a line to the file         -        count the bytes on stdin
 *   trap      trap (what stdout holds in its buffer then is lost, in any runtime)
 * (paths as the runtime's preopened directories name them, e.g. /data/in.txt).
 *
 * The exit status is EXIT_STATUS from the environment (default 0).  The preview-1
 * adapter gives wasi:cli/exit@0.2 only success or failure: any other status ends the
 * run with 1, in every runtime. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cat(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("cannot open %s: %s\n", path, strerror(errno));
        return;
    }
    char buf[256];
    size_t n;
    printf("contents of %s:\n", path);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
}

static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("cannot list %s: %s\n", path, strerror(errno));
        return;
    }
    char *names[64];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[count++] = strdup(e->d_name);
    closedir(d);
    qsort(names, count, sizeof *names, by_name);
    printf("%s has %d entries:", path, count);
    for (int i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void write_line(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "written by the command component\n") < 0 || fclose(f) != 0) {
        printf("cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    printf("wrote %s\n", path);
}

static void count_stdin(void) {
    char buf[512];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        total += n;
    printf("stdin: %zu bytes\n", total);
}

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);

    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");

    struct timespec wall, mono1, mono2;
    if (clock_gettime(CLOCK_REALTIME, &wall) != 0) {
        perror("clock_gettime(CLOCK_REALTIME)");
        return 2;
    }
    /* 2020-01-01T00:00:00Z: a wall clock before that is not the host's. */
    printf("wall clock after 2020: %s\n", wall.tv_sec > 1577836800 ? "yes" : "no");
    clock_gettime(CLOCK_MONOTONIC, &mono1);
    clock_gettime(CLOCK_MONOTONIC, &mono2);
    int forward = mono2.tv_sec > mono1.tv_sec ||
                  (mono2.tv_sec == mono1.tv_sec && mono2.tv_nsec >= mono1.tv_nsec);
    printf("monotonic clock forward: %s\n", forward ? "yes" : "no");

    unsigned char random[16];
    if (getentropy(random, sizeof random) != 0) {
        perror("getentropy");
        return 2;
    }
    /* 16 random bytes all zero: 2^-128, i.e. no randomness. */
    int nonzero = 0;
    for (size_t i = 0; i < sizeof random; i++)
        nonzero |= random[i];
    printf("random bytes: %zu%s\n", sizeof random, nonzero ? "" : " (all zero!)");

    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '@')
            cat(argv[i] + 1);
        else if (argv[i][0] == '>')
            write_line(argv[i] + 1);
        else if (strncmp(argv[i], "ls:", 3) == 0)
            list(argv[i] + 3);
        else if (strcmp(argv[i], "-") == 0)
            count_stdin();
        else if (strcmp(argv[i], "trap") == 0)
            __builtin_trap();
    }

    fprintf(stderr, "to stderr: %d argument(s)\n", argc - 1);

    const char *status = getenv("EXIT_STATUS");
    int code = status ? atoi(status) : 0;
    fflush(stdout);
    printf("exiting with %d\n", code);
    exit(code);
}
