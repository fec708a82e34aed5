"""The WebAssembly frontend: binary decoder and validator.

Imported lazily: loading an artifact needs `aot.wasm.types` only, not the decoder."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aot.wasm.module import BodyFacts, Module

__all__ = ["Module", "decode", "parse", "validate"]

_LAZY = {"Module": "aot.wasm.module", "decode": "aot.wasm.decoder", "validate": "aot.wasm.validator"}


def __getattr__(name: str):
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'aot.wasm' has no attribute {name!r}")
    return getattr(importlib.import_module(where), name)


def parse(data: bytes, multi_memory: bool = True, memory64: bool = True,
          threads: bool = True, keep_bodies: bool = True,
          known_facts: Mapping[bytes, BodyFacts] | None = None) -> Module:
    """Decode and validate a binary module; raises CompileError if it is malformed or
    invalid.  `multi_memory=False`, `memory64=False`, `threads=False`: as WebAssembly
    2.0, without those proposals.  `keep_bodies=False`: each function body is checked
    as it is decoded, then dropped, its `BodyFacts` kept (`FuncBody.facts`): the
    module's memory then no longer grows with its code, and a compile decodes bodies
    again unit by unit; errors are the same, and in the same order.  `known_facts`
    (with `keep_bodies=False`): the facts of bodies found valid before, by their bytes'
    `body_key`, in a module whose other sections were the same (the unit cache's mark,
    keyed by `aot.codegen.unitcache.module_digest`: every section but the code, data
    bytes and foreign custom sections): those bodies are skipped, neither decoded nor
    checked again (a body is valid or not by its bytes and those sections alone)."""
    from aot.wasm.decoder import decode
    from aot.wasm.module import BodyFacts
    from aot.wasm.validator import BodyChecker, validate

    if keep_bodies:
        if known_facts is not None:
            raise ValueError("known_facts needs keep_bodies=False")
        module = decode(data, multi_memory=multi_memory, memory64=memory64, threads=threads)
        validate(module)
        return module
    checker = BodyChecker()

    def on_body(so_far: Module, index: int, body):
        checker.check(so_far, index, body)
        return BodyFacts.of(body).placeholder(body)

    module = decode(data, multi_memory=multi_memory, memory64=memory64, threads=threads,
                    on_body=on_body, known=known_facts)
    validate(module, checker)
    return module
