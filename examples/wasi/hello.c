/* Arguments, environment, stdout and stderr, and the exit code: the exit code is the
 * number in the environment variable EXIT_CODE (through exit(), hence proc_exit), else 0
 * (main returns, _start returns). */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("hello from wasi\n");
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e; e++)
        printf("env %s\n", *e);
    const char *greeting = getenv("GREETING");
    printf("GREETING is %s\n", greeting ? greeting : "(unset)");
    fprintf(stderr, "this goes to stderr\n");
    const char *code = getenv("EXIT_CODE");
    if (code) {
        fflush(stdout);
        exit(atoi(code));
    }
    return 0;
}
