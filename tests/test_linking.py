"""Imports and exports between Python and instances: functions, memories, tables,
globals, and the errors for missing or mistyped imports."""

from __future__ import annotations

import pytest

import aot
from aot import FuncType, GlobalType, Limits, MemoryType, TableType, ValType

IMPORTS = """(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (import "env" "mem" (memory 1))
  (import "env" "g" (global $g i32))
  (import "env" "tab" (table 2 funcref))
  (func (export "use") (param i32) (result i32)
    (i32.add (call $f (i32.load (local.get 0))) (global.get $g))))"""


def env(**over):
    base = {
        "f": lambda x: x * 2,
        "mem": aot.Memory(MemoryType(Limits(1, 2))),
        "g": aot.Global(GlobalType(ValType.I32, False), 100),
        "tab": aot.Table(TableType(ValType.FUNCREF, Limits(2))),
    }
    base.update(over)
    return {"env": base}


def test_imports_of_every_kind(instantiate):
    imports = env()
    imports["env"]["mem"].write(8, (21).to_bytes(4, "little"))
    inst = instantiate(IMPORTS, imports)
    assert inst.exports.use(8) == 142


def test_missing_import_names_module_field_and_type(instantiate):
    imports = env()
    del imports["env"]["f"]
    with pytest.raises(aot.LinkError) as info:
        instantiate(IMPORTS, imports)
    msg = str(info.value)
    assert "unknown import" in msg and "env::f" in msg and "(param i32) (result i32)" in msg


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("f", aot.Func(FuncType((ValType.I64,), (ValType.I32,)), lambda x: 0), "(param i32)"),
        ("mem", aot.Memory(MemoryType(Limits(0))), "memory"),
        ("g", aot.Global(GlobalType(ValType.I64, False), 1), "global i32"),
        ("g", aot.Global(GlobalType(ValType.I32, True), 1), "global i32"),
        ("tab", aot.Table(TableType(ValType.FUNCREF, Limits(1))), "table"),
        ("f", aot.Memory(MemoryType(Limits(1))), "func"),
    ],
)
def test_mistyped_import_is_refused(instantiate, name, value, expected):
    with pytest.raises(aot.LinkError, match="incompatible import type") as info:
        instantiate(IMPORTS, env(**{name: value}))
    assert f"env::{name}" in str(info.value)
    assert expected in str(info.value)


def test_exported_memory_global_and_table(instantiate):
    inst = instantiate("""(module
      (memory (export "mem") 1 3)
      (global (export "counter") (mut i64) (i64.const 7))
      (global (export "pi") f64 (f64.const 3.25))
      (table (export "tab") 2 funcref)
      (func $inc (export "inc") (global.set 0 (i64.add (global.get 0) (i64.const 1))))
      (elem (i32.const 1) $inc)
      (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))""")
    e = inst.exports
    mem = e.mem
    assert mem.size == 1
    mem.write(100, b"\x2a")
    assert e.peek(100) == 42
    view = mem.buffer
    view[101] = 7
    assert e.peek(101) == 7
    assert mem.read(100, 2) == b"\x2a\x07"
    with pytest.raises(IndexError):
        mem.read(65535, 2)
    assert e.grow(1) == 1 and mem.size == 2
    assert e.grow(5) == -1
    assert mem.grow(1) == 2 and mem.size == 3
    assert e.counter.value == 7
    e.inc()
    assert e.counter.value == 8
    e.counter.value = -1
    assert e.counter.value == -1
    with pytest.raises(aot.AotError, match="immutable"):
        e.pi.value = 1.0
    assert e.pi.value == 3.25
    assert e.tab.size == 2 and e.tab.get(0) is None
    assert e.tab.get(1) is e.inc
    e.tab.get(1)()
    assert e.counter.value == 0


def test_instances_linked_through_exports(instantiate):
    provider = instantiate("""(module
      (memory (export "mem") 1)
      (func (export "double") (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1))))""")
    consumer = aot.compile(__import__("tests.conftest", fromlist=["wat"]).wat("""(module
      (import "p" "double" (func $d (param i32) (result i32)))
      (import "p" "mem" (memory 1))
      (func (export "run") (param i32) (result i32)
        (i32.store (i32.const 0) (call $d (local.get 0))) (i32.load (i32.const 0))))""")
    ).instantiate({"p": provider.exports})
    assert consumer.exports.run(21) == 42
    assert consumer.store is provider.store
    assert provider.exports.mem.read(0, 4) == (42).to_bytes(4, "little")


def test_start_function_runs_and_can_trap(instantiate):
    seen = []
    instantiate("""(module (import "e" "f" (func $f (param i32)))
                   (func $s (call $f (i32.const 9))) (start $s))""", {"e": {"f": seen.append}})
    assert seen == [9]
    with pytest.raises(aot.Trap, match="unreachable"):
        instantiate("(module (func $s unreachable) (start $s))")


def test_data_segment_out_of_bounds_fails_instantiation(instantiate):
    with pytest.raises(aot.Trap, match="out of bounds memory access"):
        instantiate('(module (memory 1) (data (i32.const 65535) "ab"))')


def test_export_lookup_errors_are_explained(instantiate):
    inst = instantiate('(module (func (export "get")) (func (export "f")))')
    assert "f" in inst.exports and "nope" not in inst.exports
    assert sorted(inst.exports) == ["f", "get"]
    inst.exports["get"]()
    with pytest.raises(AttributeError, match="no export named 'nope'"):
        inst.exports.nope  # noqa: B018
    with pytest.raises(KeyError, match="nope"):
        inst.exports["nope"]
