"""The WebAssembly core spec tests: one case per .wast script (per opt level).

Environment:
  AOT_SPEC_ENGINE     aot (default) or wasmtime (the reference backend)
  AOT_SPEC_OPT        opt level(s) for aot.compile: "2" (default), "0", or a list "0,2"
  AOT_SPEC_UNITS      compile every module as this many codegen units, "function" (one per
                      function) or "split" (per function at -O0/-O1, 2 above); default: by size
  AOT_WASM_TESTSUITE  the suite folder (default ../shared/wasm-testsuite from the repo root)
  AOT_SPEC_REPORT     the JSON report (default tests/spec/report.json)
  AOT_SPEC_TIMEOUT    seconds a command may take (default 60); scripts run in a child process
  AOT_SPEC_ISOLATE=0  run scripts in the pytest process instead (no timeout; for debugging)
  CI=true             a missing suite fails instead of skipping
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from types import ModuleType

import pytest

from .engine import engine_name, load_engine
from .isolate import run_script
from .suite import core_scripts, proposal_scripts, script_name, suite_dir


def _opt_levels() -> list[int]:
    text = os.environ.get("AOT_SPEC_OPT", "2")
    try:
        return [int(level) for level in text.replace(" ", "").split(",") if level]
    except ValueError:
        raise pytest.UsageError(f"AOT_SPEC_OPT={text!r}: expected levels like 2 or 0,2") from None


def _cases() -> list:
    levels = _opt_levels()
    scripts = core_scripts()
    if not scripts:  # one placeholder case, to report the missing suite
        return [pytest.param(None, levels[0], id="suite-missing")]
    return [
        pytest.param(path, level, id=script_name(path) if len(levels) == 1
                     else f"{script_name(path)}-O{level}")
        for path in scripts + proposal_scripts()
        for level in levels
    ]


@functools.cache
def _engine() -> ModuleType | str:
    """The engine, or why it cannot be loaded (reported by every case, before any child
    process would fail the same way with a less readable traceback)."""
    try:
        return load_engine()
    except ImportError as e:
        return f"cannot use engine {engine_name()!r}: {e}"


@pytest.mark.parametrize("script, opt_level", _cases())
def test_spec(script: Path | None, opt_level: int, spec_report) -> None:
    if script is None:
        why = f"WebAssembly test suite not found at {suite_dir()} (set AOT_WASM_TESTSUITE)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    eng = _engine()
    if isinstance(eng, str):
        pytest.fail(eng, pytrace=False)
    isolate = os.environ.get("AOT_SPEC_ISOLATE", "1") != "0"
    commands, result = run_script(script, engine_name(), opt_level, isolate=isolate)
    spec_report.record(script_name(script), opt_level, result.to_json())
    assert result.passed + result.failed + result.skipped == len(commands), "a command was lost"
    if result.failed:
        shown = "\n".join(
            f"  {script.name}:{f['line']}: {f['command']}: {f['reason']}"
            for f in result.failures[:5]
        )
        more = f"\n  ... and {result.failed - 5} more" if result.failed > 5 else ""
        pytest.fail(
            f"{result.failed} of {result.passed + result.failed + result.skipped} commands failed "
            f"({result.skipped} skipped):\n{shown}{more}",
            pytrace=False,
        )
