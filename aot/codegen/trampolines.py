"""The functions that connect compiled wasm with the outside (`aot.abi.signatures`):

* wasm-call wrappers: the escaping form of a defined function;
* array entries: host -> wasm, with the trap landing point and the stack limit;
* host-call trampolines: wasm -> host, through a callback with a ValRaw buffer.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from aot.abi.signatures import WASM_CALL_CONV, has_ret_area, values_slots
from aot.abi.traps import TrapCode
from aot.abi.vmctx import (
    INTERRUPT_SENTINEL,
    Activation,
    FuncRef,
    HostCtx,
    StoreCtx,
    VMContextLayout,
)
from aot.codegen.irutil import (
    alloca_bytes,
    gep_bytes,
    indirect_call,
    load_at,
    slot_load,
    slot_store,
    store_at,
    store_atomic,
)
from aot.codegen.llvmtypes import I32, I64, PTR
from aot.codegen.module_context import ModuleContext, wasm_call_fnty
from aot.codegen.pyentry import PyApiTable, emit_native_host_call
from aot.wasm.types import FuncType

# The activation record (`aot.abi.vmctx.Activation`): llvm.eh.sjlj.setjmp's five words,
# then the links the collector's stack walk follows.
ACTIVATION = ir.ArrayType(PTR, Activation.WORDS)


def declare_wasm_call(mc: ModuleContext, index: int) -> ir.Function:
    """The wasm-call ABI wrapper of defined function `index`: defined in its function's
    unit, a hidden declaration elsewhere."""
    fn = ir.Function(mc.ir, wasm_call_fnty(mc.func_types[index]), name=mc.wasm_call_symbol(index))
    fn.linkage = "hidden"
    fn.calling_convention = WASM_CALL_CONV
    return fn


def define_wasm_call(mc: ModuleContext, index: int) -> ir.Function:
    """The wasm-call ABI wrapper of defined function `index`."""
    ft = mc.func_types[index]
    fn = declare_wasm_call(mc, index)
    # Hidden when the runtime part (aot_init) lies in another unit.
    fn.linkage = "internal" if mc.is_runtime_unit else "hidden"
    mc.set_function_attrs(fn)
    b = mc.builder(fn, fn.append_basic_block("entry"))
    callee_vmctx = fn.args[0]
    params = list(fn.args[2 : 2 + len(ft.params)])
    internal = mc.internal_funcs[index]
    # Under tailcc on both sides the wrapper leaves the stack to its function, so a chain
    # of tail calls through funcrefs stays bounded.
    musttail = internal.calling_convention == WASM_CALL_CONV and len(ft.results) <= 1
    r = b.call(internal, [callee_vmctx, *params], tail="musttail" if musttail else True)
    if not ft.results:
        b.ret_void()
    elif len(ft.results) == 1:
        b.ret(r)
    else:
        ret_area = fn.args[-1]
        for i in range(1, len(ft.results)):
            slot_store(b, b.extract_value(r, i), ret_area, i - 1)
        b.ret(b.extract_value(r, 0))
    return fn


def build_armed(
    mc: ModuleContext,
    fn: ir.Function,
    b: ir.IRBuilder,
    store_ctx: ir.Value,
    run: Callable[[ir.IRBuilder], None],
) -> None:
    """Emit the body of an entry: arm the trap landing point (builtin setjmp), grant wasm
    its stack if no outer wasm activation did, `run`, then restore and return 0 — or, when
    wasm trapped and unwound here, restore and return the trap code.

    The outermost entry (no jmp_buf armed yet) owns the stack limit, which doubles as the
    interrupt flag (`INTERRUPT_SENTINEL`, written by `Store.interrupt()` while a call is
    active).  It installs its limit with a compare-and-swap, so an interrupt that races
    with the start of the call is seen, and a sentinel left over from a finished call is
    simply replaced.  Nested entries (host -> wasm) leave the limit alone, and stop at
    once if an interrupt is pending."""
    tb = mc.tbaa.runtime
    limit_ptr = gep_bytes(b, store_ctx, StoreCtx.STACK_LIMIT)
    jmp_buf = b.alloca(ACTIVATION, name="jmp_buf")
    # State needed after the unwind lives in volatile slots: the landing path must not
    # trust registers.
    saved_sc = b.alloca(PTR, name="saved_store_ctx")
    saved_jb = b.alloca(PTR, name="saved_jmp_buf")
    b.store(store_ctx, saved_sc).volatile = True
    old_jb = load_at(b, store_ctx, StoreCtx.JMP_BUF, PTR, tb)
    b.store(old_jb, saved_jb).volatile = True
    old_exit = load_at(b, store_ctx, StoreCtx.LAST_EXIT_FP, PTR, tb)
    b.store(old_jb, _activation_word(b, jmp_buf, Activation.PREV))
    b.store(old_exit, _activation_word(b, jmp_buf, Activation.PREV_EXIT_FP))
    is_outer = b.icmp_unsigned("==", old_jb, ir.Constant(PTR, None))
    seen_limit = b.load_atomic(limit_ptr, "monotonic", 8, typ=I64)
    fa = b.call(mc.intrinsic("llvm.frameaddress.p0", PTR, [I32]), [ir.Constant(I32, 0)])
    max_stack = load_at(b, store_ctx, StoreCtx.MAX_WASM_STACK, I64, tb)
    granted = b.sub(b.ptrtoint(fa, I64), max_stack)

    interrupted = fn.append_basic_block("interrupted")
    ib = ir.IRBuilder(interrupted)
    store_at(ib, ir.Constant(I32, int(TrapCode.INTERRUPT)), store_ctx, StoreCtx.TRAP_CODE, tb)
    ib.ret(ir.Constant(I32, int(TrapCode.INTERRUPT)))

    outer = fn.append_basic_block("outer")
    nested = fn.append_basic_block("nested")
    arm = fn.append_basic_block("arm")
    b.cbranch(is_outer, outer, nested)
    b.position_at_end(outer)
    swapped = b.extract_value(
        b.cmpxchg(limit_ptr, seen_limit, granted, "monotonic", "monotonic"), 1)
    b.cbranch(swapped, arm, interrupted)
    b.position_at_end(nested)
    pending = b.icmp_unsigned("==", seen_limit, ir.Constant(I64, INTERRUPT_SENTINEL))
    b.cbranch(pending, interrupted, arm)

    b.position_at_end(arm)
    b.store(fa, b.gep(jmp_buf, [ir.Constant(I32, 0), ir.Constant(I32, 0)]))
    sp = b.call(mc.intrinsic("llvm.stacksave.p0", PTR, []), [])
    b.store(sp, b.gep(jmp_buf, [ir.Constant(I32, 0), ir.Constant(I32, 2)]))
    setjmp = mc.intrinsic("llvm.eh.sjlj.setjmp", I32, [PTR])
    unwound = b.call(setjmp, [jmp_buf])
    go = fn.append_basic_block("armed")
    landed = fn.append_basic_block("trapped")
    b.cbranch(b.icmp_unsigned("!=", unwound, ir.Constant(I32, 0)), landed, go)

    b.position_at_end(go)
    store_at(b, jmp_buf, store_ctx, StoreCtx.JMP_BUF, tb)
    run(b)
    store_at(b, old_jb, store_ctx, StoreCtx.JMP_BUF, tb)
    store_at(b, old_exit, store_ctx, StoreCtx.LAST_EXIT_FP, tb)
    _leave(b, is_outer, limit_ptr)
    b.ret(ir.Constant(I32, 0))

    b.position_at_end(landed)
    sc = b.load(saved_sc, typ=PTR)
    sc.volatile = True
    jb = b.load(saved_jb, typ=PTR)
    jb.volatile = True
    store_at(b, jb, sc, StoreCtx.JMP_BUF, tb)
    # Host-call trampolines the trap unwound through did not restore last_exit_fp.
    exit_fp = b.load(_activation_word(b, jmp_buf, Activation.PREV_EXIT_FP), typ=PTR)
    exit_fp.volatile = True
    store_at(b, exit_fp, sc, StoreCtx.LAST_EXIT_FP, tb)
    _leave(b, b.icmp_unsigned("==", jb, ir.Constant(PTR, None)), gep_bytes(b, sc, StoreCtx.STACK_LIMIT))
    b.ret(load_at(b, sc, StoreCtx.TRAP_CODE, I32, tb))


def _activation_word(b: ir.IRBuilder, record: ir.Value, offset: int) -> ir.Value:
    return b.gep(record, [ir.Constant(I32, 0), ir.Constant(I32, offset // 8)])


def _leave(b: ir.IRBuilder, is_outer: ir.Value, limit_ptr: ir.Value) -> None:
    """The outermost entry clears the limit (and any interrupt that came too late);
    nested entries leave it alone: it may hold an interrupt for the outer wasm."""
    with b.if_then(is_outer):
        store_atomic(b, ir.Constant(I64, 0), limit_ptr)


def define_array_entry(mc: ModuleContext, type_index: int) -> ir.Function:
    """`uint32_t entry(VMFuncRef *callee, ValRaw *values)` for one function type."""
    ft = mc.wasm.types[type_index]
    fn = ir.Function(mc.ir, ir.FunctionType(I32, [PTR, PTR]), name=f"aot_entry_t{type_index}")
    fn.linkage = "internal"
    mc.set_function_attrs(fn)
    callee, values = fn.args
    b = mc.builder(fn, fn.append_basic_block("entry"))
    tb = mc.tbaa.runtime
    vmctx = load_at(b, callee, FuncRef.VMCTX, PTR, tb)
    fp = load_at(b, callee, FuncRef.WASM_CALL, PTR, tb)
    store_ctx = load_at(b, vmctx, VMContextLayout.STORE_CTX, PTR, mc.tbaa.vmctx)
    ret_area = alloca_bytes(b, 16 * max(len(ft.results) - 1, 1), name="ret_area")

    def run(b: ir.IRBuilder) -> None:
        args = [vmctx, vmctx] + [slot_load(b, values, i, t) for i, t in enumerate(ft.params)]
        if has_ret_area(ft):
            args.append(ret_area)
        r0 = indirect_call(b, wasm_call_fnty(ft), fp, args, cconv=WASM_CALL_CONV)
        if ft.results:
            slot_store(b, r0, values, 0)
        for i, t in enumerate(ft.results[1:], start=1):
            slot_store(b, slot_load(b, ret_area, i - 1, t), values, i)

    build_armed(mc, fn, b, store_ctx, run)
    return fn


def define_host_trampoline(mc: ModuleContext, ft: FuncType, name: str,
                           api: PyApiTable | None = None) -> ir.Function:
    """wasm-call ABI function that forwards to a VMHostContext's callback (or, with
    `api`, straight to its Python callable: `aot.abi.pyapi`)."""
    fn = ir.Function(mc.ir, wasm_call_fnty(ft), name=name)
    fn.linkage = "internal"
    fn.calling_convention = WASM_CALL_CONV
    mc.set_function_attrs(fn)
    b = mc.builder(fn, fn.append_basic_block("entry"))
    host_ctx, caller_vmctx = fn.args[0], fn.args[1]
    slots = values_slots(ft)
    values = alloca_bytes(b, 16 * slots, name="values")
    params = list(fn.args[2 : 2 + len(ft.params)])
    # Where a stack walk of the wasm frames starts while the host runs (the collector's):
    # this frame, whose return address is in the calling wasm function.
    tb = mc.tbaa.runtime
    store_ctx = load_at(b, caller_vmctx, VMContextLayout.STORE_CTX, PTR, mc.tbaa.vmctx)
    old_exit = load_at(b, store_ctx, StoreCtx.LAST_EXIT_FP, PTR, tb)
    frame = b.call(mc.intrinsic("llvm.frameaddress.p0", PTR, [I32]), [ir.Constant(I32, 0)])
    store_at(b, frame, store_ctx, StoreCtx.LAST_EXIT_FP, tb)

    def raise_host_exception(rb: ir.IRBuilder) -> None:
        rb.call(mc.raise_trap, [caller_vmctx, ir.Constant(I32, int(TrapCode.HOST_EXCEPTION)),
                                ir.Constant(I64, 0)])
        rb.unreachable()

    native_done = None
    if api is not None:
        native_done = emit_native_host_call(mc, api, b, ft, host_ctx, params, values,
                                            raise_host_exception)
    for i, p in enumerate(params):
        slot_store(b, p, values, i)
    cb = load_at(b, host_ctx, HostCtx.CALLBACK, PTR, mc.tbaa.runtime)
    cbty = ir.FunctionType(I32, [PTR, PTR, PTR, I32])
    status = indirect_call(b, cbty, cb, [host_ctx, caller_vmctx, values, ir.Constant(I32, slots)])
    ok = fn.append_basic_block("ok")
    raised = fn.append_basic_block("raised")
    b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), raised, ok)
    raise_host_exception(mc.builder(fn, raised))
    if native_done is not None:
        native_done.branch(ok)
    b.position_at_end(ok)
    store_at(b, old_exit, store_ctx, StoreCtx.LAST_EXIT_FP, tb)
    if not ft.results:
        b.ret_void()
        return fn
    for i, t in enumerate(ft.results[1:], start=1):
        slot_store(b, slot_load(b, values, i, t), fn.args[-1], i - 1)
    b.ret(slot_load(b, values, 0, ft.results[0]))
    return fn
