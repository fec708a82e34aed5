"""Tables of references.  Elements are `VMFuncRef *` (funcref) pointers; the element
array is reallocated on growth, and compiled code reloads its base at every access."""

from __future__ import annotations

import builtins  # the constructors' min/max keywords shadow the builtins

from aot.errors import AotError, NotSupportedError
from aot.loader.ffi import address, ffi
from aot.wasm.types import Limits, TableType, ValType

MAX_TABLE_ELEMENTS = 10_000_000  # same bound as wasmtime's default table limit


class Table:
    def __init__(self, type: TableType | None = None, init=None, *, min: int = 0,
                 max: int | None = None, elem: ValType = ValType.FUNCREF):
        if type is None:
            type = TableType(elem, Limits(min, max))
        if type.elem != ValType.FUNCREF:
            raise NotSupportedError("reference types: tables of " + str(type.elem))
        self.type = type
        n = type.limits.min
        if n > MAX_TABLE_ELEMENTS:
            raise AotError(f"table of {n} elements exceeds the limit of {MAX_TABLE_ELEMENTS}")
        self._def = ffi.new("VMTableDefinition *")
        self._elems = ffi.new("void *[]", builtins.max(n, 1))
        self._def.base = self._elems
        self._def.length = n
        self._keep: list = []  # owners of the funcrefs stored from Python
        self._store = None  # the store whose instances use this table
        if init is not None:
            for i in range(n):
                self.set(i, init)

    def _bind_store(self, store) -> None:
        # Funcrefs in a table run on their instance's store state: a table must not be
        # shared between stores.
        if self._store is None:
            self._store = store
        elif self._store is not store:
            from aot.errors import LinkError

            raise LinkError("a table cannot be shared between instances of different stores")

    @property
    def size(self) -> int:
        return self._def.length

    def grow_elements(self, delta: int, init_ref) -> int:
        """table.grow: the old size, or -1 when the table cannot grow."""
        old = self._def.length
        new = old + delta
        limit = self.type.limits.max if self.type.limits.max is not None else MAX_TABLE_ELEMENTS
        if new > builtins.min(limit, MAX_TABLE_ELEMENTS):
            return -1
        if new > len(self._elems):
            elems = ffi.new("void *[]", builtins.max(new, 2 * len(self._elems)))
            ffi.memmove(elems, self._elems, old * ffi.sizeof("void *"))
            self._elems = elems
            self._def.base = elems
        for i in range(old, new):
            self._elems[i] = init_ref
        self._def.length = new
        return old

    def grow(self, delta: int, init=None) -> int:
        old = self.grow_elements(delta, self._ref_of(init))
        if old < 0:
            raise AotError(f"cannot grow table of {self.size} elements by {delta}")
        return old

    def _ref_of(self, value):
        from aot.loader.func import Func

        if value is None:
            return ffi.NULL
        if not isinstance(value, Func):
            raise TypeError(f"a funcref table holds aot.Func or None, not {type(value).__name__}")
        ref = value._funcref_for_table()
        self._keep.append(value)
        return ref

    def _check(self, index: int) -> None:
        if not 0 <= index < self._def.length:
            raise IndexError(f"table index {index} out of bounds for table of {self._def.length} elements")

    def get(self, index: int):
        from aot.loader.funcrefs import func_from_ref

        self._check(index)
        return func_from_ref(address(self._elems[index]))

    def set(self, index: int, value) -> None:
        self._check(index)
        self._elems[index] = self._ref_of(value)

    def __repr__(self) -> str:
        return f"<aot.Table {self.type}, size {self.size}>"
