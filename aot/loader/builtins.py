"""The runtime helpers compiled code calls through the VMContext's builtin table
(`aot.abi.vmctx.Builtin`), as cffi callbacks into Python."""

from __future__ import annotations

import weakref

from aot.abi.vmctx import BUILTIN_C_SIGNATURES, Builtin
from aot.loader.ffi import address, ffi

# vmctx address -> instance, for helpers that must find their instance.
instances_by_vmctx: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _memory_grow(vmctx, memory_index, delta):
    try:
        instance = instances_by_vmctx[address(vmctx)]
        return instance._memories[memory_index].grow_pages(delta)
    except Exception:  # noqa: BLE001 - memory.grow reports failure as -1, never raises
        return -1


def _table_grow(vmctx, table_index, delta, init):
    try:
        instance = instances_by_vmctx[address(vmctx)]
        return instance._tables[table_index].grow_elements(delta, init)
    except Exception:  # noqa: BLE001 - table.grow reports failure as -1, never raises
        return -1


_IMPLEMENTATIONS = {Builtin.MEMORY_GROW: _memory_grow, Builtin.TABLE_GROW: _table_grow}
_callbacks = [ffi.callback(BUILTIN_C_SIGNATURES[b], _IMPLEMENTATIONS[b]) for b in Builtin]
BUILTIN_TABLE = ffi.new("void *[]", [ffi.cast("void *", cb) for cb in _callbacks])
