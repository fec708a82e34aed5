"""Globals: a 16-byte value slot, owned by the Global (host globals) or by the instance
that defines it."""

from __future__ import annotations

from aot.errors import AotError
from aot.loader.ffi import ffi
from aot.loader.values import CONVERTERS
from aot.wasm.types import GlobalType, ValType


class Global:
    def __init__(self, type: GlobalType, value=None, *, _slot=None, _owner=None):
        self.type = type
        self._owner = _owner  # keeps the defining instance alive
        if type.type.is_ref:
            from aot.errors import NotSupportedError

            raise NotSupportedError("reference types: globals of type " + str(type.type))
        self._put, self._get, self._put_raw, self._get_raw = CONVERTERS[type.type]
        if _slot is None:
            _slot = ffi.new("ValRaw *")
            if value is not None:
                self._put(_slot, value, "global value")
        self._slot = _slot

    @property
    def value(self):
        return self._get(self._slot)

    @value.setter
    def value(self, v) -> None:
        if not self.type.mutable:
            raise AotError("cannot set an immutable global")
        self._put(self._slot, v, "global value")

    @property
    def raw(self) -> int:
        """The value's bit pattern (floats as IEEE bits)."""
        return self._get_raw(self._slot)

    @raw.setter
    def raw(self, bits: int) -> None:
        self._put_raw(self._slot, bits, "global value")

    def __repr__(self) -> str:
        return f"<aot.Global {self.type} = {self.value!r}>"


__all__ = ["Global", "ValType"]
