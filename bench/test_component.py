"""A string-and-list-heavy component call beside wasmtime-py's component support (issue
18): `lengths(words: list<string>) -> list<u32>` with 100 words, so each call lowers 100
strings and a list into guest memory (realloc) and lifts a list back."""

from __future__ import annotations

import pytest
import wasmtime
import wasmtime.component as wc

from aot.component import Component, Linker

from .conftest import wat

LENGTHS = r"""(component
  (core module $m
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get 0) (i32.const 0)) (i32.le_u (local.get 3) (local.get 1)))
        (then (return (local.get 0))))
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (if (local.get 0) (then (memory.copy (local.get $p) (local.get 0) (local.get 1))))
      (local.get $p))
    ;; the bump heap is reset after each call (post-return)
    (func (export "reset") (param i32) (global.set $bump (i32.const 1024)))
    (func (export "lengths") (param $list i32) (param $n i32) (result i32)
      (local $out i32) (local $i i32) (local $ret i32)
      (local.set $out (call 0 (i32.const 0) (i32.const 0) (i32.const 4) (i32.shl (local.get $n) (i32.const 2))))
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (i32.load offset=4 (i32.add (local.get $list) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (local.set $ret (call 0 (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
      (i32.store (local.get $ret) (local.get $out))
      (i32.store offset=4 (local.get $ret) (local.get $n))
      (local.get $ret)))
  (core instance $i (instantiate $m))
  (func (export "lengths") (param "words" (list string)) (result (list u32))
    (canon lift (core func $i "lengths") (memory (core memory $i "mem"))
      (realloc (core func $i "realloc")) (post-return (core func $i "reset")))))"""

WORDS = [f"word-{k}-{'x' * (k % 13)}" for k in range(100)]


@pytest.mark.parametrize("engine", ["aot", "wasmtime"])
def test_component_call_with_strings_and_lists(benchmark, engine):
    binary = wat(LENGTHS)
    benchmark.group = "component call: list<string> (100) -> list<u32>"
    if engine == "aot":
        lengths = Linker().instantiate(Component(binary))["lengths"]
        result = benchmark(lengths, WORDS)
    else:
        config = wasmtime.Config()
        config.wasm_component_model = True
        eng = wasmtime.Engine(config)
        store = wasmtime.Store(eng)
        instance = wc.Linker(eng).instantiate(store, wc.Component(eng, binary))
        func = instance.get_func(store, "lengths")
        result = benchmark(func, store, WORDS)
    assert list(result) == [len(w) for w in WORDS]
