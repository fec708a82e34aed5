"""SIMD conversions of WebAssembly 2.0: int <-> float (convert, saturating trunc_sat,
including the `_zero` forms), demote and promote.

The scalar semantics of conversion.py hold lane by lane: uitofp / sitofp round to
nearest-even, fptrunc / fpext are IEEE conversions, trunc_sat saturates (NaN -> 0).  The
lane counts say the rest: a conversion to wider lanes reads the low half of its operand
(`convert_low`, `promote_low`); one to narrower lanes fills the upper half of its result
with zeros (`_zero`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from llvmlite import ir

from aot.codegen.llvmtypes import F32, F64, I32
from aot.codegen.ops.registry import LoweringContext, register_pure
from aot.codegen.ops.simd_types import (
    canonicalize,
    lanewise,
    pad_with_zeros,
    shuffle,
    splat_constant,
)

# Plain casts: name -> (operand shape, IRBuilder cast method, target lane type).
_CASTS: dict[str, tuple[str, str, ir.Type]] = {
    "f32x4.convert_i32x4_s": ("i32x4", "sitofp", F32),
    "f32x4.convert_i32x4_u": ("i32x4", "uitofp", F32),
    "f64x2.convert_low_i32x4_s": ("i32x4", "sitofp", F64),
    "f64x2.convert_low_i32x4_u": ("i32x4", "uitofp", F64),
    "f32x4.demote_f64x2_zero": ("f64x2", "fptrunc", F32),
    "f64x2.promote_low_f32x4": ("f32x4", "fpext", F64),
}

# Canonicalized like the scalar promote: InstCombine folds demote(promote(x)) to x, which
# would keep a signaling NaN signaling.
_CANONICALIZED = {"f64x2.promote_low_f32x4"}

# Saturating float -> i32 truncations: name -> (operand shape, signed).
_TRUNC_SATS: dict[str, tuple[str, bool]] = {
    "i32x4.trunc_sat_f32x4_s": ("f32x4", True),
    "i32x4.trunc_sat_f32x4_u": ("f32x4", False),
    "i32x4.trunc_sat_f64x2_s_zero": ("f64x2", True),
    "i32x4.trunc_sat_f64x2_u_zero": ("f64x2", False),
}

_LANE_BITS: dict[str, int] = {"i32": 32, "float": 32, "double": 64}


def _fit_lanes(ctx: LoweringContext, a: ir.Value, target: ir.Type) -> ir.Value:
    """`a`, or its low half when the result lanes are wider (convert_low, promote_low)."""
    fits = 128 // _LANE_BITS[str(target)]
    return shuffle(ctx, a, None, range(fits)) if a.type.count > fits else a


def _fill_128(ctx: LoweringContext, result: ir.Value) -> ir.Value:
    """A 64-bit result padded with zero lanes to 128 bits (the `_zero` forms)."""
    bits = result.type.count * _LANE_BITS[str(result.type.element)]
    return pad_with_zeros(ctx, result) if bits < 128 else result


def _cast(method: str, target: ir.Type, canonical: bool) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        a = _fit_lanes(ctx, a, target)
        result = getattr(ctx.builder, method)(a, ir.VectorType(target, a.type.count))
        if canonical:
            result = canonicalize(ctx, result)
        return _fill_128(ctx, result)

    return body


def _largest_at_most(value: int, ty: ir.Type) -> float:
    """The largest value of the float type `ty` that is <= the positive integer `value`."""
    fmt, bits_fmt = ("<f", "<I") if ty == F32 else ("<d", "<Q")
    nearest = struct.unpack(fmt, struct.pack(fmt, float(value)))[0]
    if nearest <= value:
        return nearest
    bits = struct.unpack(bits_fmt, struct.pack(fmt, nearest))[0]
    return struct.unpack(fmt, struct.pack(bits_fmt, bits - 1))[0]  # one ulp down


def _trunc_sat(signed: bool) -> Callable[..., ir.Value]:
    """Saturating truncation to i32 lanes as generic IR the x86 backend keeps in vectors
    (llvm.fpto[su]i.sat on vectors is scalarized): clamp into the i32 range in the float
    type (NaN -> 0; maxps/minps), convert (cvttps2dq), and fix the lanes at or above 2^31
    (2^32) that the float clamp could only bring down to the largest float below it."""
    lo, hi = (-(1 << 31), (1 << 31) - 1) if signed else (0, (1 << 32) - 1)

    def body(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        bld = ctx.builder
        ty = a.type
        hi_float = _largest_at_most(hi, ty.element)
        x = a
        if signed:  # NaN -> 0 (unsigned: the clamp at 0 below does it: ogt is false)
            x = bld.select(bld.fcmp_ordered("ord", a, a), a, splat_constant(ty, 0.0))
        lo_c, hi_c = splat_constant(ty, float(lo)), splat_constant(ty, hi_float)
        x = bld.select(bld.fcmp_ordered(">", x, lo_c), x, lo_c)
        x = bld.select(bld.fcmp_ordered("<", x, hi_c), x, hi_c)
        lanes = ir.VectorType(I32, ty.count)
        result = (bld.fptosi if signed else bld.fptoui)(x, lanes)
        if hi_float < hi:
            # hi + 1 is a power of two, exact in the float type.
            too_big = bld.fcmp_ordered(">=", a, splat_constant(ty, float(hi + 1)))
            result = bld.select(too_big, splat_constant(lanes, hi), result)
        return _fill_128(ctx, result)

    return body


for _name, (_shape, _method, _target) in _CASTS.items():
    register_pure(_name, 1, lanewise(_shape, _cast(_method, _target, _name in _CANONICALIZED)))
for _name, (_shape, _signed) in _TRUNC_SATS.items():
    register_pure(_name, 1, lanewise(_shape, _trunc_sat(_signed)))
