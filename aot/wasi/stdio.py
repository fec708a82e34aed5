"""Descriptors 0, 1 and 2: inherited from the host, redirected to a file, captured in
memory (stdin: read from given bytes), or null."""

from __future__ import annotations

import os
from typing import Any

from aot.errors import AotError
from aot.wasi import layout as L
from aot.wasi.fdtable import Entry

_IN_RIGHTS = L.RIGHT["fd_read"] | L.RIGHT["poll_fd_readwrite"] | L.RIGHT["fd_filestat_get"] | (
    L.RIGHT["fd_fdstat_set_flags"])
_OUT_RIGHTS = L.RIGHT["fd_write"] | L.RIGHT["poll_fd_readwrite"] | L.RIGHT["fd_filestat_get"] | (
    L.RIGHT["fd_fdstat_set_flags"])


class Stream(Entry):
    def __init__(self, readable: bool):
        super().__init__()
        self.rights_base = _IN_RIGHTS if readable else _OUT_RIGHTS


class HostStream(Stream):
    """A host descriptor used as a stream (never seeked: stdio is not seekable in WASI)."""

    always_ready = False  # a pipe or terminal: poll_oneoff asks select()

    def __init__(self, host_fd: int, readable: bool, owned: bool):
        super().__init__(readable)
        self.host_fd = host_fd
        self.owns_host_fd = owned
        # wasmtime's choice, and what wasi-libc's isatty() tests.
        self.filetype = L.FILETYPE_CHARACTER_DEVICE if os.isatty(host_fd) else L.FILETYPE_UNKNOWN

    def read(self, bufs):
        return os.readv(self.host_fd, bufs) if bufs else 0

    def write(self, bufs):
        return os.writev(self.host_fd, bufs) if bufs else 0


class MemoryStream(Stream):
    """Captured output (`data` grows), or input served from `data`."""

    def __init__(self, readable: bool, data: bytes = b""):
        super().__init__(readable)
        self.data = bytearray(data)
        self._pos = 0

    def read(self, bufs):
        total = 0
        for buf in bufs:
            chunk = self.data[self._pos:self._pos + len(buf)]
            buf[:len(chunk)] = chunk
            self._pos += len(chunk)
            total += len(chunk)
            if len(chunk) < len(buf):
                break
        return total

    def write(self, bufs):
        before = len(self.data)
        for buf in bufs:
            self.data += buf
        return len(self.data) - before


class NullStream(Stream):
    """Reads see end of file; writes are accepted and dropped."""

    def read(self, bufs):
        return 0

    def write(self, bufs):
        return sum(len(b) for b in bufs)


STDIO_NAMES = ("stdin", "stdout", "stderr")


def open_stdio(fd: int, spec: Any) -> Stream:
    """The stream for descriptor `fd` from a WasiConfig value (see WasiConfig)."""
    name, readable = STDIO_NAMES[fd], fd == 0
    if isinstance(spec, str) and spec == "inherit":
        return HostStream(fd, readable, owned=False)
    if isinstance(spec, str) and spec == "capture" and not readable:
        return MemoryStream(readable)
    if isinstance(spec, str) and spec == "null":
        return NullStream(readable)
    if readable and isinstance(spec, (bytes, bytearray, memoryview)):
        return MemoryStream(readable, bytes(spec))
    if isinstance(spec, int) and not isinstance(spec, bool):
        return HostStream(spec, readable, owned=False)
    if isinstance(spec, os.PathLike):
        flags = os.O_RDONLY if readable else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            host_fd = os.open(spec, flags | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise AotError(f"WASI {name}: cannot open {os.fspath(spec)!r}: {exc.strerror}") from None
        return HostStream(host_fd, readable, owned=True)
    if hasattr(spec, "fileno"):
        return HostStream(spec.fileno(), readable, owned=False)
    allowed = ("'inherit', 'null', bytes, a file path (os.PathLike), a descriptor or a file object"
               if readable else
               "'inherit', 'capture', 'null', a file path (os.PathLike), a descriptor or a file object")
    raise AotError(f"WASI {name} must be {allowed}, not {spec!r} "
                   "(give a plain string path as pathlib.Path)")
