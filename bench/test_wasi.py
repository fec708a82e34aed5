"""WASI programs on aot and wasmtime-py: examples/wasi/hash.wasm (SHA-256 and CRC-32 of
an 8 MiB file read through fd_read: the compiled code's speed), and hello.wasm (a few
printf calls: what setting up WASI, instantiating and running a small command costs).
Each round is a whole program run in a fresh WASI context."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
import wasmtime

import aot

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "wasi"
SIZE = 8 << 20


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("wasi-bench")
    data = random.Random(2024).randbytes(SIZE)
    (path / "data.bin").write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def aot_runner(name: str, args: list[str], preopen: Path | None, target_cpu: str = "native"):
    module = aot.compile((EXAMPLES / f"{name}.wasm").read_bytes(), target_cpu=target_cpu)
    preopens = [(preopen, ".")] if preopen else []

    def run() -> bytes:
        config = aot.WasiConfig(args=[name, *args], preopens=preopens, stdout="capture")
        with aot.WasiCtx(config) as wasi:
            assert wasi.run(module) == 0
            return wasi.stdout

    return run


def wasmtime_runner(name: str, args: list[str], preopen: Path | None, out: Path):
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(EXAMPLES / f"{name}.wasm"))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()

    def run() -> bytes:
        store = wasmtime.Store(engine)
        config = wasmtime.WasiConfig()
        config.argv = [name, *args]
        if preopen:
            config.preopen_dir(str(preopen), ".")
        config.stdout_file = str(out)
        store.set_wasi(config)
        linker.instantiate(store, module).exports(store)["_start"](store)
        del store  # closes the output file
        return out.read_bytes()

    return run


def _runner(engine: str, name: str, args: list[str], preopen: Path | None, tmp_path: Path):
    if engine == "aot":
        return aot_runner(name, args, preopen)
    return wasmtime_runner(name, args, preopen, tmp_path / "stdout.txt")


@pytest.mark.parametrize("engine", ["aot", "wasmtime"])
def test_wasi_hash(benchmark, engine, data_dir, tmp_path):
    benchmark.group = "wasi sha256+crc32, 8 MiB"
    path, digest = data_dir
    run = _runner(engine, "hash", ["data.bin"], path, tmp_path)
    out = benchmark.pedantic(run, rounds=8, warmup_rounds=1)
    assert out.startswith(f"sha256 {digest}\n".encode())


# The default target of travelling artifacts (issue 16): the portable x86-64-v2, the
# x86-64-v3 level (AVX2, BMI2: rorx for the hashes' rotates), this machine's CPU.
@pytest.mark.parametrize("target_cpu", ["x86-64-v2", "x86-64-v3", "native"])
def test_wasi_hash_by_target(benchmark, target_cpu, data_dir):
    benchmark.group = "wasi sha256+crc32, 8 MiB, by target CPU"
    path, digest = data_dir
    run = aot_runner("hash", ["data.bin"], path, target_cpu)
    out = benchmark.pedantic(run, rounds=8, warmup_rounds=1)
    assert out.startswith(f"sha256 {digest}\n".encode())


@pytest.mark.parametrize("engine", ["aot", "wasmtime"])
def test_wasi_hello(benchmark, engine, tmp_path):
    benchmark.group = "wasi hello: set up, instantiate, run"
    run = _runner(engine, "hello", ["x"], None, tmp_path)
    out = benchmark.pedantic(run, rounds=50, warmup_rounds=2)
    assert b"argv[1]=x\n" in out
