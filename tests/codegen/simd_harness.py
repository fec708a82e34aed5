"""Differential test harness for the SIMD lowerings: the same wasm runs in aot and in
wasmtime (the oracle), and results are compared bit for bit, up to the spec's NaN
non-determinism.

wasmtime-py cannot pass v128 values, so everything goes through linear memory.  Each
operator gets two exported functions in a batch module:

* `f<i>(bytes)`, a loop over the cases: operand k of case j is loaded from
  `REGION * (k + 1) + 16 * j` (a scalar from the low bytes), the result is stored to
  `16 * j` (region 0);
* `c<i>()`, the first `FOLDED_CASES` cases with constant operands, so that what LLVM's
  constant folding makes of the lowering is checked too.

Inputs are edge lanes (NaN payloads, -0.0, saturation and conversion boundaries, lane
extremes, out-of-range swizzle indices, shift counts >= the lane width) paired lane by
lane, plus seeded random lanes.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import wasmtime

import aot
from aot.wasm.opcodes import OPCODES

REGION = 0x4000  # bytes per operand region: up to 1024 cases
MAX_CASES = REGION // 16
FOLDED_CASES = 12
PAGES = 4  # result region + 3 operand regions

LANE_BITS: dict[str, int] = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64, "f32x4": 32, "f64x2": 64}
SCALAR_BITS: dict[str, int] = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
_LOAD = {"v128": "v128.load", "i32": "i32.load", "i64": "i64.load", "f32": "f32.load", "f64": "f64.load"}
_STORE = {t: op.replace("load", "store") for t, op in _LOAD.items()}

# Float results whose NaN lanes are non-deterministic (spec §4.3.3: a canonical NaN if every
# NaN operand is canonical, otherwise any arithmetic NaN).  Everything else is exact.
NAN_NONDETERMINISTIC = {
    f"{shape}.{op}"
    for shape in ("f32x4", "f64x2")
    for op in "add sub mul div min max sqrt ceil floor trunc nearest".split()
} | {"f32x4.demote_f64x2_zero", "f64x2.promote_low_f32x4"}


# --- operators ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One operator with its immediate (lane index or shuffle mask), if any."""

    name: str
    imm: tuple[int, ...] = ()

    @property
    def info(self):
        return _BY_NAME[self.name]

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(str(t) for t in self.info.params)

    @property
    def result(self) -> str:
        (result,) = self.info.results
        return str(result)

    @property
    def text(self) -> str:
        return " ".join([self.name, *map(str, self.imm)])

    @property
    def shape(self) -> str:
        """The lane shape of the result (the name's prefix; v128.* ops: bytes)."""
        prefix = self.name.split(".")[0]
        return prefix if prefix in LANE_BITS else "i8x16"

    @property
    def source_shape(self) -> str:
        """The lane shape of the v128 operands: named after the operator if it differs
        (i16x8.extend_low_i8x16_s, i32x4.trunc_sat_f64x2_s_zero), else the result's."""
        match = re.search(r"_([if](?:8|16|32|64)x\d+)", self.name)
        return match.group(1) if match else self.shape


# WebAssembly 2.0's SIMD: relaxed SIMD (0xFD 0x100 and up) has its own test against
# wasmtime's deterministic mode (tests/test_relaxed_simd.py).
_BY_NAME = {info.name: info for code, info in OPCODES.items()
            if code >> 16 == 0xFD and code & 0xFFFF < 0x100}
SIMD_OPS: frozenset[str] = frozenset(_BY_NAME)


def with_immediates(name: str, rng: random.Random) -> list[Op]:
    """The operator with a few representative immediates (none if it takes none)."""
    info = _BY_NAME[name]
    if info.imm == "lane":
        lanes = {0, 1, info.lanes // 2 + 1, info.lanes - 1}
        return [Op(name, (lane,)) for lane in sorted(lanes) if lane < info.lanes]
    if info.imm == "shuffle":
        masks = [
            tuple(range(16)),
            tuple(range(31, 15, -1)),
            tuple(i // 2 + 16 * (i % 2) for i in range(16)),  # interleave a and b
            (31,) * 16,
            tuple(rng.randrange(32) for _ in range(16)),
        ]
        return [Op(name, mask) for mask in masks]
    return [Op(name)]


# --- inputs -------------------------------------------------------------------------------


def _f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _int_edges(bits: int) -> list[int]:
    mask = (1 << bits) - 1
    top = 1 << (bits - 1)
    values = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 63, 64, 0x70, 0x80, 0xFF, top - 1, top, top + 1,
              mask, mask - 1, 1 << (bits // 2), 0x5555555555555555, 0xAAAAAAAAAAAAAAAA,
              top >> 1, (top >> 1) - 1, 0x4000, 0x8000, 0x7FFF]
    return sorted({v & mask for v in values})


_FLOAT_VALUES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, 0.49999997, -0.49999997,
                 math.inf, -math.inf, 2.0**31, -(2.0**31), 2.0**31 - 128, 2.0**32, 2.0**32 - 256,
                 -(2.0**31) - 256, 4294967295.0, 2147483647.0, 2147483648.5, -2147483649.0,
                 2.0**23, 2.0**52, 1e10, -1e10, 3.0, -7.25, 1e-30, 123456.789]
_NAN32 = [0x7FC00000, 0xFFC00000, 0x7FC00001, 0xFFF00000, 0x7F800001, 0xFF800001, 0x7FA00000]
_NAN64 = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000000001, 0x7FF0000000000001,
          0xFFF4000000000000, 0x7FF4000000000000]


def _float_edges(bits: int) -> list[int]:
    if bits == 32:
        tiny = [1, 0x007FFFFF, 0x00800000, 0x80000001, 0x7F7FFFFF, 0xFF7FFFFF]
        return sorted({_f32(x) for x in _FLOAT_VALUES} | set(_NAN32) | set(tiny))
    tiny = [1, 0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x8000000000000001, 0x7FEFFFFFFFFFFFFF]
    f32_nans = [0x7FF4000020000000, 0x7FFC000000000000]
    return sorted({_f64(x) for x in _FLOAT_VALUES} | set(_NAN64) | set(tiny) | set(f32_nans))


def lane_edges(shape: str) -> list[int]:
    bits = LANE_BITS[shape]
    return _float_edges(bits) if shape.startswith("f") else _int_edges(bits)


def _scalar_edges(op: Op, type_name: str) -> list[int]:
    if op.name.endswith(("shl", "shr_s", "shr_u")):
        return sorted({0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 0x7FFFFFFF,
                       0x80000000, 0xFFFFFFFF, 0xFFFFFFF9})
    if type_name == "f32":
        return _float_edges(32)
    if type_name == "f64":
        return _float_edges(64)
    return _int_edges(SCALAR_BITS[type_name])


def pack(lanes: Sequence[int], bits: int) -> int:
    return sum(v << (i * bits) for i, v in enumerate(lanes))


def unpack(value: int, bits: int) -> list[int]:
    mask = (1 << bits) - 1
    return [(value >> (i * bits)) & mask for i in range(128 // bits)]


def _vector_cases(op: Op, rng: random.Random) -> list[tuple[int, ...]]:
    """The v128 operands of each case: every pair (or single) of edge lanes of the first
    two meets in some lane, then random lanes; a third (bitselect's mask) is random."""
    shape = op.source_shape
    bits = LANE_BITS[shape]
    count = 128 // bits
    arity = op.params.count("v128")
    pools = [lane_edges(shape) for _ in range(min(arity, 2))]
    if op.name == "i8x16.swizzle":  # indices in and out of range
        pools[1] = sorted(set(range(20)) | {31, 32, 0x70, 0x7F, 0x80, 0x8F, 0xF0, 0xFF})
    grid = list(itertools.product(*pools))
    rng.shuffle(grid)
    grid += [rng.choice(grid) for _ in range(-len(grid) % count)]
    vectors = [
        tuple(pack([lanes[k] for lanes in grid[start:start + count]], bits) for k in range(len(pools)))
        for start in range(0, len(grid), count)
    ]
    for _ in range(48):
        vectors.append(tuple(
            pack([rng.choice(pool) if rng.random() < 0.7 else rng.getrandbits(bits)
                  for _ in range(count)], bits)
            for pool in pools))
    if arity == 3:
        masks = [0, (1 << 128) - 1, pack([0xFF, 0] * 8, 8)]
        vectors = [(*v, masks[i] if i < len(masks) else rng.getrandbits(128))
                   for i, v in enumerate(vectors)]
    return vectors


def cases_for(op: Op, rng: random.Random) -> list[tuple[int, ...]]:
    """Operand tuples in parameter order; each scalar edge meets a few vectors.  At most
    MAX_CASES; the first FOLDED_CASES are also run constant-folded."""
    vectors = _vector_cases(op, rng) if "v128" in op.params else [()]
    scalar_types = [t for t in op.params if t != "v128"]
    if scalar_types:
        (scalar_type,) = scalar_types
        scalars = _scalar_edges(op, scalar_type)
        scalars += [rng.getrandbits(SCALAR_BITS[scalar_type]) for _ in range(8)]
        per_scalar = max(1, min(len(vectors), MAX_CASES // len(scalars)))
        combined = [(*v, s) for s in scalars for v in rng.sample(vectors, per_scalar)]
        rng.shuffle(combined)
    else:
        combined = vectors
    cases = []
    for values in combined:
        vector_values, scalar_values = iter(values), iter(values[op.params.count("v128"):])
        cases.append(tuple(next(vector_values) if t == "v128" else next(scalar_values)
                           for t in op.params))
    return cases[:MAX_CASES]


# --- wasm ---------------------------------------------------------------------------------


def _float_literal(bits: int, width: int) -> str:
    """A float constant spelled exactly (NaN payloads included)."""
    mantissa_bits = 23 if width == 32 else 52
    sign = "-" if bits >> (width - 1) else ""
    exponent = (bits >> mantissa_bits) & ((1 << (width - 1 - mantissa_bits)) - 1)
    mantissa = bits & ((1 << mantissa_bits) - 1)
    if exponent == (1 << (width - 1 - mantissa_bits)) - 1:
        return f"{sign}nan:0x{mantissa:x}" if mantissa else f"{sign}inf"
    value = struct.unpack("<f" if width == 32 else "<d", bits.to_bytes(width // 8, "little"))[0]
    return value.hex()


def _constant(type_name: str, value: int) -> str:
    if type_name == "v128":
        return f"(v128.const i64x2 {value & (2**64 - 1)} {value >> 64})"
    if type_name in ("f32", "f64"):
        return f"({type_name}.const {_float_literal(value, SCALAR_BITS[type_name])})"
    return f"({type_name}.const {value})"


def loop_function(index: int, op: Op) -> str:
    operands = " ".join(
        f"({_LOAD[t]} offset={REGION * (k + 1)} (local.get $o))" for k, t in enumerate(op.params)
    )
    return f"""
  (func (export "f{index}") (param $n i32) (local $o i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $n)))
      ({_STORE[op.result]} (local.get $o) ({op.text} {operands}))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next))))"""


def folded_function(index: int, op: Op, cases: Sequence[tuple[int, ...]]) -> str:
    stores = "\n    ".join(
        f"({_STORE[op.result]} (i32.const {16 * j}) "
        f"({op.text} {' '.join(_constant(t, v) for t, v in zip(op.params, case))}))"
        for j, case in enumerate(cases)
    )
    return f"""
  (func (export "c{index}")
    {stores})"""


def batch_module(ops: Sequence[Op], cases: Sequence[Sequence[tuple[int, ...]]]) -> bytes:
    funcs = [loop_function(i, op) + folded_function(i, op, c[:FOLDED_CASES])
             for i, (op, c) in enumerate(zip(ops, cases))]
    return wasmtime.wat2wasm(f'(module (memory (export "mem") {PAGES}) {"".join(funcs)})')


# --- engines ------------------------------------------------------------------------------


class Engine:
    """An instance of a batch module in one engine, through memory."""

    def write(self, offset: int, data: bytes) -> None:
        raise NotImplementedError

    def read(self, offset: int, length: int) -> bytes:
        raise NotImplementedError

    def call(self, name: str, *args: int) -> None:
        raise NotImplementedError

    def run(self, index: int, cases: Sequence[tuple[int, ...]], folded: bool) -> list[int]:
        """Results of operator `index` on `cases` (each as an unsigned int)."""
        if folded:
            cases = cases[:FOLDED_CASES]
            self.write(0, bytes(16 * len(cases)))
            self.call(f"c{index}")
        else:
            for k in range(len(cases[0])):
                data = b"".join(case[k].to_bytes(16, "little") for case in cases)
                self.write(REGION * (k + 1), data)
            self.write(0, bytes(16 * len(cases)))
            self.call(f"f{index}", 16 * len(cases))
        out = self.read(0, 16 * len(cases))
        return [int.from_bytes(out[16 * j:16 * j + 16], "little") for j in range(len(cases))]


class AotEngine(Engine):
    def __init__(self, wasm: bytes, opt_level: int):
        self.instance = aot.compile(wasm, opt_level=opt_level).instantiate()
        self.memory = self.instance.exports["mem"]

    def write(self, offset: int, data: bytes) -> None:
        self.memory.write(offset, data)

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.memory.read(offset, length))

    def call(self, name: str, *args: int) -> None:
        self.instance.exports[name](*args)


class WasmtimeEngine(Engine):
    def __init__(self, wasm: bytes):
        engine = wasmtime.Engine()
        self.store = wasmtime.Store(engine)
        self.instance = wasmtime.Instance(self.store, wasmtime.Module(engine, wasm), [])
        exports = self.instance.exports(self.store)
        self.memory = exports["mem"]
        self.exports = exports

    def write(self, offset: int, data: bytes) -> None:
        self.memory.write(self.store, data, offset)

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.memory.read(self.store, offset, offset + length))

    def call(self, name: str, *args: int) -> None:
        self.exports[name](self.store, *args)


# --- comparison ---------------------------------------------------------------------------


def _is_nan(bits: int, width: int) -> bool:
    mantissa_bits = 23 if width == 32 else 52
    exponent_mask = ((1 << (width - 1)) - 1) & ~((1 << mantissa_bits) - 1)
    return bits & exponent_mask == exponent_mask and bits & ((1 << mantissa_bits) - 1) != 0


def _quiet_bit(width: int) -> int:
    return 1 << (22 if width == 32 else 51)


def is_arithmetic_nan(bits: int, width: int) -> bool:
    return _is_nan(bits, width) and bits & _quiet_bit(width) != 0


def is_canonical_nan(bits: int, width: int) -> bool:
    magnitude = bits & ((1 << (width - 1)) - 1)
    return _is_nan(bits, width) and magnitude == (0x7FC00000 if width == 32 else 0x7FF8000000000000)


def acceptable(op: Op, case: tuple[int, ...], expected: int, got: int) -> bool:
    """Is `got` a result the spec allows, given that wasmtime returned `expected`?"""
    if expected == got:
        return True
    if op.name not in NAN_NONDETERMINISTIC:
        return False
    in_bits, out_bits = LANE_BITS[op.source_shape], LANE_BITS[op.shape]
    # A canonical NaN is required unless some operand lane is a non-canonical NaN.
    canonical = not any(
        _is_nan(lane, in_bits) and not is_canonical_nan(lane, in_bits)
        for operand in case for lane in unpack(operand, in_bits)
    )
    for e, g in zip(unpack(expected, out_bits), unpack(got, out_bits)):
        if e == g:
            continue
        if not (_is_nan(e, out_bits) and is_arithmetic_nan(g, out_bits)):
            return False
        if canonical and not is_canonical_nan(g, out_bits):
            return False
    return True


def _hex(value: int, type_name: str) -> str:
    return f"{value:0{SCALAR_BITS.get(type_name, 128) // 4}x}"


def _describe(op: Op, case: tuple[int, ...], expected: int, got: int) -> str:
    args = ", ".join(_hex(v, t) for v, t in zip(case, op.params))
    return f"{op.text}({args}): wasmtime {_hex(expected, op.result)}, aot {_hex(got, op.result)}"


@functools.cache
def _oracle(ops: tuple[Op, ...], seed: int):
    """The batch module of `ops`, its cases and wasmtime's results (shared by opt levels)."""
    rng = random.Random(seed)
    cases = [cases_for(op, rng) for op in ops]
    wasm = batch_module(ops, cases)
    engine = WasmtimeEngine(wasm)
    expected = {(i, folded): engine.run(i, cases[i], folded)
                for i in range(len(ops)) for folded in (False, True)}
    return wasm, cases, expected


def mismatches(names: Sequence[str], opt_level: int, seed: int = 1) -> list[str]:
    """Every disagreement of aot with wasmtime over the operators `names` (with their
    immediates), at `opt_level`, looped and constant-folded."""
    rng = random.Random(seed)
    ops = tuple(op for name in names for op in with_immediates(name, rng))
    wasm, cases, expected = _oracle(ops, seed)
    engine = AotEngine(wasm, opt_level)
    problems = []
    for (i, folded), want in expected.items():
        got = engine.run(i, cases[i], folded)
        for case, w, g in zip(cases[i], want, got):
            if not acceptable(ops[i], case, w, g):
                where = "folded " if folded else ""
                problems.append(where + _describe(ops[i], case, w, g))
    return problems

