"""Bitwise v128 operators of WebAssembly 2.0: not, and, andnot, or, xor, bitselect,
any_true.  Lanes do not matter to them, so they work on the V128 form directly (pand,
pandn, por, pxor; any_true is a 128-bit compare with zero: ptest)."""

from __future__ import annotations

from llvmlite import ir

from aot.codegen.llvmtypes import I32, I128, V128
from aot.codegen.ops.registry import LoweringContext, PureLowering, register_pure
from aot.codegen.ops.simd_types import splat_constant

_ONES = splat_constant(V128, -1)

# One IRBuilder method each.
_BINOPS: dict[str, str] = {"v128.and": "and_", "v128.or": "or_", "v128.xor": "xor"}


def _binop(method: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        return getattr(ctx.builder, method)(a, b)

    return lower


def _not(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    return ctx.builder.xor(a, _ONES)


def _andnot(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
    return ctx.builder.and_(a, _not(ctx, b))


def _bitselect(ctx: LoweringContext, a: ir.Value, b: ir.Value, mask: ir.Value) -> ir.Value:
    # Bits of a where mask is 1, of b where it is 0.
    bld = ctx.builder
    return bld.or_(bld.and_(a, mask), bld.and_(b, _not(ctx, mask)))


def _any_true(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    bld = ctx.builder
    return bld.zext(bld.icmp_unsigned("!=", bld.bitcast(a, I128), ir.Constant(I128, 0)), I32)


for _name, _method in _BINOPS.items():
    register_pure(_name, 2, _binop(_method))
register_pure("v128.not", 1, _not)
register_pure("v128.andnot", 2, _andnot)
register_pure("v128.bitselect", 3, _bitselect)
register_pure("v128.any_true", 1, _any_true)
