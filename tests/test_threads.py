"""Threads (issue 17; on by default in wasmtime): shared memories, atomic instructions,
memory.atomic.wait/notify, and wasm driven from several Python threads at once.

Every atomic operator is compared with wasmtime-py (`Config.wasm_threads`) on aligned,
misaligned and out-of-bounds addresses at -O0 and -O2: results, traps, memory.  The
concurrent tests run on aot alone (wasmtime-py cannot import a `SharedMemory`: its
`_as_extern` builds the wrong pointer type) and assert exact invariants instead: no
atomic increment lost, a waiter woken by another thread, and a wasm busy-wait that only
ends if the GIL is released while wasm runs."""

from __future__ import annotations

import random
import threading

import pytest
import wasmtime

import aot

WIDTHS = {  # name prefix -> (wasm type, bytes)
    "i32.atomic.rmw": ("i32", 4), "i64.atomic.rmw": ("i64", 8), "i32.atomic.rmw8": ("i32", 1),
    "i32.atomic.rmw16": ("i32", 2), "i64.atomic.rmw8": ("i64", 1), "i64.atomic.rmw16": ("i64", 2),
    "i64.atomic.rmw32": ("i64", 4),
}
LOADS = {"i32.atomic.load": "i32", "i64.atomic.load": "i64", "i32.atomic.load8_u": "i32",
         "i32.atomic.load16_u": "i32", "i64.atomic.load8_u": "i64", "i64.atomic.load16_u": "i64",
         "i64.atomic.load32_u": "i64"}
OFFSETS = [0, 1, 65532]


def _ops() -> dict[str, tuple[str, int]]:
    """export name -> (wasm text of the body taking its operands from locals, arity)"""
    ops = {}
    for k, off in enumerate(OFFSETS):
        for name, t in LOADS.items():
            ops[f"{name}@{k}"] = (f"({name} offset={off} (local.get 0))", t, 1)
            store = name.replace("load", "store").replace("_u", "")
            ops[f"{store}@{k}"] = (f"({store} offset={off} (local.get 0) (local.get 1))", None, 2)
        for prefix, (t, _n) in WIDTHS.items():
            suffix = "_u" if prefix[-1].isdigit() else ""
            for op in ("add", "sub", "and", "or", "xor", "xchg"):
                ops[f"{prefix}.{op}{suffix}@{k}"] = (
                    f"({prefix}.{op}{suffix} offset={off} (local.get 0) (local.get 1))", t, 2)
            ops[f"{prefix}.cmpxchg{suffix}@{k}"] = (
                f"({prefix}.cmpxchg{suffix} offset={off} (local.get 0) (local.get 1) (local.get 2))",
                t, 3)
    return ops


OPS = _ops()


def _module_text() -> str:
    funcs = []
    for export, (body, result, arity) in OPS.items():
        t = "i64" if export.startswith("i64") else "i32"
        params = " ".join(["i32"] + [t] * (arity - 1))
        res = f"(result {result})" if result else ""
        funcs.append(f'(func (export "{export}") (param {params}) {res} {body})')
    return f"""(module
      (memory (export "mem") 1 2 shared)
      (memory $private 1 1)
      (func (export "peek") (param i32) (result i64) (i64.load (local.get 0)))
      (func (export "wait32") (param i32 i32 i64) (result i32)
        (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
      (func (export "wait64") (param i32 i64 i64) (result i32)
        (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
      (func (export "notify") (param i32 i32) (result i32)
        (memory.atomic.notify (local.get 0) (local.get 1)))
      (func (export "wait_private") (param i32 i32 i64) (result i32)
        (memory.atomic.wait32 $private (local.get 0) (local.get 1) (local.get 2)))
      (func (export "notify_private") (param i32 i32) (result i32)
        (memory.atomic.notify $private (local.get 0) (local.get 1)))
      (func (export "fence") (atomic.fence))
      {" ".join(funcs)})"""


MODULE = _module_text()
ADDRESSES = [0, 1, 2, 3, 4, 6, 8, 16, 24, 65528, 65530, 65532, 65534, 65535, 65536, 2**32 - 1]


def _trap_words(message: str) -> str:
    for words in ("unaligned atomic", "out of bounds memory access",
                  "atomic wait on non-shared memory"):
        if words in message:
            return words
    return message.splitlines()[-1]


def _session(call, seed: int) -> list:
    rng = random.Random(seed)
    log = []
    for export, (_body, _result, arity) in OPS.items():
        for addr in ADDRESSES:
            big = export.startswith("i64")
            args = [addr] + [rng.choice([0, 1, 0xFF, 0x100, 0xFFFF_FFFF, rng.getrandbits(64 if big else 32)])
                             for _ in range(arity - 1)]
            args = [a if k == 0 else (a - (1 << 64) if big and a >= 1 << 63 else
                                      a - (1 << 32) if not big and a >= 1 << 31 else a)
                    for k, a in enumerate(args)]
            log.append((export, *args, call(export, *args)))
    for addr in (0, 4, 6, 65532, 65536):  # wait32 on a value that differs, then times out
        log.append(("wait32", addr, call("wait32", addr, -1, 0), call("wait32", addr, 12345, 1000)))
        log.append(("wait64", addr, call("wait64", addr, -1, 0)))
        log.append(("notify", addr, call("notify", addr, 3)))
        log.append(("private", addr, call("wait_private", addr, 0, 0), call("notify_private", addr, 1)))
    log.append(("fence", call("fence")))
    log.append(("memory", [call("peek", a) for a in range(0, 64, 8)],
                [call("peek", a) for a in range(65472, 65536, 8)]))
    return log


def _wasmtime_call():
    config = wasmtime.Config()
    config.wasm_threads = True
    config.shared_memory = True
    config.wasm_multi_memory = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    exports = wasmtime.Instance(store, wasmtime.Module(engine, MODULE), []).exports(store)

    def call(name, *args):
        try:
            return exports[name](store, *args)
        except wasmtime.Trap as e:
            return ("trap", _trap_words(str(e)))

    return call


def _aot_call(**options):
    exports = aot.compile(MODULE, cache=False, **options).instantiate().exports

    def call(name, *args):
        try:
            return exports[name](*args)
        except aot.Trap as e:
            return ("trap", _trap_words(str(e)))

    return call


@pytest.fixture(scope="module")
def wasmtime_log() -> list:
    return _session(_wasmtime_call(), 7)


@pytest.mark.parametrize("options", [{"opt_level": 0}, {"opt_level": 2},
                                     {"opt_level": 2, "bounds_checks": "explicit"}],
                         ids=["O0", "O2", "O2-explicit"])
def test_every_atomic_operator_matches_wasmtime(wasmtime_log, options):
    ours = _session(_aot_call(**options), 7)
    wrong = [(a, b) for a, b in zip(ours, wasmtime_log, strict=True) if a != b]
    assert not wrong, f"{len(wrong)} differences, first: ours {wrong[0][0]!r:.300} " \
                      f"wasmtime {wrong[0][1]!r:.300}"


COUNTER = """(module
  (import "env" "mem" (memory 1 4 shared))
  (func (export "add_many") (param $n i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (drop (i64.atomic.rmw8.add_u (i32.const 8) (i64.const 1)))  ;; wraps at 256
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "size") (result i32) (memory.size))
  ;; Spin in wasm (no host call) until address 16 is non-zero, at most $n rounds.
  (func (export "spin") (param $n i64) (result i32)
    (loop $l
      (if (i32.atomic.load (i32.const 16)) (then (return (i32.const 1))))
      (br_if $l (i64.ne (local.tee $n (i64.sub (local.get $n) (i64.const 1))) (i64.const 0))))
    (i32.const 0))
  (func (export "set") (param i32 i32) (i32.atomic.store (local.get 0) (local.get 1)))
  (func (export "wait") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1))))"""


def _in_threads(n: int, target) -> list:
    results: list = [None] * n
    errors: list = []

    def run(k: int) -> None:
        try:
            results[k] = target(k)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a wasm thread did not finish"
    assert not errors, errors
    return results


@pytest.mark.parametrize("opt_level", [0, 2])
def test_two_threads_lose_no_atomic_increment(opt_level):
    module = aot.compile(COUNTER, opt_level=opt_level, cache=False)
    memory = aot.Memory(min=1, max=4, shared=True)
    n = 300_000

    def work(_k):
        # Each thread its own store and instance, one memory between them.
        module.instantiate({"env": {"mem": memory}}, store=aot.Store()).exports.add_many(n)

    _in_threads(2, work)
    assert int.from_bytes(memory.read(0, 4), "little") == 2 * n
    assert memory.read(8, 1)[0] == (2 * n) % 256


def test_wasm_runs_without_the_gil():
    """A wasm busy-wait on one thread sees a store made by Python on another: possible
    only if the calling thread released the GIL for the wasm call."""
    module = aot.compile(COUNTER, cache=False)
    memory = aot.Memory(min=1, max=4, shared=True)
    spinner = module.instantiate({"env": {"mem": memory}}, store=aot.Store()).exports

    def run(k):
        if k == 0:
            return spinner.spin(20_000_000_000)  # minutes of spinning if never released
        memory.write(16, (1).to_bytes(4, "little"))
        return None

    assert _in_threads(2, run)[0] == 1


def test_a_waiter_is_woken_by_another_thread():
    module = aot.compile(COUNTER, cache=False)
    memory = aot.Memory(min=1, max=4, shared=True)
    waiter = module.instantiate({"env": {"mem": memory}}, store=aot.Store()).exports
    notifier = module.instantiate({"env": {"mem": memory}}, store=aot.Store()).exports

    def run(k):
        if k == 0:
            return waiter.wait(32, 0, -1)  # forever, unless woken
        woken = 0
        while woken == 0:  # until the waiter is parked: then exactly one wakes
            woken = notifier.notify(32, 10)
        return woken

    assert _in_threads(2, run) == [0, 1]  # "ok", one waiter woken
    assert notifier.notify(32, 10) == 0  # and it left the queue


def test_shared_memory_grows_from_two_threads_without_losing_a_page():
    module = aot.compile(COUNTER, cache=False)
    memory = aot.Memory(min=1, max=4, shared=True)

    def grow(_k):
        e = module.instantiate({"env": {"mem": memory}}, store=aot.Store()).exports
        return [e.grow() for _ in range(3)]

    olds = [old for r in _in_threads(2, grow) for old in r if old != -1]
    assert sorted(olds) == [1, 2, 3]  # each old size handed out once, then -1
    assert memory.size == 4


def test_shared_and_unshared_memories_do_not_stand_in_for_each_other():
    module = aot.compile(COUNTER, cache=False)
    with pytest.raises(aot.LinkError, match=r"expected \(memory 1 4 shared\), got \(memory 1 4\)"):
        module.instantiate({"env": {"mem": aot.Memory(min=1, max=4)}})
    exports = {e.name: e.type for e in aot.Module.deserialize(module.serialize()).imports}
    assert exports["mem"].shared and str(exports["mem"]) == "(memory 1 4 shared)"
    with pytest.raises(ValueError, match="shared memory must have maximum"):
        aot.Memory(min=1, shared=True)


@pytest.mark.parametrize("text, words", [
    # a shared memory's only limits flags are 0x03 (0x07 with memory64): always a maximum
    ("(module (memory 1 shared))", "integer too large"),
    ("(module (memory 1 1 shared) (func (drop (i32.atomic.load align=2 (i32.const 0)))))",
     "atomic alignment must be natural"),
    ("(module (memory 1 1 shared) (func (drop (i64.atomic.rmw.add (i32.const 0) (i32.const 0)))))",
     "type mismatch"),
])
def test_invalid_threads_code_is_refused(text, words):
    with pytest.raises(aot.CompileError, match=words):
        aot.compile(wasmtime.wat2wasm(text), cache=False)


def test_threads_off_refuses_shared_memories_and_atomics_by_name():
    with pytest.raises(aot.NotSupportedError, match="^not supported: threads: a shared memory"):
        aot.compile("(module (memory 1 1 shared))", threads=False, cache=False)
    with pytest.raises(aot.NotSupportedError, match="^not supported: threads: an atomic"):
        aot.compile("(module (func (atomic.fence)))", threads=False, cache=False)
