"""Unit tests of the .wast parser and literal conversion (no engine needed)."""

from __future__ import annotations

import random
import struct
from fractions import Fraction

import pytest

from .literals import F32, F64, LiteralError, parse_float, parse_int, round_rational
from .sexpr import WastSyntaxError, decode_string, read
from .wast import (
    ActionCommand,
    AssertModule,
    AssertReturn,
    AssertTrap,
    Get,
    Invoke,
    ModuleCommand,
    NanPattern,
    Num,
    RefExtern,
    RefFunc,
    RefNull,
    Register,
    VecPattern,
    parse,
)


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# ---- integers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, width, bits",
    [
        ("0", 32, 0),
        ("-1", 32, 0xFFFFFFFF),
        ("0xffffffff", 32, 0xFFFFFFFF),
        ("4294967295", 32, 0xFFFFFFFF),
        ("-2147483648", 32, 0x80000000),
        ("+0x7fff_ffff", 32, 0x7FFFFFFF),
        ("1_000_000", 32, 1000000),
        ("-0x8000000000000000", 64, 1 << 63),
        ("18446744073709551615", 64, (1 << 64) - 1),
        ("0123", 16, 123),  # leading zeros are decimal, not octal
        ("-128", 8, 0x80),
        ("255", 8, 0xFF),
    ],
)
def test_int_literals(text: str, width: int, bits: int) -> None:
    assert parse_int(text, width) == bits


@pytest.mark.parametrize("text", ["4294967296", "-2147483649", "1__0", "0x", "_1", "1.0"])
def test_bad_int_literals(text: str) -> None:
    with pytest.raises(LiteralError):
        parse_int(text, 32)


# ---- floats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, bits",
    [
        ("0", 0),
        ("-0", 0x80000000),
        ("1", 0x3F800000),
        ("0x1p-149", 1),  # smallest subnormal
        ("0x1p-150", 0),  # tie with 0 rounds to even
        ("0x1.000002p-150", 1),
        ("0x1.fffffep127", 0x7F7FFFFF),
        ("0x1.ffffffp127", 0x7F800000),  # tie above max rounds (to even) to infinity
        ("0x1.fffffefffp127", 0x7F7FFFFF),
        ("inf", 0x7F800000),
        ("-inf", 0xFF800000),
        ("nan", 0x7FC00000),
        ("-nan", 0xFFC00000),
        ("nan:0x200000", 0x7FA00000),
        ("-nan:0x7f_ffff", 0xFFFFFFFF),
        ("0x1.00000100000000000p-50", 0x26800000),  # tie to even: down
        ("0x1.00000300000000000p-50", 0x26800002),  # tie to even: up
        ("0x1.000001000000000001p-50", 0x26800001),  # just above the tie
        ("1.000000059604644775390625", 0x3F800000),  # exact f32 tie: to even
        # Just above the tie: an f64 first would land on the tie and round down.
        ("1.000000059604644775390625000000000001", 0x3F800001),
        ("1e38", 0x7E967699),
        ("1e39", 0x7F800000),
        ("1.5e-45", 1),
        ("0x10", 0x41800000),  # hex integer spelled as a float
        ("1_000.000_1", f32_bits(1000.0001)),
        ("1.", 0x3F800000),
        ("0x1.p1", 0x40000000),
        ("1e1", 0x41200000),
    ],
)
def test_f32_literals(text: str, bits: int) -> None:
    assert parse_float(text, F32) == bits


@pytest.mark.parametrize(
    "text, bits",
    [
        ("-0", 1 << 63),
        ("0x1p-1074", 1),
        ("0x1p-1075", 0),
        ("0x1.8p-1075", 1),
        ("0x1.fffffffffffff8p1023", 0x7FF0000000000000),
        ("nan", 0x7FF8000000000000),
        ("nan:0x1", 0x7FF0000000000001),
        ("-nan:0xf_ffff_ffff_ffff", 0xFFFFFFFFFFFFFFFF),
        ("0.1", f64_bits(0.1)),
        ("1e-400", 0),
        ("1e400", 0x7FF0000000000000),
        ("0x1p+100000000", 0x7FF0000000000000),
    ],
)
def test_f64_literals(text: str, bits: int) -> None:
    assert parse_float(text, F64) == bits


def test_hex_floats_match_python_rounding() -> None:
    """float.fromhex rounds correctly to f64: the exact rounding must agree with it."""
    rng = random.Random(1)
    for _ in range(3000):
        mantissa = rng.getrandbits(rng.randint(1, 80))
        exp = rng.randint(-1200, 1100)
        text = f"0x{mantissa:x}p{exp}"
        num, den = (mantissa << exp, 1) if exp >= 0 else (mantissa, 1 << -exp)
        try:
            want = f64_bits(float.fromhex(text))
        except OverflowError:
            want = F64.inf
        assert round_rational(num, den, F64) == want, text
        assert parse_float(text, F64) == want, text


def test_f32_literals_round_exactly() -> None:
    """Decimal and hex literals near f32 ties: the fast path must agree with exact rounding."""
    rng = random.Random(2)
    for _ in range(3000):
        bits = rng.randrange(0, 0x7F7FFFFF)
        lo = Fraction(struct.unpack("<f", struct.pack("<I", bits))[0])
        hi = Fraction(struct.unpack("<f", struct.pack("<I", bits + 1))[0])
        value = (lo + hi) / 2 + rng.choice([0, 1, -1]) * Fraction(1, 10**60) * hi
        # A 60-digit decimal spelling of value (exact up to the last digit).
        exp10 = 60 - len(str(int(value))) if value >= 1 else 60 + len(str(int(1 / value)))
        digits = round(value * 10**exp10)
        text = f"{digits}e-{exp10}"
        want = round_rational(digits, 10**exp10, F32)
        assert parse_float(text, F32) == want, text


def test_round_rational_against_struct() -> None:
    """On values that are exact f64s, rounding to f32 must match the C conversion."""
    rng = random.Random(3)
    for _ in range(3000):
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(63)))[0]
        if x != x or x > 3.4e38:
            continue
        num, den = x.as_integer_ratio()
        assert round_rational(num, den, F32) == f32_bits(x), x.hex()


# ---- strings and S-expressions --------------------------------------------------------


def test_string_escapes() -> None:
    raw = r"a\n\t\\\'\"\00\ff\u{41}\u{1F600}\r"
    assert decode_string(raw) == b"a\n\t\\'\"\x00\xffA" + "\U0001f600".encode() + b"\r"


def test_comments_and_strings() -> None:
    src = """
    ;; line comment (
    (; block (; nested ;) still a comment ) " ;)
    (a "str ) ;; (; not a comment" (b)) ;; trailing
    (;comment";)
    """
    (form,) = read(src)
    assert form[0] == "a" and form[1].bytes == b"str ) ;; (; not a comment" and form[2] == ["b"]
    assert src[form.start : form.end] == '(a "str ) ;; (; not a comment" (b))'


def test_unterminated() -> None:
    for src in ["(a", "(a))", '(a "b)', "(; (; ;)"]:
        with pytest.raises(WastSyntaxError):
            read(src)


# ---- commands -------------------------------------------------------------------------

SCRIPT = r"""
(module $M (func (export "f") (param i32) (result i32) local.get 0))
(module binary "\00asm" "\01\00\00\00")
(module $Q quote "(func)" "(memory 1)")
(register "reg" $M)
(invoke "f" (i32.const -1))
(assert_return (invoke $M "f" (i32.const 0x10)) (i32.const 16))
(assert_return (get "g") (f32.const nan:canonical))
(assert_return (invoke "v" (v128.const i16x8 0 1 2 3 4 5 6 -1))
               (v128.const f32x4 nan:arithmetic 1.0 -0 inf)
               (v128.const i64x2 1 2))
(assert_return (invoke "r" (ref.null extern) (ref.extern 7))
               (ref.extern) (ref.func) (ref.null func) (ref.extern 1))
(assert_trap (invoke "t") "unreachable")
(assert_trap (module (func)) "out of bounds memory access")
(assert_exhaustion (invoke "loop") "call stack exhausted")
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_malformed (module quote "(func") "unexpected end")
(assert_unlinkable (module (import "x" "y" (func))) "unknown import")
"""


def test_parse_script() -> None:
    cmds = parse(SCRIPT)
    assert [c.line for c in cmds] == [2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15, 16, 17, 18, 19]
    m = cmds[0]
    assert isinstance(m, ModuleCommand) and m.module.name == "$M" and m.module.form == "text"
    assert m.module.text.startswith("(module $M (func") and m.module.text.endswith("0))")
    assert cmds[1].module.binary == b"\x00asm\x01\x00\x00\x00"
    assert cmds[2].module.wat() == "(module (func)(memory 1)\n)"
    assert cmds[3] == Register(5, "register", "reg", "$M")
    assert cmds[4] == ActionCommand(6, "invoke", Invoke(None, "f", (Num("i32", 0xFFFFFFFF),)))
    assert cmds[5].action == Invoke("$M", "f", (Num("i32", 16),))
    assert cmds[6] == AssertReturn(
        8, "assert_return", Get(None, "g"), (NanPattern("f32", "canonical"),)
    )
    v = cmds[7]
    assert v.action.args == (Num("v128", 0xFFFF_0006_0005_0004_0003_0002_0001_0000),)
    assert v.expected == (
        VecPattern("f32", (NanPattern("f32", "arithmetic"), 0x3F800000, 0x80000000, 0x7F800000)),
        Num("v128", 1 | 2 << 64),
    )
    r = cmds[8]
    assert r.action.args == (RefNull("externref"), RefExtern(7))
    assert r.expected == (RefExtern(None), RefFunc(None), RefNull("funcref"), RefExtern(1))
    assert isinstance(cmds[9], AssertTrap) and cmds[9].message == "unreachable"
    assert isinstance(cmds[10].target, type(m.module)) and cmds[10].target.form == "text"
    assert cmds[11].keyword == "assert_exhaustion"
    assert isinstance(cmds[12], AssertModule) and cmds[12].message == "type mismatch"
    assert cmds[13].module.form == "quote" and cmds[13].keyword == "assert_malformed"


def test_inline_module() -> None:
    cmds = parse('(func) (memory 0) (func (export "f"))\n(assert_return (invoke "f"))')
    assert len(cmds) == 2
    assert cmds[0].module.wat() == '(module (func) (memory 0) (func (export "f")))'
