"""WASI programs (examples/wasi, built from C with wasi-libc) under aot and under
wasmtime-py: same stdout, same exit code; exit codes, stdio modes and `aot run`."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import aot
from aot.cli import EXIT_ERROR, EXIT_OK, EXIT_TRAP, main
from tests.conftest import wat
from tests.wasi_support import compiled, example, run_aot, run_aot_cli, run_wasmtime


def both(tmp_path: Path, name: str, **kw):
    """The program's outcome under aot, after checking wasmtime-py agrees."""
    mine = run_aot(name, **kw)
    pytest.importorskip("wasmtime")
    theirs = run_wasmtime(name, tmp_path / f"{name}.wasmtime.out", **kw)
    assert (mine.code, mine.stdout.decode()) == (theirs.code, theirs.stdout.decode())
    cli = run_aot_cli(name, **kw)  # and `aot run`, whose exit status is the program's
    assert (cli.code, cli.stdout.decode()) == (theirs.code, theirs.stdout.decode())
    return mine


def test_hello_args_and_environment(tmp_path):
    out = both(tmp_path, "hello", args=["one", "-b", "two words"],
               env=[("GREETING", "hi there"), ("EMPTY", "")])
    text = out.stdout.decode()
    assert out.code == 0
    assert "argc=4\n" in text and "argv[2]=-b\n" in text and "argv[3]=two words\n" in text
    assert "env GREETING=hi there\nenv EMPTY=\n" in text
    assert "GREETING is hi there\n" in text


@pytest.mark.parametrize("code", [0, 1, 7, 125])
def test_exit_code_from_exit(tmp_path, code):
    out = both(tmp_path, "hello", env=[("EXIT_CODE", str(code))])
    assert out.code == code
    assert out.stdout.startswith(b"hello from wasi\n")  # flushed before exit()


def test_proc_exit_raises_exit_with_the_code():
    config = aot.WasiConfig(args=["hello"], env={"EXIT_CODE": "42"}, stdout="null", stderr="null")
    with aot.WasiCtx(config) as wasi:
        instance = wasi.instantiate(compiled("hello"))
        with pytest.raises(aot.Exit) as info:
            instance.exports._start()
    assert info.value.code == 42
    assert isinstance(info.value, aot.AotError) and "42" in str(info.value)


def test_proc_exit_unwinds_wasm_and_the_code_is_unsigned():
    module = aot.compile(wat("""(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (global $after (mut i32) (i32.const 0))
        (func (export "_start") (call $exit (i32.const -2)) (global.set $after (i32.const 1)))
        (func (export "after") (result i32) global.get $after))"""))
    with aot.WasiCtx() as wasi:
        instance = wasi.instantiate(module)
        with pytest.raises(aot.Exit) as info:
            instance.exports._start()
        assert info.value.code == 2**32 - 2
        assert instance.exports.after() == 0  # nothing after proc_exit ran


def test_files_in_a_preopened_directory(tmp_path):
    box = tmp_path / "box"
    box.mkdir()
    rng = random.Random(7)
    lines = [f"line {i}: {rng.randrange(10**6)}\n" for i in range(rng.randrange(3, 9))]
    (box / "input.txt").write_text("".join(lines))
    text = both(tmp_path, "files", preopen=box).stdout.decode()
    assert "FAILED" not in text
    assert f"input: {len(lines)} lines, {len(''.join(lines))} bytes\n" in text
    assert "pread whole file: FIRST line\nappended\n" in text
    assert "many: 300 entries\n" in text
    assert "listing of out:\n  renamed.txt\n  sub/\n" in text
    for what, err in [("open missing.txt", "No such file or directory"),
                      ("mkdir out again", "File exists"),
                      ("rmdir out (not empty)", "Directory not empty"),
                      ("unlink out (a directory)", "Is a directory"),
                      ("opendir input.txt", "Not a directory")]:
        assert f"{what}: {err}\n" in text
    # Both runs cleaned up after themselves, and only touched the preopen.
    assert sorted(os.listdir(box)) == ["input.txt"]
    assert (box / "input.txt").read_text() == "".join(lines)


def test_clocks_sleep_and_random(tmp_path):
    text = both(tmp_path, "clock_random").stdout.decode()
    facts = dict(line.split(": ", 1) for line in text.splitlines())
    assert len(facts) == 13
    assert facts["poll_oneoff"] == "errno 0, 1 event(s), first userdata 11, type clock: yes"
    assert facts["poll_oneoff with no subscriptions"] == "errno 28"
    assert facts["random bytes"] == "32 ok"
    others = {k: v for k, v in facts.items() if not k.startswith(("poll", "random", "sched"))}
    assert set(others.values()) == {"yes"}, others


def test_hash_matches_python(tmp_path):
    box = tmp_path / "box"
    box.mkdir()
    data = random.Random(1).randbytes(300_001)  # not a multiple of the 64 KiB block
    (box / "data.bin").write_bytes(data)
    out = both(tmp_path, "hash", args=["data.bin"], preopen=box)
    assert out.stdout.decode() == (f"sha256 {hashlib.sha256(data).hexdigest()}\n"
                                   f"crc32 {zlib.crc32(data):08x}\nbytes {len(data)}\n")


def test_missing_file_is_reported_by_the_program(tmp_path):
    out = both(tmp_path, "hash", args=["nope.bin"], preopen=tmp_path)
    assert out.code == 1 and out.stdout == b""


# --- stdio ------------------------------------------------------------------------------

def _hello_config(**stdio) -> aot.WasiConfig:
    return aot.WasiConfig(args=["hello", "x"], env={"GREETING": "g"}, **stdio)


def test_stdout_captured_redirected_and_inherited_agree(tmp_path):
    with aot.WasiCtx(_hello_config(stdout="capture", stderr="capture")) as wasi:
        assert wasi.run(compiled("hello")) == 0
        captured, captured_err = wasi.stdout, wasi.stderr
    assert b"argv[1]=x\n" in captured and captured_err == b"this goes to stderr\n"

    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with aot.WasiCtx(_hello_config(stdout=out, stderr=err)) as wasi:
        assert wasi.run(compiled("hello")) == 0
    assert out.read_bytes() == captured and err.read_bytes() == captured_err

    proc = subprocess.run([sys.executable, "-m", "aot", "run", str(example("hello")),
                           "--env", "GREETING=g", "--", "x"], capture_output=True)
    assert proc.returncode == 0
    assert proc.stderr == captured_err
    # argv[0] is the path as given on the command line.
    assert proc.stdout == captured.replace(b"argv[0]=hello", f"argv[0]={example('hello')}".encode())


def test_stdin_from_bytes_and_from_a_file(tmp_path):
    module = aot.compile(wat("""(module
        (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start") (local $n i32)
          (i32.store (i32.const 0) (i32.const 64))    ;; iovec: buf 64, len 3
          (i32.store (i32.const 4) (i32.const 3))
          (loop $more                                 ;; copy stdin to stdout 3 bytes at a time
            (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
            (local.set $n (i32.load (i32.const 16)))
            (if (local.get $n) (then
              (i32.store (i32.const 4) (local.get $n))
              (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
              (i32.store (i32.const 4) (i32.const 3))
              (br $more))))))"""))
    text = b"stdin, copied in pieces\n"
    with aot.WasiCtx(aot.WasiConfig(stdin=text, stdout="capture")) as wasi:
        assert wasi.run(module) == 0
        assert wasi.stdout == text
    (tmp_path / "in.txt").write_bytes(text * 2)
    with aot.WasiCtx(aot.WasiConfig(stdin=tmp_path / "in.txt", stdout="capture")) as wasi:
        assert wasi.run(module) == 0
        assert wasi.stdout == text * 2


@pytest.mark.parametrize("bad", [dict(stdout="stdout.txt"), dict(stdin="capture"),
                                 dict(stderr=3.5), dict(args=["a\0b"]), dict(env={"A=B": "c"}),
                                 dict(preopens=[("/nonexistent/dir", ".")])])
def test_bad_configuration_is_an_aot_error(bad):
    with pytest.raises(aot.AotError) as info:
        aot.WasiCtx(aot.WasiConfig(**bad))
    assert "WASI" in str(info.value) or "preopen" in str(info.value)


def test_uncaptured_stdout_cannot_be_read():
    with aot.WasiCtx(aot.WasiConfig(stdout="null")) as wasi, pytest.raises(aot.AotError,
                                                                            match="not captured"):
        _ = wasi.stdout


# --- aot run ----------------------------------------------------------------------------

def test_cli_runs_a_command_with_dir_env_and_args(tmp_path, capfd):
    box = tmp_path / "box"
    box.mkdir()
    data = random.Random(3).randbytes(10_000)
    (box / "d.bin").write_bytes(data)
    assert main(["run", str(example("hash")), "--dir", f"{box}::/data", "/data/d.bin"]) == EXIT_OK
    assert capfd.readouterr().out.startswith(f"sha256 {hashlib.sha256(data).hexdigest()}\n")

    assert main(["run", str(example("hello")), "--env", "EXIT_CODE=9", "--env", "GREETING",
                 "--", "--not-an-option"]) == 9
    assert "argv[1]=--not-an-option\n" in capfd.readouterr().out


def test_cli_exit_status_of_proc_exit_past_255_is_1(tmp_path, capfd):
    prog = tmp_path / "exit.wasm"
    prog.write_bytes(wat("""(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start") (call $exit (i32.const 256))))"""))
    assert main(["run", str(prog)]) == EXIT_ERROR


def test_cli_trap_in_a_wasi_program(tmp_path, capfd):
    prog = tmp_path / "trap.wasm"
    prog.write_bytes(wat("""(module
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start") unreachable))"""))
    assert main(["run", str(prog)]) == EXIT_TRAP
    assert "unreachable" in capfd.readouterr().err


def test_cli_invoke_an_export_of_a_wasi_module(tmp_path, capfd):
    prog = tmp_path / "lib.wasm"
    prog.write_bytes(wat("""(module
        (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "argc") (result i32)
          (drop (call $sizes (i32.const 0) (i32.const 4))) (i32.load (i32.const 0))))"""))
    assert main(["run", str(prog), "--invoke", "argc"]) == EXIT_OK
    assert capfd.readouterr().out == "1\n"  # the program name only


@pytest.mark.parametrize(("argv", "message"), [
    (["--dir", "/nonexistent/dir"], "cannot preopen directory '/nonexistent/dir'"),
    (["--dir", "x::"], "expected HOST or HOST::GUEST"),
    (["--env", "=v"], "the variable name is empty"),
])
def test_cli_bad_wasi_options(capfd, argv, message):
    assert main(["run", str(example("hello")), *argv]) == EXIT_ERROR
    assert message in capfd.readouterr().err


def test_cli_module_without_start_needs_invoke(capfd):
    example_wasm = Path(__file__).resolve().parent.parent / "examples" / "example.wasm"
    assert main(["run", str(example_wasm)]) == EXIT_ERROR
    assert "not a WASI command" in capfd.readouterr().err
