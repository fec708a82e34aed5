"""The fd_* functions (fd_readdir is in readdir.py)."""

from __future__ import annotations

import os
import time

from aot.wasi import layout as L
from aot.wasi.errno import Errno, WasiError
from aot.wasi.fdtable import Directory, HostFile


def fd_write(ctx, fd, iovs, iovs_len, out):
    entry = ctx.fds.get(fd)
    ctx.memory.u32(out, entry.write(ctx.memory.iovecs(iovs, iovs_len)))


def fd_read(ctx, fd, iovs, iovs_len, out):
    entry = ctx.fds.get(fd)
    ctx.memory.u32(out, entry.read(ctx.memory.iovecs(iovs, iovs_len)))


def fd_pwrite(ctx, fd, iovs, iovs_len, offset, out):
    entry = ctx.fds.get(fd)
    ctx.memory.u32(out, entry.pwrite(ctx.memory.iovecs(iovs, iovs_len), offset))


def fd_pread(ctx, fd, iovs, iovs_len, offset, out):
    entry = ctx.fds.get(fd)
    ctx.memory.u32(out, entry.pread(ctx.memory.iovecs(iovs, iovs_len), offset))


def fd_seek(ctx, fd, offset, whence, out):
    entry = ctx.fds.get(fd)
    if whence not in (L.WHENCE_SET, L.WHENCE_CUR, L.WHENCE_END):
        raise WasiError(Errno.INVAL)
    if offset >= 1 << 63:  # $filedelta is signed; the import wrapper made it unsigned
        offset -= 1 << 64
    # WASI's whence numbers are POSIX's SEEK_SET, SEEK_CUR, SEEK_END.
    ctx.memory.u64(out, entry.seek(offset, whence))


def fd_tell(ctx, fd, out):
    ctx.memory.u64(out, ctx.fds.get(fd).seek(0, os.SEEK_CUR))


def fd_close(ctx, fd):
    ctx.fds.close(fd)


def fd_renumber(ctx, fd, to):
    ctx.fds.renumber(fd, to)


def fd_sync(ctx, fd):
    ctx.fds.get(fd).sync(data_only=False)


def fd_datasync(ctx, fd):
    ctx.fds.get(fd).sync(data_only=True)


def fd_fdstat_get(ctx, fd, out):
    e = ctx.fds.get(fd)
    ctx.memory.pack(out, L.FDSTAT, e.filetype, e.fdflags, e.rights_base, e.rights_inheriting)


def fd_fdstat_set_flags(ctx, fd, flags):
    ctx.fds.get(fd).set_flags(flags)


def fd_fdstat_set_rights(ctx, fd, base, inheriting):
    e = ctx.fds.get(fd)
    if base & ~e.rights_base or inheriting & ~e.rights_inheriting:
        raise WasiError(Errno.NOTCAPABLE)  # rights can only be dropped
    e.rights_base, e.rights_inheriting = base, inheriting


def fd_filestat_get(ctx, fd, out):
    ctx.memory.pack(out, L.FILESTAT, *ctx.fds.get(fd).filestat())


def _host_file(ctx, fd) -> HostFile:
    e = ctx.fds.get(fd)
    if not isinstance(e, HostFile):
        raise WasiError(Errno.BADF)
    return e


def fd_filestat_set_size(ctx, fd, size):
    os.ftruncate(_host_file(ctx, fd).host_fd, size)


def new_times(st: os.stat_result, atim: int, mtim: int, flags: int) -> tuple[int, int]:
    """The (atime, mtime) in ns that `fstflags` ask for; unset ones stay as they are."""
    if (flags & L.FST_ATIM and flags & L.FST_ATIM_NOW) or (
            flags & L.FST_MTIM and flags & L.FST_MTIM_NOW):
        raise WasiError(Errno.INVAL)
    now = time.time_ns()
    a = atim if flags & L.FST_ATIM else now if flags & L.FST_ATIM_NOW else st.st_atime_ns
    m = mtim if flags & L.FST_MTIM else now if flags & L.FST_MTIM_NOW else st.st_mtime_ns
    return a, m


def fd_filestat_set_times(ctx, fd, atim, mtim, flags):
    e = ctx.fds.get(fd)
    if not isinstance(e, (HostFile, Directory)):
        raise WasiError(Errno.BADF)
    os.utime(e.host_fd, ns=new_times(os.fstat(e.host_fd), atim, mtim, flags))


# $advice in witx order.
_ADVICE = (os.POSIX_FADV_NORMAL, os.POSIX_FADV_SEQUENTIAL, os.POSIX_FADV_RANDOM,
           os.POSIX_FADV_WILLNEED, os.POSIX_FADV_DONTNEED, os.POSIX_FADV_NOREUSE)


def fd_advise(ctx, fd, offset, length, advice):
    if advice >= len(_ADVICE):
        raise WasiError(Errno.INVAL)
    os.posix_fadvise(_host_file(ctx, fd).host_fd, offset, length, _ADVICE[advice])


def fd_allocate(ctx, fd, offset, length):
    os.posix_fallocate(_host_file(ctx, fd).host_fd, offset, length)


def fd_prestat_get(ctx, fd, out):
    e = ctx.fds.get(fd)
    if not isinstance(e, Directory) or e.preopen_name is None:
        raise WasiError(Errno.BADF)  # what wasi-libc's scan for preopens stops at
    ctx.memory.pack(out, L.PRESTAT, 0, len(e.preopen_name))


def fd_prestat_dir_name(ctx, fd, buf, buf_len):
    e = ctx.fds.get(fd)
    if not isinstance(e, Directory) or e.preopen_name is None:
        raise WasiError(Errno.BADF)
    if buf_len < len(e.preopen_name):
        raise WasiError(Errno.NAMETOOLONG)
    ctx.memory.write(buf, e.preopen_name)
