"""Shapes, lane views and helpers shared by the SIMD families (`simd_*.py`).

Every v128 on the wasm stack is `V128 = <2 x i64>`.  A lowering views its operands in the
lane shape of the operator (`<16 x i8>`, ..., `<2 x double>`) with a bitcast, works on
those vectors with generic LLVM IR, and bitcasts its vector result back to V128.  The
bitcasts are free: they all live in the same 128-bit register.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from llvmlite import ir

from aot.codegen.llvmtypes import F32, F64, I8, I16, I32, I64, V128
from aot.codegen.ops.registry import LoweringContext, PureLowering

SHAPES: dict[str, ir.VectorType] = {
    "i8x16": ir.VectorType(I8, 16),
    "i16x8": ir.VectorType(I16, 8),
    "i32x4": ir.VectorType(I32, 4),
    "i64x2": ir.VectorType(I64, 2),
    "f32x4": ir.VectorType(F32, 4),
    "f64x2": ir.VectorType(F64, 2),
}
INT_SHAPES = ("i8x16", "i16x8", "i32x4", "i64x2")
FLOAT_SHAPES = ("f32x4", "f64x2")

# The scalar wasm type of a shape's lanes as they cross the stack (extract/replace/splat):
# narrow integer lanes are carried in an i32.
LANE_SCALAR: dict[str, ir.Type] = {
    "i8x16": I32, "i16x8": I32, "i32x4": I32, "i64x2": I64, "f32x4": F32, "f64x2": F64,
}

_ELEMENT_SUFFIX: dict[str, str] = {
    "i1": "i1", "i8": "i8", "i16": "i16", "i32": "i32", "i64": "i64", "float": "f32", "double": "f64",
}


def vector_suffix(ty: ir.VectorType) -> str:
    """LLVM's overload suffix for a vector type, as intrinsic names spell it (v16i8)."""
    return f"v{ty.count}{_ELEMENT_SUFFIX[str(ty.element)]}"


def view(ctx: LoweringContext, value: ir.Value, shape: str) -> ir.Value:
    """`value` (a V128) seen as the lanes of `shape`."""
    ty = SHAPES[shape]
    return value if value.type == ty else ctx.builder.bitcast(value, ty)


def to_v128(ctx: LoweringContext, value: ir.Value) -> ir.Value:
    """A 128-bit vector back in the canonical V128 form."""
    return value if value.type == V128 else ctx.builder.bitcast(value, V128)


def lanewise(shape: str, body: Callable[..., ir.Value]) -> PureLowering:
    """A pure lowering running `body` on the v128 operands viewed as `shape` (scalar
    operands, like shift counts, are passed as they are); a vector result goes back to
    V128, a scalar one (bitmask, all_true) is returned as it is."""

    def lower(ctx: LoweringContext, *operands: ir.Value) -> ir.Value:
        views = [view(ctx, a, shape) if a.type == V128 else a for a in operands]
        result = body(ctx, *views)
        return to_v128(ctx, result) if isinstance(result.type, ir.VectorType) else result

    return lower


def splat_constant(ty: ir.VectorType, value: int | float) -> ir.Constant:
    return ir.Constant(ty, [value] * ty.count)


def zero(ty: ir.VectorType) -> ir.Constant:
    return ir.Constant(ty, None)


def index_mask(indices: Sequence[int]) -> ir.Constant:
    """A shufflevector mask."""
    return ir.Constant(ir.VectorType(I32, len(indices)), list(indices))


def shuffle(ctx: LoweringContext, a: ir.Value, b: ir.Value | None, indices: Sequence[int]) -> ir.Value:
    """shufflevector of `a` and `b` (or of `a` alone: then every index is into `a`)."""
    return ctx.builder.shuffle_vector(a, a if b is None else b, index_mask(indices))


def half(ctx: LoweringContext, value: ir.Value, high: bool) -> ir.Value:
    """The low or high half of a vector's lanes."""
    n = value.type.count // 2
    start = n if high else 0
    return shuffle(ctx, value, None, range(start, start + n))


def pad_with_zeros(ctx: LoweringContext, value: ir.Value) -> ir.Value:
    """A vector of N lanes widened to 2N lanes, the upper ones zero (the `_zero` forms)."""
    n = value.type.count
    return shuffle(ctx, value, zero(value.type), range(2 * n))


def splat(ctx: LoweringContext, scalar: ir.Value, count: int) -> ir.Value:
    """`count` copies of `scalar`: insertelement + a zero-mask shufflevector (a broadcast)."""
    ty = ir.VectorType(scalar.type, count)
    one = ctx.builder.insert_element(zero(ty), scalar, ir.Constant(I32, 0))
    return shuffle(ctx, one, None, [0] * count)


def call_vector_intrinsic(
    ctx: LoweringContext, base: str, *args: ir.Value, ret: ir.Type | None = None
) -> ir.Value:
    """Call the intrinsic `base` overloaded on its first operand's vector type; it returns
    that type unless `ret` says otherwise (then the name has both suffixes, ret first, as
    for llvm.fptosi.sat.v4i32.v4f32)."""
    ty = args[0].type
    name = f"{base}.{vector_suffix(ty)}"
    if ret is not None:
        name = f"{base}.{vector_suffix(ret)}.{vector_suffix(ty)}"
    fn = ctx.intrinsic(name, ret or ty, [a.type for a in args])
    return ctx.builder.call(fn, args)


def canonicalize(ctx: LoweringContext, value: ir.Value) -> ir.Value:
    """Quiet signaling NaN lanes; other lanes are unchanged (see numeric.py for why)."""
    return call_vector_intrinsic(ctx, "llvm.canonicalize", value)


# --- v128 constants ----------------------------------------------------------------------


def v128_constant(data: bytes) -> ir.Constant:
    """The V128 constant with these 16 bytes (little-endian lanes), as v128.const gives."""
    lo, hi = struct.unpack("<QQ", data)
    return ir.Constant(V128, [lo, hi])


def constant_bytes(value: ir.Value) -> bytes | None:
    """The 16 bytes of a V128 constant made by `v128_constant` (or zeroinitializer);
    None for anything else, including constants spelled another way."""
    if not isinstance(value, ir.Constant) or value.type != V128:
        return None
    lanes = value.constant
    if lanes is None:
        return bytes(16)
    if not isinstance(lanes, (list, tuple)) or len(lanes) != 2:
        return None
    words = [lane.constant if isinstance(lane, ir.Constant) else lane for lane in lanes]
    if not all(isinstance(w, int) for w in words):
        return None
    return struct.pack("<QQ", *(w % (1 << 64) for w in words))


def constant_lanes(value: ir.Value, shape: str) -> tuple[float, ...] | None:
    """The float lanes of a V128 constant, or None if `value` is not a readable one."""
    data = constant_bytes(value)
    if data is None:
        return None
    fmt = "<4f" if shape == "f32x4" else "<2d"
    return struct.unpack(fmt, data)
