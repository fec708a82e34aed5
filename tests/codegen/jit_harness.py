"""Differential test harness for pure (numeric/conversion) lowerings.

* `JitModule` builds one LLVM module of functions running registered lowerings (on
  parameters, or on constants so that LLVM folds them), optimizes it at O2 and JITs it
  with MCJIT.  Operands and results cross ctypes as raw integer bit patterns and are
  bitcast inside the function, so NaN payloads survive.  `trap_if` stores the trap code in
  a global and returns.
* `WasmOracle` runs the same operators in wasmtime, batched: per operator a wasm function
  loops over operand bit patterns in memory, reinterpreting floats from/to integers.
* `disagreement` compares two outcomes under the spec's NaN rules.
* `edge_values` / `operand_tuples` give the inputs: edge cases, boundaries, seeded randoms.
* `differential(op)` ties it together for one operator, in every compilation `MODES`."""

from __future__ import annotations

import array
import ctypes
import functools
import itertools
import math
import random
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import llvmlite.binding as llvm
import wasmtime
from llvmlite import ir

import aot.codegen.ops.conversion  # noqa: F401  (registers the lowerings under test)
import aot.codegen.ops.numeric  # noqa: F401
from aot.abi.traps import TrapCode
from aot.codegen.llvmtypes import F32, F64, I32, I64
from aot.codegen.ops.registry import PURE_OPS

# wasm value type -> LLVM type of the value, and of its bit pattern at the ctypes boundary.
VALUE_TYPE: dict[str, ir.Type] = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}
BITS_TYPE: dict[str, ir.IntType] = {"i32": I32, "i64": I64, "f32": I32, "f64": I64}
WIDTH: dict[str, int] = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
_CTYPE = {32: ctypes.c_uint32, 64: ctypes.c_uint64}

_TESTS = {"eqz", "eq", "ne", "lt", "gt", "le", "ge"}
_TESTS |= {f"{t}_{sx}" for t in ("lt", "gt", "le", "ge") for sx in "su"}


class Signature(NamedTuple):
    params: tuple[str, ...]
    result: str


@functools.cache
def signature(op: str) -> Signature:
    """Operand and result types of a scalar numeric/conversion operator, from its name:
    `t.op` works on t (tests yield i32); conversions name their source `t.op_src[_sx]`."""
    prefix, name = op.split(".")
    arity = PURE_OPS[op][0]
    source = re.search(r"_([if](?:32|64))(?:_|$)", name)
    operand = source.group(1) if source else prefix
    result = "i32" if name in _TESTS else prefix
    return Signature((operand,) * arity, result)


class Outcome(NamedTuple):
    bits: int | None  # the result's bit pattern (unsigned), None when trapped
    trap: TrapCode | None


# --- the JIT side -------------------------------------------------------------------------


class _TestContext:
    """The LoweringContext of one test function."""

    def __init__(self, module: ir.Module, fn: ir.Function, trap_code: ir.GlobalVariable):
        self.module = module
        self.fn = fn
        self.trap_code = trap_code
        self.builder = ir.IRBuilder(fn.append_basic_block("entry"))

    def trap_if(self, cond: ir.Value, code: TrapCode) -> None:
        trap = self.fn.append_basic_block("trap")
        cont = self.fn.append_basic_block("cont")
        self.builder.cbranch(cond, trap, cont)
        with self.builder.goto_block(trap):
            self.builder.store(ir.Constant(I32, int(code)), self.trap_code)
            self.builder.ret(ir.Constant(self.fn.function_type.return_type, 0))
        self.builder.position_at_end(cont)

    def intrinsic(self, name: str, ret: ir.Type, args: Sequence[ir.Type]) -> ir.Function:
        existing = self.module.globals.get(name)
        if existing is not None:
            return existing
        return ir.Function(self.module, ir.FunctionType(ret, args), name)


_native_ready = False


def _target_machine(cpu: str) -> llvm.TargetMachine:
    global _native_ready
    if not _native_ready:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _native_ready = True
    target = llvm.Target.from_default_triple()
    if cpu == "host":
        features = llvm.get_host_cpu_features().flatten()
        return target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=features)
    return target.create_target_machine(cpu=cpu)


def _constant(t: str, bits: int) -> ir.Constant:
    """The constant of type `t` with bit pattern `bits` (for floats a bitcast, the way to
    keep NaN payloads)."""
    constant = ir.Constant(BITS_TYPE[t], bits)
    return constant.bitcast(VALUE_TYPE[t]) if t[0] == "f" else constant


class JitModule:
    """Functions running pure lowerings, JIT-compiled for `cpu`: "host", or an LLVM CPU
    name such as "generic" (on x86-64 the baseline, without SSE4.1 rounding instructions,
    so that `ceil` & co. become libm calls)."""

    def __init__(self, cpu: str = "host") -> None:
        self.cpu = cpu
        self.module = ir.Module(name="jit_harness")
        self.module.triple = llvm.get_process_triple()
        self.trap_code = ir.GlobalVariable(self.module, I32, "trap_code")
        self.trap_code.initializer = ir.Constant(I32, 0)
        self._signatures: dict[str, Signature] = {}
        self._functions: dict[str, Callable[..., int]] = {}

    def add(
        self,
        op: str,
        constants: Mapping[int, int | ir.Constant] | None = None,
        through_local: bool = False,
    ) -> str:
        """Add a function running `op` on the operands' bits, passed as parameters, except
        those in `constants` (operand index -> bits or ir.Constant), which are built in:
        as constants or, `through_local`, stored to and loaded from a local variable, so
        that only the optimizer sees them (as when wasm code passes a constant through a
        local).  Returns its symbol, to `call` with the other operands."""
        sig = signature(op)
        constants = constants or {}
        params = [t for i, t in enumerate(sig.params) if i not in constants]
        fn = self._function(
            op, [BITS_TYPE[t] for t in params], Signature(tuple(params), sig.result)
        )
        ctx = _TestContext(self.module, fn, self.trap_code)
        args = iter(fn.args)
        operands = []
        for i, t in enumerate(sig.params):
            if i in constants:
                given = constants[i]
                value = given if isinstance(given, ir.Constant) else _constant(t, given)
                if through_local:
                    local = ctx.builder.alloca(VALUE_TYPE[t])
                    ctx.builder.store(value, local)
                    value = ctx.builder.load(local)
            else:
                value = next(args)
                if t[0] == "f":
                    value = ctx.builder.bitcast(value, VALUE_TYPE[t])
            operands.append(value)
        self._lower(ctx, op, operands)
        return fn.name

    def add_chain(self, ops: Sequence[str]) -> str:
        """Add a function applying the unary operators `ops` in turn to its parameter."""
        sigs = [signature(op) for op in ops]
        sig = Signature(sigs[0].params, sigs[-1].result)
        fn = self._function("_".join(ops), [BITS_TYPE[sig.params[0]]], sig)
        ctx = _TestContext(self.module, fn, self.trap_code)
        value = fn.args[0]
        if sig.params[0][0] == "f":
            value = ctx.builder.bitcast(value, VALUE_TYPE[sig.params[0]])
        for op in ops[:-1]:
            value = PURE_OPS[op][1](ctx, value)
        self._lower(ctx, ops[-1], [value])
        return fn.name

    def add_folded(self, op: str, cases: Sequence[Sequence[int]]) -> str:
        """Add a function running `op` on constant operands, so that LLVM folds it: case
        i of a switch on the parameter has `cases[i]` built in.  Returns its symbol, to
        `call` with (i,)."""
        sig = signature(op)
        fn = self._function(op, [I32], Signature(("i32",), sig.result))
        ctx = _TestContext(self.module, fn, self.trap_code)
        default = fn.append_basic_block("default")
        switch = ctx.builder.switch(fn.args[0], default)
        for i, case in enumerate(cases):
            block = fn.append_basic_block(f"case{i}")
            switch.add_case(i, block)
            ctx.builder.position_at_end(block)
            operands = [_constant(t, bits) for bits, t in zip(case, sig.params)]
            self._lower(ctx, op, operands)
        ctx.builder.position_at_end(default)
        ctx.builder.unreachable()
        return fn.name

    def _function(self, op: str, params: list[ir.Type], sig: Signature) -> ir.Function:
        symbol = f"{op.replace('.', '_')}_{len(self._signatures)}"
        self._signatures[symbol] = sig
        fnty = ir.FunctionType(BITS_TYPE[sig.result], params)
        return ir.Function(self.module, fnty, symbol)

    @staticmethod
    def _lower(ctx: _TestContext, op: str, operands: list[ir.Value]) -> None:
        """Run the registered lowering of `op` and return the bits of its result."""
        result_type = signature(op).result
        result = PURE_OPS[op][1](ctx, *operands)
        assert str(result.type) == str(VALUE_TYPE[result_type]), (op, result.type)
        if result_type[0] == "f":
            result = ctx.builder.bitcast(result, BITS_TYPE[result_type])
        ctx.builder.ret(result)

    def compile(self) -> None:
        self._llmod = llvm.parse_assembly(str(self.module))
        self._llmod.verify()
        tm = _target_machine(self.cpu)
        pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=2))
        pb.getModulePassManager().run(self._llmod, pb)
        self._engine = llvm.create_mcjit_compiler(self._llmod, tm)
        self._engine.finalize_object()
        self._trap_word = ctypes.c_uint32.from_address(
            self._engine.get_global_value_address("trap_code")
        )
        for symbol, sig in self._signatures.items():
            proto = ctypes.CFUNCTYPE(
                _CTYPE[WIDTH[sig.result]], *(_CTYPE[WIDTH[t]] for t in sig.params)
            )
            self._functions[symbol] = proto(self._engine.get_function_address(symbol))

    def optimized_ir(self) -> str:
        return str(self._llmod)

    def call(self, symbol: str, args: Sequence[int] = ()) -> Outcome:
        self._trap_word.value = 0
        bits = self._functions[symbol](*args)
        if self._trap_word.value:
            return Outcome(None, TrapCode(self._trap_word.value))
        return Outcome(bits, None)


# --- the oracle ---------------------------------------------------------------------------


BITS_NAME = {"i32": "i32", "i64": "i64", "f32": "i32", "f64": "i64"}

# Oracle memory layout: case i's operands at 16 * i (8 bytes each), its result at
# _OUT + 8 * i.
_MAX_CASES = 1 << 16
_OUT = 16 * _MAX_CASES
_PAGES = (24 * _MAX_CASES) >> 16


def _wat_driver(op: str) -> str:
    """A function running `op` on cases [start, end) in memory, recording the current case
    in $cur so that, after a trap, the caller knows which one trapped."""
    sig = signature(op)
    loads = []
    for k, t in enumerate(sig.params):
        loads += ["local.get $i", "i32.const 4", "i32.shl", f"{BITS_NAME[t]}.load offset={8 * k}"]
        if t[0] == "f":
            loads.append(f"{t}.reinterpret_i{t[1:]}")
    store = [f"i{sig.result[1:]}.reinterpret_{sig.result}"] if sig.result[0] == "f" else []
    store.append(f"{BITS_NAME[sig.result]}.store offset={_OUT}")
    body = "\n      ".join(
        ["local.get $i", "global.set $cur", "local.get $i", "i32.const 3", "i32.shl"]
        + loads
        + [op]
        + store
    )
    return f"""
  (func (export "{op}") (param $i i32) (param $end i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      {body}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))"""


class WasmOracle:
    """The operators run by wasmtime: one module, with a driver per operator that runs it
    on a batch of cases (wasmtime-py calls are too slow to make one per case)."""

    def __init__(self, ops: Iterable[str]) -> None:
        self.store = wasmtime.Store()
        wat = (
            f'(module (memory (export "mem") {_PAGES})'
            ' (global $cur (export "cur") (mut i32) (i32.const 0))'
            + "".join(_wat_driver(op) for op in ops)
            + ")"
        )
        module = wasmtime.Module(self.store.engine, wasmtime.wat2wasm(wat))
        self.exports = wasmtime.Instance(self.store, module, []).exports(self.store)

    def run(self, op: str, cases: Sequence[Sequence[int]]) -> list[Outcome]:
        assert len(cases) <= _MAX_CASES
        memory, driver = self.exports["mem"], self.exports[op]
        operands = array.array("Q", [0] * (2 * len(cases)))
        for i, case in enumerate(cases):
            operands[2 * i : 2 * i + len(case)] = array.array("Q", case)
        memory.write(self.store, operands.tobytes(), 0)
        traps: dict[int, TrapCode] = {}
        start = 0
        while start < len(cases):
            try:
                driver(self.store, start, len(cases))
                break
            except wasmtime.Trap as trap:
                trapped = self.exports["cur"].value(self.store)
                traps[trapped] = TrapCode[trap.trap_code.name]
                start = trapped + 1
        results = array.array("Q", memory.read(self.store, _OUT, _OUT + 8 * len(cases)))
        mask = (1 << WIDTH[signature(op).result]) - 1
        return [
            Outcome(None, traps[i]) if i in traps else Outcome(results[i] & mask, None)
            for i in range(len(cases))
        ]


# --- comparing outcomes -------------------------------------------------------------------

# Operators whose NaN results are non-deterministic (spec §4.3.3 "NaN propagation"): any
# arithmetic NaN, and the canonical NaN (either sign) when all NaN operands are canonical.
ARITHMETIC_NAN_OPS = {
    f"{t}.{op}"
    for t in ("f32", "f64")
    for op in ("add", "sub", "mul", "div", "sqrt", "min", "max")
    + ("ceil", "floor", "trunc", "nearest")
} | {"f32.demote_f64", "f64.promote_f32"}

_MANTISSA = {32: 23, 64: 52}


def is_nan(bits: int, width: int) -> bool:
    m = _MANTISSA[width]
    exponent_mask = ((1 << (width - 1 - m)) - 1) << m
    return bits & exponent_mask == exponent_mask and bits & ((1 << m) - 1) != 0


def is_canonical_nan(bits: int, width: int) -> bool:
    m = _MANTISSA[width]
    return is_nan(bits, width) and bits & ((1 << m) - 1) == 1 << (m - 1)


def is_arithmetic_nan(bits: int, width: int) -> bool:
    return is_nan(bits, width) and bool(bits >> (_MANTISSA[width] - 1) & 1)


def disagreement(op: str, args: Sequence[int], ours: Outcome, theirs: Outcome) -> str | None:
    """None when `ours` is a result the spec allows given wasmtime's `theirs`."""
    sig = signature(op)
    width = WIDTH[sig.result]
    nan_allowed = (
        op in ARITHMETIC_NAN_OPS and theirs.bits is not None and is_nan(theirs.bits, width)
    )
    if not nan_allowed:
        return None if ours == theirs else f"expected {_show(theirs)}, got {_show(ours)}"
    if ours.bits is None or not is_arithmetic_nan(ours.bits, width):
        return f"expected an arithmetic NaN, got {_show(ours)}"
    nan_args = [(a, WIDTH[t]) for a, t in zip(args, sig.params) if is_nan(a, WIDTH[t])]
    if all(is_canonical_nan(a, w) for a, w in nan_args) and not is_canonical_nan(ours.bits, width):
        return f"expected a canonical NaN, got {_show(ours)}"
    return None


def _show(outcome: Outcome) -> str:
    return f"trap {outcome.trap.name}" if outcome.trap else f"0x{outcome.bits:x}"


# --- inputs -------------------------------------------------------------------------------


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _neighbours(x: float, float_type: str) -> list[int]:
    """The bits of `x` rounded to `float_type`, and of the floats on either side."""
    if float_type == "f64":
        return [f64_bits(v) for v in (math.nextafter(x, -math.inf), x, math.nextafter(x, math.inf))]
    bits = f32_bits(x)
    return [bits - 1, bits, bits + 1]  # x is never 0 here, so these are its neighbours


_INT_EDGES = [0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 65, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF]
_INT_EDGES += [-1, -2, -7, -0x80, -0x81, -0x8000, -0x8001, 0x12345678, 0x0F0F0F0F]
_I32_EDGES = _INT_EDGES + [-(2**31), 2**31 - 1, -(2**31) + 1, 0x55555555, 0xDEADBEEF]
_I64_EDGES = _INT_EDGES + [-(2**63), 2**63 - 1, -(2**63) + 1, 2**31, 2**31 - 1, -(2**31)]
_I64_EDGES += [2**32 - 1, 2**32, 2**53 + 1, 2**63 + 2**10 + 1, 0x8000_0000_0000_0401]
_I64_EDGES += [0x0020_0000_2000_0001, 0xFFFF_FFFF_FFFF_F7FF, 0x0123_4567_89AB_CDEF]

# Floats that are interesting as any operand; boundaries of every float -> int truncation
# (and the integers whose conversion to float rounds) are added with their neighbours.
_FLOAT_EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, 0.9, -0.9, 2.0]
_FLOAT_EDGES += [math.inf, -math.inf, math.pi, -1e10, 1e30, 123456.789, 4503599627370497.0]
_FLOAT_EDGES += [8388607.5, 8388609.0, 0.49999997, -2147483648.9, 4294967295.9]
_BOUNDARIES = [2.0**31, -(2.0**31), 2.0**32, 2.0**63, -(2.0**63), 2.0**64, -1.0, 2.0**53]
_BOUNDARIES += [-(2.0**31) - 1, 2.0**31 - 1, 2.0**32 - 1]

_F32_SPECIALS = [0x7FC00000, 0xFFC00000, 0x7FC12345, 0xFFD00001, 0x7F800001, 0xFFA00000]
_F32_SPECIALS += [0x7FBFFFFF, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF]
_F32_SPECIALS += [0xFF7FFFFF, 0x80800000]
_F64_SPECIALS = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF800000ABCDEF0]
_F64_SPECIALS += [0xFFFC000000000001, 0x7FF0000000000001, 0xFFF4000000000000]
_F64_SPECIALS += [0x7FF7FFFFFFFFFFFF, 0x0000000000000001, 0x8000000000000001]
_F64_SPECIALS += [0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF]
_F64_SPECIALS += [0x36A0000000000000, 0x47EFFFFFE0000000, 0x47EFFFFFF0000000]  # f32 limits
_F64_SPECIALS += [0x3690000000000000, 0xC7EFFFFFF0000001]  # demote: subnormal, overflow

# A few hand-picked operands per type for binary operators (all pairs get tested).
_PAIR_PICKS: dict[str, list[int]] = {
    "i32": [0, 1, 2, 31, 32, 33, 0x7F, -1, -2, -(2**31), 2**31 - 1, 0x12345678],
    "i64": [0, 1, 2, 63, 64, 65, 0x7F, -1, -2, -(2**63), 2**63 - 1, 0x0123_4567_89AB_CDEF],
}


@functools.cache
def edge_values(t: str, randoms: int = 12, seed: int = 1234) -> tuple[int, ...]:
    """Interesting bit patterns of type `t`, deduplicated, with seeded random ones."""
    rng = random.Random(f"{seed}{t}")
    width = WIDTH[t]
    mask = (1 << width) - 1
    if t[0] == "i":
        values = [v & mask for v in (_I32_EDGES if t == "i32" else _I64_EDGES)]
        values += [rng.getrandbits(width) for _ in range(randoms)]
    else:
        to_bits = f32_bits if t == "f32" else f64_bits
        values = [to_bits(x) for x in _FLOAT_EDGES]
        values += [b for x in _BOUNDARIES for b in _neighbours(x, t)]
        values += _F32_SPECIALS if t == "f32" else _F64_SPECIALS
        values += [rng.getrandbits(width) for _ in range(randoms // 2)]
        values += [to_bits(rng.uniform(-1e6, 1e6)) for _ in range(randoms // 2)]
    return tuple(dict.fromkeys(values))


@functools.cache
def pair_values(t: str, randoms: int = 4, seed: int = 99) -> tuple[int, ...]:
    """A smaller set of operands of type `t` for all-pairs testing of binary operators."""
    rng = random.Random(f"{seed}{t}")
    width = WIDTH[t]
    if t[0] == "i":
        values = [v & ((1 << width) - 1) for v in _PAIR_PICKS[t]]
    else:
        to_bits = f32_bits if t == "f32" else f64_bits
        floats = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, math.inf, -math.inf, 1e-40, 3e38]
        specials = [0x7FC00000, 0xFFC00000, 0x7FC12345, 0x7F800001]
        if t == "f64":
            specials = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF800000ABCDEF0]
            specials += [0x7FF0000000000001, 0x0000000000000001]
        values = [to_bits(x) for x in floats] + specials
    values += [rng.getrandbits(width) for _ in range(randoms // 2)]
    values += [
        (f32_bits if t == "f32" else f64_bits)(rng.uniform(-100, 100))
        if t[0] == "f"
        else rng.getrandbits(8)
        for _ in range(randoms // 2)
    ]
    return tuple(dict.fromkeys(values))


def operand_tuples(op: str, small: bool = False) -> list[tuple[int, ...]]:
    """Inputs for `op`: every edge value for unary operators, all pairs for binary ones
    (`small`: pairs only of `pair_values`, and fewer randoms)."""
    params = signature(op).params
    if len(params) == 1:
        return [(v,) for v in edge_values(params[0], randoms=6 if small else 12)]
    pool = pair_values(params[0]) if small else edge_values(params[0]) + pair_values(params[0])
    pool = list(dict.fromkeys(pool))
    return list(itertools.product(pool, repeat=2))


# --- running it all -----------------------------------------------------------------------

# How the lowerings are compiled: operands as parameters for the host CPU, the same for the
# baseline CPU (no SSE4.1: rounding and min/max take other instruction sequences or libm
# calls), and operands as constants, so that LLVM's constant folder computes the result.
MODES = ("runtime", "baseline", "folded")


class Differential:
    """One operator compiled in every mode, and its outcomes checked against wasmtime's.
    Per operator, so that test workers build only what they test."""

    def __init__(self, op: str) -> None:
        self.op = op
        self.cases = {mode: operand_tuples(op) for mode in ("runtime", "baseline")}
        self.cases["folded"] = operand_tuples(op, small=True)
        self.jits = {"runtime": JitModule("host"), "baseline": JitModule("generic")}
        self.jits["folded"] = JitModule("host")
        self.symbols = {mode: self.jits[mode].add(op) for mode in ("runtime", "baseline")}
        self.symbols["folded"] = self.jits["folded"].add_folded(op, self.cases["folded"])
        for jit in self.jits.values():
            jit.compile()
        cases = list(dict.fromkeys(self.cases["runtime"] + self.cases["folded"]))
        self.expected = dict(zip(cases, WasmOracle([op]).run(op, cases)))

    def mismatches(self, mode: str) -> list[str]:
        jit, symbol = self.jits[mode], self.symbols[mode]
        problems = []
        for i, args in enumerate(self.cases[mode]):
            ours = jit.call(symbol, (i,) if mode == "folded" else args)
            problem = disagreement(self.op, args, ours, self.expected[args])
            if problem:
                problems.append(f"{self.op}({', '.join(hex(a) for a in args)}): {problem}")
        return problems


@functools.cache
def differential(op: str) -> Differential:
    return Differential(op)
