"""Conversion between Python values and ValRaw slots, one row per value type.

Typed values follow wasmtime-py: i32/i64 come back signed; arguments accept the signed
and the unsigned range of the type (an i32 takes -2**31 .. 2**32-1) and reject anything
else instead of wrapping it.  Raw values are bit patterns (for exact NaN payloads)."""

from __future__ import annotations

import operator

from aot.abi.signatures import I32_ARG_MAX, I32_ARG_MIN
from aot.wasm.types import ValType

I64_MIN, I64_MAX = -(2**63), 2**64 - 1


def check_int(value, lo: int, hi: int, what: str) -> int:
    if type(value) is not int:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise TypeError(f"{what}: expected an integer, got {type(value).__name__}")
        value = operator.index(value)
    if not lo <= value <= hi:
        raise OverflowError(f"{what}: {value} is out of range [{lo}, {hi}]")
    return value


def check_float(value, what: str) -> float:
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what}: expected a float, got {type(value).__name__}")
    return float(value)


def _put_i32(slot, value, what):
    slot.i64 = check_int(value, I32_ARG_MIN, I32_ARG_MAX, what)


def _put_i64(slot, value, what):
    v = check_int(value, I64_MIN, I64_MAX, what)
    slot.i64 = v - 2**64 if v >= 2**63 else v


def _put_f32(slot, value, what):
    slot.f32 = check_float(value, what)


def _put_f64(slot, value, what):
    slot.f64 = check_float(value, what)


def _put_v128(slot, value, what):
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) == 16:
        slot.v128 = bytes(value)
        return
    v = check_int(value, 0, 2**128 - 1, what)
    slot.v128 = v.to_bytes(16, "little")


def _get_v128(slot):
    return int.from_bytes(bytes(slot.v128), "little")


def _put_raw32(slot, bits, what):
    slot.u64 = check_int(bits, 0, 2**32 - 1, what)


def _put_raw64(slot, bits, what):
    slot.u64 = check_int(bits, 0, 2**64 - 1, what)


# Per type: (write a typed Python value, read it back, write raw bits, read raw bits).
# Reference types are wired by the loader, which owns the handle tables.
CONVERTERS = {
    ValType.I32: (_put_i32, lambda s: s.i32, _put_raw32, lambda s: s.u32),
    ValType.I64: (_put_i64, lambda s: s.i64, _put_raw64, lambda s: s.u64),
    ValType.F32: (_put_f32, lambda s: s.f32, _put_raw32, lambda s: s.u32),
    ValType.F64: (_put_f64, lambda s: s.f64, _put_raw64, lambda s: s.u64),
    ValType.V128: (_put_v128, _get_v128, _put_v128, _get_v128),
}
