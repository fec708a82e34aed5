"""The WebAssembly frontend: binary decoder and validator."""

from __future__ import annotations

from aot.wasm.decoder import decode
from aot.wasm.module import Module
from aot.wasm.validator import validate

__all__ = ["Module", "decode", "parse", "validate"]


def parse(data: bytes) -> Module:
    """Decode and validate a binary module; raises CompileError if it is malformed or
    invalid."""
    module = decode(data)
    validate(module)
    return module
