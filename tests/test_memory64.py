"""memory64 (issue 17; on by default in wasmtime): memories addressed by i64.

Guard pages cannot cover a 64-bit address space, so every access to a 64-bit memory is
checked explicitly, the carry of `addr + offset` included; its memory lives in the same
8 GiB reservation as a 32-bit one.  Every operator that takes an address is run against
wasmtime-py (`Config.wasm_memory64`) on addresses around each boundary, at -O0 and -O2."""

from __future__ import annotations

import random
import struct

import pytest
import wasmtime

import aot
from aot.loader.memory import MAX_PAGES_RESERVED

# (name, result type or None for a store, value type stored)
LOADS = [("i32.load", "i32"), ("i64.load", "i64"), ("i32.load8_s", "i32"), ("i32.load16_u", "i32"),
         ("i64.load32_s", "i64"), ("f64.load", "f64"), ("f32.load", "f32")]
STORES = [("i32.store", "i32"), ("i64.store", "i64"), ("i32.store8", "i32"), ("i64.store16", "i64"),
          ("f64.store", "f64")]
OFFSETS = [0, 3, 65535, 2**32, 2**63, 2**64 - 1]
STORED = {"i32": "(i32.const 0x5eadbeef)", "i64": "(i64.const 0x0123456789abcdef)",
          "f64": "(f64.const -1.5)", "f32": "(f32.const 2.5)"}


def _module_text() -> str:
    funcs = []
    for name, ty in LOADS:
        for k, off in enumerate(OFFSETS):
            funcs.append(f'(func (export "{name}@{k}") (param i64) (result {ty}) '
                         f"({name} offset={off} (local.get 0)))")
    for name, ty in STORES:
        for k, off in enumerate(OFFSETS):
            funcs.append(f'(func (export "{name}@{k}") (param i64) '
                         f"({name} offset={off} (local.get 0) {STORED[ty]}))")
    for k, off in enumerate(OFFSETS):
        funcs.append(f'(func (export "v128.load@{k}") (param i64) (result i64) '
                     f"(i64x2.extract_lane 1 (v128.load offset={off} (local.get 0))))")
        funcs.append(f'(func (export "v128.store@{k}") (param i64) '
                     f"(v128.store offset={off} (local.get 0) (v128.const i64x2 -1 7)))")
        funcs.append(f'(func (export "v128.load32_lane@{k}") (param i64) (result i32) '
                     f"(i32x4.extract_lane 2 (v128.load32_lane offset={off} 2 (local.get 0) "
                     f"(v128.const i64x2 0 0))))")
    return f"""(module
      (memory (export "mem") i64 1 4)
      (memory (export "small") 1)
      (data (memory 0) (i64.const 65530) "\\01\\02\\03\\04\\05\\06")
      (data $passive "passive bytes")
      (func (export "size") (result i64) (memory.size))
      (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
      (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
      (func (export "copy") (param i64 i64 i64) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
      (func (export "init") (param i64 i32 i32) (memory.init $passive (local.get 0) (local.get 1) (local.get 2)))
      ;; between a 64-bit and a 32-bit memory the count is an i32
      (func (export "copy_to_small") (param i32 i64 i32) (memory.copy 1 0 (local.get 0) (local.get 1) (local.get 2)))
      (func (export "copy_from_small") (param i64 i32 i32) (memory.copy 0 1 (local.get 0) (local.get 1) (local.get 2)))
      (func (export "small_load") (param i32) (result i32) (i32.load 1 (local.get 0)))
      {" ".join(funcs)})"""


MODULE = _module_text()


def _addresses(rng: random.Random, size: int) -> list[int]:
    near = [0, 1, size - 16, size - 8, size - 4, size - 1, size, size + 1, 2**32 - 4, 2**32,
            2**63, 2**64 - 1, 2**64 - 3, 2**64 - 2**32]
    return near + [rng.randrange(size) for _ in range(4)] + [rng.randrange(2**64) for _ in range(2)]


class _Wasmtime:
    def __init__(self) -> None:
        config = wasmtime.Config()
        config.wasm_memory64 = True
        config.wasm_multi_memory = True
        engine = wasmtime.Engine(config)
        self.store = wasmtime.Store(engine)
        self.exports = wasmtime.Instance(self.store, wasmtime.Module(engine, MODULE), []).exports(self.store)

    def call(self, name: str, *args):
        try:
            return _comparable(self.exports[name](self.store, *args))
        except wasmtime.Trap as e:
            return ("trap", _trap_words(str(e)))

    def memory(self, name: str) -> bytes:
        mem = self.exports[name]
        return bytes(mem.read(self.store, 0, mem.data_len(self.store)))


class _Aot:
    def __init__(self, **options) -> None:
        self.exports = aot.compile(MODULE, cache=False, **options).instantiate().exports

    def call(self, name: str, *args):
        try:
            return _comparable(self.exports[name](*args))
        except aot.Trap as e:
            return ("trap", _trap_words(str(e)))

    def memory(self, name: str) -> bytes:
        return self.exports[name].read(0, self.exports[name].data_len)


def _comparable(value):
    # Floats by their bits: NaN loads must match too.
    return struct.pack("<d", value).hex() if isinstance(value, float) else value


def _trap_words(message: str) -> str:
    for words in ("out of bounds memory access", "unreachable"):
        if words in message:
            return words
    return message.splitlines()[0]


def _session(engine, seed: int) -> list:
    """A fixed sequence of calls: every operator at addresses around the memory's end
    and the 2**32 and 2**64 boundaries, bulk operations, a grow, and again after it."""
    rng = random.Random(seed)
    log = []
    for round_ in range(2):
        size = engine.call("size") * 65536
        for addr in _addresses(rng, size):
            for name, _ty in LOADS + STORES + [("v128.load", 0), ("v128.store", 0),
                                               ("v128.load32_lane", 0)]:
                for k in range(len(OFFSETS)):
                    log.append((name, k, addr, engine.call(f"{name}@{k}", addr)))
        for _ in range(30):
            d, s = rng.choice(_addresses(rng, size)), rng.choice(_addresses(rng, size))
            n = rng.choice([0, 1, 5, 300, 2**64 - 1, 2**63 + 2])
            log.append(("fill", d, n, engine.call("fill", d, 0x5A, n)))
            log.append(("copy", d, s, n, engine.call("copy", d, s, n)))
            log.append(("init", d, engine.call("init", d, rng.randrange(16), rng.randrange(16))))
            small = rng.choice([0, 100, 65530, 65536])
            n32 = rng.choice([0, 6, 100, 2**32 - 1])
            log.append(("to_small", small, s, n32, engine.call("copy_to_small", small, s, n32)))
            log.append(("from_small", d, small, n32, engine.call("copy_from_small", d, small, n32)))
        log.append(("grow", engine.call("grow", 1 + round_)))
        log.append(("grow past max", engine.call("grow", 2**40)))
        log.append(("grow wraps", engine.call("grow", 2**64 - 1)))
    log.append(("small", engine.call("small_load", 65530)))
    log.append(("mem", engine.memory("mem")))
    log.append(("small mem", engine.memory("small")))
    return log


@pytest.fixture(scope="module")
def wasmtime_log() -> list:
    return _session(_Wasmtime(), 64)


@pytest.mark.parametrize("options", [{"opt_level": 0}, {"opt_level": 2},
                                     {"opt_level": 2, "bounds_checks": "explicit"}],
                         ids=["O0", "O2", "O2-explicit"])
def test_every_addressing_operator_matches_wasmtime(wasmtime_log, options):
    ours = _session(_Aot(**options), 64)
    assert len(ours) == len(wasmtime_log)
    wrong = [(a, b) for a, b in zip(ours, wasmtime_log) if a != b]
    assert not wrong, f"{len(wrong)} differences, first: ours {wrong[0][0]!r:.300} " \
                      f"wasmtime {wrong[0][1]!r:.300}"


def test_the_types_say_i64_before_and_after_instantiation():
    module = aot.compile(MODULE, cache=False)
    mem = {e.name: e.type for e in module.exports}["mem"]
    assert mem.is64 and str(mem) == "(memory i64 1 4)"
    restored = aot.Module.deserialize(module.serialize())
    assert {e.name: e.type for e in restored.exports}["mem"] == mem
    exports = restored.instantiate().exports
    assert exports.mem.type.is64 and exports.size() == 1
    assert exports.mem.read(65530, 6) == bytes([1, 2, 3, 4, 5, 6])  # the i64.const data


def test_a_64_bit_memory_import_matches_only_a_64_bit_memory():
    module = aot.compile('(module (import "env" "m" (memory i64 1)) '
                         '(func (export "peek") (param i64) (result i32) (i32.load8_u (local.get 0))))',
                         cache=False)
    mem = aot.Memory(min=2, is64=True)
    mem.write(70000, b"\x2a")
    assert module.instantiate({"env": {"m": mem}}).exports.peek(70000) == 42
    with pytest.raises(aot.LinkError, match=r"expected \(memory i64 1\), got \(memory 1"):
        module.instantiate({"env": {"m": aot.Memory(min=1)}})


def test_a_64_bit_memory_grows_to_the_reservation_and_no_further():
    exports = aot.compile('(module (memory (export "m") i64 0) '
                          '(func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))',
                          cache=False).instantiate().exports
    assert exports.grow(MAX_PAGES_RESERVED + 1) == -1
    assert exports.grow(2**48) == -1
    assert exports.m.size == 0
    with pytest.raises(aot.AotError, match="aot reserves at most 131072 pages"):
        aot.compile("(module (memory i64 131073))", cache=False).instantiate()


@pytest.mark.parametrize("text, words", [
    ("(module (memory i64 1) (func (drop (i32.load (i32.const 0)))))", "type mismatch"),
    ("(module (memory i64 1) (func (drop (memory.grow (i32.const 0)))))", "type mismatch"),
    ("(module (memory i64 1) (data (i32.const 0) \"x\"))", "type mismatch"),
    ("(module (memory 1) (func (drop (i32.load offset=4294967296 (i32.const 0)))))",
     "offset out of range"),
    ("(module (memory i64 0x1000000000001))", r"at most 2\^48 pages"),
])
def test_invalid_64_bit_memory_code_is_refused(text, words):
    # wasmtime's text parser encodes what aot's refuses to (a u32 offset out of range).
    with pytest.raises(aot.CompileError, match=words):
        aot.compile(wasmtime.wat2wasm(text), cache=False)


def test_memory64_off_refuses_a_64_bit_memory_by_name():
    with pytest.raises(aot.NotSupportedError, match="memory64: a 64-bit memory"):
        aot.compile("(module (memory i64 1))", memory64=False, cache=False)
    with pytest.raises(aot.NotSupportedError, match=r"memory64: a 64-bit table \(table64\)"):
        aot.compile(wasmtime.wat2wasm("(module (table i64 1 funcref))"), cache=False)
