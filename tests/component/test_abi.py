"""The canonical ABI in Python (aot.component.abi): layout numbers worked out by hand from
CanonicalABI.md, flattening, round trips of every kind of value through memory and
through core values, the traps on invalid guest data, the errors on wrong host values,
and the resource handle rules."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import pytest

from aot import CompileError, Trap
from aot.component import types as T
from aot.component.abi import (
    MAX_FLAT_PARAMS,
    MAX_FLAT_RESULTS,
    CoreSig,
    Err,
    InstanceState,
    LiftLowerContext,
    LiftLowerOptions,
    Ok,
    Resource,
    Some,
    Subtask,
    Task,
    Variant,
    WasmList,
    align_to,
    alignment,
    discriminant_type,
    elem_size,
    flatten_functype,
    flatten_type,
    join,
    lift_flat,
    lift_values,
    load,
    lower_flat,
    lower_values,
    store,
)
from aot.component.abi_layout import case_types, field_offsets

P = T.Prim
STRING = P.STRING


# --- a memory and an allocator in Python ---------------------------------------------------

class Memory:
    """A test double of aot.Memory: read/write/data_len over a bytearray; counts reads."""

    def __init__(self, size: int = 1 << 16):
        self.buf = bytearray(size)
        self.reads = 0

    @property
    def data_len(self) -> int:
        return len(self.buf)

    def read(self, offset: int, length: int) -> bytes:
        assert 0 <= offset and offset + length <= len(self.buf), "the ABI must check bounds"
        self.reads += 1
        return bytes(self.buf[offset:offset + length])

    def write(self, offset: int, data: bytes) -> None:
        assert 0 <= offset and offset + len(data) <= len(self.buf), "the ABI must check bounds"
        self.buf[offset:offset + len(data)] = data


class Bump:
    """A realloc that bump-allocates (and copies on growth), recording its calls."""

    def __init__(self, memory: Memory, start: int = 0x1000):
        self.memory = memory
        self.next = start
        self.calls: list[tuple[int, int, int, int]] = []

    def __call__(self, old: int, old_size: int, align: int, new_size: int) -> int:
        self.calls.append((old, old_size, align, new_size))
        ptr = align_to(self.next, align)
        self.next = ptr + new_size
        keep = min(old_size, new_size)
        self.memory.buf[ptr:ptr + keep] = self.memory.buf[old:old + keep]
        return ptr


def make_cx(encoding: str = "utf8", inst: InstanceState | None = None, scope=None,
            realloc=None, ptr_type: str = "i32") -> LiftLowerContext:
    memory = Memory()
    opts = LiftLowerOptions(memory, encoding, realloc or Bump(memory), ptr_type)
    return LiftLowerContext(opts, inst, scope)


def mem(cx: LiftLowerContext) -> Memory:
    return cx.opts.memory


def via_memory(cx: LiftLowerContext, t, value, ptr: int = 0x100):
    store(cx, value, t, ptr)
    return load(cx, ptr, t)


def via_flat(cx: LiftLowerContext, t, value):
    flat = lower_flat(cx, value, t)
    assert len(flat) == len(flatten_type(t))
    return lift_flat(cx, flat, t)


ENCODINGS = ("utf8", "utf16", "latin1+utf16")


# --- types used below ----------------------------------------------------------------------

def rec(**fields) -> T.Record:
    return T.Record(tuple((name.replace("_", "-"), t) for name, t in fields.items()))


def flags(n: int) -> T.Flags:
    return T.Flags(tuple(f"f{i}" for i in range(n)))


def enum(n: int) -> T.Enum_:
    return T.Enum_(tuple(f"e{i}" for i in range(n)))


COLOR = T.Enum_(("red", "green", "blue"))
SHAPE = T.Variant((("none", None), ("circle", P.F32), ("square", P.U64),
                   ("label", STRING)))
POINT = rec(x=P.S32, y=P.S32)
ENTRY = rec(name=STRING, tags=T.List(STRING), pos=T.Tuple((P.S32, P.S32)))


# --- layout --------------------------------------------------------------------------------

LAYOUT = [
    # (type, alignment, elem_size), worked out from the spec's rules
    (P.BOOL, 1, 1), (P.U8, 1, 1), (P.S8, 1, 1), (P.S16, 2, 2), (P.U16, 2, 2),
    (P.U32, 4, 4), (P.S64, 8, 8), (P.U64, 8, 8), (P.F32, 4, 4), (P.F64, 8, 8),
    (P.CHAR, 4, 4), (STRING, 4, 8), (T.List(P.U8), 4, 8), (T.List(P.F64), 4, 8),
    (rec(a=P.U8, b=P.U32), 4, 8),              # b at 4
    (rec(a=P.U8, b=P.U16, c=P.U8), 2, 6),      # 0, 2, 4; 5 rounded up to 6
    (T.Tuple((P.U8, P.U64, P.U8)), 8, 24),     # 0, 8, 16; 17 rounded up to 24
    (rec(a=P.U8, s=STRING), 4, 12),
    (COLOR, 1, 1), (enum(256), 1, 1), (enum(257), 2, 2),
    (T.Option(P.U8), 1, 2), (T.Option(P.U32), 4, 8), (T.Option(P.U64), 8, 16),
    (T.Option(STRING), 4, 12), (T.Option(T.Option(P.U8)), 1, 3),
    (T.Result(None, None), 1, 1), (T.Result(P.U8, P.U64), 8, 16),
    (T.Result(None, STRING), 4, 12),
    (SHAPE, 8, 16),                            # u8 discriminant, payloads at 8
    (T.Variant(tuple((f"c{i}", P.U8) for i in range(300))), 2, 4),  # u16 disc, payload at 2
    (flags(1), 1, 1), (flags(8), 1, 1), (flags(9), 2, 2), (flags(16), 2, 2),
    (flags(17), 4, 4), (flags(32), 4, 4), (flags(33), 4, 8), (flags(64), 4, 8),
    (flags(65), 4, 12),
    (T.Own(T.ResourceType("r")), 4, 4), (T.Borrow(T.ResourceType("r")), 4, 4),
]


@pytest.mark.parametrize("t, align, size", LAYOUT, ids=[str(i) for i in range(len(LAYOUT))])
def test_layout(t, align, size):
    assert (alignment(t), elem_size(t)) == (align, size)


def test_layout_with_64_bit_pointers():
    assert (alignment(STRING, "i64"), elem_size(STRING, "i64")) == (8, 16)
    assert (alignment(T.List(P.U8), "i64"), elem_size(T.List(P.U8), "i64")) == (8, 16)
    assert elem_size(rec(a=P.U8, s=STRING), "i64") == 24
    assert flatten_type(STRING, "i64") == ["i64", "i64"]


def test_field_offsets():
    assert field_offsets(rec(a=P.U8, b=P.U32, c=P.U16)) == (0, 4, 8)
    assert field_offsets(T.Tuple((P.U16, P.U8, P.F64, P.CHAR))) == (0, 2, 8, 16)


def test_record_bytes_in_memory():
    cx = make_cx()
    store(cx, {"a": 0x11, "b": 0x22334455, "c": 0x6677}, rec(a=P.U8, b=P.U32, c=P.U16), 0x40)
    assert mem(cx).buf[0x40:0x4a] == bytes([0x11, 0, 0, 0, 0x55, 0x44, 0x33, 0x22, 0x77, 0x66])
    store(cx, 7, T.Option(P.U32), 0x80)
    assert mem(cx).buf[0x80:0x88] == bytes([1, 0, 0, 0, 7, 0, 0, 0])


@pytest.mark.parametrize("n, disc", [(1, P.U8), (2, P.U8), (256, P.U8), (257, P.U16),
                                     (65536, P.U16), (65537, P.U32)])
def test_discriminant_type(n, disc):
    assert discriminant_type(enum(n)) is disc


@pytest.mark.parametrize("t", [T.Flags(()), T.Record(()), T.Tuple(()), T.Variant(()),
                               T.Enum_(())], ids=["flags", "record", "tuple", "variant", "enum"])
def test_empty_types_are_refused(t):
    with pytest.raises(CompileError, match="component model"):
        elem_size(t)
    with pytest.raises(CompileError):
        flatten_type(t)


# --- flattening ----------------------------------------------------------------------------

FLAT = [
    (P.BOOL, ["i32"]), (P.U8, ["i32"]), (P.S32, ["i32"]), (P.U64, ["i64"]), (P.F32, ["f32"]),
    (P.F64, ["f64"]), (P.CHAR, ["i32"]), (STRING, ["i32", "i32"]),
    (T.List(POINT), ["i32", "i32"]),
    (rec(a=P.U8, b=P.F64, c=STRING), ["i32", "f64", "i32", "i32"]),
    (COLOR, ["i32"]), (T.Option(P.F32), ["i32", "f32"]),
    (T.Result(P.F32, P.U32), ["i32", "i32"]),           # f32 joined with i32
    (T.Result(P.U64, P.F32), ["i32", "i64"]),           # f32 into an i64
    (T.Variant((("a", P.F32), ("b", P.F64))), ["i32", "i64"]),
    (T.Variant((("a", T.Tuple((P.U8, P.F32))), ("b", T.Tuple((P.F32, P.F64, P.U8))),
                ("c", None))), ["i32", "i32", "i64", "i32"]),
    (SHAPE, ["i32", "i64", "i32"]),
    (flags(1), ["i32"]), (flags(32), ["i32"]), (flags(33), ["i32", "i32"]),
    (flags(64), ["i32", "i32"]), (T.Own(T.ResourceType()), ["i32"]),
]


@pytest.mark.parametrize("t, flat", FLAT, ids=[str(i) for i in range(len(FLAT))])
def test_flatten_type(t, flat):
    assert flatten_type(t) == flat


def test_join():
    assert [join(a, b) for a, b in [("i32", "i32"), ("i32", "f32"), ("f32", "i32"),
                                    ("f32", "f32"), ("i32", "i64"), ("f32", "f64"),
                                    ("f64", "i32"), ("f64", "f64")]] == \
        ["i32", "i32", "i32", "f32", "i64", "i64", "i64", "f64"]


def _func(n_params: int, result=None) -> T.FuncType:
    return T.FuncType(tuple((f"p{i}", P.U32) for i in range(n_params)), result)


def test_flatten_functype():
    assert flatten_functype(_func(2, P.U32), "lift") == CoreSig(("i32", "i32"), ("i32",))
    assert flatten_functype(_func(0), "lower") == CoreSig((), ())
    assert flatten_functype(_func(16), "lift").params == ("i32",) * 16
    # 17 flat parameters: one pointer to them
    assert flatten_functype(_func(17), "lift") == CoreSig(("i32",), ())
    assert flatten_functype(T.FuncType((("r", rec(a=P.F64, b=T.List(P.U8),
                                                       c=T.Tuple((STRING,) * 7))),), None),
                            "lower").params == ("i32",)
    # more than one flat result: a returned pointer (lift), or a pointer parameter (lower)
    ft = T.FuncType((("s", STRING),), STRING)
    assert flatten_functype(ft, "lift") == CoreSig(("i32", "i32"), ("i32",))
    assert flatten_functype(ft, "lower") == CoreSig(("i32", "i32", "i32"), ())
    named = T.FuncType((), (("a", P.U8), ("b", P.F64)))
    assert flatten_functype(named, "lower") == CoreSig(("i32",), ())
    assert flatten_functype(ft, "lift", "i64") == CoreSig(("i64", "i64"), ("i64",))
    with pytest.raises(ValueError, match="'lift' or 'lower'"):
        flatten_functype(ft, "call")


def test_params_spill_to_memory_past_max_flat():
    cx = make_cx()
    types = [P.U32] * 17
    vals = list(range(100, 117))
    core = lower_values(cx, vals, types, MAX_FLAT_PARAMS)
    assert len(core) == 1
    assert cx.opts.realloc.calls == [(0, 0, 4, 68)]
    assert struct.unpack_from("<17I", mem(cx).buf, core[0]) == tuple(vals)
    assert lift_values(cx, MAX_FLAT_PARAMS, core, types) == vals
    # 16 stay flat
    assert lower_values(cx, vals[:16], types[:16], MAX_FLAT_PARAMS) == vals[:16]
    assert lift_values(cx, MAX_FLAT_PARAMS, vals[:16], types[:16]) == vals[:16]


def test_results_through_an_out_pointer():
    cx = make_cx()
    types = [STRING, P.F64]
    assert lower_values(cx, ["hi", 2.5], types, MAX_FLAT_RESULTS, out_param=0x200) == []
    ptr, units, f = struct.unpack_from("<IId", mem(cx).buf, 0x200)  # f64 at 8
    assert (bytes(mem(cx).buf[ptr:ptr + units]), f) == (b"hi", 2.5)
    assert lift_values(cx, MAX_FLAT_RESULTS, [0x200], types) == ["hi", 2.5]
    # one flat result stays flat
    assert lower_values(cx, [7], [P.U8], MAX_FLAT_RESULTS) == [7]


def test_spilled_pointer_is_checked():
    cx = make_cx()
    with pytest.raises(Trap, match="misaligned pointer"):
        lift_values(cx, MAX_FLAT_RESULTS, [0x202], [STRING, P.F64])
    with pytest.raises(Trap, match="out of bounds"):
        lift_values(cx, MAX_FLAT_RESULTS, [mem(cx).data_len - 8], [STRING, P.F64])
    with pytest.raises(Trap, match="misaligned"):
        lower_values(cx, ["a", 1.0], [STRING, P.F64], MAX_FLAT_RESULTS, out_param=4)


def test_value_count_and_core_value_count_are_checked():
    cx = make_cx()
    with pytest.raises(TypeError, match="expected 2 values, got 1"):
        lower_values(cx, [1], [P.U8, P.U8], MAX_FLAT_PARAMS)
    with pytest.raises(ValueError, match="too few core values"):
        lift_values(cx, MAX_FLAT_PARAMS, [1], [P.U8, P.U8])
    with pytest.raises(ValueError, match="too many core values"):
        lift_values(cx, MAX_FLAT_PARAMS, [1, 2, 3], [P.U8, P.U8])


# --- round trips ---------------------------------------------------------------------------

ROUND_TRIPS = [
    (P.BOOL, True), (P.BOOL, False),
    (P.S8, -128), (P.S8, 127), (P.U8, 0), (P.U8, 255), (P.S16, -32768), (P.S16, 32767),
    (P.U16, 65535), (P.S32, -2**31), (P.S32, 2**31 - 1), (P.U32, 2**32 - 1),
    (P.S64, -2**63), (P.S64, 2**63 - 1), (P.U64, 2**64 - 1), (P.U64, 0),
    (P.F32, 1.5), (P.F32, -0.0), (P.F32, math.inf), (P.F64, 1e300), (P.F64, -math.inf),
    (P.CHAR, "a"), (P.CHAR, "\u00e9"), (P.CHAR, "\ud7ff"), (P.CHAR, "\ue000"),
    (P.CHAR, "\U0010ffff"), (P.CHAR, "\0"),
    (STRING, ""), (STRING, "hello"), (STRING, "a\0b"),
    (T.List(P.U8), b""), (T.List(P.U8), b"\x00\xffabc"),
    (T.List(P.U32), []), (T.List(P.U32), [1, 2, 2**32 - 1]),
    (T.List(P.S16), [-1, 0, 1]), (T.List(P.F64), [0.5, -2.0]), (T.List(P.CHAR), ["x", "😀"]),
    (T.List(STRING), ["", "a", "bc"]),
    (T.List(T.List(STRING)), [["a"], [], ["b", "c"]]),
    (T.List(T.List(P.U8)), [b"ab", b""]),
    (POINT, {"x": -1, "y": 2}),
    (rec(a=P.U8, long_name=STRING, c=P.F64), {"a": 1, "long-name": "x", "c": 0.25}),
    (T.List(ENTRY), [{"name": "n1", "tags": ["t1", "t2"], "pos": (1, -2)},
                     {"name": "", "tags": [], "pos": (0, 0)}]),
    (T.Tuple((P.U8, STRING, P.F32)), (1, "x", 2.0)),
    (T.Tuple((T.Tuple((P.U8,)),)), ((3,),)),
    (SHAPE, Variant("none")), (SHAPE, Variant("circle", 1.5)),
    (SHAPE, Variant("square", 2**64 - 1)), (SHAPE, Variant("label", "sq")),
    (COLOR, "red"), (COLOR, "blue"), (enum(300), "e299"),
    (T.Option(P.U8), None), (T.Option(P.U8), 5), (T.Option(STRING), ""),
    (T.Option(T.Option(P.U8)), None), (T.Option(T.Option(P.U8)), Some(None)),
    (T.Option(T.Option(P.U8)), Some(5)),
    (T.Option(T.Option(T.Option(P.U8))), Some(Some(None))),
    (T.Option(T.Option(T.Option(P.U8))), Some(Some(7))),
    (T.List(T.Option(P.U16)), [None, 1, None]),
    (T.Result(P.U8, STRING), Ok(1)), (T.Result(P.U8, STRING), Err("bad")),
    (T.Result(None, None), Ok()), (T.Result(None, None), Err()),
    (T.Result(None, P.F64), Err(0.5)), (T.Result(T.Option(P.U8), None), Ok(None)),
    (T.Result(SHAPE, STRING), Ok(Variant("label", "x"))),   # a result of a variant
    (T.Result(SHAPE, STRING), Ok(Variant("circle", -0.5))),
    (T.Result(SHAPE, STRING), Err("no shape")),
    (flags(1), frozenset()), (flags(1), frozenset({"f0"})),
    (flags(32), frozenset({"f0", "f31"})), (flags(32), frozenset(f"f{i}" for i in range(32))),
    (flags(33), frozenset({"f32"})), (flags(33), frozenset({"f0", "f32"})),
    (flags(64), frozenset({"f63", "f1"})), (flags(64), frozenset()),
    (rec(f=flags(9), o=T.Option(COLOR)), {"f": frozenset({"f8"}), "o": "green"}),
]


def _ids(cases):
    return [f"{t}-{i}" if isinstance(t, T.Prim) else f"{type(t).__name__}-{i}"
            for i, (t, _v) in enumerate(cases)]


@pytest.mark.parametrize("t, value", ROUND_TRIPS, ids=_ids(ROUND_TRIPS))
def test_round_trip_through_memory(t, value):
    cx = make_cx()
    assert via_memory(cx, t, value, align_to(0x100, alignment(t))) == value


@pytest.mark.parametrize("t, value", ROUND_TRIPS, ids=_ids(ROUND_TRIPS))
def test_round_trip_through_core_values(t, value):
    cx = make_cx()
    assert via_flat(cx, t, value) == value


def test_lifted_values_have_the_documented_python_types():
    cx = make_cx()
    assert type(via_flat(cx, T.List(P.U8), bytearray(b"ab"))) is bytes
    assert via_flat(cx, T.List(P.U8), memoryview(b"xy")) == b"xy"
    assert isinstance(via_flat(cx, T.List(P.U32), (1, 2)), WasmList)
    assert type(via_flat(cx, T.Tuple((P.U8, P.U8)), [1, 2])) is tuple
    assert type(via_flat(cx, flags(3), ["f1"])) is frozenset
    assert via_flat(cx, flags(3), {"f0": True, "f1": False}) == {"f0"}
    assert via_flat(cx, T.Option(P.U8), Some(4)) == 4  # Some is accepted for any option
    assert via_flat(cx, T.Option(T.Option(P.U8)), 4) == Some(4)


@dataclass
class Pt:
    x: int
    y: int


@dataclass
class Named:
    long_name: str


def test_records_lower_from_objects():
    cx = make_cx()
    assert via_flat(cx, POINT, Pt(3, 4)) == {"x": 3, "y": 4}
    assert via_memory(cx, rec(long_name=STRING), Named("z")) == {"long-name": "z"}


def test_floats():
    cx = make_cx()
    f32_of_0_1 = struct.unpack("<f", struct.pack("<f", 0.1))[0]
    assert via_flat(cx, P.F32, 0.1) == f32_of_0_1
    assert via_memory(cx, P.F32, 0.1) == f32_of_0_1
    assert via_flat(cx, P.F32, 1e300) == math.inf  # rounds to the nearest f32
    assert via_flat(cx, P.F64, 3) == 3.0
    for t in (P.F32, P.F64):
        assert math.isnan(via_flat(cx, t, math.nan))
        assert math.isnan(via_memory(cx, t, math.nan))


def test_nans_are_canonical():
    cx = make_cx()
    store(cx, math.nan, P.F32, 0x10)
    store(cx, -math.nan, P.F64, 0x18)
    assert struct.unpack_from("<I4xQ", mem(cx).buf, 0x10) == (0x7FC00000, 0x7FF8000000000000)
    mem(cx).buf[0x20:0x24] = struct.pack("<I", 0xFFC00123)  # a NaN with sign and payload
    assert math.isnan(load(cx, 0x20, P.F32))
    # a NaN payload bit-cast into a joined i32 is the canonical NaN's
    v = T.Variant((("f", P.F32), ("i", P.U32)))
    assert lower_flat(cx, Variant("f", math.nan), v) == [0, 0x7FC00000]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("text", ["", "ascii", "café ÿ", "Ωmega ≈", "astral 😀 é", "😀"])
def test_strings_round_trip_in_every_encoding(encoding, text):
    cx = make_cx(encoding)
    assert via_flat(cx, STRING, text) == text
    assert via_memory(cx, STRING, text) == text
    assert via_memory(cx, T.List(STRING), [text, text]) == [text, text]


def _lowered_bytes(cx, text):
    ptr, units = lower_flat(cx, text, STRING)
    return ptr, units, mem(cx).buf


def test_utf8_strings():
    cx = make_cx("utf8")
    ptr, units, buf = _lowered_bytes(cx, "é😀")
    assert (units, bytes(buf[ptr:ptr + units])) == (6, "é😀".encode())
    assert cx.opts.realloc.calls == [(0, 0, 1, 6)]


def test_utf16_strings():
    cx = make_cx("utf16")
    ptr, units, buf = _lowered_bytes(cx, "a😀")  # 5 UTF-8 bytes, 3 UTF-16 code units
    assert (units, bytes(buf[ptr:ptr + 6])) == (3, "a😀".encode("utf-16-le"))
    # the worst case (a code unit per UTF-8 byte), then shrunk to the real size
    assert cx.opts.realloc.calls == [(0, 0, 2, 10), (0x1000, 10, 2, 6)]


def test_latin1_or_utf16_strings_stay_latin1_when_they_can():
    cx = make_cx("latin1+utf16")
    ptr, units, buf = _lowered_bytes(cx, "café")
    assert (units, bytes(buf[ptr:ptr + 4])) == (4, "café".encode("latin-1"))
    assert cx.opts.realloc.calls == [(0, 0, 2, 5), (0x1000, 5, 2, 4)]  # 5 UTF-8 bytes


def test_latin1_or_utf16_strings_switch_to_utf16():
    cx = make_cx("latin1+utf16")
    ptr, units, buf = _lowered_bytes(cx, "aé€")  # 6 UTF-8 bytes
    assert units == 3 | 1 << 31  # the UTF-16 tag
    assert bytes(buf[ptr:ptr + 6]) == "aé€".encode("utf-16-le")
    assert cx.opts.realloc.calls == [(0, 0, 2, 6), (0x1000, 6, 2, 12), (0x1006, 12, 2, 6)]
    ptr, units, buf = _lowered_bytes(cx, "😀")
    assert units == 2 | 1 << 31
    assert lift_flat(cx, [ptr, units], STRING) == "😀"


@pytest.mark.parametrize("encoding, data, message", [
    ("utf8", b"\xff", "invalid utf-8"),
    ("utf8", b"\xed\xa0\x80", "invalid utf-8"),             # an encoded surrogate
    ("utf16", b"\x00\xd8", "invalid utf-16"),               # a lone surrogate
    ("latin1+utf16", b"\x00\xdc", "invalid utf-16"),
])
def test_invalid_strings_trap(encoding, data, message):
    cx = make_cx(encoding)
    mem(cx).buf[0x100:0x100 + len(data)] = data
    units = len(data) if encoding == "utf8" else len(data) // 2
    if encoding == "latin1+utf16":
        units |= 1 << 31
    with pytest.raises(Trap, match=message):
        lift_flat(cx, [0x100, units], STRING)


def test_string_ranges_are_checked():
    cx = make_cx("utf16")
    with pytest.raises(Trap, match="misaligned pointer"):
        lift_flat(cx, [0x101, 1], STRING)
    with pytest.raises(Trap, match="out of bounds"):
        lift_flat(cx, [mem(cx).data_len - 2, 2], STRING)
    with pytest.raises(Trap, match="longer than the maximum"):
        lift_flat(cx, [0, 1 << 28], STRING)
    latin1 = make_cx("latin1+utf16")  # the alignment is 2 even for a Latin-1 string
    with pytest.raises(Trap, match="misaligned pointer"):
        lift_flat(latin1, [0x101, 1], STRING)
    utf8 = make_cx("utf8")
    with pytest.raises(Trap, match="out of bounds"):
        lift_flat(utf8, [0xFFFFFFFF, 2], STRING)
    assert lift_flat(utf8, [utf8.opts.memory.data_len, 0], STRING) == ""


def test_bad_host_strings():
    cx = make_cx()
    with pytest.raises(ValueError, match="surrogate U\\+D800"):
        lower_flat(cx, "a\ud800", STRING)
    with pytest.raises(TypeError, match="expected a str for string, got bytes"):
        lower_flat(cx, b"abc", STRING)


# --- chars, integers, bools ----------------------------------------------------------------

@pytest.mark.parametrize("code", [0xD800, 0xDFFF, 0x110000, 0xFFFFFFFF])
def test_invalid_chars_trap(code):
    cx = make_cx()
    with pytest.raises(Trap, match="invalid char"):
        lift_flat(cx, [code], P.CHAR)
    mem(cx).buf[0:4] = struct.pack("<I", code)
    with pytest.raises(Trap, match="invalid char"):
        load(cx, 0, P.CHAR)


def test_bad_host_chars():
    cx = make_cx()
    with pytest.raises(ValueError, match="surrogate U\\+DFFF"):
        lower_flat(cx, "\udfff", P.CHAR)
    with pytest.raises(TypeError, match="1-character str"):
        lower_flat(cx, "ab", P.CHAR)
    with pytest.raises(TypeError, match="1-character str"):
        store(cx, 65, P.CHAR, 0)


@pytest.mark.parametrize("t, value, expected", [
    (P.U8, 256, "0..255 for u8, got 256"), (P.U8, -1, "0..255 for u8, got -1"),
    (P.S8, -129, "-128..127 for s8"), (P.S8, 128, "-128..127 for s8"),
    (P.U16, 65536, "0..65535 for u16"), (P.S16, -32769, "for s16"),
    (P.U32, 2**32, "0..4294967295 for u32"), (P.S32, 2**31, "for s32"),
    (P.U64, 2**64, "for u64"), (P.U64, -1, "for u64"),
    (P.S64, -2**63 - 1, "-9223372036854775808..9223372036854775807 for s64"),
])
def test_integers_out_of_range(t, value, expected):
    cx = make_cx()
    with pytest.raises(ValueError, match=expected):
        lower_flat(cx, value, t)
    with pytest.raises(ValueError, match=expected):
        store(cx, value, t, 0)


def test_integers_of_the_wrong_type():
    cx = make_cx()
    with pytest.raises(TypeError, match="expected an int in 0..255 for u8, got bool True"):
        lower_flat(cx, True, P.U8)
    with pytest.raises(TypeError, match="got float 1.0"):
        lower_flat(cx, 1.0, P.S32)
    with pytest.raises(TypeError, match="expected a bool"):
        lower_flat(cx, 1, P.BOOL)
    with pytest.raises(TypeError, match="expected a float for f32, got str"):
        lower_flat(cx, "1", P.F32)


def test_errors_name_the_position():
    cx = make_cx()
    t = rec(name=STRING, pts=T.List(rec(x=P.U8, y=P.U8)))
    value = {"name": "p", "pts": [{"x": 1, "y": 2}, {"x": 300, "y": 0}]}
    expected = ("parameter 'shape': field 'pts' of record: element 1 of list: "
                "field 'x' of record: expected an int in 0..255 for u8, got 300")
    with pytest.raises(ValueError) as e:
        lower_values(cx, [value], [t], MAX_FLAT_PARAMS, where=["parameter 'shape'"])
    assert str(e.value) == expected
    with pytest.raises(ValueError, match="^value 0: field 'pts'"):
        lower_values(cx, [value], [t], 1)  # through memory: same message
    with pytest.raises(ValueError, match="^element 1 of tuple: "):
        lower_flat(cx, (1, -1), T.Tuple((P.U8, P.U8)))
    with pytest.raises(ValueError, match="^Some of option: Ok of result: "):
        lower_flat(cx, Ok(-1), T.Option(T.Result(P.U8, None)))


def test_flat_integers_ignore_high_bits_and_take_signed_core_values():
    cx = make_cx()
    assert lift_flat(cx, [0x1FF], P.U8) == 255
    assert lift_flat(cx, [0x80], P.S8) == -128
    assert lift_flat(cx, [-1], P.S32) == -1        # aot returns i32 results signed
    assert lift_flat(cx, [-1], P.U32) == 2**32 - 1
    assert lift_flat(cx, [-2], P.U64) == 2**64 - 2
    assert lower_flat(cx, -1, P.S32) == [0xFFFFFFFF]
    assert lower_flat(cx, -1, P.S64) == [2**64 - 1]


def test_any_nonzero_bool_is_true():
    cx = make_cx()
    assert lift_flat(cx, [2], P.BOOL) is True
    assert lift_flat(cx, [0], P.BOOL) is False
    mem(cx).buf[0] = 0x80
    assert load(cx, 0, P.BOOL) is True


# --- variants, options, results, enums, flags --------------------------------------------

def test_invalid_discriminants_trap():
    cx = make_cx()
    mem(cx).buf[0] = 3
    with pytest.raises(Trap, match="invalid discriminant 3 for an enum of 3 cases"):
        load(cx, 0, COLOR)
    with pytest.raises(Trap, match="invalid discriminant 2 for an option"):
        lift_flat(cx, [2, 0], T.Option(P.U8))
    with pytest.raises(Trap, match="invalid discriminant"):
        lift_flat(cx, [4, 0, 0], SHAPE)
    mem(cx).buf[8:10] = struct.pack("<H", 300)
    with pytest.raises(Trap, match="invalid discriminant 300"):
        load(cx, 8, T.Variant(tuple((f"c{i}", P.U8) for i in range(300))))


def test_variant_payloads_travel_in_joined_core_types():
    cx = make_cx()
    bits_1_5 = struct.unpack("<I", struct.pack("<f", 1.5))[0]
    assert lower_flat(cx, Variant("circle", 1.5), SHAPE) == [1, bits_1_5, 0]
    assert lower_flat(cx, Variant("square", 7), SHAPE) == [2, 7, 0]
    assert lower_flat(cx, Variant("none"), SHAPE) == [0, 0, 0]
    v = T.Variant((("f", P.F64), ("g", P.F32)))
    bits = struct.unpack("<Q", struct.pack("<d", -2.5))[0]
    assert lower_flat(cx, Variant("f", -2.5), v) == [0, bits]
    assert lift_flat(cx, [0, bits], v) == Variant("f", -2.5)
    assert lift_flat(cx, [1, bits_1_5], v) == Variant("g", 1.5)
    # an i32 payload in an i64 slot: the high bits are dropped
    w = T.Variant((("a", P.U32), ("b", P.U64)))
    assert lift_flat(cx, [0, 0x1_0000_0005], w) == Variant("a", 5)
    # unused float slots are padded with 0.0
    o = T.Option(P.F64)
    assert lower_flat(cx, None, o) == [0, 0.0]


def test_bad_host_variants():
    cx = make_cx()
    with pytest.raises(ValueError, match="unknown case 'oval' of variant"):
        lower_flat(cx, Variant("oval"), SHAPE)
    with pytest.raises(TypeError, match="expected a Variant"):
        lower_flat(cx, ("circle", 1.0), SHAPE)
    with pytest.raises(ValueError, match="case 'none' of variant has no payload, got 3"):
        lower_flat(cx, Variant("none", 3), SHAPE)
    with pytest.raises(ValueError, match="unknown case 'pink' of enum"):
        lower_flat(cx, "pink", COLOR)
    with pytest.raises(TypeError, match="expected Ok\\(...\\) or Err\\(...\\)"):
        store(cx, 1, T.Result(P.U8, None), 0)
    with pytest.raises(ValueError, match="Err of result has no payload"):
        lower_flat(cx, Err("x"), T.Result(P.U8, None))


def test_flags_bits():
    cx = make_cx()
    assert lower_flat(cx, {"f0", "f32"}, flags(33)) == [1, 1]
    assert lower_flat(cx, {"f63"}, flags(64)) == [0, 0x80000000]
    assert lower_flat(cx, set(), flags(1)) == [0]
    store(cx, {"f0", "f33"}, flags(40), 0x10)
    assert mem(cx).buf[0x10:0x18] == bytes([1, 0, 0, 0, 2, 0, 0, 0])
    # bits past the last flag are ignored
    assert lift_flat(cx, [0xFFFFFFFF], flags(3)) == {"f0", "f1", "f2"}
    mem(cx).buf[0x20] = 0xFF
    assert load(cx, 0x20, flags(2)) == {"f0", "f1"}


def test_bad_host_flags():
    cx = make_cx()
    with pytest.raises(ValueError, match="unknown flag 'f9'"):
        lower_flat(cx, {"f9"}, flags(3))
    with pytest.raises(TypeError, match="set of flag names"):
        lower_flat(cx, "f0", flags(3))
    with pytest.raises(CompileError):
        lower_flat(cx, set(), flags(0))


# --- lists ---------------------------------------------------------------------------------

def test_wasm_list_is_lazy():
    cx = make_cx()
    ptr, n = lower_flat(cx, list(range(1000)), T.List(P.U32))
    reads = mem(cx).reads
    wl = lift_flat(cx, [ptr, n], T.List(P.U32))
    assert isinstance(wl, WasmList) and len(wl) == 1000
    assert mem(cx).reads == reads  # nothing read yet
    assert wl[500] == 500
    assert mem(cx).reads == reads + 1  # one element, one read
    assert wl[-1] == 999
    assert wl[2:5] == [2, 3, 4] and type(wl[2:5]) is list
    assert wl[::400] == [0, 400, 800]
    with pytest.raises(IndexError):
        wl[1000]
    reads = mem(cx).reads
    it = iter(wl)
    assert (next(it), next(it)) == (0, 1)
    assert mem(cx).reads == reads + 2  # iteration lifts one by one
    assert list(wl) == list(range(1000)) and wl == list(range(1000))


def test_wasm_list_of_records_and_invalid_elements():
    cx = make_cx()
    flat = lower_flat(cx, [{"x": i, "y": -i} for i in range(5)], T.List(POINT))
    wl = lift_flat(cx, flat, T.List(POINT))
    assert wl[3] == {"x": 3, "y": -3}
    # an invalid element traps when it is read, not before
    ptr, n = lower_flat(cx, ["a", "b", "c"], T.List(P.CHAR))
    mem(cx).buf[ptr + 4:ptr + 8] = struct.pack("<I", 0xD800)
    chars = lift_flat(cx, [ptr, n], T.List(P.CHAR))
    assert chars[0] == "a"
    with pytest.raises(Trap, match="invalid char"):
        chars[1]


def test_list_ranges_are_checked():
    cx = make_cx()
    with pytest.raises(Trap, match="misaligned pointer"):
        lift_flat(cx, [2, 1], T.List(P.U32))
    with pytest.raises(Trap, match="out of bounds"):
        lift_flat(cx, [0, 1 << 15], T.List(P.U32))
    with pytest.raises(Trap, match="longer than the maximum"):
        lift_flat(cx, [0, 1 << 28], T.List(P.U32))
    with pytest.raises(Trap, match="out of bounds"):
        lift_flat(cx, [0xFFFFFFF0, 0x20], T.List(P.U8))
    with pytest.raises(Trap, match="out of bounds"):  # even an empty list's pointer
        lift_flat(cx, [0xFFFFFFF0, 0], T.List(P.U32))
    assert lift_flat(cx, [mem(cx).data_len, 0], T.List(P.U32)) == []


def test_bad_host_lists():
    cx = make_cx()
    with pytest.raises(TypeError, match="expected a sequence for list, got str"):
        lower_flat(cx, "abc", T.List(P.CHAR))
    with pytest.raises(TypeError, match="expected a sequence for list, got set"):
        lower_flat(cx, {1}, T.List(P.U8))
    with pytest.raises(ValueError, match="element 2 of list: expected an int in 0..255"):
        lower_flat(cx, [1, 2, 256], T.List(P.U8))


def test_empty_values_still_call_realloc_as_the_spec_does():
    cx = make_cx()
    lower_flat(cx, "", STRING)
    lower_flat(cx, [], T.List(POINT))
    lower_flat(cx, b"", T.List(P.U8))
    assert cx.opts.realloc.calls == [(0, 0, 1, 0), (0, 0, 4, 0), (0, 0, 1, 0)]


# --- memory and realloc checks -------------------------------------------------------------

def test_load_and_store_check_the_pointer():
    cx = make_cx()
    with pytest.raises(Trap, match="misaligned pointer"):
        load(cx, 2, P.U32)
    with pytest.raises(Trap, match="out of bounds"):
        load(cx, mem(cx).data_len, P.U32)
    with pytest.raises(Trap, match="out of bounds"):  # starts inside, ends outside
        load(cx, mem(cx).data_len - 4, POINT)
    with pytest.raises(Trap, match="misaligned pointer"):
        store(cx, 1, P.U64, 4)
    with pytest.raises(Trap, match="out of bounds"):
        store(cx, "x", STRING, mem(cx).data_len)


def test_realloc_results_are_checked():
    memory = Memory()
    cx = LiftLowerContext(LiftLowerOptions(memory, "utf16", lambda *a: 0x101))
    with pytest.raises(Trap, match="misaligned pointer"):
        lower_flat(cx, "ab", STRING)
    cx = LiftLowerContext(LiftLowerOptions(memory, "utf8", lambda *a: memory.data_len - 1))
    with pytest.raises(Trap, match="out of bounds"):
        lower_flat(cx, "ab", STRING)
    # a signed i32 result is the unsigned pointer: here past the end of the memory
    cx = LiftLowerContext(LiftLowerOptions(memory, "utf8", lambda *a: -4))
    with pytest.raises(Trap, match="out of bounds"):
        lower_flat(cx, "ab", STRING)


def test_missing_options():
    memory = Memory()
    with pytest.raises(CompileError, match="realloc"):
        lower_flat(LiftLowerContext(LiftLowerOptions(memory)), "x", STRING)
    with pytest.raises(CompileError, match="memory"):
        lift_flat(LiftLowerContext(LiftLowerOptions()), [0, 0], STRING)
    with pytest.raises(ValueError, match="string_encoding"):
        LiftLowerOptions(memory, "utf32")
    assert lower_flat(LiftLowerContext(LiftLowerOptions()), 5, P.U8) == [5]  # no memory needed


def test_64_bit_memory():
    cx = make_cx("latin1+utf16", ptr_type="i64")
    ptr, units = lower_flat(cx, "Ω", STRING)
    assert units == 1 | 1 << 63
    assert lift_flat(cx, [ptr, units], STRING) == "Ω"
    assert via_memory(cx, T.List(STRING), ["a", "Ω"]) == ["a", "Ω"]


# --- resources -----------------------------------------------------------------------------

FILE = T.ResourceType("file")
OTHER = T.ResourceType("other")


class Dtor:
    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, rep: int) -> None:
        self.calls.append(rep)


def test_own_handles_move():
    dtor, inst = Dtor(), InstanceState()
    cx = make_cx(inst=inst)
    r = Resource(FILE, 42, dtor=dtor)
    [i] = lower_flat(cx, r, T.Own(FILE))  # host -> guest: the guest owns it now
    assert r.state == "moved" and inst.resource_rep(FILE, i) == 42
    with pytest.raises(ValueError, match="moved"):
        lower_flat(cx, r, T.Own(FILE))
    with pytest.raises(ValueError, match="already moved"):
        r.drop()
    back = lift_flat(cx, [i], T.Own(FILE))  # guest -> host: moved out of the table
    assert (back.rep, back.own, len(inst.handles)) == (42, True, 0)
    with pytest.raises(Trap, match=f"unknown handle index {i}"):
        inst.resource_rep(FILE, i)
    back.drop()
    with pytest.raises(ValueError, match="already dropped"):
        back.drop()
    assert dtor.calls == [42]  # exactly once


def test_guest_drop_runs_the_destructor_once_and_the_handle_is_gone():
    dtor = Dtor()
    inst = InstanceState(destructors={FILE: dtor})
    i = inst.resource_new(FILE, 7)
    j = inst.resource_new(FILE, 8)
    assert (i, j) == (1, 2)
    inst.resource_drop(FILE, i)
    assert dtor.calls == [7]
    with pytest.raises(Trap, match="unknown handle index 1"):
        inst.resource_drop(FILE, i)
    with pytest.raises(Trap, match="unknown handle index 1"):
        lift_flat(make_cx(inst=inst), [i], T.Own(FILE))
    assert dtor.calls == [7]
    assert inst.resource_new(FILE, 9) == 1  # the freed slot is reused
    # a resource the guest created, owned by the host, then dropped by it
    r = lift_flat(make_cx(inst=inst), [j], T.Own(FILE))
    r.drop()
    assert dtor.calls == [7, 8]


def test_borrow_lent_to_a_call_must_be_returned():
    dtor, inst, task = Dtor(), InstanceState(), Task()
    cx = make_cx(inst=inst, scope=task)
    r = Resource(FILE, 5, dtor=dtor)
    [i] = lower_flat(cx, r, T.Borrow(FILE))
    assert inst.resource_rep(FILE, i) == 5 and r.state == "live"
    with pytest.raises(ValueError, match="lent"):
        r.drop()
    with pytest.raises(ValueError, match="lent"):
        lower_flat(cx, r, T.Own(FILE))
    inst.resource_drop(FILE, i)  # the callee drops its borrow: no destructor
    task.finish()
    assert dtor.calls == []
    r.drop()
    assert dtor.calls == [5]


def test_a_borrow_kept_past_the_call_traps():
    inst, task = InstanceState(), Task()
    lower_flat(make_cx(inst=inst, scope=task), Resource(FILE, 5), T.Borrow(FILE))
    with pytest.raises(Trap, match="borrow handles still remain"):
        task.finish()


def test_borrow_into_the_defining_instance_is_the_representation():
    inst = InstanceState(implements={FILE})
    assert lower_flat(make_cx(inst=inst, scope=Task()), Resource(FILE, 77),
                      T.Borrow(FILE)) == [77]
    assert len(inst.handles) == 0


def test_borrow_lifted_from_a_call_keeps_the_handle_until_the_call_ends():
    dtor = Dtor()
    inst, sub = InstanceState(destructors={FILE: dtor}), Subtask()
    i = inst.resource_new(FILE, 3)
    cx = make_cx(inst=inst, scope=sub)
    b = lift_flat(cx, [i], T.Borrow(FILE))
    assert (b.rep, b.own) == (3, False)
    with pytest.raises(ValueError, match="borrowed resource cannot be dropped"):
        b.drop()
    with pytest.raises(ValueError, match="borrowed resource cannot be passed as an own"):
        lower_flat(cx, b, T.Own(FILE))
    with pytest.raises(Trap, match="lent"):
        inst.resource_drop(FILE, i)
    with pytest.raises(Trap, match="lent"):
        lift_flat(make_cx(inst=inst), [i], T.Own(FILE))
    sub.finish()
    assert b.state == "expired"
    with pytest.raises(ValueError, match="expired"):
        lower_flat(make_cx(inst=inst, scope=Task()), b, T.Borrow(FILE))
    inst.resource_drop(FILE, i)
    assert dtor.calls == [3]


def test_handle_misuse_traps():
    inst = InstanceState()
    cx = make_cx(inst=inst, scope=Subtask())
    i = inst.resource_new(FILE, 1)
    with pytest.raises(Trap, match="handle index 1 is a resource 'file', expected a "
                                   "resource 'other'"):
        lift_flat(cx, [i], T.Own(OTHER))
    b = lower_flat(make_cx(inst=inst, scope=Task()), Resource(FILE, 2), T.Borrow(FILE))[0]
    with pytest.raises(Trap, match="is a borrow, expected an own"):
        lift_flat(cx, [b], T.Own(FILE))
    with pytest.raises(Trap, match="unknown handle index 0"):
        lift_flat(cx, [0], T.Borrow(FILE))
    with pytest.raises(Trap, match="unknown handle index 99"):
        lift_flat(cx, [99], T.Own(FILE))


def test_bad_host_resources():
    cx = make_cx(inst=InstanceState(), scope=Task())
    with pytest.raises(TypeError, match="expected a Resource of resource 'file', got 3"):
        lower_flat(cx, 3, T.Own(FILE))
    with pytest.raises(ValueError, match="expected a resource 'file', got a resource 'other'"):
        lower_flat(cx, Resource(OTHER, 1), T.Borrow(FILE))
    with pytest.raises(ValueError, match="representation"):
        Resource(FILE, -1)
    with pytest.raises(ValueError, match="handle table"):
        lower_flat(make_cx(), Resource(FILE, 1), T.Own(FILE))


def test_lists_of_handles_are_lifted_eagerly():
    dtor = Dtor()
    inst = InstanceState(destructors={FILE: dtor})
    handles = [inst.resource_new(FILE, rep) for rep in (10, 11, 12)]
    cx = make_cx(inst=inst)
    ptr, n = lower_flat(cx, handles, T.List(P.U32))  # the guest's list of own handles
    owned = lift_flat(cx, [ptr, n], T.List(T.Own(FILE)))
    assert len(inst.handles) == 0  # all moved at once, not when indexed
    assert [r.rep for r in owned] == [10, 11, 12] and [r.rep for r in owned] == [10, 11, 12]
    for r in owned:
        r.drop()
    assert dtor.calls == [10, 11, 12]


def test_handles_round_trip_in_records_through_memory():
    inst = InstanceState()
    cx = make_cx(inst=inst, scope=Task())
    t = rec(f=T.Own(FILE), n=P.U8)
    store(cx, {"f": Resource(FILE, 9), "n": 1}, t, 0x40)
    lifted = load(cx, 0x40, t)
    assert (lifted["f"].rep, lifted["n"], len(inst.handles)) == (9, 1, 0)


# --- agreement with wasmtime-py ------------------------------------------------------------
# Components whose core functions hand wasmtime bytes we laid out (it lifts them), or dump
# what wasmtime lowered into them (we compare with our lowering, heap included: the same
# bump realloc in both means the same realloc calls).

WASMTIME_CASES = [(t, v) for t, v in ROUND_TRIPS
                  if not (isinstance(t, T.Flags) and len(t.names) > 32)]  # wasmtime: <= 32


def _wat_types(t) -> tuple[str, str]:
    """Component type definitions for `t` (nominal types exported, as exported functions'
    types must be) and the reference to it."""
    defs: list[str] = []

    def ref(t) -> str:
        if isinstance(t, T.Prim):
            return t.value
        if isinstance(t, T.List):
            body = f"(list {ref(t.elem)})"
        elif isinstance(t, T.Record):
            body = "(record " + " ".join(f'(field "{n}" {ref(f)})' for n, f in t.fields) + ")"
        elif isinstance(t, T.Tuple):
            body = "(tuple " + " ".join(ref(f) for f in t.types) + ")"
        elif isinstance(t, T.Variant):
            body = "(variant " + " ".join(f'(case "{n}"' + (f" {ref(c)})" if c else ")")
                                          for n, c in t.cases) + ")"
        elif isinstance(t, T.Option):
            body = f"(option {ref(t.type)})"
        elif isinstance(t, T.Result):
            body = ("(result" + (f" {ref(t.ok)}" if t.ok else "")
                    + (f" (error {ref(t.err)})" if t.err else "") + ")")
        else:
            kind = "enum" if isinstance(t, T.Enum_) else "flags"
            body = f"({kind} " + " ".join(f'"{n}"' for n in t.names) + ")"
        k = len(defs)
        defs.append(f"(type $d{k} {body})")
        if isinstance(t, (T.Record, T.Variant, T.Enum_, T.Flags)):
            defs.append(f'(export $e{k} "t{k}" (type $d{k}))')
            return f"$e{k}"
        return f"$d{k}"

    r = ref(t)
    return "\n".join(defs), r


def _wasmtime_classes(t) -> set:
    """The Python classes wasmtime-py uses for `t` (it tags a variant's value with
    wasmtime.component.Variant only when the classes of two cases overlap)."""
    from wasmtime import component as wc
    if t is None:
        return {object}
    if isinstance(t, T.Prim):
        return {{"bool": bool, "f32": float, "f64": float, "char": str,
                 "string": str}.get(t.value, int)}
    simple = {T.List: bytes if getattr(t, "elem", None) is P.U8 else list,
              T.Record: wc.Record, T.Tuple: tuple, T.Flags: set, T.Enum_: str}
    if type(t) in simple:
        return {simple[type(t)]}
    if _wasmtime_tagged(t):
        return {wc.Variant}
    return set().union(*(_wasmtime_classes(c) for c in case_types(t)))


def _wasmtime_tagged(t) -> bool:
    seen: set = set()
    for c in case_types(t):
        classes = _wasmtime_classes(c)
        if classes & seen:
            return True
        seen |= classes
    return False


def _case_names(t) -> list[str]:
    if isinstance(t, T.Variant):
        return [n for n, _c in t.cases]
    return ["none", "some"] if isinstance(t, T.Option) else ["ok", "err"]


def _from_wasmtime(t, v):
    if isinstance(t, (T.Prim, T.Enum_)):
        return v
    if isinstance(t, T.List):
        return v if t.elem is P.U8 else [_from_wasmtime(t.elem, e) for e in v]
    if isinstance(t, T.Record):
        return {n: _from_wasmtime(f, getattr(v, n)) for n, f in t.fields}
    if isinstance(t, T.Tuple):
        return tuple(_from_wasmtime(f, e) for f, e in zip(t.types, v))
    if isinstance(t, T.Flags):
        return frozenset(v)
    cases = case_types(t)
    if _wasmtime_tagged(t):
        i, payload = _case_names(t).index(v.tag), v.payload
    else:
        i = next(k for k, c in enumerate(cases)
                 if isinstance(v, tuple(_wasmtime_classes(c))) and (c is not None or v is None))
        payload = v
    p = None if cases[i] is None else _from_wasmtime(cases[i], payload)
    if isinstance(t, T.Variant):
        return Variant(_case_names(t)[i], p)
    if isinstance(t, T.Option):
        return None if i == 0 else Some(p) if isinstance(t.type, T.Option) else p
    return (Ok, Err)[i](p)


def _to_wasmtime(t, v):
    from wasmtime import component as wc
    if isinstance(t, (T.Prim, T.Enum_)):
        return v
    if isinstance(t, T.List):
        return bytes(v) if t.elem is P.U8 else [_to_wasmtime(t.elem, e) for e in v]
    if isinstance(t, T.Record):
        r = wc.Record()
        for n, f in t.fields:
            setattr(r, n, _to_wasmtime(f, v[n]))
        return r
    if isinstance(t, T.Tuple):
        return tuple(_to_wasmtime(f, e) for f, e in zip(t.types, v))
    if isinstance(t, T.Flags):
        return set(v)
    if isinstance(t, T.Variant):
        i, p = _case_names(t).index(v.case), v.value
    elif isinstance(t, T.Option):
        i, p = (0, None) if v is None else (1, v.value if isinstance(v, Some) else v)
    else:
        i, p = (0 if isinstance(v, Ok) else 1), v.value
    c = case_types(t)[i]
    p = None if c is None else _to_wasmtime(c, p)
    return wc.Variant(_case_names(t)[i], p) if _wasmtime_tagged(t) else p


def _core_const(core: str, x) -> str:
    if core == "f32":
        return f"i32.const {struct.unpack('<I', struct.pack('<f', x))[0]} f32.reinterpret_i32"
    if core == "f64":
        return f"i64.const {struct.unpack('<Q', struct.pack('<d', x))[0]} f64.reinterpret_i64"
    return f"{core}.const {x}"


def _call_component(core_module: str, t, func: str, encoding: str, *args):
    import wasmtime
    from wasmtime import component as wc
    defs, tref = _wat_types(t)
    sig = (f'(param "x" {tref}) (result $out)' if args else f"(result {tref})")
    realloc = '(realloc (core func $i "realloc"))' if args else ""
    text = f"""(component
      (core module $m {core_module})
      (core instance $i (instantiate $m))
      {defs}
      (type $out (tuple (list u8) (list u8)))
      (func (export "f") {sig}
        (canon lift (core func $i "{func}") (memory (core memory $i "mem")) {realloc}
                    string-encoding={encoding})))"""
    engine = wasmtime.Engine()
    store_ = wasmtime.Store(engine)
    f = wc.Linker(engine).instantiate(store_, wc.Component(engine, text)).get_func(store_, "f")
    result = f(store_, *args)
    f.post_return(store_)
    return result


def wasmtime_lifts(t, value, encoding: str = "utf8"):
    """What wasmtime lifts from what we lower: flat for one core value, else from the
    bytes we stored."""
    cx = make_cx(encoding)
    if len(flatten_type(t)) == 1:
        [core], [x] = flatten_type(t), lower_flat(cx, value, t)
        body = f"(result {core}) {_core_const(core, x)}"
    else:
        ptr = align_to(0x100, alignment(t))
        store(cx, value, t, ptr)
        body = f"(result i32) i32.const {ptr}"
    data = "".join(f"\\{b:02x}" for b in mem(cx).buf[:cx.opts.realloc.next])
    module = f"""(memory (export "mem") 1) (data (i32.const 0) "{data}")
                 (func (export "f") {body})"""
    return _from_wasmtime(t, _call_component(module, t, "f", encoding))


_BUMP_REALLOC = """
  (global $next (mut i32) (i32.const 0x1000))
  (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32)
                           (param $size i32) (result i32) (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $next (i32.add (local.get $p) (local.get $size)))
    (memory.copy (local.get $p) (local.get $old)
      (select (local.get $old_size) (local.get $size)
              (i32.lt_u (local.get $old_size) (local.get $size))))
    (local.get $p))"""
_CORE_FORMATS = {"i32": "<I4x", "i64": "<Q", "f32": "<f4x", "f64": "<d"}


def wasmtime_lowers(t, value, encoding: str = "utf8") -> tuple[bytes, bytes]:
    """What wasmtime lowers `value` into as a parameter: its core values (8 bytes each)
    and the heap its bump realloc handed out."""
    flat = flatten_type(t)
    if len(flat) > MAX_FLAT_PARAMS:
        flat = ["i32"]
    params = " ".join(f"(param {c})" for c in flat)
    dump = " ".join(f"(i32.const {0x8000 + 8 * i}) (local.get {i}) ({c}.store)"
                    for i, c in enumerate(flat))
    module = f"""(memory (export "mem") 1) {_BUMP_REALLOC}
      (func (export "g") {params} (result i32)
        {dump}
        (i32.store (i32.const 0x7ff0) (i32.const 0x8000))
        (i32.store (i32.const 0x7ff4) (i32.const {8 * len(flat)}))
        (i32.store (i32.const 0x7ff8) (i32.const 0x1000))
        (i32.store (i32.const 0x7ffc) (i32.sub (global.get $next) (i32.const 0x1000)))
        (i32.const 0x7ff0))"""
    return _call_component(module, t, "g", encoding, _to_wasmtime(t, value))


def ours_lowered(t, value, encoding: str = "utf8") -> tuple[bytes, bytes]:
    cx = make_cx(encoding)
    core = lower_values(cx, [value], [t], MAX_FLAT_PARAMS)
    flat = flatten_type(t) if len(core) == len(flatten_type(t)) else ["i32"]
    slots = b"".join(struct.pack(_CORE_FORMATS[c], x) for c, x in zip(flat, core))
    return slots, bytes(mem(cx).buf[0x1000:cx.opts.realloc.next])


@pytest.mark.parametrize("t, value", WASMTIME_CASES, ids=_ids(WASMTIME_CASES))
def test_wasmtime_lifts_what_we_lower(t, value):
    assert wasmtime_lifts(t, value) == value
    assert wasmtime_lifts(T.Tuple((t, STRING)), (value, "pad")) == (value, "pad")  # memory


@pytest.mark.parametrize("t, value", WASMTIME_CASES, ids=_ids(WASMTIME_CASES))
def test_we_lower_as_wasmtime_does(t, value):
    for tt, vv in ((t, value), (T.Tuple((t, STRING)), (value, "pad")),
                   (T.Tuple((t,) * 9), (value,) * 9)):  # the last spills past 16
        assert wasmtime_lowers(tt, vv) == ours_lowered(tt, vv)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("text", ["", "ascii", "café ÿ", "Ωmega ≈", "astral 😀 é", "aé€"])
def test_strings_agree_with_wasmtime(encoding, text):
    assert wasmtime_lifts(T.List(STRING), [text, "x"], encoding) == [text, "x"]
    assert (wasmtime_lowers(T.List(STRING), [text, "x", text], encoding)
            == ours_lowered(T.List(STRING), [text, "x", text], encoding))
