"""The compile driver: wasm bytes -> validated module -> artifact bytes -> loaded Module."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from aot.errors import ArtifactError, CompileError, IncompatibleArtifactError
from aot.loader import Artifact, Module
from aot.loader.artifact import artifact_from_bytes
from aot.wasm.proposals import COMPONENT_VERSION

if TYPE_CHECKING:
    from aot.cache import Cache
    from aot.codegen import CompileOptions, CompileProfile
    from aot.codegen.pipeline import Progress

WasmSource = bytes | bytearray | memoryview | str | os.PathLike


def _read_wasm(wasm: WasmSource) -> bytes:
    """The module's binary.  Text is converted (`aot.wat`): a `str` whose first token is
    `(` (after whitespace and comments; any other `str` is a path), bytes that are not
    binary wasm but read as such text (as wasmtime's `Module` takes them), and files
    named `.wat` or holding such text."""
    from aot.wat import WatError, is_text, wat2wasm

    if isinstance(wasm, (bytes, bytearray, memoryview)):
        data = bytes(wasm)
        return wat2wasm(data) if is_text(data) else data
    if isinstance(wasm, str) and is_text(wasm):
        return wat2wasm(wasm)
    path = Path(wasm)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CompileError(f"cannot read {path}: {exc.strerror}") from exc
    if path.suffix == ".wat" or is_text(data):
        try:
            return wat2wasm(data)
        except WatError as exc:
            raise WatError(exc.reason, exc.line, exc.column, path=str(path)) from None
    return data


def compile_artifact(wasm: WasmSource, options: CompileOptions | None = None, *,
                     jobs: int | None = None, progress: Progress | None = None,
                     profile: CompileProfile | None = None,
                     cache: bool | str | os.PathLike | Cache = False) -> bytes:
    """Compile wasm to the bytes of an ELF shared object (an aot artifact).

    `jobs`: how many processes compile the module's codegen units (default: the CPUs
    this process may use); the artifact is the same whatever it is.  `progress` is
    called when compiling starts, as units finish and before linking
    (`aot.codegen.pipeline.Progress`); `profile` (a `CompileProfile`) receives the
    phase times.  `cache` (True: the default cache, or a directory, or a `Cache`)
    keeps each codegen unit's object, so a rebuild after an edit compiles only the units
    that changed (`aot.codegen.unitcache`); the artifact is the same either way."""
    import time

    from aot.codegen import (  # LLVM: only when compiling
        CompileOptions,
        CompileProfile,
        compile_module,
    )
    from aot.codegen.pipeline import recall_bodies, start_workers
    from aot.wasm import parse

    data = _read_wasm(wasm)
    options = options or CompileOptions()
    if data[4:8] == COMPONENT_VERSION:  # a component: one artifact holding its core modules'
        from aot.component.artifact import compile_component_artifact

        return compile_component_artifact(data, lambda core: compile_artifact(
            core, options, jobs=jobs, progress=progress, profile=profile, cache=cache))
    t = time.perf_counter()
    unit_cache = _cache(cache)
    known = recall_bodies(unit_cache, data, options) if unit_cache is not None else None
    with start_workers(data, options, jobs, seen=known is not None) as workers:
        # Bodies checked as decoded and dropped (the units decode their own), or, for a
        # rebuild, those compiled before (same bytes, same environment) not even that.
        module = parse(data, multi_memory=options.multi_memory, memory64=options.memory64,
                       threads=options.threads, keep_bodies=False, known_facts=known)
        decoded = time.perf_counter() - t
        profile = profile if profile is not None else CompileProfile()
        artifact = compile_module(module, options, wasm=data, jobs=jobs, progress=progress,
                                  profile=profile, cache=unit_cache, workers=workers)
    profile.add("decode", decoded)
    profile.wall += decoded
    return artifact


def compile_file(wasm: WasmSource, output: str | os.PathLike,
                 options: CompileOptions | None = None, *, jobs: int | None = None,
                 progress: Progress | None = None, profile: CompileProfile | None = None,
                 cache: bool | str | os.PathLike | Cache = False) -> Path:
    """Compile wasm and write the artifact to `output` (atomically).  The keywords are
    `compile_artifact`'s."""
    output = Path(output)
    from aot.cache import write_atomic

    write_atomic(output, compile_artifact(wasm, options, jobs=jobs, progress=progress,
                                          profile=profile, cache=cache), artifact=True)
    return output


def _cache(cache: bool | str | os.PathLike | Cache | None) -> Cache | None:
    from aot.cache import Cache

    if cache is None or cache is False:
        return None
    return cache if isinstance(cache, Cache) else Cache(None if cache is True else cache)


def compile(wasm: WasmSource, *, opt_level: int = 2,  # noqa: A001
            cache: bool | str | os.PathLike | Cache = True, jobs: int | None = None,
            **options) -> Module:
    """Compile a wasm module (bytes, text or a path) and load it, ready to instantiate.

    The code is for this machine's CPU (`target_cpu="native"`, like wasmtime's
    `Module`); artifacts meant to travel come from `compile_file` / `aot compile`, which
    default to the portable `x86-64-v2`.  Artifacts are kept in the content-addressed
    cache (`aot.cache`; with $AOT_CACHE_URL, also a shared Redis server), whose key
    includes the CPU features: compiling the same bytes with the same compiler and
    options again only loads.  `cache` may be False (always
    compile, keep nothing), a directory, or a `Cache`."""
    from aot.cache import cache_key  # like the compiler: not needed to load
    from aot.codegen import CompileOptions, fingerprint

    data = _read_wasm(wasm)
    if data[4:8] == COMPONENT_VERSION:
        from aot.errors import NotSupportedError

        raise NotSupportedError("the component model: aot.compile takes a core module; a "
                                "component is aot.component.Component(wasm) (or `aot "
                                "compile` / compile_file for its artifact)")
    options.setdefault("target_cpu", "native" if not options.get("target") else None)
    opts = CompileOptions(opt_level=opt_level, **options)
    if cache is False:
        return _compile_uncached(data, opts, jobs)
    store = _cache(cache)
    fp = fingerprint(opts)
    key = cache_key(data, fp)
    return store.get_or_create(
        key,
        build=lambda: compile_artifact(data, opts, jobs=jobs, cache=store),
        load=lambda path: load(path),
        is_damage=lambda exc: isinstance(exc, ArtifactError),
        fingerprint=fp,
    )


def _compile_uncached(data: bytes, opts: CompileOptions, jobs: int | None) -> Module:
    return _load_bytes(compile_artifact(data, opts, jobs=jobs), None)


def load(artifact: str | os.PathLike | bytes | bytearray | memoryview, *,
         rebuild: bool = False, cache: bool | str | os.PathLike | Cache = True,
         **expect) -> Module:
    """Load a compiled artifact (from `aot compile`, `compile_file` or the cache): a
    path, or the artifact's bytes (e.g. from `compile_artifact` or a database).

    Refused with ArtifactError when the file is damaged, foreign, or was compiled for
    something this process cannot run (`IncompatibleArtifactError`).  With
    `rebuild=True`, an incompatible artifact that carries its wasm (compiled with
    `embed_wasm`) is compiled again instead, for this machine, through `cache` (as in
    `compile`), with the options it was built with.  Keyword arguments name compile
    options the artifact must have been built with, e.g. `load(path, fuel=True)`.  A
    component's artifact loads as an `aot.component.Component`."""
    try:
        if isinstance(artifact, (bytes, bytearray, memoryview)):
            return _load_bytes(bytes(artifact), expect or None)
        return Module(Artifact(os.fspath(artifact), expect=expect or None))
    except IncompatibleArtifactError as refusal:
        if not rebuild:
            raise
        return _rebuild(artifact, refusal, expect, cache)
    except ArtifactError:
        # Not a module's artifact: a component's (checked only now, so that loading a
        # module's pays nothing for it)?
        from aot.component.artifact import is_component_artifact

        data = bytes(artifact) if isinstance(artifact, (bytes, bytearray, memoryview)) \
            else _read_artifact(artifact)
        if not is_component_artifact(data):
            raise
        from aot.component import Component

        return Component(data)  # type: ignore[return-value]


def _rebuild(artifact, refusal: IncompatibleArtifactError, expect: dict, cache) -> Module:
    """Compile again the wasm an incompatible artifact carries."""
    import dataclasses

    from elftools.common.exceptions import ELFError

    from aot.abi.artifact import WASM_SYMBOL
    from aot.abi.fingerprint import TrailerError, read_trailer
    from aot.codegen import CompileOptions
    from aot.elf.reader import ArtifactFile

    data = bytes(artifact) if isinstance(artifact, (bytes, bytearray, memoryview)) \
        else _read_artifact(artifact)
    try:
        _, fp = read_trailer(data)
        with ArtifactFile(str(artifact) if isinstance(artifact, (str, os.PathLike))
                          else "<artifact bytes>", data) as elf:
            wasm = elf.symbol_bytes(WASM_SYMBOL)
    except (TrailerError, ELFError, ValueError, KeyError, IndexError) as exc:
        raise ArtifactError(f"{refusal} (and its wasm cannot be read back: {exc})") from None
    if wasm is None:
        raise ArtifactError(f"{refusal} (and it cannot be rebuilt: it was compiled without "
                            "embed_wasm)")
    fields = {f.name for f in dataclasses.fields(CompileOptions)}
    options = {k: v for k, v in fp.options.items() if k in fields and k != "target_cpu"}
    options.update(expect)
    options.pop("target", None)  # this machine's
    return compile(wasm, cache=cache, **options)


def _read_artifact(path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read: {exc.strerror}") from None


def _load_bytes(data: bytes, expect: dict | None) -> Module:
    return Module(artifact_from_bytes(data, expect))


def validate(wasm: WasmSource, *, multi_memory: bool = True, memory64: bool = True,
             threads: bool = True) -> None:
    """Check that `wasm` (bytes, text or a path) is a valid module that aot can compile
    (WebAssembly 2.0 and the proposals it implements); raise `CompileError` (or
    `NotSupportedError`) saying what and where if not.  Decoding and validation only: no
    code is generated."""
    from aot.wasm import parse

    parse(_read_wasm(wasm), multi_memory=multi_memory, memory64=memory64, threads=threads)
