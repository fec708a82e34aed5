"""Integer SIMD operators of WebAssembly 2.0: lane arithmetic (wrapping and saturating),
min/max, avgr_u, abs/neg/popcnt, shifts, comparisons, all_true/bitmask, narrowing,
extension, extmul, extadd_pairwise, dot and q15mulr_sat_s.

All are generic vector IR that the x86 backend selects to single SSE instructions where
one exists: `icmp` + `sext` (pcmpeq/pcmpgt), llvm.[su]{add,sub}.sat (padds/psubus),
llvm.[su]{min,max} (pmins/pmaxu), zext-add-lshr-trunc (pavg), clamp + trunc (packss/
packus), sext-mul-add of even/odd lanes (pmaddwd), icmp slt 0 + bitcast (pmovmskb).

As in numeric.py, no instruction may get operands for which it is poison: shift counts are
taken modulo the lane width, and llvm.abs is told INT_MIN is not poison (it stays INT_MIN).
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from aot.codegen.llvmtypes import I1, I32
from aot.codegen.ops.registry import LoweringContext, register_pure
from aot.codegen.ops.simd_types import (
    INT_SHAPES,
    call_vector_intrinsic,
    half,
    lanewise,
    shuffle,
    splat,
    splat_constant,
    zero,
)

_ALL = INT_SHAPES
_NO_I64 = ("i8x16", "i16x8", "i32x4")
_SMALL = ("i8x16", "i16x8")

# Wrapping arithmetic: one IRBuilder method.
_BINOPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "add": ("add", _ALL),
    "sub": ("sub", _ALL),
    "mul": ("mul", ("i16x8", "i32x4", "i64x2")),
}

# One generic intrinsic on the lane vector.
_INTRINSIC_BINOPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "add_sat_s": ("llvm.sadd.sat", _SMALL),
    "add_sat_u": ("llvm.uadd.sat", _SMALL),
    "sub_sat_s": ("llvm.ssub.sat", _SMALL),
    "sub_sat_u": ("llvm.usub.sat", _SMALL),
    "min_s": ("llvm.smin", _NO_I64),
    "min_u": ("llvm.umin", _NO_I64),
    "max_s": ("llvm.smax", _NO_I64),
    "max_u": ("llvm.umax", _NO_I64),
}

# Comparisons: IRBuilder method (its signedness), predicate, shapes.  True lanes are all
# ones: the i1 lanes are sign-extended.
_COMPARISONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "eq": ("icmp_unsigned", "==", _ALL),
    "ne": ("icmp_unsigned", "!=", _ALL),
    "lt_s": ("icmp_signed", "<", _ALL),
    "gt_s": ("icmp_signed", ">", _ALL),
    "le_s": ("icmp_signed", "<=", _ALL),
    "ge_s": ("icmp_signed", ">=", _ALL),
    "lt_u": ("icmp_unsigned", "<", _NO_I64),
    "gt_u": ("icmp_unsigned", ">", _NO_I64),
    "le_u": ("icmp_unsigned", "<=", _NO_I64),
    "ge_u": ("icmp_unsigned", ">=", _NO_I64),
}

# Shifts by an i32 count, taken modulo the lane width (LLVM: >= width is poison).
_SHIFTS: dict[str, str] = {"shl": "shl", "shr_s": "ashr", "shr_u": "lshr"}

# Widening pairs: wide shape -> the shape of half as many lanes of half the width.
_WIDENINGS: dict[str, str] = {"i16x8": "i8x16", "i32x4": "i16x8", "i64x2": "i32x4"}
_SIGNED: dict[str, bool] = {"s": True, "u": False}


def _vector_of(element: ir.Type, like: ir.Value) -> ir.VectorType:
    return ir.VectorType(element, like.type.count)


def _wider(value: ir.Value) -> ir.IntType:
    return ir.IntType(2 * value.type.element.width)


def _extend(ctx: LoweringContext, value: ir.Value, signed: bool, element: ir.Type) -> ir.Value:
    method = ctx.builder.sext if signed else ctx.builder.zext
    return method(value, _vector_of(element, value))


def _mask(ctx: LoweringContext, cond: ir.Value, like: ir.Value) -> ir.Value:
    """An i1 vector as wasm's all-ones / all-zeros lanes of `like`'s type."""
    return ctx.builder.sext(cond, like.type)


# --- table factories ----------------------------------------------------------------------


def _builder_binop(method: str) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        return getattr(ctx.builder, method)(a, b)

    return body


def _intrinsic_binop(intrinsic: str) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        return call_vector_intrinsic(ctx, intrinsic, a, b)

    return body


def _comparison(method: str, predicate: str) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        return _mask(ctx, getattr(ctx.builder, method)(predicate, a, b), a)

    return body


def _shift(method: str) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value, count: ir.Value) -> ir.Value:
        bld = ctx.builder
        element = a.type.element
        masked = bld.and_(count, ir.Constant(I32, element.width - 1))
        if element.width != 32:
            masked = (bld.trunc if element.width < 32 else bld.zext)(masked, element)
        return getattr(bld, method)(a, splat(ctx, masked, a.type.count))

    return body


# --- operators with a lowering of their own -----------------------------------------------


def _abs(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    # is_int_min_poison = false: wasm's abs(INT_MIN) is INT_MIN.
    return call_vector_intrinsic(ctx, "llvm.abs", a, ir.Constant(I1, 0))


def _neg(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    return ctx.builder.sub(zero(a.type), a)


def _popcnt(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    return call_vector_intrinsic(ctx, "llvm.ctpop", a)


def _lane_bits(ctx: LoweringContext, cond: ir.Value) -> ir.Value:
    """An <N x i1> as an iN integer, lane 0 in bit 0."""
    return ctx.builder.bitcast(cond, ir.IntType(cond.type.count))


def _bitmask(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    negative = ctx.builder.icmp_signed("<", a, zero(a.type))
    return ctx.builder.zext(_lane_bits(ctx, negative), I32)


def _all_true(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    bld = ctx.builder
    bits = _lane_bits(ctx, bld.icmp_unsigned("!=", a, zero(a.type)))
    return bld.zext(bld.icmp_unsigned("==", bits, ir.Constant(bits.type, -1)), I32)


def _avgr_u(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
    # (a + b + 1) >> 1 without overflow, in lanes twice as wide: the pavgb/pavgw pattern.
    bld = ctx.builder
    wide = _wider(a)
    sum_ = bld.add(_extend(ctx, a, False, wide), _extend(ctx, b, False, wide))
    sum_ = bld.add(sum_, splat_constant(sum_.type, 1))
    return bld.trunc(bld.lshr(sum_, splat_constant(sum_.type, 1)), a.type)


def _q15mulr_sat_s(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
    # (a * b + 0x4000) >> 15 in i32 lanes; only -32768 * -32768 leaves the i16 range
    # (it gives 32768), so saturating it is one smin.
    bld = ctx.builder
    wide = _wider(a)
    product = bld.mul(_extend(ctx, a, True, wide), _extend(ctx, b, True, wide))
    rounded = bld.ashr(bld.add(product, splat_constant(product.type, 0x4000)),
                       splat_constant(product.type, 15))
    clamped = call_vector_intrinsic(ctx, "llvm.smin", rounded, splat_constant(rounded.type, 0x7FFF))
    return bld.trunc(clamped, a.type)


def _dot_i16x8_s(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
    # Sum of adjacent i32 products (the pmaddwd pattern); only the 2 * (-32768)^2 lanes
    # overflow, and they wrap, as wasm says.
    bld = ctx.builder
    wide = _wider(a)
    products = bld.mul(_extend(ctx, a, True, wide), _extend(ctx, b, True, wide))
    return _pairwise_add(ctx, products)


def _pairwise_add(ctx: LoweringContext, v: ir.Value) -> ir.Value:
    n = v.type.count
    even = shuffle(ctx, v, None, range(0, n, 2))
    odd = shuffle(ctx, v, None, range(1, n, 2))
    return ctx.builder.add(even, odd)


# --- narrowing and widening ---------------------------------------------------------------


def _narrow(signed: bool) -> Callable[..., ir.Value]:
    """Concatenate a and b, clamp each (signed) lane to the narrow type's range (signed or
    unsigned) and truncate: the packsswb/packuswb pattern."""

    def body(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        bld = ctx.builder
        width = a.type.element.width // 2
        lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
        both = shuffle(ctx, a, b, range(2 * a.type.count))
        both = call_vector_intrinsic(ctx, "llvm.smax", both, splat_constant(both.type, lo))
        both = call_vector_intrinsic(ctx, "llvm.smin", both, splat_constant(both.type, hi))
        return bld.trunc(both, _vector_of(ir.IntType(width), both))

    return body


def _extend_half(high: bool, signed: bool) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        return _extend(ctx, half(ctx, a, high), signed, _wider(a))

    return body


def _extmul(high: bool, signed: bool) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        wide = _wider(a)
        return ctx.builder.mul(
            _extend(ctx, half(ctx, a, high), signed, wide),
            _extend(ctx, half(ctx, b, high), signed, wide),
        )

    return body


def _extadd_pairwise(signed: bool) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        return _pairwise_add(ctx, _extend(ctx, a, signed, _wider(a)))

    return body


# --- registration -------------------------------------------------------------------------

# A family: arity, table (op -> (factory arguments..., shapes)), factory.
_Family = tuple[int, dict[str, tuple], Callable[..., Callable[..., ir.Value]]]

_FAMILIES: list[_Family] = [
    (2, _BINOPS, _builder_binop),
    (2, _INTRINSIC_BINOPS, _intrinsic_binop),
    (2, _COMPARISONS, _comparison),
    (2, {op: (method, _ALL) for op, method in _SHIFTS.items()}, _shift),
]

# Operators with a body of their own: name -> (arity, shape of the operands, body).
_OWN: dict[str, tuple[int, str, Callable[..., ir.Value]]] = {
    **{f"{s}.abs": (1, s, _abs) for s in _ALL},
    **{f"{s}.neg": (1, s, _neg) for s in _ALL},
    **{f"{s}.bitmask": (1, s, _bitmask) for s in _ALL},
    **{f"{s}.all_true": (1, s, _all_true) for s in _ALL},
    **{f"{s}.avgr_u": (2, s, _avgr_u) for s in _SMALL},
    "i8x16.popcnt": (1, "i8x16", _popcnt),
    "i16x8.q15mulr_sat_s": (2, "i16x8", _q15mulr_sat_s),
    "i32x4.dot_i16x8_s": (2, "i16x8", _dot_i16x8_s),
}


def _widening_ops() -> dict[str, tuple[int, str, Callable[..., ir.Value]]]:
    """name -> (arity, shape of the operands, body) for narrow/extend/extmul/extadd."""
    ops: dict[str, tuple[int, str, Callable[..., ir.Value]]] = {}
    for wide, narrow in _WIDENINGS.items():
        for sx, signed in _SIGNED.items():
            if wide != "i64x2":
                ops[f"{narrow}.narrow_{wide}_{sx}"] = (2, wide, _narrow(signed))
                ops[f"{wide}.extadd_pairwise_{narrow}_{sx}"] = (1, narrow, _extadd_pairwise(signed))
            for part, high in (("low", False), ("high", True)):
                ops[f"{wide}.extend_{part}_{narrow}_{sx}"] = (1, narrow, _extend_half(high, signed))
                ops[f"{wide}.extmul_{part}_{narrow}_{sx}"] = (2, narrow, _extmul(high, signed))
    return ops


def _register() -> None:
    for arity, table, factory in _FAMILIES:
        for op, (*args, shapes) in table.items():
            for shape in shapes:
                register_pure(f"{shape}.{op}", arity, lanewise(shape, factory(*args)))
    for name, (arity, shape, body) in {**_OWN, **_widening_ops()}.items():
        register_pure(name, arity, lanewise(shape, body))


_register()
