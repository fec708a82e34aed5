"""Tables of references.  Elements are words: `VMFuncRef *` for funcref tables, externref
handles for externref tables.  The element array is reallocated on growth, and compiled
code reloads its base at every access."""

from __future__ import annotations

import builtins  # the constructors' min/max keywords shadow the builtins

from aot.errors import AotError, LinkError
from aot.loader.ffi import address, ffi
from aot.loader.limits import ResourceLimitError, table_may_grow
from aot.loader.refs import RefContext
from aot.wasm.types import Limits, TableType, ValType

MAX_TABLE_ELEMENTS = 10_000_000  # same bound as wasmtime's default table limit


class Table:
    def __init__(self, type: TableType | None = None, init=None, *, min: int = 0,
                 max: int | None = None, elem: ValType = ValType.FUNCREF):
        if type is None:
            type = TableType(elem, Limits(min, max))
        self.type = type
        n = type.limits.min
        if n > MAX_TABLE_ELEMENTS:
            raise AotError(f"table of {n} elements exceeds the limit of {MAX_TABLE_ELEMENTS}")
        self._def = ffi.new("VMTableDefinition *")
        self._elems = ffi.new("void *[]", builtins.max(n, 1))
        self._def.base = self._elems
        self._def.length = n
        self._refs = RefContext()  # the store's, once an instance uses this table
        if type.elem == ValType.EXTERNREF:
            self._refs.holders.add(self)  # its elements are roots of the collector
        if init is not None:
            word = self._word(init)
            for i in range(n):
                self._elems[i] = ffi.cast("void *", word)

    def _bind_store(self, store) -> None:
        # Funcrefs run on their instance's store state, and externrefs live in the
        # store's registry: a table belongs to one store.
        if self._refs is store._refs:
            return
        if self._refs.store is not None:
            raise LinkError("a table cannot be shared between instances of different stores")
        store._refs.adopt(self._refs)
        self._refs = store._refs

    @property
    def size(self) -> int:
        return self._def.length

    def _gc_words(self) -> list[int]:
        """The elements, as words (externref tables: the collector's roots)."""
        return ffi.unpack(ffi.cast("uint64_t *", self._def.base), self._def.length)

    def grow_elements(self, delta: int, init_word) -> int:
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
            self._elems[i] = init_word
        self._def.length = new
        return old

    def grow(self, delta: int, init=None) -> int:
        """Grow by `delta` elements set to `init`; return the previous size."""
        store = self._refs.store
        if delta and store is not None and not table_may_grow(store, self, delta):
            raise ResourceLimitError(f"cannot grow table of {self.size} elements by {delta}: "
                                     f"the store's limits refuse it ({store.limits})")
        old = self.grow_elements(delta, ffi.cast("void *", self._word(init)))
        if old < 0:
            raise AotError(f"cannot grow table of {self.size} elements by {delta}")
        return old

    def _word(self, value) -> int:
        return self._refs.to_word(self.type.elem, value)

    def _check(self, index: int) -> None:
        if not 0 <= index < self._def.length:
            raise IndexError(f"table index {index} out of bounds for table of {self._def.length} elements")

    def get(self, index: int):
        self._check(index)
        return self._refs.from_word(self.type.elem, address(self._elems[index]))

    def set(self, index: int, value) -> None:
        self._check(index)
        word = self._word(value)
        if value is not None and self.type.elem == ValType.FUNCREF:
            value._note_placement(self, index)  # closures remember their tables (or refuse)
        self._elems[index] = ffi.cast("void *", word)

    __getitem__ = get
    __setitem__ = set

    def _clear_word(self, word: int) -> int:
        """Set every element equal to `word` to null; return how many there were."""
        n = self._def.length
        data = ffi.buffer(self._elems, 8 * n)[:]
        needle = word.to_bytes(8, "little")
        cleared = 0
        i = data.find(needle)
        while i >= 0:
            if i % 8 == 0:  # a whole element, not bytes straddling two
                self._elems[i // 8] = ffi.NULL
                cleared += 1
            i = data.find(needle, i + 1)
        return cleared

    def __repr__(self) -> str:
        return f"<aot.Table {self.type}, size {self.size}>"
