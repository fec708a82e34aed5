"""clock_res_get and clock_time_get: the four WASI clocks are the host's clocks of the
same name."""

from __future__ import annotations

import time

from aot.wasi import layout as L
from aot.wasi.errno import Errno, WasiError

_HOST = {
    L.CLOCK_REALTIME: time.CLOCK_REALTIME,
    L.CLOCK_MONOTONIC: time.CLOCK_MONOTONIC,
    L.CLOCK_PROCESS_CPUTIME: time.CLOCK_PROCESS_CPUTIME_ID,
    L.CLOCK_THREAD_CPUTIME: time.CLOCK_THREAD_CPUTIME_ID,
}


def host_clock(clock_id: int) -> int:
    host = _HOST.get(clock_id)
    if host is None:
        raise WasiError(Errno.INVAL)
    return host


def now(clock_id: int) -> int:
    """Nanoseconds on WASI clock `clock_id`."""
    return time.clock_gettime_ns(host_clock(clock_id))


def clock_res_get(ctx, clock_id, out):
    # WASI requires a non-zero resolution.
    ctx.memory.u64(out, max(1, round(time.clock_getres(host_clock(clock_id)) * 1e9)))


def clock_time_get(ctx, clock_id, precision, out):
    ctx.memory.u64(out, now(clock_id))
