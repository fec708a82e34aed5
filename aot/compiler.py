"""The compile driver: wasm bytes -> validated module -> artifact bytes -> loaded Module."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from aot.codegen import CompileOptions, compile_module
from aot.errors import CompileError
from aot.loader import Artifact, Module
from aot.wasm import parse

WasmSource = bytes | bytearray | memoryview | str | os.PathLike


def _read_wasm(wasm: WasmSource) -> bytes:
    if isinstance(wasm, (bytes, bytearray, memoryview)):
        return bytes(wasm)
    path = Path(wasm)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CompileError(f"cannot read {path}: {exc.strerror}") from exc


def compile_artifact(wasm: WasmSource, options: CompileOptions | None = None) -> bytes:
    """Compile wasm to the bytes of an ELF shared object (an aot artifact)."""
    module = parse(_read_wasm(wasm))
    return compile_module(module, options or CompileOptions())


def compile_file(wasm: WasmSource, output: str | os.PathLike,
                 options: CompileOptions | None = None) -> Path:
    """Compile wasm and write the artifact to `output` (atomically)."""
    so = compile_artifact(wasm, options)
    output = Path(output)
    fd, tmp = tempfile.mkstemp(dir=output.parent or ".", prefix=f".{output.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(so)
        os.chmod(tmp, 0o755)
        os.replace(tmp, output)
    except BaseException:
        os.unlink(tmp)
        raise
    return output


def compile(wasm: WasmSource, *, opt_level: int = 2, **options) -> Module:  # noqa: A001
    """Compile a wasm module (bytes or a path) and load it, ready to instantiate."""
    opts = CompileOptions(opt_level=opt_level, **options)
    so = compile_artifact(wasm, opts)
    with tempfile.TemporaryDirectory(prefix="aot-") as tmp:
        path = os.path.join(tmp, "module.so")
        with open(path, "wb") as f:
            f.write(so)
        # The mapping outlives the file: dlopen keeps its own reference.
        module = Module(Artifact(path, data=so))
    return module


def load(path: str | os.PathLike) -> Module:
    """Load a compiled artifact (from `aot compile` or `compile_file`)."""
    return Module(Artifact(os.fspath(path)))
