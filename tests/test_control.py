"""Control over running code: interrupts from another thread, fuel."""

from __future__ import annotations

import threading

import pytest
import wasmtime

import aot
from tests.conftest import wat

CODE = """(module
  (import "env" "host" (func $host))
  (func (export "spin") (loop $l (br $l)))
  ;; loop-free: each level calls the next twice, 2**n calls in all
  (func $tree (export "tree") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
      (else (i32.add (call $tree (i32.sub (local.get 0) (i32.const 1)))
                     (call $tree (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "spin_after_host") (call $host) (loop $l (br $l)))
  (func (export "count") (param i32) (result i32) (local i32)
    (block $d (loop $l (br_if $d (i32.eqz (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br $l))) (local.get 1)))"""


def interrupt_when_running(inst: aot.Instance) -> threading.Thread:
    """Interrupt from a second thread as soon as wasm is running (no sleeps)."""
    def run():
        while not inst.interrupt():
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("fuel", [False, True])
@pytest.mark.parametrize(("export", "args"), [("spin", ()), ("tree", (60,))])
def test_interrupt_from_another_thread(export, args, fuel):
    inst = aot.compile(wat(CODE), fuel=fuel).instantiate({"env": {"host": lambda: None}})
    if fuel:
        inst.set_fuel(2**62)
    for _ in range(2):  # and again: the instance stays usable
        t = interrupt_when_running(inst)
        with pytest.raises(aot.Trap) as info:
            inst.exports[export](*args)
        t.join()
        assert info.value.code == aot.TrapCode.INTERRUPT
        assert "interrupt" in str(info.value)
        assert inst.exports.tree(10) == 1024
    assert inst.interrupt() is False  # nothing running: nothing to stop, no effect later
    assert inst.exports.count(5) == 5


def test_interrupt_during_a_host_call_stops_the_wasm_after_it():
    box = {}

    def host():
        assert box["inst"].interrupt() is True  # wasm is on the stack below us

    inst = aot.compile(wat(CODE)).instantiate({"env": {"host": host}})
    box["inst"] = inst
    with pytest.raises(aot.Trap, match="interrupt"):
        inst.exports.spin_after_host()
    assert inst.exports.count(3) == 3


def test_no_interrupt_checks_compile_option_still_runs():
    inst = aot.compile(wat(CODE), interrupts=False).instantiate({"env": {"host": lambda: None}})
    assert inst.exports.count(1000) == 1000


def wasmtime_fuel_used(n: int) -> int:
    config = wasmtime.Config()
    config.consume_fuel = True
    store = wasmtime.Store(wasmtime.Engine(config))
    store.set_fuel(10**9)
    module = wasmtime.Module(store.engine, wat(CODE))
    host = wasmtime.Func(store, wasmtime.FuncType([], []), lambda: None)
    wasmtime.Instance(store, module, [host]).exports(store)["count"](store, n)
    return 10**9 - store.get_fuel()


def test_fuel_matches_wasmtime_and_resumes_in_a_new_call():
    inst = aot.compile(wat(CODE), fuel=True).instantiate({"env": {"host": lambda: None}})
    inst.set_fuel(10**9)
    assert inst.exports.count(1000) == 1000
    used = 10**9 - inst.get_fuel()
    assert used == wasmtime_fuel_used(1000) == 12005  # 12 per iteration, the same cost model
    # Out of fuel: a loop that needs ~12k units stops after the grant, give or take a block.
    inst.set_fuel(5000)
    with pytest.raises(aot.Trap) as info:
        inst.exports.count(1000)
    assert info.value.code == aot.TrapCode.OUT_OF_FUEL
    assert "all fuel consumed by WebAssembly" in str(info.value)
    assert inst.get_fuel() == 0
    inst.set_fuel(used)  # more fuel: work resumes in a new call
    assert inst.exports.count(1000) == 1000
    assert inst.get_fuel() == 0


def test_a_store_without_fuel_grant_traps_at_once_when_metered():
    inst = aot.compile(wat(CODE), fuel=True).instantiate({"env": {"host": lambda: None}})
    with pytest.raises(aot.Trap, match="fuel"):
        inst.exports.count(1)
