"""LLVM types for wasm values, shared by every lowering."""

from __future__ import annotations

from functools import lru_cache

from llvmlite import ir

from aot.wasm.types import ValType

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I16 = ir.IntType(16)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
I128 = ir.IntType(128)
F32 = ir.FloatType()
F64 = ir.DoubleType()
V128 = ir.VectorType(I64, 2)  # the canonical v128 representation; lanes are bitcast views
PTR = ir.PointerType()  # opaque pointer (LLVM >= 17)
VOID = ir.VoidType()

_LLVM_TYPE = {
    ValType.I32: I32,
    ValType.I64: I64,
    ValType.F32: F32,
    ValType.F64: F64,
    ValType.V128: V128,
    ValType.FUNCREF: PTR,
    ValType.EXTERNREF: PTR,
}


def llvm_type(vt: ValType) -> ir.Type:
    return _LLVM_TYPE[vt]


def zero_value(vt: ValType) -> ir.Constant:
    """The default value of a local of type `vt` (spec: zero / null)."""
    t = _LLVM_TYPE[vt]
    if vt.is_ref:
        return ir.Constant(t, None)
    if vt == ValType.V128:
        return ir.Constant(t, [ir.Constant(I64, 0), ir.Constant(I64, 0)])
    return ir.Constant(t, 0)


# Integer constants, made once each: llvmlite's `Constant` wraps and formats its value
# on creation and first print, and every i32.const, memarg offset and trap site is one.
# Shared: a constant is never modified once made.
@lru_cache(maxsize=1 << 14)
def const_i32(value: int) -> ir.Constant:
    return ir.Constant(I32, value)


@lru_cache(maxsize=1 << 14)
def const_i64(value: int) -> ir.Constant:
    return ir.Constant(I64, value)
