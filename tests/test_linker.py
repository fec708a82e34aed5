"""`aot.Linker`: definitions by module and name, instances linked in one store sharing
memories, tables and globals; host closures (captured state, the caller, lifetime)."""

from __future__ import annotations

import gc
import weakref

import pytest

import aot
from aot import FuncType
from aot import ValType as V
from tests.conftest import wat

PROVIDER = """(module
  (memory (export "memory") 1)
  (table (export "table") 2 funcref)
  (global (export "counter") (mut i32) (i32.const 5))
  (func $triple (export "triple") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (elem (i32.const 0) $triple)
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "bump") (global.set 0 (i32.add (global.get 0) (i32.const 1))))
  (func (export "table_size") (result i32) (table.size 0)))"""

CONSUMER = """(module
  (type $r (func (param i32) (result i32)))
  (import "lib" "memory" (memory 1))
  (import "lib" "table" (table 2 funcref))
  (import "lib" "counter" (global $c (mut i32)))
  (import "lib" "triple" (func $triple (type $r)))
  (import "env" "offset" (func $offset (result i32)))
  (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "via_table") (param i32 i32) (result i32)
    (call_indirect (type $r) (local.get 1) (local.get 0)))
  (func (export "grow") (param i32) (result i32) (table.grow 0 (ref.null func) (local.get 0)))
  (func (export "counter") (result i32) (global.get $c))
  (func (export "set_counter") (param i32) (global.set $c (local.get 0)))
  (func (export "run") (param i32) (result i32)
    (i32.add (call $triple (local.get 0)) (call $offset))))"""


def compile(text: str) -> aot.Module:
    return aot.compile(wat(text))


@pytest.fixture
def linked():
    linker = aot.Linker()
    provider = linker.define_module("lib", compile(PROVIDER))
    linker.define("env", "offset", lambda: 1000)
    consumer = linker.instantiate(compile(CONSUMER))
    return linker, provider.exports, consumer.exports


def test_instances_linked_by_name_call_each_other(linked):
    linker, provider, consumer = linked
    assert consumer.run(4) == 1012
    assert consumer.via_table(0, 5) == 15  # the provider's function, in the shared table
    assert linker.get("lib", "triple") is provider.triple
    assert linker.store is provider.triple._owner.store


def test_shared_memory_sees_writes_from_both_sides(linked):
    _, provider, consumer = linked
    consumer.poke(64, 0x01020304)
    assert provider.peek(64) == 0x01020304
    provider.memory.write(128, (77).to_bytes(4, "little"))
    consumer.poke(132, 1)
    assert provider.memory.read(128, 8) == (77).to_bytes(4, "little") + (1).to_bytes(4, "little")


def test_shared_table_growth_and_elements_are_seen_by_both(linked):
    _, provider, consumer = linked
    assert consumer.grow(3) == 2
    assert provider.table_size() == 5 and provider.table.size == 5
    provider.table[4] = aot.Func(FuncType((V.I32,), (V.I32,)), lambda x: x - 1)
    assert consumer.via_table(4, 10) == 9


def test_shared_mutable_global(linked):
    _, provider, consumer = linked
    provider.bump()
    assert consumer.counter() == 6
    consumer.set_counter(-3)
    assert provider.counter.value == -3
    provider.bump()
    assert consumer.counter() == -2


def test_missing_import_names_module_field_and_expected_type():
    linker = aot.Linker()
    linker.define("env", "other", lambda: 0)
    module = compile('(module (import "env" "f" (func (param i32) (result i64))))')
    with pytest.raises(aot.LinkError) as info:
        linker.instantiate(module)
    msg = str(info.value)
    assert "unknown import" in msg and "env::f" in msg
    assert "(func (param i32) (result i64))" in msg


def test_mistyped_import_names_both_types():
    linker = aot.Linker()
    linker.define_func("env", "f", FuncType((V.I64,), ()), lambda x: None)
    linker.define("env", "m", aot.Memory(min=1))
    module = compile('(module (import "env" "f" (func (param i32) (result i64))))')
    with pytest.raises(aot.LinkError, match="incompatible import type for env::f") as info:
        linker.instantiate(module)
    assert "(func (param i32) (result i64))" in str(info.value)
    assert "(func (param i64))" in str(info.value)
    module = compile('(module (import "env" "m" (global i32)))')
    with pytest.raises(aot.LinkError, match=r"env::m: expected \(global i32\), got a memory"):
        linker.instantiate(module)


def test_redefinition_needs_allow_shadowing():
    linker = aot.Linker()
    linker.define("env", "f", lambda: 1)
    with pytest.raises(aot.LinkError, match=r"`env::f` is already defined.*allow_shadowing"):
        linker.define("env", "f", lambda: 2)
    module = compile("""(module (import "env" "f" (func $f (result i32)))
                          (func (export "run") (result i32) (call $f)))""")
    assert linker.instantiate(module).exports.run() == 1
    linker.allow_shadowing = True
    linker.define("env", "f", lambda: 2)
    assert linker.instantiate(module).exports.run() == 2


def test_bad_definitions_are_refused():
    linker = aot.Linker()
    with pytest.raises(TypeError, match="cannot define `env::x` as a str"):
        linker.define("env", "x", "nope")
    with pytest.raises(aot.LinkError, match=r"`env::x` is not defined.*defined under `env`: nothing"):
        linker.get("env", "x")
    other = compile(PROVIDER).instantiate()  # in a store of its own
    with pytest.raises(aot.LinkError, match="another store"):
        linker.define_instance("lib", other)
    with pytest.raises(aot.LinkError, match="another store"):
        linker.define("lib", "triple", other.exports.triple)
    with pytest.raises(aot.LinkError, match=r"`env::x` is not defined"):
        linker.get("env", "x")  # nothing was half-defined


def test_number_defines_an_immutable_global():
    linker = aot.Linker()
    linker.define("env", "g", 42)
    module = compile("""(module (import "env" "g" (global $g i32))
                          (func (export "read") (result i32) (global.get $g)))""")
    assert linker.instantiate(module).exports.read() == 42


# --- host closures ---------------------------------------------------------------------

CALLS_HOST = """(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (param i32) (result i32) (call $f (local.get 0))))"""


class Counter:
    def __init__(self) -> None:
        self.total = 0

    def add(self, x: int) -> int:
        self.total += x
        return self.total

    def __call__(self, x: int) -> int:
        return self.add(x * 10)


def make_adder(step: int):
    seen = []

    def add(x: int) -> int:
        seen.append(x)
        return x + step * len(seen)

    return add, seen


@pytest.mark.parametrize("kind", ["bound method", "callable object", "closure"])
def test_host_functions_carry_their_state(kind):
    module = compile(CALLS_HOST)
    counter = Counter()
    adder, seen = make_adder(100)
    fn = {"bound method": counter.add, "callable object": counter, "closure": adder}[kind]
    run = module.instantiate({"env": {"f": fn}}).exports.run
    results = [run(1), run(2)]
    expected = {"bound method": [1, 3], "callable object": [10, 30], "closure": [101, 202]}
    assert results == expected[kind]
    assert counter.total == {"bound method": 3, "callable object": 30, "closure": 0}[kind]
    assert seen == ([1, 2] if kind == "closure" else [])


def test_host_function_with_the_caller_reaches_its_memory_and_exports():
    module = compile(CALLS_HOST)
    kept = []

    def f(caller: aot.Caller, addr: int) -> int:
        kept.append(caller)
        assert caller.get("run") is caller.exports.run and caller.get("nope") is None
        caller.memory.write(addr, b"\x07")
        return caller.memory.read(addr, 1)[0] + (caller.instance is instances[0])

    linker = aot.Linker()
    linker.define_func("env", "f", FuncType((V.I32,), (V.I32,)), f, access_caller=True)
    instances = [linker.instantiate(module)]
    assert instances[0].exports.run(100) == 8
    assert instances[0].exports.memory.read(100, 1) == b"\x07"
    with pytest.raises(aot.AotError, match="used after that call returned"):
        kept[0].memory  # noqa: B018
    # Called from Python there is no calling instance.
    with pytest.raises(aot.AotError, match="called from Python, not from wasm"):
        linker.get("env", "f")(3)


def test_two_instances_each_see_themselves_as_the_caller():
    module = compile(CALLS_HOST)
    linker = aot.Linker()
    linker.define_func("env", "f", FuncType((V.I32,), (V.I32,)),
                       lambda caller, x: caller.memory.read(0, 1)[0] + x, access_caller=True)
    a, b = linker.instantiate(module), linker.instantiate(module)
    a.exports.memory.write(0, b"\x01")
    b.exports.memory.write(0, b"\x02")
    assert (a.exports.run(10), b.exports.run(10)) == (11, 12)


def test_host_function_made_from_a_callable_is_freed_with_the_instance():
    module = compile(CALLS_HOST)

    class State:
        pass

    def make():
        state = State()

        def f(x):
            return x + (state is not None)

        return f, weakref.ref(state)

    f, state = make()
    store = aot.Store()
    instance = module.instantiate({"env": {"f": f}}, store=store)
    assert instance.exports.run(1) == 2
    del f
    gc.collect()
    assert state() is not None, "the instance still needs its import"
    del instance, store
    gc.collect()
    assert state() is None, "the host function outlived its instance and store"
