"""The guest's descriptor table: numbers → open files, directories and stdio streams.

Each kind answers the fd_* operations it supports; the rest end with the errno a POSIX
system gives (ESPIPE for seeking a stream, EBADF for reading a directory, ...)."""

from __future__ import annotations

import fcntl
import os
import stat

from aot.wasi import layout as L
from aot.wasi.errno import Errno, WasiError

_FILETYPES = (
    (stat.S_ISREG, L.FILETYPE_REGULAR_FILE),
    (stat.S_ISDIR, L.FILETYPE_DIRECTORY),
    (stat.S_ISCHR, L.FILETYPE_CHARACTER_DEVICE),
    (stat.S_ISBLK, L.FILETYPE_BLOCK_DEVICE),
    (stat.S_ISLNK, L.FILETYPE_SYMBOLIC_LINK),
    (stat.S_ISSOCK, L.FILETYPE_SOCKET_STREAM),
)


def filetype_of(mode: int) -> int:
    return next((kind for test, kind in _FILETYPES if test(mode)), L.FILETYPE_UNKNOWN)


def filestat_of(st: os.stat_result) -> tuple:
    """A `filestat` record's fields."""
    return (st.st_dev, st.st_ino, filetype_of(st.st_mode), st.st_nlink, st.st_size,
            st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)


class Entry:
    """An open descriptor.  Subclasses override what they support."""

    filetype = L.FILETYPE_UNKNOWN
    rights_base = 0
    rights_inheriting = 0
    host_fd: int | None = None
    owns_host_fd = False
    # poll_oneoff: reads and writes never block (files, memory), else select() on host_fd.
    always_ready = True

    def __init__(self) -> None:
        self.fdflags = 0

    def read(self, bufs: list[memoryview]) -> int:
        raise WasiError(Errno.BADF)

    def write(self, bufs: list[memoryview]) -> int:
        raise WasiError(Errno.BADF)

    def pread(self, bufs: list[memoryview], offset: int) -> int:
        raise WasiError(Errno.SPIPE)

    def pwrite(self, bufs: list[memoryview], offset: int) -> int:
        raise WasiError(Errno.SPIPE)

    def seek(self, offset: int, whence: int) -> int:
        raise WasiError(Errno.SPIPE)

    def filestat(self) -> tuple:
        return (0, 0, self.filetype, 0, 0, 0, 0, 0)

    def set_flags(self, flags: int) -> None:
        if flags & ~(L.FDFLAG_APPEND | L.FDFLAG_NONBLOCK):
            raise WasiError(Errno.NOTSUP)  # the sync flags cannot be changed after opening
        self.fdflags = flags

    def sync(self, data_only: bool) -> None:
        raise WasiError(Errno.BADF)

    def close(self) -> None:
        if self.owns_host_fd and self.host_fd is not None:
            fd, self.host_fd = self.host_fd, None
            os.close(fd)


class HostFile(Entry):
    """A file (or device) opened through path_open: everything goes to its host fd."""

    owns_host_fd = True

    def __init__(self, host_fd: int, readable: bool, writable: bool, fdflags: int):
        super().__init__()
        self.host_fd = host_fd
        self.fdflags = fdflags
        self.filetype = filetype_of(os.fstat(host_fd).st_mode)
        self.rights_base = (L.RIGHTS_FILE_READ if readable else 0) | (
            L.RIGHTS_FILE_WRITE if writable else 0)

    def read(self, bufs):
        return os.readv(self.host_fd, bufs) if bufs else 0

    def write(self, bufs):
        return os.writev(self.host_fd, bufs) if bufs else 0

    def pread(self, bufs, offset):
        return os.preadv(self.host_fd, bufs, offset) if bufs else 0

    def pwrite(self, bufs, offset):
        return os.pwritev(self.host_fd, bufs, offset) if bufs else 0

    def seek(self, offset, whence):
        return os.lseek(self.host_fd, offset, whence)

    def filestat(self):
        return filestat_of(os.fstat(self.host_fd))

    def set_flags(self, flags):
        super().set_flags(flags)
        host = fcntl.fcntl(self.host_fd, fcntl.F_GETFL) & ~(os.O_APPEND | os.O_NONBLOCK)
        host |= (os.O_APPEND if flags & L.FDFLAG_APPEND else 0) | (
            os.O_NONBLOCK if flags & L.FDFLAG_NONBLOCK else 0)
        fcntl.fcntl(self.host_fd, fcntl.F_SETFL, host)

    def sync(self, data_only):
        (os.fdatasync if data_only else os.fsync)(self.host_fd)


class Directory(Entry):
    """A directory: a preopen (with the name the guest knows it by) or one path_open
    opened.  Paths given with this descriptor are resolved under it (see sandbox)."""

    filetype = L.FILETYPE_DIRECTORY
    rights_base = L.RIGHTS_DIR
    rights_inheriting = L.RIGHTS_ALL
    owns_host_fd = True

    def __init__(self, host_fd: int, preopen_name: bytes | None = None):
        super().__init__()
        self.host_fd = host_fd
        self.preopen_name = preopen_name
        self.listing: list[tuple[bytes, int, int]] | None = None  # fd_readdir's snapshot

    def filestat(self):
        return filestat_of(os.fstat(self.host_fd))

    def sync(self, data_only):
        os.fsync(self.host_fd)


class FdTable:
    """Numbers → entries.  New descriptors take the lowest free number."""

    def __init__(self) -> None:
        self._entries: dict[int, Entry] = {}

    def get(self, fd: int) -> Entry:
        entry = self._entries.get(fd)
        if entry is None:
            raise WasiError(Errno.BADF)
        return entry

    def directory(self, fd: int) -> Directory:
        entry = self.get(fd)
        if not isinstance(entry, Directory):
            raise WasiError(Errno.NOTDIR)
        return entry

    def insert(self, entry: Entry) -> int:
        fd = 0
        while fd in self._entries:
            fd += 1
        self._entries[fd] = entry
        return fd

    def close(self, fd: int) -> None:
        self.get(fd).close()
        del self._entries[fd]

    def renumber(self, fd: int, to: int) -> None:
        entry, old = self.get(fd), self.get(to)
        if fd == to:
            return
        old.close()
        self._entries[to] = entry
        del self._entries[fd]

    def close_all(self) -> None:
        entries, self._entries = self._entries, {}
        for entry in entries.values():
            entry.close()

    def __iter__(self):
        return iter(self._entries.items())
