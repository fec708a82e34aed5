"""wasi:clocks — wall-clock and monotonic-clock: the host's CLOCK_REALTIME and
CLOCK_MONOTONIC, as preview 1's clock_time_get reads them."""

from __future__ import annotations

import time

from aot.component.wasi.host import Interface
from aot.component.wasi.poll import DeadlinePollable
from aot.wasi import clocks as p1
from aot.wasi import layout as L

_NS = 1_000_000_000


def _resolution(clock_id: int) -> int:
    # Never 0: a clock that resolves nothing is no clock (preview 1 says the same).
    return max(1, round(time.clock_getres(p1.host_clock(clock_id)) * _NS))


def _datetime(ns: int) -> dict[str, int]:
    seconds, nanoseconds = divmod(ns, _NS)
    return {"seconds": seconds, "nanoseconds": nanoseconds}


def add_wall_clock(iface: Interface) -> None:
    iface.funcs({
        "now": lambda: _datetime(p1.now(L.CLOCK_REALTIME)),
        "resolution": lambda: _datetime(_resolution(L.CLOCK_REALTIME)),
    })


def add_monotonic_clock(iface: Interface) -> None:
    # p1.now(CLOCK_MONOTONIC) is time.monotonic_ns(), which DeadlinePollable waits on.
    def after(ns: int) -> object:
        return iface.new("pollable", DeadlinePollable(time.monotonic_ns() + ns))

    iface.funcs({
        "now": lambda: p1.now(L.CLOCK_MONOTONIC),
        "resolution": lambda: _resolution(L.CLOCK_MONOTONIC),
        "subscribe-instant": lambda when: iface.new("pollable", DeadlinePollable(when)),
        "subscribe-duration": after,
    })
