"""SIMD loads and stores against wasmtime: every v128 memory operator at the end of memory,
so that each traps exactly when `addr + offset + width > length`, with the same bytes
loaded, stored and left untouched as in wasmtime."""

from __future__ import annotations

import pytest
import wasmtime

import aot

from .simd_harness import SIMD_OPS

PAGE = 0x10000
_VECTOR = bytes(range(0xA0, 0xB0))  # the v128 operand, kept at address 16
_OFFSETS = (0, 3, 0x1000)


def _width(name: str) -> int:
    """Bytes accessed: v128.load/store 16, load8x8 8, load32_splat 4, store16_lane 2..."""
    if name in ("v128.load", "v128.store"):
        return 16
    if "x" in name.split(".")[1]:  # load8x8_s ...
        return 8
    digits = "".join(c for c in name.split(".")[1].split("_")[0] if c.isdigit())
    return int(digits) // 8


def _lanes(name: str) -> list[int | None]:
    if not name.endswith("_lane"):
        return [None]
    count = 16 // _width(name)
    return [0, count - 1]


_MEMORY_OPS = sorted(n for n in SIMD_OPS if n.startswith(("v128.load", "v128.store")))
_CASES = [(name, offset, lane) for name in _MEMORY_OPS for offset in _OFFSETS for lane in _lanes(name)]


def _function(index: int, name: str, offset: int, lane: int | None) -> str:
    text = f"{name} offset={offset}" + ("" if lane is None else f" {lane}")
    vector = "(v128.load (i32.const 16))"
    if name.startswith("v128.store"):
        body = f"({text} (local.get 0) {vector})"
    elif lane is not None:
        body = f"(v128.store (i32.const 0) ({text} (local.get 0) {vector}))"
    else:
        body = f"(v128.store (i32.const 0) ({text} (local.get 0)))"
    return f'(func (export "m{index}") (param i32) {body})'


def _module() -> bytes:
    funcs = "\n".join(_function(i, *case) for i, case in enumerate(_CASES))
    return wasmtime.wat2wasm(f'(module (memory (export "mem") 1) {funcs})')


def _addresses(width: int, offset: int) -> list[int]:
    """Around the last valid address, plus far out (and wrapping past 2^32 - offset)."""
    last = PAGE - width - offset
    candidates = {last - 1, last, last + 1, last + width, PAGE - 1, 0xFFFFFFFF, 1, 0xFFFFFFF0}
    return sorted(a for a in candidates if 0 <= a <= 0xFFFFFFFF)


def _initial_memory() -> bytes:
    memory = bytearray((i * 7 + 3) & 0xFF for i in range(PAGE))
    memory[0:16] = bytes(16)
    memory[16:32] = _VECTOR
    return bytes(memory)


@pytest.mark.parametrize("opt_level", [2, 0])
def test_loads_and_stores_match_wasmtime(opt_level: int) -> None:
    wasm = _module()
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    oracle = wasmtime.Instance(store, wasmtime.Module(engine, wasm), []).exports(store)
    ours = aot.compile(wasm, opt_level=opt_level).instantiate().exports
    initial = _initial_memory()
    problems = []
    for i, (name, offset, lane) in enumerate(_CASES):
        for addr in _addresses(_width(name), offset):
            oracle["mem"].write(store, initial, 0)
            ours["mem"].write(0, initial)
            try:
                oracle[f"m{i}"](store, addr)
                expected_trap = False
            except wasmtime.Trap:
                expected_trap = True
            try:
                ours[f"m{i}"](addr)
                trapped = False
            except aot.Trap as trap:
                assert trap.code == aot.TrapCode.MEMORY_OUT_OF_BOUNDS
                trapped = True
            same_memory = bytes(oracle["mem"].read(store, 0, PAGE)) == bytes(ours["mem"].read(0, PAGE))
            if trapped != expected_trap or not same_memory:
                problems.append(f"{name} offset={offset} lane={lane} addr={addr:#x}: "
                                f"trap {trapped} (wasmtime {expected_trap}), same memory {same_memory}")
    assert not problems, "\n".join(problems[:20])
