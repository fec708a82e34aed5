"""Malformed text: a `WatError` (a `CompileError`) that says what, in the spec suite's
words, and where, by line and column; proposals aot does not parse: `NotSupportedError`."""

from __future__ import annotations

import pickle
import random

import pytest

import aot
from aot.errors import CompileError, NotSupportedError
from aot.wat import WatError, wat2wasm


def error(text: str | bytes) -> WatError:
    with pytest.raises(WatError) as info:
        wat2wasm(text)
    return info.value


def test_place_and_words() -> None:
    e = error("(module\n  (func\n    i32.const 1\n    i32.ad))")
    assert (e.line, e.column) == (4, 5)
    assert e.reason == "unknown operator i32.ad"
    assert str(e) == "line 4, column 5: unknown operator i32.ad"
    assert isinstance(e, CompileError) and isinstance(e, aot.CompileError)


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("(module (func (i32.const)))", (1, 25), "unexpected token )"),
        ("(module (func (result i32) (param i32)))", (1, 29), "unexpected token param"),
        ("(module (func", (1, 14), "unexpected end"),
        ("(module (func))\n)", (2, 1), "unexpected token )"),
        ("(module (func br 0drop))", (1, 18), "unknown operator 0drop"),
        ('(module (data"a"))', (1, 10), "unknown operator"),
        ("(module (global i32 (i32.const 0x100000000)))", (1, 32), "constant out of range"),
        ("(module (global i64 (i64.const -0x8000000000000001)))", (1, 32),
         "constant out of range"),
        ("(module (global f32 (f32.const 0x1p128)))", (1, 32), "constant out of range"),
        ("(module (global f64 (f64.const nan:0x0)))", (1, 32), "constant out of range"),
        ("(module (global i32 (i32.const 1.5)))", (1, 32), "unexpected token 1.5"),
        ("(module (global i32 (i32.const 1_)))", (1, 32), "unknown operator 1_"),
        ("(module (memory 0x1_0000_0000))", (1, 17), "i32 constant out of range"),
        ("(module (memory 1) (func (drop (i32.load offset=4294967296 (i32.const 0)))))",
         (1, 42), "i32 constant"),
        ("(module (memory 1) (func (drop (i32.load align=3 (i32.const 0)))))", (1, 42),
         "alignment must be a power of two"),
        ("(module (func (block $l (br $m))))", (1, 29), "unknown label $m"),
        ("(module (func block $a end $b))", (1, 28), "mismatching label $b"),
        ("(module (func $f) (func $f))", (1, 19), "duplicate func $f"),
        ("(module (func (param $x i32) (local $x i32)))", None, "duplicate local $x"),
        ("(module (type $t (func)) (func (type $t) (param i32)))", (1, 38),
         "inline function type"),
        ("(module (func (type 3) (param i32)))", (1, 21), "unknown type"),
        ("(module (func (call $nope)))", (1, 21), "unknown function $nope"),
        ("(module (func (local.get $nope)))", (1, 26), "unknown local $nope"),
        ("(module (func) (import \"m\" \"f\" (func)))", (1, 16), "import after function"),
        ("(module (memory 1) (import \"m\" \"g\" (global i32)))", (1, 20),
         "import after memory"),
        ("(module (func $a) (start $a) (start $a))", (1, 30), "multiple start sections"),
        ("(module (func (v128.const i32x4 1 2 3)))", (1, 33), "wrong number of lane literals"),
        ("(module (func (i8x16.shuffle 1 2 3 (v128.const i64x2 0 0) (v128.const i64x2 0 0))))",
         (1, 30), "invalid lane length"),
        ("(module (func (i8x16.extract_lane_s 256 (v128.const i64x2 0 0))))", (1, 37),
         "malformed lane index"),
        ("(module (func (if (i32.const 1) (else))))", (1, 34), "unexpected token else"),
        ("(module (func (drop i32.const 1)))", (1, 21), "unexpected token i32.const"),
        ('(module (export "\\ff" (func 0)) (func))', (1, 17), "malformed UTF-8 encoding"),
        ('(module (data "\\q"))', (1, 16), "illegal escape"),
        ('(module (data "\\u{d800}"))', (1, 16), "malformed UTF-8 encoding"),
        ('(module (data "tab\there"))', (1, 19), "illegal control character"),
        ('(module (data "open))', (1, 15), "unclosed string"),
        ("(module (; unclosed", (1, 9), "unclosed comment"),
        ("(module (func get_local 0))", (1, 15), "unknown operator get_local"),
        ("(module (funky))", (1, 10), "unknown operator funky"),
        ("(module (func (local i32) (param i32)))", (1, 28), "unexpected token param"),
        ("(module (func block (param $x i32) end))", (1, 28), "unexpected token $x"),
    ],
)
def test_malformed(text: str, where: tuple[int, int] | None, words: str) -> None:
    e = error(text)
    assert words in e.reason
    if where is not None:
        assert (e.line, e.column) == where


def test_invalid_utf8_anywhere() -> None:
    e = error(b"(module\n  (func) ;; \xff\n)")
    assert (e.line, e.column, e.reason) == (2, 13, "malformed UTF-8 encoding")


@pytest.mark.parametrize(
    "text, feature",
    [
        ("(module (func (try_table)))", "exception handling: try_table"),
        ("(module (tag $e))", "exception handling: tag"),
        ("(module (type (struct)))", "GC: struct type"),
        ("(module (rec (type (func))))", "GC: rec"),
        ("(module (func (drop (struct.new 0))))", "GC: struct.new"),
        ("(module (global anyref (ref.null any)))", "GC: anyref"),
        ("(module (func (call_ref 0)))", "function references: call_ref"),
        ("(module (memory 1 (pagesize 1)))", "custom page sizes"),
    ],
)
def test_unsupported_proposals(text: str, feature: str) -> None:
    with pytest.raises(NotSupportedError) as info:
        wat2wasm(text)
    assert info.value.feature.startswith(feature)
    assert "line 1, column" in info.value.feature


def test_errors_pickle_as_they_were() -> None:
    e = error("(module\n (func i32.ad))")
    copy = pickle.loads(pickle.dumps(e))
    assert (type(copy), str(copy), copy.line, copy.column) == (WatError, str(e), 2, 8)


_PIECES = ["(", ")", "$x", "0", "-1", "0x", '"a"', "i32.const", "block", "end", "else",
           "(then", "(param i32)", "(result i32)", "(type 0)", "offset=4", "align=3", "nan:0x1",
           "(elem", "(data", "func", "i64", '"\\ff"', "(;", ";)", ";;", "\n", "(local $x i32)",
           "(module", "$", '"', "v128.const", "i8x16", "(@custom", "(@x"]
_SEEDS = [
    '(module (type $t (func (param i32) (result i32))) (memory 1) (table 2 funcref)'
    ' (func $f (type $t) (local i64) (block $b (br_if $b (local.get 0)))'
    ' (if (result i32) (i32.const 1) (then (i32.const 2)) (else (call $f (i32.const 3)))))'
    ' (elem (i32.const 0) $f) (data (i32.const 0) "hi") (export "f" (func $f)))',
    "(module (func (param v128) (result v128) (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12"
    " 13 14 15 (local.get 0) (v128.const f32x4 1 2 3 nan))) (global (mut i32) (i32.const 0)))",
]


def test_any_damage_is_a_compile_error() -> None:
    """Cut, spliced or garbled text never escapes as anything but a CompileError."""
    rng = random.Random(1234)
    for _ in range(3000):
        text = rng.choice(_SEEDS)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(text) + 1)
            choice = rng.random()
            if choice < 0.3:
                text = text[:i]
            elif choice < 0.7:
                text = f"{text[:i]} {rng.choice(_PIECES)} {text[i:]}"
            else:
                text = text[:i] + text[i + rng.randint(1, 12):]
        try:
            wat2wasm(text)
        except CompileError:
            pass
