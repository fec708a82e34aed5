"""Structured control flow: block, loop, if/else, end, br, br_if, br_table, return,
unreachable, nop.  Block results travel through phi nodes at the merge blocks."""

from __future__ import annotations

from llvmlite import ir

from aot.abi.traps import TrapCode
from aot.codegen.function import Frame, FunctionTranslator
from aot.codegen.leanir import Block
from aot.codegen.llvmtypes import const_i32
from aot.codegen.ops.registry import stateful
from aot.wasm.instr import Instr


@stateful("nop")
def nop(tr: FunctionTranslator, ins: Instr) -> None:
    pass


@stateful("unreachable")
def unreachable(tr: FunctionTranslator, ins: Instr) -> None:
    tr.trap(TrapCode.UNREACHABLE_CODE_REACHED)
    tr.mark_unreachable()


@stateful("block")
def block(tr: FunctionTranslator, ins: Instr) -> None:
    bt = ins.imm
    merge = tr.new_block("block_end")
    phis = tr.make_phis(merge, bt.results)
    height = len(tr.stack) - len(bt.params)
    tr.frames.append(Frame("block", bt, height, merge, phis, merge, phis))


@stateful("loop")
def loop(tr: FunctionTranslator, ins: Instr) -> None:
    bt = ins.imm
    header = tr.new_block("loop")
    header_phis = tr.make_phis(header, bt.params)
    merge = tr.new_block("loop_end")
    merge_phis = tr.make_phis(merge, bt.results)
    params = tr.popn(len(bt.params))
    height = len(tr.stack)
    frame = Frame("loop", bt, height, header, header_phis, merge, merge_phis)
    tr.branch_to(frame, params)
    tr.builder.position_at_end(header)
    tr.loop_header_checks()
    tr.stack.extend(header_phis)
    tr.frames.append(frame)


@stateful("if")
def if_(tr: FunctionTranslator, ins: Instr) -> None:
    bt = ins.imm
    cond = tr.pop()
    then = tr.new_block("then")
    else_block = tr.new_block("else")
    merge = tr.new_block("if_end")
    phis = tr.make_phis(merge, bt.results)
    params = tr.stack[len(tr.stack) - len(bt.params):]
    height = len(tr.stack) - len(bt.params)
    b = tr.builder
    b.cbranch(b.icmp_unsigned("!=", cond, const_i32(0)), then, else_block)
    frame = Frame("if", bt, height, merge, phis, merge, phis, else_block, list(params))
    tr.frames.append(frame)
    b.position_at_end(then)


def _fall_into_merge(tr: FunctionTranslator, frame: Frame) -> None:
    """At else/end of reachable code: the block's results flow to its merge block."""
    if tr.reachable:
        values = tr.popn(len(frame.type.results))
        src = tr.builder.block
        for phi, v in zip(frame.merge_phis, values):
            phi.add_incoming(v, src)
        tr.builder.branch(frame.merge)
        frame.merge_reached = True


@stateful("else")
def else_(tr: FunctionTranslator, ins: Instr) -> None:
    frame = tr.frames[-1]
    _fall_into_merge(tr, frame)
    del tr.stack[frame.height:]
    tr.builder.position_at_end(frame.else_block)
    tr.stack.extend(frame.else_params)
    frame.else_block = None
    tr.reachable = True


@stateful("end")
def end(tr: FunctionTranslator, ins: Instr) -> None:
    frame = tr.frames[-1]
    _fall_into_merge(tr, frame)
    if frame.kind == "if" and frame.else_block is not None:
        # `if` without `else`: the implicit else passes the parameters through.
        b = tr.builder_at(frame.else_block)
        for phi, v in zip(frame.merge_phis, frame.else_params):
            phi.add_incoming(v, frame.else_block)
        b.branch(frame.merge)
        frame.merge_reached = True
    tr.frames.pop()
    del tr.stack[frame.height:]
    b = tr.builder
    b.position_at_end(frame.merge)
    if frame.kind == "func":
        _return_from(tr, frame)
        return
    if frame.merge_reached:
        tr.reachable = True
        tr.stack.extend(frame.merge_phis)
    else:
        b.unreachable()
        tr.mark_unreachable()


def _return_from(tr: FunctionTranslator, frame: Frame) -> None:
    b = tr.builder
    if not frame.merge_reached:
        b.unreachable()
        return
    results = frame.merge_phis
    ret_ty = tr.fn.function_type.return_type
    if not results:
        b.ret_void()
    elif len(results) == 1:
        b.ret(results[0])
    else:
        agg = ir.Constant(ret_ty, ir.Undefined)
        for i, v in enumerate(results):
            agg = b.insert_value(agg, v, i)
        b.ret(agg)


@stateful("br")
def br(tr: FunctionTranslator, ins: Instr) -> None:
    frame = tr.frames[-1 - ins.imm]
    values = tr.stack[len(tr.stack) - frame.branch_arity:] if frame.branch_arity else []
    tr.branch_to(frame, values)
    tr.mark_unreachable()


@stateful("return")
def return_(tr: FunctionTranslator, ins: Instr) -> None:
    frame = tr.frames[0]
    values = tr.stack[len(tr.stack) - frame.branch_arity:] if frame.branch_arity else []
    tr.branch_to(frame, values)
    tr.mark_unreachable()


@stateful("br_if")
def br_if(tr: FunctionTranslator, ins: Instr) -> None:
    frame = tr.frames[-1 - ins.imm]
    cond = tr.pop()
    values = tr.stack[len(tr.stack) - frame.branch_arity:] if frame.branch_arity else []
    b = tr.builder
    cont = tr.new_block("br_if_cont")
    tr.add_branch_edge(frame, values, b.block)
    b.cbranch(b.icmp_unsigned("!=", cond, const_i32(0)), frame.target, cont)
    b.position_at_end(cont)


@stateful("br_table")
def br_table(tr: FunctionTranslator, ins: Instr) -> None:
    targets, default = ins.imm
    index = tr.pop()
    b = tr.builder
    arity = tr.frames[-1 - default].branch_arity
    values = tr.stack[len(tr.stack) - arity:] if arity else []
    # One edge block per distinct label, so that each target's phis see exactly one
    # incoming edge from this br_table however often the label repeats.
    edges: dict[int, Block] = {}

    def edge(depth: int) -> Block:
        blk = edges.get(depth)
        if blk is None:
            blk = tr.new_block(f"br_table_{depth}")
            eb = tr.builder_at(blk)
            frame = tr.frames[-1 - depth]
            tr.add_branch_edge(frame, values, blk)
            eb.branch(frame.target)
            edges[depth] = blk
        return blk

    switch = b.switch(index, edge(default))
    for i, depth in enumerate(targets):
        if depth != default:
            switch.add_case(const_i32(i), edge(depth))
    tr.mark_unreachable()
