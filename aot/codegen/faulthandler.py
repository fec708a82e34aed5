"""The guard-page fault handler, compiled into every x86-64 artifact (`aot.abi.faults`).

It acts only when both hold:

* the faulting pc lies in the code of a loaded artifact (registered [begin, end) ranges),
* the faulting stack pointer lies inside an active wasm activation of a registered store
  (below its entry trampoline's frame, within `max_wasm_stack` + slack),

and then records the trap (code, frames) in that store's context and unwinds to the
entry trampoline with the builtin longjmp, exactly like a trap raised by compiled code.
Every other fault goes to the handler that was installed before (Python's faulthandler,
a debugger's, or the default action, which then kills the process as usual)."""

from __future__ import annotations

import re

from llvmlite import ir

from aot.abi.faults import (
    SA_FLAGS_OFFSET,
    SIGBUS,
    STACK_SLACK,
    UC_RBP,
    UC_RIP,
    UC_RSP,
    FaultState,
)
from aot.abi.traps import TrapCode
from aot.abi.vmctx import MAX_BACKTRACE, StoreCtx
from aot.codegen.llvmtypes import I32, PTR, VOID

HANDLER = "aot_on_fault"
STATE = "aot_fault_state"


def supports(triple: str) -> bool:
    return triple.startswith("x86_64") and "linux" in triple


def declare_fault_handler(module: ir.Module, longjmp: ir.Function) -> tuple[ir.Function, ir.GlobalVariable]:
    """The handler (a declaration that `render` replaces by its definition) and the
    state pointer the loader fills.  `longjmp` makes sure the intrinsic is declared."""
    state = ir.GlobalVariable(module, PTR, name=STATE)
    state.linkage = "internal"
    state.initializer = ir.Constant(PTR, None)
    state.align = 8
    fn = ir.Function(module, ir.FunctionType(VOID, [I32, PTR, PTR]), name=HANDLER)
    return fn, state


_DECLARATION = re.compile(r'^declare void @"?' + HANDLER + r'"?\(.*\)$', re.M)


def render(module_text: str) -> str:
    """The module's text with the handler's definition in place of its declaration."""
    text, n = _DECLARATION.subn(lambda _: _handler_ir(), module_text)
    if n > 1:
        raise AssertionError("the fault handler is declared twice")
    return text


def _handler_ir() -> str:
    c = {
        "N_RANGES": FaultState.N_RANGES, "N_STORES": FaultState.N_STORES,
        "RANGES": FaultState.RANGES, "STORES": FaultState.STORES,
        "PREV_SEGV": FaultState.PREV_SEGV, "PREV_BUS": FaultState.PREV_BUS,
        "DFL": FaultState.DFL, "SIGACTION": FaultState.SIGACTION_FN,
        "FLAGS": SA_FLAGS_OFFSET,
        "UC_RBP": UC_RBP, "UC_RSP": UC_RSP, "UC_RIP": UC_RIP,
        "JMP_BUF": StoreCtx.JMP_BUF, "TRAP_CODE": StoreCtx.TRAP_CODE,
        "MAX_STACK": StoreCtx.MAX_WASM_STACK, "TRAP_OFFSET": StoreCtx.TRAP_OFFSET,
        "BT": StoreCtx.BACKTRACE, "BT_LEN": StoreCtx.BACKTRACE_LEN,
        "OOB": int(TrapCode.MEMORY_OUT_OF_BOUNDS), "MAXBT": MAX_BACKTRACE,
        "SLACK": STACK_SLACK, "SIGBUS": SIGBUS,
    }
    return _HANDLER_IR.format(**c).replace("@aot_fault_state", f'@"{STATE}"')


_HANDLER_IR = r"""
define internal void @aot_on_fault(i32 %sig, ptr %info, ptr %uc) "frame-pointer"="all" {{
entry:
  %state = load ptr, ptr @aot_fault_state
  %rip.p = getelementptr i8, ptr %uc, i64 {UC_RIP}
  %rip = load i64, ptr %rip.p
  %rsp.p = getelementptr i8, ptr %uc, i64 {UC_RSP}
  %rsp = load i64, ptr %rsp.p
  %rbp.p = getelementptr i8, ptr %uc, i64 {UC_RBP}
  %rbp = load i64, ptr %rbp.p
  %nr.p = getelementptr i8, ptr %state, i64 {N_RANGES}
  %nr = load volatile i64, ptr %nr.p
  %ranges.p = getelementptr i8, ptr %state, i64 {RANGES}
  br label %ranges

ranges:                                   ; is the pc in compiled wasm code?
  %i = phi i64 [0, %entry], [%i.next, %range.next]
  %r.done = icmp uge i64 %i, %nr
  br i1 %r.done, label %chain, label %range
range:
  %i2 = shl i64 %i, 1
  %lo.p = getelementptr i64, ptr %ranges.p, i64 %i2
  %lo = load volatile i64, ptr %lo.p
  %hi.p = getelementptr i64, ptr %lo.p, i64 1
  %hi = load volatile i64, ptr %hi.p
  %ge = icmp uge i64 %rip, %lo
  %lt = icmp ult i64 %rip, %hi
  %in = and i1 %ge, %lt
  br i1 %in, label %stores.start, label %range.next
range.next:
  %i.next = add i64 %i, 1
  br label %ranges

stores.start:                             ; which activation is this thread running?
  %ns.p = getelementptr i8, ptr %state, i64 {N_STORES}
  %ns = load volatile i64, ptr %ns.p
  %stores.p = getelementptr i8, ptr %state, i64 {STORES}
  br label %stores
stores:
  %j = phi i64 [0, %stores.start], [%j.next, %store.next]
  %s.done = icmp uge i64 %j, %ns
  br i1 %s.done, label %chain, label %store
store:
  %sc.p = getelementptr ptr, ptr %stores.p, i64 %j
  %sc = load volatile ptr, ptr %sc.p
  %sc.null = icmp eq ptr %sc, null
  br i1 %sc.null, label %store.next, label %store.jb
store.jb:
  %jb.p = getelementptr i8, ptr %sc, i64 {JMP_BUF}
  %jb = load volatile ptr, ptr %jb.p
  %jb.null = icmp eq ptr %jb, null
  br i1 %jb.null, label %store.next, label %store.range
store.range:
  %top = load i64, ptr %jb                ; jmp_buf[0]: the entry trampoline's frame
  %max.p = getelementptr i8, ptr %sc, i64 {MAX_STACK}
  %max = load i64, ptr %max.p
  %low0 = sub i64 %top, %max
  %low = sub i64 %low0, {SLACK}
  %below = icmp ult i64 %rsp, %top
  %above = icmp ugt i64 %rsp, %low
  %mine = and i1 %below, %above
  br i1 %mine, label %trap, label %store.next
store.next:
  %j.next = add i64 %j, 1
  br label %stores

trap:
  %code.p = getelementptr i8, ptr %sc, i64 {TRAP_CODE}
  store i32 {OOB}, ptr %code.p
  %off.p = getelementptr i8, ptr %sc, i64 {TRAP_OFFSET}
  store i64 0, ptr %off.p
  %bt.p = getelementptr i8, ptr %sc, i64 {BT}
  %bt = load ptr, ptr %bt.p
  %bt.null = icmp eq ptr %bt, null
  br i1 %bt.null, label %unwind, label %walk.start
walk.start:                               ; frame 0 is the faulting instruction itself
  %pc0 = add i64 %rip, 1                  ; (readers look up return addresses minus 1)
  store i64 %pc0, ptr %bt
  br label %walk
walk:
  %fp = phi i64 [%rbp, %walk.start], [%caller, %walk.frame]
  %n = phi i64 [1, %walk.start], [%n.next, %walk.frame]
  %fp.ok = icmp ne i64 %fp, 0
  %fp.in = icmp ult i64 %fp, %top
  %room = icmp ult i64 %n, {MAXBT}
  %c1 = and i1 %fp.ok, %fp.in
  %go = and i1 %c1, %room
  br i1 %go, label %walk.frame, label %walk.done
walk.frame:
  %fp.ptr = inttoptr i64 %fp to ptr
  %ret.p = getelementptr i64, ptr %fp.ptr, i64 1
  %ret = load i64, ptr %ret.p
  %slot = getelementptr i64, ptr %bt, i64 %n
  store i64 %ret, ptr %slot
  %caller = load i64, ptr %fp.ptr
  %n.next = add i64 %n, 1
  br label %walk
walk.done:
  %len.p = getelementptr i8, ptr %sc, i64 {BT_LEN}
  store i64 %n, ptr %len.p
  br label %unwind
unwind:
  call void @llvm.eh.sjlj.longjmp(ptr %jb)
  unreachable

chain:                                    ; not ours: the previous handler decides
  %is.bus = icmp eq i32 %sig, {SIGBUS}
  %bus.p = getelementptr i8, ptr %state, i64 {PREV_BUS}
  %segv.p = getelementptr i8, ptr %state, i64 {PREV_SEGV}
  %prev = select i1 %is.bus, ptr %bus.p, ptr %segv.p
  %h = load ptr, ptr %prev
  %flags.p = getelementptr i8, ptr %prev, i64 {FLAGS}
  %flags = load i32, ptr %flags.p
  %si = and i32 %flags, 4
  %has.si = icmp ne i32 %si, 0
  br i1 %has.si, label %call3, label %plain
call3:
  call void %h(i32 %sig, ptr %info, ptr %uc)
  ret void
plain:
  %h.int = ptrtoint ptr %h to i64
  %dfl.or.ign = icmp ule i64 %h.int, 1
  br i1 %dfl.or.ign, label %reset, label %call1
reset:                                    ; SIG_DFL: restore it; the fault recurs and kills
  %sa.p = getelementptr i8, ptr %state, i64 {SIGACTION}
  %sa = load ptr, ptr %sa.p
  %dfl.p = getelementptr i8, ptr %state, i64 {DFL}
  %r = call i32 %sa(i32 %sig, ptr %dfl.p, ptr null)
  ret void
call1:
  call void %h(i32 %sig)
  ret void
}}
"""
