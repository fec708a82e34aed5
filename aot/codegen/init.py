"""`uint32_t aot_init(vmctx)`: the instantiation work that depends on the module only.

In module order (spec 2.0 §4.5.4): defined globals from their constant expressions, then
each active element segment (`table.init` + `elem.drop`), then each active data segment
(`memory.init` + `data.drop`).  A segment out of bounds traps before writing anything of
itself, and what earlier segments wrote stays written."""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

from aot.abi.traps import TrapCode
from aot.abi.vmctx import Builtin, FuncRef, MemoryDef, TableDef
from aot.codegen.irutil import gep_bytes, load_at, store_at
from aot.codegen.llvmtypes import I8, I32, I64, PTR, V128, llvm_type
from aot.codegen.module_context import ModuleContext
from aot.codegen.ops import families  # noqa: F401 - registers PURE_OPS (i32.add ...)
from aot.codegen.ops.memory import check_range
from aot.codegen.ops.parametric import f32_bits, f64_bits
from aot.codegen.ops.registry import PURE_OPS
from aot.codegen.trampolines import build_armed
from aot.errors import NotSupportedError
from aot.wasm.instr import Instr
from aot.wasm.opcodes import opcode_name


class ConstExprContext:
    """Evaluates constant expressions inside the init function.  Implements enough of
    `LoweringContext` for the pure arithmetic that extended constant expressions allow."""

    def __init__(self, mc: ModuleContext, fn: ir.Function, b: ir.IRBuilder, vmctx: ir.Value):
        self.mc = mc
        self.module = mc.ir
        self.fn = fn
        self.builder = b
        self.vmctx = vmctx

    def intrinsic(self, name: str, ret: ir.Type, args: Sequence[ir.Type]) -> ir.Function:
        return self.mc.intrinsic(name, ret, args)

    def trap_if(self, cond: ir.Value, code: TrapCode) -> None:
        b = self.builder
        trap = self.fn.append_basic_block("trap")
        cont = self.fn.append_basic_block("cont")
        b.cbranch(cond, trap, cont)
        tb = self.mc.builder(self.fn, trap)
        tb.call(self.mc.raise_trap, [self.vmctx, ir.Constant(I32, int(code)), ir.Constant(I64, 0)])
        tb.unreachable()
        b.position_at_end(cont)

    def global_get(self, index: int) -> ir.Value:
        mc, b = self.mc, self.builder
        slot = load_at(b, self.vmctx, mc.layout.global_(index), PTR, mc.tbaa.vmctx)
        return b.load(slot, typ=llvm_type(mc.global_types[index].type), align=8)

    def evaluate(self, expr: list[Instr]) -> ir.Value:
        stack: list[ir.Value] = []
        for ins in expr:
            name = opcode_name(ins.op)
            leaf = CONST_LEAVES.get(name)
            if leaf is not None:
                stack.append(leaf(self, ins.imm))
            elif name in PURE_OPS:  # extended constant expressions: i32.add etc.
                arity, lower = PURE_OPS[name]
                args = stack[len(stack) - arity:]
                del stack[len(stack) - arity:]
                stack.append(lower(self, *args))
            else:
                raise NotSupportedError(f"{name} in a constant expression", ins.offset)
        return stack[-1]


CONST_LEAVES = {
    "i32.const": lambda ctx, imm: ir.Constant(I32, imm & 0xFFFFFFFF),
    "i64.const": lambda ctx, imm: ir.Constant(I64, imm & 0xFFFFFFFFFFFFFFFF),
    "f32.const": lambda ctx, imm: f32_bits(imm),
    "f64.const": lambda ctx, imm: f64_bits(imm),
    "v128.const": lambda ctx, imm: ir.Constant(V128, [
        ir.Constant(I64, int.from_bytes(imm[:8], "little")),
        ir.Constant(I64, int.from_bytes(imm[8:], "little"))]),
    "ref.null": lambda ctx, imm: ir.Constant(PTR, None),
    "ref.func": lambda ctx, imm: gep_bytes(ctx.builder, ctx.vmctx, ctx.mc.layout.func_ref(imm)),
    "global.get": ConstExprContext.global_get,
}


def define_init(mc: ModuleContext, wasm_calls: dict[int, ir.Function]) -> ir.Function:
    fn = ir.Function(mc.ir, ir.FunctionType(I32, [PTR]), name="aot_init")
    fn.linkage = "internal"
    mc.set_function_attrs(fn)
    vmctx = fn.args[0]
    b = mc.builder(fn, fn.append_basic_block("entry"))
    store_ctx = load_at(b, vmctx, 8, PTR, mc.tbaa.vmctx)

    def run(b: ir.IRBuilder) -> None:
        ctx = ConstExprContext(mc, fn, b, vmctx)
        _init_func_refs(mc, ctx, wasm_calls)
        _init_globals(mc, ctx)
        _init_elems(mc, ctx)
        _init_datas(mc, ctx)

    build_armed(mc, fn, b, store_ctx, run)
    return fn


def _init_func_refs(mc: ModuleContext, ctx: ConstExprContext,
                    wasm_calls: dict[int, ir.Function]) -> None:
    """The VMFuncRef of every defined function that can escape: its wasm-call entry, its
    canonical type id (from the VMContext, where the loader put it) and this instance.
    Native code does this so instantiation costs no Python per function."""
    b = ctx.builder
    for index, fn in wasm_calls.items():
        ref = gep_bytes(b, ctx.vmctx, mc.layout.func_ref(index))
        type_id = load_at(b, ctx.vmctx, mc.layout.type_id(mc.type_indices[index]), I32, mc.tbaa.vmctx)
        store_at(b, fn, ref, FuncRef.WASM_CALL, mc.tbaa.runtime)
        store_at(b, b.zext(type_id, I64), ref, FuncRef.TYPE_ID, mc.tbaa.runtime)
        store_at(b, ctx.vmctx, ref, FuncRef.VMCTX, mc.tbaa.runtime)


def _init_globals(mc: ModuleContext, ctx: ConstExprContext) -> None:
    b = ctx.builder
    first = mc.wasm.num_imported_globals
    for i, g in enumerate(mc.wasm.globals):
        value = ctx.evaluate(g.init)
        slot = load_at(b, ctx.vmctx, mc.layout.global_(first + i), PTR, mc.tbaa.vmctx)
        b.store(value, slot, align=8)


def _check_range(ctx: ConstExprContext, offset: ir.Value, count: int, length: ir.Value,
                 code: TrapCode) -> ir.Value:
    start = ctx.builder.zext(offset, I64)
    check_range(ctx, start, ir.Constant(I64, count), length, code)
    return start


def _set_length(mc: ModuleContext, ctx: ConstExprContext, offset: int, n: int) -> None:
    b = ctx.builder
    b.store(ir.Constant(I64, n), gep_bytes(b, ctx.vmctx, offset), align=8)


def _init_elems(mc: ModuleContext, ctx: ConstExprContext) -> None:
    b = ctx.builder
    for i, seg in enumerate(mc.wasm.elems):
        if seg.mode == "passive":
            # Kept for table.init: evaluate the items once, into the VMContext.
            items = gep_bytes(b, ctx.vmctx, mc.layout.elem_items + 8 * mc.elem_item_base[i])
            for k, expr in enumerate(seg.init):
                b.store(ctx.evaluate(expr), gep_bytes(b, items, 8 * k), align=8)
            _set_length(mc, ctx, mc.layout.elem_length(i), len(seg.init))
        if seg.mode != "active":
            continue  # declarative segments are dropped at once: their length stays 0
        offset = ctx.evaluate(seg.offset)
        tdef = load_at(b, ctx.vmctx, mc.layout.table(seg.table), PTR, mc.tbaa.vmctx)
        length = load_at(b, tdef, TableDef.LENGTH, I64, mc.tbaa.runtime)
        start = _check_range(ctx, offset, len(seg.init), length, TrapCode.TABLE_OUT_OF_BOUNDS)
        base = load_at(b, tdef, TableDef.BASE, PTR, mc.tbaa.runtime)
        for k, expr in enumerate(seg.init):
            value = ctx.evaluate(expr)
            idx = b.add(start, ir.Constant(I64, k))
            b.store(value, b.gep(base, [idx], source_etype=PTR), align=8)


def _init_datas(mc: ModuleContext, ctx: ConstExprContext) -> None:
    b = ctx.builder
    imaged = mc.has_memory_image  # once: it looks at every segment
    for k, seg in enumerate(mc.wasm.datas):
        if seg.mode == "passive":
            _set_length(mc, ctx, mc.layout.data_length(k), len(seg.data))
            continue
        if imaged:
            continue  # in the memory image, which the loader maps: nothing to copy or check
        offset = ctx.evaluate(seg.offset)
        mdef = load_at(b, ctx.vmctx, mc.layout.memory(seg.memory), PTR, mc.tbaa.vmctx)
        length = load_at(b, mdef, MemoryDef.LENGTH, I64, mc.tbaa.runtime)
        start = _check_range(ctx, offset, len(seg.data), length, TrapCode.MEMORY_OUT_OF_BOUNDS)
        if not seg.data:
            continue
        base = load_at(b, mdef, MemoryDef.BASE, PTR, mc.tbaa.runtime)
        dst = b.gep(base, [start], source_etype=I8)
        mc.call_builtin(b, ctx.vmctx, Builtin.MEMCPY, PTR,
                        [dst, mc.data_global(k), ir.Constant(I64, len(seg.data))])
