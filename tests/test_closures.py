"""Dynamic closures (`aot.Closure`) and host functions in tables: created at run time from
Python and from wasm, called with `call_indirect`, redefined, freed."""

from __future__ import annotations

import gc
import weakref

import pytest

import aot
from aot import FuncType
from aot import ValType as V
from tests.conftest import wat

R0 = FuncType((V.I32,), ())
R1 = FuncType((V.I32,), (V.I64,))
R3 = FuncType((V.I32, V.I32), (V.I32, V.F64, V.I64))

CALLS = """(module
  (type $r0 (func (param i32)))
  (type $r1 (func (param i32) (result i64)))
  (type $r3 (func (param i32 i32) (result i32 f64 i64)))
  (import "env" "closure_prepare" (func $prepare (param i32 i32 i32)))
  (table $t (export "table") 4 funcref)
  (global $kept (mut funcref) (ref.null func))
  (func (export "call0") (param $slot i32) (param i32)
    (call_indirect (type $r0) (local.get 1) (local.get $slot)))
  (func (export "call1") (param $slot i32) (param i32) (result i64)
    (call_indirect (type $r1) (local.get 1) (local.get $slot)))
  (func (export "call3") (param $slot i32) (param i32 i32) (result i32 f64 i64)
    (call_indirect (type $r3) (local.get 1) (local.get 2) (local.get $slot)))
  (func (export "prepare") (param $type i32) (param $env i32) (param $slot i32)
    (call $prepare (local.get $type) (local.get $env) (local.get $slot)))
  (func (export "keep") (param $slot i32) (global.set $kept (table.get $t (local.get $slot))))
  (func (export "restore") (param $slot i32) (table.set $t (local.get $slot) (global.get $kept))))"""


def no_prepare(caller, type_index, env, slot):
    raise AssertionError("not used by this test")


@pytest.fixture
def inst():
    module = aot.compile(wat(CALLS))
    return module.instantiate({"env": {"closure_prepare": aot.Func(
        FuncType((V.I32, V.I32, V.I32), ()), no_prepare, access_caller=True)}})


def test_closures_with_0_1_and_3_results_through_call_indirect(inst):
    seen = []
    table, e = inst.exports.table, inst.exports
    table[0] = aot.Closure(inst, R0, lambda env, x: seen.append((env, x)), "zero")
    table[1] = aot.Closure(inst, R1, lambda env, x: env * x, 10)
    table.set(2, aot.Closure(inst, R3, lambda env, a, b: (a + b, env, a * b), 0.5))
    assert e.call0(0, 7) is None and seen == [("zero", 7)]
    assert e.call1(1, 7) == 70
    assert e.call3(2, 3, 4) == (7, 0.5, 12)
    # A closure of the wrong type is refused by the signature check, as any function.
    with pytest.raises(aot.Trap, match="indirect call type mismatch"):
        e.call1(2, 7)


def test_redefined_closure_keeps_its_slot_then_free_empties_it(inst):
    table, e = inst.exports.table, inst.exports
    closure = aot.Closure(inst, R1, lambda env, x: env * x, 10)
    table[1] = closure
    ref = closure._ref
    assert e.call1(1, 7) == 70
    closure.redefine(env=100)
    assert e.call1(1, 7) == 700
    closure.redefine(lambda env, x: -env - x)
    assert e.call1(1, 7) == -107
    closure.redefine(lambda env, x: env + x, env=1)
    assert e.call1(1, 7) == 8
    assert closure._ref is ref and table[1] is closure  # same VMFuncRef, same slot
    closure.free()
    assert table[1] is None and closure.freed
    with pytest.raises(aot.Trap, match="uninitialized element"):
        e.call1(1, 7)
    with pytest.raises(aot.AotError, match="freed"):
        closure.redefine(env=3)
    with pytest.raises(aot.AotError, match="freed"):
        table[2] = closure
    assert table[2] is None


def test_free_clears_every_slot_and_a_reference_left_in_a_global_raises(inst):
    table, e = inst.exports.table, inst.exports
    closure = aot.Closure(inst, R1, lambda env, x: env, 5)
    table[0] = closure
    table[3] = closure
    e.keep(0)  # wasm holds it in a global too
    other = aot.Table(aot.TableType(V.FUNCREF, aot.Limits(1)))
    other[0] = closure  # a table no instance uses
    closure.free()
    assert table[0] is None and table[3] is None and other[0] is None
    e.restore(3)  # wasm puts its copy back: calling it fails cleanly
    with pytest.raises(aot.AotError, match="called after it was freed"):
        e.call1(3, 1)
    table[0] = aot.Closure(inst, R1, lambda env, x: x + env, 1)
    assert e.call1(0, 1) == 2


def test_free_releases_backing_and_env(inst):
    class Env:
        pass

    env = Env()
    alive = weakref.ref(env)
    closure = aot.Closure(inst, R1, lambda env, x: x, env)
    inst.exports.table[0] = closure
    del env
    gc.collect()
    assert alive() is not None
    closure.free()
    gc.collect()
    assert alive() is None


def test_closure_made_from_wasm_through_a_host_import():
    made = []

    def backing(env, *args):
        return {0: None, 1: env + args[0], 2: (env, float(sum(args)), -env)}[made[env]]

    def prepare(caller, type_index, env, slot):
        ft = caller.func_type(type_index)
        closure = aot.Closure(caller.instance, ft, backing, env)
        made.append(type_index)
        caller.table[slot] = closure

    module = aot.compile(wat(CALLS))
    inst = module.instantiate({"env": {"closure_prepare": aot.Func(
        FuncType((V.I32, V.I32, V.I32), ()), prepare, access_caller=True)}})
    e = inst.exports
    e.prepare(1, 0, 2)  # type $r1, env 0 (index into `made`), slot 2
    e.prepare(2, 1, 3)  # type $r3
    assert e.call1(2, 41) == 41
    assert e.call3(3, 2, 5) == (1, 7.0, -1)
    assert isinstance(e.table[2], aot.Closure)
    with pytest.raises(aot.AotError, match="type index 9 does not exist"):
        e.prepare(9, 0, 0)


def test_closure_with_the_caller_reads_the_callers_memory():
    module = aot.compile(wat("""(module
      (type $r (func (param i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "\\05\\00\\00\\00")
      (table (export "table") 1 funcref)
      (func (export "run") (param i32) (result i32)
        (call_indirect (type $r) (local.get 0) (i32.const 0))))"""))
    inst = module.instantiate()

    def backing(caller, env, addr):
        return int.from_bytes(caller.memory.read(addr, 4), "little") * env

    inst.exports.table[0] = aot.Closure(inst, FuncType((V.I32,), (V.I32,)), backing, 3,
                                        access_caller=True)
    assert inst.exports.run(16) == 15


def test_closure_of_a_type_its_module_does_not_declare_is_refused(inst):
    odd = FuncType((V.F64, V.F64), (V.F32,))
    with pytest.raises(aot.NotSupportedError, match=r"does not declare the type"):
        aot.Closure(inst, odd, lambda env, a, b: 0.0)
    # With a store, any type some loaded module calls with call_indirect; none calls this.
    unheard = FuncType((V.F64,) * 7 + (V.I32,) * 3, (V.F32,) * 4)
    with pytest.raises(aot.NotSupportedError, match="no loaded module calls that type"):
        aot.Closure(inst.store, unheard, lambda env, *a: 0)
    with pytest.raises(TypeError, match="owner"):
        aot.Closure(None, R1, lambda env, x: x)
    with pytest.raises(TypeError, match="callable"):
        aot.Closure(inst, R1, 42)


def test_conversion_errors_and_exceptions_of_the_backing_propagate(inst):
    table, e = inst.exports.table, inst.exports
    closure = aot.Closure(inst, R1, lambda env, x: "not a number", None)
    table[1] = closure
    with pytest.raises(TypeError, match="expected an integer, got str"):
        e.call1(1, 0)
    closure.redefine(lambda env, x: 2**64)
    with pytest.raises(OverflowError, match="out of range"):
        e.call1(1, 0)
    table[2] = aot.Closure(inst, R3, lambda env, a, b: (a, b), None)
    with pytest.raises(TypeError, match="must return 3 values"):
        e.call3(2, 1, 2)

    def fails(env, x):
        raise ValueError(f"no {x}")

    closure.redefine(fails)
    with pytest.raises(ValueError, match="no 9"):
        e.call1(1, 9)
    closure.redefine(lambda env, x: x)
    assert e.call1(1, 9) == 9  # still usable after the failures


def test_closure_as_an_import_follows_redefinition():
    closure_store = aot.Store()
    module = aot.compile(wat("""(module
      (type $r (func (param i32) (result i64)))
      (import "env" "f" (func $f (type $r)))
      (func (export "run") (param i32) (result i64) (call $f (local.get 0))))"""))
    closure = aot.Closure(closure_store, R1, lambda env, x: env + x, 1)
    inst = module.instantiate({"env": {"f": closure}}, store=closure_store)
    assert inst.exports.run(1) == 2
    closure.redefine(env=10)
    assert inst.exports.run(1) == 11
    closure.free()
    with pytest.raises(aot.AotError, match="called after it was freed"):
        inst.exports.run(1)


def test_host_function_in_a_table_without_being_imported(inst):
    f = aot.Func(R1, lambda x: x * 3)
    inst.exports.table[1] = f
    assert inst.exports.call1(1, 5) == 15
    assert inst.exports.table[1] is f
    # The same function in a table of another instance, of another module.
    other = aot.compile(wat("""(module
      (type $r (func (param i32) (result i64)))
      (table (export "t") 1 funcref)
      (func (export "run") (param i32) (result i64)
        (call_indirect (type $r) (local.get 0) (i32.const 0))))""")).instantiate()
    other.exports.t[0] = f
    assert other.exports.run(-2) == -6
    unheard = aot.Func(FuncType((V.F64,) * 7 + (V.I32,) * 3, (V.F32,) * 4), lambda *a: 0)
    with pytest.raises(aot.NotSupportedError, match="no loaded module calls that type"):
        inst.exports.table[0] = unheard
    assert inst.exports.table[0] is None


def test_a_host_function_gets_the_trampoline_of_any_module_that_calls_its_type():
    # A type no other test uses: the registry of trampolines is process-wide.
    sig = "(param f32 f64 i64 f32) (result f64 f32)"
    ft = FuncType((V.F32, V.F64, V.I64, V.F32), (V.F64, V.F32))
    declares = aot.compile(wat(f"""(module (table (export "t") 1 funcref)
      (func (export "f") {sig} (f64.const 0) (f32.const 0)))""")).instantiate()
    f = aot.Func(ft, lambda a, b, c, d: (b * 2, a))
    with pytest.raises(aot.NotSupportedError, match="no loaded module calls that type"):
        declares.exports.t[0] = f
    calls = aot.compile(wat(f"""(module (type $s (func {sig})) (table (export "t") 1 funcref)
      (func (export "run") (result f64 f32)
        (call_indirect (type $s) (f32.const 1.5) (f64.const 2.25) (i64.const 3) (f32.const 4)
                       (i32.const 0))))""")).instantiate()
    declares.exports.t[0] = f  # now some loaded module has the trampoline
    calls.exports.t[0] = f
    assert calls.exports.run() == (4.5, 1.5)
