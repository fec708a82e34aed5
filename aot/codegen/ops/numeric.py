"""Scalar numeric operators of WebAssembly 2.0 (spec §4.3.2): integer and float arithmetic,
comparisons, bit counting and sign extension.

Every operator is a pure lowering registered from a table by family; only division and
remainder, whose trapping rules differ from LLVM's UB, get functions of their own.

Two rules hold throughout:

* No LLVM instruction may be given operands for which it is poison or UB (shift counts
  >= width, division by zero, INT_MIN / -1): wasm defines or traps on all of them.
* No fast-math flags: wasm float semantics are strict IEEE 754, and `neg`/`abs`/`copysign`
  are bit operations that must keep NaN payloads.

Wasm also requires float arithmetic to return a *quiet* NaN when given a signaling one,
while LLVM lets a NaN pass through unchanged ("unchanged NaN propagation", LangRef):
InstCombine folds `x * 1.0` to `x` (and `x * -1.0` to `-x`, flipping a NaN's sign), and
x86 `llvm.minimum` selects the NaN operand as is.  A constant operand LLVM would fold by
such rules (+-0, +-1, a NaN) reaches the instruction through an opaque asm (`opaque`),
so the CPU computes as wasmtime's code does; min/max results go through
`llvm.canonicalize` (an x86 `mulss 1.0`).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from llvmlite import ir

from aot.abi.traps import TrapCode
from aot.codegen.llvmtypes import F32, F64, I1, I8, I16, I32, I64
from aot.codegen.ops.registry import LoweringContext, PureLowering, register_pure

INT_TYPES: dict[str, ir.IntType] = {"i32": I32, "i64": I64}
FLOAT_TYPES: dict[str, ir.Type] = {"f32": F32, "f64": F64}

# LLVM's overload suffix for each type, as intrinsic names spell it (llvm.fabs.f32).
_SUFFIX: dict[str, str] = {"i32": "i32", "i64": "i64", "float": "f32", "double": "f64"}


def overload_suffix(ty: ir.Type) -> str:
    return _SUFFIX[str(ty)]


def call_intrinsic(ctx: LoweringContext, base: str, *args: ir.Value) -> ir.Value:
    """Call the intrinsic `base` overloaded on (and returning) its first operand's type."""
    ty = args[0].type
    fn = ctx.intrinsic(f"{base}.{overload_suffix(ty)}", ty, [a.type for a in args])
    return ctx.builder.call(fn, args)


def canonicalize(ctx: LoweringContext, value: ir.Value) -> ir.Value:
    """Quiet a signaling NaN; other values are unchanged."""
    return call_intrinsic(ctx, "llvm.canonicalize", value)


def opaque(ctx: LoweringContext, value: ir.Value) -> ir.Value:
    """`value`, through an empty asm the optimizer cannot see into (no instruction).

    For NaN constants: LLVM folds arithmetic on them by its own NaN rules (APFloat flips
    the sign of a subtracted NaN and makes a product's or quotient's NaN positive;
    `x + NaN` becomes that NaN whatever x), where the CPU, and wasmtime's code, keep the
    first NaN operand's bits.  Found by the differential fuzzer (seed 5001731)."""
    asm = ir.InlineAsm(ir.FunctionType(value.type, [value.type]), "", "=x,0")
    return ctx.builder.call(asm, [value])


def _bool_to_i32(ctx: LoweringContext, cond: ir.Value) -> ir.Value:
    return ctx.builder.zext(cond, I32)


def _const(ty: ir.Type, value: int | float) -> ir.Constant:
    return ir.Constant(ty, value)


# --- integer ------------------------------------------------------------------------------

# Operators that are one IRBuilder method with wasm's exact semantics (wrapping arithmetic).
_INT_BINOPS: dict[str, str] = {
    "add": "add",
    "sub": "sub",
    "mul": "mul",
    "and": "and_",
    "or": "or_",
    "xor": "xor",
}

# Shifts: wasm takes the count modulo the width; LLVM makes counts >= width poison.
_INT_SHIFTS: dict[str, str] = {"shl": "shl", "shr_s": "ashr", "shr_u": "lshr"}

# Rotates: funnel shifts with both halves equal; their count is modulo width by definition.
_INT_ROTATES: dict[str, str] = {"rotl": "llvm.fshl", "rotr": "llvm.fshr"}

# Bit counts: intrinsic, and whether it takes the is_zero_poison flag (passed false, so that
# clz/ctz of 0 is the width, as wasm requires).
_INT_BITCOUNTS: dict[str, tuple[str, bool]] = {
    "clz": ("llvm.ctlz", True),
    "ctz": ("llvm.cttz", True),
    "popcnt": ("llvm.ctpop", False),
}

# Comparisons: IRBuilder method (its signedness) and predicate.
_INT_COMPARISONS: dict[str, tuple[str, str]] = {
    "eq": ("icmp_unsigned", "=="),
    "ne": ("icmp_unsigned", "!="),
    "lt_s": ("icmp_signed", "<"),
    "lt_u": ("icmp_unsigned", "<"),
    "gt_s": ("icmp_signed", ">"),
    "gt_u": ("icmp_unsigned", ">"),
    "le_s": ("icmp_signed", "<="),
    "le_u": ("icmp_unsigned", "<="),
    "ge_s": ("icmp_signed", ">="),
    "ge_u": ("icmp_unsigned", ">="),
}

# Unsigned division and remainder: defined for every non-zero divisor.
_INT_UNSIGNED_DIVISIONS: dict[str, str] = {"div_u": "udiv", "rem_u": "urem"}

# Sign extension operators: the narrow type whose sign bit is extended.
_SIGN_EXTENSIONS: dict[str, ir.IntType] = {
    "i32.extend8_s": I8,
    "i32.extend16_s": I16,
    "i64.extend8_s": I8,
    "i64.extend16_s": I16,
    "i64.extend32_s": I32,
}


def _builder_binop(method: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        return getattr(ctx.builder, method)(a, b)

    return lower


def _shift(method: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value, count: ir.Value) -> ir.Value:
        masked = ctx.builder.and_(count, _const(count.type, count.type.width - 1))
        return getattr(ctx.builder, method)(a, masked)

    return lower


def _rotate(intrinsic: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value, count: ir.Value) -> ir.Value:
        return call_intrinsic(ctx, intrinsic, a, a, count)

    return lower


def _bitcount(intrinsic: str, has_poison_flag: bool) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        flags = (_const(I1, 0),) if has_poison_flag else ()
        return call_intrinsic(ctx, intrinsic, a, *flags)

    return lower


def _comparison(method: str, predicate: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        return _bool_to_i32(ctx, getattr(ctx.builder, method)(predicate, a, b))

    return lower


def _eqz(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    return _bool_to_i32(ctx, ctx.builder.icmp_unsigned("==", a, _const(a.type, 0)))


def _trap_if_zero(ctx: LoweringContext, divisor: ir.Value) -> None:
    is_zero = ctx.builder.icmp_unsigned("==", divisor, _const(divisor.type, 0))
    ctx.trap_if(is_zero, TrapCode.INTEGER_DIVISION_BY_ZERO)


def _unsigned_division(method: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        _trap_if_zero(ctx, b)
        return getattr(ctx.builder, method)(a, b)

    return lower


def _int_min(ty: ir.IntType) -> ir.Constant:
    return _const(ty, -(1 << (ty.width - 1)))


def _div_s(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
    # Division by zero is checked first: wasm reports INT_MIN / 0 as a division by zero.
    _trap_if_zero(ctx, b)
    bld = ctx.builder
    overflow = bld.and_(
        bld.icmp_unsigned("==", a, _int_min(a.type)),
        bld.icmp_unsigned("==", b, _const(b.type, -1)),
    )
    ctx.trap_if(overflow, TrapCode.INTEGER_OVERFLOW)
    return bld.sdiv(a, b)


def _rem_s(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
    _trap_if_zero(ctx, b)
    # INT_MIN % -1 is 0 in wasm but UB in LLVM (x86 `idiv` faults).  x % -1 == x % 1 == 0
    # for every x, so divide by 1 instead of -1: no branch, and no idiv on bad operands.
    bld = ctx.builder
    is_minus_one = bld.icmp_unsigned("==", b, _const(b.type, -1))
    safe_divisor = bld.select(is_minus_one, _const(b.type, 1), b)
    return bld.srem(a, safe_divisor)


def _sign_extension(narrow: ir.IntType) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        return ctx.builder.sext(ctx.builder.trunc(a, narrow), a.type)

    return lower


# --- float --------------------------------------------------------------------------------

# IEEE arithmetic: one instruction each, no fast-math flags.
_FLOAT_BINOPS: dict[str, str] = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}

# llvm.minimum/maximum are wasm's min/max (NaN if either operand is NaN, -0 < +0; minnum
# would return the other operand), except that x86 returns a signaling NaN operand
# unquieted: their result is canonicalized.
_FLOAT_MIN_MAX: dict[str, str] = {"min": "llvm.minimum", "max": "llvm.maximum"}

# fabs is a bit operation (keeps the payload); the rounding intrinsics are IEEE
# roundToIntegral* with the matching direction; `nearest` is ties-to-even.  The SIMD
# float family uses the same two tables lane-wise.
FLOAT_UNARY_INTRINSICS: dict[str, str] = {
    "abs": "llvm.fabs",
    "ceil": "llvm.ceil",
    "floor": "llvm.floor",
    "trunc": "llvm.trunc",
    "nearest": "llvm.roundeven",
    "sqrt": "llvm.sqrt",
}

# Comparisons: `ne` is the only one true on NaN operands (unordered), the rest are ordered.
FLOAT_COMPARISONS: dict[str, tuple[str, str]] = {
    "eq": ("fcmp_ordered", "=="),
    "ne": ("fcmp_unordered", "!="),
    "lt": ("fcmp_ordered", "<"),
    "gt": ("fcmp_ordered", ">"),
    "le": ("fcmp_ordered", "<="),
    "ge": ("fcmp_ordered", ">="),
}


_HEX_CONSTANT = re.compile(r"0x([0-9a-fA-F]{16})")
_BITCAST_CONSTANT = re.compile(r"bitcast \(i(32|64) (-?\d+) to (?:float|double)\)")


def _constant_value(value: ir.Constant) -> float | None:
    """The value of a float constant as llvmlite spells it: LLVM's hex double form, or a
    bitcast of the bit pattern (the way to keep NaN payloads).  None if spelled otherwise."""
    spelling = value.get_reference()
    if match := _HEX_CONSTANT.fullmatch(spelling):
        return struct.unpack("<d", int(match[1], 16).to_bytes(8, "little"))[0]
    if match := _BITCAST_CONSTANT.fullmatch(spelling):
        width = int(match[1])
        bits = int(match[2]) % (1 << width)
        return struct.unpack("<f" if width == 32 else "<d", bits.to_bytes(width // 8, "little"))[0]
    return None


def _foldable_constant(value: ir.Value) -> bool:
    """Would LLVM fold arithmetic with this operand by rules other than the CPU's?  A
    NaN (see `opaque`), and +-0.0 and +-1.0, with which it folds x+-0, x-0, -0-x, x*+-1,
    x/+-1 into (the negation of) the other operand: a signaling NaN would stay signaling
    and x*-1 would flip a NaN's sign.  A constant whose value cannot be read here counts."""
    if not isinstance(value, ir.Constant):
        return False
    number = _constant_value(value)
    return number is None or number != number or number in (0.0, 1.0, -1.0)


def _float_arithmetic(method: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        # Such a constant goes in opaque, so the CPU computes.  Constants reached only
        # after optimization (through locals, inlining) are not seen here.
        a, b = (opaque(ctx, v) if _foldable_constant(v) else v for v in (a, b))
        return getattr(ctx.builder, method)(a, b)

    return lower


def _float_min_max(intrinsic: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
        return canonicalize(ctx, call_intrinsic(ctx, intrinsic, a, b))

    return lower


def _float_unary_intrinsic(intrinsic: str) -> PureLowering:
    def lower(ctx: LoweringContext, a: ir.Value) -> ir.Value:
        return call_intrinsic(ctx, intrinsic, opaque(ctx, a) if _foldable_constant(a) else a)

    return lower


def _float_copysign(ctx: LoweringContext, a: ir.Value, b: ir.Value) -> ir.Value:
    return call_intrinsic(ctx, "llvm.copysign", a, b)


def _float_neg(ctx: LoweringContext, a: ir.Value) -> ir.Value:
    # fneg flips the sign bit only; `fsub -0.0, x` would quiet a signaling NaN and, on
    # x86, return a NaN operand without flipping its sign.
    return ctx.builder.fneg(a)


# --- registration -------------------------------------------------------------------------

# A family: arity, table, and the factory making a lowering from a table entry (a tuple
# entry is spread into the factory's arguments).
_Family = tuple[int, dict[str, object], Callable[..., PureLowering]]

_INT_FAMILIES: list[_Family] = [
    (2, _INT_BINOPS, _builder_binop),
    (2, _INT_SHIFTS, _shift),
    (2, _INT_ROTATES, _rotate),
    (1, _INT_BITCOUNTS, _bitcount),
    (2, _INT_COMPARISONS, _comparison),
    (2, _INT_UNSIGNED_DIVISIONS, _unsigned_division),
]
_FLOAT_FAMILIES: list[_Family] = [
    (2, _FLOAT_BINOPS, _float_arithmetic),
    (2, _FLOAT_MIN_MAX, _float_min_max),
    (1, FLOAT_UNARY_INTRINSICS, _float_unary_intrinsic),
    (2, FLOAT_COMPARISONS, _comparison),
]
# Operators with a lowering of their own: name -> (arity, lowering).
_INT_OWN: dict[str, tuple[int, PureLowering]] = {
    "eqz": (1, _eqz),
    "div_s": (2, _div_s),
    "rem_s": (2, _rem_s),
}
_FLOAT_OWN: dict[str, tuple[int, PureLowering]] = {
    "neg": (1, _float_neg),
    "copysign": (2, _float_copysign),
}


def _register(
    types: dict[str, ir.Type], families: list[_Family], own: dict[str, tuple[int, PureLowering]]
) -> None:
    for prefix in types:
        for arity, table, factory in families:
            for op, entry in table.items():
                args = entry if isinstance(entry, tuple) else (entry,)
                register_pure(f"{prefix}.{op}", arity, factory(*args))
        for op, (arity, lowering) in own.items():
            register_pure(f"{prefix}.{op}", arity, lowering)


_register(INT_TYPES, _INT_FAMILIES, _INT_OWN)
_register(FLOAT_TYPES, _FLOAT_FAMILIES, _FLOAT_OWN)
for _name, _narrow in _SIGN_EXTENSIONS.items():
    register_pure(_name, 1, _sign_extension(_narrow))
