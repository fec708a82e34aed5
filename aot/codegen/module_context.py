"""Module-wide state of one translation: the LLVM module, function declarations, the
VMContext layout, intrinsics and the shared trap path."""

from __future__ import annotations

import re
from collections.abc import Sequence

from llvmlite import ir

from aot.abi.artifact import data_segment_symbol
from aot.abi.metadata import passive_elem_items
from aot.abi.signatures import has_ret_area
from aot.abi.traps import TrapCode
from aot.abi.vmctx import INTERRUPT_SENTINEL, MAX_BACKTRACE, Builtin, StoreCtx, VMContextLayout
from aot.codegen.debuginfo import DebugBuilder, DebugInfo
from aot.codegen.irutil import Tbaa, indirect_call, load_at, set_raw_attr, set_string_attr, store_at
from aot.codegen.llvmtypes import I8, I32, I64, PTR, VOID, llvm_type
from aot.codegen.memimage import image_applies
from aot.codegen.options import CompileOptions
from aot.codegen.units import UnitPlan, plan_units
from aot.wasm.module import Module
from aot.wasm.types import FuncType


def internal_return_type(ft: FuncType) -> ir.Type:
    """Return type of a non-escaping (internal) function: void, the value, or a struct."""
    if not ft.results:
        return VOID
    if len(ft.results) == 1:
        return llvm_type(ft.results[0])
    return ir.LiteralStructType([llvm_type(t) for t in ft.results])


def wasm_call_fnty(ft: FuncType) -> ir.FunctionType:
    """The wasm-call ABI of `aot.abi.signatures` as an LLVM function type."""
    ret = llvm_type(ft.results[0]) if ft.results else VOID
    args = [PTR, PTR] + [llvm_type(t) for t in ft.params]
    if has_ret_area(ft):
        args.append(PTR)
    return ir.FunctionType(ret, args)


def _symbol_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.$]", "_", name)[:64]


class _FunctionDecls(dict):
    """Defined function index -> its LLVM function (internal form), declared on first
    use: a unit names only the functions it defines or calls."""

    def __init__(self, declare):
        super().__init__()
        self._declare = declare

    def __missing__(self, index: int) -> ir.Function:
        fn = self[index] = self._declare(index)
        return fn


class ModuleContext:
    """One codegen unit's translation (`aot.codegen.units`): unit `unit` of `plan`."""

    def __init__(self, module: Module, options: CompileOptions, triple: str, data_layout: str,
                 plan: UnitPlan | None = None, unit: int = 0):
        self.wasm = module
        self.options = options
        self.plan = plan = plan if plan is not None else plan_units(module, 1)
        self.unit = unit
        self.is_runtime_unit = unit == plan.runtime_unit
        self.ir = ir.Module(name=module.names.module or "wasm")
        self.ir.triple = triple
        self.ir.data_layout = data_layout
        self.tbaa = Tbaa(self.ir)
        self.debug = DebugInfo(self.ir, module.names.module or "module")
        self.subprograms: dict[str, ir.DIValue] = {}
        self.func_types: list[FuncType] = module.func_types()
        self.type_indices: list[int] = module.func_type_indices()
        self.n_imported_funcs = module.num_imported_funcs
        self.layout = VMContextLayout(
            n_types=len(module.types),
            n_memories=len(module.all_memories()),
            n_tables=len(module.all_tables()),
            n_globals=len(module.all_globals()),
            n_funcs=len(self.func_types),
            n_datas=len(module.datas),
            n_elems=len(module.elems),
            n_elem_items=passive_elem_items(module),
        )
        # Where each passive element segment's items start in the `elem_items` area.
        self.elem_item_base: dict[int, int] = {}
        running = 0
        for i, seg in enumerate(module.elems):
            if seg.mode == "passive":
                self.elem_item_base[i] = running
                running += len(seg.init)
        self.data_globals: dict[int, ir.GlobalVariable] = {}
        self.global_types = module.all_globals()
        self.memory_types = module.all_memories()
        self._intrinsics: dict[str, ir.Function] = {}
        # LLVM emits functions in module order, and the units' objects are linked in
        # unit order: this one (first of the first unit) and `aot_text_end` (last of
        # the last) bracket the compiled code.
        self.text_begin = None
        if unit == 0:
            self.text_begin = self.text_marker("aot_text_begin")
            if plan.count > 1:
                self.text_begin.linkage = "hidden"  # the vtable, in the last unit, refers to it
        elif self.is_runtime_unit:
            self.text_begin = ir.Function(self.ir, ir.FunctionType(VOID, []), name="aot_text_begin")
            self.text_begin.linkage = "hidden"
        self.escaping = plan.escaping
        # Type indices named by call_indirect: the artifact has a host-call trampoline
        # for each (`VTable.HOST_TRAMPOLINES_BY_TYPE`).
        self.indirect_types = plan.indirect_types
        # Internal calls: fastcc, or tailcc (a musttail call may then change signature)
        # when the module makes tail calls.
        self.internal_conv = "tailcc" if plan.uses_tail_calls else "fastcc"
        self.internal_funcs: dict[int, ir.Function] = _FunctionDecls(self._declare_internal)
        self.raise_trap = self._raise_trap()

    @property
    def has_memory_image(self) -> bool:
        """Whether memory 0 starts from the artifact's image (asked by the init
        function only, in the runtime unit)."""
        return image_applies(self.wasm)

    def guarded(self, memory: int) -> bool:
        """Whether accesses to `memory` rely on guard pages rather than explicit checks:
        never for a 64-bit memory, whose addresses no reservation can cover."""
        return self.options.bounds_checks == "guard" and not self.memory_types[memory].is64

    # --- declarations -------------------------------------------------------------

    def func_symbol(self, index: int) -> str:
        name = self.wasm.names.functions.get(index)
        return f"wasm_f{index}" + (f"_{_symbol_part(name)}" if name else "")

    def defines(self, index: int) -> bool:
        """Whether defined function `index` is translated in this unit: it belongs
        here, or it is a small function copied here for inlining."""
        return self.plan.unit_of[index] == self.unit or index in self.plan.copies[self.unit]

    def _declare_internal(self, index: int) -> ir.Function:
        ft = self.func_types[index]
        fnty = ir.FunctionType(internal_return_type(ft), [PTR] + [llvm_type(t) for t in ft.params])
        fn = ir.Function(self.ir, fnty, name=self.func_symbol(index))
        fn.calling_convention = self.internal_conv
        # Hidden (llvmlite prints a function's linkage string where LLVM takes the
        # visibility too): a link-time symbol of the artifact, never a dynamic one.
        if not self.defines(index):
            fn.linkage = "hidden"  # a declaration: defined by another unit
            return fn
        owned = self.plan.unit_of[index] == self.unit
        fn.linkage = "hidden" if owned and index in self.plan.shared else "internal"
        self.set_function_attrs(fn)
        return fn

    def wasm_call_symbol(self, index: int) -> str:
        return f"aot_wasm_call_f{index}"

    def set_function_attrs(self, fn: ir.Function) -> None:
        """Attributes every compiled function carries: frame pointers for backtraces,
        unwind tables for debuggers and profilers, and a debug scope whose line numbers
        are offsets in the wasm body (`aot.codegen.debuginfo`)."""
        self.subprograms[fn.name] = self.debug.subprogram(fn)
        set_string_attr(fn, "frame-pointer", "all")
        # Wasm recursion must exhaust the stack and trap; tail-recursion elimination
        # would turn runaway recursion into an endless loop.
        set_string_attr(fn, "disable-tail-calls", "true")
        set_raw_attr(fn, "uwtable")
        # Never let LLVM turn loops into memset/memcpy library calls: compiled code
        # reaches libc only through the builtin table.
        set_string_attr(fn, "no-builtins", "true")
        set_raw_attr(fn, "nounwind")

    def data_global(self, index: int) -> ir.GlobalVariable:
        """The bytes of data segment `index`, a constant in the artifact."""
        g = self.data_globals.get(index)
        if g is None:
            g = self.data_globals[index] = self.blob(data_segment_symbol(index))
        return g

    def blob(self, symbol: str) -> ir.GlobalVariable:
        """Bytes the ELF writer adds to the artifact (`aot.codegen.elfwriter.Blob`):
        declared here, never given to LLVM."""
        g = ir.GlobalVariable(self.ir, ir.ArrayType(I8, 0), name=symbol)
        g.linkage = "external"
        g.storage_class = "hidden"
        g.global_constant = True
        return g

    def call_builtin(self, b: ir.IRBuilder, vmctx: ir.Value, builtin: Builtin, ret: ir.Type,
                     args: list[ir.Value], table: ir.Value | None = None) -> ir.Value:
        """Call a runtime helper through the VMContext's builtin table (never through an
        undefined symbol: the artifact has no dynamic dependencies)."""
        if table is None:
            table = load_at(b, vmctx, VMContextLayout.BUILTINS, PTR, self.tbaa.vmctx, invariant=True)
        fp = load_at(b, table, 8 * int(builtin), PTR, self.tbaa.vmctx, invariant=True)
        return indirect_call(b, ir.FunctionType(ret, [a.type for a in args]), fp, args)

    def text_marker(self, name: str) -> ir.Function:
        fn = ir.Function(self.ir, ir.FunctionType(VOID, []), name=name)
        fn.linkage = "internal"
        self.set_function_attrs(fn)
        fn.attributes.add("noinline")
        self.builder(fn, fn.append_basic_block("entry")).ret_void()
        return fn

    def builder(self, fn: ir.Function, block: ir.Block, line: int = 0) -> DebugBuilder:
        """A builder for `fn` whose instructions carry the debug location `line`."""
        b = DebugBuilder(block)
        b.dbg = self.debug.location(self.subprograms[fn.name], line)
        return b

    def intrinsic(self, name: str, ret: ir.Type, args: Sequence[ir.Type],
                  var_arg: bool = False) -> ir.Function:
        fn = self._intrinsics.get(name)
        if fn is None:
            fn = ir.Function(self.ir, ir.FunctionType(ret, list(args), var_arg=var_arg), name=name)
            self._intrinsics[name] = fn
        return fn

    # --- the trap path ------------------------------------------------------------

    def _raise_trap(self) -> ir.Function:
        """`void aot_raise_trap(vmctx, code, site)`: record the trap, its site
        (`aot.abi.traps.trap_site`) and the return addresses of the wasm frames, then
        unwind to the innermost entry trampoline.  One out-of-line cold function keeps
        trap sites small; the site argument also keeps LLVM from merging them.  Each
        unit has its own, except in a per-function split, where the runtime unit's is
        shared (a copy per function would double the small ones)."""
        fn = ir.Function(self.ir, ir.FunctionType(VOID, [PTR, I32, I64]), name="aot_raise_trap")
        for a in ("noreturn", "cold", "noinline"):
            fn.attributes.add(a)
        if self.plan.per_function:
            fn.linkage = "hidden"
            if not self.is_runtime_unit:
                set_raw_attr(fn, "nounwind")
                return fn
        else:
            fn.linkage = "internal"
        self.set_function_attrs(fn)
        b = self.builder(fn, fn.append_basic_block("entry"))
        vmctx, code, site = fn.args
        store_ctx = load_at(b, vmctx, VMContextLayout.STORE_CTX, PTR, self.tbaa.vmctx)
        # A failed stack check while an interrupt's sentinel is in place is the interrupt.
        limit = load_at(b, store_ctx, StoreCtx.STACK_LIMIT, I64, self.tbaa.runtime)
        interrupted = b.and_(
            b.icmp_unsigned("==", code, ir.Constant(I32, int(TrapCode.STACK_OVERFLOW))),
            b.icmp_unsigned("==", limit, ir.Constant(I64, INTERRUPT_SENTINEL)),
        )
        code = b.select(interrupted, ir.Constant(I32, int(TrapCode.INTERRUPT)), code)
        store_at(b, code, store_ctx, StoreCtx.TRAP_CODE, self.tbaa.runtime)
        store_at(b, site, store_ctx, StoreCtx.TRAP_OFFSET, self.tbaa.runtime)
        jmp_buf = load_at(b, store_ctx, StoreCtx.JMP_BUF, PTR, self.tbaa.runtime)
        if self.options.backtraces:
            self._record_backtrace(fn, b, store_ctx, jmp_buf)
        longjmp = self.intrinsic("llvm.eh.sjlj.longjmp", VOID, [PTR])
        b.call(longjmp, [jmp_buf])
        b.unreachable()
        return fn

    def _record_backtrace(self, fn: ir.Function, b: ir.IRBuilder, store_ctx: ir.Value,
                          jmp_buf: ir.Value) -> None:
        """Walk the frame-pointer chain from here up to the entry trampoline's frame
        (`jmp_buf[0]` holds its frame address), saving each return address."""
        tb = self.tbaa.runtime
        buf = load_at(b, store_ctx, StoreCtx.BACKTRACE, PTR, tb)
        stop = b.ptrtoint(b.load(jmp_buf, typ=PTR, align=8), I64)
        fa = b.call(self.intrinsic("llvm.frameaddress.p0", PTR, [I32]), [ir.Constant(I32, 0)])
        head = fn.append_basic_block("walk")
        body = fn.append_basic_block("walk_frame")
        done = fn.append_basic_block("walked")
        pre = b.block
        b.cbranch(b.icmp_unsigned("==", buf, ir.Constant(PTR, None)), done, head)
        b.position_at_end(head)
        fp = b.phi(PTR)
        n = b.phi(I64)
        fp.add_incoming(fa, pre)
        n.add_incoming(ir.Constant(I64, 0), pre)
        fp_int = b.ptrtoint(fp, I64)
        # Callers' frames lie at higher addresses; stop at the entry, at a broken chain,
        # or when the buffer is full.
        keep_going = b.and_(
            b.and_(b.icmp_unsigned("!=", fp_int, ir.Constant(I64, 0)),
                   b.icmp_unsigned("<", fp_int, stop)),
            b.icmp_unsigned("<", n, ir.Constant(I64, MAX_BACKTRACE)))
        b.cbranch(keep_going, body, done)
        b.position_at_end(body)
        ret = load_at(b, fp, 8, I64, tb)
        b.store(ret, b.gep(buf, [n], source_etype=I64), align=8)
        caller_fp = load_at(b, fp, 0, PTR, tb)
        fp.add_incoming(caller_fp, body)
        n.add_incoming(b.add(n, ir.Constant(I64, 1)), body)
        b.branch(head)
        b.position_at_end(done)
        count = b.phi(I64)
        count.add_incoming(ir.Constant(I64, 0), pre)
        count.add_incoming(n, head)
        store_at(b, count, store_ctx, StoreCtx.BACKTRACE_LEN, tb)
