"""The text format through aot's public API: `aot.wat2wasm`, and text wherever a module
is accepted (`compile`, `validate`, `compile_artifact`, `compile_file`, paths)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import wasmtime

import aot
from aot.wat import WatError, is_text

ADD = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


def test_wat2wasm_is_public_and_lazy() -> None:
    assert aot.wat2wasm(ADD) == wasmtime.wat2wasm(ADD)
    assert "wat2wasm" in aot.__all__
    # Importing aot alone does not import the text parser.
    code = "import sys, aot; print('aot.wat' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("source", [ADD, ADD.encode(), f";; a comment\n(; block ;)\n  {ADD}"])
def test_compile_accepts_text(source: str | bytes) -> None:
    assert aot.compile(source).instantiate().exports.add(2, 3) == 5


def test_validate_and_compile_artifact_accept_text() -> None:
    aot.validate(ADD)
    with pytest.raises(aot.CompileError, match="type mismatch"):
        aot.validate("(module (func (result i32)))")  # well-formed, invalid: the validator
    assert aot.compile_artifact(ADD)[:4] == b"\x7fELF"


def test_wat_files(tmp_path) -> None:
    good = tmp_path / "add.wat"
    good.write_text(ADD)
    out = aot.compile_file(good, tmp_path / "add.so")
    assert aot.load(out).instantiate().exports.add(1, 1) == 2
    text_without_suffix = tmp_path / "add.module"  # text is recognized by its contents too
    text_without_suffix.write_text(ADD)
    assert aot.compile(text_without_suffix).instantiate().exports.add(4, 4) == 8
    bad = tmp_path / "bad.wat"
    bad.write_text("(module\n  (func i32.ad))")
    with pytest.raises(WatError) as info:
        aot.validate(bad)
    assert str(info.value) == f"{bad}: line 2, column 9: unknown operator i32.ad"


def test_proposals_parse_then_the_compiler_refuses_them() -> None:
    aot.validate("(module (func return_call 0))")  # tail calls: implemented
    aot.validate("(module (memory 1 1 shared))")  # threads: implemented, and on by default
    with pytest.raises(aot.NotSupportedError, match="threads"):
        aot.validate("(module (memory 1 1 shared))", threads=False)
    with pytest.raises(aot.NotSupportedError, match="table64"):
        aot.validate("(module (table i64 1 funcref))")


@pytest.mark.parametrize(
    "source, text",
    [
        ("(module)", True), ("  \n(module)", True), (";; x\n(module)", True),
        ("(; a (; nested ;) one ;)(module)", True), ("module.wasm", False),
        ("/tmp/(weird).wasm", False), ("", False), ("(; unclosed", False),
        (b"\0asm\x01\0\0\0", False), (b"(module)", True), (b"\n(module)", True),
        (b"\0asm(", False), (b"\xff(module)", False),
    ],
)
def test_is_text(source: str | bytes, text: bool) -> None:
    assert is_text(source) is text


def test_names_reach_backtraces() -> None:
    module = aot.compile("""(module $calc
      (func $divide (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
      (func $outer (export "f") (param i32) (result i32) (call $divide (local.get 0))))""")
    with pytest.raises(aot.Trap) as info:
        module.instantiate().exports.f(0)
    assert [f"{f.module_name}!{f.func_name}" for f in info.value.frames] == [
        "calc!divide", "calc!outer"]
