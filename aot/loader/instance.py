"""Instantiation: resolve imports, build the VMContext, run the compiled init function and
the start function; then exports on demand."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from typing import Any

from aot.abi.vmctx import VMCTX_MAGIC, FuncRef, VMContextLayout
from aot.errors import LinkError
from aot.loader.builtins import BUILTIN_TABLE, register_vmctx, unregister_vmctx
from aot.loader.ffi import address, ffi
from aot.loader.func import Func, copy_funcref, raise_for_status
from aot.loader.funcrefs import register_instance, unregister_instance
from aot.loader.global_ import Global
from aot.loader.memory import Memory
from aot.loader.store import Store
from aot.loader.table import Table
from aot.wasm.types import ExternKind, FuncType, GlobalType, Limits, MemoryType, TableType

Extern = Func | Memory | Table | Global

_BYTES = ffi.typeof("uint8_t[]")
_WORDS = ffi.typeof("uint64_t *")
_VALUES = ffi.typeof("ValRaw[]")
_FUNC_REFS = ffi.typeof("VMFuncRef *")
_BUILTINS = address(BUILTIN_TABLE)
_NO_IMPORTS: dict = {k: () for k in ExternKind}


def _limits_match(actual: Limits, expected: Limits) -> bool:
    if actual.min < expected.min:
        return False
    if expected.max is None:
        return True
    return actual.max is not None and actual.max <= expected.max


class Instance:
    """An instantiated module.  `exports` gives its functions, memories, tables and
    globals by name (attribute or item access)."""

    def __init__(self, module, imports: Mapping[str, Mapping[str, Any]] | None,
                 store: Store | None):
        self.module = module
        art = module._artifact
        desc = art.desc
        layout: VMContextLayout = module._layout
        resolved = self._resolve_imports(desc, imports or {}) if desc.imports else []
        store = self._choose_store(store, resolved)
        store._admit(art)
        self.store = store

        self._vmctx = vmctx = ffi.new(_BYTES, layout.size)
        base = address(vmctx)
        words = ffi.cast(_WORDS, vmctx)
        words[layout.MAGIC // 8] = VMCTX_MAGIC  # u32, and the reserved half stays 0
        words[layout.STORE_CTX // 8] = store._ctx_addr
        words[layout.BUILTINS // 8] = _BUILTINS
        ffi.memmove(vmctx + layout.TYPE_IDS, module._type_ids, 4 * len(desc.types))

        kinds = ({k: [ext for imp, ext in resolved if imp.kind == k] for k in ExternKind}
                 if resolved else _NO_IMPORTS)
        # Memory 0, when defined here, starts as the artifact's memory image (if any).
        image = art.memory_image
        self._memories: list[Memory] = [*kinds[ExternKind.MEMORY], *(
            Memory(t, _image=image if i == 0 else None) for i, t in enumerate(desc.memories))]
        self._tables: list[Table] = [*kinds[ExternKind.TABLE], *(Table(t) for t in desc.tables)]
        for m in self._memories[len(self._memories) - len(desc.memories):]:
            m._bind_owner(store)
        for t in self._tables:
            t._bind_store(store)
        for g in kinds[ExternKind.GLOBAL]:
            g._bind_store(store)
        n_imported_globals = len(kinds[ExternKind.GLOBAL])
        self._global_slots = ffi.new(_VALUES, len(desc.globals)) if desc.globals else ffi.NULL
        self._globals: list[Global | None] = [*kinds[ExternKind.GLOBAL], *[None] * len(desc.globals)]
        at = layout.memories // 8
        for i, m in enumerate(self._memories):
            words[at + i] = address(m._def)
        at = layout.tables // 8
        for i, t in enumerate(self._tables):
            words[at + i] = address(t._def)
        at = layout.globals // 8
        for i, g in enumerate(kinds[ExternKind.GLOBAL]):
            words[at + i] = address(g._slot)
        slots = address(self._global_slots)
        for k in range(len(desc.globals)):
            words[at + n_imported_globals + k] = slots + 16 * k

        self._func_refs_addr = base + layout.func_refs
        refs = ffi.cast(_FUNC_REFS, self._func_refs_addr)
        self._refs = refs
        self._imported_funcs: list[Func] = list(kinds[ExternKind.FUNC])
        type_ids = module._canonical_ids
        for i, f in enumerate(self._imported_funcs):
            tid = type_ids[desc.func_type_indices[i]]
            copy_funcref(refs[i], f, art.host_trampolines[i], tid)
            if f._ref is None:  # a host function: now it has a funcref to put in tables
                f._ref = refs + i
                f._owner = self
        # The defined functions' VMFuncRefs are filled by the compiled init function.
        self._funcs: dict[int, Func] = {}

        self._weak = weak = weakref.ref(self)
        register_instance(weak, self._func_refs_addr,
                          self._func_refs_addr + FuncRef.SIZE * len(desc.func_type_indices))
        register_vmctx(base, weak)
        self._registered = base
        store._instances.append(self)
        self.exports = Exports(self)

        status = module._init(vmctx)
        if status:
            raise_for_status(status, store)
        if desc.start is not None:
            self._func(desc.start)()

    def __del__(self) -> None:
        base = getattr(self, "_registered", None)
        if base is not None:
            unregister_instance(self._func_refs_addr)
            unregister_vmctx(base, self._weak)

    # --- imports ------------------------------------------------------------------------

    @staticmethod
    def _resolve_imports(desc, imports: Mapping[str, Mapping[str, Any]]) -> list:
        resolved = []
        for imp in desc.imports:
            where = f"{imp.module}::{imp.name}"
            namespace = imports.get(imp.module)
            value = None if namespace is None else namespace.get(imp.name)
            if value is None:
                raise LinkError(f"unknown import: {where} has not been defined: expected {imp.type}")
            resolved.append((imp, _coerce_import(imp, value, where)))
        return resolved

    @staticmethod
    def _choose_store(store: Store | None, resolved: list) -> Store:
        """wasm functions from another instance run on that instance's store state, so an
        instance joins the store of the wasm functions it imports."""
        stores = {id(ext._owner.store): ext._owner.store for _, ext in resolved
                  if isinstance(ext, Func) and not ext.is_host}
        if store is not None:
            stores.setdefault(id(store), store)
        if len(stores) > 1:
            raise LinkError("imports come from instances of different stores; "
                            "instances that call each other must share one aot.Store")
        return next(iter(stores.values())) if stores else Store()

    # --- exports ------------------------------------------------------------------------

    def _func(self, index: int) -> Func:
        """The Func for function `index`, created once."""
        f = self._funcs.get(index)
        if f is None:
            if index < len(self._imported_funcs):
                f = self._imported_funcs[index]
            else:
                art = self.module._artifact
                desc = art.desc
                ti = desc.func_type_indices[index]
                f = Func._from_wasm(desc.types[ti], self._refs + index, art.entries[ti], self, index,
                                    art.py_entries[ti])
            self._funcs[index] = f
        return f

    def _global(self, index: int) -> Global:
        g = self._globals[index]
        if g is None:
            desc = self.module._artifact.desc
            k = index - (len(self._globals) - len(desc.globals))
            g = Global(desc.globals[k], _slot=self._global_slots + k, _owner=self, _store=self.store)
            self._globals[index] = g
        return g

    def _export(self, kind: ExternKind, index: int) -> Extern:
        if kind == ExternKind.FUNC:
            return self._func(index)
        if kind == ExternKind.MEMORY:
            return self._memories[index]
        if kind == ExternKind.TABLE:
            return self._tables[index]
        return self._global(index)

    def interrupt(self) -> bool:
        """Stop the wasm running in this instance's store (see `Store.interrupt`)."""
        return self.store.interrupt()

    def set_fuel(self, fuel: int) -> None:
        self.store.set_fuel(fuel)

    def get_fuel(self) -> int:
        return self.store.get_fuel()

    def __repr__(self) -> str:
        return f"<aot.Instance of {self.module!r}>"


def _coerce_import(imp, value: Any, where: str) -> Extern:
    """Check an import's kind and type; wrap plain callables and numbers."""
    kind, expected = imp.kind, imp.type
    if kind == ExternKind.FUNC and not isinstance(value, Func) and callable(value):
        return Func(expected, value, name=imp.name)
    if kind == ExternKind.GLOBAL and isinstance(value, (int, float)) and not expected.mutable:
        return Global(expected, value)
    actual_kind = next((k for cls, k in _KIND_OF.items() if isinstance(value, cls)), None)
    if actual_kind != kind:
        got = f"a {actual_kind}" if actual_kind is not None else f"a {type(value).__name__}"
        raise LinkError(f"incompatible import type for {where}: expected {expected}, got {got}")
    if kind == ExternKind.FUNC:
        ok = value.type == expected
        actual: FuncType | TableType | MemoryType | GlobalType = value.type
    elif kind == ExternKind.MEMORY:
        actual = MemoryType(Limits(value.size, value.type.limits.max), value.type.is64,
                            value.type.shared)
        ok = (actual.is64 == expected.is64 and actual.shared == expected.shared
              and _limits_match(actual.limits, expected.limits))
    elif kind == ExternKind.TABLE:
        actual = TableType(value.type.elem, Limits(value.size, value.type.limits.max))
        ok = actual.elem == expected.elem and _limits_match(actual.limits, expected.limits)
    else:
        actual = value.type
        ok = actual == expected
    if not ok:
        raise LinkError(f"incompatible import type for {where}: expected {expected}, got {actual}")
    return value


_KIND_OF = {Func: ExternKind.FUNC, Memory: ExternKind.MEMORY, Table: ExternKind.TABLE,
            Global: ExternKind.GLOBAL}


class Exports(Mapping):
    """An instance's exports, by name: `exports.add`, `exports["add"]`, `"add" in exports`,
    and the rest of the read-only mapping protocol (an export whose name is a mapping
    method, such as `get`, is reached with `exports["get"]`)."""

    def __init__(self, instance: Instance):
        self._instance = instance
        self._by_name = instance.module._exports_by_name

    def __getitem__(self, name: str) -> Extern:
        e = self._by_name.get(name)
        if e is None:
            raise KeyError(f"no export named {name!r}")
        return self._instance._export(*e)

    def __getattr__(self, name: str) -> Extern:
        if name.startswith("__"):
            raise AttributeError(name)
        e = self._by_name.get(name)
        if e is None:
            raise AttributeError(f"instance has no export named {name!r} "
                                 f"(exports: {', '.join(self._by_name) or 'none'})")
        return self._instance._export(*e)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __dir__(self) -> list[str]:
        return list(self._by_name)
