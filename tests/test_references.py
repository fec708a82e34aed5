"""Reference types and bulk memory from Python: externref identity and lifetime, funcrefs
moved between instances, overlapping copies."""

from __future__ import annotations

import gc
import weakref

import pytest

import aot
from tests.conftest import wat

EXTERN = """(module
  (table $t (export "table") 4 externref)
  (global $g (export "g") (mut externref) (ref.null extern))
  (func (export "echo") (param externref) (result externref) (local.get 0))
  (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0)))
  (func (export "stash") (param externref) (global.set $g (local.get 0)))
  (func (export "fetch") (result externref) (global.get $g))
  (func (export "save") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result externref) (table.get $t (local.get 0)))
  (func (export "grow") (param externref i32) (result i32) (table.grow $t (local.get 0) (local.get 1))))"""


class Payload:
    pass


def test_externref_round_trips_by_identity(instantiate):
    e = instantiate(EXTERN).exports
    obj = Payload()
    assert e.echo(obj) is obj
    assert e.echo(None) is None
    assert e.is_null(None) == 1 and e.is_null(obj) == 0
    e.stash(obj)
    assert e.fetch() is obj and e.g.value is obj
    e.save(2, obj)
    assert e.load(2) is obj and e.table.get(2) is obj
    assert e.load(0) is None
    other = {"any": "object"}
    e.table.set(1, other)
    assert e.load(1) is other
    assert e.grow(obj, 3) == 4 and e.table.size == 7 and e.load(6) is obj
    with pytest.raises(aot.Trap, match="out of bounds table access"):
        e.load(7)


def test_externref_held_by_wasm_stays_alive_then_dies_with_the_instance(instantiate):
    inst = instantiate(EXTERN)
    obj = Payload()
    ref = weakref.ref(obj)
    inst.exports.save(0, obj)
    inst.exports.stash(Payload())
    del obj
    gc.collect()
    assert ref() is not None, "wasm still holds the object in its table"
    assert isinstance(inst.exports.load(0), Payload)
    del inst
    gc.collect()
    assert ref() is None, "the object outlived the instance that held it"


def test_funcref_moved_between_instances_and_called(instantiate):
    store = aot.Store()
    producer = instantiate("""(module
      (table (export "t") 2 funcref)
      (func $seven (result i32) (i32.const 7))
      (func $eight (export "eight") (result i32) (i32.const 8))
      (elem (i32.const 0) $seven))""", store=store)
    consumer = instantiate("""(module
      (type $r (func (result i32)))
      (table $mine (export "mine") 3 funcref)
      (func (export "call") (param i32) (result i32) (call_indirect $mine (type $r) (local.get 0))))""",
                           store=store)
    seven = producer.exports.t.get(0)
    assert isinstance(seven, aot.Func) and seven() == 7
    consumer.exports.mine.set(1, seven)
    consumer.exports.mine.set(2, producer.exports.eight)
    assert consumer.exports.call(1) == 7
    assert consumer.exports.call(2) == 8
    assert consumer.exports.mine.get(2) is producer.exports.eight
    with pytest.raises(aot.Trap, match="uninitialized element"):
        consumer.exports.call(0)


def test_funcref_from_another_store_is_refused(instantiate):
    a = instantiate('(module (func (export "f") (result i32) (i32.const 1)))')
    b = instantiate('(module (table (export "t") 1 funcref))')
    with pytest.raises(aot.LinkError, match="another store"):
        b.exports.t.set(0, a.exports.f)


def test_table_copy_and_init_between_instances_tables(instantiate):
    inst = instantiate("""(module
      (type $r (func (result i32)))
      (table $a 4 funcref) (table $b 4 funcref)
      (func $one (result i32) (i32.const 1)) (func $two (result i32) (i32.const 2))
      (elem $seg func $one $two)
      (func (export "setup")
        (table.init $a $seg (i32.const 1) (i32.const 0) (i32.const 2))
        (table.copy $b $a (i32.const 0) (i32.const 1) (i32.const 2))
        (elem.drop $seg))
      (func (export "call_b") (param i32) (result i32) (call_indirect $b (type $r) (local.get 0)))
      (func (export "reinit") (table.init $a $seg (i32.const 0) (i32.const 0) (i32.const 1))))""")
    e = inst.exports
    e.setup()
    assert (e.call_b(0), e.call_b(1)) == (1, 2)
    with pytest.raises(aot.Trap, match="out of bounds table access"):
        e.reinit()  # the segment was dropped


COPY = """(module (memory (export "mem") 1)
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_memory_copy_with_overlapping_ranges_both_ways(instantiate, opt_level):
    e = instantiate(COPY, opt_level=opt_level).exports
    mem = e.mem
    pattern = bytes(range(1, 33))
    mem.write(100, pattern)
    e.copy(108, 100, 32)  # destination above the source: must copy backwards
    assert mem.read(100, 40) == pattern[:8] + pattern
    mem.write(100, pattern + bytes(8))
    e.copy(92, 100, 32)  # destination below the source: must copy forwards
    assert mem.read(92, 32) == pattern
    assert mem.read(124, 8) == pattern[24:]


def test_bulk_ranges_are_checked_before_writing(instantiate):
    e = instantiate(COPY).exports
    mem = e.mem
    with pytest.raises(aot.Trap, match="out of bounds memory access"):
        e.fill(65530, 0xAB, 10)
    assert mem.read(65530, 6) == bytes(6), "a trapping fill wrote part of its range"
    with pytest.raises(aot.Trap, match="out of bounds memory access"):
        e.copy(0, 65535, 2)
    e.fill(65536, 1, 0)  # zero length at the very end is allowed
    mem.write(0, b"xyz")
    e.copy(65533, 0, 3)
    assert mem.read(65533, 3) == b"xyz"


def test_passive_data_segment_and_drop(instantiate):
    e = instantiate("""(module (memory (export "mem") 1)
      (data $d "hello")
      (func (export "init") (param i32 i32 i32) (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
      (func (export "drop") (data.drop $d)))""").exports
    e.init(10, 1, 4)
    assert e.mem.read(10, 4) == b"ello"
    e.drop()
    e.init(0, 0, 0)
    with pytest.raises(aot.Trap, match="out of bounds memory access"):
        e.init(0, 0, 1)


def test_funcref_and_externref_globals_from_python():
    mod = aot.compile(wat("""(module
      (import "h" "g" (global $ext externref))
      (global $f (export "f") funcref (ref.func $k))
      (func $k (export "k") (result i32) (i32.const 5))
      (func (export "ext") (result externref) (global.get $ext)))"""))
    token = object()
    glob = aot.Global(aot.GlobalType(aot.ValType.EXTERNREF, False), token)
    inst = mod.instantiate({"h": {"g": glob}})
    assert inst.exports.ext() is token
    assert inst.exports.f.value is inst.exports.k
