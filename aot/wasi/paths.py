"""The path_* functions.  Every path goes through sandbox.resolve under the directory
descriptor given with it; the final operation then acts on (directory fd, name) without
following a symlink, so the kernel never resolves a path the sandbox has not checked."""

from __future__ import annotations

import os
import stat
from contextlib import ExitStack

from aot.wasi import layout as L
from aot.wasi.errno import Errno, WasiError
from aot.wasi.fdtable import Directory, HostFile, filestat_of
from aot.wasi.files import new_times
from aot.wasi.sandbox import Resolved, resolve


def _at(ctx, fd: int, path: int, path_len: int, follow: bool = False):
    """Context manager: `path` (guest pointer and length) resolved under directory `fd`."""
    root = ctx.fds.directory(fd)
    return resolve(root.host_fd, ctx.memory.path(path, path_len), follow)


def _open_flags(oflags: int, rights: int, fdflags: int) -> tuple[int, bool, bool]:
    """Host open flags, and whether the descriptor reads and writes."""
    flags = os.O_CLOEXEC | os.O_NOFOLLOW
    if oflags & L.OFLAG_DIRECTORY:
        if oflags & (L.OFLAG_CREAT | L.OFLAG_TRUNC):
            raise WasiError(Errno.INVAL)
        return flags | os.O_DIRECTORY | os.O_RDONLY, True, False
    # Rights say what the guest wants to do (wasi-libc derives them from O_RDONLY etc.).
    write = bool(rights & L.RIGHTS_WANT_WRITE)
    read = bool(rights & L.RIGHTS_WANT_READ) or not write
    flags |= os.O_RDWR if read and write else os.O_WRONLY if write else os.O_RDONLY
    for bit, host in ((L.OFLAG_CREAT, os.O_CREAT), (L.OFLAG_EXCL, os.O_EXCL),
                      (L.OFLAG_TRUNC, os.O_TRUNC)):
        if oflags & bit:
            flags |= host
    for bit, host in ((L.FDFLAG_APPEND, os.O_APPEND), (L.FDFLAG_NONBLOCK, os.O_NONBLOCK),
                      (L.FDFLAG_DSYNC, os.O_DSYNC), (L.FDFLAG_RSYNC, os.O_RSYNC),
                      (L.FDFLAG_SYNC, os.O_SYNC)):
        if fdflags & bit:
            flags |= host
    return flags, read, write


def path_open(ctx, fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting,
              fdflags, out):
    flags, read, write = _open_flags(oflags, rights_base, fdflags)
    ctx.memory.span(out, 4)  # fail before opening anything
    with _at(ctx, fd, path, path_len, bool(dirflags & L.LOOKUP_SYMLINK_FOLLOW)) as where:
        if where.must_be_dir:
            flags |= os.O_DIRECTORY
        host_fd = os.open(where.name, flags, 0o666, dir_fd=where.dir_fd)
    try:
        if stat.S_ISDIR(os.fstat(host_fd).st_mode):
            entry = Directory(host_fd)
        else:
            entry = HostFile(host_fd, read, write, fdflags)
    except BaseException:
        os.close(host_fd)
        raise
    ctx.memory.u32(out, ctx.fds.insert(entry))


def _lstat(where: Resolved) -> os.stat_result:
    return os.stat(where.name, dir_fd=where.dir_fd, follow_symlinks=False)


def path_filestat_get(ctx, fd, flags, path, path_len, out):
    with _at(ctx, fd, path, path_len, bool(flags & L.LOOKUP_SYMLINK_FOLLOW)) as where:
        st = _lstat(where)
    if where.must_be_dir and not stat.S_ISDIR(st.st_mode):
        raise WasiError(Errno.NOTDIR)
    ctx.memory.pack(out, L.FILESTAT, *filestat_of(st))


def path_filestat_set_times(ctx, fd, flags, path, path_len, atim, mtim, fst_flags):
    with _at(ctx, fd, path, path_len, bool(flags & L.LOOKUP_SYMLINK_FOLLOW)) as where:
        times = new_times(_lstat(where), atim, mtim, fst_flags)
        os.utime(where.name, ns=times, dir_fd=where.dir_fd, follow_symlinks=False)


def path_create_directory(ctx, fd, path, path_len):
    with _at(ctx, fd, path, path_len) as where:
        os.mkdir(where.name, 0o777, dir_fd=where.dir_fd)


def path_remove_directory(ctx, fd, path, path_len):
    with _at(ctx, fd, path, path_len) as where:
        os.rmdir(where.name, dir_fd=where.dir_fd)


def path_unlink_file(ctx, fd, path, path_len):
    with _at(ctx, fd, path, path_len) as where:
        if where.must_be_dir:  # "x/" names a directory, which this never removes
            raise WasiError(Errno.ISDIR if stat.S_ISDIR(_lstat(where).st_mode) else Errno.NOTDIR)
        os.unlink(where.name, dir_fd=where.dir_fd)


def path_rename(ctx, fd, old_path, old_len, new_fd, new_path, new_len):
    with ExitStack() as stack:
        src = stack.enter_context(_at(ctx, fd, old_path, old_len))
        dst = stack.enter_context(_at(ctx, new_fd, new_path, new_len))
        if (src.must_be_dir or dst.must_be_dir) and not stat.S_ISDIR(_lstat(src).st_mode):
            raise WasiError(Errno.NOTDIR)
        os.rename(src.name, dst.name, src_dir_fd=src.dir_fd, dst_dir_fd=dst.dir_fd)


def path_link(ctx, old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len):
    with ExitStack() as stack:
        src = stack.enter_context(
            _at(ctx, old_fd, old_path, old_len, bool(old_flags & L.LOOKUP_SYMLINK_FOLLOW)))
        dst = stack.enter_context(_at(ctx, new_fd, new_path, new_len))
        os.link(src.name, dst.name, src_dir_fd=src.dir_fd, dst_dir_fd=dst.dir_fd,
                follow_symlinks=False)


def path_symlink(ctx, old_path, old_len, fd, new_path, new_len):
    target = ctx.memory.path(old_path, old_len)
    if target.startswith(b"/"):
        raise WasiError(Errno.NOTCAPABLE)  # could never be followed inside the sandbox
    with _at(ctx, fd, new_path, new_len) as where:
        os.symlink(target, where.name, dir_fd=where.dir_fd)


def path_readlink(ctx, fd, path, path_len, buf, buf_len, out):
    with _at(ctx, fd, path, path_len) as where:
        target = os.readlink(where.name, dir_fd=where.dir_fd)
    n = min(len(target), buf_len)
    ctx.memory.write(buf, target[:n])
    ctx.memory.u32(out, n)
