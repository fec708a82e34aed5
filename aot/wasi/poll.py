"""poll_oneoff: clock subscriptions wait (relative or absolute, on any WASI clock); fd
subscriptions are ready at once, except on host streams (inherited stdio, pipes), which
select() waits for."""

from __future__ import annotations

import os
import select
import time

from aot.wasi import clocks
from aot.wasi import layout as L
from aot.wasi.errno import Errno, WasiError
from aot.wasi.fdtable import HostFile

_NS = 1_000_000_000


def _nbytes(entry, event_type: int) -> int:
    """Bytes a read could return without blocking, where that is known (regular files)."""
    if event_type == L.EVENT_FD_READ and isinstance(entry, HostFile):
        st = os.fstat(entry.host_fd)
        return max(0, st.st_size - os.lseek(entry.host_fd, 0, os.SEEK_CUR))
    return 0


def _sleep_until(deadline: int) -> None:
    while (left := deadline - time.monotonic_ns()) > 0:
        time.sleep(left / _NS)


def poll_oneoff(ctx, subs_ptr, events_ptr, nsubscriptions, out):
    if nsubscriptions == 0:
        raise WasiError(Errno.INVAL)
    mem = ctx.memory
    subs = mem.read(subs_ptr, nsubscriptions * L.SUBSCRIPTION_SIZE)
    mem.span(events_ptr, nsubscriptions * L.EVENT.size)
    mem.span(out, 4)
    start = time.monotonic_ns()
    events: list[tuple[int, int, int, int]] = []  # userdata, errno, type, nbytes
    timers: list[tuple[int, int]] = []            # monotonic deadline, userdata
    waiting: dict[tuple[int, int], int] = {}      # (host fd, type) -> userdata
    for i in range(nsubscriptions):
        at = i * L.SUBSCRIPTION_SIZE
        userdata, tag = L.SUB_HEAD.unpack_from(subs, at)
        if tag == L.EVENT_CLOCK:
            clock_id, timeout, _precision, flags = L.SUB_CLOCK.unpack_from(subs, at + 16)
            try:
                now = clocks.now(clock_id)
            except WasiError as exc:
                events.append((userdata, exc.errno, tag, 0))
                continue
            wait = timeout - now if flags & L.SUBSCRIPTION_CLOCK_ABSTIME else timeout
            timers.append((start + max(0, wait), userdata))
        elif tag in (L.EVENT_FD_READ, L.EVENT_FD_WRITE):
            (fd,) = L.SUB_FD.unpack_from(subs, at + 16)
            try:
                entry = ctx.fds.get(fd)
            except WasiError as exc:
                events.append((userdata, exc.errno, tag, 0))
                continue
            if entry.always_ready or entry.host_fd is None:
                events.append((userdata, 0, tag, _nbytes(entry, tag)))
            else:
                waiting[(entry.host_fd, tag)] = userdata
        else:
            events.append((userdata, Errno.INVAL, tag, 0))
    if not events:
        deadline = min(t for t, _ in timers) if timers else None
        if waiting:
            timeout = None if deadline is None else max(0, deadline - time.monotonic_ns()) / _NS
            rd = [fd for fd, t in waiting if t == L.EVENT_FD_READ]
            wr = [fd for fd, t in waiting if t == L.EVENT_FD_WRITE]
            r, w, _ = select.select(rd, wr, [], timeout)
            events += [(waiting[(fd, L.EVENT_FD_READ)], 0, L.EVENT_FD_READ, 0) for fd in r]
            events += [(waiting[(fd, L.EVENT_FD_WRITE)], 0, L.EVENT_FD_WRITE, 0) for fd in w]
        elif deadline is not None:
            _sleep_until(deadline)
    now = time.monotonic_ns()
    events += [(ud, 0, L.EVENT_CLOCK, 0) for t, ud in timers if t <= now]
    for i, (userdata, errno, tag, nbytes) in enumerate(events):
        mem.pack(events_ptr + i * L.EVENT.size, L.EVENT, userdata, errno, tag, nbytes, 0)
    mem.u32(out, len(events))
