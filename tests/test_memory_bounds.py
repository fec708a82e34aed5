"""Out-of-bounds accesses trap in both bounds modes: at the boundary, with offsets up to
2**32-1, with the value dropped, after growth and at a declared maximum; and a fault
outside wasm still reaches the handler that was there before."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import aot
from tests.conftest import wat

MEMORY = """(module (memory (export "mem") 1 3)
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load8_far") (param i32) (result i32) (i32.load8_u offset=4294967295 (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.load offset=65528 (local.get 0)))
  (func (export "dropped") (param i32) (drop (i32.load (local.get 0))))
  (func (export "dropped_far") (param i32) (drop (f64.load offset=4294967295 (local.get 0))))
  (func (export "dropped_v128") (param i32) (drop (v128.load (local.get 0))))
  (func (export "unused_local") (param i32) (local i32) (local.set 1 (i32.load16_s (local.get 0))))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "store8_far") (param i32) (i32.store8 offset=4294967295 (local.get 0) (i32.const 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""

MODES = ["guard", "explicit"]


@pytest.fixture(params=MODES)
def exports(request):
    return aot.compile(wat(MEMORY), bounds_checks=request.param).instantiate().exports


def traps(call) -> bool:
    try:
        call()
    except aot.Trap as trap:
        assert trap.code == aot.TrapCode.MEMORY_OUT_OF_BOUNDS
        assert "out of bounds memory access" in str(trap)
        return True
    return False


def test_boundary_of_each_access_width(exports):
    e = exports
    assert e.load32(65532) == 0 and traps(lambda: e.load32(65533))
    assert e.load64(0) == 0 and traps(lambda: e.load64(1))
    e.store32(65532, 7)
    assert e.load32(65532) == 7
    assert traps(lambda: e.store32(65533, 7))
    assert e.mem.read(65532, 4) == (7).to_bytes(4, "little"), "a trapping store wrote"


@pytest.mark.parametrize("address", [0, 1, 65535, 2**31, 2**32 - 1])
def test_offsets_up_to_2_to_the_32(exports, address):
    assert traps(lambda: exports.load8_far(address))
    assert traps(lambda: exports.store8_far(address))


@pytest.mark.parametrize("export", ["dropped", "dropped_v128", "unused_local"])
def test_loads_whose_value_is_unused_still_trap(exports, export):
    getattr(exports, export)(0)
    assert traps(lambda: getattr(exports, export)(65535))
    assert traps(lambda: getattr(exports, export)(2**32 - 1))
    assert traps(lambda: exports.dropped_far(0))


@pytest.mark.parametrize("opt_level", [0, 1])
@pytest.mark.parametrize("export", ["dropped", "dropped_v128", "unused_local"])
def test_unused_loads_trap_at_every_level(opt_level, export):
    # -O0 keeps such a load by making it volatile, higher levels by an asm use of its
    # value (`aot.codegen.ops.memory.load_heap`); the fixture above compiles at -O2.
    e = aot.compile(wat(MEMORY), opt_level=opt_level, bounds_checks="guard").instantiate().exports
    getattr(e, export)(0)
    assert traps(lambda: getattr(e, export)(65535))
    assert traps(lambda: e.dropped_far(0))


def test_growth_and_the_declared_maximum(exports):
    e = exports
    assert traps(lambda: e.load32(65536))
    assert e.grow(1) == 1
    assert e.load32(65536) == 0 and e.load32(2 * 65536 - 4) == 0
    assert traps(lambda: e.load32(2 * 65536 - 3))
    assert e.grow(1) == 2 and e.grow(1) == -1  # the maximum is 3 pages
    assert e.load32(3 * 65536 - 4) == 0 and traps(lambda: e.load32(3 * 65536 - 3))


def test_traps_are_recoverable_repeatedly(exports):
    for _ in range(50):
        assert traps(lambda: exports.load32(2**32 - 4))
    assert exports.load32(0) == 0


def test_guard_mode_has_no_explicit_checks_in_the_code():
    """The whole point of guard pages: the compare-and-branch is gone."""
    from aot.codegen import CompileOptions, compile_to_ir
    from aot.wasm import parse

    module = parse(wat('(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load (local.get 0))))'))
    guard = compile_to_ir(module, CompileOptions(bounds_checks="guard"))
    explicit = compile_to_ir(module, CompileOptions(bounds_checks="explicit"))
    assert "trap_memory_out_of_bounds" in explicit
    assert "trap_memory_out_of_bounds" not in guard


def test_a_fault_outside_wasm_reaches_the_previous_handler():
    """Python's faulthandler, installed first, still reports a crash in non-wasm code."""
    script = textwrap.dedent(
        f"""
        import ctypes, faulthandler, sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).resolve().parent.parent)!r})
        faulthandler.enable()
        import aot, wasmtime
        inst = aot.compile(wasmtime.wat2wasm('(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load (local.get 0))))'),
                           bounds_checks="guard").instantiate()
        try:
            inst.exports.f(70000)
        except aot.Trap:
            print("wasm trap handled", flush=True)
        ctypes.string_at(8)  # a segfault in ordinary native code
        print("survived?!", flush=True)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "wasm trap handled" in proc.stdout
    assert "survived" not in proc.stdout
    assert proc.returncode == -11  # killed by SIGSEGV, after faulthandler ran
    assert "Fatal Python error: Segmentation fault" in proc.stderr


@pytest.mark.parametrize("bounds", ["guard", "explicit"])
def test_a_reused_reservation_keeps_nothing_of_the_memory_before(bounds, monkeypatch):
    """Memories that are gone give their address space to the next ones, wiped: the new
    memory reads zeros and its own length is the limit again."""
    import gc

    from aot.loader import memory_pool
    from aot.loader.ffi import address

    module = aot.compile(wat("""(module (import "env" "mem" (memory 1 4))
      (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"""),
                         bounds_checks=bounds)
    gc.collect()  # nothing else is released between the two memories below
    monkeypatch.setattr(memory_pool, "_FREE", {})  # so the second takes the first's
    monkeypatch.setattr(memory_pool, "_pooled", 0)
    first = aot.Memory(min=1, max=4)
    first.grow(2)
    first.write(0, b"\xab")
    first.write(2 * 65536 + 5, b"\xef")
    base = address(first._def.base)
    del first  # no reference cycle: its reservation goes back now
    second = aot.Memory(min=1, max=4)
    assert address(second._def.base) == base
    assert second.read(0, 4096) == bytes(4096)
    exports = module.instantiate({"env": {"mem": second}}).exports
    assert exports.load(0) == 0
    with pytest.raises(aot.Trap, match="out of bounds memory access"):
        exports.load(2 * 65536 + 5)


@pytest.mark.parametrize("bounds", ["guard", "explicit"])
def test_the_next_instance_sees_the_memory_image_again(bounds):
    """An instance's memory goes back to its module with the image still mapped: the
    next instance reads the data segment, not what the last one wrote, and zeros after."""
    import gc

    from aot.loader.ffi import address

    module = aot.compile(wat("""(module (memory (export "mem") 2 3)
      (data (i32.const 16) "image")
      (func (export "grow") (result i32) (memory.grow (i32.const 1)))
      (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"""),
                         bounds_checks=bounds)
    gc.collect()
    first = module.instantiate().exports
    mem = first.mem
    assert mem.read(16, 5) == b"image"
    mem.write(16, b"XXXXX")
    mem.write(70000, b"\x01")
    assert first.grow() == 2
    mem.write(2 * 65536 + 1, b"\x02")
    base = address(mem._def.base)
    del first, mem
    gc.collect()
    second = module.instantiate().exports
    assert address(second.mem._def.base) == base
    assert second.mem.size == 2
    assert second.mem.read(0, 16) == bytes(16)
    assert second.mem.read(16, 5) == b"image"
    assert second.mem.read(21, 2 * 65536 - 21) == bytes(2 * 65536 - 21)
    with pytest.raises(aot.Trap, match="out of bounds memory access"):
        second.load(2 * 65536 + 1)
    assert second.grow() == 2
    assert second.mem.read(2 * 65536, 65536) == bytes(65536)
