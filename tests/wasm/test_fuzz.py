"""Random mutations of valid modules: decoding and validating any byte string either
succeeds or raises CompileError, never anything else."""

from __future__ import annotations

import random

import pytest
import wasmtime

from aot.errors import CompileError
from aot.wasm import parse

_SEEDS = [
    """(module
      (type $t (func (param i32) (result i32)))
      (import "env" "f" (func $f (param i32) (result i32)))
      (import "env" "g" (global i32))
      (memory 1 2) (table 2 funcref)
      (global $m (mut i64) (i64.const 5))
      (func $fac (export "fac") (param i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0))
          (then (i64.const 1))
          (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
      (func (param i32) (result i32) (local f32 v128)
        (block $b (br_table 0 0 (local.get 0)))
        (drop (i32.load offset=4 (local.get 0)))
        (local.set 2 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (v128.const i64x2 1 2) (local.get 2)))
        (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 0))
        (drop (select (result funcref) (ref.func $fac) (ref.null func) (i32.const 1)))
        (call_indirect (type $t) (i32.const 1) (i32.const 0)))
      (elem (i32.const 0) $fac)
      (elem declare func 1)
      (data "abc")
      (data (global.get 0) "xyz")
      (start 3)
      (func (loop $l (br_if $l (i32.const 0))) (global.set $m (i64.const 1))))""",
    """(module
      (func (export "f") (param f64) (result f64 i32)
        (local.get 0) (f64.const 1.5) (f64.add) (i32.const 7))
      (table 1 externref) (func (table.set 0 (i32.const 0) (ref.null extern)))
      (func (drop (table.grow 0 (ref.null extern) (i32.const 1)))))""",
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        k = rng.random()
        if k < 0.5 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif k < 0.7 and b:
            del b[rng.randrange(len(b))]
        elif k < 0.85:
            b.insert(rng.randrange(len(b) + 1), rng.randrange(256))
        else:
            del b[rng.randrange(len(b) + 1) :]
    return bytes(b)


@pytest.mark.parametrize("seed", range(4))
def test_mutations_only_raise_compile_error(seed: int) -> None:
    rng = random.Random(seed)
    modules = [wasmtime.wat2wasm(text) for text in _SEEDS]
    for data in modules:
        parse(data)  # the seeds themselves are valid
    for _ in range(1500):
        mutated = _mutate(rng, rng.choice(modules))
        try:
            parse(mutated)
        except CompileError:
            pass
