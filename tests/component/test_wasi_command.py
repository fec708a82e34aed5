"""A WASI command component built by a real toolchain (programs/command.c: Debian's
clang and wasi-libc, then jco's preview-1 command adapter; programs/build.sh) runs under
`aot run` as under wasmtime: the same stdout, stderr, exit status and files written.

wasmtime-py runs it in this process with its own WASI 0.2 (`Linker.add_wasip2`), its
stdio going to files; `aot run` runs in a subprocess, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import wasmtime
import wasmtime.component as wc

from aot.component import Component, Linker, Variant
from aot.component.wasi import add_to_linker, imported_versions
from aot.component.wasi.descriptors import Descriptor
from aot.component.wasi.errors import error_code
from aot.component.wasi.filesystem import PREOPEN_FLAGS
from aot.component.wasi.poll import DeadlinePollable, Pollable, poll
from aot.component.wasi.streams import EntryInput, EntryOutput, StreamClosed
from aot.errors import Exit, Trap
from aot.wasi import WasiConfig
from aot.wasi.errno import WasiError
from aot.wasi.stdio import HostStream, MemoryStream

PROGRAM = Path(__file__).parent / "programs" / "command.wasm"
RUN = "wasi:cli/run@0.2.12"  # what jco 1.35's adapter exports

needs_program = pytest.mark.skipif(
    not PROGRAM.exists(), reason=f"{PROGRAM} is missing: build it with programs/build.sh")


@dataclass
class Outcome:
    status: int
    stdout: str
    stderr: str


@dataclass
class Case:
    args: list[str]
    env: dict[str, str]
    stdin: bytes = b""
    data: bool = False  # a directory preopened as /data


def _data_dir(root: Path) -> Path:
    d = root / "data"
    (d / "sub").mkdir(parents=True)
    (d / "in.txt").write_text("hello file\nsecond line\n")
    (d / "empty.txt").write_bytes(b"")
    return d


def _run_aot(case: Case, tmp: Path) -> tuple[Outcome, Path | None]:
    cmd = [sys.executable, "-m", "aot", "run", str(PROGRAM)]
    for name, value in case.env.items():
        cmd += ["--env", f"{name}={value}"]
    data = _data_dir(tmp / "aot") if case.data else None
    if data is not None:
        cmd += ["--dir", f"{data}::/data"]
    proc = subprocess.run([*cmd, "--", *case.args], input=case.stdin, capture_output=True,
                          timeout=120, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    return Outcome(proc.returncode, proc.stdout.decode(), proc.stderr.decode()), data


def _run_wasmtime(case: Case, tmp: Path) -> tuple[Outcome, Path | None]:
    config = wasmtime.Config()
    config.wasm_component_model = True
    engine = wasmtime.Engine(config)
    linker = wc.Linker(engine)
    linker.add_wasip2()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [str(PROGRAM), *case.args]  # argv[0] as `aot run` gives it
    wasi.env = list(case.env.items())
    io = tmp / "wasmtime-io"
    io.mkdir()
    (io / "stdin").write_bytes(case.stdin)
    wasi.stdin_file = str(io / "stdin")
    wasi.stdout_file = str(io / "stdout")
    wasi.stderr_file = str(io / "stderr")
    data = _data_dir(tmp / "wasmtime") if case.data else None
    if data is not None:
        wasi.preopen_dir(str(data), "/data")
    store.set_wasi(wasi)
    instance = linker.instantiate(store, wc.Component.from_file(engine, str(PROGRAM)))
    run = instance.get_func(store, instance.get_export_index(
        store, "run", instance.get_export_index(store, RUN)))
    try:
        result = run(store)
        status = 0 if result is None else 1
    except wasmtime.ExitTrap as exc:
        status = exc.code
    except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:  # a component's trap is the latter
        assert "wasm trap" in str(exc)
        status = 3  # what `aot run` answers for a trap (wasmtime's CLI has its own)
    return Outcome(status, (io / "stdout").read_bytes().decode(),
                   (io / "stderr").read_bytes().decode()), data


CASES = {
    "args-env-clocks-random": Case(["one", "two words", "ünïcödé", ""],
                                   {"GREETING": "hello from the host"}),
    "no-greeting": Case([], {}),
    # The adapter turns exit(7) into wasi:cli/exit(err): status 1, in both runtimes.
    "exit-status": Case(["x"], {"GREETING": "bye", "EXIT_STATUS": "7"}),
    "files-and-stdin": Case(
        ["@/data/in.txt", "@/data/empty.txt", "ls:/data", ">/data/out.txt", "@/data/out.txt",
         "-", "@/data/missing", "ls:/data/in.txt", "ls:/nope", ">/nope/x",
         "@/data/../../etc/passwd", "ls:/data/sub"],
        {"GREETING": "files"}, stdin=b"0123456789" * 100, data=True),
}


@needs_program
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_aot_run_gives_what_wasmtime_gives(case: Case, tmp_path: Path) -> None:
    ours, our_data = _run_aot(case, tmp_path)
    theirs, their_data = _run_wasmtime(case, tmp_path)
    assert ours == theirs
    assert "GREETING=" in ours.stdout and "random bytes: 16\n" in ours.stdout
    assert "wall clock after 2020: yes" in ours.stdout
    assert ours.stderr == f"to stderr: {len(case.args)} argument(s)\n"
    if case.data:
        assert (our_data / "out.txt").read_text() == (their_data / "out.txt").read_text() \
            == "written by the command component\n"
        assert "stdin: 1000 bytes\n" in ours.stdout


@needs_program
def test_the_expected_output(tmp_path: Path) -> None:
    """What the program prints, spelled out (not only "as wasmtime")."""
    ours, _ = _run_aot(Case(["a b", "ü"], {"GREETING": "hi", "EXIT_STATUS": "0"}), tmp_path)
    assert ours == Outcome(0, "argc=3\nargv[1]=a b\nargv[2]=ü\nGREETING=hi\n"
                              "wall clock after 2020: yes\nmonotonic clock forward: yes\n"
                              "random bytes: 16\nexiting with 0\n",
                           "to stderr: 2 argument(s)\n")


@needs_program
def test_a_trap_exits_with_3_and_says_so(tmp_path: Path) -> None:
    ours, _ = _run_aot(Case(["trap"], {}), tmp_path)
    theirs, _ = _run_wasmtime(Case(["trap"], {}), tmp_path)
    assert ours.status == theirs.status == 3
    assert ours.stdout == theirs.stdout
    assert "exiting" not in ours.stdout  # the trap came first
    assert ours.stderr.startswith("aot: wasm trap: ")
    assert "unreachable" in ours.stderr


@needs_program
def test_the_library_api_with_captured_output(tmp_path: Path) -> None:
    component = Component(PROGRAM)
    assert imported_versions(component) == ["0.2.12"]
    linker = Linker()
    config = WasiConfig(args=["prog", "-", "@/d/f"], env={"EXIT_STATUS": "0"},
                        stdin=b"abc", stdout="capture", stderr="capture",
                        preopens=[(tmp_path, "/d")])
    (tmp_path / "f").write_text("in a file\n")
    with add_to_linker(linker, config, versions=imported_versions(component)) as wasi:
        instance = linker.instantiate(component)
        with pytest.raises(Exit) as exited:
            instance[RUN]["run"]()
        assert exited.value.code == 0
        out = wasi.ctx.stdout.decode()
    assert "GREETING=(unset)\n" in out
    assert "stdin: 3 bytes\n" in out
    assert "contents of /d/f:\nin a file\n" in out
    assert wasi.ctx.stderr == b"to stderr: 2 argument(s)\n"


@needs_program
def test_invoke_is_not_supported_for_components() -> None:
    proc = subprocess.run([sys.executable, "-m", "aot", "run", str(PROGRAM), "--invoke", "run"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not supported: aot run --invoke on a component" in proc.stderr


def test_a_component_without_wasi_run_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lib.wasm"
    path.write_bytes(wasmtime.wat2wasm("(component)"))
    proc = subprocess.run([sys.executable, "-m", "aot", "run", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "exports no wasi:cli/run@0.2 instance" in proc.stderr


# --- the host pieces the program does not reach ------------------------------------------
# (the adapter imports only what the C program uses; these are the rest of the WIT)


def test_streams_over_memory_and_pipes() -> None:
    captured = MemoryStream(readable=False)
    out = EntryOutput(captured)
    assert out.check_write() > 0
    out.write(b"abc")
    out.write(bytes(2))
    assert bytes(captured.data) == b"abc\0\0"

    stdin = EntryInput(MemoryStream(readable=True, data=b"xyz"))
    assert stdin.read(2, blocking=False) == b"xy"
    assert stdin.read(10, blocking=True) == b"z"
    with pytest.raises(StreamClosed):
        stdin.read(1, blocking=True)

    r, w = os.pipe()
    try:
        pipe = EntryInput(HostStream(r, readable=True, owned=False))
        assert not pipe.subscribe().ready()
        assert pipe.read(5, blocking=False) == b""  # nothing yet: no bytes, not an error
        os.write(w, b"hi")
        assert pipe.subscribe().ready()
        assert pipe.read(5, blocking=False) == b"hi"
        os.close(w)
        w = -1
        with pytest.raises(StreamClosed):
            pipe.read(5, blocking=True)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_poll_waits_for_the_earliest_ready() -> None:

    now = time.monotonic_ns()
    later = DeadlinePollable(now + 10**12)
    soon = DeadlinePollable(now + 20_000_000)  # 20 ms
    assert poll([later, soon]) == [1]
    assert time.monotonic_ns() >= soon.deadline
    assert poll([later, Pollable()]) == [1]
    with pytest.raises(Trap, match="empty"):
        poll([])


def test_descriptors_under_a_preopen(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    root = Descriptor(os.open(tmp_path / "d", os.O_RDONLY | os.O_DIRECTORY), PREOPEN_FLAGS)
    try:
        rw = frozenset({"read", "write"})
        f = root.open_at(False, "a.txt", frozenset({"create", "exclusive"}), rw)
        assert f.write(b"hello", 0) == 5
        assert f.read(100, 1, 1 << 20) == (b"ello", True)
        assert f.stat()["size"] == 5 and f.get_type() == "regular-file"
        f.set_times(Variant("no-change"), Variant("timestamp", {"seconds": 7, "nanoseconds": 0}))
        assert f.stat()["data-modification-timestamp"] == {"seconds": 7, "nanoseconds": 0}
        assert f.is_same_object(root.open_at(False, "a.txt", frozenset(), frozenset({"read"})))
        f.close()
        root.create_directory_at("sub")
        root.rename_at("a.txt", root, "sub/b.txt")
        assert [e["name"] for e in iter(root.entries().next, None)] == ["sub"]
        assert root.stat_at(False, "sub/b.txt").st_size == 5
        root.symlink_at("sub/b.txt", "link")
        assert root.readlink_at("link") == "sub/b.txt"
        assert root.stat_at(True, "link").st_size == 5
        for call, code in [
            (lambda: root.open_at(False, "../x", frozenset({"create"}), rw), "not-permitted"),
            (lambda: root.stat_at(False, "/etc"), "not-permitted"),
            (lambda: root.symlink_at("/etc/passwd", "abs"), "not-permitted"),
            (lambda: root.unlink_file_at("sub"), "is-directory"),
            (lambda: root.remove_directory_at("sub"), "not-empty"),
            (lambda: root.stat_at(False, "nope"), "no-entry"),
            (lambda: root.open_at(False, "sub", frozenset({"create", "exclusive"}), rw),
             "exist"),
        ]:
            with pytest.raises((OSError, WasiError)) as failed:
                call()
            assert error_code(failed.value) == code
        read_only = Descriptor(os.dup(root.host_fd), frozenset({"read"}))
        with pytest.raises(WasiError) as failed:
            read_only.create_directory_at("other")
        assert error_code(failed.value) == "not-permitted"
        read_only.close()
        root.unlink_file_at("link")
        root.unlink_file_at("sub/b.txt")
        root.remove_directory_at("sub")
        assert root.entries().next() is None
    finally:
        root.close()
