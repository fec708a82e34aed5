"""Tail calls (issue 17; on by default in wasmtime): return_call and return_call_indirect
run in constant stack, direct, through tables, across modules and to imports, at -O0 and
-O2, with wasmtime-py's results.  The proposal's spec scripts run with the core ones."""

from __future__ import annotations

import pytest
import wasmtime

import aot
from tests.conftest import wat

DEPTH = 1_000_000  # far past any stack: 1 MB of frames at a single byte each

EVEN_ODD = """(module
  (func $even (export "even") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 44))
      (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd (export "odd") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 99))
      (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))
  ;; Another signature: tailcc lets a tail call change the parameters.
  (func $sum (export "sum") (param i64 i64 f64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (local.get 1))
      (else (return_call $step (local.get 0) (local.get 1)))))
  (func $step (param i64 i64) (result i64)
    (return_call $sum (i64.sub (local.get 0) (i64.const 1))
                      (i64.add (local.get 1) (local.get 0)) (f64.const 0))))"""


def _wasmtime(text: str, name: str, *args):
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, wat(text)), [])
    return inst.exports(store)[name](store, *args)


@pytest.mark.parametrize("opt_level", [0, 2])
def test_mutual_tail_recursion_runs_in_constant_stack(opt_level):
    e = aot.compile(wat(EVEN_ODD), opt_level=opt_level).instantiate().exports
    for name, args in (("even", (DEPTH,)), ("odd", (DEPTH + 1,)), ("sum", (DEPTH, 0, 0.0))):
        assert e[name](*args) == _wasmtime(EVEN_ODD, name, *args), name


PING = """(module
  (type $t (func (param i64) (result i64)))
  (table (export "table") 2 funcref)
  (elem (i32.const 0) $ping)
  (func $ping (export "ping") (type $t)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 7))
      (else (return_call_indirect (type $t) (i64.sub (local.get 0) (i64.const 1)) (i32.const 1))))))"""

PONG = """(module
  (type $t (func (param i64) (result i64)))
  (import "a" "table" (table 2 funcref))
  (elem (i32.const 1) $pong)
  (func $pong (type $t)
    (return_call_indirect (type $t) (local.get 0) (i32.const 0))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_tail_calls_through_a_table_cross_modules(opt_level):
    a = aot.compile(wat(PING), opt_level=opt_level).instantiate()
    aot.compile(wat(PONG), opt_level=opt_level).instantiate({"a": {"table": a.exports.table}},
                                                           store=a.store)
    assert a.exports.ping(DEPTH) == 7


def test_a_module_without_tail_calls_can_be_tail_called_through_a_funcref():
    # PONG's callee set: a plain module's function in slot 1, which calls (not tail-calls).
    plain = """(module
      (type $t (func (param i64) (result i64)))
      (import "a" "table" (table 2 funcref))
      (elem (i32.const 1) $double)
      (func $double (type $t) (i64.mul (local.get 0) (i64.const 2))))"""
    a = aot.compile(wat(PING)).instantiate()
    aot.compile(wat(plain)).instantiate({"a": {"table": a.exports.table}}, store=a.store)
    assert a.exports.ping(5) == 8  # ping(5) tail-calls double(4)


def test_a_tail_call_to_a_host_function_returns_its_result():
    text = """(module (import "host" "f" (func $f (param i32) (result i32)))
      (func (export "g") (param i32) (result i32) (return_call $f (i32.add (local.get 0) (i32.const 1)))))"""
    e = aot.compile(wat(text)).instantiate({"host": {"f": lambda x: x * 10}}).exports
    assert e.g(4) == 50


def test_ordinary_recursion_in_a_tail_calling_module_still_exhausts_the_stack():
    text = EVEN_ODD[:-1] + """
      (func $deep (export "deep") (param i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 0))
          (else (i64.add (i64.const 1) (call $deep (i64.sub (local.get 0) (i64.const 1))))))))"""
    e = aot.compile(wat(text)).instantiate().exports
    with pytest.raises(aot.Trap) as trap:
        e.deep(DEPTH * 10)
    assert trap.value.code == aot.TrapCode.STACK_OVERFLOW


def test_a_tail_call_with_several_results_through_a_funcref_is_refused_by_name():
    text = """(module (type $t (func (result i32 i32))) (table 1 funcref)
      (func (type $t) (return_call_indirect (type $t) (i32.const 0))))"""
    with pytest.raises(aot.NotSupportedError,
                       match="tail calls: return_call_indirect of a function with 2 results"):
        aot.compile(wat(text), cache=False)


def test_direct_tail_calls_with_several_results_and_externrefs():
    text = """(module
      (func $swap (export "swap") (param i32 externref) (result externref i32)
        (if (result externref i32) (i32.eqz (local.get 0)) (then (local.get 1) (i32.const 5))
          (else (return_call $swap (i32.sub (local.get 0) (i32.const 1)) (local.get 1))))))"""
    token = object()
    for opt_level in (0, 2):
        e = aot.compile(wat(text), opt_level=opt_level).instantiate().exports
        ref, n = e.swap(DEPTH, token)
        assert ref is token and n == 5
