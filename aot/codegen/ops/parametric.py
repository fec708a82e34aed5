"""Constants and the parametric operators drop and select."""

from __future__ import annotations

from llvmlite import ir

from aot.codegen.function import FunctionTranslator
from aot.codegen.llvmtypes import F32, F64, I32, I64, const_i32, const_i64
from aot.codegen.ops.registry import stateful
from aot.wasm.instr import Instr


def f32_bits(bits: int) -> ir.Constant:
    """An f32 constant with exactly these IEEE bits (NaN payloads included)."""
    return ir.Constant(I32, bits & 0xFFFFFFFF).bitcast(F32)


def f64_bits(bits: int) -> ir.Constant:
    return ir.Constant(I64, bits & 0xFFFFFFFFFFFFFFFF).bitcast(F64)


@stateful("i32.const")
def i32_const(tr: FunctionTranslator, ins: Instr) -> None:
    tr.stack.append(const_i32(ins.imm & 0xFFFFFFFF))


@stateful("i64.const")
def i64_const(tr: FunctionTranslator, ins: Instr) -> None:
    tr.stack.append(const_i64(ins.imm & 0xFFFFFFFFFFFFFFFF))


@stateful("f32.const")
def f32_const(tr: FunctionTranslator, ins: Instr) -> None:
    tr.stack.append(f32_bits(ins.imm))


@stateful("f64.const")
def f64_const(tr: FunctionTranslator, ins: Instr) -> None:
    tr.stack.append(f64_bits(ins.imm))


@stateful("drop")
def drop(tr: FunctionTranslator, ins: Instr) -> None:
    tr.stack.pop()


@stateful("select")
def select(tr: FunctionTranslator, ins: Instr) -> None:
    s = tr.stack
    cond = s.pop()
    b_val = s.pop()
    a_val = s[-1]
    b = tr.builder
    s[-1] = b.select(b.icmp_unsigned("!=", cond, const_i32(0)), a_val, b_val)
