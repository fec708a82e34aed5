"""Tiny helpers to write module binaries by hand in tests."""

from __future__ import annotations

HEADER = b"\x00asm\x01\x00\x00\x00"


def u32(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s32(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        done = (n == 0 and not b & 0x40) or (n == -1 and b & 0x40)
        out.append(b | (0 if done else 0x80))
        if done:
            return bytes(out)


def vec(items: list[bytes]) -> bytes:
    return u32(len(items)) + b"".join(items)


def name(s: str) -> bytes:
    raw = s.encode()
    return u32(len(raw)) + raw


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + u32(len(payload)) + payload


def module(*sections: bytes) -> bytes:
    return HEADER + b"".join(sections)


def func_type(params: bytes = b"", results: bytes = b"") -> bytes:
    return b"\x60" + vec([bytes([p]) for p in params]) + vec([bytes([r]) for r in results])


def body(code: bytes, locals_: bytes = b"\x00") -> bytes:
    """A function body: `locals_` is the encoded locals vector, `code` ends with 0x0b."""
    payload = locals_ + code
    return u32(len(payload)) + payload


def one_func(
    code: bytes,
    locals_: bytes = b"\x00",
    params: bytes = b"",
    results: bytes = b"",
    extra: bytes = b"",
) -> bytes:
    """A module with one function of type params -> results; `extra` goes between the
    function and code sections (table, memory, global, export, ... sections)."""
    return module(
        section(1, vec([func_type(params, results)])),
        section(3, vec([b"\x00"])),
        extra,
        section(10, vec([body(code, locals_)])),
    )
