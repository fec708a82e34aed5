"""`describe(component)`: a component's imports and exports with their types, in a
WIT-like form, for `aot inspect`:

    import host: instance {
      log: func(msg: string)
    }
    export add: func(a: u32, b: u32) -> u32

Value types are printed inline; a resource type by the name an import or export gives
it (`own` handles as the bare name, as WIT does)."""

from __future__ import annotations

from typing import Any

from aot.component.model import (
    Component,
    ComponentType,
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

INDENT = "  "


def describe(component: Component) -> str:
    """The imports, then the exports, one per line (instances and components as
    indented blocks)."""
    names = ResourceNames()
    items = [("import", i.name, i.extern) for i in component.imports]
    items += [("export", e.name, e.extern) for e in component.exports]
    for _, name, ext in items:
        names.collect(name, ext)
    lines: list[str] = []
    for keyword, name, ext in items:
        lines += _item(f"{keyword} {name}", ext, names, "")
    return "".join(line + "\n" for line in lines)


class ResourceNames:
    """The name of each resource type: the first import or export of it seen."""

    def __init__(self) -> None:
        self.names: dict[ResourceType, str] = {}

    def collect(self, name: str, ext: ExternType) -> None:
        if ext.sort == Sort.TYPE and isinstance(ext.type, ResourceType):
            self.names.setdefault(ext.type, name)
        elif ext.sort == Sort.INSTANCE:
            for n, x in ext.type.exports:
                self.collect(n, x)
        elif ext.sort == Sort.COMPONENT:
            for n, x in ext.type.imports + ext.type.exports:
                self.collect(n, x)

    def __call__(self, rt: ResourceType) -> str:
        if rt not in self.names:
            self.names[rt] = rt.name or f"resource{len(self.names)}"
        return self.names[rt]


def _item(head: str, ext: ExternType, names: ResourceNames, indent: str,
          prefix: str = "") -> list[str]:
    """The lines of one import or export; `prefix` comes before a block's keyword."""
    t = ext.type
    if ext.sort == Sort.FUNC:
        return [f"{indent}{head}: {render_functype(t, names)}"]
    if ext.sort == Sort.TYPE:
        if isinstance(t, ResourceType):
            return [f"{indent}{head}: resource"]
        if isinstance(t, (InstanceType, ComponentType, ModuleType)):
            sort = {InstanceType: Sort.INSTANCE, ComponentType: Sort.COMPONENT,
                    ModuleType: Sort.CORE_MODULE}[type(t)]
            return _item(head, ExternType(sort, t), names, indent, "type = ")
        return [f"{indent}{head}: type = {render_type(t, names)}"]
    if ext.sort == Sort.INSTANCE:
        inner = [line for n, x in t.exports for line in _item(n, x, names, indent + INDENT)]
        return [f"{indent}{head}: {prefix}instance {{", *inner, f"{indent}}}"]
    if ext.sort == Sort.COMPONENT:
        return [f"{indent}{head}: {prefix}component {{", *_component(t, names, indent + INDENT),
                f"{indent}}}"]
    return [f"{indent}{head}: {prefix}core module {{", *_module(t, indent + INDENT),
            f"{indent}}}"]


def _component(t: ComponentType, names: ResourceNames, indent: str) -> list[str]:
    lines = []
    for keyword, items in (("import", t.imports), ("export", t.exports)):
        for n, x in items:
            lines += _item(f"{keyword} {n}", x, names, indent)
    return lines


def _module(t: ModuleType, indent: str) -> list[str]:
    lines = [f"{indent}import {m!r} {n!r}: {x.type}" for m, n, x in t.imports]
    return lines + [f"{indent}export {n!r}: {x.type}" for n, x in t.exports]


def render_functype(ft: FuncType, names: Any = None) -> str:
    """`func(a: u32, b: string) -> u32`."""
    names = names or ResourceNames()
    params = ", ".join(f"{n}: {render_type(t, names)}" for n, t in ft.params)
    if ft.results is None:
        return f"func({params})"
    if isinstance(ft.results, tuple):
        results = ", ".join(f"{n}: {render_type(t, names)}" for n, t in ft.results)
        return f"func({params}) -> ({results})"
    return f"func({params}) -> {render_type(ft.results, names)}"


def render_type(t: Any, names: Any = None) -> str:
    """A value type as WIT writes it, records and variants inline."""
    names = names or ResourceNames()

    def r(x: Any) -> str:
        return render_type(x, names)

    if isinstance(t, Prim):
        return str(t)
    if isinstance(t, Record):
        return "record { " + ", ".join(f"{n}: {r(x)}" for n, x in t.fields) + " }"
    if isinstance(t, Variant):
        cases = (n if x is None else f"{n}({r(x)})" for n, x in t.cases)
        return "variant { " + ", ".join(cases) + " }"
    if isinstance(t, (Enum_, Flags)):
        keyword = "enum" if isinstance(t, Enum_) else "flags"
        return f"{keyword} {{ " + ", ".join(t.names) + " }"
    if isinstance(t, List):
        return f"list<{r(t.elem)}>"
    if isinstance(t, Tuple):
        return "tuple<" + ", ".join(r(x) for x in t.types) + ">"
    if isinstance(t, Option):
        return f"option<{r(t.type)}>"
    if isinstance(t, Result):
        return _render_result(t, r)
    if isinstance(t, Own):
        return names(t.resource)
    if isinstance(t, Borrow):
        return f"borrow<{names(t.resource)}>"
    if isinstance(t, ResourceType):
        return names(t)
    if isinstance(t, FuncType):
        return render_functype(t, names)
    return type(t).__name__


def _render_result(t: Result, r: Any) -> str:
    if t.ok is None and t.err is None:
        return "result"
    if t.err is None:
        return f"result<{r(t.ok)}>"
    return f"result<{'_' if t.ok is None else r(t.ok)}, {r(t.err)}>"


__all__ = ["ResourceNames", "describe", "render_functype", "render_type"]
