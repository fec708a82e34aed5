"""Kernels on aot and wasmtime-py in the same run:

* SIMD (issue 3): f32x4 dot product and i8x16 saturating add, aot vs wasmtime;
* control costs (issue 4): the same kernels compiled with everything off, then with
  interrupt checks, with fuel, and with explicit bounds checks instead of guard pages.

Groups are printed with ratios by bench/conftest.py."""

from __future__ import annotations

import random
import struct

import pytest
import wasmtime

import aot

from .conftest import wat
from .kernels import COMPUTE, MEMORY, SIMD

N = 1 << 16  # elements per kernel call


def fill(write, n_floats: int = N) -> None:
    rng = random.Random(7)
    write(0, struct.pack(f"<{n_floats}f", *(rng.uniform(-1, 1) for _ in range(n_floats))))
    write(4 * n_floats, struct.pack(f"<{n_floats}f", *(rng.uniform(-1, 1) for _ in range(n_floats))))


def aot_instance(text: str, **options):
    return aot.compile(wat(text), **options).instantiate()


def wasmtime_instance(text: str):
    store = wasmtime.Store()
    module = wasmtime.Module(store.engine, wat(text))
    return store, wasmtime.Instance(store, module, []).exports(store)


# --- issue 3: SIMD ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["aot", "wasmtime"])
def test_simd_dot(benchmark, engine):
    benchmark.group = "simd f32x4 dot, 64K floats"
    if engine == "aot":
        e = aot_instance(SIMD).exports
        fill(e.mem.write)
        result = benchmark(e.dot, 0, 4 * N, N)
    else:
        store, e = wasmtime_instance(SIMD)
        fill(lambda off, data: e["mem"].write(store, data, off))
        result = benchmark(e["dot"], store, 0, 4 * N, N)
    assert result != 0.0


@pytest.mark.parametrize("engine", ["aot", "wasmtime"])
def test_simd_brighten(benchmark, engine):
    benchmark.group = "simd i8x16.add_sat_u, 1 MiB"
    n = 1 << 20
    if engine == "aot":
        e = aot_instance(SIMD).exports
        benchmark(e.brighten, 0, n, 3)
        assert e.mem.read(0, 1) == b"\xff"
    else:
        store, e = wasmtime_instance(SIMD)
        benchmark(e["brighten"], store, 0, n, 3)


# --- issue 4: control costs (aot variants) ------------------------------------------------------

OFF = {"interrupts": False, "fuel": False, "backtraces": True, "bounds_checks": "guard"}
VARIANTS = {
    "off": {},
    "interrupts": {"interrupts": True},
    "fuel": {"fuel": True},
    "explicit": {"bounds_checks": "explicit"},
}


def variant(text: str, name: str):
    options = {**OFF, **VARIANTS[name]}
    inst = aot_instance(text, **options)
    if options["fuel"]:  # a store refuses fuel for code compiled without metering
        inst.set_fuel(2**62)
    return inst.exports


@pytest.mark.parametrize("engine", ["off", "interrupts", "fuel", "wasmtime"])
def test_compute_collatz(benchmark, engine):
    benchmark.group = "compute: collatz_sum(3000)"
    if engine == "wasmtime":
        store, e = wasmtime_instance(COMPUTE)
        result = benchmark(e["collatz_sum"], store, 3000)
    else:
        result = benchmark(variant(COMPUTE, engine).collatz_sum, 3000)
    assert result == 215063


@pytest.mark.parametrize("engine", ["off", "interrupts", "fuel", "wasmtime"])
def test_compute_fib(benchmark, engine):
    benchmark.group = "calls: fib(22)"
    if engine == "wasmtime":
        store, e = wasmtime_instance(COMPUTE)
        result = benchmark(e["fib"], store, 22)
    else:
        result = benchmark(variant(COMPUTE, engine).fib, 22)
    assert result == 17711


@pytest.mark.parametrize("engine", ["off", "explicit", "wasmtime"])
def test_memory_stencil(benchmark, engine):
    benchmark.group = "memory: 3-point stencil, 256K i32"
    n = 1 << 18
    data = random.Random(3).randbytes(4 * n)
    if engine == "wasmtime":
        store, e = wasmtime_instance(MEMORY)
        e["mem"].write(store, data, 0)
        benchmark(e["stencil"], store, 0, 4 * n, n)
    else:
        e = variant(MEMORY, engine)
        e.mem.write(0, data)
        benchmark(e.stencil, 0, 4 * n, n)


@pytest.mark.parametrize("engine", ["off", "explicit", "wasmtime"])
def test_memory_matmul(benchmark, engine):
    benchmark.group = "memory: f64 matmul 64x64"
    n = 64
    data = struct.pack(f"<{2 * n * n}d", *(random.Random(5).uniform(-1, 1) for _ in range(2 * n * n)))
    a, b, c = 0, 8 * n * n, 16 * n * n
    if engine == "wasmtime":
        store, e = wasmtime_instance(MEMORY)
        e["mem"].write(store, data, 0)
        benchmark(e["matmul"], store, a, b, c, n)
    else:
        e = variant(MEMORY, engine)
        e.mem.write(0, data)
        benchmark(e.matmul, a, b, c, n)
