"""`aot.Caller`: what a host function created with `access_caller=True` receives as its
first argument: the instance whose wasm code called it (to reach its memory, tables and
exports).  It is valid only during that call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aot.errors import AotError
from aot.wasm.types import FuncType

if TYPE_CHECKING:
    from aot.loader.instance import Exports, Instance
    from aot.loader.memory import Memory
    from aot.loader.table import Table

_EXPIRED = object()


class Caller:
    __slots__ = ("_instance", "_what")

    def __init__(self, instance: Instance | None, what: str = "host function") -> None:
        self._instance = instance  # None: called from Python, not from wasm
        self._what = what

    @property
    def instance(self) -> Instance:
        inst = self._instance
        if inst is _EXPIRED:
            raise AotError(f"the Caller given to {self._what} was used after that call "
                           "returned; it is valid only during the call")
        if inst is None:
            raise AotError(f"{self._what} was called from Python, not from wasm: "
                           "there is no calling instance")
        return inst

    @property
    def exports(self) -> Exports:
        return self.instance.exports

    def get(self, name: str):
        """The calling instance's export `name`, or None."""
        exports = self.instance.exports
        return exports[name] if name in exports else None

    @property
    def memory(self) -> Memory | None:
        """The calling instance's export "memory", else its memory 0, else None."""
        from aot.loader.memory import Memory

        m = self.get("memory")
        if isinstance(m, Memory):
            return m
        memories = self.instance._memories
        return memories[0] if memories else None

    @property
    def table(self) -> Table | None:
        """The calling instance's table 0 (the one `call_indirect` uses by default), or
        None."""
        tables = self.instance._tables
        return tables[0] if tables else None

    def func_type(self, index: int) -> FuncType:
        """Type `index` of the calling module (wasm can name a signature by its index)."""
        types = self.instance.module._artifact.desc.types
        if type(index) is not int or not 0 <= index < len(types):
            raise AotError(f"type index {index!r} does not exist in the calling module "
                                    f"{self.instance.module!r}, which has {len(types)} types")
        return types[index]

    def _expire(self) -> None:
        self._instance = _EXPIRED

    def __repr__(self) -> str:
        inst = self._instance
        state = "expired" if inst is _EXPIRED else "from Python" if inst is None else repr(inst)
        return f"<aot.Caller {state}>"
