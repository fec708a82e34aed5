"""Linear-memory loads and stores (explicit bounds checks), memory.size, memory.grow.

Every access computes the effective address in 64 bits, `zext(addr) + offset`, so it
cannot wrap, and checks `ea + width <= length` before touching memory."""

from __future__ import annotations

from llvmlite import ir

from aot.abi.traps import GROW_TRAPS, TrapCode
from aot.abi.vmctx import Builtin, VMContextLayout
from aot.codegen.function import FunctionTranslator
from aot.codegen.irutil import load_at
from aot.codegen.llvmtypes import F32, F64, I8, I16, I32, I64, PTR, const_i64
from aot.codegen.ops.registry import LoweringContext, stateful
from aot.wasm.instr import Instr

# name: (type in memory, width in bytes, widening to the wasm type: None | "s" | "u", wasm type)
LOADS = {
    "i32.load": (I32, 4, None, I32),
    "i64.load": (I64, 8, None, I64),
    "f32.load": (F32, 4, None, F32),
    "f64.load": (F64, 8, None, F64),
    "i32.load8_s": (I8, 1, "s", I32),
    "i32.load8_u": (I8, 1, "u", I32),
    "i32.load16_s": (I16, 2, "s", I32),
    "i32.load16_u": (I16, 2, "u", I32),
    "i64.load8_s": (I8, 1, "s", I64),
    "i64.load8_u": (I8, 1, "u", I64),
    "i64.load16_s": (I16, 2, "s", I64),
    "i64.load16_u": (I16, 2, "u", I64),
    "i64.load32_s": (I32, 4, "s", I64),
    "i64.load32_u": (I32, 4, "u", I64),
}

# name: (type in memory, width in bytes); integer stores narrow by truncation.
STORES = {
    "i32.store": (I32, 4),
    "i64.store": (I64, 8),
    "f32.store": (F32, 4),
    "f64.store": (F64, 8),
    "i32.store8": (I8, 1),
    "i32.store16": (I16, 2),
    "i64.store8": (I8, 1),
    "i64.store16": (I16, 2),
    "i64.store32": (I32, 4),
}


def heap_address(tr: FunctionTranslator, memory: int, addr: ir.Value, offset: int, width: int,
                 explicit: bool = False) -> ir.Value:
    """The pointer for an access of `width` bytes at `addr + offset`.

    Explicit mode checks `ea + width <= length` first.  Guard mode does not: every 32-bit
    memory reserves 8 GiB + a guard, which `zext(addr) + offset + width` cannot leave, and
    only [0, length) is accessible, so an access past the end faults and becomes the trap.
    A 64-bit memory's `addr + offset` may wrap: its check counts the carry as out of
    bounds.  `explicit`: check even a guarded memory (for an address that compiled code
    does not itself touch)."""
    b = tr.builder
    if tr.mc.guarded(memory) and not explicit:
        ea = b.zext(addr, I64)
        if offset:
            ea = b.add(ea, const_i64(offset), flags=["nuw"])
        return b.gep(tr.memory_base(memory), [ea], source_etype=I8, inbounds=True)
    base, length = tr.memory_base_and_length(memory)
    if addr.type == I64:
        reach = offset + width
        if reach >= 2**64:  # no address is in bounds
            tr.trap_if(ir.Constant(ir.IntType(1), 1), TrapCode.MEMORY_OUT_OF_BOUNDS)
            reach = width
        end, wrapped = add_with_carry(tr, addr, _u64(reach))
        tr.trap_if(b.or_(wrapped, b.icmp_unsigned(">", end, length)),
                   TrapCode.MEMORY_OUT_OF_BOUNDS)
        ea = b.add(addr, _u64(offset), flags=["nuw"]) if offset else addr
    else:
        ea = b.zext(addr, I64)
        if offset:
            ea = b.add(ea, const_i64(offset), flags=["nuw"])
        end = b.add(ea, const_i64(width), flags=["nuw"])
        tr.trap_if(b.icmp_unsigned(">", end, length), TrapCode.MEMORY_OUT_OF_BOUNDS)
    return b.gep(base, [ea], source_etype=I8, inbounds=True)


def _u64(n: int) -> ir.Constant:
    # An unsigned 64-bit constant, written in the two's complement LLVM's i64 takes.
    return ir.Constant(I64, n - 2**64 if n >= 2**63 else n)


def add_with_carry(tr: LoweringContext, a: ir.Value, b_: ir.Value) -> tuple[ir.Value, ir.Value]:
    """`a + b` on i64 and whether it wrapped (llvm.uadd.with.overflow)."""
    b = tr.builder
    fn = tr.mc.intrinsic("llvm.uadd.with.overflow.i64",
                         ir.LiteralStructType([I64, ir.IntType(1)]), [I64, I64])
    pair = b.call(fn, [a, b_])
    return b.extract_value(pair, 0), b.extract_value(pair, 1)


def index_operand(tr: LoweringContext, value: ir.Value) -> ir.Value:
    """An address or count operand as i64: zero-extended from a 32-bit memory's i32."""
    return value if value.type == I64 else tr.builder.zext(value, I64)


def load_heap(tr: FunctionTranslator, memory: int, ptr: ir.Value, ty: ir.Type) -> ir.Value:
    """Load `ty` from linear memory at `ptr` (checked by `heap_address`), made to
    fault even when its value goes unused (`keep_alive`).  At -O0 the load is volatile
    instead: no pass there would have gained from deleting or moving it, and FastISel
    selects a volatile load itself where it hands each asm statement to the slower
    SelectionDAG (the SQLite shell's -O0 emit: 19 % less time)."""
    volatile = tr.mc.options.opt_level == 0 and tr.mc.guarded(memory)
    value = tr.builder.load(ptr, typ=ty, align=1, volatile=volatile)
    tag_heap(tr, value)
    if not volatile:
        keep_alive(tr, memory, value)
    return value


def keep_alive(tr: FunctionTranslator, memory: int, value: ir.Value) -> None:
    """In guard mode a load must fault even when its value is never used, but LLVM
    deletes unused loads: an empty asm statement that consumes the value keeps it
    (wasm2c's FORCE_READ)."""
    if not tr.mc.guarded(memory):
        return
    # The asm takes the value where it already is, so it costs no instruction:
    # integers in a general register, floats and vectors in an xmm register.
    if isinstance(value.type, ir.IntType):
        constraint = "r"
    else:
        if _BITS.get(str(value.type)) == 64 and isinstance(value.type, ir.VectorType):
            value = tr.builder.bitcast(value, ir.DoubleType())  # 64-bit vectors: not MMX
        constraint = "x"
    asm = ir.InlineAsm(ir.FunctionType(ir.VoidType(), [value.type]), "", constraint, side_effect=True)
    tr.builder.call(asm, [value])


_BITS = {"<8 x i8>": 64, "<4 x i16>": 64, "<2 x i32>": 64, "<2 x float>": 64}


def check_range(tr: LoweringContext, start: ir.Value, count: ir.Value, length: ir.Value,
                code: TrapCode, may_wrap: bool = False) -> None:
    """Trap unless [start, start + count) lies within `length` (all i64).  `may_wrap`:
    the operands are a 64-bit memory's, whose sum may wrap (then out of bounds)."""
    b = tr.builder
    if may_wrap:
        end, wrapped = add_with_carry(tr, start, count)
        tr.trap_if(b.or_(wrapped, b.icmp_unsigned(">", end, length)), code)
        return
    end = b.add(start, count, flags=["nuw"])
    tr.trap_if(b.icmp_unsigned(">", end, length), code)


def tag_heap(tr: FunctionTranslator, inst: ir.Instruction) -> None:
    inst.set_metadata("tbaa", tr.mc.tbaa.heap)


def _make_load(mem_ty: ir.Type, width: int, widen: str | None, wasm_ty: ir.Type):
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        _align, offset, memory = ins.imm
        b = tr.builder
        ptr = heap_address(tr, memory, tr.stack.pop(), offset, width)
        v = load_heap(tr, memory, ptr, mem_ty)
        if widen == "s":
            v = b.sext(v, wasm_ty)
        elif widen == "u":
            v = b.zext(v, wasm_ty)
        tr.stack.append(v)

    return lower


def _make_store(mem_ty: ir.Type, width: int):
    def lower(tr: FunctionTranslator, ins: Instr) -> None:
        _align, offset, memory = ins.imm
        b = tr.builder
        value = tr.stack.pop()
        ptr = heap_address(tr, memory, tr.stack.pop(), offset, width)
        if value.type != mem_ty:
            value = b.trunc(value, mem_ty)
        tag_heap(tr, b.store(value, ptr, align=1))

    return lower


for _name, _row in LOADS.items():
    stateful(_name)(_make_load(*_row))
for _name, _row in STORES.items():
    stateful(_name)(_make_store(*_row))


@stateful("memory.size")
def memory_size(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    _base, length = tr.memory_base_and_length(ins.imm)
    pages = b.lshr(length, ir.Constant(I64, 16))
    tr.stack.append(pages if tr.mc.memory_types[ins.imm].is64 else b.trunc(pages, I32))


def call_builtin(tr: FunctionTranslator, builtin: Builtin, ret: ir.Type, args: list[ir.Value]) -> ir.Value:
    """Call a runtime helper through the VMContext's builtin table."""
    mc = tr.mc
    table = load_at(tr.entry_builder, tr.vmctx, VMContextLayout.BUILTINS, PTR, mc.tbaa.vmctx,
                    invariant=True, name="builtins")
    return mc.call_builtin(tr.builder, tr.vmctx, builtin, ret, args, table)


@stateful("memory.grow")
def memory_grow(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    delta = index_operand(tr, tr.stack.pop())
    old = call_builtin(tr, Builtin.MEMORY_GROW, I64,
                       [tr.vmctx, ir.Constant(I32, ins.imm), delta])
    tr.trap_if(b.icmp_signed("==", old, ir.Constant(I64, GROW_TRAPS)), TrapCode.GROW_LIMIT)
    tr.stack.append(old if tr.mc.memory_types[ins.imm].is64 else b.trunc(old, I32))
