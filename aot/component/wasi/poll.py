"""Pollables (`wasi:io/poll`): what a stream or a clock subscription waits for — a host
descriptor becoming readable or writable (select()), a monotonic deadline, or nothing
(ready at once: files, memory streams)."""

from __future__ import annotations

import select
import time

from aot.component.abi_context import trap

_NS = 1_000_000_000


class Pollable:
    """Ready at once.  Subclasses wait for a descriptor or a deadline."""

    fd: int | None = None
    writing = False
    deadline: int | None = None  # time.monotonic_ns()

    def ready(self) -> bool:
        return True

    def block(self) -> None:
        poll([self])


class FdPollable(Pollable):
    """Ready when host descriptor `fd` can be read (or written) without blocking."""

    def __init__(self, fd: int, writing: bool) -> None:
        self.fd = fd
        self.writing = writing

    def ready(self) -> bool:
        return fd_ready(self.fd, self.writing, 0)


class DeadlinePollable(Pollable):
    """Ready once the monotonic clock reaches `deadline` (ns)."""

    def __init__(self, deadline: int) -> None:
        self.deadline = deadline

    def ready(self) -> bool:
        return time.monotonic_ns() >= self.deadline


def fd_ready(fd: int, writing: bool, timeout: float | None) -> bool:
    try:
        readable, writable, _ = select.select([] if writing else [fd], [fd] if writing else [],
                                              [], timeout)
    except (OSError, ValueError):
        return True  # a closed or unselectable descriptor: the operation itself will say
    return bool(readable or writable)


def poll(pollables: list[Pollable]) -> list[int]:
    """`wasi:io/poll.poll`: block until at least one is ready; the indices of the ready
    ones."""
    if not pollables:
        raise trap("wasi:io/poll.poll: the list of pollables is empty (it would block forever)")
    while True:
        ready = [i for i, p in enumerate(pollables) if p.ready()]
        if ready:
            return ready
        _wait(pollables)


def _wait(pollables: list[Pollable]) -> None:
    """Sleep until a descriptor is ready or the earliest deadline passes."""
    deadlines = [p.deadline for p in pollables if p.deadline is not None]
    timeout = None
    if deadlines:
        timeout = max(0, min(deadlines) - time.monotonic_ns()) / _NS
    reads = [p.fd for p in pollables if p.fd is not None and not p.writing]
    writes = [p.fd for p in pollables if p.fd is not None and p.writing]
    if not reads and not writes:
        time.sleep(timeout or 0)
        return
    try:
        select.select(reads, writes, [], timeout)
    except (OSError, ValueError):
        return  # the next ready() check reports the broken descriptor as ready
