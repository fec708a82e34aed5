"""Translation of one function body: the operand stack, the control stack and the
dispatch of each instruction to its lowering (`aot.codegen.ops`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from llvmlite import ir

from aot.abi.traps import TrapCode, trap_site
from aot.abi.vmctx import INTERRUPT_SENTINEL, MemoryDef, StoreCtx, VMContextLayout
from aot.codegen.irutil import alloca_bytes, gep_bytes, load_at, store_at
from aot.codegen.leanir import Block, LeanBuilder, LeanFunction, Phi
from aot.codegen.llvmtypes import I32, I64, PTR, const_i32, const_i64, llvm_type, zero_value
from aot.codegen.module_context import ModuleContext
from aot.codegen.ops.dispatch import dispatch_table
from aot.codegen.stackmaps import GcRoots
from aot.errors import CompileError, NotSupportedError
from aot.wasm.instr import Instr
from aot.wasm.module import FuncBody
from aot.wasm.types import FuncType, ValType

# A function with at most this many declared locals and bytes of code has a frame small
# enough to skip the stack check when it calls nothing (see `translate`).
SMALL_FRAME_LOCALS = 64
SMALL_FRAME_CODE_BYTES = 1024

OP_BLOCK, OP_LOOP, OP_IF, OP_ELSE, OP_END = 0x02, 0x03, 0x04, 0x05, 0x0B
CALL_OPS = (0x10, 0x11, 0x12, 0x13)  # call, call_indirect, return_call, return_call_indirect

# Fuel cost model (wasmtime's): every operator costs 1, except these structural ones;
# entering a function costs 1.
FUEL_FREE_OPS = frozenset({0x01, 0x1A, OP_BLOCK, OP_LOOP, 0x00, 0x0F, OP_ELSE, OP_END})  # nop drop block loop unreachable return else end
# Consumed fuel is written to the store before control leaves the straight-line code:
# at branches, block boundaries and calls (so callees and traps see an exact count).
FUEL_FLUSH_OPS = frozenset({OP_LOOP, OP_IF, OP_ELSE, OP_END, 0x0C, 0x0D, 0x0E, 0x0F, *CALL_OPS})


@dataclass
class Frame:
    """One entry of the control stack."""

    kind: str  # "func" | "block" | "loop" | "if"
    type: FuncType
    height: int  # operand stack height below the block's parameters
    target: Block  # where `br` to this frame goes
    target_phis: list[Phi]  # phis of `target` fed by branches
    merge: Block  # where control continues after `end`
    merge_phis: list[Phi]
    else_block: Block | None = None
    else_params: list[ir.Value] = field(default_factory=list)
    merge_reached: bool = False  # some edge into `merge` exists
    reachable_at_entry: bool = True

    @property
    def branch_arity(self) -> int:
        return len(self.type.params) if self.kind == "loop" else len(self.type.results)


class FunctionTranslator:
    """Implements `LoweringContext` for the pure operator tables."""

    def __init__(self, mc: ModuleContext, func_index: int, body: FuncBody):
        self.mc = mc
        self.module = mc.ir
        self.func_index = func_index
        self.body = body
        self.type = mc.func_types[func_index]
        self.fn = mc.internal_funcs[func_index]
        self.lean = LeanFunction(self.fn)  # the body is built with the lean builder
        self.vmctx = self.fn.args[0]
        self.stack: list[ir.Value] = []
        self.frames: list[Frame] = []
        self.reachable = True
        self.current: Instr | None = None
        self._scope = mc.subprograms[self.fn.name]
        self._locate = _locator(mc, self._scope, body.offset)
        entry = self.lean.append_basic_block("entry")
        # The entry block holds allocas and function-wide loads only; it is terminated
        # last, with a jump to the body, so those can be added at any time.
        self.entry_builder = self.builder_at(entry, body.offset)
        self._body_start = self.lean.append_basic_block("start")
        self.builder = self.builder_at(self._body_start, body.offset)
        self._ret_area: ir.Value | None = None
        self._memory_defs: dict[int, ir.Value] = {}
        self._memory_bases: dict[int, ir.Value] = {}
        self._store_ctx: ir.Value | None = None
        self.fuel_pending = 0  # operators executed since the last flush to the store
        # Root slots and stack maps, in modules that use externref (`aot.codegen.stackmaps`).
        self.gc = GcRoots(self) if mc.plan.uses_externref else None

    # --- LoweringContext --------------------------------------------------------------

    def intrinsic(self, name: str, ret: ir.Type, args: Sequence[ir.Type]) -> ir.Function:
        return self.mc.intrinsic(name, ret, args)

    def builder_at(self, block: Block, offset: int | None = None) -> LeanBuilder:
        """A builder at the end of `block`, its instructions at wasm offset `offset`
        (default: the current instruction's)."""
        b = LeanBuilder(block, self.module, locate=self._locate)
        if offset is None:
            b.locate_like(self.builder)
        else:
            b.locate_at(offset)
        return b

    def trap_if(self, cond: ir.Value, code: TrapCode) -> None:
        cont = self.lean.append_basic_block("cont")
        self.builder.cbranch(cond, self._trap_block(code), cont)
        # Traps are rare: tell the optimizer and the block layout.
        self.builder.block.terminator.set_weights([1, 2000])
        self.builder.position_at_end(cont)

    def trap(self, code: TrapCode) -> None:
        self.builder.branch(self._trap_block(code))

    def _trap_block(self, code: TrapCode) -> Block:
        """One block per trap site, passing the site (function, offset in its body) to
        raise_trap."""
        offset = self.current.offset if self.current is not None else self.body.offset
        block = self.lean.append_basic_block(f"trap_{code.name.lower()}")
        b = self.builder_at(block, offset)
        site = trap_site(self.func_index, offset - self.body.offset)
        b.call(self.mc.raise_trap, [self.vmctx, const_i32(int(code)), const_i64(site)])
        b.unreachable()
        return block

    # --- function-wide values, computed once in the entry block ----------------------

    def store_ctx(self) -> ir.Value:
        if self._store_ctx is None:
            self._store_ctx = load_at(
                self.entry_builder, self.vmctx, VMContextLayout.STORE_CTX, PTR,
                self.mc.tbaa.vmctx, invariant=True, name="store_ctx",
            )
        return self._store_ctx

    def memory_def(self, index: int) -> ir.Value:
        """Pointer to the VMMemoryDefinition of memory `index` (fixed for the instance)."""
        d = self._memory_defs.get(index)
        if d is None:
            d = load_at(
                self.entry_builder, self.vmctx, self.mc.layout.memory(index), PTR,
                self.mc.tbaa.vmctx, invariant=True, name=f"mem{index}_def",
            )
            self._memory_defs[index] = d
        return d

    def memory_base(self, index: int) -> ir.Value:
        """The memory's base address, loaded once per function: a memory reserves its
        whole range when it is created, so growing never moves it (`aot.loader.memory`)."""
        base = self._memory_bases.get(index)
        if base is None:
            base = load_at(self.entry_builder, self.memory_def(index), MemoryDef.BASE, PTR,
                           self.mc.tbaa.vmctx, invariant=True, name=f"mem{index}_base")
            self._memory_bases[index] = base
        return base

    def memory_base_and_length(self, index: int) -> tuple[ir.Value, ir.Value]:
        # The length is reloaded at each access: a call may grow the memory.
        length = load_at(self.builder, self.memory_def(index), MemoryDef.LENGTH, I64, self.mc.tbaa.runtime)
        return self.memory_base(index), length

    def ret_area(self) -> ir.Value:
        """A scratch area for results 2..N of wasm-call ABI calls made by this function."""
        if self._ret_area is None:
            n = max(
                (len(ft.results) for ft in self.mc.wasm.types), default=1
            )
            self._ret_area = alloca_bytes(self.entry_builder, 16 * max(n - 1, 1), name="ret_area")
        return self._ret_area

    # --- operand stack ---------------------------------------------------------------

    def pop(self) -> ir.Value:
        return self.stack.pop()

    def popn(self, n: int) -> list[ir.Value]:
        if n == 0:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    def push(self, v: ir.Value) -> None:
        self.stack.append(v)

    # --- control helpers (used by ops/control.py) ------------------------------------

    def new_block(self, name: str) -> Block:
        return self.lean.append_basic_block(name)

    def make_phis(self, block: Block, types: Sequence) -> list[Phi]:
        b = LeanBuilder(block, self.module)
        return [b.phi(llvm_type(t)) for t in types]

    def branch_to(self, frame: Frame, values: Sequence[ir.Value]) -> None:
        """Terminate the current block with a jump to `frame`'s branch target."""
        src = self.builder.block
        for phi, v in zip(frame.target_phis, values):
            phi.add_incoming(v, src)
        self.builder.branch(frame.target)
        if frame.target is frame.merge:
            frame.merge_reached = True

    def add_branch_edge(self, frame: Frame, values: Sequence[ir.Value], src: Block) -> None:
        for phi, v in zip(frame.target_phis, values):
            phi.add_incoming(v, src)
        if frame.target is frame.merge:
            frame.merge_reached = True

    def mark_unreachable(self) -> None:
        """The rest of the current block is dead code (after br, return, unreachable)."""
        self.reachable = False
        self.fuel_pending = 0
        del self.stack[self.frames[-1].height :]

    # --- translation -----------------------------------------------------------------

    def translate(self) -> None:
        self._locals_setup()
        # Every function that calls checks the stack limit against its frame address; a
        # leaf need not, as long as its frame is small: it then ends at most a few KiB
        # below the limit, inside the slack the limit leaves on the thread's stack (the
        # limit is max_wasm_stack, 512 KiB by default, below the entry's frame).  A
        # function with many locals or much code may have a large frame: it checks the
        # stack pointer below its whole frame, whether it calls or not.
        large = (len(self.body.locals) > SMALL_FRAME_LOCALS
                 or self.body.end_offset - self.body.offset > SMALL_FRAME_CODE_BYTES)
        if large or any(ins.op in CALL_OPS for ins in self.body.code):
            self._stack_check(whole_frame=large)
        fuel = self.mc.options.fuel
        if fuel:
            self.fuel_check()
            self.fuel_pending = 1  # each invocation costs one unit, as in wasmtime
        ret_block = self.new_block("return")
        phis = self.make_phis(ret_block, self.type.results)
        self.frames.append(
            Frame("func", FuncType((), self.type.results), 0, ret_block, phis, ret_block, phis)
        )
        table = dispatch_table()
        skip_depth = 0
        for ins in self.body.code:
            op = ins.op
            if not self.reachable:
                # Dead code is valid wasm but has no LLVM meaning: skip it, keeping track
                # of nesting so that the matching else/end is still seen.
                if op in (OP_BLOCK, OP_LOOP, OP_IF):
                    skip_depth += 1
                    continue
                if op == OP_END and skip_depth:
                    skip_depth -= 1
                    continue
                if op not in (OP_END, OP_ELSE) or skip_depth:
                    continue
            self.current = ins
            self.builder.locate_at(ins.offset)
            if fuel:
                if op not in FUEL_FREE_OPS:
                    self.fuel_pending += 1
                if op in FUEL_FLUSH_OPS:
                    self.flush_fuel()
            handler = table.get(op)
            if handler is None:
                raise NotSupportedError(feature_of(op), ins.offset, self.func_index)
            try:
                handler(self, ins)
            except CompileError:
                raise
            except (IndexError, KeyError, TypeError, AssertionError) as exc:
                from aot.wasm.opcodes import opcode_name

                raise CompileError(
                    f"internal error translating {opcode_name(op)}: {exc!r}",
                    ins.offset, self.func_index,
                ) from exc
            if not self.frames:
                break
        self.entry_builder.branch(self._body_start)

    def _locals_setup(self) -> None:
        eb = self.entry_builder
        params = self.fn.args[1:]
        types = list(self.type.params) + list(self.body.locals)
        self.locals: list[ir.AllocaInstr] = []
        self.local_types = types
        for i, t in enumerate(types):
            if self.gc is not None and t == ValType.EXTERNREF:
                slot = self.gc.slot(PTR, f"local{i}")
                self.gc.add_local(slot)
            else:
                slot = eb.alloca(llvm_type(t), name=f"local{i}")
            self.locals.append(slot)
        for i, t in enumerate(types):
            eb.store(params[i] if i < len(params) else zero_value(t), self.locals[i])

    def _stack_check(self, whole_frame: bool = False) -> None:
        """The stack-limit prologue: trap before wasm recursion exhausts the native stack.
        An interrupt replaces the limit with a sentinel above every stack address, so
        this same compare stops loop-free call trees (raise_trap reports INTERRUPT).
        `whole_frame`: compare the stack pointer below the frame (llvm.stacksave, after
        the prologue) rather than the frame address."""
        b = self.builder
        if whole_frame:
            fa = b.call(self.intrinsic("llvm.stacksave.p0", PTR, []), [])
        else:
            fa = b.call(self.intrinsic("llvm.frameaddress.p0", PTR, [I32]), [const_i32(0)])
        sp = b.ptrtoint(fa, I64)
        limit = load_at(b, self.store_ctx(), StoreCtx.STACK_LIMIT, I64, self.mc.tbaa.runtime)
        self.trap_if(b.icmp_unsigned("<", sp, limit), TrapCode.STACK_OVERFLOW)

    def flush_fuel(self) -> None:
        if not self.fuel_pending or not self.reachable:
            return
        b = self.builder
        tb = self.mc.tbaa.runtime
        used = load_at(b, self.store_ctx(), StoreCtx.FUEL, I64, tb)
        store_at(b, b.add(used, ir.Constant(I64, self.fuel_pending)), self.store_ctx(), StoreCtx.FUEL, tb)
        self.fuel_pending = 0

    def fuel_check(self) -> None:
        """Trap once the consumed fuel reaches the granted amount (the counter is
        `consumed - granted`, so out of fuel means >= 0)."""
        self.flush_fuel()
        b = self.builder
        used = load_at(b, self.store_ctx(), StoreCtx.FUEL, I64, self.mc.tbaa.runtime)
        self.trap_if(b.icmp_signed(">=", used, ir.Constant(I64, 0)), TrapCode.OUT_OF_FUEL)

    def loop_header_checks(self) -> None:
        """At each loop header: a pending interrupt, and fuel, stop the loop."""
        b = self.builder
        if self.mc.options.interrupts:
            ptr = gep_bytes(b, self.store_ctx(), StoreCtx.STACK_LIMIT)
            # Atomic, so LLVM neither hoists it out of the loop nor merges iterations.
            limit = b.load_atomic(ptr, "monotonic", 8, typ=I64)
            sentinel = ir.Constant(I64, INTERRUPT_SENTINEL)
            self.trap_if(b.icmp_unsigned("==", limit, sentinel), TrapCode.INTERRUPT)
        if self.mc.options.fuel:
            self.fuel_check()


def _locator(mc: ModuleContext, scope, body_offset: int):
    """offset -> the debug location of that wasm offset in the function whose body
    starts at `body_offset`.  Its line is the offset from the body's start, plus one
    (`aot.abi.traps.trap_site`), so that the function's code does not change when
    functions before it grow (the per-unit compile cache).  A closure rather than a
    method: builders hold it, and one holding the translator would make a cycle."""
    location = mc.debug.location
    return lambda offset: location(scope, offset - body_offset + 1)


def feature_of(op: int) -> str:
    """The proposal an unimplemented instruction belongs to, for "not supported: ..."."""
    from aot.wasm.opcodes import opcode_name

    name = opcode_name(op)
    if op >> 16 == 0xFD:
        return f"SIMD ({name})"
    if name.startswith(("memory.init", "data.drop", "memory.copy", "memory.fill",
                        "table.init", "elem.drop", "table.copy")):
        return f"bulk memory ({name})"
    if name.startswith(("table.", "ref.")) or op == 0x1C:
        return f"reference types ({name})"
    return f"instruction {name}"


def translate_function(mc: ModuleContext, func_index: int, body: FuncBody) -> None:
    FunctionTranslator(mc, func_index, body).translate()


__all__ = ["FunctionTranslator", "Frame", "translate_function"]
