"""Shared helpers: modules are written in the text format and turned into binary with
wasmtime's wat2wasm (a test dependency; the text parser is not aot's)."""

from __future__ import annotations

import pytest
import wasmtime

import aot


def wat(text: str) -> bytes:
    return wasmtime.wat2wasm(text)


@pytest.fixture
def instantiate():
    def make(text: str, imports=None, opt_level: int = 2, store=None) -> aot.Instance:
        return aot.compile(wat(text), opt_level=opt_level).instantiate(imports, store=store)

    return make
