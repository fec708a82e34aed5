"""The `aot` command line: compile, run, inspect, exit codes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from aot.cli import EXIT_ERROR, EXIT_OK, EXIT_TRAP, main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "example.wasm"


def test_compile_then_run_the_artifact(tmp_path, capsys):
    out = tmp_path / "example.so"
    assert main(["compile", str(EXAMPLE), "-o", str(out), "-O1"]) == EXIT_OK
    assert out.read_bytes()[:4] == b"\x7fELF"
    assert main(["run", str(out), "--invoke", "fib", "90"]) == EXIT_OK
    assert capsys.readouterr().out == "2880067194370816120\n"


def test_run_a_wasm_file_prints_one_result_per_line(capsys):
    assert main(["run", str(EXAMPLE), "--invoke", "divmod", "17", "0x5"]) == EXIT_OK
    assert capsys.readouterr().out == "3\n2\n"


def test_trap_exit_code_and_message(capsys):
    assert main(["run", str(EXAMPLE), "--invoke", "divmod", "1", "0"]) == EXIT_TRAP
    assert "integer divide by zero" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--invoke", "nope"], "no exported function 'nope'"),
        (["--invoke", "divmod", "1"], "takes 2 arguments"),
        (["--invoke", "divmod", "1", "x"], "not a valid i32"),
        (["--invoke", "divmod", "1", "4294967296"], "out of range"),
    ],
)
def test_bad_invocations_exit_1_with_a_sentence(capsys, args, message):
    assert main(["run", str(EXAMPLE), *args]) == EXIT_ERROR
    assert message in capsys.readouterr().err


def test_invalid_wasm_names_the_offset(tmp_path, capsys):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0\x01\x05")
    assert main(["run", str(bad), "--invoke", "x"]) == EXIT_ERROR
    assert "byte offset" in capsys.readouterr().err


def test_inspect_lists_functions_with_unwind_info(tmp_path, capsys):
    out = tmp_path / "e.so"
    assert main(["compile", str(EXAMPLE), "-o", str(out)]) == EXIT_OK
    assert main(["inspect", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "fib  (func 0)" in text and "with .eh_frame unwind info" in text
    assert "(no unwind info)" not in text


def test_help_and_usage_errors():
    proc = subprocess.run([sys.executable, "-m", "aot", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "exit status" in proc.stdout and "compile" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "aot", "compile"], capture_output=True, text=True)
    assert proc.returncode == 2


def test_cross_compile_and_inspect_without_loading(tmp_path, capsys):
    out = tmp_path / "a64.so"
    assert main(["compile", str(EXAMPLE), "--target", "aarch64-linux-gnu", "-o", str(out)]) == EXIT_OK
    assert main(["inspect", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "EM_AARCH64 aot artifact" in text and "for aarch64-linux-gnu" in text
    assert "bounds_checks=explicit" in text and "fib  (func 0)" in text
    assert main(["run", str(out), "--invoke", "fib", "1"]) == EXIT_ERROR
    assert "compiled for aarch64-linux-gnu, this machine is x86_64" in capsys.readouterr().err


def test_compile_and_run_text_modules(tmp_path, capsys):
    source = tmp_path / "add.wat"
    source.write_text('(module (func (export "add") (param i32 i32) (result i32)\n'
                      "  local.get 0 local.get 1 i32.add))")
    assert main(["compile", str(source)]) == EXIT_OK
    assert main(["run", str(tmp_path / "add.so"), "--invoke", "add", "2", "3"]) == EXIT_OK
    assert main(["run", str(source), "--invoke", "add", "4", "5"]) == EXIT_OK
    assert capsys.readouterr().out == "5\n9\n"
    bad = tmp_path / "bad.wat"
    bad.write_text("(module\n  (func i32.ad))")
    assert main(["compile", str(bad)]) == EXIT_ERROR
    assert f"{bad}: line 2, column 9: unknown operator i32.ad" in capsys.readouterr().err


class _Terminal(io.StringIO):
    """stderr as a terminal: the progress bar's condition."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_a_compile_on_a_terminal_shows_progress_unless_quiet(tmp_path, monkeypatch, quiet):
    import aot.cli

    monkeypatch.setattr(aot.cli, "PROGRESS_DELAY", 0.0)  # shown at once, not after a second
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    args = ["compile", str(EXAMPLE), "-o", str(tmp_path / "e.so"), "--no-cache"]
    assert main(args + ["--quiet"] * quiet) == EXIT_OK
    shown = terminal.getvalue()
    if quiet:
        assert shown == ""
    else:  # e.g. "decode: 0fn [00:00, ?fn/s]" or "compile (0/1 units): 0%| | 0/5 ..."
        assert "fn" in shown and ("decode" in shown or "compile" in shown)


def test_no_progress_bar_off_a_terminal(tmp_path, monkeypatch, capsys):
    import aot.cli

    monkeypatch.setattr(aot.cli, "PROGRESS_DELAY", 0.0)
    assert main(["compile", str(EXAMPLE), "-o", str(tmp_path / "e.so"), "--no-cache"]) == EXIT_OK
    assert capsys.readouterr().err == ""
