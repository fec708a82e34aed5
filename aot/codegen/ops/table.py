"""Table instructions: table.get/set/size/grow/fill/copy/init and elem.drop.

Every range is checked whole before anything is written (bulk-memory semantics), in
64-bit arithmetic so that `offset + length` cannot wrap."""

from __future__ import annotations

from llvmlite import ir

from aot.abi.traps import GROW_TRAPS, TrapCode
from aot.abi.vmctx import Builtin, TableDef
from aot.codegen.function import FunctionTranslator
from aot.codegen.irutil import gep_bytes, load_at
from aot.codegen.llvmtypes import I32, I64, PTR
from aot.codegen.ops.memory import call_builtin, check_range
from aot.codegen.ops.registry import stateful
from aot.wasm.instr import Instr


def table_def(tr: FunctionTranslator, index: int) -> ir.Value:
    mc = tr.mc
    return load_at(tr.entry_builder, tr.vmctx, mc.layout.table(index), PTR, mc.tbaa.vmctx,
                   invariant=True, name=f"table{index}_def")


def table_length(tr: FunctionTranslator, index: int) -> ir.Value:
    return load_at(tr.builder, table_def(tr, index), TableDef.LENGTH, I64, tr.mc.tbaa.runtime)


def table_base(tr: FunctionTranslator, index: int) -> ir.Value:
    return load_at(tr.builder, table_def(tr, index), TableDef.BASE, PTR, tr.mc.tbaa.runtime)


def element_ptr(tr: FunctionTranslator, base: ir.Value, index64: ir.Value) -> ir.Value:
    return tr.builder.gep(base, [index64], source_etype=PTR, inbounds=True)


def _copy_elements(tr: FunctionTranslator, dst: ir.Value, src: ir.Value, count64: ir.Value) -> None:
    b = tr.builder
    call_builtin(tr, Builtin.MEMMOVE, PTR, [dst, src, b.mul(count64, ir.Constant(I64, 8))])


@stateful("table.get")
def table_get(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    index = b.zext(tr.stack.pop(), I64)
    tr.trap_if(b.icmp_unsigned(">=", index, table_length(tr, ins.imm)), TrapCode.TABLE_OUT_OF_BOUNDS)
    v = b.load(element_ptr(tr, table_base(tr, ins.imm), index), typ=PTR, align=8)
    v.set_metadata("tbaa", tr.mc.tbaa.table)
    tr.stack.append(v)


@stateful("table.set")
def table_set(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    value = tr.stack.pop()
    index = b.zext(tr.stack.pop(), I64)
    tr.trap_if(b.icmp_unsigned(">=", index, table_length(tr, ins.imm)), TrapCode.TABLE_OUT_OF_BOUNDS)
    st = b.store(value, element_ptr(tr, table_base(tr, ins.imm), index), align=8)
    st.set_metadata("tbaa", tr.mc.tbaa.table)


@stateful("table.size")
def table_size(tr: FunctionTranslator, ins: Instr) -> None:
    tr.stack.append(tr.builder.trunc(table_length(tr, ins.imm), I32))


@stateful("table.grow")
def table_grow(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    delta = b.zext(tr.stack.pop(), I64)
    init = tr.stack.pop()
    old = call_builtin(tr, Builtin.TABLE_GROW, I64, [tr.vmctx, ir.Constant(I32, ins.imm), delta, init])
    tr.trap_if(b.icmp_signed("==", old, ir.Constant(I64, GROW_TRAPS)), TrapCode.GROW_LIMIT)
    tr.stack.append(b.trunc(old, I32))


@stateful("table.fill")
def table_fill(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    count = b.zext(tr.stack.pop(), I64)
    value = tr.stack.pop()
    start = b.zext(tr.stack.pop(), I64)
    check_range(tr, start, count, table_length(tr, ins.imm), TrapCode.TABLE_OUT_OF_BOUNDS)
    base = table_base(tr, ins.imm)
    # for (i = 0; i < count; i++) base[start + i] = value
    head = tr.new_block("fill_head")
    body = tr.new_block("fill_body")
    done = tr.new_block("fill_done")
    pre = b.block
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64)
    i.add_incoming(ir.Constant(I64, 0), pre)
    b.cbranch(b.icmp_unsigned("<", i, count), body, done)
    b.position_at_end(body)
    b.store(value, element_ptr(tr, base, b.add(start, i)), align=8)
    i.add_incoming(b.add(i, ir.Constant(I64, 1)), body)
    b.branch(head)
    b.position_at_end(done)


@stateful("table.copy")
def table_copy(tr: FunctionTranslator, ins: Instr) -> None:
    dst_table, src_table = ins.imm
    b = tr.builder
    count = b.zext(tr.stack.pop(), I64)
    src = b.zext(tr.stack.pop(), I64)
    dst = b.zext(tr.stack.pop(), I64)
    check_range(tr, src, count, table_length(tr, src_table), TrapCode.TABLE_OUT_OF_BOUNDS)
    check_range(tr, dst, count, table_length(tr, dst_table), TrapCode.TABLE_OUT_OF_BOUNDS)
    _copy_elements(tr, element_ptr(tr, table_base(tr, dst_table), dst),
                   element_ptr(tr, table_base(tr, src_table), src), count)


@stateful("table.init")
def table_init(tr: FunctionTranslator, ins: Instr) -> None:
    segment, table = ins.imm
    mc = tr.mc
    b = tr.builder
    count = b.zext(tr.stack.pop(), I64)
    src = b.zext(tr.stack.pop(), I64)
    dst = b.zext(tr.stack.pop(), I64)
    seg_len = load_at(b, tr.vmctx, mc.layout.elem_length(segment), I64, mc.tbaa.runtime)
    check_range(tr, src, count, seg_len, TrapCode.TABLE_OUT_OF_BOUNDS)
    check_range(tr, dst, count, table_length(tr, table), TrapCode.TABLE_OUT_OF_BOUNDS)
    if segment not in mc.elem_item_base:
        return  # never passive: its length is 0, so only count == 0 got here
    items = gep_bytes(b, tr.vmctx, mc.layout.elem_items + 8 * mc.elem_item_base[segment])
    _copy_elements(tr, element_ptr(tr, table_base(tr, table), dst),
                   element_ptr(tr, items, src), count)


@stateful("elem.drop")
def elem_drop(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    st = b.store(ir.Constant(I64, 0), gep_bytes(b, tr.vmctx, tr.mc.layout.elem_length(ins.imm)), align=8)
    st.set_metadata("tbaa", tr.mc.tbaa.runtime)
