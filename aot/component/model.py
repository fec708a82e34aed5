"""The decoded component (`aot.component.binary.decode_component`): its definitions, its
index spaces and the types the decoder resolves, named as in Explainer.md / Binary.md.

Every index space is a list whose i-th entry is the definition that introduced index i
(an `Import`, an alias, a canon definition, an instantiation, ...).  Each entry has a
`type` attribute: the resolved type of what it defines (a `FuncType` for a function, an
`InstanceType` for an instance, the type itself for the type index space, ...), so a
consumer never has to chase type indices.  `Component.definitions` keeps every
definition once, in binary order: the order in which instantiation runs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aot.component.types import FuncType, ResourceType
from aot.wasm.types import FuncType as CoreFuncType
from aot.wasm.types import GlobalType, MemoryType, TableType


class Sort(Enum):
    """The 12 index spaces aot supports (Explainer.md "Index Spaces"; no core tags)."""

    CORE_FUNC = "core func"
    CORE_TABLE = "core table"
    CORE_MEMORY = "core memory"
    CORE_GLOBAL = "core global"
    CORE_TYPE = "core type"
    CORE_MODULE = "core module"
    CORE_INSTANCE = "core instance"
    FUNC = "func"
    VALUE = "value"
    TYPE = "type"
    COMPONENT = "component"
    INSTANCE = "instance"

    def __str__(self) -> str:
        return self.value

    @property
    def is_core(self) -> bool:
        return self.value.startswith("core ")


# The binary encodings of the sorts (Binary.md `core:sort`, `sort`: 0x00 precedes a
# core sort).
CORE_SORT_CODES = {0x00: Sort.CORE_FUNC, 0x01: Sort.CORE_TABLE, 0x02: Sort.CORE_MEMORY,
                   0x03: Sort.CORE_GLOBAL, 0x10: Sort.CORE_TYPE, 0x11: Sort.CORE_MODULE,
                   0x12: Sort.CORE_INSTANCE}
SORT_CODES = {0x01: Sort.FUNC, 0x02: Sort.VALUE, 0x03: Sort.TYPE, 0x04: Sort.COMPONENT,
              0x05: Sort.INSTANCE}

# The `Component` attribute that holds each index space.
SPACE_FIELDS = {
    Sort.CORE_FUNC: "core_funcs", Sort.CORE_TABLE: "core_tables",
    Sort.CORE_MEMORY: "core_memories", Sort.CORE_GLOBAL: "core_globals",
    Sort.CORE_TYPE: "core_types", Sort.CORE_MODULE: "core_modules",
    Sort.CORE_INSTANCE: "core_instances", Sort.FUNC: "funcs", Sort.VALUE: "values",
    Sort.TYPE: "types", Sort.COMPONENT: "components", Sort.INSTANCE: "instances",
}


# --- types -------------------------------------------------------------------------------

CoreExternType = CoreFuncType | TableType | MemoryType | GlobalType


@dataclass(frozen=True)
class CoreExtern:
    """What a core module imports or exports, or a core instance exports."""

    sort: Sort  # CORE_FUNC, CORE_TABLE, CORE_MEMORY or CORE_GLOBAL
    type: CoreExternType


def _index_names(obj: Any, items: tuple) -> None:
    """Fill the name -> item cache of a frozen type (exports are looked up by name)."""
    object.__setattr__(obj, "_by_name", {item[0]: item[-1] for item in items})


@dataclass(frozen=True)
class ModuleType:
    """A core module's type: (module, name, extern) imports and (name, extern) exports."""

    imports: tuple[tuple[str, str, CoreExtern], ...]
    exports: tuple[tuple[str, CoreExtern], ...]
    _by_name: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _index_names(self, self.exports)

    def export(self, name: str) -> CoreExtern | None:
        return self._by_name.get(name)


@dataclass(frozen=True)
class CoreInstanceType:
    exports: tuple[tuple[str, CoreExtern], ...]
    _by_name: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _index_names(self, self.exports)

    def export(self, name: str) -> CoreExtern | None:
        return self._by_name.get(name)


@dataclass(frozen=True)
class ExternType:
    """The type of a component import or export: its sort and the item's type.  For the
    `type` sort, `type` is the type itself (a value type or a `ResourceType`...)."""

    sort: Sort
    type: Any  # FuncType | InstanceType | ComponentType | ModuleType | a type


@dataclass(frozen=True)
class InstanceType:
    """A component instance's type.  `abstract` lists the resource types its
    `(sub resource)` exports declare: each import of an instance of this type gets
    fresh ones (resource types are generative)."""

    exports: tuple[tuple[str, ExternType], ...]
    abstract: tuple[ResourceType, ...] = ()
    _by_name: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _index_names(self, self.exports)

    def export(self, name: str) -> ExternType | None:
        return self._by_name.get(name)


@dataclass(frozen=True)
class ComponentType:
    """A component's type.  `imported`: the abstract resource types its imports bind
    (each instantiation supplies them); `exported`: the resource types each
    instantiation creates afresh."""

    imports: tuple[tuple[str, ExternType], ...]
    exports: tuple[tuple[str, ExternType], ...]
    imported: tuple[ResourceType, ...] = ()
    exported: tuple[ResourceType, ...] = ()
    _by_name: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _index_names(self, self.exports)

    def export(self, name: str) -> ExternType | None:
        return self._by_name.get(name)

    def import_(self, name: str) -> ExternType | None:
        return next((t for n, t in self.imports if n == name), None)


# --- definitions ---------------------------------------------------------------------------
# Mutable and compared by identity: each is one definition in one component.


@dataclass(eq=False)
class CoreModule:
    """An embedded core module (section 1): its bytes, and where they start in the
    top-level binary (to place the core decoder's error offsets)."""

    data: bytes = field(repr=False)
    offset: int
    type: ModuleType


@dataclass(eq=False)
class CoreInstantiate:
    """`(core instance (instantiate module (with name (instance i))*))`."""

    module: int
    args: tuple[tuple[str, int], ...]  # (import module name, core instance index)
    type: CoreInstanceType
    offset: int = 0


@dataclass(eq=False)
class CoreInlineExports:
    """`(core instance (export name (sort idx))*)`: an instance tupled from definitions."""

    exports: tuple[tuple[str, Sort, int], ...]
    type: CoreInstanceType
    offset: int = 0


@dataclass(eq=False)
class CoreTypeDef:
    """A core type definition (section 3, or a module type's declarations)."""

    type: CoreFuncType | ModuleType
    offset: int = 0


@dataclass(eq=False)
class Instantiate:
    """`(instance (instantiate component (with name (sort idx))*))`."""

    component: int
    args: tuple[tuple[str, Sort, int], ...]
    type: InstanceType
    offset: int = 0


@dataclass(eq=False)
class InlineExports:
    """`(instance (export name (sort idx))*)`."""

    exports: tuple[tuple[str, Sort, int], ...]
    type: InstanceType
    offset: int = 0


@dataclass(eq=False)
class AliasExport:
    """`(alias export instance name (sort))`: an export of a component instance."""

    instance: int
    name: str
    sort: Sort
    type: Any
    offset: int = 0


@dataclass(eq=False)
class AliasCoreExport:
    """`(alias core export instance name (core sort))`: an export of a core instance."""

    instance: int
    name: str
    sort: Sort
    type: CoreExternType
    offset: int = 0


@dataclass(eq=False)
class AliasOuter:
    """`(alias outer count index (sort))`: `target` is the enclosing scope's definition
    (for a core module or a component, what instantiation needs)."""

    count: int
    index: int
    sort: Sort
    type: Any
    target: Any = None
    offset: int = 0


@dataclass(eq=False)
class TypeDef:
    """A type definition (section 7): a value type, function, component, instance or
    resource type."""

    type: Any
    offset: int = 0


@dataclass(eq=False)
class CanonOptions:
    """`canonopt`s.  `memory`: core memory index; `realloc`, `post_return`: core
    function indices."""

    string_encoding: str = "utf8"  # "utf8" | "utf16" | "latin1+utf16"
    memory: int | None = None
    realloc: int | None = None
    post_return: int | None = None


@dataclass(eq=False)
class CanonLift:
    """`(canon lift core_func opts (func (type type_index)))`: a component function."""

    core_func: int
    type_index: int
    options: CanonOptions
    type: FuncType
    offset: int = 0


@dataclass(eq=False)
class CanonLower:
    """`(canon lower func opts (core func))`: `type` is the flattened core type."""

    func: int
    options: CanonOptions
    type: CoreFuncType
    offset: int = 0


@dataclass(eq=False)
class CanonResource:
    """`(canon resource.new|resource.drop|resource.rep rt (core func))`."""

    op: str  # "resource.new" | "resource.drop" | "resource.rep"
    resource: int  # type index
    resource_type: ResourceType
    type: CoreFuncType
    offset: int = 0


@dataclass(eq=False)
class Start:
    """A start definition: only value-less ones (values are not supported)."""

    func: int
    offset: int = 0


@dataclass(eq=False)
class Import:
    """`(import name externtype)`.  `type` is the imported item's type (see
    `ExternType.type`); `attributes` maps "implements", "versionsuffix" and
    "external-id" to their strings."""

    name: str
    sort: Sort
    type: Any
    attributes: dict[str, str] = field(default_factory=dict)
    offset: int = 0

    @property
    def extern(self) -> ExternType:
        return ExternType(self.sort, self.type)


@dataclass(eq=False)
class Export:
    """`(export name (sort index) externtype?)`: also a new index of `sort`.  `type` is
    the exported type: the ascribed one if there is one, else the item's."""

    name: str
    sort: Sort
    index: int
    type: Any
    ascribed: bool = False
    attributes: dict[str, str] = field(default_factory=dict)
    offset: int = 0

    @property
    def extern(self) -> ExternType:
        return ExternType(self.sort, self.type)


@dataclass(eq=False)
class CustomSection:
    name: str
    offset: int  # of the payload, after the name
    size: int


@dataclass
class ComponentNames:
    """The `component-name` custom section: the component's name and the names of
    items by sort and index.  Advisory: a malformed section is ignored."""

    component: str | None = None
    sorts: dict[Sort, dict[int, str]] = field(default_factory=dict)

    def get(self, sort: Sort, index: int) -> str | None:
        return self.sorts.get(sort, {}).get(index)


@dataclass(eq=False)
class Component:
    """A component: the top-level one or a nested one (section 4, then an entry of its
    parent's `components`).  `offset`/`end` delimit it in the top-level binary."""

    offset: int = 0
    end: int = 0
    definitions: list[Any] = field(default_factory=list)
    core_funcs: list[Any] = field(default_factory=list)
    core_tables: list[Any] = field(default_factory=list)
    core_memories: list[Any] = field(default_factory=list)
    core_globals: list[Any] = field(default_factory=list)
    core_types: list[Any] = field(default_factory=list)
    core_modules: list[Any] = field(default_factory=list)
    core_instances: list[Any] = field(default_factory=list)
    funcs: list[Any] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)  # always empty: values are refused
    types: list[Any] = field(default_factory=list)
    components: list[Any] = field(default_factory=list)
    instances: list[Any] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    starts: list[Start] = field(default_factory=list)
    customs: list[CustomSection] = field(default_factory=list)
    names: ComponentNames = field(default_factory=ComponentNames)
    type: ComponentType = field(default_factory=lambda: ComponentType((), ()))

    def space(self, sort: Sort) -> list[Any]:
        """The index space of `sort`."""
        return getattr(self, SPACE_FIELDS[sort])

    def export(self, name: str) -> Export | None:
        return next((e for e in self.exports if e.name == name), None)

    def import_(self, name: str) -> Import | None:
        return next((i for i in self.imports if i.name == name), None)


__all__ = [
    "CORE_SORT_CODES", "SORT_CODES", "AliasCoreExport", "AliasExport", "AliasOuter", "CanonLift", "CanonLower", "CanonOptions",
    "CanonResource", "Component", "ComponentNames", "ComponentType", "CoreExtern",
    "CoreExternType", "CoreFuncType", "CoreInlineExports", "CoreInstanceType",
    "CoreInstantiate", "CoreModule", "CoreTypeDef", "CustomSection", "Export", "ExternType",
    "Import", "InlineExports", "InstanceType", "Instantiate", "ModuleType", "SPACE_FIELDS",
    "Sort", "Start", "TypeDef",
]
