"""funcref pointer -> `aot.Func`.

A VMFuncRef lives in some instance's VMContext (`func_refs` array), so the owning
instance is found by address range, and the index by offset: nothing is registered per
function, which keeps instantiation cheap.  The exception is a host function that got a
VMFuncRef of its own (in a table without being imported): registered by address."""

from __future__ import annotations

import bisect
import weakref

from aot.abi.vmctx import FuncRef

_starts: list[int] = []
_entries: dict[int, tuple[int, weakref.ref]] = {}  # start -> (end, instance)
_host_refs: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # address -> Func


def register_host_ref(addr: int, func) -> None:
    """`func` owns the VMFuncRef at `addr` (the entry goes when `func` does)."""
    _host_refs[addr] = func


def register_instance(instance_ref: weakref.ref, start: int, end: int) -> None:
    """Until `unregister_instance(start)` (the instance calls it when it dies)."""
    bisect.insort(_starts, start)
    _entries[start] = (end, instance_ref)


def unregister_instance(start: int) -> None:
    i = bisect.bisect_left(_starts, start)
    if i < len(_starts) and _starts[i] == start:
        del _starts[i]
    _entries.pop(start, None)


def func_from_ref(addr: int):
    """The Func a funcref pointer designates, or None for the null reference."""
    if addr == 0:
        return None
    func = _host_refs.get(addr)
    if func is not None:
        return func
    i = bisect.bisect_right(_starts, addr) - 1
    if i >= 0:
        start = _starts[i]
        end, ref = _entries[start]
        instance = ref()
        if instance is not None and addr < end:
            index = (addr - instance._func_refs_addr) // FuncRef.SIZE
            return instance._func(index)
    raise LookupError(f"funcref 0x{addr:x} does not belong to a live instance")
