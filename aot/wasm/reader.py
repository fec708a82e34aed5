"""Low-level readers for the binary format (spec 5.1-5.2), with the reference
interpreter's error wording.

Two layers:

* module functions `read_u32(data, pos) -> (value, new_pos)` etc.  They are what the
  decoder's hot loop calls: no object, one fast path for the common 1-byte LEB128.
  They index `data` directly, so running off the end raises IndexError; callers turn
  that into `CompileError("unexpected end ...")` (see `Reader` and `decoder.decode`).
* `Reader`, a cursor over the whole module, used for the section structure.

Like the reference interpreter, reads are against the whole module, not bounded by the
current section: a section that reads too much or too little is caught afterwards as
"section size mismatch".  This keeps the suite's expected messages.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import TypeVar

from aot.errors import CompileError

T = TypeVar("T")

UNEXPECTED_END = "unexpected end of section or function"

_utf8_decode = codecs.getdecoder("utf-8")


def _uleb(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    """Unsigned LEB128 of at most `bits` bits (the spec's uN)."""
    result = 0
    shift = 0
    n = bits
    while True:
        if n <= 0:
            raise CompileError("integer representation too long", pos)
        b = data[pos]
        # In the last allowed byte, the bits beyond N must be zero.
        if n < 7 and (b & 0x7F) >= (1 << n):
            raise CompileError("integer too large", pos)
        result |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return result, pos
        shift += 7
        n -= 7


def _sleb(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    """Signed LEB128 of at most `bits` bits (the spec's sN)."""
    result = 0
    shift = 0
    n = bits
    while True:
        if n <= 0:
            raise CompileError("integer representation too long", pos)
        b = data[pos]
        if n < 7:
            # In the last allowed byte, the unused bits must sign-extend bit N-1.
            mask = (-1 << (n - 1)) & 0x7F
            if (b & mask) != 0 and (b & mask) != mask:
                raise CompileError("integer too large", pos)
        result |= (b & 0x7F) << shift
        pos += 1
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos
        n -= 7


def read_u32(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    return _uleb(data, pos, 32)


def read_u64(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    return _uleb(data, pos, 64)


def read_s32(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return (b - 0x80 if b & 0x40 else b), pos + 1
    return _sleb(data, pos, 32)


def read_s33(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return (b - 0x80 if b & 0x40 else b), pos + 1
    return _sleb(data, pos, 33)


def read_s64(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return (b - 0x80 if b & 0x40 else b), pos + 1
    return _sleb(data, pos, 64)


def read_u1(data: bytes, pos: int) -> tuple[int, int]:
    """A 1-bit LEB128 (limits flags): 0x02 is "too large", 0x81 0x00 "too long"."""
    b = data[pos]
    if b < 0x80:
        if b > 1:
            raise CompileError("integer too large", pos)
        return b, pos + 1
    return _uleb(data, pos, 1)


def read_fixed(data: bytes, pos: int, n: int) -> tuple[int, int]:
    """n raw little-endian bytes as an unsigned int (f32/f64 bit patterns)."""
    end = pos + n
    if end > len(data):
        raise CompileError(UNEXPECTED_END, len(data))
    return int.from_bytes(data[pos:end], "little"), end


def read_bytes(data: bytes, pos: int, n: int) -> tuple[bytes, int]:
    end = pos + n
    if n < 0 or end > len(data):
        raise CompileError(UNEXPECTED_END, len(data))
    return data[pos:end], end


def read_len(data: bytes, pos: int) -> tuple[int, int]:
    """A u32 length (vector count, string or section size).

    As in the reference interpreter, a length larger than everything left in the module,
    counting from the length's own first byte, is "length out of bounds"."""
    n, new = read_u32(data, pos)
    if n > len(data) - pos:
        raise CompileError("length out of bounds", pos)
    return n, new


def decode_name(raw: bytes, pos: int) -> str:
    try:
        return _utf8_decode(raw)[0]
    except UnicodeDecodeError:
        raise CompileError("malformed UTF-8 encoding", pos) from None


def read_name(data: bytes, pos: int) -> tuple[str, int]:
    n, p = read_len(data, pos)
    raw, end = read_bytes(data, p, n)
    # Python's strict UTF-8 codec already rejects overlong forms, surrogates and
    # code points above U+10FFFF, exactly the spec's rules.
    return decode_name(raw, p), end


class Reader:
    """A cursor over the module bytes; every read advances `pos`."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def eof(self) -> bool:
        return self.pos >= len(self.data)

    def u8(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise CompileError(UNEXPECTED_END, pos)
        self.pos = pos + 1
        return self.data[pos]

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < len(self.data) else None

    def _call(self, fn: Callable[[bytes, int], tuple[int, int]]) -> int:
        try:
            value, self.pos = fn(self.data, self.pos)
        except IndexError:
            raise CompileError(UNEXPECTED_END, len(self.data)) from None
        return value

    def u1(self) -> int:
        return self._call(read_u1)

    def u32(self) -> int:
        return self._call(read_u32)

    def u64(self) -> int:
        return self._call(read_u64)

    def s32(self) -> int:
        return self._call(read_s32)

    def s33(self) -> int:
        return self._call(read_s33)

    def s64(self) -> int:
        return self._call(read_s64)

    def f32(self) -> int:
        value, self.pos = read_fixed(self.data, self.pos, 4)
        return value

    def f64(self) -> int:
        value, self.pos = read_fixed(self.data, self.pos, 8)
        return value

    def length(self) -> int:
        return self._call(read_len)

    def bytes(self, n: int) -> bytes:
        raw, self.pos = read_bytes(self.data, self.pos, n)
        return raw

    def name(self) -> str:
        try:
            value, self.pos = read_name(self.data, self.pos)
        except IndexError:
            raise CompileError(UNEXPECTED_END, len(self.data)) from None
        return value

    def vec(self, item: Callable[[Reader], T]) -> list[T]:
        return [item(self) for _ in range(self.length())]
