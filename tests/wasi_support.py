"""Helpers for the WASI tests: run an example program under aot and under wasmtime-py
with the same arguments, environment, preopened directory and captured stdout; and a
harness module whose exports call WASI functions one by one."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import aot
from aot.wasi import SIGNATURES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "wasi"


def example(name: str) -> Path:
    return EXAMPLES / f"{name}.wasm"


@cache
def compiled(name: str) -> aot.Module:
    return aot.compile(example(name).read_bytes())


@dataclass
class Outcome:
    code: int
    stdout: bytes


def run_aot(name: str, args=(), env=(), preopen: Path | None = None, guest: str = ".") -> Outcome:
    config = aot.WasiConfig(args=[f"{name}.wasm", *args], env=list(env), stdout="capture", stderr="null",
                            preopens=[(preopen, guest)] if preopen is not None else [])
    with aot.WasiCtx(config) as wasi:
        code = wasi.run(compiled(name))
        return Outcome(code, wasi.stdout)


def run_aot_cli(name: str, args=(), env=(), preopen: Path | None = None,
                guest: str = ".") -> Outcome:
    """`aot run` in a subprocess, as a user types it: its stdout and its exit status."""
    import subprocess
    import sys

    # Run from the examples folder: argv[0] is then `NAME.wasm`, as for the others.
    argv = [sys.executable, "-m", "aot", "run", example(name).name]
    if preopen is not None:
        argv += ["--dir", f"{preopen}::{guest}"]
    for key, value in env:
        argv += ["--env", f"{key}={value}"]
    proc = subprocess.run([*argv, "--", *args], capture_output=True, timeout=120, cwd=EXAMPLES)
    return Outcome(proc.returncode, proc.stdout)


def run_wasmtime(name: str, out_file: Path, args=(), env=(), preopen: Path | None = None,
                 guest: str = ".") -> Outcome:
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = [f"{name}.wasm", *args]
    config.env = list(env)
    if preopen is not None:
        config.preopen_dir(str(preopen), guest)
    config.stdout_file = str(out_file)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(example(name))))
    try:
        instance.exports(store)["_start"](store)
        code = 0
    except wasmtime.ExitTrap as exc:
        code = exc.code
    del store, instance  # closes the stdout file
    return Outcome(code, out_file.read_bytes())


# --- the call-by-call harness -----------------------------------------------------------

_WAT_TYPE = {aot.ValType.I32: "i32", aot.ValType.I64: "i64"}


def harness_wat(names: list[str], extra_imports: dict[str, tuple[str, str]] | None = None) -> str:
    """A module importing `names` from wasi_snapshot_preview1 (plus `extra_imports`:
    name -> (params, results), e.g. ("i32 i64", "i32")), each exported through a wasm
    function that calls it, so a test goes wasm -> host like a real program."""
    sigs = {n: (" ".join(_WAT_TYPE[t] for t in SIGNATURES[n].params),
                " ".join(_WAT_TYPE[t] for t in SIGNATURES[n].results)) for n in names}
    sigs.update(extra_imports or {})
    lines = ["(module"]
    body = []
    for i, (name, (params, results)) in enumerate(sigs.items()):
        sig = (f"(param {params})" if params else "") + (f" (result {results})" if results else "")
        lines.append(f'  (import "wasi_snapshot_preview1" "{name}" (func $f{i} {sig}))')
        gets = " ".join(f"local.get {k}" for k in range(len(params.split())))
        body.append(f'  (func (export "{name}") {sig} {gets} call $f{i})')
    lines += ['  (memory (export "memory") 1 100)', *body, ")"]
    return "\n".join(lines)


class Harness:
    """A harness instance bound to a WasiCtx, with a bump allocator in its memory."""

    def __init__(self, wasm: bytes, config: aot.WasiConfig):
        self.wasi = aot.WasiCtx(config)
        self.instance = self.wasi.instantiate(aot.compile(wasm))
        self.exports = self.instance.exports
        self.memory = self.exports.memory
        self._next = 1024

    def __getattr__(self, name: str):
        return getattr(self.exports, name)

    def alloc(self, size: int, align: int = 8) -> int:
        ptr = (self._next + align - 1) // align * align
        self._next = ptr + size
        return ptr

    def put(self, data: bytes) -> tuple[int, int]:
        ptr = self.alloc(len(data) or 1)
        self.memory.write(ptr, data)
        return ptr, len(data)

    def u32(self, ptr: int) -> int:
        return struct.unpack("<I", self.memory.read(ptr, 4))[0]

    def u64(self, ptr: int) -> int:
        return struct.unpack("<Q", self.memory.read(ptr, 8))[0]

    def open(self, dir_fd: int, path: bytes, oflags: int = 0, rights: int = 0xFFFF_FFFF,
             fdflags: int = 0, follow: bool = True) -> tuple[int, int]:
        """path_open; (errno, new fd)."""
        p, n = self.put(path)
        out = self.alloc(4)
        err = self.exports.path_open(dir_fd, int(follow), p, n, oflags, rights, rights, fdflags, out)
        return err, self.u32(out) if err == 0 else -1

    def close(self) -> None:
        self.wasi.close()


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under `root` with its kind, size, content digest and mtime: to show
    that nothing there changed."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            content = p.read_bytes() if p.is_file() and not p.is_symlink() else None
            state[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, content)
    return state
