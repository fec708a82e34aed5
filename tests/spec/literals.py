"""Numeric literals of the text format, converted to exact bit patterns.

Floats are rounded exactly (round-to-nearest, ties-to-even) from the literal's rational
value: going through a Python float first would double-round f32 literals, which the
suite's float_literals tests are designed to catch.
"""

from __future__ import annotations

import functools
import math
import re
import struct
from dataclasses import dataclass


class LiteralError(ValueError):
    """Not a valid numeric literal."""


@dataclass(frozen=True)
class FloatFormat:
    bits: int  # total width
    mant: int  # explicit mantissa bits

    @property
    def exp_bits(self) -> int:
        return self.bits - 1 - self.mant

    @property
    def bias(self) -> int:
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def sign_bit(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def inf(self) -> int:
        return ((1 << self.exp_bits) - 1) << self.mant

    @property
    def canonical_nan(self) -> int:
        return self.inf | (1 << (self.mant - 1))


F32 = FloatFormat(32, 23)
F64 = FloatFormat(64, 52)
FLOAT_FORMATS = {"f32": F32, "f64": F64}
INT_WIDTHS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64}

_INT = re.compile(r"[+-]?(?:0x[0-9a-fA-F](?:_?[0-9a-fA-F])*|[0-9](?:_?[0-9])*)")
_HEXFLOAT = re.compile(r"0x([0-9a-fA-F_]+)(?:\.([0-9a-fA-F_]*))?(?:[pP]([+-]?[0-9_]+))?")
_DECFLOAT = re.compile(r"([0-9_]+)(?:\.([0-9_]*))?(?:[eE]([+-]?[0-9_]+))?")


@functools.lru_cache(maxsize=1 << 16)
def parse_int(text: str, width: int) -> int:
    """An integer literal as a `width`-bit pattern; negative and unsigned spellings wrap."""
    if not _INT.fullmatch(text):
        raise LiteralError(f"bad integer literal {text!r}")
    digits = text.replace("_", "")
    unsigned = digits.lstrip("+-")
    value = int(unsigned, 16) if unsigned.startswith("0x") else int(unsigned)
    if digits.startswith("-"):
        value = -value
    if not -(1 << (width - 1)) <= value < (1 << width):
        raise LiteralError(f"integer literal {text!r} out of range for {width} bits")
    return value & ((1 << width) - 1)


@functools.lru_cache(maxsize=1 << 16)  # the suite repeats the same literals a lot
def parse_float(text: str, fmt: FloatFormat) -> int:
    """A float literal (decimal, hex, inf, nan, nan:0x...) as the bits of `fmt`."""
    sign = 0
    body = text
    if body[:1] in "+-":
        sign = fmt.sign_bit if body[0] == "-" else 0
        body = body[1:]
    if body == "inf":
        return sign | fmt.inf
    if body == "nan":
        return sign | fmt.canonical_nan
    if body.startswith("nan:0x"):
        payload = int(body[6:].replace("_", ""), 16)
        if not 0 < payload < (1 << fmt.mant):
            raise LiteralError(f"NaN payload out of range in {text!r}")
        return sign | fmt.inf | payload
    is_hex = _HEXFLOAT.fullmatch(body) is not None
    if not is_hex and not _DECFLOAT.fullmatch(body):
        raise LiteralError(f"bad float literal {text!r}")
    digits = body.replace("_", "")
    # Python's float() and float.fromhex() round correctly to f64.
    try:
        value = float.fromhex(digits) if is_hex else float(digits)
    except OverflowError:
        value = math.inf
    if fmt is F64:
        return sign | _f64_bits(value)
    bits = _f32_from_f64(value)
    if bits is None:  # the f64 landed on an f32 tie: round the exact value instead
        bits = round_rational(*_exact(digits, is_hex), fmt)
    return sign | bits


def _f64_bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def _f32_from_f64(value: float) -> int | None:
    """Round a non-negative f64 to f32 bits, or None if it lies exactly halfway between two
    f32s: then the f64 may itself be rounded, and only the exact literal decides."""
    try:
        bits = struct.unpack("<I", struct.pack("<f", value))[0]
    except OverflowError:
        return F32.inf
    near = struct.unpack("<f", struct.pack("<I", bits))[0]
    if near == value or math.isinf(value):
        return bits
    other_bits = bits + 1 if value > near else bits - 1  # the f32 on the other side
    other = struct.unpack("<f", struct.pack("<I", other_bits))[0]
    return None if value * 2 == near + other else bits  # exact: both are f32s


def _exact(digits: str, is_hex: bool) -> tuple[int, int]:
    """The literal's exact value as num/den (digits: no sign, no underscores)."""
    m = (_HEXFLOAT if is_hex else _DECFLOAT).fullmatch(digits)
    assert m is not None
    whole, frac, exp = m.group(1), m.group(2) or "", int(m.group(3) or "0")
    if is_hex:
        mantissa, exp, radix = int(whole + frac, 16), exp - 4 * len(frac), 2
    else:
        mantissa, exp, radix = int(whole + frac), exp - len(frac), 10
    return (mantissa * radix**exp, 1) if exp >= 0 else (mantissa, radix**-exp)


def round_rational(num: int, den: int, fmt: FloatFormat) -> int:
    """Round the non-negative rational num/den to `fmt` (ties to even); returns the bits."""
    if num == 0:
        return 0
    # e = floor(log2(num/den)), clamped to the subnormal exponent.
    e = num.bit_length() - den.bit_length()
    if (num << max(0, -e)) < (den << max(0, e)):
        e -= 1
    e = max(e, 1 - fmt.bias)
    shift = e - fmt.mant  # value = q * 2**shift with q holding mant+1 bits
    q, r = divmod(num, den << shift) if shift >= 0 else divmod(num << -shift, den)
    rden = den << shift if shift >= 0 else den
    if 2 * r > rden or (2 * r == rden and q & 1):
        q += 1
    if q >> (fmt.mant + 1):  # rounding carried into a new binade
        q >>= 1
        e += 1
    if e > fmt.bias:
        return fmt.inf
    if q >> fmt.mant == 0:  # subnormal (only when e is the minimum exponent)
        return q
    return ((e + fmt.bias) << fmt.mant) | (q - (1 << fmt.mant))
