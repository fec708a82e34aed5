"""call and call_indirect.

Defined functions are called directly with `fastcc` (their internal form).  Imported
functions and table entries are called through a VMFuncRef with the wasm-call ABI:
`R0 f(callee_vmctx, caller_vmctx, params..., ret_area)`."""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

from aot.abi.signatures import has_ret_area
from aot.abi.traps import TrapCode
from aot.abi.vmctx import FuncRef, TableDef
from aot.codegen.function import FunctionTranslator
from aot.codegen.irutil import gep_bytes, indirect_call, load_at, slot_load
from aot.codegen.llvmtypes import I32, I64, PTR
from aot.codegen.module_context import wasm_call_fnty
from aot.codegen.ops.registry import stateful
from aot.wasm.instr import Instr
from aot.wasm.types import FuncType


def push_results(tr: FunctionTranslator, ft: FuncType, result: ir.Value) -> None:
    """Push the results of an internal (fastcc) call: none, one, or a struct."""
    n = len(ft.results)
    if n == 1:
        tr.stack.append(result)
    elif n > 1:
        b = tr.builder
        tr.stack.extend(b.extract_value(result, i) for i in range(n))


def call_funcref(tr: FunctionTranslator, ft: FuncType, callee_vmctx: ir.Value,
                 fp: ir.Value, args: Sequence[ir.Value]) -> None:
    """Call `fp` with the wasm-call ABI and push its results."""
    b = tr.builder
    call_args = [callee_vmctx, tr.vmctx, *args]
    ret_area = None
    if has_ret_area(ft):
        ret_area = tr.ret_area()
        call_args.append(ret_area)
    live = tr.gc.before_call() if tr.gc is not None else None
    r0 = indirect_call(b, wasm_call_fnty(ft), fp, call_args)
    if live is not None:
        tr.gc.after_call(live)
    if ft.results:
        tr.stack.append(r0)
    for i, t in enumerate(ft.results[1:]):
        tr.stack.append(slot_load(b, ret_area, i, t))


def funcref_fields(tr: FunctionTranslator, ref: ir.Value) -> tuple[ir.Value, ir.Value]:
    b = tr.builder
    tb = tr.mc.tbaa.runtime
    return (load_at(b, ref, FuncRef.WASM_CALL, PTR, tb), load_at(b, ref, FuncRef.VMCTX, PTR, tb))


@stateful("call")
def call(tr: FunctionTranslator, ins: Instr) -> None:
    mc = tr.mc
    idx = ins.imm
    ft = mc.func_types[idx]
    args = tr.popn(len(ft.params))
    if idx < mc.n_imported_funcs:
        ref = gep_bytes(tr.builder, tr.vmctx, mc.layout.func_ref(idx))
        fp, callee_vmctx = funcref_fields(tr, ref)
        call_funcref(tr, ft, callee_vmctx, fp, args)
        return
    fn = mc.internal_funcs[idx]
    live = tr.gc.before_call() if tr.gc is not None else None
    result = tr.builder.call(fn, [tr.vmctx, *args])
    if live is not None:
        tr.gc.after_call(live)
    push_results(tr, ft, result)


@stateful("call_indirect")
def call_indirect(tr: FunctionTranslator, ins: Instr) -> None:
    type_index, table_index = ins.imm
    mc = tr.mc
    ft = mc.wasm.types[type_index]
    b = tr.builder
    index = tr.stack.pop()
    args = tr.popn(len(ft.params))
    tdef = load_at(tr.entry_builder, tr.vmctx, mc.layout.table(table_index), PTR,
                   mc.tbaa.vmctx, invariant=True)
    length = load_at(b, tdef, TableDef.LENGTH, I64, mc.tbaa.runtime)
    index64 = b.zext(index, I64)
    tr.trap_if(b.icmp_unsigned(">=", index64, length), TrapCode.UNDEFINED_ELEMENT)
    base = load_at(b, tdef, TableDef.BASE, PTR, mc.tbaa.runtime)
    slot = b.gep(base, [index64], source_etype=PTR, inbounds=True)
    ref = b.load(slot, typ=PTR, align=8)
    ref.set_metadata("tbaa", mc.tbaa.table)
    tr.trap_if(b.icmp_unsigned("==", ref, ir.Constant(PTR, None)), TrapCode.INDIRECT_CALL_TO_NULL)
    actual = load_at(b, ref, FuncRef.TYPE_ID, I32, mc.tbaa.runtime)
    expected = load_at(b, tr.vmctx, mc.layout.type_id(type_index), I32, mc.tbaa.vmctx, invariant=True)
    tr.trap_if(b.icmp_unsigned("!=", actual, expected), TrapCode.BAD_SIGNATURE)
    fp, callee_vmctx = funcref_fields(tr, ref)
    call_funcref(tr, ft, callee_vmctx, fp, args)
