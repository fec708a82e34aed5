"""Host values checked and converted for lowering: each function takes the Python
value given for a component type and returns what the ABI stores, or raises
ComponentTypeError/ComponentValueError saying what was expected (see aot.component.abi
for the mapping)."""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aot.component import values
from aot.component.types import Enum_, Flags, Option, Prim, Record, Result, Variant
from aot.component.values import ComponentTypeError, ComponentValueError, describe

INT_RANGES = {
    Prim.S8: (-(1 << 7), (1 << 7) - 1), Prim.U8: (0, (1 << 8) - 1),
    Prim.S16: (-(1 << 15), (1 << 15) - 1), Prim.U16: (0, (1 << 16) - 1),
    Prim.S32: (-(1 << 31), (1 << 31) - 1), Prim.U32: (0, (1 << 32) - 1),
    Prim.S64: (-(1 << 63), (1 << 63) - 1), Prim.U64: (0, (1 << 64) - 1),
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
CANONICAL_F32_NAN = 0x7FC00000
CANONICAL_F64_NAN = 0x7FF8000000000000


def int_value(v: Any, t: Prim) -> int:
    lo, hi = INT_RANGES[t]
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise ComponentTypeError(f"expected an int in {lo}..{hi} for {t}, got {describe(v)}")
    i = v.__index__()
    if not lo <= i <= hi:
        raise ComponentValueError(f"expected an int in {lo}..{hi} for {t}, got {i}")
    return i


def bool_value(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ComponentTypeError(f"expected a bool for bool, got {describe(v)}")
    return v


def float_value(v: Any, t: Prim) -> float:
    """A float for f64, rounded to the nearest f32 (overflowing to an infinity) for f32."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ComponentTypeError(f"expected a float for {t}, got {describe(v)}")
    try:
        f = float(v)
    except OverflowError:
        raise ComponentValueError(f"{t} cannot hold the int {v}") from None
    if t is Prim.F32 and f == f:
        try:
            f = _F32.unpack(_F32.pack(f))[0]
        except OverflowError:  # beyond the largest f32: rounds to an infinity
            f = math.copysign(math.inf, f)
    return f


def f32_bits(f: float) -> int:
    """The bits of an f32 value; NaNs are the canonical NaN (the deterministic profile)."""
    return CANONICAL_F32_NAN if f != f else _U32.unpack(_F32.pack(f))[0]


def f64_bits(f: float) -> int:
    return CANONICAL_F64_NAN if f != f else _U64.unpack(_F64.pack(f))[0]


def char_value(v: Any) -> int:
    if not isinstance(v, str) or len(v) != 1:
        raise ComponentTypeError(f"expected a 1-character str for char, got {describe(v)}")
    i = ord(v)
    if 0xD800 <= i <= 0xDFFF:
        raise ComponentValueError(f"a char cannot be the surrogate U+{i:04X}")
    return i


def record_fields(t: Record) -> Callable[[Any], list]:
    """The field values of a record given as a dict or as an object with attributes
    (a 'kebab-case' field is the attribute 'kebab_case')."""
    names = tuple(name for name, _f in t.fields)
    known = frozenset(names)

    def fields(v: Any) -> list:
        if isinstance(v, Mapping):
            unknown = [k for k in v if k not in known]
            if unknown:
                raise ComponentValueError(f"unknown field {unknown[0]!r} for record "
                                          f"(fields: {', '.join(names)})")
            missing = [n for n in names if n not in v]
            if missing:
                raise ComponentValueError(f"missing field {missing[0]!r} of record")
            return [v[n] for n in names]
        out = []
        for n in names:
            attr = n.replace("-", "_")
            if not hasattr(v, attr):
                raise ComponentTypeError(f"expected a dict or an object with attribute "
                                         f"{attr!r} for record, got {describe(v)}")
            out.append(getattr(v, attr))
        return out

    return fields


def tuple_items(v: Any, n: int) -> Sequence:
    if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, Sequence):
        raise ComponentTypeError(f"expected a tuple of {n} for tuple, got {describe(v)}")
    if len(v) != n:
        raise ComponentValueError(f"expected a tuple of {n} for tuple, got {len(v)} items")
    return v


def case_matcher(t: Variant | Enum_ | Option | Result) -> Callable[[Any], tuple[int, Any]]:
    """v -> (case index, payload value) for the Python value of a variant-like type."""
    if isinstance(t, Variant):
        index = {name: i for i, (name, _c) in enumerate(t.cases)}

        def match_variant(v: Any) -> tuple[int, Any]:
            if not isinstance(v, values.Variant):
                raise ComponentTypeError(f"expected a Variant for variant, got {describe(v)}")
            if v.case not in index:
                raise ComponentValueError(f"unknown case {v.case!r} of variant (cases: "
                                          f"{', '.join(index)})")
            return index[v.case], v.value
        return match_variant
    if isinstance(t, Enum_):
        index = {name: i for i, name in enumerate(t.names)}

        def match_enum(v: Any) -> tuple[int, Any]:
            if not isinstance(v, str):
                raise ComponentTypeError(f"expected a case name (str) for enum, got "
                                         f"{describe(v)}")
            if v not in index:
                raise ComponentValueError(f"unknown case {v!r} of enum (cases: "
                                          f"{', '.join(index)})")
            return index[v], None
        return match_enum
    if isinstance(t, Option):
        return lambda v: ((0, None) if v is None else
                          (1, v.value) if isinstance(v, values.Some) else (1, v))

    def match_result(v: Any) -> tuple[int, Any]:
        if isinstance(v, values.Ok):
            return 0, v.value
        if isinstance(v, values.Err):
            return 1, v.value
        raise ComponentTypeError(f"expected Ok(...) or Err(...) for result, got {describe(v)}")
    return match_result


def case_labels(t: Variant | Enum_ | Option | Result) -> tuple[str, ...]:
    """Where a payload is, in error messages."""
    if isinstance(t, Variant):
        return tuple(f"case {name!r} of variant" for name, _c in t.cases)
    if isinstance(t, Option):
        return ("None of option", "Some of option")
    if isinstance(t, Result):
        return ("Ok of result", "Err of result")
    return tuple(f"case {name!r} of enum" for name in t.names)


def no_payload(label: str, payload: Any) -> ComponentValueError:
    return ComponentValueError(f"{label} has no payload, got {describe(payload)}")


def pack_flags(v: Any, t: Flags) -> int:
    index = _flag_index(t)
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        raise ComponentTypeError(f"expected a set of flag names for flags, got {describe(v)}")
    names = [k for k, on in v.items() if on] if isinstance(v, Mapping) else v
    bits = 0
    for name in names:
        if name not in index:
            raise ComponentValueError(f"unknown flag {name!r} (flags: {', '.join(t.names)})")
        bits |= 1 << index[name]
    return bits


@functools.cache
def _flag_index(t: Flags) -> dict[str, int]:
    return {name: i for i, name in enumerate(t.names)}
