"""Type rules the component decoder applies: the structure and size of types,
substitution of resource types, subtyping of imports and exports, and the external
visibility of types.

Types are trees of the frozen dataclasses of `aot.component.types` and
`aot.component.model`; resource types are nominal (compared by identity), everything
else structurally."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from aot.component.model import (
    ComponentType,
    CoreExtern,
    CoreFuncType,
    ExternType,
    InstanceType,
    ModuleType,
    Sort,
)
from aot.component.types import (
    Borrow,
    Enum_,
    Flags,
    FuncType,
    List,
    Option,
    Own,
    Prim,
    Record,
    ResourceType,
    Result,
    Tuple,
    Variant,
)
from aot.wasm.types import Limits, MemoryType, TableType

VALUE_TYPES = (Prim, Record, Variant, List, Tuple, Flags, Enum_, Option, Result, Own, Borrow)

# Implementation limits, as wasmparser's: a type's size counts the nodes of its tree (a
# type used twice counts twice), which also bounds every walk over it (equality,
# substitution, printing) and its canonical ABI size below 2**28 bytes; the depth keeps
# those walks within Python's recursion limit.
MAX_TYPE_SIZE = 1_000_000
MAX_TYPE_DEPTH = 100


def kind_of(t: Any) -> str:
    """What a type is, for error messages."""
    if isinstance(t, Prim):
        return f"{t} type"
    names = {FuncType: "function type", ResourceType: "resource type",
             InstanceType: "instance type", ComponentType: "component type",
             ModuleType: "core module type", CoreFuncType: "core function type"}
    for cls, name in names.items():
        if isinstance(t, cls):
            return name
    return f"{type(t).__name__.rstrip('_').lower()} type"


# --- structure -------------------------------------------------------------------------------


def children(t: Any) -> list[Any]:
    """The types directly inside `t` (resource types of handles included)."""
    if isinstance(t, Record):
        return [ft for _, ft in t.fields]
    if isinstance(t, Variant):
        return [ct for _, ct in t.cases if ct is not None]
    if isinstance(t, List):
        return [t.elem]
    if isinstance(t, Option):
        return [t.type]
    if isinstance(t, Tuple):
        return list(t.types)
    if isinstance(t, Result):
        return [x for x in (t.ok, t.err) if x is not None]
    if isinstance(t, (Own, Borrow)):
        return [t.resource]
    if isinstance(t, FuncType):
        return [pt for _, pt in t.params] + list(t.result_types())
    if isinstance(t, ExternType):
        return [t.type]
    if isinstance(t, InstanceType):
        return [e for _, e in t.exports]
    if isinstance(t, ComponentType):
        return [e for _, e in t.imports] + [e for _, e in t.exports]
    return []


def measure(t: Any, memo: dict[int, tuple[Any, int, int]]) -> tuple[int, int]:
    """(size, depth) of `t`; `memo` maps id(type) to (type, size, depth) (the type is
    kept so that its id stays its own)."""
    hit = memo.get(id(t))
    if hit is not None:
        return hit[1], hit[2]
    size, depth = 1, 0
    for c in children(t):
        s, d = measure(c, memo)
        size += s
        depth = max(depth, d + 1)
    memo[id(t)] = (t, size, depth)
    return size, depth


def resources_in(t: Any) -> list[ResourceType]:
    """The resource types `t` refers to, each once, in first-seen order."""
    found: dict[int, ResourceType] = {}
    seen: set[int] = set()
    stack = [t]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, ResourceType):
            found[id(x)] = x
        else:
            stack.extend(reversed(children(x)))
    return list(found.values())


def free_resources(t: Any) -> list[ResourceType]:
    """The resource types `t` uses that component and instance types inside it do not
    declare themselves (their `(sub resource)` imports and exports)."""
    bound: set[ResourceType] = set()
    for x in _nodes(t):
        if isinstance(x, InstanceType):
            bound.update(x.abstract)
        elif isinstance(x, ComponentType):
            bound.update(x.imported + x.exported)
    return [rt for rt in resources_in(t) if rt not in bound]


def _nodes(t: Any) -> list[Any]:
    """Every distinct node of `t` (each shared subtree once)."""
    seen: dict[int, Any] = {}
    stack = [t]
    while stack:
        x = stack.pop()
        if id(x) not in seen:
            seen[id(x)] = x
            stack.extend(children(x))
    return list(seen.values())


def substitute(t: Any, mapping: dict[ResourceType, ResourceType],
               named: dict[int, Any] | None = None) -> Any:
    """`t` with resource types replaced per `mapping`; unchanged parts stay the same
    objects (so that comparing them stays cheap).  A rebuilt type keeps the name of the
    one it replaces in `named` (see `unnamed_type`)."""
    if not mapping:
        return t
    memo: dict[int, Any] = {}

    def go(x: Any) -> Any:
        key = id(x)
        if key not in memo:
            new = memo[key] = _rebuild(x, go, mapping)
            if named is not None and new is not x and key in named:
                named[id(new)] = new
        return memo[key]

    return go(t)


def _rebuild(x: Any, go: Callable[[Any], Any], mapping: dict) -> Any:
    if isinstance(x, ResourceType):
        return mapping.get(x, x)
    kids = children(x)
    new = [go(c) for c in kids]
    if all(a is b for a, b in zip(kids, new)) and not isinstance(
            x, (InstanceType, ComponentType)):
        return x
    it = iter(new)
    if isinstance(x, Record):
        return Record(tuple((n, next(it)) for n, _ in x.fields))
    if isinstance(x, Variant):
        return Variant(tuple((n, None if ct is None else next(it)) for n, ct in x.cases))
    if isinstance(x, List):
        return List(new[0])
    if isinstance(x, Option):
        return Option(new[0])
    if isinstance(x, Tuple):
        return Tuple(tuple(new))
    if isinstance(x, Result):
        return Result(None if x.ok is None else next(it), None if x.err is None else next(it))
    if isinstance(x, Own):
        return Own(new[0])
    if isinstance(x, Borrow):
        return Borrow(new[0])
    if isinstance(x, FuncType):
        return _rebuild_func(x, it)
    if isinstance(x, ExternType):
        return ExternType(x.sort, new[0])
    return _rebuild_scope(x, new, mapping)


def _rebuild_func(x: FuncType, it: Any) -> FuncType:
    params = tuple((n, next(it)) for n, _ in x.params)
    if x.results is None:
        return FuncType(params, None)
    if isinstance(x.results, tuple):
        return FuncType(params, tuple((n, next(it)) for n, _ in x.results))
    return FuncType(params, next(it))


def _rebuild_scope(x: Any, new: list, mapping: dict) -> Any:
    def renamed(rs: tuple) -> tuple:
        return tuple(mapping.get(r, r) for r in rs)

    if isinstance(x, InstanceType):
        exports = tuple((n, e) for (n, _), e in zip(x.exports, new))
        return InstanceType(exports, renamed(x.abstract))
    imports = tuple((n, e) for (n, _), e in zip(x.imports, new))
    exports = tuple((n, e) for (n, _), e in zip(x.exports, new[len(x.imports):]))
    return ComponentType(imports, exports, renamed(x.imported), renamed(x.exported))


def fresh_resources(rs: Iterable[ResourceType]) -> dict[ResourceType, ResourceType]:
    """New resource types for `rs`: what each import or instantiation gets."""
    return {r: ResourceType(r.name, r.rep, None) for r in rs}


def freshen_instance(t: InstanceType, named: dict[int, Any]) -> InstanceType:
    """An instance type whose abstract resource types are new ones."""
    return substitute(t, fresh_resources(t.abstract), named) if t.abstract else t


# --- external visibility (Explainer.md "External Visibility of Types") -------------------

# Types that source languages declare by name: an import or export may use them only
# through a name an import or export gives them.  (Resource types are checked apart.)
NOMINAL_TYPES = (Record, Variant, Enum_, Flags)


def name_type(t: Any, named: dict[int, Any]) -> Any:
    """The type a type import or export introduces: a copy of a nominal type (equal,
    not the same object), so that it alone counts as named, as the new type index does
    in the spec."""
    if isinstance(t, NOMINAL_TYPES):
        t = replace(t)
        named[id(t)] = t
    return t


def unnamed_type(ext: ExternType, named: dict[int, Any]) -> Any | None:
    """A nominal type `ext` uses that no import or export names (neither one before
    nor `ext` itself, through the types it exports), or None."""
    own = {id(x) for x in names_of(ext)}
    for x in _nodes(ext.type):
        if isinstance(x, NOMINAL_TYPES) and id(x) not in named and id(x) not in own:
            return x
    return None


def names_of(ext: ExternType) -> list[Any]:
    """The types an import or export names: its type if it is a type import or
    export, and those the type exports (and imports) of its instance or component type
    name."""
    out = [ext.type] if ext.sort == Sort.TYPE else []
    t = ext.type
    if isinstance(t, InstanceType):
        for _, x in t.exports:
            out += names_of(x)
    elif isinstance(t, ComponentType):
        for _, x in t.imports + t.exports:
            out += names_of(x)
    return out


# --- subtyping --------------------------------------------------------------------------------


class Mismatch(Exception):
    """A type does not match the one expected; the message says where and why."""


def check_extern(actual: ExternType, expected: ExternType, bind: dict[ResourceType, ResourceType],
                 bindable: set[ResourceType], where: str) -> None:
    """Raise Mismatch unless `actual` can stand for `expected`.  Abstract resource types
    of `expected` in `bindable` are bound, on first sight, to the actual ones (`bind`),
    as instantiation supplies type imports."""
    if actual.sort != expected.sort:
        raise Mismatch(f"{where}: expected a {expected.sort}, found a {actual.sort}")
    a, e = actual.type, expected.type
    if expected.sort == Sort.TYPE and isinstance(e, ResourceType) and e in bindable \
            and e not in bind:
        if not isinstance(a, ResourceType):
            raise Mismatch(f"{where}: expected a resource type, found a {kind_of(a)}")
        bind[e] = a
    elif expected.sort == Sort.INSTANCE:
        for name, ext in e.exports:
            got = a.export(name)
            if got is None:
                raise Mismatch(f"{where}: the instance has no export {name!r}")
            check_extern(got, ext, bind, bindable, f"{where}, export {name!r}")
    elif expected.sort == Sort.COMPONENT:
        _check_component(a, e, where)
    elif expected.sort == Sort.CORE_MODULE:
        _check_module(a, e, where)
    elif substitute(e, bind) != a:
        raise Mismatch(f"{where}: {kind_of(a)} differs from the expected one")


def _check_component(a: ComponentType, e: ComponentType, where: str) -> None:
    """Component subtyping, by names and sorts: `a` may import less and export more."""
    for name, ext in e.exports:
        got = a.export(name)
        if got is None or got.sort != ext.sort:
            raise Mismatch(f"{where}: the component lacks the {ext.sort} export {name!r}")
    for name, ext in a.imports:
        want = e.import_(name)
        if want is None or want.sort != ext.sort:
            raise Mismatch(f"{where}: the component imports {name!r}, which is not expected")


def _check_module(a: ModuleType, e: ModuleType, where: str) -> None:
    """Module subtyping: `a` may import less and export more."""
    for name, ext in e.exports:
        got = a.export(name)
        if got is None or not core_extern_matches(got, ext):
            raise Mismatch(f"{where}: the module lacks the export {name!r} of type {ext.type}")
    expected = {(m, n): ext for m, n, ext in e.imports}
    for m, n, ext in a.imports:
        want = expected.get((m, n))
        if want is None or not core_extern_matches(want, ext):
            raise Mismatch(f"{where}: the module imports {m!r} {n!r}, which is not expected")


def core_extern_matches(actual: CoreExtern, expected: CoreExtern) -> bool:
    """Core import matching (core spec 4.5.2 "Import Matching"), without the GC types."""
    if actual.sort != expected.sort:
        return False
    a, e = actual.type, expected.type
    if isinstance(a, MemoryType):
        return a.is64 == e.is64 and a.shared == e.shared and _limits_match(a.limits, e.limits)
    if isinstance(a, TableType):
        return a.elem == e.elem and _limits_match(a.limits, e.limits)
    return a == e


def _limits_match(a: Limits, e: Limits) -> bool:
    return a.min >= e.min and (e.max is None or (a.max is not None and a.max <= e.max))


__all__ = [
    "MAX_TYPE_DEPTH", "MAX_TYPE_SIZE", "NOMINAL_TYPES", "VALUE_TYPES", "Mismatch",
    "check_extern", "children", "core_extern_matches", "free_resources", "fresh_resources",
    "freshen_instance", "kind_of", "measure", "name_type", "names_of", "resources_in",
    "substitute", "unnamed_type",
]
