"""The module description carried by an artifact: written by the compiler, read by the
loader.  JSON, so that it is readable with `aot inspect` and cheap to parse."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aot.abi.artifact import ABI_VERSION
from aot.abi.vmctx import VMContextLayout

if TYPE_CHECKING:
    from aot.wasm.module import Module
from aot.wasm.types import (
    VALTYPE_BY_NAME,
    ExternKind,
    FuncType,
    GlobalType,
    Limits,
    MemoryType,
    TableType,
)


@dataclass
class ImportDesc:
    module: str
    name: str
    kind: ExternKind
    type: FuncType | TableType | MemoryType | GlobalType
    index: int  # index in its kind's index space


@dataclass
class ExportDesc:
    name: str
    kind: ExternKind
    index: int
    type: FuncType | TableType | MemoryType | GlobalType | None = None


@dataclass
class ModuleDesc:
    types: Sequence[FuncType]
    imports: list[ImportDesc]
    func_type_indices: Sequence[int]  # per function index, imports first
    tables: list[TableType]  # defined
    memories: list[MemoryType]  # defined
    globals: list[GlobalType]  # defined
    export_index: dict[str, tuple[ExternKind, int]]  # name -> (kind, index), in order
    start: int | None
    name: str | None = None
    func_names: Mapping[int, str] = field(default_factory=dict)
    n_datas: int = 0
    n_elems: int = 0
    n_elem_items: int = 0  # items of passive element segments, stored in the VMContext

    @property
    def exports(self) -> list[ExportDesc]:
        """The exports in order, each with its type (known before instantiation)."""
        return [ExportDesc(name, kind, index, self.type_of(kind, index))
                for name, (kind, index) in self.export_index.items()]

    def type_of(self, kind: ExternKind, index: int):
        """The type of item `index` of `kind`'s index space (imports first)."""
        if kind == ExternKind.FUNC:
            return self.types[self.func_type_indices[index]]
        imported = [i.type for i in self.imported(kind)]
        defined = {ExternKind.TABLE: self.tables, ExternKind.MEMORY: self.memories,
                   ExternKind.GLOBAL: self.globals}[kind]
        return (imported + list(defined))[index]

    @property
    def n_imported_funcs(self) -> int:
        return sum(1 for i in self.imports if i.kind == ExternKind.FUNC)

    def imported(self, kind: ExternKind) -> list[ImportDesc]:
        return [i for i in self.imports if i.kind == kind]

    def layout(self) -> VMContextLayout:
        return _vmctx_layout(
            len(self.types),
            len(self.imported(ExternKind.MEMORY)) + len(self.memories),
            len(self.imported(ExternKind.TABLE)) + len(self.tables),
            len(self.imported(ExternKind.GLOBAL)) + len(self.globals),
            len(self.func_type_indices),
            self.n_datas,
            self.n_elems,
            self.n_elem_items,
        )


# Layouts are immutable and depend on the counts only: modules of one shape share one.
_vmctx_layout = functools.lru_cache(maxsize=256)(VMContextLayout)


def passive_elem_items(module: Module) -> int:
    """How many element items passive segments keep for `table.init` (the VMContext's
    `elem_items` area); active and declarative segments are dropped at instantiation."""
    return sum(len(seg.init) for seg in module.elems if seg.mode == "passive")


# --- encoding ----------------------------------------------------------------------------


def _signature(t: FuncType) -> str:
    return f"{' '.join(map(str, t.params))}>{' '.join(map(str, t.results))}"


@functools.lru_cache(maxsize=1024)
def _func_type(signature: str) -> FuncType:
    # The same few signatures recur in every module: build each FuncType once.
    params, _, results = signature.partition(">")
    return FuncType(tuple([VALTYPE_BY_NAME[n] for n in params.split()]),
                    tuple([VALTYPE_BY_NAME[n] for n in results.split()]))


@functools.lru_cache(maxsize=256)
def _table_type(elem: str, min: int, max: int | None) -> TableType:
    return TableType(VALTYPE_BY_NAME[elem], Limits(min, max))


_MEMORY_FLAGS = ("i64", "shared")


@functools.lru_cache(maxsize=256)
def _memory_type(min: int, max: int | None, flags: str = "") -> MemoryType:
    words = flags.split()
    if any(w not in _MEMORY_FLAGS for w in words):
        raise ValueError(f"a memory's flags are {' and '.join(_MEMORY_FLAGS)}, not {flags!r}")
    return MemoryType(Limits(min, max), "i64" in words, "shared" in words)


@functools.lru_cache(maxsize=256)
def _global_type(valtype: str, mutable: bool) -> GlobalType:
    return GlobalType(VALTYPE_BY_NAME[valtype], mutable)


def _type_json(t) -> list | int:
    if isinstance(t, int):
        return t
    if isinstance(t, TableType):
        return [str(t.elem), t.limits.min, t.limits.max]
    if isinstance(t, MemoryType):
        # A third item only for a 64-bit or shared memory: others keep 2.0's encoding.
        flags = " ".join(w for w, on in zip(_MEMORY_FLAGS, (t.is64, t.shared)) if on)
        return [t.limits.min, t.limits.max, *([flags] if flags else [])]
    return [str(t.type), t.mutable]


class LazyNames(Mapping):
    """Function names, parsed from their JSON blob on first use (only backtraces and
    reprs need them, so start-up does not)."""

    def __init__(self, load: Callable[[], bytes]):
        self._load = load
        self._names: dict[int, str] | None = None

    def _get(self) -> dict[int, str]:
        if self._names is None:
            self._names = {int(k): v for k, v in json.loads(self._load() or b"{}").items()}
        return self._names

    def __getitem__(self, index: int) -> str:
        return self._get()[index]

    def __iter__(self) -> Iterator[int]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def encode_names(module: Module) -> bytes:
    return json.dumps({str(k): v for k, v in sorted(module.names.functions.items())},
                      separators=(",", ":")).encode()


def encode_metadata(module: Module) -> bytes:
    """The module description (`aot.abi.artifact.METADATA_SCHEMA`)."""
    doc = {
        "abi_version": ABI_VERSION,
        "types": [_signature(t) for t in module.types],
        "imports": [[i.module, i.name, str(i.kind), _type_json(i.type)] for i in module.imports],
        "n_funcs": len(module.func_type_indices()),
        "tables": [_type_json(t) for t in module.tables],
        "memories": [_type_json(m) for m in module.memories],
        "globals": [_type_json(g.type) for g in module.globals],
        "exports": {e.name: [str(e.kind), e.index] for e in module.exports},
        "start": module.start,
        "name": module.names.module,
        "segments": [len(module.datas), len(module.elems), passive_elem_items(module)],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


_KINDS = {str(k): k for k in ExternKind}
_decode_json = json.JSONDecoder().decode


def decode_metadata(data: bytes, func_type_indices: Sequence[int],
                    func_names: Mapping[int, str]) -> ModuleDesc:
    """Parse a module description; the per-function tables come from the artifact
    directly.  Raises ValueError (or KeyError/TypeError) on a malformed document; the
    loader turns those into ArtifactError."""
    doc = _decode_json(data.decode())  # str: json.loads would sniff the encoding first
    if doc.get("abi_version") != ABI_VERSION:
        raise ValueError(f"metadata ABI version {doc.get('abi_version')} != {ABI_VERSION}")
    types = [_func_type(t) for t in doc["types"]]
    if len(func_type_indices) != doc["n_funcs"]:
        raise ValueError("function count and function type table disagree")
    imports = _decode_imports(doc["imports"], types) if doc["imports"] else []
    n_datas, n_elems, n_elem_items = doc["segments"]
    return ModuleDesc(
        types=types,
        imports=imports,
        func_type_indices=func_type_indices,
        tables=[_table_type(*t) for t in doc["tables"]],
        memories=[_memory_type(*m) for m in doc["memories"]],
        globals=[_global_type(*g) for g in doc["globals"]],
        export_index={name: (_KINDS[kind], index) for name, (kind, index) in doc["exports"].items()},
        start=doc["start"],
        name=doc["name"],
        func_names=func_names,
        n_datas=n_datas,
        n_elems=n_elems,
        n_elem_items=n_elem_items,
    )


def _decode_imports(docs: list, types: list[FuncType]) -> list[ImportDesc]:
    counters = dict.fromkeys(ExternKind, 0)
    imports = []
    for module, name, kind_name, t in docs:
        kind = _KINDS[kind_name]
        if kind == ExternKind.FUNC:
            typ = types[t]
        elif kind == ExternKind.TABLE:
            typ = _table_type(*t)
        elif kind == ExternKind.MEMORY:
            typ = _memory_type(*t)
        else:
            typ = _global_type(*t)
        imports.append(ImportDesc(module, name, kind, typ, counters[kind]))
        counters[kind] += 1
    return imports
