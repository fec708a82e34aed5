"""The runtime helpers compiled code calls through the VMContext's builtin table
(`aot.abi.vmctx.Builtin`), as cffi callbacks into Python."""

from __future__ import annotations

import weakref

from aot.abi.vmctx import BUILTIN_C_SIGNATURES, Builtin
from aot.loader import parking
from aot.loader.ffi import address, ffi, libc
from aot.loader.limits import memory_may_grow, refused, table_may_grow

# vmctx address -> its instance (weakly), for helpers that must find their instance.  A
# plain dict: the instance adds and removes itself, cheaper than a WeakValueDictionary.
_instances: dict[int, weakref.ref] = {}


def register_vmctx(vmctx: int, instance_ref: weakref.ref) -> None:
    _instances[vmctx] = instance_ref


def unregister_vmctx(vmctx: int, instance_ref: weakref.ref) -> None:
    if _instances.get(vmctx) is instance_ref:
        del _instances[vmctx]


def instance_at(vmctx: int):
    """The live instance whose VMContext is at `vmctx`, or None."""
    ref = _instances.get(vmctx)
    return None if ref is None else ref()


def _memory_grow(vmctx, memory_index, delta):
    try:
        instance = instance_at(address(vmctx))
        memory = instance._memories[memory_index]
        if delta and not memory_may_grow(instance.store, memory, delta):
            return refused(instance.store)
        return memory.grow_pages(delta)
    except Exception:  # noqa: BLE001 - memory.grow reports failure as -1, never raises
        return -1


def _table_grow(vmctx, table_index, delta, init):
    try:
        instance = instance_at(address(vmctx))
        table = instance._tables[table_index]
        if delta and not table_may_grow(instance.store, table, delta):
            return refused(instance.store)
        return table.grow_elements(delta, init)
    except Exception:  # noqa: BLE001 - table.grow reports failure as -1, never raises
        return -1


def _atomic_wait32(addr, expected, timeout_ns):
    return parking.wait(address(addr), "int32_t *", expected, timeout_ns)


def _atomic_wait64(addr, expected, timeout_ns):
    return parking.wait(address(addr), "int64_t *", expected, timeout_ns)


def _atomic_notify(addr, count):
    return parking.notify(address(addr), count)


# Helpers written in Python (rare, slow-path operations) ...
_CALLBACKS = {
    b: ffi.callback(BUILTIN_C_SIGNATURES[b], fn)
    for b, fn in {Builtin.MEMORY_GROW: _memory_grow, Builtin.TABLE_GROW: _table_grow,
                  Builtin.ATOMIC_WAIT32: _atomic_wait32, Builtin.ATOMIC_WAIT64: _atomic_wait64,
                  Builtin.ATOMIC_NOTIFY: _atomic_notify}.items()
}
# ... and the C library's own functions, called directly by compiled code.
_LIBC = {Builtin.MEMMOVE: "memmove", Builtin.MEMSET: "memset", Builtin.MEMCPY: "memcpy",
         Builtin.FMA: "fma", Builtin.FMAF: "fmaf"}


def _entry(b: Builtin):
    if b in _CALLBACKS:
        return ffi.cast("void *", _CALLBACKS[b])
    return ffi.cast("void *", ffi.addressof(libc, _LIBC[b]))


BUILTIN_TABLE = ffi.new("void *[]", [_entry(b) for b in Builtin])
