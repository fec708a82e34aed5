"""A lean builder for the bodies of wasm functions: llvmlite's `IRBuilder` interface,
writing each instruction's text once, as it is built.

llvmlite's `ir` objects cost ~20 µs an instruction (name deduplication, operand lists,
metadata dicts, formatting when the module is printed); the bodies of wasm functions
are nearly all of a module's instructions, and building them was most of the compile
at -O0/-O1.  Here an instruction is a small object holding its finished text; only
what is filled in later (phi edges, switch cases, metadata such as `!tbaa` and
`!prof`) is rendered when the function is printed.  The function itself, the module,
globals, constants and types stay llvmlite's: a lean block is rendered by llvmlite's
`Function.descr` like any other (`descr(buf)`), and llvmlite values (constants,
arguments, functions, globals, inline asm) are operands as they are.

The lowering tables (`aot.codegen.ops`) use the same builder methods with either
builder; trampolines and the init function keep llvmlite's."""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

_I1 = ir.IntType(1)
_VOID = ir.VoidType()
_PTR = ir.PointerType()
_CMP = {">": "gt", "<": "lt", "==": "eq", "!=": "ne", ">=": "ge", "<=": "le"}


def _op(v) -> str:
    """`type ref` of an operand."""
    return f"{v.type} {v.get_reference()}"


class Instr:
    """One instruction: its text (without metadata), its value reference and type."""

    __slots__ = ("type", "_ref", "text", "dbg", "metadata")

    def __init__(self, ty: ir.Type, ref: str, text: str, dbg) -> None:
        self.type = ty
        self._ref = ref
        self.text = text
        self.dbg = dbg
        self.metadata = None

    def get_reference(self) -> str:
        return self._ref

    def set_metadata(self, name: str, node) -> None:
        if self.metadata is None:
            self.metadata = {}
        self.metadata[name] = node

    def render(self) -> str:
        text = self.text
        md = self.metadata
        if md:
            text += "".join(f", !{k} {v.get_reference()}" for k, v in md.items())
        if self.dbg is not None:
            text += f", !dbg {self.dbg.get_reference()}"
        return text


class CondBranch(Instr):
    __slots__ = ("_module",)

    def set_weights(self, weights: Sequence[int]) -> None:
        self.set_metadata("prof", _branch_weights(self._module, tuple(weights)))


def _branch_weights(module: ir.Module, weights: tuple[int, ...]):
    cache = module.__dict__.setdefault("_aot_branch_weights", {})
    md = cache.get(weights)
    if md is None:
        md = cache[weights] = module.add_metadata(
            ["branch_weights", *(ir.Constant(ir.IntType(32), w) for w in weights)])
    return md


class Phi(Instr):
    __slots__ = ("incomings",)

    def add_incoming(self, value, block: Block) -> None:
        self.incomings.append((value, block))

    def render(self) -> str:
        edges = ", ".join(f"[{v.get_reference()}, %{b.label}]" for v, b in self.incomings)
        return f"{self.text} {edges}"


class Switch(Instr):
    __slots__ = ("cases",)

    def add_case(self, value, block: Block) -> None:
        if not isinstance(value, ir.Value):
            value = ir.Constant(self.type, value)
        self.cases.append((value, block))

    def render(self) -> str:
        cases = " ".join(f"{_op(v)}, label %{b.label}" for v, b in self.cases)
        text = f"{self.text} [{cases}]"
        if self.dbg is not None:
            text += f", !dbg {self.dbg.get_reference()}"
        return text


class Alloca(Instr):
    """`alloca_bytes` re-types the result to a plain pointer and sets the alignment
    after creation, as it does with llvmlite's instruction."""

    __slots__ = ("allocated", "align")

    def render(self) -> str:
        text = f"{self._ref} = alloca {self.allocated}"
        if self.align:
            text += f", align {self.align}"
        if self.dbg is not None:
            text += f", !dbg {self.dbg.get_reference()}"
        return text


class Block:
    """A basic block of a lean function; llvmlite prints it through `descr`."""

    __slots__ = ("label", "instrs", "terminator", "function")

    def __init__(self, function: LeanFunction, label: str) -> None:
        self.function = function
        self.label = label
        self.instrs: list[Instr] = []
        self.terminator: Instr | None = None

    def descr(self, buf: list[str]) -> None:
        buf.append(f"{self.label}:\n")
        buf.extend(f"  {i.render()}\n" for i in self.instrs)


class LeanFunction:
    """The counters of one function's values and labels, and its blocks (appended to
    the llvmlite function's, which prints them)."""

    def __init__(self, fn: ir.Function) -> None:
        self.fn = fn
        self.n_values = 0
        self.n_labels = 0

    def append_basic_block(self, name: str = "") -> Block:
        self.n_labels += 1
        block = Block(self, f"{name or 'b'}.{self.n_labels}")
        self.fn.blocks.append(block)
        return block


def _binop_method(op: str):
    """An `IRBuilder` binary operator method emitting LLVM's `op`."""
    def method(self, lhs, rhs, name="", flags=()):
        return self._binop(op, lhs, rhs, flags)

    return method


def _cast_method(op: str):
    """An `IRBuilder` conversion method emitting LLVM's `op`."""
    def method(self, value, typ, name=""):
        return self._cast(op, value, typ)

    return method


class LeanBuilder:
    """llvmlite's `IRBuilder` methods that function bodies use, on lean blocks.

    `dbg` is the current debug location (the wasm instruction's offset).  Only the
    instructions a backtrace can stop at carry it: memory accesses (a guard-page fault)
    and calls (return addresses; the calls to `aot_raise_trap` are the trap sites).
    The rest would only lengthen the IR: a location per instruction was a third of
    the module's text and of LLVM's parsing."""

    def __init__(self, block: Block, module: ir.Module, locate=None) -> None:
        self._block = block
        self._fn = block.function
        self.module = module
        self._dbg = None
        # `locate(offset)` makes the location of a wasm offset: only when a located
        # instruction is built, since most instructions are not (a location object
        # per wasm instruction was a tenth of the IR-building time).
        self._locate = locate
        self.offset: int | None = None

    @property
    def dbg(self):
        """The current debug location."""
        if self._dbg is None and self.offset is not None:
            self._dbg = self._locate(self.offset)
        return self._dbg

    def locate_at(self, offset: int) -> None:
        """Make what follows belong to the wasm instruction at `offset`."""
        self.offset = offset
        self._dbg = None

    def locate_like(self, other: LeanBuilder) -> None:
        """Make what follows belong where `other`'s instructions do."""
        self._dbg, self.offset = other._dbg, other.offset

    # --- position -------------------------------------------------------------------

    @property
    def block(self) -> Block:
        return self._block

    def position_at_end(self, block: Block) -> None:
        self._block = block

    # --- emitting -------------------------------------------------------------------

    def _value(self, ty: ir.Type, text: str, cls=Instr, located: bool = False) -> Instr:
        fn = self._fn
        fn.n_values += 1
        ref = f"%v{fn.n_values}"
        ins = cls(ty, ref, f"{ref} = {text}", self.dbg if located else None)
        self._block.instrs.append(ins)
        return ins

    def _void(self, text: str, cls=Instr, located: bool = False) -> Instr:
        ins = cls(_VOID, "", text, self.dbg if located else None)
        self._block.instrs.append(ins)
        return ins

    def _terminate(self, text: str, cls=Instr) -> Instr:
        ins = self._void(text, cls)
        self._block.terminator = ins
        return ins

    # --- arithmetic -----------------------------------------------------------------

    def _binop(self, op: str, lhs, rhs, flags=()) -> Instr:
        fl = "".join(f" {f}" for f in flags)
        return self._value(lhs.type, f"{op}{fl} {lhs.type} {lhs.get_reference()}, {rhs.get_reference()}")

    # llvmlite's method name -> LLVM's: wasm's exact semantics are the lowering's concern.
    add, sub, mul = _binop_method("add"), _binop_method("sub"), _binop_method("mul")
    sdiv, udiv = _binop_method("sdiv"), _binop_method("udiv")
    srem, urem = _binop_method("srem"), _binop_method("urem")
    and_, or_, xor = _binop_method("and"), _binop_method("or"), _binop_method("xor")
    shl, lshr, ashr = _binop_method("shl"), _binop_method("lshr"), _binop_method("ashr")
    fadd, fsub = _binop_method("fadd"), _binop_method("fsub")
    fmul, fdiv = _binop_method("fmul"), _binop_method("fdiv")

    def fneg(self, arg, name="", flags=()):
        fl = "".join(f" {f}" for f in flags)
        return self._value(arg.type, f"fneg{fl} {_op(arg)}")

    def not_(self, value, name=""):
        ones = "true" if value.type == _I1 else "-1"
        return self._value(value.type, f"xor {_op(value)}, {ones}")

    # --- comparisons and select ------------------------------------------------------

    def icmp_signed(self, cmpop: str, lhs, rhs, name=""):
        op = _CMP[cmpop]
        if cmpop not in ("==", "!="):
            op = "s" + op
        return self._cmp("icmp", op, lhs, rhs)

    def icmp_unsigned(self, cmpop: str, lhs, rhs, name=""):
        op = _CMP[cmpop]
        if cmpop not in ("==", "!="):
            op = "u" + op
        return self._cmp("icmp", op, lhs, rhs)

    def fcmp_ordered(self, cmpop: str, lhs, rhs, name="", flags=()):
        return self._cmp("fcmp", "o" + _CMP[cmpop] if cmpop in _CMP else cmpop, lhs, rhs, flags)

    def fcmp_unordered(self, cmpop: str, lhs, rhs, name="", flags=()):
        return self._cmp("fcmp", "u" + _CMP[cmpop] if cmpop in _CMP else cmpop, lhs, rhs, flags)

    def _cmp(self, opname: str, op: str, lhs, rhs, flags=()) -> Instr:
        ty = lhs.type
        rt = ir.VectorType(_I1, ty.count) if isinstance(ty, ir.VectorType) else _I1
        fl = "".join(f" {f}" for f in flags)
        return self._value(rt, f"{opname}{fl} {op} {ty} {lhs.get_reference()}, {rhs.get_reference()}")

    def select(self, cond, lhs, rhs, name="", flags=()):
        return self._value(lhs.type, f"select {_op(cond)}, {_op(lhs)}, {_op(rhs)}")

    # --- conversions ----------------------------------------------------------------

    def _cast(self, op: str, value, ty: ir.Type) -> Instr:
        return self._value(ty, f"{op} {_op(value)} to {ty}")

    trunc, zext, sext = _cast_method("trunc"), _cast_method("zext"), _cast_method("sext")
    fptrunc, fpext = _cast_method("fptrunc"), _cast_method("fpext")
    bitcast, ptrtoint = _cast_method("bitcast"), _cast_method("ptrtoint")
    fptoui, fptosi = _cast_method("fptoui"), _cast_method("fptosi")
    uitofp, sitofp = _cast_method("uitofp"), _cast_method("sitofp")

    # --- memory ---------------------------------------------------------------------

    def alloca(self, typ, size=None, name=""):
        if size is not None:
            raise NotImplementedError("lean alloca with a size")
        fn = self._fn
        fn.n_values += 1
        ins = Alloca(_PTR, f"%v{fn.n_values}", "", None)
        ins.allocated = typ
        ins.align = None
        self._block.instrs.append(ins)
        return ins

    def load(self, ptr, name="", align=None, typ=None, volatile=False):
        text = f"load volatile {typ}, {_op(ptr)}" if volatile else f"load {typ}, {_op(ptr)}"
        if align:
            text += f", align {align}"
        # A wasm local's slot cannot fault: no line for it (at -O0 most instructions are
        # such loads and stores; each location costs IR text and parsing).
        return self._value(typ, text, located=not isinstance(ptr, Alloca))

    def load_atomic(self, ptr, ordering, align, name="", typ=None):
        return self._value(typ, f"load atomic {typ}, {_op(ptr)} {ordering}, align {align}",
                           located=True)

    def store(self, value, ptr, align=None):
        text = f"store {_op(value)}, {_op(ptr)}"
        if align:
            text += f", align {align}"
        return self._void(text, located=not isinstance(ptr, Alloca))

    def store_atomic(self, value, ptr, ordering, align):
        return self._void(f"store atomic {_op(value)}, {_op(ptr)} {ordering}, align {align}",
                          located=True)

    def gep(self, ptr, indices, inbounds=False, name="", source_etype=None):
        kw = "getelementptr inbounds" if inbounds else "getelementptr"
        idx = "".join(f", {_op(i)}" for i in indices)
        return self._value(_PTR, f"{kw} {source_etype}, {_op(ptr)}{idx}")

    def cmpxchg(self, ptr, cmp, val, ordering, failordering=None, name=""):
        ty = ir.LiteralStructType([val.type, _I1])
        return self._value(ty, f"cmpxchg {_op(ptr)}, {_op(cmp)}, {_op(val)} "
                               f"{ordering} {failordering or ordering}", located=True)

    def atomic_rmw(self, op, ptr, val, ordering, name=""):
        return self._value(val.type, f"atomicrmw {op} {_op(ptr)}, {_op(val)} {ordering}",
                           located=True)

    def fence(self, ordering, targetscope=None, name=""):
        return self._void(f"fence {ordering}")

    # --- aggregates and vectors -----------------------------------------------------

    def extract_value(self, agg, idx, name=""):
        idx = idx if isinstance(idx, (list, tuple)) else [idx]
        ty = agg.type
        for i in idx:
            ty = ty.elements[i]
        return self._value(ty, f"extractvalue {_op(agg)}, {', '.join(map(str, idx))}")

    def insert_value(self, agg, value, idx, name=""):
        idx = idx if isinstance(idx, (list, tuple)) else [idx]
        return self._value(agg.type, f"insertvalue {_op(agg)}, {_op(value)}, "
                                     f"{', '.join(map(str, idx))}")

    def extract_element(self, vector, idx, name=""):
        return self._value(vector.type.element, f"extractelement {_op(vector)}, {_op(idx)}")

    def insert_element(self, vector, value, idx, name=""):
        return self._value(vector.type, f"insertelement {_op(vector)}, {_op(value)}, {_op(idx)}")

    def shuffle_vector(self, vector1, vector2, mask, name=""):
        ty = ir.VectorType(vector1.type.element, mask.type.count)
        return self._value(ty, f"shufflevector {_op(vector1)}, {_op(vector2)}, {_op(mask)}")

    # --- calls ----------------------------------------------------------------------

    def call(self, fn, args, name="", cconv=None, tail=False, fastmath=(), attrs=(),
             arg_attrs=None):
        if attrs or arg_attrs or fastmath:
            raise NotImplementedError("lean call with attributes")
        fnty = fn.function_type
        if cconv is None and isinstance(fn, ir.Function):
            cconv = fn.calling_convention
        head = ("tail call" if tail is True else f"{tail} call" if tail else "call")
        if cconv:
            head += f" {cconv}"
        rt = fnty.return_type
        # Variadic (or indirect through an opaque pointer): spell the function type.
        callee_ty = str(fnty) if fnty.var_arg else str(rt)
        text = f"{head} {callee_ty} {fn.get_reference()}({', '.join(map(_op, args))})"
        if rt == _VOID:
            return self._void(text, located=True)
        return self._value(rt, text, located=True)

    # --- control --------------------------------------------------------------------

    def branch(self, target: Block):
        return self._terminate(f"br label %{target.label}")

    def cbranch(self, cond, truebr: Block, falsebr: Block):
        ins = self._terminate(f"br {_op(cond)}, label %{truebr.label}, label %{falsebr.label}",
                              CondBranch)
        ins._module = self.module
        return ins

    def switch(self, value, default: Block):
        ins = self._terminate(f"switch {_op(value)}, label %{default.label}", Switch)
        ins.type = value.type
        ins.cases = []
        return ins

    def ret(self, value):
        return self._terminate(f"ret {_op(value)}")

    def ret_void(self):
        return self._terminate("ret void")

    def unreachable(self):
        return self._terminate("unreachable")

    def phi(self, typ, name=""):
        fn = self._fn
        fn.n_values += 1
        ref = f"%v{fn.n_values}"
        ins = Phi(typ, ref, f"{ref} = phi {typ}", None)
        ins.incomings = []
        # Phis lead their block, whatever was built there before.
        instrs = self._block.instrs
        k = 0
        while k < len(instrs) and isinstance(instrs[k], Phi):
            k += 1
        instrs.insert(k, ins)
        return ins
