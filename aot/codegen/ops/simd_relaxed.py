"""Relaxed SIMD (a proposal wasmtime runs by default), with its deterministic semantics:
each operator gives the result that wasmtime gives with `relaxed_simd_deterministic`, on
every CPU and target, so an artifact computes the same bits wherever it runs.

Most are the 2.0 operator they relax (swizzle, saturating truncations, bitselect,
min/max, q15mulr_sat_s).  madd/nmadd are fused (one rounding): LLVM's `llvm.fma` where
the target CPU has FMA instructions, else libm's fma/fmaf lane by lane through the
builtin table (the artifact has no undefined symbols).  The dot products treat both
operands as signed; the i16x8 one wraps, the i32x4 one sums its four products in 32
bits before adding the accumulator."""

from __future__ import annotations

from llvmlite import ir

from aot.abi.vmctx import Builtin
from aot.codegen.emit import has_fma
from aot.codegen.llvmtypes import F32, F64, I16, I32
from aot.codegen.ops import simd_bitwise, simd_convert, simd_float, simd_int, simd_lanes  # noqa: F401
from aot.codegen.ops.memory import call_builtin
from aot.codegen.ops.registry import PURE_OPS, LoweringContext, register_pure
from aot.codegen.ops.simd_types import call_vector_intrinsic, shuffle, to_v128, view

# Relaxed operator -> the 2.0 operator whose result it takes.
_SAME_AS = {
    "i8x16.relaxed_swizzle": "i8x16.swizzle",
    "i32x4.relaxed_trunc_f32x4_s": "i32x4.trunc_sat_f32x4_s",
    "i32x4.relaxed_trunc_f32x4_u": "i32x4.trunc_sat_f32x4_u",
    "i32x4.relaxed_trunc_f64x2_s_zero": "i32x4.trunc_sat_f64x2_s_zero",
    "i32x4.relaxed_trunc_f64x2_u_zero": "i32x4.trunc_sat_f64x2_u_zero",
    "i8x16.relaxed_laneselect": "v128.bitselect",
    "i16x8.relaxed_laneselect": "v128.bitselect",
    "i32x4.relaxed_laneselect": "v128.bitselect",
    "i64x2.relaxed_laneselect": "v128.bitselect",
    "f32x4.relaxed_min": "f32x4.min",
    "f32x4.relaxed_max": "f32x4.max",
    "f64x2.relaxed_min": "f64x2.min",
    "f64x2.relaxed_max": "f64x2.max",
    "i16x8.relaxed_q15mulr_s": "i16x8.q15mulr_sat_s",
}

# madd/nmadd: (shape, lane type, libm builtin, negate the product).
_MADD = {
    "f32x4.relaxed_madd": ("f32x4", F32, Builtin.FMAF, False),
    "f32x4.relaxed_nmadd": ("f32x4", F32, Builtin.FMAF, True),
    "f64x2.relaxed_madd": ("f64x2", F64, Builtin.FMA, False),
    "f64x2.relaxed_nmadd": ("f64x2", F64, Builtin.FMA, True),
}


def _madd(shape: str, lane: ir.Type, libm: Builtin, negate: bool):
    def lower(ctx: LoweringContext, a: ir.Value, b: ir.Value, c: ir.Value) -> ir.Value:
        bld = ctx.builder
        a, b, c = (view(ctx, v, shape) for v in (a, b, c))
        if negate:
            a = bld.fneg(a)
        if has_fma(ctx.mc.options.target, ctx.mc.options.target_cpu):
            return to_v128(ctx, call_vector_intrinsic(ctx, "llvm.fma", a, b, c))
        out = ir.Constant(a.type, None)
        for i in range(a.type.count):
            k = ir.Constant(I32, i)
            lanes = [bld.extract_element(v, k) for v in (a, b, c)]
            out = bld.insert_element(out, call_builtin(ctx, libm, lane, lanes), k)
        return to_v128(ctx, out)

    return lower


def _dot_i16(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
    """i16 lane k = a[2k]*b[2k] + a[2k+1]*b[2k+1], signed, wrapping."""
    bld = ctx.builder
    wide = ir.VectorType(I16, 16)
    prod = bld.mul(bld.sext(view(ctx, a, "i8x16"), wide), bld.sext(view(ctx, b, "i8x16"), wide))
    even = shuffle(ctx, prod, None, range(0, 16, 2))
    odd = shuffle(ctx, prod, None, range(1, 16, 2))
    return to_v128(ctx, bld.add(even, odd))


def _dot_add_i32(ctx: LoweringContext, a: ir.Value, b: ir.Value, c: ir.Value) -> ir.Value:
    """i32 lane k = the four signed products a[4k+j]*b[4k+j], summed in 32 bits, + c[k]."""
    bld = ctx.builder
    wide = ir.VectorType(I32, 16)
    prod = bld.mul(bld.sext(view(ctx, a, "i8x16"), wide), bld.sext(view(ctx, b, "i8x16"), wide))
    total = view(ctx, c, "i32x4")
    for j in range(4):
        total = bld.add(total, shuffle(ctx, prod, None, range(j, 16, 4)))
    return to_v128(ctx, total)


for _name, _same in _SAME_AS.items():
    register_pure(_name, *PURE_OPS[_same])
for _name, _row in _MADD.items():
    register_pure(_name, 3, _madd(*_row))
register_pure("i16x8.relaxed_dot_i8x16_i7x16_s", 2, _dot_i16)
register_pure("i32x4.relaxed_dot_i8x16_i7x16_add_s", 3, _dot_add_i32)
