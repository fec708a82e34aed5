"""Lifting: component values out of a core instance, as Python values (CanonicalABI.md,
"Loading", "Flat Lifting", `lift_flat_values`).

Each type is compiled once (per pointer type) into a decoder, which reads a value from
the bytes of its `elem_size` (strings' and lists' contents are read from memory), and a
flat lifter, which takes it from a sequence of core values.  Invalid guest data traps."""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from aot.component import values
from aot.component.abi_context import LiftLowerContext, trap, unsigned
from aot.component.abi_layout import (
    MAX_LIST_BYTE_LENGTH,
    alignment,
    case_types,
    contains_handles,
    discriminant_type,
    elem_size,
    field_offsets,
    field_types,
    flags_chunks,
    flags_size,
    flatten_types,
    is_variant_like,
    payload_offset,
    variant_payload_flat,
)
from aot.component.abi_resources import lift_borrow, lift_own
from aot.component.abi_strings import load_string_from_range
from aot.component.types import (
    Borrow,
    Enum_,
    Flags,
    List,
    Option,
    Own,
    Prim,
    Record,
    Result,
    Tuple,
    ValType,
    Variant,
)

Decoder = Callable[[LiftLowerContext, bytes, int], Any]
FlatLifter = Callable[[LiftLowerContext, "CoreValueIter"], Any]

_INT_FORMATS = {
    Prim.S8: "<b", Prim.U8: "<B", Prim.S16: "<h", Prim.U16: "<H", Prim.S32: "<i",
    Prim.U32: "<I", Prim.S64: "<q", Prim.U64: "<Q",
}
_INT_WIDTHS = {Prim.S8: 8, Prim.U8: 8, Prim.S16: 16, Prim.U16: 16, Prim.S32: 32,
               Prim.U32: 32, Prim.S64: 64, Prim.U64: 64}
_SIGNED = {Prim.S8, Prim.S16, Prim.S32, Prim.S64}
_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")


def _canonical_nan(f: float) -> float:
    return math.nan if f != f else f


def decode_i32_as_float(bits: int) -> float:
    return _canonical_nan(_F32.unpack(_U32.pack(bits))[0])


def decode_i64_as_float(bits: int) -> float:
    return _canonical_nan(struct.unpack("<d", struct.pack("<Q", bits))[0])


def lift_char(i: int) -> str:
    if i >= 0x110000 or 0xD800 <= i <= 0xDFFF:
        raise trap(f"invalid char: {i:#x} is not a Unicode scalar value")
    return chr(i)


def _kind(t: ValType) -> str:
    """'a variant', 'an enum'... for trap messages."""
    return {Variant: "a variant", Enum_: "an enum", Option: "an option",
            Result: "a result"}[type(t)]


def _case_makers(t: Variant | Enum_ | Option | Result) -> tuple[Callable[[Any], Any], ...]:
    """Per case, how a payload becomes the case's Python value (see aot.component.abi)."""
    if isinstance(t, Variant):
        return tuple(functools.partial(values.Variant, name) for name, _c in t.cases)
    if isinstance(t, Enum_):
        return tuple((lambda _v, name=name: name) for name in t.names)
    if isinstance(t, Option):
        some = values.Some if isinstance(t.type, Option) else (lambda v: v)
        return (lambda _v: None), some
    return values.Ok, values.Err


def _unpack_flags(bits: int, names: tuple[str, ...]) -> frozenset[str]:
    # Bits past the last flag are ignored, as the spec's unpacking does.
    return frozenset(name for i, name in enumerate(names) if bits >> i & 1)


# --- decoders: values from their bytes ---------------------------------------------------

@functools.cache
def decoder(t: ValType, ptr_type: str = "i32") -> Decoder:
    """How to read a value of type `t` from `buf[off:off + elem_size(t)]`."""
    if isinstance(t, Prim):
        return _prim_decoder(t, ptr_type)
    if isinstance(t, List):
        pair = struct.Struct("<QQ" if ptr_type == "i64" else "<II")
        elem = t.elem
        return lambda cx, buf, off: list_from_range(cx, *pair.unpack_from(buf, off), elem)
    if isinstance(t, (Record, Tuple)):
        return _record_decoder(t, ptr_type)
    if is_variant_like(t):
        return _variant_decoder(t, ptr_type)
    if isinstance(t, Flags):
        size, names = flags_size(t), t.names
        return lambda cx, buf, off: _unpack_flags(
            int.from_bytes(buf[off:off + size], "little"), names)
    if isinstance(t, Own):
        return lambda cx, buf, off: lift_own(cx, _U32.unpack_from(buf, off)[0], t)
    if isinstance(t, Borrow):
        return lambda cx, buf, off: lift_borrow(cx, _U32.unpack_from(buf, off)[0], t)
    raise TypeError(f"not a component value type: {t!r}")


def _prim_decoder(t: Prim, ptr_type: str) -> Decoder:
    if t in _INT_FORMATS:
        unpack = struct.Struct(_INT_FORMATS[t]).unpack_from
        return lambda cx, buf, off: unpack(buf, off)[0]
    if t is Prim.BOOL:
        return lambda cx, buf, off: buf[off] != 0  # any non-zero byte is true
    if t is Prim.F32:
        return lambda cx, buf, off: _canonical_nan(_F32.unpack_from(buf, off)[0])
    if t is Prim.F64:
        f64 = struct.Struct("<d").unpack_from
        return lambda cx, buf, off: _canonical_nan(f64(buf, off)[0])
    if t is Prim.CHAR:
        return lambda cx, buf, off: lift_char(_U32.unpack_from(buf, off)[0])
    pair = struct.Struct("<QQ" if ptr_type == "i64" else "<II")
    return lambda cx, buf, off: load_string_from_range(cx, *pair.unpack_from(buf, off))


def _record_decoder(t: Record | Tuple, ptr_type: str) -> Decoder:
    parts = tuple(zip(field_offsets(t, ptr_type),
                      (decoder(f, ptr_type) for f in field_types(t))))
    if isinstance(t, Tuple):
        return lambda cx, buf, off: tuple(d(cx, buf, off + o) for o, d in parts)
    names = tuple(name for name, _f in t.fields)
    return lambda cx, buf, off: {name: d(cx, buf, off + o)
                                 for name, (o, d) in zip(names, parts)}


def _variant_decoder(t: Variant | Enum_ | Option | Result, ptr_type: str) -> Decoder:
    cases = case_types(t)
    disc_size = elem_size(discriminant_type(t))
    at = payload_offset(t, ptr_type)
    payloads = tuple(None if c is None else decoder(c, ptr_type) for c in cases)
    makers = _case_makers(t)
    kind = _kind(t)

    def decode(cx: LiftLowerContext, buf: bytes, off: int) -> Any:
        disc = int.from_bytes(buf[off:off + disc_size], "little")
        if disc >= len(cases):
            raise trap(f"invalid discriminant {disc} for {kind} of {len(cases)} cases")
        d = payloads[disc]
        return makers[disc](None if d is None else d(cx, buf, off + at))

    return decode


def load(cx: LiftLowerContext, ptr: int, t: ValType) -> Any:
    """The value of type `t` stored at `ptr` in the guest's memory (trap if misaligned
    or out of bounds)."""
    pt = cx.ptr_type
    size = elem_size(t, pt)
    cx.check_range(str(t) if isinstance(t, Prim) else type(t).__name__.lower().rstrip("_"),
                   ptr, size, alignment(t, pt))
    return decoder(t, pt)(cx, cx.memory.read(ptr, size), 0)


def list_from_range(cx: LiftLowerContext, ptr: int, length: int, elem: ValType) -> Any:
    """The list of `length` elements at `ptr`: bytes for list<u8>, else a WasmList."""
    pt = cx.ptr_type
    byte_length = length * elem_size(elem, pt)
    if byte_length > MAX_LIST_BYTE_LENGTH:
        raise trap(f"list of {byte_length} bytes is longer than the maximum "
                   f"{MAX_LIST_BYTE_LENGTH}")
    cx.check_range("list", ptr, byte_length, alignment(elem, pt))
    if elem is Prim.U8:
        return bytes(cx.memory.read(ptr, length))
    return WasmList(cx, ptr, length, elem)


class WasmList(Sequence):
    """A list lifted lazily: each element is read from guest memory when indexed (so a
    large list costs nothing until used).  Slicing returns a Python list; iteration lifts
    one element at a time.  It reads the memory as it is *now*: valid until the guest
    runs again or the memory changes (copy it with list() to keep it), and invalid
    element data traps when that element is read.  Lists of types holding resource
    handles are lifted eagerly, since lifting moves or lends the handles."""

    def __init__(self, cx: LiftLowerContext, ptr: int, length: int, elem: ValType):
        self._cx = cx
        self._ptr = ptr
        self._length = length
        self.elem = elem
        self._size = elem_size(elem, cx.ptr_type)
        self._decode = decoder(elem, cx.ptr_type)
        self._items: list[Any] | None = None
        if contains_handles(elem):
            self._items = [self._load(i) for i in range(length)]

    def _load(self, i: int) -> Any:
        at = self._ptr + i * self._size
        return self._decode(self._cx, self._cx.read(at, self._size, "list element"), 0)

    def __len__(self) -> int:
        return self._length

    def tolist(self) -> list[Any]:
        """Every element, read in one pass over the list's bytes (a list() of it reads
        element by element)."""
        if self._items is not None:
            return list(self._items)
        size, decode, cx = self._size, self._decode, self._cx
        data = cx.read(self._ptr, size * self._length, "list")
        return [decode(cx, data, k * size) for k in range(self._length)]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        i = index.__index__()
        if i < 0:
            i += self._length
        if not 0 <= i < self._length:
            raise IndexError(f"list index {index} out of range for a list of "
                             f"{self._length}")
        return self._items[i] if self._items is not None else self._load(i)

    def __iter__(self) -> Iterator[Any]:
        for i in range(self._length):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, WasmList)):
            return len(other) == self._length and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable view, like list

    def __repr__(self) -> str:
        shown = [repr(self[i]) for i in range(min(self._length, 8))]
        more = ", ..." if self._length > 8 else ""
        return f"WasmList([{', '.join(shown)}{more}], len={self._length})"


# --- flat lifting: values from core values ------------------------------------------------

class CoreValueIter:
    """The core values of a flat call, consumed in order by type.  Integers are taken
    as unsigned bit patterns whatever their sign (aot returns i32 results signed)."""

    def __init__(self, core_values: Iterable[int | float]):
        self._it = iter(core_values)

    def next(self, t: str) -> int | float:
        try:
            v = next(self._it)
        except StopIteration:
            raise ValueError(f"too few core values: expected another {t}") from None
        if t in ("i32", "i64"):
            if not isinstance(v, int):
                raise TypeError(f"expected an int core value for {t}, got {type(v).__name__}")
            return unsigned(v, 32 if t == "i32" else 64)
        if not isinstance(v, (int, float)):
            raise TypeError(f"expected a float core value for {t}, got {type(v).__name__}")
        return float(v)

    def done(self) -> bool:
        return next(self._it, _END) is _END


_END = object()


class _CoerceIter:
    """The core values of a variant's payload, in the types the case wants from the
    joined types the variant travels in (undoing `lower`'s bit-casts and widenings)."""

    def __init__(self, vi: CoreValueIter, have: tuple[str, ...]):
        self._vi = vi
        self._have = have
        self._i = 0

    def next(self, want: str) -> int | float:
        have = self._have[self._i]
        self._i += 1
        x = self._vi.next(have)
        if have == want:
            return x
        if want == "i32":  # from an i64
            return unsigned(x, 32)
        if want == "f32":  # from the bits in an i32 or i64
            return decode_i32_as_float(unsigned(x, 32))
        return decode_i64_as_float(x)  # f64 from an i64

    def skip_rest(self) -> None:
        for have in self._have[self._i:]:
            self._vi.next(have)


@functools.cache
def flat_lifter(t: ValType, ptr_type: str = "i32") -> FlatLifter:
    """How to lift a value of type `t` from the core values `flatten_type(t)`."""
    if isinstance(t, Prim):
        return _prim_flat_lifter(t, ptr_type)
    if isinstance(t, List):
        elem = t.elem
        return lambda cx, vi: list_from_range(cx, vi.next(ptr_type), vi.next(ptr_type), elem)
    if isinstance(t, (Record, Tuple)):
        parts = tuple(flat_lifter(f, ptr_type) for f in field_types(t))
        if isinstance(t, Tuple):
            return lambda cx, vi: tuple(lift(cx, vi) for lift in parts)
        names = tuple(name for name, _f in t.fields)
        return lambda cx, vi: {name: lift(cx, vi) for name, lift in zip(names, parts)}
    if is_variant_like(t):
        return _variant_flat_lifter(t, ptr_type)
    if isinstance(t, Flags):
        chunks, names = flags_chunks(t), t.names
        return lambda cx, vi: _unpack_flags(
            sum(vi.next("i32") << (32 * k) for k in range(chunks)), names)
    if isinstance(t, Own):
        return lambda cx, vi: lift_own(cx, vi.next("i32"), t)
    if isinstance(t, Borrow):
        return lambda cx, vi: lift_borrow(cx, vi.next("i32"), t)
    raise TypeError(f"not a component value type: {t!r}")


def _prim_flat_lifter(t: Prim, ptr_type: str) -> FlatLifter:
    if t in _INT_WIDTHS:
        # Bits above the type's width are ignored, as when loading from memory.
        width = _INT_WIDTHS[t]
        core = "i64" if width == 64 else "i32"
        if t in _SIGNED:
            half = 1 << (width - 1)
            return lambda cx, vi: (unsigned(vi.next(core), width) ^ half) - half
        return lambda cx, vi: unsigned(vi.next(core), width)
    if t is Prim.BOOL:
        return lambda cx, vi: vi.next("i32") != 0
    if t is Prim.F32:
        return lambda cx, vi: _canonical_nan(vi.next("f32"))
    if t is Prim.F64:
        return lambda cx, vi: _canonical_nan(vi.next("f64"))
    if t is Prim.CHAR:
        return lambda cx, vi: lift_char(vi.next("i32"))
    return lambda cx, vi: load_string_from_range(cx, vi.next(ptr_type), vi.next(ptr_type))


def _variant_flat_lifter(t: Variant | Enum_ | Option | Result, ptr_type: str) -> FlatLifter:
    cases = case_types(t)
    have = variant_payload_flat(t, ptr_type)
    payloads = tuple(None if c is None else flat_lifter(c, ptr_type) for c in cases)
    makers = _case_makers(t)
    kind = _kind(t)

    def lift(cx: LiftLowerContext, vi: CoreValueIter) -> Any:
        disc = vi.next("i32")
        if disc >= len(cases):
            raise trap(f"invalid discriminant {disc} for {kind} of {len(cases)} cases")
        payload_iter = _CoerceIter(vi, have)
        d = payloads[disc]
        value = None if d is None else d(cx, payload_iter)
        payload_iter.skip_rest()
        return makers[disc](value)

    return lift


def lift_flat(cx: LiftLowerContext, core_values: CoreValueIter | Iterable[int | float],
              t: ValType) -> Any:
    """The value of type `t` carried by the next core values (a CoreValueIter, which
    a caller lifting several values shares, or any iterable)."""
    vi = core_values if isinstance(core_values, CoreValueIter) else CoreValueIter(core_values)
    return flat_lifter(t, cx.ptr_type)(cx, vi)


def lift_values(cx: LiftLowerContext, max_flat: int,
                core_values: CoreValueIter | Iterable[int | float],
                types: Sequence[ValType]) -> list[Any]:
    """The values of `types` carried by a call's core parameters or results: flat if
    they fit in `max_flat` core values (MAX_FLAT_PARAMS or MAX_FLAT_RESULTS), else
    a pointer to a tuple of them in memory."""
    types = tuple(types)
    pt = cx.ptr_type
    vi = core_values if isinstance(core_values, CoreValueIter) else CoreValueIter(core_values)
    if len(flatten_types(types, pt)) > max_flat:
        tuple_type = Tuple(types)
        ptr = vi.next(pt)
        cx.check_range("spilled values", ptr, elem_size(tuple_type, pt),
                       alignment(tuple_type, pt))
        result = list(decoder(tuple_type, pt)(
            cx, cx.memory.read(ptr, elem_size(tuple_type, pt)), 0))
    else:
        result = [flat_lifter(t, pt)(cx, vi) for t in types]
    if not isinstance(core_values, CoreValueIter) and not vi.done():
        raise ValueError("too many core values for the types lifted")
    return result
