"""Tail-call-heavy code beside wasmtime-py (issue 17): mutual recursion through
`return_call`, and an interpreter whose handlers dispatch the next opcode with
`return_call_indirect` (the "threaded code" shape tail calls are for).  Each round is one
call from Python doing 100,000 tail calls, so call overhead from Python is noise."""

from __future__ import annotations

import pytest
import wasmtime

import aot

from .conftest import wat

N = 100_000

EVEN_ODD = """(module
  (func $even (export "even") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 1))
      (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 0))
      (else (return_call $even (i64.sub (local.get 0) (i64.const 1)))))))"""

# A bytecode program in memory, one byte per op: 0 = acc += 3, 1 = acc ^= pc, 2 = jump to 0
# while the step budget lasts, 3 = halt.  Each handler does its work, then tail-calls the
# handler of the next byte through the table.
INTERPRETER = """(module
  (type $op (func (param i32 i64 i32) (result i64)))  ;; pc, acc, steps left
  (memory 1)
  (data (i32.const 0) "\\00\\01\\00\\00\\01\\02\\03")
  (table 4 funcref)
  (elem (i32.const 0) $add $xor $loop $halt)
  (func $next (param $pc i32) (param $acc i64) (param $steps i32) (result i64)
    (return_call_indirect (type $op) (local.get $pc) (local.get $acc) (local.get $steps)
      (i32.load8_u (local.get $pc))))
  (func $add (type $op)
    (return_call $next (i32.add (local.get 0) (i32.const 1))
      (i64.add (local.get 1) (i64.const 3)) (local.get 2)))
  (func $xor (type $op)
    (return_call $next (i32.add (local.get 0) (i32.const 1))
      (i64.xor (local.get 1) (i64.extend_i32_u (local.get 0))) (local.get 2)))
  (func $loop (type $op)
    (if (result i64) (i32.eqz (local.get 2)) (then (local.get 1))
      (else (return_call $next (i32.const 0) (local.get 1) (i32.sub (local.get 2) (i32.const 1))))))
  (func $halt (type $op) (local.get 1))
  (func (export "run") (param i32) (result i64)
    (return_call $next (i32.const 0) (i64.const 0) (local.get 0))))"""

# Steps for about N tail calls: each pass over the six-op loop is 12 calls.
PASSES = N // 12

CASES = {"mutual recursion (return_call)": (EVEN_ODD, "even", N),
         "threaded interpreter (return_call_indirect)": (INTERPRETER, "run", PASSES)}


@pytest.mark.parametrize("engine", ["aot", "wasmtime"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_tail_calls(benchmark, case, engine):
    text, name, arg = CASES[case]
    benchmark.group = f"{case}: {N:,} tail calls"
    if engine == "aot":
        f = aot.compile(wat(text)).instantiate().exports[name]
        expected = f(arg)
        result = benchmark(f, arg)
    else:
        store = wasmtime.Store()
        g = wasmtime.Instance(store, wasmtime.Module(store.engine, wat(text)), []).exports(store)[name]
        expected = g(store, arg)
        result = benchmark(g, store, arg)
    assert result == expected
