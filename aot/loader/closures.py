"""Dynamic closures: host functions made at run time, of any signature a loaded module
declares, that forward to a generic backing function together with an environment
value (libffi's closures).  Placed in a table, wasm calls one with `call_indirect`.

A closure keeps one VMHostContext and one VMFuncRef for its whole life, whose Python
callable is a fixed forwarder: `redefine` swaps only what the forwarder calls, so the
pointers compiled code reads (possibly without the GIL, possibly in the middle of a call
of the old target) never change and never dangle."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

from aot.errors import AotError, NotSupportedError
from aot.loader.ffi import address
from aot.loader.func import Func
from aot.loader.instance import Instance
from aot.loader.store import Store
from aot.wasm.types import FuncType

_KEEP = object()  # `redefine` argument not given


class Closure(Func):
    """`Closure(owner, type, backing, env)`: a host function of `type` that calls
    `backing(env, *args)` (`backing(caller, env, *args)` with `access_caller=True`).

    `owner` is the instance whose tables the closure is meant for (its module must
    declare `type`: no other type can be reached by its `call_indirect`) or a store.
    Put it in a table with `table[i] = closure`; `redefine` changes what it forwards to,
    `free` takes it out of the tables and releases `backing` and `env`."""

    def __init__(self, owner: Instance | Store, type: FuncType, backing: Callable, env: Any = None,
                 *, access_caller: bool = False, name: str | None = None):
        if isinstance(owner, Instance):
            module = owner.module
            if type not in module._artifact.desc.types:
                raise NotSupportedError(
                    f"a closure of type {type} for an instance of {module!r}: that module "
                    "does not declare the type, so its call_indirect could never call it")
            store = owner.store
        elif isinstance(owner, Store):
            store = owner
        else:
            raise TypeError(f"a closure's owner is an aot.Instance or aot.Store, "
                            f"not {owner.__class__.__name__}")
        if not callable(backing):
            raise TypeError(f"a closure's backing function must be callable, "
                            f"not {backing.__class__.__name__}")
        self._access_caller = access_caller
        self._target = [_bind(backing, env, access_caller)]
        target = self._target

        def forward(*args):
            return target[0](*args)  # read per call: `redefine` replaces it

        super().__init__(type, forward, access_caller=access_caller,
                         name=name or f"closure of {getattr(backing, '__name__', 'backing')}")
        self.store = store
        self.backing = backing
        self.env = env
        self.freed = False
        self._tables: weakref.WeakSet = weakref.WeakSet()  # tables it was set into
        self._funcref_for_table()  # now: a type no loaded module declares fails here

    def redefine(self, backing: Callable | None = None, env: Any = _KEEP) -> None:
        """Forward to `backing` (if given) with `env` (if given) from the next call on;
        every table slot holding the closure keeps working."""
        self._check_live("redefine")
        if backing is not None and not callable(backing):
            raise TypeError(f"a closure's backing function must be callable, "
                            f"not {backing.__class__.__name__}")
        if backing is not None:
            self.backing = backing
        if env is not _KEEP:
            self.env = env
        self._target[0] = _bind(self.backing, self.env, self._access_caller)

    def free(self) -> None:
        """Take the closure out of every table it was set into and of every table of
        its store's instances (wasm then traps on "uninitialized element"), and release
        `backing` and `env`.  A reference left elsewhere (a global, a wasm local) raises
        AotError when called.  The native records live on until nothing can reach them."""
        self._check_live("free")
        word = address(self._ref)
        tables = {id(t): t for t in self._tables}
        for inst in self.store._instances:
            tables.update((id(t), t) for t in inst._tables)
        for t in tables.values():
            t._clear_word(word)
        self._tables = weakref.WeakSet()
        self.freed = True
        self.backing = self.env = None
        self._target[0] = functools.partial(_call_freed, self.name)

    def _note_placement(self, table, index: int) -> None:
        self._check_live("place")
        self._tables.add(table)

    def _check_live(self, what: str) -> None:
        if self.freed:
            raise AotError(f"cannot {what} {self.name}: the closure was freed")

    def __repr__(self) -> str:
        state = " (freed)" if self.freed else ""
        return f"<aot.Closure {self.name} {self.type}{state}>"


def _bind(backing: Callable, env: Any, access_caller: bool) -> Callable:
    if access_caller:
        return lambda caller, *args: backing(caller, env, *args)
    return functools.partial(backing, env)


def _call_freed(name: str, *args) -> None:
    raise AotError(f"{name} was called after it was freed")
