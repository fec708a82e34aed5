"""WebAssembly types, named and encoded as in the binary format (spec §5.3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ValType(IntEnum):
    """A value type; the enum value is its binary encoding."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B
    FUNCREF = 0x70
    EXTERNREF = 0x6F

    @property
    def is_ref(self) -> bool:
        return self in (ValType.FUNCREF, ValType.EXTERNREF)

    @property
    def is_num(self) -> bool:
        return self in (ValType.I32, ValType.I64, ValType.F32, ValType.F64)

    def __str__(self) -> str:
        return _VALTYPE_NAMES[self]


_VALTYPE_NAMES = {
    ValType.I32: "i32",
    ValType.I64: "i64",
    ValType.F32: "f32",
    ValType.F64: "f64",
    ValType.V128: "v128",
    ValType.FUNCREF: "funcref",
    ValType.EXTERNREF: "externref",
}
VALTYPE_BY_NAME = {name: vt for vt, name in _VALTYPE_NAMES.items()}


@dataclass(frozen=True)
class FuncType:
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]

    def __str__(self) -> str:
        p = " ".join(map(str, self.params))
        r = " ".join(map(str, self.results))
        return f"(func (param {p}) (result {r}))".replace("(param ) ", "").replace(" (result )", "")


@dataclass(frozen=True)
class Limits:
    min: int
    max: int | None = None

    def __str__(self) -> str:
        return f"{self.min}" if self.max is None else f"{self.min} {self.max}"


@dataclass(frozen=True)
class TableType:
    elem: ValType  # FUNCREF or EXTERNREF
    limits: Limits

    def __str__(self) -> str:
        return f"(table {self.limits} {self.elem})"


@dataclass(frozen=True)
class MemoryType:
    limits: Limits  # in 64 KiB pages
    is64: bool = False  # memory64: addressed by i64 (`index_type`)
    shared: bool = False  # threads: may be imported by instances running on other threads

    @property
    def index_type(self) -> ValType:
        return ValType.I64 if self.is64 else ValType.I32

    @property
    def max_pages(self) -> int:
        """The most pages the type allows (the spec's bound, not the runtime's)."""
        return MAX_PAGES_64 if self.is64 else MAX_PAGES

    def __str__(self) -> str:
        return f"(memory {'i64 ' if self.is64 else ''}{self.limits}{' shared' if self.shared else ''})"


@dataclass(frozen=True)
class GlobalType:
    type: ValType
    mutable: bool

    def __str__(self) -> str:
        return f"(global (mut {self.type}))" if self.mutable else f"(global {self.type})"


class ExternKind(IntEnum):
    """Import/export descriptor kind; the enum value is its binary encoding."""

    FUNC = 0
    TABLE = 1
    MEMORY = 2
    GLOBAL = 3

    def __str__(self) -> str:
        return self.name.lower()


PAGE_SIZE = 65536
MAX_PAGES = 65536  # 4 GiB for a 32-bit memory
MAX_PAGES_64 = 2**48  # a 64-bit memory's bound in the memory64 proposal
