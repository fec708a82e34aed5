"""The fuzz campaigns, one case at a time (each case runs in a worker process,
`tests.fuzz.worker`, so a crash or a hang costs the worker, not the campaign):

* `differential`: binaryen's `wasm-opt -ttf` turns seeded random bytes into a valid module
  (WebAssembly 2.0 features binaryen 108 generates faithfully: all but reference types,
  whose generator emits typed references; `--denan` keeps NaN bits, which wasm leaves
  nondeterministic, out of the comparison).  Every other case has SIMD: wasmtime-py
  cannot pass a v128 across the host boundary ("support for v128 is not implemented"),
  so there `log-v128` is a small wasm module that hands the two halves to the host, and
  exports with a v128 in their signature are skipped on both sides.  The module runs on
  wasmtime-py and on aot at -O0 and -O2, the way binaryen's own fuzz shell runs it: every
  export called in order, the hang limit reset first.  Results, traps, host-call logs and
  the final memory must agree.
* `wasm`: a module (generated as above) with a few bytes mutated must compile, run with
  fuel, or be refused with aot's own exception (`aot.AotError`).
* `artifact`: an artifact with a few bytes mutated and its checksum recomputed must load
  or be refused with `aot.ArtifactError`.  Loading only: an artifact is native code, so
  running a mutated one is running arbitrary code (the trust model in the README); what
  the loader reads before running anything must still be validated.

Each function returns None when the case passed, or a one-line finding."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import struct
import subprocess
import tempfile
import zlib

FEATURES = ["--mvp-features", "--enable-sign-ext", "--enable-nontrapping-float-to-int",
            "--enable-mutable-globals", "--enable-bulk-memory", "--enable-multivalue"]
SIMD = ["--enable-simd"]
HANG_LIMIT_EXPORT = "hangLimitInitializer"
# wasmtime's side of `log-v128`: the value reaches the host as two i64 halves.
LOG_V128_STUB = """(module
  (import "host" "halves" (func $halves (param i64 i64)))
  (func (export "log-v128") (param v128)
    (call $halves (i64x2.extract_lane 0 (local.get 0)) (i64x2.extract_lane 1 (local.get 0)))))"""
FUEL = 2_000_000  # for mutants, whose hang limit may be broken


def have_binaryen() -> bool:
    return shutil.which("wasm-opt") is not None


def generate(seed: int, size: int | None = None, simd: bool = False) -> bytes:
    """A valid module from binaryen's translate-to-fuzz mode, seeded."""
    rng = random.Random(seed)
    data = rng.randbytes(size or rng.randrange(1_000, 24_000))
    with tempfile.TemporaryDirectory(prefix="aot-fuzz-") as tmp:
        src, out = os.path.join(tmp, "in.dat"), os.path.join(tmp, "out.wasm")
        with open(src, "wb") as f:
            f.write(data)
        subprocess.run(["wasm-opt", src, "-ttf", "--denan", "-o", out, *FEATURES,
                        *(SIMD if simd else ())], check=True, capture_output=True, timeout=60)
        with open(out, "rb") as f:
            return f.read()


def mutate(data: bytes, rng: random.Random, start: int = 0) -> bytes:
    """A few byte-level edits (overwrite, flip, insert, delete, duplicate) at or after
    `start`."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if len(out) <= start + 1:
            break
        at = rng.randrange(start, len(out))
        kind = rng.randrange(5)
        if kind == 0:
            out[at] = rng.randrange(256)
        elif kind == 1:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 2:
            out[at:at] = rng.randbytes(rng.randint(1, 8))
        elif kind == 3:
            del out[at:at + rng.randint(1, 8)]
        else:
            n = rng.randint(1, 16)
            out[at:at] = out[at:at + n]
    return bytes(out)


# --- running a module --------------------------------------------------------------------

def _default(t: str):
    return {"i32": 0, "i64": 0, "f32": 0.0, "f64": 0.0, "v128": 0}.get(t)


def _aot_events(wasm: bytes, opt_level: int) -> list:
    import aot

    log: list = []
    types = {"log-i32": "i32", "log-i64": "i64", "log-f32": "f32", "log-f64": "f64",
             "log-v128": "v128"}
    module = aot.compile(wasm, opt_level=opt_level, cache=False)
    imports: dict = {}
    for imp in module.imports:
        t = types.get(imp.name)
        if imp.module == "fuzzing-support" and t is not None:
            imports.setdefault(imp.module, {})[imp.name] = (
                lambda v, t=t: log.append(("log", t, _norm(t, v))))
    instance = module.instantiate(imports)
    events: list = []
    for export in module.exports:
        if str(export.kind) != "func" or export.name == HANG_LIMIT_EXPORT:
            continue
        func = instance.exports[export.name]
        if "v128" in map(str, (*func.type.params, *func.type.results)):
            continue  # wasmtime-py cannot call it
        if HANG_LIMIT_EXPORT in instance.exports:
            instance.exports[HANG_LIMIT_EXPORT]()
        args = [_default(str(t)) for t in func.type.params]
        try:
            result = func(*args)
            results = result if isinstance(result, tuple) else () if result is None else (result,)
            events.append((export.name, "ok", tuple(_norm(str(t), v) for t, v in
                                                    zip(func.type.results, results))))
        except aot.Trap as trap:
            events.append((export.name, "trap", trap.code.wasmtime_name))
        events.extend(log)
        log.clear()
    memory = next((instance.exports[e.name] for e in module.exports if str(e.kind) == "memory"), None)
    if memory is not None:
        events.append(("memory", hashlib.sha256(memory.read(0, memory.size * 65536)).hexdigest()))
    return events


def _wasmtime_events(wasm: bytes) -> list:
    import wasmtime

    config = wasmtime.Config()
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, wasm)
    log: list = []
    imports = []
    for imp in module.imports:
        t = imp.name.removeprefix("log-")
        if t == "v128":
            halves = wasmtime.Func(store, wasmtime.FuncType([wasmtime.ValType.i64()] * 2, []),
                                   lambda lo, hi: log.append(
                                       ("log", "v128", (lo & (2**64 - 1)) | (hi & (2**64 - 1)) << 64)))
            stub = wasmtime.Module(engine, wasmtime.wat2wasm(LOG_V128_STUB))
            imports.append(wasmtime.Instance(store, stub, [halves]).exports(store)["log-v128"])
            continue
        imports.append(wasmtime.Func(store, imp.type, lambda v, t=t: log.append(("log", t, _norm(t, v)))))
    instance = wasmtime.Instance(store, module, imports)
    exports = instance.exports(store)
    skip = _v128_exports(wasm)
    events: list = []
    for export in module.exports:
        if not isinstance(export.type, wasmtime.FuncType) or export.name == HANG_LIMIT_EXPORT:
            continue
        if export.name in skip:
            continue
        func = exports[export.name]
        if HANG_LIMIT_EXPORT in exports:
            exports[HANG_LIMIT_EXPORT](store)
        params = [str(p) for p in export.type.params]
        results_types = [str(r) for r in export.type.results]
        try:
            result = func(store, *[_default(p) for p in params])
            results = result if isinstance(result, list) else () if result is None else (result,)
            events.append((export.name, "ok", tuple(_norm(t, v) for t, v in
                                                    zip(results_types, results))))
        except wasmtime.Trap as trap:
            events.append((export.name, "trap", trap.trap_code.name if trap.trap_code else "?"))
        events.extend(log)
        log.clear()
    memory = next((exports[e.name] for e in module.exports
                   if isinstance(e.type, wasmtime.MemoryType)), None)
    if memory is not None:
        events.append(("memory", hashlib.sha256(memory.read(store, 0, memory.data_len(store))).hexdigest()))
    return events


def _v128_exports(wasm: bytes) -> set[str]:
    """The function exports with a v128 in their signature, which wasmtime-py can neither
    call nor even describe (its C API aborts)."""
    from aot.wasm import parse
    from aot.wasm.types import ExternKind, ValType

    module = parse(wasm)
    types = module.func_types()
    return {e.name for e in module.exports if e.kind == ExternKind.FUNC
            and ValType.V128 in (*types[e.index].params, *types[e.index].results)}


def _norm(t: str, v):
    """Floats as their bits (exact, NaN payloads included)."""
    if t == "f32":
        return struct.unpack("<I", struct.pack("<f", v))[0]
    if t == "f64":
        return struct.unpack("<Q", struct.pack("<d", v))[0]
    if t in ("i32", "i64") and isinstance(v, int):
        bits = 32 if t == "i32" else 64
        return v & ((1 << bits) - 1)
    if t == "v128" and isinstance(v, (bytes, bytearray)):
        return int.from_bytes(v, "little")
    return v


def differential(seed: int) -> str | None:
    wasm = generate(seed, simd=seed % 2 == 1)
    expected = _wasmtime_events(wasm)
    for opt_level in (0, 2):
        got = _aot_events(wasm, opt_level)
        if got != expected:
            first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b),
                         min(len(got), len(expected)))
            return (f"seed {seed}: aot -O{opt_level} differs from wasmtime at event {first}: "
                    f"{got[first] if first < len(got) else None!r} vs "
                    f"{expected[first] if first < len(expected) else None!r}")
    return None


def wasm_mutant(seed: int) -> str | None:
    import aot

    rng = random.Random(seed)
    wasm = mutate(generate(rng.randrange(1 << 30), size=rng.randrange(500, 4_000), simd=True),
                  rng, 8)
    try:
        module = aot.compile(wasm, opt_level=0, cache=False, fuel=True)
        imports = {imp.module: {} for imp in module.imports}
        for imp in module.imports:
            if str(imp.kind) == "func":
                imports[imp.module][imp.name] = aot.Func(imp.type, lambda *a: None)
        store = aot.Store()
        store.set_fuel(FUEL)
        instance = module.instantiate(imports, store=store)
        for export in module.exports:
            if str(export.kind) == "func":
                func = instance.exports[export.name]
                try:
                    func(*[_default(str(t)) for t in func.type.params])
                except aot.Trap:
                    pass
    except aot.AotError:
        pass
    except Exception as exc:  # noqa: BLE001 - the finding
        return f"seed {seed}: {type(exc).__name__}: {exc}"
    return None


_SEED_ARTIFACTS: dict[int, bytes] = {}


def artifact_mutant(seed: int) -> str | None:
    import aot
    from aot.abi.fingerprint import TRAILER_TAIL

    rng = random.Random(seed)
    base_seed = rng.randrange(8)  # a few seed artifacts, compiled once per worker
    if base_seed not in _SEED_ARTIFACTS:
        _SEED_ARTIFACTS[base_seed] = aot.compile_artifact(generate(base_seed, 4_000, simd=True),
                                                          aot.CompileOptions(opt_level=0))
    art = _SEED_ARTIFACTS[base_seed]
    length, _, magic = TRAILER_TAIL.unpack(art[-TRAILER_TAIL.size:])
    elf_end = len(art) - TRAILER_TAIL.size - length
    elf, fingerprint = art[:elf_end], art[elf_end:-TRAILER_TAIL.size]
    if rng.random() < 0.8:
        elf = mutate(elf, rng)
    else:
        fingerprint = mutate(fingerprint, rng)
    # The length and the checksum recomputed, as an attacker would.
    mutant = elf + fingerprint + struct.pack("<I", len(fingerprint))
    mutant += struct.pack("<I", zlib.crc32(mutant)) + magic
    with tempfile.TemporaryDirectory(prefix="aot-fuzz-") as tmp:
        path = os.path.join(tmp, "m.so")
        with open(path, "wb") as f:
            f.write(mutant)
        try:
            aot.load(path)
        except aot.ArtifactError:
            pass
        except Exception as exc:  # noqa: BLE001 - the finding
            return f"seed {seed}: {type(exc).__name__}: {exc}"
    return None


CAMPAIGNS = {"differential": differential, "wasm": wasm_mutant, "artifact": artifact_mutant}
