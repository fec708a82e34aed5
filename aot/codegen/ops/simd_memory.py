"""SIMD memory operators of WebAssembly 2.0: v128.load/store, the extending loads
(load8x8_s ...), load_splat, load_zero, load_lane and store_lane.

Each accesses exactly the bytes wasm says (8 for load16x4, 1 for load8_lane ...), through
`heap_address`, so each traps exactly when `addr + offset + width > length`; all are
unaligned (align=1: wasm's alignment is only a hint) and tagged as linear memory for TBAA.
"""

from __future__ import annotations

from llvmlite import ir

from aot.codegen.function import FunctionTranslator
from aot.codegen.llvmtypes import I8, I16, I32, I64, V128
from aot.codegen.ops.memory import heap_address, load_heap, tag_heap
from aot.codegen.ops.registry import StatefulLowering, stateful
from aot.codegen.ops.simd_types import SHAPES, splat, to_v128, view, zero
from aot.wasm.instr import Instr

_INT_BY_BYTES: dict[int, ir.IntType] = {1: I8, 2: I16, 4: I32, 8: I64}
_LANE_SHAPE: dict[int, str] = {1: "i8x16", 2: "i16x8", 4: "i32x4", 8: "i64x2"}

# Extending loads: 8 bytes as lanes of n bytes, widened ("s"/"u") to twice as wide.
_EXTENDING_LOADS: dict[str, tuple[int, str]] = {
    f"v128.load{8 * n}x{8 // n}_{sx}": (n, sx) for n in (1, 2, 4) for sx in ("s", "u")
}
_WIDEN_METHOD: dict[str, str] = {"s": "sext", "u": "zext"}
# Memory widths of the splat / zero / lane variants.
_SPLAT_LOADS: dict[str, int] = {f"v128.load{8 * n}_splat": n for n in (1, 2, 4, 8)}
_ZERO_LOADS: dict[str, int] = {f"v128.load{8 * n}_zero": n for n in (4, 8)}
_LANE_LOADS: dict[str, int] = {f"v128.load{8 * n}_lane": n for n in (1, 2, 4, 8)}
_LANE_STORES: dict[str, int] = {f"v128.store{8 * n}_lane": n for n in (1, 2, 4, 8)}


def _load(tr: FunctionTranslator, ins: Instr, ty: ir.Type, width: int) -> ir.Value:
    """Pop the address, check it and load `width` bytes as `ty`."""
    _align, offset, memory = ins.imm[:3]
    ptr = heap_address(tr, memory, tr.stack.pop(), offset, width)
    return load_heap(tr, memory, ptr, ty)


def _store(tr: FunctionTranslator, ins: Instr, value: ir.Value, width: int) -> None:
    """Pop the address, check it and store `value` (of `width` bytes) there."""
    _align, offset, memory = ins.imm[:3]
    ptr = heap_address(tr, memory, tr.stack.pop(), offset, width)
    tag_heap(tr, tr.builder.store(value, ptr, align=1))


@stateful("v128.load")
def v128_load(tr: FunctionTranslator, ins: Instr) -> None:
    tr.stack.append(_load(tr, ins, V128, 16))


@stateful("v128.store")
def v128_store(tr: FunctionTranslator, ins: Instr) -> None:
    value = tr.stack.pop()
    _store(tr, ins, value, 16)


def _extending_load(lane_bytes: int, sx: str) -> StatefulLowering:
    narrow = ir.VectorType(_INT_BY_BYTES[lane_bytes], 8 // lane_bytes)
    wide = ir.VectorType(_INT_BY_BYTES[2 * lane_bytes], 8 // lane_bytes)

    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        lanes = _load(tr, ins, narrow, 8)
        tr.stack.append(to_v128(tr, getattr(tr.builder, _WIDEN_METHOD[sx])(lanes, wide)))

    return lower


def _splat_load(width: int) -> StatefulLowering:
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        scalar = _load(tr, ins, _INT_BY_BYTES[width], width)
        tr.stack.append(to_v128(tr, splat(tr, scalar, 16 // width)))

    return lower


def _zero_load(width: int) -> StatefulLowering:
    shape = _LANE_SHAPE[width]

    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        # Lane 0 loaded, the others zero (movd/movq).
        scalar = _load(tr, ins, _INT_BY_BYTES[width], width)
        vector = tr.builder.insert_element(zero(SHAPES[shape]), scalar, ir.Constant(I32, 0))
        tr.stack.append(to_v128(tr, vector))

    return lower


def _lane_load(width: int) -> StatefulLowering:
    shape = _LANE_SHAPE[width]

    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        vector = view(tr, tr.stack.pop(), shape)
        scalar = _load(tr, ins, _INT_BY_BYTES[width], width)
        lane = ir.Constant(I32, ins.imm[3])
        tr.stack.append(to_v128(tr, tr.builder.insert_element(vector, scalar, lane)))

    return lower


def _lane_store(width: int) -> StatefulLowering:
    shape = _LANE_SHAPE[width]

    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        vector = view(tr, tr.stack.pop(), shape)
        scalar = tr.builder.extract_element(vector, ir.Constant(I32, ins.imm[3]))
        _store(tr, ins, scalar, width)

    return lower


for _name, (_bytes, _sx) in _EXTENDING_LOADS.items():
    stateful(_name)(_extending_load(_bytes, _sx))
for _name, _width in _SPLAT_LOADS.items():
    stateful(_name)(_splat_load(_width))
for _name, _width in _ZERO_LOADS.items():
    stateful(_name)(_zero_load(_width))
for _name, _width in _LANE_LOADS.items():
    stateful(_name)(_lane_load(_width))
for _name, _width in _LANE_STORES.items():
    stateful(_name)(_lane_store(_width))
