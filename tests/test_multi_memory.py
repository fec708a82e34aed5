"""Multi-memory (issue 17; on by default in wasmtime): several memories per module, each
instruction naming its own, beside wasmtime-py at -O0 and -O2.  The proposal's spec
scripts run with the core ones; the core (2.0) scripts run with it off."""

from __future__ import annotations

import pytest
import wasmtime

import aot
from tests.conftest import wat

TWO = """(module
  (memory $a (export "a") 1)
  (memory $b (export "b") 1 3)
  (data (memory $b) (i32.const 8) "\\01\\02\\03\\04")
  (data $p "hello")
  (func (export "load_b") (param i32) (result i32) (i32.load $b (local.get 0)))
  (func (export "store_a") (param i32 i32) (i32.store $a offset=4 (local.get 0) (local.get 1)))
  (func (export "copy_b_to_a") (param i32 i32 i32)
    (memory.copy $a $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill_b") (param i32 i32 i32) (memory.fill $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_b") (param i32) (memory.init $b $p (local.get 0) (i32.const 0) (i32.const 5)))
  (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0)))
  (func (export "sizes") (result i32 i32) (memory.size $a) (memory.size $b))
  (func (export "lane_b") (param i32) (result i64)
    (i64x2.extract_lane 1 (v128.load $b (local.get 0)))))"""

SCRIPT = [("load_b", (8,)), ("store_a", (0, 0x11223344)), ("copy_b_to_a", (100, 8, 4)),
          ("fill_b", (20, 0xAB, 3)), ("init_b", (30,)), ("lane_b", (16,)), ("grow_b", (1,)),
          ("grow_b", (5,)), ("sizes", ()), ("load_b", (65536 * 2 - 4,)), ("load_b", (65536 * 2 - 3,))]


def _run_wasmtime() -> tuple[list, bytes, bytes]:
    store = wasmtime.Store()
    e = wasmtime.Instance(store, wasmtime.Module(store.engine, wat(TWO)), []).exports(store)
    out = []
    for name, args in SCRIPT:
        try:
            r = e[name](store, *args)
            out.append(tuple(r) if isinstance(r, list) else r)
        except wasmtime.Trap:
            out.append("trap")
    return out, bytes(e["a"].read(store, 0, 256)), bytes(e["b"].read(store, 0, 256))


@pytest.mark.parametrize("opt_level", [0, 2])
def test_two_memories_agree_with_wasmtime(opt_level):
    e = aot.compile(wat(TWO), opt_level=opt_level).instantiate().exports
    out = []
    for name, args in SCRIPT:
        try:
            out.append(e[name](*args))
        except aot.Trap as trap:
            assert trap.code == aot.TrapCode.MEMORY_OUT_OF_BOUNDS
            out.append("trap")
    expected, a, b = _run_wasmtime()
    assert out == expected
    assert e.a.read(0, 256) == a and e.b.read(0, 256) == b


def test_a_store_limit_counts_every_memory():
    store = aot.Store(limits=aot.StoreLimits(memories=1))
    with pytest.raises(aot.ResourceLimitError, match="memories"):
        aot.compile(wat(TWO)).instantiate(store=store)


def test_webassembly_2_0_without_the_proposal_keeps_its_words():
    with pytest.raises(aot.CompileError, match="^multiple memories"):
        aot.compile(wat("(module (memory 1) (memory 1))"), multi_memory=False, cache=False)
    with pytest.raises(aot.CompileError, match="^zero byte expected"):
        aot.compile(wat("(module (memory 1) (func (drop (memory.size 1))))"), multi_memory=False,
                    cache=False)
    aot.validate(wat(TWO))
    with pytest.raises(aot.CompileError, match="unknown memory 2"):
        aot.validate(wat("(module (memory 1) (memory 1) (func (drop (memory.size 2))))"))
