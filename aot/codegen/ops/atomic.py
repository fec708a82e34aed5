"""The threads proposal's atomic instructions: loads, stores, read-modify-writes and
compare-exchanges as LLVM's sequentially consistent atomics, `atomic.fence`, and
`memory.atomic.wait32/64` / `notify` through the runtime's parking lot (builtins).

Every access first checks that its effective address is a multiple of its width (the
"unaligned atomic" trap), then its bounds, in wasmtime's order (the bounds as any access
to that memory: guard pages or an explicit check)."""

from __future__ import annotations

from llvmlite import ir

from aot.abi.traps import TrapCode
from aot.abi.vmctx import Builtin
from aot.codegen.function import FunctionTranslator
from aot.codegen.llvmtypes import I8, I16, I32, I64
from aot.codegen.ops.memory import (
    call_builtin,
    heap_address,
    index_operand,
    keep_alive,
    tag_heap,
)
from aot.codegen.ops.registry import stateful
from aot.wasm.instr import Instr

SEQ_CST = "seq_cst"
_INT = {1: I8, 2: I16, 4: I32, 8: I64}
_WASM = {"i32": I32, "i64": I64}

# name -> (wasm type, bytes accessed)
_LOADS = {
    "i32.atomic.load": ("i32", 4), "i64.atomic.load": ("i64", 8),
    "i32.atomic.load8_u": ("i32", 1), "i32.atomic.load16_u": ("i32", 2),
    "i64.atomic.load8_u": ("i64", 1), "i64.atomic.load16_u": ("i64", 2),
    "i64.atomic.load32_u": ("i64", 4),
}
_STORES = {name.replace("load", "store").replace("_u", ""): row for name, row in _LOADS.items()}
# The read-modify-write widths: name prefix and suffix -> (wasm type, bytes)
_RMW_WIDTHS = {
    ("i32.atomic.rmw", ""): ("i32", 4), ("i64.atomic.rmw", ""): ("i64", 8),
    ("i32.atomic.rmw8", "_u"): ("i32", 1), ("i32.atomic.rmw16", "_u"): ("i32", 2),
    ("i64.atomic.rmw8", "_u"): ("i64", 1), ("i64.atomic.rmw16", "_u"): ("i64", 2),
    ("i64.atomic.rmw32", "_u"): ("i64", 4),
}
# wasm rmw operator -> LLVM atomicrmw operation
_RMW_OPS = {"add": "add", "sub": "sub", "and": "and", "or": "or", "xor": "xor", "xchg": "xchg"}


def atomic_address(tr: FunctionTranslator, ins: Instr, addr: ir.Value, width: int,
                   explicit: bool = False) -> ir.Value:
    """The pointer for an atomic access of `width` bytes: traps when `addr + offset` is
    not a multiple of `width`, then when it is out of bounds.  `explicit`: the bounds
    are checked in code even in a guarded memory (wait and notify do not access the
    address in compiled code: no guard page would fault)."""
    _align, offset, memory = ins.imm
    b = tr.builder
    if width > 1:
        # The low bits of addr + offset, computed modulo 2**64: the wrap (a 64-bit
        # memory's) cannot change them, and the bounds check below catches it.
        ea = b.add(index_operand(tr, addr), ir.Constant(I64, offset & (width - 1)))
        misaligned = b.and_(ea, ir.Constant(I64, width - 1))
        tr.trap_if(b.icmp_unsigned("!=", misaligned, ir.Constant(I64, 0)), TrapCode.HEAP_MISALIGNED)
    return heap_address(tr, memory, addr, offset, width, explicit)


def _widen(tr: FunctionTranslator, value: ir.Value, wasm_ty: ir.Type) -> ir.Value:
    return value if value.type == wasm_ty else tr.builder.zext(value, wasm_ty)


def _narrow(tr: FunctionTranslator, value: ir.Value, mem_ty: ir.Type) -> ir.Value:
    return value if value.type == mem_ty else tr.builder.trunc(value, mem_ty)


def _make_load(wasm: str, width: int):
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        ptr = atomic_address(tr, ins, tr.stack.pop(), width)
        v = tr.builder.load_atomic(ptr, SEQ_CST, width, typ=_INT[width])
        tag_heap(tr, v)
        keep_alive(tr, ins.imm[2], v)
        tr.stack.append(_widen(tr, v, _WASM[wasm]))

    return lower


def _make_store(wasm: str, width: int):
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        value = tr.stack.pop()
        ptr = atomic_address(tr, ins, tr.stack.pop(), width)
        tag_heap(tr, tr.builder.store_atomic(_narrow(tr, value, _INT[width]), ptr, SEQ_CST, width))

    return lower


def _make_rmw(op: str, wasm: str, width: int):
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        value = tr.stack.pop()
        ptr = atomic_address(tr, ins, tr.stack.pop(), width)
        old = tr.builder.atomic_rmw(op, ptr, _narrow(tr, value, _INT[width]), SEQ_CST)
        tag_heap(tr, old)
        tr.stack.append(_widen(tr, old, _WASM[wasm]))

    return lower


def _make_cmpxchg(wasm: str, width: int):
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        b = tr.builder
        replacement = tr.stack.pop()
        expected = tr.stack.pop()
        ptr = atomic_address(tr, ins, tr.stack.pop(), width)
        mem_ty = _INT[width]
        # The expected value is wrapped to the access width, as the loaded value is.
        pair = b.cmpxchg(ptr, _narrow(tr, expected, mem_ty), _narrow(tr, replacement, mem_ty),
                         SEQ_CST, SEQ_CST)
        tag_heap(tr, pair)
        tr.stack.append(_widen(tr, b.extract_value(pair, 0), _WASM[wasm]))

    return lower


for _name, _row in _LOADS.items():
    stateful(_name)(_make_load(*_row))
for _name, _row in _STORES.items():
    stateful(_name)(_make_store(*_row))
for (_prefix, _suffix), _row in _RMW_WIDTHS.items():
    for _op, _llvm_op in _RMW_OPS.items():
        stateful(f"{_prefix}.{_op}{_suffix}")(_make_rmw(_llvm_op, *_row))
    stateful(f"{_prefix}.cmpxchg{_suffix}")(_make_cmpxchg(*_row))


@stateful("atomic.fence")
def atomic_fence(tr: FunctionTranslator, ins: Instr) -> None:
    tr.builder.fence(SEQ_CST)


def _make_wait(width: int, builtin: Builtin):
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        timeout = tr.stack.pop()
        expected = tr.stack.pop()
        ptr = atomic_address(tr, ins, tr.stack.pop(), width, explicit=True)
        if not tr.mc.memory_types[ins.imm[2]].shared:
            # No other thread can reach this memory to wake the waiter.
            tr.trap(TrapCode.ATOMIC_WAIT_NON_SHARED_MEMORY)
            tr.mark_unreachable()
            return
        tr.stack.append(call_builtin(tr, builtin, I32, [ptr, expected, timeout]))

    return lower


stateful("memory.atomic.wait32")(_make_wait(4, Builtin.ATOMIC_WAIT32))
stateful("memory.atomic.wait64")(_make_wait(8, Builtin.ATOMIC_WAIT64))


@stateful("memory.atomic.notify")
def atomic_notify(tr: FunctionTranslator, ins: Instr) -> None:
    count = tr.stack.pop()
    ptr = atomic_address(tr, ins, tr.stack.pop(), 4, explicit=True)
    if not tr.mc.memory_types[ins.imm[2]].shared:
        tr.stack.append(ir.Constant(I32, 0))  # nobody can wait on an unshared memory
        return
    tr.stack.append(call_builtin(tr, Builtin.ATOMIC_NOTIFY, I32, [ptr, count]))

