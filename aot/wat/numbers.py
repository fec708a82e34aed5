"""Numeric literals of the text format (spec 6.3.1) as exact values and bit patterns.

The token's syntax has been checked by the lexer (`lexer.NAT`, `INT`, `FLOAT`); these
functions only work out values.  Floats are rounded once, exactly, to nearest-even from
the literal's rational value: rounding a long f32 literal through an f64 first could round
twice (the suite's float_literals tests are designed to catch that).  f64 literals use
Python's own conversions, which are correctly rounded.
"""

from __future__ import annotations

import functools
import struct

from aot.wat.lexer import FLOAT, INT, NAT


class LiteralError(ValueError):
    """A well-formed literal whose value does not fit: `str()` is the reason."""


def nat(text: str) -> int:
    """The value of an unsigned literal (`NAT`: decimal or `0x` hex, with underscores)."""
    digits = text.replace("_", "")
    return int(digits, 16) if digits.startswith("0x") else int(digits)


def is_nat(text: str) -> bool:
    return NAT.fullmatch(text) is not None


def is_int(text: str) -> bool:
    return NAT.fullmatch(text) is not None or INT.fullmatch(text) is not None


def is_float(text: str) -> bool:
    return FLOAT.fullmatch(text) is not None


def integer(text: str, bits: int) -> int:
    """An iN literal as its `bits`-bit pattern: `-1` and `0xffffffff` are the same i32.
    Raises LiteralError out of -2**(bits-1) .. 2**bits - 1."""
    negative = text[0] == "-"
    value = nat(text.lstrip("+-"))
    if negative:
        value = -value
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise LiteralError(f"i{bits} constant out of range")
    return value & ((1 << bits) - 1)


def signed(bits_value: int, bits: int) -> int:
    """The signed reading of a `bits`-bit pattern (what the binary format's sLEB holds)."""
    return bits_value - (1 << bits) if bits_value >> (bits - 1) else bits_value


class _Format:
    def __init__(self, bits: int, mant: int) -> None:
        self.bits = bits
        self.mant = mant  # explicit mantissa bits
        exp_bits = bits - 1 - mant
        self.bias = (1 << (exp_bits - 1)) - 1
        self.inf = ((1 << exp_bits) - 1) << mant
        self.sign = 1 << (bits - 1)
        self.name = f"f{bits}"


F32 = _Format(32, 23)
F64 = _Format(64, 52)


@functools.lru_cache(maxsize=1 << 14)  # float-heavy modules repeat the same literals
def float_bits(text: str, bits: int) -> int:
    """An fN literal (decimal, hex, `inf`, `nan`, `nan:0x...`) as the bits of an f32 or
    f64.  Raises LiteralError when it rounds to infinity or a NaN payload does not fit."""
    fmt = F32 if bits == 32 else F64
    sign = fmt.sign if text[0] == "-" else 0
    body = text.lstrip("+-").replace("_", "")
    if body == "inf":
        return sign | fmt.inf
    if body.startswith("nan"):
        payload = int(body[6:], 16) if body.startswith("nan:") else 1 << (fmt.mant - 1)
        if not 0 < payload < (1 << fmt.mant):
            raise LiteralError(f"{fmt.name} constant out of range: NaN payload")
        return sign | fmt.inf | payload
    if fmt is F64:
        try:
            value = float.fromhex(body) if body.startswith("0x") else float(body)
        except OverflowError:  # fromhex refuses what rounds past the largest double
            value = float("inf")
        if value == float("inf"):
            raise LiteralError("f64 constant out of range")
        return sign | struct.unpack("<Q", struct.pack("<d", value))[0]
    num, den = _rational(body)
    return sign | _round(num, den, fmt)


def _rational(body: str) -> tuple[int, int]:
    """The literal's magnitude as num / den (no sign, no underscores).  Exponents far
    outside f32's range are cut short (the result rounds the same), so that a literal
    like 1e999999999 costs no huge power."""
    if body.startswith("0x"):
        mantissa, _, exp = body[2:].lower().partition("p")
        whole, _, frac = mantissa.partition(".")
        num = int(whole + frac, 16)
        exp2 = (int(exp) if exp else 0) - 4 * len(frac)
        if num and exp2 > 200:
            return 1 << 200, 1  # at least 2**200: out of range
        if num and exp2 + num.bit_length() < -200:
            return 1, 1 << 200  # below 2**-200: rounds to zero
        return (num << exp2, 1) if exp2 >= 0 else (num, 1 << -exp2)
    mantissa, _, exp = body.lower().partition("e")
    whole, _, frac = mantissa.partition(".")
    num = int(whole + frac) if whole + frac else 0
    exp10 = (int(exp) if exp else 0) - len(frac)
    if num and exp10 > 60:
        return 10**60, 1
    if num and exp10 + len(str(num)) < -60:
        return 1, 10**60
    return (num * 10**exp10, 1) if exp10 >= 0 else (num, 10**-exp10)


def _round(num: int, den: int, fmt: _Format) -> int:
    """Bits of the nearest value of `fmt` to num / den (ties to even), not signed."""
    if num == 0:
        return 0
    precision = fmt.mant + 1
    # 2**e <= num/den < 2**(e+1)
    e = num.bit_length() - den.bit_length()
    if (num << -e if e < 0 else num) < (den << e if e > 0 else den):
        e -= 1
    emin = 1 - fmt.bias
    e = max(e, emin)  # subnormals keep the smallest exponent
    shift = precision - 1 - e  # scale so that the mantissa is an integer
    if shift >= 0:
        num <<= shift
    else:
        den <<= -shift
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    if q >> precision:  # rounding carried into the next binade
        q >>= 1
        e += 1
    if e > fmt.bias:
        raise LiteralError(f"{fmt.name} constant out of range")
    if q >> (precision - 1) == 0:  # subnormal (or rounded down to zero)
        return q
    return ((e + fmt.bias) << fmt.mant) | (q - (1 << fmt.mant))
