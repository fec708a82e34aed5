"""Relaxed SIMD (issue 17; on by default in wasmtime) with its deterministic semantics:
every operator against wasmtime-py with `wasm_relaxed_simd_deterministic`, on random and
special lanes, at -O0 and -O2, for the portable x86-64-v2 (libm's fma through the
builtin table) and this machine's CPU (FMA instructions where it has them)."""

from __future__ import annotations

import random
import struct

import pytest
import wasmtime

import aot
from tests.conftest import wat

ARITY = {
    "i8x16.relaxed_swizzle": 2, "i32x4.relaxed_trunc_f32x4_s": 1,
    "i32x4.relaxed_trunc_f32x4_u": 1, "i32x4.relaxed_trunc_f64x2_s_zero": 1,
    "i32x4.relaxed_trunc_f64x2_u_zero": 1, "f32x4.relaxed_madd": 3, "f32x4.relaxed_nmadd": 3,
    "f64x2.relaxed_madd": 3, "f64x2.relaxed_nmadd": 3, "i8x16.relaxed_laneselect": 3,
    "i16x8.relaxed_laneselect": 3, "i32x4.relaxed_laneselect": 3, "i64x2.relaxed_laneselect": 3,
    "f32x4.relaxed_min": 2, "f32x4.relaxed_max": 2, "f64x2.relaxed_min": 2,
    "f64x2.relaxed_max": 2, "i16x8.relaxed_q15mulr_s": 2,
    "i16x8.relaxed_dot_i8x16_i7x16_s": 2, "i32x4.relaxed_dot_i8x16_i7x16_add_s": 3,
}
# madd/nmadd may return any NaN where the result is NaN (the spec's NaN non-determinism):
# which input NaN an FMA instruction passes on depends on the form wasmtime's register
# allocator picks.  Every other lane, and every other operator's NaN, must be identical.
NAN_FREE = {op for op in ARITY if "madd" in op}

MODULE = wat('(module (memory (export "m") 1) ' + "".join(
    f'(func (export "{op}") (v128.store (i32.const 64) ({op} '
    + " ".join(f"(v128.load (i32.const {16 * i}))" for i in range(n)) + ")))"
    for op, n in ARITY.items()) + ")")

SPECIAL32 = [0x7FC00000, 0xFFC00000, 0x7F800000, 0xFF800000, 0, 0x80000000, 0x3F800000,
             0x4F000000, 0xCF000000, 0x4F800000, 0x3F800001, 0x33800000, 0x7FA00000]


def _inputs(n: int = 400) -> list[bytes]:
    rng = random.Random(17)
    out = [
        # a*b+c where one rounding and two differ: (1+2**-23)(1-2**-23) - 1 = -2**-46.
        struct.pack("<4f4f4f", *[1 + 2**-23] * 4, *[1 - 2**-23] * 4, *[-1.0] * 4),
        struct.pack("<2d2d2d", *[1 + 2**-52] * 2, *[1 - 2**-52] * 2, *[-1.0] * 2),
        bytes(range(48)), b"\x80" * 48, b"\x7f" * 48,
    ]
    for _ in range(n):
        kind = rng.randrange(4)
        if kind == 0:
            out.append(rng.randbytes(48))
        elif kind == 1:
            out.append(struct.pack("<12I", *(rng.choice(SPECIAL32) for _ in range(12))))
        elif kind == 2:
            out.append(struct.pack("<12f", *(rng.uniform(-5e9, 5e9) for _ in range(12))))
        else:
            out.append(struct.pack("<6d", *(rng.uniform(-5e9, 5e9) for _ in range(6))))
    return out


def _is_nan(lane: int, width: int) -> bool:
    exp, frac = (23, 0xFF) if width == 32 else (52, 0x7FF)
    return (lane >> exp) & frac == frac and lane & ((1 << exp) - 1) != 0


def _same(op: str, ours: bytes, theirs: bytes) -> bool:
    if ours == theirs:
        return True
    if op not in NAN_FREE:
        return False
    width = 32 if op.startswith("f32") else 64
    x, y = int.from_bytes(ours, "little"), int.from_bytes(theirs, "little")
    mask = (1 << width) - 1
    return all((a := (x >> s) & mask) == (b := (y >> s) & mask) or (_is_nan(a, width) and _is_nan(b, width))
               for s in range(0, 128, width))


@pytest.fixture(scope="module")
def wasmtime_results() -> dict:
    config = wasmtime.Config()
    config.wasm_relaxed_simd_deterministic = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    e = wasmtime.Instance(store, wasmtime.Module(engine, MODULE), []).exports(store)
    results = {}
    for data in _inputs():
        e["m"].write(store, data, 0)
        for op in ARITY:
            e[op](store)
            results[data, op] = bytes(e["m"].read(store, 64, 80))
    return results


@pytest.mark.parametrize("target_cpu", ["x86-64-v2", "native"])
@pytest.mark.parametrize("opt_level", [0, 2])
def test_every_relaxed_operator_gives_wasmtimes_deterministic_result(
        wasmtime_results, opt_level, target_cpu):
    e = aot.compile(MODULE, opt_level=opt_level, target_cpu=target_cpu).instantiate().exports
    wrong = []
    for data in _inputs():
        e.m.write(0, data)
        for op in ARITY:
            e[op]()
            ours = e.m.read(64, 16)
            if not _same(op, ours, wasmtime_results[data, op]):
                wrong.append(f"{op}({data.hex()}) = {ours.hex()}, wasmtime "
                             f"{wasmtime_results[data, op].hex()}")
    assert not wrong, "\n".join(wrong[:5])


def test_madd_rounds_once():
    e = aot.compile(MODULE).instantiate().exports
    e.m.write(0, _inputs()[0])
    e["f32x4.relaxed_madd"]()
    assert struct.unpack("<4f", e.m.read(64, 16)) == (-(2.0**-46),) * 4  # 0.0 with two
