"""Type definitions of the component binary format (Binary.md "Type Definitions"):
value types, function types, resource types, component and instance types with their
declarators, and core types (function types and module types).  Type indices are
resolved as they are read: the result is a tree of `aot.component.types` values."""

from __future__ import annotations

from typing import Any

from aot.component.binary_flat import contains_borrow
from aot.component.binary_names import is_label
from aot.component.binary_scope import (
    COMPONENT,
    COMPONENT_TYPE,
    INSTANCE_TYPE,
    MODULE_TYPE,
    Decl,
    DecoderBase,
    Scope,
    fail,
)
from aot.component.binary_typecheck import (
    VALUE_TYPES,
    free_resources,
    freshen_instance,
    kind_of,
    name_type,
)
from aot.component.model import (
    AliasOuter,
    ComponentType,
    CoreExtern,
    CoreFuncType,
    CoreTypeDef,
    ExternType,
    InstanceType,
    ModuleType,
    Sort,
    TypeDef,
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
    ValType,
    Variant,
)
from aot.errors import CompileError, NotSupportedError
from aot.wasm.types import ValType as Core
from aot.wasm.validator import check_memory_type, check_table_limits

PRIMS = {0x7F: Prim.BOOL, 0x7E: Prim.S8, 0x7D: Prim.U8, 0x7C: Prim.S16, 0x7B: Prim.U16,
         0x7A: Prim.S32, 0x79: Prim.U32, 0x78: Prim.S64, 0x77: Prim.U64, 0x76: Prim.F32,
         0x75: Prim.F64, 0x74: Prim.CHAR, 0x73: Prim.STRING}
# Type constructors of features aot does not implement.
UNSUPPORTED_TYPES = {0x64: "the error-context type", 0x67: "fixed-length lists",
                     0x66: "streams", 0x65: "futures", 0x63: "maps",
                     0x43: "async function types"}
MAX_FLAGS = 32  # the current Binary.md's bound (earlier versions allowed more)
# With `more_flags` (wasmtime's `component-model-more-flags`): the earlier bound, laid out
# as one i32 per 32 flags.
MAX_MORE_FLAGS = 1024


class TypeDecoder(DecoderBase):
    """Reads type definitions and declarators, resolving the type indices in them."""

    # --- value types ---

    def valtype(self, scope: Scope) -> ValType:
        """`valtype`: a primitive (a negative s33) or the index of a value type."""
        pos = self.r.pos
        v = self.r.s33()
        if v < 0:
            return self.prim(v & 0x7F, pos)
        t = self.entry(scope, Sort.TYPE, v, pos).type
        if not isinstance(t, VALUE_TYPES):
            fail(f"type {v} is a {kind_of(t)}, not a value type", pos)
        return t

    def prim(self, code: int, pos: int) -> Prim:
        p = PRIMS.get(code)
        if p is None:
            self.unsupported_type(code, pos)
            fail(f"malformed value type 0x{code:02x}", pos)
        return p

    def unsupported_type(self, code: int, pos: int) -> None:
        what = UNSUPPORTED_TYPES.get(code)
        if what is not None:
            raise NotSupportedError(f"component model: {what} (type 0x{code:02x})", pos)

    def defvaltype(self, scope: Scope, op: int, pos: int) -> ValType:
        if op in PRIMS:
            return PRIMS[op]
        reader = {0x72: self.record, 0x71: self.variant, 0x6F: self.tuple_, 0x6E: self.flags,
                  0x6D: self.enum, 0x6A: self.result, 0x69: self.handle,
                  0x68: self.handle}.get(op)
        if op == 0x70:
            return List(self.valtype(scope))
        if op == 0x6B:
            return Option(self.valtype(scope))
        if reader is None:
            self.unsupported_type(op, pos)
            fail(f"malformed type 0x{op:02x}", pos)
        return reader(scope, op, pos)

    def labels(self, labels: list[tuple[str, int]], what: str, pos: int) -> tuple[str, ...]:
        """Labels, checked: kebab case, strongly-unique, at least one."""
        if not labels:
            fail(f"a {what} type needs at least one {what} label", pos)
        seen: set[str] = set()
        for label, at in labels:
            if not is_label(label):
                fail(f"{what} label {label!r} is not in kebab case", at)
            if label.lower() in seen:
                fail(f"duplicate {what} label {label!r}", at)
            seen.add(label.lower())
        return tuple(label for label, _ in labels)

    def label_at(self) -> tuple[str, int]:
        pos = self.r.pos
        return self.name(), pos

    def record(self, scope: Scope, op: int, pos: int) -> Record:
        items = self.vec(lambda: (self.label_at(), self.valtype(scope)))
        names = self.labels([lab for lab, _ in items], "record field", pos)
        return Record(tuple(zip(names, (t for _, t in items))))

    def variant(self, scope: Scope, op: int, pos: int) -> Variant:
        def case() -> tuple[tuple[str, int], ValType | None]:
            label = self.label_at()
            t = self.optional(lambda: self.valtype(scope))
            self.expect(0x00, "variant case")  # the retired `refines` field
            return label, t

        items = self.vec(case)
        names = self.labels([lab for lab, _ in items], "variant case", pos)
        return Variant(tuple(zip(names, (t for _, t in items))))

    def tuple_(self, scope: Scope, op: int, pos: int) -> Tuple:
        types = self.vec(lambda: self.valtype(scope))
        if not types:
            fail("a tuple type needs at least one element", pos)
        return Tuple(tuple(types))

    def flags(self, scope: Scope, op: int, pos: int) -> Flags:
        names = self.labels(self.vec(self.label_at), "flag", pos)
        bound = MAX_MORE_FLAGS if self.more_flags else MAX_FLAGS
        if len(names) > bound:
            hint = "" if self.more_flags else " (more_flags=True allows up to 1024)"
            fail(f"a flags type has at most {bound} flags, not {len(names)}{hint}", pos)
        return Flags(names)

    def enum(self, scope: Scope, op: int, pos: int) -> Enum_:
        return Enum_(self.labels(self.vec(self.label_at), "enum case", pos))

    def result(self, scope: Scope, op: int, pos: int) -> Result:
        ok = self.optional(lambda: self.valtype(scope))
        return Result(ok, self.optional(lambda: self.valtype(scope)))

    def handle(self, scope: Scope, op: int, pos: int) -> Own | Borrow:
        _, rt = self.typed(scope, Sort.TYPE, ResourceType, "a resource type")
        return Own(rt) if op == 0x69 else Borrow(rt)

    # --- type definitions ---

    def deftype(self, scope: Scope) -> TypeDef:
        """A `type` definition or declarator, appended to the type index space."""
        pos = self.r.pos
        op = self.byte()
        if op == 0x40:
            t: Any = self.functype(scope, pos)
        elif op == 0x41:
            t = self.decl_type(scope, COMPONENT_TYPE)
        elif op == 0x42:
            t = self.decl_type(scope, INSTANCE_TYPE)
        elif op == 0x3F:
            t = self.resourcetype(scope, pos)
        else:
            t = self.defvaltype(scope, op, pos)
        entry = TypeDef(self.checked(t, pos), pos)
        scope.add(Sort.TYPE, entry)
        return entry

    def functype(self, scope: Scope, pos: int) -> FuncType:
        items = self.vec(lambda: (self.label_at(), self.valtype(scope)))
        names = self.labels([lab for lab, _ in items], "parameter", pos) if items else ()
        at = self.r.pos
        tag = self.byte()
        if tag == 0x00:
            results: ValType | None = self.valtype(scope)
        elif tag == 0x01:
            self.expect(0x00, "result list (named results are gone from the format)")
            results = None
        else:
            fail(f"malformed result list 0x{tag:02x}", at)
        if results is not None and contains_borrow(results):
            fail("a function result cannot contain a borrow handle", at)
        return FuncType(tuple(zip(names, (t for _, t in items))), results)

    def resourcetype(self, scope: Scope, pos: int) -> ResourceType:
        if scope.kind != COMPONENT:
            fail("resource types can only be defined in a component, not in a type", pos)
        at = self.r.pos
        rep = self.byte()
        if rep == 0x7E:
            raise NotSupportedError("component model: 64-bit resource representations", at)
        if rep != 0x7F:
            fail(f"a resource's representation must be i32, not 0x{rep:02x}", at)
        dtor = self.optional(lambda: self.dtor(scope))
        name = scope.names.get(Sort.TYPE, len(scope.spaces[Sort.TYPE])) or ""
        rt = ResourceType(name, "i32", dtor)
        scope.defined.add(rt)
        return rt

    def dtor(self, scope: Scope) -> int:
        pos = self.r.pos
        i, f = self.index(scope, Sort.CORE_FUNC)
        if f.type != CoreFuncType((Core.I32,), ()):
            fail(f"a resource destructor has type (func (param i32)), core func {i} has "
                 f"{f.type}", pos)
        return i

    # --- component and instance types ---

    def decl_type(self, scope: Scope, kind: str) -> ComponentType | InstanceType:
        """`componenttype` or `instancetype`: its declarators in a scope of its own."""
        inner = Scope(kind, scope)
        inner.check_depth(self.r.pos)
        for _ in range(self.count()):
            pos = self.r.pos
            tag = self.byte()
            if tag == 0x03 and kind == COMPONENT_TYPE:
                self.extern_decl(inner, pos, is_import=True)
            elif tag == 0x00:
                inner.add(Sort.CORE_TYPE, CoreTypeDef(self.core_type(inner), pos))
            elif tag == 0x01:
                self.deftype(inner)
            elif tag == 0x02:
                entry = self.alias(inner, in_decl=True)
                inner.add(entry.sort, entry)
            elif tag == 0x04:
                self.extern_decl(inner, pos, is_import=False)
            else:
                fail(f"malformed {kind} declarator 0x{tag:02x}", pos)
            if self.r.pos > self.limit:
                fail("unexpected end of section", self.limit)
        if kind == INSTANCE_TYPE:
            return InstanceType(tuple(inner.exports), tuple(inner.exported))
        return ComponentType(tuple(inner.imports), tuple(inner.exports),
                             tuple(inner.imported), tuple(inner.exported))

    def extern_decl(self, scope: Scope, pos: int, is_import: bool) -> None:
        name, attributes = self.name_attributes()
        ext, fresh = self.externtype(scope, name)
        self.check_extern_name(scope.import_names if is_import else scope.export_names,
                               name, ext, pos, attributes)
        if scope.kind == COMPONENT_TYPE:  # what instances of it would import or export
            self.check_visible(ext, f"{'import' if is_import else 'export'} {name!r}", pos)
        if is_import:  # imports cannot depend on exports
            exported = set(scope.exported)
            if any(rt in exported for rt in free_resources(ext.type)):
                fail(f"import {name!r} uses a resource type an export declares", pos)
        (scope.imported if is_import else scope.exported).extend(fresh)
        (scope.imports if is_import else scope.exports).append((name, ext))
        scope.add(ext.sort, Decl(name, ext.sort, ext.type))

    def externtype(self, scope: Scope, name: str) -> tuple[ExternType, list[ResourceType]]:
        """An `externtype`, and the abstract resource types it introduces (new ones:
        each import or export declarator of an instance type gets its own)."""
        pos = self.r.pos
        tag = self.byte()
        if tag == 0x00:
            self.expect(0x11, "core module extern type")
            _, mt = self.typed(scope, Sort.CORE_TYPE, ModuleType, "a core module type")
            return ExternType(Sort.CORE_MODULE, mt), []
        if tag == 0x01:
            _, ft = self.typed(scope, Sort.TYPE, FuncType, "a function type")
            return ExternType(Sort.FUNC, ft), []
        if tag == 0x02:
            raise NotSupportedError("component model: values (extern type 0x02)", pos)
        if tag == 0x03:
            return self.typebound(scope, name)
        if tag == 0x04:
            _, ct = self.typed(scope, Sort.TYPE, ComponentType, "a component type")
            return ExternType(Sort.COMPONENT, ct), []
        if tag == 0x05:
            _, it = self.typed(scope, Sort.TYPE, InstanceType, "an instance type")
            it = freshen_instance(it, self.named_types)
            return ExternType(Sort.INSTANCE, it), list(it.abstract)
        fail(f"malformed extern type 0x{tag:02x}", pos)

    def typebound(self, scope: Scope, name: str) -> tuple[ExternType, list[ResourceType]]:
        pos = self.r.pos
        bound = self.byte()
        if bound == 0x00:
            t = self.index(scope, Sort.TYPE)[1].type
            return ExternType(Sort.TYPE, name_type(t, self.named_types)), []
        if bound == 0x01:
            rt = ResourceType(name, "i32")
            return ExternType(Sort.TYPE, rt), [rt]
        fail(f"malformed type bound 0x{bound:02x}", pos)

    # --- core types ---

    def core_type(self, scope: Scope) -> CoreFuncType | ModuleType:
        """`core:type`: a function type or (outside module types) a module type."""
        pos = self.r.pos
        b = self.r.peek()
        if b == 0x50 and scope.kind != MODULE_TYPE:
            self.byte()
            return self.module_type(scope)
        if b == 0x00 or b == 0x50:  # in a module type 0x50 is a GC subtype
            raise NotSupportedError("component model: GC core subtypes (0x50)", pos)
        return self.core.functype()  # refuses the GC forms by name

    def module_type(self, scope: Scope) -> ModuleType:
        inner = Scope(MODULE_TYPE, scope)
        imports: list[tuple[str, str, CoreExtern]] = []
        exports: dict[str, CoreExtern] = {}
        for _ in range(self.count()):
            pos = self.r.pos
            tag = self.byte()
            if tag == 0x00:
                module, name = self.name(), self.name()
                if any((m, n) == (module, name) for m, n, _ in imports):
                    fail(f"duplicate import {module!r} {name!r} in a module type", pos)
                imports.append((module, name, self.core_externtype(inner)))
            elif tag == 0x01:
                inner.add(Sort.CORE_TYPE, CoreTypeDef(self.core_type(inner), pos))
            elif tag == 0x02:
                inner.add(Sort.CORE_TYPE, self.core_alias(inner, pos))
            elif tag == 0x03:
                name = self.name()
                if name in exports:
                    fail(f"duplicate export {name!r} in a module type", pos)
                exports[name] = self.core_externtype(inner)
            else:
                fail(f"malformed module type declarator 0x{tag:02x}", pos)
            if self.r.pos > self.limit:
                fail("unexpected end of section", self.limit)
        return ModuleType(tuple(imports), tuple(exports.items()))

    def core_alias(self, scope: Scope, pos: int) -> AliasOuter:
        """`core:alias`: `0x10 0x01 ct idx`, an outer core type."""
        self.expect(0x10, "core alias (sort)")
        self.expect(0x01, "core alias (outer)")
        count = self.u32()
        target, _ = self.outer_scope(scope, count, pos)
        at = self.r.pos
        index = self.u32()
        entry = self.entry(target, Sort.CORE_TYPE, index, at)
        if isinstance(entry.type, ModuleType):
            fail("a module type cannot alias a module type", pos)
        return AliasOuter(count, index, Sort.CORE_TYPE, entry.type, entry, pos)

    def core_externtype(self, scope: Scope) -> CoreExtern:
        """`core:externtype` (an import description)."""
        pos = self.r.pos
        tag = self.byte()
        if tag == 0x00:
            _, ft = self.typed(scope, Sort.CORE_TYPE, CoreFuncType, "a core function type")
            return CoreExtern(Sort.CORE_FUNC, ft)
        try:
            if tag == 0x01:
                table = self.core.tabletype()
                check_table_limits(table.limits)
                return CoreExtern(Sort.CORE_TABLE, table)
            if tag == 0x02:
                memory = self.core.memtype()
                check_memory_type(memory)
                return CoreExtern(Sort.CORE_MEMORY, memory)
        except CompileError as e:
            fail(e.message, pos if e.offset is None else e.offset)
        if tag == 0x03:
            return CoreExtern(Sort.CORE_GLOBAL, self.core.globaltype())
        if tag == 0x04:
            raise NotSupportedError("component model: core tags (extern type 0x04)", pos)
        fail(f"malformed core extern type 0x{tag:02x}", pos)


__all__ = ["MAX_FLAGS", "PRIMS", "TypeDecoder"]
