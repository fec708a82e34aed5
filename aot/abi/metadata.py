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


@dataclass
class ModuleDesc:
    types: list[FuncType]
    imports: list[ImportDesc]
    func_type_indices: Sequence[int]  # per function index, imports first
    tables: list[TableType]  # defined
    memories: list[MemoryType]  # defined
    globals: list[GlobalType]  # defined
    exports: list[ExportDesc]
    start: int | None
    name: str | None = None
    func_names: Mapping[int, str] = field(default_factory=dict)
    n_datas: int = 0
    n_elems: int = 0
    n_elem_items: int = 0  # items of passive element segments, stored in the VMContext
    options: dict = field(default_factory=dict)  # the CompileOptions, as a dict

    @property
    def n_imported_funcs(self) -> int:
        return sum(1 for i in self.imports if i.kind == ExternKind.FUNC)

    def imported(self, kind: ExternKind) -> list[ImportDesc]:
        return [i for i in self.imports if i.kind == kind]

    def layout(self) -> VMContextLayout:
        return VMContextLayout(
            n_types=len(self.types),
            n_memories=len(self.imported(ExternKind.MEMORY)) + len(self.memories),
            n_tables=len(self.imported(ExternKind.TABLE)) + len(self.tables),
            n_globals=len(self.imported(ExternKind.GLOBAL)) + len(self.globals),
            n_funcs=len(self.func_type_indices),
            n_datas=self.n_datas,
            n_elems=self.n_elems,
            n_elem_items=self.n_elem_items,
        )


def passive_elem_items(module: Module) -> int:
    """How many element items passive segments keep for `table.init` (the VMContext's
    `elem_items` area); active and declarative segments are dropped at instantiation."""
    return sum(len(seg.init) for seg in module.elems if seg.mode == "passive")


# --- encoding ----------------------------------------------------------------------------


def _vt(names: list[str]) -> tuple:
    return tuple([VALTYPE_BY_NAME[n] for n in names])


@functools.lru_cache(maxsize=1024)
def _func_type(params: tuple[str, ...], results: tuple[str, ...]) -> FuncType:
    # The same few signatures recur in every module: build each FuncType once.
    return FuncType(_vt(params), _vt(results))


def _limits(d: dict) -> Limits:
    return Limits(d["min"], d.get("max"))


def _type_json(t) -> dict | int:
    if isinstance(t, int):
        return t
    if isinstance(t, TableType):
        return {"elem": str(t.elem), "min": t.limits.min, "max": t.limits.max}
    if isinstance(t, MemoryType):
        return {"min": t.limits.min, "max": t.limits.max}
    return {"type": str(t.type), "mutable": t.mutable}


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


def encode_metadata(module: Module, options: dict | None = None) -> bytes:
    doc = {
        "abi_version": ABI_VERSION,
        "types": [[list(map(str, t.params)), list(map(str, t.results))] for t in module.types],
        "imports": [
            {"module": i.module, "name": i.name, "kind": str(i.kind), "type": _type_json(i.type)}
            for i in module.imports
        ],
        "n_funcs": len(module.func_type_indices()),
        "tables": [_type_json(t) for t in module.tables],
        "memories": [_type_json(m) for m in module.memories],
        "globals": [_type_json(g.type) for g in module.globals],
        "exports": [{"name": e.name, "kind": str(e.kind), "index": e.index} for e in module.exports],
        "start": module.start,
        "names": {"module": module.names.module},
        "options": options or {},
        "segments": {"datas": len(module.datas), "elems": len(module.elems),
                     "elem_items": passive_elem_items(module)},
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


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
    types = [_func_type(tuple(p), tuple(r)) for p, r in doc["types"]]
    if len(func_type_indices) != doc["n_funcs"]:
        raise ValueError("function count and function type table disagree")
    counters = dict.fromkeys(ExternKind, 0) if doc["imports"] else {}
    imports = []
    for i in doc["imports"]:
        kind = _KINDS[i["kind"]]
        t = i["type"]
        if kind == ExternKind.FUNC:
            typ = types[t]
        elif kind == ExternKind.TABLE:
            typ = TableType(VALTYPE_BY_NAME[t["elem"]], _limits(t))
        elif kind == ExternKind.MEMORY:
            typ = MemoryType(_limits(t))
        else:
            typ = GlobalType(VALTYPE_BY_NAME[t["type"]], t["mutable"])
        imports.append(ImportDesc(i["module"], i["name"], kind, typ, counters[kind]))
        counters[kind] += 1
    names = doc.get("names") or {}
    return ModuleDesc(
        types=types,
        imports=imports,
        func_type_indices=func_type_indices,
        tables=[TableType(VALTYPE_BY_NAME[t["elem"]], _limits(t)) for t in doc["tables"]],
        memories=[MemoryType(_limits(m)) for m in doc["memories"]],
        globals=[GlobalType(VALTYPE_BY_NAME[g["type"]], g["mutable"]) for g in doc["globals"]],
        exports=[ExportDesc(e["name"], _KINDS[e["kind"]], e["index"]) for e in doc["exports"]],
        start=doc["start"],
        name=names.get("module"),
        func_names=func_names,
        n_datas=doc["segments"]["datas"],
        n_elems=doc["segments"]["elems"],
        n_elem_items=doc["segments"]["elem_items"],
        options=dict(doc.get("options") or {}),
    )
