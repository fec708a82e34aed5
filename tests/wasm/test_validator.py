"""The validator: messages, and where they point (offset, function index)."""

from __future__ import annotations

import pytest
import wasmtime

from aot.errors import CompileError, NotSupportedError
from aot.wasm import decode, parse


def invalid(text: str) -> CompileError:
    with pytest.raises(CompileError) as e:
        parse(wasmtime.wat2wasm(text), multi_memory=False, memory64=False, threads=False)  # 2.0's rules
    return e.value


def valid(text: str) -> None:
    parse(wasmtime.wat2wasm(text))


def test_error_points_at_instruction_and_function() -> None:
    data = wasmtime.wat2wasm(
        """(module
          (import "env" "f" (func))
          (func (result i32) (i32.const 1))
          (func (result i32) (i64.const 1) (i32.const 2) (i32.add)))"""
    )
    m = decode(data)
    add = m.codes[1].code[-2]
    with pytest.raises(CompileError) as e:
        parse(data)
    assert e.value.message == "type mismatch"
    assert e.value.func_index == 2  # imports come first in the function index space
    assert e.value.offset == add.offset
    assert "function 2" in str(e.value) and f"0x{add.offset:x}" in str(e.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("(module (func (result i32)))", "type mismatch"),
        ("(module (func (i32.const 1)))", "type mismatch"),
        ("(module (func (drop (i32.add (i32.const 1) (f32.const 1)))))", "type mismatch"),
        ("(module (func (local.get 2)))", "unknown local 2"),
        ("(module (func (br 1)))", "unknown label 1"),
        ("(module (func (call 7)))", "unknown function 7"),
        ("(module (func (drop (global.get 0))))", "unknown global 0"),
        (
            "(module (global i32 (i32.const 0)) (func (global.set 0 (i32.const 1))))",
            "global is immutable",
        ),
        ("(module (func (drop (i32.load (i32.const 0)))))", "unknown memory 0"),
        (
            "(module (memory 1) (func (drop (i32.load align=8 (i32.const 0)))))",
            "alignment must not be larger than natural",
        ),
        ("(module (func (drop (table.size 0))))", "unknown table 0"),
        (
            "(module (type (func)) (table 1 externref) (func (call_indirect (type 0) (i32.const 0))))",
            "type mismatch",
        ),
        ("(module (memory 1) (func (data.drop 0)))", "unknown data segment 0"),
        ("(module (func (elem.drop 4)))", "unknown elem segment 4"),
        ("(module (func (drop (ref.func 0))))", "undeclared function reference"),
        (
            "(module (func (drop (select (result i32 i32) (i32.const 0) (i32.const 0) (i32.const 0)))))",
            "invalid result arity",
        ),
        (
            "(module (func (drop (select (ref.null func) (ref.null func) (i32.const 0)))))",
            "type mismatch",
        ),
        (
            "(module (func (drop (i8x16.extract_lane_s 16 (v128.const i64x2 0 0)))))",
            "invalid lane index",
        ),
        (
            "(module (func (drop (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 32 (v128.const i64x2 0 0) (v128.const i64x2 0 0)))))",
            "invalid lane index",
        ),
        (
            "(module (memory 1) (func (v128.store8_lane 16 (i32.const 0) (v128.const i64x2 0 0))))",
            "invalid lane index",
        ),
        (
            "(module (func (param i32) (result i32) (if (local.get 0) (then (i32.const 1)))))",
            "type mismatch",
        ),
        (
            "(module (func (block (result i32) (br_table 0 1 (i32.const 0) (i32.const 0)))))",
            "type mismatch",
        ),
    ],
)
def test_function_body_errors(text: str, message: str) -> None:
    e = invalid(text)
    assert e.message == message
    assert e.func_index == 0 and e.offset is not None


@pytest.mark.parametrize(
    "text, message",
    [
        ("(module (memory 1) (memory 1))", "multiple memories (the multi-memory proposal is off)"),
        ('(module (import "a" "b" (memory 1)) (memory 1))', "multiple memories (the multi-memory proposal is off)"),
        ("(module (memory 2 1))", "size minimum must not be greater than maximum"),
        ("(module (table 2 1 funcref))", "size minimum must not be greater than maximum"),
        ("(module (memory 65537))", "memory size must be at most 65536 pages (4GiB)"),
        ("(module (memory 0 65537))", "memory size must be at most 65536 pages (4GiB)"),
        ('(module (func) (export "a" (func 0)) (export "a" (func 0)))', "duplicate export name"),
        ('(module (export "a" (func 3)))', "unknown function 3"),
        ('(module (export "a" (global 0)))', "unknown global 0"),
        (  # extended constant expressions allow add/sub/mul, not division
            "(module (global i32 (i32.div_u (i32.const 1) (i32.const 2))))",
            "constant expression required",
        ),
        ("(module (global i32 (i32.add (i32.const 1) (i64.const 2))))", "type mismatch"),
        ("(module (global i32 (i64.const 1)))", "type mismatch"),
        ("(module (global i32 (i32.const 0)) (global i32 (global.get 0)))", "unknown global 0"),
        (
            '(module (import "a" "g" (global (mut i32))) (global i32 (global.get 0)))',
            "constant expression required",
        ),
        ("(module (func (param i32)) (start 0))", "start function"),
        ("(module (start 1))", "unknown function 1"),
        ('(module (data (i32.const 0) "x"))', "unknown memory 0"),
        ("(module (elem (i32.const 0) func))", "unknown table 0"),
        (
            "(module (table 1 externref) (func) (elem (table 0) (i32.const 0) func 0))",
            "type mismatch",
        ),
        ("(module (memory 1) (data (i64.const 0)))", "type mismatch"),
    ],
)
def test_module_errors(text: str, message: str) -> None:
    error = invalid(text)
    assert error.message == message or (
        isinstance(error, NotSupportedError) and f"({message} in WebAssembly 2.0)" in error.message)


@pytest.mark.parametrize(
    "text",
    [
        # The polymorphic stack after unreachable/br/return.
        "(module (func (result i32) (unreachable) (i32.add)))",
        "(module (func (result i32) (block (result i32) (br 0 (i32.const 1)) (i32.add))))",
        "(module (func (result f64) (return (f64.const 1)) (select)))",
        "(module (func (unreachable) (drop (ref.is_null))))",
        "(module (func (param i32) (result i32) (block (result i32) (i32.const 5) (local.get 0) (br_table 0 0))))",
        "(module (func (result i32) (unreachable) (br_table 0 0)))",
        # br_table targets of different types but equal arity, on an unknown operand.
        "(module (func (drop (block (result f32) (drop (block (result i32) (unreachable) (br_table 0 1 (i32.const 0)))) (f32.const 0)))))",
        # Multi-value blocks with params, loops carrying params.
        "(module (func (result i32) (i32.const 1) (loop (param i32) (result i32) (i32.const 1) (i32.add))))",
        "(module (func (param i32) (result i32) (local.get 0) (if (param i32) (result i32) (local.get 0) (then) (else (i32.eqz)))))",
        # ref.func is fine when declared by an elem segment, an export or a global.
        "(module (func $f) (elem declare func $f) (func (drop (ref.func $f))))",
        '(module (func $f (export "f")) (func (drop (ref.func $f))))',
        "(module (func $f) (global funcref (ref.func $f)) (func (drop (ref.func $f))))",
        # Constant expressions with imported immutable globals and references.
        '(module (import "a" "g" (global i32)) (global i32 (global.get 0)) (memory 1) (data (global.get 0) ""))',
        "(module (table 1 funcref) (func $f) (elem (i32.const 0) funcref (ref.func $f) (ref.null func)))",
        # memory.init with a data count section; typed select with references.
        '(module (memory 1) (data "x") (func (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1)) (data.drop 0)))',
        "(module (func (result funcref) (select (result funcref) (ref.null func) (ref.null func) (i32.const 1))))",
        "(module (memory 0 65536))",
        "(module (table 0 0xffffffff funcref))",
    ],
)
def test_valid(text: str) -> None:
    valid(text)


@pytest.mark.parametrize("text, message", [
    # an element segment (checked before the bodies) names a missing function; the body
    # is invalid too
    ('(module (table 1 funcref) (elem (i32.const 0) func 7) (func (local.get 3)))',
     "unknown function 7"),
    # a data segment (after the code section, checked before the bodies) names a missing
    # memory; the body is invalid too
    ('(module (func (local.get 3)) (data (memory 1) (i32.const 0) ""))', "unknown memory 1"),
    # a global's initializer has the wrong type; the body is invalid too
    ("(module (global i32 (i64.const 0)) (func (local.get 3)))", "type mismatch"),
    # the body is invalid; a duplicate export (checked after the bodies) too
    ('(module (func (local.get 3)) (export "a" (func 0)) (export "a" (func 0)))',
     "unknown local 3"),
    # both bodies are invalid: the first one's error
    ("(module (func (local.get 1)) (func (local.get 2)))", "unknown local 1"),
])
def test_bodies_dropped_as_decoded_report_the_error_validate_reports(text, message) -> None:
    """parse(..., keep_bodies=False) checks each body as it is decoded: the error it
    raises is the one, at the place, that validating the whole module reports."""
    data = wasmtime.wat2wasm(text)
    errors = []
    for keep in (True, False):
        with pytest.raises(CompileError) as e:
            parse(data, keep_bodies=keep)
        errors.append((e.value.message, e.value.offset, e.value.func_index))
    assert errors[0] == errors[1]
    assert errors[0][0] == message


def test_bodies_dropped_as_decoded_leave_their_facts() -> None:
    data = wasmtime.wat2wasm("""(module
      (type $t (func (param i32)))
      (import "env" "f" (func $f (param i32)))
      (table 1 funcref)
      (elem declare func $a)
      (func $a (param i32) (local externref)
        (call $f (local.get 0)) (call $b) (call_indirect (type $t) (i32.const 1) (i32.const 0)))
      (func $b (drop (ref.func $a)) (return_call $b)))""")
    full, lean = parse(data), parse(data, keep_bodies=False)
    assert [b.code for b in lean.codes] == [[], []]
    assert [(b.offset, b.end_offset, b.digest) for b in lean.codes] == \
        [(b.offset, b.end_offset, b.digest) for b in full.codes]
    a, b = (body.facts for body in lean.codes)
    assert (a.callees, a.indirect_types, a.ref_funcs, a.tail_calls, a.externref_locals) == \
        ({0, 2}, {0}, set(), False, True)
    assert (b.callees, b.ref_funcs, b.tail_calls, b.externref_locals) == ({2}, {1}, True, False)
    assert a.instructions == len(full.codes[0].code)


def test_known_bodies_are_skipped_with_their_facts(monkeypatch) -> None:
    """parse(..., known_facts=...) neither decodes nor checks a body whose bytes are
    known (a rebuild's), and keeps the facts given for it; the others as ever."""
    from aot.wasm import decoder
    from aot.wasm.module import BodyFacts, body_key

    text = "(module (func (result i32) (i32.const {})) (func (result i32) (i32.const 2)))"
    data = wasmtime.wat2wasm(text.format(1))
    first = parse(data, keep_bodies=False)
    keys = [body_key(data, b.offset, b.end_offset) for b in first.codes]
    assert len(set(keys)) == 2
    marker = BodyFacts(99, frozenset(), frozenset(), frozenset(), False, False)
    decoded = []
    real = decoder._Decoder.func_body
    monkeypatch.setattr(decoder._Decoder, "func_body",
                        lambda self, index: decoded.append(index) or real(self, index))
    again = parse(data, keep_bodies=False, known_facts={keys[1]: marker})
    assert decoded == [0]
    assert again.codes[1].facts is marker and again.codes[0].facts == first.codes[0].facts
    assert [(b.offset, b.end_offset, b.digest) for b in again.codes] == \
        [(b.offset, b.end_offset, b.digest) for b in first.codes]
    # A body that differs is decoded and checked, whatever else is known.
    bad = wasmtime.wat2wasm(text.format(1).replace("(i32.const 1)", "(i64.const 1)"))
    with pytest.raises(CompileError, match="type mismatch") as e:
        parse(bad, keep_bodies=False, known_facts={keys[0]: marker, keys[1]: marker})
    assert e.value.func_index == 0
    with pytest.raises(ValueError, match="keep_bodies=False"):
        parse(data, known_facts={})
