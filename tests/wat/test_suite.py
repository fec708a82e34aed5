"""Every text module of the WebAssembly test suite (core and the proposal folders) through
`aot.wat2wasm`, against wasmtime's `wat2wasm` (wasm-tools' parser) as the oracle.

- A module wasmtime converts must come out the same, byte for byte: name section included
  (aot writes the same `name` section as wasm-tools).
- An `assert_malformed (module quote ...)` text must be refused by aot's parser with a
  `WatError` containing the suite's expected words.  (wasm-tools accepts nine of them,
  limits and offsets of 32-bit memories and tables past 2**32 - 1, which it reads as
  memory64 text and leaves to validation; the reference interpreter, and aot, refuse them
  while parsing.)

One case per .wast file; the suite is read from ../shared/wasm-testsuite (AOT_WASM_TESTSUITE);
without it the cases skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import wasmtime

from aot.wat import WatError, wat2wasm
from tests.spec.runner import _escape_confusables
from tests.spec.suite import suite_dir
from tests.spec.wast import AssertModule, ModuleDef, parse_file


def _scripts() -> list[Path]:
    root = suite_dir()
    return sorted((root / "core").glob("*.wast")) + sorted((root / "proposals").glob("*/*.wast"))


def _ids() -> list:
    scripts = _scripts()
    if not scripts:
        return [pytest.param(None, id="suite-missing")]
    return [pytest.param(p, id=str(p.relative_to(suite_dir())).removesuffix(".wast"))
            for p in scripts]


def _text_modules(script: Path) -> list[tuple[int, str, ModuleDef]]:
    """(line, command keyword, module) of every text or quote module of a script."""
    found = []
    for cmd in parse_file(script):
        mod = getattr(cmd, "module", None) or getattr(cmd, "target", None)
        if isinstance(mod, ModuleDef) and mod.form != "binary":
            found.append((cmd.line, cmd.keyword, mod, cmd))
    return found


@pytest.mark.parametrize("script", _ids())
def test_script_modules_match_wasmtime(script: Path | None) -> None:
    if script is None:
        why = f"WebAssembly test suite not found at {suite_dir()} (set AOT_WASM_TESTSUITE)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    problems = []
    for line, keyword, mod, cmd in _text_modules(script):
        where = f"{script.name}:{line}"
        if keyword == "assert_malformed":
            assert isinstance(cmd, AssertModule)
            try:
                wat2wasm(mod.text)
            except WatError as e:
                if cmd.message not in str(e):
                    problems.append(f"{where}: expected {cmd.message!r}, got {e}")
            else:
                problems.append(f"{where}: malformed text accepted ({cmd.message!r})")
            continue
        try:
            expected = wasmtime.wat2wasm(_escape_confusables(mod.wat()))
        except wasmtime.WasmtimeError:
            expected = None
        try:
            got = wat2wasm(mod.text)
        except WatError as e:
            problems.append(f"{where}: refused: {e}" + ("" if expected else " (so does wasmtime)"))
            continue
        if expected is None:
            problems.append(f"{where}: accepted, wasmtime refuses it")
        elif got != expected:
            problems.append(f"{where}: differs from wasmtime:\n  {got.hex()}\n  {expected.hex()}")
    assert problems == []
