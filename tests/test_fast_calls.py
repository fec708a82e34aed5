"""The compiled call paths (`aot.abi.pyapi`) against the portable cffi path: the same
results (bit for bit), traps and argument errors, for every value type and for 0, 1 and
3 results; host functions called natively and through cffi alike; unchecked calls."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys

import pytest

import aot
from aot.loader import pyapi
from tests.conftest import wat

pytestmark = pytest.mark.skipif(not pyapi.SUPPORTED, reason="this interpreter has no CPython C API")

MODULE = """(module
  (import "env" "host_i32" (func $host_i32 (param i32) (result i32)))
  (import "env" "host_i64" (func $host_i64 (param i64) (result i64)))
  (import "env" "host_f32" (func $host_f32 (param f32) (result f32)))
  (import "env" "host_f64" (func $host_f64 (param f64) (result f64)))
  (import "env" "host_none" (func $host_none (param i32 i64 f32 f64)))
  (import "env" "host_three" (func $host_three (param i32) (result i32 i64 f64)))
  (func (export "id_i32") (param i32) (result i32) (local.get 0))
  (func (export "id_i64") (param i64) (result i64) (local.get 0))
  (func (export "id_f32") (param f32) (result f32) (local.get 0))
  (func (export "id_f64") (param f64) (result f64) (local.get 0))
  (func (export "none") (param i32 i64 f32 f64))
  (func (export "three") (param i32 i64 f64) (result i32 i64 f64)
    (local.get 0) (local.get 1) (local.get 2))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "via_i32") (param i32) (result i32) (call $host_i32 (local.get 0)))
  (func (export "via_i64") (param i64) (result i64) (call $host_i64 (local.get 0)))
  (func (export "via_f32") (param f32) (result f32) (call $host_f32 (local.get 0)))
  (func (export "via_f64") (param f64) (result f64) (call $host_f64 (local.get 0)))
  (func (export "via_none") (param i32) (call $host_none (local.get 0) (i64.const -5)
    (f32.const 1.5) (f64.const -0.0)))
  (func (export "via_three") (param i32) (result i32 i64 f64) (call $host_three (local.get 0)))
  (func (export "id_v128") (param v128) (result v128) (local.get 0)))"""


class IntSub(int):
    pass


class Index:
    def __index__(self):
        return 7


NAN_PAYLOAD = struct.unpack("<d", struct.pack("<Q", 0x7FF4_0000_0000_0001))[0]
INTS = [0, 1, -1, 2**31 - 1, -(2**31), 2**31, 2**32 - 1, 2**32, -(2**31) - 1, 2**63 - 1,
        -(2**63), 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30, True, False, IntSub(5),
        Index(), 1.0, None, "1"]
FLOATS = [0.0, -0.0, 1.5, -2.25, math.inf, -math.inf, math.nan, NAN_PAYLOAD, 1e300, 1e-300,
          3.4028235e38, 7, 2**70, True, IntSub(3), "x", None]
ARGS = {
    "id_i32": [(v,) for v in INTS] + [(), (1, 2)],
    "id_i64": [(v,) for v in INTS] + [()],
    "id_f32": [(v,) for v in FLOATS],
    "id_f64": [(v,) for v in FLOATS] + [(1.0, 2.0)],
    "none": [(1, 2, 3.0, 4.0), (1, 2, 3, 4), (1, 2**64, 3.0, 4.0), (1, 2, 3.0), (1.0, 2, 3.0, 4.0)],
    "three": [(1, -2, 0.5), (2**32 - 1, 2**64 - 1, -0.0), (1, 2, "3"), (True, 2, 3.0)],
    "div": [(7, 2), (-7, 2), (1, 0), (-(2**31), -1), (2**31, 1)],
}


def outcome(fn, args):
    """What a call did, comparable across paths: the results with floats as their bits,
    or the exception's type and message."""
    try:
        r = fn(*args)
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        code = getattr(exc, "code", None)
        return ("raised", type(exc).__name__, str(exc), code)
    return ("returned", _bits(r))


def _bits(r):
    if isinstance(r, tuple):
        return tuple(_bits(x) for x in r)
    if isinstance(r, float):
        return ("float", struct.pack("<d", r))
    return (type(r).__name__, r)


@pytest.fixture(scope="module", params=[0, 2], ids=["O0", "O2"])
def module(request):
    return aot.compile(wat(MODULE), opt_level=request.param)


def host_imports(**overrides):
    fns = {
        "host_i32": lambda x: x * 3,
        "host_i64": lambda x: x - 1,
        "host_f32": lambda x: x * 2.0,
        "host_f64": lambda x: -x,
        "host_none": lambda a, b, c, d: None,
        "host_three": lambda x: (x, -x, x / 4),
    }
    fns.update(overrides)
    return {"env": fns}


@pytest.mark.parametrize("name", sorted(ARGS))
def test_compiled_entry_and_portable_path_agree(module, name):
    f = getattr(module.instantiate(host_imports()).exports, name)
    assert f.has_native_entry
    for args in ARGS[name]:
        fast, portable = outcome(f, args), outcome(f.call_portable, args)
        assert fast == portable, (name, args)
    # and the calls really did something
    assert outcome(f, ARGS[name][0])[0] == "returned"


def test_traps_are_the_same_on_both_paths(module):
    f = module.instantiate(host_imports()).exports.div
    for args in [(1, 0), (-(2**31), -1)]:
        with pytest.raises(aot.Trap) as fast:
            f(*args)
        with pytest.raises(aot.Trap) as portable:
            f.call_portable(*args)
        assert fast.value.code == portable.value.code
        assert str(fast.value) == str(portable.value)
        assert fast.value.frames == portable.value.frames
        assert fast.value.frames  # a backtrace was recorded


def test_types_without_a_compiled_entry_use_the_portable_path(module):
    f = module.instantiate(host_imports()).exports.id_v128
    assert not f.has_native_entry
    assert f(2**127 + 5) == 2**127 + 5


def test_fast_calls_off_by_environment():
    code = ("import aot, wasmtime\n"
            "m = aot.compile(wasmtime.wat2wasm('(module (func (export \"f\") (result i32) i32.const 7))'))\n"
            "f = m.instantiate().exports.f\n"
            "print(f(), f.has_native_entry)\n")
    env = dict(os.environ, AOT_FAST_CALLS="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["7", "False"]


# --- host functions: compiled trampoline vs cffi callback ------------------------------

HOST_RESULTS = {
    "host_i32": [5, -1, 2**32 - 1, 2**32, True, 1.0, IntSub(4), Index(), None],
    "host_i64": [5, -(2**63), 2**64 - 1, 2**64, False, 2.0, None],
    "host_f32": [1.5, -0.0, math.nan, 1e300, 3, True, "x"],
    "host_f64": [1.5, NAN_PAYLOAD, -math.inf, 2**80, None],
    "host_three": [(1, 2, 3.0), (1, 2), [4, 5, 6.5], (1, 2, "x"), 7, None],
}
CALLERS = {"host_i32": ("via_i32", 3), "host_i64": ("via_i64", 3), "host_f32": ("via_f32", 0.5),
           "host_f64": ("via_f64", 0.5), "host_three": ("via_three", 3)}


def _with_host(module, monkeypatch, native: bool, name: str, fn):
    monkeypatch.setattr(pyapi, "enabled", native)
    host = aot.Func(module.imports[[i.name for i in module.imports].index(name)].type, fn)
    assert (getattr(host, "_native", None) is not None) == native
    return module.instantiate(host_imports(**{name: host}))


@pytest.mark.parametrize("name", sorted(HOST_RESULTS))
def test_native_host_calls_and_cffi_callbacks_agree(module, monkeypatch, name):
    export, arg = CALLERS[name]
    for value in HOST_RESULTS[name]:
        results = []
        for native in (True, False):
            inst = _with_host(module, monkeypatch, native, name, lambda *a, v=value: v)
            results.append(outcome(getattr(inst.exports, export), (arg,)))
        assert results[0] == results[1], (name, value)


def test_host_arguments_and_exceptions_agree(module, monkeypatch):
    seen = {True: [], False: []}
    for native in (True, False):
        def record(a, b, c, d, native=native):
            seen[native].append((a, b, c, _bits(d)))

        inst = _with_host(module, monkeypatch, native, "host_none", record)
        inst.exports.via_none(-7)
        inst.exports.via_none(2**31 - 1)
    assert seen[True] == seen[False] == [(-7, -5, 1.5, _bits(-0.0)), (2**31 - 1, -5, 1.5, _bits(-0.0))]

    class Boom(Exception):
        pass

    for native in (True, False):
        def fail(x):
            raise Boom(f"no {x}")

        inst = _with_host(module, monkeypatch, native, "host_i32", fail)
        with pytest.raises(Boom, match="no 4") as info:
            inst.exports.via_i32(4)
        assert info.value.__traceback__ is not None
        assert inst.exports.via_i32.call_portable is not None
        # the instance keeps working after the unwind
        inst2 = _with_host(module, monkeypatch, native, "host_i32", lambda x: x + 1)
        assert inst2.exports.via_i32(4) == 5


# --- unchecked calls -------------------------------------------------------------------

def test_unchecked_calls_use_the_value_buffer(module):
    e = module.instantiate(host_imports()).exports
    three = e.three.unchecked()
    three.i32[0] = -3
    three.i64[2] = 2**40
    three.f64[4] = -0.5
    assert three() is None
    assert (three.i32[0], three.i64[2], three.f64[4]) == (-3, 2**40, -0.5)
    add = e.via_i64.unchecked()  # through a host function
    add.i64[0] = 10
    add()
    assert add.i64[0] == 9
    div = e.div.unchecked()
    div.i32[0], div.i32[4] = 9, 0
    with pytest.raises(aot.Trap, match="integer divide by zero"):
        div()
    div.i32[0], div.i32[4] = 9, 2
    div()
    assert div.i32[0] == 4
    with pytest.raises(TypeError):
        div(1)


def test_unchecked_calls_refuse_what_could_crash(instantiate):
    inst = instantiate('(module (func (export "f") (param externref)) (func (export "g")))')
    with pytest.raises(aot.NotSupportedError, match="reference parameters"):
        inst.exports.f.unchecked()
    host = aot.Func(aot.FuncType([], []), lambda: None)
    with pytest.raises(aot.NotSupportedError, match="host functions"):
        host.unchecked()
    g = inst.exports.g.unchecked()
    assert g() is None
