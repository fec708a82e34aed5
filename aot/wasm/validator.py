"""Module validation (spec chapter 3), with the reference interpreter's messages.

Function bodies are checked with the operand-stack algorithm of the spec's appendix
(A.3).  The hundreds of operators with a fixed signature share one fast path driven by
the opcode table; only control, variable, call, reference, table and parametric
operators have handlers of their own.
"""

from __future__ import annotations

from collections.abc import Callable

from aot.errors import CompileError
from aot.wasm import opcodes as ops
from aot.wasm.instr import Instr
from aot.wasm.module import FuncBody, Module
from aot.wasm.opcodes import OPCODES, OpInfo
from aot.wasm.types import (
    MAX_PAGES,
    MAX_PAGES_64,
    ExternKind,
    FuncType,
    Limits,
    MemoryType,
    ValType,
)

I32, I64, F32, F64, V128 = ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128
FUNCREF, EXTERNREF = ValType.FUNCREF, ValType.EXTERNREF
_NUMVEC = frozenset((I32, I64, F32, F64, V128))
_REFS = frozenset((FUNCREF, EXTERNREF))

# An operand of unknown type, popped from the polymorphic stack after unreachable code.
UNKNOWN = None

# The arithmetic the extended-const proposal allows in constant expressions (on by
# default in wasmtime, as here).
_EXTENDED_CONST = {0x6A: "i32.add", 0x6B: "i32.sub", 0x6C: "i32.mul",
                   0x7C: "i64.add", 0x7D: "i64.sub", 0x7E: "i64.mul"}


class _Invalid(Exception):
    """Raised inside the body checker with just a message; turned into CompileError
    with the offending instruction's offset and the function index."""


def _err(message: str) -> _Invalid:
    return _Invalid(message)


class _Ctrl:
    __slots__ = ("op", "params", "results", "height", "unreachable", "labels")

    def __init__(self, op: int, params: tuple, results: tuple, height: int) -> None:
        self.op = op
        self.params = params
        self.results = results
        self.height = height
        self.unreachable = False
        # A branch to a loop goes back to its start, so it carries the params.
        self.labels = params if op == ops.LOOP else results


# --- the simple operators: (params list, param count, results list, extra check) ---
# `extra` names the immediate check the operator needs beyond its stack effect.

_EXTRA_BY_IMM = {
    "memarg": "memarg",
    "memarg_lane": "memarg_lane",
    "memory": "memory",
    "memory_copy": "memory_copy",
    "memory_init": "memory_init",
    "data": "data",
    "lane": "lane",
    "shuffle": "shuffle",
}

_SIMPLE: dict[int, tuple[list, int, list, str | None, OpInfo]] = {
    code: (
        list(info.params),
        len(info.params),
        list(info.results),
        _EXTRA_BY_IMM.get(info.imm),
        info,
    )
    for code, info in OPCODES.items()
    if info.simple
}


class _ModuleContext:
    """What function bodies may refer to (the spec's context C)."""

    def __init__(self, m: Module) -> None:
        self.m = m
        self.types = m.types
        self.func_types: list[FuncType] = []
        self.tables = m.all_tables()
        self.memories = m.all_memories()
        self.globals = m.all_globals()
        self.elem_types = [e.type for e in m.elems]
        self.num_datas = m.data_count if m.data_count is not None else len(m.datas)
        self.refs: set[int] = set()


def _limits(lim: Limits, bound: int, msg: str) -> None:
    if lim.min > bound:
        raise CompileError(msg)
    if lim.max is not None:
        if lim.max > bound:
            raise CompileError(msg)
        if lim.min > lim.max:
            raise CompileError("size minimum must not be greater than maximum")


def check_table_limits(lim: Limits) -> None:
    _limits(lim, 0xFFFF_FFFF, "table size must be at most 2^32-1")


def check_memory_type(mt: MemoryType) -> None:
    if mt.is64:
        _limits(mt.limits, MAX_PAGES_64, "memory size must be at most 2^48 pages")
    else:
        _limits(mt.limits, MAX_PAGES, "memory size must be at most 65536 pages (4GiB)")


def validate(module: Module, bodies: BodyChecker | None = None) -> None:
    """Validate a decoded module; raises CompileError with the spec's message.
    `bodies`: the function bodies were checked as they were decoded (and not kept):
    its first error is raised where checking them here would have raised it."""
    c = _module_checks(module)
    base = module.num_imported_funcs
    if bodies is None:
        for i, body in enumerate(module.codes):
            _FuncChecker(c, base + i, body).run()
    elif bodies.error is not None:
        raise bodies.error
    _tail_checks(module, c)


class BodyChecker:
    """Checks function bodies one at a time, as a decoder hands them over (`aot.wasm.
    parse(..., keep_bodies=False)`), keeping the first error for `validate`: the module's
    other checks come first there, and some read sections that follow the code.  The
    context bodies see is made from the sections before the code section, all there by
    the first body."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self._context: _ModuleContext | None = None

    def check(self, module: Module, index: int, body: FuncBody) -> None:
        if self.error is not None:
            return
        try:
            if self._context is None:
                self._context = _module_checks(module)
            _FuncChecker(self._context, index, body).run()
        except Exception as exc:  # noqa: BLE001 - raised by `validate`, in its turn
            self.error = exc


def _module_checks(m: Module) -> _ModuleContext:
    """Everything `validate` checks before the function bodies; the context they are
    checked in."""
    c = _ModuleContext(m)
    ntypes = len(m.types)

    for imp in m.imports:
        if imp.kind == ExternKind.FUNC:
            if imp.type >= ntypes:  # type: ignore[operator]
                raise CompileError(f"unknown type {imp.type}")
        elif imp.kind == ExternKind.TABLE:
            check_table_limits(imp.type.limits)  # type: ignore[union-attr]
        elif imp.kind == ExternKind.MEMORY:
            check_memory_type(imp.type)  # type: ignore[arg-type]
    for ti in m.funcs:
        if ti >= ntypes:
            raise CompileError(f"unknown type {ti}")
    c.func_types = m.func_types()
    nfuncs = len(c.func_types)

    # Functions that may be referenced with ref.func in bodies: those named anywhere
    # outside function bodies (spec 3.4.10, C.refs).
    refs = c.refs
    for exp in m.exports:
        if exp.kind == ExternKind.FUNC:
            refs.add(exp.index)
    for g in m.globals:
        refs.update(i.imm for i in g.init if i.op == ops.REF_FUNC)
    for e in m.elems:
        for expr in e.init:
            refs.update(i.imm for i in expr if i.op == ops.REF_FUNC)

    # Constant expressions see only imported globals (2.0).
    const_globals = [imp.type for imp in m.imports if imp.kind == ExternKind.GLOBAL]

    for g in m.globals:
        _check_const(g.init, g.type.type, const_globals, nfuncs)
    for t in m.tables:
        check_table_limits(t.limits)
    for mem in m.memories:
        check_memory_type(mem)
    for e in m.elems:
        if e.mode == "active":
            if e.table >= len(c.tables):
                raise CompileError(f"unknown table {e.table}")
            _check_const(e.offset or [], I32, const_globals, nfuncs)
            if c.tables[e.table].elem != e.type:
                raise CompileError("type mismatch")
        for expr in e.init:
            _check_const(expr, e.type, const_globals, nfuncs)
    for d in m.datas:
        if d.mode == "active":
            if d.memory >= len(c.memories):
                raise CompileError(f"unknown memory {d.memory}")
            _check_const(d.offset or [], c.memories[d.memory].index_type, const_globals,
                         nfuncs)
    return c


def _tail_checks(m: Module, c: _ModuleContext) -> None:
    """What `validate` checks after the function bodies."""
    nfuncs = len(c.func_types)
    if m.start is not None:
        if m.start >= nfuncs:
            raise CompileError(f"unknown function {m.start}")
        ft = c.func_types[m.start]
        if ft.params or ft.results:
            raise CompileError("start function")

    limits_of = {
        ExternKind.FUNC: (nfuncs, "function"),
        ExternKind.TABLE: (len(c.tables), "table"),
        ExternKind.MEMORY: (len(c.memories), "memory"),
        ExternKind.GLOBAL: (len(c.globals), "global"),
    }
    seen: set[str] = set()
    for exp in m.exports:
        count, what = limits_of[exp.kind]
        if exp.index >= count:
            raise CompileError(f"unknown {what} {exp.index}")
        if exp.name in seen:
            raise CompileError("duplicate export name")
        seen.add(exp.name)

    if len(c.memories) > 1 and not m.multi_memory:
        raise CompileError("multiple memories (the multi-memory proposal is off)")


_CONST_TYPES = {
    ops.I32_CONST: I32,
    ops.I64_CONST: I64,
    ops.F32_CONST: F32,
    ops.F64_CONST: F64,
    ops.V128_CONST: V128,
}


def _check_const(expr: list[Instr], expected: ValType, globals_: list, nfuncs: int) -> None:
    """A constant expression: constant instructions, immutable globals and (extended
    constant expressions) i32/i64 add, sub and mul, leaving one value of the expected
    type."""
    stack: list[ValType] = []
    for ins in expr:
        op = ins.op
        t = _CONST_TYPES.get(op)
        if t is None:
            if op == ops.GLOBAL_GET:
                if ins.imm >= len(globals_):
                    raise CompileError(f"unknown global {ins.imm}", ins.offset)
                g = globals_[ins.imm]
                if g.mutable:
                    raise CompileError("constant expression required", ins.offset)
                t = g.type
            elif op == ops.REF_NULL:
                t = ins.imm
            elif op == ops.REF_FUNC:
                if ins.imm >= nfuncs:
                    raise CompileError(f"unknown function {ins.imm}", ins.offset)
                t = FUNCREF
            elif op in _EXTENDED_CONST:  # the extended-const proposal, on as in wasmtime
                t = I32 if _EXTENDED_CONST[op].startswith("i32") else I64
                if stack[-2:] != [t, t]:
                    raise CompileError("type mismatch", ins.offset)
                del stack[-2:]
            else:
                raise CompileError("constant expression required", ins.offset)
        stack.append(t)
    if stack != [expected]:
        raise CompileError("type mismatch", expr[-1].offset if expr else None)


class _FuncChecker:
    """The spec's validation algorithm (appendix A.3) for one function body."""

    def __init__(self, c: _ModuleContext, func_index: int, body: FuncBody) -> None:
        self.c = c
        self.func_index = func_index
        self.body = body
        ft = c.func_types[func_index]
        self.ft = ft
        self.locals = list(ft.params) + body.locals
        self.stack: list[ValType | None] = []
        self.ctrls: list[_Ctrl] = []

    # --- the operand and control stacks (A.3) ---

    def pop(self, expect: ValType | None = None) -> ValType | None:
        stack = self.stack
        cur = self.ctrls[-1]
        if len(stack) == cur.height:
            if cur.unreachable:
                return UNKNOWN
            raise _err("type mismatch")
        actual = stack.pop()
        if expect is None:
            return actual
        if actual is not expect and actual is not None:
            raise _err("type mismatch")
        return actual

    def pop_vals(self, types: tuple | list) -> None:
        for t in reversed(types):
            self.pop(t)

    def push_ctrl(self, op: int, params: tuple, results: tuple) -> None:
        self.ctrls.append(_Ctrl(op, params, results, len(self.stack)))
        self.stack.extend(params)

    def pop_ctrl(self) -> _Ctrl:
        frame = self.ctrls[-1]
        self.pop_vals(frame.results)
        if len(self.stack) != frame.height:
            raise _err("type mismatch")
        self.ctrls.pop()
        return frame

    def set_unreachable(self) -> None:
        frame = self.ctrls[-1]
        del self.stack[frame.height :]
        frame.unreachable = True

    def label(self, depth: int) -> _Ctrl:
        if depth >= len(self.ctrls):
            raise _err(f"unknown label {depth}")
        return self.ctrls[-1 - depth]

    # --- index lookups ---

    def memory(self, index: int = 0) -> MemoryType:
        if index >= len(self.c.memories):
            raise _err(f"unknown memory {index}")
        return self.c.memories[index]

    def table(self, index: int) -> ValType:
        tables = self.c.tables
        if index >= len(tables):
            raise _err(f"unknown table {index}")
        return tables[index].elem

    def elem(self, index: int) -> ValType:
        if index >= len(self.c.elem_types):
            raise _err(f"unknown elem segment {index}")
        return self.c.elem_types[index]

    def data(self, index: int) -> None:
        if index >= self.c.num_datas:
            raise _err(f"unknown data segment {index}")

    def functype(self, index: int) -> FuncType:
        if index >= len(self.c.func_types):
            raise _err(f"unknown function {index}")
        return self.c.func_types[index]

    def type_(self, index: int) -> FuncType:
        if index >= len(self.c.types):
            raise _err(f"unknown type {index}")
        return self.c.types[index]

    # --- the loop ---

    def run(self) -> None:
        ft = self.ft
        self.ctrls.append(_Ctrl(ops.BLOCK, (), ft.results, 0))
        stack = self.stack
        ctrls = self.ctrls
        locals_ = self.locals
        nlocals = len(locals_)
        simple = _SIMPLE
        special = _SPECIAL
        extra_checks = _EXTRA_CHECKS
        local_get, local_set, local_tee = ops.LOCAL_GET, ops.LOCAL_SET, ops.LOCAL_TEE
        ins: Instr | None = None
        try:
            for ins in self.body.code:
                op = ins.op
                sig = simple.get(op)
                if sig is not None:
                    params, n, results, extra, info = sig
                    if extra is not None:
                        retyped = extra_checks[extra](self, ins, info)
                        if retyped is not None:
                            params, results = retyped
                            n = len(params)
                    if n:
                        # Fast path: the operands are on top with exactly these types.
                        if len(stack) - ctrls[-1].height >= n and stack[-n:] == params:
                            del stack[-n:]
                        else:
                            self.pop_vals(params)
                    if results:
                        stack.extend(results)
                # Local variable access is the most frequent operator: inlined.
                elif op == local_get:
                    if ins.imm >= nlocals:
                        raise _err(f"unknown local {ins.imm}")
                    stack.append(locals_[ins.imm])
                elif op == local_set or op == local_tee:
                    if ins.imm >= nlocals:
                        raise _err(f"unknown local {ins.imm}")
                    t = locals_[ins.imm]
                    if len(stack) > ctrls[-1].height and stack[-1] is t:
                        if op == local_set:
                            stack.pop()
                    else:
                        self.pop(t)
                        if op == local_tee:
                            stack.append(t)
                else:
                    special[op](self, ins)
        except _Invalid as e:
            raise CompileError(str(e), ins.offset if ins else None, self.func_index) from None


# --- extra immediate checks of simple operators ---


_ATOMIC_PREFIX = 0xFE

# An extra check returns None, or the operator's (params, results) when they differ from
# the opcode table's: those of a 64-bit memory (memory64), addressed by i64.


def _x_memarg(fc: _FuncChecker, ins: Instr, info: OpInfo) -> tuple[list, list] | None:
    imm = ins.imm
    if imm[2] >= len(fc.c.memories):
        raise _err(f"unknown memory {imm[2]}")
    if imm[0] > info.align:
        raise _err("alignment must not be larger than natural")
    if imm[0] != info.align and info.code >> 16 == _ATOMIC_PREFIX:
        raise _err("atomic alignment must be natural")
    if not fc.c.memories[imm[2]].is64:
        if imm[1] > 0xFFFF_FFFF:
            raise _err("offset out of range (a 32-bit memory's offsets are u32)")
        return None
    return [I64, *info.params[1:]], list(info.results)  # the address is the first operand


def _x_memarg_lane(fc: _FuncChecker, ins: Instr, info: OpInfo) -> tuple[list, list] | None:
    sig = _x_memarg(fc, ins, info)
    if ins.imm[3] >= info.lanes:
        raise _err("invalid lane index")
    return sig


# memory.size, memory.grow, memory.fill: which operands and results are addresses or
# page counts (the memory's index type) rather than i32s.
_INDEX_TYPED = {"memory.size": ((), (0,)), "memory.grow": ((0,), (0,)),
                "memory.fill": ((0, 2), ())}


def _with_index_type(types: tuple, positions: tuple, it: ValType) -> list:
    return [it if k in positions else t for k, t in enumerate(types)]


def _x_memory(fc: _FuncChecker, ins: Instr, info: OpInfo) -> tuple[list, list] | None:
    mt = fc.memory(ins.imm)
    if not mt.is64:
        return None
    params, results = _INDEX_TYPED[info.name]
    return (_with_index_type(info.params, params, I64),
            _with_index_type(info.results, results, I64))


def _x_memory_copy(fc: _FuncChecker, ins: Instr, info: OpInfo) -> tuple[list, list] | None:
    dst = fc.memory(ins.imm[0])
    src = fc.memory(ins.imm[1])
    if not (dst.is64 or src.is64):
        return None
    # The count is i64 only when both are 64-bit memories.
    count = I64 if dst.is64 and src.is64 else I32
    return [dst.index_type, src.index_type, count], []


def _x_memory_init(fc: _FuncChecker, ins: Instr, info: OpInfo) -> tuple[list, list] | None:
    mt = fc.memory(ins.imm[1])
    fc.data(ins.imm[0])
    return ([I64, I32, I32], []) if mt.is64 else None


def _x_data(fc: _FuncChecker, ins: Instr, info: OpInfo) -> None:
    fc.data(ins.imm)


def _x_lane(fc: _FuncChecker, ins: Instr, info: OpInfo) -> None:
    if ins.imm >= info.lanes:
        raise _err("invalid lane index")


def _x_shuffle(fc: _FuncChecker, ins: Instr, info: OpInfo) -> None:
    if max(ins.imm) >= 32:
        raise _err("invalid lane index")


_EXTRA_CHECKS: dict[str, Callable[[_FuncChecker, Instr, OpInfo], tuple[list, list] | None]] = {
    "memarg": _x_memarg,
    "memarg_lane": _x_memarg_lane,
    "memory": _x_memory,
    "memory_copy": _x_memory_copy,
    "memory_init": _x_memory_init,
    "data": _x_data,
    "lane": _x_lane,
    "shuffle": _x_shuffle,
}


# --- operators with their own rule ---


def _unreachable(fc: _FuncChecker, ins: Instr) -> None:
    fc.set_unreachable()


def _block(fc: _FuncChecker, ins: Instr) -> None:
    bt: FuncType = ins.imm
    if ins.op == ops.IF:
        fc.pop(I32)
    fc.pop_vals(bt.params)
    fc.push_ctrl(ins.op, bt.params, bt.results)


def _else(fc: _FuncChecker, ins: Instr) -> None:
    frame = fc.pop_ctrl()
    if frame.op != ops.IF:  # the decoder already guarantees this
        raise _err("type mismatch")
    fc.push_ctrl(ops.ELSE, frame.params, frame.results)


def _end(fc: _FuncChecker, ins: Instr) -> None:
    frame = fc.pop_ctrl()
    # An `if` without `else` has an implicit empty else: params must pass through.
    if frame.op == ops.IF and frame.params != frame.results:
        raise _err("type mismatch")
    fc.stack.extend(frame.results)


def _br(fc: _FuncChecker, ins: Instr) -> None:
    fc.pop_vals(fc.label(ins.imm).labels)
    fc.set_unreachable()


def _br_if(fc: _FuncChecker, ins: Instr) -> None:
    labels = fc.label(ins.imm).labels
    fc.pop(I32)
    fc.pop_vals(labels)
    fc.stack.extend(labels)


def _br_table(fc: _FuncChecker, ins: Instr) -> None:
    targets, default = ins.imm
    default_labels = fc.label(default).labels
    arity = len(default_labels)
    fc.pop(I32)
    for t in targets:
        labels = fc.label(t).labels
        if len(labels) != arity:
            raise _err("type mismatch")
        # Pop then re-push: each target checks the same operands; unknowns stay unknown.
        popped = [fc.pop(lt) for lt in reversed(labels)]
        fc.stack.extend(reversed(popped))
    fc.pop_vals(default_labels)
    fc.set_unreachable()


def _return(fc: _FuncChecker, ins: Instr) -> None:
    fc.pop_vals(fc.ft.results)
    fc.set_unreachable()


def _called(fc: _FuncChecker, ins: Instr) -> FuncType:
    """call's and return_call's callee type, its parameters popped."""
    ft = fc.functype(ins.imm)
    fc.pop_vals(ft.params)
    return ft


def _called_indirect(fc: _FuncChecker, ins: Instr) -> FuncType:
    """call_indirect's and return_call_indirect's type, the index and parameters popped."""
    type_index, table_index = ins.imm
    if fc.table(table_index) != FUNCREF:
        raise _err("type mismatch")
    ft = fc.type_(type_index)
    fc.pop(I32)
    fc.pop_vals(ft.params)
    return ft


def _call(fc: _FuncChecker, ins: Instr) -> None:
    fc.stack.extend(_called(fc, ins).results)


def _call_indirect(fc: _FuncChecker, ins: Instr) -> None:
    fc.stack.extend(_called_indirect(fc, ins).results)


def _tail_call_results(fc: _FuncChecker, ft: FuncType) -> None:
    """A tail call returns the callee's results as the caller's own: they must match."""
    if tuple(ft.results) != tuple(fc.ft.results):
        raise _err("type mismatch")
    fc.set_unreachable()


def _return_call(fc: _FuncChecker, ins: Instr) -> None:
    _tail_call_results(fc, _called(fc, ins))


def _return_call_indirect(fc: _FuncChecker, ins: Instr) -> None:
    _tail_call_results(fc, _called_indirect(fc, ins))


def _drop(fc: _FuncChecker, ins: Instr) -> None:
    fc.pop()


def _select(fc: _FuncChecker, ins: Instr) -> None:
    fc.pop(I32)
    t1 = fc.pop()
    t2 = fc.pop()
    # Untyped select only takes numeric/vector operands.
    if (t1 is not None and t1 not in _NUMVEC) or (t2 is not None and t2 not in _NUMVEC):
        raise _err("type mismatch")
    if t1 is not None and t2 is not None and t1 is not t2:
        raise _err("type mismatch")
    fc.stack.append(t1 if t1 is not None else t2)


def _select_t(fc: _FuncChecker, ins: Instr) -> None:
    types = ins.imm
    if len(types) != 1:
        raise _err("invalid result arity")
    t = types[0]
    fc.pop(I32)
    fc.pop(t)
    fc.pop(t)
    fc.stack.append(t)


def _global(fc: _FuncChecker, index: int):
    globals_ = fc.c.globals
    if index >= len(globals_):
        raise _err(f"unknown global {index}")
    return globals_[index]


def _global_get(fc: _FuncChecker, ins: Instr) -> None:
    fc.stack.append(_global(fc, ins.imm).type)


def _global_set(fc: _FuncChecker, ins: Instr) -> None:
    g = _global(fc, ins.imm)
    if not g.mutable:
        raise _err("global is immutable")
    fc.pop(g.type)


def _table_get(fc: _FuncChecker, ins: Instr) -> None:
    t = fc.table(ins.imm)
    fc.pop(I32)
    fc.stack.append(t)


def _table_set(fc: _FuncChecker, ins: Instr) -> None:
    t = fc.table(ins.imm)
    fc.pop(t)
    fc.pop(I32)


def _table_size(fc: _FuncChecker, ins: Instr) -> None:
    fc.table(ins.imm)
    fc.stack.append(I32)


def _table_grow(fc: _FuncChecker, ins: Instr) -> None:
    t = fc.table(ins.imm)
    fc.pop(I32)
    fc.pop(t)
    fc.stack.append(I32)


def _table_fill(fc: _FuncChecker, ins: Instr) -> None:
    t = fc.table(ins.imm)
    fc.pop(I32)
    fc.pop(t)
    fc.pop(I32)


def _table_copy(fc: _FuncChecker, ins: Instr) -> None:
    dst, src = ins.imm
    if fc.table(dst) != fc.table(src):
        raise _err("type mismatch")
    fc.pop_vals((I32, I32, I32))


def _table_init(fc: _FuncChecker, ins: Instr) -> None:
    seg, table = ins.imm
    t = fc.table(table)
    if fc.elem(seg) != t:
        raise _err("type mismatch")
    fc.pop_vals((I32, I32, I32))


def _elem_drop(fc: _FuncChecker, ins: Instr) -> None:
    fc.elem(ins.imm)


def _ref_null(fc: _FuncChecker, ins: Instr) -> None:
    fc.stack.append(ins.imm)


def _ref_is_null(fc: _FuncChecker, ins: Instr) -> None:
    t = fc.pop()
    if t is not None and t not in _REFS:
        raise _err("type mismatch")
    fc.stack.append(I32)


def _ref_func(fc: _FuncChecker, ins: Instr) -> None:
    fc.functype(ins.imm)
    if ins.imm not in fc.c.refs:
        raise _err("undeclared function reference")
    fc.stack.append(FUNCREF)


_BY_NAME: dict[str, Callable[[_FuncChecker, Instr], None]] = {
    "unreachable": _unreachable,
    "block": _block,
    "loop": _block,
    "if": _block,
    "else": _else,
    "end": _end,
    "br": _br,
    "br_if": _br_if,
    "br_table": _br_table,
    "return": _return,
    "call": _call,
    "call_indirect": _call_indirect,
    "return_call": _return_call,
    "return_call_indirect": _return_call_indirect,
    "drop": _drop,
    "global.get": _global_get,
    "global.set": _global_set,
    "table.get": _table_get,
    "table.set": _table_set,
    "table.size": _table_size,
    "table.grow": _table_grow,
    "table.fill": _table_fill,
    "table.copy": _table_copy,
    "table.init": _table_init,
    "elem.drop": _elem_drop,
    "ref.null": _ref_null,
    "ref.is_null": _ref_is_null,
    "ref.func": _ref_func,
}
_SPECIAL: dict[int, Callable[[_FuncChecker, Instr], None]] = {
    code: _BY_NAME[info.name]
    for code, info in OPCODES.items()
    if not info.simple and info.name in _BY_NAME
}
_SPECIAL[ops.SELECT] = _select
_SPECIAL[ops.SELECT_T] = _select_t
_INLINED = {ops.LOCAL_GET, ops.LOCAL_SET, ops.LOCAL_TEE}
assert set(_SPECIAL) | set(_SIMPLE) | _INLINED == set(OPCODES), "every opcode needs a rule"
