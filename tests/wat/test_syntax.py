"""The text format, construct by construct: each abbreviation, literal syntax and
proposal's syntax, checked against wasmtime's wat2wasm (the oracle, byte for byte) and,
where the point is what the binary holds, against aot's own decoder."""

from __future__ import annotations

import struct

import pytest
import wasmtime

from aot.wasm import decode, parse
from aot.wasm.types import ValType
from aot.wat import wat2wasm
from aot.wat.instructions import IMMEDIATES, INSTRUCTIONS


def same(text: str) -> bytes:
    """aot's binary for `text`, asserted equal to wasmtime's."""
    ours = wat2wasm(text)
    assert ours.hex() == wasmtime.wat2wasm(text).hex()
    return ours


def code_section(text: str) -> bytes:
    """The code section's payload in the binary of `text` (found by walking the section
    headers, so that modules aot's decoder refuses can be looked into too)."""
    data = same(text)
    pos = 8
    while pos < len(data):
        sid, size, pos = data[pos], 0, pos + 1
        shift = 0
        while True:
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        if sid == 10:
            return data[pos:pos + size]
        pos += size
    raise AssertionError("no code section")


ABBREVIATIONS = {
    "inline exports": '(module (func (export "a") (export "b")) (table (export "t") 1 funcref)'
                      ' (memory (export "m") 1) (global (export "g") i32 (i32.const 0)))',
    "inline imports": '(module (func $f (import "m" "f") (param i32) (result i32))'
                      ' (table (import "m" "t") 1 2 funcref) (memory (import "m" "m") 1)'
                      ' (global (import "m" "g") (mut f64)) (func (export "x") (import "m" "y")))',
    "export then import": '(module (func (export "e") (import "m" "f")) (func))',
    "inline data": '(module (memory (data "abc" "def")))',
    "inline elem": '(module (table funcref (elem $f $g)) (func $f) (func $g))',
    "inline elem exprs": '(module (table externref (elem (ref.null extern) (item ref.null extern))))',
    "type use, params named": '(module (type $t (func (param i32) (result i32)))'
                              ' (func (type $t) (param $x i32) (result i32) (local.get $x)))',
    "type use by index only": '(module (type (func (param i32))) (func (type 0) (local $y i32)))',
    "implicit types": '(module (func (param i32)) (func (result f32) (f32.const 0))'
                      ' (func (param i32)) (type (func (param i32))))',
    "multi-value blocks": '(module (func (result i32 i64) (block (result i32 i64)'
                          ' (i32.const 1) (i64.const 2))) (func (i32.const 1)'
                          ' (loop (param i32) (result i32)) drop))',
    "folded if": '(module (func (param i32) (result i32) (if (result i32) (local.get 0)'
                 ' (then (i32.const 1)) (else (i32.const 2)))))',
    "flat if with labels": '(module (func (param i32) local.get 0 if $a nop else $a nop end $a'
                           ' block $b br $b end $b loop $c end))',
    "labels by name and depth": '(module (func (block $outer (block $inner (br $outer)'
                                ' (br_if $inner (i32.const 1)) (br 1)))))',
    "br_table": '(module (func (param i32) (block $a (block $b (br_table $a $b 0 1 $a'
                ' (local.get 0))))))',
    "offset abbreviations": '(module (memory 1) (data (i32.const 1) "a")'
                            ' (data (offset (i32.const 2)) "b") (data (memory 0) (i32.const 3))'
                            ' (table 2 funcref) (elem (i32.const 0) $f) (elem (offset i32.const 1) func $f)'
                            ' (func $f))',
    "elem forms": '(module (table $t 2 funcref) (func $f)'
                  ' (elem (table $t) (i32.const 0) func $f) (elem (i32.const 0) funcref (ref.func $f))'
                  ' (elem funcref (ref.null func) (item ref.func $f)) (elem declare func $f)'
                  ' (elem $e func) (elem (table $t) (i32.const 1) funcref (ref.func 0))'
                  ' (func (elem.drop $e)))',
    "data forms": '(module (memory $m 1) (data $d "x") (data (memory $m) (offset (i32.const 0)) "y")'
                  ' (func (memory.init $d (i32.const 0) (i32.const 0) (i32.const 0)) (data.drop $d)))',
    "named indices": '(module (type $t (func)) (table $tab 1 funcref) (memory $mem 1)'
                     ' (global $g (mut i32) (i32.const 0)) (elem $e func $f)'
                     ' (func $f (type $t) (local $l i32) (call $f) (local.set $l (global.get $g))'
                     ' (call_indirect $tab (type $t) (i32.const 0)) (table.init $tab $e'
                     ' (i32.const 0) (i32.const 0) (i32.const 0)) (drop (memory.size $mem))'
                     ' (global.set $g (i32.const 1))) (start $f) (export "f" (func $f)))',
    "module name and names": '(module $m (func $f (param $p i32) (local $l i64) (block $b))'
                             ' (global $g i32 (i32.const 0)) (memory $mem 1) (table $t 1 funcref)'
                             ' (data $d "") (elem $e func) (type $ty (func (param $tp i32))))',
    "memarg": '(module (memory 1) (func (drop (i32.load offset=0x10 align=0x2 (i32.const 0)))'
              ' (i64.store8 offset=1_000 (i32.const 0) (i64.const 0))'
              ' (drop (f64.load align=8 (i32.const 0)))))',
    "typed select and references": '(module (func (param externref) (result externref)'
                                   ' (select (result externref) (local.get 0)'
                                   ' (ref.null extern) (i32.const 1))) (func $f (result i32)'
                                   ' (ref.is_null (ref.func $f))) (elem declare func $f))',
    "bulk memory and tables": '(module (memory 1) (table 1 funcref) (table $u 1 funcref)'
                              ' (elem funcref) (func (memory.copy (i32.const 0) (i32.const 0)'
                              ' (i32.const 0)) (memory.fill (i32.const 0) (i32.const 0)'
                              ' (i32.const 0)) (table.copy (i32.const 0) (i32.const 0) (i32.const 0))'
                              ' (table.copy $u 0 (i32.const 0) (i32.const 0) (i32.const 0))'
                              ' (table.init 0 (i32.const 0) (i32.const 0) (i32.const 0))'
                              ' (drop (table.grow (ref.null func) (i32.const 1)))))',
    "start": '(module (func $s) (start $s))',
    "string ids": '(module $"my module" (func $"a b" (param $"x" i32) (call $"a b"'
                  ' (local.get $"x"))))',
    "import param names": '(module (import "m" "f" (func $f (param $a i32) (param i64)))'
                          ' (func $g (import "m" "g") (param $b f32)))',
    "bare fields": '(func (export "f")) (memory 1)',
    "comments": '(module ;; line\n (; block (; nested ;) ;) (func (;inside;) nop ;; x\n))',
    "custom sections": '(module (@custom "a" "x") (@custom "b" (before first) "y")'
                       ' (@custom "c" (after func) "z") (func) (@other annotation "ignored"))',
    "SIMD": '(module (memory 1) (func (param v128) (result v128)'
            ' (drop (v128.load8_lane 1 (i32.const 0) (local.get 0)))'
            ' (v128.store64_lane offset=8 align=8 1 (i32.const 0) (local.get 0))'
            ' (drop (i8x16.extract_lane_u 15 (local.get 0)))'
            ' (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31 (local.get 0)'
            ' (v128.const i16x8 -1 0 1 2 3 4 5 0xffff))))',
}


@pytest.mark.parametrize("text", ABBREVIATIONS.values(), ids=ABBREVIATIONS.keys())
def test_abbreviations_match_wasmtime(text: str) -> None:
    same(text)


def test_inline_data_sizes_the_memory_in_pages() -> None:
    module = decode(same(f'(module (memory (data "{"x" * 65537}")))'))
    limits = module.memories[0].limits
    assert (limits.min, limits.max) == (2, 2)
    assert module.datas[0].mode == "active" and len(module.datas[0].data) == 65537


def test_inline_elem_sizes_the_table() -> None:
    module = decode(same("(module (table funcref (elem $f $f $f)) (func $f))"))
    assert (module.tables[0].limits.min, module.tables[0].limits.max) == (3, 3)
    assert len(module.elems[0].init) == 3


def test_implicit_types_reuse_explicit_ones_and_append_in_order() -> None:
    module = decode(same("(module (func (param i64)) (func (param i32)) (func (param i64))"
                         " (type $later (func (param i32))))"))
    assert [t.params for t in module.types] == [(ValType.I32,), (ValType.I64,)]
    assert module.funcs == [1, 0, 1]


def test_named_locals_and_params_resolve() -> None:
    text = ("(module (func (param $a i32) (param i64) (local $b f32) (local f64 $c i32)"
            " (local.set $b (f32.const 1)) (drop (local.get $a))))")
    with pytest.raises(Exception, match="unexpected token"):
        wat2wasm(text)  # one name per (local $name type)
    code = code_section("(module (func (param $a i32) (param i64) (local $b f32) (local f64)"
                " (local $c i32) (local.set $c (local.get $a)) (local.set $b (f32.const 1))))")
    assert bytes([0x20, 0x00, 0x21, 0x04]) in code and bytes([0x21, 0x02]) in code


@pytest.mark.parametrize(
    "literal, bits",
    [
        ("0", 0), ("-1", 0xFFFFFFFF), ("4294967295", 0xFFFFFFFF), ("0x7fff_ffff", 0x7FFFFFFF),
        ("-0x8000_0000", 0x80000000), ("+42", 42), ("1_000_000", 1000000),
    ],
)
def test_i32_literals(literal: str, bits: int) -> None:
    module = parse(same(f"(module (global i32 (i32.const {literal})))"))
    assert module.globals[0].init[0].imm & 0xFFFFFFFF == bits


@pytest.mark.parametrize(
    "literal, bits",
    [
        ("0x1p-149", 0x00000001),  # the smallest subnormal
        ("0x1p-150", 0x00000000),  # the tie rounds to even: zero
        ("0x1.000001p0", 0x3F800000),  # a tie below f32's precision rounds to even
        ("0x1.000003p0", 0x3F800002),
        ("1.00000017881393432617187499", 0x3F800001),  # just under the tie: down
        ("1.000000178813934326171875", 0x3F800002),  # the exact tie: to even
        ("3.4028235e38", 0x7F7FFFFF), ("0x1.fffffefffffffffffp127", 0x7F7FFFFF),
        ("-0", 0x80000000), ("inf", 0x7F800000), ("-inf", 0xFF800000),
        ("nan", 0x7FC00000), ("-nan", 0xFFC00000), ("nan:0x1", 0x7F800001),
        ("+nan:0x7f_ffff", 0x7FFFFFFF), ("1_0.5e-1_0", struct.unpack("<I", struct.pack("<f", 10.5e-10))[0]),
        ("0x1.8", 0x3FC00000), ("1.", 0x3F800000), ("1e1", 0x41200000),
    ],
)
def test_f32_literals_round_once(literal: str, bits: int) -> None:
    module = parse(same(f"(module (global f32 (f32.const {literal})))"))
    assert module.globals[0].init[0].imm == bits


@pytest.mark.parametrize(
    "literal",
    ["0x1p-1074", "0x1p-1075", "4.9406564584124654e-324", "1.7976931348623157e308",
     "0x1.fffffffffffff7ffp1023", "-0x0.0p0", "nan:0xf_ffff_ffff_ffff", "123456789e-30"],
)
def test_f64_literals(literal: str) -> None:
    same(f"(module (global f64 (f64.const {literal})))")


@pytest.mark.parametrize(
    "shape, lanes",
    [
        ("i8x16", "-128 255 0 1 2 3 4 5 6 7 8 9 10 11 12 0x7f"),
        ("i16x8", "-32768 65535 0 1 2 3 4 0x0_1"),
        ("i32x4", "-2147483648 4294967295 0 1"),
        ("i64x2", "-9223372036854775808 18446744073709551615"),
        ("f32x4", "nan -nan:0x1 inf 0x1.fffffep127"),
        ("f64x2", "-0 1e308"),
    ],
)
def test_v128_const_shapes(shape: str, lanes: str) -> None:
    same(f"(module (global v128 (v128.const {shape} {lanes})))")


def test_strings_escapes_and_concatenation() -> None:
    module = decode(same(r'(module (memory 1) (data (i32.const 0) "\t\n\r\"\'\\" "\00\ff"'
                         r' "\u{41}\u{1F600}\u{10_FFFF}" "ü"))'))
    assert module.datas[0].data == (b"\t\n\r\"'\\" + b"\x00\xff" + "A\U0001F600\U0010FFFF".encode()
                                    + "ü".encode())


def test_export_names_are_utf8() -> None:
    module = decode(same('(module (func (export "\\u{1F600}x")))'))
    assert module.exports[0].name == "\U0001F600x"


def test_module_binary_and_quote() -> None:
    assert wat2wasm('(module $m binary "\\00asm" "\\01\\00\\00\\00")') == b"\0asm\x01\0\0\0"
    quoted = wat2wasm('(module quote "(func (export \\"f\\"))" "(memory 1)")')
    assert quoted == same('(module (func (export "f")) (memory 1))')


def test_text_as_bytes() -> None:
    assert wat2wasm(b"(module (func))") == same("(module (func))")


def test_a_megabyte_parses_in_linear_time() -> None:
    """About 1 MB of text; a parser with quadratic steps would take minutes, not this."""
    import time

    func = ('(func (param $x i32) (result i32) (local $t i64) (block $b (loop $l (br_if $b'
            ' (i32.eqz (local.get $x))) (local.set $x (i32.sub (local.get $x) (i32.const 1)))'
            ' (local.set $t (i64.add (local.get $t) (i64.const -123456789))) (br $l)))'
            ' (f64.const 0x1.8p3) drop local.get $x)\n')
    text = "(module " + func * (1_000_000 // len(func)) + ")"
    start = time.perf_counter()
    wat2wasm(text)
    assert time.perf_counter() - start < 15


def test_deep_nesting_costs_no_recursion() -> None:
    depth = 20000
    flat = "(module (func " + "block " * depth + "end " * depth + "))"
    folded = "(module (func " + "(block " * depth + ")" * depth + "))"
    assert wat2wasm(flat) == wat2wasm(folded)
    assert code_section(flat).count(b"\x02\x40") == depth


# ---- proposals ------------------------------------------------------------------------

PROPOSALS = {
    "tail calls": '(module (type $t (func (result i32))) (table 1 funcref)'
                  ' (func $f (result i32) (return_call $f))'
                  ' (func (result i32) (return_call_indirect (type $t) (i32.const 0))))',
    "extended const": '(module (global $a i32 (i32.const 1)) (global i32 (i32.add'
                      ' (global.get $a) (i32.mul (i32.const 2) (i32.const 3))))'
                      ' (global i64 (i64.sub (i64.const 1) (i64.const 2))))',
    "multi-memory": '(module (memory $a 1) (memory $b 2) (func (param i32)'
                    ' (i32.store $b offset=4 (local.get 0) (i32.load $a (local.get 0)))'
                    ' (drop (memory.grow $b (memory.size $b))) (memory.fill $b (i32.const 0)'
                    ' (i32.const 0) (i32.const 0)) (memory.copy $a $b (i32.const 0)'
                    ' (i32.const 0) (i32.const 0)) (memory.init $b $d (i32.const 0)'
                    ' (i32.const 0) (i32.const 0))) (data $d (memory $b) (i32.const 0) "x"))',
    "memory64": '(module (memory i64 1 0x1_0000_0000) (memory $i i64 (data "abc"))'
                ' (table i64 1 funcref) (func (param i64) (result i32)'
                ' (i32.load offset=0x1_0000_0000 (local.get 0))) (data (i64.const 0) ""))',
    "threads": '(module (memory 1 1 shared) (func (param i32) (result i64)'
               ' (drop (i32.atomic.rmw8.add_u (local.get 0) (i32.const 1)))'
               ' (drop (memory.atomic.wait32 offset=4 (local.get 0) (i32.const 0) (i64.const -1)))'
               ' (drop (memory.atomic.notify (local.get 0) (i32.const 1))) atomic.fence'
               ' (i64.atomic.rmw32.cmpxchg_u (local.get 0) (i64.const 1) (i64.const 2))))',
    "relaxed SIMD": '(module (func (param v128 v128 v128) (result v128)'
                    ' (f32x4.relaxed_madd (local.get 0) (local.get 1)'
                    ' (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1)'
                    ' (local.get 2)))))',
    "typed function references": '(module (type $t (func)) (table 1 (ref null $t))'
                                 ' (func (param (ref $t) (ref null func) (ref extern))))',
    "table initializer": "(module (table 10 funcref (ref.null func)))",
}


@pytest.mark.parametrize("text", PROPOSALS.values(), ids=PROPOSALS.keys())
def test_proposal_syntax_matches_wasmtime(text: str) -> None:
    same(text)


def test_multi_memory_memarg_sets_the_index_flag() -> None:
    code = code_section("(module (memory 1) (memory 1) (func (drop (i32.load 1 offset=3 (i32.const 0)))"
                " (drop (i32.load 0 offset=3 (i32.const 0)))))")
    assert bytes([0x28, 0x42, 0x01, 0x03]) in code  # align 2 | 0x40, memory 1, offset 3
    assert bytes([0x28, 0x02, 0x03]) in code  # memory 0: no flag


def test_every_immediate_kind_has_a_reader() -> None:
    assert {op.imm for op in INSTRUCTIONS.values()} - {"none"} <= set(IMMEDIATES)
