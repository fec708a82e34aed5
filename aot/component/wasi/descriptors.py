"""The host side of wasi:filesystem descriptors: a host file or directory descriptor
and the `descriptor-flags` it was opened with, and the operations on it.  Paths are
resolved by aot.wasi's sandbox (the preview-1 one): never outside the directory given,
symlinks expanded by the same rules.  Failures raise OSError or WasiError; the
interface layer turns them into `error-code`s."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager

from aot.component.values import Variant
from aot.wasi.errno import Errno, WasiError
from aot.wasi.sandbox import Resolved, resolve

_NS = 1_000_000_000

_TYPES = ((stat.S_ISREG, "regular-file"), (stat.S_ISDIR, "directory"),
          (stat.S_ISCHR, "character-device"), (stat.S_ISBLK, "block-device"),
          (stat.S_ISFIFO, "fifo"), (stat.S_ISLNK, "symbolic-link"), (stat.S_ISSOCK, "socket"))

_SYNC_FLAGS = {"file-integrity-sync": os.O_SYNC, "data-integrity-sync": os.O_DSYNC,
               "requested-write-sync": os.O_RSYNC}
_OPEN_FLAGS = {"create": os.O_CREAT, "exclusive": os.O_EXCL, "truncate": os.O_TRUNC,
               "directory": os.O_DIRECTORY}
_ADVICE = {"normal": os.POSIX_FADV_NORMAL, "sequential": os.POSIX_FADV_SEQUENTIAL,
           "random": os.POSIX_FADV_RANDOM, "will-need": os.POSIX_FADV_WILLNEED,
           "dont-need": os.POSIX_FADV_DONTNEED, "no-reuse": os.POSIX_FADV_NOREUSE}


def descriptor_type(mode: int) -> str:
    return next((name for test, name in _TYPES if test(mode)), "unknown")


def _datetime(ns: int) -> dict[str, int]:
    seconds, nanoseconds = divmod(ns, _NS)
    return {"seconds": seconds, "nanoseconds": nanoseconds}


def descriptor_stat(st: os.stat_result) -> dict:
    return {"type": descriptor_type(st.st_mode), "link-count": st.st_nlink,
            "size": st.st_size, "data-access-timestamp": _datetime(st.st_atime_ns),
            "data-modification-timestamp": _datetime(st.st_mtime_ns),
            "status-change-timestamp": _datetime(st.st_ctime_ns)}


def metadata_hash(st: os.stat_result) -> dict[str, int]:
    # (device, inode) is the file's identity: equal hashes mean the same object.
    return {"lower": st.st_ino, "upper": st.st_dev}


def _path(path: str) -> bytes:
    if "\0" in path:
        raise WasiError(Errno.INVAL)
    return path.encode("utf-8")


def _new_time(ts: Variant, current: int) -> int:
    if ts.case == "no-change":
        return current
    if ts.case == "now":
        return time.time_ns()
    return ts.value["seconds"] * _NS + ts.value["nanoseconds"]


def _new_times(st: os.stat_result, atime: Variant, mtime: Variant) -> tuple[int, int]:
    return _new_time(atime, st.st_atime_ns), _new_time(mtime, st.st_mtime_ns)


class Descriptor:
    """An open file or directory.  It owns `host_fd` (a duplicate for a preopen)."""

    def __init__(self, host_fd: int, flags: frozenset[str]) -> None:
        self.host_fd = host_fd
        self.flags = flags
        self.is_dir = stat.S_ISDIR(os.fstat(host_fd).st_mode)

    def close(self) -> None:
        fd, self.host_fd = self.host_fd, -1
        if fd >= 0:
            os.close(fd)

    # --- checks: what wasmtime answers for an operation this descriptor does not allow

    def directory(self, mutate: bool = False) -> int:
        if not self.is_dir:
            raise WasiError(Errno.NOTDIR)
        if mutate and "mutate-directory" not in self.flags:
            raise WasiError(Errno.PERM)
        return self.host_fd

    def file(self, write: bool = False) -> int:
        if self.is_dir:
            raise WasiError(Errno.BADF)
        if write and "write" not in self.flags:
            raise WasiError(Errno.BADF)
        return self.host_fd

    @contextmanager
    def at(self, path: str, follow: bool = False, mutate: bool = False) -> Iterator[Resolved]:
        with resolve(self.directory(mutate), _path(path), follow) as where:
            yield where

    # --- the descriptor's own operations

    def stat(self) -> dict:
        return descriptor_stat(os.fstat(self.host_fd))

    def get_type(self) -> str:
        return descriptor_type(os.fstat(self.host_fd).st_mode)

    def advise(self, offset: int, length: int, advice: str) -> None:
        os.posix_fadvise(self.file(), offset, length, _ADVICE[advice])

    def sync(self, data_only: bool) -> None:
        (os.fdatasync if data_only and not self.is_dir else os.fsync)(self.host_fd)

    def set_size(self, size: int) -> None:
        os.ftruncate(self.file(write=True), size)

    def set_times(self, atime: Variant, mtime: Variant) -> None:
        if self.is_dir:
            self.directory(mutate=True)
        else:
            self.file(write=True)
        os.utime(self.host_fd, ns=_new_times(os.fstat(self.host_fd), atime, mtime))

    def read(self, length: int, offset: int, limit: int) -> tuple[bytes, bool]:
        data = os.pread(self.file(), min(length, limit), offset)
        return data, len(data) < length  # a regular file reads short only at its end

    def write(self, data: bytes, offset: int) -> int:
        return os.pwrite(self.file(write=True), data, offset)

    def is_same_object(self, other: Descriptor) -> bool:
        a, b = os.fstat(self.host_fd), os.fstat(other.host_fd)
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)

    # --- operations on a path under this directory

    def stat_at(self, follow: bool, path: str) -> os.stat_result:
        with self.at(path, follow) as where:
            st = os.stat(where.name, dir_fd=where.dir_fd, follow_symlinks=False)
        if where.must_be_dir and not stat.S_ISDIR(st.st_mode):
            raise WasiError(Errno.NOTDIR)
        return st

    def set_times_at(self, follow: bool, path: str, atime: Variant, mtime: Variant) -> None:
        with self.at(path, follow, mutate=True) as where:
            st = os.stat(where.name, dir_fd=where.dir_fd, follow_symlinks=False)
            os.utime(where.name, ns=_new_times(st, atime, mtime), dir_fd=where.dir_fd,
                     follow_symlinks=False)

    def open_at(self, follow: bool, path: str, open_flags: frozenset[str],
                flags: frozenset[str]) -> Descriptor:
        writes = "write" in flags or bool(open_flags & {"create", "truncate"})
        if (writes or "mutate-directory" in flags) and "mutate-directory" not in self.flags:
            raise WasiError(Errno.PERM)
        if "directory" in open_flags and (writes or open_flags & {"create", "exclusive"}):
            raise WasiError(Errno.INVAL)
        host = os.O_CLOEXEC | os.O_NOFOLLOW
        host |= (os.O_RDWR if "read" in flags else os.O_WRONLY) if "write" in flags \
            else os.O_RDONLY
        for name, bit in (*_OPEN_FLAGS.items(), *_SYNC_FLAGS.items()):
            if name in open_flags or name in flags:
                host |= bit
        with self.at(path, follow) as where:
            if where.must_be_dir:
                host |= os.O_DIRECTORY
            fd = os.open(where.name, host, 0o666, dir_fd=where.dir_fd)
        try:
            return Descriptor(fd, flags)
        except BaseException:
            os.close(fd)
            raise

    def create_directory_at(self, path: str) -> None:
        with self.at(path, mutate=True) as where:
            os.mkdir(where.name, 0o777, dir_fd=where.dir_fd)

    def remove_directory_at(self, path: str) -> None:
        with self.at(path, mutate=True) as where:
            os.rmdir(where.name, dir_fd=where.dir_fd)

    def unlink_file_at(self, path: str) -> None:
        with self.at(path, mutate=True) as where:
            if where.must_be_dir:  # "x/" names a directory, which this never removes
                st = os.stat(where.name, dir_fd=where.dir_fd, follow_symlinks=False)
                raise WasiError(Errno.ISDIR if stat.S_ISDIR(st.st_mode) else Errno.NOTDIR)
            os.unlink(where.name, dir_fd=where.dir_fd)

    def readlink_at(self, path: str) -> str:
        with self.at(path) as where:
            target = os.readlink(where.name, dir_fd=where.dir_fd)
        try:
            return target.decode("utf-8")
        except UnicodeDecodeError:
            raise WasiError(Errno.ILSEQ) from None

    def symlink_at(self, target: str, path: str) -> None:
        if target.startswith("/"):
            raise WasiError(Errno.PERM)  # could never be followed inside the sandbox
        with self.at(path, mutate=True) as where:
            os.symlink(_path(target), where.name, dir_fd=where.dir_fd)

    def rename_at(self, old: str, new_dir: Descriptor, new: str) -> None:
        with self.at(old, mutate=True) as src, new_dir.at(new, mutate=True) as dst:
            if (src.must_be_dir or dst.must_be_dir) and not stat.S_ISDIR(
                    os.stat(src.name, dir_fd=src.dir_fd, follow_symlinks=False).st_mode):
                raise WasiError(Errno.NOTDIR)
            os.rename(src.name, dst.name, src_dir_fd=src.dir_fd, dst_dir_fd=dst.dir_fd)

    def link_at(self, follow: bool, old: str, new_dir: Descriptor, new: str) -> None:
        with self.at(old, follow, mutate=True) as src, new_dir.at(new, mutate=True) as dst:
            os.link(src.name, dst.name, src_dir_fd=src.dir_fd, dst_dir_fd=dst.dir_fd,
                    follow_symlinks=False)

    def entries(self) -> DirectoryEntries:
        return DirectoryEntries(self.directory())


class DirectoryEntries:
    """A directory-entry-stream: the listing taken when it was opened ("." and ".."
    left out, as preview 2 wants)."""

    def __init__(self, dir_fd: int) -> None:
        with os.scandir(dir_fd) as it:
            self._entries = [(e.name, _entry_type(e)) for e in it]
        self._entries.reverse()

    def next(self) -> dict | None:
        if not self._entries:
            return None
        name, kind = self._entries.pop()
        try:
            name.encode("utf-8")  # a host name that is not UTF-8 has no string to be
        except UnicodeEncodeError:
            raise WasiError(Errno.ILSEQ) from None
        return {"type": kind, "name": name}


def _entry_type(e: os.DirEntry) -> str:
    try:
        return descriptor_type(e.stat(follow_symlinks=False).st_mode)
    except OSError:  # gone since it was listed
        return "unknown"
