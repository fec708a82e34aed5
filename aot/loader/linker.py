"""`aot.Linker`: definitions by module and field name (host functions, memories, tables,
globals, whole instances), against which modules are instantiated in one store — so
instances share memories, tables and globals and call each other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aot.errors import LinkError
from aot.loader.func import Func
from aot.loader.global_ import Global
from aot.loader.instance import Instance
from aot.loader.memory import Memory
from aot.loader.store import Store
from aot.loader.table import Table
from aot.wasm.types import FuncType

_EXTERNS = (Func, Memory, Table, Global)


class Linker:
    """`linker.define("env", "log", print)`, `linker.define_instance("lib", instance)`,
    then `linker.instantiate(module)`.  A plain callable takes the type of the import it
    satisfies; a number satisfies an immutable global import.  Defining a name twice is
    a LinkError unless `allow_shadowing` is set."""

    def __init__(self, store: Store | None = None):
        self.store = store if store is not None else Store()
        self.allow_shadowing = False
        self._defs: dict[str, dict[str, Any]] = {}

    def define(self, module: str, name: str, item: Any) -> None:
        """Define `module::name` as a Func, Memory, Table, Global, callable or number."""
        self._check(module, name, item)
        self._defs.setdefault(module, {})[name] = item

    def define_func(self, module: str, name: str, type: FuncType, fn: Callable, *,
                    access_caller: bool = False) -> Func:
        """Define `module::name` as a host function of `type`; returns it."""
        func = Func(type, fn, name=name, access_caller=access_caller)
        self.define(module, name, func)
        return func

    def define_instance(self, module: str, instance: Instance) -> None:
        """Define every export of `instance` under `module`."""
        if instance.store is not self.store:
            raise LinkError(f"cannot define instance {instance!r} as `{module}`: it belongs to "
                            "another store than this linker's, and wasm functions only run in "
                            "the store of their instance")
        exports = {name: instance.exports[name] for name in instance.exports}
        for name, item in exports.items():  # all or nothing
            self._check(module, name, item)
        self._defs.setdefault(module, {}).update(exports)

    def define_module(self, module: str, wasm_module) -> Instance:
        """Instantiate `wasm_module` against this linker and define its exports under
        `module`; returns the instance."""
        instance = self.instantiate(wasm_module)
        self.define_instance(module, instance)
        return instance

    def instantiate(self, module) -> Instance:
        """Instantiate `module` (an `aot.Module`) in this linker's store, its imports
        taken from the definitions.  A missing or mistyped import is a LinkError naming
        `module::field` and the types."""
        return module.instantiate(self._defs, store=self.store)

    def get(self, module: str, name: str) -> Any:
        """What `module::name` is defined as."""
        item = self._defs.get(module, {}).get(name)
        if item is None:
            defined = ", ".join(sorted(self._defs.get(module, {}))) or "nothing"
            raise LinkError(f"`{module}::{name}` is not defined in this linker "
                            f"(defined under `{module}`: {defined})")
        return item

    def _check(self, module: str, name: str, item: Any) -> None:
        where = f"`{module}::{name}`"
        if not isinstance(item, _EXTERNS + (int, float)) and not callable(item):
            raise TypeError(f"cannot define {where} as a {item.__class__.__name__}: a linker "
                            "holds aot.Func, Memory, Table, Global, callables and numbers")
        if isinstance(item, Func) and not item.is_host and item._owner.store is not self.store:
            raise LinkError(f"cannot define {where} as {item.name}: that function belongs to an "
                            "instance of another store than this linker's")
        if not self.allow_shadowing and name in self._defs.get(module, {}):
            raise LinkError(f"{where} is already defined in this linker "
                            "(set allow_shadowing to redefine it)")
