"""The cost of a trap: call into wasm, trap three calls deep, catch `Trap` in Python.
With backtraces collected (the default) and without; wasmtime-py beside them.  Frames are
only symbolized when someone looks at them, so both aot variants measure the trap path
itself: unwinding, recording return addresses, raising."""

from __future__ import annotations

import pytest
import wasmtime

import aot

from .conftest import wat

DEEP = """(module $m
  (func $inner (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func $middle (param i32) (result i32) (i32.add (call $inner (local.get 0)) (i32.const 1)))
  (func $outer (export "outer") (param i32) (result i32) (i32.mul (call $middle (local.get 0)) (i32.const 2))))"""


def trap_once(call):
    def run():
        try:
            call()
        except (aot.Trap, wasmtime.Trap):
            return
        raise AssertionError("did not trap")

    return run


@pytest.mark.parametrize("engine", ["backtraces", "no-backtraces", "wasmtime"])
def test_trap_cost(benchmark, engine):
    benchmark.group = "trap 3 calls deep, caught in Python"
    if engine == "wasmtime":
        store = wasmtime.Store()
        e = wasmtime.Instance(store, wasmtime.Module(store.engine, wat(DEEP)), []).exports(store)
        benchmark(trap_once(lambda: e["outer"](store, 0)))
    else:
        inst = aot.compile(wat(DEEP), backtraces=(engine == "backtraces")).instantiate()
        benchmark(trap_once(lambda: inst.exports.outer(0)))
