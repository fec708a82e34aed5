"""Lowering: Python values into a core instance (CanonicalABI.md, "Storing", "Flat
Lowering", `lower_flat_values`).

Each type is compiled once (per pointer type) into an encoder, which writes a value
into the bytes of its `elem_size` (strings' and lists' contents go to memory the guest's
realloc allocates), and a flat lowerer, which turns it into core values.  A host value
of the wrong Python type or out of range raises ComponentTypeError/ComponentValueError
(TypeError/ValueError) naming where it is; a bad realloc result traps."""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aot.component.abi_context import LiftLowerContext, unsigned
from aot.component.abi_convert import (
    INT_RANGES,
    bool_value,
    case_labels,
    case_matcher,
    char_value,
    f32_bits,
    f64_bits,
    float_value,
    int_value,
    no_payload,
    pack_flags,
    record_fields,
    tuple_items,
)
from aot.component.abi_layout import (
    MAX_LIST_BYTE_LENGTH,
    alignment,
    case_types,
    discriminant_type,
    elem_size,
    field_offsets,
    field_types,
    flags_chunks,
    flags_size,
    flat_tuple,
    flatten_types,
    is_variant_like,
    payload_offset,
    variant_payload_flat,
)
from aot.component.abi_resources import lower_borrow, lower_own
from aot.component.abi_strings import store_string_into_range
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
from aot.component.values import ComponentTypeError, ComponentValueError, describe

Encoder = Callable[[LiftLowerContext, Any, bytearray, int], None]
FlatLowerer = Callable[[LiftLowerContext, Any], list]

_INT_FORMATS = {
    Prim.S8: "<b", Prim.U8: "<B", Prim.S16: "<h", Prim.U16: "<H", Prim.S32: "<i",
    Prim.U32: "<I", Prim.S64: "<q", Prim.U64: "<Q",
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


def _located(where: str, encode: Callable[..., Any], *args: Any) -> Any:
    """Run one nested step, prefixing the position to a wrong host value's error."""
    try:
        return encode(*args)
    except (ComponentTypeError, ComponentValueError) as e:
        raise e.within(where) from None


# --- encoders: values into their bytes ---------------------------------------------------

@functools.cache
def encoder(t: ValType, ptr_type: str = "i32") -> Encoder:
    """How to write a value of type `t` into `buf[off:off + elem_size(t)]`."""
    if isinstance(t, Prim):
        return _prim_encoder(t, ptr_type)
    if isinstance(t, List):
        pair = struct.Struct("<QQ" if ptr_type == "i64" else "<II").pack_into
        elem = t.elem
        return lambda cx, v, buf, off: pair(buf, off, *store_list_into_range(cx, v, elem))
    if isinstance(t, (Record, Tuple)):
        return _record_encoder(t, ptr_type)
    if is_variant_like(t):
        return _variant_encoder(t, ptr_type)
    if isinstance(t, Flags):
        size = flags_size(t)

        def encode_flags(cx: LiftLowerContext, v: Any, buf: bytearray, off: int) -> None:
            buf[off:off + size] = pack_flags(v, t).to_bytes(size, "little")
        return encode_flags
    if isinstance(t, Own):
        return lambda cx, v, buf, off: _U32.pack_into(buf, off, lower_own(cx, v, t))
    if isinstance(t, Borrow):
        return lambda cx, v, buf, off: _U32.pack_into(buf, off, lower_borrow(cx, v, t))
    raise TypeError(f"not a component value type: {t!r}")


def _prim_encoder(t: Prim, ptr_type: str) -> Encoder:
    if t in _INT_FORMATS:
        pack = struct.Struct(_INT_FORMATS[t]).pack_into
        return lambda cx, v, buf, off: pack(buf, off, int_value(v, t))
    if t is Prim.BOOL:
        return lambda cx, v, buf, off: buf.__setitem__(off, int(bool_value(v)))
    if t is Prim.F32:
        return lambda cx, v, buf, off: _U32.pack_into(buf, off, f32_bits(float_value(v, t)))
    if t is Prim.F64:
        return lambda cx, v, buf, off: _U64.pack_into(buf, off, f64_bits(float_value(v, t)))
    if t is Prim.CHAR:
        return lambda cx, v, buf, off: _U32.pack_into(buf, off, char_value(v))
    pair = struct.Struct("<QQ" if ptr_type == "i64" else "<II").pack_into
    return lambda cx, v, buf, off: pair(buf, off, *store_string_into_range(cx, v))


def _labels_and_items(t: Record | Tuple, n: int) -> tuple[tuple[str, ...], Callable[[Any], Sequence]]:
    """How a record's or tuple's parts are named in errors, and read from a host value."""
    if isinstance(t, Tuple):
        return (tuple(f"element {i} of tuple" for i in range(n)),
                lambda v: tuple_items(v, n))
    return tuple(f"field {name!r} of record" for name, _f in t.fields), record_fields(t)


def _record_encoder(t: Record | Tuple, ptr_type: str) -> Encoder:
    types = field_types(t)
    parts = tuple(zip(field_offsets(t, ptr_type), (encoder(f, ptr_type) for f in types)))
    labels, items = _labels_and_items(t, len(types))

    def encode_record(cx: LiftLowerContext, v: Any, buf: bytearray, off: int) -> None:
        for label, (o, enc), item in zip(labels, parts, items(v)):
            _located(label, enc, cx, item, buf, off + o)
    return encode_record


def _variant_encoder(t: Variant | Enum_ | Option | Result, ptr_type: str) -> Encoder:
    disc_size = elem_size(discriminant_type(t))
    at = payload_offset(t, ptr_type)
    payloads = tuple(None if c is None else encoder(c, ptr_type) for c in case_types(t))
    match, labels = case_matcher(t), case_labels(t)

    def encode_variant(cx: LiftLowerContext, v: Any, buf: bytearray, off: int) -> None:
        i, payload = match(v)
        buf[off:off + disc_size] = i.to_bytes(disc_size, "little")
        enc = payloads[i]
        if enc is not None:
            _located(labels[i], enc, cx, payload, buf, off + at)
        elif payload is not None:
            raise no_payload(labels[i], payload)
    return encode_variant


def _list_items(v: Any) -> Sequence:
    if isinstance(v, (str, Mapping)) or not isinstance(v, Sequence):
        raise ComponentTypeError(f"expected a sequence for list, got {describe(v)}")
    return v


def store_list_into_range(cx: LiftLowerContext, v: Any, elem: ValType) -> tuple[int, int]:
    """Copy a host sequence into guest memory allocated with realloc: (pointer, length).
    list<u8> also takes bytes, bytearray and memoryview."""
    pt = cx.ptr_type
    if elem is Prim.U8 and isinstance(v, (bytes, bytearray, memoryview)):
        data = memoryview(v).tobytes()
        _check_list_size(len(data))
        ptr = cx.allocate(1, len(data))
        cx.write(ptr, data, "list")
        return ptr, len(data)
    items = _list_items(v)
    size = elem_size(elem, pt)
    _check_list_size(len(items) * size)
    ptr = cx.allocate(alignment(elem, pt), len(items) * size)
    # The elements are encoded in a buffer and written at once: the guest sees the same
    # bytes as the spec's one-by-one stores (nested strings and lists are written to their
    # own allocations as they come).
    buf = bytearray(len(items) * size)
    enc = encoder(elem, pt)
    for i, item in enumerate(items):
        _located(f"element {i} of list", enc, cx, item, buf, i * size)
    cx.write(ptr, buf, "list")
    return ptr, len(items)


def _check_list_size(byte_length: int) -> None:
    if byte_length > MAX_LIST_BYTE_LENGTH:
        raise ComponentValueError(f"list of {byte_length} bytes is longer than the maximum "
                                  f"{MAX_LIST_BYTE_LENGTH}")


def store(cx: LiftLowerContext, value: Any, t: ValType, ptr: int) -> None:
    """Write `value` of type `t` at `ptr` in the guest's memory (trap if misaligned or
    out of bounds)."""
    pt = cx.ptr_type
    size = elem_size(t, pt)
    cx.check_range("stored value", ptr, size, alignment(t, pt))
    buf = bytearray(size)
    encoder(t, pt)(cx, value, buf, 0)
    cx.write(ptr, buf)


# --- flat lowering: values into core values ----------------------------------------------

@functools.cache
def flat_lowerer(t: ValType, ptr_type: str = "i32") -> FlatLowerer:
    """How to turn a value of type `t` into the core values `flatten_type(t)` (integers
    as unsigned bit patterns, as the spec has them)."""
    if isinstance(t, Prim):
        return _prim_flat_lowerer(t)
    if isinstance(t, List):
        elem = t.elem
        return lambda cx, v: list(store_list_into_range(cx, v, elem))
    if isinstance(t, (Record, Tuple)):
        return _record_flat_lowerer(t, ptr_type)
    if is_variant_like(t):
        return _variant_flat_lowerer(t, ptr_type)
    if isinstance(t, Flags):
        chunks = flags_chunks(t)
        return lambda cx, v: [pack_flags(v, t) >> (32 * k) & 0xFFFFFFFF
                              for k in range(chunks)]
    if isinstance(t, Own):
        return lambda cx, v: [lower_own(cx, v, t)]
    if isinstance(t, Borrow):
        return lambda cx, v: [lower_borrow(cx, v, t)]
    raise TypeError(f"not a component value type: {t!r}")


def _prim_flat_lowerer(t: Prim) -> FlatLowerer:
    if t in INT_RANGES:
        bits = 64 if t in (Prim.S64, Prim.U64) else 32
        return lambda cx, v: [unsigned(int_value(v, t), bits)]
    if t is Prim.BOOL:
        return lambda cx, v: [int(bool_value(v))]
    if t in (Prim.F32, Prim.F64):
        return lambda cx, v: [_canonical_nan(float_value(v, t))]
    if t is Prim.CHAR:
        return lambda cx, v: [char_value(v)]
    return lambda cx, v: list(store_string_into_range(cx, v))


def _canonical_nan(f: float) -> float:
    return math.nan if f != f else f


def _record_flat_lowerer(t: Record | Tuple, ptr_type: str) -> FlatLowerer:
    types = field_types(t)
    parts = tuple(flat_lowerer(f, ptr_type) for f in types)
    labels, items = _labels_and_items(t, len(types))

    def lower_record(cx: LiftLowerContext, v: Any) -> list:
        flat: list = []
        for label, lower, item in zip(labels, parts, items(v)):
            flat += _located(label, lower, cx, item)
        return flat
    return lower_record


def _coerce(value: int | float, have: str, want: str) -> int | float:
    """A payload's core value in the joined type its variant carries it in."""
    if have == want or have == "i32":  # i32 into an i64: the same (unsigned) int
        return value
    if have == "f32":  # into an i32 or i64: its bits
        return f32_bits(value)
    return f64_bits(value)  # f64 into an i64


def _variant_flat_lowerer(t: Variant | Enum_ | Option | Result, ptr_type: str) -> FlatLowerer:
    cases = case_types(t)
    joined = variant_payload_flat(t, ptr_type)
    padding = tuple(0.0 if core in ("f32", "f64") else 0 for core in joined)
    payloads = tuple(None if c is None else (flat_lowerer(c, ptr_type), flat_tuple(c, ptr_type))
                     for c in cases)
    match, labels = case_matcher(t), case_labels(t)

    def lower_variant(cx: LiftLowerContext, v: Any) -> list:
        i, payload = match(v)
        case = payloads[i]
        if case is None:
            if payload is not None:
                raise no_payload(labels[i], payload)
            return [i, *padding]
        lower, have = case
        flat = _located(labels[i], lower, cx, payload)
        coerced = [_coerce(x, h, w) for x, h, w in zip(flat, have, joined)]
        return [i, *coerced, *padding[len(coerced):]]
    return lower_variant


def lower_flat(cx: LiftLowerContext, value: Any, t: ValType) -> list[int | float]:
    """The core values that carry `value` of type `t`."""
    return flat_lowerer(t, cx.ptr_type)(cx, value)


def lower_values(cx: LiftLowerContext, vals: Sequence[Any], types: Sequence[ValType],
                 max_flat: int, out_param: int | None = None, *,
                 where: Sequence[str] | None = None) -> list[int | float]:
    """The core values carrying a call's parameters or results `vals` of `types`: flat if
    they fit in `max_flat` core values, else stored as a tuple in memory, either
    allocated with realloc (and its pointer returned as the one core value) or at
    `out_param` (the pointer a caller passed for its results; nothing returned).
    `where` names each value in error messages ("parameter 'x'"; default "value i")."""
    types = tuple(types)
    if len(vals) != len(types):
        raise ComponentTypeError(f"expected {len(types)} values, got {len(vals)}")
    labels = tuple(where) if where is not None else tuple(f"value {i}" for i in
                                                          range(len(types)))
    pt = cx.ptr_type
    if len(flatten_types(types, pt)) <= max_flat:
        flat: list[int | float] = []
        for label, v, t in zip(labels, vals, types):
            flat += _located(label, flat_lowerer(t, pt), cx, v)
        return flat
    tuple_type = Tuple(types)
    size, align = elem_size(tuple_type, pt), alignment(tuple_type, pt)
    if out_param is None:
        ptr = cx.allocate(align, size)
    else:
        ptr = unsigned(out_param, 64 if pt == "i64" else 32)
        cx.check_range("the results' out pointer", ptr, size, align)
    buf = bytearray(size)
    for label, v, t, off in zip(labels, vals, types, field_offsets(tuple_type, pt)):
        _located(label, encoder(t, pt), cx, v, buf, off)
    cx.write(ptr, buf)
    return [ptr] if out_param is None else []
