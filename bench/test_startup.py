"""From an artifact on disk to the first completed call, for a small module and for a
module of about 1 MB, beside wasmtime-py (`Module.deserialize_file` + `Instance` + call);
and the cost of a second instance of an already loaded module.

Like wasmtime's `deserialize_file`, every aot round maps the same file anew (aot's
loader maps artifacts itself, `aot.loader.mapping`: nothing is shared between loads).
The file carries its verification mark (`aot.abi.fingerprint`: aot marks the artifacts
it writes, and files it has checked once), as a cached artifact does; `aot-verify`
loads a fresh copy without the mark each round, so it pays the full checksum pass."""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import time
from pathlib import Path

import pytest
import wasmtime

import aot

from .conftest import wat

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "example.wasm"


def big_module_wat(n_funcs: int = 2000, data_bytes: int = 600_000) -> str:
    """~1 MB of wasm: many small functions, a table of them, and a data segment."""
    funcs = "\n".join(
        f"(func $f{i} (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const {i + 3}))"
        f" (i32.xor (local.get 0) (i32.const {i * 7 + 1}))))"
        for i in range(n_funcs)
    )
    elems = " ".join(f"$f{i}" for i in range(n_funcs))
    data = "".join(f"\\{(i * 37) % 256:02x}" for i in range(data_bytes))
    return f"""(module
      (type $t (func (param i32) (result i32)))
      (memory (export "mem") 16)
      (table {n_funcs} funcref)
      {funcs}
      (elem (i32.const 0) {elems})
      (func (export "run") (param i32) (result i32) (call_indirect (type $t) (local.get 0) (local.get 0)))
      (data (i32.const 0) "{data}"))"""


MODULES = {"small": lambda: EXAMPLE.read_bytes(), "1MB": lambda: wat(big_module_wat())}
CALLS = {"small": ("fib", 20), "1MB": ("run", 5)}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("startup")
    out = {}
    for name, make in MODULES.items():
        wasm = make()
        aot.compile_file(wasm, tmp / f"{name}.so")
        engine = wasmtime.Engine()
        (tmp / f"{name}.cwasm").write_bytes(wasmtime.Module(engine, wasm).serialize())
        out[name] = (tmp, len(wasm), engine)
    return out


def aot_round(path: Path, size: str) -> None:
    """File to first completed call, with aot."""
    export, arg = CALLS[size]
    aot.load(path).instantiate().exports[export](arg)


def wasmtime_round(engine: wasmtime.Engine, path: Path, size: str) -> None:
    """The same with wasmtime-py: `deserialize_file`, a store, an instance, the call."""
    export, arg = CALLS[size]
    store = wasmtime.Store(engine)
    module = wasmtime.Module.deserialize_file(engine, str(path))
    wasmtime.Instance(store, module, []).exports(store)[export](store, arg)


@pytest.mark.parametrize("size", ["small", "1MB"])
@pytest.mark.parametrize("engine", ["aot", "aot-verify", "wasmtime"])
def test_artifact_to_first_call(benchmark, artifacts, size, engine):
    tmp, wasm_size, wt_engine = artifacts[size]
    benchmark.group = f"load + instantiate + first call: {size} ({wasm_size // 1024} KiB wasm)"
    counter = itertools.count()
    if engine.startswith("aot"):
        def setup():
            if engine == "aot":
                return (tmp / f"{size}.so",), {}
            copy = tmp / f"{size}-{engine}-{next(counter)}.so"
            shutil.copyfile(tmp / f"{size}.so", copy)
            return (copy,), {}

        def run(path):
            aot_round(path, size)
    else:
        def setup():
            return (tmp / f"{size}.cwasm",), {}

        def run(path):
            wasmtime_round(wt_engine, path, size)
    benchmark.pedantic(run, setup=setup, rounds=60, warmup_rounds=2)


@pytest.mark.parametrize("size", ["small", "1MB"])
def test_artifact_to_first_call_alternating(benchmark, artifacts, size):
    """The same path, aot and wasmtime-py rounds alternating: this machine's speed
    drifts by tens of percent over seconds, and each pair of rounds sees the same
    conditions.  The timed rounds are aot's; wasmtime-py's run in the untimed setup,
    timed here, and the summary gives the median of the per-pair ratios."""
    tmp, _, wt_engine = artifacts[size]
    benchmark.group = f"alternating rounds, file to first call: {size}"
    wt_times: list[float] = []

    def setup():
        t0 = time.perf_counter()
        wasmtime_round(wt_engine, tmp / f"{size}.cwasm", size)
        wt_times.append(time.perf_counter() - t0)
        return (tmp / f"{size}.so", size), {}

    benchmark.pedantic(aot_round, setup=setup, rounds=200, warmup_rounds=2)
    aot_times = benchmark.stats.stats.data
    wt_timed = wt_times[-len(aot_times):]  # setup runs for the warm-up rounds too
    benchmark.extra_info["wasmtime_median"] = statistics.median(wt_timed)
    benchmark.extra_info["paired_ratio"] = statistics.median(
        w / a for a, w in zip(aot_times, wt_timed))


@pytest.mark.parametrize("size", ["small", "1MB"])
@pytest.mark.parametrize("engine", ["aot", "wasmtime"])
def test_second_instance(benchmark, artifacts, size, engine):
    tmp, wasm_size, wt_engine = artifacts[size]
    benchmark.group = f"another instance of a loaded module: {size}"
    if engine == "aot":
        module = aot.load(tmp / f"{size}.so")
        module.instantiate()
        benchmark(module.instantiate)
    else:
        module = wasmtime.Module.deserialize_file(wt_engine, str(tmp / f"{size}.cwasm"))

        def run():
            store = wasmtime.Store(wt_engine)
            wasmtime.Instance(store, module, [])
        benchmark(run)


# A new process each round: what a service pays at start-up, imports included (Python's
# own start is in both; `python` alone is the floor).  Bytecode is cached, as for any
# installed package (pip compiles it at install), even where the environment sets
# PYTHONDONTWRITEBYTECODE: the warm-up round writes it.
PROCESS = {
    "aot": "import aot; print(aot.load({path!r}).instantiate().exports.fib(20))",
    "wasmtime": ("import wasmtime; e = wasmtime.Engine(); s = wasmtime.Store(e); "
                 "m = wasmtime.Module.deserialize_file(e, {path!r}); "
                 "print(wasmtime.Instance(s, m, []).exports(s)['fib'](s, 20))"),
    "python": "print(6765)",
}


@pytest.mark.parametrize("engine", ["aot", "wasmtime", "python"])
def test_new_process_to_first_call(benchmark, artifacts, engine):
    import subprocess
    import sys

    tmp, _, _ = artifacts["small"]
    benchmark.group = "new process: import, load, instantiate, first call (small)"
    path = str(tmp / ("small.cwasm" if engine == "wasmtime" else "small.so"))
    code = PROCESS[engine].format(path=path)

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def run():
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env)
        assert out.stdout.strip() == "6765"

    benchmark.pedantic(run, rounds=15, warmup_rounds=1)
