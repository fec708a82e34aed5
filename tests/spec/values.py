"""Script values at run time: arguments as the engine's raw values, and the bit-exact
comparison of raw results with expected results."""

from __future__ import annotations

import struct

from .literals import FLOAT_FORMATS
from .wast import Expected, NanPattern, Num, RefExtern, RefFunc, RefNull, Value, VecPattern


class ExternRef:
    """The host object a script means by `ref.extern N`: one per N, compared by identity."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"(ref.extern {self.index})"


class Externs:
    """Interns `ExternRef`s so that `ref.extern N` is the same object throughout a script."""

    def __init__(self) -> None:
        self._refs: dict[int, ExternRef] = {}

    def __getitem__(self, index: int) -> ExternRef:
        ref = self._refs.get(index)
        if ref is None:
            ref = self._refs[index] = ExternRef(index)
        return ref


def to_raw(value: Value, externs: Externs) -> object:
    """An argument as the raw value `call_raw` takes."""
    if isinstance(value, Num):
        return value.bits
    if isinstance(value, RefNull):
        return None
    if isinstance(value, RefExtern) and value.index is not None:
        return externs[value.index]
    raise ValueError(f"{value} cannot be passed as an argument")


def matches(expected: Expected, raw: object, externs: Externs) -> bool:
    """Whether a raw result is what the script expects, bit for bit."""
    if isinstance(expected, Num):
        return type(raw) is int and raw == expected.bits
    if isinstance(expected, NanPattern):
        return type(raw) is int and _nan_matches(expected, raw)
    if isinstance(expected, VecPattern):
        if type(raw) is not int:
            return False
        width = FLOAT_FORMATS[expected.lane_type].bits
        lanes = [(raw >> (i * width)) & ((1 << width) - 1) for i in range(128 // width)]
        return all(
            _nan_matches(want, got) if isinstance(want, NanPattern) else want == got
            for want, got in zip(expected.lanes, lanes)
        )
    if isinstance(expected, RefNull):
        return raw is None
    if isinstance(expected, RefExtern):
        return raw is not None if expected.index is None else raw is externs[expected.index]
    if isinstance(expected, RefFunc):
        # The suite only checks non-nullness: a function's identity is not observable here.
        return raw is not None
    raise TypeError(f"unknown expectation {expected!r}")


def _nan_matches(pattern: NanPattern, bits: int) -> bool:
    fmt = FLOAT_FORMATS[pattern.type]
    magnitude = bits & (fmt.sign_bit - 1)
    if pattern.kind == "canonical":  # either sign, payload exactly the quiet bit
        return magnitude == fmt.canonical_nan
    return magnitude & fmt.canonical_nan == fmt.canonical_nan  # quiet bit set, any payload


def show_expected(expected: Expected) -> str:
    if isinstance(expected, Num):
        return show_raw(expected.type, expected.bits)
    if isinstance(expected, NanPattern):
        return f"{expected.type} nan:{expected.kind}"
    if isinstance(expected, VecPattern):
        width = FLOAT_FORMATS[expected.lane_type].bits
        lanes = [
            f"nan:{lane.kind}" if isinstance(lane, NanPattern) else f"0x{lane:0{width // 4}x}"
            for lane in expected.lanes
        ]
        return f"v128 {expected.lane_type}x{len(lanes)} [{' '.join(lanes)}]"
    if isinstance(expected, RefNull):
        return f"{expected.type} null"
    if isinstance(expected, RefExtern):
        return "any non-null externref" if expected.index is None else repr(expected)
    return "any non-null funcref"


def show_raw(type_name: str, raw: object) -> str:
    """A raw value for a failure message: bits in hex, and the float they encode."""
    if type(raw) is not int:
        return f"{type_name} {raw!r}"
    if type_name == "f32":
        value = struct.unpack("<f", struct.pack("<I", raw & 0xFFFFFFFF))[0]
        return f"f32 0x{raw:08x} ({value!r})"
    if type_name == "f64":
        value = struct.unpack("<d", struct.pack("<Q", raw & (2**64 - 1)))[0]
        return f"f64 0x{raw:016x} ({value!r})"
    digits = {"i32": 8, "i64": 16, "v128": 32}.get(type_name, 1)
    return f"{type_name} 0x{raw:0{digits}x}"
