"""Call overhead, host → wasm and wasm → host on the typed paths: the rows of the table
wasmtime's authors keep for their C API, run on aot and on wasmtime-py in the same session,
beside the same calls between plain Python functions (the floor).

    nop        Python calls an export that does nothing
    i64        Python calls an export that calls the host once for an i64 and returns it
    many       the same with five i32 arguments going to the host (an i64 comes back)
    i64 host   one call from Python; wasm calls the host N times in a loop (cost per call)
    many host  the same with the five-argument host function
    add        an export `add(i32, i32) -> i32` (informative)
    externref       Python passes an object to an export that returns it (externref)
    externref host  the same, the export handing it to a host function and back

The externref rows use a module of their own: the others keep a module without
references, which pays nothing for the collector (`aot.loader.gc`).

The loop rows record `calls_per_round` in `extra_info`; reports divide by it.  Every row
checks its result before and while it is timed, so a broken path cannot produce a number.
`python -m bench` runs this file and writes the table and chart under bench/results/."""

from __future__ import annotations

import pytest
import wasmtime

import aot

from .conftest import wat

N = 1000  # host calls per round in the loop rows
BIG = 1 << 40  # what the host's get_i64 returns: a value an i32 could not carry

MODULE = """(module
  (import "env" "get_i64" (func $get_i64 (result i64)))
  (import "env" "many" (func $many (param i32 i32 i32 i32 i32) (result i64)))
  (func (export "nop"))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "i64") (result i64) (call $get_i64))
  (func (export "many") (param i32 i32 i32 i32 i32) (result i64)
    (call $many (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
  (func (export "loop_i64") (param $n i32) (result i64) (local $acc i64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (i64.add (local.get $acc) (call $get_i64)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $acc))
  (func (export "loop_many") (param $n i32) (result i64) (local $acc i64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (i64.add (local.get $acc)
        (call $many (local.get $n) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $acc)))"""


REFS = """(module
  (import "env" "echo" (func $echo (param externref) (result externref)))
  (func (export "ref_id") (param externref) (result externref) (local.get 0))
  (func (export "ref_host") (param externref) (result externref) (call $echo (local.get 0))))"""
PAYLOAD = object()


# The host functions, shared by all three engines.
def get_i64():
    return BIG


def many(a, b, c, d, e):
    return a + b + c + d + e


# The floor: the module's exports written in Python.
def py_nop():
    pass


def py_add(a, b):
    return a + b


def py_i64():
    return get_i64()


def py_many(a, b, c, d, e):
    return many(a, b, c, d, e)


def py_loop_i64(n):
    acc = 0
    for _ in range(n):
        acc += get_i64()
    return acc


def py_loop_many(n):
    acc = 0
    for i in range(n, 0, -1):
        acc += many(i, 1, 2, 3, 4)
    return acc


def echo(x):
    return x


def py_ref_id(x):
    return x


def py_ref_host(x):
    return echo(x)


PYTHON = {"nop": py_nop, "add": py_add, "i64": py_i64, "many": py_many,
          "loop_i64": py_loop_i64, "loop_many": py_loop_many,
          "ref_id": py_ref_id, "ref_host": py_ref_host}
REF_EXPORTS = ("ref_id", "ref_host")


def aot_exports():
    i32, i64 = aot.ValType.I32, aot.ValType.I64
    imports = {"env": {
        "get_i64": aot.Func(aot.FuncType((), (i64,)), get_i64),
        "many": aot.Func(aot.FuncType((i32,) * 5, (i64,)), many),
    }}
    exports = aot.compile(wat(MODULE)).instantiate(imports).exports
    ext = aot.ValType.EXTERNREF
    refs = aot.compile(wat(REFS)).instantiate(
        {"env": {"echo": aot.Func(aot.FuncType((ext,), (ext,)), echo)}}).exports
    return {name: (refs[name] if name in REF_EXPORTS else exports[name], ()) for name in PYTHON}


def wasmtime_exports():
    # wasmtime.Func without `access_caller` (the default): Python values in and out, the
    # fastest documented form of a host function.
    store = wasmtime.Store()
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    imports = [
        wasmtime.Func(store, wasmtime.FuncType([], [i64]), get_i64),
        wasmtime.Func(store, wasmtime.FuncType([i32] * 5, [i64]), many),
    ]
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, wat(MODULE)), imports)
    exports = instance.exports(store)
    ext = wasmtime.ValType.externref()
    echo_func = wasmtime.Func(store, wasmtime.FuncType([ext], [ext]), echo)
    refs = wasmtime.Instance(store, wasmtime.Module(store.engine, wat(REFS)), [echo_func]).exports(store)
    return {name: (refs[name] if name in REF_EXPORTS else exports[name], (store,))
            for name in PYTHON}


@pytest.fixture(scope="module")
def functions():
    """engine -> export name -> (callable, leading arguments): wasmtime-py takes the store
    first.  The benchmark calls `f(*leading, *args)` directly, nothing wrapped around it."""
    return {
        "aot": aot_exports(),
        "wasmtime": wasmtime_exports(),
        "python": {name: (f, ()) for name, f in PYTHON.items()},
    }


def measure(benchmark, functions, engine, group, export, args, expected, calls_per_round=1):
    benchmark.group = group
    benchmark.extra_info["calls_per_round"] = calls_per_round
    f, leading = functions[engine][export]
    assert f(*leading, *args) == expected  # checked once before timing ...
    assert benchmark(f, *leading, *args) == expected  # ... and on the timed path


ENGINES = pytest.mark.parametrize("engine", ["aot", "wasmtime", "python"])


@ENGINES
def test_nop(benchmark, functions, engine):
    measure(benchmark, functions, engine, "nop", "nop", (), None)


@ENGINES
def test_i64(benchmark, functions, engine):
    measure(benchmark, functions, engine, "i64", "i64", (), BIG)


@ENGINES
def test_many(benchmark, functions, engine):
    measure(benchmark, functions, engine, "many", "many", (1, 2, 3, 4, 5), 15)


@ENGINES
def test_i64_host(benchmark, functions, engine):
    measure(benchmark, functions, engine, "i64 host", "loop_i64", (N,), N * BIG, N)


@ENGINES
def test_many_host(benchmark, functions, engine):
    expected = N * (N + 1) // 2 + 10 * N  # sum of many(i, 1, 2, 3, 4) for i = N .. 1
    measure(benchmark, functions, engine, "many host", "loop_many", (N,), expected, N)


@ENGINES
def test_add(benchmark, functions, engine):
    measure(benchmark, functions, engine, "add(i32, i32)", "add", (20, 22), 42)


@ENGINES
def test_externref(benchmark, functions, engine):
    measure(benchmark, functions, engine, "externref", "ref_id", (PAYLOAD,), PAYLOAD)


@ENGINES
def test_externref_host(benchmark, functions, engine):
    measure(benchmark, functions, engine, "externref host", "ref_host", (PAYLOAD,), PAYLOAD)
