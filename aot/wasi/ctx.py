"""WasiCtx: one WASI "process" — its descriptor table, arguments and environment — and
the link between it and the instance whose memory its calls read and write."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from aot.errors import AotError, Exit
from aot.wasi.config import WasiConfig
from aot.wasi.fdtable import Directory, FdTable
from aot.wasi.guest import GuestMemory
from aot.wasi.imports import MODULE, wasi_imports
from aot.wasi.stdio import MemoryStream, open_stdio


def _text(value, what: str) -> bytes:
    if not isinstance(value, (str, bytes, bytearray, os.PathLike)):
        raise AotError(f"WASI {what} must be a string, not {value!r}")
    data = os.fsencode(value) if isinstance(value, (str, os.PathLike)) else bytes(value)
    if b"\0" in data:
        raise AotError(f"WASI {what} {value!r} contains a NUL byte")
    return data


class WasiCtx:
    """The WASI state of one program run.

        wasi = aot.WasiCtx(aot.WasiConfig(args=["prog", "x"], stdout="capture"))
        code = wasi.run(module)          # instantiate, call _start, give the exit code
        wasi.stdout                      # what it wrote

    or, step by step, `instance = wasi.instantiate(module)` (which binds the context to
    the instance's memory), then call exports.  Close it (or use `with`) to release the
    host descriptors it opened.
    """

    def __init__(self, config: WasiConfig | None = None):
        config = config or WasiConfig()
        self.config = config
        self.args = [_text(a, "argument") for a in config.args]
        env = config.env.items() if isinstance(config.env, Mapping) else config.env
        self.environ = []
        for k, v in env:
            key = _text(k, "environment variable name")
            if b"=" in key or not key:
                raise AotError(f"WASI environment variable name {k!r} is empty or contains '='")
            self.environ.append(key + b"=" + _text(v, "environment value"))
        self.memory = GuestMemory()
        self.fds = FdTable()
        try:
            # Kept apart too: captured output stays readable after the guest closes 1 or 2.
            self._stdio = [open_stdio(fd, spec) for fd, spec in
                           enumerate((config.stdin, config.stdout, config.stderr))]
            for stream in self._stdio:
                self.fds.insert(stream)
            for host, guest in config.preopens:
                self.fds.insert(Directory(self._open_dir(host), _text(guest, "preopen name")))
        except BaseException:
            self.fds.close_all()
            raise

    @staticmethod
    def _open_dir(host) -> int:
        try:
            return os.open(host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise AotError(f"cannot preopen directory {os.fspath(host)!r}: {exc.strerror}") from None

    # --- linking --------------------------------------------------------------------------

    def imports(self, module=None) -> dict[str, dict[str, Any]]:
        """{"wasi_snapshot_preview1": {name: aot.Func}} for what `module` imports (all of
        preview 1 when no module is given).  Raises LinkError for a mistyped import."""
        return wasi_imports(self, module)

    def bind(self, instance) -> None:
        """Let this context's calls use `instance`'s exported memory."""
        exports = instance.exports
        self.memory = GuestMemory(exports["memory"] if "memory" in exports else None)

    def instantiate(self, module, imports: Mapping[str, Mapping[str, Any]] | None = None, *,
                    store=None):
        """Instantiate `module` with WASI (plus any other `imports`) and bind to it."""
        linked = {**(imports or {}), **self.imports(module)}
        if imports and MODULE in imports:  # the caller's own definitions win
            linked[MODULE] = {**linked[MODULE], **imports[MODULE]}
        instance = module.instantiate(linked, store=store)
        self.bind(instance)
        return instance

    def run(self, module, imports: Mapping[str, Mapping[str, Any]] | None = None) -> int:
        """Run a WASI command: instantiate, call `_start`, return the exit code (the one
        given to proc_exit, else 0).  A trap propagates as aot.Trap."""
        try:
            instance = self.instantiate(module, imports)
        except Exit as exc:  # from the module's start function
            return exc.code
        if "_start" not in instance.exports:
            raise AotError("the module exports no '_start' function: it is not a WASI command")
        return self.start(instance)

    def start(self, instance) -> int:
        """Call `instance`'s `_start`; the exit code."""
        self._flush_host_stdio()
        try:
            instance.exports["_start"]()
        except Exit as exc:
            return exc.code
        return 0

    @staticmethod
    def _flush_host_stdio() -> None:
        # Python's buffered output must come out before what the guest writes to fd 1/2.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, ValueError, OSError):
                pass

    # --- results ------------------------------------------------------------------------

    def _captured(self, fd: int, name: str) -> bytes:
        entry = self._stdio[fd]
        if not isinstance(entry, MemoryStream):
            raise AotError(f"WASI {name} was not captured (give {name}=\"capture\" in WasiConfig)")
        return bytes(entry.data)

    @property
    def stdout(self) -> bytes:
        """What the guest wrote to a captured stdout."""
        return self._captured(1, "stdout")

    @property
    def stderr(self) -> bytes:
        return self._captured(2, "stderr")

    def close(self) -> None:
        """Close every descriptor the guest still has open (and the preopens)."""
        self.fds.close_all()

    def __enter__(self) -> WasiCtx:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
