"""Float SIMD operators of WebAssembly 2.0 (f32x4, f64x2): arithmetic, sqrt, min/max,
pmin/pmax, comparisons, rounding, abs/neg.

The scalar rules of numeric.py hold lane by lane: no fast-math flags; abs/neg are bit
operations keeping NaN payloads; a constant operand LLVM would fold by its own NaN rules
(a lane of +-0, +-1 or NaN: x * 1.0, x * -1.0) reaches the instruction opaque.  pmin/pmax are defined as
selects (`b < a ? b : a`), so they return an operand as it is: minps/maxps.  min/max are
built from the same selects (see `_min_max`), rather than llvm.minimum/maximum, whose x86
vector expansion is twice as long and still needs canonicalizing.

(For f64x2, InstCombine moves such selects onto the <2 x i64> the operands were bitcast
from, and x86 then emits cmpltpd + blendvpd where minpd/maxpd would do: one instruction
more, still branch-free.)
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from aot.codegen.emit import has_avx, parses_x86_asm
from aot.codegen.ops.numeric import FLOAT_COMPARISONS, FLOAT_UNARY_INTRINSICS, opaque
from aot.codegen.ops.registry import LoweringContext, PureLowering, register_pure
from aot.codegen.ops.simd_types import (
    FLOAT_SHAPES,
    call_vector_intrinsic,
    constant_lanes,
    lanewise,
    splat_constant,
    to_v128,
    view,
)

# IEEE arithmetic, one instruction each.
_ARITHMETIC: dict[str, str] = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}

# NaN-propagating, -0 < +0 min/max: the comparison predicate, how the two one-sided
# selects are merged (bitwise, on the lanes' bits), and the sign of a NaN result: min
# gives the negative canonical NaN, max the canonical NaN with the sign bits of its
# operands or-ed, as wasmtime's x86-64 sequences do (any canonical NaN is valid wasm;
# these make aot's bits equal to wasmtime's, which the differential fuzzer compares).
_MIN_MAX: dict[str, tuple[str, str, bool]] = {"min": ("<", "or_", True),
                                              "max": (">", "and_", False)}

# The positive canonical NaN (quiet bit only) of each lane width.
_CANONICAL_NAN_BITS = {32: 0x7FC0_0000, 64: 0x7FF8_0000_0000_0000}

# The scalar tables, applied lane-wise (roundps/roundpd on SSE4.1 for the rounding ones).
_UNARY_INTRINSICS = FLOAT_UNARY_INTRINSICS
_COMPARISONS = FLOAT_COMPARISONS

# pmin/pmax: whether the select takes b when b < a (pmin) or when a < b (pmax).
_PSEUDO_MIN_MAX: dict[str, bool] = {"pmin": True, "pmax": False}


def _int_lanes(ty: ir.VectorType) -> ir.VectorType:
    """The integer vector with the lanes of the float vector `ty`."""
    return ir.VectorType(ir.IntType(128 // ty.count), ty.count)


def _foldable_constant(value: ir.Value, shape: str) -> bool:
    """A constant with a lane LLVM would fold by rules other than the CPU's: a NaN,
    +-0.0 or +-1.0 (see numeric.py); an unreadable constant counts."""
    if not isinstance(value, ir.Constant):
        return False
    lanes = constant_lanes(value, shape)
    return lanes is None or any(x != x or x in (0.0, 1.0, -1.0) for x in lanes)


# fadd and fmul are commutative to LLVM, which swaps their operands at will (to fold a
# load, in the two-address pass); x86 returns the *first* operand's NaN when both are
# NaNs, so a swap changes the bits.  wasmtime keeps wasm's order (the left NaN): these go
# through asm that names the instruction with the operands in that order.
_IN_ORDER = {"fadd": "add", "fmul": "mul"}


def _in_order(ctx: LoweringContext, method: str, shape: str, a: ir.Value, b: ir.Value) -> ir.Value:
    suffix = "ps" if shape == "f32x4" else "pd"
    op = _IN_ORDER[method] + suffix
    if has_avx(ctx.mc.options.target, ctx.mc.options.target_cpu):
        text, constraints = f"v{op} $2, $1, $0", "=x,x,x"  # AT&T: src2, src1, dst
    else:
        text, constraints = f"{op} $2, $0", "=x,0,x"  # dst (= a) op= b
    asm = ir.InlineAsm(ir.FunctionType(a.type, [a.type, b.type]), text, constraints)
    return ctx.builder.call(asm, [a, b])


def _arithmetic(shape: str, method: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        va, vb = view(ctx, a, shape), view(ctx, b, shape)
        if _foldable_constant(a, shape):
            va = opaque(ctx, va)
        # LLVM folds `a - NaN` as `a + -NaN`, flipping the NaN's sign where subps keeps
        # it: a subtrahend is always opaque, since the optimizer may find it constant
        # only after inlining or loop simplification (fuzz seed 9005163).
        if method == "fsub" or _foldable_constant(b, shape):
            vb = opaque(ctx, vb)
        if method in _IN_ORDER and parses_x86_asm(ctx.mc.options.target):
            return to_v128(ctx, _in_order(ctx, method, shape, va, vb))
        return to_v128(ctx, getattr(ctx.builder, method)(va, vb))

    return lower


def _min_max(predicate: str, merge: str, negative_nan: bool) -> Callable[..., ir.Value]:
    """`a < b ? a : b` and `b < a ? b : a` (minps both ways) agree except on zeros of
    opposite signs, where or-ing their bits gives -0 (and-ing gives +0 for max), and on
    NaNs, where the lane is replaced by a canonical NaN (see `_MIN_MAX` for its sign)."""

    def body(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        bld = ctx.builder
        one_way = bld.select(bld.fcmp_ordered(predicate, a, b), a, b)
        other_way = bld.select(bld.fcmp_ordered(predicate, b, a), b, a)
        bits = _int_lanes(a.type)
        width = bits.element.width
        merged = getattr(bld, merge)(bld.bitcast(one_way, bits), bld.bitcast(other_way, bits))
        canonical, sign = _CANONICAL_NAN_BITS[width], 1 << (width - 1)
        if negative_nan:
            nan = splat_constant(bits, canonical | sign)
        else:
            signs = bld.and_(bld.or_(bld.bitcast(a, bits), bld.bitcast(b, bits)),
                             splat_constant(bits, sign))
            nan = bld.or_(signs, splat_constant(bits, canonical))
        any_nan = bld.fcmp_unordered("uno", a, b)
        return bld.bitcast(bld.select(any_nan, nan, merged), a.type)

    return body


def _pseudo_min_max(is_min: bool) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        bld = ctx.builder
        take_b = bld.fcmp_ordered("<", b, a) if is_min else bld.fcmp_ordered("<", a, b)
        return bld.select(take_b, b, a)

    return body


def _unary_intrinsic(intrinsic: str) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        return call_vector_intrinsic(ctx, intrinsic, a)

    return body


def _comparison(method: str, predicate: str) -> Callable[..., ir.Value]:
    def body(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        # True lanes are all ones: sign-extend to integer lanes of the same width.
        return ctx.builder.sext(getattr(ctx.builder, method)(predicate, a, b), _int_lanes(a.type))

    return body


def _neg(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    # fneg flips the sign bit only, keeping a signaling NaN signaling (numeric.py).
    return ctx.builder.fneg(a)


# A family: arity, table, factory of the lane body from a table entry.
_FAMILIES: list[tuple[int, dict[str, object], Callable[..., Callable[..., ir.Value]]]] = [
    (2, _MIN_MAX, _min_max),
    (2, _PSEUDO_MIN_MAX, _pseudo_min_max),
    (1, _UNARY_INTRINSICS, _unary_intrinsic),
    (2, _COMPARISONS, _comparison),
]


def _register() -> None:
    for shape in FLOAT_SHAPES:
        for op, method in _ARITHMETIC.items():
            register_pure(f"{shape}.{op}", 2, _arithmetic(shape, method))
        for arity, table, factory in _FAMILIES:
            for op, entry in table.items():
                args = entry if isinstance(entry, tuple) else (entry,)
                register_pure(f"{shape}.{op}", arity, lanewise(shape, factory(*args)))
        register_pure(f"{shape}.neg", 1, lanewise(shape, _neg))


_register()
