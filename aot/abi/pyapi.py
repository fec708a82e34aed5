"""The contract between compiled Python entry points and the loader.

An artifact carries, per function type whose values are all numbers (i32, i64, f32,
f64), two pieces of code that talk to CPython directly instead of through cffi:

* a **Python entry**, `PyObject *entry(PyObject *self, PyObject *const *args,
  Py_ssize_t nargs)`: a `METH_FASTCALL` function, wrapped by the loader into a builtin
  callable with `PyCFunction_NewEx`.  `self` is a Python int holding the address of a
  `PyEntryData` record.  Arguments of the exact types int/float and in range are
  converted inline; anything else (a bool, an int subclass, an out-of-range value, a
  wrong count) goes to the record's `fallback` callable, the portable cffi path, which
  converts or raises exactly as it always does.  A nonzero status from wasm goes to
  `raiser`, which raises the Trap (or the host function's exception).  wasm runs with
  the GIL released, as on the cffi path.
* an **unchecked entry** (one per artifact), `PyObject *unchecked(PyObject *self,
  PyObject *const *args, Py_ssize_t nargs)` taking no arguments: it runs the record's
  array `entry` on its `values` buffer (params in, results out: wasmtime's
  `Func::call_unchecked` over `ValRaw`) and returns None;
* a **native host call** inside the host-call trampoline: when the VMHostContext has a
  `py_callable`, the trampoline takes the GIL, builds the Python arguments, calls it
  with vectorcall and converts a plain result inline; other results go to
  `py_results`, a failure to `py_on_error`.  Without `py_callable` the trampoline uses
  the cffi `callback`, as before.

No C compiler and no undefined symbol: the code reaches CPython only through the
pointer table `aot_pyapi` (a writable array in the artifact, `VTable.PY_API`), which the
loader fills with the addresses of the stable-ABI symbols below, in this order.  An
artifact whose table was never filled simply is never called this way."""

from __future__ import annotations

from enum import IntEnum

from aot.wasm.types import FuncType, ValType

# Stable-ABI symbols, by table index.  Data symbols (the type objects, None) are the
# objects' addresses.
PYAPI_SYMBOLS: tuple[str, ...] = (
    "PyLong_Type",
    "PyFloat_Type",
    "_Py_NoneStruct",
    "PyLong_AsVoidPtr",
    "PyLong_AsLongLongAndOverflow",
    "PyLong_FromLong",
    "PyLong_FromLongLong",
    "PyFloat_AsDouble",
    "PyFloat_FromDouble",
    "PyTuple_New",
    "PyTuple_SetItem",
    "Py_IncRef",
    "Py_DecRef",
    "PyEval_SaveThread",
    "PyEval_RestoreThread",
    "PyGILState_Ensure",
    "PyGILState_Release",
    "PyObject_Vectorcall",
    "PyErr_Fetch",
    "PyErr_NormalizeException",
    "PyException_SetTraceback",
)

PyApi = IntEnum("PyApi", {name.lstrip("_"): i for i, name in enumerate(PYAPI_SYMBOLS)})
PYAPI_SIZE = len(PYAPI_SYMBOLS)

# CPython constants the code relies on (stable ABI).
METH_FASTCALL = 0x0080
PYOBJECT_TYPE_OFFSET = 8  # PyObject { Py_ssize_t ob_refcnt; PyTypeObject *ob_type; }


class PyEntryData:
    """The record a Python entry's `self` points to (one per exported function)."""

    CALLEE = 0  # VMFuncRef *
    FALLBACK = 8  # PyObject *: the cffi path, called with the same arguments
    RAISER = 16  # PyObject *: raiser(status) raises what ended the call
    ENTRY = 24  # the array entry of the callee's type (unchecked calls)
    VALUES = 32  # ValRaw *: the caller's buffer (unchecked calls)
    SIZE = 40


NATIVE_TYPES = frozenset({ValType.I32, ValType.I64, ValType.F32, ValType.F64})


def has_python_entry(ft: FuncType) -> bool:
    """Whether functions of type `ft` get a Python entry and a native host call."""
    return all(t in NATIVE_TYPES for t in (*ft.params, *ft.results))


C_DECLARATIONS = """
typedef struct { const char *ml_name; void *ml_meth; int ml_flags; const char *ml_doc; } PyMethodDef;
typedef struct { void *callee; void *fallback; void *raiser; void *entry; void *values; } PyEntryData;
typedef struct { PyEntryData data; PyMethodDef def_; } PyEntryRecord;
"""
