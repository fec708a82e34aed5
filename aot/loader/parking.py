"""memory.atomic.wait and notify: a parking lot keyed by absolute address.

A shared memory is one mapping every instance sees at the same address, so waiters of
any instance on any thread meet at `base + ea`.  Compiled code calls these through the
builtin table with the GIL released; cffi takes the GIL for the callback, and a waiter
gives it back while it sleeps (`threading.Event.wait`).  One lock orders every wait's
compare-and-enqueue against every notify, so a notify that follows a store cannot slip
between a waiter's compare and its sleep."""

from __future__ import annotations

import threading
from collections import deque

from aot.loader.ffi import ffi

OK, NOT_EQUAL, TIMED_OUT = 0, 1, 2

_lock = threading.Lock()
_queues: dict[int, deque[threading.Event]] = {}


def wait(address: int, ctype: str, expected: int, timeout_ns: int) -> int:
    """Sleep at `address` until notified, unless the value there (a `ctype`) is not
    `expected`; a negative timeout waits forever."""
    with _lock:
        if ffi.cast(ctype, address)[0] != expected:
            return NOT_EQUAL
        woken = threading.Event()
        _queues.setdefault(address, deque()).append(woken)
    if woken.wait(None if timeout_ns < 0 else timeout_ns / 1e9):
        return OK
    with _lock:
        queue = _queues.get(address)
        if woken.is_set() or queue is None or woken not in queue:
            return OK  # notified between the timeout and taking the lock
        queue.remove(woken)
        if not queue:
            del _queues[address]
        return TIMED_OUT


def notify(address: int, count: int) -> int:
    """Wake up to `count` waiters at `address`, oldest first; how many woke."""
    with _lock:
        queue = _queues.get(address)
        woken = 0
        while queue and woken < count:
            queue.popleft().set()
            woken += 1
        if queue is not None and not queue:
            del _queues[address]
    return woken

