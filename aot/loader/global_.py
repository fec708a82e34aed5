"""Globals: a 16-byte value slot, owned by the Global (host globals) or by the instance
that defines it."""

from __future__ import annotations

from aot.errors import AotError
from aot.loader.ffi import address, ffi
from aot.loader.refs import RefContext
from aot.loader.values import CONVERTERS
from aot.wasm.types import GlobalType, ValType


class Global:
    def __init__(self, type: GlobalType, value=None, *, _slot=None, _owner=None, _store=None):
        self.type = type
        self._owner = _owner  # keeps the defining instance alive
        self._refs = RefContext()  # the store's, once an instance uses this global
        if type.type == ValType.EXTERNREF:
            self._refs.holders.add(self)  # its value is a root of the collector
        self._converters()
        if _slot is None:
            _slot = ffi.new("ValRaw *")
            self._slot = _slot
            if value is not None:
                self._put(_slot, value, "global value")
        self._slot = _slot
        if _store is not None:
            self._bind_store(_store)

    def _gc_words(self) -> list[int]:
        return [address(self._slot.ref)]

    def _converters(self) -> None:
        t = self.type.type
        conv = self._refs.converters(t) if t.is_ref else CONVERTERS[t]
        self._put, self._get, self._put_raw, self._get_raw = conv

    def _bind_store(self, store) -> None:
        """References in the slot are resolved through the store's registry from now on."""
        if self._refs is store._refs:
            return
        if self._refs.store is not None:
            if self.type.type.is_ref:
                from aot.errors import LinkError

                raise LinkError("a reference-typed global cannot be shared between stores")
            return
        store._refs.adopt(self._refs)
        self._refs = store._refs
        self._converters()

    @property
    def value(self):
        return self._get(self._slot)

    @value.setter
    def value(self, v) -> None:
        if not self.type.mutable:
            raise AotError("cannot set an immutable global")
        self._put(self._slot, v, "global value")

    @property
    def raw(self):
        """The value's bit pattern (floats as IEEE bits; references as their value)."""
        return self._get_raw(self._slot)

    @raw.setter
    def raw(self, bits) -> None:
        self._put_raw(self._slot, bits, "global value")

    def __repr__(self) -> str:
        return f"<aot.Global {self.type} = {self.value!r}>"
