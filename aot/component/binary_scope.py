"""The component decoder's foundation: the byte cursor, index spaces (`Scope`), sorts,
names, aliases and the checks every kind of definition shares.  `binary_deftype` adds the
type definitions on top, `binary` the sections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from aot.component.binary_names import canonical_name, parse_externname
from aot.component.binary_typecheck import (
    MAX_TYPE_DEPTH,
    MAX_TYPE_SIZE,
    NOMINAL_TYPES,
    free_resources,
    kind_of,
    measure,
    names_of,
    unnamed_type,
)
from aot.component.model import CORE_SORT_CODES as CORE_SORTS
from aot.component.model import SORT_CODES as SORTS
from aot.component.model import (
    AliasCoreExport,
    AliasExport,
    AliasOuter,
    Component,
    ComponentNames,
    ExternType,
    Sort,
)
from aot.component.types import Borrow, FuncType, Own, ResourceType, Result
from aot.errors import CompileError, NotSupportedError
from aot.wasm.decoder import _Decoder as CoreDecoder  # its core type readers, on our cursor
from aot.wasm.reader import Reader

COMPONENT = "component"
COMPONENT_TYPE = "component type"
INSTANCE_TYPE = "instance type"
MODULE_TYPE = "module type"

CORE_ITEM_SORTS = (Sort.CORE_FUNC, Sort.CORE_TABLE, Sort.CORE_MEMORY, Sort.CORE_GLOBAL)
MAX_NESTING = 50
_ATTRIBUTES = {0x00: "implements", 0x01: "versionsuffix", 0x02: "external-id"}


def fail(message: str, offset: int) -> NoReturn:
    raise CompileError(message, offset)


@dataclass(eq=False)
class Decl:
    """An import or export declarator of a component or instance type."""

    name: str
    sort: Sort
    type: Any


class NameScope:
    """The names of one list of imports or exports: strongly-unique, and the resources
    they name, for `[constructor]`/`[method]`/`[static]` names."""

    def __init__(self, what: str) -> None:
        self.what = what  # "import" | "export"
        self.names: dict[str, str] = {}  # canonical name -> name
        self.resources: dict[str, ResourceType] = {}


class Scope:
    """One scope of index spaces: a component, or the declarations of a component,
    instance or module type (which start empty; outer aliases reach enclosing scopes)."""

    def __init__(self, kind: str, parent: Scope | None, component: Component | None = None,
                 names: ComponentNames | None = None) -> None:
        self.kind = kind
        self.parent = parent
        self.depth = parent.depth + 1 if parent else 0
        self.component = component
        self.names = names or ComponentNames()
        self.spaces: dict[Sort, list[Any]] = (
            {s: component.space(s) for s in Sort} if component else {s: [] for s in Sort})
        self.imports: list[tuple[str, ExternType]] = []  # of a type's declarators
        self.exports: list[tuple[str, ExternType]] = []
        self.import_names = NameScope("import")
        self.export_names = NameScope("export")
        self.imported: list[ResourceType] = []  # abstract resource types imports bind
        self.exported: list[ResourceType] = []  # ... and export declarators declare
        self.defined: set[ResourceType] = set()  # resource types defined here
        self.named: set[ResourceType] = set()  # resource types imports or exports name
        self.import_named: set[ResourceType] = set()  # ... imports alone

    def check_depth(self, pos: int) -> None:
        """Components and types nest by recursion: an implementation limit keeps it
        within Python's."""
        if self.depth > MAX_NESTING:
            fail(f"implementation limit: components or types nested more than "
                 f"{MAX_NESTING} deep", pos)

    def add(self, sort: Sort, entry: Any) -> int:
        space = self.spaces[sort]
        space.append(entry)
        return len(space) - 1


class DecoderBase:
    """The cursor over the whole top-level binary (offsets are absolute) and the reads
    and checks shared by all definitions."""

    def __init__(self, data: bytes, more_flags: bool = False) -> None:
        self.data = data
        self.more_flags = more_flags  # flags types of more than 32 members (see binary_deftype)
        self.core = CoreDecoder(data)  # reads core types at self.r's position
        self.r: Reader = self.core.r
        self.limit = len(data)  # end of the section being read
        self.sizes: dict[int, tuple[Any, int, int]] = {}  # measure()'s memo
        self.memory_memo: dict[int, tuple[Any, bool]] = {}  # needs_memory()'s memo
        self.named_types: dict[int, Any] = {}  # id -> nominal types imports/exports name

    def define(self, scope: Scope, sort: Sort, entry: Any) -> None:
        """A new definition of a component: in its index space and in the definition
        order."""
        scope.add(sort, entry)
        scope.component.definitions.append(entry)

    # --- reading ---

    def byte(self) -> int:
        return self.r.u8()

    def u32(self) -> int:
        return self.r.u32()

    def name(self) -> str:
        return self.r.name()

    def count(self) -> int:
        """A vector's length: at most one item per remaining byte of the section."""
        pos = self.r.pos
        n = self.r.u32()
        if n > self.limit - self.r.pos:
            fail(f"vector length {n} out of bounds", pos)
        return n

    def vec(self, item: Any) -> list[Any]:
        out = []
        for _ in range(self.count()):
            out.append(item())
            if self.r.pos > self.limit:
                fail("unexpected end of section", self.limit)
        return out

    def optional(self, item: Any) -> Any:
        pos = self.r.pos
        flag = self.byte()
        if flag > 1:
            fail(f"malformed optional: 0x{flag:02x}, expected 0x00 or 0x01", pos)
        return item() if flag else None

    def expect(self, byte: int, what: str) -> None:
        pos = self.r.pos
        if self.byte() != byte:
            fail(f"malformed {what}: expected 0x{byte:02x}", pos)

    # --- sorts and indices ---

    def core_sort(self) -> Sort:
        pos = self.r.pos
        b = self.byte()
        if b == 0x04:
            raise NotSupportedError("component model: core tags (core sort 0x04)", pos)
        sort = CORE_SORTS.get(b)
        if sort is None:
            fail(f"malformed core sort 0x{b:02x}", pos)
        return sort

    def sort(self) -> Sort:
        pos = self.r.pos
        b = self.byte()
        if b == 0x00:
            return self.core_sort()
        if b == 0x02:
            raise NotSupportedError("component model: values (sort 0x02)", pos)
        sort = SORTS.get(b)
        if sort is None:
            fail(f"malformed sort 0x{b:02x}", pos)
        return sort

    def entry(self, scope: Scope, sort: Sort, index: int, pos: int) -> Any:
        space = scope.spaces[sort]
        if index >= len(space):
            fail(f"{sort} index {index} out of range ({len(space)} defined)", pos)
        return space[index]

    def index(self, scope: Scope, sort: Sort) -> tuple[int, Any]:
        """Read an index of `sort`: (index, the entry)."""
        pos = self.r.pos
        i = self.u32()
        return i, self.entry(scope, sort, i, pos)

    def typed(self, scope: Scope, sort: Sort, cls: Any, what: str) -> tuple[int, Any]:
        """Read an index of `sort` whose type must be a `cls`: (index, type)."""
        pos = self.r.pos
        i, e = self.index(scope, sort)
        if not isinstance(e.type, cls):
            fail(f"{sort} {i} is a {kind_of(e.type)}, not {what}", pos)
        return i, e.type

    def checked(self, t: Any, pos: int) -> Any:
        """`t`, once within the implementation limits on types."""
        size, depth = measure(t, self.sizes)
        if size > MAX_TYPE_SIZE:
            fail(f"implementation limit: a type of size {size:,}, more than "
                 f"{MAX_TYPE_SIZE:,}", pos)
        if depth > MAX_TYPE_DEPTH:
            fail(f"implementation limit: a type nested {depth} deep, more than "
                 f"{MAX_TYPE_DEPTH}", pos)
        return t

    # --- names ---

    def name_attributes(self) -> tuple[str, dict[str, str]]:
        """`nameattributes`: an extern name and its attributes (0x02 form)."""
        pos = self.r.pos
        tag = self.byte()
        if tag > 0x02:
            fail(f"malformed name: prefix 0x{tag:02x}", pos)
        name = self.name()
        attributes: dict[str, str] = {}
        if tag == 0x02:
            for _ in range(self.count()):
                at = self.r.pos
                key = _ATTRIBUTES.get(self.byte())
                if key is None or key in attributes:
                    fail(f"malformed or repeated attribute of {name!r}", at)
                attributes[key] = self.name()
        return name, attributes

    def check_extern_name(self, ns: NameScope, name: str, ext: ExternType, pos: int,
                          attributes: dict[str, str] | None = None) -> None:
        """Name syntax, strong uniqueness, the `[constructor]`, `[method]` and
        `[static]` rules and the `implements` attribute's (Binary.md "Import and Export
        Definitions")."""
        if attributes and "implements" in attributes:
            self._check_implements(ns, name, attributes["implements"], ext, pos)
        if name.startswith("[async"):
            raise NotSupportedError(f"component model: async functions ({ns.what} {name!r})",
                                    pos)
        try:
            m = parse_externname(name)
        except ValueError:
            fail(f"{ns.what} name {name!r} is neither a plain name nor an interface name", pos)
        key = canonical_name(name)
        if key in ns.names:
            fail(f"{ns.what} name {name!r} conflicts with {ns.names[key]!r}", pos)
        ns.names[key] = name
        if m is None:
            return
        if m["label"] is not None:
            if ext.sort == Sort.TYPE and isinstance(ext.type, ResourceType):
                ns.resources[m["label"]] = ext.type
            return
        self._check_annotated(ns, name, m, ext, pos)

    def _check_implements(self, ns: NameScope, name: str, interface: str, ext: ExternType,
                          pos: int) -> None:
        try:
            plain = parse_externname(name) is not None
            named = parse_externname(interface) is None
        except ValueError:
            plain = named = False
        if ext.sort != Sort.INSTANCE or not plain or not named:
            fail(f"{ns.what} {name!r}: `implements {interface}` needs an instance with a "
                 f"plain name, and an interface name", pos)

    def _check_annotated(self, ns: NameScope, name: str, m: Any, ext: ExternType,
                         pos: int) -> None:
        what = f"{ns.what} {name!r}"
        if ext.sort != Sort.FUNC:
            fail(f"{what}: only functions have [constructor], [method] or [static] names", pos)
        label = m["ctor"] or m["res"]
        rt = ns.resources.get(label)
        if rt is None:
            fail(f"{what}: no preceding {ns.what} of a resource named {label!r}", pos)
        ft: FuncType = ext.type
        if m["ctor"] is not None:
            res = ft.results
            ok = res == Own(rt) or (isinstance(res, Result) and res.ok == Own(rt))
            if not ok:
                fail(f"{what}: a constructor must return own<{label}>", pos)
        elif m["kind"] == "method":
            if not ft.params or ft.params[0] != ("self", Borrow(rt)):
                fail(f"{what}: a method's first parameter must be self: borrow<{label}>", pos)

    def check_visible(self, ext: ExternType, what: str, pos: int) -> None:
        """Records, variants, enums and flags in an import's or export's type must be
        named by imports or exports too."""
        t = unnamed_type(ext, self.named_types)
        if t is not None:
            fail(f"{what} uses a {kind_of(t)} that no import or export names", pos)
        # What it names is named for the definitions that follow (aliases of its
        # exports, say), as the spec's new type indices are.
        for t in names_of(ext):
            if isinstance(t, NOMINAL_TYPES):
                self.named_types[id(t)] = t

    def check_named(self, named: set[ResourceType], what: str, t: Any,
                    own: set[ResourceType], pos: int) -> None:
        """Every resource type an import's or export's type uses must be named by a
        preceding import or export (`named`; an import only by imports) or by itself
        (`own`), so that bindings have a name for it (Explainer.md "External
        Visibility of Types")."""
        for rt in free_resources(t):
            if rt not in named and rt not in own:
                label = f" ({rt.name})" if rt.name else ""
                fail(f"{what} uses a resource type{label} that no preceding import or "
                     f"export names", pos)

    # --- aliases ---

    def alias(self, scope: Scope, in_decl: bool) -> Any:
        """An `alias` definition or declarator: the new index space entry."""
        pos = self.r.pos
        sort = self.sort()
        tag = self.byte()
        if tag == 0x00:
            return self._alias_export(scope, sort, in_decl, pos)
        if tag == 0x01 and not in_decl:
            return self._alias_core_export(scope, sort, pos)
        if tag == 0x02:
            return self._alias_outer(scope, sort, in_decl, pos)
        fail(f"malformed alias 0x{tag:02x}", pos + 1)

    def _alias_export(self, scope: Scope, sort: Sort, in_decl: bool, pos: int) -> AliasExport:
        if in_decl and sort not in (Sort.INSTANCE, Sort.TYPE):
            fail(f"an alias declarator cannot alias a {sort} export", pos)
        if sort.is_core and sort != Sort.CORE_MODULE:
            fail(f"an instance cannot export a {sort}", pos)
        i, inst = self.index(scope, Sort.INSTANCE)
        name = self.name()
        ext = inst.type.export(name)
        if ext is None:
            fail(f"instance {i} has no export {name!r}", pos)
        if ext.sort != sort:
            fail(f"export {name!r} of instance {i} is a {ext.sort}, not a {sort}", pos)
        return AliasExport(i, name, sort, ext.type, pos)

    def _alias_core_export(self, scope: Scope, sort: Sort, pos: int) -> AliasCoreExport:
        if sort not in CORE_ITEM_SORTS:
            fail(f"a core instance cannot export a {sort}", pos)
        i, inst = self.index(scope, Sort.CORE_INSTANCE)
        name = self.name()
        ext = inst.type.export(name)
        if ext is None:
            fail(f"core instance {i} has no export {name!r}", pos)
        if ext.sort != sort:
            fail(f"export {name!r} of core instance {i} is a {ext.sort}, not a {sort}", pos)
        return AliasCoreExport(i, name, sort, ext.type, pos)

    def _alias_outer(self, scope: Scope, sort: Sort, in_decl: bool, pos: int) -> AliasOuter:
        allowed = (Sort.CORE_TYPE, Sort.TYPE) if in_decl else (
            Sort.CORE_MODULE, Sort.CORE_TYPE, Sort.COMPONENT, Sort.TYPE)
        if sort not in allowed:
            fail(f"an outer alias cannot alias a {sort}", pos)
        count = self.u32()
        target, crosses = self.outer_scope(scope, count, pos)
        at = self.r.pos
        index = self.u32()
        entry = self.entry(target, sort, index, at)
        # Resource types are generative: a nested component aliasing one from outside
        # could not be instantiated apart from its parent.
        if sort == Sort.TYPE and crosses and free_resources(entry.type):
            fail(f"outer alias of type {index}: it uses resource types from outside the "
                 f"component", pos)
        return AliasOuter(count, index, sort, entry.type, entry, pos)

    def outer_scope(self, scope: Scope, count: int, pos: int) -> tuple[Scope, bool]:
        """The scope `count` levels out, and whether that leaves a component."""
        crosses = False
        for _ in range(count):
            crosses = crosses or scope.kind == COMPONENT
            if scope.parent is None:
                fail(f"outer alias count {count} exceeds the enclosing scopes", pos)
            scope = scope.parent
        return scope, crosses


__all__ = ["COMPONENT", "COMPONENT_TYPE", "CORE_ITEM_SORTS", "INSTANCE_TYPE",
           "MAX_NESTING", "MODULE_TYPE", "Decl", "DecoderBase", "NameScope", "Scope", "fail"]
