"""Input and output streams (`wasi:io/streams`) over the preview-1 descriptors: stdio
entries of aot.wasi's descriptor table (inherited, captured, redirected, null) and host
files read or written at an offset.

Writes complete before they return (a blocking host write), so `flush` has nothing to
do; `check-write` reports room only when the host descriptor can take data, so a guest
that polls first never blocks."""

from __future__ import annotations

import os

from aot.component.wasi.errors import IoError, io_error
from aot.component.wasi.poll import FdPollable, Pollable, fd_ready
from aot.wasi.errno import WasiError
from aot.wasi.fdtable import Entry

# What check-write allows at a time, and the most one read returns: large enough for
# any sensible chunk, small enough to bound the buffers the host allocates for a guest.
WRITE_BUDGET = 1 << 20
READ_MAX = 1 << 20


class StreamClosed(Exception):
    """The stream is closed: end of input, or an output whose reader went away."""


class StreamFailed(Exception):
    """The last operation failed: `error` says why (an `error` resource for the guest)."""

    def __init__(self, error: IoError) -> None:
        super().__init__(error.message)
        self.error = error


def _failed(exc: OSError | WasiError, what: str) -> StreamFailed:
    return StreamFailed(io_error(exc, what))


class OutputStream:
    """Writes go to `_write_some` (returns how many bytes it took)."""

    fd: int | None = None  # a host descriptor that can be full (a pipe, a terminal)

    def check_write(self) -> int:
        if self.fd is not None and not fd_ready(self.fd, True, 0):
            return 0
        return WRITE_BUDGET

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = self._write_some(view)
            except BlockingIOError as exc:  # a descriptor someone made non-blocking
                if self.fd is None:
                    raise _failed(exc, "write") from None
                fd_ready(self.fd, True, None)
                continue
            except BrokenPipeError:
                raise StreamClosed() from None
            except (OSError, WasiError) as exc:
                raise _failed(exc, "write") from None
            view = view[n:]

    def _write_some(self, view: memoryview) -> int:
        raise NotImplementedError

    def flush(self) -> None:
        """Writes are not buffered here: nothing to flush."""

    def subscribe(self) -> Pollable:
        return FdPollable(self.fd, True) if self.fd is not None else Pollable()

    def close(self) -> None:
        """Dropped by the guest: a stdio stream stays open (the guest may get it again)."""


class EntryOutput(OutputStream):
    """An output stream over a preview-1 descriptor entry (stdout, stderr)."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        if not entry.always_ready:
            self.fd = entry.host_fd

    def _write_some(self, view: memoryview) -> int:
        return self.entry.write([view])


class FileOutput(OutputStream):
    """A file written from `offset` on (`write-via-stream`), or at its end each time
    (`append-via-stream`).  The stream has its own duplicate of the descriptor: the
    guest may drop the descriptor first."""

    def __init__(self, host_fd: int, offset: int | None) -> None:
        self.host_fd = os.dup(host_fd)
        self.offset = offset  # None: append

    def _write_some(self, view: memoryview) -> int:
        if self.offset is None:
            return os.pwrite(self.host_fd, view, os.fstat(self.host_fd).st_size)
        n = os.pwrite(self.host_fd, view, self.offset)
        self.offset += n
        return n

    def close(self) -> None:
        os.close(self.host_fd)


class InputStream:
    """Reads come from `_read_some(n)`; b"" means the end of the input."""

    fd: int | None = None  # a host descriptor that can have nothing to read yet

    def read(self, n: int, blocking: bool) -> bytes:
        if n == 0:
            return b""
        if not blocking and self.fd is not None and not fd_ready(self.fd, False, 0):
            return b""  # nothing yet: a non-blocking read returns no bytes
        try:
            data = self._read_some(min(n, READ_MAX))
        except BlockingIOError:  # a descriptor someone made non-blocking
            if not blocking or self.fd is None:
                return b""
            fd_ready(self.fd, False, None)
            return self.read(n, blocking)
        except (OSError, WasiError) as exc:
            raise _failed(exc, "read") from None
        if not data:
            raise StreamClosed()
        return data

    def _read_some(self, n: int) -> bytes:
        raise NotImplementedError

    def subscribe(self) -> Pollable:
        return FdPollable(self.fd, False) if self.fd is not None else Pollable()

    def close(self) -> None:
        """Dropped by the guest: stdin stays open (the guest may get it again)."""


class EntryInput(InputStream):
    """An input stream over a preview-1 descriptor entry (stdin)."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        if not entry.always_ready:
            self.fd = entry.host_fd

    def _read_some(self, n: int) -> bytes:
        buf = bytearray(n)
        got = self.entry.read([memoryview(buf)])
        return bytes(buf[:got])


class FileInput(InputStream):
    """A file read from `offset` on (`read-via-stream`), through its own duplicate of
    the descriptor."""

    def __init__(self, host_fd: int, offset: int) -> None:
        self.host_fd = os.dup(host_fd)
        self.offset = offset

    def _read_some(self, n: int) -> bytes:
        data = os.pread(self.host_fd, n, self.offset)
        self.offset += len(data)
        return data

    def close(self) -> None:
        os.close(self.host_fd)
