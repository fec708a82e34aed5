"""Canonical ABI layout (CanonicalABI.md, "Alignment", "Element Size", "Flattening"):
where a value of each component type lives in linear memory and which core values carry
it in a flat call.

Every function takes the type and the memory's pointer type ('i32', or 'i64' for a
64-bit memory), and is cached: types are frozen dataclasses, hashed by structure."""

from __future__ import annotations

import functools
from dataclasses import dataclass

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
    Result,
    Tuple,
    ValType,
    Variant,
)
from aot.errors import CompileError

MAX_FLAT_PARAMS = 16
MAX_FLAT_RESULTS = 1
# Loaded strings and lists are at most this long in bytes, so that a copy transcoded to
# another encoding or pointer size (at most twice as long) still fits a 32-bit realloc.
MAX_STRING_BYTE_LENGTH = (1 << 28) - 1
MAX_LIST_BYTE_LENGTH = (1 << 28) - 1

_PRIM_SIZE = {
    Prim.BOOL: 1, Prim.S8: 1, Prim.U8: 1, Prim.S16: 2, Prim.U16: 2, Prim.S32: 4,
    Prim.U32: 4, Prim.S64: 8, Prim.U64: 8, Prim.F32: 4, Prim.F64: 8, Prim.CHAR: 4,
}
_PRIM_FLAT = {
    Prim.S64: "i64", Prim.U64: "i64", Prim.F32: "f32", Prim.F64: "f64",
}  # every other scalar travels as an i32


def ptr_size(ptr_type: str) -> int:
    return 8 if ptr_type == "i64" else 4


def align_to(ptr: int, alignment: int) -> int:
    return -(-ptr // alignment) * alignment


# --- the specialized types' expansions ---------------------------------------------------

def is_variant_like(t: ValType) -> bool:
    """Enum, option and result are laid out and flattened as the variant they expand to."""
    return isinstance(t, (Variant, Enum_, Option, Result))


@functools.cache
def case_types(t: Variant | Enum_ | Option | Result) -> tuple[ValType | None, ...]:
    """The payload type of each case of a variant-like type, in discriminant order."""
    if isinstance(t, Variant):
        cases = tuple(c for _name, c in t.cases)
    elif isinstance(t, Enum_):
        cases = (None,) * len(t.names)
    elif isinstance(t, Option):
        cases = (None, t.type)
    else:
        cases = (t.ok, t.err)
    if not cases:
        kind = "variant" if isinstance(t, Variant) else "enum"
        raise CompileError(f"{kind} type with no cases: the component model requires one")
    return cases


def field_types(t: Record | Tuple) -> tuple[ValType, ...]:
    types = tuple(f for _name, f in t.fields) if isinstance(t, Record) else t.types
    if not types:
        kind = "record" if isinstance(t, Record) else "tuple"
        raise CompileError(f"{kind} type with no fields: the component model forbids empty "
                           f"{kind}s")
    return types


def discriminant_type(t: Variant | Enum_ | Option | Result) -> Prim:
    """The smallest unsigned integer type that numbers the cases."""
    n = len(case_types(t))
    if n <= 1 << 8:
        return Prim.U8
    if n <= 1 << 16:
        return Prim.U16
    return Prim.U32


def flags_chunks(t: Flags) -> int:
    """How many i32s carry the flags in a flat call.  The spec allows 1..32 flags (one
    i32); more than 32 use the earlier spec's layout, still what wasmtime implements
    behind its `component-model-more-flags` feature: one i32 per 32 flags."""
    n = len(t.names)
    if n == 0:
        raise CompileError("flags type with no names: the component model requires 1 to 32")
    return -(-n // 32)


def flags_size(t: Flags) -> int:
    chunks = flags_chunks(t)  # refuses an empty flags type
    n = len(t.names)
    if n <= 8:
        return 1
    if n <= 16:
        return 2
    return 4 * chunks


# --- alignment and size ------------------------------------------------------------------

@functools.cache
def alignment(t: ValType, ptr_type: str = "i32") -> int:
    """The alignment in bytes of a value of type `t` in linear memory."""
    if isinstance(t, Prim):
        return ptr_size(ptr_type) if t is Prim.STRING else _PRIM_SIZE[t]
    if isinstance(t, List):
        return ptr_size(ptr_type)
    if isinstance(t, (Record, Tuple)):
        return max(alignment(f, ptr_type) for f in field_types(t))
    if is_variant_like(t):
        return max(_PRIM_SIZE[discriminant_type(t)], max_case_alignment(t, ptr_type))
    if isinstance(t, Flags):
        return min(flags_size(t), 4)
    if isinstance(t, (Own, Borrow)):
        return 4
    raise TypeError(f"not a component value type: {t!r}")


@functools.cache
def elem_size(t: ValType, ptr_type: str = "i32") -> int:
    """The size in bytes of a value of type `t` in linear memory (its stride in a list)."""
    if isinstance(t, Prim):
        return 2 * ptr_size(ptr_type) if t is Prim.STRING else _PRIM_SIZE[t]
    if isinstance(t, List):
        return 2 * ptr_size(ptr_type)
    if isinstance(t, (Record, Tuple)):
        offsets = field_offsets(t, ptr_type)
        last = field_types(t)[-1]
        return align_to(offsets[-1] + elem_size(last, ptr_type), alignment(t, ptr_type))
    if is_variant_like(t):
        payload = max((elem_size(c, ptr_type) for c in case_types(t) if c is not None),
                      default=0)
        return align_to(payload_offset(t, ptr_type) + payload, alignment(t, ptr_type))
    if isinstance(t, Flags):
        return flags_size(t)
    if isinstance(t, (Own, Borrow)):
        return 4
    raise TypeError(f"not a component value type: {t!r}")


@functools.cache
def field_offsets(t: Record | Tuple, ptr_type: str = "i32") -> tuple[int, ...]:
    """The offset of each field from the start of the record: each aligned to its own
    type's alignment."""
    offsets = []
    end = 0
    for f in field_types(t):
        start = align_to(end, alignment(f, ptr_type))
        offsets.append(start)
        end = start + elem_size(f, ptr_type)
    return tuple(offsets)


def max_case_alignment(t: Variant | Enum_ | Option | Result, ptr_type: str = "i32") -> int:
    return max((alignment(c, ptr_type) for c in case_types(t) if c is not None), default=1)


@functools.cache
def payload_offset(t: Variant | Enum_ | Option | Result, ptr_type: str = "i32") -> int:
    """Where every case's payload starts: after the discriminant, at the alignment of
    the most aligned payload (the same place for all cases)."""
    return align_to(_PRIM_SIZE[discriminant_type(t)], max_case_alignment(t, ptr_type))


# --- flattening --------------------------------------------------------------------------

@dataclass(frozen=True)
class CoreSig:
    """The core function type of a lifted or lowered component function."""

    params: tuple[str, ...]
    results: tuple[str, ...]


def join(a: str, b: str) -> str:
    """The core type that can carry both `a` and `b` (bit-cast or zero-extended)."""
    if a == b:
        return a
    if {a, b} == {"i32", "f32"}:
        return "i32"
    return "i64"


@functools.cache
def flat_tuple(t: ValType, ptr_type: str = "i32") -> tuple[str, ...]:
    """flatten_type as a tuple (cached)."""
    if isinstance(t, Prim):
        if t is Prim.STRING:
            return (ptr_type, ptr_type)
        return (_PRIM_FLAT.get(t, "i32"),)
    if isinstance(t, List):
        return (ptr_type, ptr_type)
    if isinstance(t, (Record, Tuple)):
        return tuple(c for f in field_types(t) for c in flat_tuple(f, ptr_type))
    if is_variant_like(t):
        return ("i32",) + variant_payload_flat(t, ptr_type)
    if isinstance(t, Flags):
        return ("i32",) * flags_chunks(t)
    if isinstance(t, (Own, Borrow)):
        return ("i32",)
    raise TypeError(f"not a component value type: {t!r}")


@functools.cache
def variant_payload_flat(t: Variant | Enum_ | Option | Result,
                         ptr_type: str = "i32") -> tuple[str, ...]:
    """The core values after the discriminant: position by position, the join of what
    each case puts there, so that every case travels in the same core types."""
    flat: list[str] = []
    for c in case_types(t):
        if c is None:
            continue
        for i, core in enumerate(flat_tuple(c, ptr_type)):
            if i < len(flat):
                flat[i] = join(flat[i], core)
            else:
                flat.append(core)
    return tuple(flat)


def flatten_type(t: ValType, ptr_type: str = "i32") -> list[str]:
    """The core types ('i32', 'i64', 'f32', 'f64') that carry a value of type `t`."""
    return list(flat_tuple(t, ptr_type))


def flatten_types(ts: tuple[ValType, ...] | list[ValType], ptr_type: str = "i32") -> list[str]:
    return [c for t in ts for c in flat_tuple(t, ptr_type)]


def flatten_functype(ft: FuncType, context: str, ptr_type: str = "i32") -> CoreSig:
    """The core signature of a component function lifted from a core function
    (context 'lift', `canon lift`) or lowered into one (context 'lower', `canon lower`).

    More than MAX_FLAT_PARAMS flat parameters travel in memory, as one pointer to a tuple
    of them.  More than MAX_FLAT_RESULTS flat results travel in memory too: a lifted core
    function returns a pointer to them; a lowered one takes a pointer to where to write
    them as an extra last parameter (the caller allocates) and returns nothing."""
    if context not in ("lift", "lower"):
        raise ValueError(f"context must be 'lift' or 'lower', got {context!r}")
    params = flatten_types([t for _name, t in ft.params], ptr_type)
    results = flatten_types(ft.result_types(), ptr_type)
    if len(params) > MAX_FLAT_PARAMS:
        params = [ptr_type]
    if len(results) > MAX_FLAT_RESULTS:
        if context == "lift":
            results = [ptr_type]
        else:
            params.append(ptr_type)
            results = []
    return CoreSig(tuple(params), tuple(results))


@functools.cache
def contains_handles(t: ValType | None) -> bool:
    """Whether lifting `t` moves or lends resource handles (then it cannot be lazy)."""
    if t is None or isinstance(t, (Prim, Flags, Enum_)):
        return False
    if isinstance(t, (Own, Borrow)):
        return True
    if isinstance(t, List):
        return contains_handles(t.elem)
    if isinstance(t, (Record, Tuple)):
        return any(contains_handles(f) for f in field_types(t))
    return any(contains_handles(c) for c in case_types(t))

