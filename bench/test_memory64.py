"""What explicit bounds checks cost a 64-bit memory (issue 17): the same memory-bound
kernel on a 32-bit memory (guard pages: no checks in the code) and on a 64-bit one (a
compare and branch per access, the carry of `addr + offset` included), each beside
wasmtime-py with `Config.wasm_memory64` in the same run.  One call from Python runs
1,000,000 loads and 1,000,000 stores, so call overhead is noise."""

from __future__ import annotations

import pytest
import wasmtime

import aot

from .conftest import wat

WORDS = 250_000  # 1 MB of i32 words, four passes

# Each pass: a[i] = a[i] * 3 + a[i - 1] (a prefix-like recurrence the loads feed), over
# addresses of the memory's index type.
KERNEL = """(module
  (memory (export "m") {it} 16)
  (func (export "run") (param $passes i32) (result i32)
    (local $i {it}) (local $acc i32)
    (loop $pass
      (local.set $i ({it}.const 4))
      (loop $word
        ({it}.store (local.get $i)
          (i32.add (i32.mul (i32.load (local.get $i)) (i32.const 3))
                   (i32.load offset=0 ({it}.sub (local.get $i) ({it}.const 4)))))
        (local.set $i ({it}.add (local.get $i) ({it}.const 4)))
        (br_if $word ({it}.lt_u (local.get $i) ({it}.const {end}))))
      (local.set $acc (i32.add (local.get $acc)
                      (i32.load ({it}.sub (local.get $i) ({it}.const 4)))))
      (br_if $pass (local.tee $passes (i32.sub (local.get $passes) (i32.const 1)))))
    (local.get $acc)))"""


def _text(index_type: str) -> str:
    # The stores are i32 stores whatever the index type: only the addresses widen.
    return KERNEL.format(it=index_type, end=4 * WORDS).replace(f"({index_type}.store", "(i32.store")


INITIAL = bytes(range(256)) * 64


def _one_pass_in_python() -> int:
    a = [int.from_bytes(INITIAL[k:k + 4], "little") for k in range(0, len(INITIAL), 4)]
    a += [0] * (WORDS - len(a))
    for i in range(1, WORDS):
        a[i] = (a[i] * 3 + a[i - 1]) & 0xFFFFFFFF
    return a[-1] - (1 << 32 if a[-1] >= 1 << 31 else 0)


@pytest.mark.parametrize("engine", ["aot", "wasmtime"])
def test_memory_kernel_i32(benchmark, engine):
    _run(benchmark, "i32", engine)


@pytest.mark.parametrize("engine", ["aot", "wasmtime"])
def test_memory_kernel_i64(benchmark, engine):
    _run(benchmark, "i64", engine)


def _run(benchmark, index_type: str, engine: str) -> None:
    text = wat(_text(index_type))
    benchmark.group = f"memory kernel, {index_type} addresses (2M accesses)"
    if engine == "aot":
        exports = aot.compile(text).instantiate().exports
        exports.m.write(0, INITIAL)
        first = exports.run(1)
        benchmark(exports.run, 4)
    else:
        config = wasmtime.Config()
        config.wasm_memory64 = True
        engine_ = wasmtime.Engine(config)
        store = wasmtime.Store(engine_)
        exports = wasmtime.Instance(store, wasmtime.Module(engine_, text), []).exports(store)
        exports["m"].write(store, INITIAL, 0)
        first = exports["run"](store, 1)
        benchmark(exports["run"], store, 4)
    assert first == _one_pass_in_python()
