"""The decoded module: what `aot.wasm.decode` returns and the code generator reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from aot.wasm.instr import Instr
from aot.wasm.opcodes import CALL, CALL_INDIRECT, REF_FUNC, RETURN_CALL, RETURN_CALL_INDIRECT
from aot.wasm.types import ExternKind, FuncType, GlobalType, MemoryType, TableType, ValType

ImportType = int | TableType | MemoryType | GlobalType  # int: a type index, for functions


@dataclass
class Import:
    module: str
    name: str
    kind: ExternKind
    type: ImportType


@dataclass
class Export:
    name: str
    kind: ExternKind
    index: int


@dataclass
class Global:
    type: GlobalType
    init: list[Instr]  # constant expression, without the final `end`


@dataclass
class ElemSegment:
    mode: str  # "active" | "passive" | "declarative"
    type: ValType  # FUNCREF or EXTERNREF
    init: list[list[Instr]]  # one constant expression per element (ref.func N / ref.null t / global.get)
    table: int = 0  # active only
    offset: list[Instr] | None = None  # active only


@dataclass
class DataSegment:
    mode: str  # "active" | "passive"
    data: bytes
    memory: int = 0  # active only
    offset: list[Instr] | None = None  # active only
    data_offset: int = 0  # byte offset of the segment's bytes in the module


@dataclass
class FuncBody:
    locals: list[ValType]  # declared locals only, expanded (params are not included)
    code: list[Instr]  # the body, including the final `end`; empty when not decoded
    offset: int  # byte offset of the body's size field in the module
    end_offset: int = 0  # byte offset just past the body
    digest: int = 0  # CRC-32 of the body's bytes: a cheap content hash (codegen units)
    # What planning a compile needs of a body that is not kept decoded
    # (`aot.wasm.parse(..., keep_bodies=False)`); None when `code` is there to read.
    facts: BodyFacts | None = None


@dataclass(frozen=True)
class BodyFacts:
    """The calls and references of a function body, and its size: what the compile's
    planner (`aot.codegen.units`) reads from a body."""

    instructions: int
    callees: frozenset[int]  # direct callees, by function index (imports included)
    indirect_types: frozenset[int]  # type indices named by call_indirect
    ref_funcs: frozenset[int]  # functions named by ref.func
    tail_calls: bool  # return_call or return_call_indirect
    externref_locals: bool

    @classmethod
    def of(cls, body: FuncBody) -> BodyFacts:
        if body.facts is not None:
            return body.facts
        callees: set[int] = set()
        indirect: set[int] = set()
        refs: set[int] = set()
        tail = False
        for ins in body.code:
            op = ins.op
            if op == CALL or op == RETURN_CALL:
                callees.add(ins.imm)
                tail = tail or op == RETURN_CALL
            elif op == CALL_INDIRECT or op == RETURN_CALL_INDIRECT:
                indirect.add(ins.imm[0])
                tail = tail or op == RETURN_CALL_INDIRECT
            elif op == REF_FUNC:
                refs.add(ins.imm)
        return cls(len(body.code), frozenset(callees), frozenset(indirect), frozenset(refs),
                   tail, ValType.EXTERNREF in body.locals)

    def placeholder(self, body: FuncBody) -> FuncBody:
        """`body` without its locals and code, these facts kept instead."""
        return FuncBody([], [], body.offset, body.end_offset, body.digest, self)


def body_key(data: bytes, offset: int, end: int) -> bytes:
    """A collision-resistant digest of the body at data[offset:end] (its size field
    included): the key under which a rebuild finds the facts of a body it checked before
    (`aot.wasm.parse(..., known_facts=...)`)."""
    return hashlib.blake2b(data[offset:end], digest_size=16).digest()


@dataclass
class Names:
    """The `name` custom section; absent entries stay empty (the section is optional)."""

    module: str | None = None
    functions: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)


@dataclass
class Module:
    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[int] = field(default_factory=list)  # type index of each *defined* function
    tables: list[TableType] = field(default_factory=list)  # defined tables
    memories: list[MemoryType] = field(default_factory=list)  # defined memories
    globals: list[Global] = field(default_factory=list)  # defined globals
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[ElemSegment] = field(default_factory=list)
    data_count: int | None = None
    codes: list[FuncBody] = field(default_factory=list)
    datas: list[DataSegment] = field(default_factory=list)
    customs: list[tuple[str, bytes]] = field(default_factory=list)
    names: Names = field(default_factory=Names)
    # Decoded and validated with the multi-memory proposal (memory indices in memory
    # instructions, several memories), or as WebAssembly 2.0 (`CompileOptions`).
    multi_memory: bool = True
    memory64: bool = True  # 64-bit memories (the memory64 proposal), or 32-bit ones only
    threads: bool = True  # shared memories and atomic instructions (the threads proposal)

    # --- index spaces: imports come first, then definitions (spec §2.5.1) ---

    def imports_of(self, kind: ExternKind) -> list[Import]:
        return [imp for imp in self.imports if imp.kind == kind]

    @property
    def num_imported_funcs(self) -> int:
        return sum(1 for imp in self.imports if imp.kind == ExternKind.FUNC)

    @property
    def num_imported_tables(self) -> int:
        return sum(1 for imp in self.imports if imp.kind == ExternKind.TABLE)

    @property
    def num_imported_memories(self) -> int:
        return sum(1 for imp in self.imports if imp.kind == ExternKind.MEMORY)

    @property
    def num_imported_globals(self) -> int:
        return sum(1 for imp in self.imports if imp.kind == ExternKind.GLOBAL)

    def func_type_indices(self) -> list[int]:
        """Type index of every function in the function index space."""
        imported = [imp.type for imp in self.imports if imp.kind == ExternKind.FUNC]
        return imported + list(self.funcs)  # type: ignore[operator]

    def func_types(self) -> list[FuncType]:
        return [self.types[i] for i in self.func_type_indices()]

    def all_tables(self) -> list[TableType]:
        return [imp.type for imp in self.imports if imp.kind == ExternKind.TABLE] + list(self.tables)  # type: ignore[misc]

    def all_memories(self) -> list[MemoryType]:
        return [imp.type for imp in self.imports if imp.kind == ExternKind.MEMORY] + list(self.memories)  # type: ignore[misc]

    def all_globals(self) -> list[GlobalType]:
        imported = [imp.type for imp in self.imports if imp.kind == ExternKind.GLOBAL]
        return imported + [g.type for g in self.globals]  # type: ignore[operator]

    def func_name(self, index: int) -> str:
        return self.names.functions.get(index, f"<wasm function {index}>")
