"""SIMD constants and lane operators of WebAssembly 2.0: v128.const, i8x16.shuffle,
i8x16.swizzle, splat, extract_lane (_s/_u), replace_lane.

Operators with an immediate (constant bytes, shuffle mask, lane index) are stateful: they
read `instr.imm`.  Lane indices are validated, so every extract/insert is in range.
"""

from __future__ import annotations

from llvmlite import ir

from aot.codegen.function import FunctionTranslator
from aot.codegen.llvmtypes import I32
from aot.codegen.ops.registry import (
    LoweringContext,
    PureLowering,
    StatefulLowering,
    register_pure,
    stateful,
)
from aot.codegen.ops.simd_types import (
    LANE_SCALAR,
    SHAPES,
    index_mask,
    lanewise,
    splat,
    splat_constant,
    to_v128,
    v128_constant,
    view,
    zero,
)
from aot.wasm.instr import Instr

# extract_lane: shape and how a narrow lane widens to its i32 ("s", "u"; None: no widening).
_EXTRACTS: dict[str, tuple[str, str | None]] = {
    "i8x16.extract_lane_s": ("i8x16", "s"),
    "i8x16.extract_lane_u": ("i8x16", "u"),
    "i16x8.extract_lane_s": ("i16x8", "s"),
    "i16x8.extract_lane_u": ("i16x8", "u"),
    "i32x4.extract_lane": ("i32x4", None),
    "i64x2.extract_lane": ("i64x2", None),
    "f32x4.extract_lane": ("f32x4", None),
    "f64x2.extract_lane": ("f64x2", None),
}
_WIDEN_METHOD: dict[str, str] = {"s": "sext", "u": "zext"}


def _lane_value(ctx: LoweringContext, scalar: ir.Value, shape: str) -> ir.Value:
    """A wasm scalar as a lane of `shape`: narrow integer lanes keep the low bits."""
    element = SHAPES[shape].element
    return scalar if scalar.type == element else ctx.builder.trunc(scalar, element)


@stateful("v128.const")
def v128_const(tr: FunctionTranslator, ins: Instr) -> None:
    tr.stack.append(v128_constant(ins.imm))


@stateful("i8x16.shuffle")
def i8x16_shuffle(tr: FunctionTranslator, ins: Instr) -> None:
    # Indices 0..15 pick from a, 16..31 from b: exactly shufflevector's mask.
    b = view(tr, tr.stack.pop(), "i8x16")
    a = view(tr, tr.stack.pop(), "i8x16")
    tr.stack.append(to_v128(tr, tr.builder.shuffle_vector(a, b, index_mask(ins.imm))))


def _swizzle(ctx: LoweringContext, a: ir.Value, indices: ir.Value) -> ir.Value:
    """a[indices[i]], or 0 where indices[i] >= 16.  LLVM has no dynamic shuffle, but it
    turns a vector built of variable-index extracts into one (pshufb on x86, tbl on
    aarch64); indices are masked first since an out-of-range extract is poison, and the
    out-of-range lanes are zeroed after."""
    bld = ctx.builder
    masked = bld.and_(indices, splat_constant(indices.type, 15))
    result = zero(a.type)
    for i in range(a.type.count):
        lane = bld.extract_element(a, bld.extract_element(masked, ir.Constant(I32, i)))
        result = bld.insert_element(result, lane, ir.Constant(I32, i))
    in_range = bld.icmp_unsigned("<", indices, splat_constant(indices.type, 16))
    return bld.select(in_range, result, zero(a.type))


def _splat(shape: str) -> PureLowering:
    def lower(ctx: LoweringContext, scalar: ir.Value) -> ir.Value:
        vector = splat(ctx, _lane_value(ctx, scalar, shape), SHAPES[shape].count)
        return to_v128(ctx, vector)

    return lower


def _extract(shape: str, widen: str | None) -> StatefulLowering:
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        bld = tr.builder
        lane = bld.extract_element(view(tr, tr.stack.pop(), shape), ir.Constant(I32, ins.imm))
        if widen is not None:
            lane = getattr(bld, _WIDEN_METHOD[widen])(lane, LANE_SCALAR[shape])
        tr.stack.append(lane)

    return lower


def _replace(shape: str) -> StatefulLowering:
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        scalar = _lane_value(tr, tr.stack.pop(), shape)
        vector = view(tr, tr.stack.pop(), shape)
        updated = tr.builder.insert_element(vector, scalar, ir.Constant(I32, ins.imm))
        tr.stack.append(to_v128(tr, updated))

    return lower


register_pure("i8x16.swizzle", 2, lanewise("i8x16", _swizzle))
for _shape in SHAPES:
    register_pure(f"{_shape}.splat", 1, _splat(_shape))
    stateful(f"{_shape}.replace_lane")(_replace(_shape))
for _name, (_shape, _widen) in _EXTRACTS.items():
    stateful(_name)(_extract(_shape, _widen))
