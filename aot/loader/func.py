"""Functions: wasm functions (exported, or taken from a table) and host functions (any
Python callable given a wasm type).

Calls from Python take the artifact's compiled Python entry (`aot.abi.pyapi`) when the
signature has one; the portable path is code generated once per signature (see
`_caller_source`): argument checks, writes into a preallocated ValRaw buffer, one cffi
call of the array entry, result reads.  No per-call type objects, no generic loops."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

from aot.abi.pyapi import has_python_entry
from aot.abi.signatures import values_slots
from aot.abi.traps import TrapCode
from aot.abi.vmctx import HOST_MAGIC, FuncRef
from aot.errors import NotSupportedError, Trap
from aot.loader import pyapi
from aot.loader.backtrace import capture, host_frame, symbolizer
from aot.loader.builtins import instance_at
from aot.loader.caller import Caller
from aot.loader.ffi import ENTRY_C_TYPE, address, ffi
from aot.loader.funcrefs import register_host_ref
from aot.loader.typeregistry import canonical_type_id, host_trampoline
from aot.loader.values import CONVERTERS
from aot.wasm.types import FuncType, ValType

# A host function's exception waits here while wasm unwinds to the entry trampoline of
# the same thread, which re-raises it.
_pending = threading.local()


def raise_for_status(status: int, store=None) -> None:
    """Raise what ended a call: the Python exception of a host function, or a Trap with
    the wasm frames recorded in `store`."""
    frames = None
    if store is not None:
        offset, pcs = capture(store._ctx)
        code = TrapCode(status) if status in _TRAP_CODES else TrapCode.UNREACHABLE_CODE_REACHED
        frames = symbolizer(code, offset, pcs)
    if status == TrapCode.HOST_EXCEPTION:
        exc = getattr(_pending, "exc", None)
        _pending.exc = None
        if exc is not None:
            if isinstance(exc, Trap) and frames is not None:
                # A trap that crossed a host function: add the wasm frames below it.
                name = getattr(_pending, "host_name", "?")
                exc._extend(lambda: [host_frame(name), *frames()])
            raise exc
    if status not in _TRAP_CODES:
        raise Trap(TrapCode.UNREACHABLE_CODE_REACHED, f"unknown trap status {status}", frames)
    raise Trap(TrapCode(status), None, frames)


_TRAP_CODES = frozenset(int(c) for c in TrapCode)


def converters(t: ValType, refs) -> tuple:
    """(put, get, put_raw, get_raw) for a slot of type `t`; references need the store's
    `RefContext`."""
    return refs.converters(t) if t.is_ref else CONVERTERS[t]


# Per value type: (memoryview format over the ValRaw buffer, items per 16-byte slot,
# the test that admits a value to the fast path).  Values that fail the test take the
# slow path `put<i>`, which converts (e.g. an unsigned i64) or raises the precise error.
_VIEWS = {
    ValType.I32: ("q", 2, "type({a}) is int and -2147483648 <= {a} <= 4294967295"),
    ValType.I64: ("q", 2, "type({a}) is int and -9223372036854775808 <= {a} <= 9223372036854775807"),
    ValType.F32: ("f", 4, "type({a}) is float"),
    ValType.F64: ("d", 2, "type({a}) is float"),
}
# Result reads: (format, items per slot); i32 results come back signed.
_RESULT_VIEWS = {ValType.I32: ("i", 4), ValType.I64: ("q", 2), ValType.F32: ("f", 4),
                 ValType.F64: ("d", 2)}


@functools.cache
def _caller_source(ft: FuncType) -> str:
    """Source of `make(entry, ref, values, views, puts, gets, raise_for_status)`, which
    returns `call(*args)` specialized for this signature: the portable path."""
    n = len(ft.params)
    args = ", ".join(f"a{i}" for i in range(n))
    body = []
    for i, t in enumerate(ft.params):
        what = f"argument {i} ({t})"
        view = _VIEWS.get(t)
        if view is None:
            body.append(f"put{i}(values[{i}], a{i}, {what!r})")
            continue
        fmt, per_slot, test = view
        body.append(f"if {test.format(a=f'a{i}')}: view_{fmt}[{per_slot * i}] = a{i}")
        body.append(f"else: put{i}(values[{i}], a{i}, {what!r})")
    body.append("st = entry(ref, values)")
    body.append("if st: raise_for_status(st)")
    res = []
    for i, t in enumerate(ft.results):
        view = _RESULT_VIEWS.get(t)
        res.append(f"view_{view[0]}[{view[1] * i}]" if view else f"get{i}(values[{i}])")
    if not res:
        body.append("return None")
    elif len(res) == 1:
        body.append(f"return {res[0]}")
    else:
        body.append(f"return ({', '.join(res)},)")
    return (
        "def make(entry, ref, values, views, puts, gets, raise_for_status):\n"
        "  view_q, view_i, view_f, view_d = views\n"
        + "".join(f"  put{i} = puts[{i}]\n" for i in range(n))
        + "".join(f"  get{i} = gets[{i}]\n" for i in range(len(ft.results)))
        + f"  def call({args}):\n"
        + "".join(f"    {line}\n" for line in body)
        + "  return call\n"
    )


@functools.cache
def _caller_factory(ft: FuncType):
    namespace: dict = {}
    exec(compile(_caller_source(ft), f"<aot caller {ft}>", "exec"), namespace)
    return namespace["make"]


class Func:
    """A WebAssembly function.

    `aot.Func(FuncType, callable)` makes a host function: wasm calls `callable` with one
    Python value per parameter and takes its return value (None, a value, or a tuple for
    several results).  With `access_caller=True` it is called as `callable(caller,
    *args)`, `caller` an `aot.Caller` for the calling instance.  Functions exported by an
    instance are `Func` too.

    Calling a Func calls its `_call`: the host callable itself, or for wasm functions a
    builtin compiled into the artifact (`aot.abi.pyapi`) or, where that is not
    available, the portable cffi path."""

    # `_call` is a slot, and `__call__` is its member descriptor (set below the class):
    # calling a Func costs one C-level slot read on top of calling `_call`.
    __slots__ = ("_call", "__dict__", "__weakref__")

    def __init__(self, type: FuncType, fn: Callable, *, name: str | None = None,
                 access_caller: bool = False):
        if not callable(fn):
            raise TypeError(f"a host function must be callable, not {fn.__class__.__name__}")
        self.type = type
        self._name = name or getattr(fn, "__name__", "host")
        self._host = fn
        self._call = _with_python_caller(fn, self._name) if access_caller else fn
        self._host_ctx = ffi.new("VMHostContext *")
        self._host_ctx.magic = HOST_MAGIC
        callback, on_error, put_results = _host_callback(type, fn, access_caller)
        self._callback = ffi.callback("HostCallback", callback)
        self._host_ctx.callback = self._callback
        # The native path passes only the wasm arguments: a function that wants its
        # caller takes the cffi callback, which knows the caller's vmctx.
        if pyapi.enabled and has_python_entry(type) and not access_caller:
            # Compiled trampolines call `fn` directly (these stay alive with `self`).
            self._native = (fn, on_error, put_results)
            self._host_ctx.py_callable = ffi.cast("void *", id(fn))
            self._host_ctx.py_on_error = ffi.cast("void *", id(on_error))
            self._host_ctx.py_results = ffi.cast("void *", id(put_results))
        self._ref = None  # a VMFuncRef for tables, once an instance has imported this
        self._owner = None

    @classmethod
    def _from_wasm(cls, type: FuncType, ref, entry_addr: int, owner, index: int,
                   py_entry: int = 0) -> Func:
        self = cls.__new__(cls)
        self.type = type
        self._name = None  # looked up in the name section only when shown
        self._index = index
        self._host = None
        self._ref = ref
        self._owner = owner  # the instance whose vmctx `ref` lives in
        self._entry_addr = entry_addr
        store = owner.store

        def raise_status(status: int) -> None:
            raise_for_status(status, store)

        self._raise = raise_status
        if py_entry and pyapi.enabled:
            # The portable path is built when first needed (odd arguments, call_raw).
            self._fallback = self.call_portable  # one bound method, kept alive here
            self._py_entry = pyapi.PythonEntry(py_entry, ref, self._fallback, raise_status,
                                               f"wasm function {index}", self)
            self._call = self._py_entry.builtin
        else:
            self._call = self._portable
        return self

    @functools.cached_property
    def _entry(self):
        return ffi.cast(ENTRY_C_TYPE, self._entry_addr)

    @functools.cached_property
    def _param_conv(self) -> list:
        return [converters(t, self._owner.store._refs) for t in self.type.params]

    @functools.cached_property
    def _result_conv(self) -> list:
        return [converters(t, self._owner.store._refs) for t in self.type.results]

    @functools.cached_property
    def _portable(self) -> Callable:
        """The cffi path: code generated for this signature over a ValRaw buffer."""
        values = ffi.new("ValRaw[]", values_slots(self.type))
        raw = memoryview(ffi.buffer(values))
        views = tuple(raw.cast(fmt) for fmt in "qifd")
        puts = tuple(c[0] for c in self._param_conv)
        gets = tuple(c[1] for c in self._result_conv)
        return _caller_factory(self.type)(self._entry, self._ref, values, views, puts, gets,
                                          self._raise)

    @property
    def name(self) -> str:
        if self._name is None:
            names = self._owner.module._artifact.desc.func_names
            self._name = names.get(self._index, f"<wasm function {self._index}>")
        return self._name

    @property
    def is_host(self) -> bool:
        return self._host is not None

    def call_portable(self, *args):
        """Call through the portable cffi path (the fallback of the compiled entry):
        same results, traps and argument errors, only slower."""
        if self._host is not None:
            return self._call(*args)
        return self._portable(*args)

    @property
    def has_native_entry(self) -> bool:
        """Whether calls from Python take the compiled entry (`aot.abi.pyapi`) rather
        than the portable cffi path."""
        return self._host is None and "_py_entry" in self.__dict__

    def unchecked(self) -> UncheckedCall:
        """A preallocated value buffer bound to this function, for callers that know the
        signature: write the arguments into it, call it, read the results from it,
        with no conversion and no type check (wasmtime's `Func::call_unchecked`)."""
        if self._host is not None:
            raise NotSupportedError("unchecked calls of host functions: call them directly")
        if any(t.is_ref for t in self.type.params):
            raise NotSupportedError(
                f"unchecked calls of {self.name}: its reference parameters would be raw "
                "pointers, which a wrong value turns into a crash; use the checked call")
        return UncheckedCall(self)

    def call_raw(self, args: Sequence) -> list:
        """Call with raw values and get raw results: integers as unsigned bit patterns,
        floats as their IEEE bits (exact NaN payloads both ways), v128 as a 128-bit int,
        references as objects (None, an aot.Func, any Python object for externref)."""
        ft = self.type
        if len(args) != len(ft.params):
            raise TypeError(f"{self.name} takes {len(ft.params)} arguments ({len(args)} given)")
        values = ffi.new("ValRaw[]", values_slots(ft))
        if self._host is not None:
            from aot.loader.refs import RefContext

            refs = RefContext()
            pconv = [converters(t, refs) for t in ft.params]
            rconv = [converters(t, refs) for t in ft.results]
            for i, (c, a) in enumerate(zip(pconv, args)):
                c[2](values[i], a, f"argument {i}")
            result = self._call(*[c[1](values[i]) for i, c in enumerate(pconv)])
            results = () if not ft.results else (result,) if len(ft.results) == 1 else result
            for i, (c, r) in enumerate(zip(rconv, results)):
                c[0](values[i], r, f"result {i}")
            return [c[3](values[i]) for i, c in enumerate(rconv)]
        for i, (c, t, a) in enumerate(zip(self._param_conv, ft.params, args)):
            c[2](values[i], a, f"argument {i} ({t})")
        st = self._entry(self._ref, values)
        if st:
            self._raise(st)
        return [c[3](values[i]) for i, c in enumerate(self._result_conv)]

    def _funcref_for_table(self):
        if self._ref is None:  # a host function no instance has imported
            self._ref = self._own_funcref()
        return self._ref

    def _own_funcref(self):
        """A VMFuncRef owned by this host function: its VMHostContext behind the
        host-call trampoline of its type from any loaded artifact."""
        found = host_trampoline(self.type)
        if found is None:
            raise NotSupportedError(
                f"host function {self._name} of type {self.type} as a funcref: no loaded "
                "module calls that type with call_indirect or imports a function of it, so "
                "none has the compiled trampoline it needs (and no wasm could call it)")
        addr, self._trampoline_artifact = found  # keeps the trampoline's code loaded
        ref = ffi.new("VMFuncRef *")
        ref.wasm_call = ffi.cast("void *", addr)
        ref.type_id = canonical_type_id(self.type)
        ref.vmctx = self._host_ctx
        register_host_ref(address(ref), self)
        return ref

    def _note_placement(self, table, index: int) -> None:
        """Told by `Table.set` that this function now sits in `table` (closures track it)."""

    def __repr__(self) -> str:
        kind = "host" if self._host is not None else "wasm"
        return f"<aot.Func {kind} {self.name} {self.type}>"


Func.__call__ = Func.__dict__["_call"]


class UncheckedCall:
    """`Func.unchecked()`: one function and its ValRaw buffer.  Slot k (16 bytes) holds
    argument k before a call and result k after it; the typed views index it as
    `i32[4 * k]`, `i64[2 * k]`, `f32[4 * k]`, `f64[2 * k]` (`values[k]` is the cffi
    ValRaw, e.g. for v128).  Calling it runs the function on the buffer and returns None;
    a trap raises as usual.  What the slots hold is the caller's business: an i32
    parameter takes whatever 32 bits were written."""

    __slots__ = ("_call", "values", "i32", "i64", "f32", "f64", "func", "_portable",
                 "_py_entry", "__weakref__")

    def __init__(self, func: Func):
        self.func = func
        self.values = values = ffi.new("ValRaw[]", values_slots(func.type))
        raw = memoryview(ffi.buffer(values))
        self.i32, self.i64, self.f32, self.f64 = (raw.cast(f) for f in "iqfd")
        entry, ref, raise_status = func._entry, func._ref, func._raise

        def call() -> None:
            status = entry(ref, values)
            if status:
                raise_status(status)

        self._call = self._portable = call  # the compiled entry borrows `call`
        addr = func._owner.module._artifact.py_unchecked
        if addr and pyapi.enabled:
            self._py_entry = pyapi.PythonEntry(
                addr, ref, call, raise_status, f"unchecked wasm function {func._index}", self,
                array_entry=address(entry), values=values)
            self._call = self._py_entry.builtin

    def __repr__(self) -> str:
        return f"<aot.UncheckedCall {self.func.name} {self.func.type}>"


UncheckedCall.__call__ = UncheckedCall.__dict__["_call"]


def _with_python_caller(fn: Callable, name: str) -> Callable:
    """How Python calls a host function that wants its caller: with a Caller that has no
    instance."""

    def call(*args):
        caller = Caller(None, name)
        try:
            return fn(caller, *args)
        finally:
            caller._expire()

    return call


def _host_callback(ft: FuncType, fn: Callable, access_caller: bool = False):
    """(cffi callback, on_error, put_results) of a host function: the cffi path does
    everything in `callback`; compiled trampolines call `fn` themselves and use
    `put_results` for results that are not a plain int/float, `on_error` when `fn` (or
    a result conversion) raised.  With `access_caller`, `fn` gets an `aot.Caller` for
    the calling instance first (cffi path only)."""
    n_results = len(ft.results)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    if not any(t.is_ref for t in (*ft.params, *ft.results)):
        gets = [CONVERTERS[t][1] for t in ft.params]
        puts = [CONVERTERS[t][0] for t in ft.results]

        def conversions(caller_vmctx):
            return gets, puts
    else:
        def conversions(caller_vmctx):
            # References resolve through the calling instance's store.
            refs = instance_at(address(caller_vmctx)).store._refs
            found = refs.signature_conversions.get(ft)
            if found is None:
                found = refs.signature_conversions[ft] = (
                    [converters(t, refs)[1] for t in ft.params],
                    [converters(t, refs)[0] for t in ft.results])
            return found

    def store_results(puts, values, result) -> None:
        if n_results == 1:
            puts[0](values[0], result, "host function result")
        elif n_results > 1:
            if not isinstance(result, (tuple, list)) or len(result) != n_results:
                raise TypeError(
                    f"host function must return {n_results} values as a tuple, "
                    f"got {result!r}"
                )
            for i, (put, r) in enumerate(zip(puts, result)):
                put(values[i], r, f"host function result {i}")

    def on_error(exc: BaseException) -> None:
        _pending.exc = exc
        _pending.host_name = name

    def callback(host_ctx, caller_vmctx, values, count):
        try:
            gets, puts = conversions(caller_vmctx)
            args = [g(values[i]) for i, g in enumerate(gets)]
            if access_caller:
                caller = Caller(instance_at(address(caller_vmctx)), name)
                try:
                    result = fn(caller, *args)
                finally:
                    caller._expire()
            else:
                result = fn(*args)
            store_results(puts, values, result)
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            on_error(exc)
            return 1

    def put_results(result, values_addr: int) -> None:
        store_results(conversions(None)[1], ffi.cast("ValRaw *", values_addr), result)

    return callback, on_error, put_results


def copy_funcref(dst, func: Func, host_trampoline: int, type_id: int) -> None:
    """Fill the VMFuncRef `dst` (in an importer's vmctx) so that wasm can call `func`."""
    if func._host is not None:
        dst.wasm_call = ffi.cast("void *", host_trampoline)
        dst.type_id = type_id
        dst.vmctx = func._host_ctx
    else:
        src = func._ref
        dst.wasm_call = src.wasm_call
        dst.type_id = src.type_id
        dst.vmctx = src.vmctx


FUNCREF_SIZE = FuncRef.SIZE
