"""Scalar conversion operators of WebAssembly 2.0 (spec §4.3.2 "Conversions"): wrap,
extend, float <-> int (trapping and saturating), demote/promote and reinterpret.

Everything but the trapping float -> int truncation is one LLVM cast with wasm's exact
semantics: uitofp/sitofp round to nearest-even (also for u64 -> f32, no double rounding),
fptrunc/fpext are IEEE conversions (promote is also canonicalized, see `_promote`), bitcast
keeps every bit, and llvm.fpto[su]i.sat are the saturating truncations (NaN -> 0).
"""

from __future__ import annotations

import struct

from llvmlite import ir

from aot.abi.traps import TrapCode
from aot.codegen.llvmtypes import F32, F64, I32, I64
from aot.codegen.ops.numeric import FLOAT_TYPES, INT_TYPES, canonicalize, overload_suffix
from aot.codegen.ops.registry import LoweringContext, PureLowering, register_pure

# Single-cast conversions: IRBuilder cast method and target type.
_CASTS: dict[str, tuple[str, ir.Type]] = {
    "i32.wrap_i64": ("trunc", I32),
    "i64.extend_i32_s": ("sext", I64),
    "i64.extend_i32_u": ("zext", I64),
    "f32.demote_f64": ("fptrunc", F32),
    "i32.reinterpret_f32": ("bitcast", I32),
    "i64.reinterpret_f64": ("bitcast", I64),
    "f32.reinterpret_i32": ("bitcast", F32),
    "f64.reinterpret_i64": ("bitcast", F64),
}
_CASTS.update(
    {
        f"{f}.convert_{i}_{sx}": (method, fty)
        for f, fty in FLOAT_TYPES.items()
        for i in INT_TYPES
        for sx, method in (("s", "sitofp"), ("u", "uitofp"))
    }
)


def _cast(method: str, target: ir.Type) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        return getattr(ctx.builder, method)(a, target)

    return lower


def _promote(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    # InstCombine folds demote(promote(x)) to x, which would keep a signaling NaN
    # signaling; canonicalizing here (on the rarer of the two) keeps it quieted.
    return canonicalize(ctx, ctx.builder.fpext(a, F64))


def _exact_in(value: int, float_name: str) -> bool:
    """Is the integer `value` exactly representable in the float type `float_name`?"""
    as_double = float(value)
    if float_name == "f32":
        as_double = struct.unpack("<f", struct.pack("<f", as_double))[0]
    return int(as_double) == value


def _saturating_trunc(target: ir.IntType, signed: bool) -> PureLowering:
    base = "llvm.fptosi.sat" if signed else "llvm.fptoui.sat"

    def lower(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        name = f"{base}.{overload_suffix(target)}.{overload_suffix(a.type)}"
        return ctx.builder.call(ctx.intrinsic(name, target, [a.type]), [a])

    return lower


def _trapping_trunc(target: ir.IntType, source: str, signed: bool) -> PureLowering:
    """x is accepted iff trunc(x) fits in `target`, i.e. lo - 1 < x < hi + 1 for the
    target's range [lo, hi].  Both bounds are tested in the source float type, so they
    must be exact there: hi + 1 is a power of two (always exact); lo - 1 (-1, or
    -2^(N-1) - 1) may not be, and then the first float above it is lo itself (a power of
    two, whose neighbours below are >= 2 apart), so `x >= lo` is the same test."""
    width = target.width
    lo, hi_excl = (-(1 << (width - 1)), 1 << (width - 1)) if signed else (0, 1 << width)
    if _exact_in(lo - 1, source):
        lower_pred, lower_bound = ">", lo - 1
    else:
        lower_pred, lower_bound = ">=", lo
    fty = FLOAT_TYPES[source]
    lo_const = ir.Constant(fty, float(lower_bound))
    hi_const = ir.Constant(fty, float(hi_excl))
    convert = "fptosi" if signed else "fptoui"

    def lower(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        bld = ctx.builder
        ctx.trap_if(bld.fcmp_unordered("uno", a, a), TrapCode.BAD_CONVERSION_TO_INTEGER)
        # Ordered compares: false on NaN, which has already trapped; +-inf fail here.
        in_range = bld.and_(
            bld.fcmp_ordered(lower_pred, a, lo_const),
            bld.fcmp_ordered("<", a, hi_const),
        )
        ctx.trap_if(bld.not_(in_range), TrapCode.INTEGER_OVERFLOW)
        # In range, so fpto[su]i is defined (not poison) here.
        return getattr(bld, convert)(a, target)

    return lower


for _name, (_method, _target) in _CASTS.items():
    register_pure(_name, 1, _cast(_method, _target))
register_pure("f64.promote_f32", 1, _promote)

for _i, _ity in INT_TYPES.items():
    for _f in FLOAT_TYPES:
        for _sx, _signed in (("s", True), ("u", False)):
            register_pure(f"{_i}.trunc_{_f}_{_sx}", 1, _trapping_trunc(_ity, _f, _signed))
            register_pure(f"{_i}.trunc_sat_{_f}_{_sx}", 1, _saturating_trunc(_ity, _signed))
