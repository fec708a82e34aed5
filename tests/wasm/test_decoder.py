"""The binary decoder: decoded structure, immediates, and malformed-input errors."""

from __future__ import annotations

import pytest
import wasmtime

from aot.errors import CompileError
from aot.wasm import decode
from aot.wasm.instr import Instr
from aot.wasm.opcodes import OPCODES_BY_NAME, opcode_name
from aot.wasm.types import ExternKind, FuncType, GlobalType, Limits, MemoryType, TableType, ValType

from .binary import HEADER, body, func_type, module, name, one_func, section, u32, vec

I32, I64, F32, F64, V128 = ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128
FUNCREF, EXTERNREF = ValType.FUNCREF, ValType.EXTERNREF


def wat(text: str):
    return decode(wasmtime.wat2wasm(text))


def ops(code: list[Instr]) -> list[str]:
    return [opcode_name(i.op) for i in code]


def malformed(data: bytes) -> CompileError:
    with pytest.raises(CompileError) as e:
        decode(data, multi_memory=False, memory64=False, threads=False)  # WebAssembly 2.0's encodings (test_multi_memory.py)
    return e.value


# --- structure ---------------------------------------------------------------------


def test_empty_module() -> None:
    m = decode(HEADER)
    assert m.types == [] and m.codes == [] and m.start is None and m.data_count is None


def test_module_structure() -> None:
    m = wat(
        """(module
          (type $v (func))
          (import "env" "f" (func $f (param i32 i64) (result f32)))
          (import "env" "t" (table 1 10 externref))
          (import "env" "m" (memory 1 2))
          (import "env" "g" (global (mut f64)))
          (table 3 funcref)
          (global $c i32 (i32.const -7))
          (func $main (export "main") (param i32) (result i32) (local i64 i64 f32)
            local.get 0)
          (func $s)
          (start $s)
          (export "mem" (memory 0))
        )"""
    )
    assert m.types[m.funcs[0]] == FuncType((I32,), (I32,))
    assert [(i.module, i.name, i.kind) for i in m.imports] == [
        ("env", "f", ExternKind.FUNC),
        ("env", "t", ExternKind.TABLE),
        ("env", "m", ExternKind.MEMORY),
        ("env", "g", ExternKind.GLOBAL),
    ]
    assert m.types[m.imports[0].type] == FuncType((I32, I64), (F32,))
    assert m.imports[1].type == TableType(EXTERNREF, Limits(1, 10))
    assert m.imports[2].type == MemoryType(Limits(1, 2))
    assert m.imports[3].type == GlobalType(F64, True)
    assert m.tables == [TableType(FUNCREF, Limits(3))]
    assert m.globals[0].type == GlobalType(I32, False)
    assert [(i.op, i.imm) for i in m.globals[0].init] == [(0x41, -7)]  # no final end
    assert [(e.name, e.kind, e.index) for e in m.exports] == [
        ("main", ExternKind.FUNC, 1),
        ("mem", ExternKind.MEMORY, 0),
    ]
    assert m.start == 2
    main = m.codes[0]
    assert main.locals == [I64, I64, F32]
    assert ops(main.code) == ["local.get", "end"]  # the final end is kept
    assert main.end_offset == main.code[-1].offset + 1
    assert m.names.functions == {0: "f", 1: "main", 2: "s"}
    assert m.func_name(1) == "main" and m.func_name(99) == "<wasm function 99>"
    assert ("name", m.customs[0][1]) == m.customs[0]


def test_instruction_offsets_are_module_offsets() -> None:
    data = one_func(b"\x41\x05\x1a\x0b")
    m = decode(data)
    code = m.codes[0].code
    assert [(opcode_name(i.op), i.offset) for i in code] == [
        ("i32.const", len(data) - 4),
        ("drop", len(data) - 2),
        ("end", len(data) - 1),
    ]
    assert m.codes[0].offset == len(data) - 6  # the body's size field


def test_immediates() -> None:
    m = wat(
        """(module
          (type $t (func (param i32) (result i32)))
          (memory 1) (table $t0 1 funcref) (table $t1 1 funcref)
          (elem $e func 0)
          (data $d "x")
          (func (param i32) (result i32)
            (block $b (br_table 0 1 0 (local.get 0)))
            (drop (call_indirect $t1 (type $t) (i32.const 0) (i32.const 0)))
            (drop (i64.load32_u offset=70000 align=4 (local.get 0)))
            (drop (memory.size)) (drop (memory.grow (i32.const 0)))
            (drop (i32.const -1)) (drop (i64.const -9223372036854775808))
            (drop (f32.const nan:0x200001)) (drop (f64.const -0x1p-1074))
            (drop (select (result i64) (i64.const 1) (i64.const 2) (local.get 0)))
            (drop (ref.null extern))
            (drop (i32x4.extract_lane 3 (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)))
            (drop (i8x16.shuffle 31 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 (v128.const i64x2 0 0) (v128.const i64x2 0 0)))
            (drop (v128.load16_lane offset=8 align=2 7 (i32.const 0) (v128.const i64x2 0 0)))
            (table.copy $t1 $t0 (i32.const 0) (i32.const 0) (i32.const 0))
            (table.init $t1 $e (i32.const 0) (i32.const 0) (i32.const 0))
            (elem.drop $e)
            (memory.init $d (i32.const 0) (i32.const 0) (i32.const 0))
            (data.drop $d)
            (memory.copy (i32.const 0) (i32.const 0) (i32.const 0))
            (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))
            (drop (table.size $t1))
            (local.get 0))
        )"""
    )
    imms: dict = {}
    for i in m.codes[0].code:
        imms.setdefault(opcode_name(i.op), i.imm)
    consts = [i.imm for i in m.codes[0].code if i.op == 0x41]
    assert imms["br_table"] == ((0, 1), 0)
    assert imms["call_indirect"] == (0, 1)
    assert imms["i64.load32_u"] == (2, 70000, 0)
    assert imms["memory.size"] == 0 and imms["memory.grow"] == 0
    assert -1 in consts
    assert imms["i64.const"] == -(2**63)
    assert imms["f32.const"] == 0x7FA00001
    assert imms["f64.const"] == 0x8000000000000001
    assert imms["select"] == (I64,)
    assert imms["ref.null"] == EXTERNREF
    assert imms["v128.const"] == bytes(range(16))
    assert imms["i32x4.extract_lane"] == 3
    assert imms["i8x16.shuffle"] == bytes([31, *range(15)])
    assert imms["v128.load16_lane"] == (1, 8, 0, 7)
    assert imms["table.copy"] == (1, 0)
    assert imms["table.init"] == (0, 1)
    assert imms["elem.drop"] == 0
    assert imms["memory.init"] == (0, 0)
    assert imms["data.drop"] == 0
    assert imms["memory.copy"] == (0, 0)
    assert imms["memory.fill"] == 0
    assert imms["table.size"] == 1
    assert imms["block"] == FuncType((), ())
    typed_select = next(i for i in m.codes[0].code if i.imm == (I64,))
    assert typed_select.op == 0x1C and OPCODES_BY_NAME["select"].code == 0x1B


def test_prefixed_opcode_numbers() -> None:
    m = wat(
        "(module (func (drop (i32.trunc_sat_f32_s (f32.const 0))) (drop (v128.load (i32.const 0)))) (memory 1))"
    )
    code = m.codes[0].code
    assert code[1].op == 0xFC0000 and opcode_name(code[1].op) == "i32.trunc_sat_f32_s"
    assert code[4].op == 0xFD0000 and code[4].imm == (4, 0, 0)


def test_block_types() -> None:
    m = wat(
        """(module
          (type $pair (func (param i32) (result i32 i64)))
          (func (result i32)
            (block (result i32) (i32.const 1))
            (block (type $pair) (i32.const 1) (i64.const 2) (br 0)) (drop) (drop)
            (loop) (if (then) (else))))"""
    )
    kinds = [(opcode_name(i.op), i.imm) for i in m.codes[0].code if i.op in (2, 3, 4)]
    assert kinds[0] == ("block", FuncType((), (I32,)))
    assert kinds[1] == ("block", FuncType((I32,), (I32, I64)))
    assert kinds[2] == ("loop", FuncType((), ()))
    assert ops(m.codes[0].code)[-4:] == ["if", "else", "end", "end"]


def test_elem_segments_all_encodings() -> None:
    ref_func = lambda i: b"\xd2" + u32(i) + b"\x0b"  # noqa: E731
    off = b"\x41\x02\x0b"  # i32.const 2
    segments = [
        b"\x00" + off + vec([u32(0), u32(1)]),
        b"\x01\x00" + vec([u32(1)]),
        b"\x02" + u32(1) + off + b"\x00" + vec([u32(0)]),
        b"\x03\x00" + vec([u32(0)]),
        b"\x04" + off + vec([ref_func(1), b"\xd0\x70\x0b"]),
        b"\x05\x6f" + vec([b"\xd0\x6f\x0b"]),
        b"\x06" + u32(1) + off + b"\x70" + vec([ref_func(0)]),
        b"\x07\x70" + vec([ref_func(1)]),
    ]
    data = module(
        section(1, vec([func_type()])),
        section(3, vec([b"\x00", b"\x00"])),
        section(4, vec([b"\x70\x00\x05", b"\x70\x00\x05"])),
        section(9, vec(segments)),
        section(10, vec([body(b"\x0b"), body(b"\x0b")])),
    )
    elems = decode(data).elems
    shape = [
        (e.mode, e.type, e.table, None if e.offset is None else e.offset[0].imm) for e in elems
    ]
    assert shape == [
        ("active", FUNCREF, 0, 2),
        ("passive", FUNCREF, 0, None),
        ("active", FUNCREF, 1, 2),
        ("declarative", FUNCREF, 0, None),
        ("active", FUNCREF, 0, 2),
        ("passive", EXTERNREF, 0, None),
        ("active", FUNCREF, 1, 2),
        ("declarative", FUNCREF, 0, None),
    ]
    init = [[[(opcode_name(i.op), i.imm) for i in expr] for expr in e.init] for e in elems]
    assert init[0] == [[("ref.func", 0)], [("ref.func", 1)]]
    assert init[4] == [[("ref.func", 1)], [("ref.null", FUNCREF)]]
    assert init[5] == [[("ref.null", EXTERNREF)]]


def test_data_segments_all_encodings() -> None:
    segs = [
        b"\x00\x41\x08\x0b" + vec([b"a", b"b"]),
        b"\x01" + vec([b"c"]),
        b"\x02\x00\x41\x09\x0b" + vec([b"d"]),
    ]
    data = module(section(5, vec([b"\x00\x01"])), section(12, u32(3)), section(11, vec(segs)))
    m = decode(data)
    assert m.data_count == 3
    assert [(d.mode, d.data, d.memory) for d in m.datas] == [
        ("active", b"ab", 0),
        ("passive", b"c", 0),
        ("active", b"d", 0),
    ]
    assert m.datas[0].offset[0].imm == 8
    assert data[m.datas[0].data_offset : m.datas[0].data_offset + 2] == b"ab"


def test_custom_sections_anywhere_and_lenient_name_section() -> None:
    bad_names = b"\x01\x05\x02\x00\x01f"  # function names: count 2, second truncated
    data = module(
        section(0, name("first") + b"payload"),
        section(1, vec([func_type()])),
        section(0, name("name") + b"\x00\x04\x03mod" + bad_names),
        section(3, vec([b"\x00"])),
        section(10, vec([body(b"\x0b")])),
    )
    m = decode(data)
    assert m.customs[0] == ("first", b"payload")
    assert m.names.module == "mod"
    assert m.names.functions == {}  # the malformed subsection is dropped, not fatal
    garbage = module(section(0, name("name") + b"\xff\xff\xff"))
    assert decode(garbage).names.functions == {}


def test_local_names() -> None:
    m = wat("(module (func $f (param $a i32) (local $b i64)))")
    assert m.names.locals == {0: {0: "a", 1: "b"}}


# --- malformed input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "data, message, offset",
    [
        (b"", "unexpected end", 0),
        (b"\x00as", "unexpected end", 3),
        (b"\x00asn\x01\x00\x00\x00", "magic header not detected", 0),
        (b"\x00asm\x01\x00", "unexpected end", 6),
        (b"\x00asm\x02\x00\x00\x00", "unknown binary version", 4),
        (HEADER + b"\x0d\x00", "malformed section id", 8),
        (HEADER + b"\x01\x05\x00", "length out of bounds", 9),
        (HEADER + b"\x01\x02\x00\x00", "section size mismatch", 11),
        (HEADER + b"\x05\x01\x00\x05\x01\x00", "unexpected content after last section", 11),
        (HEADER + b"\x0a\x01\x00\x03\x01\x00", "unexpected content after last section", 11),
        (HEADER + b"\x02\x04\x01\x00\x00\x04", "malformed import kind", 13),
        (HEADER + b"\x06\x04\x01\x7f\x02", "malformed mutability", 12),
        (HEADER + b"\x04\x04\x01\x7e\x00\x00", "malformed reference type", 11),
        (HEADER + b"\x05\x03\x01\x02\x00", "integer too large", 11),
        (HEADER + b"\x01\x04\x01\x60\x01\x00", "malformed value type", 13),
        (HEADER + b"\x01\x02\x01\x61", "malformed function type", 11),
        (HEADER + b"\x07\x04\x01\x00\x04\x00", "malformed export kind", 12),
        (HEADER + b"\x09\x02\x01\x08", "malformed elements segment kind", 11),
        (HEADER + b"\x0b\x02\x01\x03", "malformed data segment kind", 11),
        (HEADER + b"\x00\x02\x01\xff", "malformed UTF-8 encoding", 11),
        (HEADER + b"\x00\x01\x05", "length out of bounds", 10),
        (HEADER + b"\x0c\x01\x01", "data count and data section have inconsistent lengths", 11),
        (HEADER + b"\x03\x02\x01\x00", "function and code section have inconsistent lengths", 12),
    ],
)
def test_malformed_module(data: bytes, message: str, offset: int) -> None:
    e = malformed(data)
    assert message in e.message, e.message  # after the proposal's name, if one is refused
    assert e.offset == offset


@pytest.mark.parametrize(
    "code, message, at",
    [
        (b"\x06\x0b", "illegal opcode 06", 0),
        (b"\xfc\x12\x0b", "illegal opcode fc 18", 0),
        (b"\xfd\x9a\x01\x0b", "illegal opcode fd 154", 0),
        (b"\x05\x0b", "END opcode expected", 0),  # else outside an if
        (b"\x02\x40\x05\x0b\x0b", "END opcode expected", 2),
        (b"\x04\x40\x05\x05\x0b\x0b", "END opcode expected", 3),
        (b"\x02\x50\x0b\x0b", "malformed value type", 1),
        (b"\x02\x05\x0b\x0b", "unknown type 5", 1),
        (b"\x3f\x01\x0b", "zero byte expected", 1),
        (b"\x3f\x80\x00\x0b", "zero byte expected", 1),
        (b"\x28\x20\x00\x0b", "malformed memop flags", 1),
        (b"\x28\x40\x00\x00\x0b", "malformed memop flags", 1),  # multi-memory flag
        (b"\x41\x80\x80\x80\x80\x80\x00\x0b", "integer representation too long", 6),
        (b"\x1c\x01\x7a\x0b", "malformed value type", 2),
        (b"\xd0\x7f\x0b", "malformed reference type", 1),
        (b"\xfc\x0a\x00\x01\x0b", "zero byte expected", 3),
        (b"\xfd\x0c" + b"\x00" * 15, "unexpected end", None),
    ],
)
def test_malformed_code(code: bytes, message: str, at: int | None) -> None:
    data = one_func(code)
    start = len(data) - len(code)
    e = malformed(data)
    assert message in e.message, e.message  # after the proposal's name, if one is refused
    if at is not None:
        assert e.offset == start + at
    assert e.func_index == 0


def test_missing_end() -> None:
    e = malformed(
        module(
            section(1, vec([func_type()])),
            section(3, vec([b"\x00"])),
            section(10, b"\x01\x03\x00\x01\x01"),
        )
    )
    assert e.message == "unexpected end of section or function"


def test_body_size_mismatch() -> None:
    # Body declared 3 bytes but the instructions take 4 (the end is past the body).
    code_sec = b"\x01\x03\x00\x01\x01\x0b"
    data = module(
        section(1, vec([func_type()])),
        section(3, vec([b"\x00"])),
        b"\x0a" + u32(len(code_sec) - 1) + code_sec,
    )
    assert malformed(data).message == "section size mismatch"


def test_too_many_locals() -> None:
    e = malformed(one_func(b"\x0b", locals_=b"\x02\xff\xff\x03\x7f\x01\x7e"))
    assert e.message == "too many locals"
    # 2**32 or more is malformed in the spec; each count alone is a valid u32.
    e = malformed(one_func(b"\x0b", locals_=b"\x02\xff\xff\xff\xff\x0f\x7f\x02\x7e"))
    assert e.message == "too many locals"


def test_data_count_required() -> None:
    data = module(
        section(1, vec([func_type()])),
        section(3, vec([b"\x00"])),
        section(5, vec([b"\x00\x01"])),
        section(10, vec([body(b"\xfc\x09\x00\x0b")])),
        section(11, vec([b"\x01\x00"])),
    )
    assert malformed(data).message == "data count section required"


def test_custom_section_name_past_its_end() -> None:
    assert malformed(HEADER + b"\x00\x01\x05abcde").message.startswith("unexpected end")


def test_custom_section_payload_past_the_end() -> None:
    # Size 5 is within "everything left counting the size byte", but the payload isn't.
    assert malformed(HEADER + b"\x00\x05\x01abc").message.startswith("unexpected end")
