"""wasi:io — `error`, `poll` and `streams`: the stream and pollable resources every
other interface hands out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aot.component.abi import Resource
from aot.component.abi_context import trap
from aot.component.values import Err, Ok, Variant
from aot.component.wasi.errors import IoError
from aot.component.wasi.host import Interface
from aot.component.wasi.poll import Pollable, poll
from aot.component.wasi.streams import (
    WRITE_BUDGET,
    InputStream,
    OutputStream,
    StreamClosed,
    StreamFailed,
)

# blocking-write-and-flush and blocking-write-zeroes-and-flush take at most this much
# (the WIT's contract; wasmtime traps past it too).
BLOCKING_WRITE_MAX = 4096


def add_error(iface: Interface) -> None:
    iface.func("[method]error.to-debug-string",
               lambda self: iface.get(self, IoError).message)


def add_poll(iface: Interface) -> None:
    iface.funcs({
        "[method]pollable.ready": lambda self: iface.get(self, Pollable).ready(),
        "[method]pollable.block": lambda self: iface.get(self, Pollable).block(),
        "poll": lambda pollables: poll([iface.get(p, Pollable) for p in pollables]),
    })


def add_streams(iface: Interface) -> None:
    def result(fn: Callable[[], Any]) -> Ok | Err:
        """A stream operation's result<_, stream-error>."""
        try:
            return Ok(fn())
        except StreamClosed:
            return Err(Variant("closed"))
        except StreamFailed as exc:
            return Err(Variant("last-operation-failed", iface.new("error", exc.error)))

    def inp(r: Resource) -> InputStream:
        return iface.get(r, InputStream)

    def out(r: Resource) -> OutputStream:
        return iface.get(r, OutputStream)

    def check_size(n: int, limit: int, what: str) -> int:
        if n > limit:
            raise trap(f"wasi:io/streams {what}: {n} bytes, more than the {limit} it "
                       "takes at once")
        return n

    def blocking_write(stream: OutputStream, data: bytes, what: str) -> None:
        stream.write(data[:check_size(len(data), BLOCKING_WRITE_MAX, what)])

    def zeroes(n: int, limit: int, what: str) -> bytes:
        return bytes(check_size(n, limit, what))

    def splice(self: Resource, src: Resource, n: int, blocking: bool) -> Ok | Err:
        def run() -> int:
            stream = out(self)
            room = stream.check_write() if not blocking else n
            data = inp(src).read(min(n, room), blocking)
            stream.write(data)
            return len(data)
        return result(run)

    iface.funcs({
        "[method]input-stream.read": lambda self, n: result(lambda: inp(self).read(n, False)),
        "[method]input-stream.blocking-read":
            lambda self, n: result(lambda: inp(self).read(n, True)),
        "[method]input-stream.skip":
            lambda self, n: result(lambda: len(inp(self).read(n, False))),
        "[method]input-stream.blocking-skip":
            lambda self, n: result(lambda: len(inp(self).read(n, True))),
        "[method]input-stream.subscribe":
            lambda self: iface.new("pollable", inp(self).subscribe()),
        "[method]output-stream.check-write": lambda self: result(out(self).check_write),
        "[method]output-stream.write":
            lambda self, data: result(lambda: out(self).write(data)),
        "[method]output-stream.blocking-write-and-flush":
            lambda self, data: result(
                lambda: blocking_write(out(self), data, "blocking-write-and-flush")),
        "[method]output-stream.flush": lambda self: result(out(self).flush),
        "[method]output-stream.blocking-flush": lambda self: result(out(self).flush),
        "[method]output-stream.subscribe":
            lambda self: iface.new("pollable", out(self).subscribe()),
        "[method]output-stream.write-zeroes":
            lambda self, n: result(
                lambda: out(self).write(zeroes(n, WRITE_BUDGET, "write-zeroes"))),
        "[method]output-stream.blocking-write-zeroes-and-flush":
            lambda self, n: result(lambda: out(self).write(
                zeroes(n, BLOCKING_WRITE_MAX, "blocking-write-zeroes-and-flush"))),
        "[method]output-stream.splice":
            lambda self, src, n: splice(self, src, n, False),
        "[method]output-stream.blocking-splice":
            lambda self, src, n: splice(self, src, n, True),
    })
