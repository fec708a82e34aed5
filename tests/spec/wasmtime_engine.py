"""A reference backend: aot's public API (the part the spec runner uses) on wasmtime-py.

It validates the runner independently of aot (AOT_SPEC_ENGINE=wasmtime).  Types and
exceptions are aot's own, so the runner sees exactly the classes it would see with aot.
wasmtime-py's typed calls go through Python floats, which lose NaN payloads, and do not
support v128, so values are passed through its ctypes layer as raw bits instead.  Its type
reflection aborts the process on v128 (wasm.h has no v128), so signatures and imports are
read from the module binary (`binary.py`) and never asked of wasmtime.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._func import enter_wasm

from aot.abi.traps import TrapCode
from aot.errors import CompileError, LinkError, NotSupportedError, Trap
from aot.wasm.types import (
    VALTYPE_BY_NAME,
    FuncType,
    GlobalType,
    Limits,
    MemoryType,
    TableType,
    ValType,
)

from .binary import ModuleInfo, Signature, module_info

__all__ = [
    "CompileError", "Func", "FuncType", "Global", "GlobalType", "Instance", "Limits",
    "LinkError", "Memory", "MemoryType", "Module", "NotSupportedError", "Store", "Table",
    "TableType", "Trap", "ValType", "compile",
]  # fmt: skip

# Features beyond WebAssembly 2.0, which the 2.0 suite expects to be rejected.
_POST_2_0_FEATURES = (
    "wasm_gc", "wasm_function_references", "wasm_exceptions", "wasm_threads",
    "wasm_multi_memory", "wasm_memory64", "wasm_relaxed_simd", "wasm_wide_arithmetic",
    "wasm_custom_page_sizes", "wasm_stack_switching",
)  # fmt: skip
_ENGINES: dict[str, wasmtime.Engine] = {}


def _engine(opt_level: int) -> wasmtime.Engine:
    level = "none" if opt_level == 0 else "speed"
    if level not in _ENGINES:
        config = wasmtime.Config()
        config.cranelift_opt_level = level
        for feature in _POST_2_0_FEATURES:
            setattr(config, feature, False)
        _ENGINES[level] = wasmtime.Engine(config)
    return _ENGINES[level]


class Store:
    """Bound to a wasmtime store (and engine) by its first instantiation."""

    def __init__(self) -> None:
        self._wt: wasmtime.Store | None = None
        self._modules: list[tuple[bytes, ModuleInfo]] = []  # instantiated here, for `_trap`

    def _bind(self, engine: wasmtime.Engine) -> wasmtime.Store:
        if self._wt is None:
            self._wt = wasmtime.Store(engine)
            self._engine = engine
        elif self._engine is not engine:
            raise ValueError("modules of one store must be compiled with the same opt_level")
        return self._wt

    def _trap(self, t: wasmtime.Trap) -> Trap:
        """aot's Trap for a wasmtime trap."""
        code = t.trap_code
        if code is None or code.name not in _TRAP_CODES:
            return Trap(TrapCode.HOST_EXCEPTION, str(t))
        if code.name == "TABLE_OUT_OF_BOUNDS" and self._at_call_indirect(t):
            # wasmtime does not tell an out-of-range call_indirect from other table accesses.
            return Trap(TrapCode.UNDEFINED_ELEMENT)
        return Trap(_TRAP_CODES[code.name])

    def _at_call_indirect(self, t: wasmtime.Trap) -> bool:
        frames = t.frames
        if not frames:
            return False
        func, offset = frames[0].func_index, frames[0].module_offset
        for wasm, info in self._modules:  # which module trapped is not known: try each
            i = func - info.func_imports
            if 0 <= i < len(info.bodies) and info.bodies[i][0] <= offset < info.bodies[i][1]:
                if wasm[offset] == 0x11:  # call_indirect
                    return True
        return False


def compile(wasm: bytes, opt_level: int = 2) -> Module:  # noqa: A001 - aot's API name
    engine = _engine(opt_level)
    try:
        wt = wasmtime.Module(engine, bytes(wasm))
    except wasmtime.WasmtimeError as e:
        lines = (line.strip() for line in str(e).splitlines())
        raise CompileError("; ".join(line for line in lines if line)) from None
    return Module(wt, engine, bytes(wasm))


class Module:
    def __init__(self, wt: wasmtime.Module, engine: wasmtime.Engine, wasm: bytes) -> None:
        self._wt = wt
        self._engine = engine
        self._wasm = wasm
        self._info = module_info(wasm)  # valid, so readable

    def instantiate(
        self, imports: Mapping[str, Mapping[str, Any]] | None = None, store: Store | None = None
    ) -> Instance:
        store = store or Store()
        store._bind(self._engine)
        store._modules.append((self._wasm, self._info))
        externs = []
        for module, name, _ in self._info.imports:
            try:
                extern = (imports or {})[module][name]
            except KeyError:
                raise LinkError(f"unknown import: {module}::{name}") from None
            externs.append(extern._extern(store))
        try:
            wt_instance = wasmtime.Instance(store._wt, self._wt, externs)
        except wasmtime.Trap as t:
            raise store._trap(t) from None
        except wasmtime.WasmtimeError as e:
            raise LinkError(f"incompatible import type: {e}") from None
        return Instance(wt_instance, store, self._info)


class Instance:
    def __init__(self, wt: wasmtime.Instance, store: Store, info: ModuleInfo) -> None:
        self.exports: dict[str, Func | Global | Memory | Table] = {}
        for name, extern in wt.exports(store._wt).items():
            export = self.exports[name] = _wrap(extern, store)
            if isinstance(export, Func):
                export._sig = info.exported_funcs[name]


class _Extern:
    """A host object (made in a wasmtime store on first use) or an instance's export."""

    _wt: Any = None
    _store: Store | None = None

    def _extern(self, store: Store) -> Any:
        if self._wt is None:
            assert store._wt is not None
            self._wt, self._store = self._create(store._wt), store
        if self._store is not store:
            raise LinkError("an extern cannot be shared between stores")
        return self._wt

    def _create(self, wt_store: wasmtime.Store) -> Any:
        raise NotImplementedError

    @classmethod
    def _exported(cls, wt: Any, store: Store) -> Any:
        obj = cls.__new__(cls)
        obj._wt, obj._store = wt, store
        return obj

    @property
    def _wt_store(self) -> wasmtime.Store:
        assert self._store is not None and self._store._wt is not None, "not in a store yet"
        return self._store._wt


class Func(_Extern):
    _sig: Signature | None = None  # known for exports (from the binary) only

    def __init__(self, type: FuncType, fn: Callable[..., Any]) -> None:  # noqa: A002
        self._type, self._fn = type, fn
        self._sig = Signature(tuple(map(str, type.params)), tuple(map(str, type.results)))

    def _create(self, wt_store: wasmtime.Store) -> wasmtime.Func:
        wt_type = wasmtime.FuncType(
            [_wt_valtype(t) for t in self._type.params],
            [_wt_valtype(t) for t in self._type.results],
        )
        return wasmtime.Func(wt_store, wt_type, self._fn)

    @property
    def type(self) -> FuncType:
        if self._sig is None:
            raise NotImplementedError("the type of a function reference is not known here")
        return FuncType(
            tuple(VALTYPE_BY_NAME[t] for t in self._sig.params),
            tuple(VALTYPE_BY_NAME[t] for t in self._sig.results),
        )

    def call_raw(self, args: list[Any]) -> list[Any]:
        store, sig = self._store, self._sig
        assert store is not None and sig is not None, "only exports are called here"
        if len(args) != len(sig.params):
            raise TypeError(f"expected {len(sig.params)} arguments, got {len(args)}")
        params = (ffi.wasmtime_val_t * len(args))()
        results = (ffi.wasmtime_val_t * len(sig.results))()
        for i, (t, arg) in enumerate(zip(sig.params, args)):
            params[i] = _to_val(store, t, arg)
        wt_store = self._wt_store
        try:
            with enter_wasm(wt_store) as trap:
                error = ffi.wasmtime_func_call(
                    wt_store._context(), ctypes.byref(self._wt._func),
                    params, len(args), results, len(results), trap,
                )  # fmt: skip
                if error:
                    raise wasmtime.WasmtimeError._from_ptr(error)
        except wasmtime.Trap as t:
            raise store._trap(t) from None
        finally:
            for slot in params:
                ffi.wasmtime_val_unroot(ctypes.byref(slot))
        return [_get_raw(store, slot) for slot in results]


class Global(_Extern):
    def __init__(self, type: GlobalType, value: Any) -> None:  # noqa: A002
        self._type, self._value = type, value

    def _create(self, wt_store: wasmtime.Store) -> wasmtime.Global:
        vt = _wt_valtype(self._type.type)
        wt_type = wasmtime.GlobalType(vt, self._type.mutable)
        return wasmtime.Global(wt_store, wt_type, self._val(vt))

    def _val(self, vt: wasmtime.ValType) -> wasmtime.Val:
        makers = {"i32": wasmtime.Val.i32, "i64": wasmtime.Val.i64,
                  "f32": wasmtime.Val.f32, "f64": wasmtime.Val.f64}  # fmt: skip
        value = self._value
        return makers[str(vt)](float(value) if str(vt)[0] == "f" else value)

    @property
    def value(self) -> Any:
        return self._value if self._wt is None else self._wt.value(self._wt_store)

    @property
    def raw(self) -> Any:
        assert self._store is not None, "host globals are read through an instance"
        slot = ffi.wasmtime_val_t()
        ffi.wasmtime_global_get(
            self._wt_store._context(), ctypes.byref(self._wt._global), ctypes.byref(slot)
        )
        return _get_raw(self._store, slot)


class Memory(_Extern):
    def __init__(self, type: MemoryType) -> None:  # noqa: A002
        self._type = type

    def _create(self, wt_store: wasmtime.Store) -> wasmtime.Memory:
        limits = wasmtime.Limits(self._type.limits.min, self._type.limits.max)
        return wasmtime.Memory(wt_store, wasmtime.MemoryType(limits))

    @property
    def size(self) -> int:
        return self._type.limits.min if self._wt is None else self._wt.size(self._wt_store)


class Table(_Extern):
    def __init__(self, type: TableType) -> None:  # noqa: A002
        self._type = type

    def _create(self, wt_store: wasmtime.Store) -> wasmtime.Table:
        limits = wasmtime.Limits(self._type.limits.min, self._type.limits.max)
        wt_type = wasmtime.TableType(_wt_valtype(self._type.elem), limits)
        return wasmtime.Table(wt_store, wt_type, None)


# ---- helpers --------------------------------------------------------------------------


def _wrap(extern: Any, store: Store) -> Func | Global | Memory | Table:
    for wt_cls, cls in (
        (wasmtime.Func, Func), (wasmtime.Global, Global),
        (wasmtime.Memory, Memory), (wasmtime.Table, Table),
    ):  # fmt: skip
        if isinstance(extern, wt_cls):
            return cls._exported(extern, store)
    raise TypeError(f"unexpected export {extern!r}")


def _wt_valtype(vt: ValType) -> wasmtime.ValType:
    return getattr(wasmtime.ValType, str(vt))()


# Map wasmtime trap codes to aot's, which use the spec's words; they differ in one name.
_TRAP_CODES = {code.name: code for code in TrapCode} | {
    "UNREACHABLE": TrapCode.UNREACHABLE_CODE_REACHED
}


_KIND = {
    "i32": ffi.WASMTIME_I32, "i64": ffi.WASMTIME_I64, "f32": ffi.WASMTIME_F32,
    "f64": ffi.WASMTIME_F64, "v128": ffi.WASMTIME_V128,
}  # fmt: skip
_WIDTH = {"i32": 4, "i64": 8, "f32": 4, "f64": 8, "v128": 16}
_TYPE_OF_KIND = {kind.value: name for name, kind in _KIND.items()}


def _to_val(store: Store, type_name: str, raw: Any) -> Any:
    if type_name in _WIDTH:  # numbers and v128: write the bit pattern into the union
        val = ffi.wasmtime_val_t(kind=_KIND[type_name].value)
        width = _WIDTH[type_name]
        ctypes.memmove(ctypes.addressof(val.of), raw.to_bytes(width, "little"), width)
        return val
    if type_name == "externref":
        return wasmtime.Val.externref(raw)._new_raw(store._wt)
    wt_func = None if raw is None else raw._extern(store)
    return wasmtime.Val.funcref(wt_func)._new_raw(store._wt)


def _get_raw(store: Store, val: Any) -> Any:
    """A wasmtime value as a raw value; its kind says its type."""
    type_name = _TYPE_OF_KIND.get(val.kind)
    if type_name is not None:
        width = _WIDTH[type_name]
        return int.from_bytes(ctypes.string_at(ctypes.addressof(val.of), width), "little")
    value = wasmtime.Val._from_raw(store._wt, val).value  # also unroots the reference
    if val.kind == ffi.WASMTIME_FUNCREF.value and value is not None:
        return Func._exported(value, store)
    return value
