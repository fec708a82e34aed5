/* Files in the preopened directory ".": read input.txt, write, append, seek, pread and
 * pwrite a new file, make and list directories (sorted, so the output does not depend on
 * the host's order), rename, remove, and the errno of the usual mistakes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond) do { if (!(cond)) { printf("FAILED line %d: %s (errno %d)\n", __LINE__, #cond, errno); return 1; } } while (0)

static void expect_errno(const char *what, int rc) {
    printf("%s: %s\n", what, rc == -1 ? strerror(errno) : "succeeded");
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in `path`, sorted, "." and ".." left out; prints them and returns how many. */
static int list(const char *path, int print) {
    DIR *d = opendir(path);
    if (!d) { printf("opendir %s: %s\n", path, strerror(errno)); return -1; }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (n == cap) names = realloc(names, sizeof *names * (cap = cap ? 2 * cap : 16));
        char *s = malloc(strlen(e->d_name) + 3);
        sprintf(s, "%s%s", e->d_name, e->d_type == DT_DIR ? "/" : "");
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) {
        if (print) printf("  %s\n", names[i]);
        free(names[i]);
    }
    free(names);
    return n;
}

int main(void) {
    /* Read a file given by the host. */
    FILE *in = fopen("input.txt", "r");
    CHECK(in);
    char line[256];
    int lines = 0;
    long bytes = 0;
    while (fgets(line, sizeof line, in)) {
        lines++;
        bytes += strlen(line);
        printf("input line %d: %s", lines, line);
    }
    fclose(in);
    printf("input: %d lines, %ld bytes\n", lines, bytes);

    /* Write, append, seek, pread/pwrite. */
    CHECK(mkdir("out", 0755) == 0);
    int fd = open("out/result.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "first line\n", 11) == 11);
    close(fd);
    fd = open("out/result.txt", O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(write(fd, "appended\n", 9) == 9);
    close(fd);
    fd = open("out/result.txt", O_RDWR);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 0, SEEK_END) == 20);
    CHECK(lseek(fd, 6, SEEK_SET) == 6);
    char buf[64] = {0};
    CHECK(read(fd, buf, 4) == 4);
    printf("read at 6: %s\n", buf);
    CHECK(lseek(fd, 0, SEEK_CUR) == 10);
    CHECK(pwrite(fd, "FIRST", 5, 0) == 5);
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, sizeof buf - 1, 0) == 20);
    printf("pread whole file: %s", buf);
    CHECK(lseek(fd, 0, SEEK_CUR) == 10); /* pread/pwrite leave the offset alone */
    CHECK(ftruncate(fd, 5) == 0);
    close(fd);

    struct stat st;
    CHECK(stat("out/result.txt", &st) == 0);
    printf("after truncate: size %lld, regular file %s\n", (long long)st.st_size,
           S_ISREG(st.st_mode) ? "yes" : "no");
    CHECK(stat("out", &st) == 0);
    printf("out is a directory: %s\n", S_ISDIR(st.st_mode) ? "yes" : "no");

    /* Many entries with long names: fd_readdir has to fill and refill its buffer. */
    CHECK(mkdir("many", 0755) == 0);
    for (int i = 0; i < 300; i++) {
        char name[128];
        snprintf(name, sizeof name, "many/entry-%03d-%s", i,
                 "with-a-rather-long-name-to-fill-readdir-buffers-quickly");
        fd = open(name, O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0);
        close(fd);
    }
    printf("many: %d entries\n", list("many", 0));

    CHECK(rename("out/result.txt", "out/renamed.txt") == 0);
    CHECK(mkdir("out/sub", 0755) == 0);
    printf("listing of out:\n");
    list("out", 1);
    printf("listing of .:\n");
    list(".", 1);

    /* Mistakes and their errno. */
    expect_errno("open missing.txt", open("missing.txt", O_RDONLY));
    expect_errno("mkdir out again", mkdir("out", 0755));
    expect_errno("rmdir out (not empty)", rmdir("out"));
    expect_errno("open out/renamed.txt O_CREAT|O_EXCL", open("out/renamed.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
    expect_errno("unlink out (a directory)", unlink("out"));
    expect_errno("rmdir input.txt (a file)", rmdir("input.txt"));
    expect_errno("open input.txt/x", open("input.txt/x", O_RDONLY));
    expect_errno("opendir input.txt", opendir("input.txt") ? 0 : -1);

    /* Clean up what was made. */
    CHECK(unlink("out/renamed.txt") == 0);
    CHECK(rmdir("out/sub") == 0);
    CHECK(rmdir("out") == 0);
    for (int i = 0; i < 300; i++) {
        char name[128];
        snprintf(name, sizeof name, "many/entry-%03d-%s", i,
                 "with-a-rather-long-name-to-fill-readdir-buffers-quickly");
        CHECK(unlink(name) == 0);
    }
    CHECK(rmdir("many") == 0);
    printf("listing of . after cleanup:\n");
    list(".", 1);
    return 0;
}
