"""The WebAssembly frontend: binary decoder and validator.

Imported lazily: loading an artifact needs `aot.wasm.types` only, not the decoder."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aot.wasm.module import Module

__all__ = ["Module", "decode", "parse", "validate"]

_LAZY = {"Module": "aot.wasm.module", "decode": "aot.wasm.decoder", "validate": "aot.wasm.validator"}


def __getattr__(name: str):
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'aot.wasm' has no attribute {name!r}")
    return getattr(importlib.import_module(where), name)


def parse(data: bytes, multi_memory: bool = True, memory64: bool = True,
          threads: bool = True) -> Module:
    """Decode and validate a binary module; raises CompileError if it is malformed or
    invalid.  `multi_memory=False`, `memory64=False`, `threads=False`: as WebAssembly
    2.0, without those proposals."""
    from aot.wasm.decoder import decode
    from aot.wasm.validator import validate

    module = decode(data, multi_memory=multi_memory, memory64=memory64, threads=threads)
    validate(module)
    return module
