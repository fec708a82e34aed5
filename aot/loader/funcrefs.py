"""funcref pointer -> `aot.Func`.

Every VMFuncRef lives in some instance's VMContext (`func_refs` array), so the owning
instance is found by address range, and the index by offset.  Nothing is registered per
function, which keeps instantiation cheap."""

from __future__ import annotations

import bisect
import weakref

from aot.abi.vmctx import FuncRef

_starts: list[int] = []
_entries: dict[int, tuple[int, weakref.ref]] = {}  # start -> (end, instance)


def register_instance(instance, start: int, end: int) -> None:
    bisect.insort(_starts, start)
    _entries[start] = (end, weakref.ref(instance))
    weakref.finalize(instance, _unregister, start)


def _unregister(start: int) -> None:
    i = bisect.bisect_left(_starts, start)
    if i < len(_starts) and _starts[i] == start:
        del _starts[i]
    _entries.pop(start, None)


def func_from_ref(addr: int):
    """The Func a funcref pointer designates, or None for the null reference."""
    if addr == 0:
        return None
    i = bisect.bisect_right(_starts, addr) - 1
    if i >= 0:
        start = _starts[i]
        end, ref = _entries[start]
        instance = ref()
        if instance is not None and addr < end:
            index = (addr - instance._func_refs_addr) // FuncRef.SIZE
            return instance._func(index)
    raise LookupError(f"funcref 0x{addr:x} does not belong to a live instance")
