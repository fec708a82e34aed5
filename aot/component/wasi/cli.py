"""wasi:cli — environment, exit, the three stdio streams and the terminal interfaces,
over the preview-1 context's arguments, environment and descriptors 0-2."""

from __future__ import annotations

import os

from aot.component.values import Ok
from aot.component.wasi.host import Interface
from aot.component.wasi.streams import EntryInput, EntryOutput
from aot.errors import Exit
from aot.wasi.fdtable import Entry


def add_environment(iface: Interface) -> None:
    host = iface.host
    iface.funcs({
        "get-environment": lambda: list(host.env),
        "get-arguments": lambda: list(host.args),
        # No directory is current: relative paths mean nothing without a descriptor.
        "initial-cwd": lambda: None,
    })


def _exit(status: object) -> None:
    # Unwinds the wasm stack to the caller of `run`, as preview 1's proc_exit does.
    raise Exit(0 if isinstance(status, Ok) else 1)


def _exit_with_code(code: int) -> None:
    raise Exit(code)


def add_exit(iface: Interface) -> None:
    iface.funcs({"exit": _exit,
                 "exit-with-code": _exit_with_code})  # @unstable(feature = cli-exit-with-code)


def _stdio(iface: Interface, fd: int) -> Entry:
    return iface.host.ctx.fds.get(fd)


def add_stdio(stdin: Interface, stdout: Interface, stderr: Interface) -> None:
    stdin.func("get-stdin", lambda: stdin.new("input-stream", EntryInput(_stdio(stdin, 0))))
    stdout.func("get-stdout",
                lambda: stdout.new("output-stream", EntryOutput(_stdio(stdout, 1))))
    stderr.func("get-stderr",
                lambda: stderr.new("output-stream", EntryOutput(_stdio(stderr, 2))))


class Terminal:
    """A terminal-input or terminal-output resource: the WIT gives it no methods."""


def add_terminal(iface: Interface, fd: int, getter: str, resource: str) -> None:
    """`get-terminal-stdin` and the like: the terminal when descriptor `fd` is one on the
    host (an inherited or given descriptor that isatty), else none."""
    def get():
        entry = _stdio(iface, fd)
        host_fd = entry.host_fd
        if host_fd is None or not os.isatty(host_fd):
            return None
        return iface.new(resource, Terminal())
    iface.func(getter, get)
