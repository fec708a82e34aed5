/* Tries to leave the preopened directory in every way a guest can, with raw WASI calls so
 * that the host's sandbox (not wasi-libc's path lookup) is what answers.  Prints one line
 * per attempt: "refused" for ENOTCAPABLE or EPERM, "ok", or the errno's number.
 * The host test sets up, inside the preopen: inside.txt, sub/, link_in -> inside.txt,
 * link_out_abs -> /abs/outside/secret.txt, link_out_rel -> ../outside/secret.txt,
 * link_dir_out -> ../outside; and outside the preopen: outside/secret.txt. */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static __wasi_fd_t preopen = (__wasi_fd_t)-1;

static const char *verdict(__wasi_errno_t e) {
    static char buf[32];
    if (e == __WASI_ERRNO_SUCCESS) return "ok";
    if (e == __WASI_ERRNO_NOTCAPABLE || e == __WASI_ERRNO_PERM) return "refused";
    snprintf(buf, sizeof buf, "errno %u", (unsigned)e);
    return buf;
}

static __wasi_errno_t try_open(const char *path, __wasi_lookupflags_t follow, __wasi_oflags_t oflags) {
    __wasi_fd_t fd;
    __wasi_rights_t rights = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK;
    __wasi_errno_t e = __wasi_path_open(preopen, follow, path, oflags, rights, rights, 0, &fd);
    if (e == 0) (void)__wasi_fd_close(fd);
    return e;
}

int main(void) {
    __wasi_prestat_t ps;
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        if (__wasi_fd_prestat_get(fd, &ps) == 0) { preopen = fd; break; }
    }
    if (preopen == (__wasi_fd_t)-1) { puts("no preopened directory"); return 2; }
    const __wasi_lookupflags_t F = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;

    printf("open ../outside/secret.txt: %s\n", verdict(try_open("../outside/secret.txt", F, 0)));
    printf("open sub/../../outside/secret.txt: %s\n", verdict(try_open("sub/../../outside/secret.txt", F, 0)));
    printf("open /etc/passwd: %s\n", verdict(try_open("/etc/passwd", F, 0)));
    printf("open link_out_abs (follow): %s\n", verdict(try_open("link_out_abs", F, 0)));
    printf("open link_out_rel (follow): %s\n", verdict(try_open("link_out_rel", F, 0)));
    printf("open link_dir_out/secret.txt: %s\n", verdict(try_open("link_dir_out/secret.txt", 0, 0)));
    printf("create link_dir_out/created.txt: %s\n",
           verdict(try_open("link_dir_out/created.txt", 0, __WASI_OFLAGS_CREAT)));
    printf("create ../created.txt: %s\n", verdict(try_open("../created.txt", 0, __WASI_OFLAGS_CREAT)));

    __wasi_filestat_t st;
    printf("stat link_out_abs (follow): %s\n",
           verdict(__wasi_path_filestat_get(preopen, F, "link_out_abs", &st)));
    printf("stat link_dir_out/secret.txt: %s\n",
           verdict(__wasi_path_filestat_get(preopen, 0, "link_dir_out/secret.txt", &st)));
    printf("unlink link_dir_out/secret.txt: %s\n",
           verdict(__wasi_path_unlink_file(preopen, "link_dir_out/secret.txt")));
    printf("unlink ../outside/secret.txt: %s\n",
           verdict(__wasi_path_unlink_file(preopen, "../outside/secret.txt")));
    printf("mkdir link_dir_out/newdir: %s\n",
           verdict(__wasi_path_create_directory(preopen, "link_dir_out/newdir")));
    printf("rmdir ../outside: %s\n", verdict(__wasi_path_remove_directory(preopen, "../outside")));
    printf("rename inside.txt -> link_dir_out/moved.txt: %s\n",
           verdict(__wasi_path_rename(preopen, "inside.txt", preopen, "link_dir_out/moved.txt")));
    printf("rename link_dir_out/secret.txt -> stolen.txt: %s\n",
           verdict(__wasi_path_rename(preopen, "link_dir_out/secret.txt", preopen, "stolen.txt")));

    /* What must keep working inside the sandbox. */
    printf("open inside.txt: %s\n", verdict(try_open("inside.txt", 0, 0)));
    printf("open sub/../inside.txt: %s\n", verdict(try_open("sub/../inside.txt", 0, 0)));
    printf("open link_in (follow): %s\n", verdict(try_open("link_in", F, 0)));
    printf("stat link_out_abs (nofollow): %s\n",
           verdict(__wasi_path_filestat_get(preopen, 0, "link_out_abs", &st)));
    printf("unlink link_out_rel (the link itself): %s\n",
           verdict(__wasi_path_unlink_file(preopen, "link_out_rel")));
    return 0;
}
