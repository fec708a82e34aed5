"""LEB128, names and lengths: the binary format's primitive readers."""

from __future__ import annotations

import pytest

from aot.errors import CompileError
from aot.wasm.reader import (
    Reader,
    read_len,
    read_name,
    read_s32,
    read_s33,
    read_s64,
    read_u1,
    read_u32,
    read_u64,
)


@pytest.mark.parametrize(
    "raw, value",
    [
        (b"\x00", 0),
        (b"\x7f", 127),
        (b"\x80\x01", 128),
        (b"\x80\x00", 0),  # redundant zero continuation is allowed within 5 bytes
        (b"\xe5\x8e\x26", 624485),
        (b"\xff\xff\xff\xff\x0f", 0xFFFF_FFFF),
        (b"\x80\x80\x80\x80\x00", 0),
    ],
)
def test_u32(raw: bytes, value: int) -> None:
    assert read_u32(raw, 0) == (value, len(raw))


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\xff\xff\xff\xff\x1f", "integer too large"),  # bit 32 set
        (b"\x80\x80\x80\x80\x70", "integer too large"),
        (b"\x80\x80\x80\x80\x80\x00", "integer representation too long"),
        (b"\xff\xff\xff\xff\x8f\x00", "integer representation too long"),
    ],
)
def test_u32_malformed(raw: bytes, message: str) -> None:
    with pytest.raises(CompileError) as e:
        read_u32(raw, 0)
    assert e.value.message == message


def test_u32_runs_off_the_end() -> None:
    with pytest.raises(IndexError):  # the decoder turns this into "unexpected end"
        read_u32(b"\x80\x80", 0)
    with pytest.raises(CompileError, match="unexpected end"):
        Reader(b"\x80\x80").u32()


@pytest.mark.parametrize(
    "raw, value",
    [
        (b"\x00", 0),
        (b"\x3f", 63),
        (b"\x40", -64),
        (b"\x7f", -1),
        (b"\x80\x7f", -128),
        (b"\xff\x00", 127),
        (b"\xff\xff\xff\xff\x07", 0x7FFF_FFFF),
        (b"\x80\x80\x80\x80\x78", -0x8000_0000),
        (b"\xff\xff\xff\xff\x7f", -1),
    ],
)
def test_s32(raw: bytes, value: int) -> None:
    assert read_s32(raw, 0) == (value, len(raw))


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\xff\xff\xff\xff\x0f", "integer too large"),  # 0xFFFFFFFF is not an s32
        (b"\x80\x80\x80\x80\x70", "integer too large"),
        (b"\x80\x80\x80\x80\x80\x00", "integer representation too long"),
    ],
)
def test_s32_malformed(raw: bytes, message: str) -> None:
    with pytest.raises(CompileError) as e:
        read_s32(raw, 0)
    assert e.value.message == message


def test_s33_and_s64_ranges() -> None:
    assert read_s33(b"\xff\xff\xff\xff\x0f", 0)[0] == 0xFFFF_FFFF
    assert read_s33(b"\x80\x80\x80\x80\x70", 0)[0] == -(2**32)
    with pytest.raises(CompileError, match="integer too large"):
        read_s33(b"\xff\xff\xff\xff\x1f", 0)
    assert read_s64(b"\xff" * 9 + b"\x00", 0)[0] == 2**63 - 1
    assert read_s64(b"\x80" * 9 + b"\x7f", 0)[0] == -(2**63)
    with pytest.raises(CompileError, match="integer too large"):
        read_s64(b"\xff" * 9 + b"\x01", 0)
    with pytest.raises(CompileError, match="integer representation too long"):
        read_s64(b"\x80" * 10 + b"\x00", 0)
    assert read_u64(b"\xff" * 9 + b"\x01", 0)[0] == 2**64 - 1
    with pytest.raises(CompileError, match="integer too large"):
        read_u64(b"\xff" * 9 + b"\x02", 0)


def test_u1() -> None:
    assert read_u1(b"\x01", 0) == (1, 1)
    with pytest.raises(CompileError, match="integer too large"):
        read_u1(b"\x02", 0)
    with pytest.raises(CompileError, match="integer representation too long"):
        read_u1(b"\x81\x00", 0)


def test_names() -> None:
    assert read_name(b"\x03abc", 0) == ("abc", 4)
    assert read_name("\x02é".encode(), 0) == ("é", 3)
    for bad in (b"\x01\x80", b"\x02\xc0\x80", b"\x03\xed\xa0\x80", b"\x04\xf4\x90\x80\x80"):
        with pytest.raises(CompileError, match="malformed UTF-8 encoding"):
            read_name(bad, 0)


def test_lengths() -> None:
    # A length may cover everything left, counted from its own first byte.
    assert read_len(b"\x02\x00", 0) == (2, 1)
    with pytest.raises(CompileError, match="length out of bounds") as e:
        read_len(b"\x00\x03\x00", 1)
    assert e.value.offset == 1
    r = Reader(b"\x02\x05\x06")
    assert r.vec(lambda r: r.u8()) == [5, 6]
    with pytest.raises(CompileError, match="unexpected end"):
        Reader(b"\x01\x02").bytes(3)
    assert Reader(b"\x00\x00\xc0\x7f").f32() == 0x7FC00000
