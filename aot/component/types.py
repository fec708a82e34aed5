"""The component model's types (Explainer.md, Binary.md): the value types of the
canonical ABI, function types, and the resource types handles refer to.

Shared by the binary decoder (`aot.component.binary`) and the canonical ABI
(`aot.component.abi`).  Frozen dataclasses: types compare and hash by structure, as the
spec's type equality does, except resource types, which are nominal."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Prim(Enum):
    """The primitive value types; the value is the name WIT uses."""

    BOOL = "bool"
    S8 = "s8"
    U8 = "u8"
    S16 = "s16"
    U16 = "u16"
    S32 = "s32"
    U32 = "u32"
    S64 = "s64"
    U64 = "u64"
    F32 = "f32"
    F64 = "f64"
    CHAR = "char"
    STRING = "string"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Record:
    fields: tuple[tuple[str, ValType], ...]


@dataclass(frozen=True)
class Variant:
    cases: tuple[tuple[str, ValType | None], ...]


@dataclass(frozen=True)
class List:
    elem: ValType


@dataclass(frozen=True)
class Tuple:
    types: tuple[ValType, ...]


@dataclass(frozen=True)
class Flags:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Enum_:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Option:
    type: ValType


@dataclass(frozen=True)
class Result:
    ok: ValType | None
    err: ValType | None


@dataclass(frozen=True, eq=False)
class ResourceType:
    """A resource type: nominal (each definition is its own type).  `dtor` names the core
    function (index in the component's core function space) run when an owned handle is
    dropped, or None."""

    name: str = ""
    rep: str = "i32"
    dtor: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Own:
    resource: ResourceType


@dataclass(frozen=True)
class Borrow:
    resource: ResourceType


ValType = Prim | Record | Variant | List | Tuple | Flags | Enum_ | Option | Result | Own | Borrow


@dataclass(frozen=True)
class FuncType:
    params: tuple[tuple[str, ValType], ...]
    results: tuple[tuple[str, ValType], ...] | ValType | None  # named, one unnamed, or none

    def result_types(self) -> tuple[ValType, ...]:
        if self.results is None:
            return ()
        if isinstance(self.results, tuple):
            return tuple(t for _name, t in self.results)
        return (self.results,)
