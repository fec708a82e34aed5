"""Wasm backtraces on traps: names from the name section, module byte offsets that agree
with wasmtime's, host frames in between, and the switch that turns collection off."""

from __future__ import annotations

import re

import pytest
import wasmtime

import aot
from tests.conftest import wat

THREE_DEEP = """(module $m
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory 1)
  (func $inner (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func $middle (param i32) (result i32) (i32.add (call $inner (local.get 0)) (i32.const 1)))
  (func $outer (export "outer") (param i32) (result i32) (i32.mul (call $middle (local.get 0)) (i32.const 2)))
  (func $load (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "via_host") (param i32) (result i32) (call $host (local.get 0)))
  (func (export "oob") (param i32) (result i32) (call $load (local.get 0)))
  (func (export "unnamed") (param i32) (result i32) (call 4 (local.get 0))))"""


def wasmtime_frames(export: str, *args) -> list[tuple[int, str]]:
    store = wasmtime.Store()
    module = wasmtime.Module(store.engine, wat(THREE_DEEP))
    host = wasmtime.Func(store, wasmtime.FuncType([wasmtime.ValType.i32()], [wasmtime.ValType.i32()]),
                         lambda x: x)
    inst = wasmtime.Instance(store, module, [host])
    with pytest.raises(wasmtime.Trap) as info:
        inst.exports(store)[export](store, *args)
    return [(int(off, 16), name) for off, name in re.findall(r"(0x[0-9a-f]+) - (.+)", str(info.value))]


@pytest.mark.parametrize(("opt_level", "units"), [(0, None), (2, None), (0, "function")])
@pytest.mark.parametrize(("export", "args"), [("outer", (0,)), ("oob", (65535,))])
def test_frames_agree_with_wasmtime(opt_level, units, export, args):
    """Also with a unit per function: each frame in an object of its own, and the trap
    path called across units."""
    inst = aot.compile(wat(THREE_DEEP), opt_level=opt_level, codegen_units=units).instantiate(
        {"env": {"host": lambda x: x}})
    with pytest.raises(aot.Trap) as info:
        inst.exports[export](*args)
    ours = [(f.module_offset, f"{f.module_name}!{f.func_name}") for f in info.value.frames]
    assert ours == wasmtime_frames(export, *args)
    assert len(ours) >= 2


def test_three_frames_with_names_and_offsets():
    inst = aot.compile(wat(THREE_DEEP)).instantiate({"env": {"host": lambda x: x}})
    with pytest.raises(aot.Trap) as info:
        inst.exports.outer(0)
    frames = info.value.frames
    assert [f.func_name for f in frames] == ["inner", "middle", "outer"]
    assert [f.func_index for f in frames] == [1, 2, 3]
    assert all(f.module_name == "m" for f in frames)
    text = str(info.value)
    assert text.startswith("integer divide by zero\nwasm backtrace:\n")
    assert re.search(r"0: +0x[0-9a-f]+ - m!inner\n +1: +0x[0-9a-f]+ - m!middle", text)


def test_host_frames_appear_between_wasm_frames():
    box = {}

    def host(x):
        return box["inst"].exports.outer(x)  # traps in wasm called from here

    inst = aot.compile(wat(THREE_DEEP)).instantiate({"env": {"host": host}})
    box["inst"] = inst
    with pytest.raises(aot.Trap) as info:
        inst.exports.via_host(0)
    frames = info.value.frames
    names = [f.func_name if not f.is_host else "<host>" for f in frames]
    assert names[:3] == ["inner", "middle", "outer"]
    assert names[3] == "<host>" and frames[3].func_name == "test_host_frames_appear_between_wasm_frames.<locals>.host"
    assert names[4] == "<wasm function 5>"  # the exported function has no name in the name section


def test_backtraces_can_be_turned_off():
    inst = aot.compile(wat(THREE_DEEP), backtraces=False).instantiate({"env": {"host": lambda x: x}})
    with pytest.raises(aot.Trap) as info:
        inst.exports.outer(0)
    assert info.value.code == aot.TrapCode.INTEGER_DIVISION_BY_ZERO
    # The trapping instruction is still known exactly; the callers are not collected.
    assert [(f.func_name, f.module_offset) for f in info.value.frames][:1] in ([], [("inner", 0x2a)])
    assert len(info.value.frames) <= 1
