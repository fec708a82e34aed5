"""The loader's half of `aot.abi.pyapi`: fill an artifact's CPython table, and wrap a
Python entry into a builtin callable.

`SUPPORTED` says whether this interpreter can run compiled code that calls CPython
(a regular CPython build whose stable-ABI symbols resolve); then every artifact's table
is filled at load.  `enabled` is the policy on top (environment `AOT_FAST_CALLS=0` turns
the native paths off, tests compare both): functions created while it is off use the
portable cffi path."""

from __future__ import annotations

import ctypes
import os
import sys
import sysconfig

from aot.abi.pyapi import METH_FASTCALL, PYAPI_SIZE, PYAPI_SYMBOLS
from aot.loader.ffi import address, ffi, libc


def _resolve() -> list[int] | None:
    if sys.implementation.name != "cpython":
        return None
    # Object headers differ in free-threaded and trace-refs builds.
    if sysconfig.get_config_var("Py_GIL_DISABLED") or hasattr(sys, "getobjects"):
        return None
    out = []
    for name in PYAPI_SYMBOLS:
        p = libc.dlsym(ffi.NULL, name.encode())  # RTLD_DEFAULT: the interpreter's own
        if p == ffi.NULL:
            return None
        out.append(address(p))
    return out


_ADDRESSES = _resolve()
SUPPORTED = _ADDRESSES is not None
_TABLE = ffi.new("uint64_t[]", _ADDRESSES or [0] * PYAPI_SIZE)

enabled = SUPPORTED and os.environ.get("AOT_FAST_CALLS", "1") != "0"

if SUPPORTED:
    _new_builtin = ctypes.pythonapi.PyCFunction_NewEx
    _new_builtin.restype = ctypes.py_object
    _new_builtin.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.py_object]


def fill_table(table_addr: int) -> None:
    """Give an artifact's code the CPython entry points (once per load)."""
    if SUPPORTED and table_addr:
        ffi.memmove(ffi.cast("void *", table_addr), _TABLE, 8 * PYAPI_SIZE)


_names: dict[str, object] = {}  # ml_name strings, shared (a builtin only borrows its name)


class PythonEntry:
    """A builtin callable over one compiled Python entry, for one function: it owns
    the `PyEntryData` record and the method definition the builtin points to."""

    __slots__ = ("_record", "builtin")

    def __init__(self, entry_addr: int, callee, fallback, raiser, name: str, owner, *,
                 array_entry=0, values=ffi.NULL) -> None:
        self._record = rec = ffi.new(_RECORD)
        data = rec.data
        data.callee = callee
        data.entry = ffi.cast(_VOID_P, array_entry)
        data.values = values
        # Borrowed references: `owner` keeps both alive as long as the builtin lives.
        data.fallback = ffi.cast(_VOID_P, id(fallback))
        data.raiser = ffi.cast(_VOID_P, id(raiser))
        ml_name = _names.get(name)
        if ml_name is None:
            ml_name = _names.setdefault(name, ffi.new("char[]", name.encode()))
        method = rec.def_
        method.ml_name = ml_name
        method.ml_meth = ffi.cast(_VOID_P, entry_addr)
        method.ml_flags = METH_FASTCALL
        # `self` of the builtin is the record's address; its `__module__` slot keeps the
        # owner (and with it this object) alive.
        base = address(rec)
        self.builtin = _new_builtin(base + _DEF_OFFSET, base, owner)


_RECORD = ffi.typeof("PyEntryRecord *")
_VOID_P = ffi.typeof("void *")
_DEF_OFFSET = ffi.offsetof("PyEntryRecord", "def_")
