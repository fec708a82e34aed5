"""call and call_indirect, and their tail-call forms return_call and return_call_indirect.

Defined functions are called directly with `fastcc` (their internal form; `tailcc` in a
module that makes tail calls).  Imported functions and table entries are called through
a VMFuncRef with the wasm-call ABI: `R0 f(callee_vmctx, caller_vmctx, params...,
ret_area)`, whose convention is `tailcc` too.  A tail call is an LLVM `musttail` call
followed by `ret`: under tailcc the callee may take other parameters than the caller,
and the frame is reused, so tail recursion runs in constant stack."""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

from aot.abi.signatures import WASM_CALL_CONV, has_ret_area
from aot.abi.traps import TrapCode
from aot.abi.vmctx import FuncRef, TableDef
from aot.codegen.function import FunctionTranslator
from aot.codegen.irutil import gep_bytes, indirect_call, load_at, slot_load
from aot.codegen.llvmtypes import I32, I64, PTR
from aot.codegen.module_context import wasm_call_fnty
from aot.codegen.ops.registry import stateful
from aot.errors import NotSupportedError
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
    r0 = indirect_call(b, wasm_call_fnty(ft), fp, call_args, cconv=WASM_CALL_CONV)
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


def imported_callee(tr: FunctionTranslator, idx: int) -> tuple[ir.Value, ir.Value] | None:
    """(wasm_call, vmctx) of function `idx` when it is imported (called through its
    VMFuncRef), None when it is defined here (called directly)."""
    if idx >= tr.mc.n_imported_funcs:
        return None
    return funcref_fields(tr, gep_bytes(tr.builder, tr.vmctx, tr.mc.layout.func_ref(idx)))


@stateful("call")
def call(tr: FunctionTranslator, ins: Instr) -> None:
    mc = tr.mc
    idx = ins.imm
    ft = mc.func_types[idx]
    args = tr.popn(len(ft.params))
    imported = imported_callee(tr, idx)
    if imported is not None:
        call_funcref(tr, ft, imported[1], imported[0], args)
        return
    fn = mc.internal_funcs[idx]
    live = tr.gc.before_call() if tr.gc is not None else None
    result = tr.builder.call(fn, [tr.vmctx, *args])
    if live is not None:
        tr.gc.after_call(live)
    push_results(tr, ft, result)


def checked_table_ref(tr: FunctionTranslator, type_index: int, table_index: int,
                      index: ir.Value) -> ir.Value:
    """The VMFuncRef at `index` of the table, after call_indirect's three checks: in
    bounds, not null, of the expected type."""
    mc = tr.mc
    b = tr.builder
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
    return ref


@stateful("call_indirect")
def call_indirect(tr: FunctionTranslator, ins: Instr) -> None:
    type_index, table_index = ins.imm
    ft = tr.mc.wasm.types[type_index]
    index = tr.stack.pop()
    args = tr.popn(len(ft.params))
    fp, callee_vmctx = funcref_fields(tr, checked_table_ref(tr, type_index, table_index, index))
    call_funcref(tr, ft, callee_vmctx, fp, args)


# --- tail calls ----------------------------------------------------------------------

def _return_result(tr: FunctionTranslator, ft: FuncType, result: ir.Value) -> None:
    b = tr.builder
    if ft.results:
        b.ret(result)
    else:
        b.ret_void()
    tr.mark_unreachable()


def tail_call_funcref(tr: FunctionTranslator, ft: FuncType, callee_vmctx: ir.Value,
                      fp: ir.Value, args: Sequence[ir.Value], what: str) -> None:
    """Tail-call `fp` with the wasm-call ABI.  Its first result comes back in a register
    as the caller's (an internal function's) own; the others would land in a ret_area
    of this frame, which the tail call frees: refused."""
    if has_ret_area(ft):
        raise NotSupportedError(f"tail calls: {what} of a function with {len(ft.results)} "
                                "results", tr.current.offset, tr.func_index)
    r0 = indirect_call(tr.builder, wasm_call_fnty(ft), fp, [callee_vmctx, tr.vmctx, *args],
                       cconv=WASM_CALL_CONV, tail="musttail")
    _return_result(tr, ft, r0)


@stateful("return_call")
def return_call(tr: FunctionTranslator, ins: Instr) -> None:
    mc = tr.mc
    idx = ins.imm
    ft = mc.func_types[idx]
    args = tr.popn(len(ft.params))
    imported = imported_callee(tr, idx)
    if imported is not None:
        tail_call_funcref(tr, ft, imported[1], imported[0], args, "return_call of an import")
        return
    # No GC roots to record: this frame is gone once the callee runs.
    result = tr.builder.call(mc.internal_funcs[idx], [tr.vmctx, *args], tail="musttail")
    _return_result(tr, ft, result)


@stateful("return_call_indirect")
def return_call_indirect(tr: FunctionTranslator, ins: Instr) -> None:
    type_index, table_index = ins.imm
    ft = tr.mc.wasm.types[type_index]
    index = tr.stack.pop()
    args = tr.popn(len(ft.params))
    fp, callee_vmctx = funcref_fields(tr, checked_table_ref(tr, type_index, table_index, index))
    tail_call_funcref(tr, ft, callee_vmctx, fp, args, "return_call_indirect")
