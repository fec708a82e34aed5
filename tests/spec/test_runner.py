"""Tests of the runner's rules (pass / fail / skip), on the wasmtime reference backend."""

from __future__ import annotations

import types

import pytest

from . import wasmtime_engine
from .isolate import run_script
from .runner import TEXT_FORMAT_REASON, Result, ScriptRunner
from .wast import parse


def _partial_engine() -> types.ModuleType:
    """The wasmtime backend, except that modules exporting "unsupported" are not supported."""
    eng = types.ModuleType("partial_engine")
    eng.__dict__.update(vars(wasmtime_engine))

    def compile(wasm: bytes, opt_level: int = 2) -> object:  # noqa: A001
        if b"unsupported" in wasm:
            raise wasmtime_engine.NotSupportedError("simd")
        return wasmtime_engine.compile(wasm, opt_level)

    eng.compile = compile
    return eng


def run(script: str, wat2wasm=None) -> tuple[Result, list[str]]:
    """Run a script; also return each command's outcome: "pass", "fail" or "skip: reason".
    `wat2wasm` converts the text modules (default: wasmtime's, as for this backend)."""
    runner = ScriptRunner(_partial_engine(), wat2wasm=wat2wasm)
    outcomes = []
    for cmd in parse(script):
        outcome = runner.run_command(cmd)
        runner.result.add(cmd, outcome)
        outcomes.append(f"skip: {outcome.reason}" if outcome.status == "skip" else outcome.status)
    return runner.result, outcomes


def test_not_supported_propagates() -> None:
    result, outcomes = run("""
    (module $A (func (export "unsupported")) (func (export "f") (result i32) i32.const 1))
    (register "A" $A)
    (invoke $A "f")
    (assert_return (invoke "f") (i32.const 1))
    (module $B (import "A" "f" (func (result i32))))
    (assert_unlinkable (module (import "A" "g" (func))) "unknown import")
    (assert_invalid (module (func (export "unsupported") (result i32))) "type mismatch")
    (module (func (export "g") (result i32) i32.const 2))
    (assert_return (invoke "g") (i32.const 2))
    (assert_return (invoke $B "f") (i32.const 1))
    """)
    skip = "skip: not supported: simd"
    assert outcomes == [skip] * 7 + ["pass", "pass", skip]
    assert result.skipped == 8 and result.passed == 2 and result.failed == 0


def test_failures_cascade_from_a_failed_module() -> None:
    result, outcomes = run("""
    (module $M (import "nowhere" "f" (func)))
    (invoke "f")
    (register "M" $M)
    (module (import "M" "f" (func)))
    """)
    assert outcomes == ["fail"] * 4
    assert "link error" in result.failures[0]["reason"]
    assert "needs the module of line 2" in result.failures[1]["reason"]


def test_module_assertions() -> None:
    result, outcomes = run("""
    (assert_malformed (module quote "(func") "unexpected end")
    (assert_malformed (module binary "\\00asm\\02\\00\\00\\00") "unknown binary version")
    (assert_invalid (module (func (result i32))) "type mismatch")
    (assert_invalid (module (func (result i32))) "words the engine does not use")
    (assert_invalid (module (func (result i32) i32.const 0)) "type mismatch")
    (assert_unlinkable (module (import "spectest" "nothing" (func))) "unknown import")
    (assert_unlinkable (module (import "spectest" "print" (func))) "unknown import")
    (assert_trap (module (memory 0) (data (i32.const 1) "x")) "out of bounds memory access")
    (assert_trap (module (memory 1) (data (i32.const 1) "x")) "out of bounds memory access")
    (assert_uninstantiable (module (func $f unreachable) (start $f)) "unreachable")
    """)
    assert outcomes == [
        f"skip: {TEXT_FORMAT_REASON}", "pass", "pass", "pass", "fail",
        "pass", "fail", "pass", "fail", "pass",
    ]  # fmt: skip
    assert result.message_mismatch == 1
    assert result.mismatches[0]["expected"] == "words the engine does not use"


def test_quote_modules_run_with_aots_text_parser() -> None:
    """With aot's parser (the default for the aot engine), quote modules are converted by
    it, and a malformed one must be refused by it (or by the engine) with the words."""
    from aot.wat import wat2wasm

    result, outcomes = run(r"""
    (assert_malformed (module quote "(func") "unexpected end")
    (assert_malformed (module quote "(func i32.ad)") "unknown operator")
    (assert_malformed (module quote "(func i32.ad)") "other words")
    (assert_malformed (module quote "(func)") "unexpected token")
    (assert_malformed (module quote "(module (func $a) (start $a) (start $a))")
      "multiple start sections")
    (assert_malformed (module quote "(memory 1) (func (drop (i32.load align=3 (i32.const 0))))")
      "alignment")
    (module $Q quote "(func (export \"f\") (result i32) i32.const 7)")
    (assert_return (invoke $Q "f") (i32.const 7))
    (assert_invalid (module (func (result i32) i32.const 0 i32.const 1)) "type mismatch")
    """, wat2wasm=wat2wasm)
    assert outcomes == ["pass", "pass", "pass", "fail", "pass", "pass", "pass", "pass", "pass"]
    assert "compiled without error" in result.failures[0]["reason"]
    assert result.message_mismatch == 1
    assert result.mismatches[0]["actual"].endswith("unknown operator i32.ad")


VALUES = """
(module
  (func (export "snan") (result f32) f32.const nan:0x200000)
  (func (export "qnan") (result f32) f32.const -nan:0x400001)
  (func (export "cnan") (result f64) f64.const -nan)
  (func (export "v") (result v128) v128.const f32x4 nan 1 -nan:0x7fffff 0)
  (func (export "id") (param externref) (result externref) local.get 0)
  (table 1 funcref) (elem (i32.const 0) 0)
  (func (export "fr") (result funcref) i32.const 0 table.get 0)
  (func (export "two") (result i32 i64) i32.const 1 i64.const -1)
  (global (export "g") f64 (f64.const -0x1p-1074))
  (func (export "trap") unreachable)
  (func $rec (export "rec") call $rec)
)
"""


@pytest.mark.parametrize(
    "command, outcome",
    [
        ('(assert_return (invoke "snan") (f32.const nan:0x200000))', "pass"),
        ('(assert_return (invoke "snan") (f32.const nan:arithmetic))', "fail"),
        ('(assert_return (invoke "qnan") (f32.const nan:arithmetic))', "pass"),
        ('(assert_return (invoke "qnan") (f32.const nan:canonical))', "fail"),
        ('(assert_return (invoke "cnan") (f64.const nan:canonical))', "pass"),
        ('(assert_return (invoke "cnan") (f32.const nan:canonical))', "fail"),  # wrong type
        (
            '(assert_return (invoke "v") (v128.const f32x4 nan:canonical 1 nan:arithmetic 0))',
            "pass",
        ),
        (
            '(assert_return (invoke "v") (v128.const f32x4 nan:canonical 1 nan:arithmetic -0))',
            "fail",
        ),
        ('(assert_return (invoke "v") (v128.const i32x4 0x7fc00000 0x3f800000 -1 0))', "pass"),
        ('(assert_return (invoke "id" (ref.extern 1)) (ref.extern 1))', "pass"),
        ('(assert_return (invoke "id" (ref.extern 1)) (ref.extern 2))', "fail"),
        ('(assert_return (invoke "id" (ref.extern 1)) (ref.extern))', "pass"),
        ('(assert_return (invoke "id" (ref.null extern)) (ref.extern))', "fail"),
        ('(assert_return (invoke "id" (ref.null extern)) (ref.null extern))', "pass"),
        ('(assert_return (invoke "fr") (ref.func))', "pass"),
        ('(assert_return (invoke "fr") (ref.null func))', "fail"),
        ('(assert_return (invoke "two") (i32.const 1) (i64.const -1))', "pass"),
        ('(assert_return (invoke "two") (i32.const 1))', "fail"),
        ('(assert_return (get "g") (f64.const -0x1p-1074))', "pass"),
        ('(assert_return (get "g") (f64.const 0x1p-1074))', "fail"),
        ('(assert_return (invoke "nope"))', "fail"),
        ('(assert_return (invoke "trap"))', "fail"),
        ('(assert_trap (invoke "trap") "unreachable")', "pass"),
        ('(assert_trap (invoke "trap") "integer overflow")', "fail"),
        ('(assert_trap (invoke "two") "unreachable")', "fail"),
        ('(assert_exhaustion (invoke "rec") "call stack exhausted")', "pass"),
        ('(invoke "trap")', "fail"),
        ("(assert_something_new)", "skip: unknown command assert_something_new"),
    ],
)
def test_values(command: str, outcome: str) -> None:
    result, outcomes = run(VALUES + command)
    assert outcomes == ["pass", outcome], result.failures


def test_every_command_is_counted() -> None:
    script = VALUES + '(assert_return (invoke "snan") (f32.const 0))' * 3 + '(register "x" $nope)'
    result, outcomes = run(script)
    assert result.passed + result.failed + result.skipped == len(outcomes) == 5


def test_a_hanging_command_times_out(tmp_path) -> None:
    script = tmp_path / "hang.wast"
    script.write_text("""
    (module (func (export "spin") (loop (br 0))) (func (export "one") (result i32) i32.const 1))
    (assert_return (invoke "one") (i32.const 1))
    (invoke "spin")
    (assert_return (invoke "one") (i32.const 1))
    (assert_return (invoke "one") (i32.const 1))
    """)
    commands, result = run_script(script, "wasmtime", 2, timeout=1.0)
    assert (result.passed, result.failed, result.skipped) == (2, 1, 2)
    assert result.failures[0]["line"] == 4 and "timed out" in result.failures[0]["reason"]
    assert result.skip_reasons == {"not run: the script stopped at line 4": 2}
