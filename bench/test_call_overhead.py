"""Call overhead from Python: a no-op export and `add(i32, i32)`, on aot and wasmtime-py,
beside a plain Python function call (the floor)."""

from __future__ import annotations

import pytest
import wasmtime

import aot

from .conftest import wat

MODULE = """(module
  (func (export "nop"))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""


@pytest.fixture(scope="module")
def aot_exports():
    return aot.compile(wat(MODULE)).instantiate().exports


@pytest.fixture(scope="module")
def wasmtime_exports():
    store = wasmtime.Store()
    module = wasmtime.Module(store.engine, wat(MODULE))
    exports = wasmtime.Instance(store, module, []).exports(store)
    return store, exports


def py_nop():
    pass


def py_add(a, b):
    return a + b


@pytest.mark.parametrize("engine", ["aot", "wasmtime", "python"])
def test_nop(benchmark, engine, aot_exports, wasmtime_exports):
    benchmark.group = "nop"
    if engine == "aot":
        f = aot_exports.nop
        benchmark(f)
    elif engine == "wasmtime":
        store, exports = wasmtime_exports
        f = exports["nop"]
        benchmark(f, store)
    else:
        benchmark(py_nop)


@pytest.mark.parametrize("engine", ["aot", "wasmtime", "python"])
def test_add(benchmark, engine, aot_exports, wasmtime_exports):
    benchmark.group = "add(i32, i32)"
    if engine == "aot":
        f = aot_exports.add
        assert benchmark(f, 20, 22) == 42
    elif engine == "wasmtime":
        store, exports = wasmtime_exports
        f = exports["add"]
        assert benchmark(f, store, 20, 22) == 42
    else:
        assert benchmark(py_add, 20, 22) == 42
