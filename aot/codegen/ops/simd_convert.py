"""SIMD conversions of WebAssembly 2.0: int <-> float (convert, saturating trunc_sat,
including the `_zero` forms), demote and promote.

Each is one vector cast, with the scalar semantics of conversion.py lane by lane: uitofp /
sitofp round to nearest-even, llvm.fpto[su]i.sat saturate (NaN -> 0), fptrunc / fpext are
IEEE conversions.  The lane counts say the rest: a conversion to wider lanes reads the low
half of its operand (`convert_low`, `promote_low`); one to narrower lanes fills the upper
half of its result with zeros (`_zero`).
"""

from __future__ import annotations

from llvmlite import ir

from aot.codegen.llvmtypes import F32, F64, I32
from aot.codegen.ops.registry import LoweringContext, register_pure
from aot.codegen.ops.simd_types import (
    call_vector_intrinsic,
    canonicalize,
    lanewise,
    pad_with_zeros,
    shuffle,
)

# name: (operand shape, cast (IRBuilder method or saturating intrinsic), target lane type)
_CONVERSIONS: dict[str, tuple[str, str, ir.Type]] = {
    "f32x4.convert_i32x4_s": ("i32x4", "sitofp", F32),
    "f32x4.convert_i32x4_u": ("i32x4", "uitofp", F32),
    "f64x2.convert_low_i32x4_s": ("i32x4", "sitofp", F64),
    "f64x2.convert_low_i32x4_u": ("i32x4", "uitofp", F64),
    "i32x4.trunc_sat_f32x4_s": ("f32x4", "llvm.fptosi.sat", I32),
    "i32x4.trunc_sat_f32x4_u": ("f32x4", "llvm.fptoui.sat", I32),
    "i32x4.trunc_sat_f64x2_s_zero": ("f64x2", "llvm.fptosi.sat", I32),
    "i32x4.trunc_sat_f64x2_u_zero": ("f64x2", "llvm.fptoui.sat", I32),
    "f32x4.demote_f64x2_zero": ("f64x2", "fptrunc", F32),
    "f64x2.promote_low_f32x4": ("f32x4", "fpext", F64),
}

# Canonicalized like the scalar promote: InstCombine folds demote(promote(x)) to x, which
# would keep a signaling NaN signaling.
_CANONICALIZED = {"f64x2.promote_low_f32x4"}

_LANE_BITS: dict[str, int] = {"i32": 32, "float": 32, "double": 64}


def _conversion(cast: str, target: ir.Type, canonical: bool):
    def body(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        fits = 128 // _LANE_BITS[str(target)]
        if a.type.count > fits:  # to wider lanes: the low half
            a = shuffle(ctx, a, None, range(fits))
        result_type = ir.VectorType(target, a.type.count)
        if cast.startswith("llvm."):
            result = call_vector_intrinsic(ctx, cast, a, ret=result_type)
        else:
            result = getattr(ctx.builder, cast)(a, result_type)
        if canonical:
            result = canonicalize(ctx, result)
        if result.type.count < fits:  # to narrower lanes: zeros above
            result = pad_with_zeros(ctx, result)
        return result

    return body


for _name, (_shape, _cast, _target) in _CONVERSIONS.items():
    register_pure(_name, 1, lanewise(_shape, _conversion(_cast, _target, _name in _CANONICALIZED)))
