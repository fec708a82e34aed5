"""Calls in both directions: multi-value on every path, closures, argument checks,
traps and host exceptions."""

from __future__ import annotations

import math

import pytest

import aot
from aot import FuncType, ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

MULTI = """
(module
  (type $t3 (func (param i32) (result i32 i64 f64)))
  (import "host" "three" (func $host_three (type $t3)))
  (table 2 funcref)
  (elem (i32.const 0) $three $host_three)
  (func $three (export "three") (type $t3)
    (i32.add (local.get 0) (i32.const 1))
    (i64.mul (i64.extend_i32_s (local.get 0)) (i64.const 1000000000000))
    (f64.div (f64.convert_i32_s (local.get 0)) (f64.const 4)))
  (func (export "via_internal") (param i32) (result i32 i64 f64)
    (call $three (local.get 0)))
  (func (export "via_import") (param i32) (result i32 i64 f64)
    (call $host_three (local.get 0)))
  (func (export "via_indirect") (param i32 i32) (result i32 i64 f64)
    (call_indirect (type $t3) (local.get 0) (local.get 1)))
  ;; uses all three results, so the values must really arrive in the caller
  (func (export "mix") (param i32) (result f64)
    (local $a i32) (local $b i64) (local $c f64)
    (call_indirect (type $t3) (local.get 0) (i32.const 1))
    (local.set $c) (local.set $b) (local.set $a)
    (f64.add (f64.add (f64.convert_i32_s (local.get $a)) (f64.convert_i64_s (local.get $b)))
             (local.get $c)))
)
"""


def host_three(x: int):
    return (x + 1, x * 10**12, x / 4)


@pytest.fixture
def multi(instantiate):
    ft = FuncType((I32,), (I32, I64, F64))
    return instantiate(MULTI, {"host": {"three": aot.Func(ft, host_three)}})


def test_three_results_called_from_python(multi):
    assert multi.exports.three(7) == (8, 7 * 10**12, 1.75)
    assert multi.exports.three(-3) == (-2, -3 * 10**12, -0.75)


def test_three_results_from_an_internal_call(multi):
    assert multi.exports.via_internal(5) == (6, 5 * 10**12, 1.25)


def test_three_results_from_a_python_import(multi):
    assert multi.exports.via_import(9) == host_three(9)


@pytest.mark.parametrize("slot", [0, 1])
def test_three_results_through_call_indirect(multi, slot):
    assert multi.exports.via_indirect(11, slot) == (12, 11 * 10**12, 2.75)


def test_three_results_consumed_by_wasm(multi):
    assert multi.exports.mix(8) == 9 + 8 * 10**12 + 2.0


@pytest.mark.parametrize("opt_level", [0, 2])
def test_every_result_count_and_type_mix(instantiate, opt_level):
    """Each result type in each position, for 1..4 results, wasm and host side."""
    consts = {I32: ("i32.const -7", -7), I64: ("i64.const -8000000000", -8000000000),
              F32: ("f32.const 1.5", 1.5), F64: ("f64.const -2.25", -2.25)}
    shapes = [(t,) for t in consts] + [(a, b) for a in consts for b in consts] + [
        (I32, F32, I64, F64), (F64, F64, F64), (I64, I32, I32)]
    for shape in shapes:
        results = " ".join(str(t) for t in shape)
        body = " ".join(consts[t][0] for t in shape)
        expected = tuple(consts[t][1] for t in shape)
        text = f"""(module
          (import "h" "f" (func $h (result {results})))
          (func (export "w") (result {results}) {body})
          (func (export "from_host") (result {results}) call $h))"""
        single = expected[0] if len(expected) == 1 else expected
        host = aot.Func(FuncType((), shape), lambda v=single: v)
        inst = instantiate(text, {"h": {"f": host}}, opt_level=opt_level)
        assert inst.exports.w() == single, shape
        assert inst.exports.from_host() == single, shape


def test_closure_import_counts_its_calls(instantiate):
    def make_counter():
        count = 0

        def tick(step):
            nonlocal count
            count += step
            return count

        return tick, lambda: count

    tick, read = make_counter()
    inst = instantiate(
        """(module (import "env" "tick" (func $tick (param i32) (result i32)))
             (func (export "run") (param i32) (result i32) (local $last i32)
               (block $done (loop $again
                 (br_if $done (i32.eqz (local.get 0)))
                 (local.set $last (call $tick (i32.const 2)))
                 (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                 (br $again)))
               (local.get $last)))""",
        {"env": {"tick": tick}},
    )
    assert inst.exports.run(10) == 20
    assert read() == 20
    assert inst.exports.run(5) == 30


RECURSE = """(module
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func $forever (export "forever") (param i32) (result i32)
    (call $forever (i32.add (local.get 0) (i32.const 1)))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_deep_recursion_traps_cleanly_twice(instantiate, opt_level):
    inst = instantiate(RECURSE, opt_level=opt_level)
    for _ in range(2):
        with pytest.raises(aot.Trap) as info:
            inst.exports.forever(0)
        assert info.value.code == aot.TrapCode.STACK_OVERFLOW
        assert "call stack exhausted" in str(info.value)
    assert inst.exports.down(1000) == 1000  # still usable, with the stack limit reset


def test_max_wasm_stack_is_configurable(instantiate):
    small = aot.Store(max_wasm_stack=64 * 1024)
    big = aot.Store(max_wasm_stack=4 * 1024 * 1024)
    depth = 5000
    with pytest.raises(aot.Trap, match="call stack exhausted"):
        instantiate(RECURSE, store=small).exports.down(depth)
    assert instantiate(RECURSE, store=big).exports.down(depth) == depth


ECHO = """(module
  (func (export "i32") (param i32) (result i32) local.get 0)
  (func (export "i64") (param i64) (result i64) local.get 0)
  (func (export "f32") (param f32) (result f32) local.get 0)
  (func (export "f64") (param f64) (result f64) local.get 0))"""


def test_integer_arguments_are_checked_not_wrapped(instantiate):
    e = instantiate(ECHO).exports
    assert e.i32(2**32 - 1) == -1  # the unsigned spelling of the same bits
    assert e.i32(-(2**31)) == -(2**31)
    for bad in (2**32, -(2**31) - 1, 2**33 + 1):
        with pytest.raises(OverflowError, match="argument 0"):
            e.i32(bad)
    assert e.i64(2**64 - 1) == -1
    for bad in (2**64, -(2**63) - 1):
        with pytest.raises(OverflowError):
            e.i64(bad)
    for bad in (1.0, "1", None, True):
        with pytest.raises(TypeError):
            e.i32(bad)
    with pytest.raises(TypeError):
        e.f64("1.0")
    with pytest.raises(TypeError):
        e.i32(1, 2)


def test_float_arguments(instantiate):
    e = instantiate(ECHO).exports
    assert e.f64(1) == 1.0
    assert e.f32(0.1) == pytest.approx(0.1, rel=1e-7)
    assert math.isnan(e.f64(float("nan")))
    assert math.copysign(1, e.f64(-0.0)) == -1


def test_raw_calls_keep_nan_payloads(instantiate):
    e = instantiate(ECHO).exports
    assert e.f32.call_raw([0x7FA00001]) == [0x7FA00001]  # signaling NaN survives
    assert e.f64.call_raw([0xFFF4000000000001]) == [0xFFF4000000000001]
    assert e.i32.call_raw([0xFFFFFFFF]) == [0xFFFFFFFF]


def test_traps_carry_a_code_and_the_usual_message(instantiate):
    e = instantiate("""(module (memory 1)
      (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
      (func (export "unreachable") unreachable)
      (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0))))""").exports
    cases = [
        (lambda: e.div(1, 0), aot.TrapCode.INTEGER_DIVISION_BY_ZERO, "integer divide by zero"),
        (lambda: e.div(-(2**31), -1), aot.TrapCode.INTEGER_OVERFLOW, "integer overflow"),
        (lambda: e.load(65533), aot.TrapCode.MEMORY_OUT_OF_BOUNDS, "out of bounds memory access"),
        (lambda: e.unreachable(), aot.TrapCode.UNREACHABLE_CODE_REACHED, "unreachable"),
        (lambda: e.trunc(float("nan")), aot.TrapCode.BAD_CONVERSION_TO_INTEGER,
         "invalid conversion to integer"),
    ]
    for call, code, message in cases:
        with pytest.raises(aot.Trap) as info:
            call()
        assert info.value.code == code
        assert message in str(info.value)
    assert e.load(65532) == 0


def test_host_exception_propagates_as_itself_and_instance_stays_usable(instantiate):
    class Boom(Exception):
        pass

    calls = []

    def host(x):
        calls.append(x)
        if x < 0:
            raise Boom(f"negative: {x}")
        return x * 3

    inst = instantiate(
        """(module (import "env" "f" (func $f (param i32) (result i32)))
             (func (export "g") (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))))""",
        {"env": {"f": host}},
    )
    with pytest.raises(Boom, match="negative: -2"):
        inst.exports.g(-2)
    assert inst.exports.g(4) == 13
    assert calls == [-2, 4]


def test_wrong_host_result_type_is_reported(instantiate):
    inst = instantiate(
        """(module (import "env" "f" (func $f (result i32)))
             (func (export "g") (result i32) (call $f)))""",
        {"env": {"f": lambda: "not a number"}},
    )
    with pytest.raises(TypeError, match="host function result"):
        inst.exports.g()


def test_reentrant_calls_host_to_wasm(instantiate):
    box = {}

    def host(n):
        return box["inst"].exports.fact(n - 1) if n > 0 else 1

    inst = instantiate(
        """(module (import "env" "f" (func $f (param i32) (result i64)))
             (func (export "fact") (param i32) (result i64)
               (if (result i64) (i32.eqz (local.get 0)) (then (i64.const 1))
                 (else (i64.mul (i64.extend_i32_u (local.get 0)) (call $f (local.get 0)))))))""",
        {"env": {"f": host}},
    )
    box["inst"] = inst
    assert inst.exports.fact(10) == 3628800
