"""The component binary decoder (Binary.md): `decode_component(bytes)` reads a component
into an `aot.component.model.Component`, with every index resolved and checked, and
`describe(component)` renders its imports and exports in a WIT-like form.

Decoding is validation too, for what matters to compile and link a component safely:
indices in range and of the right sort, types resolved and well-formed, names valid and
unique, instantiation arguments matching imports, canonical options present where the
canonical ABI needs them, and core signatures agreeing with the flattened component
types.  Every failure is a `CompileError` with the absolute byte offset; a feature aot
does not implement (async, streams, values, ...) is a `NotSupportedError`.

The core modules inside are decoded only as far as their imports and exports (their
types); their code is validated when they are compiled."""

from __future__ import annotations

from typing import Any

from aot.component.binary_canon import CanonDecoder
from aot.component.binary_describe import describe
from aot.component.binary_names import prescan_names
from aot.component.binary_scope import COMPONENT, CORE_ITEM_SORTS, NameScope, Scope, fail
from aot.component.binary_typecheck import (
    Mismatch,
    check_extern,
    core_extern_matches,
    free_resources,
    fresh_resources,
    name_type,
    resources_in,
    substitute,
)
from aot.component.model import (
    Component,
    ComponentType,
    CoreExtern,
    CoreFuncType,
    CoreInlineExports,
    CoreInstanceType,
    CoreInstantiate,
    CoreModule,
    CoreTypeDef,
    CustomSection,
    Export,
    ExternType,
    Import,
    InlineExports,
    InstanceType,
    Instantiate,
    ModuleType,
    Sort,
    Start,
)
from aot.component.types import FuncType, ResourceType
from aot.errors import CompileError, NotSupportedError
from aot.wasm.decoder import decode
from aot.wasm.module import Module
from aot.wasm.types import ExternKind

MAGIC = b"\x00asm"
CORE_VERSION = b"\x01\x00\x00\x00"
VERSION = b"\x0d\x00"
LAYER = b"\x01\x00"

SECTIONS = {0: "custom", 1: "core module", 2: "core instance", 3: "core type", 4: "component",
            5: "instance", 6: "alias", 7: "type", 8: "canon", 9: "start", 10: "import",
            11: "export", 12: "value"}
def decode_component(data: bytes, more_flags: bool = False) -> Component:
    """Decode and validate a component binary.  Raises CompileError (with the byte
    offset) if it is malformed or invalid, NotSupportedError if it uses a feature aot
    does not implement.  `more_flags`: accept flags types of more than 32 members (up to
    1024, the earlier spec's layout of one i32 per 32), as wasmtime's
    `component-model-more-flags` does; off by default, as in the current spec."""
    data = bytes(data)
    decoder = _Decoder(data, more_flags)
    try:
        return decoder.component(0, len(data), None)
    except RecursionError:  # a safety net: nesting is limited well below this
        raise CompileError("implementation limit: nesting too deep", decoder.r.pos) from None


class _Decoder(CanonDecoder):
    # --- components and sections ---

    def component(self, start: int, end: int, parent: Scope | None) -> Component:
        self.preamble(start, end)
        comp = Component(offset=start, end=end)
        comp.names = prescan_names(self.data, start + 8, end)
        scope = Scope(COMPONENT, parent, comp, comp.names)
        scope.check_depth(start)
        self.r.pos = start + 8
        while self.r.pos < end:
            self.section(scope, end)
        comp.type = self.component_type(scope)
        return comp

    def preamble(self, start: int, end: int) -> None:
        data = self.data
        if data[start:start + 4] != MAGIC[:end - start]:
            fail("magic header not detected", start)
        if end - start < 8:
            fail("unexpected end of the preamble", end)
        version = data[start + 4:start + 8]
        if version == CORE_VERSION:
            fail("a core module, not a component", start + 4)
        if version[:2] != VERSION:
            fail(f"unknown component binary version 0x{version[0]:02x} 0x{version[1]:02x} "
                 f"(aot reads 0x0d 0x00)", start + 4)
        if version[2:] != LAYER:
            fail(f"unknown binary layer 0x{version[2]:02x} 0x{version[3]:02x} (a "
                 f"component's is 0x01 0x00)", start + 6)

    def section(self, scope: Scope, end: int) -> None:
        r = self.r
        pos = r.pos
        sid = self.byte()
        name = SECTIONS.get(sid)
        if name is None:
            fail(f"malformed section id {sid}", pos)
        size = r.length()
        body = r.pos
        if body + size > end:
            fail(f"{name} section runs past the end of the component", pos)
        if sid == 12:
            raise NotSupportedError("component model: value definitions (section 12)", pos)
        outer, self.limit = self.limit, body + size
        try:
            self.section_body(sid, scope, body)
            if r.pos != body + size:
                fail(f"section size mismatch: {r.pos - body} bytes read, {size} declared",
                     min(r.pos, body + size))
        except NotSupportedError:
            raise
        except CompileError as e:
            raise CompileError(f"{name} section: {e.message}", e.offset) from None
        finally:
            self.limit = outer

    def section_body(self, sid: int, scope: Scope, body: int) -> None:
        comp = scope.component
        if sid == 0:
            self.custom(comp)
        elif sid == 1:
            self.define(scope, Sort.CORE_MODULE, self.core_module(body))
        elif sid == 4:
            self.define(scope, Sort.COMPONENT, self.component(body, self.limit, scope))
        elif sid == 9:
            comp.starts.append(self.start(scope))
            comp.definitions.append(comp.starts[-1])
        else:
            item = {2: self.core_instance, 3: self.core_type_def, 5: self.instance,
                    6: self.alias_def, 7: self.type_def, 8: self.canon, 10: self.import_def,
                    11: self.export_def}[sid]
            self.vec(lambda: item(scope))

    def custom(self, comp: Component) -> None:
        name = self.name()
        comp.customs.append(CustomSection(name, self.r.pos, self.limit - self.r.pos))
        self.r.pos = self.limit  # the name section was read by prescan_names

    def component_type(self, scope: Scope) -> ComponentType:
        comp = scope.component
        imports = tuple((i.name, i.extern) for i in comp.imports)
        exports = tuple((e.name, e.extern) for e in comp.exports)
        imported = set(scope.imported)
        # Resources its exports use that it does not import: each instantiation makes
        # new ones.
        exported = [rt for rt in free_resources(ComponentType((), exports))
                    if rt not in imported]
        return self.checked(
            ComponentType(imports, exports, tuple(scope.imported), tuple(exported)),
            comp.offset)

    # --- core modules, instances and types ---

    def core_module(self, body: int) -> CoreModule:
        raw = self.data[body:self.limit]
        try:
            mtype = module_type_of(decode(raw, bodies=frozenset()))
            check_unique_imports(mtype)
        except NotSupportedError as e:
            raise NotSupportedError(e.feature, body + (e.offset or 0)) from None
        except CompileError as e:
            raise CompileError(f"core module: {e.message}", body + (e.offset or 0)) from None
        self.r.pos = self.limit
        return CoreModule(raw, body, mtype)

    def core_instance(self, scope: Scope) -> None:
        pos = self.r.pos
        tag = self.byte()
        if tag == 0x00:
            entry: Any = self.core_instantiate(scope, pos)
        elif tag == 0x01:
            entry = self.core_inline_exports(scope, pos)
        else:
            fail(f"malformed core instance 0x{tag:02x}", pos)
        self.define(scope, Sort.CORE_INSTANCE, entry)

    def core_instantiate(self, scope: Scope, pos: int) -> CoreInstantiate:
        m, mtype = self.typed(scope, Sort.CORE_MODULE, ModuleType, "a core module")

        def arg() -> tuple[str, int, int]:
            at = self.r.pos
            name = self.name()
            self.expect(0x12, "core instantiation argument (only instances)")
            return name, self.index(scope, Sort.CORE_INSTANCE)[0], at

        args = self.vec(arg)
        by_name: dict[str, int] = {}
        for name, i, at in args:
            if name in by_name:
                fail(f"duplicate core instantiation argument {name!r}", at)
            by_name[name] = i
        for module, name, want in mtype.imports:
            self.check_core_import(scope, m, by_name, module, name, want, pos)
        return CoreInstantiate(m, tuple((n, i) for n, i, _ in args),
                               CoreInstanceType(mtype.exports), pos)

    def check_core_import(self, scope: Scope, m: int, args: dict[str, int], module: str,
                          name: str, want: CoreExtern, pos: int) -> None:
        if module not in args:
            fail(f"core module {m} imports from {module!r}, which no argument supplies", pos)
        got = scope.spaces[Sort.CORE_INSTANCE][args[module]].type.export(name)
        if got is None:
            fail(f"core module {m} imports {module!r} {name!r}, which core instance "
                 f"{args[module]} does not export", pos)
        if not core_extern_matches(got, want):
            fail(f"core module {m} imports {module!r} {name!r} as {want.type}, but it is "
                 f"{got.sort} {got.type}", pos)

    def core_inline_exports(self, scope: Scope, pos: int) -> CoreInlineExports:
        def export() -> tuple[str, Sort, int, CoreExtern, int]:
            at = self.r.pos
            name = self.name()
            sort = self.core_sort()
            if sort not in CORE_ITEM_SORTS:
                fail(f"a core instance cannot export a {sort}", at)
            i, e = self.index(scope, sort)
            return name, sort, i, CoreExtern(sort, e.type), at

        items = self.vec(export)
        seen: set[str] = set()
        for name, *_, at in items:
            if name in seen:
                fail(f"duplicate core export {name!r}", at)
            seen.add(name)
        return CoreInlineExports(tuple((n, s, i) for n, s, i, _, _ in items),
                                 CoreInstanceType(tuple((n, x) for n, _, _, x, _ in items)),
                                 pos)

    def core_type_def(self, scope: Scope) -> None:
        pos = self.r.pos
        self.define(scope, Sort.CORE_TYPE, CoreTypeDef(self.core_type(scope), pos))

    # --- component instances, aliases, types ---

    def instance(self, scope: Scope) -> None:
        pos = self.r.pos
        tag = self.byte()
        if tag == 0x00:
            entry: Any = self.instantiate(scope, pos)
        elif tag == 0x01:
            entry = self.inline_exports(scope, pos)
        else:
            fail(f"malformed instance 0x{tag:02x}", pos)
        self.define(scope, Sort.INSTANCE, entry)

    def sortidx(self, scope: Scope) -> tuple[Sort, int, Any]:
        """A component-level `sortidx` of an exportable sort: (sort, index, entry)."""
        pos = self.r.pos
        sort = self.sort()
        if sort.is_core and sort != Sort.CORE_MODULE:
            fail(f"a component cannot export or pass a {sort}", pos)
        i, e = self.index(scope, sort)
        return sort, i, e

    def instantiate(self, scope: Scope, pos: int) -> Instantiate:
        c, ctype = self.typed(scope, Sort.COMPONENT, ComponentType, "a component")

        def arg() -> tuple[str, Sort, int, Any, int]:
            at = self.r.pos
            name = self.name()
            return (name, *self.sortidx(scope), at)

        args: dict[str, tuple[Sort, int, Any]] = {}
        order = []
        for name, sort, i, e, at in self.vec(arg):
            if name in args:
                fail(f"duplicate instantiation argument {name!r}", at)
            args[name] = (sort, i, e)
            order.append((name, sort, i))
        bind: dict[ResourceType, ResourceType] = {}
        for name, want in ctype.imports:
            if name not in args:
                fail(f"component {c} imports {name!r}, which no argument supplies", pos)
            sort, _, e = args[name]
            try:
                check_extern(ExternType(sort, e.type), want, bind, set(ctype.imported),
                             f"argument {name!r}")
            except Mismatch as m:
                fail(f"instantiating component {c}: {m}", pos)
        # The instance's own resource types are new; its imported ones are the arguments.
        mapping = {**bind, **fresh_resources(ctype.exported)}
        exports = tuple((n, substitute(x, mapping, self.named_types)) for n, x in ctype.exports)
        return Instantiate(c, tuple(order), self.checked(InstanceType(exports), pos), pos)

    def inline_exports(self, scope: Scope, pos: int) -> InlineExports:
        names = NameScope("export")  # an inline instance's exports: their own scope

        def export() -> tuple[str, Sort, int, ExternType]:
            at = self.r.pos
            name, _ = self.name_attributes()
            sort, i, e = self.sortidx(scope)
            ext = ExternType(sort, e.type)
            self.check_extern_name(names, name, ext, at)
            return name, sort, i, ext

        items = self.vec(export)
        itype = InstanceType(tuple((n, x) for n, _, _, x in items))
        return InlineExports(tuple((n, s, i) for n, s, i, _ in items),
                             self.checked(itype, pos), pos)

    def alias_def(self, scope: Scope) -> None:
        entry = self.alias(scope, in_decl=False)
        self.define(scope, entry.sort, entry)

    def type_def(self, scope: Scope) -> None:
        scope.component.definitions.append(self.deftype(scope))

    # --- start, imports, exports ---

    def start(self, scope: Scope) -> Start:
        pos = self.r.pos
        f, ft = self.typed(scope, Sort.FUNC, FuncType, "a function")
        args = self.vec(self.u32)
        results = self.u32()
        if args or results or ft.params or ft.results is not None:
            raise NotSupportedError("component model: values (a start function with "
                                    "arguments or results)", pos)
        return Start(f, pos)

    def import_def(self, scope: Scope) -> None:
        pos = self.r.pos
        name, attributes = self.name_attributes()
        ext, fresh = self.externtype(scope, name)
        self.check_extern_name(scope.import_names, name, ext, pos, attributes)
        self.check_named(scope.import_named, f"import {name!r}", ext.type, set(fresh), pos)
        self.check_visible(ext, f"import {name!r}", pos)
        scope.imported.extend(fresh)
        scope.named.update(resources_in(ext.type))
        scope.import_named.update(resources_in(ext.type))
        entry = Import(name, ext.sort, ext.type, attributes, pos)
        scope.component.imports.append(entry)
        self.define(scope, ext.sort, entry)

    def export_def(self, scope: Scope) -> None:
        pos = self.r.pos
        name, attributes = self.name_attributes()
        sort, i, e = self.sortidx(scope)
        ext = ExternType(sort, e.type)
        ascribed = self.optional(lambda: self.externtype(scope, name))
        if ascribed is not None:
            ext = self.ascribe(ext, *ascribed, name, pos)
        if sort == Sort.TYPE:  # a new type index, which the export names
            ext = ExternType(sort, name_type(ext.type, self.named_types))
        self.check_extern_name(scope.export_names, name, ext, pos, attributes)
        own = names_resources(ext)
        self.check_named(scope.named, f"export {name!r}", ext.type, own, pos)
        self.check_visible(ext, f"export {name!r}", pos)
        scope.named.update(own)
        entry = Export(name, sort, i, ext.type, ascribed is not None, attributes, pos)
        scope.component.exports.append(entry)
        self.define(scope, sort, entry)

    def ascribe(self, actual: ExternType, want: ExternType, fresh: list[ResourceType],
                name: str, pos: int) -> ExternType:
        """An export's ascribed type, checked against the item's: the ascription's
        abstract resource types stand for the item's."""
        bind: dict[ResourceType, ResourceType] = {}
        try:
            check_extern(actual, want, bind, set(fresh), f"export {name!r}")
        except Mismatch as m:
            fail(f"the ascribed type does not match: {m}", pos)
        return substitute(want, bind, self.named_types)


def names_resources(ext: ExternType) -> set[ResourceType]:
    """The resource types an import or export names: a resource type itself, the
    resource types an instance exports, or those a component type binds."""
    if ext.sort == Sort.TYPE:
        return {ext.type} if isinstance(ext.type, ResourceType) else set()
    if ext.sort == Sort.INSTANCE:
        return set().union(*(names_resources(x) for _, x in ext.type.exports))
    return set()


def check_unique_imports(mtype: ModuleType) -> None:
    """A core module in a component imports each (module, name) once: the imports
    become the exports of one instance per module name."""
    seen: set[tuple[str, str]] = set()
    for module, name, _ in mtype.imports:
        if (module, name) in seen:
            raise CompileError(f"duplicate import {module!r} {name!r}")
        seen.add((module, name))


_KINDS = {ExternKind.FUNC: Sort.CORE_FUNC, ExternKind.TABLE: Sort.CORE_TABLE,
          ExternKind.MEMORY: Sort.CORE_MEMORY, ExternKind.GLOBAL: Sort.CORE_GLOBAL}


def module_type_of(module: Module) -> ModuleType:
    """A decoded core module's imports and exports (not yet validated: indices are
    checked here)."""
    spaces = {ExternKind.FUNC: None, ExternKind.TABLE: module.all_tables(),
              ExternKind.MEMORY: module.all_memories(), ExternKind.GLOBAL: module.all_globals()}

    def func_type(type_index: int) -> CoreFuncType:
        if type_index >= len(module.types):
            raise CompileError(f"unknown type {type_index}")
        return module.types[type_index]

    imports = tuple(
        (imp.module, imp.name, CoreExtern(_KINDS[imp.kind], func_type(imp.type)
                                          if imp.kind == ExternKind.FUNC else imp.type))
        for imp in module.imports)
    funcs = module.func_type_indices()
    exports = []
    for exp in module.exports:
        space = funcs if exp.kind == ExternKind.FUNC else spaces[exp.kind]
        if exp.index >= len(space):
            raise CompileError(f"export {exp.name!r}: unknown {exp.kind} {exp.index}")
        item = space[exp.index]
        exports.append((exp.name, CoreExtern(_KINDS[exp.kind], func_type(item)
                                             if exp.kind == ExternKind.FUNC else item)))
    return ModuleType(imports, tuple(exports))


__all__ = ["decode_component", "describe"]
