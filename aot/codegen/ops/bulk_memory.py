"""Bulk memory: memory.copy, memory.fill, memory.init, data.drop: libc's memmove/memset/
memcpy (through the builtin table) after the whole range has been checked."""

from __future__ import annotations

from llvmlite import ir

from aot.abi.traps import TrapCode
from aot.abi.vmctx import Builtin
from aot.codegen.function import FunctionTranslator
from aot.codegen.irutil import gep_bytes, load_at
from aot.codegen.llvmtypes import I8, I32, I64, PTR
from aot.codegen.ops.memory import call_builtin, check_range, index_operand
from aot.codegen.ops.registry import stateful
from aot.wasm.instr import Instr


def _operands(tr: FunctionTranslator) -> tuple[ir.Value, ir.Value, ir.Value]:
    """Pop (dst, src-or-value, count) in wasm order; dst and count as i64."""
    count = tr.stack.pop()
    second = tr.stack.pop()
    dst = tr.stack.pop()
    return index_operand(tr, dst), second, index_operand(tr, count)


@stateful("memory.copy")
def memory_copy(tr: FunctionTranslator, ins: Instr) -> None:
    dst_mem, src_mem = ins.imm
    b = tr.builder
    dst, src, count = _operands(tr)
    src = index_operand(tr, src)
    dst_base, dst_len = tr.memory_base_and_length(dst_mem)
    src_base, src_len = (dst_base, dst_len) if src_mem == dst_mem else tr.memory_base_and_length(src_mem)
    is64 = tr.mc.memory_types
    check_range(tr, src, count, src_len, TrapCode.MEMORY_OUT_OF_BOUNDS, is64[src_mem].is64)
    check_range(tr, dst, count, dst_len, TrapCode.MEMORY_OUT_OF_BOUNDS, is64[dst_mem].is64)
    call_builtin(tr, Builtin.MEMMOVE, PTR, [b.gep(dst_base, [dst], source_etype=I8),
                                            b.gep(src_base, [src], source_etype=I8), count])


@stateful("memory.fill")
def memory_fill(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    dst, value, count = _operands(tr)
    base, length = tr.memory_base_and_length(ins.imm)
    check_range(tr, dst, count, length, TrapCode.MEMORY_OUT_OF_BOUNDS,
                tr.mc.memory_types[ins.imm].is64)
    call_builtin(tr, Builtin.MEMSET, PTR, [b.gep(base, [dst], source_etype=I8),
                                           b.and_(value, ir.Constant(I32, 0xFF)), count])


@stateful("memory.init")
def memory_init(tr: FunctionTranslator, ins: Instr) -> None:
    segment, memory = ins.imm
    mc = tr.mc
    b = tr.builder
    dst, src, count = _operands(tr)
    src = b.zext(src, I64)
    seg_len = load_at(b, tr.vmctx, mc.layout.data_length(segment), I64, mc.tbaa.runtime)
    base, length = tr.memory_base_and_length(memory)
    check_range(tr, src, count, seg_len, TrapCode.MEMORY_OUT_OF_BOUNDS)
    check_range(tr, dst, count, length, TrapCode.MEMORY_OUT_OF_BOUNDS,
                mc.memory_types[memory].is64)
    if not mc.wasm.datas[segment].data:
        return
    src_ptr = b.gep(mc.data_global(segment), [src], source_etype=I8)
    call_builtin(tr, Builtin.MEMCPY, PTR, [b.gep(base, [dst], source_etype=I8), src_ptr, count])


@stateful("data.drop")
def data_drop(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    st = b.store(ir.Constant(I64, 0), gep_bytes(b, tr.vmctx, tr.mc.layout.data_length(ins.imm)), align=8)
    st.set_metadata("tbaa", tr.mc.tbaa.runtime)
