"""Strings in linear memory (CanonicalABI.md, `load_string_from_range`,
`store_string_into_range`): the three encodings and the transcoding a host string
needs to reach each of them.

A string is a pointer and a length in code units.  With 'latin1+utf16' the high bit of
the length (the "UTF-16 tag") says which of the two the bytes are in.

A Python str is lowered as a UTF-8 source of len(utf-8 bytes) code units, as a Rust
host's string is in wasmtime: that length is the hint the spec sizes the first
allocation by, so the guest's realloc sees the same sequence of calls."""

from __future__ import annotations

from typing import Any

from aot.component.abi_context import LiftLowerContext, trap
from aot.component.abi_layout import MAX_STRING_BYTE_LENGTH, ptr_size
from aot.component.values import ComponentTypeError, ComponentValueError, describe


def utf16_tag(ptr_type: str) -> int:
    return 1 << (8 * ptr_size(ptr_type) - 1)


def load_string_from_range(cx: LiftLowerContext, ptr: int, tagged_code_units: int) -> str:
    """The string whose bytes start at `ptr`, trapping on a bad range or encoding."""
    encoding = cx.opts.string_encoding
    if encoding == "utf8":
        alignment, byte_length, codec = 1, tagged_code_units, "utf-8"
    elif encoding == "utf16":
        alignment, byte_length, codec = 2, 2 * tagged_code_units, "utf-16-le"
    else:
        tag = utf16_tag(cx.ptr_type)
        alignment = 2  # even a Latin-1 string: the encoding may be either
        if tagged_code_units & tag:
            byte_length, codec = 2 * (tagged_code_units ^ tag), "utf-16-le"
        else:
            byte_length, codec = tagged_code_units, "latin-1"
    if byte_length > MAX_STRING_BYTE_LENGTH:
        raise trap(f"string of {byte_length} bytes is longer than the maximum "
                   f"{MAX_STRING_BYTE_LENGTH}")
    cx.check_range("string", ptr, byte_length, alignment)
    data = cx.memory.read(ptr, byte_length)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as e:
        name = "utf-8" if codec == "utf-8" else "utf-16"
        raise trap(f"invalid {name} in the string at {ptr:#x}: {e.reason} at byte "
                   f"{e.start}") from None


def encode_utf8(v: Any) -> bytes:
    """A host string's UTF-8 bytes: a str without surrogates, of a length the guest can
    receive."""
    if not isinstance(v, str):
        raise ComponentTypeError(f"expected a str for string, got {describe(v)}")
    try:
        data = v.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ComponentValueError(f"a string cannot hold the surrogate "
                                  f"U+{ord(v[e.start]):04X} (at index {e.start})") from None
    if len(data) > MAX_STRING_BYTE_LENGTH:
        raise ComponentValueError(f"string of {len(data)} bytes is longer than the maximum "
                                  f"{MAX_STRING_BYTE_LENGTH}")
    return data


def store_string_into_range(cx: LiftLowerContext, v: Any) -> tuple[int, int]:
    """Copy a host string into guest memory allocated with realloc: (pointer, tagged
    code units)."""
    utf8 = encode_utf8(v)
    encoding = cx.opts.string_encoding
    if encoding == "utf8":
        ptr = cx.allocate(1, len(utf8))
        cx.memory.write(ptr, utf8)
        return ptr, len(utf8)
    if encoding == "utf16":
        return _store_utf8_to_utf16(cx, v, len(utf8))
    return _store_to_latin1_or_utf16(cx, v, len(utf8))


def _store_utf8_to_utf16(cx: LiftLowerContext, s: str, src_units: int) -> tuple[int, int]:
    # One UTF-16 code unit per UTF-8 byte at worst; shrink once the real size is known.
    worst_case = 2 * src_units
    ptr = cx.allocate(2, worst_case)
    encoded = s.encode("utf-16-le")
    cx.memory.write(ptr, encoded)
    if len(encoded) < worst_case:
        ptr = cx.reallocate(ptr, worst_case, 2, len(encoded))
    return ptr, len(encoded) // 2


def _store_to_latin1_or_utf16(cx: LiftLowerContext, s: str, src_units: int) -> tuple[int, int]:
    # Hope for Latin-1 (one byte per code point, never more than the UTF-8 length); at the
    # first code point past U+00FF, grow to the UTF-16 worst case and switch.
    ptr = cx.allocate(2, src_units)
    latin1_end = next((i for i, c in enumerate(s) if ord(c) > 0xFF), None)
    if latin1_end is None:
        latin1 = s.encode("latin-1")
        cx.memory.write(ptr, latin1)
        if len(latin1) < src_units:
            ptr = cx.reallocate(ptr, src_units, 2, len(latin1))
        return ptr, len(latin1)
    cx.memory.write(ptr, s[:latin1_end].encode("latin-1"))  # what the spec has copied
    worst_case = 2 * src_units
    ptr = cx.reallocate(ptr, src_units, 2, worst_case)
    # The spec inflates the copied Latin-1 bytes in place then copies the rest: the same
    # bytes as the whole string in UTF-16.
    encoded = s.encode("utf-16-le")
    cx.memory.write(ptr, encoded)
    if len(encoded) < worst_case:
        ptr = cx.reallocate(ptr, worst_case, 2, len(encoded))
    return ptr, (len(encoded) // 2) | utf16_tag(cx.ptr_type)
