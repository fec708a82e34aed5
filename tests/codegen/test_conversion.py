"""Conversion operators against wasmtime, bit-exactly up to the spec's NaN rules, and the
trapping truncations' boundaries stated directly."""

from __future__ import annotations

import pytest

from aot.abi.traps import TrapCode
from aot.codegen.ops.registry import PURE_OPS

from .jit_harness import (
    MODES,
    JitModule,
    Outcome,
    differential,
    f32_bits,
    f64_bits,
    is_arithmetic_nan,
)

_INTS, _FLOATS = ("i32", "i64"), ("f32", "f64")
CONVERSION_OPS = sorted(
    ["i32.wrap_i64", "i64.extend_i32_s", "i64.extend_i32_u", "f32.demote_f64"]
    + ["f64.promote_f32", "i32.reinterpret_f32", "i64.reinterpret_f64"]
    + ["f32.reinterpret_i32", "f64.reinterpret_i64"]
    + [f"{i}.trunc_{f}_{sx}" for i in _INTS for f in _FLOATS for sx in "su"]
    + [f"{i}.trunc_sat_{f}_{sx}" for i in _INTS for f in _FLOATS for sx in "su"]
    + [f"{f}.convert_{i}_{sx}" for i in _INTS for f in _FLOATS for sx in "su"]
)


def test_every_conversion_is_registered() -> None:
    assert len(CONVERSION_OPS) == 33
    assert all(PURE_OPS[op][0] == 1 for op in CONVERSION_OPS)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", CONVERSION_OPS)
def test_matches_wasmtime(op: str, mode: str) -> None:
    problems = differential(op).mismatches(mode)
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems[:20])


OVERFLOW = Outcome(None, TrapCode.INTEGER_OVERFLOW)
INVALID = Outcome(None, TrapCode.BAD_CONVERSION_TO_INTEGER)

# (op, operand bits, expected): the edges of every trapping truncation.
_TRUNC_CASES = [
    ("i32.trunc_f32_s", f32_bits(-2147483648.0), Outcome(0x80000000, None)),
    ("i32.trunc_f32_s", f32_bits(2147483648.0), OVERFLOW),
    ("i32.trunc_f32_s", f32_bits(2147483520.0), Outcome(2147483520, None)),
    ("i32.trunc_f32_s", 0x7FC00000, INVALID),
    ("i32.trunc_f64_s", f64_bits(-2147483648.9), Outcome(0x80000000, None)),
    ("i32.trunc_f64_s", f64_bits(-2147483649.0), OVERFLOW),
    ("i32.trunc_f64_s", f64_bits(2147483647.9), Outcome(0x7FFFFFFF, None)),
    ("i32.trunc_f64_s", f64_bits(2147483648.0), OVERFLOW),
    ("i32.trunc_f32_u", f32_bits(-0.9), Outcome(0, None)),
    ("i32.trunc_f32_u", f32_bits(-1.0), OVERFLOW),
    ("i32.trunc_f32_u", f32_bits(4294967040.0), Outcome(4294967040, None)),
    ("i32.trunc_f32_u", f32_bits(4294967296.0), OVERFLOW),
    ("i32.trunc_f64_u", f64_bits(4294967295.9), Outcome(0xFFFFFFFF, None)),
    ("i32.trunc_f64_u", f64_bits(4294967296.0), OVERFLOW),
    ("i32.trunc_f64_u", f64_bits(-0.9), Outcome(0, None)),
    ("i64.trunc_f32_s", f32_bits(-9223372036854775808.0), Outcome(1 << 63, None)),
    ("i64.trunc_f32_s", f32_bits(9223372036854775808.0), OVERFLOW),
    ("i64.trunc_f64_s", f64_bits(-9223372036854775808.0), Outcome(1 << 63, None)),
    ("i64.trunc_f64_s", f64_bits(9223372036854775808.0), OVERFLOW),
    ("i64.trunc_f64_s", 0xC3E0000000000001, OVERFLOW),  # the float below -2^63
    ("i64.trunc_f32_u", f32_bits(18446742974197923840.0), Outcome(0xFFFFFF0000000000, None)),
    ("i64.trunc_f32_u", f32_bits(18446744073709551616.0), OVERFLOW),
    ("i64.trunc_f64_u", f64_bits(18446744073709549568.0), Outcome(0xFFFFFFFFFFFFF800, None)),
    ("i64.trunc_f64_u", f64_bits(18446744073709551616.0), OVERFLOW),
    ("i64.trunc_f64_u", f64_bits(-0.9), Outcome(0, None)),
    ("i64.trunc_f64_u", 0xFFF0000000000000, OVERFLOW),  # -inf
    ("i64.trunc_f64_u", 0xFFF4000000000000, INVALID),  # -sNaN
]


def test_trapping_truncation_boundaries() -> None:
    jit = JitModule()
    symbols = [jit.add(op) for op, _, _ in _TRUNC_CASES]
    jit.compile()
    for symbol, (op, arg, expected) in zip(symbols, _TRUNC_CASES):
        assert jit.call(symbol, (arg,)) == expected, (op, hex(arg))


def test_convert_u64_rounds_once() -> None:
    # 2^63 + 2^40 + 1 is just above a tie between two f32s: rounding through f64 first
    # would hit the tie exactly and round to even (down); the correct result rounds up.
    jit = JitModule()
    symbol = jit.add("f32.convert_i64_u")
    jit.compile()
    value = (1 << 63) + (1 << 39) + 1
    assert jit.call(symbol, (value,)) == Outcome(f32_bits(float(2**63 + 2**40)), None)


def test_promote_then_demote_quiets_signaling_nan() -> None:
    # InstCombine folds demote(promote(x)) to x (float_exprs.wast: no_fold_promote_demote).
    jit = JitModule()
    symbol = jit.add_chain(["f64.promote_f32", "f32.demote_f64"])
    jit.compile()
    bits = jit.call(symbol, (0x7FA00000,)).bits
    assert bits is not None and is_arithmetic_nan(bits, 32), hex(bits or 0)
    for bits in (0, 0x80000000, 0x00000001, 0x7F7FFFFF, 0xFF800000, 0x7FC12345):
        assert jit.call(symbol, (bits,)).bits == bits
